//! The Assets endpoints the tenant serves. No spec copy of the Assets API exists: the shapes
//! are REFERENCE §3's field lists (from jira.js and go-atlassian), and tests/it/spec.rs checks
//! the answers against them.
//!
//! On the site (JSM spec, REFERENCE §2):
//! - `GET /rest/servicedeskapi/assets/workspace` [getAssetsWorkspaces]: 404 without Assets
//! - `GET /rest/servicedeskapi/insight/workspace` [getInsightWorkspaces]: an empty list without
//!   Assets
//!
//! On the second listener (the stand-in for `api.atlassian.com`), under
//! `/jsm/assets/workspace/{workspaceId}/v1`, with the site's Basic credentials:
//! - `GET /objectschema/list`, `GET /objectschema/{id}/objecttypes/flat`,
//!   `GET /objecttype/{id}/attributes`
//! - `POST /object/aql?startAt=…&maxResults=…&includeAttributes=…` (404 when `legacy_only`)
//! - `GET /aql/objects?qlQuery=…&page=…&resultPerPage=…`, the deprecated Cloud list
//!
//! AQL understands a conjunction (`AND`, parentheses ignored) of `objectTypeId = N`,
//! `objectSchemaId = N` and `objectType = "Name"`; anything else is a 400, as an invalid AQL
//! query is.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde_json::{json, Value as Json_};

use super::assets_data::{AssetsObject, AssetsType, AttributeKind, Value, STATUSES};
use super::gate::{authenticated, Seen};
use super::jsm::{error, paged};
use super::pacing::{Admission, Style};
use super::{Host, Site};

type SiteState = State<Arc<Site>>;
type Params = Query<Vec<(String, String)>>;

/// Workspace discovery, on the site.
pub(super) fn site_routes() -> Router<Arc<Site>> {
    Router::new()
        .route("/rest/servicedeskapi/assets/workspace", get(workspaces))
        .route(
            "/rest/servicedeskapi/insight/workspace",
            get(insight_workspaces),
        )
}

/// The Assets API, on the gateway listener.
pub(super) fn api_routes() -> Router<Arc<Site>> {
    const BASE: &str = "/jsm/assets/workspace/{workspace}/v1";
    Router::new()
        .route(&format!("{BASE}/objectschema/list"), get(schemas))
        .route(
            &format!("{BASE}/objectschema/{{id}}/objecttypes/flat"),
            get(object_types),
        )
        .route(
            &format!("{BASE}/objecttype/{{id}}/attributes"),
            get(attributes),
        )
        .route(&format!("{BASE}/object/aql"), post(aql))
        .route(&format!("{BASE}/aql/objects"), get(aql_objects))
        // Anything else under /jsm/assets is an Assets 404, not an Admin API answer.
        .route("/jsm/assets/{*rest}", any(unknown))
}

/// Basic auth with the site's credentials, then the injected 429; then the log.
pub(super) async fn gate(State(site): SiteState, request: Request, next: Next) -> Response {
    let seen = Seen::of(&request);
    let response = if !authenticated(&site, request.headers()) {
        assets_error(StatusCode::UNAUTHORIZED, "Unauthorized")
    } else {
        let method = request.method().to_string();
        let path = request.uri().path().to_string();
        let query = request.uri().query().unwrap_or_default().to_string();
        // The Assets gateway is limited like the site it belongs to.
        match site.pacer.admit(Host::Api, &method, &path, &query) {
            Admission::Refuse(refusal) => refusal.into_response(Style::Jira),
            Admission::Pass(limits) => {
                let mut response = if rate_limited(&site) {
                    // No Retry-After and no X-RateLimit-Reset: the client backs off on its own.
                    assets_error(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded")
                } else {
                    next.run(request).await
                };
                limits.apply(response.headers_mut(), Style::Jira);
                response
            }
        }
    };
    site.pacer.delay().await;
    seen.record(&site, Host::Api, response.status().as_u16());
    response
}

fn rate_limited(site: &Site) -> bool {
    let every = site.config.assets.rate_limit_every;
    let n = site.assets_served.fetch_add(1, Ordering::SeqCst) + 1;
    every > 0 && n.is_multiple_of(u64::from(every))
}

/// The Assets error body is not documented; this mirrors Jira's `errorMessages`, and clients
/// branch on the status only.
fn assets_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({"errorMessages": [message], "errors": {}})),
    )
        .into_response()
}

async fn unknown(request: Request) -> Response {
    let message = format!("No Assets resource at {}", request.uri().path());
    assets_error(StatusCode::NOT_FOUND, &message)
}

