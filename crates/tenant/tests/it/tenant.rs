//! Behaviour of the simulated Jira tenant over real HTTP: paging reaches exactly the dataset,
//! clamps are echoed, short pages, inactive members, permission-dependent statuses, auth,
//! the removed `/search`, injected faults and the request log.

use std::collections::BTreeSet;

use inventory_tenant::{ActorKind, Faults, Tenant, TenantConfig};
use reqwest::header::HeaderMap;
use secrecy::SecretString;
use serde_json::Value;

pub const EMAIL: &str = "robot@acme.example";
pub const TOKEN: &str = "tenant-test-token";

pub fn small() -> TenantConfig {
    TenantConfig::small(EMAIL, SecretString::from(TOKEN))
}

pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

/// `GET` with the tenant's credentials; the body parsed as JSON (`Null` if it is not JSON).
pub async fn get(tenant: &Tenant, path_and_query: &str) -> Reply {
    send(tenant, reqwest::Method::GET, path_and_query, Some(TOKEN)).await
}

pub async fn send(
    tenant: &Tenant,
    method: reqwest::Method,
    path_and_query: &str,
    token: Option<&str>,
) -> Reply {
    let url = format!("{}{path_and_query}", tenant.url());
    let mut request = reqwest::Client::new().request(method, url);
    if let Some(token) = token {
        request = request.basic_auth(EMAIL, Some(token));
    }
    let response = request.send().await.expect("tenant answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    Reply {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

fn strings(values: &Value, field: &str) -> Vec<String> {
    values
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| v[field].as_str().expect(field).to_string())
        .collect()
}

/// Follows `nextPage` from `first` until `isLast`, checking each page's bookkeeping, and
/// returns every value.
async fn walk(tenant: &Tenant, first: &str) -> Vec<Value> {
    let mut values = Vec::new();
    let mut next = first.to_string();
    for _ in 0..1000 {
        let page = get(tenant, &next).await;
        assert_eq!(page.status, 200, "{next}: {}", page.body);
        let body = page.body;
        let batch = body["values"].as_array().expect("values").clone();
        assert_eq!(body["startAt"].as_u64(), Some(values.len() as u64));
        values.extend(batch);
        if body["isLast"] == Value::Bool(true) {
            assert!(body.get("nextPage").is_none(), "last page has no nextPage");
            assert_eq!(body["total"].as_u64(), Some(values.len() as u64));
            return values;
        }
        let url = body["nextPage"].as_str().expect("nextPage before the end");
        next = url
            .strip_prefix(&tenant.url())
            .expect("nextPage on the tenant")
            .to_string();
    }
    panic!("{first}: paging did not end");
}

#[tokio::test]
async fn users_search_advancing_by_received_count_reaches_every_account_once() {
    let tenant = Tenant::start(small()).await.unwrap();
    let mut ids = Vec::new();
    let mut short_before_end = false;
    loop {
        let page = get(
            &tenant,
            &format!("/rest/api/3/users/search?startAt={}", ids.len()),
        )
        .await;
        assert_eq!(page.status, 200);
        let got = strings(&page.body, "accountId");
        if got.is_empty() {
            break;
        }
        // Asked for the default 50, clamped to the configured 10.
        assert!(got.len() <= 10);
        let end = ids.len() + got.len();
        short_before_end |= got.len() < 10 && end < tenant.dataset().users.len();
        ids.extend(got);
    }
    let expected: Vec<String> = tenant
        .dataset()
        .users
        .iter()
        .map(|u| u.account_id.clone())
        .collect();
    assert_eq!(ids, expected);
    assert!(short_before_end, "short pages were configured");
}

#[tokio::test]
async fn users_search_advancing_by_requested_size_misses_accounts() {
    let tenant = Tenant::start(small()).await.unwrap();
    let mut seen = BTreeSet::new();
    let mut start_at = 0;
    loop {
        let path = format!("/rest/api/3/users/search?startAt={start_at}&maxResults=10");
        let got = strings(&get(&tenant, &path).await.body, "accountId");
        if got.is_empty() {
            break;
        }
        seen.extend(got);
        start_at += 10;
    }
    let all: BTreeSet<String> = tenant
        .dataset()
        .users
        .iter()
        .map(|u| u.account_id.clone())
        .collect();
    assert!(seen.is_subset(&all));
    assert!(seen.len() < all.len(), "a naive client must miss someone");
}

#[tokio::test]
async fn users_search_serves_full_pages_without_short_pages() {
    let mut config = small();
    config.short_pages = false;
    let tenant = Tenant::start(config).await.unwrap();
    let sizes: Vec<usize> = page_sizes(&tenant, 10).await;
    assert_eq!(sizes, [10, 10, 10, 0]);
}

async fn page_sizes(tenant: &Tenant, step: usize) -> Vec<usize> {
    let mut sizes = Vec::new();
    for start in (0..=tenant.dataset().users.len()).step_by(step) {
        let path = format!("/rest/api/3/users/search?startAt={start}&maxResults={step}");
        sizes.push(get(tenant, &path).await.body.as_array().unwrap().len());
    }
    sizes
}

#[tokio::test]
async fn users_show_email_only_when_visible() {
    let tenant = Tenant::start(small()).await.unwrap();
    let page = get(&tenant, "/rest/api/3/users/search?maxResults=10").await;
    for (wire, user) in page
        .body
        .as_array()
        .unwrap()
        .iter()
        .zip(&tenant.dataset().users)
    {
        assert_eq!(wire["accountId"].as_str(), Some(user.account_id.as_str()));
        assert_eq!(
            wire["accountType"].as_str(),
            Some(user.account_type.as_str())
        );
        assert_eq!(wire["active"].as_bool(), Some(user.active));
        assert_eq!(wire["emailAddress"].as_str(), user.email.as_deref());
        assert_eq!(wire.get("emailAddress").is_some(), user.email.is_some());
    }
    let hidden = tenant.dataset().users[..10]
        .iter()
        .filter(|u| u.email.is_none())
        .count();
    assert!(hidden > 0);
}

#[tokio::test]
async fn group_bulk_pages_through_every_group_and_echoes_the_clamp() {
    let tenant = Tenant::start(small()).await.unwrap();
    let groups = walk(&tenant, "/rest/api/3/group/bulk?maxResults=2").await;
    let got: Vec<(String, String)> = groups
        .iter()
        .map(|g| {
            (
                g["groupId"].as_str().unwrap().into(),
                g["name"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = tenant
        .dataset()
        .groups
        .iter()
        .map(|g| (g.group_id.clone(), g.name.clone()))
        .collect();
    assert_eq!(got, expected);

    let clamped = get(&tenant, "/rest/api/3/group/bulk?maxResults=1000").await;
    assert_eq!(clamped.body["maxResults"], 50);

    let filtered = get(
        &tenant,
        "/rest/api/3/group/bulk?groupName=site-admins&groupName=jira-administrators",
    )
    .await;
    let names = strings(&filtered.body["values"], "name");
    assert_eq!(names, ["jira-administrators", "site-admins"]);
}

#[tokio::test]
async fn group_member_hides_inactive_members_unless_asked() {
    let tenant = Tenant::start(TenantConfig::demo(EMAIL, SecretString::from(TOKEN)))
        .await
        .unwrap();
    let data = tenant.dataset();
    let mut several_pages = false;
    let mut hid_someone = false;
    for group in &data.groups {
        let base = format!("/rest/api/3/group/member?groupId={}", group.group_id);
        let active = strings(&Value::from(walk(&tenant, &base).await), "accountId");
        let all_path = format!("{base}&includeInactiveUsers=true");
        let all = strings(&Value::from(walk(&tenant, &all_path).await), "accountId");
        let expected_active: Vec<String> = group
            .members
            .iter()
            .filter(|id| data.user(id).unwrap().active)
            .cloned()
            .collect();
        assert_eq!(active, expected_active, "{}", group.name);
        assert_eq!(all, group.members, "{}", group.name);
        several_pages |= all.len() > 50;
        hid_someone |= active.len() < all.len();
    }
    assert!(several_pages && hid_someone);

    let first = &data.groups[1];
    let by_name = get(
        &tenant,
        &format!(
            "/rest/api/3/group/member?groupname={}&includeInactiveUsers=true&maxResults=500",
            first.name
        ),
    )
    .await;
    assert_eq!(by_name.body["maxResults"], 50);
    assert_eq!(by_name.body["isLast"], false);
}

#[tokio::test]
async fn group_member_rejects_unknown_or_missing_groups() {
    let tenant = Tenant::start(small()).await.unwrap();
    let unknown = get(&tenant, "/rest/api/3/group/member?groupId=nope").await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.body["errorMessages"][0].is_string());
    let missing = get(&tenant, "/rest/api/3/group/member").await;
    assert_eq!(missing.status, 400);
}

#[tokio::test]
async fn project_search_pages_and_expands_lead_only_when_asked() {
    let tenant = Tenant::start(small()).await.unwrap();
    let data = tenant.dataset();
    let plain = walk(&tenant, "/rest/api/3/project/search?maxResults=4").await;
    assert_eq!(
        strings(&Value::from(plain.clone()), "key"),
        data.projects
            .iter()
            .map(|p| p.key.clone())
            .collect::<Vec<_>>()
    );
    assert!(plain.iter().all(|p| p.get("lead").is_none()));
    for (wire, project) in plain.iter().zip(&data.projects) {
        assert_eq!(wire["id"].as_str(), Some(project.id.as_str()));
        assert_eq!(wire["simplified"].as_bool(), Some(project.simplified));
        let style = if project.simplified {
            "next-gen"
        } else {
            "classic"
        };
        assert_eq!(wire["style"], style);
    }
    let expanded = walk(
        &tenant,
        "/rest/api/3/project/search?expand=lead,description",
    )
    .await;
    for (wire, project) in expanded.iter().zip(&data.projects) {
        assert_eq!(
            wire["lead"]["accountId"].as_str(),
            Some(project.lead_account_id.as_str())
        );
        assert!(wire["description"].is_string());
    }
    let clamped = get(&tenant, "/rest/api/3/project/search?maxResults=500").await;
    assert_eq!(clamped.body["maxResults"], 100);
}

#[tokio::test]
async fn roles_and_actors_match_the_dataset() {
    let tenant = Tenant::start(small()).await.unwrap();
    for project in &tenant.dataset().projects {
        let details = get(
            &tenant,
            &format!("/rest/api/3/project/{}/roledetails", project.key),
        )
        .await;
        assert_eq!(details.status, 200);
        let ids: Vec<i64> = details
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, project.roles.iter().map(|r| r.id).collect::<Vec<_>>());
        for role in &project.roles {
            let path = format!("/rest/api/3/project/{}/role/{}", project.id, role.id);
            let wire = get(&tenant, &path).await.body;
            let actors = wire["actors"].as_array().unwrap();
            assert_eq!(actors.len(), role.actors.len());
            for (wire, actor) in actors.iter().zip(&role.actors) {
                assert_eq!(wire["id"].as_i64(), Some(actor.id));
                match &actor.kind {
                    ActorKind::User(account_id) => {
                        assert_eq!(wire["type"], "atlassian-user-role-actor");
                        assert_eq!(
                            wire["actorUser"]["accountId"].as_str(),
                            Some(account_id.as_str())
                        );
                    }
                    ActorKind::Group { group_id, name } => {
                        assert_eq!(wire["type"], "atlassian-group-role-actor");
                        assert_eq!(
                            wire["actorGroup"]["groupId"].as_str(),
                            Some(group_id.as_str())
                        );
                        assert_eq!(wire["actorGroup"]["name"].as_str(), Some(name.as_str()));
                    }
                }
            }
        }
    }
    let unknown_role = get(&tenant, "/rest/api/3/project/ENG/role/99").await;
    assert_eq!(unknown_role.status, 404);
    let bad_role = get(&tenant, "/rest/api/3/project/ENG/role/abc").await;
    assert_eq!(bad_role.status, 400);
}

#[tokio::test]
async fn permission_schemes_include_grants_only_when_expanded() {
    let tenant = Tenant::start(small()).await.unwrap();
    let data = tenant.dataset();
    let plain = get(&tenant, "/rest/api/3/permissionscheme").await.body;
    let schemes = plain["permissionSchemes"].as_array().unwrap();
    assert_eq!(schemes.len(), data.permission_schemes.len());
    assert!(schemes.iter().all(|s| s.get("permissions").is_none()));

    let expanded = get(&tenant, "/rest/api/3/permissionscheme?expand=permissions")
        .await
        .body;
    for (wire, scheme) in expanded["permissionSchemes"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&data.permission_schemes)
    {
        assert_eq!(wire["id"].as_i64(), Some(scheme.id));
        let grants = wire["permissions"].as_array().unwrap();
        assert_eq!(grants.len(), scheme.grants.len());
        for (wire, grant) in grants.iter().zip(&scheme.grants) {
            assert_eq!(wire["id"].as_i64(), Some(grant.id));
            assert_eq!(wire["permission"].as_str(), Some(grant.permission.as_str()));
            assert_eq!(
                wire["holder"]["type"].as_str(),
                Some(grant.holder_type.as_str())
            );
            assert_eq!(
                wire["holder"]["parameter"].as_str(),
                grant.parameter.as_deref()
            );
            assert_eq!(wire["holder"]["value"].as_str(), grant.value.as_deref());
        }
    }
}

#[tokio::test]
async fn project_permission_scheme_is_404_for_team_managed_projects() {
    let tenant = Tenant::start(small()).await.unwrap();
    for project in &tenant.dataset().projects {
        let path = format!(
            "/rest/api/3/project/{}/permissionscheme?expand=all",
            project.key
        );
        let reply = get(&tenant, &path).await;
        match project.permission_scheme_id {
            Some(id) => {
                assert_eq!(reply.status, 200);
                assert_eq!(reply.body["id"].as_i64(), Some(id));
                assert!(reply.body["permissions"].is_array());
            }
            None => {
                assert_eq!(reply.status, 404);
                assert!(reply.body["errorMessages"][0].is_string());
                assert_eq!(reply.body["errors"], serde_json::json!({}));
            }
        }
    }
    assert!(tenant.dataset().projects.iter().any(|p| p.simplified));
}

#[tokio::test]
async fn settings_endpoints_list_the_dataset() {
    let tenant = Tenant::start(small()).await.unwrap();
    let properties = get(&tenant, "/rest/api/3/application-properties")
        .await
        .body;
    let expected: Vec<String> = tenant
        .dataset()
        .application_properties
        .iter()
        .map(|p| p.key.clone())
        .collect();
    assert_eq!(strings(&properties, "key"), expected);
    let one = get(
        &tenant,
        "/rest/api/3/application-properties?key=jira.clone.prefix",
    )
    .await
    .body;
    assert_eq!(one["value"], "CLONE -");
    let filtered = get(
        &tenant,
        "/rest/api/3/application-properties?keyFilter=jira.lf.*",
    )
    .await
    .body;
    assert_eq!(
        strings(&filtered, "key"),
        ["jira.lf.date.complete", "jira.lf.date.dmy"]
    );

    let roles = get(&tenant, "/rest/api/3/applicationrole").await.body;
    for (wire, role) in roles
        .as_array()
        .unwrap()
        .iter()
        .zip(&tenant.dataset().application_roles)
    {
        assert_eq!(wire["key"].as_str(), Some(role.key.as_str()));
        assert_eq!(strings(&wire["groupDetails"], "groupId"), role.group_ids);
        assert_eq!(wire["userCount"].as_i64(), Some(role.user_count));
    }
}

#[tokio::test]
async fn non_admin_gets_the_statuses_the_spec_documents() {
    let mut config = small();
    config.admin = false;
    let tenant = Tenant::start(config).await.unwrap();
    let data = tenant.dataset();
    let first = &data.projects[0];
    let other = data
        .projects
        .iter()
        .skip(1)
        .find(|p| !p.simplified)
        .unwrap();
    let cases = [
        ("/rest/api/3/applicationrole".to_string(), 403),
        ("/rest/api/3/application-properties".to_string(), 404),
        (
            format!("/rest/api/3/project/{}/permissionscheme", first.key),
            200,
        ),
        (
            format!("/rest/api/3/project/{}/permissionscheme", other.key),
            403,
        ),
        (
            format!("/rest/api/3/project/{}/roledetails", first.key),
            200,
        ),
        (
            format!("/rest/api/3/project/{}/roledetails", other.key),
            404,
        ),
        (
            format!(
                "/rest/api/3/project/{}/role/{}",
                first.key, first.roles[0].id
            ),
            200,
        ),
        (
            format!(
                "/rest/api/3/project/{}/role/{}",
                other.key, other.roles[0].id
            ),
            404,
        ),
        ("/rest/api/3/users/search".to_string(), 200),
        ("/rest/api/3/group/bulk".to_string(), 200),
        (
            format!(
                "/rest/api/3/group/member?groupId={}",
                data.groups[0].group_id
            ),
            200,
        ),
        ("/rest/api/3/project/search".to_string(), 200),
        (
            "/rest/api/3/permissionscheme?expand=permissions".to_string(),
            200,
        ),
    ];
    for (path, status) in cases {
        let reply = get(&tenant, &path).await;
        assert_eq!(reply.status, status, "{path}");
        if status != 200 {
            assert!(reply.body["errorMessages"][0].is_string(), "{path}");
        }
    }
}

#[tokio::test]
async fn wrong_or_missing_credentials_are_401() {
    let tenant = Tenant::start(small()).await.unwrap();
    let path = "/rest/api/3/users/search";
    let wrong = send(&tenant, reqwest::Method::GET, path, Some("not-the-token")).await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body["errorMessages"][0].is_string());
    let missing = send(&tenant, reqwest::Method::GET, path, None).await;
    assert_eq!(missing.status, 401);
    let right = get(&tenant, path).await;
    assert_eq!(right.status, 200);
}

#[tokio::test]
async fn removed_search_is_gone_and_unknown_paths_are_404() {
    let tenant = Tenant::start(small()).await.unwrap();
    for method in [reqwest::Method::GET, reqwest::Method::POST] {
        let reply = send(
            &tenant,
            method,
            "/rest/api/3/search?jql=project%3DENG",
            Some(TOKEN),
        )
        .await;
        assert_eq!(reply.status, 410);
        let message = reply.body["errorMessages"][0].as_str().unwrap();
        assert!(message.contains("/rest/api/3/search/jql"));
    }
    let unknown = get(&tenant, "/rest/api/3/nothing/here").await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.body["errorMessages"][0].is_string());
    let unknown_project = get(&tenant, "/rest/api/3/project/NOPE/roledetails").await;
    assert_eq!(unknown_project.status, 404);
}

#[tokio::test]
async fn bad_query_parameters_are_400_with_a_jira_body() {
    let tenant = Tenant::start(small()).await.unwrap();
    for path in [
        "/rest/api/3/users/search?startAt=abc",
        "/rest/api/3/users/search?maxResults=-1",
        "/rest/api/3/group/bulk?startAt=-5",
        "/rest/api/3/project/search?maxResults=0",
        "/rest/api/3/group/bulk?accessType=root",
    ] {
        let reply = get(&tenant, path).await;
        assert_eq!(reply.status, 400, "{path}");
        assert!(
            reply.body["errors"]
                .as_object()
                .is_some_and(|e| !e.is_empty()),
            "{path}"
        );
    }
    let group = &tenant.dataset().groups[0].group_id;
    let reply = get(
        &tenant,
        &format!("/rest/api/3/group/member?groupId={group}&includeInactiveUsers=maybe"),
    )
    .await;
    assert_eq!(reply.status, 400);
}

#[tokio::test]
async fn faults_fire_at_the_configured_frequency() {
    let mut config = small();
    config.faults = Faults {
        rate_limit_every: 3,
        retry_after_secs: 0,
        unavailable_every: 4,
    };
    let tenant = Tenant::start(config).await.unwrap();
    // Unauthenticated requests are refused before the fault counter.
    let refused = send(
        &tenant,
        reqwest::Method::GET,
        "/rest/api/3/group/bulk",
        None,
    )
    .await;
    assert_eq!(refused.status, 401);
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let reply = get(&tenant, "/rest/api/3/group/bulk").await;
        match reply.status {
            429 => {
                assert_eq!(reply.headers["retry-after"], "0");
                assert_eq!(reply.headers["ratelimit-reason"], "jira-burst-based");
                let reset = reply.headers["x-ratelimit-reset"].to_str().unwrap();
                assert_eq!(reset.len(), "2026-03-26T16:00Z".len(), "{reset}");
                assert!(
                    reset.ends_with('Z') && reset.as_bytes()[10] == b'T',
                    "{reset}"
                );
            }
            503 => assert!(reply.headers.get("retry-after").is_none()),
            _ => {}
        }
        statuses.push(reply.status);
    }
    assert_eq!(
        statuses,
        [200, 200, 429, 503, 200, 429, 200, 503, 429, 200, 200, 429]
    );
}

