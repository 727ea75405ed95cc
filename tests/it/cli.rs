//! The built binary end to end, over HTTP against the simulated tenant: output formats, exit
//! statuses, `--demo`, and the token never appearing anywhere.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use base64::Engine;
use inventory_collector::record::Kind;
use inventory_tenant::{Faults, OrgConfig, Tenant, TenantConfig};
use serde_json::Value;

use crate::oauth::{has_token, CLIENT_ID, CLIENT_SECRET};
use crate::support::*;

/// The binary with a clean environment: no ATLASSIAN_* from the machine running the tests.
fn binary() -> Command {
    let mut command = Command::cargo_bin("atlassian-inventory").expect("binary is built");
    for name in ATLASSIAN_ENV {
        command.env_remove(name);
    }
    command
}

/// `collect --products jira` against `tenant` with the test credentials in the environment.
fn collect(tenant: &Tenant, args: &[&str]) -> Command {
    collect_products(tenant, "jira", args)
}

fn collect_products(tenant: &Tenant, products: &str, args: &[&str]) -> Command {
    let mut command = binary();
    command
        .arg("collect")
        .args(["--site", &tenant.url(), "--username", EMAIL])
        .args(["--products", products, "--api-url", &tenant.api_url()])
        .args(["--retry-base", "0"])
        .args(args)
        .env("ATLASSIAN_TOKEN", TOKEN);
    command
}

/// Runs the command off the async runtime, which keeps serving the tenant meanwhile.
async fn output(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().expect("binary runs"))
        .await
        .expect("join")
}

