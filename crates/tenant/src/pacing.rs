//! Pacing: what makes the simulated tenant behave like a rate-limited Atlassian Cloud site for a
//! benchmark, and the server-side accounting a benchmark judges the client by.
//!
//! - **Latency**: every response is held back by [`Pacing::latency`].
//! - **Burst limits** (REFERENCE §1.10): one token bucket per host and endpoint template (method
//!   and path with ids replaced by `{}`), holding [`Pacing::burst`] tokens (default: one second
//!   of [`Pacing::rps`]) and refilled at `rps` per second. Every response of a limited endpoint
//!   carries `X-RateLimit-Limit` and `X-RateLimit-Remaining`, and on the site
//!   `X-RateLimit-NearLimit: true` below 20% of the bucket. An empty bucket answers `429` with
//!   `Retry-After` (whole seconds, at least 1), `X-RateLimit-Reset` (ISO 8601) and, on the site
//!   and its Assets gateway, `RateLimit-Reason: jira-burst-based` and Jira's error body; the
//!   Admin API answers its gateway's `ProxyError` without a reason (REFERENCE §5.8).
//! - **Quota** ([`Quota`], [`super::Tenant::trip_quota`]): a `429` with
//!   `RateLimit-Reason: jira-quota-tenant-based` that closes a whole host until its reset.
//! - **Random faults** ([`Pacing::fault_rate`], seeded): half `429` with `Retry-After: 1`, half
//!   `503` without `Retry-After`.
//! - **Early retries**: once a `429` with `Retry-After` went out for a template (or a host, for
//!   the quota), every request to it before that time is refused again, and counted as an early
//!   retry once the `429` has reached the client (the latency plus [`Pacing::notice`] after it
//!   was decided); requests already on their way count as throttled.
//!
//! Accounting is a handful of counters per (host, template) plus, for listings a client must walk
//! one page after another, a page count per listing: cheap for hundreds of thousands of requests.
//! [`PacingReport`] turns it into the totals, the per-template counts, the physical limit of the
//! run and the fewest requests a complete collection needs (see [`min_requests`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::data::Dataset;
use super::{Host, TenantConfig};

/// How the tenant paces requests. The default is off: no latency, no limits, no faults.
#[derive(Clone, Debug)]
pub struct Pacing {
    /// Added to every response (a tokio sleep; nothing when zero).
    pub latency: Duration,
    /// Requests per second each endpoint template allows per host; `None`: unlimited.
    pub rps: Option<f64>,
    /// Bucket capacity; `None`: one second of `rps`. Tests set a small burst with a tiny `rps` so
    /// the bucket never refills while they run.
    pub burst: Option<f64>,
    /// Share of requests (0..=1) answered with a random fault: half `429` with `Retry-After: 1`,
    /// half `503` without `Retry-After`.
    pub fault_rate: f64,
    /// Seed of the fault draws: the same seed and request order give the same faults.
    pub seed: u64,
    /// A quota exhausted after some requests to one host.
    pub quota: Option<Quota>,
    /// Time allowed, on top of `latency`, for a `429` to reach the client and be acted on:
    /// requests to a closed template within it were on their way already and count as
    /// throttled, later ones as early retries. Default 20 ms.
    pub notice: Duration,
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing {
            latency: Duration::ZERO,
            rps: None,
            burst: None,
            fault_rate: 0.0,
            seed: 0,
            quota: None,
            notice: Duration::from_millis(20),
        }
    }
}

/// Jira's per-tenant quota (`RateLimit-Reason: jira-quota-tenant-based`): after `after` requests
/// to `host`, the whole host answers `429` until `pause` has passed.
#[derive(Clone, Copy, Debug)]
pub struct Quota {
    pub host: Host,
    pub after: u64,
    pub pause: Duration,
}

/// What one (host, endpoint template) saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Requests that reached the handler (whatever it answered).
    pub served: u64,
    /// `429` from an empty bucket or an exhausted quota.
    pub throttled: u64,
    /// Random `429`/`503` faults injected.
    pub faults: u64,
    /// Requests sent before a `Retry-After` the server had given for them elapsed.
    pub early_retries: u64,
}

