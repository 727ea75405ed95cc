//! The Confluence collector against the simulated tenant: v1 and v2 paging, groups stitched to
//! Jira's ids, anonymous and personal spaces, site permissions through GraphQL, admin-only
//! settings and the audit window.

use std::collections::{BTreeSet, HashSet};

use inventory_collector::config::Product;
use inventory_tenant::{ConfluenceTenant, TenantConfig, ALL_LICENSED, ANONYMOUS};
use serde_json::Value;

use crate::support::*;

const CONFLUENCE_FAMILIES: [&str; 8] = [
    "confluence.groups",
    "confluence.group_members",
    "confluence.spaces",
    "confluence.space_permissions",
    "confluence.site_permissions",
    "confluence.audit_retention",
    "confluence.upm_settings",
    "confluence.audit",
];

fn requests_to(tenant: &inventory_tenant::Tenant, path: &str) -> usize {
    tenant.requests().iter().filter(|r| r.path == path).count()
}

fn permissions_in<'a>(records: &'a [Value], scope_type: &str) -> Vec<&'a Value> {
    of_kind(records, "permission")
        .into_iter()
        .filter(|p| p["scope_type"] == scope_type)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jira_and_confluence_together_match_the_tenant_without_duplicates() {
    let tenant = start(small()).await;
    let out = out();
    let products = [Product::Jira, Product::Confluence];
    let (outcome, _) = run(config_for(&tenant, &out.path, &products)).await;
    let report = outcome.expect("run succeeds");
    assert!(!report.partial(), "{}", report.summary);
    let records = read_records(&out.path);
    let data = tenant.dataset();
    let conf = &data.confluence;

    // One record per id across both products: the shared groups and edges appear once.
    let mut ids = HashSet::new();
    for record in &records {
        assert!(ids.insert(text(record, "id")), "duplicate {record}");
    }
    let groups = of_kind(&records, "group");
    assert_eq!(groups.len(), data.groups.len());
    assert!(groups.iter().all(|g| g["source"] == "jira"));

    // Spaces over several v2 pages, personal ones flagged.
    let spaces: Vec<&Value> = of_kind(&records, "resource")
        .into_iter()
        .filter(|r| r["resource_type"] == "confluence_space")
        .collect();
    let expected: BTreeSet<String> = conf.spaces.iter().map(|s| s.id.clone()).collect();
    assert_eq!(set_of(&spaces, "resource_id"), expected);
    assert!(
        requests_to(&tenant, "/wiki/api/v2/spaces") > 1,
        "several pages"
    );
    let personal = spaces
        .iter()
        .filter(|s| s["space_type"] == "personal")
        .count();
    assert_eq!(personal, 4);
    assert!(spaces
        .iter()
        .filter(|s| s["space_type"] == "personal")
        .all(|s| text(s, "key").starts_with('~')));
    assert!(spaces
        .iter()
        .any(|s| s["status"] == "archived" && s["archived"] == true));

    // Every space grant, anonymous and all-licensed access flagged.
    let grants = permissions_in(&records, "confluence_space");
    let expected: BTreeSet<String> = conf
        .spaces
        .iter()
        .flat_map(|s| s.permissions.iter().map(|g| g.id.clone()))
        .collect();
    assert_eq!(set_of(&grants, "grant_id"), expected);
    let open = conf
        .spaces
        .iter()
        .find(|s| s.anonymous())
        .expect("an open space");
    let anonymous: Vec<&&Value> = grants.iter().filter(|g| g["anonymous"] == true).collect();
    assert!(!anonymous.is_empty());
    for grant in &anonymous {
        assert_eq!(grant["holder_value"], ANONYMOUS);
        assert_eq!(
            text(grant, "scope_id"),
            format!("127.0.0.1/confluence/space/{}", open.id)
        );
        assert!(grant["principal_id"].is_null());
    }
    assert!(grants
        .iter()
        .any(|g| g["all_licensed_users"] == true && g["holder_value"] == ALL_LICENSED));
    // Group and user grants point at the records Jira wrote.
    for grant in grants.iter().filter(|g| !g["principal_id"].is_null()) {
        assert!(ids.contains(&text(grant, "principal_id")), "{grant}");
    }

    // Site permissions: cgraphql is blocked, the gateway served them, and coverage says so.
    let site = permissions_in(&records, "confluence_site");
    let expected: usize = conf
        .site_permissions
        .iter()
        .map(|g| g.operations.len())
        .sum();
    assert_eq!(site.len(), expected);
    assert!(site.iter().all(|p| p["scope_id"] == "127.0.0.1/site"));
    assert!(site.iter().any(|p| p["anonymous"] == true));
    let coverage_site = coverage(&records, "confluence.site_permissions");
    assert_eq!(coverage_site["status"], "collected");
    let message = text(coverage_site, "message");
    assert!(
        message.contains("served by POST /gateway/api/graphql"),
        "{message}"
    );
    assert!(message.contains("OperationBlocked"), "{message}");
    assert_eq!(coverage_site["served_by"], "POST /gateway/api/graphql");
    assert_eq!(
        coverage_site["endpoints"],
        serde_json::json!(["POST /cgraphql", "POST /gateway/api/graphql"])
    );
    assert_eq!(requests_to(&tenant, "/cgraphql"), 1);
    assert_eq!(requests_to(&tenant, "/gateway/api/graphql"), 1);

    // Settings: retention and UPM (served only with UPM's media type).
    let settings = of_kind(&records, "setting");
    let retention = settings
        .iter()
        .find(|s| s["source"] == "confluence.audit_retention")
        .expect("retention");
    assert_eq!(retention["value"], "6 MONTHS");
    let upm: BTreeSet<String> = settings
        .iter()
        .filter(|s| s["source"] == "confluence.upm")
        .map(|s| text(s, "key"))
        .collect();
    let expected: BTreeSet<String> = conf
        .upm_settings
        .iter()
        .map(|(k, _, _)| k.to_string())
        .chain(["safeMode".to_string()])
        .collect();
    assert_eq!(upm, expected, "unknown keys kept");

    for family in CONFLUENCE_FAMILIES {
        assert_eq!(
            coverage(&records, family)["status"],
            "collected",
            "{family}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluence_alone_pages_v1_and_links_members_to_jira_ids() {
    let tenant = start(small()).await;
    let jira_out = out();
    let (outcome, _) = run(config(&tenant, &jira_out.path)).await;
    outcome.expect("jira run");
    let jira = read_records(&jira_out.path);
    let jira_groups: BTreeSet<String> = set_of(&of_kind(&jira, "group"), "id");
    let jira_users: BTreeSet<String> = set_of(&of_kind(&jira, "user"), "id");
    let jira_edges: BTreeSet<String> = of_kind(&jira, "membership")
        .iter()
        .filter(|m| m["relation"] == "group_member")
        .map(|m| text(m, "id"))
        .collect();

    let before = requests_to(&tenant, "/wiki/rest/api/group");
    let out = out();
    let (outcome, _) = run(config_for(&tenant, &out.path, &[Product::Confluence])).await;
    assert!(!outcome.expect("run succeeds").partial());
    let records = read_records(&out.path);
    let groups = of_kind(&records, "group");
    assert!(groups.iter().all(|g| g["source"] == "confluence"));
    assert_eq!(set_of(&groups, "id"), jira_groups, "same group ids as Jira");
    let edges: Vec<&Value> = of_kind(&records, "membership");
    assert_eq!(
        edges.iter().map(|m| text(m, "id")).collect::<BTreeSet<_>>(),
        jira_edges,
        "same edges, same ids"
    );
    assert!(edges
        .iter()
        .all(|m| jira_users.contains(&text(m, "member_id"))));
    // 7 groups at 3 a page, and the biggest group's members over several pages.
    assert!(requests_to(&tenant, "/wiki/rest/api/group") - before >= 3);
    let biggest = tenant
        .dataset()
        .groups
        .iter()
        .max_by_key(|g| g.members.len())
        .unwrap();
    let member_pages = tenant
        .requests()
        .iter()
        .filter(|r| r.path == format!("/wiki/rest/api/group/{}/membersByGroupId", biggest.group_id))
        .count();
    assert!(member_pages > 1, "{member_pages}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_cursor_is_an_error_not_a_loop() {
    let tenant = start(TenantConfig {
        confluence: ConfluenceTenant {
            repeat_cursor: true,
            ..small().confluence
        },
        ..small()
    })
    .await;
    let out = out();
    let (outcome, _) = run(config_for(&tenant, &out.path, &[Product::Confluence])).await;
    let report = outcome.expect("the run finishes");
    assert!(report.partial());
    let records = read_records(&out.path);
    let spaces = coverage(&records, "confluence.spaces");
    assert_eq!(spaces["status"], "partial", "{spaces}");
    assert!(
        text(spaces, "message").contains("the next link is the page just read"),
        "{spaces}"
    );
    // First page, then the page that names itself: nothing more.
    assert_eq!(requests_to(&tenant, "/wiki/api/v2/spaces"), 2);
    // What was read before the fault is kept.
    assert_eq!(spaces["records"], 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cgraphql_serves_site_permissions_when_it_answers() {
    let tenant = start(TenantConfig {
        confluence: ConfluenceTenant {
            cgraphql_blocked: false,
            ..small().confluence
        },
        ..small()
    })
    .await;
    let out = out();
    let (outcome, _) = run(config_for(&tenant, &out.path, &[Product::Confluence])).await;
    assert!(!outcome.expect("run succeeds").partial());
    let records = read_records(&out.path);
    let site = coverage(&records, "confluence.site_permissions");
    assert_eq!(text(site, "message"), "served by POST /cgraphql");
    assert_eq!(requests_to(&tenant, "/gateway/api/graphql"), 0);
    assert!(!permissions_in(&records, "confluence_site").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_admin_gets_403_coverage_on_every_setting_and_the_rest() {
    let tenant = start(TenantConfig {
        admin: false,
        ..small()
    })
    .await;
    let out = out();
    let products = [Product::Jira, Product::Confluence];
    let (outcome, _) = run(config_for(&tenant, &out.path, &products)).await;
    let report = outcome.expect("a 403 does not fail the run");
    assert!(report.partial());
    let records = read_records(&out.path);
    for (family, permission) in [
        ("confluence.audit_retention", "Confluence Administrator"),
        ("confluence.upm_settings", "Confluence Administrator"),
        ("confluence.audit", "Confluence Administrator"),
        ("jira.upm_settings", "Administer Jira"),
        ("jira.mail_settings", "Administer Jira"),
    ] {
        let c = coverage(&records, family);
        assert_eq!(c["status"], "forbidden", "{c}");
        assert_eq!(c["http_status"], 403, "{c}");
        assert!(text(c, "missing_permission").contains(permission), "{c}");
    }
    for family in [
        "confluence.groups",
        "confluence.spaces",
        "confluence.space_permissions",
        "confluence.site_permissions",
    ] {
        assert_eq!(
            coverage(&records, family)["status"],
            "collected",
            "{family}"
        );
    }
    let confluence_settings = of_kind(&records, "setting")
        .iter()
        .filter(|s| text(s, "source").starts_with("confluence."))
        .count();
    assert_eq!(confluence_settings, 0);
    assert!(of_kind(&records, "event").is_empty());
    assert!(!permissions_in(&records, "confluence_space").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_window_starts_at_since_in_epoch_milliseconds() {
    let tenant = start(small()).await;
    let out = out();
    let mut config = config_for(&tenant, &out.path, &[Product::Confluence]);
    let since = jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_hours(24))
        .unwrap();
    config.since = since;
    let (outcome, _) = run(config).await;
    assert!(!outcome.expect("run succeeds").partial());
    let records = read_records(&out.path);
    let events = of_kind(&records, "event");
    let expected = tenant
        .dataset()
        .confluence
        .audit
        .iter()
        .filter(|e| e.minutes_ago < 24 * 60)
        .count();
    assert!(expected > 0 && expected < tenant.dataset().confluence.audit.len());
    assert_eq!(events.len(), expected);
    assert_eq!(set_of(&events, "id").len(), expected, "ids are distinct");
    for event in &events {
        let time: jiff::Timestamp = text(event, "time").parse().unwrap();
        assert!(time >= since, "{event}");
        assert_eq!(event["source"], "confluence.audit");
    }
    let audit_requests: Vec<_> = tenant
        .requests()
        .into_iter()
        .filter(|r| r.path == "/wiki/rest/api/audit")
        .collect();
    assert!(audit_requests.len() > 1, "several v1 pages");
    let start_date = format!("startDate={}", since.as_millisecond());
    assert!(audit_requests.iter().all(|r| r.query.contains(&start_date)));
    assert!(audit_requests.iter().all(|r| r.query.contains("endDate=")));
}
