//! Everything about talking to Atlassian: base URL, credentials, timeouts, retries,
//! `Retry-After`, rate and concurrency limits ([`limit`]), response size limits and pagination.
//! Product modules call [`Client::get`] (or
//! [`Client::get_as`], [`Client::get_with`], [`Client::get_linked`], [`Client::post_json`],
//! [`Client::post_json_query`]) and the pagers in [`page`];
//! they never build raw requests. Every method goes through the same retry loop.
//!
//! Secrets: the API token lives in a [`SecretString`] and is exposed in exactly one place,
//! [`Auth::apply`], which puts it in the `Authorization` header (reqwest marks that header
//! sensitive so it is never logged). OAuth access tokens come from [`oauth::TokenSource`] and go
//! out through [`Auth::apply`] too; a 401 to one renews it once inside the retry loop. Error messages carry the method, the URL (which never holds
//! a secret) and a short prefix of Atlassian's error body.

pub mod limit;
pub mod oauth;
pub mod page;
pub mod retry;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, ACCEPT, CONTENT_TYPE};
use reqwest::{Method, RequestBuilder, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;

use limit::{Limits, Refused};
use retry::{Clock, Failure, GiveUp, RetryPolicy};

/// Largest response body accepted; Atlassian's biggest pages are a few MiB.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
/// Renewals of a rejected OAuth access token for one request (see [`Client::send`]).
const MAX_RENEWALS: u32 = 3;
/// How much of an error body goes into a message.
const ERROR_BODY_PREFIX: usize = 200;

/// The credentials sent with every request to the site.
#[derive(Clone, Debug)]
pub enum Auth {
    /// HTTP Basic with an Atlassian account email and an API token.
    ApiToken { email: String, token: SecretString },
    /// An organisation's Admin API key, sent as a Bearer token to the Admin API only.
    AdminKey { key: SecretString },
    /// OAuth 2.0: a Bearer access token from the source, renewed when it runs out.
    OAuth(Arc<oauth::TokenSource>),
    /// No credentials: the OAuth token endpoint and the site's public `_edge/tenant_info`.
    None,
}

impl Auth {
    /// The method's name as it appears in records and messages.
    pub fn method(&self) -> &'static str {
        match self {
            Auth::ApiToken { .. } => "api_token",
            Auth::AdminKey { .. } => "admin_api_key",
            Auth::OAuth(source) => source.method(),
            Auth::None => "none",
        }
    }

    /// Who the credentials belong to, for messages.
    pub fn principal(&self) -> &str {
        match self {
            Auth::ApiToken { email, .. } => email,
            Auth::AdminKey { .. } => "the organisation API key",
            Auth::OAuth(source) => source.client_id(),
            Auth::None => "no one",
        }
    }

    /// A service account's email: its API tokens are scoped and work only through the
    /// `api.atlassian.com/ex/{product}/{cloudId}` gateway (REFERENCE §0.1).
    pub fn is_service_account(&self) -> bool {
        matches!(self, Auth::ApiToken { email, .. }
            if email.to_ascii_lowercase().ends_with("@serviceaccount.atlassian.com"))
    }

    /// The one place a secret leaves its wrapper for a request: `access` is the OAuth access
    /// token the retry loop got for this attempt.
    fn apply(
        &self,
        request: RequestBuilder,
        access: Option<&oauth::AccessToken>,
    ) -> RequestBuilder {
        match (self, access) {
            (Auth::ApiToken { email, token }, _) => {
                request.basic_auth(email, Some(token.expose_secret()))
            }
            (Auth::AdminKey { key }, _) => request.bearer_auth(key.expose_secret()),
            (Auth::OAuth(_), Some(access)) => request.bearer_auth(access.secret.expose_secret()),
            (Auth::OAuth(_), None) | (Auth::None, _) => request,
        }
    }
}

/// Tunables of the HTTP layer, from flags.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// Requests in flight at once, across all endpoints.
    pub max_concurrency: usize,
    /// The share, in (0, 1], of each endpoint's rate budget a run may use (see [`limit`]).
    pub rate_share: f64,
    pub connect_timeout: Duration,
    /// Time allowed for a whole response, from request to last byte.
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            max_concurrency: 64,
            rate_share: 1.0,
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
        }
    }
}

/// Counters for the run summary.
#[derive(Debug, Default)]
pub struct Stats {
    requests: AtomicU64,
    retries: AtomicU64,
}

