//! A simulated Atlassian Jira Cloud site, served over real HTTP on `127.0.0.1`.
//!
//! `--demo`, the tests and the benchmark run the real collector against it, so it answers the
//! Jira platform REST v3 endpoints the collector calls with the shapes of the official spec
//! (`fixtures/spec/jira-platform-subset.json`), including the quirks a client must survive:
//! short `/users/search` pages, clamped `maxResults`, hidden emails, inactive group members,
//! team-managed projects without a permission scheme, the removed `/search`, 401/403/404 for
//! missing credentials or permissions, and injected 429/503.
//!
//! A second listener ([`Tenant::api_url`], standing in for `https://api.atlassian.com`) serves
//! the organization Admin APIs when the config carries an [`OrgConfig`]: its own base URL, its
//! own Bearer key, its own fault counter, so tests can tell which credential went where.
//!
//! Layout:
//! - `data`: the deterministic synthetic site ([`Dataset`]), the ground truth tests compare to;
//! - `chaos`: switchable faults and pagination lies, a layer in front of both listeners;
//! - `gate`: what runs before routing (request log, Basic auth, pacing, injected faults);
//! - `pacing`: latency, per-endpoint token buckets, quota, random faults, and the server-side
//!   accounting a benchmark reads ([`Tenant::pacing_report`]);
//! - `jira`: the route table and one handler per endpoint;
//! - `confluence_data`, `confluence`: the Confluence side of the same site (spaces, space and
//!   site permissions, audit log, settings) and its endpoints, v1, v2 and GraphQL;
//! - `error`: Jira's `ErrorCollection` error body;
//! - `org_data`: the deterministic synthetic organization ([`OrgData`]) behind the Admin APIs;
//! - `admin`: the Admin listener's gate, route table and handlers;
//! - `assets_data`, `assets`: the Assets CMDB (workspace, schemas, object types, objects) and
//!   its endpoints: workspace discovery on the site, the Assets API on the second listener
//!   (Basic auth with the site's credentials, as on `api.atlassian.com`);
//! - `jsm_data`, `jsm`: Jira Service Management's service desks, customers and organisations;
//! - `oauth`: the OAuth authorization server and the `/ex/{product}/{cloudId}` gateway on the
//!   Admin listener, and the site's public `/_edge/tenant_info`;
//! - `v2`: Jira's REST v2 paths, served as their v3 twins.

mod admin;
mod assets;
mod assets_data;
mod chaos;
mod confluence;
mod confluence_data;
mod data;
mod error;
mod gate;
mod jira;
mod jsm;
mod jsm_data;
mod oauth;
mod org_data;
mod pacing;
mod v2;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use secrecy::SecretString;
use tokio::sync::oneshot;

pub use assets_data::{AssetsAttribute, AssetsData, AssetsObject, AssetsType, AttributeKind};
pub use chaos::{Chaos, Fault, Rule, Scope};
pub use confluence_data::{
    AuditEntry, ConfluenceData, SiteGrant, Space, SpaceGrant, ALL_LICENSED, ANONYMOUS,
};
pub use data::{
    ActorKind, ApplicationProperty, ApplicationRole, Dataset, Expected, Grant, Group,
    PermissionScheme, Project, ProjectRole, RoleActor, User,
};
pub use jsm_data::{JsmData, Organization, ServiceDesk};
pub use oauth::{OAuthStats, OAuthTenant, CLOUD_ID, OTHER_SITE};
pub use org_data::{
    ApiKey, ApiToken, AuditEvent, DirectoryGroup, DirectoryUser, Domain, EventContext, OrgData,
    ProductAccess, ServiceAccount, TokenOwner,
};
pub use pacing::{
    min_requests, physical_limit, template, Counts, Pacing, PacingReport, Quota, TemplateCounts,
};

