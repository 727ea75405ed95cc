//! No secret ever leaves the process except in its request: the built binary runs at `-vv` in
//! every mode it has (API token from the environment or a file, an Admin API key, OAuth client
//! credentials, a 3LO grant from `auth login` refreshed from the token store, `doctor`, `auth
//! status`), succeeding and failing (401, 403, a 500 whose body echoes the credentials back, a
//! 200 that is not the expected JSON but the token itself, a token endpoint that refuses and
//! echoes the request), with known, distinctive secrets. Every byte of stdout, stderr and every
//! output file is searched for each secret, its `email:secret` base64, its base64, its URL
//! encoding and every 12-character piece of it. The secrets go in by environment and files
//! only: no command line carries one, and `--help` has no flag that takes one.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use base64::Engine;
use inventory_tenant::{OAuthTenant, OrgConfig, Tenant, TenantConfig};
use secrecy::SecretString;

use crate::oauth::{binary, has_token};
use crate::support::{start, EMAIL};

/// Shaped like the real thing (an Atlassian API token, an org API key, a developer-console
/// client secret), so the test also proves that redaction recognises echoed ones.
const API_TOKEN: &str = "ATATT3xFfGF0Qm7vK2pW9sRt4LzN8cYb1HdXe6UoJa5Gi3=9F2C7A1E";
const ADMIN_KEY: &str = "ATCTT3xFfGN0Lp4kW8vR2mZt6QyS1nXc9BdHe5UoJa7Gi3=4D8E2B6A";
const CLIENT_ID: &str = "leak-test-client-7c2e";
const CLIENT_SECRET: &str = "Zr9Kq2WmX7vB4nT1pLc8HdY3sGf6JeQ0aUo5RiEw-Vb2Nk7Mx4Ct9Py1Lh6Sg3Df";

fn site() -> TenantConfig {
    TenantConfig::small(EMAIL, SecretString::from(API_TOKEN))
}

fn org() -> OrgConfig {
    OrgConfig::small(SecretString::from(ADMIN_KEY), jiff::Timestamp::now())
}

fn oauth() -> OAuthTenant {
    OAuthTenant::new(
        CLIENT_ID,
        SecretString::from(CLIENT_SECRET),
        inventory_collector::scopes::for_login(&inventory_collector::config::Product::ALL),
    )
}

/// What one run of the binary wrote: its exit status, stdout, stderr, and the files it left.
struct Run {
    name: String,
    code: Option<i32>,
    stderr: String,
    written: Vec<(String, Vec<u8>)>,
}

