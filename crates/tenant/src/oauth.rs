//! The OAuth 2.0 authorization server and the API gateway, on the Admin listener (standing in
//! for `https://auth.atlassian.com` and `https://api.atlassian.com`), and the site's public
//! `/_edge/tenant_info` (REFERENCE §0.1, §6):
//!
//! - `GET /authorize`: consent without a person: redirects (302) to `redirect_uri` with a `code`
//!   and the caller's `state`;
//! - `POST /oauth/token`: `client_credentials`, `authorization_code` and `refresh_token` grants.
//!   Access tokens expire (`expires_in`, and after [`OAuthTenant::access_token_uses`] requests, so
//!   tests need not sleep); refresh tokens rotate, and a spent one answers 403 `invalid_grant`
//!   and revokes its whole grant (Atlassian tolerates a 10-minute leeway; this tenant none);
//! - `GET /oauth/token/accessible-resources`: two sites, the tenant's listed twice (once per
//!   product, as Atlassian does) and another one;
//! - `/ex/jira/{cloudId}/…` and `/ex/confluence/{cloudId}/…`: the site's own handlers, for a
//!   Bearer access token holding the endpoint's scope (403 otherwise) or the site's Basic
//!   credentials (scoped API tokens and service accounts);
//! - on the site: `GET /_edge/tenant_info` (public) and the two "who am I" endpoints a client
//!   probes credentials with, `GET /rest/api/3/myself` and `GET /wiki/rest/api/user/current`.
//!
//! The shape of a scope refusal is not documented; this tenant answers 403
//! `{"code":403,"message":"Unauthorized; scope does not match"}`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{json, Value};
use tower::ServiceExt;

use super::gate::{auth_scheme, basic_matches, record};
use super::{Host, LoggedRequest, Site};

/// The tenant site's cloud id, the same on every run.
pub const CLOUD_ID: &str = "5f2b9c7e-31a4-4d6b-9e08-7c1a2b3d4e5f";
/// A second site the OAuth grant reaches.
pub const OTHER_SITE: &str = "https://other-site.atlassian.net";
const OTHER_CLOUD_ID: &str = "0b8e4d21-96fa-4c37-a5d0-e1f2a3b4c5d6";

/// The OAuth side of a simulated tenant.
#[derive(Clone, Debug)]
pub struct OAuthTenant {
    /// The OAuth client the token endpoint knows.
    pub client_id: String,
    pub client_secret: SecretString,
    /// `expires_in` of every access token, also enforced on the wall clock.
    pub access_ttl_secs: u64,
    /// An access token answers 401 after this many gateway requests (0: never): an expiry
    /// mid-run without sleeping.
    pub access_token_uses: u32,
    /// The scopes the grant holds; leave one out to get 403s on its endpoints.
    pub scopes: Vec<String>,
    /// The site's Basic credentials are a scoped API token: the site answers them 401 and only
    /// the gateway takes them (service-account emails are treated so always).
    pub scoped_token: bool,
}

impl OAuthTenant {
    /// A client holding `scopes` (the collector passes every scope it needs), hour-long access
    /// tokens.
    pub fn new<S: Into<String>>(
        client_id: &str,
        client_secret: SecretString,
        scopes: impl IntoIterator<Item = S>,
    ) -> Self {
        let scopes = scopes.into_iter().map(Into::into).collect();
        OAuthTenant {
            client_id: client_id.to_string(),
            client_secret,
            access_ttl_secs: 3600,
            access_token_uses: 0,
            scopes,
            scoped_token: false,
        }
    }
}

/// What the authorization server did, for tests.
#[derive(Clone, Debug, Default)]
pub struct OAuthStats {
    pub client_credentials: u32,
    pub authorization_codes: u32,
    pub refreshes: u32,
    /// Refresh requests refused as `invalid_grant` (a spent or unknown refresh token).
    pub invalid_grants: u32,
    /// Gateway requests refused because their access token had expired.
    pub expired: u32,
}

struct Issued {
    expires: jiff::Timestamp,
    uses: u32,
}

/// Tokens and codes the tenant has issued.
#[derive(Default)]
pub(super) struct OAuthState {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    access: HashMap<String, Issued>,
    /// Live refresh tokens and their grant.
    refresh: HashMap<String, u64>,
    /// Rotated refresh tokens and their grant: sending one again revokes the grant.
    spent: HashMap<String, u64>,
    revoked: HashSet<u64>,
    /// Authorization codes and the `redirect_uri` they were issued for.
    codes: HashMap<String, String>,
    grants: u64,
    stats: OAuthStats,
}

