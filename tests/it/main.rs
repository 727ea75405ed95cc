//! The integration test binary: one module per area.
//!
//! - `cli`: the built binary end to end: formats, exit statuses, `--demo`, secrets.
//! - `sched`: the HTTP layer's scheduler: rate-limited collections, `--rate-share`.
//! - `signals`: SIGTERM before and during a run: exit 130, previous output kept.
//! - `output`: `--fail-on-partial` (exit 5, previous output kept), the output lock, and
//!   `--strict-perms`.
//! - `secrets`: every mode of the binary at `-vv` with known secrets, succeeding and failing:
//!   no secret in any byte it wrote, on its command line, or in `--help`'s flags.
//! - `oauth`: OAuth 2.0 grants, token rotation across processes, gateway routing for OAuth,
//!   service accounts and scoped tokens; `doctor`: the credentials check.
//! - `golden`: every record of `collect --demo`, compared with `fixtures/golden/`.
//! - `support`: shared helpers.
//!
//! The collector library's tests against the simulated tenant are in `crates/collector/tests`,
//! the tenant's own in `crates/tenant/tests`, the benchmark's in `crates/bench/tests`.

mod cli;
mod doctor;
mod golden;
mod oauth;
mod output;
mod sched;
mod secrets;
mod signals;
// The collector's own test helpers, shared rather than copied.
#[path = "../../crates/collector/tests/it/support.rs"]
mod support;