fn lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_prints_every_kind_and_a_summary() {
    let mut command = binary();
    command.args(["collect", "--demo"]);
    let output = output(command).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let records = lines(&output.stdout);
    let kinds: BTreeSet<String> = records.iter().map(|r| text(r, "kind")).collect();
    for kind in Kind::ALL {
        assert!(kinds.contains(kind.name()), "no {} records", kind.name());
    }
    // Confluence: spaces, their grants, settings and the audit log.
    let has = |kind: &str, field: &str, value: &str| -> bool {
        records
            .iter()
            .any(|r| r["kind"] == kind && r[field].as_str().is_some_and(|v| v.starts_with(value)))
    };
    assert!(has("resource", "resource_type", "confluence_space"));
    assert!(has("permission", "scope_type", "confluence_space"));
    assert!(has("permission", "scope_type", "confluence_site"));
    assert!(has("setting", "source", "confluence."));
    assert!(has("event", "source", "confluence.audit"));
    let not_implemented: BTreeSet<String> = records
        .iter()
        .filter(|r| r["kind"] == "coverage" && r["status"] == "not_implemented")
        .map(|r| text(r, "product"))
        .collect();
    assert!(not_implemented.is_empty(), "{not_implemented:?}");
    // Assets and JSM: objects with their types and schemas, desks, customers, organisations.
    assert!(has("resource", "resource_type", "assets_object"));
    assert!(has("resource", "resource_type", "assets_schema"));
    assert!(has("resource", "resource_type", "jsm_service_desk"));
    assert!(has("membership", "relation", "service_desk_customer"));
    assert!(has("membership", "relation", "organization_member"));
    assert!(has("group", "source", "jsm"));
    let objects = records
        .iter()
        .filter(|r| r["resource_type"] == "assets_object")
        .count();
    assert!(objects >= 1000, "{objects} Assets objects");
    // The organisation too: its account, secrets, licences and stitched users.
    assert!(has("account", "account_type", "organization"));
    assert!(has("secret", "secret_type", "api_token"));
    assert!(has("resource", "resource_type", "product_licence"));
    assert!(has("user", "source", "jira+admin"));
    assert!(has("event", "source", "admin.events"));
    let summary = stderr(&output);
    assert!(summary.contains("collected"), "{summary}");
    // Every product is implemented now: nothing is left out.
    assert!(summary.contains("coverage complete"), "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_and_unavailable_tenant_still_gives_everything() {
    let tenant = start(TenantConfig {
        faults: Faults {
            rate_limit_every: 5,
            retry_after_secs: 0,
            unavailable_every: 9,
        },
        ..small()
    })
    .await;
    // Every 5th and 9th request fails, whoever sends it: enough retries that no request runs
    // out of them on a loaded machine.
    let output = output(collect(&tenant, &["--max-retries", "12"])).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let records = lines(&output.stdout);
    assert_eq!(
        of_kind(&records, "user").len(),
        tenant.dataset().users.len()
    );
    let log = tenant.requests();
    assert!(log.iter().any(|r| r.status == 429));
    assert!(log.iter().any(|r| r.status == 503));
    let summary = stderr(&output);
    assert!(!summary.contains(" 0 retries"), "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_admin_run_is_partial_with_exit_3() {
    let tenant = start(TenantConfig {
        admin: false,
        ..small()
    })
    .await;
    let output = output(collect(&tenant, &[])).await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let records = lines(&output.stdout);
    assert_eq!(
        of_kind(&records, "user").len(),
        tenant.dataset().users.len()
    );
    assert_eq!(
        coverage(&records, "jira.application_roles")["status"],
        "forbidden"
    );
    let summary = stderr(&output);
    assert!(summary.contains("PARTIAL"), "{summary}");
    assert!(
        summary.contains("jira.application_roles forbidden (HTTP 403)"),
        "{summary}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_output_parses_back_to_the_same_inventory() {
    let tenant = start(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let csv_dir = dir.path().join("inventory");
    let jsonl = dir.path().join("inventory.jsonl");
    let csv_dir_arg = csv_dir.to_str().unwrap();
    let output_csv = output(collect(&tenant, &["--format", "csv", "-o", csv_dir_arg])).await;
    assert_eq!(output_csv.status.code(), Some(0), "{}", stderr(&output_csv));
    assert!(output_csv.stdout.is_empty(), "csv goes to files only");
    let output_jsonl = output(collect(&tenant, &["-o", jsonl.to_str().unwrap()])).await;
    assert_eq!(output_jsonl.status.code(), Some(0));
    let records = read_records(&jsonl);

    for kind in Kind::ALL {
        let path = csv_dir.join(format!("{}.csv", kind.plural()));
        let rows = read_csv(&path);
        let columns = kind.columns();
        let expected = of_kind(&records, kind.name());
        assert_eq!(rows.len(), expected.len(), "{}", path.display());
        // Same records, field by field (order may differ: collection is concurrent).
        let from_csv: BTreeSet<String> = rows.iter().map(|row| row[1].clone()).collect();
        let from_jsonl: BTreeSet<String> = expected.iter().map(|r| text(r, "id")).collect();
        assert_eq!(from_csv, from_jsonl, "{}", path.display());
        for row in &rows {
            let record = expected
                .iter()
                .find(|r| r["id"] == row[1].as_str())
                .unwrap();
            for (column, cell) in columns.iter().zip(row) {
                if column == "collected_at" {
                    continue; // the one field that differs between the two runs, by design
                }
                let value = &record[column];
                let expected_cell = match value {
                    Value::Null => String::new(),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                assert_eq!(cell, &expected_cell, "{} {column}", path.display());
            }
        }
    }
}

fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let mut reader = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let kind = path.file_stem().unwrap().to_str().unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header[..2], ["kind", "id"], "{kind}");
    reader
        .records()
        .map(|row| row.unwrap().iter().map(String::from).collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_appears_nowhere() {
    let tenant = start(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.jsonl");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{EMAIL}:{TOKEN}"));

    let mut runs = Vec::new();
    runs.push(output(collect(&tenant, &["-vv", "-o", file.to_str().unwrap()])).await);
    runs.push(output(collect(&tenant, &["-vv"])).await);
    // The token from a file, and a wrong token so the 401 path prints its error.
    let mut from_file = collect(
        &tenant,
        &["-vv", "--token-file", token_file.to_str().unwrap()],
    );
    from_file.env_remove("ATLASSIAN_TOKEN");
    runs.push(output(from_file).await);
    let wrong = start(TenantConfig::small(EMAIL, "other".to_string().into())).await;
    runs.push(output(collect(&wrong, &["-vv"])).await);
    assert_eq!(runs[3].status.code(), Some(4));
    // The Admin API key, accepted and rejected.
    let now = jiff::Timestamp::now();
    for key in [ADMIN_KEY, "a-key-the-org-does-not-know"] {
        let org = small().with_org(OrgConfig::small(ADMIN_KEY.to_string().into(), now));
        let tenant = start(org).await;
        let mut command = collect_products(&tenant, "jira,admin", &["-vv"]);
        command.env("ATLASSIAN_ADMIN_API_KEY", key);
        runs.push(output(command).await);
    }
    assert_eq!(runs[4].status.code(), Some(0), "{}", stderr(&runs[4]));
    assert!(lines(&runs[4].stdout).iter().any(|r| r["kind"] == "secret"));
    assert_eq!(runs[5].status.code(), Some(4));
    assert!(
        stderr(&runs[5]).contains("Admin API"),
        "{}",
        stderr(&runs[5])
    );
    // An OAuth client secret, accepted and refused, and the access tokens it gets.
    let oauth = start(small().with_oauth(crate::oauth::oauth_tenant())).await;
    for secret in [CLIENT_SECRET, "a-secret-the-server-does-not-know"] {
        let mut command = binary();
        command
            .arg("collect")
            .args(["--site", &oauth.url(), "--username", CLIENT_ID])
            .args(["--products", "jira", "--retry-base", "0", "-vv"])
            .args([
                "--auth-url",
                &oauth.api_url(),
                "--api-url",
                &oauth.api_url(),
            ])
            .arg("--token-store")
            .arg(dir.path().join("tokens.json"))
            .env("ATLASSIAN_TOKEN", secret);
        runs.push(output(command).await);
    }
    assert_eq!(runs[6].status.code(), Some(0), "{}", stderr(&runs[6]));
    assert_eq!(runs[7].status.code(), Some(4));
    assert!(
        !dir.path().join("tokens.json").exists(),
        "client credentials store nothing"
    );

    for (i, run) in runs.iter().enumerate() {
        for stream in [&run.stdout, &run.stderr] {
            let text = String::from_utf8_lossy(stream);
            assert!(!text.contains(TOKEN), "run {i} printed the token");
            assert!(!text.contains(ADMIN_KEY), "run {i} printed the Admin key");
            assert!(
                !text.contains("a-key-the-org"),
                "run {i} printed the wrong key"
            );
            assert!(!text.contains(&basic), "run {i} printed the Basic header");
            assert!(
                !text.contains(CLIENT_SECRET),
                "run {i} printed the client secret"
            );
            assert!(
                !text.contains("a-secret-the"),
                "run {i} printed the wrong secret"
            );
            assert!(!has_token(&text), "run {i} printed an OAuth token");
        }
    }
    assert!(!stderr(&runs[0]).is_empty(), "-vv does log");
    let written = std::fs::read(&file).unwrap();
    let written = String::from_utf8_lossy(&written);
    assert!(written.lines().count() > 10);
    assert!(!written.contains(TOKEN) && !written.contains(&basic));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_exit_4_naming_site_and_method() {
    let tenant = start(TenantConfig::small(EMAIL, "other".to_string().into())).await;
    let output = output(collect(&tenant, &[])).await;
    assert_eq!(output.status.code(), Some(4));
    let message = stderr(&output);
    assert!(message.contains(&tenant.url()), "{message}");
    assert!(
        message.contains("api_token") && message.contains(EMAIL),
        "{message}"
    );
}

/// A command line that must be refused before any request.
struct BadInput {
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    message: &'static str,
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let cases = [
        BadInput {
            args: &["--site", "http://acme.atlassian.net", "--username", "a@b.c"],
            env: &[("ATLASSIAN_TOKEN", "x")],
            message: "in clear",
        },
        BadInput {
            args: &[
                "--site",
                "https://acme.atlassian.net",
                "--username",
                "client-id",
                "--auth-url",
                "http://auth.example.com",
            ],
            env: &[("ATLASSIAN_TOKEN", "x")],
            message: "--auth-url",
        },
        BadInput {
            args: &[
                "--site",
                "https://acme.atlassian.net",
                "--username",
                "a@b.c",
            ],
            env: &[],
            message: "ATLASSIAN_TOKEN",
        },
        BadInput {
            args: &["--demo", "--products", "jira,bitbucket"],
            env: &[],
            message: "bitbucket",
        },
        BadInput {
            args: &["--demo", "--format", "csv"],
            env: &[],
            message: "DIRECTORY",
        },
    ];
    for case in cases {
        let mut command = binary();
        command.arg("collect").args(case.args);
        for (name, value) in case.env {
            command.env(name, value);
        }
        let output = command.output().unwrap();
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{:?}: {message}", case.args);
        assert!(message.contains(case.message), "{:?}: {message}", case.args);
        assert!(output.stdout.is_empty());
    }
}

#[test]
fn help_answers_the_usual_questions() {
    let output = binary().args(["collect", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    for needle in [
        "ATLASSIAN_TOKEN",
        "--token-file",
        "--demo",
        "Exit status",
        "finished, but some endpoint family is partial",
        "Administer Jira",
        "OAuth 2.0 client id",
        "manage:jira-configuration",
        "read:space:confluence",
        "serviceaccount.atlassian.com",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}");
    }
}
