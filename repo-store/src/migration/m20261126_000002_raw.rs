//! The raw inventory tables, one per record kind.
//!
//! Built from [`crate::raw::RAW_TABLES`] as it stands at this migration.
//! When a raw table changes later, first freeze the current column lists in
//! this file, then add the change as a new migration.

use sea_orm_migration::prelude::*;

use super::name;
use crate::raw::{ColumnType, RAW_TABLES};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in RAW_TABLES {
            let mut create = Table::create();
            create
                .table(name(table.name))
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
            for (column, kind) in table.columns {
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
        for table in RAW_TABLES {
            manager
                .drop_table(Table::drop().table(name(table.name)).to_owned())
                .await?;
        }
        Ok(())
    }
}
