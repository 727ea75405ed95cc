//! `inventory-bench`: a full collection against a large simulated tenant, measured.
//!
//! The bench process serves the simulated tenant ([`inventory_tenant`]) on its own tokio runtime
//! and runs the collector as a **child process** (the `atlassian-inventory` binary, `collect …`), so the peak RSS and
//! CPU time it reports are the collector's own, read from `wait4`'s resource usage when the child
//! exits. Credentials reach the child through environment variables, never its command line. The
//! child writes JSON Lines to a file; the bench then streams that file and checks that every
//! record came exactly once: no id twice, and no id the tenant's ground truth expects missing.
//! With `--peer`, the same Jira data is then collected from a fresh tenant by the Python peer in
//! `peer/` (atlassian-python-api, through the tenant's `/rest/api/2`), for a speed ratio.
//!
//! Two narrow seams connect the bench to the tenant: [`tenant_config`] turns the options into
//! a [`TenantConfig`] (the tenant's own [`Profile`], paced as asked), and [`server_counts`]
//! reads what the server counted ([`Tenant::pacing_report`]): `physical_limit_s`,
//! `min_requests` and `early_retries` come from the server, never from the collector.
//! [`expected_ids`] is the ground truth the output is checked against.
//!
//! Progress goes to stderr; the JSON summary is the last line on stdout.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use inventory_collector::config::Product;
use inventory_collector::record::Namespace;
pub use inventory_tenant::Profile;
use inventory_tenant::{Dataset, Expected, Pacing, Tenant, TenantConfig};

/// The profile's name in the summary.
pub fn profile_name(profile: Profile) -> &'static str {
    match profile {
        Profile::S => "S",
        Profile::M => "M",
        Profile::L => "L",
    }
}

/// The bench's validated options (built from the flags by the `inventory-bench` binary).
#[derive(Clone, Debug)]
pub struct Options {
    pub profile: Profile,
    /// Latency the tenant adds to every response.
    pub latency: Duration,
    /// Requests per second each endpoint allows before answering 429.
    pub rps: u32,
    /// Share of requests answered with an injected 429 or 503, in `[0, 0.5]`.
    pub fault_rate: f64,
    /// Products the collector is asked for.
    pub products: Vec<Product>,
    /// Also run the Python peer (`products` is then Jira only).
    pub peer: bool,
    /// Where the collector's JSON Lines are kept; `None`: a temporary file, removed afterwards.
    pub keep_output: Option<PathBuf>,
    /// The `atlassian-inventory` binary run as the collector.
    pub collector: PathBuf,
    /// The folder holding the peer's `run.sh`.
    pub peer_dir: PathBuf,
}

/// Where the peer lives in a checkout of this crate.
pub fn default_peer_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("peer")
}

/// The credentials of one bench tenant: fresh for every run, handed to the child through its
/// environment.
pub struct Credentials {
    pub email: String,
    pub token: SecretString,
    pub admin_key: SecretString,
}

impl Credentials {
    pub fn fresh() -> Self {
        let fresh = || -> String {
            std::iter::repeat_with(fastrand::alphanumeric)
                .take(32)
                .collect()
        };
        Credentials {
            email: "bench@example.com".to_string(),
            token: SecretString::from(fresh()),
            admin_key: SecretString::from(fresh()),
        }
    }
}

/// Seam 1 of 2: the options as a tenant configuration: the tenant's profile (see
/// [`Profile`]), with the latency, per-endpoint rate and random 429/503 faults asked for. The
/// fault seed is fixed, so two runs of the same options meet the same faults.
pub fn tenant_config(options: &Options, credentials: &Credentials) -> TenantConfig {
    let mut config = TenantConfig::profile(
        options.profile,
        &credentials.email,
        credentials.token.clone(),
        credentials.admin_key.clone(),
    );
    config.pacing = Pacing {
        latency: options.latency,
        rps: Some(f64::from(options.rps)),
        fault_rate: options.fault_rate,
        seed: 1,
        ..Pacing::default()
    };
    config
}

