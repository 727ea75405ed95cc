//! Coverage: what each endpoint family yielded, so a 403 on one endpoint is reported instead of
//! silently emptying a kind. A [`Tally`] counts one family's records, successful requests and
//! failures while the family runs, and becomes one `coverage` record at the end.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::http::ApiError;
use crate::record::{Coverage, Namespace};

/// One endpoint family: a group of endpoints that together produce one part of the inventory.
#[derive(Debug)]
pub struct Family {
    pub product: &'static str,
    /// `product.resource`, e.g. `jira.users`.
    pub name: &'static str,
    pub endpoints: &'static [&'static str],
    /// The permission (and OAuth scope) the family needs, named when it is refused.
    pub needs: &'static str,
}

/// The status values of a coverage record.
pub(crate) mod status {
    pub(crate) const COLLECTED: &str = "collected";
    pub(crate) const PARTIAL: &str = "partial";
    pub(crate) const FORBIDDEN: &str = "forbidden";
    pub(crate) const NOT_FOUND: &str = "not_found";
    pub(crate) const FAILED: &str = "failed";
    pub(crate) const NOT_IMPLEMENTED: &str = "not_implemented";
    pub(crate) const NOT_CONFIGURED: &str = "not_configured";
    /// The site does not have the product (no Assets workspace): nothing to collect, and
    /// nothing missed.
    pub(crate) const NOT_LICENSED: &str = "not_licensed";

    /// Statuses that make a run partial.
    pub(crate) fn is_problem(status: &str) -> bool {
        !matches!(
            status,
            COLLECTED | NOT_IMPLEMENTED | NOT_CONFIGURED | NOT_LICENSED
        )
    }
}

/// Counts for one family while it runs. Shared by the family's concurrent workers.
#[derive(Debug)]
pub struct Tally {
    family: &'static Family,
    records: AtomicU64,
    ok_requests: AtomicU64,
    failures: AtomicU64,
    first_error: Mutex<Option<ApiError>>,
    /// What the first panic in the family's work said (a bug in the collector).
    panic: Mutex<Option<String>>,
    served_by: Mutex<Option<String>>,
}

impl Tally {
    pub fn new(family: &'static Family) -> Self {
        Tally {
            family,
            records: AtomicU64::new(0),
            ok_requests: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            first_error: Mutex::new(None),
            panic: Mutex::new(None),
            served_by: Mutex::new(None),
        }
    }

    pub fn family(&self) -> &'static Family {
        self.family
    }

    pub fn records(&self, n: u64) {
        self.records.fetch_add(n, Ordering::Relaxed);
    }

    /// A request of the family that answered.
    pub fn ok(&self) {
        self.ok_requests.fetch_add(1, Ordering::Relaxed);
    }

    pub fn ok_requests(&self) -> u64 {
        self.ok_requests.load(Ordering::Relaxed)
    }

    /// Which of the family's alternative endpoints answered (the first one named is kept).
    pub fn served_by(&self, endpoint: &str) {
        self.served_by
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get_or_insert_with(|| endpoint.to_string());
    }

    /// A request of the family that failed for good. The first error is kept for the message.
    /// Only the first failure is a warning: a non-admin run over many projects would otherwise
    /// print one per project. The rest are counted in the coverage record.
    pub fn fail(&self, error: &ApiError) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        let mut first = self
            .first_error
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if first.is_none() {
            tracing::warn!("{}: {error}", self.family.name);
            *first = Some(error.clone());
        } else {
            tracing::debug!("{}: {error}", self.family.name);
        }
    }

    /// Work of the family panicked: a bug in the collector. The family is not complete, and its
    /// coverage record says why; the first panic is kept for the message.
    pub fn panicked(&self, message: &str) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        let mut first = self
            .panic
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        tracing::error!(
            "{}: the collector failed on an item (a bug): {message}",
            self.family.name
        );
        first.get_or_insert_with(|| {
            format!(
                "the collector failed on an item of this family (a bug; please report it): {}",
                crate::http::truncate(message)
            )
        });
    }

    /// The family's coverage record.
    pub fn coverage(&self, ns: &Namespace) -> Coverage {
        let records = self.records.load(Ordering::Relaxed);
        let failures = self.failures.load(Ordering::Relaxed);
        let ok_requests = self.ok_requests.load(Ordering::Relaxed);
        let first_error = self
            .first_error
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let http_status = first_error.as_ref().and_then(ApiError::status);
        let status = match (failures, ok_requests, http_status) {
            (0, _, _) => status::COLLECTED,
            (_, 0, Some(403)) => status::FORBIDDEN,
            (_, 0, Some(404)) => status::NOT_FOUND,
            (_, 0, _) => status::FAILED,
            _ => status::PARTIAL,
        };
        let refused = matches!(http_status, Some(403 | 404));
        Coverage {
            id: ns.coverage(self.family.name),
            site: ns.site().to_string(),
            product: self.family.product.to_string(),
            family: self.family.name.to_string(),
            endpoints: self
                .family
                .endpoints
                .iter()
                .map(|e| e.to_string())
                .collect(),
            status: status.to_string(),
            http_status,
            records,
            failures,
            missing_permission: refused.then(|| self.family.needs.to_string()),
            message: first_error.map(|e| e.to_string()).or_else(|| {
                self.panic
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .clone()
            }),
            served_by: self
                .served_by
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clone(),
        }
    }
}

