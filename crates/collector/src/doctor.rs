//! `doctor`: before a long run, what the credentials will get. It resolves the route as
//! `collect` does (auth method, site or gateway, cloud id), then sends one cheap request per
//! endpoint family (`maxResults=1`, `limit=1`) and reports which answer and, for those that
//! refuse, the permission or OAuth scope they need (the families' own `needs`, the same text a
//! `coverage` record carries).
//!
//! Families that need an id from another listing (group members, project roles) are covered by
//! their listing's probe; the undocumented UPM, mail and GraphQL endpoints have no scope and are
//! left to the run.

use std::fmt::Write as _;
use std::sync::Arc;

use serde::de::IgnoredAny;

use crate::collect::{connect, Connection, RunError};
use crate::config::{Config, Product};
use crate::coverage::Family;
use crate::exit;
use crate::http::retry::{Clock, SystemClock};
use crate::http::Client;

/// One cheap request standing for a family.
struct Probe {
    family: &'static str,
    path: &'static str,
    query: &'static [(&'static str, &'static str)],
    /// What a 404 means when it is an answer, not a missing permission.
    not_found_means: Option<&'static str>,
}

const JIRA: [Probe; 6] = [
    probe(
        "jira.users",
        "/rest/api/3/users/search",
        &[("maxResults", "1")],
    ),
    probe(
        "jira.groups",
        "/rest/api/3/group/bulk",
        &[("maxResults", "1")],
    ),
    probe(
        "jira.projects",
        "/rest/api/3/project/search",
        &[("maxResults", "1")],
    ),
    probe(
        "jira.permission_schemes",
        "/rest/api/3/permissionscheme",
        &[],
    ),
    probe(
        "jira.application_properties",
        "/rest/api/3/application-properties",
        &[],
    ),
    probe("jira.application_roles", "/rest/api/3/applicationrole", &[]),
];

const CONFLUENCE: [Probe; 4] = [
    probe(
        "confluence.groups",
        "/wiki/rest/api/group",
        &[("limit", "1")],
    ),
    probe(
        "confluence.spaces",
        "/wiki/api/v2/spaces",
        &[("limit", "1")],
    ),
    probe(
        "confluence.audit_retention",
        "/wiki/rest/api/audit/retention",
        &[],
    ),
    probe(
        "confluence.audit",
        "/wiki/rest/api/audit",
        &[("limit", "1")],
    ),
];

const ADMIN: [Probe; 1] = [probe("admin.orgs", "/admin/v1/orgs", &[])];

/// Workspace discovery only: the Assets API itself needs a workspace id first.
const ASSETS: [Probe; 1] = [Probe {
    not_found_means: Some("not licensed: the site has no Assets"),
    ..probe(
        "assets.workspaces",
        "/rest/servicedeskapi/assets/workspace",
        &[("limit", "1")],
    )
}];

const JSM: [Probe; 2] = [
    probe(
        "jsm.service_desks",
        "/rest/servicedeskapi/servicedesk",
        &[("limit", "1")],
    ),
    probe(
        "jsm.organizations",
        "/rest/servicedeskapi/organization",
        &[("limit", "1")],
    ),
];

const fn probe(
    family: &'static str,
    path: &'static str,
    query: &'static [(&'static str, &'static str)],
) -> Probe {
    Probe {
        family,
        path,
        query,
        not_found_means: None,
    }
}

/// The report for stdout and the exit status it implies.
#[derive(Debug)]
pub struct Report {
    pub text: String,
    pub code: u8,
}

pub async fn run(config: Config) -> Result<Report, RunError> {
    run_with_clock(config, Arc::new(SystemClock)).await
}

/// Diagnoses the credentials; `clock` decides how retries wait.
pub async fn run_with_clock(config: Config, clock: Arc<dyn Clock>) -> Result<Report, RunError> {
    let Connection {
        endpoints,
        site,
        confluence,
        route,
        admin,
        ..
    } = connect(&config, clock).await?;
    let mut text = String::new();
    let mut missing = 0;
    let mut rejected = false;
    if let Some((url, auth)) = &endpoints.site {
        let _ = writeln!(text, "site: {}", url.as_str().trim_end_matches('/'));
        let _ = writeln!(
            text,
            "auth method: {} ({})",
            auth.method(),
            auth.principal()
        );
    }
    if let Some(route) = &route {
        let _ = writeln!(text, "route: {} ({})", route.name(), route.reason);
        let _ = writeln!(text, "  jira: {}", route.jira);
        let _ = writeln!(text, "  confluence: {}", route.confluence);
    }
    for product in &config.products {
        let (client, probes): (Option<&Client>, &[Probe]) = match product {
            Product::Jira => (site.as_ref(), &JIRA),
            Product::Confluence => (confluence.as_ref(), &CONFLUENCE),
            Product::Admin => (admin.as_ref().map(|(c, _)| c), &ADMIN),
            Product::Assets => (site.as_ref(), &ASSETS),
            Product::Jsm => (site.as_ref(), &JSM),
        };
        let Some(client) = client else {
            let _ = writeln!(
                text,
                "{}: not configured (no credentials for it)",
                product.name()
            );
            continue;
        };
        let _ = writeln!(text, "{}:", product.name());
        for probe in probes {
            let query: Vec<(&str, String)> = probe
                .query
                .iter()
                .map(|(k, v)| (*k, v.to_string()))
                .collect();
            let outcome = client.get::<IgnoredAny>(probe.path, &query).await;
            let line = match outcome {
                Ok(_) => "ok".to_string(),
                Err(error) if error.status() == Some(404) && probe.not_found_means.is_some() => {
                    probe.not_found_means.unwrap_or_default().to_string()
                }
                Err(error) if error.is_unauthorized() => {
                    rejected = true;
                    format!("REJECTED: {}", endpoints.unauthorized(&error))
                }
                Err(error) => {
                    missing += 1;
                    match error.status() {
                        Some(403) | Some(404) => format!(
                            "MISSING (HTTP {}): needs {}",
                            error.status().unwrap_or_default(),
                            needs(probe.family)
                        ),
                        _ => format!("FAILED: {error}"),
                    }
                }
            };
            let _ = writeln!(text, "  {:<32} GET {:<40} {line}", probe.family, probe.path);
        }
    }
    let code = if rejected {
        let _ = writeln!(text, "verdict: the credentials were rejected");
        exit::UNAUTHORIZED
    } else if missing > 0 {
        let _ = writeln!(
            text,
            "verdict: {missing} endpoint families would be partial; grant what they need"
        );
        exit::PARTIAL
    } else {
        let _ = writeln!(text, "verdict: every endpoint probed answers");
        exit::OK
    };
    Ok(Report { text, code })
}

/// What a family needs, from its product's table.
fn needs(family: &str) -> &'static str {
    crate::jira::FAMILIES
        .iter()
        .chain(crate::confluence::FAMILIES.iter())
        .chain(crate::admin::FAMILIES.iter())
        .chain(crate::assets::FAMILIES.iter())
        .chain(crate::jsm::FAMILIES.iter())
        .find(|f: &&&Family| f.name == family)
        .map_or("(unknown)", |f| f.needs)
}