impl OAuthState {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn stats(&self) -> OAuthStats {
        self.lock().stats.clone()
    }

    /// The live refresh tokens (test introspection).
    pub(super) fn live_refresh_tokens(&self) -> Vec<String> {
        self.lock().refresh.keys().cloned().collect()
    }
}

fn fresh(prefix: &str) -> String {
    let tail: String = std::iter::repeat_with(fastrand::alphanumeric)
        .take(40)
        .collect();
    format!("{prefix}{tail}")
}

/// Routes on the Admin listener, outside its Admin-key gate.
pub(super) fn api_routes() -> Router<Arc<Site>> {
    Router::new()
        .route("/authorize", get(authorize))
        .route("/oauth/token", post(token))
        .route(
            "/oauth/token/accessible-resources",
            get(accessible_resources),
        )
        .route("/ex/jira/{cloud_id}/{*rest}", any(gateway_jira))
        .route("/ex/confluence/{cloud_id}/{*rest}", any(gateway_confluence))
}

/// Site routes behind the site's Basic gate.
pub(super) fn site_routes() -> Router<Arc<Site>> {
    Router::new()
        .route("/rest/api/3/myself", get(myself))
        .route("/wiki/rest/api/user/current", get(current_user))
}

/// Public site routes, outside the gate.
pub(super) fn public_site_routes() -> Router<Arc<Site>> {
    Router::new().route("/_edge/tenant_info", get(tenant_info))
}

/// Whether the site's own gate must refuse the configured Basic credentials: a service
/// account's or a scoped API token works only through the gateway.
pub(super) fn gateway_only(site: &Site) -> bool {
    site.config
        .email
        .to_ascii_lowercase()
        .ends_with("@serviceaccount.atlassian.com")
        || site.config.oauth.as_ref().is_some_and(|o| o.scoped_token)
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

fn proxy_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({"code": status.as_u16(), "message": message})),
    )
        .into_response()
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    client_id: String,
    redirect_uri: String,
    state: String,
    #[serde(default)]
    response_type: Option<String>,
}

async fn authorize(State(site): State<Arc<Site>>, Query(query): Query<AuthorizeQuery>) -> Response {
    let known = site
        .config
        .oauth
        .as_ref()
        .is_some_and(|o| o.client_id == query.client_id);
    if !known || query.response_type.as_deref() != Some("code") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Unknown client or response_type.",
        );
    }
    let code = fresh("code-");
    site.oauth
        .lock()
        .codes
        .insert(code.clone(), query.redirect_uri.clone());
    let Ok(mut target) = url::Url::parse(&query.redirect_uri) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Bad redirect_uri.",
        );
    };
    target
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &query.state);
    Redirect::to(target.as_str()).into_response()
}

/// The token endpoint. Client authentication by `client_id` and `client_secret` in the body.
async fn token(State(site): State<Arc<Site>>, Json(body): Json<Value>) -> Response {
    let response = issue(&site, &body);
    log(&site, "POST", "/oauth/token", "none", response.status());
    response
}

fn issue(site: &Site, body: &Value) -> Response {
    let Some(oauth) = &site.config.oauth else {
        return oauth_error(StatusCode::UNAUTHORIZED, "access_denied", "Unauthorized");
    };
    let field = |name: &str| body.get(name).and_then(Value::as_str).unwrap_or_default();
    if field("client_id") != oauth.client_id
        || field("client_secret") != oauth.client_secret.expose_secret()
    {
        return oauth_error(StatusCode::UNAUTHORIZED, "access_denied", "Unauthorized");
    }
    let mut inner = site.oauth.lock();
    let grant = match field("grant_type") {
        "client_credentials" => {
            if field("audience") != "api.atlassian.com" {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Missing audience.",
                );
            }
            inner.stats.client_credentials += 1;
            None
        }
        "authorization_code" => {
            match inner.codes.remove(field("code")) {
                Some(redirect) if redirect == field("redirect_uri") => {}
                _ => {
                    return oauth_error(
                        StatusCode::FORBIDDEN,
                        "invalid_grant",
                        "Invalid authorization code",
                    )
                }
            }
            inner.stats.authorization_codes += 1;
            inner.grants += 1;
            Some(inner.grants)
        }
        "refresh_token" => {
            let sent = field("refresh_token").to_string();
            match inner.refresh.remove(&sent) {
                Some(grant) => {
                    inner.spent.insert(sent, grant);
                    inner.stats.refreshes += 1;
                    Some(grant)
                }
                None => {
                    // Reuse of a rotated token revokes every token of its grant.
                    if let Some(grant) = inner.spent.get(&sent).copied() {
                        inner.revoked.insert(grant);
                        inner.refresh.retain(|_, g| *g != grant);
                    }
                    inner.stats.invalid_grants += 1;
                    return oauth_error(
                        StatusCode::FORBIDDEN,
                        "invalid_grant",
                        "Unknown or invalid refresh token.",
                    );
                }
            }
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Unsupported grant type.",
            )
        }
    };
    let access = fresh("at-");
    let ttl = i64::try_from(oauth.access_ttl_secs).unwrap_or(i64::MAX);
    let expires = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(ttl))
        .unwrap_or(jiff::Timestamp::MAX);
    inner
        .access
        .insert(access.clone(), Issued { expires, uses: 0 });
    let mut answer = json!({
        "access_token": access,
        "expires_in": oauth.access_ttl_secs,
        "token_type": "Bearer",
        "scope": oauth.scopes.join(" "),
    });
    if let Some(grant) = grant {
        let refresh = fresh("rt-");
        inner.refresh.insert(refresh.clone(), grant);
        answer["refresh_token"] = refresh.into();
    }
    Json(answer).into_response()
}