/// What the server counted during one collection.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ServerCounts {
    /// Requests that arrived, on both listeners, refused or not.
    pub requests: Option<u64>,
    /// The fewest requests that could have collected the tenant, given its page sizes.
    pub min_requests: Option<u64>,
    /// Requests sent before an earlier `Retry-After` had elapsed.
    pub early_retries: Option<u64>,
    /// The shortest possible collection, from the tenant's request counts, page sizes, rate
    /// limits and latency.
    pub physical_limit_s: Option<f64>,
    /// Requests answered with an injected 429 or 503.
    pub faults: Option<u64>,
    /// Requests refused with 429 by an endpoint's token bucket.
    pub throttled: Option<u64>,
    /// The dataset's sizes: what a complete collection must find.
    pub dataset: Expected,
}

/// Seam 2 of 2: what the tenant counted ([`Tenant::pacing_report`]) and what it holds.
pub fn server_counts(tenant: &Tenant) -> ServerCounts {
    let report = tenant.pacing_report();
    ServerCounts {
        requests: Some(report.requests),
        min_requests: Some(report.min_requests),
        early_retries: Some(report.totals.early_retries),
        physical_limit_s: Some(report.physical_limit_s),
        faults: Some(report.totals.faults),
        throttled: Some(report.totals.throttled),
        dataset: tenant.dataset().expected(),
    }
}

/// The record ids the tenant's ground truth says a collection of `products` must contain, on a
/// site whose host is `host`. Families whose records cannot be told from the dataset alone
/// (settings, events, coverage, stitched org-only users) are left out: this is a lower bound,
/// so anything it lists and the output lacks is truly missing.
pub fn expected_ids(data: &Dataset, host: &str, products: &[Product]) -> Vec<String> {
    let ns = Namespace::new(host);
    let mut ids = Vec::new();
    if products.contains(&Product::Jira) {
        ids.extend(data.users.iter().map(|u| ns.user(&u.account_id)));
        for group in &data.groups {
            let id = Some(group.group_id.as_str());
            ids.push(ns.group(id, &group.name));
            ids.extend(
                group
                    .members
                    .iter()
                    .map(|account| ns.group_member(id, &group.name, account)),
            );
        }
        for project in &data.projects {
            ids.push(ns.project(&project.id));
            for role in &project.roles {
                let role_id = role.id.to_string();
                ids.push(ns.project_role(&project.id, &role_id));
                ids.extend(
                    role.actors
                        .iter()
                        .map(|a| ns.role_actor(&project.id, &role_id, &a.id.to_string())),
                );
            }
        }
        for scheme in &data.permission_schemes {
            let scheme_id = scheme.id.to_string();
            ids.extend(
                scheme
                    .grants
                    .iter()
                    .map(|g| ns.permission_grant(&scheme_id, &g.id.to_string())),
            );
        }
        ids.extend(
            data.application_roles
                .iter()
                .map(|r| ns.application_role(&r.key)),
        );
    }
    if products.contains(&Product::Assets) {
        let workspace = &data.assets.workspace_id;
        ids.extend(
            data.assets
                .objects
                .iter()
                .map(|o| ns.assets(workspace, "object", &o.id)),
        );
    }
    if products.contains(&Product::Confluence) {
        ids.extend(data.confluence.spaces.iter().map(|s| ns.space(&s.id)));
    }
    if let (true, Some(org)) = (products.contains(&Product::Admin), &data.org) {
        ids.extend(
            org.api_tokens
                .iter()
                .map(|t| ns.secret(&org.org_id, "api_token", &t.id)),
        );
        ids.extend(
            org.api_keys
                .iter()
                .map(|k| ns.secret(&org.org_id, "admin_api_key", &k.id)),
        );
    }
    ids
}

