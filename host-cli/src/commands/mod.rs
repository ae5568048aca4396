//! One file per command: each parses its arguments and delegates to [`crate::ops`].

pub mod plugin;

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::config::Config;

/// Runs a parsed command line.
pub fn exec(cli: Cli) -> Result<ExitCode> {
    let config = Config::load(&cli.global)?;
    match cli.command {
        Command::Plugin(command) => plugin::exec(command, &config, &cli.global),
    }
}
