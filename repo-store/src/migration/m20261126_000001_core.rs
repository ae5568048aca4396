//! Repositories, connectors and the process log.

use sea_orm_migration::prelude::*;

use super::{id_column, name, timestamp};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(name("repositories"))
                    .col(id_column())
                    .col(ColumnDef::new(name("name")).text().not_null().unique_key())
                    .col(ColumnDef::new(name("repository_type")).text().not_null())
                    .col(timestamp("created_at").not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(name("connectors"))
                    .col(id_column())
                    .col(ColumnDef::new(name("name")).text().not_null().unique_key())
                    .col(ColumnDef::new(name("connector_type")).text().not_null())
                    .col(ColumnDef::new(name("parameters")).text().not_null())
                    .col(ColumnDef::new(name("secrets")).text().not_null())
                    .col(
                        ColumnDef::new(name("run_consolidation"))
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(ColumnDef::new(name("last_test_status")).text())
                    .col(timestamp("last_tested_at"))
                    .col(ColumnDef::new(name("last_test_report")).text())
                    .col(timestamp("created_at").not_null())
                    .col(timestamp("updated_at").not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(name("processes"))
                    .col(id_column())
                    .col(ColumnDef::new(name("parent_id")).big_integer())
                    .col(
                        ColumnDef::new(name("repository_id"))
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(name("connector_id")).big_integer())
                    .col(ColumnDef::new(name("action")).text().not_null())
                    .col(ColumnDef::new(name("trigger")).text().not_null())
                    .col(ColumnDef::new(name("status")).text().not_null())
                    .col(
                        ColumnDef::new(name("clean"))
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(timestamp("queued_at").not_null())
                    .col(timestamp("started_at"))
                    .col(timestamp("finished_at"))
                    .col(ColumnDef::new(name("counts")).text().not_null())
                    .col(ColumnDef::new(name("message")).text())
                    .col(ColumnDef::new(name("host")).text())
                    .col(timestamp("heartbeat_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from(name("processes"), name("repository_id"))
                            .to(name("repositories"), name("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("processes_by_repository")
                    .table(name("processes"))
                    .col(name("repository_id"))
                    .col(name("queued_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("processes_by_status")
                    .table(name("processes"))
                    .col(name("status"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["processes", "connectors", "repositories"] {
            manager
                .drop_table(Table::drop().table(name(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
