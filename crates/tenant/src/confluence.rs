//! The Confluence endpoints the tenant serves, and the two Jira admin settings endpoints no spec
//! documents. Shapes from the official specs where one exists (operationIds in brackets):
//!
//! - v1 `GET /wiki/rest/api/group` [getGroups]: `GroupArrayWithLinks`
//! - v1 `GET /wiki/rest/api/group/{groupId}/membersByGroupId` [getGroupMembersByGroupId]:
//!   `UserArray`
//! - v1 `GET /wiki/rest/api/audit/retention` [getRetentionPeriod]: `RetentionPeriod`
//! - v1 `GET /wiki/rest/api/audit` [getAuditRecords]: `AuditRecordArray`
//! - v2 `GET /wiki/api/v2/spaces` [getSpaces] and `/wiki/api/v2/spaces/{id}/permissions`
//!   [getSpacePermissionsAssignments]: `MultiEntityResult<…>` with the next page in
//!   `_links.next` and the `Link` header
//! - `GET /wiki/rest/plugins/1.0/settings` and Jira's `GET /rest/plugins/1.0/settings` (UPM),
//!   `GET /rest/jira-email-processor-plugin/1.0/mail/global/settings`: no spec; UPM is shaped as
//!   REFERENCE §4.2 recommends, the mail settings as a flat object (assumed)
//! - `POST /cgraphql`: `OperationBlocked` (unless configured otherwise) and
//!   `POST /gateway/api/graphql`: the site-permission query. No spec: the error body
//!   (`errors[].extensions.errorType`) and the query's shape are assumed.
//!
//! Settings and the audit log answer 403 to a non-admin account, as the specs document.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{json, Value};

use super::confluence_data::Space;
use super::error::JiraError;
use super::{Site, User};

type SiteState = State<Arc<Site>>;
type Params = Query<Vec<(String, String)>>;

pub(super) fn routes() -> Router<Arc<Site>> {
    Router::new()
        .route("/wiki/rest/api/group", get(groups))
        .route(
            "/wiki/rest/api/group/{group_id}/membersByGroupId",
            get(group_members),
        )
        .route("/wiki/rest/api/audit/retention", get(audit_retention))
        .route("/wiki/rest/api/audit", get(audit))
        .route("/wiki/api/v2/spaces", get(spaces))
        .route(
            "/wiki/api/v2/spaces/{id}/permissions",
            get(space_permissions),
        )
        .route("/wiki/rest/plugins/1.0/settings", get(upm_settings))
        .route("/rest/plugins/1.0/settings", get(upm_settings))
        .route(
            "/rest/jira-email-processor-plugin/1.0/mail/global/settings",
            get(jira_mail_settings),
        )
        .route("/cgraphql", post(cgraphql))
        .route("/gateway/api/graphql", post(gateway))
}

/// A failed Confluence request. The body is not modelled in Confluence's specs (REFERENCE
/// §0.3); this is the `{statusCode, message}` shape Confluence Cloud sends, and clients branch
/// on the status only.
struct ConfluenceError {
    status: StatusCode,
    message: String,
}

impl IntoResponse for ConfluenceError {
    fn into_response(self) -> Response {
        let body = json!({"statusCode": self.status.as_u16(), "data": {"authorized": false,
            "valid": true, "errors": [], "successful": false}, "message": self.message});
        (self.status, Json(body)).into_response()
    }
}

fn error(status: StatusCode, message: &str) -> ConfluenceError {
    ConfluenceError {
        status,
        message: message.to_string(),
    }
}

fn forbidden_unless_admin(site: &Site, what: &str) -> Result<(), ConfluenceError> {
    if site.config.admin {
        Ok(())
    } else {
        Err(error(
            StatusCode::FORBIDDEN,
            &format!("The calling user does not have permission to view {what}"),
        ))
    }
}

fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .0
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn number(params: &Params, name: &str, default: i64) -> Result<i64, ConfluenceError> {
    match param(params, name) {
        None => Ok(default),
        Some(raw) => raw.parse().map_err(|_| {
            error(
                StatusCode::BAD_REQUEST,
                &format!("{name}: '{raw}' is not a number"),
            )
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// v1: start/limit with `_links.next`

/// One v1 page of `items`: `start` and `limit` as asked (limit clamped to the site's fixed
/// limit), `_links.next` only when more remain.
fn v1_page<T>(
    site: &Site,
    path: &str,
    params: &Params,
    items: Vec<T>,
    to_json: impl FnMut(T) -> Value,
    default_limit: i64,
    max_limit: Option<i64>,
) -> Result<Json<Value>, ConfluenceError> {
    let start = number(params, "start", 0)?;
    let limit = number(params, "limit", default_limit)?;
    if start < 0 || limit < 0 {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "start and limit must not be negative",
        ));
    }
    if let Some(max) = max_limit.filter(|max| limit > *max) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            &format!("limit must not be greater than {max}"),
        ));
    }
    let limit = limit.min(site.config.confluence.page_limit as i64).max(1) as usize;
    let start = start as usize;
    let total = items.len();
    // Only the page's items become JSON: listings can be long.
    let results: Vec<Value> = items
        .into_iter()
        .skip(start)
        .take(limit)
        .map(to_json)
        .collect();
    let size = results.len();
    let mut links = json!({
        "base": format!("{}/wiki", site.base_url),
        "context": "/wiki",
        "self": format!("{}/wiki{path}", site.base_url),
    });
    if start + size < total {
        // v1 next links are relative to the context (`/wiki`) and keep the other filters.
        let mut query: Vec<String> = params
            .0
            .iter()
            .filter(|(k, _)| k != "start" && k != "limit")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        query.push(format!("limit={limit}"));
        query.push(format!("start={}", start + size));
        links["next"] = Value::from(format!("{path}?{}", query.join("&")));
    }
    Ok(Json(json!({
        "results": results,
        "start": start,
        "limit": limit,
        "size": size,
        "_links": links,
    })))
}

async fn groups(State(site): SiteState, params: Params) -> Result<Json<Value>, ConfluenceError> {
    let items = site
        .data
        .groups
        .iter()
        .map(|g| {
            json!({
                "type": "group",
                "name": g.name,
                "id": g.group_id,
                "_links": {"self": format!("{}/wiki/rest/api/group/by-id?id={}", site.base_url, g.group_id)},
            })
        })
        .collect();
    v1_page(&site, "/rest/api/group", &params, items, |v| v, 200, None)
}

async fn group_members(
    State(site): SiteState,
    Path(group_id): Path<String>,
    params: Params,
) -> Result<Json<Value>, ConfluenceError> {
    let Some(group) = site.data.group_by_id(&group_id) else {
        return Err(error(
            StatusCode::NOT_FOUND,
            "No group found with the given id",
        ));
    };
    let items: Vec<&User> = group
        .members
        .iter()
        .filter_map(|id| site.data.user(id))
        .collect();
    let to_json = |u: &User| {
        let mut user = json!({
            "type": "known",
            "accountId": u.account_id,
            "accountType": u.account_type,
            "publicName": u.display_name,
            "displayName": u.display_name,
            "timeZone": u.time_zone,
            "isExternalCollaborator": false,
            "isGuest": false,
            "_links": {"self": format!("{}/wiki/rest/api/user?accountId={}", site.base_url, u.account_id)},
        });
        if let Some(email) = &u.email {
            user["email"] = Value::from(email.clone());
        }
        user
    };
    let path = format!("/rest/api/group/{group_id}/membersByGroupId");
    // "400 Returned if given limit is greater than 200".
    v1_page(&site, &path, &params, items, to_json, 200, Some(200))
}

async fn audit_retention(State(site): SiteState) -> Result<Json<Value>, ConfluenceError> {
    forbidden_unless_admin(&site, "the audit log")?;
    let (number, units) = site.data.confluence.retention;
    Ok(Json(json!({"number": number, "units": units})))
}

