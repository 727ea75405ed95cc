//! One collection run: opens the output, reaches the site (or starts the demo tenant), runs the
//! selected products concurrently, streams every record through a single writer, and reports
//! what was collected and what was not.
//!
//! Many producers, one writer: products send records over a bounded channel to a writer thread,
//! so output needs no locks and memory stays flat however large the tenant is.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use jiff::Timestamp;
use secrecy::SecretString;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::config::{Config, Product, Target};
use crate::coverage;
use crate::http::retry::{Clock, SystemClock};
use crate::http::{ApiError, Auth, Client};
use crate::output::{self, Sink, WriteError};
use crate::progress::Progress;
use crate::record::{Account, Namespace, Record};
use crate::summary::Summary;
use crate::tenant::{Tenant, TenantConfig};

/// Records buffered between the producers and the writer.
const CHANNEL: usize = 1024;

/// What a product needs: the authenticated client, the id namespace and the record channel.
#[derive(Clone)]
pub struct Ctx {
    pub client: Client,
    pub ns: Namespace,
    pub out: Emitter,
    /// How many items (groups, projects) are worked on at once.
    pub workers: usize,
    /// Audit logs are read from this moment on.
    pub since: Timestamp,
    /// Groups already emitted by one product, so the next does not repeat them.
    pub groups: Arc<SeenGroups>,
}

