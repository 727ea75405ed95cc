//! The organization Admin APIs, served on the tenant's second listener (standing in for
//! `https://api.atlassian.com`), one handler each:
//!
//! - `GET /admin/v1/orgs` [getOrgs], `GET /admin/v1/orgs/{orgId}` [getOrgById]
//! - `GET /admin/v1/orgs/{orgId}/domains` [getDomains]
//! - `GET /admin/v1/orgs/{orgId}/users` [getUsers]: managed accounts, snake_case
//! - `GET /admin/v1/orgs/{orgId}/directory/users/{accountId}/last-active-dates`
//! - `GET /admin/v1/orgs/{orgId}/events-stream`
//! - `POST /admin/v2/orgs/{orgId}/directories/{directoryId}/users/search`, and its deprecated
//!   twin `GET …/users`
//! - `POST /admin/v2/orgs/{orgId}/directories/{directoryId}/groups/search`
//! - `GET /admin/api-access/v1/orgs/{orgId}/api-tokens`, `…/api-keys`,
//!   `…/service-accounts/{serviceAccountId}/api-tokens`
//!
//! The v1 org, domain, user and last-active shapes follow the official Admin organization spec
//! (`fixtures/spec/admin-organization-subset.json`, paths there lack the `/admin` prefix of
//! the server base). The spec copy has no v2 directory, api-access or events-stream paths: those
//! shapes come from REFERENCE §5.3, §5.4, §5.6 and §5.7 (jira.js models and the developer
//! docs), and each wire type below says so.
//!
//! Pagination, per REFERENCE §0.2: v1 listings put a full URL in `links.next`; v2 and
//! api-access listings put a bare cursor there. Cursors are opaque here too: base64 of the
//! listing's name and a position, so a cursor from another listing is a 400.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::data::{mix, uuid_like};
use super::gate::{auth_scheme, record};
use super::org_data::{
    ApiKey, ApiToken, AuditEvent, DirectoryGroup, DirectoryUser, OrgData, TokenOwner,
};
use super::pacing::{Admission, Style};
use super::{AdminArea, Host, LoggedRequest, OrgConfig, Site};

type AdminState = State<Arc<Site>>;

pub(super) fn routes() -> Router<Arc<Site>> {
    Router::new()
        .route("/admin/v1/orgs", get(orgs))
        .route("/admin/v1/orgs/{org}", get(org))
        .route("/admin/v1/orgs/{org}/domains", get(domains))
        .route("/admin/v1/orgs/{org}/users", get(v1_users))
        .route(
            "/admin/v1/orgs/{org}/directory/users/{account}/last-active-dates",
            get(last_active_dates),
        )
        .route("/admin/v1/orgs/{org}/events-stream", get(events_stream))
        .route(
            "/admin/v2/orgs/{org}/directories/{directory}/users",
            get(directory_users),
        )
        .route(
            "/admin/v2/orgs/{org}/directories/{directory}/users/search",
            post(directory_users_search),
        )
        .route(
            "/admin/v2/orgs/{org}/directories/{directory}/groups/search",
            post(directory_groups_search),
        )
        .route(
            "/admin/api-access/v1/orgs/{org}/api-tokens",
            get(api_tokens),
        )
        .route("/admin/api-access/v1/orgs/{org}/api-keys", get(api_keys))
        .route(
            "/admin/api-access/v1/orgs/{org}/service-accounts/{account}/api-tokens",
            get(service_account_tokens),
        )
        .fallback(unknown)
        .method_not_allowed_fallback(wrong_method)
}

// ---------------------------------------------------------------------------------------------
// Gate: org configured, Bearer key, injected rate limit; then the log

pub(super) async fn gate(State(site): AdminState, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or_default().to_string();
    let auth = auth_scheme(request.headers());
    let response = match &site.config.org {
        // No organization behind this tenant: nothing exists here.
        None => AdminError::unknown(&path).into_response(),
        Some(org) if !authenticated(org, request.headers()) => {
            // The gateway answers, not the application: a `ProxyError`.
            AdminError::proxy(StatusCode::UNAUTHORIZED, "Unauthorized").into_response()
        }
        Some(org) => match site.pacer.admit(Host::Api, &method, &path, &query) {
            Admission::Refuse(refusal) => refusal.into_response(Style::Admin),
            Admission::Pass(limits) => {
                let mut response = match rate_limited(&site, org) {
                    Some(limited) => limited,
                    None => next.run(request).await,
                };
                limits.apply(response.headers_mut(), Style::Admin);
                response
            }
        },
    };
    site.pacer.delay().await;
    let status = response.status().as_u16();
    tracing::debug!(%method, %path, status, "simulated Admin API request");
    record(
        &site,
        LoggedRequest {
            host: Host::Api,
            method,
            path,
            query,
            auth,
            status,
        },
    );
    response
}

/// `Authorization: Bearer <api key>`. The only place the key is exposed.
fn authenticated(org: &OrgConfig, headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|key| key.trim() == org.api_key.expose_secret())
}

