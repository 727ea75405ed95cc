//! The client-side scheduler: when each request may go, so that a run stays close to the rate
//! Atlassian allows without earning a single 429 it could have avoided.
//!
//! Atlassian limits requests per endpoint and tenant (about 100 a second for Jira's burst limiter,
//! a budget shared with every other integration on the site), answers 429 beyond it, and treats a
//! request sent before a `Retry-After` has passed as a reason to wait longer (REFERENCE §1.10,
//! §5.8). Every request of a run asks one [`Limits`] first; the clients of a run share it.
//!
//! # Endpoints
//!
//! Limits are kept per host and endpoint template: the method and the path with its ids replaced
//! by `{}` ([`template`]), e.g. `GET /rest/api/3/project/{}/role/{}`. Each endpoint has:
//!
//! - a **rate** (requests a second): requests are spaced `1/rate` apart, with at most
//!   [`BURST`] worth of requests at once after a quiet spell;
//! - a **window**: requests in flight at once, at most `--max-concurrency`;
//! - a **pause**: no request goes before it ends.
//!
//! The run as a whole never has more than `--max-concurrency` requests in flight.
//!
//! # How the rate adapts
//!
//! - **Budget.** `X-RateLimit-Limit: L` is read as L requests a second (Atlassian's burst limits
//!   are per second). Once seen, the rate is set to `share × L` (`--rate-share`; at most
//!   [`MAX_JUMP`] at once, slow start goes on above) and never exceeds it. Without that header the budget is learned: it is the rate at which the server
//!   first signalled pressure (half the slow-start rate at that moment, see below), and with a
//!   share under 1 the rate stays under `share ×` that.
//! - **Slow start.** While the budget is unknown and no pressure was seen, the rate starts at
//!   [`INITIAL_RATE`] and grows by [`SLOW_START_GROWTH`] per second in which the pacing held
//!   requests back, so a 100/s budget is reached in about two seconds.
//! - **Additive increase.** Afterwards, while responses are fine and the pacing is what holds
//!   requests back, the rate grows per second by [`INCREASE`] of the rate at the last decrease,
//!   else of the budget (at least [`MIN_INCREASE`]/s), up to the cap.
//! - **Pressure.** `X-RateLimit-NearLimit: true`, or `X-RateLimit-Remaining` at 0 or under
//!   [`NEAR_LIMIT`] of the most it ever said (the bucket's size; `X-RateLimit-Limit` may count
//!   another window), stops the increase and multiplies the rate by [`NEAR_LIMIT_DECREASE`]; the
//!   first pressure in slow start halves it instead.
//! - **429.** A burst 429 (`RateLimit-Reason` containing `burst`, or no reason) multiplies the
//!   rate by [`THROTTLED_DECREASE`], halves the window and pauses **the endpoint** until
//!   `Retry-After` (seconds or an HTTP date), else `X-RateLimit-Reset` (`yyyy-MM-ddTHH:mmZ` or
//!   RFC 3339), has passed, counted from when the 429 arrived. A quota 429 (a reason containing
//!   `quota`) pauses **every endpoint of the host** until then, without touching the rates. Any
//!   other reason (`jira-cost-based`, …) counts as a burst, and so does a 503 with `Retry-After`.
//!   A 429 with neither header pauses nothing: the request backs off with the retry policy's
//!   jittered backoff, and the rate is cut. A 429 that arrives while the endpoint's last answer
//!   said its bucket held a token for every request still out (`X-RateLimit-Remaining`) is not
//!   this run's pace: the pause is honoured but the rate and window are kept.
//! - Decreases happen at most once per [`HOLD`] and never for a response to a request sent before
//!   the last decrease: one overload is answered once, not once per request in flight. A 429 is
//!   held back by an earlier 429 only: the gentler decrease before it was not enough.
//!
//! A decrease starts from at most twice the rate actually used in the last second, so a rate far
//! above the demand (or a budget header that overstates the limit) comes down at once.
//!
//! The window starts at [`INITIAL_WINDOW`] and, while it is what holds requests back, grows by one
//! per fine response until the first decrease, then by `1/window`.
//!
//! All time comes from the run's [`Clock`]; the state of an endpoint sits behind a
//! `std::sync::Mutex` that is never held across an await.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use reqwest::header::HeaderMap;
use reqwest::Url;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use super::retry::{self, Clock, Failure};

/// Requests a second to an endpoint before anything is known about its budget.
pub const INITIAL_RATE: f64 = 50.0;
/// Growth of the rate per second during slow start.
pub const SLOW_START_GROWTH: f64 = 1.5;
/// Additive increase per second, as a share of the budget.
pub const INCREASE: f64 = 0.05;
/// The smallest additive increase, in requests a second per second.
pub const MIN_INCREASE: f64 = 1.0;
/// Rate multiplier on `X-RateLimit-NearLimit` (or few remaining requests).
pub const NEAR_LIMIT_DECREASE: f64 = 0.85;
/// Rate multiplier on a burst 429.
pub const THROTTLED_DECREASE: f64 = 0.5;
/// Share of `X-RateLimit-Limit` under which `X-RateLimit-Remaining` counts as pressure; the
/// server's own `X-RateLimit-NearLimit` uses the same 20 %.
pub const NEAR_LIMIT: f64 = 0.2;
/// The slowest an endpoint is paced, in requests a second.
pub const MIN_RATE: f64 = 1.0;
/// The fastest a budget from `X-RateLimit-Limit` is used from the first answer on, in requests
/// a second; a larger one is approached by slow start.
pub const MAX_JUMP: f64 = 200.0;
/// The fastest, in requests a second (no budget is anywhere near it).
const MAX_RATE: f64 = 10_000.0;
/// Requests allowed back to back after a quiet spell, as a duration at the current rate.
pub const BURST: Duration = Duration::from_millis(100);
/// Time after a decrease during which no other decrease or increase happens.
pub const HOLD: Duration = Duration::from_secs(1);
/// Requests in flight to one endpoint at first.
pub const INITIAL_WINDOW: f64 = 8.0;

/// The scheduler of one run: endpoint limits, host pauses and the global cap. Cheap to clone;
/// clones share everything.
#[derive(Clone)]
pub struct Limits {
    shared: Arc<Shared>,
}

struct Shared {
    global: Arc<Semaphore>,
    max_concurrency: usize,
    share: f64,
    endpoints: Mutex<HashMap<String, Arc<Endpoint>>>,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits")
            .field("max_concurrency", &self.shared.max_concurrency)
            .field("share", &self.shared.share)
            .finish_non_exhaustive()
    }
}

