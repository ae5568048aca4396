//! The Microsoft 365 / Intune connector (connector type `o365`).
//!
//! Status: the parameter schema (the keys operators script against) and the
//! cloud resolution are in place; the Graph client, streams and simulator
//! arrive with the Microsoft 365 connector issue. Until then Test reports the
//! configuration check and says plainly that sign-in is not built yet, and
//! Sync Data fails with that reason: nothing here pretends to read a tenant.

mod cloud;
mod connector;
mod params;

pub use cloud::{Cloud, Endpoints};
pub use connector::O365Connector;

/// The connector type id.
pub const CONNECTOR_TYPE: &str = "o365";

connector_core::register_builtin!(name: "connector-o365", connectors: [O365Connector]);

#[cfg(feature = "plugin")]
connector_core::export_plugin!(name: "connector-o365", connectors: [O365Connector]);

/// Call from the host so the linker keeps this crate's built-in registration.
pub fn link() {}