impl Stats {
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }
}

/// A request that failed for good, after any retries.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub method: &'static str,
    /// The full URL; ours never carry secrets.
    pub url: String,
    pub kind: ErrorKind,
}

#[derive(Debug, Clone)]
pub enum ErrorKind {
    /// Atlassian answered with a non-success status.
    Status {
        status: u16,
        message: String,
        gave_up: Option<String>,
    },
    /// No usable answer: connection, timeout or body read failure.
    Transport { message: String, gave_up: String },
    /// The body was not the JSON shape the endpoint documents, or (after the retries) not
    /// JSON at all.
    Decode(String),
    /// The body was larger than we accept.
    TooLarge,
    /// A listing that did not advance, or contradicted itself.
    Pagination(String),
    /// A GraphQL endpoint answered with `errors` instead of data.
    GraphQl(String),
    /// No usable credentials: the OAuth token endpoint refused the grant, or the token store is
    /// missing or unreadable. Ends the run like a 401.
    Credentials(String),
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self.kind {
            ErrorKind::Status { status, .. } => Some(status),
            _ => None,
        }
    }

    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(401) || matches!(self.kind, ErrorKind::Credentials(_))
    }

    pub(crate) fn pagination(method: &'static str, url: &str, reason: String) -> Self {
        ApiError {
            method,
            url: url.to_string(),
            kind: ErrorKind::Pagination(reason),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: ", self.method, self.url)?;
        match &self.kind {
            ErrorKind::Status {
                status,
                message,
                gave_up,
            } => {
                let reason = StatusCode::from_u16(*status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("");
                write!(f, "HTTP {status} {reason}")?;
                if !message.is_empty() {
                    write!(f, ": {message}")?;
                }
                if let Some(gave_up) = gave_up {
                    write!(f, " ({gave_up})")?;
                }
                Ok(())
            }
            ErrorKind::Transport { message, gave_up } => write!(f, "{message} ({gave_up})"),
            ErrorKind::Decode(message) => write!(f, "unexpected response body: {message}"),
            ErrorKind::TooLarge => write!(f, "response larger than {MAX_BODY_BYTES} bytes"),
            ErrorKind::Pagination(reason) => write!(f, "pagination stopped: {reason}"),
            ErrorKind::GraphQl(message) => write!(f, "GraphQL errors: {message}"),
            ErrorKind::Credentials(message) => write!(f, "{message}"),
        }
    }
}

impl std::error::Error for ApiError {}

/// An authenticated client for one site. Cheap to clone; clones share the connection pool,
/// the scheduler ([`Limits`]) and the counters.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    auth: Auth,
    limits: Limits,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
    stats: Arc<Stats>,
}

impl Client {
    /// A client for the site at `base` (e.g. `https://acme.atlassian.net`).
    pub fn new(
        base: Url,
        auth: Auth,
        settings: &HttpSettings,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("atlassian-inventory/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            // A redirect to another host would carry the Authorization header along; a
            // well-formed Atlassian API call never redirects, so none is followed.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| anyhow::anyhow!("cannot set up the HTTP client: {e}"))?;
        Ok(Client {
            http,
            base,
            auth,
            limits: Limits::new(settings.max_concurrency, settings.rate_share),
            retry: settings.retry.clone(),
            clock,
            stats: Arc::new(Stats::default()),
        })
    }

    /// Counts this client's requests in `stats` (one summary for a run's several clients).
    pub fn sharing_stats(mut self, stats: Arc<Stats>) -> Self {
        self.stats = stats;
        self
    }

    /// Schedules this client's requests with `limits` (one scheduler for a run's several
    /// clients: they share the global cap, and a quota pause covers every client of a host).
    pub fn sharing_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The same client (pool, limits, counters, credentials) for another base URL: the
    /// gateway's `/ex/jira/{cloudId}` or `/ex/confluence/{cloudId}`.
    pub fn with_base(&self, base: Url) -> Self {
        Client {
            base,
            ..self.clone()
        }
    }

    /// The same client with other credentials (none, for public endpoints).
    pub fn with_auth(&self, auth: Auth) -> Self {
        Client {
            auth,
            ..self.clone()
        }
    }

    /// POST a token request (no credentials in headers: they are in `body`) and decode the
    /// answer. `retry: false` sends it once: a refresh token is spent by the request itself.
    pub(crate) async fn token_request(
        &self,
        url: Url,
        body: Vec<u8>,
        retry: bool,
    ) -> Result<oauth::TokenAnswer, ApiError> {
        let request = Request {
            method: Method::POST,
            body: Some(body),
            authenticate: false,
            ..Request::get(url)
        };
        if retry {
            return Ok(self.send(&request).await?.0);
        }
        let permit = self.permit(&request).await?;
        let (answer, headers) = self
            .attempt(&request, None, &permit)
            .await
            .map_err(|(_, e)| e)?;
        request.decode(&answer, &headers).map_err(|(_, e)| e)
    }

    /// The absolute URL of `path` (which starts with `/`) with `query` appended.
    pub fn url(&self, path: &str, query: &[(&str, String)]) -> Url {
        let mut url = self.base.clone();
        let base_path = url.path().trim_end_matches('/').to_string();
        url.set_path(&format!("{base_path}{path}"));
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        url
    }

    /// GET `path` and decode the JSON body, retrying what is worth retrying.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, ApiError> {
        let request = Request::get(self.url(path, query));
        Ok(self.send(&request).await?.0)
    }