/// Why a request was not let through.
#[derive(Debug)]
pub(crate) enum Refused {
    /// The endpoint or its host is paused for longer than the retry policy accepts to wait.
    Paused(Duration),
    /// The global cap was closed: the client is shutting down.
    Closed,
}

impl Limits {
    /// `max_concurrency` requests in flight at most across the run; each endpoint uses at most
    /// `share` (in (0, 1]) of its budget.
    pub fn new(max_concurrency: usize, share: f64) -> Self {
        let max_concurrency = max_concurrency.max(1);
        let share = if share.is_finite() && share > 0.0 {
            share.min(1.0)
        } else {
            1.0
        };
        Limits {
            shared: Arc::new(Shared {
                global: Arc::new(Semaphore::new(max_concurrency)),
                max_concurrency,
                share,
                endpoints: Mutex::default(),
                hosts: Mutex::default(),
            }),
        }
    }

    /// The current rate of the endpoint `method` + `url` falls under, in requests a second (for
    /// tests and diagnostics).
    pub fn rate(&self, method: &str, url: &Url) -> f64 {
        self.endpoint(method, url).lock().rate
    }

    /// Waits until a request to `url` may go: no pause on its endpoint or host, a free place in
    /// the endpoint's window and (when `global`) in the global cap, and its turn in the pacing.
    /// A pause longer than `max_wait` is refused rather than waited out.
    pub(crate) async fn acquire(
        &self,
        method: &str,
        url: &Url,
        clock: &dyn Clock,
        max_wait: Duration,
        global_cap: bool,
    ) -> Result<Permit, Refused> {
        let mut ticket = Ticket::new(self.endpoint(method, url));
        let mut global = None;
        loop {
            match ticket.step(clock.now()) {
                Step::Go if !global_cap => {
                    return Ok(Permit {
                        ticket,
                        _global: None,
                    })
                }
                Step::Go => match global {
                    Some(global) => {
                        return Ok(Permit {
                            ticket,
                            _global: Some(global),
                        })
                    }
                    // A pause may begin while this waits for the global cap: step again.
                    None => {
                        let permit = Arc::clone(&self.shared.global).acquire_owned().await;
                        global = Some(permit.map_err(|_| Refused::Closed)?);
                    }
                },
                Step::Paused(wait) if wait > max_wait => return Err(Refused::Paused(wait)),
                Step::Paused(wait) | Step::Paced(wait) => {
                    // Never hold the global cap while waiting.
                    global = None;
                    clock.sleep(wait).await;
                }
                Step::Full => {
                    global = None;
                    let endpoint = Arc::clone(&ticket.endpoint);
                    endpoint.freed.notified().await;
                }
            }
        }
    }

    fn endpoint(&self, method: &str, url: &Url) -> Arc<Endpoint> {
        let host = format!(
            "{}:{}",
            url.host_str().unwrap_or(""),
            url.port_or_known_default().unwrap_or(0)
        );
        let key = format!("{host} {}", template(method, url.path()));
        let mut endpoints = lock(&self.shared.endpoints);
        if let Some(endpoint) = endpoints.get(&key) {
            return Arc::clone(endpoint);
        }
        let host = Arc::clone(lock(&self.shared.hosts).entry(host).or_default());
        let endpoint = Arc::new(Endpoint {
            name: key.clone(),
            host,
            share: self.shared.share,
            state: Mutex::new(State::new(self.shared.max_concurrency as f64)),
            freed: Notify::new(),
        });
        endpoints.insert(key, Arc::clone(&endpoint));
        endpoint
    }
}

/// The template of a request: `METHOD /path` with every id segment replaced by `{}`. Kept:
/// literal words (`users`, `membersByGroupId`, `api-tokens`, `-`), API versions (`v1`, `1.0`,
/// the `3` of `/rest/api/3`). Replaced: numbers, UUIDs and cloud, workspace and org ids, account
/// ids (`5b10a2844c20165700ede21g`, `557058:…`, `qm:…`), keys in capitals (`PROJ`) and anything
/// else holding a digit, a colon, a `~` or an escape.
pub fn template(method: &str, path: &str) -> String {
    let mut out = String::with_capacity(method.len() + path.len() + 1);
    out.push_str(method);
    out.push(' ');
    let mut previous = "";
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        if is_id(segment, previous) {
            out.push_str("{}");
        } else {
            out.push_str(segment);
        }
        previous = segment;
    }
    out
}

fn is_id(segment: &str, previous: &str) -> bool {
    if segment.is_empty() || segment == "-" || is_version(segment, previous) {
        return false;
    }
    let word = segment
        .chars()
        .all(|c| c.is_ascii_alphabetic() || c == '-' || c == '_' || c == '.')
        && segment.chars().any(|c| c.is_ascii_lowercase());
    !word
}

/// `v1`, `v2.1`, `1.0`, or a bare number right after a segment named like `api`
/// (`/rest/api/3`, `/wiki/api/2`).
fn is_version(segment: &str, previous: &str) -> bool {
    let numbers = |s: &str| {
        !s.is_empty()
            && s.split('.')
                .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()))
    };
    if let Some(rest) = segment.strip_prefix('v') {
        return numbers(rest);
    }
    numbers(segment) && (segment.contains('.') || previous.ends_with("api"))
}

/// A host's pause: a quota 429 stops every endpoint on it.
#[derive(Default)]
struct Host {
    paused_until: Mutex<Option<Timestamp>>,
}

impl Host {
    fn pause(&self, until: Timestamp) {
        let mut paused = lock(&self.paused_until);
        *paused = Some(paused.map_or(until, |p| p.max(until)));
    }

    fn paused(&self, now: Timestamp) -> Option<Timestamp> {
        lock(&self.paused_until).filter(|until| *until > now)
    }
}

/// One endpoint template on one host.
pub(crate) struct Endpoint {
    name: String,
    host: Arc<Host>,
    share: f64,
    state: Mutex<State>,
    /// Signalled when a request leaves the window.
    freed: Notify,
}

impl Endpoint {
    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn release(&self) {
        let mut state = self.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        drop(state);
        self.freed.notify_one();
    }

