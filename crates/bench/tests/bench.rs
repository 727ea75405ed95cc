//! The benchmark's exactly-once check, its JSON summary and the tenant's ground truth, and runs
//! of the built `inventory-bench` binary measuring the `atlassian-inventory` binary beside it.
//! Nothing here is timed.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

use assert_cmd::Command;
use inventory_bench::{
    check_records, expected_ids, Check, ChildRun, Options, Profile, ServerCounts, Summary, Usage,
};
use inventory_collector::config::{Product, ENVIRONMENT};
use inventory_tenant::{Tenant, TenantConfig};
use secrecy::SecretString;
use serde_json::Value;

/// The bench's defaults, as its flags give them.
fn options() -> Options {
    Options {
        profile: Profile::S,
        latency: Duration::from_millis(50),
        rps: 100,
        fault_rate: 0.0,
        products: Product::ALL.to_vec(),
        peer: false,
        keep_output: None,
        collector: PathBuf::from("atlassian-inventory"),
        peer_dir: inventory_bench::default_peer_dir(),
    }
}

/// The bench binary, measuring the collector binary `cargo test` built beside it.
fn bench() -> Command {
    let bench = PathBuf::from(env!("CARGO_BIN_EXE_inventory-bench"));
    let collector = bench.with_file_name(format!(
        "atlassian-inventory{}",
        std::env::consts::EXE_SUFFIX
    ));
    assert!(
        collector.is_file(),
        "{} is not built: run the workspace's tests (cargo test at the top), which build it",
        collector.display()
    );
    let mut command = Command::new(bench);
    for name in ENVIRONMENT {
        command.env_remove(name);
    }
    command.arg("--collector").arg(collector);
    command
}

const JSONL: &str = r#"{"kind":"user","id":"h/user/a","site":"h"}
{"kind":"user","id":"h/user/b","site":"h"}
{"kind":"group","id":"h/group/g","site":"h"}
{"kind":"user","id":"h/user/a","site":"h"}
"#;

#[test]
fn a_duplicate_and_a_missing_record_fail_the_check() {
    let expected = ["h/user/a", "h/user/b", "h/user/c", "h/group/g"].map(String::from);
    let check = check_records(JSONL.as_bytes(), expected).unwrap();
    assert_eq!(check.records, 4);
    assert_eq!(check.kinds["user"], 3);
    assert_eq!(check.kinds["group"], 1);
    assert_eq!(check.duplicates, 1);
    assert_eq!(check.missing, 1);
    assert_eq!(check.expected, 4);
    assert!(!check.exactly_once());
    assert!(check.examples.contains(&"duplicate h/user/a".to_string()));
    assert!(check.examples.contains(&"missing h/user/c".to_string()));
}

#[test]
fn a_complete_output_passes_the_check() {
    let lines: String = JSONL.lines().take(3).map(|l| format!("{l}\n")).collect();
    let expected = ["h/user/a", "h/group/g"].map(String::from);
    let check = check_records(lines.as_bytes(), expected).unwrap();
    assert!(check.exactly_once(), "{check:?}");
    assert_eq!((check.records, check.duplicates, check.missing), (3, 0, 0));
}

