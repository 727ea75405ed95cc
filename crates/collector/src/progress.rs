//! Progress on stderr while a run goes on: a spinner with the records written and requests
//! made, shown only when stderr is a terminal (never in cron mail or a CI log).

use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::http::Stats;

/// Updated by the writer for every record; redraws are throttled by indicatif.
pub struct Progress {
    bar: Option<ProgressBar>,
    stats: Arc<Stats>,
    records: u64,
}

impl Progress {
    pub fn new(enabled: bool, stats: Arc<Stats>) -> Self {
        let bar = enabled.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress {
            bar,
            stats,
            records: 0,
        }
    }

    pub fn record(&mut self) {
        self.records += 1;
        if let Some(bar) = &self.bar {
            if self.records % 64 == 1 {
                bar.set_message(format!(
                    "{} records, {} requests",
                    self.records,
                    self.stats.requests()
                ));
            }
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
