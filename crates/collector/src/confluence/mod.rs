//! Confluence Cloud: groups and their members, spaces with every permission assignment, site
//! permissions, audit-log retention, the Universal Plugin Manager's settings and the audit log.
//!
//! Endpoints (REFERENCE §4): v1 `GET /wiki/rest/api/group`,
//! `/wiki/rest/api/group/{groupId}/membersByGroupId`, `/wiki/rest/api/audit/retention`,
//! `/wiki/rest/api/audit`; v2 `GET /wiki/api/v2/spaces`, `/wiki/api/v2/spaces/{id}/permissions`;
//! the undocumented UPM `GET /wiki/rest/plugins/1.0/settings`; and GraphQL for site permissions,
//! `POST /cgraphql` first and the public gateway `POST /gateway/api/graphql` when Atlassian
//! blocks the private endpoint (`OperationBlocked`).
//!
//! Groups are the site's: the same ids as Jira's, so edges stitch to the same `user` and
//! `group` records; a group Jira already emitted is not emitted again (see
//! [`crate::join::GroupClaims`]). Settings and the audit log need *Confluence Administrator*:
//! a 403 there is a coverage record, never a failed run.

mod wire;

use std::collections::HashSet;
use std::pin::pin;

use futures_util::{FutureExt, TryStreamExt};

use crate::coverage::Family;
use crate::engine::{all, Abort, Ctx, FamilyRun};
use crate::http::page::{LinkPager, V1Pager};
use crate::http::{ApiError, ErrorKind};
use crate::join::Lister;
use crate::record::{Coverage, Record};

const PRODUCT: &str = "confluence";

static GROUPS: Family = Family {
    product: PRODUCT,
    name: "confluence.groups",
    endpoints: &["GET /wiki/rest/api/group"],
    needs: "Can use (Confluence global permission); OAuth scope read:confluence-groups",
};
static GROUP_MEMBERS: Family = Family {
    product: PRODUCT,
    name: "confluence.group_members",
    endpoints: &["GET /wiki/rest/api/group/{groupId}/membersByGroupId"],
    needs: "Can use (Confluence global permission); OAuth scope read:confluence-groups",
};
static SPACES: Family = Family {
    product: PRODUCT,
    name: "confluence.spaces",
    endpoints: &["GET /wiki/api/v2/spaces"],
    needs: "Can use (Confluence global permission), and view permission on each space; OAuth scope read:space:confluence",
};
static SPACE_PERMISSIONS: Family = Family {
    product: PRODUCT,
    name: "confluence.space_permissions",
    endpoints: &["GET /wiki/api/v2/spaces/{id}/permissions"],
    needs: "View permission on the space; OAuth scope read:space:confluence",
};
static SITE_PERMISSIONS: Family = Family {
    product: PRODUCT,
    name: "confluence.site_permissions",
    endpoints: &["POST /cgraphql", "POST /gateway/api/graphql"],
    needs: "Confluence Administrator (global permission)",
};
static AUDIT_RETENTION: Family = Family {
    product: PRODUCT,
    name: "confluence.audit_retention",
    endpoints: &["GET /wiki/rest/api/audit/retention"],
    needs: "Confluence Administrator (global permission); OAuth scope read:audit-log:confluence",
};
static UPM_SETTINGS: Family = Family {
    product: PRODUCT,
    name: "confluence.upm_settings",
    endpoints: &["GET /wiki/rest/plugins/1.0/settings"],
    needs: "Confluence Administrator or site admin (undocumented endpoint: no OAuth scope)",
};
static AUDIT: Family = Family {
    product: PRODUCT,
    name: "confluence.audit",
    endpoints: &["GET /wiki/rest/api/audit"],
    needs: "Confluence Administrator (global permission); OAuth scope read:audit-log:confluence",
};

/// Every family of the product, for documentation and `--help`.
pub(crate) static FAMILIES: [&Family; 8] = [
    &GROUPS,
    &GROUP_MEMBERS,
    &SPACES,
    &SPACE_PERMISSIONS,
    &SITE_PERMISSIONS,
    &AUDIT_RETENTION,
    &UPM_SETTINGS,
    &AUDIT,
];

/// The spec's maxima: 200 for v1 groups and members (larger is a 400), 250 for v2 listings,
/// 1000 for the audit log.
const GROUPS_PAGE: u32 = 200;
const MEMBERS_PAGE: u32 = 200;
const SPACES_PAGE: u32 = 250;
const SPACE_PERMISSIONS_PAGE: u32 = 250;
const AUDIT_PAGE: u32 = 1000;

/// UPM answers its own media type only (REFERENCE §4.2).
const UPM_MEDIA_TYPE: &str = "application/vnd.atl.plugins+json";