/// Whether a Bearer token is live; counts its use.
fn bearer_ok(site: &Site, headers: &HeaderMap) -> bool {
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    let limit = site
        .config
        .oauth
        .as_ref()
        .map_or(0, |o| o.access_token_uses);
    let mut inner = site.oauth.lock();
    let Some(issued) = inner.access.get_mut(token.trim()) else {
        return false;
    };
    issued.uses += 1;
    let expired = jiff::Timestamp::now() >= issued.expires || (limit > 0 && issued.uses > limit);
    if expired {
        inner.stats.expired += 1;
    }
    !expired
}

async fn accessible_resources(State(site): State<Arc<Site>>, headers: HeaderMap) -> Response {
    let path = "/oauth/token/accessible-resources";
    if !bearer_ok(&site, &headers) {
        let response = proxy_error(StatusCode::UNAUTHORIZED, "Unauthorized");
        log(&site, "GET", path, auth_scheme(&headers), response.status());
        return response;
    }
    let scopes = site
        .config
        .oauth
        .as_ref()
        .map(|o| o.scopes.clone())
        .unwrap_or_default();
    let (jira, confluence): (Vec<_>, Vec<_>) = scopes.iter().partition(|s| s.contains("jira"));
    let avatar = "https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/flag.png";
    let entry = |id: &str, url: &str, scopes: &[&String]| json!({"id": id, "name": "acme", "url": url, "scopes": scopes, "avatarUrl": avatar});
    // The tenant's site once per product, as Atlassian lists it, and a second site.
    let body = json!([
        entry(CLOUD_ID, &site.base_url, &jira),
        entry(CLOUD_ID, &site.base_url, &confluence),
        entry(OTHER_CLOUD_ID, OTHER_SITE, &jira),
    ]);
    log(&site, "GET", path, "bearer", StatusCode::OK);
    Json(body).into_response()
}

async fn gateway_jira(
    State(site): State<Arc<Site>>,
    Path((cloud_id, rest)): Path<(String, String)>,
    request: Request,
) -> Response {
    gateway(site, "jira", &cloud_id, &rest, request).await
}

async fn gateway_confluence(
    State(site): State<Arc<Site>>,
    Path((cloud_id, rest)): Path<(String, String)>,
    request: Request,
) -> Response {
    gateway(site, "confluence", &cloud_id, &rest, request).await
}

/// Checks the credentials, the cloud id and the scope, then hands the request to the site's own
/// handlers with the prefix removed.
async fn gateway(
    site: Arc<Site>,
    product: &str,
    cloud_id: &str,
    rest: &str,
    request: Request,
) -> Response {
    let method = request.method().to_string();
    let full_path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or_default().to_string();
    let scheme = auth_scheme(request.headers());
    let path = format!("/{rest}");
    let response = match scheme {
        "bearer" if bearer_ok(&site, request.headers()) => match missing_scope(&site, &path) {
            Some(_) => proxy_error(StatusCode::FORBIDDEN, "Unauthorized; scope does not match"),
            None => forward(&site, product, cloud_id, &path, request).await,
        },
        "basic" if basic_matches(&site, request.headers()) => {
            forward(&site, product, cloud_id, &path, request).await
        }
        _ => proxy_error(StatusCode::UNAUTHORIZED, "Unauthorized"),
    };
    record(
        &site,
        LoggedRequest {
            host: Host::Api,
            method,
            path: full_path,
            query,
            auth: scheme,
            status: response.status().as_u16(),
        },
    );
    response
}

