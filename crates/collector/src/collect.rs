//! One collection run: opens the output, reaches the site, runs the
//! selected products concurrently, streams every record through a single writer, and reports
//! what was collected and what was not.
//!
//! Many producers, one writer: products send records over a bounded channel to a writer thread,
//! so output needs no locks and memory stays flat however large the tenant is.

use std::sync::Arc;
use std::time::Instant;

use futures_util::FutureExt;
use jiff::Timestamp;
use tokio::sync::mpsc;

use crate::config::{AdminAccess, Config, Credentials, Product, Target};
use crate::coverage;
use crate::engine::{all, product, Abort, Ctx, Emitter, Item};
use crate::http::oauth::{GrantType, OAuthClient, TokenSource};
use crate::http::retry::{Clock, SystemClock};
use crate::http::{ApiError, Auth, Client};
use crate::join::{GroupClaims, Lister, Sides, Users};
use crate::output::{self, Sink, WriteError};
use crate::progress::Progress;
use crate::record::{Account, Namespace, Record};
use crate::route::{self, Probe, Route, RouteError};
use crate::summary::Summary;

/// Records buffered between the producers and the writer.
const CHANNEL: usize = 1024;

/// How a run ended, when it ended normally.
#[derive(Debug)]
pub struct Report {
    pub summary: Summary,
    /// The run was partial and `--fail-on-partial` was given: nothing was written, the
    /// previous output is in place.
    pub discarded: bool,
}

impl Report {
    /// True when some endpoint family could not be fully collected.
    pub fn partial(&self) -> bool {
        !self.summary.problems.is_empty()
    }
}

/// A run that could not finish. Each maps to its own exit status.
#[derive(Debug)]
pub enum RunError {
    /// Bad flags, environment or files: nothing was requested.
    Usage(anyhow::Error),
    /// The site answered 401.
    Unauthorized(anyhow::Error),
    /// Stdout was closed by the reader (`| head`): not a failure.
    BrokenPipe,
    /// Ctrl-C or SIGTERM: output files were left untouched.
    Interrupted,
    /// Anything else that stopped the run.
    Fatal(anyhow::Error),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Usage(e) | RunError::Unauthorized(e) | RunError::Fatal(e) => {
                write!(f, "{e:#}")
            }
            RunError::BrokenPipe => write!(f, "output closed by the reader"),
            RunError::Interrupted => {
                write!(f, "interrupted; output files were left as they were")
            }
        }
    }
}

/// Runs a collection with the wall clock.
pub async fn run(config: Config) -> Result<Report, RunError> {
    run_with_clock(config, Arc::new(SystemClock)).await
}

/// Runs a collection; `clock` decides how retries wait (tests pass a manual clock).
pub async fn run_with_clock(config: Config, clock: Arc<dyn Clock>) -> Result<Report, RunError> {
    // Ctrl-C or SIGTERM at any point, from the first request (route and token requests
    // included) to the last: the run stops, its temporary output files are removed as the run
    // is dropped, and the previous output stays in place.
    tokio::select! {
        outcome = run_to_end(config, clock) => outcome,
        () = shutdown_signal() => Err(RunError::Interrupted),
    }
}

