//! A Microsoft Graph simulator: a loopback HTTP server serving a synthetic
//! Microsoft 365 / Intune tenant, for the connector's tests, benchmarks and
//! `invhost demo`.
//!
//! It answers the client-credentials sign-in, `/users`, `/subscribedSkus`,
//! `/devices`, Intune managed devices, detected apps and their devices,
//! AppInvRawData export jobs (a zip behind a pre-signed link), and the three
//! usage reports (302 to a pre-signed CSV with a byte-order mark), in the
//! shapes real Graph uses, errors included. Everything is generated from a
//! seed and an index, so a tenant of 10,000 users and 200,000 installations
//! costs no memory. [`Faults`] injects throttling, outages, dropped
//! connections, expiring tokens, malformed pages, truncated CSVs, failing
//! export jobs and sign-in failures. [`Simulator::expected`] gives the counts
//! a complete sync must produce.
//!
//! It imports nothing from the connector, on purpose: Graph paths, report
//! columns, SKU ids, export columns and error shapes are written here from
//! Microsoft's documentation, apart from the connector's own constants, so
//! that a test against the simulator checks the connector against an
//! independent reading of Graph rather than against itself.

mod auth;
mod catalog;
mod clock;
mod config;
mod csv_out;
mod downloads;
mod export;
mod faults;
mod graph;
mod net;
mod query;
mod reports;
mod resources;
mod respond;
mod rng;
mod server;
mod state;
mod tenant;

#[cfg(test)]
mod tests;

pub use config::{DEFAULT_PERMISSIONS, Faults, Gate, SimulatorConfig};
pub use server::Simulator;
pub use state::FaultCounts;
pub use tenant::Expected;
