//! The Jira platform REST v3 endpoints the tenant serves, one handler each, with request
//! parameters and response shapes from the official spec (operationIds in brackets):
//!
//! - `GET /rest/api/3/users/search` [getAllUsers]: bare array, short pages before the end
//! - `GET /rest/api/3/group/bulk` [bulkGetGroups]: `PageBeanGroupDetails`
//! - `GET /rest/api/3/group/member` [getUsersFromGroup]: `PageBeanUserDetails`
//! - `GET /rest/api/3/project/search` [searchProjects]: `PageBeanProject`
//! - `GET /rest/api/3/project/{projectIdOrKey}/roledetails` [getProjectRoleDetails]
//! - `GET /rest/api/3/project/{projectIdOrKey}/role/{id}` [getProjectRole]
//! - `GET /rest/api/3/project/{projectKeyOrId}/permissionscheme` [getAssignedPermissionScheme]
//! - `GET /rest/api/3/permissionscheme` [getAllPermissionSchemes]
//! - `GET /rest/api/3/application-properties` [getApplicationProperty]
//! - `GET /rest/api/3/applicationrole` [getAllApplicationRoles]
//! - `GET|POST /rest/api/3/search`: removed (CHANGE-2046), answers 410 Gone
//!
//! Anything else is a 404 with Jira's error body.

use std::ops::Range;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::data::{self, ActorKind, Dataset, Project};
use super::error::JiraError;
use super::Site;

type SiteState = State<Arc<Site>>;

pub(super) fn routes() -> Router<Arc<Site>> {
    // One parameter name per path position: the router rejects `{projectIdOrKey}` next to the
    // spec's `{projectKeyOrId}`.
    Router::new()
        .route("/rest/api/3/users/search", get(users))
        .route("/rest/api/3/group/bulk", get(groups))
        .route("/rest/api/3/group/member", get(group_members))
        .route("/rest/api/3/project/search", get(projects))
        .route(
            "/rest/api/3/project/{project}/roledetails",
            get(role_details),
        )
        .route("/rest/api/3/project/{project}/role/{id}", get(project_role))
        .route(
            "/rest/api/3/project/{project}/permissionscheme",
            get(project_permission_scheme),
        )
        .route("/rest/api/3/permissionscheme", get(permission_schemes))
        .route(
            "/rest/api/3/application-properties",
            get(application_properties),
        )
        .route("/rest/api/3/applicationrole", get(application_roles))
        .route(
            "/rest/api/3/search",
            get(removed_search).post(removed_search),
        )
        .fallback(unknown)
        .method_not_allowed_fallback(wrong_method)
}

// ---------------------------------------------------------------------------------------------
// Request parameters

/// The query string as ordered pairs: Jira repeats a name for array parameters
/// (`groupId=a&groupId=b`).
struct Params(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = JiraError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, JiraError> {
        Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map(|Query(pairs)| Params(pairs))
            .map_err(|_| JiraError::new(StatusCode::BAD_REQUEST, "The query string is invalid."))
    }
}

impl Params {
    fn first(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn int(&self, name: &str, default: i64) -> Result<i64, JiraError> {
        match self.first(name) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|_| JiraError::bad_param(name, format!("'{raw}' is not a valid number."))),
        }
    }

    fn start_at(&self) -> Result<usize, JiraError> {
        let start_at = self.int("startAt", 0)?;
        usize::try_from(start_at)
            .map_err(|_| JiraError::bad_param("startAt", "startAt must not be negative."))
    }

    /// `maxResults` with the spec's default, clamped to the endpoint's limit the way Jira does
    /// (a larger value silently becomes the limit, which the page then echoes).
    fn max_results(&self, default: i64, limit: usize) -> Result<usize, JiraError> {
        let max_results = self.int("maxResults", default)?;
        match usize::try_from(max_results) {
            Ok(n) if n >= 1 => Ok(n.min(limit.max(1))),
            _ => Err(JiraError::bad_param(
                "maxResults",
                "maxResults must be greater than 0.",
            )),
        }
    }

    fn flag(&self, name: &str, default: bool) -> Result<bool, JiraError> {
        match self.first(name) {
            None => Ok(default),
            Some(raw) if raw.eq_ignore_ascii_case("true") => Ok(true),
            Some(raw) if raw.eq_ignore_ascii_case("false") => Ok(false),
            Some(raw) => Err(JiraError::bad_param(
                name,
                format!("'{raw}' is not a valid boolean."),
            )),
        }
    }

    /// `expand=a,b` as a list; empty when absent.
    fn expand(&self) -> Vec<&str> {
        self.all("expand")
            .into_iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Pagination

/// Jira's `PageBean*`: `nextPage` only when there is one, `maxResults` echoing the clamped size.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PageBean<T> {
    #[serde(rename = "self")]
    self_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page: Option<String>,
    max_results: usize,
    start_at: usize,
    total: usize,
    is_last: bool,
    values: Vec<T>,
}