async fn run_to_end(config: Config, clock: Arc<dyn Clock>) -> Result<Report, RunError> {
    let started = Instant::now();
    let collected_at = Timestamp::now();
    // The output is locked (for the whole run) and opened first, so another run writing it, or
    // a bad path, fails before any request is made.
    let _lock = config.output.lock().map_err(RunError::Usage)?;
    let sink = Sink::open(&config.output).map_err(RunError::Usage)?;

    let Connection {
        endpoints,
        stats,
        site: site_client,
        confluence: confluence_client,
        assets: assets_client,
        route,
        admin: admin_client,
    } = connect(&config, clock).await?;
    let assets = assets_client.map(|client| crate::assets::Gateway {
        client,
        aql: config.aql.clone(),
    });
    let Some(client) = site_client
        .clone()
        .or_else(|| admin_client.as_ref().map(|(c, _)| c.clone()))
    else {
        return Err(RunError::Usage(anyhow::anyhow!(
            "nothing to collect: give a site, or select admin with an Admin API key"
        )));
    };
    let host = match &endpoints.site {
        Some((url, _)) => url.host_str(),
        None => endpoints.api_url.host_str(),
    };
    let ns = Namespace::new(host.unwrap_or("atlassian"));

    let progress = Progress::new(config.progress, Arc::clone(&stats));
    let (tx, rx) = mpsc::channel(CHANNEL);
    let site_on = site_client.is_some();
    let runs = |product| site_on && config.products.contains(&product);
    let users = Users::new(Sides {
        jira: runs(Product::Jira),
        jsm: runs(Product::Jsm),
        admin: admin_client.is_some(),
    });
    let writer = tokio::task::spawn_blocking(move || output::drain(sink, rx, users, progress));
    let ctx = Ctx {
        client,
        ns: ns.clone(),
        out: Emitter::new(tx),
        workers: config.http.max_concurrency.max(1),
        since: config.since,
        groups: Arc::new(GroupClaims::new(
            runs(Product::Jira),
            runs(Product::Confluence),
        )),
    };
    let confluence_ctx = Ctx {
        client: confluence_client.unwrap_or_else(|| ctx.client.clone()),
        ..ctx.clone()
    };
    let admin = admin_client.map(|(client, settings)| {
        let admin_ctx = Ctx {
            client,
            ..ctx.clone()
        };
        (admin_ctx, settings)
    });

    let site_account = endpoints.site.as_ref().map(|(url, auth)| Account {
        id: ns.account(),
        site: ns.site().to_string(),
        account_type: "site".to_string(),
        url: url.to_string().trim_end_matches('/').to_string(),
        auth_method: auth.method().to_string(),
        route: route.as_ref().map(|r| r.name().to_string()),
        products: config
            .products
            .iter()
            .map(|p| p.name().to_string())
            .collect(),
        collected_at: collected_at.to_string(),
        collector: concat!("atlassian-inventory ", env!("CARGO_PKG_VERSION")).to_string(),
        ..Account::default()
    });
    let work = async {
        if let Some(account) = site_account {
            ctx.out.send(Item::Record(Record::Account(account))).await?;
        }
        let site = Site {
            on: site_on,
            assets: assets.as_ref(),
            confluence: &confluence_ctx,
        };
        collect_products(&ctx, site, admin.as_ref(), &config.products).await
    };
    let outcome = work.await;
    drop(ctx);
    drop(confluence_ctx);
    drop(admin);

    let drained = writer
        .await
        .map_err(|e| RunError::Fatal(anyhow::anyhow!("the output writer failed: {e}")))?;
    let (sink, tallies) = match drained {
        Ok(done) => done,
        Err(WriteError::BrokenPipe) => return Err(RunError::BrokenPipe),
        Err(WriteError::Other(e)) => return Err(RunError::Fatal(e)),
    };
    match outcome {
        Err(Abort::Unauthorized(error)) => {
            return Err(RunError::Unauthorized(endpoints.unauthorized(&error)))
        }
        // The writer stopped without an error only when it was dropped; treat as fatal.
        Err(Abort::OutputClosed) => {
            return Err(RunError::Fatal(anyhow::anyhow!(
                "the output writer stopped early"
            )))
        }
        Ok(()) => {}
    }
    let mut summary = Summary::new(&tallies, &stats, started.elapsed());
    summary.route = route.as_ref().map(Route::describe);
    let mut report = Report {
        summary,
        discarded: false,
    };
    if report.partial() && config.fail_on_partial {
        // All or nothing: dropping the sink removes its temporary files.
        drop(sink);
        report.discarded = true;
    } else {
        sink.commit().map_err(RunError::Fatal)?;
    }
    Ok(report)
}

/// Everything a run talks to: the endpoints (and the demo tenant serving them), the chosen
/// route and one client per destination, all counted in `stats`.
pub(crate) struct Connection {
    pub endpoints: Endpoints,
    pub stats: Arc<crate::http::Stats>,
    /// Jira's client: the site, or the gateway's `/ex/jira/{cloudId}`.
    pub site: Option<Client>,
    /// Confluence's client: the site, or the gateway's `/ex/confluence/{cloudId}`.
    pub confluence: Option<Client>,
    pub route: Option<Route>,
    /// The Assets API's client, when Assets is selected: `{api-url}` with the site's Basic
    /// credentials, or, through the gateway, the same base as Jira (`/ex/jira/{cloudId}`).
    pub assets: Option<Client>,
    /// The Admin API's client (with its own key) and settings, when admin is selected.
    pub admin: Option<(Client, crate::admin::AdminSettings)>,
}