/// Runs `command` (its argv checked first) and keeps every byte it wrote, including every file
/// under `outputs`.
async fn run(name: &str, command: Command, outputs: &[&Path]) -> Run {
    assert_argv_clean(name, &command);
    let mut command = command;
    let output = tokio::task::spawn_blocking(move || command.output().expect("binary runs"))
        .await
        .expect("join");
    let mut written = vec![
        ("stdout".to_string(), output.stdout),
        ("stderr".to_string(), output.stderr.clone()),
    ];
    for path in outputs {
        written.extend(files_under(path));
    }
    Run {
        name: name.to_string(),
        code: output.status.code(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        written,
    }
}

fn files_under(path: &Path) -> Vec<(String, Vec<u8>)> {
    if path.is_file() {
        return vec![(path.display().to_string(), std::fs::read(path).unwrap())];
    }
    match std::fs::read_dir(path) {
        Ok(entries) => entries
            .flat_map(|entry| files_under(&entry.unwrap().path()))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// The ways a secret could show up: as it is, in an HTTP Basic header, base64-encoded alone, URL
/// encoded, and any 12 characters of it past the first 12 (the shared prefix of Atlassian's
/// tokens), which would catch a truncated or partly masked one.
fn forms(secret: &str) -> Vec<String> {
    let standard = base64::engine::general_purpose::STANDARD;
    let url_safe = base64::engine::general_purpose::URL_SAFE;
    let mut forms = vec![
        secret.to_string(),
        standard.encode(format!("{EMAIL}:{secret}")),
        url_safe.encode(format!("{EMAIL}:{secret}")),
        standard.encode(secret),
        url::form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
    ];
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() > 24 {
        forms.extend(
            chars[12..]
                .windows(12)
                .map(|w| w.iter().collect::<String>()),
        );
    }
    forms
}

fn assert_argv_clean(name: &str, command: &Command) {
    let argv: Vec<String> = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    for secret in [API_TOKEN, ADMIN_KEY, CLIENT_SECRET] {
        for form in forms(secret) {
            assert!(
                !argv.iter().any(|arg| arg.contains(&form)),
                "{name}: a secret on the command line: {argv:?}"
            );
        }
    }
}

/// Every secret in every form, in no byte any run wrote; also no access, refresh or code token
/// the simulated tenant issued, and none of `more` (tokens read back from the store).
fn assert_no_secret(runs: &[Run], more: &[String]) {
    let mut needles: Vec<String> = [API_TOKEN, ADMIN_KEY, CLIENT_SECRET]
        .iter()
        .flat_map(|secret| forms(secret))
        .collect();
    needles.extend(more.iter().flat_map(|secret| forms(secret)));
    for run in runs {
        for (what, bytes) in &run.written {
            let text = String::from_utf8_lossy(bytes);
            for needle in &needles {
                assert!(
                    !text.contains(needle.as_str()),
                    "{}: {what} shows {needle:?}:\n{text}",
                    run.name
                );
            }
            assert!(
                !has_token(&text),
                "{}: {what} shows a token:\n{text}",
                run.name
            );
        }
    }
}

fn assert_code(run: &Run, code: i32) {
    assert_eq!(run.code, Some(code), "{}: {}", run.name, run.stderr);
}

/// `collect` (or `doctor`) at `-vv` with the API token in the environment.
fn with_token(command: &str, site: &str, api_url: &str, products: &str) -> Command {
    let mut binary = binary();
    binary
        .args([command, "--site", site, "--username", EMAIL])
        .args(["--api-url", api_url, "--products", products])
        .args(["--retry-base", "0", "--max-retries", "1", "-vv"])
        .env("ATLASSIAN_TOKEN", API_TOKEN);
    binary
}

/// `collect` (or `doctor`) at `-vv` as the OAuth client, `auth` as the authorization server.
fn as_client(command: &str, tenant: &Tenant, auth: &str, store: &Path) -> Command {
    let mut binary = binary();
    binary
        .args([command, "--site", &tenant.url(), "--username", CLIENT_ID])
        .args(["--auth-url", auth, "--api-url", &tenant.api_url()])
        .args(["--products", "jira,confluence", "--retry-base", "0", "-vv"])
        .arg("--token-store")
        .arg(store)
        .env("ATLASSIAN_TOKEN", CLIENT_SECRET);
    binary
}

/// A private directory for secret files (token files, the token store), apart from outputs.
fn private_dir(root: &Path) -> PathBuf {
    let dir = root.join("secrets");
    std::fs::create_dir(&dir).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    dir
}

fn private_file(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_tokens_and_admin_keys_never_leak() {
    let tenant = start(site().with_org(org())).await;
    let dir = tempfile::tempdir().unwrap();
    let secrets = private_dir(dir.path());
    let token_file = secrets.join("token");
    let key_file = secrets.join("admin.key");
    private_file(&token_file, &format!("{API_TOKEN}\n"));
    private_file(&key_file, &format!("{ADMIN_KEY}\n"));
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let (url, api) = (tenant.url(), tenant.api_url());
    let mut runs = Vec::new();

    // Every product, the token and the key from the environment, JSON Lines to a file.
    let jsonl = out.join("all.jsonl");
    let mut command = with_token("collect", &url, &api, "jira,assets,jsm,confluence,admin");
    command
        .env("ATLASSIAN_ADMIN_API_KEY", ADMIN_KEY)
        .arg("-o")
        .arg(&jsonl);
    runs.push(run("all products", command, &[&jsonl]).await);
    assert_code(&runs[0], 0);
    let records = std::fs::read_to_string(&jsonl).unwrap();
    assert!(
        records.contains(r#""kind":"secret""#),
        "the org's API tokens were collected"
    );

    // Both from files, CSV.
    let csv = out.join("csv");
    let mut command = with_token("collect", &url, &api, "jira,admin");
    command
        .env_remove("ATLASSIAN_TOKEN")
        .arg("--token-file")
        .arg(&token_file)
        .arg("--admin-api-key-file")
        .arg(&key_file)
        .args(["--format", "csv", "-o"])
        .arg(&csv);
    runs.push(run("token files, csv", command, &[&csv]).await);
    assert_code(&runs[1], 0);

    // The organisation alone, to stdout.
    let mut command = binary();
    command
        .args(["collect", "--products", "admin", "--api-url", &api, "-vv"])
        .env("ATLASSIAN_ADMIN_API_KEY", ADMIN_KEY);
    runs.push(run("admin only", command, &[]).await);
    assert_code(&runs[2], 0);

    // doctor.
    let mut command = with_token("doctor", &url, &api, "jira,confluence,admin");
    command.env("ATLASSIAN_ADMIN_API_KEY", ADMIN_KEY);
    runs.push(run("doctor", command, &[]).await);
    assert!(runs[3].code.is_some(), "{}", runs[3].stderr);

    // 401: a site and an organisation that know other credentials.
    let strangers = start(
        TenantConfig::small(EMAIL, SecretString::from("another-token")).with_org(OrgConfig::small(
            SecretString::from("another-key"),
            jiff::Timestamp::now(),
        )),
    )
    .await;
    let command = with_token("collect", &strangers.url(), &strangers.api_url(), "jira");
    runs.push(run("site 401", command, &[]).await);
    assert_code(&runs[4], 4);
    let mut command = binary();
    command
        .args(["collect", "--products", "admin", "-vv"])
        .args(["--api-url", &strangers.api_url()])
        .env("ATLASSIAN_ADMIN_API_KEY", ADMIN_KEY);
    runs.push(run("admin 401", command, &[]).await);
    assert_code(&runs[5], 4);
    let command = with_token("doctor", &strangers.url(), &strangers.api_url(), "jira");
    runs.push(run("doctor 401", command, &[]).await);
    assert_code(&runs[6], 4);

    // 403: an account without Administer Jira; with and without --fail-on-partial.
    let limited = start(TenantConfig {
        admin: false,
        ..site()
    })
    .await;
    let partial = out.join("partial.jsonl");
    let mut command = with_token("collect", &limited.url(), &limited.api_url(), "jira");
    command.arg("-o").arg(&partial);
    runs.push(run("403", command, &[&partial]).await);
    assert_code(&runs[7], 3);
    let mut command = with_token("collect", &limited.url(), &limited.api_url(), "jira");
    command.arg("--fail-on-partial").arg("-o").arg(&partial);
    runs.push(run("403, --fail-on-partial", command, &[&partial]).await);
    assert_code(&runs[8], 5);

    assert!(runs[0].stderr.contains("GET"), "-vv logs every request");
    assert_no_secret(&runs, &[]);
}

/// What the echo server was sent.
#[derive(Clone, Default)]
struct Seen {
    authorization: Vec<String>,
    bodies: Vec<String>,
}

/// A server that answers every request with `status` and a body quoting the request back: its
/// `Authorization` header, the credentials decoded from it, and its body, both as Jira's
/// `errorMessages` and as prose. `status` 200 answers the quote as a bare JSON string, which no
/// endpoint expects.
async fn echo_server(status: StatusCode) -> (String, Arc<Mutex<Seen>>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let log = Arc::clone(&seen);
    let handler = move |uri: Uri, headers: HeaderMap, body: Bytes| {
        let log = Arc::clone(&log);
        async move {
            let authorization = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let decoded = authorization
                .strip_prefix("Basic ")
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            let password = decoded.split_once(':').map_or("", |(_, p)| p).to_string();
            let bearer = authorization.strip_prefix("Bearer ").unwrap_or_default();
            let body = String::from_utf8_lossy(&body).into_owned();
            // A token request's secrets, quoted as prose too.
            let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            let sent = ["client_secret", "refresh_token"]
                .iter()
                .filter_map(|field| json[field].as_str())
                .collect::<Vec<_>>()
                .join(" and ");
            let mut seen = log.lock().unwrap();
            seen.authorization.push(authorization.clone());
            seen.bodies.push(body.clone());
            let quote = format!(
                "rejected {password}{bearer}{sent} at {uri}, sent as {authorization} \
                 ({decoded}); request body {body}"
            );
            let answer = if status == StatusCode::OK {
                serde_json::Value::String(quote).to_string()
            } else if uri.path().ends_with("/oauth/token") {
                quote
            } else {
                serde_json::json!({ "errorMessages": [quote], "message": body }).to_string()
            };
            (status, answer)
        }
    };
    let app = axum::Router::new().fallback(handler);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_that_echo_the_credentials_back_are_redacted() {
    let (errors, errors_seen) = echo_server(StatusCode::INTERNAL_SERVER_ERROR).await;
    let (nonsense, nonsense_seen) = echo_server(StatusCode::OK).await;
    let (refusing, refusing_seen) = echo_server(StatusCode::UNAUTHORIZED).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let mut runs = Vec::new();

    // The site and the Admin API answer 500, quoting the credentials.
    let failed = out.join("500.jsonl");
    let mut command = with_token("collect", &errors, &errors, "jira,admin");
    command
        .env("ATLASSIAN_ADMIN_API_KEY", ADMIN_KEY)
        .arg("-o")
        .arg(&failed);
    runs.push(run("500 echo", command, &[&failed]).await);
    assert_code(&runs[0], 3);
    let mut command = binary();
    command
        .args([
            "collect",
            "--products",
            "admin",
            "--api-url",
            &errors,
            "-vv",
        ])
        .args(["--retry-base", "0", "--max-retries", "1", "-o"])
        .arg(out.join("admin-500.jsonl"))
        .env("ATLASSIAN_ADMIN_API_KEY", ADMIN_KEY);
    runs.push(run("admin 500 echo", command, &[&out]).await);
    assert_code(&runs[1], 3);
    let mut command = with_token("doctor", &errors, &errors, "jira,admin");
    command.env("ATLASSIAN_ADMIN_API_KEY", ADMIN_KEY);
    runs.push(run("doctor 500 echo", command, &[]).await);
    assert_code(&runs[2], 3);

    // 200 with the credentials where JSON was expected: the decode error quotes the body.
    let command = with_token("collect", &nonsense, &nonsense, "jira");
    runs.push(run("200 echo", command, &[]).await);
    assert_code(&runs[3], 3);

    // A token endpoint that refuses, quoting the client secret (and the refresh token of a
    // stored grant) back.
    let tenant = start(site().with_oauth(oauth())).await;
    let secrets = private_dir(dir.path());
    let none = secrets.join("none.json");
    let command = as_client("collect", &tenant, &refusing, &none);
    runs.push(run("token endpoint echo", command, &[]).await);
    assert_code(&runs[4], 4);
    assert!(runs[4].stderr.contains("refused"), "{}", runs[4].stderr);
    let store = secrets.join("tokens.json");
    let grant = serde_json::json!({"version": 1, "grants": {CLIENT_ID: {
        "client_id": CLIENT_ID, "refresh_token": REFRESH_TOKEN, "serial": 1}}});
    private_file(&store, &grant.to_string());
    let command = as_client("collect", &tenant, &refusing, &store);
    runs.push(run("refresh echo", command, &[]).await);
    assert_code(&runs[5], 4);
    assert!(runs[5].stderr.contains("auth login"), "{}", runs[5].stderr);

    // Each server was really sent the secrets it echoed.
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{EMAIL}:{API_TOKEN}"));
    let errors_seen = errors_seen.lock().unwrap().clone();
    assert!(errors_seen
        .authorization
        .contains(&format!("Basic {basic}")));
    assert!(errors_seen
        .authorization
        .contains(&format!("Bearer {ADMIN_KEY}")));
    assert!(!nonsense_seen.lock().unwrap().authorization.is_empty());
    let refusing_seen = refusing_seen.lock().unwrap().clone();
    assert!(refusing_seen
        .bodies
        .iter()
        .any(|b| b.contains(CLIENT_SECRET)));
    assert!(refusing_seen
        .bodies
        .iter()
        .any(|b| b.contains(REFRESH_TOKEN)));
    // And the messages still say what happened.
    assert!(runs[0].stderr.contains("HTTP 500"), "{}", runs[0].stderr);
    assert!(runs[0].stderr.contains("[REDACTED]"), "{}", runs[0].stderr);

    assert_no_secret(&runs, &[REFRESH_TOKEN.to_string()]);
}

/// A refresh token as the simulated tenant issues them (`rt-` and 40 letters and digits).
const REFRESH_TOKEN: &str = "rt-Echo7RefreshToken4Kq9Zw2Xv5Bn8Mc1Lp6Dg3Hs0";

/// `auth login` with the test playing the browser: follows the consent address the binary
/// prints; the simulated tenant redirects to its loopback callback.
async fn login(tenant: &Tenant, store: &Path) -> Run {
    let mut command = binary();
    command
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
        .stderr(Stdio::piped());
    assert_argv_clean("auth login", &command);
    let mut child = command.spawn().expect("binary starts");
    let stderr = child.stderr.take().expect("stderr");
    let (address, mut reader, mut seen) = tokio::task::spawn_blocking(move || {
        let mut reader = BufReader::new(stderr);
        let mut seen = Vec::new();
        loop {
            let mut line = String::new();
            let read = reader.read_line(&mut line).expect("stderr");
            assert!(
                read > 0,
                "no consent address: {}",
                String::from_utf8_lossy(&seen)
            );
            seen.extend_from_slice(line.as_bytes());
            if let Some(at) = line.find("http").filter(|_| line.contains("/authorize?")) {
                return (line[at..].trim().to_string(), reader, seen);
            }
        }
    })
    .await
    .expect("join");
    let page = reqwest::get(&address).await.expect("the callback answers");
    assert!(page.status().is_success(), "{}", page.status());
    tokio::task::spawn_blocking(move || {
        let output = child.wait_with_output().expect("binary ends");
        reader.read_to_end(&mut seen).expect("stderr");
        Run {
            name: "auth login".to_string(),
            code: output.status.code(),
            stderr: String::from_utf8_lossy(&seen).into_owned(),
            written: vec![
                ("stdout".to_string(), output.stdout),
                ("stderr".to_string(), seen),
            ],
        }
    })
    .await
    .expect("join")
}

/// The refresh and access tokens in the store.
fn stored_tokens(store: &Path) -> Vec<String> {
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store).expect("the store exists")).unwrap();
    let grant = &json["grants"][CLIENT_ID];
    ["refresh_token", "access_token"]
        .iter()
        .filter_map(|field| grant[field].as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_secrets_and_tokens_never_leak() {
    let tenant = start(site().with_oauth(OAuthTenant {
        access_token_uses: 25,
        ..oauth()
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let secrets = private_dir(dir.path());
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let auth = tenant.api_url();
    let mut runs = Vec::new();
    let mut tokens = Vec::new();

    // Client credentials (no store is written), collect and doctor.
    let unused = secrets.join("none.json");
    let cc = out.join("cc.jsonl");
    let mut command = as_client("collect", &tenant, &auth, &unused);
    command.arg("-o").arg(&cc);
    runs.push(run("client credentials", command, &[&cc]).await);
    assert_code(&runs[0], 0);
    assert!(!unused.exists());
    let command = as_client("doctor", &tenant, &auth, &unused);
    runs.push(run("doctor, client credentials", command, &[]).await);
    assert_code(&runs[1], 0);

    // A 3LO grant: login, two collections that refresh it (tokens run out after 25 uses),
    // doctor, status.
    let store = secrets.join("tokens.json");
    runs.push(login(&tenant, &store).await);
    assert_code(&runs[2], 0);
    tokens.extend(stored_tokens(&store));
    for name in ["3lo.jsonl", "3lo-again.jsonl"] {
        let file = out.join(name);
        let mut command = as_client("collect", &tenant, &auth, &store);
        command.arg("-o").arg(&file);
        runs.push(run(name, command, &[&file]).await);
        tokens.extend(stored_tokens(&store));
    }
    assert_code(&runs[3], 0);
    assert_code(&runs[4], 0);
    assert!(
        tenant.oauth_stats().refreshes >= 2,
        "{:?}",
        tenant.oauth_stats()
    );
    let command = as_client("doctor", &tenant, &auth, &store);
    runs.push(run("doctor, 3lo", command, &[]).await);
    let mut command = binary();
    command
        .args(["auth", "status", "--token-store"])
        .arg(&store);
    runs.push(run("auth status", command, &[]).await);
    assert_code(&runs[6], 0);

    // Refused: a wrong client secret, and a refresh token the server does not know (spent).
    let mut command = as_client("collect", &tenant, &auth, &unused);
    command.env(
        "ATLASSIAN_TOKEN",
        "Qw3Er5Ty7Ui9Op1As3Df5Gh7Jk9Lz1Xc3Vb5Nm7Qw9Er1Ty3",
    );
    runs.push(run("wrong client secret", command, &[]).await);
    assert_code(&runs[7], 4);
    let spent = secrets.join("spent.json");
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&store).unwrap()).unwrap();
    json["grants"][CLIENT_ID]["refresh_token"] =
        "rt-NotIssuedByTheServer0123456789abcdefABCDEF".into();
    json["grants"][CLIENT_ID]["access_token"] = serde_json::Value::Null;
    private_file(&spent, &json.to_string());
    let command = as_client("collect", &tenant, &auth, &spent);
    runs.push(run("unknown refresh token", command, &[]).await);
    assert_code(&runs[8], 4);
    assert!(
        runs[8].stderr.contains("invalid_grant"),
        "{}",
        runs[8].stderr
    );

    // The logs at -vv name the token requests, never their contents.
    assert!(runs[3].stderr.contains("GET"), "{}", runs[3].stderr);
    tokens.push("rt-NotIssuedByTheServer0123456789abcdefABCDEF".to_string());
    tokens.push("Qw3Er5Ty7Ui9Op1As3Df5Gh7Jk9Lz1Xc3Vb5Nm7Qw9Er1Ty3".to_string());
    assert_no_secret(&runs, &tokens);
}

/// The flags of `args`' `--help`: each long name with its value name, if it takes one.
fn flags(args: &[&str]) -> Vec<(String, Option<String>)> {
    let output = binary().args(args).arg("--help").output().unwrap();
    assert!(output.status.success());
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::trim_start)
        .filter(|line| line.starts_with('-'))
        .filter_map(|line| {
            let long = line.split_whitespace().find(|w| w.starts_with("--"))?;
            let long = long.trim_end_matches(',');
            let (name, value) = match long.split_once(['=', ' ']) {
                Some((name, value)) => (name, Some(value)),
                None => (long, None),
            };
            let value = value.or_else(|| {
                let after = line.split_once(long)?.1.trim_start();
                after
                    .strip_prefix('<')?
                    .split_once('>')
                    .map(|(value, _)| value)
            });
            Some((name.to_string(), value.map(str::to_string)))
        })
        .collect()
}

#[test]
fn no_flag_takes_a_secret() {
    let commands: [&[&str]; 5] = [
        &["collect"],
        &["doctor"],
        &["auth", "login"],
        &["auth", "status"],
        &["auth", "logout"],
    ];
    let mut checked = 0;
    for command in commands {
        for (name, value) in flags(command) {
            let lower = name.to_ascii_lowercase();
            let about_a_secret = ["token", "secret", "key", "password", "credential"]
                .iter()
                .any(|word| lower.contains(word));
            if let Some(value) = &value {
                let value = value.to_ascii_uppercase();
                assert!(
                    !["TOKEN", "SECRET", "KEY", "PASSWORD"]
                        .iter()
                        .any(|word| value.contains(word)),
                    "{command:?} {name} {value} takes a secret"
                );
                if about_a_secret {
                    assert_eq!(value, "PATH", "{command:?} {name} takes a secret");
                    checked += 1;
                }
            }
        }
    }
    // --token-file, --token-store, --admin-api-key-file on collect and doctor; login and the
    // store commands take --token-file and --token-store.
    assert!(checked >= 8, "{checked} secret-related flags found");
}

/// Rust sources under `dir`, recursively.
fn sources(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flat_map(|entry| {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path)
            } else if path.extension().is_some_and(|e| e == "rs") {
                vec![path]
            } else {
                Vec::new()
            }
        })
        .collect()
}

#[test]
fn tls_verification_cannot_be_turned_off() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files: Vec<PathBuf> = ["src", "crates/collector/src"]
        .iter()
        .flat_map(|dir| sources(&root.join(dir)))
        .collect();
    let src = root.join("crates/collector/src");
    assert!(files.len() > 20, "{}", src.display());
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for switch in ["danger_accept_invalid", "dangerous()", "https_only(false)"] {
            assert!(!text.contains(switch), "{} uses {switch}", file.display());
        }
    }
    for command in [&["collect"][..], &["doctor"], &["auth", "login"]] {
        for (name, _) in flags(command) {
            for word in ["insecure", "no-verify", "tls", "cert"] {
                assert!(!name.contains(word), "{command:?} has {name}");
            }
        }
    }
}