/// Size and behaviour of a simulated site.
#[derive(Clone, Debug)]
pub struct TenantConfig {
    /// Accounts in the directory: a mix of `atlassian`, `app` and `customer`, some inactive,
    /// some with `emailAddress` hidden.
    pub users: usize,
    /// Team groups in addition to the four built-in ones.
    pub groups: usize,
    pub projects: usize,
    /// The Basic credentials the site accepts.
    pub email: String,
    pub token: SecretString,
    /// `false`: the caller lacks *Administer Jira* and administers the first project only.
    pub admin: bool,
    /// `/users/search` clamps `maxResults` to this.
    pub users_page_limit: usize,
    /// `/users/search` returns short pages before the end.
    pub short_pages: bool,
    pub faults: Faults,
    pub confluence: ConfluenceTenant,
    pub assets: AssetsTenant,
    pub jsm: JsmTenant,
    /// The organization behind the Admin API listener; `None`: every Admin path answers 404.
    pub org: Option<OrgConfig>,
    /// The OAuth client the token endpoint knows and its grant; `None`: every grant is refused.
    pub oauth: Option<OAuthTenant>,
    /// Switchable faults on both listeners (none by default).
    pub chaos: Chaos,
    /// Latency, rate limits and random faults (off by default).
    pub pacing: Pacing,
    /// `false`: [`Tenant::requests`] stays empty, so a long benchmark does not keep every
    /// request; the per-template counts of [`Tenant::pacing_report`] are kept either way.
    pub request_log: bool,
    /// Roles of every project; `0`: Jira's defaults (four for company-managed projects, three
    /// for team-managed ones). More adds further roles, each with a team group and a person.
    pub roles_per_project: usize,
    /// Permission schemes; at most three gives Jira's default, restricted and public schemes,
    /// more adds generated ones that company-managed projects share round-robin.
    pub permission_schemes: usize,
    /// Team groups each Atlassian account joins; `0`: one, and every fifth account a second.
    pub team_groups_per_person: usize,
}

/// The sizes of a benchmark organisation. `L` is a large enterprise: 50,000 accounts, 5,000
/// groups averaging about 40 members, 2,000 projects of 8 roles, 200 permission schemes,
/// 5,000 API tokens and 100,000 Assets objects, with the organisation's directory holding the
/// same people. `M` is about a fifth of `L`, `S` about a fiftieth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    S,
    M,
    L,
}

impl Profile {
    /// `S`, `M` or `L`, case-insensitively.
    pub fn parse(raw: &str) -> Option<Profile> {
        match raw.trim().to_ascii_uppercase().as_str() {
            "S" => Some(Profile::S),
            "M" => Some(Profile::M),
            "L" => Some(Profile::L),
            _ => None,
        }
    }

    /// `L` divided by this gives the profile's sizes.
    fn divisor(self) -> usize {
        match self {
            Profile::S => 50,
            Profile::M => 5,
            Profile::L => 1,
        }
    }
}

/// Size and behaviour of the Confluence side of the site.
#[derive(Clone, Debug)]
pub struct ConfluenceTenant {
    /// Global spaces; the second (`DOCS`) is readable by anonymous users, the fourth archived.
    pub global_spaces: usize,
    /// Personal spaces, one for each of the first Atlassian accounts.
    pub personal_spaces: usize,
    /// v1 and v2 listings return at most this many items a page (v1 documents "fixed system
    /// limits"; lower here so small sites need several pages).
    pub page_limit: usize,
    pub audit_events: usize,
    /// `/cgraphql` answers `OperationBlocked`, as Atlassian now does for ad-hoc operations.
    pub cgraphql_blocked: bool,
    /// `/wiki/api/v2/spaces` answers a page's own cursor as its next one: a listing that never
    /// advances.
    pub repeat_cursor: bool,
}

impl Default for ConfluenceTenant {
    fn default() -> Self {
        ConfluenceTenant {
            global_spaces: 8,
            personal_spaces: 6,
            page_limit: 25,
            audit_events: 40,
            cgraphql_blocked: true,
            repeat_cursor: false,
        }
    }
}

