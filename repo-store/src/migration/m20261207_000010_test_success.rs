//! When a connector's Test last succeeded (no failed check), beside its last
//! attempt (`last_tested_at`, `last_test_status`): a failed attempt no longer
//! hides that the connector worked yesterday.

use sea_orm_migration::prelude::*;

use super::{name, timestamp};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(name("connectors"))
                    .add_column(timestamp("last_test_ok_at"))
                    .to_owned(),
            )
            .await?;
        // The attempts recorded so far that succeeded are successes.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE connectors SET last_test_ok_at = last_tested_at \
                 WHERE last_test_status IN ('ok', 'warning')",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(name("connectors"))
                    .drop_column(name("last_test_ok_at"))
                    .to_owned(),
            )
            .await
    }
}