    fn observe(&self, signal: &Signal, sent_at: Timestamp, now: Timestamp) {
        let mut state = self.lock();
        if let Some(limit) = signal.limit {
            state.learn_budget(limit, self.share);
        }
        // What the bucket held at the last answer that was not a refusal.
        let room_before = state.last_remaining.take();
        if !signal.throttled {
            state.last_remaining = signal.remaining;
        }
        if signal.throttled {
            if let Some(wait) = signal.wait {
                let until = after(now, wait);
                if signal.quota {
                    self.host.pause(until);
                } else {
                    state.pause(until);
                }
                tracing::debug!(
                    endpoint = %self.name,
                    wait_ms = wait.as_millis() as u64,
                    quota = signal.quota,
                    "paused by the server"
                );
            }
            // A 429 when the bucket last had a token for every request still out was not
            // brought on by this run's pace (a fault, or a limit other than this endpoint's):
            // the pause is honoured, the rate kept. Cutting it would only slow the run further.
            let ours = room_before.is_none_or(|room| room < state.in_flight as f64);
            if !signal.quota
                && ours
                && state.decrease(THROTTLED_DECREASE, true, self.share, sent_at, now)
            {
                state.window = (state.window * 0.5).max(1.0);
            }
        } else if signal.near_limit || state.few_remaining(signal) {
            state.decrease(NEAR_LIMIT_DECREASE, false, self.share, sent_at, now);
            state.last_adjust = Some(now);
        } else if signal.fine {
            state.increase(self.share, now);
        }
    }
}

/// What a response says about the endpoint's budget.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Signal {
    /// 429, or 503 with `Retry-After`.
    throttled: bool,
    /// A quota rather than a burst limit (`RateLimit-Reason` containing `quota`).
    quota: bool,
    /// How long the server asked to wait (`Retry-After`, else `X-RateLimit-Reset`).
    wait: Option<Duration>,
    /// `X-RateLimit-NearLimit: true`.
    near_limit: bool,
    /// `X-RateLimit-Remaining`.
    remaining: Option<f64>,
    /// `X-RateLimit-Limit`, read as requests a second.
    limit: Option<f64>,
    /// A response that says the rate is fine: neither a 429 nor a 5xx.
    fine: bool,
}

impl Signal {
    pub(crate) fn read(status: u16, headers: &HeaderMap, now: Timestamp) -> Signal {
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_string())
        };
        let number = |name: &str| {
            text(name)
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|n| n.is_finite() && *n >= 0.0)
        };
        let retry_after = text("retry-after");
        let throttled = status == 429 || (status == 503 && retry_after.is_some());
        let wait = if throttled {
            let failure = Failure {
                retryable: true,
                retry_after,
                rate_limit_reset: text("x-ratelimit-reset"),
            };
            retry::server_hint(&failure, now)
        } else {
            None
        };
        let reason = text("ratelimit-reason").unwrap_or_default();
        let limit = number("x-ratelimit-limit").filter(|l| *l > 0.0);
        let remaining = number("x-ratelimit-remaining");
        let near_limit =
            text("x-ratelimit-nearlimit").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        Signal {
            throttled,
            quota: reason.to_ascii_lowercase().contains("quota"),
            wait,
            near_limit,
            remaining,
            limit,
            fine: status < 500 && status != 429,
        }
    }
}

/// The adaptive state of one endpoint.
#[derive(Debug)]
struct State {
    /// Requests a second.
    rate: f64,
    /// No budget known and no pressure seen yet.
    slow_start: bool,
    /// `X-RateLimit-Limit`, requests a second.
    budget: Option<f64>,
    /// The budget as learned from the first pressure, when no header gives it.
    learned: Option<f64>,
    /// When the next paced request may go (GCRA's theoretical arrival time).
    next: Option<Timestamp>,
    /// The pacing held a request back since the last increase.
    paced: bool,
    window: f64,
    max_window: f64,
    in_flight: usize,
    /// `X-RateLimit-Remaining` of the last answer that was not a refusal.
    last_remaining: Option<f64>,
    /// The window held a request back since the last fine response.
    window_bound: bool,
    /// When the requests of the last second were sent, to tell the rate actually used.
    sent: VecDeque<Timestamp>,
    /// When the first request was sent.
    first_sent: Option<Timestamp>,
    /// The most `X-RateLimit-Remaining` ever said, plus the request that was answered.
    most_remaining: f64,
    /// The rate just before the last decrease.
    pressured_at: Option<f64>,
    paused_until: Option<Timestamp>,
    last_adjust: Option<Timestamp>,
    last_decrease: Option<Timestamp>,
    /// When the last decrease for a 429 happened.
    last_throttled: Option<Timestamp>,
}

impl State {
    fn new(max_window: f64) -> Self {
        State {
            rate: INITIAL_RATE,
            slow_start: true,
            budget: None,
            learned: None,
            next: None,
            paced: false,
            window: INITIAL_WINDOW.min(max_window),
            max_window,
            in_flight: 0,
            last_remaining: None,
            window_bound: false,
            sent: VecDeque::new(),
            first_sent: None,
            most_remaining: 0.0,
            pressured_at: None,
            paused_until: None,
            last_adjust: None,
            last_decrease: None,
            last_throttled: None,
        }
    }

    fn cap(&self, share: f64) -> f64 {
        match (self.budget, self.learned) {
            (Some(budget), _) => share * budget,
            (None, Some(learned)) if share < 1.0 => share * learned,
            _ => MAX_RATE,
        }
    }

    fn paused(&self, now: Timestamp) -> Option<Timestamp> {
        self.paused_until.filter(|until| *until > now)
    }

    fn pause(&mut self, until: Timestamp) {
        self.paused_until = Some(self.paused_until.map_or(until, |p| p.max(until)));
        self.next = Some(self.next.map_or(until, |n| n.max(until)));
    }

    /// The send time of one more request, spaced `1/rate` after the previous one.
    fn reserve(&mut self, now: Timestamp) -> Timestamp {
        let earliest = before(now, BURST);
        let next = self.next.map_or(earliest, |n| n.max(earliest));
        let at = next.max(now);
        self.next = Some(after(next, Duration::from_secs_f64(1.0 / self.rate)));
        if at > now {
            self.paced = true;
        }
        at
    }

    /// `X-RateLimit-Remaining` at 0, or under [`NEAR_LIMIT`] of the most ever seen (the
    /// bucket's size: `X-RateLimit-Limit` may count another window).
    fn few_remaining(&mut self, signal: &Signal) -> bool {
        let Some(remaining) = signal.remaining else {
            return false;
        };
        self.most_remaining = self.most_remaining.max(remaining + 1.0);
        remaining == 0.0 || remaining < NEAR_LIMIT * self.most_remaining
    }

    /// Notes a request sent at `now`.
    fn sending(&mut self, now: Timestamp) {
        self.first_sent.get_or_insert(now);
        let second_ago = before(now, Duration::from_secs(1));
        while self.sent.front().is_some_and(|at| *at <= second_ago) {
            self.sent.pop_front();
        }
        self.sent.push_back(now);
    }

