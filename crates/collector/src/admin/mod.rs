//! Org Admin API (`https://api.atlassian.com/admin`, Bearer organisation API key): the
//! organisations and their verified domains, the managed directory's users with product access,
//! last activity, MFA and platform roles, groups, per-product licence use, every API token, admin
//! API key and service-account token (metadata only), and audit events.
//!
//! Endpoints (REFERENCE §5): `GET /admin/v1/orgs[/{orgId}]`, `GET /admin/v1/orgs/{orgId}/domains`,
//! `POST /admin/v2/orgs/{orgId}/directories/-/users/search` (falling back to the retired
//! `GET /admin/v1/orgs/{orgId}/users` with `…/directory/users/{id}/last-active-dates` only where
//! v2 answers 404), `POST /admin/v2/orgs/{orgId}/directories/-/groups/search`,
//! `GET /admin/api-access/v1/orgs/{orgId}/api-tokens`, `…/api-keys`,
//! `…/service-accounts/{id}/api-tokens` and `GET /admin/v1/orgs/{orgId}/events-stream`.
//!
//! The key goes only to `--api-url`, never to the site. Users go to the user join with the
//! site's (same account id, one record), and the directory takes only the groups no site listing
//! reported (its turn comes last, [`crate::join::GroupClaims`]).

mod wire;

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use futures_util::TryStreamExt;

use crate::coverage::Family;
use crate::engine::{failed, Abort, Ctx, FamilyRun};
use crate::http::page::{CursorPager, CursorRequest, Pager};
use crate::join::{Lister, Side};
use crate::record::{self, Record};

const PRODUCT: &str = "admin";

static ORGS: Family = Family {
    product: PRODUCT,
    name: "admin.orgs",
    endpoints: &["GET /admin/v1/orgs", "GET /admin/v1/orgs/{orgId}/domains"],
    needs: "an organisation API key (organization admin)",
};
static USERS: Family = Family {
    product: PRODUCT,
    name: "admin.users",
    endpoints: &[
        "POST /admin/v2/orgs/{orgId}/directories/-/users/search",
        "GET /admin/v1/orgs/{orgId}/users",
        "GET /admin/v1/orgs/{orgId}/directory/users/{accountId}/last-active-dates",
    ],
    needs: "API key scope read:directories:admin (v1 fallback: read:accounts:admin)",
};
static GROUPS: Family = Family {
    product: PRODUCT,
    name: "admin.groups",
    endpoints: &["POST /admin/v2/orgs/{orgId}/directories/-/groups/search"],
    needs: "API key scope read:directories:admin or read:groups:admin",
};
static API_TOKENS: Family = Family {
    product: PRODUCT,
    name: "admin.api_tokens",
    endpoints: &["GET /admin/api-access/v1/orgs/{orgId}/api-tokens"],
    needs: "API key scope read:tokens:admin (API keys only; OAuth apps cannot read tokens)",
};
static API_KEYS: Family = Family {
    product: PRODUCT,
    name: "admin.api_keys",
    endpoints: &["GET /admin/api-access/v1/orgs/{orgId}/api-keys"],
    needs: "API key scope read:tokens:admin",
};
static SERVICE_ACCOUNT_TOKENS: Family = Family {
    product: PRODUCT,
    name: "admin.service_account_tokens",
    endpoints: &["GET /admin/api-access/v1/orgs/{orgId}/service-accounts/{id}/api-tokens"],
    needs: "API key scope read:tokens:admin",
};
static EVENTS: Family = Family {
    product: PRODUCT,
    name: "admin.events",
    endpoints: &["GET /admin/v1/orgs/{orgId}/events-stream"],
    needs: "API key scope read:events:admin",
};

/// Every family of the product.
pub static FAMILIES: [&Family; 7] = [
    &ORGS,
    &USERS,
    &GROUPS,
    &API_TOKENS,
    &API_KEYS,
    &SERVICE_ACCOUNT_TOKENS,
    &EVENTS,
];

