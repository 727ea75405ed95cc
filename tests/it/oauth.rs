//! OAuth 2.0, service accounts and scoped tokens against the simulated tenant: the client
//! credentials grant end to end, expiry mid-run, renewal before expiry, a token refused even
//! after renewal, a site the grant does not reach, gateway routing for service accounts and
//! scoped tokens; and the built binary: `auth login` with the test playing the browser, a
//! stored grant refreshed by two processes at once, `auth status` and `logout`.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use inventory_collector::collect::RunError;
use inventory_collector::config::{Config, Credentials, Product, Target};
use inventory_collector::http::oauth::{GrantType, OAuthClient, TokenSource};
use inventory_collector::http::retry::{Clock, ManualClock};
use inventory_collector::http::{Auth, Client, HttpSettings};
use inventory_tenant::{Host, OAuthTenant, Tenant, TenantConfig, CLOUD_ID, OTHER_SITE};
use secrecy::SecretString;

use crate::support::*;

pub const CLIENT_ID: &str = "svc-client-4d1f0a";
pub const CLIENT_SECRET: &str = "cs-8b2e-NEVER-PRINT-THE-SECRET-71c9";

pub fn oauth_tenant() -> OAuthTenant {
    OAuthTenant::new(
        CLIENT_ID,
        SecretString::from(CLIENT_SECRET),
        inventory_collector::scopes::for_login(&inventory_collector::config::Product::ALL),
    )
}

/// A service account's OAuth client credentials, its token endpoint at `auth_url`.
fn client_credentials(auth_url: &str) -> Credentials {
    Credentials::OAuth {
        client_id: CLIENT_ID.to_string(),
        client_secret: SecretString::from(CLIENT_SECRET),
        auth_url: auth_url.parse().expect("auth URL"),
        token_store: None,
    }
}

/// Jira and Confluence with the client-credentials grant of `credentials`.
fn oauth_config(tenant: &Tenant, output: &Path, credentials: &Credentials) -> Config {
    Config {
        target: Target::Site {
            url: tenant.url().parse().expect("tenant URL"),
            credentials: credentials.clone(),
        },
        ..config_for(tenant, output, &[Product::Jira, Product::Confluence])
    }
}

