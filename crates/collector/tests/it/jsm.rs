//! Jira Service Management against the simulated tenant: service desks, customers,
//! organisations and members over several `PagedDTO` pages, customers not repeated against
//! Jira's users, and a non-agent account.

use std::collections::BTreeSet;

use inventory_collector::config::Product;
use inventory_tenant::{Tenant, TenantConfig};
use serde_json::Value;

use crate::support::*;

async fn collect(tenant: &Tenant, products: &[Product]) -> (Vec<Value>, bool) {
    let out = out();
    let (outcome, _) = run(config_for(tenant, &out.path, products)).await;
    let report = outcome.expect("run succeeds");
    (read_records(&out.path), report.partial())
}

fn edges<'a>(records: &'a [Value], relation: &str) -> Vec<&'a Value> {
    records
        .iter()
        .filter(|r| r["kind"] == "membership" && r["relation"] == relation)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desks_customers_and_organisations_are_collected_over_several_pages() {
    // Twelve projects: four service desks, more than one page of them.
    let tenant = start(TenantConfig {
        projects: 12,
        ..small()
    })
    .await;
    let (records, partial) = collect(&tenant, &[Product::Jira, Product::Jsm]).await;
    assert!(!partial);
    let jsm = &tenant.dataset().jsm;

    let desks: Vec<&Value> = records
        .iter()
        .filter(|r| r["resource_type"] == "jsm_service_desk")
        .collect();
    assert_eq!(desks.len(), jsm.service_desks.len());
    let projects = set_of(
        &records
            .iter()
            .filter(|r| r["resource_type"] == "jira_project")
            .collect::<Vec<_>>(),
        "resource_id",
    );
    for desk in &desks {
        assert!(projects.contains(&text(desk, "project_id")), "{desk}");
    }

    let customer_edges = edges(&records, "service_desk_customer");
    let expected: usize = jsm.service_desks.iter().map(|d| d.customers.len()).sum();
    assert_eq!(customer_edges.len(), expected);
    let ids: BTreeSet<String> = customer_edges.iter().map(|e| text(e, "id")).collect();
    assert_eq!(ids.len(), expected, "each edge once");

    let organizations: Vec<&Value> = of_kind(&records, "group")
        .into_iter()
        .filter(|g| g["source"] == "jsm")
        .collect();
    assert_eq!(organizations.len(), jsm.organizations.len());
    assert!(organizations
        .iter()
        .all(|g| text(g, "id").contains("/jsm/organization/")));
    let members = edges(&records, "organization_member");
    let expected: usize = jsm.organizations.iter().map(|o| o.members.len()).sum();
    assert_eq!(members.len(), expected);

    // Every edge's member is a user record.
    let users = set_of(&of_kind(&records, "user"), "id");
    for edge in customer_edges.iter().chain(&members) {
        assert!(users.contains(&text(edge, "member_id")), "{edge}");
    }

    // Several pages of each listing (the tenant caps `limit` at 3).
    let log = tenant.requests();
    let pages = |suffix: &str| log.iter().filter(|r| r.path.ends_with(suffix)).count();
    assert!(pages("/servicedeskapi/servicedesk") >= 2);
    assert!(pages("/customer") > jsm.service_desks.len());
    assert!(pages("/servicedeskapi/organization") >= 2);
    // The experimental customer listing was asked for with the opt-in header: no 412.
    assert!(log.iter().all(|r| r.status != 412));
    for family in [
        "jsm.service_desks",
        "jsm.customers",
        "jsm.organizations",
        "jsm.organization_members",
    ] {
        assert_eq!(
            coverage(&records, family)["status"],
            "collected",
            "{family}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_jira_listed_are_not_repeated() {
    let tenant = start(small()).await;
    let (records, _) = collect(&tenant, &[Product::Jira, Product::Jsm]).await;
    let data = tenant.dataset();
    let users = of_kind(&records, "user");
    let ids: Vec<String> = users.iter().map(|u| text(u, "account_id")).collect();
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), unique.len(), "one record per account");
    // Jira's accounts plus the portal-only customers, nothing else.
    let expected: BTreeSet<String> = data
        .users
        .iter()
        .chain(&data.jsm.customers)
        .map(|u| u.account_id.clone())
        .collect();
    assert_eq!(
        unique.into_iter().cloned().collect::<BTreeSet<_>>(),
        expected
    );
    let from_jsm: Vec<&&Value> = users.iter().filter(|u| u["source"] == "jsm").collect();
    assert_eq!(from_jsm.len(), small().jsm.portal_customers);
    assert!(from_jsm.iter().all(|u| u["account_type"] == "customer"));
    // The site's customer accounts stay Jira's records.
    for customer in data.users.iter().filter(|u| u.account_type == "customer") {
        let record = users
            .iter()
            .find(|u| u["account_id"] == customer.account_id.as_str())
            .unwrap();
        assert_eq!(record["source"], "jira");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_agent_sees_desks_but_not_customers() {
    let tenant = start(TenantConfig {
        admin: false,
        ..small()
    })
    .await;
    let (records, partial) = collect(&tenant, &[Product::Jsm]).await;
    assert!(partial, "customers refused makes the run partial");
    let customers = coverage(&records, "jsm.customers");
    assert_eq!(customers["status"], "forbidden");
    assert!(customers["missing_permission"]
        .as_str()
        .unwrap()
        .contains("customers"));
    assert_eq!(
        coverage(&records, "jsm.service_desks")["status"],
        "collected"
    );
    // A customer sees only its own organisations: none here, and that is not a failure.
    let organizations = coverage(&records, "jsm.organizations");
    assert_eq!(organizations["status"], "collected");
    assert_eq!(organizations["records"], 0);
    assert!(edges(&records, "organization_member").is_empty());
}
