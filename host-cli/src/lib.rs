//! The invhost host: configuration, plugin registry, commands and their
//! operations. `main.rs` only parses arguments and calls [`commands::exec`];
//! [`ops`] does the work and is testable without the command line.

pub mod cli;
pub mod commands;
pub mod config;
pub mod logging;
pub mod ops;
pub mod output;
