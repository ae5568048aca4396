//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::commands::{
    account::{AuditArgs, TokenCommand, UserCommand},
    action::ActionCommand,
    connector::ConnectorCommand,
    demo::DemoArgs,
    execute::ExecuteArgs,
    inventory::InventoryArgs,
    plugin::PluginCommand,
    process::ProcessCommand,
    process_log::ProcessLogArgs,
    repository::RepositoryCommand,
    schedule::ScheduleCommand,
    secrets::SecretsCommand,
    serve::ServeArgs,
};

/// invhost: pull inventory, licences and usage from the systems you run into
/// a repository you own.
#[derive(Debug, Parser)]
#[command(name = "invhost", version, about, propagate_version = true)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// Configuration file (default: INVHOST_CONFIG, then invhost.toml in the platform config dir).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Repository database URL: sqlite://PATH or postgres://... (default: INVHOST_DATABASE_URL,
    /// then the config file, then a SQLite file in the platform data dir).
    #[arg(long, global = true, value_name = "URL")]
    pub database: Option<String>,
    /// A directory to load connector plugins from (repeatable; adds to INVHOST_PLUGIN_DIRS and
    /// the config file's plugin_dirs).
    #[arg(long = "plugin-dir", global = true, value_name = "DIR")]
    pub plugin_dirs: Vec<PathBuf>,
    /// Print results as JSON (stable field names, documented in docs/CLI.md); short for
    /// `--format json`.
    #[arg(long, global = true, conflicts_with = "format")]
    pub json: bool,
    /// How to print results: a table for people, or json (one document), jsonl (one
    /// object per line) or csv (a header, then one line per row) for scripts.
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub format: Option<crate::output::Format>,
    /// Tables: every column at full width, however wide the terminal.
    #[arg(long, global = true)]
    pub wide: bool,
    /// Tables: fit them to this many columns (default: the terminal's width when stdout is
    /// one; full width otherwise).
    #[arg(long, global = true, value_name = "COLUMNS", conflicts_with = "wide")]
    pub width: Option<u16>,
    /// More log detail on stderr (-v info, -vv debug, -vvv trace). INVHOST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Errors only on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Connector plugins: list, show, check.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Inventory repositories: list, add, clear.
    #[command(subcommand)]
    Repository(RepositoryCommand),
    /// The key of connector secrets: new-key, rekey.
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Connectors: add, list, show, edit, remove, test.
    #[command(subcommand)]
    Connector(ConnectorCommand),
    /// Actions that can be executed.
    #[command(subcommand)]
    Action(ActionCommand),
    /// Queue an action and run it, following its progress.
    Execute(ExecuteArgs),
    /// The process log: every action queued, running or done.
    ProcessLog(ProcessLogArgs),
    /// One process: cancel.
    #[command(subcommand)]
    Process(ProcessCommand),
    /// Schedules: chains of actions that `invhost serve` runs when due (cron, UTC).
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Run as a service: claim queued processes and run them, beside any
    /// other hosts on the same database, until SIGTERM or Ctrl-C.
    Serve(ServeArgs),
    /// Accounts of the HTTP API: add, list, passwd, disable, enable, remove.
    #[command(subcommand)]
    User(UserCommand),
    /// API tokens for scripts: create, list, revoke.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The audit log: who changed what, when, from where.
    Audit(AuditArgs),
    /// Read a repository's inventory.
    Inventory(InventoryArgs),
    /// See the whole product work: the built-in Graph simulator, synced into a fresh SQLite repository.
    Demo(DemoArgs),
}