#[test]
fn a_line_that_is_not_a_record_is_an_error_naming_it() {
    let text = "{\"kind\":\"user\",\"id\":\"a\"}\n{\"kind\":\"user\"}\n";
    let error = check_records(text.as_bytes(), Vec::new()).unwrap_err();
    assert!(format!("{error:#}").contains("line 2"), "{error:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ground_truth_covers_every_selected_product() {
    let tenant = Tenant::start(TenantConfig::small(
        "a@example.com",
        SecretString::from("t"),
    ))
    .await
    .unwrap();
    let data = tenant.dataset();
    let jira = expected_ids(data, "127.0.0.1", &[Product::Jira]);
    let unique: BTreeSet<&String> = jira.iter().collect();
    assert_eq!(unique.len(), jira.len(), "ground-truth ids are distinct");
    assert!(jira.contains(&format!("127.0.0.1/user/{}", data.users[0].account_id)));
    let with_assets = expected_ids(data, "127.0.0.1", &[Product::Jira, Product::Assets]);
    assert_eq!(
        with_assets.len(),
        jira.len() + data.assets.objects.len(),
        "Assets objects are counted"
    );
}

#[cfg(unix)]
#[test]
fn the_summary_has_every_field_and_null_for_what_is_not_known() {
    use std::os::unix::process::ExitStatusExt;

    let options = options();
    let child = ChildRun {
        wall: Duration::from_secs(4),
        status: ExitStatus::from_raw(0),
        usage: Some(Usage {
            peak_rss_mb: 30.0,
            cpu_s: 1.0,
        }),
        retries: Some(2),
        tenant_cpu_s: Some(3.0),
    };
    let server = ServerCounts {
        requests: Some(100),
        faults: Some(2),
        ..ServerCounts::default()
    };
    let check = check_records(JSONL.as_bytes(), Vec::new()).unwrap();
    let summary = Summary::new(&options, &child, &server, &check);
    let json: Value = serde_json::from_str(&summary.to_json()).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "profile",
            "products",
            "sizes",
            "latency_ms",
            "rps",
            "fault_rate",
            "wall_s",
            "physical_limit_s",
            "ratio",
            "requests",
            "min_requests",
            "retries",
            "early_retries",
            "faults",
            "throttled",
            "peak_rss_mb",
            "cpu_s",
            "cpu_share",
            "tenant_cpu_s",
            "records",
            "records_per_s",
            "kinds",
            "expected_ids",
            "duplicates",
            "missing",
            "collector_exit",
            "ok",
        ]
    );
    // What the server did not say stays null: never estimated by the bench.
    for unknown in ["physical_limit_s", "ratio", "min_requests", "early_retries"] {
        assert!(json[unknown].is_null(), "{unknown}: {}", json[unknown]);
    }
    assert_eq!(json["wall_s"], 4.0);
    assert_eq!(json["records_per_s"], 1.0);
    assert_eq!(json["cpu_share"], 0.25);
    assert_eq!(json["requests"], 100);
    assert_eq!(json["duplicates"], 1);
    assert_eq!(json["ok"], false, "a duplicate fails the run");

    let clean = Summary::new(&options, &child, &server, &Check::default());
    assert!(clean.ok);
    let failed = ChildRun {
        status: ExitStatus::from_raw(3 << 8),
        ..child
    };
    let partial = Summary::new(&options, &failed, &server, &Check::default());
    assert_eq!(partial.collector_exit, Some(3));
    assert!(!partial.ok, "a collector that did not exit 0 fails the run");
}

/// One small run of the real binary: a tenant in the bench process, the collector as its child.
#[test]
fn a_small_bench_run_prints_its_summary_last_and_passes() {
    let mut command = bench();
    let assert = command
        .args(["--profile", "S", "--products", "jira", "--latency-ms", "0"])
        .assert()
        .success();
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    let last = stdout.lines().last().expect("a summary line");
    let json: Value = serde_json::from_str(last).expect("the last line is JSON");
    assert_eq!(json["ok"], true, "{json}\n{stderr}");
    assert_eq!(json["collector_exit"], 0);
    assert_eq!(json["duplicates"], 0);
    assert_eq!(json["missing"], 0);
    assert!(json["expected_ids"].as_u64().unwrap() > 5000, "{json}");
    assert!(json["records"].as_u64() >= json["expected_ids"].as_u64());
    assert!(json["requests"].as_u64().unwrap() > 0);
    assert!(json["peak_rss_mb"].as_f64().unwrap() > 0.0);
    assert!(json["cpu_s"].as_f64().unwrap() > 0.0);
    assert!(stderr.contains("bench: profile S"), "{stderr}");
    assert!(stderr.contains("collector: collected"), "{stderr}");
}

/// A peer that cannot run is said so, and fails the bench; the collector's figures still come.
#[test]
fn a_peer_that_cannot_start_fails_the_bench_after_the_summary() {
    let mut command = bench();
    let assert = command
        .env("PYTHON", "no-such-python-here")
        .args(["--profile", "S", "--peer", "--latency-ms", "0"])
        .assert()
        .code(1);
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("no-such-python-here not found"), "{stderr}");
    assert!(stderr.contains("error: the peer failed"), "{stderr}");
    let json: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(json["ok"], true, "the collection itself passed: {json}");
    assert!(json.get("peer_wall_s").is_none(), "{json}");
    assert_eq!(json["products"], serde_json::json!(["jira"]));
}
