//! The work behind the commands: the engine's modules, plus what only a
//! terminal face does (the demo's setup, asking for a secret).

pub use host_engine::{
    accounts, actions, cancel, connectors, consolidate, execute, host, inventory, plugin_check,
    plugins, processes, repositories, runner, schedules, secrets,
};

pub mod demo;
pub mod prompt;
