//! The durable queue: a running process can be asked to stop from anywhere
//! (`cancel_requested` holds who asked and why).

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
                    .add_column(ColumnDef::new(name("cancel_requested")).text())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(name("processes"))
                    .drop_column(name("cancel_requested"))
                    .to_owned(),
            )
            .await
    }
}
