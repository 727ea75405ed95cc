//! The scheduler in the HTTP layer against the simulated tenant: a rate-limited collection
//! still completes, each 429 is retried once its `Retry-After` has passed, and the two
//! scheduling flags are validated.

use std::collections::BTreeMap;
use std::time::Duration;

use assert_cmd::Command;
use inventory_collector::config::Product;
use inventory_tenant::{Faults, TenantConfig};
use serde_json::Value;

use crate::support::*;

const PRODUCTS: [Product; 3] = [Product::Jira, Product::Jsm, Product::Confluence];

/// Records of each kind a run wrote.
fn counts(records: &[Value]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for record in records {
        *counts.entry(text(record, "kind")).or_default() += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_collection_completes_and_counts_each_retry() {
    let calm = start(small()).await;
    let calm_out = out();
    let (outcome, _) = run(config_for(&calm, &calm_out.path, &PRODUCTS)).await;
    assert!(!outcome.expect("run succeeds").partial());
    let expected = counts(&read_records(&calm_out.path));

    let tenant = start(TenantConfig {
        faults: Faults {
            rate_limit_every: 3,
            retry_after_secs: 2,
            unavailable_every: 0,
        },
        ..small()
    })
    .await;
    let out = out();
    let mut config = config_for(&tenant, &out.path, &PRODUCTS);
    // Every third request the tenant answers is a 429, whoever sends it: under a loaded
    // machine one request can draw it several times in a row. The test is about each 429
    // being waited out and retried, not about giving up, so retries are not the limit here.
    config.http.retry.max_retries = 50;
    let (outcome, clock) = run(config).await;
    let report = outcome.expect("run succeeds");
    assert!(!report.partial(), "{}", report.summary);
    // Nothing lost to the 429s: the same records as without them.
    assert_eq!(counts(&read_records(&out.path)), expected);

    let limited = tenant.requests().iter().filter(|r| r.status == 429).count();
    assert!(limited > 0, "faults fired");
    // One retry per 429, each after the full Retry-After.
    assert_eq!(report.summary.retries as usize, limited);
    let sleeps = clock.sleeps();
    let exact = sleeps
        .iter()
        .filter(|d| **d == Duration::from_secs(2))
        .count();
    assert!(exact >= limited, "{exact} waits of 2 s for {limited} 429s");
}

fn collect_demo(args: &[&str]) -> std::process::Output {
    let mut command = Command::cargo_bin("atlassian-inventory").expect("binary is built");
    for name in ATLASSIAN_ENV {
        command.env_remove(name);
    }
    command
        .args(["collect", "--demo", "--quiet", "--products", "jira"])
        .args(args)
        .output()
        .expect("binary runs")
}

#[test]
fn a_rate_share_outside_zero_to_one_is_a_usage_error() {
    for bad in ["0", "1.01", "-1", "NaN"] {
        let flag = format!("--rate-share={bad}");
        let output = collect_demo(&[&flag]);
        assert_eq!(output.status.code(), Some(2), "{bad}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("--rate-share"), "{bad}: {stderr}");
    }
    let output = collect_demo(&["--max-concurrency", "257"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn a_polite_run_with_many_requests_in_flight_completes() {
    let output = collect_demo(&["--rate-share", "0.5", "--max-concurrency", "256"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let users = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.contains(r#""kind":"user""#))
        .count();
    assert!(users > 0);
}
