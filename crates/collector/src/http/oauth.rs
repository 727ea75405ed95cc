//! OAuth 2.0 access tokens for [`super::Auth::OAuth`]: where they come from, how long they are
//! kept, and when they are renewed (REFERENCE §6).
//!
//! Two grants at `{auth-url}/oauth/token` (`https://auth.atlassian.com` by default):
//!
//! - `client_credentials`: a service account's OAuth credentials, `audience` `api.atlassian.com`;
//!   nothing to store, a new access token whenever the last one runs out;
//! - `refresh_token`: a 3LO grant made once by `auth login`, its rotating refresh token kept in
//!   the [`crate::token_store`]. Each refresh happens under the store's lock and writes the new
//!   refresh token to disk before the new access token is used; a process that finds a newer
//!   access token in the store (another cron run refreshed) uses that one instead.
//!
//! An access token is renewed [`EARLY`] before it expires, and once when the API answers 401 to
//! it (see [`super::Client`]'s retry loop). A refresh-token request is sent once, never retried:
//! if its answer were lost, resending the spent token would revoke the grant.
//!
//! Secrets: the client secret, the refresh token and the authorization code leave their
//! [`SecretString`] in [`grant_body`] only, into the token request's body; the access token in
//! [`super::Auth::apply`] only.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{ApiError, Client, ErrorKind};
use crate::token_store::{Grant as StoredGrant, Store};

/// An access token is renewed this long before it expires, so no request carries one that
/// runs out in flight.
pub const EARLY: SignedDuration = SignedDuration::from_secs(60);

/// Atlassian's access tokens live an hour; used when an answer has no `expires_in`.
const DEFAULT_LIFETIME_SECS: i64 = 3600;

/// An OAuth 2.0 client and how it gets its access tokens.
#[derive(Debug)]
pub struct OAuthClient {
    pub client_id: String,
    pub client_secret: SecretString,
    /// `https://auth.atlassian.com`: the token endpoint is `{auth_url}/oauth/token`.
    pub auth_url: Url,
    pub grant: GrantType,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GrantType {
    /// A service account's OAuth credentials: `grant_type=client_credentials`.
    ClientCredentials,
    /// A 3LO grant from `auth login`, refreshed from the token store.
    RefreshToken { store: PathBuf },
}

impl OAuthClient {
    pub fn token_url(&self) -> Url {
        let mut url = self.auth_url.clone();
        let base = url.path().trim_end_matches('/').to_string();
        url.set_path(&format!("{base}/oauth/token"));
        url
    }
}

/// The access token a request carries. `serial` tells tokens apart without comparing secrets.
#[derive(Clone)]
pub struct AccessToken {
    pub(super) secret: SecretString,
    serial: u64,
    /// Issued to this process by the token endpoint, rather than taken from the store where
    /// another run left it (and may have used it up since).
    pub(super) minted: bool,
    /// Set once any request carrying this token succeeded: shared by every copy of it.
    proven: Arc<AtomicBool>,
}

impl AccessToken {
    /// A request carrying the token succeeded: the token is good (until it runs out).
    pub(super) fn prove(&self) {
        self.proven.store(true, Ordering::Relaxed);
    }

    /// Whether any request carrying it succeeded.
    pub(super) fn proven(&self) -> bool {
        self.proven.load(Ordering::Relaxed)
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AccessToken(#{}, [REDACTED])", self.serial)
    }
}

#[derive(Default)]
struct State {
    current: Option<(AccessToken, Timestamp)>,
    /// The serial of a token the API answered 401 to: never adopted again from the store.
    rejected: Option<u64>,
}

/// Hands out a valid access token, renewing it when needed. One per run, shared by every
/// client (site, Confluence, gateway) through [`super::Auth::OAuth`].
pub struct TokenSource {
    client: OAuthClient,
    state: tokio::sync::Mutex<State>,
    /// Token requests made by this process (the tests count refreshes with it).
    grants: AtomicU64,
    /// Serials for tokens that did not come from the store.
    next_serial: AtomicU64,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("client_id", &self.client.client_id)
            .field("grant", &self.client.grant)
            .finish_non_exhaustive()
    }
}

type TokenFuture<'a> = Pin<Box<dyn Future<Output = Result<AccessToken, ApiError>> + Send + 'a>>;

impl TokenSource {
    pub fn new(client: OAuthClient) -> Self {
        TokenSource {
            client,
            state: tokio::sync::Mutex::new(State::default()),
            grants: AtomicU64::new(0),
            // Far from the store's serials, so an in-memory token never looks like a stored one.
            next_serial: AtomicU64::new(1 << 48),
        }
    }

