//! Behaviour of the simulated Admin API over real HTTP: both cursor styles page to exactly the
//! org data, expansions, the v1 fallback when v2 is off, scope denials, the Bearer key kept apart
//! from the site's Basic credentials, the lying cursor, the rate limit, the events window, the
//! stitching facts and the token classes a collector reports on.

use std::collections::BTreeSet;

use inventory_tenant::{AdminArea, Host, OrgConfig, OrgData, Tenant, TenantConfig};
use jiff::Timestamp;
use secrecy::SecretString;
use serde_json::{json, Value};

use crate::tenant::{send, small, Reply, TOKEN};

pub const KEY: &str = "org-key-b81f-NEVER-PRINT-ME";
const DAY: i64 = 86_400;

pub fn now() -> Timestamp {
    "2026-11-15T12:00:00Z".parse().unwrap()
}

pub fn org() -> OrgConfig {
    OrgConfig::small(SecretString::from(KEY), now())
}

pub async fn start(org: OrgConfig) -> Tenant {
    Tenant::start(small().with_org(org)).await.unwrap()
}

pub fn data(tenant: &Tenant) -> &OrgData {
    tenant.dataset().org.as_ref().expect("an org")
}

pub fn org_path(tenant: &Tenant, rest: &str) -> String {
    format!("/admin/v1/orgs/{}{rest}", data(tenant).org_id)
}

/// A request to the Admin listener: `target` is a path or a full URL; `bearer` the key sent.
pub async fn call(
    tenant: &Tenant,
    method: reqwest::Method,
    target: &str,
    body: Option<Value>,
    bearer: Option<&str>,
) -> Reply {
    let url = if target.starts_with("http") {
        target.to_string()
    } else {
        format!("{}{target}", tenant.api_url())
    };
    let mut request = reqwest::Client::new().request(method, url);
    if let Some(key) = bearer {
        request = request.bearer_auth(key);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("Admin API answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    Reply {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

pub async fn get(tenant: &Tenant, target: &str) -> Reply {
    call(tenant, reqwest::Method::GET, target, None, Some(KEY)).await
}

pub async fn post(tenant: &Tenant, target: &str, body: Value) -> Reply {
    call(tenant, reqwest::Method::POST, target, Some(body), Some(KEY)).await
}

fn ids(items: &[Value], field: &str) -> Vec<String> {
    items
        .iter()
        .map(|v| v[field].as_str().expect(field).to_string())
        .collect()
}

/// Follows v1 `links.next`, which must be a full URL on the Admin listener.
async fn walk_urls(tenant: &Tenant, first: &str) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut next = first.to_string();
    for pages in 1..100 {
        let page = get(tenant, &next).await;
        assert_eq!(page.status, 200, "{next}: {}", page.body);
        items.extend(page.body["data"].as_array().expect("data").clone());
        match page.body["links"]["next"].as_str() {
            None => return (items, pages),
            Some(url) => {
                assert!(url.starts_with(&tenant.api_url()), "full URL: {url}");
                assert_ne!(url, next, "next advances");
                next = url.to_string();
            }
        }
    }
    panic!("{first}: paging did not end");
}

/// Passes bare `links.next` cursors back: as the body's `cursor` for POST, as `cursor=` for GET.
async fn walk_cursors(
    tenant: &Tenant,
    path: &str,
    post_body: Option<Value>,
) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for pages in 1..100 {
        let page = match &post_body {
            Some(body) => {
                let mut body = body.clone();
                if let Some(c) = &cursor {
                    body["cursor"] = json!(c);
                }
                post(tenant, path, body).await
            }
            None => {
                let sep = if path.contains('?') { '&' } else { '?' };
                let target = match &cursor {
                    Some(c) => format!("{path}{sep}cursor={c}"),
                    None => path.to_string(),
                };
                get(tenant, &target).await
            }
        };
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        items.extend(page.body["data"].as_array().expect("data").clone());
        match page.body["links"]["next"].as_str() {
            None => return (items, pages),
            Some(next) => {
                assert!(!next.starts_with("http"), "a bare cursor: {next}");
                assert_ne!(Some(next), cursor.as_deref(), "next advances");
                cursor = Some(next.to_string());
            }
        }
    }
    panic!("{path}: paging did not end");
}

fn age_days(stamp: &str) -> i64 {
    let t: Timestamp = stamp.parse().expect("ISO 8601");
    (now().as_second() - t.as_second()).div_euclid(DAY)
}

#[tokio::test]
async fn v1_listings_follow_full_url_links_to_exactly_the_dataset() {
    let tenant = start(org()).await;
    let org = data(&tenant);

    let (domains, pages) = walk_urls(&tenant, &org_path(&tenant, "/domains")).await;
    assert!(pages > 1);
    let expected: Vec<String> = org.domains.iter().map(|d| d.id.clone()).collect();
    assert_eq!(ids(&domains, "id"), expected);

    let (users, pages) = walk_urls(&tenant, &org_path(&tenant, "/users")).await;
    assert!(pages > 1);
    let managed: Vec<String> = org
        .users
        .iter()
        .filter(|u| u.claim_status == "managed")
        .map(|u| u.account_id.clone())
        .collect();
    assert_eq!(ids(&users, "account_id"), managed);
    assert!(managed.len() < org.users.len(), "unmanaged accounts exist");
    let first = get(&tenant, &org_path(&tenant, "/users")).await;
    assert_eq!(first.body["meta"]["total"], json!(managed.len()));
    assert_eq!(first.body["data"].as_array().unwrap().len(), 4);

    let (orgs, _) = walk_urls(&tenant, "/admin/v1/orgs").await;
    assert_eq!(ids(&orgs, "id"), vec![org.org_id.clone()]);
    assert_eq!(orgs[0]["attributes"]["name"], json!(org.name));
    let one = get(&tenant, &org_path(&tenant, "")).await;
    assert_eq!(one.body["data"]["id"], json!(org.org_id));

    let missing = get(&tenant, "/admin/v1/orgs/no-such-org").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["errors"][0]["code"], "ADMIN-404-2");
    let elsewhere = get(&tenant, "/admin/v1/orgs/no-such-org/users").await;
    assert_eq!(elsewhere.body["errors"][0]["code"], "ADMIN-404-2");
    let bad_cursor = get(&tenant, &org_path(&tenant, "/users?cursor=garbage")).await;
    assert_eq!(bad_cursor.status, 400);
    assert_eq!(bad_cursor.body["errors"][0]["code"], "ADMIN-400-1");
}

