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
//! [`crate::stitch::SeenGroups`]). Settings and the audit log need *Confluence Administrator*:
//! a 403 there is a coverage record, never a failed run.

mod wire;

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::collect::{failed, for_each_concurrent, Abort, Ctx, Page};
use crate::coverage::{Family, Tally};
use crate::http::page::{LinkPager, V1Pager};
use crate::http::{ApiError, ErrorKind};
use crate::record::Record;

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
pub static FAMILIES: [&Family; 8] = [
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

/// Items queued between a listing and its per-item workers.
const QUEUE: usize = 256;

/// Collects every Confluence family. Returns early only when the whole run must stop.
pub async fn collect(ctx: &Ctx) -> Result<(), Abort> {
    tokio::try_join!(
        groups(ctx),
        spaces(ctx),
        site_permissions(ctx),
        audit_retention(ctx),
        upm_settings(ctx),
        audit(ctx),
    )?;
    Ok(())
}

/// Every group Jira did not list, and each such group's members as soon as its page arrives
/// (Jira writes the groups it listed, members included). Starts once Jira's group listing is
/// done, so which product writes a shared group does not depend on timing.
async fn groups(ctx: &Ctx) -> Result<(), Abort> {
    let tally = Tally::new(&GROUPS);
    let members = Arc::new(Tally::new(&GROUP_MEMBERS));
    let (tx, rx) = mpsc::channel::<wire::Group>(QUEUE);
    let listing = async {
        let _listed = ctx.shared.confluence_groups_listed.reached_on_drop();
        ctx.shared.jira_groups_listed.wait().await;
        let mut pager = V1Pager::new("/wiki/rest/api/group", Vec::new(), GROUPS_PAGE);
        while let Page::Items(page) = ctx.next_page::<wire::Group>(&mut pager, &tally).await? {
            for group in page {
                // Listed by Jira (or earlier in this listing): written already, members too.
                if !ctx.groups.mark_site_listed(&group.record_id(&ctx.ns)) {
                    continue;
                }
                if ctx.groups.first_sight(&group.record_id(&ctx.ns)) {
                    ctx.out.emit(Record::Group(group.record(&ctx.ns))).await?;
                    tally.records(1);
                }
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

/// One group's members, by group id (names can change).
async fn group_members(ctx: &Ctx, group: &wire::Group, tally: &Tally) -> Result<(), Abort> {
    let Some(group_id) = &group.id else {
        tracing::warn!(
            "confluence.group_members: group {:?} has no id; its members cannot be listed",
            group.name
        );
        return Ok(());
    };
    let path = format!("/wiki/rest/api/group/{group_id}/membersByGroupId");
    let mut pager = V1Pager::new(path, Vec::new(), MEMBERS_PAGE);
    let mut seen = std::collections::HashSet::new();
    loop {
        match ctx.next_page::<wire::User>(&mut pager, tally).await? {
            Page::Items(page) => {
                for member in page {
                    let Some(account_id) = member.account_id.as_deref() else {
                        continue;
                    };
                    if seen.insert(account_id.to_string()) {
                        let edge = group.membership(&ctx.ns, account_id);
                        ctx.out.emit(Record::Membership(edge)).await?;
                        tally.records(1);
                    }
                }
            }
            Page::End | Page::Failed => return Ok(()),
        }
    }
}

/// Every space the account may view, personal ones included, each with its permissions.
async fn spaces(ctx: &Ctx) -> Result<(), Abort> {
    let tally = Tally::new(&SPACES);
    let permissions = Arc::new(Tally::new(&SPACE_PERMISSIONS));
    let (tx, rx) = mpsc::channel::<String>(QUEUE);
    let listing = async {
        let query = vec![
            ("limit", SPACES_PAGE.to_string()),
            ("description-format", "plain".to_string()),
        ];
        let mut pager = LinkPager::new("/wiki/api/v2/spaces", query);
        while let Page::Items(page) = ctx.next_page::<wire::Space>(&mut pager, &tally).await? {
            for space in page {
                ctx.out
                    .emit(Record::Resource(space.record(&ctx.ns)))
                    .await?;
                tally.records(1);
                let _ = tx.send(space.id).await;
            }
        }
        drop(tx);
        Ok(())
    };
    let workers = for_each_concurrent(rx, ctx.workers, |space_id| {
        let ctx = ctx.clone();
        let permissions = Arc::clone(&permissions);
        async move { space_permissions(&ctx, &space_id, &permissions).await }
    });
    tokio::try_join!(listing, workers)?;
    ctx.finish(&tally).await?;
    ctx.finish(&permissions).await
}

/// One space's permission assignments: one record per principal and operation.
async fn space_permissions(ctx: &Ctx, space_id: &str, tally: &Tally) -> Result<(), Abort> {
    let path = format!("/wiki/api/v2/spaces/{space_id}/permissions");
    let query = vec![("limit", SPACE_PERMISSIONS_PAGE.to_string())];
    let mut pager = LinkPager::new(path, query);
    while let Page::Items(page) = ctx
        .next_page::<wire::SpacePermission>(&mut pager, tally)
        .await?
    {
        for assignment in page {
            match assignment.record(&ctx.ns, space_id) {
                Some(grant) => {
                    ctx.out.emit(Record::Permission(grant)).await?;
                    tally.records(1);
                }
                None => tracing::warn!(
                    "confluence.space_permissions: skipped an assignment in space {space_id} without principal or operation"
                ),
            }
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
    let tally = Tally::new(&SITE_PERMISSIONS);
    let body = serde_json::json!({
        "operationName": "AtlassianInventorySitePermissions",
        "query": wire::SITE_PERMISSIONS_QUERY,
        "variables": {},
    });
    // A refusal by cgraphql is expected (Atlassian blocks non-persisted operations there), so
    // it is not a failure of the family; only the gateway's answer decides the status.
    let blocked = match graphql(ctx, CGRAPHQL, &body).await? {
        Ok(connection) => {
            return site_grants(
                ctx,
                &tally,
                connection,
                CGRAPHQL,
                &format!("served by POST {CGRAPHQL}"),
            )
            .await;
        }
        Err(error) => error,
    };
    let message = match graphql(ctx, GATEWAY, &body).await? {
        Ok(connection) => {
            let served = format!("served by POST {GATEWAY}; POST {CGRAPHQL} refused: {blocked}");
            return site_grants(ctx, &tally, connection, GATEWAY, &served).await;
        }
        Err(error) => {
            let message = format!("neither endpoint served site permissions: POST {CGRAPHQL}: {blocked}; POST {GATEWAY}: {error}");
            tally.fail(&error);
            message
        }
    };
    let mut coverage = tally.coverage(&ctx.ns);
    coverage.message = Some(message);
    ctx.out.emit(Record::Coverage(coverage)).await
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

async fn site_grants(
    ctx: &Ctx,
    tally: &Tally,
    connection: wire::Connection,
    path: &str,
    served: &str,
) -> Result<(), Abort> {
    tally.ok();
    tally.served_by(&format!("POST {path}"));
    for grant in connection.records(&ctx.ns) {
        ctx.out.emit(Record::Permission(grant)).await?;
        tally.records(1);
    }
    let mut message = served.to_string();
    if connection.has_more() {
        // Site grants are a few dozen principals; the query asks for 250 and does not page.
        message.push_str("; more than 250 principals: the rest were not read");
        let url = ctx.client.url(path, &[]).to_string();
        tally.fail(&ApiError::pagination("POST", &url, message.clone()));
    }
    let mut coverage = tally.coverage(&ctx.ns);
    coverage.message = Some(message);
    ctx.out.emit(Record::Coverage(coverage)).await
}

/// How long the audit log keeps records (admin only).
async fn audit_retention(ctx: &Ctx) -> Result<(), Abort> {
    let tally = Tally::new(&AUDIT_RETENTION);
    match ctx
        .client
        .get::<wire::RetentionPeriod>("/wiki/rest/api/audit/retention", &[])
        .await
    {
        Ok(period) => {
            tally.ok();
            ctx.out
                .emit(Record::Setting(period.record(&ctx.ns)))
                .await?;
            tally.records(1);
        }
        Err(error) => failed(&tally, error)?,
    }
    ctx.finish(&tally).await
}

/// The Universal Plugin Manager's settings (can users request apps, is the Marketplace
/// reachable, …). Undocumented: read leniently, every key kept.
async fn upm_settings(ctx: &Ctx) -> Result<(), Abort> {
    let tally = Tally::new(&UPM_SETTINGS);
    match ctx
        .client
        .get_as::<serde_json::Value>("/wiki/rest/plugins/1.0/settings", UPM_MEDIA_TYPE)
        .await
    {
        Ok(body) => {
            tally.ok();
            for setting in crate::settings::key_values(&ctx.ns, "confluence.upm", &body) {
                ctx.out.emit(Record::Setting(setting)).await?;
                tally.records(1);
            }
        }
        Err(error) => failed(&tally, error)?,
    }
    ctx.finish(&tally).await
}

/// The audit log from `--since` to now (`startDate`/`endDate` in epoch milliseconds).
async fn audit(ctx: &Ctx) -> Result<(), Abort> {
    let tally = Tally::new(&AUDIT);
    let query = vec![
        ("startDate", ctx.since.as_millisecond().to_string()),
        (
            "endDate",
            jiff::Timestamp::now().as_millisecond().to_string(),
        ),
    ];
    let mut pager = V1Pager::new("/wiki/rest/api/audit", query, AUDIT_PAGE);
    while let Page::Items(page) = ctx
        .next_page::<wire::AuditRecord>(&mut pager, &tally)
        .await?
    {
        for entry in page {
            match entry.record(&ctx.ns) {
                Some(event) => {
                    ctx.out.emit(Record::Event(event)).await?;
                    tally.records(1);
                }
                None => tracing::warn!(
                    "confluence.audit: skipped a record without creationDate or summary"
                ),
            }
        }
    }
    ctx.finish(&tally).await
}
