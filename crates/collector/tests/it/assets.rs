//! Jira Assets against the simulated tenant: workspace discovery on the site, the Assets API on
//! the gateway listener with the site's Basic credentials, multi-page AQL per object type,
//! attribute values named and typed, owners linked to Jira's users, the fallback to the older
//! list, a site without Assets, `--aql`, and 429 without `Retry-After`.

use std::collections::{BTreeMap, BTreeSet};

use inventory_collector::config::Product;
use inventory_tenant::{AssetsTenant, Host, Tenant, TenantConfig};
use serde_json::Value;

use crate::support::*;

fn with_assets(assets: AssetsTenant) -> TenantConfig {
    TenantConfig { assets, ..small() }
}

fn default_assets() -> AssetsTenant {
    small().assets
}

async fn collect(tenant: &Tenant, aql: Option<&str>) -> (Vec<Value>, bool) {
    let out = out();
    let mut config = config_for(tenant, &out.path, &[Product::Jira, Product::Assets]);
    config.aql = aql.map(String::from);
    let (outcome, _) = run(config).await;
    let report = outcome.expect("run succeeds");
    (read_records(&out.path), report.partial())
}

fn of_type<'a>(records: &'a [Value], resource_type: &str) -> Vec<&'a Value> {
    records
        .iter()
        .filter(|r| r["kind"] == "resource" && r["resource_type"] == resource_type)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_object_of_every_type_is_collected_over_many_pages() {
    let tenant = start(small()).await;
    let (records, partial) = collect(&tenant, None).await;
    assert!(!partial);
    let data = &tenant.dataset().assets;
    let objects = of_type(&records, "assets_object");
    assert_eq!(objects.len(), data.objects.len());
    // Per type, exactly the tenant's objects, each once.
    let mut collected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for object in &objects {
        collected
            .entry(text(object, "object_type_id"))
            .or_default()
            .insert(text(object, "resource_id"));
    }
    let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for object in &data.objects {
        expected
            .entry(object.type_id.clone())
            .or_default()
            .insert(object.id.clone());
    }
    assert_eq!(collected, expected);
    assert_eq!(of_type(&records, "assets_schema").len(), 2);
    assert_eq!(
        of_type(&records, "assets_object_type").len(),
        data.types.len()
    );

    // Several AQL pages per type, each on the gateway with Basic auth, none on the site.
    let aql: Vec<_> = tenant
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/object/aql"))
        .collect();
    assert!(aql.len() > data.types.len() * 2, "{} AQL pages", aql.len());
    assert!(aql
        .iter()
        .all(|r| r.host == Host::Api && r.auth == "basic" && r.status == 200));
    let coverage = coverage(&records, "assets.objects");
    assert_eq!(coverage["status"], "collected");
    assert_eq!(
        coverage["served_by"],
        "POST /jsm/assets/workspace/{workspaceId}/v1/object/aql"
    );
    assert_eq!(coverage["records"], data.objects.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attributes_are_named_and_typed_and_owners_link_to_jira_users() {
    let tenant = start(small()).await;
    let (records, _) = collect(&tenant, None).await;
    let users = set_of(&of_kind(&records, "user"), "id");
    let data = &tenant.dataset().assets;
    let mut owners = 0;
    for object in of_type(&records, "assets_object") {
        let truth = data
            .objects
            .iter()
            .find(|o| o.id == text(object, "resource_id"))
            .expect("a tenant object");
        assert_eq!(text(object, "key"), truth.key);
        assert_eq!(text(object, "name"), truth.label);
        assert_eq!(text(object, "created"), truth.created);
        let attributes = object["attributes"].as_object().expect("attributes");
        assert_eq!(attributes["Name"]["type"], "text");
        assert_eq!(
            attributes["Name"]["values"][0]["value"],
            truth.label.as_str()
        );
        let expected_owner = truth.users().first().map(|a| a.to_string());
        assert_eq!(
            object["owner_account_id"].as_str().map(String::from),
            expected_owner
        );
        if let Some(owner) = object["owner_account_id"].as_str() {
            owners += 1;
            assert!(users.contains(&format!("{}/user/{owner}", text(object, "site"))));
        }
        for (name, attribute) in attributes {
            for value in attribute["values"].as_array().expect("values") {
                match attribute["type"].as_str() {
                    Some("user") => assert!(users.contains(&text(value, "user_id")), "{name}"),
                    Some("object") => assert!(text(value, "object_id").contains("/object/")),
                    Some("group") => assert!(!text(value, "group_name").is_empty()),
                    Some("status") => assert!(!text(value, "status_id").is_empty()),
                    _ => {}
                }
            }
        }
        match text(object, "object_type").as_str() {
            "Server" => {
                assert_eq!(attributes["RAM GB"]["type"], "integer");
                assert_eq!(attributes["Admins"]["type"], "group");
            }
            "Application" => assert_eq!(attributes["Runs on"]["type"], "object"),
            "Laptop" | "Desk" => assert!(object["status"].is_string()),
            _ => {}
        }
    }
    assert!(owners > data.objects.len() / 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_404_on_the_aql_search_falls_back_to_the_older_list() {
    let tenant = start(with_assets(AssetsTenant {
        legacy_only: true,
        ..default_assets()
    }))
    .await;
    let (records, partial) = collect(&tenant, None).await;
    assert!(!partial);
    let data = &tenant.dataset().assets;
    assert_eq!(of_type(&records, "assets_object").len(), data.objects.len());
    let coverage = coverage(&records, "assets.objects");
    assert_eq!(coverage["status"], "collected");
    let served = text(coverage, "served_by");
    assert!(
        served.starts_with("GET /jsm/assets/workspace/{workspaceId}/v1/aql/objects"),
        "{served}"
    );
    // Once a type found the search missing, the others went to the older list directly.
    let searches = tenant
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/object/aql"))
        .count();
    assert!(searches <= data.types.len(), "{searches}");
    // The site's Data Center paths were never needed.
    assert!(!tenant
        .requests()
        .iter()
        .any(|r| r.path.starts_with("/rest/assets/") || r.path.starts_with("/rest/insight/")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_without_assets_is_not_licensed_and_not_partial() {
    let tenant = start(with_assets(AssetsTenant {
        enabled: false,
        ..default_assets()
    }))
    .await;
    let (records, partial) = collect(&tenant, None).await;
    assert!(!partial);
    assert!(of_type(&records, "assets_object").is_empty());
    for family in ["assets.workspaces", "assets.schemas", "assets.objects"] {
        let coverage = coverage(&records, family);
        assert_eq!(coverage["status"], "not_licensed", "{family}");
        assert_eq!(coverage["failures"], 0);
    }
    // The current discovery answered 404, its deprecated twin an empty list; the gateway was
    // never asked.
    let workspaces = coverage(&records, "assets.workspaces");
    assert_eq!(
        workspaces["served_by"],
        "GET /rest/servicedeskapi/insight/workspace"
    );
    assert!(!tenant
        .requests()
        .iter()
        .any(|r| r.path.starts_with("/jsm/assets")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aql_narrows_the_objects() {
    let tenant = start(small()).await;
    let (records, partial) = collect(&tenant, Some("objectSchemaId = 2")).await;
    assert!(!partial);
    let objects = of_type(&records, "assets_object");
    let expected = tenant
        .dataset()
        .assets
        .objects
        .iter()
        .filter(|o| o.schema_id == "2")
        .count();
    assert!(expected > 0);
    assert_eq!(objects.len(), expected);
    assert!(objects.iter().all(|o| o["schema_id"] == "2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_without_retry_after_are_retried_with_backoff() {
    let tenant = start(with_assets(AssetsTenant {
        rate_limit_every: 4,
        ..default_assets()
    }))
    .await;
    let out = out();
    let config = config_for(&tenant, &out.path, &[Product::Assets]);
    let (outcome, clock) = run(config).await;
    let report = outcome.expect("run succeeds");
    assert!(!report.partial(), "{}", report.summary);
    let limited = tenant
        .requests()
        .iter()
        .filter(|r| r.host == Host::Api && r.status == 429)
        .count();
    assert!(limited > 0);
    let sleeps = clock.sleeps();
    // A wait per 429 at least (the scheduler's pacing waits too), and a retry per 429.
    assert!(sleeps.len() >= limited, "a wait per 429 at least");
    assert_eq!(report.summary.retries as usize, limited);
    assert!(sleeps.iter().all(|s| !s.is_zero()), "{sleeps:?}");
    let records = read_records(&out.path);
    assert_eq!(
        of_type(&records, "assets_object").len(),
        tenant.dataset().assets.objects.len()
    );
}
