//! The built binary's output contract: `--fail-on-partial` (a partial run writes nothing and
//! exits 5), the output lock (a second run on the same output stops before any request), and
//! `--strict-perms` (a token file or token store other users can read is refused).

use std::fs::File;
use std::path::Path;
use std::process::Command;

use inventory_tenant::{Tenant, TenantConfig};

use crate::oauth::{binary, printed, CLIENT_ID, CLIENT_SECRET};
use crate::support::*;

/// `collect --products jira` against `tenant` with the API token in the environment.
fn collect(tenant: &Tenant, args: &[&str]) -> Command {
    let mut command = binary();
    command
        .arg("collect")
        .args(["--site", &tenant.url(), "--username", EMAIL])
        .args(["--products", "jira", "--retry-base", "0"])
        .args(args)
        .env("ATLASSIAN_TOKEN", TOKEN);
    command
}

/// A site where the account lacks *Administer Jira*: some families answer 403, the run is
/// partial.
async fn forbidden_tenant() -> Tenant {
    start(TenantConfig {
        admin: false,
        ..small()
    })
    .await
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_on_partial_keeps_the_previous_file_and_exits_5() {
    let tenant = forbidden_tenant().await;
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("inventory.jsonl");
    std::fs::write(&output, "yesterday's inventory\n").unwrap();
    let path = output.to_str().unwrap();

    let run = printed(collect(&tenant, &["--fail-on-partial", "-o", path])).await;
    assert_eq!(run.code, Some(5), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(&output).unwrap(),
        "yesterday's inventory\n"
    );
    assert_eq!(
        names(dir.path()),
        ["inventory.jsonl", "inventory.jsonl.lock"]
    );
    // The summary still says what was missing, then why nothing was written.
    assert!(run.stderr.contains("PARTIAL"), "{}", run.stderr);
    assert!(
        run.stderr.contains("jira.application_roles forbidden"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--fail-on-partial") && run.stderr.contains("nothing was written"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
    // Quiet runs still say it.
    let quiet = printed(collect(&tenant, &["--fail-on-partial", "-q", "-o", path])).await;
    assert_eq!(quiet.code, Some(5), "{}", quiet.stderr);
    assert!(!quiet.stderr.contains("PARTIAL"), "{}", quiet.stderr);
    assert!(
        quiet.stderr.contains("nothing was written"),
        "{}",
        quiet.stderr
    );

    // Without the flag the same run writes what it collected and exits 3.
    let run = printed(collect(&tenant, &["-o", path])).await;
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    let records = read_records(&output);
    assert_eq!(
        of_kind(&records, "user").len(),
        tenant.dataset().users.len()
    );
    assert_eq!(
        coverage(&records, "jira.application_roles")["status"],
        "forbidden"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_on_partial_keeps_every_csv_file() {
    let tenant = forbidden_tenant().await;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("inventory");
    std::fs::create_dir(&csv).unwrap();
    std::fs::write(csv.join("users.csv"), "yesterday\n").unwrap();

    let run = printed(collect(
        &tenant,
        &[
            "--fail-on-partial",
            "--format",
            "csv",
            "-o",
            csv.to_str().unwrap(),
        ],
    ))
    .await;
    assert_eq!(run.code, Some(5), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(csv.join("users.csv")).unwrap(),
        "yesterday\n"
    );
    assert_eq!(names(&csv), [".atlassian-inventory.lock", "users.csv"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_on_partial_writes_a_complete_run() {
    let tenant = start(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("inventory.jsonl");
    std::fs::write(&output, "yesterday's inventory\n").unwrap();
    let run = printed(collect(
        &tenant,
        &["--fail-on-partial", "-o", output.to_str().unwrap()],
    ))
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let records = read_records(&output);
    assert_eq!(
        of_kind(&records, "user").len(),
        tenant.dataset().users.len()
    );
    // The inventory and its lock are private, whatever the file it replaced was.
    #[cfg(unix)]
    for path in [&output, &dir.path().join("inventory.jsonl.lock")] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", path.display());
    }
}

/// Holds the lock another run would hold on `lock`.
fn hold(lock: &Path) -> File {
    let file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(lock)
        .unwrap();
    file.try_lock().expect("the test takes the lock first");
    file
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_on_a_locked_output_stops_before_any_request() {
    let tenant = start(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("inventory.jsonl");
    std::fs::write(&output, "the other run's file\n").unwrap();
    let lock = dir.path().join("inventory.jsonl.lock");
    let held = hold(&lock);

    let run = printed(collect(&tenant, &["-o", output.to_str().unwrap()])).await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("another run is writing")
            && run.stderr.contains(&lock.display().to_string()),
        "{}",
        run.stderr
    );
    assert!(tenant.requests().is_empty(), "no request was made");
    assert_eq!(
        std::fs::read_to_string(&output).unwrap(),
        "the other run's file\n"
    );
    assert_eq!(
        names(dir.path()),
        ["inventory.jsonl", "inventory.jsonl.lock"]
    );

    // Once the other run is done, the output is free again.
    drop(held);
    let run = printed(collect(&tenant, &["-o", output.to_str().unwrap()])).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(!read_records(&output).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_csv_directory_is_refused_too_and_stdout_needs_no_lock() {
    let tenant = start(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("inventory");
    std::fs::create_dir(&csv).unwrap();
    let _held = hold(&csv.join(".atlassian-inventory.lock"));
    let run = printed(collect(
        &tenant,
        &["--format", "csv", "-o", csv.to_str().unwrap()],
    ))
    .await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("another run is writing"),
        "{}",
        run.stderr
    );
    assert!(tenant.requests().is_empty());
    assert_eq!(names(&csv), [".atlassian-inventory.lock"]);

    // Two runs to stdout at once are fine: nothing is replaced.
    let (a, b) = tokio::join!(
        printed(collect(&tenant, &["-q"])),
        printed(collect(&tenant, &["-q"]))
    );
    assert_eq!(
        (a.code, b.code),
        (Some(0), Some(0)),
        "{} {}",
        a.stderr,
        b.stderr
    );
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_perms_refuses_a_token_file_others_can_read() {
    let tenant = start(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    set_mode(&token_file, 0o640);
    let from_file = |strict: bool| {
        let mut command = collect(
            &tenant,
            &["-q", "--token-file", token_file.to_str().unwrap()],
        );
        command.env_remove("ATLASSIAN_TOKEN");
        if strict {
            command.arg("--strict-perms");
        }
        command
    };
    let fix = format!("chmod 600 {}", token_file.display());

    // By default: a warning naming the fix, and the run goes on.
    let run = printed(from_file(false)).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.contains("warning") && run.stderr.contains(&fix),
        "{}",
        run.stderr
    );
    let requests = tenant.requests().len();
    assert!(requests > 0);

    let run = printed(from_file(true)).await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.starts_with("error:") && run.stderr.contains(&fix),
        "{}",
        run.stderr
    );
    assert_eq!(tenant.requests().len(), requests, "no request was made");

    set_mode(&token_file, 0o600);
    let run = printed(from_file(true)).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_perms_refuses_a_token_store_others_can_read() {
    let tenant = start(small().with_oauth(crate::oauth::oauth_tenant())).await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("tokens.json");
    std::fs::write(&store, r#"{"version":1,"grants":{}}"#).unwrap();
    set_mode(&store, 0o644);
    let as_client = |strict: bool| {
        let mut command = binary();
        command
            .args(["collect", "--site", &tenant.url(), "--username", CLIENT_ID])
            .args([
                "--auth-url",
                &tenant.api_url(),
                "--api-url",
                &tenant.api_url(),
            ])
            .args(["--products", "jira", "--retry-base", "0", "-q"])
            .arg("--token-store")
            .arg(&store)
            .env("ATLASSIAN_TOKEN", CLIENT_SECRET);
        if strict {
            command.arg("--strict-perms");
        }
        command
    };
    let fix = format!("chmod 600 {}", store.display());

    let run = printed(as_client(false)).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.contains("token store") && run.stderr.contains(&fix),
        "{}",
        run.stderr
    );

    let run = printed(as_client(true)).await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("token store") && run.stderr.contains(&fix),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
}
