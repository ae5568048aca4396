//! Schema migrations, one file per migration, applied in order on start.

// `async_trait` expands `&SchemaManager` in a way an explicit `'_` breaks.
#![allow(elided_lifetimes_in_paths)]

mod m20261126_000001_core;
pub(crate) mod m20261126_000002_raw;
mod m20261126_000003_consolidated;
mod m20261201_000004_queue;
mod m20261201_000005_schedules;
mod m20261201_000006_accounts;
mod m20261201_000007_progress;
mod m20261201_000008_names;
pub(crate) mod m20261207_000009_tenants;
mod m20261207_000010_test_success;

/// The consolidated tables, in the order a consolidation clears them.
pub(crate) fn consolidated_tables() -> impl Iterator<Item = &'static str> {
    m20261126_000003_consolidated::table_names()
        .chain(m20261207_000009_tenants::NEW_CONSOLIDATED.iter().copied())
}

use sea_orm_migration::prelude::*;

/// Every migration this version of invhost knows, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_core::Migration),
            Box::new(m20261126_000002_raw::Migration),
            Box::new(m20261126_000003_consolidated::Migration),
            Box::new(m20261201_000004_queue::Migration),
            Box::new(m20261201_000005_schedules::Migration),
            Box::new(m20261201_000006_accounts::Migration),
            Box::new(m20261201_000007_progress::Migration),
            Box::new(m20261201_000008_names::Migration),
            Box::new(m20261207_000009_tenants::Migration),
            Box::new(m20261207_000010_test_success::Migration),
        ]
    }
}

/// A table or column name.
pub(crate) fn name(text: &str) -> Alias {
    Alias::new(text)
}

/// `id` as an auto-incrementing 64-bit primary key.
pub(crate) fn id_column() -> ColumnDef {
    ColumnDef::new(name("id"))
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}

/// A timestamp with time zone (timestamptz on PostgreSQL, text on SQLite).
pub(crate) fn timestamp(column: &str) -> ColumnDef {
    ColumnDef::new(name(column))
        .timestamp_with_time_zone()
        .to_owned()
}
