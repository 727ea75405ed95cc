//! `auth login`, `auth status` and `auth logout`: the OAuth 2.0 (3LO) grant a cron job keeps
//! refreshing for months (REFERENCE §6).
//!
//! `login` runs the authorization-code flow once: it prints the consent URL (`{auth-url}/
//! authorize?audience=api.atlassian.com&…&prompt=consent`, the selected products' scopes and
//! `offline_access`), waits for the browser's redirect on `http://127.0.0.1:PORT/callback`,
//! checks `state`, exchanges the code at `{auth-url}/oauth/token` and stores the tokens in the
//! [`crate::token_store`]. The address is printed on stderr, so a script (or a test playing the
//! browser) can follow it. `status` shows what is stored, never the values; `logout` removes it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use reqwest::Url;
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::collect::RunError;
use crate::http::oauth::{self, GrantType, OAuthClient, TokenSource};
use crate::http::retry::SystemClock;
use crate::http::{Auth, Client, HttpSettings};
use crate::token_store::{Grant, Store};

/// What `auth login` needs: plain data from the flags.
#[derive(Debug)]
pub struct LoginConfig {
    pub client_id: String,
    pub client_secret: SecretString,
    pub auth_url: Url,
    pub api_url: Url,
    /// When given, the grant must reach this site.
    pub site: Option<Url>,
    pub scopes: Vec<&'static str>,
    pub token_store: PathBuf,
    /// 0: any free port.
    pub callback_port: u16,
    /// How long to wait for the redirect.
    pub wait: Duration,
}

/// The consent page's address (REFERENCE §6).
pub fn authorize_url(config: &LoginConfig, redirect_uri: &str, state: &str) -> Url {
    let mut url = config.auth_url.clone();
    let base = url.path().trim_end_matches('/').to_string();
    url.set_path(&format!("{base}/authorize"));
    url.query_pairs_mut()
        .append_pair("audience", "api.atlassian.com")
        .append_pair("client_id", &config.client_id)
        .append_pair("scope", &config.scopes.join(" "))
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", state)
        .append_pair("response_type", "code")
        .append_pair("prompt", "consent");
    url
}