impl Counts {
    /// Every request that arrived.
    pub fn requests(&self) -> u64 {
        self.served + self.throttled + self.faults + self.early_retries
    }

    fn add(&mut self, other: &Counts) {
        self.served += other.served;
        self.throttled += other.throttled;
        self.faults += other.faults;
        self.early_retries += other.early_retries;
    }
}

/// One endpoint template's counts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TemplateCounts {
    /// `site` or `api`.
    pub host: &'static str,
    /// `GET /rest/api/3/group/member`, `GET /rest/api/3/project/{}/role/{}`.
    pub template: String,
    #[serde(flatten)]
    pub counts: Counts,
}

/// The server's own account of a run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PacingReport {
    /// Every request that arrived (authenticated), refused or not.
    pub requests: u64,
    #[serde(flatten)]
    pub totals: Counts,
    /// The fewest requests a complete collection of this dataset needs ([`min_requests`]).
    pub min_requests: u64,
    /// The shortest wall time the requests served allow ([`PacingReport::physical_limit_s`]
    /// explains the formula).
    pub physical_limit_s: f64,
    /// The rate-bound part of the limit: the busiest template's `served / rps`.
    pub rate_bound_s: f64,
    /// The longest chain of pages that had to come one after another.
    pub longest_chain: u64,
    pub latency_ms: f64,
    pub rps: Option<f64>,
    /// Sorted by host, then template.
    pub templates: Vec<TemplateCounts>,
}

/// The pacing state of a running tenant.
pub(super) struct Pacer {
    config: Pacing,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    rng: Option<fastrand::Rng>,
    endpoints: HashMap<(Host, String), Endpoint>,
    hosts: HashMap<Host, HostState>,
    /// Pages served per sequential listing (host, method, path, non-paging query).
    chains: HashMap<String, u64>,
}

struct Endpoint {
    tokens: f64,
    refilled: Instant,
    /// Set when a `429` with `Retry-After` went out.
    closed: Option<Closed>,
    counts: Counts,
}

/// A template or host closed by a `429` with `Retry-After`. Requests before `until` are
/// refused; those from `known_from` on (once the `429` reached the client) are early retries,
/// those before it were on their way already and count as throttled.
#[derive(Clone, Copy)]
struct Closed {
    until: Instant,
    known_from: Instant,
}

#[derive(Default)]
struct HostState {
    requests: u64,
    closed: Option<Closed>,
    /// A quota trip asked for by a test: the next request trips it.
    trip: Option<Duration>,
    tripped: bool,
}

/// What the gate does with a request.
pub(super) enum Admission {
    /// Hand it to the handler; put these headers on the response.
    Pass(RateHeaders),
    /// Answer it here.
    Refuse(Refusal),
}

/// `X-RateLimit-*` of a limited endpoint.
pub(super) struct RateHeaders(Option<(f64, f64, f64)>);

pub(super) struct Refusal {
    status: StatusCode,
    /// Whole seconds; `None` for a 503 without it.
    retry_after: Option<u64>,
    reason: Option<&'static str>,
    limit: Option<f64>,
}

/// Which error shapes and headers a listener speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Style {
    /// The site and its Assets gateway: `RateLimit-Reason`, `X-RateLimit-NearLimit`, Jira's
    /// `ErrorCollection`.
    Jira,
    /// The Admin API: `X-RateLimit-*` only and the gateway's `ProxyError {code, message}`.
    Admin,
}