/// The exactly-once check of one output file.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Check {
    pub records: u64,
    /// Records per `kind`.
    pub kinds: BTreeMap<String, u64>,
    /// Records whose id an earlier record already had.
    pub duplicates: u64,
    /// Expected ids no record had.
    pub missing: u64,
    /// Expected ids checked.
    pub expected: u64,
    /// A few offending ids, for the report on stderr.
    #[serde(skip)]
    pub examples: Vec<String>,
}

impl Check {
    pub fn exactly_once(&self) -> bool {
        self.duplicates == 0 && self.missing == 0
    }
}

const EXAMPLES: usize = 5;

/// Streams JSON Lines from `reader`, counting records per kind, ids seen twice, and ids of
/// `expected` never seen. A line that is not a record with a `kind` and an `id` is an error
/// naming its line number.
pub fn check_records(
    reader: impl BufRead,
    expected: impl IntoIterator<Item = String>,
) -> anyhow::Result<Check> {
    #[derive(Deserialize)]
    struct Line {
        kind: String,
        id: String,
    }
    let mut check = Check::default();
    let mut seen: HashSet<String> = HashSet::new();
    for (n, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("reading line {}", n + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let Line { kind, id } = serde_json::from_str(&line)
            .with_context(|| format!("line {} is not a record with a kind and an id", n + 1))?;
        check.records += 1;
        *check.kinds.entry(kind).or_default() += 1;
        if !seen.insert(id.clone()) {
            check.duplicates += 1;
            if check.examples.len() < EXAMPLES {
                check.examples.push(format!("duplicate {id}"));
            }
        }
    }
    for id in expected {
        check.expected += 1;
        if !seen.contains(&id) {
            check.missing += 1;
            if check.examples.len() < EXAMPLES {
                check.examples.push(format!("missing {id}"));
            }
        }
    }
    Ok(check)
}

/// The Python peer's figures.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PeerFigures {
    pub peer_wall_s: f64,
    pub peer_records: Option<u64>,
    /// Requests the tenant served to the peer.
    pub peer_requests: Option<u64>,
    /// `peer_wall_s / wall_s`: how many times faster the collector was.
    pub speedup: f64,
}

/// The JSON summary, the last line on stdout.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub profile: &'static str,
    pub products: Vec<&'static str>,
    /// The dataset's sizes (what a complete collection must find).
    pub sizes: Expected,
    pub latency_ms: u64,
    pub rps: u32,
    pub fault_rate: f64,
    pub wall_s: f64,
    pub physical_limit_s: Option<f64>,
    pub ratio: Option<f64>,
    pub requests: Option<u64>,
    pub min_requests: Option<u64>,
    /// Retries the collector reported (its run summary).
    pub retries: Option<u64>,
    pub early_retries: Option<u64>,
    /// Requests the tenant answered with an injected 429 or 503.
    pub faults: Option<u64>,
    /// Requests an endpoint's token bucket refused with 429.
    pub throttled: Option<u64>,
    pub peak_rss_mb: Option<f64>,
    pub cpu_s: Option<f64>,
    /// `cpu_s / wall_s`.
    pub cpu_share: Option<f64>,
    /// CPU time the bench process, serving the tenant, used during the collection.
    pub tenant_cpu_s: Option<f64>,
    pub records: u64,
    pub records_per_s: f64,
    pub kinds: BTreeMap<String, u64>,
    pub expected_ids: u64,
    pub duplicates: u64,
    pub missing: u64,
    /// The collector's exit status; `null` when it was ended by a signal.
    pub collector_exit: Option<i32>,
    /// Every record exactly once and the collector exited 0.
    pub ok: bool,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub peer: Option<PeerFigures>,
}

