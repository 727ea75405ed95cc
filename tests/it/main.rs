//! The integration test binary: one module per area.
//!
//! - `collect`: the collector (library) against the simulated tenant over real HTTP.
//! - `confluence`: the same for Confluence and its stitching to Jira's records.
//! - `assets`, `jsm`: the same for Jira Assets (gateway, AQL, fallbacks) and JSM.
//! - `admin`: the Org Admin product: stitching, secrets, licences, cursors, scopes, the v1
//!   fallback, and each credential only on its own API.
//! - `bench`: the benchmark's flags, exactly-once check and summary, the tenant's `/rest/api/2`
//!   alias, and one small run of the built binary.
//! - `cli`: the built binary end to end: formats, exit statuses, `--demo`, secrets.
//! - `signals`: SIGTERM before and during a run: exit 130, previous output kept.
//! - `tenant`: the simulated tenant's own behaviour and quirks.
//! - `admin_tenant`: the simulated tenant's Admin API listener.
//! - `oauth`: OAuth 2.0 grants, token rotation across processes, gateway routing for OAuth,
//!   service accounts and scoped tokens; `doctor`: the credentials check.
//! - `spec`: the tenant's responses validated against the official specs' subsets in
//!   `fixtures/spec/` (`schema` is the validator); `support`: shared helpers.

mod admin;
mod admin_tenant;
mod assets;
mod bench;
mod cli;
mod collect;
mod confluence;
mod doctor;
mod jsm;
mod oauth;
mod schema;
mod signals;
mod spec;
mod support;
mod tenant;