impl Pacer {
    pub(super) fn new(config: Pacing) -> Pacer {
        let state = State {
            rng: Some(fastrand::Rng::with_seed(config.seed)),
            ..State::default()
        };
        Pacer {
            config,
            state: Mutex::new(state),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The next request to `host` trips its quota for `pause`.
    pub(super) fn trip_quota(&self, host: Host, pause: Duration) {
        self.lock().hosts.entry(host).or_default().trip = Some(pause);
    }

    /// Decides what happens to an authenticated request, and counts it.
    pub(super) fn admit(&self, host: Host, method: &str, path: &str, query: &str) -> Admission {
        let now = Instant::now();
        let template = template(method, path);
        let mut guard = self.lock();
        let state = &mut *guard;
        let host_state = state.hosts.entry(host).or_default();
        host_state.requests += 1;
        let quota = self.config.quota.filter(|q| q.host == host);
        let due = quota.is_some_and(|q| !host_state.tripped && host_state.requests > q.after);
        let pause = host_state
            .trip
            .take()
            .or_else(|| due.then(|| quota.map(|q| q.pause)).flatten());
        let capacity = self.capacity();
        let endpoint = state
            .endpoints
            .entry((host, template))
            .or_insert_with(|| Endpoint {
                tokens: capacity.unwrap_or(0.0),
                refilled: now,
                closed: None,
                counts: Counts::default(),
            });
        let limit = self.config.rps;

        let close = |secs: u64| Closed {
            until: now + Duration::from_secs(secs),
            known_from: now + self.config.latency + self.config.notice,
        };
        // The host's quota first: it closes everything.
        if let Some(pause) = pause {
            host_state.tripped = true;
            let secs = whole_secs(pause);
            host_state.closed = Some(close(secs));
            endpoint.counts.throttled += 1;
            return Admission::Refuse(Refusal::quota(secs, limit));
        }
        if let Some(left) = refused(host_state.closed, now, &mut endpoint.counts) {
            return Admission::Refuse(Refusal::quota(whole_secs(left), limit));
        }
        if let Some(left) = refused(endpoint.closed, now, &mut endpoint.counts) {
            return Admission::Refuse(Refusal::burst(whole_secs(left), limit));
        }

        let mut headers = RateHeaders(None);
        if let (Some(rps), Some(capacity)) = (limit, capacity) {
            let elapsed = now
                .saturating_duration_since(endpoint.refilled)
                .as_secs_f64();
            endpoint.tokens = (endpoint.tokens + elapsed * rps).min(capacity);
            endpoint.refilled = now;
            if endpoint.tokens < 1.0 {
                let secs = ((1.0 - endpoint.tokens) / rps).ceil().max(1.0);
                let secs = if secs.is_finite() {
                    secs as u64
                } else {
                    u64::MAX / 4
                };
                endpoint.closed = Some(close(secs));
                endpoint.counts.throttled += 1;
                return Admission::Refuse(Refusal::burst(secs, limit));
            }
            endpoint.tokens -= 1.0;
            headers = RateHeaders(Some((rps, endpoint.tokens, capacity)));
        }

        if self.config.fault_rate > 0.0 {
            let rng = state.rng.get_or_insert_with(fastrand::Rng::new);
            if rng.f64() < self.config.fault_rate {
                endpoint.counts.faults += 1;
                if rng.bool() {
                    endpoint.closed = Some(close(1));
                    return Admission::Refuse(Refusal::burst(1, limit));
                }
                return Admission::Refuse(Refusal::unavailable());
            }
        }

        endpoint.counts.served += 1;
        if let Some(key) = chain_key(host, method, path, query) {
            *state.chains.entry(key).or_default() += 1;
        }
        Admission::Pass(headers)
    }

    fn capacity(&self) -> Option<f64> {
        let rps = self.config.rps?;
        Some(self.config.burst.unwrap_or(rps).max(f64::MIN_POSITIVE))
    }

    /// Holds a response back by the configured latency.
    pub(super) async fn delay(&self) {
        if !self.config.latency.is_zero() {
            tokio::time::sleep(self.config.latency).await;
        }
    }

    pub(super) fn report(&self, data: &Dataset, config: &TenantConfig) -> PacingReport {
        let state = self.lock();
        let mut totals = Counts::default();
        let mut templates: Vec<TemplateCounts> = state
            .endpoints
            .iter()
            .map(|((host, template), endpoint)| {
                totals.add(&endpoint.counts);
                TemplateCounts {
                    host: host_name(*host),
                    template: template.clone(),
                    counts: endpoint.counts,
                }
            })
            .collect();
        templates.sort_by(|a, b| (a.host, &a.template).cmp(&(b.host, &b.template)));
        let longest_chain = state.chains.values().copied().max().unwrap_or(0);
        let busiest = templates.iter().map(|t| t.counts.served).max().unwrap_or(0);
        let latency = self.config.latency.as_secs_f64();
        let (physical_limit_s, rate_bound_s) =
            physical_limit(busiest, longest_chain, self.config.rps, latency);
        PacingReport {
            requests: totals.requests(),
            totals,
            min_requests: min_requests(data, config),
            physical_limit_s,
            rate_bound_s,
            longest_chain,
            latency_ms: latency * 1000.0,
            rps: self.config.rps,
            templates,
        }
    }
}

/// The shortest wall time a run that was served these requests can take:
///
/// `physical_limit_s = latency + max(rate_bound, longest_chain × latency)`, where
/// `rate_bound = max over (host, template) of served / rps` (a bucket lets no more through,
/// whatever the concurrency) and `longest_chain` is the most pages one listing served that a
/// client can only fetch one after another (a bare array or a cursor: each page names the
/// next). The leading `latency` is the first request's, which nothing can overlap. Both parts
/// come from the server's own counts. Returns `(physical_limit_s, rate_bound_s)`.
pub fn physical_limit(
    busiest_served: u64,
    longest_chain: u64,
    rps: Option<f64>,
    latency_s: f64,
) -> (f64, f64) {
    let rate_bound = match rps {
        Some(rps) if rps > 0.0 => busiest_served as f64 / rps,
        _ => 0.0,
    };
    let chain_bound = longest_chain as f64 * latency_s;
    (latency_s + rate_bound.max(chain_bound), rate_bound)
}

impl Refusal {
    fn burst(retry_after: u64, limit: Option<f64>) -> Refusal {
        Refusal {
            status: StatusCode::TOO_MANY_REQUESTS,
            retry_after: Some(retry_after),
            reason: Some("jira-burst-based"),
            limit,
        }
    }

    fn quota(retry_after: u64, limit: Option<f64>) -> Refusal {
        Refusal {
            status: StatusCode::TOO_MANY_REQUESTS,
            retry_after: Some(retry_after),
            reason: Some("jira-quota-tenant-based"),
            limit,
        }
    }

    fn unavailable() -> Refusal {
        Refusal {
            status: StatusCode::SERVICE_UNAVAILABLE,
            retry_after: None,
            reason: None,
            limit: None,
        }
    }

    pub(super) fn into_response(self, style: Style) -> Response {
        let message = if self.status == StatusCode::TOO_MANY_REQUESTS {
            "Rate limit exceeded."
        } else {
            "Service temporarily unavailable."
        };
        let mut response = match style {
            Style::Jira => (
                self.status,
                Json(serde_json::json!({"errorMessages": [message], "errors": {}})),
            )
                .into_response(),
            Style::Admin => (
                self.status,
                Json(serde_json::json!({"code": self.status.as_u16(), "message": message})),
            )
                .into_response(),
        };
        let headers = response.headers_mut();
        let Some(secs) = self.retry_after else {
            return response;
        };
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        insert(headers, "x-ratelimit-reset", &reset(secs, style));
        if let Some(limit) = self.limit {
            insert(headers, "x-ratelimit-limit", &number(limit));
            headers.insert("x-ratelimit-remaining", HeaderValue::from(0));
        }
        if let (Style::Jira, Some(reason)) = (style, self.reason) {
            headers.insert("ratelimit-reason", HeaderValue::from_static(reason));
        }
        response
    }
}

impl RateHeaders {
    pub(super) fn apply(self, headers: &mut HeaderMap, style: Style) {
        let Some((rps, tokens, capacity)) = self.0 else {
            return;
        };
        insert(headers, "x-ratelimit-limit", &number(rps));
        headers.insert(
            "x-ratelimit-remaining",
            HeaderValue::from(tokens.max(0.0).floor() as u64),
        );
        if style == Style::Jira && tokens < 0.2 * capacity {
            headers.insert("x-ratelimit-nearlimit", HeaderValue::from_static("true"));
        }
    }
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// `100` for a whole rate, `0.5` otherwise.
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

/// Request time plus `Retry-After`: Jira's `yyyy-MM-ddTHH:mmZ`, the Admin API's full UTC time.
fn reset(secs: u64, style: Style) -> String {
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    let at = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(secs))
        .unwrap_or(jiff::Timestamp::MAX);
    match style {
        Style::Jira => at.strftime("%Y-%m-%dT%H:%MZ").to_string(),
        Style::Admin => at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
    }
}

/// When `closed` still holds at `now`: counts the request (early once the client knew) and
/// returns how long the closing lasts.
fn refused(closed: Option<Closed>, now: Instant, counts: &mut Counts) -> Option<Duration> {
    let closed = closed.filter(|c| c.until > now)?;
    if now >= closed.known_from {
        counts.early_retries += 1;
    } else {
        counts.throttled += 1;
    }
    Some(closed.until - now)
}

/// Whole seconds, rounded up, at least 1.
fn whole_secs(d: Duration) -> u64 {
    d.as_secs_f64().ceil().max(1.0) as u64
}

fn host_name(host: Host) -> &'static str {
    match host {
        Host::Site => "site",
        Host::Api => "api",
    }
}

/// `METHOD /path` with every id segment replaced by `{}`: numbers, UUIDs, account ids
/// (`712020:…`, `qm:…:…`, the legacy 24-hex form) and project keys; the API versions
/// (`/rest/api/3`, `v1`, `v2`) stay.
pub fn template(method: &str, path: &str) -> String {
    let mut out = String::with_capacity(method.len() + path.len() + 1);
    out.push_str(method);
    out.push(' ');
    let mut previous = "";
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        if is_id(previous, segment) {
            out.push_str("{}");
        } else {
            out.push_str(segment);
        }
        previous = segment;
    }
    out
}