/// Every Nth authenticated Admin request is a 429. Per REFERENCE §5.8 the Admin API declares no
/// `Retry-After`, only `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`
/// ("ISO 8601 - Date and time in UTC"); the reset is ten seconds from the wall clock.
fn rate_limited(site: &Site, org: &OrgConfig) -> Option<Response> {
    let n = site.admin_served.fetch_add(1, Ordering::SeqCst) + 1;
    let every = org.rate_limit_every;
    if every == 0 || !n.is_multiple_of(u64::from(every)) {
        return None;
    }
    let mut response =
        AdminError::proxy(StatusCode::TOO_MANY_REQUESTS, "Too many requests").into_response();
    let reset = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(10))
        .unwrap_or(jiff::Timestamp::MAX);
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(every));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(0));
    if let Ok(value) = HeaderValue::from_str(&reset.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()) {
        headers.insert("x-ratelimit-reset", value);
    }
    Some(response)
}

// ---------------------------------------------------------------------------------------------
// Errors (REFERENCE §0.3; `ProxyError` and `ApplicationError` in the Admin spec)

#[derive(Debug)]
pub(super) struct AdminError {
    status: StatusCode,
    body: ErrorBody,
}

#[derive(Debug)]
enum ErrorBody {
    /// The gateway's `{"code": 401, "message": …}`.
    Proxy { code: u16, message: String },
    /// `{"errors": [ApplicationError]}`, most endpoints.
    Wrapped(Box<ApplicationError>),
    /// A bare `ApplicationError`: the POST search endpoints.
    Bare(Box<ApplicationError>),
}

#[derive(Debug, Serialize)]
struct ApplicationError {
    id: String,
    status: String,
    code: String,
    title: String,
    detail: String,
}

impl AdminError {
    fn proxy(status: StatusCode, message: &str) -> Self {
        AdminError {
            status,
            body: ErrorBody::Proxy {
                code: status.as_u16(),
                message: message.to_string(),
            },
        }
    }

    fn application(status: StatusCode, code: &str, title: &str, detail: String) -> Self {
        // A stable per-occurrence id: the same failure gives the same body.
        let seed = detail
            .bytes()
            .chain(code.bytes())
            .fold(0u64, |h, b| mix(h, u64::from(b)));
        AdminError {
            status,
            body: ErrorBody::Wrapped(Box::new(ApplicationError {
                id: uuid_like(50, seed >> 2),
                status: status.as_u16().to_string(),
                code: code.to_string(),
                title: title.to_string(),
                detail,
            })),
        }
    }

    /// The POST search endpoints answer their 4xx without the `errors` wrapper.
    fn bare(self) -> Self {
        let body = match self.body {
            ErrorBody::Wrapped(error) => ErrorBody::Bare(error),
            other => other,
        };
        AdminError { body, ..self }
    }

    fn unknown(path: &str) -> Self {
        AdminError::application(
            StatusCode::NOT_FOUND,
            "ADMIN-404-1",
            "Unknown resource",
            format!("No resource at {path}."),
        )
    }

    fn invalid_cursor() -> Self {
        AdminError::application(
            StatusCode::BAD_REQUEST,
            "ADMIN-400-1",
            "Invalid page cursor",
            "The cursor is not valid for this listing.".to_string(),
        )
    }

    fn bad_request(code: &str, detail: String) -> Self {
        AdminError::application(StatusCode::BAD_REQUEST, code, "Bad request", detail)
    }

    fn user_not_found(account_id: &str) -> Self {
        AdminError::application(
            StatusCode::NOT_FOUND,
            "ADMIN-404-8",
            "User not found",
            format!("No user {account_id} in this organization."),
        )
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        match self.body {
            ErrorBody::Proxy { code, message } => (
                self.status,
                Json(serde_json::json!({"code": code, "message": message})),
            )
                .into_response(),
            ErrorBody::Wrapped(error) => {
                (self.status, Json(serde_json::json!({ "errors": [error] }))).into_response()
            }
            ErrorBody::Bare(error) => (self.status, Json(error)).into_response(),
        }
    }
}

/// The org behind `org_id`, if the key may read `area` of it: 404 `ADMIN-404-2` for another
/// org, 403 `ADMIN-403-3` for an area outside the key's scopes.
fn org_for<'a>(site: &'a Site, org_id: &str, area: AdminArea) -> Result<&'a OrgData, AdminError> {
    let (Some(config), Some(org)) = (&site.config.org, &site.data.org) else {
        return Err(AdminError::unknown(org_id));
    };
    if org.org_id != org_id {
        return Err(AdminError::application(
            StatusCode::NOT_FOUND,
            "ADMIN-404-2",
            "Organization not found",
            format!("Organization {org_id} was not found."),
        ));
    }
    denied(config, area)?;
    Ok(org)
}

fn denied(config: &OrgConfig, area: AdminArea) -> Result<(), AdminError> {
    if config.denied.contains(&area) {
        return Err(AdminError::application(
            StatusCode::FORBIDDEN,
            "ADMIN-403-3",
            "Forbidden",
            format!("The API key is not allowed to read {area:?} in this organization."),
        ));
    }
    Ok(())
}

