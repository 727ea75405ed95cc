//! The Jira Service Management endpoints the tenant serves, shapes from the JSM spec
//! (`fixtures/spec/jsm-subset.json`; operationIds in brackets), paged as `PagedDTO*`:
//!
//! - `GET /rest/servicedeskapi/servicedesk` [getServiceDesks]
//! - `GET /rest/servicedeskapi/servicedesk/{serviceDeskId}/customer` [getCustomers]:
//!   experimental, 412 without `X-ExperimentalApi: opt-in`; 403 for an account that is not an
//!   agent
//! - `GET /rest/servicedeskapi/organization` [getOrganizations]: a non-agent sees only the
//!   organisations it belongs to (none here)
//! - `GET /rest/servicedeskapi/organization/{organizationId}/user` [getUsersInOrganization]:
//!   agents and admins only
//!
//! Errors carry the body the spec's narrative documents (`errorMessage`, `i18nErrorMessage`).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::data::User;
use super::Site;

type SiteState = State<Arc<Site>>;
type Params = Query<Vec<(String, String)>>;

pub(super) fn routes() -> Router<Arc<Site>> {
    Router::new()
        .route("/rest/servicedeskapi/servicedesk", get(service_desks))
        .route(
            "/rest/servicedeskapi/servicedesk/{id}/customer",
            get(customers),
        )
        .route("/rest/servicedeskapi/organization", get(organizations))
        .route(
            "/rest/servicedeskapi/organization/{id}/user",
            get(organization_users),
        )
}

/// JSM's error body (narrative "Status codes and responses").
pub(super) fn error(status: StatusCode, message: &str) -> Response {
    let body = json!({
        "errorMessage": message,
        "i18nErrorMessage": {"i18nKey": "sd.error", "parameters": []},
    });
    (status, Json(body)).into_response()
}

/// One `PagedDTO*` page of `items` at `start`, `limit` clamped to `page_limit` the way JSM caps
/// it; `_links.next` and `prev` only where there is such a page.
pub(super) fn paged(
    site: &Site,
    path: &str,
    params: &[(String, String)],
    items: Vec<Value>,
    page_limit: usize,
) -> Response {
    let number = |name: &str, default: usize| -> Result<usize, String> {
        match params.iter().find(|(k, _)| k == name) {
            None => Ok(default),
            Some((_, raw)) => raw.parse().map_err(|_| format!("{name} is not a number.")),
        }
    };
    let (start, limit) = match (number("start", 0), number("limit", 50)) {
        (Ok(start), Ok(limit)) => (start, limit.clamp(1, page_limit.max(1))),
        (Err(message), _) | (_, Err(message)) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let total = items.len();
    let values: Vec<Value> = items.into_iter().skip(start).take(limit).collect();
    let is_last = start + values.len() >= total;
    let base = format!("{}/rest/servicedeskapi", site.base_url);
    let at = |start: usize| format!("{}{path}?start={start}&limit={limit}", site.base_url);
    let mut links = json!({"base": base, "context": "", "self": at(start)});
    if !is_last {
        links["next"] = json!(at(start + values.len()));
    }
    if start > 0 {
        links["prev"] = json!(at(start.saturating_sub(limit)));
    }
    Json(json!({
        "_expands": [],
        "size": values.len(),
        "start": start,
        "limit": limit,
        "isLastPage": is_last,
        "_links": links,
        "values": values,
    }))
    .into_response()
}

fn limit(site: &Site) -> usize {
    site.config.jsm.page_limit
}

async fn service_desks(State(site): SiteState, Query(params): Params) -> Response {
    let desks = site
        .data
        .jsm
        .service_desks
        .iter()
        .map(|desk| {
            json!({
                "id": desk.id,
                "projectId": desk.project_id,
                "projectKey": desk.project_key,
                "projectName": desk.project_name,
                "_links": {"self": format!("{}/rest/servicedeskapi/servicedesk/{}", site.base_url, desk.id)},
            })
        })
        .collect();
    let path = "/rest/servicedeskapi/servicedesk";
    paged(&site, path, &params, desks, limit(&site))
}

/// `UserDTO`: `name` and `key` repeat the account id, as the spec's example shows.
fn user_dto(base_url: &str, user: &User) -> Value {
    let jira_rest = format!("{base_url}/rest/api/2/user?accountId={}", user.account_id);
    json!({
        "accountId": user.account_id,
        "name": user.account_id,
        "key": user.account_id,
        "emailAddress": user.email,
        "displayName": user.display_name,
        "active": user.active,
        "timeZone": user.time_zone,
        "_links": {"jiraRest": jira_rest, "self": jira_rest},
    })
}

fn customer_dtos(site: &Site, account_ids: &[String]) -> Vec<Value> {
    account_ids
        .iter()
        .filter_map(|id| site.data.jsm.customer(id))
        .map(|user| user_dto(&site.base_url, user))
        .collect()
}

async fn customers(
    State(site): SiteState,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(params): Params,
) -> Response {
    let opted_in = headers
        .get("x-experimentalapi")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("opt-in"));
    if !opted_in {
        return error(
            StatusCode::PRECONDITION_FAILED,
            "This is an experimental API. To use it, set the X-ExperimentalApi: opt-in header.",
        );
    }
    let Some(desk) = site.data.jsm.service_desks.iter().find(|d| d.id == id) else {
        return error(StatusCode::NOT_FOUND, "The service desk does not exist.");
    };
    if !site.config.admin {
        return error(
            StatusCode::FORBIDDEN,
            "You do not have permission to view this service desk's customers.",
        );
    }
    let items = customer_dtos(&site, &desk.customers);
    let path = format!("/rest/servicedeskapi/servicedesk/{id}/customer");
    paged(&site, &path, &params, items, limit(&site))
}

async fn organizations(State(site): SiteState, Query(params): Params) -> Response {
    // "If the user is a customer, only those organizations of which the customer is a member
    // are listed": the non-admin account belongs to none.
    let items = if site.config.admin {
        site.data
            .jsm
            .organizations
            .iter()
            .map(|o| {
                json!({
                    "id": o.id,
                    "name": o.name,
                    "_links": {"self": format!("{}/rest/servicedeskapi/organization/{}", site.base_url, o.id)},
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    let path = "/rest/servicedeskapi/organization";
    paged(&site, path, &params, items, limit(&site))
}

async fn organization_users(
    State(site): SiteState,
    Path(id): Path<String>,
    Query(params): Params,
) -> Response {
    let Some(organization) = site.data.jsm.organizations.iter().find(|o| o.id == id) else {
        return error(StatusCode::NOT_FOUND, "The organization does not exist.");
    };
    if !site.config.admin {
        return error(
            StatusCode::FORBIDDEN,
            "Only service desk agents and administrators can list organization members.",
        );
    }
    let items = customer_dtos(&site, &organization.members);
    let path = format!("/rest/servicedeskapi/organization/{id}/user");
    paged(&site, &path, &params, items, limit(&site))
}