    /// GET `path` with another media type in `Accept`: the Universal Plugin Manager answers
    /// `application/vnd.atl.plugins+json` only.
    pub async fn get_as<T: DeserializeOwned>(
        &self,
        path: &str,
        accept: &'static str,
    ) -> Result<T, ApiError> {
        let request = Request {
            accept,
            ..Request::get(self.url(path, &[]))
        };
        Ok(self.send(&request).await?.0)
    }

    /// GET `path` with extra request headers: JSM's experimental operations answer 412 unless
    /// the request carries `X-ExperimentalApi: opt-in`.
    pub async fn get_with<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        headers: &'static [(&'static str, &'static str)],
    ) -> Result<T, ApiError> {
        let request = Request {
            headers,
            ..Request::get(self.url(path, query))
        };
        Ok(self.send(&request).await?.0)
    }

    /// GET an absolute URL on this site (a pager's next link, see [`Client::resolve`]) and
    /// decode the body; also returns the `Link` header, where Confluence v2 puts the next page.
    pub async fn get_linked<T: DeserializeOwned>(
        &self,
        url: &Url,
    ) -> Result<(T, Option<String>), ApiError> {
        let request = Request::get(url.clone());
        let (value, headers) = self.send(&request).await?;
        Ok((value, header(&headers, "link")))
    }

    /// POST a JSON body to `path` and decode the JSON answer (GraphQL). Retried like a GET:
    /// only read-only queries are sent, so a repeat changes nothing on the site.
    pub async fn post_json<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T, ApiError> {
        self.post_json_query(path, &[], body).await
    }

    /// POST a JSON body to `path` with query parameters: the Assets AQL search takes its page
    /// in the query (`startAt`, `maxResults`) and its query in the body. A read, retried like
    /// a GET.
    pub async fn post_json_query<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        body: &serde_json::Value,
    ) -> Result<T, ApiError> {
        let request = Request {
            method: Method::POST,
            body: Some(body.to_string().into_bytes()),
            ..Request::get(self.url(path, query))
        };
        Ok(self.send(&request).await?.0)
    }

    /// The absolute URL of a next-page link Atlassian sent: a path relative to the site
    /// (`/wiki/api/v2/spaces?cursor=…`, kept under the base path) or an absolute URL, which must
    /// be on the site's own origin: the credentials go with the request.
    pub fn resolve(&self, link: &str) -> Result<Url, String> {
        if link.starts_with("http://") || link.starts_with("https://") {
            let url = Url::parse(link).map_err(|e| format!("next link {link:?}: {e}"))?;
            if url.origin() != self.base.origin() {
                return Err(format!("next link {link:?} leaves the site"));
            }
            return Ok(url);
        }
        if !link.starts_with('/') {
            return Err(format!("next link {link:?} is not a path"));
        }
        let (path, query) = link.split_once('?').unwrap_or((link, ""));
        let mut url = self.url(path, &[]);
        url.set_query((!query.is_empty()).then_some(query));
        Ok(url)
    }

    /// Sends `request` until it yields a `T`, retrying what is worth retrying: 429, 5xx,
    /// transport failures, and a success whose body is not JSON at all (cut short, or a proxy's
    /// HTML page). JSON of another shape is final at once: asking again brings the same.
    async fn send<T: DeserializeOwned>(
        &self,
        request: &Request,
    ) -> Result<(T, HeaderMap), ApiError> {
        let mut retry = 0;
        let mut renewals = 0;
        // The scheduler's leave kept for the attempt after a token renewal.
        let mut kept = None;
        loop {
            // The scheduler's leave first, then the token: a token taken before a wait for the
            // endpoint's turn could be used up or replaced meanwhile.
            let permit = match kept.take() {
                Some(permit) => permit,
                None => self.permit(request).await?,
            };
            let access = match (&self.auth, request.authenticate) {
                (Auth::OAuth(source), true) => Some(source.access_token(self).await?),
                _ => None,
            };
            let outcome = self.attempt(request, access.as_ref(), &permit).await;
            let (failure, error) = match outcome {
                Ok((body, headers)) => match request.decode(&body, &headers) {
                    Ok(value) => {
                        if let Some(used) = &access {
                            used.prove();
                        }
                        return Ok((value, headers));
                    }
                    Err(failed) => failed,
                },
                Err(failed) => failed,
            };
            // An access token can be revoked or run out early: renew it at once, keeping the
            // scheduler's leave so the new token is used before others spend it. A 401 to a
            // token minted for that, which no request has used successfully, is the answer.
            // Many requests share one token, and another run may share the store, so a token
            // that did work can run out before this request carries it: that one is replaced
            // too, a few times at most.
            if let (Auth::OAuth(source), Some(used)) = (&self.auth, &access) {
                let refused_fresh = renewals > 0 && used.minted && !used.proven();
                let spent = refused_fresh || renewals >= MAX_RENEWALS;
                if error.status() == Some(401) && !spent {
                    tracing::debug!(url = %request.url, "access token rejected; renewing it");
                    source.rejected(used).await;
                    renewals += 1;
                    kept = Some(permit);
                    continue;
                }
            }
            drop(permit);
            match self.retry.delay(&failure, retry, self.clock.now()) {
                Ok(wait) => {
                    let url = &request.url;
                    tracing::debug!(%url, wait_ms = wait.as_millis() as u64, "retrying: {error}");
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    self.clock.sleep(wait).await;
                    retry += 1;
                }
                Err(give_up) => return Err(with_give_up(error, give_up)),
            }
        }
    }

    /// The scheduler's leave for one attempt: no endpoint pause, its turn in the pacing, room in
    /// the windows. Token requests skip the global cap: a request holding a place there may be
    /// waiting for the token they fetch.
    async fn permit(&self, request: &Request) -> Result<limit::Permit, ApiError> {
        let method = request.method_name();
        let url = &request.url;
        let global = request.authenticate;
        self.limits
            .acquire(
                method,
                url,
                self.clock.as_ref(),
                self.retry.max_wait,
                global,
            )
            .await
            .map_err(|refused| refused_error(method, url, refused, &self.retry))
    }

    /// One request, under `permit`, which is held for the request only, never while waiting to
    /// retry. Tells the scheduler what the response said.
    async fn attempt(
        &self,
        request: &Request,
        access: Option<&oauth::AccessToken>,
        permit: &limit::Permit,
    ) -> Result<(Vec<u8>, HeaderMap), (Failure, ApiError)> {
        let url = &request.url;
        let method = request.method_name();
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        tracing::trace!(%url, "{method}");
        let mut builder = self.http.request(request.method.clone(), url.clone());
        if request.authenticate {
            builder = self.auth.apply(builder, access);
        }
        builder = builder.header(ACCEPT, request.accept);
        for (name, value) in request.headers {
            builder = builder.header(*name, *value);
        }
        if let Some(body) = &request.body {
            builder = builder
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let mut response = builder
            .send()
            .await
            .map_err(|e| transport_failure(method, url, describe_transport(&e)))?;
        let status = response.status();
        let headers = response.headers().clone();
        permit.observe(status.as_u16(), &headers, self.clock.now());
        // Sized once from Content-Length when the server sends it (capped: the header is the
        // server's word, not a promise), instead of growing page by page through reallocation.
        let expected = response
            .content_length()
            .unwrap_or(0)
            .min(MAX_BODY_BYTES as u64);
        let mut body = Vec::with_capacity(expected as usize);
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_BODY_BYTES {
                        let error = ApiError {
                            method,
                            url: url.to_string(),
                            kind: ErrorKind::TooLarge,
                        };
                        return Err((Failure::default(), error));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(transport_failure(method, url, describe_transport(&e))),
            }
        }
        if status.is_success() {
            return Ok((body, headers));
        }
        let failure = Failure {
            retryable: Failure::is_retryable_status(status.as_u16()),
            retry_after: header(&headers, "retry-after"),
            rate_limit_reset: header(&headers, "x-ratelimit-reset"),
        };
        let error = ApiError {
            method,
            url: url.to_string(),
            kind: ErrorKind::Status {
                status: status.as_u16(),
                message: error_message(&body),
                gave_up: None,
            },
        };
        Err((failure, error))
    }
}