/// The v2 directory exists only when configured; otherwise its paths are unknown.
fn v2_directory(site: &Site, path_org: &str, directory: &str) -> Result<(), AdminError> {
    let enabled = site.config.org.as_ref().is_some_and(|o| o.v2_directory);
    let known = site
        .data
        .org
        .as_ref()
        .is_some_and(|o| directory == "-" || directory == o.directory_id);
    if !enabled || !known {
        return Err(AdminError::unknown(&format!(
            "/admin/v2/orgs/{path_org}/directories/{directory}"
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Request parameters and cursors

/// The query string as ordered pairs (array parameters repeat their name).
struct Params(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AdminError> {
        Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map(|Query(pairs)| Params(pairs))
            .map_err(|_| AdminError::bad_request("ADMIN-400-4", "Invalid query string.".into()))
    }
}

impl Params {
    fn first(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, repeated or comma-separated.
    fn list(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect()
    }

    fn size(&self, name: &str) -> Result<Option<i64>, AdminError> {
        self.first(name)
            .map(|raw| {
                raw.trim().parse().map_err(|_| {
                    AdminError::bad_request("ADMIN-400-4", format!("{name} must be a number."))
                })
            })
            .transpose()
    }
}

fn cursor(listing: &str, position: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{listing}:{position}"))
}

/// The position a cursor of `listing` points at; 0 without one.
fn position(listing: &str, raw: Option<&str>) -> Result<usize, AdminError> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(0);
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| {
            let (name, at) = text.split_once(':')?;
            (name == listing).then(|| at.parse().ok())?
        })
        .ok_or_else(AdminError::invalid_cursor)
}

/// The page size a request gets: its own (or the endpoint's default), never more than the
/// configured server page size.
fn page_size(site: &Site, asked: Option<i64>, default: usize) -> Result<usize, AdminError> {
    let server = site.config.org.as_ref().map_or(1, |o| o.page_size.max(1));
    match asked {
        None => Ok(default.min(server)),
        Some(n) if n >= 1 => Ok(usize::try_from(n).unwrap_or(usize::MAX).min(server)),
        Some(_) => Err(AdminError::bad_request(
            "ADMIN-400-4",
            "The page size must be at least 1.".into(),
        )),
    }
}

/// The slice of a listing one page covers.
struct Window {
    start: usize,
    end: usize,
    more: bool,
}

fn window(total: usize, start: usize, size: usize) -> Window {
    let start = start.min(total);
    let end = start.saturating_add(size).min(total);
    Window {
        start,
        end,
        more: end < total,
    }
}

/// `LinkPageModel` with full URLs (Admin v1).
#[derive(Serialize)]
struct UrlLinks {
    #[serde(rename = "self")]
    self_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

fn url_links(site: &Site, path: &str, listing: &str, w: &Window, size: usize) -> UrlLinks {
    let at = |position: usize| match position {
        0 => format!("{}{path}", site.api_url),
        p => format!("{}{path}?cursor={}", site.api_url, cursor(listing, p)),
    };
    UrlLinks {
        self_url: at(w.start),
        prev: (w.start > 0).then(|| at(w.start.saturating_sub(size))),
        next: w.more.then(|| at(w.end)),
    }
}

/// `links` with bare cursor tokens (Admin v2 and api-access, REFERENCE §0.2).
#[derive(Serialize)]
struct CursorLinks {
    #[serde(rename = "self")]
    self_cursor: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

fn cursor_links(listing: &str, w: &Window, size: usize) -> CursorLinks {
    CursorLinks {
        self_cursor: cursor(listing, w.start),
        prev: (w.start > 0).then(|| cursor(listing, w.start.saturating_sub(size))),
        next: w.more.then(|| cursor(listing, w.end)),
    }
}

#[derive(Serialize)]
struct DataPage<T, L> {
    data: Vec<T>,
    links: L,
}

// ---------------------------------------------------------------------------------------------
// Orgs and domains (spec: OrgPage, Org, DomainPage)

#[derive(Serialize)]
struct SelfLink {
    #[serde(rename = "self")]
    self_url: String,
}

#[derive(Serialize)]
struct Related {
    links: RelatedLink,
}

#[derive(Serialize)]
struct RelatedLink {
    related: String,
}

/// `OrgModel`.
#[derive(Serialize)]
struct OrgWire {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    attributes: OrgAttributes,
    relationships: OrgRelationships,
    links: SelfLink,
}

#[derive(Serialize)]
struct OrgAttributes {
    name: String,
}

#[derive(Serialize)]
struct OrgRelationships {
    domains: Related,
    users: Related,
}

fn org_wire(site: &Site, org: &OrgData) -> OrgWire {
    let url = format!("{}/admin/v1/orgs/{}", site.api_url, org.org_id);
    OrgWire {
        id: org.org_id.clone(),
        kind: "orgs",
        attributes: OrgAttributes {
            name: org.name.clone(),
        },
        relationships: OrgRelationships {
            domains: Related {
                links: RelatedLink {
                    related: format!("{url}/domains"),
                },
            },
            users: Related {
                links: RelatedLink {
                    related: format!("{url}/users"),
                },
            },
        },
        links: SelfLink { self_url: url },
    }
}

async fn orgs(
    State(site): AdminState,
    params: Params,
) -> Result<Json<DataPage<OrgWire, UrlLinks>>, AdminError> {
    let (Some(config), Some(org)) = (&site.config.org, &site.data.org) else {
        return Err(AdminError::unknown("/admin/v1/orgs"));
    };
    denied(config, AdminArea::Orgs)?;
    let size = page_size(&site, None, usize::MAX)?;
    let start = position("orgs", params.first("cursor"))?;
    let w = window(1, start, size);
    let data = [org_wire(&site, org)]
        .into_iter()
        .skip(w.start)
        .take(w.end - w.start)
        .collect();
    let links = url_links(&site, "/admin/v1/orgs", "orgs", &w, size);
    Ok(Json(DataPage { data, links }))
}

#[derive(Serialize)]
struct OrgEnvelope {
    data: OrgWire,
}

async fn org(
    State(site): AdminState,
    Path(org_id): Path<String>,
) -> Result<Json<OrgEnvelope>, AdminError> {
    let org = org_for(&site, &org_id, AdminArea::Orgs)?;
    Ok(Json(OrgEnvelope {
        data: org_wire(&site, org),
    }))
}

/// `DomainModel`.
#[derive(Serialize)]
struct DomainWire {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    attributes: DomainAttributes,
    links: SelfLink,
}

#[derive(Serialize)]
struct DomainAttributes {
    name: String,
    claim: DomainClaim,
}

#[derive(Serialize)]
struct DomainClaim {
    #[serde(rename = "type")]
    kind: String,
    status: String,
}

async fn domains(
    State(site): AdminState,
    Path(org_id): Path<String>,
    params: Params,
) -> Result<Json<DataPage<DomainWire, UrlLinks>>, AdminError> {
    let org = org_for(&site, &org_id, AdminArea::Domains)?;
    let size = page_size(&site, None, usize::MAX)?;
    let start = position("domains", params.first("cursor"))?;
    let w = window(org.domains.len(), start, size);
    let path = format!("/admin/v1/orgs/{org_id}/domains");
    let data = org.domains[w.start..w.end]
        .iter()
        .map(|d| DomainWire {
            id: d.id.clone(),
            kind: "domains",
            attributes: DomainAttributes {
                name: d.name.clone(),
                claim: DomainClaim {
                    kind: d.claim_type.clone(),
                    status: d.claim_status.clone(),
                },
            },
            links: SelfLink {
                self_url: format!("{}{path}/{}", site.api_url, d.id),
            },
        })
        .collect();
    let links = url_links(&site, &path, "domains", &w, size);
    Ok(Json(DataPage { data, links }))
}

// ---------------------------------------------------------------------------------------------
// v1 users and last-active dates (spec: UserPage, UserProductAccessActivityPage)

/// The spec's product key enum (`Product.key`, `UserProductLastActive.key`) spells Jira Service
/// Management `jira-service-desk`; the directory's keys and ARIs use `jira-servicedesk`.
fn v1_product_key(key: &str) -> &str {
    match key {
        "jira-servicedesk" => "jira-service-desk",
        other => other,
    }
}

fn product_name(key: &str) -> &'static str {
    match key {
        "jira-software" => "Jira Software",
        "jira-servicedesk" => "Jira Service Management",
        "confluence" => "Confluence",
        "bitbucket" => "Bitbucket",
        "trello" => "Trello",
        "opsgenie" => "Opsgenie",
        "statuspage" => "Statuspage",
        _ => "Atlassian product",
    }
}

/// `User` (snake_case, unlike everything else in the Admin APIs).
#[derive(Serialize)]
struct V1User {
    account_id: String,
    account_type: String,
    account_status: String,
    name: String,
    picture: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_active: Option<String>,
    product_access: Vec<V1Product>,
}

/// `Product`.
#[derive(Serialize)]
struct V1Product {
    key: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_active: Option<String>,
}

#[derive(Serialize)]
struct V1UserPage {
    data: Vec<V1User>,
    meta: V1Meta,
    links: UrlLinks,
}

#[derive(Serialize)]
struct V1Meta {
    total: usize,
}

fn picture(user: &DirectoryUser) -> String {
    let initials: String = user
        .name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .collect();
    format!(
        "https://avatar-management--avatars.us-west-2.prod.public.atl-paas.net/initials/{initials}-0.png"
    )
}

/// "Get managed accounts in an organization": only managed accounts, `page_size` a page, no
/// page-size parameter (REFERENCE §5.2).
async fn v1_users(
    State(site): AdminState,
    Path(org_id): Path<String>,
    params: Params,
) -> Result<Json<V1UserPage>, AdminError> {
    let org = org_for(&site, &org_id, AdminArea::Directory)?;
    let managed: Vec<&DirectoryUser> = org
        .users
        .iter()
        .filter(|u| u.claim_status == "managed")
        .collect();
    let size = page_size(&site, None, usize::MAX)?;
    let start = position("users", params.first("cursor"))?;
    let w = window(managed.len(), start, size);
    let data = managed[w.start..w.end]
        .iter()
        .map(|u| V1User {
            account_id: u.account_id.clone(),
            account_type: u.account_type.clone(),
            account_status: u.account_status.clone(),
            name: u.name.clone(),
            picture: picture(u),
            email: u.email.clone(),
            // Timestamps of one format compare as strings.
            last_active: u
                .product_access
                .iter()
                .filter_map(|p| p.last_active.clone())
                .max(),
            product_access: u
                .product_access
                .iter()
                .map(|p| V1Product {
                    key: v1_product_key(&p.key).to_string(),
                    name: product_name(&p.key).to_string(),
                    last_active: p.last_active.clone(),
                })
                .collect(),
        })
        .collect();
    let path = format!("/admin/v1/orgs/{org_id}/users");
    Ok(Json(V1UserPage {
        data,
        meta: V1Meta {
            total: managed.len(),
        },
        links: url_links(&site, &path, "users", &w, size),
    }))
}

#[derive(Serialize)]
struct LastActivePage {
    data: LastActiveData,
    /// `CursorNextPageModel`: one page holds every product, so no `next`.
    links: serde_json::Map<String, serde_json::Value>,
}

/// `UserProductAccessModel`.
#[derive(Serialize)]
struct LastActiveData {
    product_access: Vec<LastActiveProduct>,
    added_to_org: Option<String>,
}

/// `UserProductLastActive`; `last_active_timestamp` is in the jira.js model, not the 2024 spec
/// (REFERENCE §5.5).
#[derive(Serialize)]
struct LastActiveProduct {
    id: String,
    key: String,
    last_active: String,
    last_active_timestamp: String,
}

async fn last_active_dates(
    State(site): AdminState,
    Path((org_id, account_id)): Path<(String, String)>,
) -> Result<Json<LastActivePage>, AdminError> {
    let org = org_for(&site, &org_id, AdminArea::Directory)?;
    let user = org
        .user(&account_id)
        .ok_or_else(|| AdminError::user_not_found(&account_id))?;
    // "If the user has not accessed a product, the `product_access` response field will be
    // empty": products never used are left out.
    let product_access = user
        .product_access
        .iter()
        .filter_map(|p| {
            let at = p.last_active.as_ref()?;
            Some(LastActiveProduct {
                id: p.resource_id.clone(),
                key: v1_product_key(&p.key).to_string(),
                last_active: at.chars().take(10).collect(),
                last_active_timestamp: at.clone(),
            })
        })
        .collect();
    Ok(Json(LastActivePage {
        data: LastActiveData {
            product_access,
            added_to_org: Some(user.added_to_org.chars().take(10).collect()),
        },
        links: serde_json::Map::new(),
    }))
}

// ---------------------------------------------------------------------------------------------
// v2 directory users and groups (no spec copy: REFERENCE §5.3 and §5.4, from jira.js models)

/// The body of `POST …/users/search` and `…/groups/search`, and the query of the deprecated
/// `GET …/users`. Unknown fields are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct SearchRequest {
    cursor: Option<String>,
    limit: Option<i64>,
    expand: Vec<String>,
    group_ids: Vec<String>,
    account_ids: Vec<String>,
}

impl SearchRequest {
    fn from_body(body: &Bytes) -> Result<SearchRequest, AdminError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(SearchRequest::default());
        }
        serde_json::from_slice(body).map_err(|err| {
            AdminError::bad_request("ADMIN-400-24", format!("Invalid request body: {err}")).bare()
        })
    }

    fn from_query(params: &Params) -> Result<SearchRequest, AdminError> {
        Ok(SearchRequest {
            cursor: params.first("cursor").map(str::to_string),
            limit: params.size("limit")?,
            expand: params.list("expand"),
            group_ids: params.list("groupIds"),
            account_ids: params.list("accountIds"),
        })
    }

    fn expands(&self, what: &str) -> bool {
        self.expand.iter().any(|e| e == what)
    }
}

/// `MultiDirectoryUser` (REFERENCE §5.3): `platformRoles`, `productAccess` and `groups` only
/// when expanded; `email` and `mfaEnabled` absent where the org cannot see them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DirectoryUserWire {
    account_id: String,
    account_type: String,
    status: String,
    account_status: String,
    membership_status: String,
    added_to_org: String,
    name: String,
    nickname: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    claim_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    mfa_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    platform_roles: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    product_access: Option<Vec<ProductAccessWire>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    groups: Option<Vec<GroupRefWire>>,
}

/// `productAccess[]` item: `key`, `id` (the site ARI), `lastActiveTimestamp`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProductAccessWire {
    key: String,
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_active_timestamp: Option<String>,
}