impl<T> PageBean<T> {
    /// The same page with the items `f` keeps, converted.
    fn filter_map<U>(self, f: impl FnMut(T) -> Option<U>) -> PageBean<U> {
        PageBean {
            self_url: self.self_url,
            next_page: self.next_page,
            max_results: self.max_results,
            start_at: self.start_at,
            total: self.total,
            is_last: self.is_last,
            values: self.values.into_iter().filter_map(f).collect(),
        }
    }

    /// The same page with its items converted: wire objects are built for one page only, not
    /// for the whole listing.
    fn map<U>(self, f: impl FnMut(T) -> U) -> PageBean<U> {
        PageBean {
            self_url: self.self_url,
            next_page: self.next_page,
            max_results: self.max_results,
            start_at: self.start_at,
            total: self.total,
            is_last: self.is_last,
            values: self.values.into_iter().map(f).collect(),
        }
    }
}

/// Where a page was asked for, so it can link to itself and to the next page with the same
/// filters.
struct PageLink<'a> {
    base_url: &'a str,
    path: &'a str,
    params: &'a Params,
}

impl PageLink<'_> {
    fn at(&self, start_at: usize, max_results: usize) -> String {
        let mut query: Vec<String> = self
            .params
            .0
            .iter()
            .filter(|(k, _)| k != "startAt" && k != "maxResults")
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        query.push(format!("startAt={start_at}"));
        query.push(format!("maxResults={max_results}"));
        format!("{}{}?{}", self.base_url, self.path, query.join("&"))
    }
}

fn page<T>(items: Vec<T>, start_at: usize, max_results: usize, link: &PageLink) -> PageBean<T> {
    let total = items.len();
    let next = start_at.saturating_add(max_results);
    let is_last = next >= total;
    PageBean {
        self_url: link.at(start_at, max_results),
        next_page: (!is_last).then(|| link.at(next, max_results)),
        max_results,
        start_at,
        total,
        is_last,
        values: items.into_iter().skip(start_at).take(max_results).collect(),
    }
}

/// Percent-encodes a query component (RFC 3986 unreserved characters pass through).
fn encode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Wire shapes (spec schema names in the doc comments)

/// `AvatarUrlsBean`.
#[derive(Serialize)]
struct AvatarUrls {
    #[serde(rename = "16x16")]
    x16: String,
    #[serde(rename = "24x24")]
    x24: String,
    #[serde(rename = "32x32")]
    x32: String,
    #[serde(rename = "48x48")]
    x48: String,
}

impl AvatarUrls {
    fn sized(url: impl Fn(u32) -> String) -> Self {
        AvatarUrls {
            x16: url(16),
            x24: url(24),
            x32: url(32),
            x48: url(48),
        }
    }
}

/// `User` (users/search, project lead) and `UserDetails` (group/member): the same fields here.
/// `emailAddress` is omitted when profile visibility hides it, as Jira does.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserWire {
    #[serde(rename = "self")]
    self_url: String,
    account_id: String,
    account_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    email_address: Option<String>,
    avatar_urls: AvatarUrls,
    display_name: String,
    active: bool,
    time_zone: String,
}

