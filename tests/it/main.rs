//! The integration test binary: one module per area.
//!
//! - `collect`: the collector (library) against the simulated tenant over real HTTP.
//! - `cli`: the built binary end to end: formats, exit statuses, `--demo`, secrets.
//! - `tenant`: the simulated tenant's own behaviour and quirks.
//! - `admin_tenant`: the simulated tenant's Admin API listener.
//! - `spec`: the tenant's responses validated against the official Jira spec (`schema` is the
//!   validator).

mod admin_tenant;
mod cli;
mod collect;
mod schema;
mod spec;
mod support;
mod tenant;