    /// Requests a second sent over the last second (or since the first request, if later).
    fn used(&mut self, now: Timestamp) -> Option<f64> {
        let first = self.first_sent?;
        let second_ago = before(now, Duration::from_secs(1));
        while self.sent.front().is_some_and(|at| *at <= second_ago) {
            self.sent.pop_front();
        }
        let span = seconds(first, now).clamp(0.05, 1.0);
        Some(self.sent.len() as f64 / span)
    }

    fn learn_budget(&mut self, limit: f64, share: f64) {
        let first = self.budget.is_none();
        self.budget = Some(limit);
        let cap = self.cap(share);
        if first && self.slow_start {
            // The server said what it allows: go there at once, unless that is more than any
            // per-second budget Atlassian gives; slow start goes on from there.
            self.rate = self.rate.max(cap.min(MAX_JUMP));
            self.slow_start = self.rate < cap;
        }
        self.rate = self.rate.min(cap).max(MIN_RATE.min(cap));
    }

    fn increase(&mut self, share: f64, now: Timestamp) {
        if self.window_bound {
            let step = if self.last_decrease.is_none() {
                1.0
            } else {
                1.0 / self.window
            };
            self.window = (self.window + step).min(self.max_window);
            self.window_bound = false;
        }
        let elapsed = self
            .last_adjust
            .map_or(0.0, |last| seconds(last, now))
            .max(0.0);
        self.last_adjust = Some(now);
        let holding = self
            .last_decrease
            .is_some_and(|last| now < after(last, HOLD));
        if !self.paced || holding {
            return;
        }
        self.paced = false;
        if self.slow_start {
            self.rate *= SLOW_START_GROWTH.powf(elapsed);
        } else {
            let reference = self
                .pressured_at
                .or(self.budget)
                .or(self.learned)
                .unwrap_or(self.rate);
            self.rate += (INCREASE * reference).max(MIN_INCREASE) * elapsed;
        }
        self.rate = self.rate.min(self.cap(share));
    }

    /// Multiplies the rate by `factor` unless a decrease happened within [`HOLD`] or after the
    /// request was sent; a 429 (`throttled`) is held back by an earlier 429 only, as a gentler
    /// decrease did not prevent it. True when it did.
    fn decrease(
        &mut self,
        factor: f64,
        throttled: bool,
        share: f64,
        sent_at: Timestamp,
        now: Timestamp,
    ) -> bool {
        let last = if throttled {
            self.last_throttled
        } else {
            self.last_decrease
        };
        if let Some(last) = last {
            if sent_at < last || now < after(last, HOLD) {
                return false;
            }
        }
        if throttled {
            self.last_throttled = Some(now);
        }
        if self.slow_start {
            self.pressured_at = Some(self.rate * 0.5);
            // The rate grew exponentially until now: half of it is what last went through.
            self.slow_start = false;
            self.rate *= 0.5;
            if self.budget.is_none() {
                self.learned = Some(self.rate);
            }
        } else {
            // A rate far above what was sent (little demand so far, or a budget header that
            // overstates the limit) says nothing: decrease from what actually went out.
            if let Some(used) = self.used(now) {
                self.rate = self.rate.min(2.0 * used);
            }
            self.pressured_at = Some(self.rate);
            if self.budget.is_none() && self.learned.is_none() {
                self.learned = Some(self.rate);
            }
            self.rate *= factor;
        }
        self.rate = self.rate.min(self.cap(share)).max(MIN_RATE);
        self.last_decrease = Some(now);
        self.last_adjust = Some(now);
        true
    }
}

/// What one `step` of a waiting request says.
#[derive(Debug, PartialEq)]
pub(crate) enum Step {
    /// Send now.
    Go,
    /// The endpoint or its host is paused for this long.
    Paused(Duration),
    /// This request's paced turn comes in this long.
    Paced(Duration),
    /// The window is full: wait for a request to finish.
    Full,
}

/// A request's place at an endpoint: the window slot it holds (given back when dropped) and its
/// paced send time.
pub(crate) struct Ticket {
    endpoint: Arc<Endpoint>,
    send_at: Option<Timestamp>,
    sent_at: Option<Timestamp>,
}

impl Ticket {
    fn new(endpoint: Arc<Endpoint>) -> Self {
        Ticket {
            endpoint,
            send_at: None,
            sent_at: None,
        }
    }

    /// Where the request stands at `now`. Takes a window slot and a paced send time on the
    /// first call that finds the endpoint unpaused with room.
    fn step(&mut self, now: Timestamp) -> Step {
        let host_pause = self.endpoint.host.paused(now);
        let mut state = self.endpoint.lock();
        let pause = match (host_pause, state.paused(now)) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        if let Some(until) = pause {
            return Step::Paused(between(now, until));
        }
        let send_at = match self.send_at {
            Some(at) => at,
            None => {
                if state.in_flight as f64 >= state.window.floor().max(1.0) {
                    state.window_bound = true;
                    return Step::Full;
                }
                state.in_flight += 1;
                let at = state.reserve(now);
                self.send_at = Some(at);
                at
            }
        };
        if send_at > now {
            return Step::Paced(between(now, send_at));
        }
        if self.sent_at.is_none() {
            state.sending(now);
        }
        self.sent_at = Some(now);
        Step::Go
    }

    fn observe(&self, signal: &Signal, now: Timestamp) {
        let sent_at = self.sent_at.unwrap_or(now);
        self.endpoint.observe(signal, sent_at, now);
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.send_at.is_some() {
            self.endpoint.release();
        }
    }
}

/// Leave to send one request: its endpoint slot and a place under the global cap, both given
/// back when dropped.
pub(crate) struct Permit {
    ticket: Ticket,
    _global: Option<OwnedSemaphorePermit>,
}

