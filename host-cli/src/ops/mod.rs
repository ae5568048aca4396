//! The work behind the commands, free of argument parsing and printing.

pub mod actions;
pub mod cancel;
pub mod connectors;
pub mod consolidate;
pub mod demo;
pub mod execute;
pub mod host;
pub mod inventory;
pub mod plugins;
pub mod processes;
pub mod repositories;
pub mod secrets_input;