/// One request as the retry loop sends it, as many times as it takes.
struct Request {
    method: Method,
    url: Url,
    accept: &'static str,
    /// Extra headers, never credentials (those are added by [`Auth::apply`] only).
    headers: &'static [(&'static str, &'static str)],
    body: Option<Vec<u8>>,
    /// False for token requests: their credentials are in the body.
    authenticate: bool,
}

impl Request {
    fn get(url: Url) -> Self {
        Request {
            method: Method::GET,
            url,
            accept: "application/json",
            headers: &[],
            body: None,
            authenticate: true,
        }
    }

    fn method_name(&self) -> &'static str {
        if self.method == Method::POST {
            "POST"
        } else {
            "GET"
        }
    }

    /// The body as a `T`. A body that is not JSON (truncated, or an HTML page a proxy answered
    /// with status 200) is worth another try; valid JSON of another shape is not.
    // The same failure `attempt` returns, for the same retry loop; made once per failed body.
    #[allow(clippy::result_large_err)]
    fn decode<T: DeserializeOwned>(
        &self,
        body: &[u8],
        headers: &HeaderMap,
    ) -> Result<T, (Failure, ApiError)> {
        let error = match serde_json::from_slice(body) {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let html = header(headers, "content-type")
            .is_some_and(|t| t.trim_start().to_ascii_lowercase().starts_with("text/html"));
        let message = if html {
            format!(
                "an HTML page instead of JSON: {}",
                truncate(&String::from_utf8_lossy(body))
            )
        } else {
            // serde quotes values from the body: redacted and cut like any quoted body.
            truncate(&error.to_string())
        };
        let failure = Failure {
            retryable: html || error.classify() != serde_json::error::Category::Data,
            ..Failure::default()
        };
        let error = ApiError {
            method: self.method_name(),
            url: self.url.to_string(),
            kind: ErrorKind::Decode(message),
        };
        Err((failure, error))
    }
}

