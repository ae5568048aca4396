//! The invhost engine: everything a host does, free of any command line,
//! terminal or HTTP. The `invhost` command line and `invhost serve` are
//! faces over it.
//!
//! - [`host::Host`]: the configured host ([`Settings`]), its plugin
//!   registry, its repository store (recovering from dead hosts on open).
//! - [`actions`]: the operator's actions (`Sync Data - <connector>`,
//!   `Generate Report - Basic Inventory Consolidation`).
//! - [`execute`] (queue, wait for the turn, run), [`runner`] (the one
//!   process runner) and [`consolidate`]: running them as processes in the log;
//!   [`cancel`]: stopping them; [`processes`]: recording their ends,
//!   recovery and the log's view.
//! - [`schedules`]: chains of actions due on a cron expression, fired once
//!   per due time across hosts.
//! - [`connectors`], [`repositories`], [`inventory`], [`plugins`]: the rest
//!   of what operators do; [`secrets`]: where secret values come from;
//!   [`plugin_check`]: a plugin's Sync Data checked into a scratch repository.

pub mod accounts;
pub mod actions;
pub mod cancel;
pub mod connectors;
pub mod consolidate;
pub mod execute;
pub mod host;
pub mod inventory;
pub mod plugin_check;
pub mod plugins;
pub mod processes;
pub mod repositories;
pub mod runner;
pub mod schedules;
pub mod secrets;
mod settings;

pub use settings::Settings;