#[tokio::test]
async fn the_request_log_records_method_path_query_and_status() {
    let tenant = Tenant::start(small()).await.unwrap();
    get(&tenant, "/rest/api/3/group/bulk?startAt=0&maxResults=2").await;
    send(
        &tenant,
        reqwest::Method::POST,
        "/rest/api/3/search",
        Some(TOKEN),
    )
    .await;
    send(
        &tenant,
        reqwest::Method::GET,
        "/rest/api/3/users/search",
        Some("wrong"),
    )
    .await;
    let log = tenant.requests();
    let got: Vec<(&str, &str, &str, u16)> = log
        .iter()
        .map(|r| {
            (
                r.method.as_str(),
                r.path.as_str(),
                r.query.as_str(),
                r.status,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "GET",
                "/rest/api/3/group/bulk",
                "startAt=0&maxResults=2",
                200
            ),
            ("POST", "/rest/api/3/search", "", 410),
            ("GET", "/rest/api/3/users/search", "", 401),
        ]
    );
}

#[tokio::test]
async fn dropping_the_tenant_stops_the_server() {
    let tenant = Tenant::start(small()).await.unwrap();
    let url = format!("{}/rest/api/3/group/bulk", tenant.url());
    assert_eq!(get(&tenant, "/rest/api/3/group/bulk").await.status, 200);
    drop(tenant);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    // The server task notices the signal on its next poll; a few short waits are plenty.
    for _ in 0..200 {
        if client.get(&url).send().await.is_err() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("the tenant still answers after being dropped");
}

/// The Python peer of the benchmark reads Jira through `/rest/api/2`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_api_2_answers_as_rest_api_3() {
    let tenant = Tenant::start(small()).await.unwrap();
    for path in [
        "/users/search?startAt=5&maxResults=7",
        "/group/bulk?maxResults=2",
        "/permissionscheme?expand=permissions",
    ] {
        let v2 = get(&tenant, &format!("/rest/api/2{path}")).await;
        let v3 = get(&tenant, &format!("/rest/api/3{path}")).await;
        assert_eq!(v2.status, 200, "{path}: {}", v2.body);
        assert!(!v2.body.is_null(), "{path}");
        assert_eq!(v2.body, v3.body, "{path}");
    }
    // The rewrite runs before the gate: v2 is no way around authentication.
    let anonymous = send(
        &tenant,
        reqwest::Method::GET,
        "/rest/api/2/users/search",
        None,
    )
    .await;
    assert_eq!(anonymous.status, 401);
    // Unknown v2 paths are unknown, as in v3.
    assert_eq!(get(&tenant, "/rest/api/2/nothing-here").await.status, 404);
}
