//! invhost's integration suite: one test binary, modules by area.
//!
//! Plugins are real shared libraries built by cargo (the dev-dependencies'
//! `cdylib`s) or compiled from C by the system compiler; the `invhost`
//! binary is the one `cargo nextest run --workspace` builds.

// The whole crate is tests: helpers may unwrap like tests do.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod support;

pub(crate) mod api;
mod cli;
mod console;
mod fuzz;
mod o365;
mod plugins;
mod store;
