//! Jira Service Management: service desks (linked to their Jira projects), each desk's
//! customers, and customer organisations with their members.
//!
//! Endpoints (JSM spec, `start`/`limit`/`isLastPage` paging): `GET /rest/servicedeskapi/servicedesk`,
//! `GET /rest/servicedeskapi/servicedesk/{serviceDeskId}/customer` (experimental: it answers
//! 412 without `X-ExperimentalApi: opt-in`), `GET /rest/servicedeskapi/organization` and
//! `GET /rest/servicedeskapi/organization/{organizationId}/user`.
//!
//! Customers are site accounts, and Jira's users/search lists most of them: a `user` record is
//! written only for an account Jira did not (see [`crate::stitch::SiteUsers`]); every customer
//! gets an edge to its desk either way. The JSM API has no listing of a desk's agents: agents
//! are the actors of the project's roles, which the `jira.project_roles` family reports.

mod wire;

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::collect::{for_each_concurrent, Abort, Ctx, Page};
use crate::coverage::{Family, Tally};
use crate::http::page::JsmPager;
use crate::record::Record;
use crate::stitch::Side;

const PRODUCT: &str = "jsm";

static SERVICE_DESKS: Family = Family {
    product: PRODUCT,
    name: "jsm.service_desks",
    endpoints: &["GET /rest/servicedeskapi/servicedesk"],
    needs: "Any (only the desks the account may access are listed); OAuth scope read:servicedesk-request",
};
static CUSTOMERS: Family = Family {
    product: PRODUCT,
    name: "jsm.customers",
    endpoints: &["GET /rest/servicedeskapi/servicedesk/{serviceDeskId}/customer"],
    needs: "Permission to view the service desk's customers (agent or service desk admin); OAuth scope manage:servicedesk-customer",
};
static ORGANIZATIONS: Family = Family {
    product: PRODUCT,
    name: "jsm.organizations",
    endpoints: &["GET /rest/servicedeskapi/organization"],
    needs:
        "Any (a customer sees only its own organisations); OAuth scope manage:servicedesk-customer",
};
static ORGANIZATION_MEMBERS: Family = Family {
    product: PRODUCT,
    name: "jsm.organization_members",
    endpoints: &["GET /rest/servicedeskapi/organization/{organizationId}/user"],
    needs: "Service desk administrator or agent; OAuth scope manage:servicedesk-customer",
};

/// Every family of the product.
pub static FAMILIES: [&Family; 4] = [
    &SERVICE_DESKS,
    &CUSTOMERS,
    &ORGANIZATIONS,
    &ORGANIZATION_MEMBERS,
];

/// The spec's default page size; JSM caps larger requests per operation anyway.
const PAGE: u32 = 50;

/// The customer listing is experimental (JSM spec, "Experimental methods").
const OPT_IN: &[(&str, &str)] = &[("X-ExperimentalApi", "opt-in")];

/// Items queued between a listing and its per-item workers.
const QUEUE: usize = 256;

/// Collects every JSM family. Runs after Jira, so Jira's accounts are known.
pub async fn collect(ctx: &Ctx) -> Result<(), Abort> {
    tokio::try_join!(service_desks(ctx), organizations(ctx))?;
    Ok(())
}

/// Every service desk the account can access, each with its customers.
async fn service_desks(ctx: &Ctx) -> Result<(), Abort> {
    let tally = Tally::new(&SERVICE_DESKS);
    let customers = Arc::new(Tally::new(&CUSTOMERS));
    let (tx, rx) = mpsc::channel::<(String, wire::ServiceDesk)>(QUEUE);
    let listing = async {
        let mut pager = JsmPager::new("/rest/servicedeskapi/servicedesk", Vec::new(), PAGE);
        while let Page::Items(page) = ctx
            .next_page::<wire::ServiceDesk>(&mut pager, &tally)
            .await?
        {
            for desk in page {
                let Some(id) = desk.id.clone() else { continue };
                ctx.out
                    .emit(Record::Resource(desk.record(&ctx.ns, &id)))
                    .await?;
                tally.records(1);
                let _ = tx.send((id, desk)).await;
            }
        }
        drop(tx);
        Ok(())
    };
    let workers = for_each_concurrent(rx, ctx.workers, |(id, desk)| {
        let ctx = ctx.clone();
        let customers = Arc::clone(&customers);
        async move { desk_customers(&ctx, &id, &desk, &customers).await }
    });
    tokio::try_join!(listing, workers)?;
    ctx.finish(&tally).await?;
    ctx.finish(&customers).await
}