#[tokio::test]
async fn v2_user_search_pages_with_bare_cursors_and_expands_on_request() {
    let tenant = start(org()).await;
    let org = data(&tenant);
    let expected: Vec<String> = org.users.iter().map(|u| u.account_id.clone()).collect();
    let search = format!("/admin/v2/orgs/{}/directories/-/users/search", org.org_id);

    let (plain, pages) = walk_cursors(&tenant, &search, Some(json!({"limit": 100}))).await;
    assert!(pages > 1);
    assert_eq!(ids(&plain, "accountId"), expected);
    for user in &plain {
        for field in ["productAccess", "groups", "platformRoles"] {
            assert!(user.get(field).is_none(), "{field} without expand");
        }
    }

    let expand = json!({"expand": ["platformRoles", "productAccess", "groups"]});
    let (expanded, _) = walk_cursors(&tenant, &search, Some(expand)).await;
    assert_eq!(ids(&expanded, "accountId"), expected);
    for (user, truth) in expanded.iter().zip(&org.users) {
        assert_eq!(
            user["groups"].as_array().unwrap().len(),
            truth.group_ids.len()
        );
        let keys: Vec<&str> = user["productAccess"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["key"].as_str().unwrap())
            .collect();
        let truth_keys: Vec<&str> = truth
            .product_access
            .iter()
            .map(|p| p.key.as_str())
            .collect();
        assert_eq!(keys, truth_keys);
        assert!(user["platformRoles"].is_array());
    }
    let roles: BTreeSet<&str> = expanded
        .iter()
        .flat_map(|u| u["platformRoles"].as_array().unwrap())
        .filter_map(Value::as_str)
        .collect();
    assert!(roles.contains("atlassian/org-admin") && roles.contains("atlassian/site-admin"));

    // The deprecated GET twin: the same users, the cursor as a query parameter.
    let twin = format!(
        "/admin/v2/orgs/{}/directories/-/users?expand=groups",
        org.org_id
    );
    let (listed, _) = walk_cursors(&tenant, &twin, None).await;
    assert_eq!(ids(&listed, "accountId"), expected);
    assert!(listed[0]["groups"].is_array() && listed[0].get("productAccess").is_none());

    // Group members come from the search's groupIds filter.
    let group = org.groups.iter().find(|g| g.members.len() > 4).unwrap();
    let (members, _) = walk_cursors(&tenant, &search, Some(json!({"groupIds": [group.id]}))).await;
    let got: BTreeSet<String> = ids(&members, "accountId").into_iter().collect();
    let want: BTreeSet<String> = group.members.iter().cloned().collect();
    assert_eq!(got, want);

    let bad = post(&tenant, &search, json!({"cursor": "garbage"})).await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.body["code"], "ADMIN-400-1",
        "bare error body on POST search"
    );
}