fn is_id(previous: &str, segment: &str) -> bool {
    if segment.is_empty() || previous == "api" {
        return false;
    }
    let hex = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
    let digits = segment.bytes().all(|b| b.is_ascii_digit());
    let uuid = segment.len() == 36 && segment.bytes().filter(|&b| b == b'-').count() == 4;
    let account = segment.contains(':') || (segment.len() == 24 && hex(segment));
    // `/project/{projectIdOrKey}`: keys are upper-case letters and digits.
    let project_key = previous == "project" && segment != "search";
    digits || uuid || account || project_key
}

/// The listing a request pages through, when its pages can only come one after another: the
/// bare-array `/users/search` and every cursor listing (the Admin API, Confluence v2). `None`
/// for everything else (offset listings with a total can be fetched in parallel after their
/// first page).
fn chain_key(host: Host, method: &str, path: &str, query: &str) -> Option<String> {
    let sequential = path == "/rest/api/3/users/search"
        || path.starts_with("/wiki/api/v2/")
        || (host == Host::Api && path.starts_with("/admin/"));
    if !sequential {
        return None;
    }
    let mut kept: Vec<&str> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| {
            let name = pair.split('=').next().unwrap_or_default();
            !matches!(
                name,
                "startAt" | "maxResults" | "cursor" | "limit" | "pageSize" | "start"
            )
        })
        .collect();
    kept.sort_unstable();
    Some(format!(
        "{} {method} {path}?{}",
        host_name(host),
        kept.join("&")
    ))
}