/// Page sizes asked for; the API returns fewer when it caps them.
const DIRECTORY_PAGE: u32 = 100;
const TOKENS_PAGE: u32 = 100;
const EVENTS_PAGE: u32 = 100;

/// Service accounts are directory users with an address in this domain.
const SERVICE_ACCOUNT_DOMAIN: &str = "@serviceaccount.atlassian.com";

/// What the Admin product needs beyond the context.
#[derive(Clone, Debug)]
pub struct AdminSettings {
    /// Collect this organisation only; otherwise every organisation the key can see.
    pub org_id: Option<String>,
    /// A credential unused this many days is stale.
    pub stale_days: u32,
}

/// Collects every organisation the key reaches. `ctx.client` talks to the Admin API.
pub async fn collect(ctx: &Ctx, settings: &AdminSettings) -> Result<(), Abort> {
    let family = ctx.family(&ORGS);
    let orgs = orgs(ctx, settings, &family).await?;
    for org in &orgs {
        let domains = domains(&org.id, &family).await?;
        let account = record::Account {
            id: ctx.ns.org(&org.id),
            site: ctx.ns.site().to_string(),
            account_type: "organization".to_string(),
            url: ctx
                .client
                .base()
                .to_string()
                .trim_end_matches('/')
                .to_string(),
            org_id: Some(org.id.clone()),
            name: org.name(),
            domains,
            auth_method: ctx.client.auth().method().to_string(),
            route: None,
            products: vec![PRODUCT.to_string()],
            collected_at: Timestamp::now().to_string(),
            collector: concat!("atlassian-inventory ", env!("CARGO_PKG_VERSION")).to_string(),
        };
        family.emit(Record::Account(account)).await?;
    }
    family.finish().await?;
    let ageing = wire::Ageing {
        now: Timestamp::now(),
        stale_after: SignedDuration::from_hours(24 * i64::from(settings.stale_days)),
    };
    let families = OrgFamilies::new(ctx);
    for org in &orgs {
        let service_accounts = tokio::try_join!(
            directory(ctx, &org.id, &families.users),
            groups(ctx, &org.id, &families.groups),
            api_tokens(ctx, &org.id, ageing, &families.api_tokens),
            api_keys(ctx, &org.id, ageing, &families.api_keys),
            events(ctx, &org.id, &families.events),
        )?
        .0;
        service_account_tokens(ctx, &org.id, &service_accounts, ageing, &families.service).await?;
    }
    families.finish().await
}

/// The families of every organisation, counted together.
struct OrgFamilies<'a> {
    users: FamilyRun<'a>,
    groups: FamilyRun<'a>,
    api_tokens: FamilyRun<'a>,
    api_keys: FamilyRun<'a>,
    service: FamilyRun<'a>,
    events: FamilyRun<'a>,
}

impl<'a> OrgFamilies<'a> {
    fn new(ctx: &'a Ctx) -> Self {
        OrgFamilies {
            users: ctx.family(&USERS),
            groups: ctx.family(&GROUPS),
            api_tokens: ctx.family(&API_TOKENS),
            api_keys: ctx.family(&API_KEYS),
            service: ctx.family(&SERVICE_ACCOUNT_TOKENS),
            events: ctx.family(&EVENTS),
        }
    }

    async fn finish(self) -> Result<(), Abort> {
        self.users.finish().await?;
        self.groups.finish().await?;
        self.api_tokens.finish().await?;
        self.api_keys.finish().await?;
        self.service.finish().await?;
        self.events.finish().await
    }
}

