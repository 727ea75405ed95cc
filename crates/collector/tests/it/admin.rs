//! The Org Admin product against the simulated Admin API (its own listener): stitching with the
//! site, secrets and their flags, licences, both cursor styles, the v1 fallback, missing scopes,
//! a repeated cursor, 429 without Retry-After, the events window, and where each credential goes.

use std::collections::{BTreeMap, BTreeSet};

use inventory_collector::admin::AdminSettings;
use inventory_collector::collect::RunError;
use inventory_collector::config::{AdminAccess, Config, Product};
use inventory_tenant::{AdminArea, Host, OrgConfig, Tenant};
use jiff::{SignedDuration, Timestamp};
use secrecy::SecretString;
use serde_json::Value;

use crate::support::*;

fn org(now: Timestamp) -> OrgConfig {
    OrgConfig::small(SecretString::from(ADMIN_KEY), now)
}

async fn start_org(org: OrgConfig) -> Tenant {
    start(small().with_org(org)).await
}

/// Jira and Admin against `tenant`.
fn admin_config(tenant: &Tenant, output: &std::path::Path) -> Config {
    let mut config = config(tenant, output);
    config.products = vec![Product::Jira, Product::Admin];
    config.api_url = tenant.api_url().parse().expect("api URL");
    config.admin = Some(AdminAccess {
        key: SecretString::from(ADMIN_KEY),
        settings: AdminSettings {
            org_id: None,
            stale_days: 90,
        },
    });
    config
}