    pub fn client_id(&self) -> &str {
        &self.client.client_id
    }

    pub fn grant(&self) -> &GrantType {
        &self.client.grant
    }

    /// `oauth_client_credentials` or `oauth_3lo`, as records and messages name the method.
    pub fn method(&self) -> &'static str {
        match self.client.grant {
            GrantType::ClientCredentials => "oauth_client_credentials",
            GrantType::RefreshToken { .. } => "oauth_3lo",
        }
    }

    /// Token requests this process made.
    pub fn grants(&self) -> u64 {
        self.grants.load(Ordering::Relaxed)
    }

    /// A token valid for at least [`EARLY`] more, renewed if needed. `http` sends the token
    /// request (without credentials) and supplies the clock. Boxed: the client's request loop
    /// calls this, and this calls the loop.
    pub(super) fn access_token<'a>(&'a self, http: &'a Client) -> TokenFuture<'a> {
        Box::pin(async move {
            let mut state = self.state.lock().await;
            let now = http.clock.now();
            if let Some((token, expires_at)) = &state.current {
                if now.checked_add(EARLY).is_ok_and(|soon| soon < *expires_at) {
                    return Ok(token.clone());
                }
            }
            let rejected = state.rejected;
            let (token, expires_at) = match &self.client.grant {
                GrantType::ClientCredentials => self.client_credentials(http, now).await?,
                GrantType::RefreshToken { store } => {
                    self.refresh(http, store.clone(), now, rejected).await?
                }
            };
            state.current = Some((token.clone(), expires_at));
            Ok(token)
        })
    }

    /// The API answered 401 to `used`: forget it, so the next request gets a new one. A token
    /// another request already replaced is left alone.
    pub(super) async fn rejected(&self, used: &AccessToken) {
        let mut state = self.state.lock().await;
        if state
            .current
            .as_ref()
            .is_some_and(|(token, _)| token.serial == used.serial)
        {
            state.current = None;
        }
        state.rejected = Some(used.serial);
    }

    async fn client_credentials(
        &self,
        http: &Client,
        now: Timestamp,
    ) -> Result<(AccessToken, Timestamp), ApiError> {
        self.grants.fetch_add(1, Ordering::Relaxed);
        let body = grant_body(&self.client, Grant::ClientCredentials);
        let answer = http
            .token_request(self.client.token_url(), body, true)
            .await
            .map_err(|e| self.refused(e))?;
        let token = self.fresh(answer.access_token);
        Ok((token, expiry(now, answer.expires_in)))
    }

