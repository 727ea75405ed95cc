//! The integration test binary: one module per area.
//!
//! - `collect`: the collector (library) against the simulated tenant over real HTTP.
//! - `confluence`: the same for Confluence and its stitching to Jira's records.
//! - `assets`, `jsm`: the same for Jira Assets (gateway, AQL, fallbacks) and JSM.
//! - `admin`: the Org Admin product: stitching, secrets, licences, cursors, scopes, the v1
//!   fallback, and each credential only on its own API.
//! - `cli`: the built binary end to end: formats, exit statuses, `--demo`, secrets.
//! - `faults`: every switchable fault of the tenant, transient and permanent, and the
//!   pagination lies: retried to success, or contained to the one listing they hit.
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
//! The simulated tenant's own tests are in `crates/tenant/tests`, the benchmark's in
//! `crates/bench/tests`.

mod admin;
mod assets;
mod cli;
mod collect;
mod confluence;
mod doctor;
mod faults;
mod golden;
mod jsm;
mod oauth;
mod output;
mod sched;
mod secrets;
mod signals;
mod support;