fn user_wire(base_url: &str, user: &data::User) -> UserWire {
    let initials: String = user
        .display_name
        .split_whitespace()
        .take(2)
        .filter_map(|w| w.chars().next())
        .collect::<String>()
        .to_uppercase();
    let shade = user.account_id.len() % 6;
    UserWire {
        self_url: format!(
            "{base_url}/rest/api/3/user?accountId={}",
            encode(&user.account_id)
        ),
        account_id: user.account_id.clone(),
        account_type: user.account_type.clone(),
        email_address: user.email.clone(),
        avatar_urls: AvatarUrls::sized(|size| {
            format!("https://avatar-management--avatars.us-west-2.prod.public.atl-paas.net/initials/{initials}-{shade}.png?size={size}&s={size}")
        }),
        display_name: user.display_name.clone(),
        active: user.active,
        time_zone: user.time_zone.clone(),
    }
}

/// `GroupDetails`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupDetails {
    group_id: String,
    name: String,
}

/// `Project` as `/project/search` returns it; `description` and `lead` only when expanded.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProjectWire {
    expand: &'static str,
    #[serde(rename = "self")]
    self_url: String,
    id: String,
    key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lead: Option<UserWire>,
    name: String,
    avatar_urls: AvatarUrls,
    project_type_key: String,
    simplified: bool,
    style: &'static str,
    is_private: bool,
    properties: serde_json::Map<String, serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uuid: Option<String>,
}

/// `Scope` with its `ProjectDetails`: only team-managed roles are scoped to a project.
#[derive(Serialize)]
struct Scope {
    #[serde(rename = "type")]
    kind: &'static str,
    project: ProjectDetails,
}

#[derive(Serialize)]
struct ProjectDetails {
    id: String,
    key: String,
    name: String,
}

fn scope(project: &Project) -> Option<Scope> {
    project.simplified.then(|| Scope {
        kind: "PROJECT",
        project: ProjectDetails {
            id: project.id.clone(),
            key: project.key.clone(),
            name: project.name.clone(),
        },
    })
}

/// `ProjectRoleDetails`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RoleDetails {
    #[serde(rename = "self")]
    self_url: String,
    name: String,
    id: i64,
    description: String,
    admin: bool,
    default: bool,
    role_configurable: bool,
    translated_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<Scope>,
}

/// `ProjectRole` with its actors.
#[derive(Serialize)]
struct RoleWire {
    #[serde(rename = "self")]
    self_url: String,
    name: String,
    id: i64,
    description: String,
    actors: Vec<RoleActorWire>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<Scope>,
}

/// `RoleActor`: `actorUser {accountId}` or `actorGroup {displayName, groupId, name}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RoleActorWire {
    id: i64,
    display_name: String,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    actor_group: Option<ActorGroup>,
    #[serde(skip_serializing_if = "Option::is_none")]
    actor_user: Option<ActorUser>,
}

/// `ProjectRoleGroup`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ActorGroup {
    display_name: String,
    group_id: String,
    name: String,
}

/// `ProjectRoleUser`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ActorUser {
    account_id: String,
}

/// `PermissionScheme`; `permissions` only when some `expand` was given.
#[derive(Serialize)]
struct SchemeWire {
    expand: &'static str,
    id: i64,
    #[serde(rename = "self")]
    self_url: String,
    name: String,
    description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    permissions: Option<Vec<GrantWire>>,
}

/// `PermissionGrant`.
#[derive(Serialize)]
struct GrantWire {
    id: i64,
    #[serde(rename = "self")]
    self_url: String,
    holder: Holder,
    permission: String,
}

/// `PermissionHolder`.
#[derive(Serialize)]
struct Holder {
    #[serde(rename = "type")]
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expand: Option<&'static str>,
}

/// `PermissionSchemes`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SchemesWire {
    permission_schemes: Vec<SchemeWire>,
}

/// `ApplicationProperty`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PropertyWire {
    id: String,
    key: String,
    value: String,
    name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    desc: String,
    #[serde(rename = "type")]
    kind: String,
    default_value: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    allowed_values: Vec<String>,
}

/// `ApplicationRole`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApplicationRoleWire {
    key: String,
    groups: Vec<String>,
    group_details: Vec<GroupName>,
    name: String,
    default_groups: Vec<String>,
    default_groups_details: Vec<GroupName>,
    selected_by_default: bool,
    defined: bool,
    number_of_seats: i64,
    remaining_seats: i64,
    user_count: i64,
    user_count_description: String,
    has_unlimited_seats: bool,
    platform: bool,
}