impl Permit {
    /// Tells the endpoint what the response said (status and headers).
    pub(crate) fn observe(&self, status: u16, headers: &HeaderMap, now: Timestamp) {
        self.ticket
            .observe(&Signal::read(status, headers, now), now);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn after(at: Timestamp, wait: Duration) -> Timestamp {
    SignedDuration::try_from(wait)
        .ok()
        .and_then(|wait| at.checked_add(wait).ok())
        .unwrap_or(Timestamp::MAX)
}

fn before(at: Timestamp, wait: Duration) -> Timestamp {
    SignedDuration::try_from(wait)
        .ok()
        .and_then(|wait| at.checked_sub(wait).ok())
        .unwrap_or(Timestamp::MIN)
}

fn between(from: Timestamp, to: Timestamp) -> Duration {
    Duration::try_from(to.duration_since(from)).unwrap_or(Duration::ZERO)
}

fn seconds(from: Timestamp, to: Timestamp) -> f64 {
    to.duration_since(from).as_secs_f64()
}

#[cfg(test)]
mod tests {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    use reqwest::header::HeaderValue;

    use super::*;
    use crate::http::retry::ManualClock;

    fn start() -> Timestamp {
        "2026-03-26T15:59:00Z".parse().unwrap()
    }

    fn at(offset: f64) -> Timestamp {
        after(start(), Duration::from_secs_f64(offset))
    }

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    /// Sends one request to `url` at `now` and answers it with `status` and `pairs`.
    fn exchange(
        limits: &Limits,
        url: &Url,
        now: Timestamp,
        status: u16,
        pairs: &[(&'static str, String)],
    ) {
        let mut ticket = Ticket::new(limits.endpoint("GET", url));
        assert_eq!(ticket.step(now), Step::Go);
        ticket.observe(&Signal::read(status, &headers(pairs), now), now);
    }

    fn step(limits: &Limits, url: &Url, now: Timestamp) -> Step {
        Ticket::new(limits.endpoint("GET", url)).step(now)
    }

    #[test]
    fn templates_keep_words_and_versions_and_hide_ids() {
        let cases = [
            ("/rest/api/3/users/search", "GET /rest/api/3/users/search"),
            (
                "/rest/api/3/project/10001/role/10002",
                "GET /rest/api/3/project/{}/role/{}",
            ),
            (
                "/rest/api/3/project/PROJ/permissionscheme",
                "GET /rest/api/3/project/{}/permissionscheme",
            ),
            (
                "/rest/api/3/project/10001/roledetails",
                "GET /rest/api/3/project/{}/roledetails",
            ),
            (
                "/ex/jira/1324a887-45db-1bf4-1e99-ef0ff456d421/rest/api/3/group/member",
                "GET /ex/jira/{}/rest/api/3/group/member",
            ),
            (
                "/ex/confluence/1324a887-45db-1bf4-1e99-ef0ff456d421/wiki/api/v2/spaces/98306/permissions",
                "GET /ex/confluence/{}/wiki/api/v2/spaces/{}/permissions",
            ),
            (
                "/wiki/rest/api/group/276f955c-63d7-42c8-9520-92d01dca0625/membersByGroupId",
                "GET /wiki/rest/api/group/{}/membersByGroupId",
            ),
            ("/rest/plugins/1.0/settings", "GET /rest/plugins/1.0/settings"),
            (
                "/rest/jira-email-processor-plugin/1.0/mail/global/settings",
                "GET /rest/jira-email-processor-plugin/1.0/mail/global/settings",
            ),
            (
                "/rest/servicedeskapi/servicedesk/4/customer",
                "GET /rest/servicedeskapi/servicedesk/{}/customer",
            ),
            (
                "/rest/servicedeskapi/organization/12/user",
                "GET /rest/servicedeskapi/organization/{}/user",
            ),
            (
                "/jsm/assets/workspace/g2778e1d-939d-581d-c8e2-9d5g59de456b/v1/objecttype/23/attributes",
                "GET /jsm/assets/workspace/{}/v1/objecttype/{}/attributes",
            ),
            (
                "/jsm/assets/workspace/g2778e1d-939d-581d-c8e2-9d5g59de456b/v1/objectschema/3/objecttypes/flat",
                "GET /jsm/assets/workspace/{}/v1/objectschema/{}/objecttypes/flat",
            ),
            (
                "/admin/v1/orgs/6f1d2b3a-4c5e-4f60-8a7b-9c0d1e2f3a4b/directory/users/5b10a2844c20165700ede21g/last-active-dates",
                "GET /admin/v1/orgs/{}/directory/users/{}/last-active-dates",
            ),
            (
                "/admin/v2/orgs/6f1d2b3a-4c5e-4f60-8a7b-9c0d1e2f3a4b/directories/-/users/search",
                "GET /admin/v2/orgs/{}/directories/-/users/search",
            ),
            (
                "/admin/api-access/v1/orgs/6f1d2b3a-4c5e-4f60-8a7b-9c0d1e2f3a4b/service-accounts/557058:f58131cb-b67d-43c7-b30d-6b58d40bd077/api-tokens",
                "GET /admin/api-access/v1/orgs/{}/service-accounts/{}/api-tokens",
            ),
            (
                "/admin/v1/orgs/6f1d2b3a-4c5e-4f60-8a7b-9c0d1e2f3a4b/events-stream",
                "GET /admin/v1/orgs/{}/events-stream",
            ),
            (
                "/rest/api/3/user/qm:1a2b3c4d-0000-4000-8000-000000000001:5e6f",
                "GET /rest/api/3/user/{}",
            ),
            ("/wiki/rest/api/space/~5b10a2844c/content", "GET /wiki/rest/api/space/{}/content"),
            ("/_edge/tenant_info", "GET /_edge/tenant_info"),
            ("/", "GET /"),
        ];
        for (path, expected) in cases {
            assert_eq!(template("GET", path), expected, "{path}");
        }
        assert_eq!(
            template("POST", "/jsm/assets/workspace/abc-123/v1/object/aql"),
            "POST /jsm/assets/workspace/{}/v1/object/aql"
        );
    }

    #[test]
    fn signals_read_atlassian_headers() {
        let now = start();
        let burst = Signal::read(
            429,
            &headers(&[
                ("retry-after", "2".into()),
                ("x-ratelimit-reset", "2026-03-26T16:00Z".into()),
                ("ratelimit-reason", "jira-burst-based".into()),
            ]),
            now,
        );
        assert!(burst.throttled && !burst.quota);
        assert_eq!(burst.wait, Some(Duration::from_secs(2)));
        let quota = Signal::read(
            429,
            &headers(&[
                ("x-ratelimit-reset", "2026-03-26T16:00Z".into()),
                ("ratelimit-reason", "jira-quota-tenant-based".into()),
            ]),
            now,
        );
        assert!(quota.throttled && quota.quota);
        assert_eq!(quota.wait, Some(Duration::from_secs(60)));
        let near = Signal::read(
            200,
            &headers(&[
                ("x-ratelimit-limit", "100".into()),
                ("x-ratelimit-remaining", "19".into()),
            ]),
            now,
        );
        assert!(!near.near_limit && near.fine && !near.throttled);
        assert_eq!((near.limit, near.remaining), (Some(100.0), Some(19.0)));
        let flagged = Signal::read(
            200,
            &headers(&[("x-ratelimit-nearlimit", "true".into())]),
            now,
        );
        assert!(flagged.near_limit);
        let plenty = Signal::read(
            200,
            &headers(&[
                ("x-ratelimit-limit", "100".into()),
                ("x-ratelimit-remaining", "20".into()),
            ]),
            now,
        );
        assert_eq!(plenty.remaining, Some(20.0));
        let unavailable = Signal::read(503, &headers(&[("retry-after", "4".into())]), now);
        assert!(unavailable.throttled);
        assert_eq!(unavailable.wait, Some(Duration::from_secs(4)));
        let outage = Signal::read(503, &HeaderMap::new(), now);
        assert!(!outage.throttled && !outage.fine);
    }

    #[test]
    fn few_remaining_is_measured_against_the_bucket_seen() {
        let remaining = |n: f64| Signal {
            remaining: Some(n),
            limit: Some(1000.0),
            ..Signal::default()
        };
        let mut state = State::new(64.0);
        assert!(!state.few_remaining(&Signal::default()));
        // The first answer shows the bucket nearly full: 99 + this request.
        assert!(!state.few_remaining(&remaining(99.0)));
        assert!(!state.few_remaining(&remaining(20.0)));
        assert!(state.few_remaining(&remaining(19.0)));
        let mut state = State::new(64.0);
        assert!(state.few_remaining(&remaining(0.0)));
    }

    #[test]
    fn retry_after_pauses_the_endpoint_exactly() {
        let limits = Limits::new(64, 1.0);
        let roles = url("https://acme.atlassian.net/rest/api/3/project/1/role/2");
        let same_template = url("https://acme.atlassian.net/rest/api/3/project/7/role/9");
        let other = url("https://acme.atlassian.net/rest/api/3/users/search");
        let now = start();
        let pairs = [
            ("retry-after", "7".to_string()),
            ("ratelimit-reason", "jira-burst-based".to_string()),
        ];
        exchange(&limits, &roles, now, 429, &pairs);
        assert_eq!(
            step(&limits, &same_template, now),
            Step::Paused(Duration::from_secs(7))
        );
        let almost = before(after(now, Duration::from_secs(7)), Duration::from_nanos(1));
        assert_eq!(
            step(&limits, &same_template, almost),
            Step::Paused(Duration::from_nanos(1))
        );
        assert_eq!(step(&limits, &roles, at(7.0)), Step::Go);
        // A burst limit is the endpoint's own: the others go on.
        assert_eq!(step(&limits, &other, now), Step::Go);
    }

    #[test]
    fn rate_limit_reset_pauses_until_that_time() {
        let limits = Limits::new(64, 1.0);
        let jira = url("https://acme.atlassian.net/rest/api/3/group/member");
        let now = at(0.5);
        // Jira's form, minutes only: 16:00 is 59.5 s after `now`.
        exchange(
            &limits,
            &jira,
            now,
            429,
            &[("x-ratelimit-reset", "2026-03-26T16:00Z".to_string())],
        );
        assert_eq!(
            step(&limits, &jira, now),
            Step::Paused(Duration::from_millis(59_500))
        );
        assert_eq!(step(&limits, &jira, at(60.0)), Step::Go);
        // The Admin API's full RFC 3339 form.
        let admin = url(
            "https://api.atlassian.com/admin/v1/orgs/6f1d2b3a-4c5e-4f60-8a7b-9c0d1e2f3a4b/users",
        );
        exchange(
            &limits,
            &admin,
            now,
            429,
            &[
                ("x-ratelimit-limit", "10".to_string()),
                ("x-ratelimit-remaining", "0".to_string()),
                ("x-ratelimit-reset", "2026-03-26T15:59:10.25Z".to_string()),
            ],
        );
        assert_eq!(
            step(&limits, &admin, now),
            Step::Paused(Duration::from_millis(9_750))
        );
    }

    #[test]
    fn a_429_without_hints_pauses_nothing_but_slows_the_endpoint() {
        let limits = Limits::new(64, 1.0);
        let assets = url("https://api.atlassian.com/jsm/assets/workspace/abc-1/v1/object/aql");
        let before_rate = limits.rate("GET", &assets);
        exchange(&limits, &assets, start(), 429, &[]);
        assert_eq!(step(&limits, &assets, start()), Step::Go);
        let after_rate = limits.rate("GET", &assets);
        assert!(after_rate < before_rate, "{before_rate} -> {after_rate}");
        // The request itself backs off with the retry policy (jittered, never zero).
        let failure = Failure {
            retryable: true,
            ..Failure::default()
        };
        let wait = retry::RetryPolicy::default()
            .delay(&failure, 0, start())
            .unwrap();
        assert!(!wait.is_zero());
    }

    #[test]
    fn a_quota_pauses_the_whole_host_but_not_other_hosts() {
        let limits = Limits::new(64, 1.0);
        let users = url("https://acme.atlassian.net/rest/api/3/users/search");
        let groups = url("https://acme.atlassian.net/rest/api/3/group/bulk");
        let admin = url("https://api.atlassian.com/admin/v1/orgs");
        let other_site = url("https://other.atlassian.net/rest/api/3/users/search");
        let rate = limits.rate("GET", &users);
        exchange(
            &limits,
            &users,
            start(),
            429,
            &[
                ("retry-after", "30".to_string()),
                ("ratelimit-reason", "jira-quota-tenant-based".to_string()),
            ],
        );
        let paused = Step::Paused(Duration::from_secs(30));
        assert_eq!(step(&limits, &users, start()), paused);
        assert_eq!(step(&limits, &groups, at(0.0)), paused);
        assert_eq!(step(&limits, &admin, start()), Step::Go);
        assert_eq!(step(&limits, &other_site, start()), Step::Go);
        assert_eq!(step(&limits, &groups, at(30.0)), Step::Go);
        // A quota is no sign the endpoint goes too fast.
        assert_eq!(limits.rate("GET", &users), rate);
    }

    #[tokio::test]
    async fn acquire_waits_out_a_pause_through_the_clock() {
        let clock = ManualClock::new(start());
        let limits = Limits::new(4, 1.0);
        let jira = url("https://acme.atlassian.net/rest/api/3/group/member");
        exchange(
            &limits,
            &jira,
            start(),
            429,
            &[("retry-after", "3".to_string())],
        );
        let permit = limits
            .acquire("GET", &jira, &clock, Duration::from_secs(300), true)
            .await
            .unwrap();
        assert_eq!(clock.sleeps(), vec![Duration::from_secs(3)]);
        assert_eq!(clock.now(), at(3.0));
        drop(permit);
        // A pause beyond the longest accepted wait is refused, not waited out.
        exchange(
            &limits,
            &jira,
            at(10.0),
            429,
            &[("retry-after", "3600".to_string())],
        );
        let refused = limits
            .acquire("GET", &jira, &clock, Duration::from_secs(300), true)
            .await;
        // The clock is at 3 s, the pause runs from 10 s.
        assert!(matches!(refused, Err(Refused::Paused(wait)) if wait == Duration::from_secs(3607)));
    }

    #[tokio::test]
    async fn the_global_cap_and_the_window_bound_requests_in_flight() {
        let clock = ManualClock::new(start());
        let limits = Limits::new(2, 1.0);
        let a = url("https://acme.atlassian.net/rest/api/3/users/search");
        let b = url("https://acme.atlassian.net/rest/api/3/group/bulk");
        let wait = Duration::from_secs(300);
        let first = limits.acquire("GET", &a, &clock, wait, true).await.unwrap();
        let second = limits.acquire("GET", &b, &clock, wait, true).await.unwrap();
        let third = limits.acquire("GET", &a, &clock, wait, true);
        tokio::pin!(third);
        assert!(
            futures_poll(third.as_mut()).is_none(),
            "over the global cap"
        );
        drop(second);
        assert!(futures_poll(third.as_mut()).is_some());
        drop(first);
    }

    #[tokio::test]
    async fn a_full_window_holds_requests_until_one_finishes() {
        let clock = ManualClock::new(start());
        let limits = Limits::new(64, 1.0);
        let users = url("https://acme.atlassian.net/rest/api/3/users/search");
        let wait = Duration::from_secs(300);
        let mut held = Vec::new();
        for _ in 0..INITIAL_WINDOW as usize {
            held.push(
                limits
                    .acquire("GET", &users, &clock, wait, true)
                    .await
                    .unwrap(),
            );
        }
        let next = limits.acquire("GET", &users, &clock, wait, true);
        tokio::pin!(next);
        assert!(futures_poll(next.as_mut()).is_none(), "over the window");
        held.pop();
        assert!(futures_poll(next.as_mut()).is_some());
        // The pacing spaced the nine at the starting rate, after a burst of 0.1 s worth.
        let paced: Duration = clock.sleeps().iter().sum();
        let expected = (INITIAL_WINDOW - BURST.as_secs_f64() * INITIAL_RATE) / INITIAL_RATE;
        assert!(
            (paced.as_secs_f64() - expected).abs() < 0.01,
            "{paced:?} vs {expected}"
        );
    }

    /// Polls a future once.
    fn futures_poll<F: std::future::Future>(future: std::pin::Pin<&mut F>) -> Option<F::Output> {
        let waker = std::task::Waker::noop();
        let mut context = std::task::Context::from_waker(waker);
        match future.poll(&mut context) {
            std::task::Poll::Ready(output) => Some(output),
            std::task::Poll::Pending => None,
        }
    }

    /// A server's per-endpoint token bucket, as Atlassian's burst limiter behaves.
    struct Bucket {
        rate: f64,
        capacity: f64,
        tokens: f64,
        at: f64,
        /// Send `X-RateLimit-Limit: <limit>` and `X-RateLimit-Remaining` too.
        counts: bool,
        limit: f64,
        /// Requests a second other integrations take from the same bucket.
        others: f64,
        /// Until when the last `Retry-After` it gave runs.
        retry_after_until: f64,
        served: u32,
        throttled: u32,
        early: u32,
        /// Every Nth request is refused with a 429 whatever the bucket holds (0: never).
        fault_every: u32,
        requests: u32,
    }

    impl Bucket {
        fn new(counts: bool) -> Self {
            Bucket {
                rate: 100.0,
                capacity: 100.0,
                tokens: 100.0,
                at: 0.0,
                counts,
                limit: 100.0,
                others: 0.0,
                retry_after_until: 0.0,
                served: 0,
                throttled: 0,
                early: 0,
                fault_every: 0,
                requests: 0,
            }
        }

        fn serve(&mut self, t: f64) -> (u16, HeaderMap) {
            let refill = (t - self.at) * (self.rate - self.others);
            self.tokens = (self.tokens + refill).clamp(0.0, self.capacity);
            self.at = t;
            if t < self.retry_after_until {
                self.early += 1;
            }
            let mut pairs = Vec::new();
            if self.counts {
                pairs.push(("x-ratelimit-limit", format!("{}", self.limit)));
            }
            self.requests += 1;
            let fault = self.fault_every > 0 && self.requests.is_multiple_of(self.fault_every);
            if self.tokens < 1.0 || fault {
                self.throttled += 1;
                self.retry_after_until = t + 1.0;
                pairs.push(("retry-after", "1".to_string()));
                pairs.push(("ratelimit-reason", "jira-burst-based".to_string()));
                if self.counts {
                    pairs.push(("x-ratelimit-remaining", "0".to_string()));
                }
                return (429, headers(&pairs));
            }
            self.tokens -= 1.0;
            self.served += 1;
            if self.counts {
                pairs.push(("x-ratelimit-remaining", format!("{}", self.tokens.floor())));
            }
            if self.tokens < NEAR_LIMIT * self.capacity {
                pairs.push(("x-ratelimit-nearlimit", "true".to_string()));
            }
            (200, headers(&pairs))
        }
    }

    enum Event {
        Wake,
        Answer(u16, HeaderMap),
    }

    /// Events in time order (ties in the order they were scheduled).
    #[derive(Default)]
    struct Agenda {
        queue: BinaryHeap<Reverse<(i64, usize)>>,
        events: Vec<Option<(usize, Event)>>,
    }

    impl Agenda {
        fn push(&mut self, t: f64, worker: usize, event: Event) {
            self.events.push(Some((worker, event)));
            let time = (t * 1e9).round() as i64;
            self.queue.push(Reverse((time, self.events.len() - 1)));
        }

        fn pop(&mut self) -> Option<(f64, usize, Event)> {
            let Reverse((time, index)) = self.queue.pop()?;
            let (worker, event) = self.events[index].take()?;
            Some((time as f64 / 1e9, worker, event))
        }
    }

    /// `workers` tasks send requests to one endpoint as fast as the scheduler lets them for
    /// `seconds` of simulated time, 50 ms from request to response (the server sees the request
    /// half way). A 429 is retried after its `Retry-After`, as the retry loop does. Returns the
    /// requests sent while the client had the endpoint paused.
    fn simulate(limits: &Limits, bucket: &mut Bucket, workers: usize, seconds: f64) -> u32 {
        simulate_with(limits, bucket, workers, seconds, 0.05)
    }

    fn simulate_with(
        limits: &Limits,
        bucket: &mut Bucket,
        workers: usize,
        seconds: f64,
        latency: f64,
    ) -> u32 {
        let target = url("https://acme.atlassian.net/rest/api/3/user/groups");
        let endpoint = limits.endpoint("GET", &target);
        let mut agenda = Agenda::default();
        let mut tickets: Vec<Option<Ticket>> = (0..workers).map(|_| None).collect();
        let mut waiting = VecDeque::new();
        for worker in 0..workers {
            agenda.push(0.0, worker, Event::Wake);
        }
        // Pauses the client was told of, to check that no request went inside one.
        let mut pauses: Vec<(f64, f64)> = Vec::new();
        let mut sent_while_paused = 0;
        while let Some((t, worker, event)) = agenda.pop() {
            if t >= seconds {
                break;
            }
            let now = at(t);
            match event {
                Event::Wake => {
                    let ticket =
                        tickets[worker].get_or_insert_with(|| Ticket::new(Arc::clone(&endpoint)));
                    match ticket.step(now) {
                        Step::Go => {
                            // Agenda times are whole nanoseconds; `to` is a float sum.
                            if pauses.iter().any(|(from, to)| *from <= t && t < *to - 1e-9) {
                                sent_while_paused += 1;
                            }
                            let (status, headers) = bucket.serve(t + latency / 2.0);
                            agenda.push(t + latency, worker, Event::Answer(status, headers));
                        }
                        Step::Paused(wait) | Step::Paced(wait) => {
                            agenda.push(t + wait.as_secs_f64(), worker, Event::Wake);
                        }
                        Step::Full => waiting.push_back(worker),
                    }
                }
                Event::Answer(status, headers) => {
                    let signal = Signal::read(status, &headers, now);
                    if let Some(ticket) = tickets[worker].take() {
                        ticket.observe(&signal, now);
                    }
                    if let Some(next) = waiting.pop_front() {
                        agenda.push(t, next, Event::Wake);
                    }
                    let wait = signal.wait.map_or(0.0, |w| w.as_secs_f64());
                    if signal.throttled {
                        pauses.push((t, t + wait));
                    }
                    agenda.push(t + wait, worker, Event::Wake);
                }
            }
        }
        sent_while_paused
    }

    fn report(name: &str, bucket: &Bucket, seconds: f64) -> f64 {
        let achieved = f64::from(bucket.served) / seconds;
        println!(
            "{name}: {achieved:.1}/s served, {} throttled, {} early",
            bucket.throttled, bucket.early
        );
        achieved
    }

    #[test]
    fn a_burst_limited_endpoint_runs_near_its_budget_and_never_inside_a_pause() {
        // The server says only NearLimit and, when empty, 429 + Retry-After: 1.
        let limits = Limits::new(64, 1.0);
        let mut bucket = Bucket::new(false);
        let sent_while_paused = simulate(&limits, &mut bucket, 32, 60.0);
        let achieved = report("nearlimit only", &bucket, 60.0);
        assert!(achieved >= 90.0, "{achieved}/s");
        assert_eq!(sent_while_paused, 0);
    }

    #[test]
    fn a_429_while_the_bucket_had_room_pauses_but_keeps_the_rate() {
        // One request in 40 refused out of the blue: each pauses the endpoint for its second,
        // so at most 40 requests go through per 1.4 s (about 28/s) however the client paces.
        let limits = Limits::new(64, 1.0);
        let mut bucket = Bucket::new(true);
        bucket.fault_every = 40;
        let sent_while_paused = simulate(&limits, &mut bucket, 32, 60.0);
        let achieved = report("a fault in 40", &bucket, 60.0);
        assert_eq!(sent_while_paused, 0);
        assert!(achieved >= 24.0, "{achieved}/s: the faults cut the rate");
    }

    #[test]
    fn with_rate_limit_counts_the_budget_is_used_without_a_429() {
        let limits = Limits::new(64, 1.0);
        let mut bucket = Bucket::new(true);
        let sent_while_paused = simulate(&limits, &mut bucket, 32, 60.0);
        let achieved = report("limit and remaining", &bucket, 60.0);
        assert!(achieved >= 95.0, "{achieved}/s");
        assert_eq!(bucket.throttled, 0);
        assert_eq!(bucket.early, 0);
        assert_eq!(sent_while_paused, 0);
    }

    #[test]
    fn a_rate_share_of_one_half_settles_near_half_the_budget() {
        let limits = Limits::new(64, 0.5);
        let mut bucket = Bucket::new(true);
        simulate(&limits, &mut bucket, 32, 60.0);
        let achieved = report("share 0.5, limit header", &bucket, 60.0);
        assert!((47.0..=53.0).contains(&achieved), "{achieved}/s");
        assert_eq!(bucket.throttled, 0);

        // Without X-RateLimit-Limit the budget is learned from the first pressure.
        let limits = Limits::new(64, 0.5);
        let mut bucket = Bucket::new(false);
        simulate(&limits, &mut bucket, 32, 60.0);
        let achieved = report("share 0.5, learned", &bucket, 60.0);
        assert!((40.0..=65.0).contains(&achieved), "{achieved}/s");
    }

    #[test]
    fn the_budget_adapts_to_slow_answers_others_and_overstated_limits() {
        // 300 ms answers: the window grows to the ~30 requests in flight the budget needs.
        let limits = Limits::new(64, 1.0);
        let mut bucket = Bucket::new(true);
        simulate_with(&limits, &mut bucket, 64, 60.0, 0.3);
        let achieved = report("300 ms latency", &bucket, 60.0);
        assert!(achieved >= 95.0, "{achieved}/s");
        assert_eq!(bucket.throttled, 0);

        // Another integration takes 30/s of the same budget: the rest is used.
        let limits = Limits::new(64, 1.0);
        let mut bucket = Bucket::new(true);
        bucket.others = 30.0;
        simulate(&limits, &mut bucket, 32, 60.0);
        let achieved = report("others take 30/s", &bucket, 60.0);
        assert!(achieved >= 0.9 * 70.0, "{achieved}/s");
        assert!(bucket.throttled <= 5, "{} 429s", bucket.throttled);

        // A limit header ten times the real budget costs little.
        let limits = Limits::new(64, 1.0);
        let mut bucket = Bucket::new(true);
        bucket.limit = 1000.0;
        simulate(&limits, &mut bucket, 32, 60.0);
        let achieved = report("overstated limit", &bucket, 60.0);
        assert!(achieved >= 90.0, "{achieved}/s");
        assert!(bucket.throttled <= 5, "{} 429s", bucket.throttled);
    }
}
