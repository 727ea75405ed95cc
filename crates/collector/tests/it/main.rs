//! The collector library against the simulated tenant, over real HTTP: one module per area.
//!
//! - `collect`: a collection end to end: records, coverage, pagination, concurrency limits.
//! - `confluence`: the same for Confluence and its joins with Jira's records.
//! - `assets`, `jsm`: the same for Jira Assets (gateway, AQL, fallbacks) and JSM.
//! - `admin`: the Org Admin product: the user join, secrets, licences, cursors, scopes, the v1
//!   fallback, and each credential only on its own API.
//! - `faults`: every switchable fault of the tenant, transient and permanent, and the
//!   pagination lies: retried to success, or contained to the one listing they hit.
//! - `support`: shared helpers (the binary's tests use them too).

mod admin;
mod assets;
mod collect;
mod confluence;
mod faults;
mod jsm;
mod support;
