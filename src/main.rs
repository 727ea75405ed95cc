//! The `atlassian-inventory` binary: parses flags, runs the library, maps the outcome to an exit
//! status. Nothing else lives here.

use std::process::ExitCode;

use clap::Parser;

use atlassian_inventory::cli::{Cli, Command};
use atlassian_inventory::config::Verbosity;
use atlassian_inventory::{collect, exit};

fn main() -> ExitCode {
    let Cli { command } = Cli::parse();
    let Command::Collect(args) = command;
    let config = match args.into_config(&|name| std::env::var(name).ok()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::from(exit::USAGE);
        }
    };
    let verbosity = config.verbosity;
    atlassian_inventory::logging::init(verbosity);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(exit::FATAL);
        }
    };
    let outcome = runtime.block_on(collect::run(config));
    let code = exit::code(&outcome);
    match &outcome {
        Ok(report) if verbosity != Verbosity::Quiet => eprintln!("{}", report.summary),
        Ok(_) | Err(collect::RunError::BrokenPipe) => {}
        Err(error) => eprintln!("error: {error}"),
    }
    ExitCode::from(code)
}
