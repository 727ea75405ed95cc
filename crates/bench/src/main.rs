//! `inventory-bench`: a full collection against a large simulated tenant, measured. The flags
//! become [`inventory_bench::Options`] here; the library runs the bench.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use clap::{Args, Parser, ValueEnum};
use inventory_collector::config::Product;

/// Benchmark a full collection against a large simulated tenant: wall time, requests, retries,
/// the collector's peak memory and CPU, and a check that every record arrived exactly once.
/// Prints a JSON summary as the last line on stdout.
#[derive(Debug, Parser)]
#[command(name = "inventory-bench", version, after_help = BENCH_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub args: BenchArgs,
}

const BENCH_HELP: &str = "\
The tenant runs in this process on loopback; the collector runs as a child process (the
atlassian-inventory binary beside this one, or --collector, with `collect`), so its memory and CPU
are measured alone. Credentials are made up for the run and
reach the child through its environment. Progress goes to stderr.

JSON summary (last line on stdout):
  profile, products          what was collected; latency_ms, rps, fault_rate as asked
  sizes                      the tenant's dataset: what a complete collection must find
  wall_s                     the collector's wall time, process start to exit
  physical_limit_s           the shortest possible collection, from the tenant's own request
                             counts, page sizes, rate limits and latency
  ratio                      wall_s / physical_limit_s
  requests, min_requests     requests that reached the tenant; the fewest that could do
  retries                    retries the collector reported
  early_retries              requests sent before a Retry-After elapsed, counted by the tenant
  faults                     requests the tenant answered with an injected 429 or 503
  throttled                  requests an endpoint's token bucket refused with 429
  peak_rss_mb, cpu_s         the collector's peak resident memory and user+system CPU time
  cpu_share                  cpu_s / wall_s
  tenant_cpu_s               CPU time this process, serving the tenant, used meanwhile
  records, records_per_s     records written, and per second of wall time
  kinds                      records per kind
  expected_ids               ids the tenant's ground truth says must be there
  duplicates, missing        ids seen twice; expected ids never seen
  collector_exit             the collector's exit status
  ok                         every record exactly once and the collector exited 0
  peer_wall_s, peer_records, peer_requests, speedup
                             with --peer: the Python peer's figures, and peer_wall_s / wall_s

Exit status: 0 when ok, 1 when a record is missing or duplicated, the collector failed, the
peer could not run (the summary is still printed), or the bench itself could not run; 2 for bad
flags.