/// The fewest requests a complete collection of `data` needs, each listing asked for at the
/// largest page its endpoint accepts (REFERENCE §9.3 and the clamps this tenant enforces). With
/// `pages(n, p) = max(1, ⌈n / p⌉)`:
///
/// - Jira: `/users/search` walked until its empty page (the short pages the tenant serves are
///   followed exactly, then `+ 1` for the terminating `[]`; at most 1000 a page);
///   `pages(groups, 50)` of `/group/bulk`; per group `pages(members, 50)` of `/group/member`;
///   `pages(projects, 100)` of `/project/search`; per project one `roledetails` and one
///   `role/{id}` per role, and one `permissionscheme` per company-managed project; one each of
///   `/permissionscheme`, `/application-properties`, `/applicationrole`, UPM and mail settings.
/// - One route probe, `/rest/api/3/myself`.
/// - Confluence: `pages(groups, min(p, 200))` of `/wiki/rest/api/group` (members come from Jira's
///   listing); `pages(spaces, p)` of v2 spaces and per space `pages(grants, p)` of its
///   permissions, `p` the Confluence page limit; retention, UPM, `pages(audit entries of the
///   last 24 hours, p)`; site permissions: `/cgraphql`, plus the gateway when it is blocked.
/// - Assets (when enabled): one workspace discovery, `pages(schemas, 50)` of schemas, per schema
///   one flat type list, per type one attributes request and `pages(objects of type, p)` AQL
///   pages, `p` the Assets page limit.
/// - JSM: `pages(desks, p)`, per desk `pages(customers, p)`; `pages(organisations, p)`, per
///   organisation `pages(members, p)`, `p` the JSM page limit.
/// - Admin (with an organisation): `/orgs` (or `/orgs/{id}`), `pages(domains, s)`,
///   `pages(users, s)` of the v2 user search and `pages(groups, s)` of the group search,
///   `pages(api tokens, s)`, `pages(api keys, s)`, per service account `pages(tokens, s)`, and
///   the events stream's `⌈events of the last 24 hours / s⌉ + 1` (the stream always names a
///   next cursor; it ends at an empty page), `s` the org page size.
///
/// The audit listings assume the collector's default window (`--since 24h`).
pub fn min_requests(data: &Dataset, config: &TenantConfig) -> u64 {
    fn pages(items: usize, page: usize) -> u64 {
        (items.div_ceil(page.max(1))).max(1) as u64
    }
    // The route probe (`/rest/api/3/myself`).
    let mut n = 1u64;

    // Jira.
    let users_page = config.users_page_limit.clamp(1, 1000);
    let mut start = 0;
    loop {
        n += 1;
        let got =
            super::jira::users_window(start, users_page, data.users.len(), config.short_pages)
                .len();
        if got == 0 {
            break;
        }
        start += got;
    }
    n += pages(data.groups.len(), 50);
    n += data
        .groups
        .iter()
        .map(|g| pages(g.members.len(), 50))
        .sum::<u64>();
    n += pages(data.projects.len(), 100);
    for project in &data.projects {
        n += 1 + project.roles.len() as u64;
        n += u64::from(project.permission_scheme_id.is_some());
    }
    n += 5;

    // Confluence.
    let conf = &config.confluence;
    let p = conf.page_limit;
    // v1 group listings take at most 200 a page (a larger limit is a 400).
    n += pages(data.groups.len(), p.min(200));
    n += pages(data.confluence.spaces.len(), p);
    n += data
        .confluence
        .spaces
        .iter()
        .map(|s| pages(s.permissions.len(), p))
        .sum::<u64>();
    let recent_audit = data
        .confluence
        .audit
        .iter()
        .filter(|e| e.minutes_ago <= AUDIT_WINDOW_SECS / 60)
        .count();
    n += 2 + pages(recent_audit, p);
    n += if conf.cgraphql_blocked { 2 } else { 1 };

    // Assets.
    let assets = &data.assets;
    if config.assets.enabled {
        let p = config.assets.page_limit;
        n += 1 + pages(assets.schemas.len(), 50) + assets.schemas.len() as u64;
        for t in &assets.types {
            let objects = assets.objects_of_type(&t.id);
            n += 1 + pages(objects, p);
        }
    }

    // JSM.
    let jsm = &data.jsm;
    let p = config.jsm.page_limit;
    n += pages(jsm.service_desks.len(), p);
    n += jsm
        .service_desks
        .iter()
        .map(|d| pages(d.customers.len(), p))
        .sum::<u64>();
    n += pages(jsm.organizations.len(), p);
    n += jsm
        .organizations
        .iter()
        .map(|o| pages(o.members.len(), p))
        .sum::<u64>();

    // Admin.
    if let (Some(org), Some(org_config)) = (&data.org, &config.org) {
        let s = org_config.page_size;
        n += 1 + pages(org.domains.len(), s);
        n += pages(org.users.len(), s) + pages(org.groups.len(), s);
        n += pages(org.api_tokens.len(), s) + pages(org.api_keys.len(), s);
        n += org
            .service_accounts
            .iter()
            .map(|a| pages(a.tokens.len(), s))
            .sum::<u64>();
        let cutoff = org_config.now.as_second() - AUDIT_WINDOW_SECS;
        let recent = org
            .events
            .iter()
            .filter(|e| {
                e.time
                    .parse::<jiff::Timestamp>()
                    .is_ok_and(|t| t.as_second() >= cutoff)
            })
            .count();
        n += (recent.div_ceil(s.max(1)) + 1) as u64;
    }
    n
}