/// Runs the authorization-code flow and stores the grant; returns the report for stdout.
pub async fn login(config: LoginConfig) -> Result<String, RunError> {
    let listener = TcpListener::bind(("127.0.0.1", config.callback_port))
        .await
        .map_err(|e| {
            RunError::Usage(anyhow::anyhow!(
                "cannot listen on 127.0.0.1:{} for the redirect ({e}); choose another \
                 --callback-port",
                config.callback_port
            ))
        })?;
    let port = listener
        .local_addr()
        .map_err(|e| RunError::Fatal(e.into()))?
        .port();
    let redirect_uri = format!("http://127.0.0.1:{port}/callback");
    let state: String = std::iter::repeat_with(fastrand::alphanumeric)
        .take(32)
        .collect();
    let url = authorize_url(&config, &redirect_uri, &state);
    eprintln!(
        "Open this address in a browser, sign in and grant access:\n\n  {url}\n\n\
         Waiting for the redirect to {redirect_uri} …"
    );
    let code = tokio::time::timeout(config.wait, callback(&listener, &state))
        .await
        .map_err(|_| {
            RunError::Fatal(anyhow::anyhow!(
                "no redirect to {redirect_uri} within {}s; run `auth login` again",
                config.wait.as_secs()
            ))
        })??;

    let settings = HttpSettings::default();
    let clock = Arc::new(SystemClock);
    let http = Client::new(
        config.auth_url.clone(),
        Auth::None,
        &settings,
        clock.clone(),
    )
    .map_err(RunError::Fatal)?;
    let client = OAuthClient {
        client_id: config.client_id.clone(),
        client_secret: config.client_secret.clone(),
        auth_url: config.auth_url.clone(),
        grant: GrantType::RefreshToken {
            store: config.token_store.clone(),
        },
    };
    let answer = oauth::exchange_code(&http, &client, code, redirect_uri)
        .await
        .map_err(|e| RunError::Unauthorized(e.into()))?;
    let Some(refresh_token) = answer.refresh_token else {
        return Err(RunError::Unauthorized(anyhow::anyhow!(
            "the token endpoint sent no refresh token: the app must have the offline_access \
             scope (it was asked for); check the app's permissions"
        )));
    };
    let now = jiff::Timestamp::now();
    let expires_at = now
        .checked_add(jiff::SignedDuration::from_secs(
            answer.expires_in.unwrap_or(3600),
        ))
        .unwrap_or(jiff::Timestamp::MAX);
    let store = Store::new(config.token_store.clone());
    let scope = answer.scope.clone();
    let write = {
        let store = store.clone();
        let client_id = config.client_id.clone();
        move || -> anyhow::Result<()> {
            let locked = store.lock()?;
            let mut contents = locked.read()?;
            let serial = contents.grants.get(&client_id).map_or(0, |g| g.serial) + 1;
            contents.grants.insert(
                client_id.clone(),
                Grant {
                    client_id,
                    refresh_token,
                    access_token: Some(answer.access_token),
                    expires_at: Some(expires_at.to_string()),
                    scope,
                    serial,
                    updated_at: Some(now.to_string()),
                },
            );
            locked.write(&contents)
        }
    };
    tokio::task::spawn_blocking(write)
        .await
        .map_err(|e| RunError::Fatal(anyhow::anyhow!("{e}")))?
        .map_err(RunError::Fatal)?;

    // The sites the grant reaches, through the stored grant as later runs will use it.
    let source = Arc::new(TokenSource::new(client));
    let api = Client::new(
        config.api_url.clone(),
        Auth::OAuth(source),
        &settings,
        clock,
    )
    .map_err(RunError::Fatal)?;
    let resources = crate::route::accessible_resources(&api, &config.api_url)
        .await
        .map_err(|e| match e {
            crate::route::RouteError::Unauthorized(e) => RunError::Unauthorized(e),
            crate::route::RouteError::Fatal(e) => RunError::Fatal(e),
        })?;
    if let Some(site) = &config.site {
        crate::route::match_site(site, &resources).map_err(RunError::Unauthorized)?;
    }
    let mut report = format!(
        "Stored the OAuth grant of client {} in {}.\nScopes: {}\nSites it reaches:",
        config.client_id,
        store.path().display(),
        answer.scope.as_deref().unwrap_or("(not stated)")
    );
    for resource in &resources {
        report.push_str(&format!("\n  {} (cloud id {})", resource.url, resource.id));
    }
    Ok(report)
}

/// Serves the loopback redirect until `/callback` arrives; answers the browser a short page.
async fn callback(listener: &TcpListener, state: &str) -> Result<SecretString, RunError> {
    loop {
        let (mut stream, _) = listener
            .accept()
            .await
            .map_err(|e| RunError::Fatal(anyhow::anyhow!("waiting for the redirect: {e}")))?;
        let Some(target) = request_target(&mut stream).await else {
            continue;
        };
        let Ok(url) = Url::parse(&format!("http://127.0.0.1{target}")) else {
            respond(&mut stream, "400 Bad Request", "Bad request.").await;
            continue;
        };
        if url.path() != "/callback" {
            respond(&mut stream, "404 Not Found", "Not found.").await;
            continue;
        }
        let param = |name: &str| {
            url.query_pairs()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.into_owned())
        };
        if param("state").as_deref() != Some(state) {
            respond(&mut stream, "400 Bad Request", "The state does not match.").await;
            return Err(RunError::Unauthorized(anyhow::anyhow!(
                "the redirect carried another state than this login's: refused (it may be \
                 forged); run `auth login` again"
            )));
        }
        if let Some(error) = param("error") {
            respond(&mut stream, "400 Bad Request", "Access was not granted.").await;
            // The parameter is the authorization server's text, quoted: redacted like a body.
            return Err(RunError::Unauthorized(anyhow::anyhow!(
                "access was not granted: {}",
                crate::redact::redact(&error)
            )));
        }
        let Some(code) = param("code") else {
            respond(&mut stream, "400 Bad Request", "No code.").await;
            return Err(RunError::Unauthorized(anyhow::anyhow!(
                "the redirect carried no authorization code"
            )));
        };
        respond(
            &mut stream,
            "200 OK",
            "Access granted. You can close this window.",
        )
        .await;
        return Ok(SecretString::from(code));
    }
}