async fn workspaces(State(site): SiteState, Query(params): Params) -> Response {
    if !site.config.assets.enabled {
        return error(StatusCode::NOT_FOUND, "Assets is not enabled on this site.");
    }
    workspace_page(&site, "/rest/servicedeskapi/assets/workspace", &params)
}

async fn insight_workspaces(State(site): SiteState, Query(params): Params) -> Response {
    workspace_page(&site, "/rest/servicedeskapi/insight/workspace", &params)
}

fn workspace_page(site: &Site, path: &str, params: &[(String, String)]) -> Response {
    let items = if site.config.assets.enabled {
        vec![json!({"workspaceId": site.data.assets.workspace_id})]
    } else {
        Vec::new()
    };
    paged(site, path, params, items, site.config.jsm.page_limit)
}

/// The 404 for a workspace in the path that is not the site's.
fn unknown_workspace(site: &Site, workspace: &str) -> Option<Response> {
    let known = site.config.assets.enabled && workspace == site.data.assets.workspace_id;
    (!known).then(|| {
        assets_error(
            StatusCode::NOT_FOUND,
            &format!("Workspace {workspace} not found"),
        )
    })
}

async fn schemas(State(site): SiteState, Path(workspace): Path<String>) -> Response {
    if let Some(response) = unknown_workspace(&site, &workspace) {
        return response;
    }
    let data = &site.data.assets;
    let values: Vec<Json_> = data
        .schemas
        .iter()
        .map(|(id, key, name, description)| {
            let types: Vec<&AssetsType> =
                data.types.iter().filter(|t| &t.schema_id == id).collect();
            let objects = data.objects.iter().filter(|o| &o.schema_id == id).count();
            json!({
                "workspaceId": workspace,
                "globalId": format!("{workspace}:{id}"),
                "id": id,
                "name": name,
                "objectSchemaKey": key,
                "description": description,
                "status": "Ok",
                "created": "2024-11-04T09:00:00.000Z",
                "updated": "2025-06-30T12:00:00.000Z",
                "objectCount": objects,
                "objectTypeCount": types.len(),
                "canManage": site.config.admin,
            })
        })
        .collect();
    let total = values.len();
    Json(json!({"startAt": 0, "maxResults": 25, "total": total, "isLast": true, "values": values}))
        .into_response()
}

fn object_type_json(site: &Site, workspace: &str, t: &AssetsType) -> Json_ {
    let count = site.data.assets.objects_of_type(&t.id);
    json!({
        "workspaceId": workspace,
        "globalId": format!("{workspace}:{}", t.id),
        "id": t.id,
        "name": t.name,
        "description": t.description,
        "icon": {"id": "1", "name": t.name, "url16": "https://api.atlassian.com/icon.png?size=16", "url48": "https://api.atlassian.com/icon.png?size=48"},
        "position": t.id.parse::<i64>().unwrap_or_default() - 1,
        "created": "2024-11-04T09:00:00.000Z",
        "updated": "2025-06-30T12:00:00.000Z",
        "objectCount": count,
        "objectSchemaId": t.schema_id,
        "inherited": false,
        "abstractObjectType": false,
        "parentObjectTypeInherited": false,
    })
}

async fn object_types(
    State(site): SiteState,
    Path((workspace, id)): Path<(String, String)>,
) -> Response {
    if let Some(response) = unknown_workspace(&site, &workspace) {
        return response;
    }
    let data = &site.data.assets;
    if !data.schemas.iter().any(|(schema, ..)| schema == &id) {
        return assets_error(
            StatusCode::NOT_FOUND,
            &format!("Object schema {id} not found"),
        );
    }
    let types: Vec<Json_> = data
        .types
        .iter()
        .filter(|t| t.schema_id == id)
        .map(|t| object_type_json(&site, &workspace, t))
        .collect();
    Json(types).into_response()
}