/// Size and behaviour of the site's Assets workspace.
#[derive(Clone, Debug)]
pub struct AssetsTenant {
    /// `false`: the site has no Assets. Workspace discovery answers 404 and its deprecated twin
    /// an empty list.
    pub enabled: bool,
    /// Objects across the two schemas' five object types.
    pub objects: usize,
    /// The AQL search clamps `maxResults` (and the older lists `resultPerPage`) to this.
    pub page_limit: usize,
    /// `POST …/object/aql` answers 404, as on a tenant that only has the older
    /// `GET …/aql/objects`.
    pub legacy_only: bool,
    /// Every Nth authenticated Assets API request answers 429 without `Retry-After` or
    /// `X-RateLimit-Reset`, as Assets has been seen to do; 0 = never.
    pub rate_limit_every: u32,
}

impl Default for AssetsTenant {
    fn default() -> Self {
        AssetsTenant {
            enabled: true,
            objects: 3000,
            page_limit: 50,
            legacy_only: false,
            rate_limit_every: 0,
        }
    }
}

/// Size and behaviour of the site's Jira Service Management.
#[derive(Clone, Debug)]
pub struct JsmTenant {
    /// Every JSM listing clamps `limit` to this.
    pub page_limit: usize,
    /// Customer organisations.
    pub organizations: usize,
    /// Customers users/search does not list (portal-only accounts), on top of the site's
    /// `customer` accounts.
    pub portal_customers: usize,
    /// Service desks, on the first `service_desk` projects; `usize::MAX`: one on each.
    pub desks: usize,
    /// Customers of each desk at most; `usize::MAX`: two in three of all customers.
    pub desk_customers: usize,
}

impl Default for JsmTenant {
    fn default() -> Self {
        JsmTenant {
            page_limit: 10,
            organizations: 6,
            portal_customers: 12,
            desks: usize::MAX,
            desk_customers: usize::MAX,
        }
    }
}

/// Injected failures, counted over every authenticated request.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Every Nth request answers 429; 0 = never.
    pub rate_limit_every: u32,
    /// The `Retry-After` sent with those 429s.
    pub retry_after_secs: u64,
    /// Every Nth request answers 503 without `Retry-After`; 0 = never.
    pub unavailable_every: u32,
}

impl TenantConfig {
    /// A modest, realistic site for `--demo`.
    pub fn demo(email: &str, token: SecretString) -> Self {
        TenantConfig {
            users: 64,
            groups: 6,
            projects: 12,
            email: email.to_string(),
            token,
            admin: true,
            users_page_limit: 25,
            short_pages: true,
            faults: Faults::default(),
            confluence: ConfluenceTenant::default(),
            assets: AssetsTenant::default(),
            jsm: JsmTenant::default(),
            org: None,
            oauth: None,
            chaos: Chaos::default(),
            pacing: Pacing::default(),
            request_log: true,
            roles_per_project: 0,
            permission_schemes: 3,
            team_groups_per_person: 0,
        }
    }

