//! The `invhost` binary, run as an operator would.

mod actions;
pub(crate) mod consolidation;
mod demo;
mod hardening;
mod plugin;
mod publication;
mod readme;
mod schedules;
mod secrets;
pub(crate) mod service;
mod terminal;
pub(crate) mod workflow;