/// Groups belong to the site, not to a product: Jira and Confluence list the same groups with
/// the same ids. Whichever product reads a group first emits its record (its `source` says
/// which) and, once it has read every member, the member edges; the other product skips both.
/// Products run one after another, so there is no race between them. Holds group ids only.
#[derive(Debug, Default)]
pub struct SeenGroups {
    emitted: std::sync::Mutex<std::collections::HashSet<String>>,
    members_listed: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl SeenGroups {
    /// True the first time `id` (a group record id) is offered: emit it then, and only then.
    pub fn first_sight(&self, id: &str) -> bool {
        lock(&self.emitted).insert(id.to_string())
    }

    /// True when another product already emitted every member of the group.
    pub fn members_listed(&self, id: &str) -> bool {
        lock(&self.members_listed).contains(id)
    }

    /// Every member of the group was emitted, without a failed page.
    pub fn mark_members_listed(&self, id: &str) {
        lock(&self.members_listed).insert(id.to_string());
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The producers' end of the record channel.
#[derive(Clone)]
pub struct Emitter {
    tx: mpsc::Sender<Record>,
}

impl Emitter {
    pub async fn emit(&self, record: Record) -> Result<(), Abort> {
        self.tx.send(record).await.map_err(|_| Abort::OutputClosed)
    }
}

/// Why the whole run stops early.
#[derive(Debug)]
pub enum Abort {
    /// The site rejected the credentials: every other request would fail the same way.
    Unauthorized(ApiError),
    /// The writer stopped (broken pipe, full disk); there is nowhere to put records.
    OutputClosed,
}

/// How a run ended, when it ended normally.
#[derive(Debug)]
pub struct Report {
    pub summary: Summary,
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
    let started = Instant::now();
    let collected_at = Timestamp::now();
    // The output is opened first, so a bad path fails before any request is made.
    let sink = Sink::open(&config.output).map_err(RunError::Usage)?;

    // The demo tenant lives as long as this function: it serves the whole run.
    let (_tenant, site, auth) = match &config.target {
        Target::Demo => {
            let (tenant, auth) = start_demo().await.map_err(RunError::Fatal)?;
            let site = reqwest::Url::parse(&tenant.url())
                .map_err(|e| RunError::Fatal(anyhow::anyhow!("demo tenant URL: {e}")))?;
            (Some(tenant), site, auth)
        }
        Target::Site { url, auth } => (None, url.clone(), auth.clone()),
    };
    let host = site.host_str().unwrap_or("site").to_string();
    let ns = Namespace::new(host);
    let client = Client::new(site.clone(), auth, &config.http, clock).map_err(RunError::Fatal)?;
    let stats = Arc::clone(client.stats());

    let progress = Progress::new(config.progress, Arc::clone(&stats));
    let (tx, rx) = mpsc::channel(CHANNEL);
    let writer = tokio::task::spawn_blocking(move || output::drain(sink, rx, progress));
    let ctx = Ctx {
        client,
        ns: ns.clone(),
        out: Emitter { tx },
        workers: config.http.max_concurrency.max(1),
        since: config.since,
        groups: Arc::default(),
    };

    let account = Account {
        id: ns.account(),
        site: ns.site().to_string(),
        url: site.to_string().trim_end_matches('/').to_string(),
        auth_method: ctx.client.auth().method().to_string(),
        products: config
            .products
            .iter()
            .map(|p| p.name().to_string())
            .collect(),
        collected_at: collected_at.to_string(),
        collector: concat!("atlassian-inventory ", env!("CARGO_PKG_VERSION")).to_string(),
    };
    let work = async {
        ctx.out.emit(Record::Account(account)).await?;
        collect_products(&ctx, &config.products).await
    };
    let outcome = tokio::select! {
        outcome = work => Some(outcome),
        () = shutdown_signal() => None,
    };
    let auth_principal = ctx.client.auth().principal().to_string();
    let auth_method = ctx.client.auth().method();
    drop(ctx);

    let drained = writer
        .await
        .map_err(|e| RunError::Fatal(anyhow::anyhow!("the output writer failed: {e}")))?;
    let (sink, tallies) = match drained {
        Ok(done) => done,
        Err(WriteError::BrokenPipe) => return Err(RunError::BrokenPipe),
        Err(WriteError::Other(e)) => return Err(RunError::Fatal(e)),
    };
    match outcome {
        None => return Err(RunError::Interrupted),
        Some(Err(Abort::Unauthorized(error))) => {
            return Err(RunError::Unauthorized(anyhow::anyhow!(
                "{site} rejected the credentials ({auth_method}: HTTP Basic with {auth_principal} \
                 and an API token). Check ATLASSIAN_USERNAME and the token, which may have expired \
                 or been revoked. [{error}]"
            )))
        }
        // The writer stopped without an error only when it was dropped; treat as fatal.
        Some(Err(Abort::OutputClosed)) => {
            return Err(RunError::Fatal(anyhow::anyhow!(
                "the output writer stopped early"
            )))
        }
        Some(Ok(())) => {}
    }
    sink.commit().map_err(RunError::Fatal)?;
    Ok(Report {
        summary: Summary::new(&tallies, &stats, started.elapsed()),
    })
}

async fn collect_products(ctx: &Ctx, products: &[Product]) -> Result<(), Abort> {
    for product in products {
        match product {
            Product::Jira => crate::jira::collect(ctx).await?,
            Product::Confluence => crate::confluence::collect(ctx).await?,
            other => {
                let coverage = coverage::not_implemented(&ctx.ns, other.name());
                ctx.out.emit(Record::Coverage(coverage)).await?;
            }
        }
    }
    Ok(())
}

/// Starts the built-in simulated tenant with fresh demo credentials.
async fn start_demo() -> anyhow::Result<(Tenant, Auth)> {
    let email = "demo@example.com";
    let token: String = std::iter::repeat_with(fastrand::alphanumeric)
        .take(32)
        .collect();
    let tenant = Tenant::start(TenantConfig::demo(email, SecretString::from(token.clone())))
        .await
        .map_err(|e| anyhow::anyhow!("could not start the demo tenant: {e:#}"))?;
    let auth = Auth::ApiToken {
        email: email.to_string(),
        token: SecretString::from(token),
    };
    Ok((tenant, auth))
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

/// Runs `work` on every item received, at most `limit` at a time, each in its own task. Ends
/// when the sender is dropped and all work is done, or at the first abort.
pub async fn for_each_concurrent<T, F, Fut>(
    mut items: mpsc::Receiver<T>,
    limit: usize,
    work: F,
) -> Result<(), Abort>
where
    T: Send + 'static,
    F: Fn(T) -> Fut,
    Fut: Future<Output = Result<(), Abort>> + Send + 'static,
{
    let mut running = JoinSet::new();
    while let Some(item) = items.recv().await {
        while running.len() >= limit.max(1) {
            join_one(&mut running).await?;
        }
        running.spawn(work(item));
    }
    while !running.is_empty() {
        join_one(&mut running).await?;
    }
    Ok(())
}

async fn join_one(running: &mut JoinSet<Result<(), Abort>>) -> Result<(), Abort> {
    match running.join_next().await {
        Some(Ok(result)) => result,
        // A worker panicked: that is a bug, not a reason to lose the rest of the run.
        Some(Err(error)) => {
            tracing::error!("a collection task failed: {error}");
            Ok(())
        }
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn for_each_concurrent_runs_every_item_within_the_limit() {
        let (tx, rx) = mpsc::channel(4);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicUsize::new(0));
        let producer = async move {
            for i in 0..50 {
                tx.send(i).await.unwrap();
            }
        };
        let consumer = for_each_concurrent(rx, 3, |_| {
            let (running, peak, done) = (running.clone(), peak.clone(), done.clone());
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::task::yield_now().await;
                running.fetch_sub(1, Ordering::SeqCst);
                done.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        });
        let ((), result) = tokio::join!(producer, consumer);
        assert!(result.is_ok());
        assert_eq!(done.load(Ordering::SeqCst), 50);
        assert!(peak.load(Ordering::SeqCst) <= 3);
    }

    #[tokio::test]
    async fn for_each_concurrent_stops_at_the_first_abort() {
        let (tx, rx) = mpsc::channel(64);
        for i in 0..10 {
            tx.send(i).await.unwrap();
        }
        drop(tx);
        let result = for_each_concurrent(rx, 2, |i| async move {
            if i == 3 {
                Err(Abort::OutputClosed)
            } else {
                Ok(())
            }
        })
        .await;
        assert!(matches!(result, Err(Abort::OutputClosed)));
    }
}
