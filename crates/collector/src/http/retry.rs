//! Retry classification and delays, and the clock that makes them testable.
//!
//! Atlassian answers 429 (and some 503s) with `Retry-After` in seconds and `X-RateLimit-Reset`
//! as an ISO-8601 timestamp such as `2026-03-26T16:00Z` (REFERENCE §1.10, §5.8); retrying early
//! only earns a longer wait. So a server hint is honoured exactly, never shortened and never
//! jittered; only when there is no hint do we fall back to exponential backoff with jitter.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;

/// Where the retry loop gets the time and how it waits, so tests never sleep for real.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// The wall clock and tokio's timer.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A clock for tests and simulations: `sleep` returns at once, records the duration and moves
/// the clock forward by it.
#[derive(Debug)]
pub struct ManualClock {
    state: Mutex<(Timestamp, Vec<Duration>)>,
}

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        ManualClock {
            state: Mutex::new((start, Vec::new())),
        }
    }

    /// Every sleep requested so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.lock().1.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Timestamp, Vec<Duration>)> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        self.lock().0
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let mut state = self.lock();
        let advanced = state
            .0
            .checked_add(
                jiff::SignedDuration::try_from(duration).unwrap_or(jiff::SignedDuration::MAX),
            )
            .unwrap_or(state.0);
        state.0 = advanced;
        state.1.push(duration);
        Box::pin(std::future::ready(()))
    }
}

/// What a failed attempt tells the retry loop.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Failure {
    /// 429, 5xx and transport errors are worth another try; everything else is final.
    pub retryable: bool,
    /// The raw `Retry-After` header.
    pub retry_after: Option<String>,
    /// The raw `X-RateLimit-Reset` header.
    pub rate_limit_reset: Option<String>,
}

impl Failure {
    pub fn is_retryable_status(status: u16) -> bool {
        matches!(status, 429 | 500 | 502 | 503 | 504)
    }
}

/// How many times and how long to retry.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff step when the server gives no hint; doubles each retry.
    pub base: Duration,
    /// Largest computed backoff step.
    pub cap: Duration,
    /// The longest server-requested wait we accept; beyond it the request fails rather than
    /// retrying early.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
            max_wait: Duration::from_secs(300),
        }
    }
}

/// Why a failure is not retried.
#[derive(Clone, Debug, PartialEq)]
pub enum GiveUp {
    NotRetryable,
    Exhausted { attempts: u32 },
    WaitTooLong { wait: Duration, limit: Duration },
}