/// Resolves the endpoints, chooses the site's route and builds the clients.
pub(crate) async fn connect(
    config: &Config,
    clock: Arc<dyn Clock>,
) -> Result<Connection, RunError> {
    let endpoints = Endpoints::resolve(config);
    let stats = Arc::new(crate::http::Stats::default());
    let limits =
        crate::http::limit::Limits::new(config.http.max_concurrency, config.http.rate_share);
    let client_for = |base: &reqwest::Url, auth: Auth| {
        Client::new(base.clone(), auth, &config.http, Arc::clone(&clock))
            .map(|client| client.sharing_stats(Arc::clone(&stats)))
            .map(|client| client.sharing_limits(limits.clone()))
            .map_err(RunError::Fatal)
    };
    let site_client = match &endpoints.site {
        Some((url, auth)) => Some(client_for(url, auth.clone())?),
        None => None,
    };
    // The site itself or the API gateway; Jira and Confluence get a client each, which differ
    // only through the gateway (`/ex/jira/{cloudId}`, `/ex/confluence/{cloudId}`).
    let route = match &site_client {
        Some(client) => Some(choose_route(client, &endpoints.api_url, &config.products).await?),
        None => None,
    };
    let (site, confluence) = match (&site_client, &route) {
        (Some(client), Some(route)) => (
            Some(client.with_base(route.jira.clone())),
            Some(client.with_base(route.confluence.clone())),
        ),
        _ => (None, None),
    };
    // Assets takes the site's credentials, never the Admin key (REFERENCE §0.1).
    let assets = match (&endpoints.site, &site, &route) {
        (Some((_, auth)), Some(jira), Some(route))
            if config.products.contains(&Product::Assets) =>
        {
            Some(match route.cloud_id {
                Some(_) => jira.clone(),
                None => client_for(&endpoints.api_url, auth.clone())?,
            })
        }
        _ => None,
    };
    // The Admin API has its own base URL and key; the key never goes to the site.
    let admin = match &endpoints.admin {
        Some(access) if config.products.contains(&Product::Admin) => {
            let auth = Auth::AdminKey {
                key: access.key.clone(),
            };
            Some((
                client_for(&endpoints.api_url, auth)?,
                access.settings.clone(),
            ))
        }
        _ => None,
    };
    Ok(Connection {
        endpoints,
        stats,
        site,
        confluence,
        route,
        assets,
        admin,
    })
}

/// The route for the site, probing with the first site product selected.
async fn choose_route(
    client: &Client,
    api_url: &reqwest::Url,
    products: &[Product],
) -> Result<Route, RunError> {
    let probe = if !products.contains(&Product::Jira) && products.contains(&Product::Confluence) {
        Probe::Confluence
    } else {
        Probe::Jira
    };
    route::choose(client, api_url, probe)
        .await
        .map_err(|e| match e {
            RouteError::Unauthorized(e) => RunError::Unauthorized(e),
            RouteError::Fatal(e) => RunError::Fatal(e),
        })
}

/// Where the run's requests go and with which credentials, signed in.
pub(crate) struct Endpoints {
    pub site: Option<(reqwest::Url, Auth)>,
    pub api_url: reqwest::Url,
    pub admin: Option<AdminAccess>,
}

impl Endpoints {
    fn resolve(config: &Config) -> Endpoints {
        let site = match &config.target {
            Target::Site { url, credentials } => Some((url.clone(), sign_in(credentials))),
            Target::Organization => None,
        };
        Endpoints {
            site,
            api_url: config.api_url.clone(),
            admin: config.admin.clone(),
        }
    }