fn gateway_prefix(product: &str) -> String {
    format!("/ex/{product}/{CLOUD_ID}/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_collect_everything_through_the_gateway() {
    let tenant = start(small().with_oauth(oauth_tenant())).await;
    let out = out();
    let source = client_credentials(&tenant.api_url());
    let (outcome, _) = run(oauth_config(&tenant, &out.path, &source)).await;
    let report = outcome.expect("the run succeeds");
    assert!(!report.partial(), "{}", report.summary);
    let line = report.summary.to_string();
    assert!(
        line.contains("route gateway") && line.contains("accessible-resources"),
        "{line}"
    );

    let records = read_records(&out.path);
    let account = of_kind(&records, "account")[0];
    assert_eq!(account["auth_method"], "oauth_client_credentials");
    assert_eq!(account["route"], "gateway");
    assert_eq!(
        of_kind(&records, "user").len(),
        tenant.dataset().users.len()
    );
    assert!(
        !of_kind(&records, "resource").is_empty(),
        "spaces and projects"
    );

    // Every product request went through the gateway with the Bearer token; none to the site.
    let log = tenant.requests();
    assert!(
        log.iter().all(|r| r.host == Host::Api),
        "nothing reaches the site"
    );
    let product_calls: Vec<_> = log.iter().filter(|r| r.path.starts_with("/ex/")).collect();
    assert!(product_calls
        .iter()
        .all(|r| r.auth == "bearer" && r.status == 200));
    assert!(product_calls
        .iter()
        .any(|r| r.path.starts_with(&gateway_prefix("jira"))));
    assert!(product_calls
        .iter()
        .any(|r| r.path.starts_with(&gateway_prefix("confluence"))));
    assert_eq!(tenant.oauth_stats().client_credentials, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_access_token_that_expires_mid_run_is_renewed_once() {
    let tenant = start(small().with_oauth(OAuthTenant {
        access_token_uses: 15,
        ..oauth_tenant()
    }))
    .await;
    let out = out();
    let source = client_credentials(&tenant.api_url());
    let mut config = oauth_config(&tenant, &out.path, &source);
    // One request at a time, so each token serves exactly its 15 uses.
    config.http.max_concurrency = 1;
    let (outcome, _) = run(config).await;
    let report = outcome.expect("the run succeeds");
    assert!(!report.partial(), "{}", report.summary);
    let stats = tenant.oauth_stats();
    assert!(stats.expired >= 3, "{stats:?}");
    // One renewal per expired token, no more: each token served its 15 requests. (Requests
    // already holding a token when it ran out get a 401 each, but only the first renews it.)
    let served = tenant
        .requests()
        .iter()
        .filter(|r| r.auth == "bearer" && r.status == 200)
        .count() as u32;
    assert_eq!(stats.client_credentials, served.div_ceil(15), "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_access_token_is_renewed_before_it_expires() {
    let tenant = start(small().with_oauth(OAuthTenant {
        access_ttl_secs: 600,
        ..oauth_tenant()
    }))
    .await;
    // One token source across the three moments, as in a long run.
    let source = Arc::new(TokenSource::new(OAuthClient {
        client_id: CLIENT_ID.to_string(),
        client_secret: SecretString::from(CLIENT_SECRET),
        auth_url: tenant.api_url().parse().unwrap(),
        grant: GrantType::ClientCredentials,
    }));
    let clock = Arc::new(ManualClock::new(jiff::Timestamp::now()));
    let gateway = format!(
        "{}{}",
        tenant.api_url().trim_end_matches('/'),
        gateway_prefix("jira")
    );
    let client = Client::new(
        gateway.parse().unwrap(),
        Auth::OAuth(Arc::clone(&source)),
        &HttpSettings::default(),
        clock.clone(),
    )
    .unwrap();
    for advance in [0, 60, 500] {
        clock.sleep(Duration::from_secs(advance)).await;
        let answer = client
            .get::<serde_json::Value>("/rest/api/3/applicationrole", &[])
            .await;
        assert!(answer.is_ok(), "{answer:?}");
    }
    // At 60 s the token is still good; at 560 s it is within a minute of its end: renewed
    // before any request could be refused.
    let stats = tenant.oauth_stats();
    assert_eq!(stats.client_credentials, 2, "{stats:?}");
    assert_eq!(stats.expired, 0, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_refused_after_renewal_ends_the_run_clearly() {
    // Tokens from another authorization server: the gateway knows none of them.
    let issuer = start(small().with_oauth(oauth_tenant())).await;
    let tenant = start(small().with_oauth(oauth_tenant())).await;
    let out = out();
    let source = client_credentials(&issuer.api_url());
    let (outcome, _) = run(oauth_config(&tenant, &out.path, &source)).await;
    let Err(RunError::Unauthorized(error)) = outcome else {
        panic!("expected a 401, got {outcome:?}");
    };
    let message = format!("{error:#}");
    assert!(
        message.contains("HTTP 401") && message.contains("accessible-resources"),
        "{message}"
    );
    // Renewed exactly once after the first 401.
    assert_eq!(issuer.oauth_stats().client_credentials, 2);
    assert!(!out.path.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_the_grant_does_not_reach_is_named_with_the_reachable_ones() {
    let tenant = start(small().with_oauth(oauth_tenant())).await;
    let out = out();
    let source = client_credentials(&tenant.api_url());
    let config = Config {
        target: Target::Site {
            url: "https://third-site.atlassian.net".parse().unwrap(),
            credentials: source,
        },
        ..config(&tenant, &out.path)
    };
    let (outcome, _) = run(config).await;
    let Err(RunError::Unauthorized(error)) = outcome else {
        panic!("expected an error, got {outcome:?}");
    };
    let message = format!("{error:#}");
    assert!(message.contains("third-site.atlassian.net"), "{message}");
    assert!(
        message.contains(&tenant.url()) && message.contains(OTHER_SITE),
        "{message}"
    );
    // The tenant's site is listed twice (once per product) but named once.
    assert_eq!(message.matches(&tenant.url()).count(), 1, "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_account_goes_straight_to_the_gateway() {
    let email = "inventory-bot@serviceaccount.atlassian.com";
    let tenant = start(TenantConfig::small(email, SecretString::from(TOKEN))).await;
    let out = out();
    let config = Config {
        target: Target::Site {
            url: tenant.url().parse().unwrap(),
            credentials: Credentials::ApiToken {
                email: email.to_string(),
                token: SecretString::from(TOKEN),
            },
        },
        ..config_for(&tenant, &out.path, &[Product::Jira, Product::Confluence])
    };
    let (outcome, _) = run(config).await;
    let report = outcome.expect("the run succeeds");
    assert!(!report.partial(), "{}", report.summary);
    assert!(report.summary.to_string().contains("service account"));
    let records = read_records(&out.path);
    assert_eq!(of_kind(&records, "account")[0]["route"], "gateway");
    // The site saw only the public cloud-id lookup, without credentials.
    let site: Vec<_> = tenant
        .requests()
        .into_iter()
        .filter(|r| r.host == Host::Site)
        .collect();
    assert_eq!(site.len(), 1, "{site:?}");
    assert_eq!(
        (site[0].path.as_str(), site[0].auth),
        ("/_edge/tenant_info", "none")
    );
    assert!(tenant
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/ex/"))
        .all(|r| r.auth == "basic" && r.status == 200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scoped_token_refused_by_the_site_is_retried_through_the_gateway() {
    let tenant = start(small().with_oauth(OAuthTenant {
        scoped_token: true,
        ..oauth_tenant()
    }))
    .await;
    let out = out();
    let config = config_for(&tenant, &out.path, &[Product::Jira, Product::Confluence]);
    let (outcome, _) = run(config).await;
    let report = outcome.expect("the run succeeds");
    assert!(!report.partial(), "{}", report.summary);
    let line = report.summary.to_string();
    assert!(
        line.contains("route gateway") && line.contains("401"),
        "{line}"
    );
    assert_eq!(
        of_kind(&read_records(&out.path), "account")[0]["route"],
        "gateway"
    );
    let log = tenant.requests();
    let site: Vec<_> = log.iter().filter(|r| r.host == Host::Site).collect();
    assert_eq!(
        site.iter()
            .map(|r| (r.path.as_str(), r.status))
            .collect::<Vec<_>>(),
        [("/rest/api/3/myself", 401), ("/_edge/tenant_info", 200)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_classic_token_stays_on_the_site() {
    let tenant = start(small()).await;
    let out = out();
    let (outcome, _) = run(config(&tenant, &out.path)).await;
    assert!(outcome
        .expect("the run succeeds")
        .summary
        .to_string()
        .contains("route site"));
    assert_eq!(
        of_kind(&read_records(&out.path), "account")[0]["route"],
        "site"
    );
    assert!(tenant.requests().iter().all(|r| r.host == Host::Site));
}

// ---------------------------------------------------------------------------------------------
// The built binary: auth login, a stored grant shared by two processes, status and logout.

/// The binary with a clean environment.
pub fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_atlassian-inventory"));
    for name in ATLASSIAN_ENV {
        command.env_remove(name);
    }
    command
}

/// Everything a process printed.
pub struct Printed {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// `auth login` against `tenant`, the test playing the browser: it reads the consent address
/// from stderr and requests it; the tenant redirects to the loopback callback.
async fn login(tenant: &Tenant, store: &Path) -> Printed {
    let mut child = binary()
        .args([
            "auth",
            "login",
            "--username",
            CLIENT_ID,
            "--callback-port",
            "0",
        ])
        .args([
            "--auth-url",
            &tenant.api_url(),
            "--api-url",
            &tenant.api_url(),
        ])
        .args(["--site", &tenant.url(), "--wait", "60"])
        .arg("--token-store")
        .arg(store)
        .env("ATLASSIAN_TOKEN", CLIENT_SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let stderr = child.stderr.take().expect("stderr");
    let (address, mut reader, mut seen) = tokio::task::spawn_blocking(move || {
        let mut reader = BufReader::new(stderr);
        let mut seen = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).expect("stderr") == 0 {
                panic!("no consent address printed: {seen}");
            }
            seen.push_str(&line);
            if let Some(at) = line.find("http") {
                if line.contains("/authorize?") {
                    return (line[at..].trim().to_string(), reader, seen);
                }
            }
        }
    })
    .await
    .expect("join");
    assert!(address.contains("prompt=consent") && address.contains("offline_access"));
    assert!(address.contains("read%3Ajira-user") && address.contains("state="));
    let page = reqwest::get(&address).await.expect("the callback answers");
    assert!(page.status().is_success(), "{}", page.status());
    let output = tokio::task::spawn_blocking(move || {
        let output = child.wait_with_output().expect("binary ends");
        reader.read_to_string(&mut seen).expect("stderr");
        (output, seen)
    })
    .await
    .expect("join");
    Printed {
        code: output.0.status.code(),
        stdout: String::from_utf8_lossy(&output.0.stdout).into_owned(),
        stderr: output.1,
    }
}

/// `command` (`collect`, `doctor`) for `site` as the OAuth client, with `tenant` as the
/// authorization server and gateway and `store` as the token store.
pub fn as_client(command: &str, site: &str, tenant: &Tenant, store: &Path) -> Command {
    let mut binary = binary();
    binary
        .args([command, "--site", site, "--username", CLIENT_ID])
        .args([
            "--auth-url",
            &tenant.api_url(),
            "--api-url",
            &tenant.api_url(),
        ])
        .args(["--retry-base", "0"])
        .arg("--token-store")
        .arg(store)
        .env("ATLASSIAN_TOKEN", CLIENT_SECRET);
    binary
}

fn collect_with_store(tenant: &Tenant, store: &Path, output: &Path) -> Command {
    let mut command = as_client("collect", &tenant.url(), tenant, store);
    command
        .args(["--products", "jira,confluence", "-vv", "--output"])
        .arg(output);
    command
}

pub async fn printed(mut command: Command) -> Printed {
    let output = tokio::task::spawn_blocking(move || command.output().expect("binary runs"))
        .await
        .expect("join");
    Printed {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The refresh and access tokens the store holds now.
fn stored_tokens(store: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(store).expect("the store exists");
    let json: serde_json::Value = serde_json::from_str(&text).expect("the store is JSON");
    let grant = &json["grants"][CLIENT_ID];
    ["refresh_token", "access_token"]
        .iter()
        .filter_map(|field| grant[field].as_str().map(str::to_string))
        .collect()
}

/// Tokens the tenant issues look like `at-…`/`rt-…`/`code-…` and 40 letters and digits.
pub fn has_token(text: &str) -> bool {
    ["at-", "rt-", "code-"].iter().any(|prefix| {
        text.match_indices(prefix).any(|(at, _)| {
            let tail = &text[at + prefix.len()..];
            tail.chars().take_while(char::is_ascii_alphanumeric).count() >= 40
        })
    })
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_then_two_cron_runs_share_one_rotating_grant() {
    // Tokens good for 40 requests: each run renews several times, often at the same moment.
    let tenant = start(small().with_oauth(OAuthTenant {
        access_token_uses: 40,
        ..oauth_tenant()
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("config/tokens.json");

    let login = login(&tenant, &store).await;
    assert_eq!(login.code, Some(0), "{}", login.stderr);
    assert!(
        login.stdout.contains("Stored the OAuth grant"),
        "{}",
        login.stdout
    );
    assert!(login.stdout.contains(&tenant.url()), "{}", login.stdout);
    assert_eq!(tenant.oauth_stats().authorization_codes, 1);
    #[cfg(unix)]
    assert_eq!(mode(&store), 0o600);
    let after_login = stored_tokens(&store);

    // Two runs at once, sharing the store.
    let (a, b) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    let runs = tokio::join!(
        printed(collect_with_store(&tenant, &store, &a)),
        printed(collect_with_store(&tenant, &store, &b)),
    );
    for run in [&runs.0, &runs.1] {
        assert_eq!(run.code, Some(0), "{}", run.stderr);
    }
    let stats = tenant.oauth_stats();
    assert!(stats.refreshes >= 2, "{stats:?}");
    assert_eq!(
        stats.invalid_grants, 0,
        "a refresh token was spent twice: {stats:?}"
    );
    // The store holds the one live refresh token, privately.
    let now_stored = stored_tokens(&store);
    assert_eq!(tenant.live_refresh_tokens(), vec![now_stored[0].clone()]);
    assert_ne!(now_stored, after_login);
    #[cfg(unix)]
    assert_eq!(mode(&store), 0o600);
    let records = read_records(&a);
    assert_eq!(of_kind(&records, "account")[0]["auth_method"], "oauth_3lo");

    // Status shows the grant, never a token; logout removes it.
    let status = printed({
        let mut command = binary();
        command
            .args(["auth", "status", "--token-store"])
            .arg(&store);
        command
    })
    .await;
    assert_eq!(status.code, Some(0), "{}", status.stderr);
    assert!(status.stdout.contains(CLIENT_ID) && status.stdout.contains("refresh token"));

    // No secret anywhere but the store.
    let mut everything = vec![login.stdout, login.stderr, status.stdout, status.stderr];
    for run in [runs.0, runs.1] {
        everything.extend([run.stdout, run.stderr]);
    }
    for file in [&a, &b] {
        everything.push(std::fs::read_to_string(file).unwrap());
    }
    assert!(everything[5].contains("GET"), "-vv logs requests");
    for (i, text) in everything.iter().enumerate() {
        assert!(
            !text.contains(CLIENT_SECRET),
            "output {i} shows the client secret"
        );
        assert!(!has_token(text), "output {i} shows a token");
        for token in after_login.iter().chain(&now_stored) {
            assert!(
                !text.contains(token.as_str()),
                "output {i} shows a stored token"
            );
        }
    }

    let logout = printed({
        let mut command = binary();
        command
            .args(["auth", "logout", "--username", CLIENT_ID, "--token-store"])
            .arg(&store);
        command
    })
    .await;
    assert_eq!(logout.code, Some(0), "{}", logout.stderr);
    assert!(!store.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_refresh_token_is_refused_and_says_to_log_in_again() {
    let tenant = start(small().with_oauth(oauth_tenant())).await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("tokens.json");
    let login = login(&tenant, &store).await;
    assert_eq!(login.code, Some(0), "{}", login.stderr);
    let saved = std::fs::read(&store).unwrap();
    // A run renews (its stored access token is dropped to force it), then the old store comes
    // back: its refresh token is spent.
    let mut json: serde_json::Value = serde_json::from_slice(&saved).unwrap();
    json["grants"][CLIENT_ID]["access_token"] = serde_json::Value::Null;
    std::fs::write(&store, json.to_string()).unwrap();
    let first = printed(collect_with_store(
        &tenant,
        &store,
        &dir.path().join("1.jsonl"),
    ))
    .await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    std::fs::write(&store, json.to_string()).unwrap();
    let second = printed(collect_with_store(
        &tenant,
        &store,
        &dir.path().join("2.jsonl"),
    ))
    .await;
    assert_eq!(second.code, Some(4), "{}", second.stderr);
    assert!(second.stderr.contains("invalid_grant"), "{}", second.stderr);
    assert!(second.stderr.contains("auth login"), "{}", second.stderr);
    assert_eq!(tenant.oauth_stats().invalid_grants, 1);
    // The reuse revoked the grant: even the newest refresh token is dead now.
    assert!(tenant.live_refresh_tokens().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_the_oauth_path() {
    let mut command = binary();
    command.args([
        "collect",
        "--demo",
        "--username",
        "demo-oauth-client-id",
        "-q",
    ]);
    let run = printed(command).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let account = run
        .stdout
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .find(|r| r["kind"] == "account" && r["account_type"] == "site")
        .expect("a site account");
    assert_eq!(account["auth_method"], "oauth_client_credentials");
    assert_eq!(account["route"], "gateway");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_not_reached_exits_4_listing_the_reachable_sites() {
    let tenant = start(small().with_oauth(oauth_tenant())).await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("tokens.json");
    let site = "https://third-site.atlassian.net";
    let mut command = as_client("collect", site, &tenant, &store);
    command.args(["--products", "jira"]);
    let run = printed(command).await;
    assert_eq!(run.code, Some(4), "{}", run.stderr);
    assert!(
        run.stderr.contains(&tenant.url()) && run.stderr.contains(OTHER_SITE),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
}
