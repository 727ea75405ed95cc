//! Conformance: every response the simulated tenant serves, validated against the official
//! specs (the trimmed copies in `fixtures/spec/`: Jira platform, Confluence v1 and v2, JSM, the
//! Admin organization API; Assets against REFERENCE §3's field lists), and
//! those copies checked against the full specs when they are available.

use std::path::PathBuf;

use inventory_tenant::{Tenant, TenantConfig};
use secrecy::SecretString;
use serde_json::{json, Value};

use crate::schema::{component, validate};
use crate::tenant::{get, send, small, EMAIL, TOKEN};

fn crate_path(relative: &str) -> PathBuf {
    // The workspace root: the fixtures are the project's, beside the binary's tests.
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
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
    let jsm = load(&crate_path("fixtures/spec/jsm-subset.json"));
    for spec in [subset(), confluence_v1(), confluence_v2(), jsm] {
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

// ---------------------------------------------------------------------------------------------
// The Admin API listener: the v1 paths against the Admin organization spec subset
// (`fixtures/spec/admin-organization-subset.json`, paths without the `/admin` server prefix),
// the rest against the shapes REFERENCE §5 gives, since no spec copy has them.

mod admin {
    use inventory_tenant::{AdminArea, Tenant};
    use serde_json::{json, Value};

    use super::{crate_path, load};
    use crate::admin_tenant::{call, data, get, org, org_path, post, start};
    use crate::schema::{component, validate};

    fn subset() -> Value {
        load(&crate_path("fixtures/spec/admin-organization-subset.json"))
    }

    /// The `application/json` schema for `GET path` answering `status`, following the
    /// operation's `$ref` into `components.responses`.
    fn response_schema<'a>(spec: &'a Value, path: &str, status: u16) -> &'a Value {
        let mut response = &spec["paths"][path]["get"]["responses"][status.to_string()];
        if let Some(name) = response["$ref"]
            .as_str()
            .and_then(|r| r.strip_prefix("#/components/responses/"))
        {
            response = &spec["components"]["responses"][name];
        }
        let schema = &response["content"]["application/json"]["schema"];
        assert!(schema.is_object(), "no {status} body for GET {path}");
        schema
    }

    /// Fields the tenant serves that the 2024 spec copy does not declare, with their source.
    const DOCUMENTED_ELSEWHERE: [&str; 1] = [
        // `UserProductLastActive.last_active_timestamp`: jira.js model (REFERENCE §5.5).
        "last_active_timestamp",
    ];

    /// The spec's objects allow unknown properties, so `validate` cannot catch an invented
    /// field: this walks the value along the schema and reports every undeclared one.
    fn undeclared(spec: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                let properties = declared(spec, schema);
                if properties.is_empty() {
                    return;
                }
                for (name, item) in map {
                    match properties.iter().find(|(n, _)| n == name) {
                        Some((_, property)) => {
                            undeclared(spec, property, item, &format!("{at}.{name}"), out)
                        }
                        None if DOCUMENTED_ELSEWHERE.contains(&name.as_str()) => {}
                        None => out.push(format!("{at}.{name}: not in the spec")),
                    }
                }
            }
            Value::Array(items) => {
                let item_schema = resolve(spec, schema)["items"].clone();
                for (i, item) in items.iter().enumerate() {
                    undeclared(spec, &item_schema, item, &format!("{at}[{i}]"), out);
                }
            }
            _ => {}
        }
    }

    fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
        match schema["$ref"]
            .as_str()
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
        {
            Some(name) => resolve(spec, component(spec, name).expect("resolvable $ref")),
            None => schema,
        }
    }

    /// The properties a schema declares, `allOf` branches merged.
    fn declared(spec: &Value, schema: &Value) -> Vec<(String, Value)> {
        let schema = resolve(spec, schema);
        let mut out: Vec<(String, Value)> = schema["properties"]
            .as_object()
            .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        for branch in schema["allOf"].as_array().into_iter().flatten() {
            out.extend(declared(spec, branch));
        }
        out
    }

    fn conforms(spec: &Value, schema: &Value, url: &str, body: &Value) {
        let mut problems = validate(spec, schema, body);
        undeclared(spec, schema, body, "$", &mut problems);
        assert!(problems.is_empty(), "{url}:\n{}", problems.join("\n"));
    }

    /// Fetches `url`, checks its status and validates the body against `spec_path`'s response.
    async fn check(
        spec: &Value,
        tenant: &Tenant,
        spec_path: &str,
        url: &str,
        status: u16,
    ) -> Value {
        let reply = get(tenant, url).await;
        assert_eq!(reply.status, status, "{url}: {}", reply.body);
        conforms(
            spec,
            response_schema(spec, spec_path, status),
            url,
            &reply.body,
        );
        reply.body
    }

    #[tokio::test]
    async fn v1_responses_conform_to_the_admin_spec() {
        let spec = subset();
        let tenant = start(org()).await;
        let org_data = data(&tenant).clone();
        check(&spec, &tenant, "/v1/orgs", "/admin/v1/orgs", 200).await;
        check(
            &spec,
            &tenant,
            "/v1/orgs/{orgId}",
            &org_path(&tenant, ""),
            200,
        )
        .await;
        let mut checked = 2;
        for (spec_path, first) in [
            ("/v1/orgs/{orgId}/domains", org_path(&tenant, "/domains")),
            ("/v1/orgs/{orgId}/users", org_path(&tenant, "/users")),
        ] {
            let mut next = Some(first);
            while let Some(url) = next {
                let body = check(&spec, &tenant, spec_path, &url, 200).await;
                checked += 1;
                next = body["links"]["next"].as_str().map(str::to_string);
            }
        }
        for user in &org_data.users {
            let url = org_path(
                &tenant,
                &format!("/directory/users/{}/last-active-dates", user.account_id),
            );
            let spec_path = "/v1/orgs/{orgId}/directory/users/{accountId}/last-active-dates";
            check(&spec, &tenant, spec_path, &url, 200).await;
            checked += 1;
        }
        assert!(checked > 20, "{checked}");
    }

    #[tokio::test]
    async fn v1_error_bodies_conform_to_the_admin_spec() {
        let spec = subset();
        let tenant = start(org()).await;
        check(
            &spec,
            &tenant,
            "/v1/orgs/{orgId}",
            "/admin/v1/orgs/nope",
            404,
        )
        .await;
        check(
            &spec,
            &tenant,
            "/v1/orgs/{orgId}/users",
            "/admin/v1/orgs/nope/users",
            404,
        )
        .await;
        for (spec_path, rest) in [
            ("/v1/orgs/{orgId}/domains", "/domains?cursor=bad"),
            ("/v1/orgs/{orgId}/users", "/users?cursor=bad"),
        ] {
            check(&spec, &tenant, spec_path, &org_path(&tenant, rest), 400).await;
        }
        check(&spec, &tenant, "/v1/orgs", "/admin/v1/orgs?cursor=bad", 400).await;
        let last_active = "/v1/orgs/{orgId}/directory/users/{accountId}/last-active-dates";
        let unknown_user = org_path(&tenant, "/directory/users/nobody/last-active-dates");
        check(&spec, &tenant, last_active, &unknown_user, 404).await;

        // 401 comes from the gateway: ProxyError.
        let unauthenticated = call(
            &tenant,
            reqwest::Method::GET,
            "/admin/v1/orgs",
            None,
            Some("wrong"),
        )
        .await;
        assert_eq!(unauthenticated.status, 401);
        conforms(
            &spec,
            response_schema(&spec, "/v1/orgs", 401),
            "401",
            &unauthenticated.body,
        );

        let mut config = org();
        config.denied = vec![AdminArea::Directory];
        config.rate_limit_every = 2;
        let limited = start(config).await;
        let forbidden = org_path(
            &limited,
            &format!(
                "/directory/users/{}/last-active-dates",
                data(&limited).users[0].account_id
            ),
        );
        check(&spec, &limited, last_active, &forbidden, 403).await;
        check(&spec, &limited, "/v1/orgs", "/admin/v1/orgs", 429).await;
    }

    /// Every `$ref` in the subset resolves inside the subset.
    #[test]
    fn the_admin_subset_is_self_contained() {
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
        let spec = subset();
        let mut all = Vec::new();
        refs(&spec, &mut all);
        assert!(!all.is_empty());
        for reference in all {
            let pointer = reference
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("unexpected $ref {reference}"));
            assert!(spec.pointer(pointer).is_some(), "{reference} is missing");
        }
    }

    /// The subset is a verbatim copy of the official Admin organization spec (regenerate it
    /// with `python3 tools/spec-subset.py admin`).
    #[test]
    fn the_admin_subset_matches_the_full_spec() {
        let candidates = [
            "../shared/atlassian-api/specs/admin-organization-swagger.v3.json",
            "../../shared/atlassian-api/specs/admin-organization-swagger.v3.json",
        ];
        let Some(full_path) = candidates
            .iter()
            .map(|p| crate_path(p))
            .find(|p| p.exists())
        else {
            eprintln!("skipped: the full Admin organization spec is not next to the crate");
            return;
        };
        let full = load(&full_path);
        let spec = subset();
        for kind in ["schemas", "responses"] {
            for (name, item) in spec["components"][kind].as_object().unwrap() {
                assert_eq!(
                    item, &full["components"][kind][name],
                    "{kind} {name} differs"
                );
            }
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
        assert_eq!(paths.len(), 5);
    }

    /// Checks an object's keys against a shape from REFERENCE §5: nothing outside `allowed`,
    /// everything in `required`.
    pub(super) fn shape(value: &Value, what: &str, allowed: &[&str], required: &[&str]) {
        let object = value
            .as_object()
            .unwrap_or_else(|| panic!("{what}: not an object: {value}"));
        for key in object.keys() {
            assert!(
                allowed.contains(&key.as_str()),
                "{what}: {key} is not in REFERENCE"
            );
        }
        for key in required {
            assert!(object.contains_key(*key), "{what}: {key} missing");
        }
    }

    fn items<'a>(page: &'a Value, what: &str) -> &'a Vec<Value> {
        shape(page, what, &["data", "links", "meta"], &["data", "links"]);
        shape(&page["links"], what, &["self", "prev", "next"], &["self"]);
        let data = page["data"].as_array().expect("data");
        assert!(!data.is_empty(), "{what}: empty");
        data
    }

    /// REFERENCE §5.3 `MultiDirectoryUser` and §5.4 `MultiDirectoryGroup`.
    const DIRECTORY_USER: [&str; 26] = [
        "accountId",
        "accountType",
        "status",
        "accountStatus",
        "membershipStatus",
        "addedToOrg",
        "name",
        "nickname",
        "email",
        "emailVerified",
        "claimStatus",
        "platformRoles",
        "picture",
        "avatar",
        "managementSource",
        "mfaEnabled",
        "jobTitle",
        "department",
        "organization",
        "location",
        "timeZone",
        "counts",
        "productAccess",
        "groups",
        "links",
        "deactivatedOn",
    ];
    const DIRECTORY_GROUP: [&str; 9] = [
        "id",
        "name",
        "description",
        "directoryId",
        "managementAccess",
        "externalSynced",
        "managedBy",
        "counts",
        "links",
    ];
    /// REFERENCE §5.7: an org API token and an admin API key.
    const API_TOKEN: [&str; 8] = [
        "id",
        "label",
        "status",
        "createdAt",
        "expiresAt",
        "lastActiveAt",
        "user",
        "scopes",
    ];
    const API_KEY: [&str; 11] = [
        "id",
        "label",
        "createdAt",
        "expiresAt",
        "lastActiveAt",
        "systemAccountId",
        "resource",
        "orgId",
        "createdBy",
        "scopes",
        "targetResources",
    ];

    #[tokio::test]
    async fn unspecified_shapes_match_the_reference() {
        let tenant = start(org()).await;
        let org_data = data(&tenant).clone();
        let id = &org_data.org_id;

        let search = format!("/admin/v2/orgs/{id}/directories/-/users/search");
        let expand = json!({"expand": ["platformRoles", "productAccess", "groups"], "limit": 50});
        let users = post(&tenant, &search, expand).await.body;
        for user in items(&users, "MultiDirectoryUserSearchPage") {
            let mut allowed = DIRECTORY_USER.to_vec();
            allowed.push("forDeletion");
            shape(
                user,
                "MultiDirectoryUser",
                &allowed,
                &[
                    "accountId",
                    "accountType",
                    "status",
                    "accountStatus",
                    "name",
                ],
            );
            for access in user["productAccess"].as_array().unwrap() {
                shape(
                    access,
                    "productAccess",
                    &["key", "id", "lastActiveTimestamp"],
                    &["key", "id"],
                );
            }
            for group in user["groups"].as_array().unwrap() {
                shape(
                    group,
                    "groups",
                    &["id", "name", "description"],
                    &["id", "name"],
                );
            }
        }

        let groups_path = format!("/admin/v2/orgs/{id}/directories/-/groups/search");
        let groups = post(&tenant, &groups_path, json!({})).await.body;
        for group in items(&groups, "MultiDirectoryGroupPage") {
            shape(
                group,
                "MultiDirectoryGroup",
                &DIRECTORY_GROUP,
                &["id", "name"],
            );
        }

        let sa = &org_data.service_accounts[0].account_id;
        for path in [
            format!("/admin/api-access/v1/orgs/{id}/api-tokens"),
            format!("/admin/api-access/v1/orgs/{id}/service-accounts/{sa}/api-tokens"),
        ] {
            let tokens = get(&tenant, &path).await.body;
            for token in items(&tokens, "ApiTokenSearchResponse") {
                shape(
                    token,
                    "api token",
                    &API_TOKEN,
                    &["id", "label", "createdAt", "user"],
                );
                shape(
                    &token["user"],
                    "api token user",
                    &["id", "orgId", "name", "email"],
                    &["id", "orgId", "name"],
                );
            }
        }

        let keys_path = format!("/admin/api-access/v1/orgs/{id}/api-keys");
        let keys = get(&tenant, &keys_path).await.body;
        for key in items(&keys, "api keys") {
            shape(
                key,
                "api key",
                &API_KEY,
                &["id", "label", "createdAt", "createdBy"],
            );
            shape(
                &key["createdBy"],
                "createdBy",
                &["id", "name", "email"],
                &["id"],
            );
        }

        // REFERENCE §5.6: PollingEventPage and EventModel.
        let events = get(&tenant, &org_path(&tenant, "/events-stream"))
            .await
            .body;
        shape(
            &events["meta"],
            "PollingEventPage.meta",
            &["next", "page_size"],
            &["page_size"],
        );
        for event in items(&events, "PollingEventPage") {
            shape(
                event,
                "EventModel",
                &["id", "type", "attributes", "links", "message"],
                &["id", "type", "attributes"],
            );
            assert_eq!(event["type"], "events");
            let attributes = &event["attributes"];
            shape(
                attributes,
                "EventModel.attributes",
                &[
                    "time",
                    "action",
                    "actor",
                    "context",
                    "container",
                    "location",
                ],
                &["time", "action", "actor", "context"],
            );
            shape(
                &attributes["actor"],
                "actor",
                &["id", "name", "email", "auth", "links"],
                &["id"],
            );
            for context in attributes["context"].as_array().unwrap() {
                shape(
                    context,
                    "context",
                    &["id", "type", "attributes", "links"],
                    &["id"],
                );
            }
            shape(
                &attributes["location"],
                "location",
                &["ip", "geo", "countryName", "regionName", "city"],
                &[],
            );
        }
    }
}

