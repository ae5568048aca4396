//! The `invhost` binary, run as an operator would.

mod consolidation;
mod demo;
mod plugin;
mod publication;
mod schedules;
mod secrets;
mod service;
mod workflow;