/// Collects every Confluence family. Returns early only when the whole run must stop.
pub(crate) async fn collect(ctx: &Ctx) -> Result<(), Abort> {
    all(vec![
        groups(ctx).boxed_local(),
        spaces(ctx).boxed_local(),
        site_permissions(ctx).boxed_local(),
        audit_retention(ctx).boxed_local(),
        upm_settings(ctx).boxed_local(),
        audit(ctx).boxed_local(),
    ])
    .await
}

/// Every group Jira did not list, and each such group's members as soon as its page arrives
/// (Jira writes the groups it listed, members included). Starts once Jira's group listing is
/// done, so which product writes a shared group does not depend on timing.
async fn groups(ctx: &Ctx) -> Result<(), Abort> {
    let groups = ctx.family(&GROUPS);
    let members = ctx.family(&GROUP_MEMBERS);
    let turn = ctx.groups.turn(Lister::Confluence).await;
    let pager = V1Pager::new("/wiki/rest/api/group", Vec::new(), GROUPS_PAGE);
    // Listed by Jira (or earlier in this listing): written already, members too.
    let claimed = turn.claiming(groups.list::<wire::Group, _>(pager), |group| {
        group.record_id(&ctx.ns)
    });
    members
        .each(claimed, |group| {
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

/// One group's members, by group id (names can change).
async fn group_members(
    ctx: &Ctx,
    members: &FamilyRun<'_>,
    group: &wire::Group,
) -> Result<(), Abort> {
    let Some(group_id) = &group.id else {
        tracing::warn!(
            "confluence.group_members: group {:?} has no id; its members cannot be listed",
            group.name
        );
        return Ok(());
    };
    let path = format!("/wiki/rest/api/group/{group_id}/membersByGroupId");
    let pager = V1Pager::new(path, Vec::new(), MEMBERS_PAGE);
    let mut listing = pin!(members.list::<wire::User, _>(pager));
    let mut seen = HashSet::new();
    while let Some(member) = listing.try_next().await? {
        let Some(account_id) = member.account_id.as_deref() else {
            continue;
        };
        if seen.insert(account_id.to_string()) {
            let edge = group.membership(&ctx.ns, account_id);
            members.emit(Record::Membership(edge)).await?;
        }
    }
    Ok(())
}

/// Every space the account may view, personal ones included, each with its permissions.
async fn spaces(ctx: &Ctx) -> Result<(), Abort> {
    let spaces = ctx.family(&SPACES);
    let permissions = ctx.family(&SPACE_PERMISSIONS);
    let query = vec![
        ("limit", SPACES_PAGE.to_string()),
        ("description-format", "plain".to_string()),
    ];
    let pager = LinkPager::new("/wiki/api/v2/spaces", query);
    permissions
        .each(spaces.list::<wire::Space, _>(pager), |space| {
            let (spaces, permissions) = (&spaces, &permissions);
            async move {
                spaces.emit(Record::Resource(space.record(&ctx.ns))).await?;
                space_permissions(ctx, permissions, &space.id).await
            }
        })
        .await?;
    spaces.finish().await?;
    permissions.finish().await
}

/// One space's permission assignments: one record per principal and operation.
async fn space_permissions(
    ctx: &Ctx,
    permissions: &FamilyRun<'_>,
    space_id: &str,
) -> Result<(), Abort> {
    let path = format!("/wiki/api/v2/spaces/{space_id}/permissions");
    let query = vec![("limit", SPACE_PERMISSIONS_PAGE.to_string())];
    let pager = LinkPager::new(path, query);
    let mut assignments = pin!(permissions.list::<wire::SpacePermission, _>(pager));
    while let Some(assignment) = assignments.try_next().await? {
        match assignment.record(&ctx.ns, space_id) {
            Some(grant) => permissions.emit(Record::Permission(grant)).await?,
            None => tracing::warn!(
                "confluence.space_permissions: skipped an assignment in space {space_id} without principal or operation"
            ),
        }
    }
    Ok(())
}

/// Site-level grants (who can use Confluence, create spaces, administer it) through GraphQL:
/// the private `/cgraphql` first, the public gateway when that refuses. The coverage record's
/// message says which endpoint served them, or why neither did.
async fn site_permissions(ctx: &Ctx) -> Result<(), Abort> {
    const CGRAPHQL: &str = "/cgraphql";
    const GATEWAY: &str = "/gateway/api/graphql";
    let family = ctx.family(&SITE_PERMISSIONS);
    let body = serde_json::json!({
        "operationName": "AtlassianInventorySitePermissions",
        "query": wire::SITE_PERMISSIONS_QUERY,
        "variables": {},
    });
    // A refusal by cgraphql is expected (Atlassian blocks non-persisted operations there), so
    // it is not a failure of the family; only the gateway's answer decides the status.
    let message = match graphql(ctx, CGRAPHQL, &body).await? {
        Ok(connection) => {
            let served = format!("served by POST {CGRAPHQL}");
            site_grants(ctx, &family, connection, CGRAPHQL, served).await?
        }
        Err(blocked) => match graphql(ctx, GATEWAY, &body).await? {
            Ok(connection) => {
                let served =
                    format!("served by POST {GATEWAY}; POST {CGRAPHQL} refused: {blocked}");
                site_grants(ctx, &family, connection, GATEWAY, served).await?
            }
            Err(error) => {
                let message = format!("neither endpoint served site permissions: POST {CGRAPHQL}: {blocked}; POST {GATEWAY}: {error}");
                family.tally().fail(&error);
                message
            }
        },
    };
    family
        .finish_with(|coverage| Coverage {
            message: Some(message),
            ..coverage
        })
        .await
}

/// One GraphQL request: the connection of grants, or why there is none (a 401 ends the run).
async fn graphql(
    ctx: &Ctx,
    path: &str,
    body: &serde_json::Value,
) -> Result<Result<wire::Connection, ApiError>, Abort> {
    let answer = match ctx
        .client
        .post_json::<wire::GraphQlAnswer>(path, body)
        .await
    {
        Ok(answer) => answer,
        Err(error) if error.is_unauthorized() => return Err(Abort::Unauthorized(error)),
        Err(error) => return Ok(Err(error)),
    };
    // Data with errors is a partial answer: treated as no answer, the errors say why.
    let errors = answer.error_text();
    let connection = answer
        .data
        .and_then(|data| data.site_permissions)
        .and_then(|site| site.permissions);
    Ok(match (errors, connection) {
        (None, Some(connection)) => Ok(connection),
        (errors, _) => Err(ApiError {
            method: "POST",
            url: ctx.client.url(path, &[]).to_string(),
            kind: ErrorKind::GraphQl(
                errors.unwrap_or_else(|| "the answer holds no sitePermissions".to_string()),
            ),
        }),
    })
}

/// Writes the grants `path` served; returns the coverage record's message: `served`, and what
/// was not read.
async fn site_grants(
    ctx: &Ctx,
    family: &FamilyRun<'_>,
    connection: wire::Connection,
    path: &str,
    served: String,
) -> Result<String, Abort> {
    let tally = family.tally();
    tally.ok();
    tally.served_by(&format!("POST {path}"));
    for grant in connection.records(&ctx.ns) {
        family.emit(Record::Permission(grant)).await?;
    }
    let mut message = served;
    if connection.has_more() {
        // Site grants are a few dozen principals; the query asks for 250 and does not page.
        message.push_str("; more than 250 principals: the rest were not read");
        let url = ctx.client.url(path, &[]).to_string();
        tally.fail(&ApiError::pagination("POST", &url, message.clone()));
    }
    Ok(message)
}

/// How long the audit log keeps records (admin only).
async fn audit_retention(ctx: &Ctx) -> Result<(), Abort> {
    let retention = ctx.family(&AUDIT_RETENTION);
    let request = ctx
        .client
        .get::<wire::RetentionPeriod>("/wiki/rest/api/audit/retention", &[]);
    if let Some(period) = retention.answer(request).await? {
        retention
            .emit(Record::Setting(period.record(&ctx.ns)))
            .await?;
    }
    retention.finish().await
}

/// The Universal Plugin Manager's settings (can users request apps, is the Marketplace
/// reachable, …). Undocumented: read leniently, every key kept.
async fn upm_settings(ctx: &Ctx) -> Result<(), Abort> {
    let upm = ctx.family(&UPM_SETTINGS);
    let request = ctx
        .client
        .get_as::<serde_json::Value>("/wiki/rest/plugins/1.0/settings", UPM_MEDIA_TYPE);
    if let Some(body) = upm.answer(request).await? {
        for setting in crate::settings::key_values(&ctx.ns, "confluence.upm", &body) {
            upm.emit(Record::Setting(setting)).await?;
        }
    }
    upm.finish().await
}

/// The audit log from `--since` to now (`startDate`/`endDate` in epoch milliseconds).
async fn audit(ctx: &Ctx) -> Result<(), Abort> {
    let audit = ctx.family(&AUDIT);
    let query = vec![
        ("startDate", ctx.since.as_millisecond().to_string()),
        (
            "endDate",
            jiff::Timestamp::now().as_millisecond().to_string(),
        ),
    ];
    let pager = V1Pager::new("/wiki/rest/api/audit", query, AUDIT_PAGE);
    let mut entries = Box::pin(audit.list::<wire::AuditRecord, _>(pager));
    while let Some(entry) = entries.try_next().await? {
        match entry.record(&ctx.ns) {
            Some(event) => audit.emit(Record::Event(event)).await?,
            None => {
                tracing::warn!("confluence.audit: skipped a record without creationDate or summary")
            }
        }
    }
    drop(entries);
    audit.finish().await
}
