//! Collects a large simulated tenant end to end and prints what it took: a quick look at
//! throughput and memory before the benchmark exists.
//!
//! `cargo run --release --example large_tenant -- [USERS] [GROUPS] [PROJECTS] [org]`
//! (defaults 20000, 400, 300; `org` adds the organisation behind the Admin API, so users are
//! stitched and secrets collected). The simulated site answers at loopback speed with no latency,
//! so this measures the collector's own cost, not Atlassian's rate limits.

use std::time::Instant;

use anyhow::Context;
use atlassian_inventory::admin::AdminSettings;
use atlassian_inventory::collect;
use atlassian_inventory::config::{AdminAccess, Config, Product, Target, Verbosity};
use atlassian_inventory::http::{Auth, HttpSettings};
use atlassian_inventory::output::{Destination, Format, OutputSpec};
use atlassian_inventory::tenant::{OrgConfig, Tenant, TenantConfig};
use secrecy::SecretString;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let with_org = args.iter().any(|a| a == "org");
    let mut sizes = args
        .iter()
        .filter(|a| *a != "org")
        .map(|a| a.parse::<usize>());
    let mut next = |default: usize| sizes.next().unwrap_or(Ok(default));
    let (users, groups, projects) = (next(20_000)?, next(400)?, next(300)?);
    let key = "example-admin-key";

    let token = "example-token";
    let mut tenant_config = TenantConfig {
        users,
        groups,
        projects,
        users_page_limit: 1000,
        ..TenantConfig::demo("example@example.com", SecretString::from(token))
    };
    if with_org {
        tenant_config = tenant_config.with_org(OrgConfig {
            page_size: 100,
            ..OrgConfig::demo(SecretString::from(key))
        });
    }
    let tenant = Tenant::start(tenant_config).await?;
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
        products: if with_org {
            vec![Product::Jira, Product::Admin]
        } else {
            vec![Product::Jira]
        },
        output: OutputSpec {
            format: Format::Jsonl,
            destination: Destination::File(output.clone()),
        },
        http: HttpSettings::default(),
        api_url: tenant.api_url().parse()?,
        since: jiff::Timestamp::now(),
        admin: with_org.then(|| AdminAccess {
            key: SecretString::from(key),
            settings: AdminSettings {
                org_id: None,
                stale_days: 90,
            },
        }),
        fail_on_partial: false,
        aql: None,
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
