//! The simulated tenant's own tests: it is run over real HTTP, without the collector.
//!
//! - `tenant`: the site's behaviour and quirks (Jira, Confluence, JSM, Assets, faults).
//! - `admin_tenant`: the Org Admin API listener.
//! - `pacing`: the tenant as a benchmark target: rate limits, quota, faults, profiles and the
//!   server's own accounting.
//! - `spec`: the tenant's responses validated against the official specs' subsets in the
//!   project's `fixtures/spec/` (`schema` is the validator).

mod admin_tenant;
mod pacing;
mod schema;
mod spec;
mod tenant;
