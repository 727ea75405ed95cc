//! The one-line run summary printed on stderr at the end: records per kind, requests, retries,
//! duration, and every endpoint family that could not be fully collected.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::coverage::status;
use crate::http::Stats;
use crate::output::Written;
use crate::record::Kind;

#[derive(Debug)]
pub struct Summary {
    pub counts: BTreeMap<Kind, u64>,
    pub requests: u64,
    pub retries: u64,
    pub elapsed: Duration,
    /// Families whose coverage status makes the run partial: `family status (HTTP n)`.
    pub problems: Vec<String>,
    /// Products selected but not collected by this version.
    pub not_implemented: Vec<String>,
    /// How the site was reached, when it was not directly (see [`crate::route::Route`]).
    pub route: Option<String>,
}

impl Summary {
    pub fn new(written: &Written, stats: &Stats, elapsed: Duration) -> Self {
        let mut problems = Vec::new();
        let mut not_implemented = Vec::new();
        for coverage in &written.coverage {
            if coverage.status == status::NOT_IMPLEMENTED {
                not_implemented.push(coverage.product.clone());
            } else if status::is_problem(&coverage.status) {
                let http = coverage
                    .http_status
                    .map(|s| format!(" (HTTP {s})"))
                    .unwrap_or_default();
                problems.push(format!("{} {}{http}", coverage.family, coverage.status));
            }
        }
        Summary {
            counts: written.counts.clone(),
            requests: stats.requests(),
            retries: stats.retries(),
            elapsed,
            problems,
            not_implemented,
            route: None,
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counts: Vec<String> = Kind::ALL
            .iter()
            .filter(|kind| **kind != Kind::Coverage)
            .map(|kind| {
                let n = self.counts.get(kind).copied().unwrap_or(0);
                format!("{n} {}", kind.plural())
            })
            .collect();
        write!(
            f,
            "collected {} in {:.1}s ({} requests, {} retries)",
            counts.join(", "),
            self.elapsed.as_secs_f64(),
            self.requests,
            self.retries
        )?;
        if let Some(route) = &self.route {
            write!(f, "; {route}")?;
        }
        if self.problems.is_empty() && self.not_implemented.is_empty() {
            write!(f, "; coverage complete")?;
        } else if self.problems.is_empty() {
            write!(f, "; every implemented family collected")?;
        } else {
            write!(
                f,
                "; PARTIAL, {} coverage problems: {}",
                self.problems.len(),
                self.problems.join(", ")
            )?;
        }
        if !self.not_implemented.is_empty() {
            write!(
                f,
                "; not implemented yet: {}",
                self.not_implemented.join(", ")
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Coverage;

    #[test]
    fn names_counts_and_problems() {
        let mut written = Written::default();
        written.counts.insert(Kind::User, 63);
        written.coverage.push(Coverage {
            family: "jira.application_roles".into(),
            product: "jira".into(),
            status: "forbidden".into(),
            http_status: Some(403),
            ..Coverage::default()
        });
        written.coverage.push(Coverage {
            family: "admin".into(),
            product: "admin".into(),
            status: "not_implemented".into(),
            ..Coverage::default()
        });
        written.coverage.push(Coverage {
            family: "jira.users".into(),
            product: "jira".into(),
            status: "collected".into(),
            ..Coverage::default()
        });
        let summary = Summary::new(&written, &Stats::default(), Duration::from_millis(1500));
        let line = summary.to_string();
        assert!(line.contains("63 users"), "{line}");
        assert!(line.contains("0 groups"), "{line}");
        assert!(
            line.contains("jira.application_roles forbidden (HTTP 403)"),
            "{line}"
        );
        assert!(line.contains("not implemented yet: admin"), "{line}");
        assert!(!line.contains("jira.users"), "{line}");
        assert!(!line.contains('\n'));
    }

    #[test]
    fn complete_only_when_every_selected_product_was_collected() {
        let mut written = Written::default();
        let summary = Summary::new(&written, &Stats::default(), Duration::ZERO);
        assert!(summary.to_string().ends_with("; coverage complete"));
        written.coverage.push(Coverage {
            family: "admin".into(),
            product: "admin".into(),
            status: "not_implemented".into(),
            ..Coverage::default()
        });
        let line = Summary::new(&written, &Stats::default(), Duration::ZERO).to_string();
        assert!(!line.contains("coverage complete"), "{line}");
        assert!(
            line.contains("every implemented family collected"),
            "{line}"
        );
    }
}
