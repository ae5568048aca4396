//! The plugin ABI, the loader and the plugins themselves.

mod abort;
mod builtins;
mod c_plugin;
mod csv;
mod loader;
mod runs;