async fn attributes(
    State(site): SiteState,
    Path((workspace, id)): Path<(String, String)>,
) -> Response {
    if let Some(response) = unknown_workspace(&site, &workspace) {
        return response;
    }
    let Some(t) = site.data.assets.types.iter().find(|t| t.id == id) else {
        return assets_error(
            StatusCode::NOT_FOUND,
            &format!("Object type {id} not found"),
        );
    };
    let list: Vec<Json_> = t
        .attributes
        .iter()
        .enumerate()
        .map(|(position, a)| {
            let mut attribute = json!({
                "workspaceId": workspace,
                "globalId": format!("{workspace}:{}", a.id),
                "id": a.id,
                "name": a.name,
                "label": a.label,
                "type": a.kind.code(),
                "editable": !a.system,
                "system": a.system,
                "sortable": true,
                "summable": false,
                "indexed": true,
                "minimumCardinality": 0,
                "maximumCardinality": if a.name == "Runs on" { -1 } else { 1 },
                "removable": !a.system,
                "hidden": false,
                "includeChildObjectTypes": false,
                "uniqueAttribute": a.name == "Key",
                "options": "",
                "position": position,
            });
            match &a.kind {
                AttributeKind::Default(type_id, name) => {
                    attribute["defaultType"] = json!({"id": type_id, "name": name});
                }
                AttributeKind::Object { type_id } => {
                    attribute["referenceObjectTypeId"] = json!(type_id);
                }
                _ => {}
            }
            attribute
        })
        .collect();
    Json(list).into_response()
}

type Filter<'a> = Box<dyn Fn(&AssetsObject) -> bool + 'a>;

/// The objects an AQL query selects, or the 400 an invalid query gets.
fn select<'a>(site: &'a Site, aql: &str) -> Result<Vec<&'a AssetsObject>, Box<Response>> {
    let data = &site.data.assets;
    let mut filters: Vec<Filter> = Vec::new();
    for clause in aql.split(" AND ") {
        let clause = clause.trim().trim_start_matches('(').trim_end_matches(')');
        let Some((field, value)) = clause.split_once('=') else {
            return Err(Box::new(bad_aql(aql)));
        };
        let value = value.trim().trim_matches('"').to_string();
        match field.trim() {
            "objectTypeId" => filters.push(Box::new(move |o| o.type_id == value)),
            "objectSchemaId" => filters.push(Box::new(move |o| o.schema_id == value)),
            "objectType" => {
                let ids: Vec<&str> = data
                    .types
                    .iter()
                    .filter(|t| t.name == value)
                    .map(|t| t.id.as_str())
                    .collect();
                filters.push(Box::new(move |o| ids.contains(&o.type_id.as_str())));
            }
            _ => return Err(Box::new(bad_aql(aql))),
        }
    }
    Ok(data
        .objects
        .iter()
        .filter(|o| filters.iter().all(|f| f(o)))
        .collect())
}

fn bad_aql(aql: &str) -> Response {
    assets_error(
        StatusCode::BAD_REQUEST,
        &format!("AQL could not be parsed or is not supported here: {aql}"),
    )
}

fn number(params: &[(String, String)], name: &str, default: usize) -> usize {
    params
        .iter()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(default)
}

async fn aql(
    State(site): SiteState,
    Path(workspace): Path<String>,
    Query(params): Params,
    body: Bytes,
) -> Response {
    if let Some(response) = unknown_workspace(&site, &workspace) {
        return response;
    }
    if site.config.assets.legacy_only {
        return assets_error(StatusCode::NOT_FOUND, "Not found");
    }
    let query = serde_json::from_slice::<Json_>(&body)
        .ok()
        .and_then(|b| b["qlQuery"].as_str().map(String::from));
    let Some(query) = query else {
        return assets_error(StatusCode::BAD_REQUEST, "qlQuery is required");
    };
    let selected = match select(&site, &query) {
        Ok(selected) => selected,
        Err(response) => return *response,
    };
    let start = number(&params, "startAt", 0);
    let max = number(&params, "maxResults", 25).clamp(1, site.config.assets.page_limit.max(1));
    let with_attributes = params
        .iter()
        .find(|(k, _)| k == "includeAttributes")
        .is_none_or(|(_, v)| v != "false");
    let page: Vec<Json_> = selected
        .iter()
        .skip(start)
        .take(max)
        .map(|o| object_json(&site, &workspace, o, with_attributes))
        .collect();
    let is_last = start + page.len() >= selected.len();
    // `total` is left out: jira.js's live-audited schema does not have it (REFERENCE §3.1).
    Json(json!({
        "startAt": start,
        "maxResults": max,
        "values": page,
        "objectTypeAttributes": [],
        "isLast": is_last,
        "last": is_last,
    }))
    .into_response()
}