/// `GroupName`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupName {
    group_id: String,
    name: String,
    #[serde(rename = "self")]
    self_url: String,
}

// ---------------------------------------------------------------------------------------------
// Permissions

/// A non-admin caller administers the first project only.
fn administers(site: &Site, project: &Project) -> bool {
    site.config.admin
        || site
            .data
            .projects
            .first()
            .is_some_and(|p| p.id == project.id)
}

fn find_project<'a>(data: &'a Dataset, id_or_key: &str) -> Result<&'a Project, JiraError> {
    data.project(id_or_key).ok_or_else(|| {
        JiraError::not_found(format!("No project could be found with key '{id_or_key}'."))
    })
}

// ---------------------------------------------------------------------------------------------
// Handlers

/// `/users/search` pages a bare array. With `short_pages`, every third window returns fewer
/// users than asked (Jira filters after paging: the spec's sibling `/user/search/query` says
/// so), so only a client that advances `startAt` by what it received sees every account.
async fn users(State(site): SiteState, params: Params) -> Result<Json<Vec<UserWire>>, JiraError> {
    let start_at = params.start_at()?;
    // The spec caps this endpoint at 1000; sites are configured lower to force paging.
    let limit = site.config.users_page_limit.min(1000);
    let max_results = params.max_results(50, limit)?;
    let all = &site.data.users;
    let window = users_window(start_at, max_results, all.len(), site.config.short_pages);
    let users = all[window]
        .iter()
        .map(|u| user_wire(&site.base_url, u))
        .collect();
    Ok(Json(users))
}

/// The slice of the directory a `/users/search` page returns. A short page is never empty, and
/// the last (partial) window is never shortened, so advancing by the received count ends at
/// `[]` exactly once every account was seen.
pub(super) fn users_window(
    start_at: usize,
    max_results: usize,
    total: usize,
    short: bool,
) -> Range<usize> {
    if start_at >= total {
        return 0..0;
    }
    let end = start_at.saturating_add(max_results).min(total);
    let full = end - start_at == max_results;
    if short && full && max_results >= 2 && (start_at / max_results) % 3 == 1 {
        return start_at..end - (max_results / 4).max(1);
    }
    start_at..end
}

/// `/group/bulk`, filtered by `groupId`, `groupName`, `accessType` and `applicationKey`.
async fn groups(State(site): SiteState, params: Params) -> Result<Response, JiraError> {
    let start_at = params.start_at()?;
    let max_results = params.max_results(50, 50)?;
    let ids = params.all("groupId");
    let names = params.all("groupName");
    let access = match params.first("accessType") {
        None => None,
        Some(kind @ ("site-admin" | "admin" | "user")) => Some(kind),
        Some(other) => {
            return Err(JiraError::bad_param(
                "accessType",
                format!("'{other}' is not a valid access type."),
            ))
        }
    };
    let application = params
        .first("applicationKey")
        .map(|key| application_groups(&site.data, key));
    let access_groups = access.map(|kind| access_groups(&site.data, kind));
    let values: Vec<&data::Group> = site
        .data
        .groups
        .iter()
        .filter(|g| ids.is_empty() || ids.contains(&g.group_id.as_str()))
        .filter(|g| names.is_empty() || names.contains(&g.name.as_str()))
        .filter(|g| access_groups.as_ref().is_none_or(|a| a.contains(&g.name)))
        .filter(|g| application.as_ref().is_none_or(|a| a.contains(&g.name)))
        .collect();
    let link = PageLink {
        base_url: &site.base_url,
        path: "/rest/api/3/group/bulk",
        params: &params,
    };
    let page = page(values, start_at, max_results, &link).map(|g| GroupDetails {
        group_id: g.group_id.clone(),
        name: g.name.clone(),
    });
    Ok(Json(page).into_response())
}

/// Groups granting an application (by application role key); unknown keys grant nothing.
fn application_groups(data: &Dataset, key: &str) -> Vec<String> {
    data.application_roles
        .iter()
        .filter(|r| r.key == key)
        .flat_map(|r| r.groups.clone())
        .collect()
}