    /// The message for a 401: which endpoint rejected which credential.
    pub(crate) fn unauthorized(&self, error: &ApiError) -> anyhow::Error {
        let admin_api = format!("{}admin/", self.api_url);
        let from_admin_api = error.url.starts_with(&admin_api);
        match &self.site {
            Some((url, Auth::OAuth(source))) if !from_admin_api => anyhow::anyhow!(
                "{url}: the OAuth access token of client {} ({}) was refused, even after a \
                 renewal. Check that the grant still holds for this site and its scopes. \
                 [{error}]",
                source.client_id(),
                source.method()
            ),
            Some((url, auth)) if !from_admin_api => anyhow::anyhow!(
                "{url} rejected the credentials ({}: HTTP Basic with {} and an API token). \
                 Check ATLASSIAN_USERNAME and the token, which may have expired or been revoked. \
                 [{error}]",
                auth.method(),
                auth.principal()
            ),
            _ => anyhow::anyhow!(
                "the Admin API at {} rejected the organisation API key (admin_api_key). Check \
                 ATLASSIAN_ADMIN_API_KEY or --admin-api-key-file; the key may have expired or \
                 been revoked. [{error}]",
                self.api_url
            ),
        }
    }
}

/// The site's side of a run: whether there is a site, Confluence's context (its own client
/// when the route is the gateway), and the Assets gateway when Assets is selected.
struct Site<'a> {
    on: bool,
    confluence: &'a Ctx,
    assets: Option<&'a crate::assets::Gateway>,
}

async fn collect_products(
    ctx: &Ctx,
    site: Site<'_>,
    admin: Option<&(Ctx, crate::admin::AdminSettings)>,
    products: &[Product],
) -> Result<(), Abort> {
    let Site {
        on: site_on,
        confluence,
        assets,
    } = site;
    for product in products {
        let coverage = match product {
            Product::Admin if admin.is_some() => continue,
            Product::Admin => coverage::not_configured(
                &ctx.ns,
                product.name(),
                "no Org Admin API key (set ATLASSIAN_ADMIN_API_KEY or --admin-api-key-file)",
            ),
            _ if site_on => continue,
            site_product => coverage::not_configured(&ctx.ns, site_product.name(), "no site given"),
        };
        ctx.out
            .send(Item::Record(Record::Coverage(coverage)))
            .await?;
    }
    // Every product runs at once, each on the heap (together they are too large a future for
    // a thread's stack). Where two report the same group or account, `join` decides who writes
    // it; a product that ends (or is not collected) is never waited for.
    let jira_on = site_on && products.contains(&Product::Jira);
    let confluence_on = site_on && products.contains(&Product::Confluence);
    let mut work = Vec::new();
    if jira_on {
        work.push(
            async {
                let done = product(ctx, Product::Jira.name(), crate::jira::collect(ctx)).await;
                ctx.groups.done(Lister::Jira);
                done
            }
            .boxed_local(),
        );
    }
    if confluence_on {
        work.push(
            async {
                let name = Product::Confluence.name();
                let done = product(confluence, name, crate::confluence::collect(confluence)).await;
                ctx.groups.done(Lister::Confluence);
                done
            }
            .boxed_local(),
        );
    }
    if let Some(gateway) = assets.filter(|_| site_on) {
        let assets = crate::assets::collect(ctx, gateway);
        work.push(product(ctx, Product::Assets.name(), assets).boxed_local());
    }
    if site_on && products.contains(&Product::Jsm) {
        work.push(product(ctx, Product::Jsm.name(), crate::jsm::collect(ctx)).boxed_local());
    }
    if let Some((admin_ctx, settings)) = admin {
        let admin = crate::admin::collect(admin_ctx, settings);
        work.push(product(admin_ctx, Product::Admin.name(), admin).boxed_local());
    }
    all(work).await
}

/// Live authentication for the site's credentials. An OAuth client uses the 3LO grant the token
/// store holds for it (from `auth login`), else the client-credentials grant of a service
/// account.
fn sign_in(credentials: &Credentials) -> Auth {
    match credentials {
        Credentials::ApiToken { email, token } => Auth::ApiToken {
            email: email.clone(),
            token: token.clone(),
        },
        Credentials::OAuth {
            client_id,
            client_secret,
            auth_url,
            token_store,
        } => {
            let grant = match token_store {
                Some(store)
                    if crate::token_store::Store::new(store.clone()).has_grant(client_id) =>
                {
                    GrantType::RefreshToken {
                        store: store.clone(),
                    }
                }
                _ => GrantType::ClientCredentials,
            };
            Auth::OAuth(Arc::new(TokenSource::new(OAuthClient {
                client_id: client_id.clone(),
                client_secret: client_secret.clone(),
                auth_url: auth_url.clone(),
                grant,
            })))
        }
    }
}

/// Ctrl-C, or SIGTERM from cron or a service manager.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
