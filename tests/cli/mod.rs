//! The `invhost` binary, run as an operator would.

mod plugin;