#[tokio::test]
async fn v2_group_search_lists_the_site_groups_and_org_only_ones() {
    let tenant = start(org()).await;
    let org = data(&tenant);
    let search = format!("/admin/v2/orgs/{}/directories/-/groups/search", org.org_id);
    let (groups, pages) = walk_cursors(&tenant, &search, Some(json!({}))).await;
    assert!(pages > 1);
    let expected: Vec<String> = org.groups.iter().map(|g| g.id.clone()).collect();
    assert_eq!(ids(&groups, "id"), expected);
    for site_group in &tenant.dataset().groups {
        assert!(expected.contains(&site_group.group_id), "same ids as Jira");
    }
    let names: Vec<String> = ids(&groups, "name");
    assert!(names.iter().any(|n| n == "bitbucket-users"));
}

#[tokio::test]
async fn without_v2_the_directory_is_404_and_v1_with_last_active_dates_serves() {
    let mut config = org();
    config.v2_directory = false;
    let tenant = start(config).await;
    let org = data(&tenant);
    let base = format!("/admin/v2/orgs/{}/directories/-", org.org_id);
    let search = post(&tenant, &format!("{base}/users/search"), json!({})).await;
    assert_eq!(search.status, 404);
    assert_eq!(get(&tenant, &format!("{base}/users")).await.status, 404);
    let groups = post(&tenant, &format!("{base}/groups/search"), json!({})).await;
    assert_eq!(groups.status, 404);

    let (users, _) = walk_urls(&tenant, &org_path(&tenant, "/users")).await;
    assert!(!users.is_empty());
    for user in org.users.iter().take(12) {
        let path = org_path(
            &tenant,
            &format!("/directory/users/{}/last-active-dates", user.account_id),
        );
        let reply = get(&tenant, &path).await;
        assert_eq!(reply.status, 200, "{path}");
        let products = reply.body["data"]["product_access"].as_array().unwrap();
        let used = user
            .product_access
            .iter()
            .filter(|p| p.last_active.is_some())
            .count();
        assert_eq!(products.len(), used);
        for product in products {
            let date = product["last_active"].as_str().unwrap();
            assert_eq!(date.len(), 10, "yyyy-MM-dd");
        }
    }
    let unknown = get(
        &tenant,
        &org_path(&tenant, "/directory/users/nobody/last-active-dates"),
    )
    .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body["errors"][0]["code"], "ADMIN-404-8");
}

#[tokio::test]
async fn denied_areas_answer_403_and_the_rest_still_serves() {
    let probe = |org: &OrgData, area: AdminArea| -> (reqwest::Method, String) {
        let id = &org.org_id;
        let sa = &org.service_accounts[0].account_id;
        let path = match area {
            AdminArea::Orgs => "/admin/v1/orgs".to_string(),
            AdminArea::Domains => format!("/admin/v1/orgs/{id}/domains"),
            AdminArea::Directory => format!("/admin/v2/orgs/{id}/directories/-/users/search"),
            AdminArea::Groups => format!("/admin/v2/orgs/{id}/directories/-/groups/search"),
            AdminArea::ApiTokens => format!("/admin/api-access/v1/orgs/{id}/api-tokens"),
            AdminArea::ApiKeys => format!("/admin/api-access/v1/orgs/{id}/api-keys"),
            AdminArea::ServiceAccounts => {
                format!("/admin/api-access/v1/orgs/{id}/service-accounts/{sa}/api-tokens")
            }
            AdminArea::Events => format!("/admin/v1/orgs/{id}/events-stream"),
        };
        let method = if path.ends_with("/search") {
            reqwest::Method::POST
        } else {
            reqwest::Method::GET
        };
        (method, path)
    };
    let areas = [
        AdminArea::Orgs,
        AdminArea::Domains,
        AdminArea::Directory,
        AdminArea::Groups,
        AdminArea::ApiTokens,
        AdminArea::ApiKeys,
        AdminArea::ServiceAccounts,
        AdminArea::Events,
    ];
    for area in areas {
        let mut config = org();
        config.denied = vec![area];
        let tenant = start(config).await;
        for other in areas {
            let (method, path) = probe(data(&tenant), other);
            let body = (method == reqwest::Method::POST).then(|| json!({}));
            let reply = call(&tenant, method.clone(), &path, body, Some(KEY)).await;
            if other != area {
                assert_eq!(reply.status, 200, "{other:?} while {area:?} is denied");
                continue;
            }
            assert_eq!(reply.status, 403, "{path}");
            // POST searches answer a bare ApplicationError, the rest wrap it in `errors`.
            let error = if method == reqwest::Method::POST {
                &reply.body
            } else {
                &reply.body["errors"][0]
            };
            assert!(
                error["code"].as_str().unwrap().starts_with("ADMIN-403-"),
                "{path}: {}",
                reply.body
            );
            assert_eq!(error["status"], "403");
            assert!(error["id"].is_string() && error["title"].is_string());
        }
        if area == AdminArea::Directory {
            let v1 = get(&tenant, &org_path(&tenant, "/users")).await;
            assert_eq!(v1.status, 403, "the v1 directory is the same scope");
        }
    }
}