    /// The refresh-token grant under the store's lock: adopt a newer stored access token, or
    /// spend the stored refresh token and store its successor before using the new access token.
    async fn refresh(
        &self,
        http: &Client,
        path: PathBuf,
        now: Timestamp,
        rejected: Option<u64>,
    ) -> Result<(AccessToken, Timestamp), ApiError> {
        let store = Store::new(path);
        let token_url = self.client.token_url();
        let store_error = |e: anyhow::Error| credentials(&token_url, format!("{e:#}"));
        let locked = {
            let store = store.clone();
            tokio::task::spawn_blocking(move || store.lock())
                .await
                .map_err(|e| store_error(anyhow::anyhow!("{e}")))?
                .map_err(store_error)?
        };
        let mut contents = locked.read().map_err(store_error)?;
        let Some(stored) = contents.grants.get(&self.client.client_id) else {
            return Err(credentials(
                &token_url,
                format!(
                    "no OAuth grant for client {} in the token store {}; run `atlassian-inventory \
                     auth login` first",
                    self.client.client_id,
                    store.path().display()
                ),
            ));
        };
        if let Some(adopted) = adoptable(stored, now, rejected) {
            tracing::debug!("using the access token another run stored");
            return Ok(adopted);
        }
        self.grants.fetch_add(1, Ordering::Relaxed);
        let body = grant_body(
            &self.client,
            Grant::RefreshToken(stored.refresh_token.clone()),
        );
        // Sent once: a lost answer must not make us send the spent refresh token again.
        let answer = http
            .token_request(token_url.clone(), body, false)
            .await
            .map_err(|e| self.refused(e))?;
        let Some(refresh_token) = answer.refresh_token else {
            return Err(credentials(
                &token_url,
                "the token endpoint sent no new refresh token; the stored one is spent, so run \
                 `atlassian-inventory auth login` again"
                    .to_string(),
            ));
        };
        let expires_at = expiry(now, answer.expires_in);
        let serial = stored.serial + 1;
        let scope = answer.scope.or_else(|| stored.scope.clone());
        contents.grants.insert(
            self.client.client_id.clone(),
            StoredGrant {
                client_id: self.client.client_id.clone(),
                refresh_token,
                access_token: Some(answer.access_token.clone()),
                expires_at: Some(expires_at.to_string()),
                scope,
                serial,
                updated_at: Some(now.to_string()),
            },
        );
        // On disk before the new access token is used: if this run dies now, the next one
        // still holds the only valid refresh token.
        locked.write(&contents).map_err(store_error)?;
        drop(locked);
        let token = AccessToken {
            secret: answer.access_token,
            serial,
            minted: true,
            proven: Arc::default(),
        };
        Ok((token, expires_at))
    }

    fn fresh(&self, secret: SecretString) -> AccessToken {
        AccessToken {
            secret,
            serial: self.next_serial.fetch_add(1, Ordering::Relaxed),
            minted: true,
            proven: Arc::default(),
        }
    }

    /// A refused grant ends the run like a 401 does: every request would fail the same way.
    fn refused(&self, error: ApiError) -> ApiError {
        match &error.kind {
            ErrorKind::Status {
                status, message, ..
            } if (400..500).contains(status) => {
                let hint = match self.client.grant {
                    GrantType::ClientCredentials => {
                        "check the client id (--username) and the client secret (ATLASSIAN_TOKEN)"
                    }
                    GrantType::RefreshToken { .. } => {
                        "the stored grant is revoked or expired (a reused refresh token revokes \
                         it); run `atlassian-inventory auth login` again"
                    }
                };
                credentials_at(
                    &error.url,
                    format!(
                        "the token endpoint refused client {} (HTTP {status}: {message}); {hint}",
                        self.client.client_id
                    ),
                )
            }
            _ => error,
        }
    }
}

/// `grant_type=authorization_code`: the code `auth login` received, for the first tokens. Sent
/// once: a code is good for one exchange.
pub async fn exchange_code(
    http: &Client,
    client: &OAuthClient,
    code: SecretString,
    redirect_uri: String,
) -> Result<TokenAnswer, ApiError> {
    let body = grant_body(client, Grant::AuthorizationCode { code, redirect_uri });
    http.token_request(client.token_url(), body, false).await
}

/// The stored access token, when it is newer than the one that was rejected and still valid.
fn adoptable(
    stored: &StoredGrant,
    now: Timestamp,
    rejected: Option<u64>,
) -> Option<(AccessToken, Timestamp)> {
    let secret = stored.access_token.clone()?;
    let expires_at: Timestamp = stored.expires_at.as_deref()?.parse().ok()?;
    let fresh = now.checked_add(EARLY).is_ok_and(|soon| soon < expires_at);
    (fresh && rejected != Some(stored.serial)).then_some((
        AccessToken {
            secret,
            serial: stored.serial,
            minted: false,
            proven: Arc::default(),
        },
        expires_at,
    ))
}

