//! The work behind the commands, free of argument parsing and printing.

pub mod plugins;