/// The deprecated Cloud list: `ObjectListScheme` with 1-based pages.
async fn aql_objects(
    State(site): SiteState,
    Path(workspace): Path<String>,
    Query(params): Params,
) -> Response {
    if let Some(response) = unknown_workspace(&site, &workspace) {
        return response;
    }
    let Some((_, query)) = params.iter().find(|(k, _)| k == "qlQuery") else {
        return assets_error(StatusCode::BAD_REQUEST, "qlQuery is required");
    };
    let selected = match select(&site, query) {
        Ok(selected) => selected,
        Err(response) => return *response,
    };
    let page_number = number(&params, "page", 1).max(1);
    let per_page =
        number(&params, "resultPerPage", 25).clamp(1, site.config.assets.page_limit.max(1));
    let start = (page_number - 1) * per_page;
    let entries: Vec<Json_> = selected
        .iter()
        .skip(start)
        .take(per_page)
        .map(|o| object_json(&site, &workspace, o, true))
        .collect();
    let type_id = selected.first().map(|o| o.type_id.clone());
    Json(json!({
        "objectEntries": entries,
        "objectTypeAttributes": [],
        "objectTypeId": type_id,
        "objectTypeIsInherited": false,
        "abstractObjectType": false,
        "totalFilterCount": selected.len(),
        "startIndex": start,
        "toIndex": start + entries.len(),
        "pageObjectSize": entries.len(),
        "pageNumber": page_number,
        "orderByTypeAttrId": 0,
        "orderWay": "ASC",
        "qlQuery": query,
        "qlQuerySearchResult": true,
        "conversionPossible": false,
    }))
    .into_response()
}

/// `AssetObject` with its attributes (REFERENCE §3.1).
fn object_json(
    site: &Site,
    workspace: &str,
    object: &AssetsObject,
    with_attributes: bool,
) -> Json_ {
    let data = &site.data.assets;
    let object_type = data
        .types
        .iter()
        .find(|t| t.id == object.type_id)
        .map(|t| object_type_json(site, workspace, t));
    let mut json = json!({
        "workspaceId": workspace,
        "globalId": format!("{workspace}:{}", object.id),
        "id": object.id,
        "label": object.label,
        "objectKey": object.key,
        "avatar": {"workspaceId": workspace, "globalId": format!("{workspace}:{}", object.id),
                   "url16": format!("https://api.atlassian.com/jsm/assets/workspace/{workspace}/v1/objecttype/{}/icon.png?size=16", object.type_id),
                   "url48": format!("https://api.atlassian.com/jsm/assets/workspace/{workspace}/v1/objecttype/{}/icon.png?size=48", object.type_id),
                   "objectId": object.id},
        "objectType": object_type,
        "created": object.created,
        "updated": object.updated,
        "hasAvatar": false,
        "timestamp": 1_735_689_600_000_i64 + object.id.parse::<i64>().unwrap_or_default(),
        "_links": {"self": format!("https://api.atlassian.com/jsm/assets/workspace/{workspace}/v1/object/{}", object.id)},
    });
    if with_attributes {
        let attributes: Vec<Json_> = object
            .values
            .iter()
            .enumerate()
            .map(|(n, (attribute_id, values))| {
                json!({
                    "workspaceId": workspace,
                    "globalId": format!("{workspace}:{}:{n}", object.id),
                    "id": format!("{}{n:02}", object.id),
                    "objectTypeAttributeId": attribute_id,
                    "objectAttributeValues": values.iter().map(|v| value_json(site, v)).collect::<Vec<_>>(),
                })
            })
            .collect();
        json["attributes"] = json!(attributes);
    }
    json
}

fn value_json(site: &Site, value: &Value) -> Json_ {
    match value {
        Value::Text(text) => json!({"value": text, "displayValue": text, "searchValue": text}),
        Value::Integer(n) => {
            json!({"value": n.to_string(), "displayValue": n.to_string(), "searchValue": n.to_string()})
        }
        Value::User {
            account_id,
            display_name,
        } => json!({
            "value": account_id,
            "displayValue": display_name,
            "searchValue": account_id,
            "user": {
                "avatarUrl": "https://avatar-management.services.atlassian.com/default/48",
                "displayName": display_name,
                "name": account_id,
                "key": account_id,
                "isDeleted": false,
                "self": format!("{}/rest/api/3/user?accountId={account_id}", site.base_url),
            },
        }),
        Value::Group(name) => json!({
            "value": name,
            "displayValue": name,
            "searchValue": name,
            "group": {"avatarUrl": "https://api.atlassian.com/group.png", "name": name},
        }),
        Value::Object(id, key, label) => json!({
            "displayValue": label,
            "searchValue": key,
            "referencedObject": {"id": id, "objectKey": key, "label": label},
        }),
        Value::Status(id) => {
            let (_, name, category) = STATUSES
                .iter()
                .find(|(s, ..)| s == id)
                .copied()
                .unwrap_or((id, "Unknown", 0));
            json!({
                "value": id,
                "displayValue": name,
                "searchValue": id,
                "status": {"id": id, "name": name, "category": category, "objectSchemaId": "1"},
            })
        }
    }
}
