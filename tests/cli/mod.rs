//! The `invhost` binary, run as an operator would.

mod plugin;
mod secrets;
mod workflow;