/// `groups[]` item: `id`, `name`, `description`.
#[derive(Serialize)]
struct GroupRefWire {
    id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

fn directory_user_wire(
    org: &OrgData,
    user: &DirectoryUser,
    request: &SearchRequest,
) -> DirectoryUserWire {
    DirectoryUserWire {
        account_id: user.account_id.clone(),
        account_type: user.account_type.clone(),
        status: user.status.clone(),
        account_status: user.account_status.clone(),
        membership_status: user.membership_status.clone(),
        added_to_org: user.added_to_org.clone(),
        name: user.name.clone(),
        nickname: user.nickname.clone(),
        email: user.email.clone(),
        claim_status: user.claim_status.clone(),
        mfa_enabled: user.mfa_enabled,
        platform_roles: request
            .expands("platformRoles")
            .then(|| user.platform_roles.clone()),
        product_access: request.expands("productAccess").then(|| {
            user.product_access
                .iter()
                .map(|p| ProductAccessWire {
                    key: p.key.clone(),
                    id: p.resource_id.clone(),
                    last_active_timestamp: p.last_active.clone(),
                })
                .collect()
        }),
        groups: request.expands("groups").then(|| {
            user.group_ids
                .iter()
                .filter_map(|id| org.group(id))
                .map(|g| GroupRefWire {
                    id: g.id.clone(),
                    name: g.name.clone(),
                    description: g.description.clone(),
                })
                .collect()
        }),
    }
}

/// Users search defaults to 50 a page (REFERENCE §5.3).
fn users_page(
    site: &Site,
    org: &OrgData,
    request: &SearchRequest,
) -> Result<DataPage<DirectoryUserWire, CursorLinks>, AdminError> {
    let size = page_size(site, request.limit, 50)?;
    let start = position("directory-users", request.cursor.as_deref())?;
    let matching: Vec<&DirectoryUser> = org
        .users
        .iter()
        .filter(|u| {
            request.group_ids.is_empty()
                || request.group_ids.iter().any(|g| u.group_ids.contains(g))
        })
        .filter(|u| request.account_ids.is_empty() || request.account_ids.contains(&u.account_id))
        .collect();
    let w = window(matching.len(), start, size);
    Ok(DataPage {
        data: matching[w.start..w.end]
            .iter()
            .map(|u| directory_user_wire(org, u, request))
            .collect(),
        links: cursor_links("directory-users", &w, size),
    })
}

async fn directory_users_search(
    State(site): AdminState,
    Path((org_id, directory)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<DataPage<DirectoryUserWire, CursorLinks>>, AdminError> {
    v2_directory(&site, &org_id, &directory).map_err(AdminError::bare)?;
    let org = org_for(&site, &org_id, AdminArea::Directory).map_err(AdminError::bare)?;
    let request = SearchRequest::from_body(&body)?;
    users_page(&site, org, &request)
        .map(Json)
        .map_err(AdminError::bare)
}

/// The deprecated GET twin ("will no longer work after June 30, 2027"): the same filters as
/// query parameters, the usual wrapped error bodies.
async fn directory_users(
    State(site): AdminState,
    Path((org_id, directory)): Path<(String, String)>,
    params: Params,
) -> Result<Json<DataPage<DirectoryUserWire, CursorLinks>>, AdminError> {
    v2_directory(&site, &org_id, &directory)?;
    let org = org_for(&site, &org_id, AdminArea::Directory)?;
    let request = SearchRequest::from_query(&params)?;
    users_page(&site, org, &request).map(Json)
}

/// `MultiDirectoryGroup` (REFERENCE §5.4), its identifying fields only.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DirectoryGroupWire {
    id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    directory_id: String,
}

/// Groups search defaults to 20 a page (REFERENCE §5.4). Members are found with the users
/// search and `groupIds`.
async fn directory_groups_search(
    State(site): AdminState,
    Path((org_id, directory)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<DataPage<DirectoryGroupWire, CursorLinks>>, AdminError> {
    v2_directory(&site, &org_id, &directory).map_err(AdminError::bare)?;
    let org = org_for(&site, &org_id, AdminArea::Groups).map_err(AdminError::bare)?;
    let request = SearchRequest::from_body(&body)?;
    let size = page_size(&site, request.limit, 20).map_err(AdminError::bare)?;
    let start =
        position("directory-groups", request.cursor.as_deref()).map_err(AdminError::bare)?;
    let w = window(org.groups.len(), start, size);
    let data = org.groups[w.start..w.end]
        .iter()
        .map(|g: &DirectoryGroup| DirectoryGroupWire {
            id: g.id.clone(),
            name: g.name.clone(),
            description: g.description.clone(),
            directory_id: org.directory_id.clone(),
        })
        .collect();
    Ok(Json(DataPage {
        data,
        links: cursor_links("directory-groups", &w, size),
    }))
}

// ---------------------------------------------------------------------------------------------
// API access: tokens, keys, service-account tokens (no spec copy: REFERENCE §5.7)

/// An item of `ApiTokenSearchResponse.data` (REFERENCE §5.7): `expiresAt` absent for tokens
/// that never expire, `lastActiveAt` absent for tokens never used.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApiTokenWire {
    id: String,
    label: String,
    status: String,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_active_at: Option<String>,
    user: TokenUserWire,
    scopes: Vec<String>,
}

/// `user` of an API token: `id`, `orgId`, `name`, `email`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TokenUserWire {
    id: String,
    org_id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
}

fn token_wire(org: &OrgData, token: &ApiToken) -> ApiTokenWire {
    ApiTokenWire {
        id: token.id.clone(),
        label: token.label.clone(),
        status: token.status.clone(),
        created_at: token.created_at.clone(),
        expires_at: token.expires_at.clone(),
        last_active_at: token.last_active_at.clone(),
        user: TokenUserWire {
            id: token.owner.account_id.clone(),
            org_id: org.org_id.clone(),
            name: token.owner.name.clone(),
            email: token.owner.email.clone(),
        },
        scopes: token.scopes.clone(),
    }
}

/// One page of an api-access listing: `cursor` and `pageSize` in, bare cursors out. With
/// `repeat`, every page after the first hands back the cursor it was asked with.
fn access_page<T, W>(
    site: &Site,
    listing: &str,
    params: &Params,
    items: &[T],
    repeat: bool,
    wire: impl Fn(&T) -> W,
) -> Result<DataPage<W, CursorLinks>, AdminError> {
    let size = page_size(site, params.size("pageSize")?, 20)?;
    let start = position(listing, params.first("cursor"))?;
    let w = window(items.len(), start, size);
    let mut links = cursor_links(listing, &w, size);
    if repeat && w.start > 0 {
        links.next = Some(cursor(listing, w.start));
    }
    Ok(DataPage {
        data: items[w.start..w.end].iter().map(wire).collect(),
        links,
    })
}

async fn api_tokens(
    State(site): AdminState,
    Path(org_id): Path<String>,
    params: Params,
) -> Result<Json<DataPage<ApiTokenWire, CursorLinks>>, AdminError> {
    let org = org_for(&site, &org_id, AdminArea::ApiTokens)?;
    let repeat = site.config.org.as_ref().is_some_and(|o| o.repeat_cursor);
    let page = access_page(&site, "api-tokens", &params, &org.api_tokens, repeat, |t| {
        token_wire(org, t)
    })?;
    Ok(Json(page))
}

/// An admin API key (REFERENCE §5.7 field list).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApiKeyWire {
    id: String,
    label: String,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_active_at: Option<String>,
    system_account_id: String,
    resource: String,
    org_id: String,
    created_by: CreatedByWire,
    scopes: Vec<String>,
    target_resources: Vec<String>,
}

/// `createdBy`: `id`, `name`, `email`.
#[derive(Serialize)]
struct CreatedByWire {
    id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
}

fn created_by(owner: &TokenOwner) -> CreatedByWire {
    CreatedByWire {
        id: owner.account_id.clone(),
        name: owner.name.clone(),
        email: owner.email.clone(),
    }
}

async fn api_keys(
    State(site): AdminState,
    Path(org_id): Path<String>,
    params: Params,
) -> Result<Json<DataPage<ApiKeyWire, CursorLinks>>, AdminError> {
    let org = org_for(&site, &org_id, AdminArea::ApiKeys)?;
    let page = access_page(
        &site,
        "api-keys",
        &params,
        &org.api_keys,
        false,
        |k: &ApiKey| ApiKeyWire {
            id: k.id.clone(),
            label: k.label.clone(),
            created_at: k.created_at.clone(),
            expires_at: k.expires_at.clone(),
            last_active_at: k.last_active_at.clone(),
            system_account_id: k.system_account_id.clone(),
            resource: k.resource.clone(),
            org_id: org.org_id.clone(),
            created_by: created_by(&k.created_by),
            scopes: k.scopes.clone(),
            target_resources: k.target_resources.clone(),
        },
    )?;
    Ok(Json(page))
}

async fn service_account_tokens(
    State(site): AdminState,
    Path((org_id, account_id)): Path<(String, String)>,
    params: Params,
) -> Result<Json<DataPage<ApiTokenWire, CursorLinks>>, AdminError> {
    let org = org_for(&site, &org_id, AdminArea::ServiceAccounts)?;
    let account = org
        .service_account(&account_id)
        .ok_or_else(|| AdminError::user_not_found(&account_id))?;
    let listing = format!("service-account-tokens/{account_id}");
    let page = access_page(&site, &listing, &params, &account.tokens, false, |t| {
        token_wire(org, t)
    })?;
    Ok(Json(page))
}

// ---------------------------------------------------------------------------------------------
// Events stream (no spec copy: REFERENCE §5.6)

/// `PollingEventPage`: `meta.next` is the bare cursor to poll from (present on the last page
/// too, for ascending order); `links.next` a full URL, only while more events match now.
#[derive(Serialize)]
struct EventPage {
    data: Vec<EventWire>,
    meta: EventMeta,
    links: UrlLinks,
}

#[derive(Serialize)]
struct EventMeta {
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    page_size: usize,
}

/// `EventModel`.
#[derive(Serialize)]
struct EventWire {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    attributes: EventAttributes,
    links: SelfLink,
}

#[derive(Serialize)]
struct EventAttributes {
    time: String,
    action: String,
    actor: EventActor,
    context: Vec<EventContextWire>,
    location: EventLocation,
}

#[derive(Serialize)]
struct EventActor {
    id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
}

#[derive(Serialize)]
struct EventContextWire {
    id: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Serialize)]