async fn audit(State(site): SiteState, params: Params) -> Result<Json<Value>, ConfluenceError> {
    forbidden_unless_admin(&site, "the audit log")?;
    let started = site.started.as_millisecond();
    let start_date = number(&params, "startDate", i64::MIN)?;
    let end_date = number(&params, "endDate", i64::MAX)?;
    let items = site
        .data
        .confluence
        .audit
        .iter()
        .map(|e| (started - e.minutes_ago * 60_000, e))
        .filter(|(at, _)| (start_date..=end_date).contains(at))
        .map(|(at, e)| {
            json!({
                "author": {"type": "user", "displayName": e.author_name, "operations": null,
                    "accountId": e.author_account_id, "accountType": "atlassian",
                    "publicName": e.author_name},
                "remoteAddress": e.remote_address,
                "creationDate": at,
                "summary": e.summary,
                "description": e.description,
                "category": e.category,
                "sysAdmin": false,
                "superAdmin": false,
                "affectedObject": {"name": e.object_name, "objectType": e.object_type},
                "changedValues": [],
                "associatedObjects": [],
            })
        })
        .collect();
    v1_page(&site, "/rest/api/audit", &params, items, |v| v, 1000, None)
}

// ---------------------------------------------------------------------------------------------
// v2: opaque cursors in `_links.next` and `Link`

/// The cursor the tenant hands out: opaque to clients, an offset here.
fn cursor(offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{{\"offset\":{offset}}}"))
}

fn offset_of(cursor: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    usize::try_from(value["offset"].as_u64()?).ok()
}

/// One v2 page of `items`, the next page named in the body and in the `Link` header.
fn v2_page(site: &Site, path: &str, params: &Params, items: Vec<Value>, repeat: bool) -> Response {
    let limit = match number(params, "limit", 25) {
        Ok(limit) if (1..=250).contains(&limit) => limit as usize,
        Ok(_) => {
            return error(StatusCode::BAD_REQUEST, "limit must be between 1 and 250")
                .into_response()
        }
        Err(refused) => return refused.into_response(),
    };
    let limit = limit.min(site.config.confluence.page_limit.max(1));
    let given = param(params, "cursor");
    let offset = match given.map(offset_of) {
        None => 0,
        Some(Some(offset)) => offset,
        Some(None) => return error(StatusCode::BAD_REQUEST, "Invalid cursor").into_response(),
    };
    let total = items.len();
    let results: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
    let end = offset + results.len();
    let next_cursor = match (repeat, given) {
        // The fault: a page that names itself as the next one.
        (true, Some(given)) if end < total => Some(given.to_string()),
        _ => (end < total).then(|| cursor(end)),
    };
    let mut links = json!({"base": format!("{}/wiki", site.base_url)});
    let mut headers = HeaderMap::new();
    if let Some(next_cursor) = next_cursor {
        let next = format!("/wiki/api/v2{path}?cursor={next_cursor}&limit={limit}");
        let link = format!(
            "<{next}>; rel=\"next\", <{}/wiki>; rel=\"base\"",
            site.base_url
        );
        if let Ok(value) = HeaderValue::from_str(&link) {
            headers.insert(header::LINK, value);
        }
        links["next"] = Value::from(next);
    }
    (headers, Json(json!({"results": results, "_links": links}))).into_response()
}

fn space_wire(space: &Space) -> Value {
    let mut wire = json!({
        "id": space.id,
        "key": space.key,
        "name": space.name,
        "type": space.space_type,
        "status": space.status,
        "authorId": space.author_id,
        "createdAt": "2026-01-14T09:30:00.000Z",
        "homepageId": (space.id.parse::<i64>().unwrap_or_default() + 1000).to_string(),
        "_links": {"webui": format!("/spaces/{}", space.key)},
    });
    if !space.description.is_empty() {
        wire["description"] =
            json!({"plain": {"representation": "plain", "value": space.description}});
    }
    wire
}

async fn spaces(State(site): SiteState, params: Params) -> Response {
    let items = site.data.confluence.spaces.iter().map(space_wire).collect();
    let repeat = site.config.confluence.repeat_cursor;
    v2_page(&site, "/spaces", &params, items, repeat)
}