fn expiry(now: Timestamp, expires_in: Option<i64>) -> Timestamp {
    let secs = expires_in.unwrap_or(DEFAULT_LIFETIME_SECS).max(0);
    now.checked_add(SignedDuration::from_secs(secs))
        .unwrap_or(Timestamp::MAX)
}

fn credentials(url: &Url, message: String) -> ApiError {
    credentials_at(url.as_str(), message)
}

fn credentials_at(url: &str, message: String) -> ApiError {
    ApiError {
        method: "POST",
        url: url.to_string(),
        kind: ErrorKind::Credentials(message),
    }
}

/// The token endpoint's answer (REFERENCE §6); `token_type` and unknown fields are ignored.
#[derive(Deserialize)]
pub struct TokenAnswer {
    pub access_token: SecretString,
    #[serde(default)]
    pub expires_in: Option<i64>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub refresh_token: Option<SecretString>,
}

/// What a token request asks for.
pub enum Grant {
    ClientCredentials,
    RefreshToken(SecretString),
    AuthorizationCode {
        code: SecretString,
        redirect_uri: String,
    },
}

/// The JSON body of a token request: the one place the client secret, a refresh token or an
/// authorization code leaves its wrapper.
pub fn grant_body(client: &OAuthClient, grant: Grant) -> Vec<u8> {
    let mut body = serde_json::json!({
        "client_id": client.client_id,
        "client_secret": client.client_secret.expose_secret(),
    });
    match grant {
        Grant::ClientCredentials => {
            body["grant_type"] = "client_credentials".into();
            body["audience"] = "api.atlassian.com".into();
        }
        Grant::RefreshToken(token) => {
            body["grant_type"] = "refresh_token".into();
            body["refresh_token"] = token.expose_secret().into();
        }
        Grant::AuthorizationCode { code, redirect_uri } => {
            body["grant_type"] = "authorization_code".into();
            body["code"] = code.expose_secret().into();
            body["redirect_uri"] = redirect_uri.into();
        }
    }
    body.to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(serial: u64, expires_at: &str) -> StoredGrant {
        StoredGrant {
            client_id: "c".into(),
            refresh_token: SecretString::from("r".to_string()),
            access_token: Some(SecretString::from("a".to_string())),
            expires_at: Some(expires_at.to_string()),
            scope: None,
            serial,
            updated_at: None,
        }
    }

    #[test]
    fn a_stored_token_is_adopted_only_when_fresh_and_not_the_rejected_one() {
        let now: Timestamp = "2026-11-22T06:00:00Z".parse().unwrap();
        assert!(adoptable(&stored(3, "2026-11-22T07:00:00Z"), now, None).is_some());
        assert!(adoptable(&stored(3, "2026-11-22T07:00:00Z"), now, Some(2)).is_some());
        assert!(adoptable(&stored(3, "2026-11-22T07:00:00Z"), now, Some(3)).is_none());
        // Within EARLY of its expiry: renewed, not adopted.
        assert!(adoptable(&stored(3, "2026-11-22T06:00:30Z"), now, None).is_none());
    }

    #[test]
    fn the_token_url_keeps_the_base_path() {
        let client = OAuthClient {
            client_id: "c".into(),
            client_secret: SecretString::from("s".to_string()),
            auth_url: Url::parse("http://127.0.0.1:9/auth").unwrap(),
            grant: GrantType::ClientCredentials,
        };
        assert_eq!(
            client.token_url().as_str(),
            "http://127.0.0.1:9/auth/oauth/token"
        );
        let body: serde_json::Value =
            serde_json::from_slice(&grant_body(&client, Grant::ClientCredentials)).unwrap();
        assert_eq!(body["grant_type"], "client_credentials");
        assert_eq!(body["audience"], "api.atlassian.com");
    }
}