impl std::fmt::Display for GiveUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GiveUp::NotRetryable => write!(f, "not retryable"),
            GiveUp::Exhausted { attempts } => write!(f, "gave up after {attempts} attempts"),
            GiveUp::WaitTooLong { wait, limit } => write!(
                f,
                "the server asked to wait {}s, longer than the {}s limit",
                wait.as_secs(),
                limit.as_secs()
            ),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0 for the first retry) of a failed attempt.
    pub fn delay(&self, failure: &Failure, retry: u32, now: Timestamp) -> Result<Duration, GiveUp> {
        if !failure.retryable {
            return Err(GiveUp::NotRetryable);
        }
        if retry >= self.max_retries {
            return Err(GiveUp::Exhausted {
                attempts: retry + 1,
            });
        }
        match server_hint(failure, now) {
            Some(wait) if wait > self.max_wait => Err(GiveUp::WaitTooLong {
                wait,
                limit: self.max_wait,
            }),
            Some(wait) => Ok(wait),
            None => Ok(self.backoff(retry)),
        }
    }

    /// Exponential backoff with jitter: a random point in the upper half of the step, so
    /// concurrent workers spread out but none retries almost at once.
    fn backoff(&self, retry: u32) -> Duration {
        let step = self
            .base
            .saturating_mul(2u32.saturating_pow(retry))
            .min(self.cap);
        let half = step / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

/// The wait the server asked for: `Retry-After` (seconds or an HTTP date), else
/// `X-RateLimit-Reset` (ISO 8601). A reset in the past means "now". The scheduler
/// ([`super::limit`]) pauses an endpoint for the same wait.
pub(crate) fn server_hint(failure: &Failure, now: Timestamp) -> Option<Duration> {
    if let Some(value) = failure.retry_after.as_deref().map(str::trim) {
        if let Ok(seconds) = value.parse::<f64>() {
            if seconds.is_finite() && seconds >= 0.0 {
                return Some(Duration::from_secs_f64(seconds));
            }
        }
        if let Ok(at) = jiff::fmt::rfc2822::parse(value) {
            return Some(until(now, at.timestamp()));
        }
    }
    let reset = failure.rate_limit_reset.as_deref()?.trim();
    parse_reset(reset).map(|at| until(now, at))
}

/// Atlassian documents `yyyy-MM-ddTHH:mmZ`; full RFC 3339 is accepted too.
fn parse_reset(value: &str) -> Option<Timestamp> {
    if let Ok(at) = value.parse::<Timestamp>() {
        return Some(at);
    }
    // Without seconds: `2026-03-26T16:00Z`.
    let with_seconds = value.strip_suffix('Z').map(|rest| format!("{rest}:00Z"))?;
    with_seconds.parse::<Timestamp>().ok()
}

fn until(now: Timestamp, at: Timestamp) -> Duration {
    let span = at.duration_since(now);
    Duration::try_from(span).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-03-26T15:59:00Z".parse().unwrap()
    }

    fn failure(retry_after: Option<&str>, reset: Option<&str>) -> Failure {
        Failure {
            retryable: true,
            retry_after: retry_after.map(str::to_string),
            rate_limit_reset: reset.map(str::to_string),
        }
    }

    #[test]
    fn retry_after_seconds_is_honoured_exactly() {
        let policy = RetryPolicy::default();
        let wait = policy.delay(&failure(Some("7"), None), 0, now()).unwrap();
        assert_eq!(wait, Duration::from_secs(7));
        let wait = policy.delay(&failure(Some("0"), None), 3, now()).unwrap();
        assert_eq!(wait, Duration::ZERO);
    }

    #[test]
    fn retry_after_wins_over_reset() {
        let policy = RetryPolicy::default();
        let f = failure(Some("2"), Some("2026-03-26T16:00Z"));
        assert_eq!(policy.delay(&f, 0, now()).unwrap(), Duration::from_secs(2));
    }

    #[test]
    fn reset_timestamp_without_seconds_is_understood() {
        let policy = RetryPolicy::default();
        let f = failure(None, Some("2026-03-26T16:00Z"));
        assert_eq!(policy.delay(&f, 0, now()).unwrap(), Duration::from_secs(60));
        let f = failure(None, Some("2026-03-26T15:59:30Z"));
        assert_eq!(policy.delay(&f, 0, now()).unwrap(), Duration::from_secs(30));
    }

    #[test]
    fn reset_in_the_past_means_retry_now() {
        let f = failure(None, Some("2026-03-26T15:00Z"));
        let wait = RetryPolicy::default().delay(&f, 0, now()).unwrap();
        assert_eq!(wait, Duration::ZERO);
    }

    #[test]
    fn http_date_retry_after_is_understood() {
        let f = failure(Some("Thu, 26 Mar 2026 15:59:10 GMT"), None);
        let wait = RetryPolicy::default().delay(&f, 0, now()).unwrap();
        assert_eq!(wait, Duration::from_secs(10));
    }

    #[test]
    fn backoff_without_hint_grows_is_jittered_and_capped() {
        let policy = RetryPolicy {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(8),
            max_retries: 10,
            ..RetryPolicy::default()
        };
        let f = failure(None, Some("not a date"));
        for retry in 0..10 {
            let step = Duration::from_secs(1u64 << retry.min(3));
            let wait = policy.delay(&f, retry, now()).unwrap();
            assert!(wait >= step / 2 && wait <= step, "retry {retry}: {wait:?}");
        }
    }

    #[test]
    fn gives_up_after_max_retries_and_on_final_statuses() {
        let policy = RetryPolicy {
            max_retries: 2,
            ..RetryPolicy::default()
        };
        let f = failure(Some("1"), None);
        assert!(policy.delay(&f, 1, now()).is_ok());
        assert_eq!(
            policy.delay(&f, 2, now()),
            Err(GiveUp::Exhausted { attempts: 3 })
        );
        let final_failure = Failure::default();
        assert_eq!(
            policy.delay(&final_failure, 0, now()),
            Err(GiveUp::NotRetryable)
        );
    }

    #[test]
    fn refuses_to_retry_early_when_the_wait_is_too_long() {
        let policy = RetryPolicy::default();
        let f = failure(Some("3600"), None);
        assert!(matches!(
            policy.delay(&f, 0, now()),
            Err(GiveUp::WaitTooLong { .. })
        ));
    }

    #[test]
    fn retryable_statuses() {
        for status in [429, 500, 502, 503, 504] {
            assert!(Failure::is_retryable_status(status), "{status}");
        }
        for status in [400, 401, 403, 404, 410] {
            assert!(!Failure::is_retryable_status(status), "{status}");
        }
    }

    #[tokio::test]
    async fn manual_clock_advances_without_sleeping() {
        let clock = ManualClock::new(now());
        clock.sleep(Duration::from_secs(90)).await;
        assert_eq!(clock.sleeps(), vec![Duration::from_secs(90)]);
        assert_eq!(clock.now(), "2026-03-26T16:00:30Z".parse().unwrap());
    }
}