    /// A benchmark organisation of `profile`'s size (see [`Profile`]): the site with Confluence,
    /// Assets and JSM, and the organisation behind the Admin API (keyed by `api_key`) holding
    /// the same people. Every page size is the documented maximum, so a client asking for the
    /// largest pages walks the fewest; no request log, no pacing (set [`TenantConfig::pacing`]).
    pub fn profile(
        profile: Profile,
        email: &str,
        token: SecretString,
        api_key: SecretString,
    ) -> Self {
        let d = profile.divisor();
        let scale = |l: usize| (l / d).max(1);
        let org = OrgConfig {
            extra_users: scale(1_000),
            api_tokens: scale(5_000),
            api_keys: 5,
            service_accounts: scale(50),
            events: scale(5_000),
            page_size: 100,
            ..OrgConfig::demo(api_key)
        };
        TenantConfig {
            users: scale(50_000),
            // Four built-in groups come on top of the team groups.
            groups: scale(5_000) - 4,
            projects: scale(2_000),
            users_page_limit: 1000,
            short_pages: false,
            confluence: ConfluenceTenant {
                global_spaces: scale(500),
                personal_spaces: scale(500),
                page_limit: 250,
                audit_events: scale(2_000),
                ..ConfluenceTenant::default()
            },
            assets: AssetsTenant {
                objects: scale(100_000),
                page_limit: 100,
                ..AssetsTenant::default()
            },
            jsm: JsmTenant {
                page_limit: 50,
                organizations: scale(200),
                portal_customers: scale(1_000),
                desks: scale(50),
                desk_customers: 500,
            },
            request_log: false,
            roles_per_project: 8,
            permission_schemes: scale(200).max(3),
            team_groups_per_person: 3,
            ..TenantConfig::demo(email, token)
        }
        .with_org(org)
    }

    /// A small site for tests: several pages everywhere, still quick to walk.
    pub fn small(email: &str, token: SecretString) -> Self {
        TenantConfig {
            users: 30,
            groups: 3,
            projects: 6,
            users_page_limit: 10,
            confluence: ConfluenceTenant {
                global_spaces: 5,
                personal_spaces: 4,
                page_limit: 3,
                audit_events: 30,
                ..ConfluenceTenant::default()
            },
            assets: AssetsTenant {
                objects: 120,
                page_limit: 10,
                ..AssetsTenant::default()
            },
            jsm: JsmTenant {
                page_limit: 3,
                organizations: 5,
                portal_customers: 8,
                ..JsmTenant::default()
            },
            ..TenantConfig::demo(email, token)
        }
    }

    /// The same site, with an OAuth client and the gateway's behaviour.
    pub fn with_oauth(self, oauth: OAuthTenant) -> Self {
        TenantConfig {
            oauth: Some(oauth),
            ..self
        }
    }

    /// The same site, inside an organization served by the Admin API listener.
    pub fn with_org(self, org: OrgConfig) -> Self {
        TenantConfig {
            org: Some(org),
            ..self
        }
    }
}

/// Size and behaviour of the organization the Admin API serves. Its directory holds every
/// Atlassian account of the site (same account ids), so the site and the org can be stitched.
#[derive(Clone, Debug)]
pub struct OrgConfig {
    /// The key the Admin API accepts as `Authorization: Bearer <key>`.
    pub api_key: SecretString,
    pub org_id: String,
    pub name: String,
    /// Directory users with no access to this site: other products only, unmanaged, or no
    /// product access at all.
    pub extra_users: usize,
    /// User API tokens across the org.
    pub api_tokens: usize,
    /// Org admin API keys.
    pub api_keys: usize,
    /// Service accounts (`…@serviceaccount.atlassian.com`), each with one or two API tokens.
    pub service_accounts: usize,
    /// Audit events spread over the ten days before `now`.
    pub events: usize,
    /// Every date in the org data is relative to this.
    pub now: jiff::Timestamp,
    /// Server page size of every cursor listing.
    pub page_size: usize,
    /// `false`: the v2 directory endpoints answer 404 and a client must fall back to v1
    /// `/users` and `last-active-dates`.
    pub v2_directory: bool,
    /// Areas the key lacks the scope for: they answer 403 with an `ADMIN-403-3` body.
    pub denied: Vec<AdminArea>,
    /// Every Nth authenticated Admin request answers 429 with `X-RateLimit-*` headers and no
    /// `Retry-After`; 0 = never. Counted apart from the site's faults.
    pub rate_limit_every: u32,
    /// The api-tokens listing hands out the same `next` cursor forever after the first page.
    pub repeat_cursor: bool,
}

