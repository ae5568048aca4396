//! The `invhost` binary, run as an operator would.

mod consolidation;
mod demo;
mod plugin;
mod secrets;
mod workflow;
