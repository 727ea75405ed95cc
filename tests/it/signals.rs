//! A run stopped by SIGTERM (cron's timeout, a service manager) or Ctrl-C: exit 130, the
//! previous output file untouched, no temporary file left behind.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use inventory_tenant::{Faults, TenantConfig};

use crate::support::*;

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_before_collecting_leaves_the_previous_output_and_no_temp_file() {
    // Every request answers 503, the route probe included: the run is parked in its first
    // retry wait, before any record, when the signal comes.
    sigterm_while_parked(1, 1).await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_collecting_leaves_the_previous_output_and_no_temp_file() {
    // Every second request answers 503: the probe passes, the writer holds its temporary file,
    // and the listings are parked in their retry waits when the signal comes.
    sigterm_while_parked(2, 3).await;
}

/// Runs the binary against a tenant whose every `every`th request fails, with a 30 to 60 s
/// first backoff step; sends SIGTERM once the tenant has seen `requests` requests.
async fn sigterm_while_parked(every: u32, requests: usize) {
    let tenant = start(TenantConfig {
        faults: Faults {
            unavailable_every: every,
            ..Faults::default()
        },
        ..small()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("inventory.jsonl");
    std::fs::write(&output, "yesterday's inventory\n").unwrap();
    let child = Command::new(assert_cmd::cargo::cargo_bin("atlassian-inventory"))
        .args(["collect", "--site", &tenant.url(), "--username", EMAIL])
        .args(["--products", "jira", "--retry-base", "60"])
        .args(["-o", output.to_str().unwrap()])
        .env_remove("ATLASSIAN_SITE")
        .env("ATLASSIAN_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // Wait (polling briefly) until the run has reached the site and is waiting to retry.
    let deadline = Instant::now() + Duration::from_secs(30);
    while tenant.requests().len() < requests {
        assert!(Instant::now() < deadline, "the run never reached the site");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let outcome = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();

    assert_eq!(outcome.status.code(), Some(130));
    let stderr = String::from_utf8_lossy(&outcome.stderr);
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&output).unwrap(),
        "yesterday's inventory\n"
    );
    let mut files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    files.sort();
    // The output and its lock file, which stays by design; no temporary file.
    assert_eq!(
        files,
        ["inventory.jsonl", "inventory.jsonl.lock"],
        "no temporary file left"
    );
}