// Jira Service Management: the JSM endpoints and the Assets workspace discovery against the
// JSM spec subset (`fixtures/spec/jsm-subset.json`); the Assets API, which has no spec copy,
// against REFERENCE §3's field lists.
mod jsm {
    use super::admin::shape;
    use super::*;

    fn subset() -> Value {
        load(&crate_path("fixtures/spec/jsm-subset.json"))
    }

    /// `GET` on the site or the gateway with the test credentials and JSM's opt-in header
    /// (harmless on endpoints that are not experimental).
    async fn fetch(base: &str, path: &str) -> (u16, Value) {
        let response = reqwest::Client::new()
            .get(format!("{base}{path}"))
            .basic_auth(EMAIL, Some(TOKEN))
            .header("X-ExperimentalApi", "opt-in")
            .send()
            .await
            .expect("tenant answers");
        let status = response.status().as_u16();
        let bytes = response.bytes().await.expect("body");
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    #[tokio::test]
    async fn jsm_responses_conform_to_the_jsm_spec() {
        let spec = subset();
        let tenant = Tenant::start(TenantConfig {
            projects: 12,
            ..small()
        })
        .await
        .unwrap();
        let data = tenant.dataset().clone();
        let mut urls: Vec<(String, &str)> = vec![
            (
                "/rest/servicedeskapi/assets/workspace".into(),
                "/rest/servicedeskapi/assets/workspace",
            ),
            (
                "/rest/servicedeskapi/insight/workspace".into(),
                "/rest/servicedeskapi/insight/workspace",
            ),
            (
                "/rest/servicedeskapi/servicedesk?start=0&limit=2".into(),
                "/rest/servicedeskapi/servicedesk",
            ),
            (
                "/rest/servicedeskapi/servicedesk?start=2&limit=50".into(),
                "/rest/servicedeskapi/servicedesk",
            ),
            (
                "/rest/servicedeskapi/organization?start=1".into(),
                "/rest/servicedeskapi/organization",
            ),
        ];
        for desk in &data.jsm.service_desks {
            urls.push((
                format!("/rest/servicedeskapi/servicedesk/{}/customer", desk.id),
                "/rest/servicedeskapi/servicedesk/{serviceDeskId}/customer",
            ));
        }
        for organization in &data.jsm.organizations {
            urls.push((
                format!("/rest/servicedeskapi/organization/{}/user", organization.id),
                "/rest/servicedeskapi/organization/{organizationId}/user",
            ));
        }
        for (url, spec_path) in &urls {
            let (status, body) = fetch(&tenant.url(), url).await;
            assert_eq!(status, 200, "{url}: {body}");
            let schema = response_schema(&spec, "get", spec_path, 200);
            let violations = validate(&spec, schema, &body);
            assert!(violations.is_empty(), "{url}:\n{}", violations.join("\n"));
            assert!(!body["values"].as_array().unwrap().is_empty(), "{url}");
        }
    }

    /// The JSM subset is a verbatim copy of the official spec.
    #[test]
    fn the_jsm_subset_matches_the_full_spec() {
        let candidates = [
            "../shared/atlassian-api/specs/jira-service-management-swagger.v3.json",
            "../../shared/atlassian-api/specs/jira-service-management-swagger.v3.json",
        ];
        let Some(full_path) = candidates
            .iter()
            .map(|p| crate_path(p))
            .find(|p| p.exists())
        else {
            eprintln!("skipped: the full JSM spec is not there");
            return;
        };
        let full = load(&full_path);
        let spec = subset();
        for (name, schema) in spec["components"]["schemas"].as_object().unwrap() {
            assert_eq!(
                Some(schema),
                component(&full, name),
                "schema {name} differs"
            );
        }
        let paths = spec["paths"].as_object().unwrap();
        for (path, item) in paths {
            for (method, operation) in item.as_object().unwrap() {
                assert_eq!(operation, &full["paths"][path][method], "{method} {path}");
            }
        }
        assert_eq!(paths.len(), 6);
    }

    /// REFERENCE §3.1 `AssetObject`, `ObjectAttribute`, value and `ObjectType`; §3.2
    /// `ObjectTypeAttribute`; §3.3 `ObjectListScheme`; the schema list from go-atlassian's
    /// `ObjectSchemaPageScheme`/`ObjectSchemaScheme` (with jira.js's `isLast`).
    const OBJECT: [&str; 13] = [
        "workspaceId",
        "globalId",
        "id",
        "label",
        "objectKey",
        "avatar",
        "objectType",
        "created",
        "updated",
        "hasAvatar",
        "timestamp",
        "attributes",
        "_links",
    ];
    const OBJECT_ATTRIBUTE: [&str; 5] = [
        "workspaceId",
        "globalId",
        "id",
        "objectTypeAttributeId",
        "objectAttributeValues",
    ];
    const VALUE: [&str; 8] = [
        "value",
        "displayValue",
        "searchValue",
        "referencedObject",
        "user",
        "group",
        "status",
        "additionalValue",
    ];
    const USER: [&str; 10] = [
        "avatarUrl",
        "displayName",
        "name",
        "key",
        "emailAddress",
        "html",
        "renderedLink",
        "isDeleted",
        "lastSeenVersion",
        "self",
    ];
    const OBJECT_TYPE: [&str; 15] = [
        "workspaceId",
        "globalId",
        "id",
        "name",
        "description",
        "icon",
        "position",
        "created",
        "updated",
        "objectCount",
        "parentObjectTypeId",
        "objectSchemaId",
        "inherited",
        "abstractObjectType",
        "parentObjectTypeInherited",
    ];
    const TYPE_ATTRIBUTE: [&str; 31] = [
        "workspaceId",
        "globalId",
        "id",
        "objectType",
        "name",
        "label",
        "type",
        "description",
        "defaultType",
        "typeValue",
        "typeValueMulti",
        "additionalValue",
        "referenceType",
        "referenceObjectTypeId",
        "referenceObjectType",
        "editable",
        "system",
        "indexed",
        "sortable",
        "summable",
        "minimumCardinality",
        "maximumCardinality",
        "suffix",
        "removable",
        "hidden",
        "includeChildObjectTypes",
        "uniqueAttribute",
        "regexValidation",
        "qlQuery",
        "options",
        "position",
    ];
    const OBJECT_LIST: [&str; 15] = [
        "objectEntries",
        "objectTypeAttributes",
        "objectTypeId",
        "objectTypeIsInherited",
        "abstractObjectType",
        "totalFilterCount",
        "startIndex",
        "toIndex",
        "pageObjectSize",
        "pageNumber",
        "orderByTypeAttrId",
        "orderWay",
        "qlQuery",
        "qlQuerySearchResult",
        "conversionPossible",
    ];
    const SCHEMA: [&str; 12] = [
        "workspaceId",
        "globalId",
        "id",
        "name",
        "objectSchemaKey",
        "description",
        "status",
        "created",
        "updated",
        "objectCount",
        "objectTypeCount",
        "canManage",
    ];

    fn object(object: &Value) {
        shape(
            object,
            "AssetObject",
            &OBJECT,
            &["id", "objectKey", "label"],
        );
        shape(
            &object["objectType"],
            "ObjectType",
            &OBJECT_TYPE,
            &["id", "name"],
        );
        for attribute in object["attributes"].as_array().expect("attributes") {
            shape(
                attribute,
                "ObjectAttribute",
                &OBJECT_ATTRIBUTE,
                &["objectTypeAttributeId"],
            );
            for value in attribute["objectAttributeValues"].as_array().unwrap() {
                shape(value, "ObjectAttributeValue", &VALUE, &["displayValue"]);
                if value.get("user").is_some() {
                    shape(&value["user"], "user", &USER, &["key"]);
                }
            }
        }
    }

    #[tokio::test]
    async fn assets_shapes_match_the_reference() {
        let tenant = Tenant::start(small()).await.unwrap();
        let data = tenant.dataset().assets.clone();
        let base = format!("/jsm/assets/workspace/{}/v1", data.workspace_id);
        let api = tenant.api_url();

        let (status, list) = fetch(&api, &format!("{base}/objectschema/list")).await;
        assert_eq!(status, 200);
        shape(
            &list,
            "ObjectSchemaList",
            &["startAt", "maxResults", "total", "values", "isLast"],
            &["values"],
        );
        for schema in list["values"].as_array().unwrap() {
            shape(
                schema,
                "ObjectSchema",
                &SCHEMA,
                &["id", "name", "objectSchemaKey"],
            );
            let path = format!(
                "{base}/objectschema/{}/objecttypes/flat",
                schema["id"].as_str().unwrap()
            );
            let (_, types) = fetch(&api, &path).await;
            for object_type in types.as_array().unwrap() {
                shape(
                    object_type,
                    "ObjectType",
                    &OBJECT_TYPE,
                    &["id", "name", "objectSchemaId"],
                );
                let path = format!(
                    "{base}/objecttype/{}/attributes",
                    object_type["id"].as_str().unwrap()
                );
                let (_, attributes) = fetch(&api, &path).await;
                for attribute in attributes.as_array().unwrap() {
                    shape(
                        attribute,
                        "ObjectTypeAttribute",
                        &TYPE_ATTRIBUTE,
                        &["id", "name", "type"],
                    );
                }
            }
        }

        let response = reqwest::Client::new()
            .post(format!(
                "{api}{base}/object/aql?startAt=0&maxResults=5&includeAttributes=true"
            ))
            .basic_auth(EMAIL, Some(TOKEN))
            .json(&json!({"qlQuery": "objectTypeId = 3"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let page: Value = response.json().await.unwrap();
        shape(
            &page,
            "ObjectListInclTypeAttributesEntryResult",
            &[
                "startAt",
                "maxResults",
                "total",
                "values",
                "objectTypeAttributes",
                "last",
                "isLast",
            ],
            &["startAt", "maxResults", "values", "isLast"],
        );
        page["values"].as_array().unwrap().iter().for_each(object);

        let (status, list) = fetch(
            &api,
            &format!("{base}/aql/objects?qlQuery=objectTypeId%20%3D%202&page=2&resultPerPage=5"),
        )
        .await;
        assert_eq!(status, 200);
        shape(
            &list,
            "ObjectListScheme",
            &OBJECT_LIST,
            &["objectEntries", "pageNumber", "toIndex", "totalFilterCount"],
        );
        list["objectEntries"]
            .as_array()
            .unwrap()
            .iter()
            .for_each(object);
    }
}
