//! Jira Service Management: service desks (linked to their Jira projects), each desk's
//! customers, and customer organisations with their members.
//!
//! Endpoints (JSM spec, `start`/`limit`/`isLastPage` paging): `GET /rest/servicedeskapi/servicedesk`,
//! `GET /rest/servicedeskapi/servicedesk/{serviceDeskId}/customer` (experimental: it answers
//! 412 without `X-ExperimentalApi: opt-in`), `GET /rest/servicedeskapi/organization` and
//! `GET /rest/servicedeskapi/organization/{organizationId}/user`.
//!
//! Customers are site accounts, and Jira's users/search lists most of them: every customer is
//! sent to the user join ([`crate::join::Users`]), which writes JSM's record only for an account
//! Jira did not list; every customer gets an edge to its desk either way. JSM never waits for
//! Jira. The JSM API has no listing of a desk's agents: agents
//! are the actors of the project's roles, which the `jira.project_roles` family reports.

mod wire;

use std::pin::pin;

use futures_util::{FutureExt, TryStreamExt};

use crate::coverage::Family;
use crate::engine::{all, Abort, Ctx, FamilyRun, Item};
use crate::http::page::JsmPager;
use crate::join::Side;
use crate::record::Record;

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
pub(crate) static FAMILIES: [&Family; 4] = [
    &SERVICE_DESKS,
    &CUSTOMERS,
    &ORGANIZATIONS,
    &ORGANIZATION_MEMBERS,
];

/// The spec's default page size; JSM caps larger requests per operation anyway.
const PAGE: u32 = 50;

/// The customer listing is experimental (JSM spec, "Experimental methods").
const OPT_IN: &[(&str, &str)] = &[("X-ExperimentalApi", "opt-in")];

/// Collects every JSM family.
pub(crate) async fn collect(ctx: &Ctx) -> Result<(), Abort> {
    all(vec![
        service_desks(ctx).boxed_local(),
        organizations(ctx).boxed_local(),
    ])
    .await
}

/// Every service desk the account can access, each with its customers.
async fn service_desks(ctx: &Ctx) -> Result<(), Abort> {
    let desks = ctx.family(&SERVICE_DESKS);
    let customers = ctx.family(&CUSTOMERS);
    let pager = JsmPager::new("/rest/servicedeskapi/servicedesk", Vec::new(), PAGE);
    customers
        .each(desks.list::<wire::ServiceDesk, _>(pager), |desk| {
            let (desks, customers) = (&desks, &customers);
            async move {
                let Some(id) = desk.id.clone() else {
                    return Ok(());
                };
                desks
                    .emit(Record::Resource(desk.record(&ctx.ns, &id)))
                    .await?;
                desk_customers(ctx, customers, &id, &desk).await
            }
        })
        .await?;
    desks.finish().await?;
    customers.finish().await
}

/// One desk's customers: an edge each, and the account for the user join.
async fn desk_customers(
    ctx: &Ctx,
    customers: &FamilyRun<'_>,
    id: &str,
    desk: &wire::ServiceDesk,
) -> Result<(), Abort> {
    let path = format!("/rest/servicedeskapi/servicedesk/{id}/customer");
    let pager = JsmPager::new(path, Vec::new(), PAGE).with_headers(OPT_IN);
    let mut listing = pin!(customers.list::<wire::Customer, _>(pager));
    while let Some(customer) = listing.try_next().await? {
        let Some(account_id) = customer.account_id.as_deref() else {
            continue;
        };
        let edge = wire::desk_customer(&ctx.ns, desk, id, &customer, account_id);
        customers.emit(Record::Membership(edge)).await?;
        user(ctx, &customer, account_id).await?;
    }
    Ok(())
}

/// Sends the account to the user join, which writes JSM's record only for an account no site
/// listing reported first. Not counted in the family: whether it is written is decided there.
async fn user(ctx: &Ctx, customer: &wire::Customer, account_id: &str) -> Result<(), Abort> {
    let record = customer.record(&ctx.ns, account_id);
    ctx.out.send(Item::User(Side::Jsm, record)).await
}

/// Every customer organisation, each with its members.
async fn organizations(ctx: &Ctx) -> Result<(), Abort> {
    let organizations = ctx.family(&ORGANIZATIONS);
    let members = ctx.family(&ORGANIZATION_MEMBERS);
    let pager = JsmPager::new("/rest/servicedeskapi/organization", Vec::new(), PAGE);
    members
        .each(
            organizations.list::<wire::Organization, _>(pager),
            |organization| {
                let (organizations, members) = (&organizations, &members);
                async move {
                    let Some(id) = organization.id.clone() else {
                        return Ok(());
                    };
                    organizations
                        .emit(Record::Group(organization.record(&ctx.ns, &id)))
                        .await?;
                    organization_members(ctx, members, &id, &organization).await
                }
            },
        )
        .await?;
    organizations.finish().await?;
    members.finish().await
}

async fn organization_members(
    ctx: &Ctx,
    members: &FamilyRun<'_>,
    id: &str,
    organization: &wire::Organization,
) -> Result<(), Abort> {
    let path = format!("/rest/servicedeskapi/organization/{id}/user");
    let pager = JsmPager::new(path, Vec::new(), PAGE);
    let mut listing = pin!(members.list::<wire::Customer, _>(pager));
    while let Some(member) = listing.try_next().await? {
        let Some(account_id) = member.account_id.as_deref() else {
            continue;
        };
        let edge = organization.membership(&ctx.ns, id, &member, account_id);
        members.emit(Record::Membership(edge)).await?;
        user(ctx, &member, account_id).await?;
    }
    Ok(())
}
