//! What every request goes through before routing, in this order: Basic authentication, then
//! pacing (rate limits, quota, random faults), then the injected faults, then the handler, then
//! the configured latency; the request log records whatever came out.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use secrecy::ExposeSecret;

use super::error::JiraError;
use super::pacing::{Admission, Style};
use super::{Host, LoggedRequest, Site};

pub(super) async fn gate(State(site): State<Arc<Site>>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or_default().to_string();
    let auth = auth_scheme(request.headers());
    let response = if !authenticated(&site, request.headers()) || super::oauth::gateway_only(&site)
    {
        // Jira Cloud's body for a request without valid credentials.
        JiraError::new(
            StatusCode::UNAUTHORIZED,
            "Client must be authenticated to access this resource.",
        )
        .into_response()
    } else {
        match site.pacer.admit(Host::Site, &method, &path, &query) {
            Admission::Refuse(refusal) => refusal.into_response(Style::Jira),
            Admission::Pass(limits) => {
                let mut response = match injected_fault(&site) {
                    Some(fault) => fault,
                    None => next.run(request).await,
                };
                limits.apply(response.headers_mut(), Style::Jira);
                response
            }
        }
    };
    site.pacer.delay().await;
    let status = response.status().as_u16();
    tracing::debug!(%method, %path, status, "simulated tenant request");
    record(
        &site,
        LoggedRequest {
            host: Host::Site,
            method,
            path,
            query,
            auth,
            status,
        },
    );
    response
}

/// What the log keeps of a request, taken before it is handled.
pub(super) struct Seen {
    method: String,
    path: String,
    query: String,
    auth: &'static str,
}

impl Seen {
    pub(super) fn of(request: &Request) -> Seen {
        Seen {
            method: request.method().to_string(),
            path: request.uri().path().to_string(),
            query: request.uri().query().unwrap_or_default().to_string(),
            auth: auth_scheme(request.headers()),
        }
    }

    /// Logs the request with the status it was answered with.
    pub(super) fn record(self, site: &Site, host: Host, status: u16) {
        let Seen {
            method,
            path,
            query,
            auth,
        } = self;
        record(
            site,
            LoggedRequest {
                host,
                method,
                path,
                query,
                auth,
                status,
            },
        );
    }
}

pub(super) fn record(site: &Site, request: LoggedRequest) {
    if !site.config.request_log {
        return;
    }
    site.log
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push(request);
}

/// The scheme of the `Authorization` header, for the request log (never the credential).
pub(super) fn auth_scheme(headers: &HeaderMap) -> &'static str {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return "none";
    };
    let scheme = value
        .to_str()
        .ok()
        .and_then(|v| v.split_whitespace().next())
        .unwrap_or_default();
    if scheme.eq_ignore_ascii_case("basic") {
        "basic"
    } else if scheme.eq_ignore_ascii_case("bearer") {
        "bearer"
    } else {
        "other"
    }
}

/// `Authorization: Basic base64(email:token)` with the configured pair. The only place the
/// token is exposed. The API gateway checks Basic credentials with it too.
pub(super) fn basic_matches(site: &Site, headers: &HeaderMap) -> bool {
    authenticated(site, headers)
}

pub(super) fn authenticated(site: &Site, headers: &HeaderMap) -> bool {
    let Some(encoded) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let Ok(decoded) = String::from_utf8(decoded) else {
        return false;
    };
    match decoded.split_once(':') {
        Some((email, token)) => {
            email == site.config.email && token == site.config.token.expose_secret()
        }
        None => false,
    }
}

/// Counts the request and answers it with a fault when its number comes up. 429 wins when both
/// are due.
fn injected_fault(site: &Site) -> Option<Response> {
    let faults = &site.config.faults;
    let n = site.served.fetch_add(1, Ordering::SeqCst) + 1;
    let due = |every: u32| every > 0 && n.is_multiple_of(u64::from(every));
    if due(faults.rate_limit_every) {
        return Some(rate_limited(faults.retry_after_secs));
    }
    if due(faults.unavailable_every) {
        // No Retry-After: the client has to fall back to its own backoff.
        return Some(
            JiraError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service temporarily unavailable.",
            )
            .into_response(),
        );
    }
    None
}

/// Jira's burst limiter, per developer.atlassian.com/cloud/jira/platform/rate-limiting:
/// `Retry-After` in seconds, `X-RateLimit-Reset` as `yyyy-MM-ddTHH:mmZ` (request time plus
/// Retry-After) and the `RateLimit-Reason` naming the limiter.
fn rate_limited(retry_after_secs: u64) -> Response {
    let mut response =
        JiraError::new(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded.").into_response();
    let secs = i64::try_from(retry_after_secs).unwrap_or(i64::MAX);
    let reset = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(secs))
        .unwrap_or(jiff::Timestamp::MAX);
    let headers = response.headers_mut();
    headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    if let Ok(value) = HeaderValue::from_str(&reset.strftime("%Y-%m-%dT%H:%MZ").to_string()) {
        headers.insert("x-ratelimit-reset", value);
    }
    headers.insert(
        "ratelimit-reason",
        HeaderValue::from_static("jira-burst-based"),
    );
    response
}
