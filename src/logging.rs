//! Diagnostics on stderr through `tracing`. Data never goes here; secrets never reach it (the
//! HTTP layer logs URLs, and reqwest marks the Authorization header sensitive).

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use inventory_collector::config::Verbosity;

pub fn init(verbosity: Verbosity) {
    let level = match verbosity {
        Verbosity::Quiet => LevelFilter::ERROR,
        Verbosity::Normal => LevelFilter::WARN,
        Verbosity::Verbose(1) => LevelFilter::DEBUG,
        Verbosity::Verbose(_) => LevelFilter::TRACE,
    };
    // Only the project's own events (this binary's and the collector library's): dependencies'
    // debug output is noise to a user.
    let filter = Targets::new()
        .with_target(env!("CARGO_CRATE_NAME"), level)
        .with_target("inventory_collector", level);
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time();
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(filter)
        .try_init();
}
