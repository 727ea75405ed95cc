//! Shared helpers: a tenant per test, a collector config pointed at it, records read back. The
//! binary's tests (the workspace's `tests/it`) use them too.

// Two test binaries include this module, and each uses only part of it.
#![allow(dead_code, unused_imports)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use inventory_collector::collect::{self, Report, RunError};
use inventory_collector::config::{Config, Credentials, Product, Target, Verbosity};
use inventory_collector::http::retry::{ManualClock, RetryPolicy};
use inventory_collector::http::HttpSettings;
use inventory_collector::output::{Destination, Format, OutputSpec};
use inventory_tenant::{Tenant, TenantConfig};
use secrecy::SecretString;
use serde_json::Value;

/// Environment variables the binary reads, removed so the machine's own never leak in.
pub use inventory_collector::config::ENVIRONMENT as ATLASSIAN_ENV;

pub const EMAIL: &str = "auditor@example.com";
pub const TOKEN: &str = "tok-7f3a9c1e-NEVER-PRINT-ME-5d2b";
pub const ADMIN_KEY: &str = "adm-key-3b9f0c-NEVER-PRINT-ME-77aa";

pub fn small() -> TenantConfig {
    TenantConfig::small(EMAIL, SecretString::from(TOKEN))
}

pub async fn start(config: TenantConfig) -> Tenant {
    Tenant::start(config).await.expect("tenant starts")
}

/// A collector config for `tenant`, writing JSON Lines to `output`.
pub fn config(tenant: &Tenant, output: &Path) -> Config {
    Config {
        target: Target::Site {
            url: tenant.url().parse().expect("tenant URL"),
            credentials: Credentials::ApiToken {
                email: EMAIL.to_string(),
                token: SecretString::from(TOKEN),
            },
        },
        products: vec![Product::Jira],
        output: OutputSpec {
            format: Format::Jsonl,
            destination: Destination::File(output.to_path_buf()),
        },
        http: HttpSettings {
            max_concurrency: 4,
            retry: RetryPolicy {
                // The tenant's switchable faults hit every Nth request, whoever sends it: on
                // a loaded machine one request can draw several in a row. Tests about giving up
                // set their own limit.
                max_retries: 12,
                base: Duration::from_millis(100),
                ..RetryPolicy::default()
            },
            ..HttpSettings::default()
        },
        api_url: tenant.api_url().parse().expect("tenant API URL"),
        since: jiff::Timestamp::UNIX_EPOCH,
        admin: None,
        fail_on_partial: false,
        aql: None,
        progress: false,
        verbosity: Verbosity::Quiet,
    }
}

/// [`config`] for the `products` given, in that order.
pub fn config_for(tenant: &Tenant, output: &Path, products: &[Product]) -> Config {
    Config {
        products: products.to_vec(),
        ..config(tenant, output)
    }
}

/// Runs the collector with a manual clock, so retries never sleep.
pub async fn run(config: Config) -> (Result<Report, RunError>, Arc<ManualClock>) {
    // Starts at the present: servers' X-RateLimit-Reset times are wall-clock times.
    let clock = Arc::new(ManualClock::new(jiff::Timestamp::now()));
    let outcome = collect::run_with_clock(config, clock.clone()).await;
    (outcome, clock)
}

pub struct Out {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

pub fn out() -> Out {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("inventory.jsonl");
    Out { _dir: dir, path }
}

pub fn read_records(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("output file");
    text.lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect()
}

pub fn of_kind<'a>(records: &'a [Value], kind: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["kind"] == kind).collect()
}

pub fn text(value: &Value, field: &str) -> String {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is not a string in {value}"))
        .to_string()
}

/// The set of `field` values across `records`.
pub fn set_of(records: &[&Value], field: &str) -> BTreeSet<String> {
    records.iter().map(|r| text(r, field)).collect()
}

pub fn coverage<'a>(records: &'a [Value], family: &str) -> &'a Value {
    records
        .iter()
        .find(|r| r["kind"] == "coverage" && r["family"] == family)
        .unwrap_or_else(|| panic!("no coverage record for {family}"))
}