/// Groups granting an access level: site administration, Jira administration, or product use.
fn access_groups(data: &Dataset, kind: &str) -> Vec<String> {
    match kind {
        "site-admin" => vec![data::SITE_ADMINS.to_string()],
        "admin" => vec![data::JIRA_ADMINISTRATORS.to_string()],
        _ => data
            .application_roles
            .iter()
            .flat_map(|r| r.groups.clone())
            .collect(),
    }
}

/// `/group/member` by `groupId` or `groupname` (not both); inactive members only with
/// `includeInactiveUsers=true`. Page size is at most 50 ("number should be between 1 and 50").
async fn group_members(State(site): SiteState, params: Params) -> Result<Response, JiraError> {
    let group = match (params.first("groupId"), params.first("groupname")) {
        (Some(_), Some(_)) => {
            return Err(JiraError::new(
                StatusCode::BAD_REQUEST,
                "You cannot provide both a group name and a group ID.",
            ))
        }
        (Some(id), None) => site.data.group_by_id(id),
        (None, Some(name)) => site.data.group_by_name(name),
        (None, None) => {
            return Err(JiraError::bad_param(
                "groupname",
                "You must specify a group name or group ID.",
            ))
        }
    };
    let group = group.ok_or_else(|| JiraError::not_found("The group does not exist."))?;
    let include_inactive = params.flag("includeInactiveUsers", false)?;
    let start_at = params.start_at()?;
    let max_results = params.max_results(50, 50)?;
    // With inactive members every member id is listed and only the page's accounts are looked
    // up: a page of a group of 40,000 costs a page, not the group.
    let members: Vec<&str> = group
        .members
        .iter()
        .map(String::as_str)
        .filter(|id| include_inactive || site.data.user(id).is_some_and(|u| u.active))
        .collect();
    let link = PageLink {
        base_url: &site.base_url,
        path: "/rest/api/3/group/member",
        params: &params,
    };
    let page = page(members, start_at, max_results, &link)
        .filter_map(|id| site.data.user(id).map(|u| user_wire(&site.base_url, u)));
    Ok(Json(page).into_response())
}

/// `/project/search`, at most 100 per page ("If a value greater than 100 is provided, the
/// `maxResults` parameter will default to 100"), filtered by `keys`, `id`, `query` and
/// `typeKey`; `expand` adds `lead` and `description`.
async fn projects(State(site): SiteState, params: Params) -> Result<Response, JiraError> {
    let start_at = params.start_at()?;
    let max_results = params.max_results(50, 100)?;
    let expand = params.expand();
    let keys = params.all("keys");
    let ids = params.all("id");
    let query = params.first("query").map(str::to_lowercase);
    let types: Vec<&str> = params
        .first("typeKey")
        .map(|t| t.split(',').map(str::trim).collect())
        .unwrap_or_default();
    let values: Vec<&Project> = site
        .data
        .projects
        .iter()
        .filter(|p| keys.is_empty() || keys.contains(&p.key.as_str()))
        .filter(|p| ids.is_empty() || ids.contains(&p.id.as_str()))
        .filter(|p| {
            query.as_ref().is_none_or(|q| {
                p.key.to_lowercase().contains(q) || p.name.to_lowercase().contains(q)
            })
        })
        .filter(|p| types.is_empty() || types.contains(&p.project_type_key.as_str()))
        .collect();
    let link = PageLink {
        base_url: &site.base_url,
        path: "/rest/api/3/project/search",
        params: &params,
    };
    let page = page(values, start_at, max_results, &link).map(|p| project_wire(&site, p, &expand));
    Ok(Json(page).into_response())
}

/// Every project shows the same built-in avatar.
const PROJECT_AVATAR: u32 = 10400;

