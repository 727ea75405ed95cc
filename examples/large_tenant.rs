//! Collects a large simulated tenant end to end and prints what it took: a quick look at
//! throughput and memory before the benchmark exists.
//!
//! `cargo run --release --example large_tenant -- [USERS] [GROUPS] [PROJECTS]`
//! (defaults 20000, 400, 300). The simulated site answers at loopback speed with no latency,
//! so this measures the collector's own cost, not Atlassian's rate limits.

use std::time::Instant;

use anyhow::Context;
use atlassian_inventory::collect;
use atlassian_inventory::config::{Config, Product, Target, Verbosity};
use atlassian_inventory::http::{Auth, HttpSettings};
use atlassian_inventory::output::{Destination, Format, OutputSpec};
use atlassian_inventory::tenant::{Tenant, TenantConfig};
use secrecy::SecretString;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let mut next = |default: usize| args.next().unwrap_or(Ok(default));
    let (users, groups, projects) = (next(20_000)?, next(400)?, next(300)?);

    let token = "example-token";
    let tenant = Tenant::start(TenantConfig {
        users,
        groups,
        projects,
        users_page_limit: 1000,
        ..TenantConfig::demo("example@example.com", SecretString::from(token))
    })
    .await?;
    let dir = tempfile::tempdir()?;
    let output = dir.path().join("inventory.jsonl");
    let config = Config {
        target: Target::Site {
            url: tenant.url().parse()?,
            auth: Auth::ApiToken {
                email: "example@example.com".to_string(),
                token: SecretString::from(token),
            },
        },
        products: vec![Product::Jira],
        output: OutputSpec {
            format: Format::Jsonl,
            destination: Destination::File(output.clone()),
        },
        http: HttpSettings::default(),
        api_url: tenant.api_url().parse()?,
        since: jiff::Timestamp::now(),
        admin: None,
        progress: false,
        verbosity: Verbosity::Quiet,
    };
    let started = Instant::now();
    let report = collect::run(config)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("collection failed")?;
    let elapsed = started.elapsed().as_secs_f64();
    let records: u64 = report.summary.counts.values().sum();
    let bytes = std::fs::metadata(&output)?.len();
    println!("{}", report.summary);
    println!(
        "{users} users, {groups} groups, {projects} projects: {records} records, {} MB, \
         {:.2} s, {:.0} records/s, {} requests",
        bytes / 1_000_000,
        elapsed,
        records as f64 / elapsed,
        report.summary.requests,
    );
    Ok(())
}