impl Summary {
    /// Puts the parts together; derived figures (`ratio`, `cpu_share`, `records_per_s`, `ok`)
    /// are computed here and nowhere else.
    pub fn new(options: &Options, child: &ChildRun, server: &ServerCounts, check: &Check) -> Self {
        let wall_s = child.wall.as_secs_f64();
        let per_wall = |x: f64| (wall_s > 0.0).then(|| x / wall_s);
        let collector_exit = child.status.code();
        Summary {
            profile: profile_name(options.profile),
            products: options.products.iter().map(|p| p.name()).collect(),
            sizes: server.dataset.clone(),
            latency_ms: u64::try_from(options.latency.as_millis()).unwrap_or(u64::MAX),
            rps: options.rps,
            fault_rate: options.fault_rate,
            wall_s,
            physical_limit_s: server.physical_limit_s,
            ratio: server
                .physical_limit_s
                .filter(|limit| *limit > 0.0)
                .map(|limit| wall_s / limit),
            requests: server.requests,
            min_requests: server.min_requests,
            retries: child.retries,
            early_retries: server.early_retries,
            faults: server.faults,
            throttled: server.throttled,
            peak_rss_mb: child.usage.map(|u| u.peak_rss_mb),
            cpu_s: child.usage.map(|u| u.cpu_s),
            cpu_share: child.usage.and_then(|u| per_wall(u.cpu_s)),
            tenant_cpu_s: child.tenant_cpu_s,
            records: check.records,
            records_per_s: per_wall(check.records as f64).unwrap_or(0.0),
            kinds: check.kinds.clone(),
            expected_ids: check.expected,
            duplicates: check.duplicates,
            missing: check.missing,
            collector_exit,
            ok: check.exactly_once() && collector_exit == Some(0),
            peer: None,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

/// The resources the child used, from `wait4`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Usage {
    pub peak_rss_mb: f64,
    /// User plus system CPU time.
    pub cpu_s: f64,
}

/// How one collector child went.
#[derive(Debug)]
pub struct ChildRun {
    pub wall: Duration,
    pub status: ExitStatus,
    /// `None` where the platform has no `wait4`.
    pub usage: Option<Usage>,
    /// From the collector's run summary on stderr.
    pub retries: Option<u64>,
    /// CPU time this process (the tenant, mostly) used meanwhile: when the collector's own CPU
    /// is far below its wall time, this tells whether the tenant was the bottleneck.
    pub tenant_cpu_s: Option<f64>,
}

/// What [`run`] ends with: the summary, and why the peer could not run, if it could not (the
/// collector's figures are reported all the same).
pub struct Outcome {
    pub summary: Summary,
    pub peer_error: Option<anyhow::Error>,
}

impl Outcome {
    /// Every record exactly once, the collector exited 0, and the peer ran if asked for.
    pub fn passed(&self) -> bool {
        self.summary.ok && self.peer_error.is_none()
    }
}

/// Runs the bench: tenant, collector child, exactly-once check, and the peer when asked.
pub fn run(options: &Options) -> anyhow::Result<Outcome> {
    let credentials = Credentials::fresh();
    let config = tenant_config(options, &credentials);
    let temp = tempfile::tempdir().context("creating a temporary directory for the output")?;
    let output = match &options.keep_output {
        Some(path) => path.clone(),
        None => temp.path().join("inventory.jsonl"),
    };
    let org_id = config.org.as_ref().map(|org| org.org_id.clone());
    // Before the tenant takes memory: see `Launcher`.
    let launcher = Launcher::spawn(options, &credentials, org_id.as_deref(), &output)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tenant's runtime")?;
    let started = Instant::now();
    let tenant = runtime
        .block_on(Tenant::start(config.clone()))
        .context("starting the simulated tenant")?;
    let sizes = tenant.dataset().expected();
    progress(format_args!(
        "profile {}: {} users, {} groups, {} projects, {} project roles, {} API tokens, \
         {} Assets objects; {} ms latency, {} requests/s per endpoint, fault rate {}",
        profile_name(options.profile),
        sizes.users,
        sizes.groups,
        sizes.projects,
        sizes.project_roles,
        sizes.api_tokens,
        sizes.assets,
        options.latency.as_millis(),
        options.rps,
        options.fault_rate
    ));
    progress(format_args!(
        "tenant ready at {} in {:.1}s; collecting {}",
        tenant.url(),
        started.elapsed().as_secs_f64(),
        products_arg(&options.products)
    ));

    let child = run_collector(launcher, &tenant)?;
    let server = server_counts(&tenant);
    progress(format_args!(
        "collector finished ({}) after {:.1}s; checking every record exactly once",
        child.status,
        child.wall.as_secs_f64()
    ));
    let host = url::Url::parse(&tenant.url())
        .ok()
        .and_then(|url| url.host_str().map(str::to_string))
        .unwrap_or_else(|| "127.0.0.1".to_string());
    let expected = expected_ids(tenant.dataset(), &host, &options.products);
    let check = match std::fs::File::open(&output) {
        Ok(file) => check_records(BufReader::new(file), expected)
            .with_context(|| format!("checking {}", output.display()))?,
        // No output at all: every expected record is missing.
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            check_records(std::io::empty(), expected)?
        }
        Err(error) => {
            return Err(error).with_context(|| format!("opening {}", output.display()));
        }
    };
    for example in &check.examples {
        progress(format_args!("{example}"));
    }
    let mut summary = Summary::new(options, &child, &server, &check);
    drop(tenant);

    let peer_error = if options.peer {
        match run_peer_on_fresh_tenant(options, &runtime, config, &credentials) {
            Ok((peer, served)) => {
                summary.peer = Some(PeerFigures {
                    speedup: if summary.wall_s > 0.0 {
                        peer.wall_s / summary.wall_s
                    } else {
                        0.0
                    },
                    peer_wall_s: peer.wall_s,
                    peer_records: peer.records,
                    peer_requests: served,
                });
                None
            }
            Err(error) => Some(error),
        }
    } else {
        None
    };
    Ok(Outcome {
        summary,
        peer_error,
    })
}

/// The peer's report and the requests the tenant served it.
fn run_peer_on_fresh_tenant(
    options: &Options,
    runtime: &tokio::runtime::Runtime,
    config: TenantConfig,
    credentials: &Credentials,
) -> anyhow::Result<(PeerReport, Option<u64>)> {
    let tenant = runtime
        .block_on(Tenant::start(config))
        .context("starting a fresh tenant for the peer")?;
    progress(format_args!(
        "running the Python peer against a fresh tenant"
    ));
    let peer = run_peer(options, &tenant, credentials)?;
    Ok((peer, server_counts(&tenant).requests))
}

fn progress(message: std::fmt::Arguments<'_>) {
    eprintln!("bench: {message}");
}

fn products_arg(products: &[Product]) -> String {
    products
        .iter()
        .map(|p| p.name())
        .collect::<Vec<_>>()
        .join(",")
}

/// How often the bench says it is still waiting.
const HEARTBEAT: Duration = Duration::from_secs(20);

/// The collector's process, started before the tenant exists and waiting for its addresses.
///
/// Linux carries a process's peak RSS across `fork` and `exec`: a child's `ru_maxrss` is at
/// least what its parent had resident when it was spawned. Spawned from a bench that holds an L
/// tenant (hundreds of MB), the collector would be charged for it. So the child is spawned
/// first, while the bench is small, as `sh` reading the site and API URLs from its stdin, and
/// `exec`s the collector once the tenant is up; same pid, so `wait4` still sees it.
struct Launcher {
    child: Child,
}

impl Launcher {
    fn spawn(
        options: &Options,
        credentials: &Credentials,
        org_id: Option<&str>,
        output: &Path,
    ) -> anyhow::Result<Launcher> {
        let mut command = launcher_command(&options.collector)?;
        command
            .args(["--username", &credentials.email])
            .args(["--products", &products_arg(&options.products)])
            .arg("--output")
            .arg(output);
        if let Some(org_id) = org_id {
            command.args(["--org-id", org_id]);
        }
        // The collector reads these; the child gets none of the caller's.
        for name in inventory_collector::config::ENVIRONMENT {
            command.env_remove(name);
        }
        let child = command
            .env("ATLASSIAN_TOKEN", credentials.token.expose_secret())
            .env(
                "ATLASSIAN_ADMIN_API_KEY",
                credentials.admin_key.expose_secret(),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting the collector {}", options.collector.display()))?;
        Ok(Launcher { child })
    }

    /// Hands the tenant's addresses over: the collector starts now.
    fn start(&mut self, tenant: &Tenant) -> anyhow::Result<()> {
        use std::io::Write;
        let mut stdin = self
            .child
            .stdin
            .take()
            .context("the collector's stdin is gone")?;
        writeln!(stdin, "{}\n{}", tenant.url(), tenant.api_url())
            .context("handing the tenant's addresses to the collector")?;
        Ok(())
    }
}

/// `sh` waiting for two lines (site, API URL), then `exec`ing `collector collect …` with them
/// and the arguments added to the command.
#[cfg(unix)]
fn launcher_command(collector: &Path) -> anyhow::Result<Command> {
    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(r#"read -r site && read -r api && exec "$0" collect --site "$site" --api-url "$api" "$@""#)
        .arg(collector);
    Ok(command)
}

#[cfg(not(unix))]
fn launcher_command(collector: &Path) -> anyhow::Result<Command> {
    bail!(
        "bench needs a Unix system (a /bin/sh to start {} and wait4 to measure it)",
        collector.display()
    )
}

/// Starts the waiting collector against `tenant`, timing it and reading its resource usage.
fn run_collector(mut launcher: Launcher, tenant: &Tenant) -> anyhow::Result<ChildRun> {
    let cpu_before = own_cpu_s();
    let started = Instant::now();
    launcher.start(tenant)?;
    let mut child = launcher.child;
    let stderr = child.stderr.take();
    std::thread::scope(|scope| {
        // The collector's stderr, passed on; its run summary carries the retry count.
        let relay = scope.spawn(move || {
            let mut retries = None;
            if let Some(stderr) = stderr {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    eprintln!("collector: {line}");
                    retries = retries_in_summary(&line).or(retries);
                }
            }
            retries
        });
        let (stop, stopped) = mpsc::channel::<()>();
        scope.spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(HEARTBEAT) {
                progress(format_args!(
                    "{:.0}s, {} requests so far",
                    started.elapsed().as_secs_f64(),
                    tenant.pacing_report().requests
                ));
            }
        });
        let waited = wait_with_usage(&mut child);
        let wall = started.elapsed();
        drop(stop);
        let retries = relay.join().unwrap_or(None);
        let (status, usage) = waited.context("waiting for the collector")?;
        let tenant_cpu_s = own_cpu_s()
            .zip(cpu_before)
            .map(|(after, before)| after - before);
        Ok(ChildRun {
            wall,
            status,
            usage,
            retries,
            tenant_cpu_s,
        })
    })
}