fn transport_failure(method: &'static str, url: &Url, message: String) -> (Failure, ApiError) {
    let failure = Failure {
        retryable: true,
        ..Failure::default()
    };
    let error = ApiError {
        method,
        url: url.to_string(),
        kind: ErrorKind::Transport {
            message,
            gave_up: String::new(),
        },
    };
    (failure, error)
}

fn with_give_up(mut error: ApiError, give_up: GiveUp) -> ApiError {
    match &mut error.kind {
        ErrorKind::Status { gave_up, .. } if give_up != GiveUp::NotRetryable => {
            *gave_up = Some(give_up.to_string());
        }
        ErrorKind::Transport { gave_up, .. } => *gave_up = give_up.to_string(),
        ErrorKind::Decode(message) if give_up != GiveUp::NotRetryable => {
            message.push_str(&format!(" ({give_up})"));
        }
        _ => {}
    }
    error
}

/// reqwest's top-level message plus its source chain, without the URL (which the caller adds).
fn describe_transport(error: &reqwest::Error) -> String {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "failed reading the response"
    } else {
        "request failed"
    };
    let mut message = what.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Jira's `errorMessages` when the body has them, else a short, single-line prefix of the body.
fn error_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct JiraError {
        #[serde(default)]
        error_messages: Vec<String>,
        #[serde(default)]
        errors: serde_json::Map<String, serde_json::Value>,
        message: Option<String>,
    }
    if let Ok(parsed) = serde_json::from_slice::<JiraError>(body) {
        let mut parts = parsed.error_messages;
        parts.extend(
            parsed
                .errors
                .iter()
                .map(|(field, value)| format!("{field}: {}", value.as_str().unwrap_or("invalid"))),
        );
        parts.extend(parsed.message);
        if !parts.is_empty() {
            return truncate(&parts.join("; "));
        }
    }
    truncate(&String::from_utf8_lossy(body))
}

