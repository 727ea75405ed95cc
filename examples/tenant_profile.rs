//! Starts a benchmark-profile tenant in-process and prints how long generating it took, the
//! process's resident memory, and the dataset's expected counts; with `collect`, also runs a full
//! collection against it (no pacing: loopback speed) and prints the tenant's own report.
//!
//! `cargo run --release --example tenant_profile -- [S|M|L] [collect] [paced]`; `paced` adds
//! the benchmark's defaults: 50 ms latency, 100 requests a second per endpoint, 1% faults.

use std::time::{Duration, Instant};

use anyhow::Context;
use atlassian_inventory::admin::AdminSettings;
use atlassian_inventory::collect;
use atlassian_inventory::config::{AdminAccess, Config, Product, Target, Verbosity};
use atlassian_inventory::http::{Auth, HttpSettings};
use atlassian_inventory::output::{Destination, Format, OutputSpec};
use atlassian_inventory::tenant::{Pacing, Profile, Tenant, TenantConfig};
use secrecy::SecretString;

const EMAIL: &str = "example@example.com";
const TOKEN: &str = "example-token";
const KEY: &str = "example-admin-key";

/// `VmRSS` of this process in MB (Linux), or 0 where `/proc` is missing.
fn resident_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let profile = args
        .iter()
        .find_map(|a| Profile::parse(a))
        .unwrap_or(Profile::L);
    let run = args.iter().any(|a| a == "collect");
    let paced = args.iter().any(|a| a == "paced");

    let before = resident_mb();
    let started = Instant::now();
    let mut config = TenantConfig::profile(
        profile,
        EMAIL,
        SecretString::from(TOKEN),
        SecretString::from(KEY),
    );
    if paced {
        config.pacing = Pacing {
            latency: Duration::from_millis(50),
            rps: Some(100.0),
            fault_rate: 0.01,
            seed: 1,
            ..Pacing::default()
        };
    }
    let tenant = Tenant::start(config).await?;
    let generated = started.elapsed().as_secs_f64();
    let after = resident_mb();
    println!(
        "profile {profile:?}: generated in {generated:.2} s, resident memory {after} MB ({} MB for the tenant)",
        after.saturating_sub(before)
    );
    println!(
        "expected: {}",
        serde_json::to_string(&tenant.dataset().expected())?
    );
    if !run {
        return Ok(());
    }

    let dir = tempfile::tempdir()?;
    let output = dir.path().join("inventory.jsonl");
    let config = Config {
        target: Target::Site {
            url: tenant.url().parse()?,
            auth: Auth::ApiToken {
                email: EMAIL.to_string(),
                token: SecretString::from(TOKEN),
            },
        },
        products: Product::ALL.to_vec(),
        output: OutputSpec {
            format: Format::Jsonl,
            destination: Destination::File(output.clone()),
        },
        http: HttpSettings::default(),
        api_url: tenant.api_url().parse()?,
        // The CLI's default window, `--since 24h`, which `min_requests` assumes.
        since: jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24),
        admin: Some(AdminAccess {
            key: SecretString::from(KEY),
            settings: AdminSettings {
                org_id: None,
                stale_days: 90,
            },
        }),
        aql: None,
        progress: false,
        verbosity: Verbosity::Quiet,
        fail_on_partial: false,
    };
    let started = Instant::now();
    let report = collect::run(config)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("collection failed")?;
    let elapsed = started.elapsed().as_secs_f64();
    let mut pacing = tenant.pacing_report();
    pacing.templates.retain(|t| t.counts.requests() > 0);
    println!("{}", report.summary);
    println!(
        "collected in {elapsed:.2} s ({:.2} × the physical limit), resident memory {} MB",
        elapsed / pacing.physical_limit_s.max(f64::MIN_POSITIVE),
        resident_mb()
    );
    println!("tenant: {}", serde_json::to_string(&pacing)?);
    Ok(())
}
