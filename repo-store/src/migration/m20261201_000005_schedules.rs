//! Schedules: named chains of actions due on a cron expression. A chained
//! process waits for its parent (the step before it) to end, and runs after
//! a failed one only when the chain continues on failure.

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
                    .table(name("schedules"))
                    .col(id_column())
                    .col(ColumnDef::new(name("name")).text().not_null().unique_key())
                    .col(ColumnDef::new(name("cron")).text().not_null())
                    .col(
                        ColumnDef::new(name("repository_id"))
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(name("actions")).text().not_null())
                    .col(
                        ColumnDef::new(name("continue_on_failure"))
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(
                        ColumnDef::new(name("enabled"))
                            .boolean()
                            .not_null()
                            .default(true),
                    )
                    .col(timestamp("next_due_at").not_null())
                    .col(
                        ColumnDef::new(name("fired"))
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(timestamp("last_due_at"))
                    .col(timestamp("last_fired_at"))
                    .col(ColumnDef::new(name("last_process_id")).big_integer())
                    .col(ColumnDef::new(name("last_note")).text())
                    .col(timestamp("created_at").not_null())
                    .col(timestamp("updated_at").not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(name("schedules"), name("repository_id"))
                            .to(name("repositories"), name("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(name("processes"))
                    .add_column(
                        ColumnDef::new(name("continue_on_failure"))
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("processes_by_parent")
                    .table(name("processes"))
                    .col(name("parent_id"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("processes_by_parent")
                    .table(name("processes"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(name("processes"))
                    .drop_column(name("continue_on_failure"))
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(name("schedules")).to_owned())
            .await
    }
}
