//! The plugin ABI, the loader and the plugins themselves.

mod builtins;
mod c_plugin;
mod csv;
mod loader;
mod runs;
mod sinks;