/// A group of Admin endpoints that one API key scope opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminArea {
    /// `/v1/orgs`, `/v1/orgs/{orgId}`.
    Orgs,
    /// `/v1/orgs/{orgId}/domains`.
    Domains,
    /// v2 directory users, v1 `/users`, `last-active-dates`.
    Directory,
    /// v2 directory groups.
    Groups,
    /// `/api-access/v1/orgs/{orgId}/api-tokens`.
    ApiTokens,
    /// `/api-access/v1/orgs/{orgId}/api-keys`.
    ApiKeys,
    /// `/api-access/v1/orgs/{orgId}/service-accounts/{id}/api-tokens`.
    ServiceAccounts,
    /// `/v1/orgs/{orgId}/events-stream`.
    Events,
}

impl OrgConfig {
    /// A modest organization for `--demo`, dated from the wall clock.
    pub fn demo(api_key: SecretString) -> Self {
        OrgConfig {
            api_key,
            org_id: "6f1d2b3a-4c5e-4f60-8a7b-9c0d1e2f3a4b".to_string(),
            name: "Acme".to_string(),
            extra_users: 24,
            api_tokens: 36,
            api_keys: 3,
            service_accounts: 3,
            events: 120,
            now: jiff::Timestamp::now(),
            page_size: 20,
            v2_directory: true,
            denied: Vec::new(),
            rate_limit_every: 0,
            repeat_cursor: false,
        }
    }

    /// A small organization for tests: every listing needs several pages.
    pub fn small(api_key: SecretString, now: jiff::Timestamp) -> Self {
        OrgConfig {
            extra_users: 12,
            api_tokens: 14,
            api_keys: 2,
            service_accounts: 2,
            events: 30,
            now,
            page_size: 4,
            ..OrgConfig::demo(api_key)
        }
    }
}

/// One request as the tenant saw it. The query string is kept, headers are not (they hold the
/// credentials): only which kind of credential came, and to which listener.
#[derive(Clone, Debug)]
pub struct LoggedRequest {
    pub host: Host,
    pub method: String,
    pub path: String,
    pub query: String,
    /// The `Authorization` scheme: `basic`, `bearer`, `none`, or `other` for anything else.
    pub auth: &'static str,
    pub status: u16,
}

/// Which listener a request reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Host {
    /// The Jira site ([`Tenant::url`]).
    Site,
    /// The Admin API ([`Tenant::api_url`]).
    Api,
}

/// State shared by the gate and the handlers.
struct Site {
    config: TenantConfig,
    base_url: String,
    /// The Admin API listener's base URL.
    api_url: String,
    data: Arc<Dataset>,
    /// When the tenant started: audit records are dated relative to it.
    started: jiff::Timestamp,
    /// Authenticated requests so far; drives the injected faults.
    served: AtomicU64,
    /// Authenticated Admin API requests so far; drives the Admin rate limit.
    admin_served: AtomicU64,
    /// Authenticated Assets API requests so far; drives the Assets rate limit.
    assets_served: AtomicU64,
    log: Mutex<Vec<LoggedRequest>>,
    /// Latency, limits, faults and the per-template counts.
    pacer: pacing::Pacer,
    /// Tokens and codes the OAuth authorization server issued.
    oauth: oauth::OAuthState,
}

/// A running simulated site. Dropping it stops the server.
pub struct Tenant {
    site: Arc<Site>,
    /// One per listener.
    shutdown: Vec<oneshot::Sender<()>>,
}

