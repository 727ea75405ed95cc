//! Jira Cloud platform (REST v3): users, groups and their members, projects with their roles,
//! role actors and permission scheme, permission schemes with every grant, application
//! properties and application roles (licences).
//!
//! Endpoints (REFERENCE §1): `GET /rest/api/3/users/search`, `/group/bulk`, `/group/member`,
//! `/project/search`, `/project/{id}/roledetails`, `/project/{id}/role/{id}`,
//! `/project/{id}/permissionscheme`, `/permissionscheme`, `/application-properties`,
//! `/applicationrole`; and the admin settings no spec documents: the Universal Plugin Manager's
//! `GET /rest/plugins/1.0/settings` and the global mail settings
//! `GET /rest/jira-email-processor-plugin/1.0/mail/global/settings` (REFERENCE §4.2; both read
//! leniently). Never the removed `POST /rest/api/3/search` (410 since CHANGE-2046).
//!
//! Each family runs concurrently with the others; per-group and per-project requests start as
//! soon as the page naming the group or project arrives. Jira's group listing comes first in the
//! group precedence ([`crate::join::GroupClaims`]).

mod wire;

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::pin::pin;

use futures_util::{stream, FutureExt, TryStreamExt};

use crate::coverage::Family;
use crate::engine::{all, Abort, Ctx, FamilyRun, Item};
use crate::http::page::{OffsetPager, PageBeanPager};
use crate::http::ApiError;
use crate::join::{Lister, Side};
use crate::record::Record;

const PRODUCT: &str = "jira";

static USERS: Family = Family {
    product: PRODUCT,
    name: "jira.users",
    endpoints: &["GET /rest/api/3/users/search"],
    needs: "Browse users and groups (global permission); OAuth scope read:jira-user",
};
static GROUPS: Family = Family {
    product: PRODUCT,
    name: "jira.groups",
    endpoints: &["GET /rest/api/3/group/bulk"],
    needs: "Browse users and groups (global permission); OAuth scope read:jira-user",
};
static GROUP_MEMBERS: Family = Family {
    product: PRODUCT,
    name: "jira.group_members",
    endpoints: &["GET /rest/api/3/group/member"],
    needs: "Browse users and groups or Administer Jira (global permission); OAuth scope manage:jira-configuration",
};
static PROJECTS: Family = Family {
    product: PRODUCT,
    name: "jira.projects",
    endpoints: &["GET /rest/api/3/project/search"],
    needs: "Browse projects (project permission); OAuth scope read:jira-work",
};
static PROJECT_ROLES: Family = Family {
    product: PRODUCT,
    name: "jira.project_roles",
    endpoints: &[
        "GET /rest/api/3/project/{projectIdOrKey}/roledetails",
        "GET /rest/api/3/project/{projectIdOrKey}/role/{id}",
    ],
    needs: "Administer projects (project permission) or Administer Jira (global permission); OAuth scope read:jira-work",
};
static PROJECT_PERMISSION_SCHEMES: Family = Family {
    product: PRODUCT,
    name: "jira.project_permission_schemes",
    endpoints: &["GET /rest/api/3/project/{projectKeyOrId}/permissionscheme"],
    needs: "Administer projects (project permission) or Administer Jira (global permission); OAuth scope read:jira-work",
};
static PERMISSION_SCHEMES: Family = Family {
    product: PRODUCT,
    name: "jira.permission_schemes",
    endpoints: &["GET /rest/api/3/permissionscheme?expand=all"],
    needs: "Permission to access Jira; OAuth scope read:jira-work",
};
static APPLICATION_PROPERTIES: Family = Family {
    product: PRODUCT,
    name: "jira.application_properties",
    endpoints: &["GET /rest/api/3/application-properties"],
    needs: "Administer Jira (global permission); OAuth scope manage:jira-configuration",
};
static APPLICATION_ROLES: Family = Family {
    product: PRODUCT,
    name: "jira.application_roles",
    endpoints: &["GET /rest/api/3/applicationrole"],
    needs: "Administer Jira (global permission); OAuth scope manage:jira-configuration",
};