/// The retry count in the collector's run summary, `… (N requests, M retries) …`.
pub fn retries_in_summary(line: &str) -> Option<u64> {
    if !line.starts_with("collected ") {
        return None;
    }
    let before = &line[..line.find(" retries)")?];
    let number = before.rsplit(' ').next()?;
    number.parse().ok()
}

/// Waits for `child` and reads the resources it alone used. `wait4` reports the child's own
/// peak RSS and CPU time, which `getrusage(RUSAGE_CHILDREN)` would mix with other children's.
#[cfg(unix)]
fn wait_with_usage(child: &mut Child) -> std::io::Result<(ExitStatus, Option<Usage>)> {
    use std::os::unix::process::ExitStatusExt;

    let pid = libc::pid_t::try_from(child.id())
        .map_err(|_| std::io::Error::other("the child's pid does not fit a pid_t"))?;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain old data, for which all-zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are to live, writable locals of the types wait4 expects; `pid`
        // is our own unreaped child, so no other process's status is consumed.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            break;
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
    Ok((
        ExitStatus::from_raw(status),
        Some(Usage {
            // Linux reports ru_maxrss in KiB.
            peak_rss_mb: usage.ru_maxrss as f64 / 1024.0,
            cpu_s: timeval_s(usage.ru_utime) + timeval_s(usage.ru_stime),
        }),
    ))
}