async fn forward(
    site: &Arc<Site>,
    product: &str,
    cloud_id: &str,
    path: &str,
    request: Request,
) -> Response {
    let wrong_product = match product {
        "jira" => path.starts_with("/wiki/"),
        _ => path.starts_with("/rest/api/"),
    };
    if cloud_id != CLOUD_ID || wrong_product {
        return proxy_error(StatusCode::NOT_FOUND, "Not Found");
    }
    let (mut parts, body) = request.into_parts();
    let path_and_query = match parts.uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_string(),
    };
    let Ok(uri) = path_and_query.parse() else {
        return proxy_error(StatusCode::BAD_REQUEST, "Bad Request");
    };
    parts.headers.remove(header::AUTHORIZATION);
    // A new request, not `from_parts`: the extensions hold the gateway route's path parameters,
    // which the site's handlers would take for their own.
    let mut inner = Request::new(Body::new(body));
    *inner.method_mut() = parts.method;
    *inner.uri_mut() = uri;
    *inner.headers_mut() = parts.headers;
    // Everything the site and the Assets API serve: `/ex/jira/{cloudId}` reaches Jira, JSM and
    // Assets (`…/jsm/assets/workspace/…`, REFERENCE §0.1).
    let app = super::jira::routes()
        .merge(super::confluence::routes())
        .merge(super::jsm::routes())
        .merge(super::assets::site_routes())
        .merge(super::assets::api_routes())
        .merge(site_routes())
        .with_state(site.clone());
    match app.oneshot(inner).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// The classic scope the tenant demands of a Bearer token for `path`, when the grant lacks it.
fn missing_scope(site: &Site, path: &str) -> Option<&'static str> {
    const NEEDS: [(&str, &str); 11] = [
        ("/rest/api/3/users/search", "read:jira-user"),
        ("/rest/api/3/group/bulk", "read:jira-user"),
        ("/rest/api/3/myself", "read:jira-user"),
        ("/rest/api/3/group/member", "manage:jira-configuration"),
        (
            "/rest/api/3/application-properties",
            "manage:jira-configuration",
        ),
        ("/rest/api/3/applicationrole", "manage:jira-configuration"),
        ("/rest/api/3/project", "read:jira-work"),
        ("/rest/api/3/permissionscheme", "read:jira-work"),
        ("/wiki/rest/api/group", "read:confluence-groups"),
        ("/wiki/rest/api/audit", "read:audit-log:confluence"),
        ("/wiki/api/v2/spaces", "read:space:confluence"),
    ];
    let granted = &site.config.oauth.as_ref()?.scopes;
    let (_, scope) = NEEDS.iter().find(|(prefix, _)| path.starts_with(prefix))?;
    (!granted.iter().any(|g| g == scope)).then_some(*scope)
}

async fn tenant_info(State(site): State<Arc<Site>>) -> Json<Value> {
    log(&site, "GET", "/_edge/tenant_info", "none", StatusCode::OK);
    Json(json!({"cloudId": CLOUD_ID}))
}

/// `GET /rest/api/3/myself`: the caller, a Jira `User`.
async fn myself(State(site): State<Arc<Site>>) -> Json<Value> {
    Json(json!({
        "self": format!("{}/rest/api/3/myself", site.base_url),
        "accountId": "5b10ac8d82e05b22cc7d4ef5",
        "accountType": "atlassian",
        "emailAddress": site.config.email,
        "displayName": "Inventory auditor",
        "active": true,
        "timeZone": "UTC",
    }))
}

/// `GET /wiki/rest/api/user/current`: the caller, a Confluence `User`.
async fn current_user(State(site): State<Arc<Site>>) -> Json<Value> {
    Json(json!({
        "type": "known",
        "accountId": "5b10ac8d82e05b22cc7d4ef5",
        "accountType": "atlassian",
        "email": site.config.email,
        "publicName": "Inventory auditor",
        "displayName": "Inventory auditor",
    }))
}

fn log(site: &Site, method: &str, path: &str, auth: &'static str, status: StatusCode) {
    record(
        site,
        LoggedRequest {
            host: if path.starts_with("/_edge") {
                Host::Site
            } else {
                Host::Api
            },
            method: method.to_string(),
            path: path.to_string(),
            query: String::new(),
            auth,
            status: status.as_u16(),
        },
    );
}