/// The coverage record of a family whose product the site does not have: `why` says how that
/// was found out.
pub(crate) fn not_licensed(ns: &Namespace, tally: &Tally, why: &str) -> Coverage {
    Coverage {
        status: status::NOT_LICENSED.to_string(),
        http_status: None,
        failures: 0,
        missing_permission: None,
        message: Some(why.to_string()),
        ..tally.coverage(ns)
    }
}

/// The coverage record of a product selected by default but lacking its credentials.
pub(crate) fn not_configured(ns: &Namespace, product: &str, how: &str) -> Coverage {
    Coverage {
        status: status::NOT_CONFIGURED.to_string(),
        message: Some(format!("{product} was not collected: {how}")),
        ..not_implemented(ns, product)
    }
}

/// The coverage record of a product whose collection stopped on a bug (a panic): what it had
/// written stays, the families it had not finished are missing.
pub(crate) fn failed_product(ns: &Namespace, product: &str, panic: &str) -> Coverage {
    Coverage {
        status: status::FAILED.to_string(),
        failures: 1,
        message: Some(format!(
            "collecting {product} stopped on a bug (please report it); families without a \
             coverage record of their own were not fully collected: {}",
            crate::http::truncate(panic)
        )),
        ..not_implemented(ns, product)
    }
}

/// The coverage record of a product this version cannot collect yet.
pub(crate) fn not_implemented(ns: &Namespace, product: &str) -> Coverage {
    Coverage {
        id: ns.coverage(product),
        site: ns.site().to_string(),
        product: product.to_string(),
        family: product.to_string(),
        endpoints: Vec::new(),
        status: status::NOT_IMPLEMENTED.to_string(),
        http_status: None,
        records: 0,
        failures: 0,
        missing_permission: None,
        message: Some(format!(
            "collecting {product} is not implemented yet in this version"
        )),
        served_by: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::ErrorKind;

    static FAMILY: Family = Family {
        product: "jira",
        name: "jira.things",
        endpoints: &["GET /rest/api/3/things"],
        needs: "Administer Jira (global permission)",
    };

    fn error(status: u16) -> ApiError {
        ApiError {
            method: "GET",
            url: "https://x/rest/api/3/things".into(),
            kind: ErrorKind::Status {
                status,
                message: String::new(),
                gave_up: None,
            },
        }
    }

    fn ns() -> Namespace {
        Namespace::new("acme.atlassian.net")
    }

    #[test]
    fn all_requests_answered_is_collected_even_when_empty() {
        let tally = Tally::new(&FAMILY);
        tally.ok();
        let c = tally.coverage(&ns());
        assert_eq!(c.status, "collected");
        assert_eq!(c.records, 0);
        assert_eq!(c.missing_permission, None);
    }

    #[test]
    fn refused_everywhere_is_forbidden_and_names_the_permission() {
        let tally = Tally::new(&FAMILY);
        tally.fail(&error(403));
        let c = tally.coverage(&ns());
        assert_eq!(c.status, "forbidden");
        assert_eq!(c.http_status, Some(403));
        assert_eq!(
            c.missing_permission.as_deref(),
            Some("Administer Jira (global permission)")
        );
        assert!(c.message.unwrap().contains("HTTP 403"));
    }

    #[test]
    fn some_answered_some_refused_is_partial() {
        let tally = Tally::new(&FAMILY);
        tally.ok();
        tally.records(3);
        tally.fail(&error(404));
        tally.fail(&error(403));
        let c = tally.coverage(&ns());
        assert_eq!(c.status, "partial");
        assert_eq!(c.failures, 2);
        assert_eq!(c.records, 3);
        assert_eq!(c.http_status, Some(404));
    }

    #[test]
    fn other_failures_are_failed() {
        let tally = Tally::new(&FAMILY);
        tally.fail(&error(503));
        assert_eq!(tally.coverage(&ns()).status, "failed");
        let tally = Tally::new(&FAMILY);
        tally.fail(&error(404));
        assert_eq!(tally.coverage(&ns()).status, "not_found");
    }

    #[test]
    fn problems_are_what_makes_a_run_partial() {
        assert!(!status::is_problem(status::COLLECTED));
        assert!(!status::is_problem(status::NOT_IMPLEMENTED));
        assert!(!status::is_problem(status::NOT_LICENSED));
        for s in [
            status::PARTIAL,
            status::FORBIDDEN,
            status::NOT_FOUND,
            status::FAILED,
        ] {
            assert!(status::is_problem(s));
        }
    }
}