static UPM_SETTINGS: Family = Family {
    product: PRODUCT,
    name: "jira.upm_settings",
    endpoints: &["GET /rest/plugins/1.0/settings"],
    needs:
        "Administer Jira (global permission) or site admin (undocumented endpoint: no OAuth scope)",
};
static MAIL_SETTINGS: Family = Family {
    product: PRODUCT,
    name: "jira.mail_settings",
    endpoints: &["GET /rest/jira-email-processor-plugin/1.0/mail/global/settings"],
    needs: "Administer Jira (global permission) (undocumented endpoint: no OAuth scope)",
};

/// Every family of the product, for documentation and `--help`.
pub(crate) static FAMILIES: [&Family; 11] = [
    &USERS,
    &GROUPS,
    &GROUP_MEMBERS,
    &PROJECTS,
    &PROJECT_ROLES,
    &PROJECT_PERMISSION_SCHEMES,
    &PERMISSION_SCHEMES,
    &APPLICATION_PROPERTIES,
    &APPLICATION_ROLES,
    &UPM_SETTINGS,
    &MAIL_SETTINGS,
];

/// The documented maximum page sizes (REFERENCE §1.1–1.4); Jira clamps larger requests anyway.
const USERS_PAGE: u32 = 1000;
const GROUPS_PAGE: u32 = 1000;
const MEMBERS_PAGE: u32 = 50;
const PROJECTS_PAGE: u32 = 100;

/// users/search has no end marker and may return pages of accounts already seen; this many such
/// pages in a row means the listing is not advancing.
const MAX_PAGES_WITHOUT_NEW_ACCOUNTS: u32 = 5;

/// Collects every Jira family. Returns early only when the whole run must stop.
pub(crate) async fn collect(ctx: &Ctx) -> Result<(), Abort> {
    all(vec![
        users(ctx).boxed_local(),
        groups(ctx).boxed_local(),
        projects(ctx).boxed_local(),
        permission_schemes(ctx).boxed_local(),
        application_properties(ctx).boxed_local(),
        application_roles(ctx).boxed_local(),
        // UPM answers its own media type only (REFERENCE §4.2).
        lenient_settings(
            ctx,
            &UPM_SETTINGS,
            "/rest/plugins/1.0/settings",
            "application/vnd.atl.plugins+json",
            "jira.upm",
        )
        .boxed_local(),
        lenient_settings(
            ctx,
            &MAIL_SETTINGS,
            "/rest/jira-email-processor-plugin/1.0/mail/global/settings",
            "application/json",
            "jira.mail",
        )
        .boxed_local(),
    ])
    .await
}

/// Every account: active and inactive, `atlassian`, `app` and `customer`. The listing is a bare
/// array: keep paging until an empty page, and never emit an account twice.
async fn users(ctx: &Ctx) -> Result<(), Abort> {
    const PATH: &str = "/rest/api/3/users/search";
    let users = ctx.family(&USERS);
    let pager = OffsetPager::new(PATH, Vec::new(), USERS_PAGE);
    let mut pages = Box::pin(users.pages::<wire::User, _>(pager));
    let fingerprints = RandomState::new();
    let mut seen = HashSet::new();
    let mut pages_without_new = 0;
    // Where the page started: the pager moves on by the accounts received.
    let mut next_start = 0;
    while let Some(page) = pages.try_next().await? {
        let start = next_start;
        next_start += page.len();
        let mut new = 0;
        for user in page {
            let Some(account_id) = user.account_id.as_deref() else {
                tracing::warn!("jira.users: skipped an account without accountId");
                continue;
            };
            let record = user.record(&ctx.ns, account_id);
            // The join writes each account once; the listing only needs to know whether it
            // moves on, and counts its accounts, so a fingerprint of each is enough here.
            if seen.insert(fingerprints.hash_one(account_id)) {
                new += 1;
                users.emit_user(Side::Jira, record).await?;
            } else {
                ctx.out.send(Item::User(Side::Jira, record)).await?;
            }
        }
        pages_without_new = if new == 0 { pages_without_new + 1 } else { 0 };
        if pages_without_new >= MAX_PAGES_WITHOUT_NEW_ACCOUNTS {
            let reason =
                format!("{pages_without_new} pages in a row brought no account not already seen");
            let query = [
                ("startAt", start.to_string()),
                ("maxResults", USERS_PAGE.to_string()),
            ];
            let url = ctx.client.url(PATH, &query).to_string();
            users
                .tally()
                .fail(&ApiError::pagination("GET", &url, reason));
            break;
        }
    }
    drop(pages);
    users.finish().await
}

