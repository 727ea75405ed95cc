//! Conformance: every response the simulated tenant serves, validated against the official
//! specs (the trimmed copies in `fixtures/spec/`: Jira platform, Confluence v1 and v2), and
//! those copies checked against the full specs when they are available.

use std::path::PathBuf;

use atlassian_inventory::tenant::{Tenant, TenantConfig};
use secrecy::SecretString;
use serde_json::{json, Value};

use crate::schema::{component, validate};
use crate::tenant::{get, send, small, EMAIL, TOKEN};

fn crate_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn load(path: &PathBuf) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn subset() -> Value {
    load(&crate_path("fixtures/spec/jira-platform-subset.json"))
}

fn confluence_v1() -> Value {
    load(&crate_path("fixtures/spec/confluence-v1-subset.json"))
}

/// Paths relative to `/wiki/api/v2`, as the v2 spec writes them.
fn confluence_v2() -> Value {
    load(&crate_path("fixtures/spec/confluence-v2-subset.json"))
}

/// The `application/json` schema the spec declares for `method path` answering `status`.
fn response_schema<'a>(spec: &'a Value, method: &str, path: &str, status: u16) -> &'a Value {
    let schema = &spec["paths"][path][method]["responses"][status.to_string()]["content"]
        ["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "the spec declares no {status} body for {method} {path}"
    );
    schema
}

/// Fetches `url` and validates the body against the spec's response for `spec_path`.
struct Checker<'a> {
    spec: &'a Value,
    tenant: &'a Tenant,
    checked: usize,
}

impl Checker<'_> {
    async fn ok(&mut self, spec_path: &str, url: &str) -> Value {
        let reply = get(self.tenant, url).await;
        assert_eq!(reply.status, 200, "{url}: {}", reply.body);
        self.conforms(
            response_schema(self.spec, "get", spec_path, 200),
            url,
            &reply.body,
        );
        reply.body
    }

    fn conforms(&mut self, schema: &Value, url: &str, body: &Value) {
        let violations = validate(self.spec, schema, body);
        assert!(violations.is_empty(), "{url}:\n{}", violations.join("\n"));
        self.checked += 1;
    }

    /// An error answer: its status, and Jira's `ErrorCollection` body.
    async fn error(&mut self, url: &str, status: u16) {
        let reply = get(self.tenant, url).await;
        assert_eq!(reply.status, status, "{url}");
        let schema = json!({"$ref": "#/components/schemas/ErrorCollection"});
        self.conforms(&schema, url, &reply.body);
    }
}

#[tokio::test]
async fn every_served_response_conforms_to_the_spec() {
    let spec = subset();
    let tenant = Tenant::start(small()).await.unwrap();
    let data = tenant.dataset().clone();
    let mut check = Checker {
        spec: &spec,
        tenant: &tenant,
        checked: 0,
    };

    for start in (0..=data.users.len()).step_by(8) {
        let url = format!("/rest/api/3/users/search?startAt={start}&maxResults=8");
        check.ok("/rest/api/3/users/search", &url).await;
    }
    for url in [
        "/rest/api/3/group/bulk",
        "/rest/api/3/group/bulk?maxResults=2&startAt=2",
    ] {
        check.ok("/rest/api/3/group/bulk", url).await;
    }
    for group in &data.groups {
        for inactive in [true, false] {
            let url = format!(
                "/rest/api/3/group/member?groupId={}&includeInactiveUsers={inactive}&maxResults=5",
                group.group_id
            );
            check.ok("/rest/api/3/group/member", &url).await;
        }
    }
    for expand in ["", "&expand=lead,description", "&expand=insight,url"] {
        let url = format!("/rest/api/3/project/search?maxResults=4{expand}");
        check.ok("/rest/api/3/project/search", &url).await;
    }
    for project in &data.projects {
        let url = format!("/rest/api/3/project/{}/roledetails", project.key);
        check
            .ok("/rest/api/3/project/{projectIdOrKey}/roledetails", &url)
            .await;
        for role in &project.roles {
            let url = format!("/rest/api/3/project/{}/role/{}", project.id, role.id);
            check
                .ok("/rest/api/3/project/{projectIdOrKey}/role/{id}", &url)
                .await;
        }
        let scheme_path = "/rest/api/3/project/{projectKeyOrId}/permissionscheme";
        for expand in ["", "?expand=permissions"] {
            let url = format!(
                "/rest/api/3/project/{}/permissionscheme{expand}",
                project.key
            );
            match project.permission_scheme_id {
                Some(_) => drop(check.ok(scheme_path, &url).await),
                None => check.error(&url, 404).await,
            }
        }
    }
    for url in [
        "/rest/api/3/permissionscheme",
        "/rest/api/3/permissionscheme?expand=all",
    ] {
        check.ok("/rest/api/3/permissionscheme", url).await;
    }
    check
        .ok(
            "/rest/api/3/application-properties",
            "/rest/api/3/application-properties",
        )
        .await;
    // With `key` Jira returns one object, not the array the 200 schema declares.
    let url = "/rest/api/3/application-properties?key=jira.issue.actions.order";
    let one = get(&tenant, url).await;
    check.conforms(
        &json!({"$ref": "#/components/schemas/ApplicationProperty"}),
        url,
        &one.body,
    );
    check
        .ok("/rest/api/3/applicationrole", "/rest/api/3/applicationrole")
        .await;

    // Users pages, groups, members, projects, roles, schemes: make sure the loops ran.
    assert!(check.checked > 40, "{}", check.checked);
}