/// User plus system CPU time of this process so far.
#[cfg(unix)]
fn own_cpu_s() -> Option<f64> {
    // SAFETY: as in `wait_with_usage`: plain old data, written by getrusage.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid `who` and a pointer to a live, writable rusage.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return None;
    }
    Some(timeval_s(usage.ru_utime) + timeval_s(usage.ru_stime))
}

#[cfg(unix)]
fn timeval_s(t: libc::timeval) -> f64 {
    t.tv_sec as f64 + t.tv_usec as f64 / 1e6
}

#[cfg(not(unix))]
fn own_cpu_s() -> Option<f64> {
    None
}

#[cfg(not(unix))]
fn wait_with_usage(child: &mut Child) -> std::io::Result<(ExitStatus, Option<Usage>)> {
    Ok((child.wait()?, None))
}

/// The peer's own report, its last line on stdout.
#[derive(Debug, Deserialize)]
struct PeerReport {
    wall_s: f64,
    records: Option<u64>,
}

/// Runs `peer/run.sh` against `tenant`: it makes its virtualenv, installs the pinned
/// atlassian-python-api, collects, and prints a JSON line.
fn run_peer(
    options: &Options,
    tenant: &Tenant,
    credentials: &Credentials,
) -> anyhow::Result<PeerReport> {
    let script = options.peer_dir.join("run.sh");
    if !script.is_file() {
        bail!(
            "the peer is not there: {} does not exist (run the bench from a checkout of \
             atlassian-inventory, or leave out --peer)",
            script.display()
        );
    }
    let mut command = Command::new("bash");
    command.arg(&script);
    for name in inventory_collector::config::ENVIRONMENT {
        command.env_remove(name);
    }
    let output = command
        .env("ATLASSIAN_SITE", tenant.url())
        .env("ATLASSIAN_USERNAME", &credentials.email)
        .env("ATLASSIAN_TOKEN", credentials.token.expose_secret())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .context("starting the peer with bash")?;
    if !output.status.success() {
        bail!(
            "the peer failed ({}); see its messages above. It needs python3 with venv and pip, \
             and PyPI to install atlassian-python-api",
            output.status
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .context("the peer printed nothing on stdout; it should end with a JSON line")?;
    serde_json::from_str(last)
        .with_context(|| format!("the peer's last line is not its JSON report: {last}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_count_is_read_from_the_run_summary() {
        let line = "collected 2 accounts, 103 users in 1.5s (212 requests, 7 retries); \
                    route site; coverage complete";
        assert_eq!(retries_in_summary(line), Some(7));
        assert_eq!(retries_in_summary("warning: 3 retries)"), None);
        assert_eq!(retries_in_summary("collected nothing"), None);
    }

    #[test]
    fn the_retry_count_is_read_from_the_collectors_own_summary_line() {
        let summary = inventory_collector::summary::Summary {
            counts: BTreeMap::new(),
            requests: 40,
            retries: 3,
            elapsed: Duration::from_secs(2),
            problems: vec!["jira.users failed (HTTP 503)".to_string()],
            not_implemented: Vec::new(),
            route: Some("route site".to_string()),
        };
        assert_eq!(retries_in_summary(&summary.to_string()), Some(3));
    }
}