/// Every group, and each group's members (inactive ones included) as soon as its page arrives.
/// Jira lists groups first: every group it lists is its to write, members included.
async fn groups(ctx: &Ctx) -> Result<(), Abort> {
    let groups = ctx.family(&GROUPS);
    let members = ctx.family(&GROUP_MEMBERS);
    let turn = ctx.groups.turn(Lister::Jira).await;
    let pager = PageBeanPager::new("/rest/api/3/group/bulk", Vec::new(), GROUPS_PAGE);
    let listing = turn.claiming(groups.list::<wire::Group, _>(pager), |group| {
        group.record_id(&ctx.ns)
    });
    members
        .each(listing, |group| {
            let (groups, members) = (&groups, &members);
            async move {
                groups.emit(Record::Group(group.record(&ctx.ns))).await?;
                group_members(ctx, members, &group).await
            }
        })
        .await?;
    groups.finish().await?;
    members.finish().await
}

/// One group's members. `includeInactiveUsers=true`: Jira hides deactivated members otherwise,
/// and those are exactly the ones an access review looks for.
async fn group_members(
    ctx: &Ctx,
    members: &FamilyRun<'_>,
    group: &wire::Group,
) -> Result<(), Abort> {
    let selector = match &group.group_id {
        Some(id) => ("groupId", id.clone()),
        None => ("groupname", group.name.clone()),
    };
    let query = vec![selector, ("includeInactiveUsers", "true".to_string())];
    let pager = PageBeanPager::new("/rest/api/3/group/member", query, MEMBERS_PAGE);
    let mut listing = pin!(members.list::<wire::User, _>(pager));
    let mut seen = HashSet::new();
    while let Some(member) = listing.try_next().await? {
        let Some(account_id) = member.account_id.as_deref() else {
            continue;
        };
        if seen.insert(account_id.to_string()) {
            let edge = group.membership(&ctx.ns, &member, account_id);
            members.emit(Record::Membership(edge)).await?;
        }
    }
    Ok(())
}

/// Every project, each with its roles, role actors and permission scheme.
async fn projects(ctx: &Ctx) -> Result<(), Abort> {
    let projects = ctx.family(&PROJECTS);
    let roles = ctx.family(&PROJECT_ROLES);
    let schemes = ctx.family(&PROJECT_PERMISSION_SCHEMES);
    let query = vec![("expand", "description,lead".to_string())];
    let pager = PageBeanPager::new("/rest/api/3/project/search", query, PROJECTS_PAGE);
    projects
        .each(projects.list::<wire::Project, _>(pager), |project| {
            let (projects, roles, schemes) = (&projects, &roles, &schemes);
            async move {
                let (scheme_id, ()) = tokio::try_join!(
                    project_permission_scheme(ctx, schemes, &project),
                    project_roles(ctx, roles, &project),
                )?;
                projects
                    .emit(Record::Resource(project.record(&ctx.ns, scheme_id)))
                    .await
            }
        })
        .await?;
    projects.finish().await?;
    roles.finish().await?;
    schemes.finish().await
}

/// The id of the permission scheme a company-managed project uses. Team-managed projects have
/// none (their access is set by roles only), so they are not asked. The scheme's record comes
/// from the permission schemes family; this one counts the projects it linked.
async fn project_permission_scheme(
    ctx: &Ctx,
    schemes: &FamilyRun<'_>,
    project: &wire::Project,
) -> Result<Option<String>, Abort> {
    if project.team_managed() {
        return Ok(None);
    }
    let path = format!("/rest/api/3/project/{}/permissionscheme", project.id);
    let scheme = schemes
        .answer(ctx.client.get::<wire::PermissionScheme>(&path, &[]))
        .await?;
    if scheme.is_some() {
        schemes.tally().records(1);
    }
    Ok(scheme.map(|scheme| scheme.id))
}