#[tokio::test]
async fn error_bodies_conform_to_error_collection() {
    let spec = subset();
    let tenant = Tenant::start(small()).await.unwrap();
    let mut check = Checker {
        spec: &spec,
        tenant: &tenant,
        checked: 0,
    };
    check
        .error("/rest/api/3/group/member?groupId=missing", 404)
        .await;
    check.error("/rest/api/3/group/member", 400).await;
    check.error("/rest/api/3/users/search?startAt=x", 400).await;
    check
        .error("/rest/api/3/project/NOPE/roledetails", 404)
        .await;
    check.error("/rest/api/3/project/ENG/role/abc", 400).await;
    check
        .error("/rest/api/3/application-properties?key=no.such.key", 404)
        .await;
    check
        .error("/rest/api/3/search?jql=order%20by%20key", 410)
        .await;
    check.error("/rest/api/3/unknown", 404).await;

    // The statuses for which the spec itself declares the ErrorCollection body.
    let path = "/rest/api/3/application-properties";
    let unauthorized = send(&tenant, reqwest::Method::GET, path, Some("wrong")).await;
    assert_eq!(unauthorized.status, 401);
    check.conforms(
        response_schema(&spec, "get", path, 401),
        path,
        &unauthorized.body,
    );

    let mut config = small();
    config.admin = false;
    let non_admin = Tenant::start(config).await.unwrap();
    let hidden = get(&non_admin, path).await;
    assert_eq!(hidden.status, 404);
    check.conforms(response_schema(&spec, "get", path, 404), path, &hidden.body);
    let mut check = Checker {
        spec: &spec,
        tenant: &non_admin,
        checked: 0,
    };
    check.error("/rest/api/3/applicationrole", 403).await;
    check
        .error("/rest/api/3/project/OPS/permissionscheme", 403)
        .await;
}

#[tokio::test]
async fn demo_tenant_conforms_too() {
    let spec = subset();
    let tenant = Tenant::start(TenantConfig::demo(EMAIL, SecretString::from(TOKEN)))
        .await
        .unwrap();
    let mut check = Checker {
        spec: &spec,
        tenant: &tenant,
        checked: 0,
    };
    let mut start = 0;
    loop {
        let url = format!("/rest/api/3/users/search?startAt={start}");
        let page = check.ok("/rest/api/3/users/search", &url).await;
        let received = page.as_array().map_or(0, Vec::len);
        if received == 0 {
            break;
        }
        start += received;
    }
    assert_eq!(start, tenant.dataset().users.len());
    check
        .ok(
            "/rest/api/3/project/search",
            "/rest/api/3/project/search?expand=lead",
        )
        .await;
}

