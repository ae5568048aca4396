//! `invhost`: what operators run.

use std::process::ExitCode;

use clap::Parser;
use host_cli::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (service, json) = match &cli.command {
        host_cli::cli::Command::Serve(args) => (
            true,
            args.log_format == host_cli::commands::serve::LogFormat::Json,
        ),
        _ => (false, false),
    };
    host_cli::logging::init(cli.global.verbose, cli.global.quiet, service, json);
    match host_cli::commands::exec(cli) {
        Ok(code) => code,
        Err(error) => {
            host_cli::output::error_line(&error);
            ExitCode::FAILURE
        }
    }
}
