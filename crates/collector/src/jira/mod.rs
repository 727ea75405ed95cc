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
//! soon as the page naming the group or project arrives.

mod wire;

use std::collections::HashSet;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::collect::{failed, for_each_concurrent, join_all, Abort, Ctx, Page};
use crate::coverage::{Family, Tally};
use crate::http::page::{OffsetPager, PageBeanPager, Pager};
use crate::http::ApiError;
use crate::record::Record;
use crate::stitch::Side;

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
pub static FAMILIES: [&Family; 11] = [
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

/// Items queued between a listing and its per-item workers.
const QUEUE: usize = 256;

/// Collects every Jira family. Returns early only when the whole run must stop.
pub async fn collect(ctx: &Ctx) -> Result<(), Abort> {
    tokio::try_join!(
        users(ctx),
        groups(ctx),
        projects(ctx),
        permission_schemes(ctx),
        application_properties(ctx),
        application_roles(ctx),
        // UPM answers its own media type only (REFERENCE §4.2).
        lenient_settings(
            ctx,
            &UPM_SETTINGS,
            "/rest/plugins/1.0/settings",
            "application/vnd.atl.plugins+json",
            "jira.upm",
        ),
        lenient_settings(
            ctx,
            &MAIL_SETTINGS,
            "/rest/jira-email-processor-plugin/1.0/mail/global/settings",
            "application/json",
            "jira.mail",
        ),
    )?;
    Ok(())
}

/// Every account: active and inactive, `atlassian`, `app` and `customer`. The listing is a bare
/// array: keep paging until an empty page, and never emit an account twice.
async fn users(ctx: &Ctx) -> Result<(), Abort> {
    let _done = ctx.shared.jira_users.reached_on_drop();
    let tally = Tally::new(&USERS);
    let mut pager = OffsetPager::new("/rest/api/3/users/search", Vec::new(), USERS_PAGE);
    let mut pages_without_new = 0;
    loop {
        let url = pager.current_url(&ctx.client);
        let page = match pager.next::<wire::User>(&ctx.client).await {
            Ok(Some(page)) => page,
            Ok(None) => break,
            Err(error) => {
                failed(&tally, error)?;
                break;
            }
        };
        tally.ok();
        let mut new = 0;
        for user in page {
            let Some(account_id) = user.account_id.as_deref() else {
                tracing::warn!("jira.users: skipped an account without accountId");
                continue;
            };
            // Shared with JSM, which waits for this listing and skips the customers it wrote.
            if !ctx.shared.site_users.first_sight(account_id) {
                continue;
            }
            new += 1;
            let record = user.record(&ctx.ns, account_id);
            ctx.emit_user(Side::Jira, record).await?;
        }
        tally.records(new);
        pages_without_new = if new == 0 { pages_without_new + 1 } else { 0 };
        if pages_without_new >= MAX_PAGES_WITHOUT_NEW_ACCOUNTS {
            let reason =
                format!("{pages_without_new} pages in a row brought no account not already seen");
            tally.fail(&ApiError::pagination("GET", &url, reason));
            break;
        }
    }
    ctx.finish(&tally).await
}

/// Every group, and each group's members (inactive ones included) as soon as its page arrives.
/// Jira lists groups first: every group it lists is its to write, members included.
async fn groups(ctx: &Ctx) -> Result<(), Abort> {
    let tally = Tally::new(&GROUPS);
    let members = Arc::new(Tally::new(&GROUP_MEMBERS));
    let (tx, rx) = mpsc::channel::<wire::Group>(QUEUE);
    let listing = async {
        let _listed = ctx.shared.jira_groups_listed.reached_on_drop();
        let mut pager = PageBeanPager::new("/rest/api/3/group/bulk", Vec::new(), GROUPS_PAGE);
        while let Page::Items(page) = ctx.next_page::<wire::Group>(&mut pager, &tally).await? {
            for group in page {
                let record = group.record(&ctx.ns);
                // A group a listing repeats is written, and its members listed, once.
                if !ctx.groups.mark_site_listed(&record.id) {
                    continue;
                }
                if ctx.groups.first_sight(&record.id) {
                    ctx.out.emit(Record::Group(record)).await?;
                    tally.records(1);
                }
                // A closed queue means the workers stopped; their error ends the run.
                let _ = tx.send(group).await;
            }
        }
        drop(tx);
        Ok(())
    };
    let workers = for_each_concurrent(rx, ctx.workers, |group| {
        let ctx = ctx.clone();
        let members = Arc::clone(&members);
        async move { group_members(&ctx, &group, &members).await }
    });
    tokio::try_join!(listing, workers)?;
    ctx.finish(&tally).await?;
    ctx.finish(&members).await
}

/// One group's members. `includeInactiveUsers=true`: Jira hides deactivated members otherwise,
/// and those are exactly the ones an access review looks for.
async fn group_members(ctx: &Ctx, group: &wire::Group, tally: &Tally) -> Result<(), Abort> {
    let selector = match &group.group_id {
        Some(id) => ("groupId", id.clone()),
        None => ("groupname", group.name.clone()),
    };
    let query = vec![selector, ("includeInactiveUsers", "true".to_string())];
    let mut pager = PageBeanPager::new("/rest/api/3/group/member", query, MEMBERS_PAGE);
    let mut seen = HashSet::new();
    loop {
        let page = match pager.next::<wire::User>(&ctx.client).await {
            Ok(Some(page)) => page,
            Ok(None) => break,
            Err(error) => return failed(tally, error),
        };
        tally.ok();
        for member in page {
            let Some(account_id) = member.account_id.as_deref() else {
                continue;
            };
            if seen.insert(account_id.to_string()) {
                let edge = group.membership(&ctx.ns, &member, account_id);
                ctx.out.emit(Record::Membership(edge)).await?;
                tally.records(1);
            }
        }
    }
    Ok(())
}

/// Every project, each with its roles, role actors and permission scheme.
async fn projects(ctx: &Ctx) -> Result<(), Abort> {
    let tally = Arc::new(Tally::new(&PROJECTS));
    let roles = Arc::new(Tally::new(&PROJECT_ROLES));
    let schemes = Arc::new(Tally::new(&PROJECT_PERMISSION_SCHEMES));
    let (tx, rx) = mpsc::channel::<wire::Project>(QUEUE);
    let listing = async {
        let query = vec![("expand", "description,lead".to_string())];
        let mut pager = PageBeanPager::new("/rest/api/3/project/search", query, PROJECTS_PAGE);
        while let Page::Items(page) = ctx.next_page::<wire::Project>(&mut pager, &tally).await? {
            for project in page {
                let _ = tx.send(project).await;
            }
        }
        drop(tx);
        Ok(())
    };
    let workers = for_each_concurrent(rx, ctx.workers, |project| {
        let ctx = ctx.clone();
        let (tally, roles, schemes) =
            (Arc::clone(&tally), Arc::clone(&roles), Arc::clone(&schemes));
        async move {
            let (scheme_id, ()) = tokio::try_join!(
                project_permission_scheme(&ctx, &project, &schemes),
                project_roles(&ctx, &project, &roles),
            )?;
            let record = project.record(&ctx.ns, scheme_id);
            ctx.out.emit(Record::Resource(record)).await?;
            tally.records(1);
            Ok(())
        }
    });
    tokio::try_join!(listing, workers)?;
    ctx.finish(&tally).await?;
    ctx.finish(&roles).await?;
    ctx.finish(&schemes).await
}

/// The id of the permission scheme a company-managed project uses. Team-managed projects have
/// none (their access is set by roles only), so they are not asked.
async fn project_permission_scheme(
    ctx: &Ctx,
    project: &wire::Project,
    tally: &Tally,
) -> Result<Option<String>, Abort> {
    if project.team_managed() {
        return Ok(None);
    }
    let path = format!("/rest/api/3/project/{}/permissionscheme", project.id);
    match ctx.client.get::<wire::PermissionScheme>(&path, &[]).await {
        Ok(scheme) => {
            tally.ok();
            tally.records(1);
            Ok(Some(scheme.id))
        }
        Err(error) => failed(tally, error).map(|()| None),
    }
}

/// A project's roles and each role's actors (users and groups; group members come from the
/// groups family, not from here). The roles' actors are asked for all at once: one request per
/// role is the only way Jira gives them.
async fn project_roles(
    ctx: &Ctx,
    project: &wire::Project,
    tally: &Arc<Tally>,
) -> Result<(), Abort> {
    let path = format!("/rest/api/3/project/{}/roledetails", project.id);
    let details = match ctx.client.get::<Vec<wire::ProjectRole>>(&path, &[]).await {
        Ok(details) => details,
        Err(error) => return failed(tally, error),
    };
    tally.ok();
    let mut actors = JoinSet::new();
    for role in details {
        let Some(role_id) = role.id.clone() else {
            continue;
        };
        ctx.out
            .emit(Record::Role(role.record(&ctx.ns, project, &role_id)))
            .await?;
        tally.records(1);
        let (ctx, tally, project_id) = (ctx.clone(), Arc::clone(tally), project.id.clone());
        actors.spawn(async move { role_actors(&ctx, &project_id, &role_id, &tally).await });
    }
    join_all(actors).await
}

/// One project role's actors, as `role_actor` edges.
async fn role_actors(
    ctx: &Ctx,
    project_id: &str,
    role_id: &str,
    tally: &Tally,
) -> Result<(), Abort> {
    let path = format!("/rest/api/3/project/{project_id}/role/{role_id}");
    let full = match ctx.client.get::<wire::ProjectRole>(&path, &[]).await {
        Ok(full) => full,
        Err(error) => return failed(tally, error),
    };
    tally.ok();
    for actor in &full.actors {
        match actor.membership(&ctx.ns, project_id, role_id) {
            Some(edge) => {
                ctx.out.emit(Record::Membership(edge)).await?;
                tally.records(1);
            }
            None => tracing::warn!(
                "jira.project_roles: skipped an actor of role {role_id} in project {project_id} that names no user or group"
            ),
        }
    }
    Ok(())
}

/// Every permission scheme with every grant (`expand=all` includes the grants).
async fn permission_schemes(ctx: &Ctx) -> Result<(), Abort> {
    let tally = Tally::new(&PERMISSION_SCHEMES);
    let query = [("expand", "all".to_string())];
    match ctx
        .client
        .get::<wire::PermissionSchemes>("/rest/api/3/permissionscheme", &query)
        .await
    {
        Ok(schemes) => {
            tally.ok();
            for scheme in &schemes.permission_schemes {
                ctx.out
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
                tally.records(1 + grants.len() as u64);
                for grant in grants {
                    ctx.out.emit(Record::Permission(grant)).await?;
                }
            }
        }
        Err(error) => failed(&tally, error)?,
    }
    ctx.finish(&tally).await
}

/// Jira's editable application properties (admin only).
async fn application_properties(ctx: &Ctx) -> Result<(), Abort> {
    let tally = Tally::new(&APPLICATION_PROPERTIES);
    match ctx
        .client
        .get::<Vec<wire::ApplicationProperty>>("/rest/api/3/application-properties", &[])
        .await
    {
        Ok(properties) => {
            tally.ok();
            for setting in properties.iter().filter_map(|p| p.record(&ctx.ns)) {
                ctx.out.emit(Record::Setting(setting)).await?;
                tally.records(1);
            }
        }
        Err(error) => failed(&tally, error)?,
    }
    ctx.finish(&tally).await
}

/// Application roles: the product licences, their seat counts and the groups granting them.
async fn application_roles(ctx: &Ctx) -> Result<(), Abort> {
    let tally = Tally::new(&APPLICATION_ROLES);
    match ctx
        .client
        .get::<Vec<wire::ApplicationRole>>("/rest/api/3/applicationrole", &[])
        .await
    {
        Ok(roles) => {
            tally.ok();
            for role in &roles {
                ctx.out.emit(Record::Role(role.record(&ctx.ns))).await?;
                tally.records(1);
                for edge in role.memberships(&ctx.ns) {
                    ctx.out.emit(Record::Membership(edge)).await?;
                    tally.records(1);
                }
            }
        }
        Err(error) => failed(&tally, error)?,
    }
    ctx.finish(&tally).await
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
    let tally = Tally::new(family);
    match ctx.client.get_as::<serde_json::Value>(path, accept).await {
        Ok(body) => {
            tally.ok();
            for setting in crate::settings::key_values(&ctx.ns, source, &body) {
                ctx.out.emit(Record::Setting(setting)).await?;
                tally.records(1);
            }
        }
        Err(error) => failed(&tally, error)?,
    }
    ctx.finish(&tally).await
}