/// Server (or panic) text made fit for a message: redacted, one line, at most a short prefix.
pub(crate) fn truncate(text: &str) -> String {
    let single_line: String = crate::redact::redact(text)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = single_line.trim();
    match trimmed.char_indices().nth(ERROR_BODY_PREFIX) {
        Some((cut, _)) => format!("{}…", &trimmed[..cut]),
        None => trimmed.to_string(),
    }
}

/// A request the scheduler would not send: its endpoint is paused for longer than the retry
/// policy waits, so it fails as its 429 would have.
fn refused_error(
    method: &'static str,
    url: &Url,
    refused: Refused,
    policy: &RetryPolicy,
) -> ApiError {
    let kind = match refused {
        Refused::Paused(wait) => ErrorKind::Status {
            status: 429,
            message: "the endpoint is rate limited".to_string(),
            gave_up: Some(
                GiveUp::WaitTooLong {
                    wait,
                    limit: policy.max_wait,
                }
                .to_string(),
            ),
        },
        Refused::Closed => ErrorKind::Transport {
            message: "the HTTP client is shutting down".to_string(),
            gave_up: "not sent".to_string(),
        },
    };
    ApiError {
        method,
        url: url.to_string(),
        kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_message_prefers_jira_error_messages() {
        let body =
            br#"{"errorMessages":["You are not authorized."],"errors":{"groupId":"unknown"}}"#;
        assert_eq!(
            error_message(body),
            "You are not authorized.; groupId: unknown"
        );
    }

    #[test]
    fn error_message_is_a_short_single_line() {
        let body = format!("<html>\n<body>{}</body></html>", "x".repeat(500));
        let message = error_message(body.as_bytes());
        assert!(!message.contains('\n'));
        assert!(message.chars().count() <= ERROR_BODY_PREFIX + 1);
        assert!(message.ends_with('…'));
    }

    #[test]
    fn bodies_that_are_not_json_are_retried_and_json_of_another_shape_is_not() {
        let request = Request::get(Url::parse("https://acme.atlassian.net/rest/api/3/x").unwrap());
        let json = HeaderMap::new();
        let decode = |body: &[u8], headers: &HeaderMap| {
            request
                .decode::<Vec<u32>>(body, headers)
                .map_err(|(failure, error)| (failure.retryable, error.to_string()))
        };
        assert_eq!(decode(b"[1,2]", &json), Ok(vec![1, 2]));
        let (retry, message) = decode(b"[1,2", &json).unwrap_err();
        assert!(retry, "{message}");
        assert!(message.contains("/rest/api/3/x"), "{message}");
        let mut html = HeaderMap::new();
        html.insert(CONTENT_TYPE, "text/html; charset=utf-8".parse().unwrap());
        let (retry, message) = decode(b"<html><h1>Down</h1></html>", &html).unwrap_err();
        assert!(
            retry && message.contains("an HTML page instead of JSON"),
            "{message}"
        );
        let (retry, message) = decode(br#"{"values":[1]}"#, &json).unwrap_err();
        assert!(!retry, "{message}");
    }

    #[test]
    fn url_keeps_the_base_path_and_encodes_the_query() {
        let auth = Auth::ApiToken {
            email: "a@example.com".into(),
            token: SecretString::from("t"),
        };
        let base = Url::parse("https://api.atlassian.com/ex/jira/abc").unwrap();
        let client = Client::new(
            base,
            auth,
            &HttpSettings::default(),
            Arc::new(retry::SystemClock),
        )
        .unwrap();
        let url = client.url("/rest/api/3/group/member", &[("groupId", "a b&c".into())]);
        assert_eq!(
            url.as_str(),
            "https://api.atlassian.com/ex/jira/abc/rest/api/3/group/member?groupId=a+b%26c"
        );
    }

    #[test]
    fn auth_debug_never_shows_the_token() {
        let auth = Auth::ApiToken {
            email: "a@example.com".into(),
            token: SecretString::from("s3cr3t-token-value"),
        };
        assert!(!format!("{auth:?}").contains("s3cr3t"));
    }
}
