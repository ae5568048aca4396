//! A running sync's progress (rows staged per kind, a JSON object), written
//! with its heartbeat so that any host, and the HTTP API, can follow it; and
//! the counters a connector reports for monitoring (`graph_requests`, ...).

use sea_orm_migration::prelude::*;

use super::name;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(name("processes"))
                    .add_column(ColumnDef::new(name("progress")).text())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(name("processes"))
                    .add_column(ColumnDef::new(name("counters")).text())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(name("processes"))
                    .drop_column(name("counters"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(name("processes"))
                    .drop_column(name("progress"))
                    .to_owned(),
            )
            .await
    }
}
