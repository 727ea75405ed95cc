//! atlassian-inventory: an asset-discovery collector for Atlassian Cloud. It answers who is in an
//! estate, what they can do and which secrets exist, as normalized records (JSON Lines or CSV)
//! that a SIEM or a spreadsheet can take as they are.
//!
//! # Layout
//!
//! - [`cli`] turns flags and environment into a validated [`config::Config`]; nothing else sees
//!   clap.
//! - [`collect`] runs one collection: products produce records concurrently, one writer
//!   ([`output`]) streams them out, [`summary`] and [`coverage`] say what was and was not seen.
//! - [`http`] owns every request to Atlassian: credentials, retries and `Retry-After`, the
//!   per-endpoint rate and concurrency scheduler ([`http::limit`]), response limits and
//!   pagination ([`http::page`]); [`redact`] blanks anything credential-like in the response
//!   text its errors quote.
//! - [`jira`] (the Jira platform), [`assets`] (the JSM CMDB, on the api.atlassian.com gateway),
//!   [`jsm`] (Jira Service Management), [`confluence`] and [`admin`] (the Org Admin API) are
//!   products: one function per resource.
//! - [`record`] is the record schema, the product's public interface; [`stitch`] joins what
//!   several products report about the same user or group.
//! - [`route`] picks the site or the API gateway (`/ex/{product}/{cloudId}`) for the run's
//!   credentials; [`scopes`] is the table of OAuth scopes each product needs; [`token_store`]
//!   keeps 3LO grants between runs; [`auth`] (`auth login|status|logout`) and [`doctor`] are the
//!   commands beside `collect`.
//! - [`tenant`] is the simulated Atlassian tenant on loopback that `--demo`, the tests and the
//!   benchmark run the real collector against; [`bench`](mod@bench) (`bench`) is that benchmark: the
//!   tenant in process, the collector as a measured child, every record checked exactly once.

pub mod admin;
pub mod assets;
pub mod auth;
pub mod collect;
pub mod config;
pub mod confluence;
pub mod coverage;
pub mod doctor;
pub mod engine;
pub mod http;
pub mod jira;
pub mod join;
pub mod jsm;
pub mod output;
pub mod progress;
pub mod record;
pub mod redact;
pub mod route;
pub mod scopes;
pub mod settings;
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
