//! Connector and repository names are one name whatever their case:
//! "Contoso" and "contoso" are the same connector. A unique index on the
//! lower-cased name holds it on both backends, across hosts.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for table in ["connectors", "repositories"] {
            let clash = db
                .query_one(sea_orm_migration::sea_orm::Statement::from_string(
                    db.get_database_backend(),
                    format!(
                        "SELECT lower(name) AS n FROM {table} GROUP BY lower(name) HAVING count(*) > 1"
                    ),
                ))
                .await?;
            if let Some(row) = clash {
                let name: String = row.try_get("", "n")?;
                return Err(DbErr::Migration(format!(
                    "two {table} are named '{name}' but for case; rename one (names are now compared without regard to case)"
                )));
            }
            db.execute_unprepared(&format!(
                "CREATE UNIQUE INDEX ux_{table}_name_any_case ON {table} (lower(name))"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for table in ["connectors", "repositories"] {
            db.execute_unprepared(&format!("DROP INDEX ux_{table}_name_any_case"))
                .await?;
        }
        Ok(())
    }
}