fn get(path: String, query: Vec<(&'static str, String)>) -> CursorPager {
    CursorPager::new(CursorRequest::Get { path, query })
}

/// The organisations: the one `--org-id` names, or every one the key can see.
async fn orgs(
    ctx: &Ctx,
    settings: &AdminSettings,
    family: &FamilyRun<'_>,
) -> Result<Vec<wire::Org>, Abort> {
    #[derive(serde::Deserialize)]
    struct One {
        data: wire::Org,
    }
    if let Some(org_id) = &settings.org_id {
        let path = format!("/admin/v1/orgs/{org_id}");
        let one = family.answer(ctx.client.get::<One>(&path, &[])).await?;
        return Ok(one.into_iter().map(|one| one.data).collect());
    }
    let pager = get("/admin/v1/orgs".to_string(), Vec::new());
    family.list::<wire::Org, _>(pager).try_collect().await
}

/// The organisation's verified domains (the ones whose users it manages).
async fn domains(org_id: &str, family: &FamilyRun<'_>) -> Result<Vec<String>, Abort> {
    let pager = get(format!("/admin/v1/orgs/{org_id}/domains"), Vec::new());
    let domains: Vec<wire::Domain> = family.list(pager).try_collect().await?;
    let mut names: Vec<String> = domains
        .iter()
        .filter_map(wire::Domain::verified_name)
        .collect();
    names.sort();
    Ok(names)
}

/// Licence use per product and product instance.
#[derive(Default)]
struct Licences {
    counts: BTreeMap<(String, String), [u64; 3]>,
}

impl Licences {
    fn add(&mut self, user: &record::User, now: Timestamp) {
        for access in &user.product_access {
            let resource = access.resource.clone().unwrap_or_default();
            let counts = self
                .counts
                .entry((access.product.clone(), resource))
                .or_default();
            counts[0] += 1;
            let age = access
                .last_active
                .as_deref()
                .and_then(wire::parse_time)
                .map(|at| now.duration_since(at));
            if age.is_some_and(|a| a <= SignedDuration::from_hours(24 * 30)) {
                counts[1] += 1;
            }
            if age.is_some_and(|a| a <= SignedDuration::from_hours(24 * 90)) {
                counts[2] += 1;
            }
        }
    }

    fn records(&self, ctx: &Ctx, org_id: &str) -> Vec<record::Resource> {
        self.counts
            .iter()
            .map(
                |((product, resource), [users, active_30, active_90])| record::Resource {
                    id: ctx.ns.licence(org_id, product, resource),
                    site: ctx.ns.site().to_string(),
                    resource_type: "product_licence".to_string(),
                    resource_id: resource.clone(),
                    key: Some(product.clone()),
                    name: Some(product.clone()),
                    users: Some(*users),
                    active_users_30d: Some(*active_30),
                    active_users_90d: Some(*active_90),
                    ..record::Resource::default()
                },
            )
            .collect()
    }
}

/// What the directory listing gathers beside the user records: licence use and the service
/// accounts whose tokens are listed next.
struct Seen {
    licences: Licences,
    service_accounts: Vec<wire::Person>,
    now: Timestamp,
}

impl Default for Seen {
    fn default() -> Self {
        Seen {
            licences: Licences::default(),
            service_accounts: Vec::new(),
            now: Timestamp::now(),
        }
    }
}

impl Seen {
    async fn add(&mut self, family: &FamilyRun<'_>, user: record::User) -> Result<(), Abort> {
        self.licences.add(&user, self.now);
        if let Some(email) = user
            .email
            .as_deref()
            .filter(|e| e.ends_with(SERVICE_ACCOUNT_DOMAIN))
        {
            self.service_accounts.push(wire::Person {
                id: Some(user.account_id.clone()),
                name: user.display_name.clone(),
                email: Some(email.to_string()),
            });
        }
        family.emit_user(Side::Admin, user).await
    }

    /// Emits the licence records; returns the service accounts.
    async fn finish(
        self,
        ctx: &Ctx,
        org_id: &str,
        family: &FamilyRun<'_>,
    ) -> Result<Vec<wire::Person>, Abort> {
        for licence in self.licences.records(ctx, org_id) {
            family.emit(Record::Resource(licence)).await?;
        }
        Ok(self.service_accounts)
    }
}

/// The directory's users, their groups and licence use. Returns the service accounts found.
async fn directory(
    ctx: &Ctx,
    org_id: &str,
    users: &FamilyRun<'_>,
) -> Result<Vec<wire::Person>, Abort> {
    // Members of groups the site listed come from the site; the directory's turn comes when it
    // has listed every group it will (its group listings, not its member lists).
    let turn = ctx.groups.turn(Lister::Directory).await;
    let tally = users.tally();
    let body = json!({
        "limit": DIRECTORY_PAGE,
        "expand": ["productAccess", "groups", "platformRoles"],
    });
    let path = format!("/admin/v2/orgs/{org_id}/directories/-/users/search");
    let mut pager = CursorPager::new(CursorRequest::Post { path, body });
    let mut seen = Seen::default();
    loop {
        let page = match pager.next::<wire::DirectoryUser>(&ctx.client).await {
            Ok(Some(page)) => page,
            Ok(None) => break,
            // The v2 directory is not there for every organisation: use the retired v1 API.
            Err(error) if error.status() == Some(404) && tally.ok_requests() == 0 => {
                tracing::info!("admin.users: v2 directory not found; using the v1 users API");
                tally.served_by("GET /admin/v1/orgs/{orgId}/users (v2 directory answered 404)");
                return v1_directory(ctx, org_id, users).await;
            }
            Err(error) => {
                failed(tally, error)?;
                break;
            }
        };
        tally.ok();
        for user in page {
            let Some(account_id) = user.account_id.clone() else {
                continue;
            };
            for group in &user.groups {
                let (Some(group_id), Some(name)) = (&group.id, &group.name) else {
                    continue;
                };
                if turn.listed_by_site(&ctx.ns.group(Some(group_id), name)) {
                    continue;
                }
                let edge = group_membership(ctx, group_id, name, &account_id);
                users.emit(Record::Membership(edge)).await?;
            }
            let record = user.record(&ctx.ns, org_id, &account_id);
            seen.add(users, record).await?;
        }
    }
    if tally.ok_requests() > 0 {
        tally.served_by("POST /admin/v2/orgs/{orgId}/directories/-/users/search");
    }
    seen.finish(ctx, org_id, users).await
}

fn group_membership(ctx: &Ctx, group_id: &str, name: &str, account_id: &str) -> record::Membership {
    record::Membership {
        id: ctx.ns.group_member(Some(group_id), name, account_id),
        site: ctx.ns.site().to_string(),
        relation: "group_member".to_string(),
        parent_id: ctx.ns.group(Some(group_id), name),
        member_id: ctx.ns.user(account_id),
        member_type: "user".to_string(),
        account_id: Some(account_id.to_string()),
        group_id: Some(group_id.to_string()),
        group_name: Some(name.to_string()),
        ..record::Membership::default()
    }
}

/// The retired v1 users API, for organisations without the v2 directory: one page of managed
/// accounts at a time, and each account's last-active dates (one request per user: the only
/// way v1 gives them).
async fn v1_directory(
    ctx: &Ctx,
    org_id: &str,
    users: &FamilyRun<'_>,
) -> Result<Vec<wire::Person>, Abort> {
    let pager = get(format!("/admin/v1/orgs/{org_id}/users"), Vec::new());
    let mut listing = Box::pin(users.list::<wire::V1User, _>(pager));
    let mut seen = Seen::default();
    while let Some(user) = listing.try_next().await? {
        let Some(account_id) = user.account_id.clone() else {
            continue;
        };
        let path =
            format!("/admin/v1/orgs/{org_id}/directory/users/{account_id}/last-active-dates");
        let dates = users
            .answer(ctx.client.get::<wire::LastActiveDates>(&path, &[]))
            .await?
            .and_then(|dates| dates.data);
        let record = user.record(&ctx.ns, org_id, &account_id, dates.as_ref());
        seen.add(users, record).await?;
    }
    drop(listing);
    seen.finish(ctx, org_id, users).await
}

/// Directory groups no site product reported (product-access groups of other products,
/// organisation-only groups).
async fn groups(ctx: &Ctx, org_id: &str, family: &FamilyRun<'_>) -> Result<(), Abort> {
    let turn = ctx.groups.turn(Lister::Directory).await;
    let path = format!("/admin/v2/orgs/{org_id}/directories/-/groups/search");
    let body = json!({ "limit": DIRECTORY_PAGE });
    let pager = CursorPager::new(CursorRequest::Post { path, body });
    let mut listing = Box::pin(family.list::<wire::DirectoryGroup, _>(pager));
    while let Some(group) = listing.try_next().await? {
        let (Some(group_id), Some(name)) = (group.id, group.name) else {
            continue;
        };
        let id = ctx.ns.group(Some(&group_id), &name);
        if !turn.claim(&id) {
            continue;
        }
        let record = record::Group {
            id,
            site: ctx.ns.site().to_string(),
            group_id: Some(group_id),
            name,
            source: PRODUCT.to_string(),
        };
        family.emit(Record::Group(record)).await?;
    }
    Ok(())
}

/// Every user API token in the organisation.
async fn api_tokens(
    ctx: &Ctx,
    org_id: &str,
    ageing: wire::Ageing,
    family: &FamilyRun<'_>,
) -> Result<(), Abort> {
    let path = format!("/admin/api-access/v1/orgs/{org_id}/api-tokens");
    let pager = get(path, vec![("pageSize", TOKENS_PAGE.to_string())]);
    secrets(ctx, org_id, pager, "api_token", None, ageing, family).await
}

/// The organisation's own Admin API keys.
async fn api_keys(
    ctx: &Ctx,
    org_id: &str,
    ageing: wire::Ageing,
    family: &FamilyRun<'_>,
) -> Result<(), Abort> {
    let path = format!("/admin/api-access/v1/orgs/{org_id}/api-keys");
    let pager = get(path, vec![("pageSize", TOKENS_PAGE.to_string())]);
    secrets(ctx, org_id, pager, "admin_api_key", None, ageing, family).await
}

/// Each service account's API tokens.
async fn service_account_tokens(
    ctx: &Ctx,
    org_id: &str,
    service_accounts: &[wire::Person],
    ageing: wire::Ageing,
    family: &FamilyRun<'_>,
) -> Result<(), Abort> {
    for account in service_accounts {
        let Some(id) = &account.id else { continue };
        let path = format!("/admin/api-access/v1/orgs/{org_id}/service-accounts/{id}/api-tokens");
        let pager = get(path, vec![("pageSize", TOKENS_PAGE.to_string())]);
        let owner = Some(account);
        secrets(
            ctx,
            org_id,
            pager,
            "service_account_token",
            owner,
            ageing,
            family,
        )
        .await?;
    }
    Ok(())
}

async fn secrets(
    ctx: &Ctx,
    org_id: &str,
    pager: CursorPager,
    secret_type: &str,
    owner: Option<&wire::Person>,
    ageing: wire::Ageing,
    family: &FamilyRun<'_>,
) -> Result<(), Abort> {
    let mut listing = Box::pin(family.list::<wire::Credential, _>(pager));
    while let Some(credential) = listing.try_next().await? {
        match credential.record(&ctx.ns, org_id, secret_type, owner, ageing) {
            Some(secret) => family.emit(Record::Secret(secret)).await?,
            None => tracing::warn!(
                "{}: skipped a credential without id",
                family.tally().family().name
            ),
        }
    }
    Ok(())
}

/// Audit events since `--since`, oldest first, from the polling stream (the `/events` endpoint
/// is limited to 10 requests a minute; the stream is the bulk export Atlassian recommends).
async fn events(ctx: &Ctx, org_id: &str, family: &FamilyRun<'_>) -> Result<(), Abort> {
    let query = vec![
        ("from", ctx.since.as_millisecond().to_string()),
        ("to", Timestamp::now().as_millisecond().to_string()),
        ("limit", EVENTS_PAGE.to_string()),
        ("sortOrder", "asc".to_string()),
    ];
    let pager = get(format!("/admin/v1/orgs/{org_id}/events-stream"), query).until_empty();
    let mut listing = Box::pin(family.list::<wire::Event, _>(pager));
    while let Some(event) = listing.try_next().await? {
        if let Some(record) = event.record(&ctx.ns) {
            family.emit(Record::Event(record)).await?;
        }
    }
    Ok(())
}