struct EventLocation {
    ip: String,
}

fn encode(raw: &str) -> String {
    url::form_urlencoded::byte_serialize(raw.as_bytes()).collect()
}

fn epoch_millis(stamp: &str) -> i64 {
    stamp
        .parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .unwrap_or(0)
}

fn millis_param(params: &Params, name: &str) -> Result<Option<i64>, AdminError> {
    params
        .first(name)
        .map(|raw| {
            raw.trim().parse().map_err(|_| {
                AdminError::bad_request(
                    "ADMIN-400-3",
                    format!("{name} must be epoch milliseconds."),
                )
            })
        })
        .transpose()
}

/// `from` and `to` (epoch milliseconds, both inclusive) filter; `sortOrder` is `asc` (default)
/// or `desc`. The cursor is a position in the full, oldest-first event list, so it stays valid
/// whatever filters come with it.
async fn events_stream(
    State(site): AdminState,
    Path(org_id): Path<String>,
    params: Params,
) -> Result<Json<EventPage>, AdminError> {
    let org = org_for(&site, &org_id, AdminArea::Events)?;
    let from = millis_param(&params, "from")?.unwrap_or(i64::MIN);
    let to = millis_param(&params, "to")?.unwrap_or(i64::MAX);
    let descending = match params.first("sortOrder").unwrap_or("asc") {
        "asc" => false,
        "desc" => true,
        other => {
            return Err(AdminError::bad_request(
                "ADMIN-400-4",
                format!("sortOrder must be asc or desc, not {other}."),
            ))
        }
    };
    let size = page_size(&site, params.size("limit")?, 100)?;
    let total = org.events.len();
    let listing = if descending { "events-desc" } else { "events" };
    let start = match params.first("cursor") {
        Some(raw) => position(listing, Some(raw))?,
        None if descending => total,
        None => 0,
    };
    let matches = |e: &(usize, &AuditEvent)| {
        let at = epoch_millis(&e.1.time);
        from <= at && at <= to
    };
    // Descending positions count down: `start` is one past the next event to hand out.
    let candidates: Vec<(usize, &AuditEvent)> = if descending {
        org.events
            .iter()
            .enumerate()
            .take(start.min(total))
            .rev()
            .filter(|e| matches(e))
            .collect()
    } else {
        org.events
            .iter()
            .enumerate()
            .skip(start)
            .filter(|e| matches(e))
            .collect()
    };
    let page: Vec<(usize, &AuditEvent)> = candidates.iter().take(size).copied().collect();
    let more = candidates.len() > page.len();
    let next_position = match (page.last(), descending) {
        (Some((i, _)), false) => Some(i + 1),
        (Some((i, _)), true) => Some(*i),
        (None, false) => Some(start.min(total)),
        (None, true) => None,
    };
    // Ascending pages always carry a cursor to poll from; descending ones stop at the oldest.
    let meta_next = next_position
        .filter(|p| !descending || (*p > 0 && more))
        .map(|p| cursor(listing, p));
    let path = format!("/admin/v1/orgs/{org_id}/events-stream");
    let url = |position: Option<usize>| {
        let mut query: Vec<String> = params
            .0
            .iter()
            .filter(|(k, _)| k != "cursor")
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        if let Some(p) = position {
            query.push(format!("cursor={}", cursor(listing, p)));
        }
        match query.is_empty() {
            true => format!("{}{path}", site.api_url),
            false => format!("{}{path}?{}", site.api_url, query.join("&")),
        }
    };
    let self_position = params.first("cursor").map(|_| start);
    let links = UrlLinks {
        self_url: url(self_position),
        prev: None,
        next: more.then(|| url(next_position)),
    };
    let data = page
        .iter()
        .map(|(_, e)| EventWire {
            id: e.id.clone(),
            kind: "events",
            attributes: EventAttributes {
                time: e.time.clone(),
                action: e.action.clone(),
                actor: EventActor {
                    id: e.actor_id.clone(),
                    name: e.actor_name.clone(),
                    email: e.actor_email.clone(),
                },
                context: e
                    .context
                    .iter()
                    .map(|c| EventContextWire {
                        id: c.id.clone(),
                        kind: c.kind.clone(),
                    })
                    .collect(),
                location: EventLocation { ip: e.ip.clone() },
            },
            links: SelfLink {
                self_url: format!("{}/admin/v1/orgs/{org_id}/events/{}", site.api_url, e.id),
            },
        })
        .collect();
    Ok(Json(EventPage {
        data,
        meta: EventMeta {
            next: meta_next,
            page_size: size,
        },
        links,
    }))
}

// ---------------------------------------------------------------------------------------------
// Fallbacks

async fn unknown(request: Request) -> AdminError {
    AdminError::unknown(request.uri().path())
}

async fn wrong_method() -> AdminError {
    AdminError::application(
        StatusCode::METHOD_NOT_ALLOWED,
        "ADMIN-405-1",
        "Method not supported",
        "This resource does not support the method.".to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_belong_to_their_listing() {
        let c = cursor("api-tokens", 8);
        assert!(!c.contains("api-tokens"), "opaque");
        assert_eq!(position("api-tokens", Some(&c)).unwrap(), 8);
        assert!(position("api-keys", Some(&c)).is_err());
        assert!(position("api-tokens", Some("not a cursor")).is_err());
        assert_eq!(position("api-tokens", None).unwrap(), 0);
    }

    #[test]
    fn windows_end_exactly_at_the_total() {
        let w = window(10, 8, 4);
        assert_eq!((w.start, w.end, w.more), (8, 10, false));
        let w = window(10, 4, 4);
        assert_eq!((w.start, w.end, w.more), (4, 8, true));
        let w = window(3, 9, 4);
        assert_eq!((w.start, w.end, w.more), (3, 3, false));
    }
}