/// One desk's customers: an edge each, and a `user` record for accounts not yet written.
async fn desk_customers(
    ctx: &Ctx,
    id: &str,
    desk: &wire::ServiceDesk,
    tally: &Tally,
) -> Result<(), Abort> {
    let path = format!("/rest/servicedeskapi/servicedesk/{id}/customer");
    let mut pager = JsmPager::new(path, Vec::new(), PAGE).with_headers(OPT_IN);
    while let Page::Items(page) = ctx.next_page::<wire::Customer>(&mut pager, tally).await? {
        for customer in page {
            let Some(account_id) = customer.account_id.as_deref() else {
                continue;
            };
            let edge = wire::desk_customer(&ctx.ns, desk, id, &customer, account_id);
            ctx.out.emit(Record::Membership(edge)).await?;
            tally.records(1);
            tally.records(new_user(ctx, &customer, account_id).await?);
        }
    }
    Ok(())
}

/// Writes the account's `user` record unless a site product already did; returns the records
/// written. Waits until Jira's users are all written, so Jira's record of an account comes
/// first whatever the timing.
async fn new_user(ctx: &Ctx, customer: &wire::Customer, account_id: &str) -> Result<u64, Abort> {
    ctx.shared.jira_users.wait().await;
    if !ctx.shared.site_users.first_sight(account_id) {
        return Ok(0);
    }
    // Through the stitcher, like Jira's accounts: the Admin directory may know it too.
    ctx.emit_user(Side::Jira, customer.record(&ctx.ns, account_id))
        .await?;
    Ok(1)
}

/// Every customer organisation, each with its members.
async fn organizations(ctx: &Ctx) -> Result<(), Abort> {
    let tally = Tally::new(&ORGANIZATIONS);
    let members = Arc::new(Tally::new(&ORGANIZATION_MEMBERS));
    let (tx, rx) = mpsc::channel::<(String, wire::Organization)>(QUEUE);
    let listing = async {
        let mut pager = JsmPager::new("/rest/servicedeskapi/organization", Vec::new(), PAGE);
        while let Page::Items(page) = ctx
            .next_page::<wire::Organization>(&mut pager, &tally)
            .await?
        {
            for organization in page {
                let Some(id) = organization.id.clone() else {
                    continue;
                };
                ctx.out
                    .emit(Record::Group(organization.record(&ctx.ns, &id)))
                    .await?;
                tally.records(1);
                let _ = tx.send((id, organization)).await;
            }
        }
        drop(tx);
        Ok(())
    };
    let workers = for_each_concurrent(rx, ctx.workers, |(id, organization)| {
        let ctx = ctx.clone();
        let members = Arc::clone(&members);
        async move { organization_members(&ctx, &id, &organization, &members).await }
    });
    tokio::try_join!(listing, workers)?;
    ctx.finish(&tally).await?;
    ctx.finish(&members).await
}

async fn organization_members(
    ctx: &Ctx,
    id: &str,
    organization: &wire::Organization,
    tally: &Tally,
) -> Result<(), Abort> {
    let path = format!("/rest/servicedeskapi/organization/{id}/user");
    let mut pager = JsmPager::new(path, Vec::new(), PAGE);
    while let Page::Items(page) = ctx.next_page::<wire::Customer>(&mut pager, tally).await? {
        for member in page {
            let Some(account_id) = member.account_id.as_deref() else {
                continue;
            };
            let edge = organization.membership(&ctx.ns, id, &member, account_id);
            ctx.out.emit(Record::Membership(edge)).await?;
            tally.records(1);
            tally.records(new_user(ctx, &member, account_id).await?);
        }
    }
    Ok(())
}
