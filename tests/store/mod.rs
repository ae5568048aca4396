//! The repository store, on a SQLite file and on the local PostgreSQL server.
//!
//! Every test runs twice, once per backend (`store::…::sqlite::NAME` and
//! `store::…::postgres::NAME`). Without a reachable PostgreSQL the
//! `postgres` variants print `SKIPPED` (nextest shows it, see
//! `.config/nextest.toml`); with `INVHOST_REQUIRE_POSTGRES=1`, as `.ci/run`
//! sets, they fail instead.

pub mod support;

mod consolidation;
mod operations;
mod schema;
mod secrets;
mod sync;
mod tenancy;