fn project_wire(site: &Site, project: &Project, expand: &[&str]) -> ProjectWire {
    let base_url = &site.base_url;
    ProjectWire {
        expand: "description,lead,issueTypes,url,projectKeys,permissions,insight",
        self_url: format!("{base_url}/rest/api/3/project/{}", project.id),
        id: project.id.clone(),
        key: project.key.clone(),
        description: expand
            .contains(&"description")
            .then(|| project.description.clone()),
        lead: expand
            .contains(&"lead")
            .then(|| site.data.user(&project.lead_account_id))
            .flatten()
            .map(|u| user_wire(base_url, u)),
        name: project.name.clone(),
        avatar_urls: AvatarUrls::sized(|size| {
            let size = match size {
                16 => "?size=xsmall",
                24 => "?size=small",
                32 => "?size=medium",
                _ => "",
            };
            format!(
                "{base_url}/rest/api/3/universal_avatar/view/type/project/avatar/{PROJECT_AVATAR}{size}"
            )
        }),
        project_type_key: project.project_type_key.clone(),
        simplified: project.simplified,
        style: if project.simplified {
            "next-gen"
        } else {
            "classic"
        },
        is_private: false,
        properties: serde_json::Map::new(),
        uuid: project.uuid.clone(),
    }
}

/// `/project/{projectIdOrKey}/roledetails`. The spec requires *Administer Jira* or *Administer
/// projects* and documents 404 for "the user does not have the necessary permissions for the
/// project".
async fn role_details(
    State(site): SiteState,
    Path(project): Path<String>,
) -> Result<Json<Vec<RoleDetails>>, JiraError> {
    let project = find_project(&site.data, &project)?;
    if !administers(&site, project) {
        return Err(no_project_permission(project));
    }
    let details = project
        .roles
        .iter()
        .map(|role| RoleDetails {
            self_url: role_url(&site.base_url, project, role.id),
            name: role.name.clone(),
            id: role.id,
            description: role.description.clone(),
            admin: role.admin,
            default: role.default,
            role_configurable: true,
            translated_name: role.name.clone(),
            scope: scope(project),
        })
        .collect();
    Ok(Json(details))
}

fn no_project_permission(project: &Project) -> JiraError {
    JiraError::not_found(format!(
        "You cannot view the project roles of project '{}'.",
        project.key
    ))
}

fn role_url(base_url: &str, project: &Project, role_id: i64) -> String {
    format!(
        "{base_url}/rest/api/3/project/{}/role/{role_id}",
        project.id
    )
}

/// `/project/{projectIdOrKey}/role/{id}`: the role with its actors (`excludeInactiveUsers`
/// drops inactive user actors). 404 for an unknown role and, per the spec, when "the user does
/// not have administrative permission".
async fn project_role(
    State(site): SiteState,
    Path((project, role_id)): Path<(String, String)>,
    params: Params,
) -> Result<Json<RoleWire>, JiraError> {
    let role_id: i64 = role_id
        .parse()
        .map_err(|_| JiraError::bad_param("id", format!("'{role_id}' is not a valid role id.")))?;
    let exclude_inactive = params.flag("excludeInactiveUsers", false)?;
    let project = find_project(&site.data, &project)?;
    if !administers(&site, project) {
        return Err(no_project_permission(project));
    }
    let role = project
        .roles
        .iter()
        .find(|r| r.id == role_id)
        .ok_or_else(|| {
            JiraError::not_found(format!("No project role with id '{role_id}' was found."))
        })?;
    let actors = role
        .actors
        .iter()
        .filter(|a| match &a.kind {
            ActorKind::User(id) => {
                !exclude_inactive || site.data.user(id).is_some_and(|u| u.active)
            }
            ActorKind::Group { .. } => true,
        })
        .map(role_actor_wire)
        .collect();
    Ok(Json(RoleWire {
        self_url: role_url(&site.base_url, project, role.id),
        name: role.name.clone(),
        id: role.id,
        description: role.description.clone(),
        actors,
        scope: scope(project),
    }))
}

fn role_actor_wire(actor: &data::RoleActor) -> RoleActorWire {
    match &actor.kind {
        ActorKind::User(account_id) => RoleActorWire {
            id: actor.id,
            display_name: actor.display_name.clone(),
            kind: "atlassian-user-role-actor",
            name: None,
            actor_group: None,
            actor_user: Some(ActorUser {
                account_id: account_id.clone(),
            }),
        },
        ActorKind::Group { group_id, name } => RoleActorWire {
            id: actor.id,
            display_name: actor.display_name.clone(),
            kind: "atlassian-group-role-actor",
            name: Some(name.clone()),
            actor_group: Some(ActorGroup {
                display_name: name.clone(),
                group_id: group_id.clone(),
                name: name.clone(),
            }),
            actor_user: None,
        },
    }
}

