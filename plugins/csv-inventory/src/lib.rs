//! `csv-inventory`: an invhost connector plugin that imports an inventory
//! from a folder of CSV files.
//!
//! Built against the connector SDK alone, the way a third party would, and
//! exported as the plugin library `libcsv_inventory.so` (see `README.md` for
//! the file formats, the parameters and how to install it).
//!
//! - `params`: the parameter schema and typed settings;
//! - `files`: the known files and their columns, and header matching;
//! - `reader`: the streaming row reader with line numbers;
//! - `records`: one row to one inventory record;
//! - `check`: the Test action; `sync`: the Sync Data action;
//! - [`CsvInventory`]: the connector tying them together.

mod check;
mod connector;
mod files;
mod params;
mod reader;
mod records;
mod sync;
#[cfg(test)]
mod test_support;

pub use connector::{CsvInventory, DISPLAY_NAME, TYPE_ID};

connector_core::export_plugin!(name: "csv-inventory", connectors: [CsvInventory]);