/// A project's roles and each role's actors (users and groups; group members come from the
/// groups family, not from here). The roles' actors are asked for all at once: one request per
/// role is the only way Jira gives them.
async fn project_roles(
    ctx: &Ctx,
    roles: &FamilyRun<'_>,
    project: &wire::Project,
) -> Result<(), Abort> {
    let path = format!("/rest/api/3/project/{}/roledetails", project.id);
    let Some(details) = roles
        .answer(ctx.client.get::<Vec<wire::ProjectRole>>(&path, &[]))
        .await?
    else {
        return Ok(());
    };
    let details = details
        .into_iter()
        .filter_map(|role| role.id.clone().map(|id| Ok((id, role))));
    roles
        .each(stream::iter(details), |(role_id, role)| async move {
            roles
                .emit(Record::Role(role.record(&ctx.ns, project, &role_id)))
                .await?;
            role_actors(ctx, roles, &project.id, &role_id).await
        })
        .await
}

/// One project role's actors, as `role_actor` edges.
async fn role_actors(
    ctx: &Ctx,
    roles: &FamilyRun<'_>,
    project_id: &str,
    role_id: &str,
) -> Result<(), Abort> {
    let path = format!("/rest/api/3/project/{project_id}/role/{role_id}");
    let Some(full) = roles
        .answer(ctx.client.get::<wire::ProjectRole>(&path, &[]))
        .await?
    else {
        return Ok(());
    };
    for actor in &full.actors {
        match actor.membership(&ctx.ns, project_id, role_id) {
            Some(edge) => roles.emit(Record::Membership(edge)).await?,
            None => tracing::warn!(
                "jira.project_roles: skipped an actor of role {role_id} in project {project_id} that names no user or group"
            ),
        }
    }
    Ok(())
}

/// Every permission scheme with every grant (`expand=all` includes the grants).
async fn permission_schemes(ctx: &Ctx) -> Result<(), Abort> {
    let family = ctx.family(&PERMISSION_SCHEMES);
    let query = [("expand", "all".to_string())];
    let answer = family
        .answer(
            ctx.client
                .get::<wire::PermissionSchemes>("/rest/api/3/permissionscheme", &query),
        )
        .await?;
    for scheme in answer.iter().flat_map(|a| &a.permission_schemes) {
        family
            .emit(Record::Resource(scheme.record(&ctx.ns)))
            .await?;
        let grants = scheme.grants(&ctx.ns);
        let skipped = scheme.permissions.len() - grants.len();
        if skipped > 0 {
            tracing::warn!(
                "jira.permission_schemes: skipped {skipped} grants without id or holder in scheme {}",
                scheme.id
            );
        }
        for grant in grants {
            family.emit(Record::Permission(grant)).await?;
        }
    }
    family.finish().await
}

/// Jira's editable application properties (admin only).
async fn application_properties(ctx: &Ctx) -> Result<(), Abort> {
    let family = ctx.family(&APPLICATION_PROPERTIES);
    let properties = family
        .answer(
            ctx.client
                .get::<Vec<wire::ApplicationProperty>>("/rest/api/3/application-properties", &[]),
        )
        .await?
        .unwrap_or_default();
    for setting in properties.iter().filter_map(|p| p.record(&ctx.ns)) {
        family.emit(Record::Setting(setting)).await?;
    }
    family.finish().await
}

/// Application roles: the product licences, their seat counts and the groups granting them.
async fn application_roles(ctx: &Ctx) -> Result<(), Abort> {
    let family = ctx.family(&APPLICATION_ROLES);
    let roles = family
        .answer(
            ctx.client
                .get::<Vec<wire::ApplicationRole>>("/rest/api/3/applicationrole", &[]),
        )
        .await?
        .unwrap_or_default();
    for role in &roles {
        family.emit(Record::Role(role.record(&ctx.ns))).await?;
        for edge in role.memberships(&ctx.ns) {
            family.emit(Record::Membership(edge)).await?;
        }
    }
    family.finish().await
}

/// An admin settings endpoint without a spec (UPM, mail): every key it answers becomes a
/// setting of `source`. Admin only: a 403 is coverage naming the permission.
async fn lenient_settings(
    ctx: &Ctx,
    family: &'static Family,
    path: &str,
    accept: &'static str,
    source: &str,
) -> Result<(), Abort> {
    let family = ctx.family(family);
    let body = family
        .answer(ctx.client.get_as::<serde_json::Value>(path, accept))
        .await?;
    if let Some(body) = body {
        for setting in crate::settings::key_values(&ctx.ns, source, &body) {
            family.emit(Record::Setting(setting)).await?;
        }
    }
    family.finish().await
}