fn scheme_wire(base_url: &str, scheme: &data::PermissionScheme, grants: bool) -> SchemeWire {
    let permissions = grants.then(|| {
        scheme
            .grants
            .iter()
            .map(|g| GrantWire {
                id: g.id,
                self_url: format!("{base_url}/rest/api/3/permissionscheme/permission/{}", g.id),
                holder: Holder {
                    kind: g.holder_type.clone(),
                    parameter: g.parameter.clone(),
                    value: g.value.clone(),
                    expand: match g.holder_type.as_str() {
                        "group" => Some("group"),
                        "user" => Some("user"),
                        "projectRole" => Some("projectRole"),
                        _ => None,
                    },
                },
                permission: g.permission.clone(),
            })
            .collect()
    });
    SchemeWire {
        expand: "permissions,user,group,projectRole,field,all",
        id: scheme.id,
        self_url: format!("{base_url}/rest/api/3/permissionscheme/{}", scheme.id),
        name: scheme.name.clone(),
        description: scheme.description.clone(),
        permissions,
    }
}

/// `/project/{projectKeyOrId}/permissionscheme`. 403 without *Administer Jira* or *Administer
/// projects* ("the user does not have permission to view the project's configuration"); 404
/// for team-managed projects, whose permissions are not a shared scheme.
async fn project_permission_scheme(
    State(site): SiteState,
    Path(project): Path<String>,
    params: Params,
) -> Result<Json<SchemeWire>, JiraError> {
    let project = find_project(&site.data, &project)?;
    if !administers(&site, project) {
        return Err(JiraError::forbidden(format!(
            "You do not have permission to view the configuration of project '{}'.",
            project.key
        )));
    }
    let scheme = project
        .permission_scheme_id
        .and_then(|id| site.data.permission_scheme(id))
        .ok_or_else(|| {
            JiraError::not_found(format!(
                "Project '{}' is team-managed and has no permission scheme.",
                project.key
            ))
        })?;
    let grants = !params.expand().is_empty();
    Ok(Json(scheme_wire(&site.base_url, scheme, grants)))
}

/// `/permissionscheme`: "permissions are included when you specify any value" of `expand`.
async fn permission_schemes(State(site): SiteState, params: Params) -> Json<SchemesWire> {
    let grants = !params.expand().is_empty();
    Json(SchemesWire {
        permission_schemes: site
            .data
            .permission_schemes
            .iter()
            .map(|s| scheme_wire(&site.base_url, s, grants))
            .collect(),
    })
}

/// `/application-properties`: an array, or one object with `key`. The spec documents 404 (not
/// 403) for "the user does not have permission to view it".
async fn application_properties(
    State(site): SiteState,
    params: Params,
) -> Result<Response, JiraError> {
    if !site.config.admin {
        return Err(JiraError::not_found(
            "You do not have permission to view application properties.",
        ));
    }
    let wire = |p: &data::ApplicationProperty| PropertyWire {
        id: p.id.clone(),
        key: p.key.clone(),
        value: p.value.clone(),
        name: p.name.clone(),
        desc: p.desc.clone(),
        kind: p.kind.clone(),
        default_value: p.default_value.clone(),
        allowed_values: p.allowed_values.clone(),
    };
    let properties = &site.data.application_properties;
    if let Some(key) = params.first("key") {
        let property = properties.iter().find(|p| p.key == key).ok_or_else(|| {
            JiraError::not_found(format!("The application property '{key}' does not exist."))
        })?;
        return Ok(Json(wire(property)).into_response());
    }
    let filter = params.first("keyFilter");
    let listed: Vec<PropertyWire> = properties
        .iter()
        .filter(|p| filter.is_none_or(|f| matches_key_filter(f, &p.key)))
        .map(wire)
        .collect();
    Ok(Json(listed).into_response())
}

