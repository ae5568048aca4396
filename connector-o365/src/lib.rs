//! The Microsoft 365 / Intune connector (connector type `o365`).
//!
//! Signs in with an Entra ID app (client credentials) in any national
//! cloud, and reads users, licences, Entra and Intune devices, Intune app
//! inventory and the Microsoft 365 usage reports through Microsoft Graph.
//! One file per concern: `auth` sign-in, `http` paging and retries,
//! `streams/*` one Graph resource each, `sync` the run, `probe` the Test;
//! `parsers` opens the readers of Graph's answers to tests.
//! The Graph simulator it is tested against is the `graph-simulator` crate.

mod auth;
mod cloud;
mod connector;
mod csvfile;
mod http;
mod params;
pub mod parsers;
mod probe;
mod settings;
mod skus;
mod streams;
mod sync;

pub use cloud::{Cloud, Endpoints};
pub use connector::O365Connector;

/// The connector type id.
pub const CONNECTOR_TYPE: &str = "o365";

connector_core::register_builtin!(name: "connector-o365", connectors: [O365Connector]);

#[cfg(feature = "plugin")]
connector_core::export_plugin!(name: "connector-o365", connectors: [O365Connector]);

/// Call from the host so the linker keeps this crate's built-in registration.
pub fn link() {}
