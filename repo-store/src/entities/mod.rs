//! SeaORM entities of the operator-facing tables, one per file. The raw
//! inventory tables are described by [`crate::raw`] instead: eight tables of
//! one shape, written in bulk.

pub mod api_token;
pub mod audit_entry;
pub mod connector;
pub mod process;
pub mod repository;
pub mod schedule;
pub mod session;
pub mod user;
