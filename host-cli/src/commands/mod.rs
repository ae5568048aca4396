//! One file per command: each parses its arguments and delegates to [`crate::ops`].

pub mod account;
pub mod action;
pub mod connector;
pub mod demo;
pub mod execute;
pub mod inventory;
pub mod plugin;
pub mod process;
pub mod process_log;
pub mod repository;
pub mod schedule;
pub mod secrets;
pub mod serve;

use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli::{Cli, Command};

use crate::ops::host::Host;

/// Runs a parsed command line.
pub fn exec(cli: Cli) -> Result<ExitCode> {
    let config = crate::config::load(&cli.global)?;
    crate::output::configure(&cli.global);
    // Every format but the table is a document for scripts.
    let json = crate::output::format() != crate::output::Format::Table;
    let global = cli.global;
    let host = std::sync::Arc::new(Host::new(config));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        match cli.command {
            // Plugin calls run on threads of their own, so blocking here is fine.
            Command::Plugin(command) => plugin::exec(command, &host.config, &global).await,
            Command::Repository(command) => repository::exec(command, &host, json).await,
            Command::Connector(command) => connector::exec(command, &host, json).await,
            Command::Secrets(command) => secrets::exec(command, &host, json).await,
            Command::Action(command) => action::exec(command, &host, json).await,
            Command::Execute(args) => execute::exec(args, &host, json).await,
            Command::ProcessLog(args) => process_log::exec(args, &host, json).await,
            Command::Inventory(args) => inventory::exec(args, &host, json).await,
            Command::Demo(args) => demo::exec(args, &host.config, json).await,
            Command::Process(command) => process::exec(command, &host, json).await,
            Command::Schedule(command) => schedule::exec(command, &host, json).await,
            Command::User(command) => account::user(command, &host, json).await,
            Command::Token(command) => account::token(command, &host, json).await,
            Command::Audit(args) => account::audit(args, &host, json).await,
            Command::Serve(args) => serve::exec(args, std::sync::Arc::clone(&host)).await,
        }
    })
}
