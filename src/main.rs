//! `kubectl-pki`: the edge. Parses arguments, runs one subcommand, and maps
//! the result to an exit code and a one-line error on stderr.
//!
//! No logic: everything else is in the library ([`kubectl_pki::commands`]).

use std::process::ExitCode;

use clap::Parser;
use kubectl_pki::cli::{Cli, Command, LogFormat};
use kubectl_pki::logging::Style;
use kubectl_pki::{error::report, run};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let style = match &cli.command {
        Command::Exporter(args) => Style { json: args.log_format == LogFormat::Json, daemon: true },
        _ => Style::default(),
    };
    kubectl_pki::logging::init(cli.global.verbose, style);
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return report(&e.into()),
    };
    match runtime.block_on(run(cli)) {
        Ok(outcome) => outcome.exit_code(),
        Err(err) => report(&err),
    }
}