impl Tenant {
    /// Binds two ports on `127.0.0.1` (the site, the Admin API) and serves on the current tokio
    /// runtime.
    pub async fn start(config: TenantConfig) -> anyhow::Result<Tenant> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the simulated tenant to 127.0.0.1")?;
        let addr = listener
            .local_addr()
            .context("reading the tenant's address")?;
        let api_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the simulated Admin API to 127.0.0.1")?;
        let api_addr = api_listener
            .local_addr()
            .context("reading the Admin API's address")?;
        let injector = chaos::Injector::new(&config.chaos);
        let site = Arc::new(Site {
            data: Arc::new(Dataset::generate(&config)),
            pacer: pacing::Pacer::new(config.pacing.clone()),
            config,
            base_url: format!("http://{addr}"),
            started: jiff::Timestamp::now(),
            api_url: format!("http://{api_addr}"),
            served: AtomicU64::new(0),
            admin_served: AtomicU64::new(0),
            assets_served: AtomicU64::new(0),
            log: Mutex::new(Vec::new()),
            oauth: oauth::OAuthState::default(),
        });
        let app = jira::routes()
            .merge(confluence::routes())
            .merge(jsm::routes())
            .merge(assets::site_routes())
            .merge(oauth::site_routes())
            .layer(axum::middleware::from_fn_with_state(
                site.clone(),
                gate::gate,
            ))
            .merge(oauth::public_site_routes());
        let app = v2::alias(app.with_state(site.clone()).layer(
            axum::middleware::from_fn_with_state(injector.clone(), chaos::inject),
        ));
        // The Assets paths have their own gate (the site's Basic credentials); everything
        // else on this listener is the Admin API.
        let assets_api = assets::api_routes().layer(axum::middleware::from_fn_with_state(
            site.clone(),
            assets::gate,
        ));
        let api = admin::routes()
            .layer(axum::middleware::from_fn_with_state(
                site.clone(),
                admin::gate,
            ))
            .merge(assets_api)
            .merge(oauth::api_routes())
            .with_state(site.clone())
            .layer(axum::middleware::from_fn_with_state(
                injector,
                chaos::inject,
            ));
        let shutdown = vec![serve(listener, app), serve(api_listener, api)];
        tracing::debug!(url = %site.base_url, api_url = %site.api_url, "simulated tenant listening");
        Ok(Tenant { site, shutdown })
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn url(&self) -> String {
        self.site.base_url.clone()
    }

    /// The Admin API's `http://127.0.0.1:PORT`, standing in for `https://api.atlassian.com`.
    pub fn api_url(&self) -> String {
        self.site.api_url.clone()
    }

    pub fn dataset(&self) -> &Dataset {
        &self.site.data
    }

    /// What the OAuth authorization server did so far.
    pub fn oauth_stats(&self) -> OAuthStats {
        self.site.oauth.stats()
    }

    /// The refresh tokens that are still valid (for tests: a client must hold the newest).
    pub fn live_refresh_tokens(&self) -> Vec<String> {
        self.site.oauth.live_refresh_tokens()
    }

    /// The server's own account of the requests so far: totals, per-template counts, the
    /// physical limit of the run and the fewest requests a complete collection needs.
    pub fn pacing_report(&self) -> PacingReport {
        self.site.pacer.report(&self.site.data, &self.site.config)
    }

    /// Exhausts `host`'s quota: its next request answers `429` with
    /// `RateLimit-Reason: jira-quota-tenant-based` and `Retry-After` of `pause` (whole seconds),
    /// and the whole host stays closed until then.
    pub fn trip_quota(&self, host: Host, pause: std::time::Duration) {
        self.site.pacer.trip_quota(host, pause);
    }

    /// Every request served so far, in order (empty when the config turned the log off).
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.site
            .log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

impl Drop for Tenant {
    fn drop(&mut self) {
        for shutdown in self.shutdown.drain(..) {
            let _ = shutdown.send(());
        }
    }
}

/// Serves `app` on `listener` until the returned sender fires or is dropped.
fn serve(listener: tokio::net::TcpListener, app: axum::Router) -> oneshot::Sender<()> {
    let (shutdown, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let server = axum::serve(listener, app).with_graceful_shutdown(async {
            // A dropped sender also ends the wait: either way the tenant is gone.
            let _ = stopped.await;
        });
        if let Err(err) = server.await {
            tracing::warn!("simulated tenant stopped: {err}");
        }
    });
    shutdown
}