Examples:
  inventory-bench --profile S
  inventory-bench --profile M --fault-rate 0.05      # the soak run
  inventory-bench --profile L --latency-ms 50 --peer";

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The atlassian-inventory binary to measure [default: the one beside this binary, as
    /// `cargo build --release --workspace` leaves it].
    #[arg(long, value_name = "PATH")]
    pub collector: Option<PathBuf>,

    /// Size of the synthetic organisation: S (1,000 users), M (10,000) or L (50,000 users,
    /// 5,000 groups, 2,000 projects, 5,000 API tokens, 100,000 Assets objects).
    #[arg(long, value_enum, ignore_case = true, default_value_t = ProfileArg::S)]
    pub profile: ProfileArg,

    /// Latency the tenant adds to every response, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 50,
          value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub latency_ms: u64,

    /// Requests per second each endpoint allows; beyond, it answers 429 with Retry-After.
    #[arg(long, value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub rps: u32,

    /// Share of requests the tenant answers with an injected 429 or 503, from 0 to 0.5.
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    pub fault_rate: f64,

    /// Products to collect, comma-separated: jira,assets,jsm,confluence,admin [default: all;
    /// jira with --peer].
    #[arg(long, value_name = "LIST")]
    pub products: Option<String>,

    /// Also collect the same Jira data with the Python peer (crates/bench/peer: atlassian-python-api
    /// in a virtualenv it creates under target/) against a fresh tenant, and report the speedup.
    /// Needs python3 with venv and pip.
    #[arg(long)]
    pub peer: bool,

    /// Keep the collector's JSON Lines in this file (default: a temporary file, removed).
    #[arg(long, value_name = "PATH")]
    pub keep_output: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ProfileArg {
    #[value(name = "S")]
    S,
    #[value(name = "M")]
    M,
    #[value(name = "L")]
    L,
}

impl BenchArgs {
    /// Validates the flags; `beside` is the binary found next to this one.
    pub fn into_options(self, beside: PathBuf) -> anyhow::Result<inventory_bench::Options> {
        let collector = self.collector.clone().unwrap_or(beside);
        if !collector.is_file() {
            bail!(
                "no collector binary at {}: build it first (cargo build --release) or give \
                 --collector PATH",
                collector.display()
            );
        }
        if !(self.fault_rate.is_finite() && (0.0..=0.5).contains(&self.fault_rate)) {
            bail!(
                "--fault-rate {} is out of range: give a share of requests from 0 to 0.5 \
                 (0.05 is one request in twenty)",
                self.fault_rate
            );
        }
        let products = match (&self.products, self.peer) {
            (None, true) => vec![Product::Jira],
            (None, false) => Product::ALL.to_vec(),
            (Some(list), peer) => {
                let products = Product::parse_list(list)?;
                if peer && products != [Product::Jira] {
                    bail!(
                        "--peer compares Jira collections: leave out --products, or give \
                         --products jira"
                    );
                }
                products
            }
        };
        if let Some(path) = &self.keep_output {
            if path.is_dir() {
                bail!(
                    "--keep-output {} is a directory; give a file path",
                    path.display()
                );
            }
        }
        let profile = match self.profile {
            ProfileArg::S => inventory_bench::Profile::S,
            ProfileArg::M => inventory_bench::Profile::M,
            ProfileArg::L => inventory_bench::Profile::L,
        };
        Ok(inventory_bench::Options {
            profile,
            latency: Duration::from_millis(self.latency_ms),
            rps: self.rps,
            fault_rate: self.fault_rate,
            products,
            peer: self.peer,
            keep_output: self.keep_output,
            collector,
            peer_dir: inventory_bench::default_peer_dir(),
        })
    }
}

/// Exit statuses: as the help says.
const OK: u8 = 0;
const FAILED: u8 = 1;
const USAGE: u8 = 2;

fn main() -> ExitCode {
    let Cli { args } = Cli::parse();
    let beside = std::env::current_exe()
        .map(|exe| {
            exe.with_file_name(format!(
                "atlassian-inventory{}",
                std::env::consts::EXE_SUFFIX
            ))
        })
        .unwrap_or_default();
    let options = match args.into_options(beside) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::from(USAGE);
        }
    };
    match inventory_bench::run(&options) {
        Ok(outcome) => {
            if let Some(error) = &outcome.peer_error {
                eprintln!("error: {error:#}");
            }
            println!("{}", outcome.summary.to_json());
            ExitCode::from(if outcome.passed() { OK } else { FAILED })
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(FAILED)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use inventory_bench::{Options, Profile};

    fn options(args: &[&str]) -> anyhow::Result<Options> {
        let mut argv = vec!["inventory-bench"];
        argv.extend_from_slice(args);
        let beside = std::env::current_exe()?;
        Cli::try_parse_from(argv)?.args.into_options(beside)
    }

    fn refused(args: &[&str]) -> String {
        match options(args) {
            Ok(options) => panic!("{args:?} accepted: {options:?}"),
            Err(error) => format!("{error:#}"),
        }
    }

    #[test]
    fn defaults_are_profile_s_at_50_ms_and_100_rps_collecting_everything() {
        let options = options(&[]).unwrap();
        assert_eq!(options.profile, Profile::S);
        assert_eq!(options.latency, Duration::from_millis(50));
        assert_eq!(options.rps, 100);
        assert_eq!(options.fault_rate, 0.0);
        assert_eq!(options.products, Product::ALL.to_vec());
        assert!(!options.peer);
        assert_eq!(options.keep_output, None);
    }

    #[test]
    fn the_profile_is_named_in_either_case() {
        assert_eq!(options(&["--profile", "l"]).unwrap().profile, Profile::L);
        assert_eq!(options(&["--profile", "M"]).unwrap().profile, Profile::M);
        assert!(refused(&["--profile", "XL"]).contains("XL"));
    }

    #[test]
    fn out_of_range_flags_are_refused_with_their_name() {
        let error = refused(&["--fault-rate", "0.8"]);
        assert!(
            error.contains("--fault-rate") && error.contains("0.5"),
            "{error}"
        );
        assert!(refused(&["--fault-rate=-0.1"]).contains("--fault-rate"));
        assert!(refused(&["--fault-rate", "NaN"]).contains("--fault-rate"));
        assert!(refused(&["--rps", "0"]).contains("--rps"));
        assert!(refused(&["--latency-ms", "60000"]).contains("--latency-ms"));
        assert!(refused(&["--products", "jira,wiki"]).contains("wiki"));
        let dir = tempfile::tempdir().unwrap();
        let error = refused(&["--keep-output", dir.path().to_str().unwrap()]);
        assert!(error.contains("directory"), "{error}");
    }

    #[test]
    fn the_peer_compares_jira_only() {
        let peer = options(&["--peer"]).unwrap();
        assert_eq!(peer.products, vec![Product::Jira]);
        assert!(peer.peer);
        assert!(peer.peer_dir.join("run.sh").is_file());
        let error = refused(&["--peer", "--products", "jira,confluence"]);
        assert!(error.contains("--peer"), "{error}");
        assert!(options(&["--peer", "--products", "jira"]).is_ok());
    }

    #[test]
    fn a_collector_that_is_not_there_is_named() {
        let error = refused(&["--collector", "/no/such/atlassian-inventory"]);
        assert!(error.contains("/no/such/atlassian-inventory"), "{error}");
    }
}