/// The audit window [`min_requests`] assumes: the collector's default `--since 24h`.
const AUDIT_WINDOW_SECS: i64 = 24 * 3600;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_replace_ids_and_keep_versions() {
        let cases = [
            ("/rest/api/3/users/search", "GET /rest/api/3/users/search"),
            (
                "/rest/api/3/project/10003/role/10002",
                "GET /rest/api/3/project/{}/role/{}",
            ),
            (
                "/rest/api/3/project/ENG/roledetails",
                "GET /rest/api/3/project/{}/roledetails",
            ),
            (
                "/rest/api/3/project/search",
                "GET /rest/api/3/project/search",
            ),
            (
                "/admin/v1/orgs/6f1d2b3a-4c5e-4f60-8a7b-9c0d1e2f3a4b/directory/users/712020:0b1c2d3e-0000-4000-8000-000000000000/last-active-dates",
                "GET /admin/v1/orgs/{}/directory/users/{}/last-active-dates",
            ),
            (
                "/admin/v2/orgs/6f1d2b3a-4c5e-4f60-8a7b-9c0d1e2f3a4b/directories/-/users/search",
                "GET /admin/v2/orgs/{}/directories/-/users/search",
            ),
            (
                "/wiki/rest/api/group/5b10ac8d82e05b22cc7d4ef5/membersByGroupId",
                "GET /wiki/rest/api/group/{}/membersByGroupId",
            ),
            ("/rest/plugins/1.0/settings", "GET /rest/plugins/1.0/settings"),
        ];
        for (path, expected) in cases {
            assert_eq!(template("GET", path), expected, "{path}");
        }
    }

    #[test]
    fn chains_ignore_paging_parameters_only() {
        let a = chain_key(
            Host::Site,
            "GET",
            "/rest/api/3/users/search",
            "startAt=0&maxResults=1000",
        );
        let b = chain_key(
            Host::Site,
            "GET",
            "/rest/api/3/users/search",
            "maxResults=1000&startAt=2000",
        );
        assert_eq!(a, b);
        assert!(a.is_some());
        assert_eq!(
            chain_key(Host::Site, "GET", "/rest/api/3/group/member", "groupId=x"),
            None
        );
        let x = chain_key(
            Host::Api,
            "GET",
            "/admin/v1/orgs/o/events-stream",
            "cursor=a&from=1",
        );
        let y = chain_key(
            Host::Api,
            "GET",
            "/admin/v1/orgs/o/events-stream",
            "from=1&cursor=b",
        );
        assert_eq!(x, y);
    }

    #[test]
    fn physical_limit_takes_the_larger_bound_plus_one_latency() {
        // 1000 served at 100/s: 10 s; a 20-page chain at 50 ms: 1 s.
        let (limit, rate) = physical_limit(1000, 20, Some(100.0), 0.05);
        assert!((rate - 10.0).abs() < 1e-9);
        assert!((limit - 10.05).abs() < 1e-9);
        // Unlimited: the chain decides.
        let (limit, rate) = physical_limit(1000, 20, None, 0.05);
        assert_eq!(rate, 0.0);
        assert!((limit - 1.05).abs() < 1e-9);
    }

    #[test]
    fn rates_print_whole_when_whole() {
        assert_eq!(number(100.0), "100");
        assert_eq!(number(0.5), "0.5");
    }

    #[test]
    fn whole_seconds_round_up_to_at_least_one() {
        assert_eq!(whole_secs(Duration::from_millis(10)), 1);
        assert_eq!(whole_secs(Duration::from_millis(1500)), 2);
        assert_eq!(whole_secs(Duration::from_secs(3)), 3);
    }
}