fn parse(text: &str) -> Timestamp {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn site_and_directory_users_are_stitched_into_one_record_each() {
    let tenant = start_org(org(Timestamp::now())).await;
    let out = out();
    let (outcome, _) = run(admin_config(&tenant, &out.path)).await;
    let report = outcome.expect("run succeeds");
    assert!(!report.partial(), "{}", report.summary);
    let records = read_records(&out.path);
    let data = tenant.dataset();
    let directory = &data.org.as_ref().unwrap().users;

    let users = of_kind(&records, "user");
    let ids: Vec<String> = users.iter().map(|u| text(u, "account_id")).collect();
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), unique.len(), "one record per account");
    let expected: BTreeSet<String> = data
        .users
        .iter()
        .map(|u| u.account_id.clone())
        .chain(directory.iter().map(|u| u.account_id.clone()))
        .collect();
    assert_eq!(
        unique.into_iter().cloned().collect::<BTreeSet<_>>(),
        expected
    );

    let mut filled = 0;
    for site_user in &data.users {
        let record = users
            .iter()
            .find(|u| u["account_id"] == site_user.account_id.as_str())
            .unwrap();
        match directory
            .iter()
            .find(|d| d.account_id == site_user.account_id)
        {
            Some(entry) => {
                assert_eq!(record["source"], "jira+admin", "{record}");
                assert_eq!(record["claim_status"], entry.claim_status.as_str());
                if site_user.email.is_none() && entry.email.is_some() {
                    assert_eq!(record["email"].as_str(), entry.email.as_deref(), "{record}");
                    assert_eq!(record["email_source"], "admin", "{record}");
                    filled += 1;
                }
                if let Some(email) = &site_user.email {
                    assert_eq!(record["email"], email.as_str());
                    assert_eq!(record["email_source"], "jira");
                }
            }
            None => assert_eq!(record["source"], "jira", "{record}"),
        }
    }
    assert!(
        filled > 0,
        "some hidden emails were filled in from the directory"
    );
    let org_only = directory
        .iter()
        .filter(|d| !data.users.iter().any(|u| u.account_id == d.account_id));
    for entry in org_only {
        let record = users
            .iter()
            .find(|u| u["account_id"] == entry.account_id.as_str())
            .unwrap();
        assert_eq!(record["source"], "admin", "{record}");
        let products: Vec<String> = record["product_access"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| text(p, "product"))
            .collect();
        let expected: Vec<String> = entry.product_access.iter().map(|p| p.key.clone()).collect();
        assert_eq!(products, expected);
    }

    // Organisation account with its verified domains.
    let orgs: Vec<&Value> = of_kind(&records, "account")
        .into_iter()
        .filter(|a| a["account_type"] == "organization")
        .collect();
    assert_eq!(orgs.len(), 1);
    let org_data = data.org.as_ref().unwrap();
    assert_eq!(orgs[0]["org_id"], org_data.org_id.as_str());
    let verified: Vec<String> = org_data
        .domains
        .iter()
        .filter(|d| d.claim_status.eq_ignore_ascii_case("verified"))
        .map(|d| d.name.clone())
        .collect();
    assert!(!verified.is_empty());
    for domain in verified {
        assert!(orgs[0]["domains"]
            .as_array()
            .unwrap()
            .contains(&domain.into()));
    }

    // Groups: the site's once, the organisation's own added, with their members.
    let groups = of_kind(&records, "group");
    let group_ids: Vec<String> = groups.iter().map(|g| text(g, "group_id")).collect();
    assert_eq!(
        group_ids.len(),
        group_ids.iter().collect::<BTreeSet<_>>().len(),
        "no group twice"
    );
    let expected: BTreeSet<String> = org_data.groups.iter().map(|g| g.id.clone()).collect();
    assert_eq!(group_ids.into_iter().collect::<BTreeSet<_>>(), expected);
    let memberships = of_kind(&records, "membership");
    let member_ids: Vec<String> = memberships.iter().map(|m| text(m, "id")).collect();
    assert_eq!(
        member_ids.len(),
        member_ids.iter().collect::<BTreeSet<_>>().len(),
        "no membership twice"
    );
    let edges: BTreeSet<(String, String)> = memberships
        .iter()
        .filter(|m| m["relation"] == "group_member")
        .map(|m| (text(m, "group_id"), text(m, "account_id")))
        .collect();
    for group in &org_data.groups {
        for member in &group.members {
            assert!(
                edges.contains(&(group.id.clone(), member.clone())),
                "{} {member}",
                group.name
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_credential_is_a_secret_flagged_by_age() {
    let now = Timestamp::now();
    let tenant = start_org(org(now)).await;
    let out = out();
    let (outcome, _) = run(admin_config(&tenant, &out.path)).await;
    assert!(!outcome.expect("run succeeds").partial());
    let records = read_records(&out.path);
    let org_data = tenant.dataset().org.clone().unwrap();
    let secrets = of_kind(&records, "secret");

    let tokens = org_data.api_tokens.iter().map(|t| ("api_token", t));
    let service = org_data
        .service_accounts
        .iter()
        .flat_map(|s| s.tokens.iter().map(|t| ("service_account_token", t)));
    let mut expected = 0;
    for (secret_type, token) in tokens.chain(service) {
        expected += 1;
        let record = secrets
            .iter()
            .find(|s| s["secret_type"] == secret_type && s["secret_id"] == token.id.as_str())
            .unwrap_or_else(|| panic!("{secret_type} {} missing", token.id));
        let last_used = parse(token.last_active_at.as_deref().unwrap_or(&token.created_at));
        let stale = now.duration_since(last_used) > SignedDuration::from_hours(24 * 90);
        assert_eq!(record["stale"], stale, "{record}");
        assert_eq!(
            record["never_expires"],
            token.expires_at.is_none(),
            "{record}"
        );
        let soon = token.expires_at.as_deref().map(parse).is_some_and(|at| {
            at > now && now.duration_since(at).abs() <= SignedDuration::from_hours(24 * 14)
        });
        assert_eq!(record["expiring_soon"], soon, "{record}");
        assert_eq!(record["owner_account_id"], token.owner.account_id.as_str());
        assert!(record.get("value").is_none() && record.get("token").is_none());
    }
    for key in &org_data.api_keys {
        expected += 1;
        assert!(secrets
            .iter()
            .any(|s| s["secret_type"] == "admin_api_key" && s["secret_id"] == key.id.as_str()));
    }
    assert_eq!(secrets.len(), expected);
    for flag in ["stale", "never_expires", "expiring_soon"] {
        assert!(
            secrets.iter().any(|s| s[flag] == true),
            "no {flag} secret in the data"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn licences_count_access_and_recent_activity_per_product() {
    let now = Timestamp::now();
    let tenant = start_org(org(now)).await;
    let out = out();
    let (outcome, _) = run(admin_config(&tenant, &out.path)).await;
    outcome.expect("run succeeds");
    let records = read_records(&out.path);
    let mut expected: BTreeMap<(String, String), [u64; 3]> = BTreeMap::new();
    for user in &tenant.dataset().org.as_ref().unwrap().users {
        for access in &user.product_access {
            let counts = expected
                .entry((access.key.clone(), access.resource_id.clone()))
                .or_default();
            counts[0] += 1;
            let age = access
                .last_active
                .as_deref()
                .map(|t| now.duration_since(parse(t)));
            counts[1] += u64::from(age.is_some_and(|a| a <= SignedDuration::from_hours(24 * 30)));
            counts[2] += u64::from(age.is_some_and(|a| a <= SignedDuration::from_hours(24 * 90)));
        }
    }
    let licences: BTreeMap<(String, String), [u64; 3]> = of_kind(&records, "resource")
        .into_iter()
        .filter(|r| r["resource_type"] == "product_licence")
        .map(|r| {
            let count = |f: &str| r[f].as_u64().unwrap();
            (
                (text(r, "key"), text(r, "resource_id")),
                [
                    count("users"),
                    count("active_users_30d"),
                    count("active_users_90d"),
                ],
            )
        })
        .collect();
    assert_eq!(licences, expected);
    let products: BTreeSet<&String> = licences.keys().map(|(p, _)| p).collect();
    assert!(
        products.len() >= 4,
        "products beyond Jira are counted: {products:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_v2_directory_the_v1_users_api_serves_and_says_so() {
    let tenant = start_org(OrgConfig {
        v2_directory: false,
        ..org(Timestamp::now())
    })
    .await;
    let out = out();
    let (outcome, _) = run(admin_config(&tenant, &out.path)).await;
    let report = outcome.expect("run succeeds");
    // Organisations on the original user management have no group listing at all (the v1
    // groups search is for the new experience only): reported, not hidden.
    assert_eq!(
        report.summary.problems,
        ["admin.groups not_found (HTTP 404)"]
    );
    let records = read_records(&out.path);
    let coverage = coverage(&records, "admin.users");
    assert_eq!(coverage["status"], "collected", "{coverage}");
    assert!(text(coverage, "served_by").contains("/admin/v1/orgs/{orgId}/users"));
    let directory = &tenant.dataset().org.as_ref().unwrap().users;
    let users = of_kind(&records, "user");
    for entry in directory.iter().filter(|d| d.claim_status == "managed") {
        let record = users
            .iter()
            .find(|u| u["account_id"] == entry.account_id.as_str())
            .unwrap_or_else(|| panic!("{} missing", entry.account_id));
        assert!(
            record["source"].as_str().unwrap().contains("admin"),
            "{record}"
        );
        if entry.product_access.iter().any(|p| p.last_active.is_some()) {
            assert!(record["last_active"].is_string(), "{record}");
        }
    }
    let v1_dates = tenant
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/last-active-dates"))
        .count();
    assert!(v1_dates > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_scope_is_a_coverage_record_and_the_rest_is_collected() {
    let tenant = start_org(OrgConfig {
        denied: vec![AdminArea::ApiTokens, AdminArea::Events],
        ..org(Timestamp::now())
    })
    .await;
    let out = out();
    let (outcome, _) = run(admin_config(&tenant, &out.path)).await;
    let report = outcome.expect("a 403 does not fail the run");
    assert!(report.partial());
    let records = read_records(&out.path);
    let tokens = coverage(&records, "admin.api_tokens");
    assert_eq!(tokens["status"], "forbidden", "{tokens}");
    assert!(text(tokens, "missing_permission").contains("read:tokens:admin"));
    assert!(text(tokens, "message").contains("ADMIN-403") || tokens["http_status"] == 403);
    assert_eq!(coverage(&records, "admin.events")["status"], "forbidden");
    assert_eq!(coverage(&records, "admin.users")["status"], "collected");
    assert_eq!(coverage(&records, "admin.api_keys")["status"], "collected");
    assert!(of_kind(&records, "secret")
        .iter()
        .all(|s| s["secret_type"] != "api_token"));
    assert!(!of_kind(&records, "user").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_cursor_ends_the_listing_with_an_error_not_a_loop() {
    let tenant = start_org(OrgConfig {
        repeat_cursor: true,
        ..org(Timestamp::now())
    })
    .await;
    let out = out();
    let (outcome, _) = run(admin_config(&tenant, &out.path)).await;
    assert!(outcome.expect("the run finishes").partial());
    let records = read_records(&out.path);
    let tokens = coverage(&records, "admin.api_tokens");
    assert_eq!(tokens["status"], "partial", "{tokens}");
    assert!(
        text(tokens, "message").contains("handed out twice"),
        "{tokens}"
    );
    let calls = tenant
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/api-tokens") && !r.path.contains("service-accounts"))
        .count();
    assert!(calls <= 3, "{calls} requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_without_retry_after_back_off_until_the_reset() {
    let tenant = start_org(OrgConfig {
        rate_limit_every: 3,
        ..org(Timestamp::now())
    })
    .await;
    let out = out();
    let (outcome, clock) = run(admin_config(&tenant, &out.path)).await;
    let report = outcome.expect("run succeeds");
    assert!(!report.partial(), "{}", report.summary);
    let limited = tenant
        .requests()
        .iter()
        .filter(|r| r.host == Host::Api && r.status == 429)
        .count();
    assert!(limited > 0);
    // A wait per 429 at least: the retry's, then those of other requests to the paused
    // endpoint and of the pacing at the X-RateLimit-Limit the Admin API sent.
    assert!(clock.sleeps().len() >= limited, "a wait per 429 at least");
    assert_eq!(report.summary.retries as usize, limited);
    let records = read_records(&out.path);
    let org_data = tenant.dataset().org.clone().unwrap();
    let expected = org_data.api_tokens.len()
        + org_data.api_keys.len()
        + org_data
            .service_accounts
            .iter()
            .map(|s| s.tokens.len())
            .sum::<usize>();
    assert_eq!(of_kind(&records, "secret").len(), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_follow_the_since_window() {
    let now = Timestamp::now();
    let tenant = start_org(org(now)).await;
    let out = out();
    let mut config = admin_config(&tenant, &out.path);
    let since = now - SignedDuration::from_hours(24 * 3);
    config.since = since;
    let (outcome, _) = run(config).await;
    outcome.expect("run succeeds");
    let records = read_records(&out.path);
    let events = of_kind(&records, "event");
    let expected: BTreeSet<String> = tenant
        .dataset()
        .org
        .as_ref()
        .unwrap()
        .events
        .iter()
        .filter(|e| parse(&e.time) >= since)
        .map(|e| e.id.clone())
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(set_of(&events, "event_id"), expected);
    let call = tenant
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/events-stream"))
        .unwrap();
    let from = format!("from={}", since.as_millisecond());
    assert!(call.query.contains(&from), "{}", call.query);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_credential_goes_only_to_its_own_api() {
    let tenant = start_org(org(Timestamp::now())).await;
    let out = out();
    let (outcome, _) = run(admin_config(&tenant, &out.path)).await;
    outcome.expect("run succeeds");
    let log = tenant.requests();
    assert!(log.iter().any(|r| r.host == Host::Api));
    assert!(log.iter().any(|r| r.host == Host::Site));
    for request in &log {
        let expected = match request.host {
            Host::Site => "basic",
            Host::Api => "bearer",
        };
        assert_eq!(request.auth, expected, "{request:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_admin_key_names_the_admin_api() {
    let tenant = start(small().with_org(OrgConfig::small(
        SecretString::from("another-key"),
        Timestamp::now(),
    )))
    .await;
    let out = out();
    let (outcome, _) = run(admin_config(&tenant, &out.path)).await;
    match outcome {
        Err(RunError::Unauthorized(error)) => {
            let message = format!("{error:#}");
            assert!(message.contains("Admin API"), "{message}");
            assert!(message.contains(&tenant.api_url()), "{message}");
            assert!(!message.contains(ADMIN_KEY));
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_organisation_is_reported_and_the_site_still_collected() {
    let tenant = start_org(org(Timestamp::now())).await;
    let out = out();
    let mut config = admin_config(&tenant, &out.path);
    if let Some(access) = config.admin.as_mut() {
        access.settings.org_id = Some("00000000-0000-4000-8000-000000000000".to_string());
    }
    let (outcome, _) = run(config).await;
    let report = outcome.expect("a missing organisation does not fail the run");
    assert_eq!(report.summary.problems, ["admin.orgs not_found (HTTP 404)"]);
    let records = read_records(&out.path);
    let orgs = coverage(&records, "admin.orgs");
    assert!(text(orgs, "message").contains("ADMIN-404"), "{orgs}");
    assert_eq!(
        of_kind(&records, "user").len(),
        tenant.dataset().users.len(),
        "the site's users, unstitched"
    );
    assert!(of_kind(&records, "secret").is_empty());
}

/// Without Jira, nothing waits for Jira: Confluence lists groups first, the directory takes
/// the rest, and JSM's customers are the site's accounts. (The tenant's portal customers are
/// not in its directory; the join's unit tests merge the two.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_jira_the_other_products_join_and_wait_for_no_one() {
    let tenant = start_org(org(Timestamp::now())).await;
    let out = out();
    let mut config = admin_config(&tenant, &out.path);
    config.products = vec![Product::Jsm, Product::Confluence, Product::Admin];
    // A guard, not a wait: a run that waited for a product not collected would never end.
    let run = tokio::time::timeout(std::time::Duration::from_secs(120), run(config));
    let (outcome, _) = run.await.expect("the run ends");
    let report = outcome.expect("run succeeds");
    assert!(!report.partial(), "{}", report.summary);
    let records = read_records(&out.path);
    for kind in ["user", "group", "membership"] {
        let ids: Vec<String> = of_kind(&records, kind)
            .iter()
            .map(|r| text(r, "id"))
            .collect();
        let unique: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(ids.len(), unique.len(), "each {kind} once");
        assert!(!ids.is_empty(), "some {kind} records");
    }
    let users = of_kind(&records, "user");
    assert!(users.iter().any(|u| u["source"] == "jsm"), "JSM's accounts");
    assert!(
        users.iter().any(|u| u["source"] == "admin"),
        "the directory's"
    );
    let groups = of_kind(&records, "group");
    assert!(groups.iter().any(|g| g["source"] == "confluence"));
    assert!(groups.iter().any(|g| g["source"] == "admin"));
}
