//! The raw inventory tables, one per record kind, as they were created.
//!
//! The column lists are frozen here: the live ones (`crate::raw::raw_tables`)
//! follow the record model, and a field added to the model needs a new
//! migration adding its column (a test compares the two after migrating).

use sea_orm_migration::prelude::*;

use super::name;
use crate::raw::ColumnType;
use ColumnType::{BigInt, Bool, Int, Text};

/// Each table and its record columns at this migration.
const TABLES: &[(&str, &[(&str, ColumnType)])] = &[
    (
        "raw_devices",
        &[
            ("name", Text),
            ("entra_device_id", Text),
            ("serial_number", Text),
            ("manufacturer", Text),
            ("model", Text),
            ("operating_system", Text),
            ("os_version", Text),
            ("primary_user", Text),
            ("last_seen", Text),
            ("enrolled", Text),
            ("compliance", Text),
            ("ownership", Text),
            ("memory_bytes", BigInt),
            ("storage_bytes", BigInt),
            ("source_type", Text),
        ],
    ),
    (
        "raw_users",
        &[
            ("user_principal_name", Text),
            ("display_name", Text),
            ("mail", Text),
            ("enabled", Bool),
            ("user_type", Text),
            ("department", Text),
            ("job_title", Text),
            ("created", Text),
            ("concealed", Bool),
        ],
    ),
    (
        "raw_applications",
        &[
            ("name", Text),
            ("publisher", Text),
            ("version", Text),
            ("platform", Text),
            ("size_bytes", BigInt),
        ],
    ),
    (
        "raw_installations",
        &[
            ("device_key", Text),
            ("application_key", Text),
            ("installed_on", Text),
            ("last_used", Text),
        ],
    ),
    (
        "raw_application_usage",
        &[
            ("user_name", Text),
            ("application", Text),
            ("platform", Text),
            ("last_activity", Text),
            ("report_period_days", Int),
            ("report_refresh_date", Text),
            ("concealed", Bool),
        ],
    ),
    (
        "raw_licences",
        &[
            ("sku_id", Text),
            ("part_number", Text),
            ("name", Text),
            ("capability_status", Text),
            ("prepaid_enabled", BigInt),
            ("prepaid_suspended", BigInt),
            ("prepaid_warning", BigInt),
            ("consumed", BigInt),
            ("derived", Bool),
        ],
    ),
    (
        "raw_licence_assignments",
        &[("user_key", Text), ("sku_id", Text), ("assigned_on", Text)],
    ),
    (
        "raw_activations",
        &[
            ("user_name", Text),
            ("product_type", Text),
            ("last_activated", Text),
            ("windows", Int),
            ("mac", Int),
            ("windows_mobile", Int),
            ("ios", Int),
            ("android", Int),
            ("shared_computer", Int),
            ("report_refresh_date", Text),
            ("concealed", Bool),
        ],
    ),
];

/// What this migration created, for the test that the live tables match.
#[cfg(test)]
pub(crate) fn frozen() -> &'static [(&'static str, &'static [(&'static str, ColumnType)])] {
    TABLES
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, columns) in TABLES {
            let mut create = Table::create();
            create
                .table(name(table))
                .col(
                    ColumnDef::new(name("repository_id"))
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(name("connector_id"))
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(name("source_key")).text().not_null());
            for (column, kind) in *columns {
                let mut def = ColumnDef::new(name(column));
                match kind {
                    ColumnType::Text => def.text(),
                    ColumnType::BigInt => def.big_integer(),
                    ColumnType::Int => def.integer(),
                    ColumnType::Bool => def.boolean(),
                };
                create.col(def);
            }
            create
                .col(
                    ColumnDef::new(name("first_seen_run"))
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(name("last_seen_run"))
                        .big_integer()
                        .not_null(),
                )
                // No foreign key to `repositories`: checking one per row cost
                // the bulk writer a measured share of its throughput, and
                // rows are only ever removed per repository or connector by
                // the store itself, in one transaction.
                .primary_key(
                    Index::create()
                        .col(name("repository_id"))
                        .col(name("connector_id"))
                        .col(name("source_key")),
                );
            manager.create_table(create.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, _) in TABLES {
            manager
                .drop_table(Table::drop().table(name(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