/// `keyFilter` is a regular expression in Jira; the tenant understands the form the spec's
/// example uses: literal text with `.*` wildcards (`jira.lf.*`), matched against the whole key.
fn matches_key_filter(filter: &str, key: &str) -> bool {
    let parts: Vec<&str> = filter.split(".*").collect();
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return false;
    };
    if parts.len() == 1 {
        return key == *first;
    }
    if !key.starts_with(first) || key.len() < first.len() + last.len() || !key.ends_with(last) {
        return false;
    }
    let mut rest = &key[first.len()..key.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

/// `/applicationrole`: 403 "if the user is not an administrator".
async fn application_roles(
    State(site): SiteState,
) -> Result<Json<Vec<ApplicationRoleWire>>, JiraError> {
    if !site.config.admin {
        return Err(JiraError::forbidden(
            "You do not have permission to view application roles.",
        ));
    }
    let group_name = |name: &String| {
        let id = site
            .data
            .group_by_name(name)
            .map(|g| g.group_id.clone())
            .unwrap_or_default();
        GroupName {
            self_url: format!("{}/rest/api/3/group?groupId={id}", site.base_url),
            group_id: id,
            name: name.clone(),
        }
    };
    let roles = site
        .data
        .application_roles
        .iter()
        .map(|r| ApplicationRoleWire {
            key: r.key.clone(),
            groups: r.groups.clone(),
            group_details: r.groups.iter().map(group_name).collect(),
            name: r.name.clone(),
            default_groups: r.default_groups.clone(),
            default_groups_details: r.default_groups.iter().map(group_name).collect(),
            selected_by_default: false,
            defined: true,
            number_of_seats: r.seats,
            remaining_seats: r.seats - r.user_count,
            user_count: r.user_count,
            user_count_description: format!("{} users", r.user_count),
            has_unlimited_seats: false,
            platform: r.platform,
        })
        .collect();
    Ok(Json(roles))
}

/// The old issue search was removed (developer.atlassian.com/changelog/#CHANGE-2046); Jira now
/// answers 410 Gone and points to `/search/jql`.
async fn removed_search() -> JiraError {
    JiraError::new(
        StatusCode::GONE,
        "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. \
         A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046",
    )
}

async fn unknown() -> JiraError {
    JiraError::not_found("The requested resource could not be found.")
}

async fn wrong_method() -> JiraError {
    JiraError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "The HTTP method is not supported for this resource.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_windows_without_short_pages() {
        assert_eq!(users_window(0, 10, 30, false), 0..10);
        assert_eq!(users_window(10, 10, 30, false), 10..20);
        assert_eq!(users_window(25, 10, 30, false), 25..30);
        assert_eq!(users_window(30, 10, 30, false), 0..0);
    }

    #[test]
    fn every_third_window_is_short_but_never_empty() {
        assert_eq!(users_window(10, 10, 30, true), 10..18);
        assert_eq!(users_window(0, 10, 30, true), 0..10);
        assert_eq!(users_window(1, 1, 30, true), 1..2);
        assert_eq!(users_window(2, 2, 30, true), 2..3);
        // The last, partial window is served whole.
        assert_eq!(users_window(12, 10, 20, true), 12..20);
    }

    #[test]
    fn advancing_by_received_reaches_everyone() {
        for total in 0..60 {
            for max in 1..12 {
                let mut seen = Vec::new();
                let mut start = 0;
                loop {
                    let window = users_window(start, max, total, true);
                    if window.is_empty() {
                        break;
                    }
                    start += window.len();
                    seen.extend(window);
                }
                assert_eq!(seen, (0..total).collect::<Vec<_>>(), "{total} {max}");
            }
        }
    }

    #[test]
    fn query_components_are_percent_encoded() {
        assert_eq!(encode("jira-software users"), "jira-software%20users");
        assert_eq!(encode("712020:ab&c"), "712020%3Aab%26c");
    }

    #[test]
    fn key_filter_understands_dot_star() {
        assert!(matches_key_filter("jira.lf.*", "jira.lf.date.dmy"));
        assert!(!matches_key_filter("jira.lf.*", "jira.clone.prefix"));
        assert!(matches_key_filter("jira.clone.prefix", "jira.clone.prefix"));
        assert!(matches_key_filter(
            ".*date.*",
            "jira.date.picker.java.format"
        ));
        assert!(!matches_key_filter(
            ".*date",
            "jira.date.picker.java.format"
        ));
    }
}