#[tokio::test]
async fn each_listener_accepts_only_its_own_credential() {
    let tenant = start(org()).await;
    let orgs = "/admin/v1/orgs";
    for bearer in [None, Some("wrong-key"), Some(TOKEN)] {
        let reply = call(&tenant, reqwest::Method::GET, orgs, None, bearer).await;
        assert_eq!(reply.status, 401, "{bearer:?}");
        assert_eq!(reply.body["code"], json!(401), "ProxyError");
        assert!(reply.body["message"].is_string());
    }
    // The site's Basic credentials mean nothing to the Admin API.
    let basic = reqwest::Client::new()
        .get(format!("{}{orgs}", tenant.api_url()))
        .basic_auth(crate::tenant::EMAIL, Some(TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status().as_u16(), 401);
    // And the Admin key means nothing to the site.
    let bearer_on_site = reqwest::Client::new()
        .get(format!("{}/rest/api/3/users/search", tenant.url()))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(bearer_on_site.status().as_u16(), 401);
    assert_eq!(get(&tenant, orgs).await.status, 200);
    let site = send(
        &tenant,
        reqwest::Method::GET,
        "/rest/api/3/users/search",
        Some(TOKEN),
    )
    .await;
    assert_eq!(site.status, 200);
    assert_ne!(tenant.url(), tenant.api_url());

    let log = tenant.requests();
    let seen: Vec<(Host, &str, u16)> = log.iter().map(|r| (r.host, r.auth, r.status)).collect();
    assert_eq!(
        seen,
        vec![
            (Host::Api, "none", 401),
            (Host::Api, "bearer", 401),
            (Host::Api, "bearer", 401),
            (Host::Api, "basic", 401),
            (Host::Site, "bearer", 401),
            (Host::Api, "bearer", 200),
            (Host::Site, "basic", 200),
        ]
    );
    // Only accepted credentials reached a handler: Bearer on the API, Basic on the site.
    for request in log.iter().filter(|r| r.status == 200) {
        match request.host {
            Host::Api => assert_eq!(request.auth, "bearer"),
            Host::Site => assert_eq!(request.auth, "basic"),
        }
    }
    let logged = format!("{log:?}");
    assert!(!logged.contains(KEY) && !logged.contains(TOKEN));
}

#[tokio::test]
async fn without_an_org_every_admin_path_is_404() {
    let tenant = Tenant::start(small()).await.unwrap();
    assert!(tenant.dataset().org.is_none());
    for path in [
        "/admin/v1/orgs",
        "/admin/api-access/v1/orgs/x/api-tokens",
        "/",
    ] {
        let reply = get(&tenant, path).await;
        assert_eq!(reply.status, 404, "{path}");
    }
    assert!(TenantConfig::demo("a@b.example", SecretString::from("t"))
        .org
        .is_none());
}

#[tokio::test]
async fn api_tokens_page_to_the_dataset_unless_the_cursor_repeats() {
    let tenant = start(org()).await;
    let org = data(&tenant);
    let path = format!("/admin/api-access/v1/orgs/{}/api-tokens", org.org_id);
    let (tokens, pages) = walk_cursors(&tenant, &path, None).await;
    assert!(pages > 2);
    let expected: Vec<String> = org.api_tokens.iter().map(|t| t.id.clone()).collect();
    assert_eq!(ids(&tokens, "id"), expected);
    let sized = get(&tenant, &format!("{path}?pageSize=2")).await;
    assert_eq!(sized.body["data"].as_array().unwrap().len(), 2);

    let mut config = self::org();
    config.repeat_cursor = true;
    let liar = start(config).await;
    let first = get(&liar, &path).await;
    let cursor = first.body["links"]["next"].as_str().unwrap().to_string();
    for _ in 0..3 {
        let again = get(&liar, &format!("{path}?cursor={cursor}")).await;
        assert_eq!(again.status, 200);
        assert_eq!(again.body["links"]["next"].as_str(), Some(cursor.as_str()));
    }
}

#[tokio::test]
async fn token_and_key_classes_are_present_relative_to_now() {
    let tenant = start(org()).await;
    let org = data(&tenant);
    let path = format!("/admin/api-access/v1/orgs/{}/api-tokens", org.org_id);
    let (tokens, _) = walk_cursors(&tenant, &path, None).await;
    let stale = tokens
        .iter()
        .any(|t| t["lastActiveAt"].as_str().is_some_and(|d| age_days(d) > 90));
    let expiring = tokens.iter().any(|t| {
        t["expiresAt"]
            .as_str()
            .is_some_and(|d| (-14..0).contains(&age_days(d)))
    });
    let never_expires = tokens.iter().any(|t| t.get("expiresAt").is_none());
    let never_used = tokens.iter().any(|t| t.get("lastActiveAt").is_none());
    assert!(stale && expiring && never_expires && never_used);
    for token in &tokens {
        assert_eq!(token["user"]["orgId"], json!(org.org_id));
        assert!(org.user(token["user"]["id"].as_str().unwrap()).is_some());
        assert!(age_days(token["createdAt"].as_str().unwrap()) >= 0);
    }

    let keys_path = format!("/admin/api-access/v1/orgs/{}/api-keys", org.org_id);
    let (keys, _) = walk_cursors(&tenant, &keys_path, None).await;
    assert_eq!(keys.len(), org.api_keys.len());
    assert!(keys.iter().any(|k| k["expiresAt"]
        .as_str()
        .is_some_and(|d| (-14..0).contains(&age_days(d)))));

    // Service accounts are directory users with a serviceaccount email; each has 1–2 tokens.
    let accounts: Vec<&str> = org
        .users
        .iter()
        .filter(|u| {
            u.email
                .as_deref()
                .is_some_and(|e| e.ends_with("@serviceaccount.atlassian.com"))
        })
        .map(|u| u.account_id.as_str())
        .collect();
    assert_eq!(accounts.len(), org.service_accounts.len());
    for account in accounts {
        let path = format!(
            "/admin/api-access/v1/orgs/{}/service-accounts/{account}/api-tokens",
            org.org_id
        );
        let (tokens, _) = walk_cursors(&tenant, &path, None).await;
        assert!((1..=2).contains(&tokens.len()), "{account}");
        assert!(tokens.iter().all(|t| t["user"]["id"] == json!(account)));
    }
    let unknown = get(
        &tenant,
        &format!(
            "/admin/api-access/v1/orgs/{}/service-accounts/nobody/api-tokens",
            org.org_id
        ),
    )
    .await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn the_directory_stitches_to_the_site() {
    let tenant = start(org()).await;
    let org = data(&tenant);
    let search = format!("/admin/v2/orgs/{}/directories/-/users/search", org.org_id);
    let (users, _) = walk_cursors(&tenant, &search, Some(json!({}))).await;
    let by_id: std::collections::BTreeMap<&str, &Value> = users
        .iter()
        .map(|u| (u["accountId"].as_str().unwrap(), u))
        .collect();
    let mut filled = 0;
    let mut unmanaged_hidden = 0;
    for user in tenant.dataset().users.iter() {
        let there = by_id.get(user.account_id.as_str());
        if user.account_type != "atlassian" {
            assert!(
                there.is_none(),
                "apps and customers are not in the directory"
            );
            continue;
        }
        let there = there.expect("every site person is in the directory");
        match (&user.email, there.get("email")) {
            (Some(email), Some(shown)) => assert_eq!(shown, &json!(email)),
            (Some(_), None) => panic!("{}: the directory hides a visible email", user.account_id),
            (None, Some(_)) => {
                assert_eq!(there["claimStatus"], "managed");
                filled += 1;
            }
            (None, None) => {
                assert_eq!(there["claimStatus"], "unmanaged");
                unmanaged_hidden += 1;
            }
        }
    }
    assert!(filled > 0 && unmanaged_hidden > 0);
    // Org-only people: some with no product access at all, some suspended or deactivated,
    // some with MFA off.
    let site_ids: BTreeSet<&str> = tenant
        .dataset()
        .users
        .iter()
        .map(|u| u.account_id.as_str())
        .collect();
    let org_only: Vec<_> = org
        .users
        .iter()
        .filter(|u| !site_ids.contains(u.account_id.as_str()))
        .collect();
    assert!(org_only.iter().any(|u| u.product_access.is_empty()));
    assert!(org_only.iter().any(|u| u.status == "suspended"));
    assert!(org.users.iter().any(|u| u.status == "deactivated"));
    assert!(org.users.iter().any(|u| u.mfa_enabled == Some(false)));
    let classes: BTreeSet<i64> = org
        .users
        .iter()
        .flat_map(|u| &u.product_access)
        .map(|p| match p.last_active.as_deref().map(age_days) {
            Some(d) if d <= 30 => 0,
            Some(d) if d <= 90 => 1,
            Some(_) => 2,
            None => 3,
        })
        .collect();
    assert_eq!(
        classes.len(),
        4,
        "active within 30 and 90 days, older, never"
    );
}

#[tokio::test]
async fn rate_limit_answers_429_with_reset_headers_and_its_own_counter() {
    let mut config = org();
    config.rate_limit_every = 3;
    let tenant = start(config).await;
    let mut statuses = Vec::new();
    let mut limited = None;
    for _ in 0..6 {
        // Site requests in between do not move the Admin counter.
        let site = send(
            &tenant,
            reqwest::Method::GET,
            "/rest/api/3/applicationrole",
            Some(TOKEN),
        )
        .await;
        assert_eq!(site.status, 200);
        let reply = get(&tenant, "/admin/v1/orgs").await;
        statuses.push(reply.status);
        if reply.status == 429 {
            limited = Some(reply);
        }
    }
    assert_eq!(statuses, vec![200, 200, 429, 200, 200, 429]);
    let limited = limited.unwrap();
    assert!(limited.headers.get("retry-after").is_none());
    let reset = limited.headers["x-ratelimit-reset"].to_str().unwrap();
    reset.parse::<Timestamp>().expect("ISO 8601 reset");
    assert!(limited.headers.contains_key("x-ratelimit-limit"));
    assert_eq!(limited.headers["x-ratelimit-remaining"], "0");
    assert_eq!(limited.body["code"], json!(429));
}

#[tokio::test]
async fn events_stream_honours_from_to_order_and_paging() {
    let tenant = start(org()).await;
    let org = data(&tenant);
    let path = org_path(&tenant, "/events-stream");
    let millis = |stamp: &str| stamp.parse::<Timestamp>().unwrap().as_millisecond();

    let all = walk_events(&tenant, &path).await;
    let expected: Vec<String> = org.events.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids(&all, "id"), expected);
    for event in &all {
        let age = age_days(event["attributes"]["time"].as_str().unwrap());
        assert!((0..10).contains(&age));
    }

    let from = millis(&org.events[5].time);
    let to = millis(&org.events[17].time);
    let window = format!("{path}?from={from}&to={to}");
    let got = walk_events(&tenant, &window).await;
    assert_eq!(ids(&got, "id"), expected[5..=17].to_vec());

    let desc = walk_events(&tenant, &format!("{window}&sortOrder=desc")).await;
    let mut reversed = expected[5..=17].to_vec();
    reversed.reverse();
    assert_eq!(ids(&desc, "id"), reversed);

    let bad = get(&tenant, &format!("{path}?from=yesterday")).await;
    assert_eq!(bad.status, 400);
}

/// Follows `links.next` (a full URL) through the events stream; `meta.next` is the bare cursor.
async fn walk_events(tenant: &Tenant, first: &str) -> Vec<Value> {
    let mut events = Vec::new();
    let mut next = first.to_string();
    for _ in 0..100 {
        let page = get(tenant, &next).await;
        assert_eq!(page.status, 200, "{next}: {}", page.body);
        events.extend(page.body["data"].as_array().unwrap().clone());
        assert!(page.body["meta"]["page_size"].is_number());
        match page.body["links"]["next"].as_str() {
            Some(url) => {
                let cursor = page.body["meta"]["next"].as_str().expect("meta.next");
                assert!(url.contains(cursor));
                next = url.to_string();
            }
            None => return events,
        }
    }
    panic!("events did not end");
}
