//! A simulated Atlassian Jira Cloud site, served over real HTTP on `127.0.0.1`.
//!
//! `--demo`, the tests and the benchmark run the real collector against it, so it answers the
//! Jira platform REST v3 endpoints the collector calls with the shapes of the official spec
//! (`fixtures/spec/jira-platform-subset.json`), including the quirks a client must survive:
//! short `/users/search` pages, clamped `maxResults`, hidden emails, inactive group members,
//! team-managed projects without a permission scheme, the removed `/search`, 401/403/404 for
//! missing credentials or permissions, and injected 429/503.
//!
//! Layout:
//! - `data`: the deterministic synthetic site ([`Dataset`]), the ground truth tests compare to;
//! - `gate`: what runs before routing (request log, Basic auth, injected faults);
//! - `jira`: the route table and one handler per endpoint;
//! - `confluence_data`, `confluence`: the Confluence side of the same site (spaces, space and
//!   site permissions, audit log, settings) and its endpoints, v1, v2 and GraphQL;
//! - `error`: Jira's `ErrorCollection` error body.

mod confluence;
mod confluence_data;
mod data;
mod error;
mod gate;
mod jira;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use secrecy::SecretString;
use tokio::sync::oneshot;

pub use confluence_data::{
    AuditEntry, ConfluenceData, SiteGrant, Space, SpaceGrant, ALL_LICENSED, ANONYMOUS,
};
pub use data::{
    ActorKind, ApplicationProperty, ApplicationRole, Dataset, Grant, Group, PermissionScheme,
    Project, ProjectRole, RoleActor, User,
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
        }
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
            ..TenantConfig::demo(email, token)
        }
    }
}

/// One request as the site saw it. The query string is kept, headers are not (they hold the
/// credentials).
#[derive(Clone, Debug)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
}

/// State shared by the gate and the handlers.
struct Site {
    config: TenantConfig,
    base_url: String,
    data: Arc<Dataset>,
    /// When the tenant started: audit records are dated relative to it.
    started: jiff::Timestamp,
    /// Authenticated requests so far; drives the injected faults.
    served: AtomicU64,
    log: Mutex<Vec<LoggedRequest>>,
}

/// A running simulated site. Dropping it stops the server.
pub struct Tenant {
    site: Arc<Site>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Tenant {
    /// Binds `127.0.0.1:0` and serves on the current tokio runtime.
    pub async fn start(config: TenantConfig) -> anyhow::Result<Tenant> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the simulated tenant to 127.0.0.1")?;
        let addr = listener
            .local_addr()
            .context("reading the tenant's address")?;
        let site = Arc::new(Site {
            data: Arc::new(Dataset::generate(&config)),
            config,
            base_url: format!("http://{addr}"),
            started: jiff::Timestamp::now(),
            served: AtomicU64::new(0),
            log: Mutex::new(Vec::new()),
        });
        let app =
            jira::routes()
                .merge(confluence::routes())
                .layer(axum::middleware::from_fn_with_state(
                    site.clone(),
                    gate::gate,
                ));
        let app = app.with_state(site.clone());
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
        tracing::debug!(url = %site.base_url, "simulated tenant listening");
        Ok(Tenant {
            site,
            shutdown: Some(shutdown),
        })
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn url(&self) -> String {
        self.site.base_url.clone()
    }

    pub fn dataset(&self) -> &Dataset {
        &self.site.data
    }

    /// Every request served so far, in order.
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
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}