async fn space_permissions(
    State(site): SiteState,
    Path(id): Path<String>,
    params: Params,
) -> Response {
    // "404 Returned if the calling user does not have permission to view the requested space
    // permission assignments or the space was not found."
    let Some(space) = site.data.confluence.spaces.iter().find(|s| s.id == id) else {
        return error(StatusCode::NOT_FOUND, "Space not found").into_response();
    };
    let items = space
        .permissions
        .iter()
        .map(|g| {
            json!({
                "id": g.id,
                "principal": {"type": g.principal_type, "id": g.principal_id},
                "operation": {"key": g.operation, "targetType": g.target_type},
            })
        })
        .collect();
    let path = format!("/spaces/{id}/permissions");
    v2_page(&site, &path, &params, items, false)
}

// ---------------------------------------------------------------------------------------------
// Settings without a spec

const UPM_MEDIA_TYPE: &str = "application/vnd.atl.plugins+json";

/// UPM, on Jira and on Confluence: admin only, its own media type only.
async fn upm_settings(State(site): SiteState, headers: HeaderMap) -> Response {
    if let Err(refused) = forbidden_unless_admin(&site, "the plugin settings") {
        return refused.into_response();
    }
    let accepted = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains(UPM_MEDIA_TYPE));
    if !accepted {
        return error(
            StatusCode::NOT_ACCEPTABLE,
            "Only application/vnd.atl.plugins+json",
        )
        .into_response();
    }
    let settings: Vec<Value> = site
        .data
        .confluence
        .upm_settings
        .iter()
        .map(|(key, name, value)| json!({"key": key, "name": name, "value": value, "readOnly": false}))
        .collect();
    let body = json!({
        "settings": settings,
        "links": {"self": "/rest/plugins/1.0/settings"},
        "safeMode": false,
    });
    let mut response = Json(body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(UPM_MEDIA_TYPE),
    );
    response
}

async fn jira_mail_settings(State(site): SiteState) -> Response {
    if !site.config.admin {
        return JiraError::forbidden("You are not authorised to view the mail settings.")
            .into_response();
    }
    let body: serde_json::Map<String, Value> = site
        .data
        .confluence
        .jira_mail_settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    Json(Value::Object(body)).into_response()
}

// ---------------------------------------------------------------------------------------------
// GraphQL

/// Atlassian blocks ad-hoc operations on the private endpoint (REFERENCE §4.3). The body is an
/// assumption: GraphQL's `errors` with the error type in `extensions`.
async fn cgraphql(State(site): SiteState, body: Option<Json<Value>>) -> Response {
    if site.config.confluence.cgraphql_blocked {
        let body = json!({
            "errors": [{
                "message": "Operation is blocked: only persisted operations are allowed",
                "extensions": {"errorType": "OperationBlocked", "statusCode": 403},
            }],
            "data": null,
        });
        return Json(body).into_response();
    }
    gateway(State(site), body).await
}

/// The public gateway answers the site-permission query (shape assumed, see the collector).
async fn gateway(State(site): SiteState, body: Option<Json<Value>>) -> Response {
    let query = body
        .as_ref()
        .and_then(|Json(b)| b["query"].as_str())
        .unwrap_or_default();
    if !query.contains("sitePermissions") {
        let body = json!({"errors": [{"message": "Validation error: unknown operation",
            "extensions": {"classification": "ValidationError"}}]});
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    let nodes: Vec<Value> = site
        .data
        .confluence
        .site_permissions
        .iter()
        .map(|g| {
            let operations: Vec<Value> = g
                .operations
                .iter()
                .map(|(key, target)| json!({"key": key, "targetType": target}))
                .collect();
            json!({
                "principal": {"type": g.principal_type, "id": g.principal_id, "displayName": g.display_name},
                "operations": operations,
            })
        })
        .collect();
    Json(json!({"data": {"sitePermissions": {"permissions": {
        "nodes": nodes,
        "pageInfo": {"hasNextPage": false, "endCursor": null},
    }}}}))
    .into_response()
}
