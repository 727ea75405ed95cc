//! The collector library of atlassian-inventory: everything that talks to Atlassian Cloud and
//! writes records. It answers who is in an estate, what they can do and which secrets exist, as
//! normalized records (JSON Lines or CSV) that a SIEM or a spreadsheet can take as they are. It
//! holds no command line (the `atlassian-inventory` binary turns flags into a [`config::Config`])
//! and no server (the simulated tenant is the `inventory-tenant` crate).
//!
//! # Layout
//!
//! The workspace: the root package is the `atlassian-inventory` binary (`src/`: flags → config,
//! the `--demo` glue behind the default `demo` feature, `main` mapping outcomes to exit
//! statuses); `crates/collector` is this library; `crates/tenant` the simulated tenant (axum)
//! that `--demo`, the tests and the benchmark run the real collector against; `crates/bench` the
//! benchmark's own binary. Nothing in one crate reaches back into the one that uses it.
//!
//! This crate, from the run down:
//!
//! - [`config`] is the validated configuration of a run: plain data (credentials, not a live
//!   connection).
//! - [`collect`] runs one collection: it connects (signs in, picks the route, builds the
//!   clients), runs the selected products concurrently, and hands their records to one writer
//!   ([`output`]); `summary` and `coverage` say what was and was not seen.
//! - `engine` is what products are written against: a family counts its records as they are
//!   emitted, a listing is a stream, "one request → records" and "listing → concurrent per-item
//!   work" are one helper each, and a panic in per-item work fails its family.
//! - `join` is where what several products say about one entity meets: the user join, run by
//!   the writer stage (Jira, JSM and the Admin directory know the same accounts), and the group
//!   precedence the group listings ask (Jira, then Confluence, then the directory).
//! - `jira` (the Jira platform), `assets` (the JSM CMDB, on the api.atlassian.com gateway),
//!   `jsm` (Jira Service Management), `confluence` and [`admin`] (the Org Admin API) are
//!   products: one function per resource.
//! - [`http`] owns every request to Atlassian: credentials, retries and `Retry-After`, the
//!   per-endpoint rate and concurrency scheduler ([`http::limit`]), response limits and
//!   pagination ([`http::page`]); `redact` blanks anything credential-like in the response text
//!   its errors quote.
//! - [`record`] is the record schema, the product's public interface.
//! - `route` picks the site or the API gateway (`/ex/{product}/{cloudId}`) for the run's
//!   credentials; [`scopes`] is the table of OAuth scopes each product needs; [`token_store`]
//!   keeps 3LO grants between runs; [`auth`] (`auth login|status|logout`) and [`doctor`] are the
//!   commands beside `collect`.
//!
//! Modules import only downwards: products use `engine`, `join`, `http` and `record`; `collect`
//! uses the products; no module imports one that imports it (`tools/module-cycles.py`, run by
//! CI, checks it).

#![warn(unreachable_pub)]

pub mod admin;
mod assets;
pub mod auth;
pub mod collect;
pub mod config;
mod confluence;
mod coverage;
pub mod doctor;
mod engine;
pub mod http;
mod jira;
mod join;
mod jsm;
pub mod output;
mod progress;
pub mod record;
mod redact;
mod route;
pub mod scopes;
mod settings;
pub mod summary;
pub mod token_store;

/// Exit statuses: a contract for scripts, documented in `--help` and the README.
pub mod exit {
    use crate::collect::{Report, RunError};

    pub const OK: u8 = 0;
    pub const FATAL: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const PARTIAL: u8 = 3;
    pub const UNAUTHORIZED: u8 = 4;
    /// A partial run with `--fail-on-partial`: its records were not written and the previous
    /// output is left as it was. Apart from 3 (partial, written) so a script can tell whether
    /// the output it reads is this run's.
    pub const PARTIAL_NOT_WRITTEN: u8 = 5;
    pub const INTERRUPTED: u8 = 130;

    pub fn code(outcome: &Result<Report, RunError>) -> u8 {
        match outcome {
            Ok(report) if report.discarded => PARTIAL_NOT_WRITTEN,
            Ok(report) if report.partial() => PARTIAL,
            Ok(_) => OK,
            Err(error) => error_code(error),
        }
    }

    /// The status of a command that failed.
    pub fn error_code(error: &RunError) -> u8 {
        match error {
            RunError::BrokenPipe => OK,
            RunError::Usage(_) => USAGE,
            RunError::Unauthorized(_) => UNAUTHORIZED,
            RunError::Interrupted => INTERRUPTED,
            RunError::Fatal(_) => FATAL,
        }
    }
}