/// The request target of an HTTP/1 request line (`GET /callback?… HTTP/1.1`).
async fn request_target(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buffer = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        let n = stream.read(&mut buffer).await.ok()?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buffer[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    let mut parts = text.lines().next()?.split_whitespace();
    (parts.next()? == "GET").then_some(())?;
    parts.next().map(str::to_string)
}

async fn respond(stream: &mut TcpStream, status: &str, message: &str) {
    let body = format!("<!doctype html><title>atlassian-inventory</title><p>{message}</p>\n");
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// `auth status`: what the store holds, never the tokens.
pub fn status(path: PathBuf) -> anyhow::Result<String> {
    let store = Store::new(path);
    let contents = store.lock()?.read()?;
    if contents.grants.is_empty() {
        return Ok(format!(
            "No OAuth grant stored in {}. Run `atlassian-inventory auth login`.",
            store.path().display()
        ));
    }
    let mut report = format!("Token store {}", store.path().display());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(store.path()) {
            report.push_str(&format!(" (mode {:o})", meta.permissions().mode() & 0o777));
        }
    }
    let now = jiff::Timestamp::now();
    for grant in contents.grants.values() {
        let access = match grant
            .expires_at
            .as_deref()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        {
            Some(at) if grant.access_token.is_some() && at > now => {
                format!("an access token valid until {at}")
            }
            Some(at) if grant.access_token.is_some() => format!("an access token expired at {at}"),
            _ => "no access token".to_string(),
        };
        report.push_str(&format!(
            "\nclient {}: a refresh token and {access}; scopes: {}; last written {}",
            grant.client_id,
            grant.scope.as_deref().unwrap_or("(not stated)"),
            grant.updated_at.as_deref().unwrap_or("(unknown)"),
        ));
    }
    Ok(report)
}

/// `auth logout`: forgets one client's grant, or every grant. The consent itself stays until
/// revoked at id.atlassian.com (Connected apps): Atlassian documents no revocation endpoint.
pub fn logout(path: PathBuf, client_id: Option<&str>) -> anyhow::Result<String> {
    let store = Store::new(path);
    let locked = store.lock()?;
    let shown = store.path().display();
    match client_id {
        Some(client_id) => {
            let mut contents = locked.read()?;
            if contents.grants.remove(client_id).is_none() {
                return Ok(format!("No grant of client {client_id} in {shown}."));
            }
            if contents.grants.is_empty() {
                locked.remove()?;
            } else {
                locked.write(&contents)?;
            }
            Ok(format!(
                "Removed the grant of client {client_id} from {shown}."
            ))
        }
        None => {
            let removed = locked.remove().context("removing the token store")?;
            Ok(if removed {
                format!("Removed {shown}.")
            } else {
                format!("Nothing stored in {shown}.")
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorize_url_has_every_parameter() {
        let config = LoginConfig {
            client_id: "cid".into(),
            client_secret: SecretString::from("s".to_string()),
            auth_url: Url::parse("https://auth.atlassian.com").unwrap(),
            api_url: Url::parse("https://api.atlassian.com").unwrap(),
            site: None,
            scopes: vec!["read:jira-user", "offline_access"],
            token_store: PathBuf::from("t.json"),
            callback_port: 0,
            wait: Duration::from_secs(1),
        };
        let url = authorize_url(&config, "http://127.0.0.1:5/callback", "st");
        assert_eq!(
            url.as_str(),
            "https://auth.atlassian.com/authorize?audience=api.atlassian.com&client_id=cid\
             &scope=read%3Ajira-user+offline_access\
             &redirect_uri=http%3A%2F%2F127.0.0.1%3A5%2Fcallback&state=st&response_type=code\
             &prompt=consent"
        );
    }
}