#[tokio::test]
async fn confluence_responses_conform_to_the_v1_and_v2_specs() {
    let (v1, v2) = (confluence_v1(), confluence_v2());
    let tenant = Tenant::start(small()).await.unwrap();
    let data = tenant.dataset().clone();
    let mut check = Checker {
        spec: &v1,
        tenant: &tenant,
        checked: 0,
    };
    for url in [
        "/wiki/rest/api/group",
        "/wiki/rest/api/group?start=3&limit=2",
    ] {
        check.ok("/wiki/rest/api/group", url).await;
    }
    for group in &data.groups {
        let url = format!(
            "/wiki/rest/api/group/{}/membersByGroupId?limit=50",
            group.group_id
        );
        check
            .ok("/wiki/rest/api/group/{groupId}/membersByGroupId", &url)
            .await;
    }
    check
        .ok(
            "/wiki/rest/api/audit/retention",
            "/wiki/rest/api/audit/retention",
        )
        .await;
    for url in [
        "/wiki/rest/api/audit",
        "/wiki/rest/api/audit?startDate=0&start=3&limit=5",
    ] {
        let page = check.ok("/wiki/rest/api/audit", url).await;
        assert!(!page["results"].as_array().unwrap().is_empty(), "{url}");
    }
    let v1_checked = check.checked;

    let mut check = Checker {
        spec: &v2,
        tenant: &tenant,
        checked: 0,
    };
    let mut next = Some("/wiki/api/v2/spaces?limit=250".to_string());
    let mut spaces = 0;
    while let Some(url) = next.take() {
        let page = check.ok("/spaces", &url).await;
        spaces += page["results"].as_array().unwrap().len();
        next = page["_links"]["next"].as_str().map(String::from);
    }
    assert_eq!(spaces, data.confluence.spaces.len());
    for space in &data.confluence.spaces {
        let url = format!("/wiki/api/v2/spaces/{}/permissions", space.id);
        check.ok("/spaces/{id}/permissions", &url).await;
    }
    assert!(v1_checked + check.checked > 15);
}

/// Every `$ref` in the subset resolves inside the subset.
#[test]
fn the_subset_is_self_contained() {
    fn refs(node: &Value, out: &mut Vec<String>) {
        match node {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(r.clone());
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    for spec in [subset(), confluence_v1(), confluence_v2()] {
        let mut all = Vec::new();
        refs(&spec, &mut all);
        assert!(!all.is_empty());
        for reference in all {
            let name = reference
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("unexpected $ref {reference}"));
            assert!(component(&spec, name).is_some(), "{reference} is missing");
        }
    }
}

/// The subset is a verbatim copy of the official spec (regenerate it with
/// `python3 tools/spec-subset.py`).
#[test]
fn the_subset_matches_the_full_spec() {
    let full_path = crate_path("../shared/atlassian-api/specs/jira-platform-swagger-v3.v3.json");
    if !full_path.exists() {
        eprintln!(
            "skipped: the full Jira spec is not at {}; nothing to compare the subset with",
            full_path.display()
        );
        return;
    }
    let full = load(&full_path);
    let spec = subset();
    let schemas = spec["components"]["schemas"].as_object().unwrap();
    for (name, schema) in schemas {
        assert_eq!(
            Some(schema),
            component(&full, name),
            "schema {name} differs"
        );
    }
    let paths = spec["paths"].as_object().unwrap();
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            assert_eq!(
                operation, &full["paths"][path][method],
                "{method} {path} differs"
            );
        }
    }
    assert!(schemas.contains_key("ErrorCollection"));
    assert_eq!(paths.len(), 11);
}

/// The Confluence subsets are verbatim copies of the official v1 and v2 specs.
#[test]
fn the_confluence_subsets_match_the_full_specs() {
    for (subset, full, paths) in [
        (confluence_v1(), "confluence-v1-swagger.v3.json", 4),
        (confluence_v2(), "confluence-v2-openapi-v2.v3.json", 2),
    ] {
        let full_path = crate_path(&format!("../shared/atlassian-api/specs/{full}"));
        if !full_path.exists() {
            eprintln!("skipped: {} is not there", full_path.display());
            continue;
        }
        let full = load(&full_path);
        for (name, schema) in subset["components"]["schemas"].as_object().unwrap() {
            assert_eq!(
                Some(schema),
                component(&full, name),
                "schema {name} differs"
            );
        }
        let served = subset["paths"].as_object().unwrap();
        for (path, item) in served {
            for (method, operation) in item.as_object().unwrap() {
                assert_eq!(operation, &full["paths"][path][method], "{method} {path}");
            }
        }
        assert_eq!(served.len(), paths);
    }
}
