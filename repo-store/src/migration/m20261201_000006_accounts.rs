//! Accounts of the HTTP API: users with a role and an Argon2id password
//! hash, API tokens and browser sessions (only their SHA-256 is kept) and
//! the audit log of
//! every change made through the API or the account commands.

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
                    .table(name("users"))
                    .col(id_column())
                    .col(ColumnDef::new(name("name")).text().not_null().unique_key())
                    .col(ColumnDef::new(name("role")).text().not_null())
                    .col(ColumnDef::new(name("password_hash")).text().not_null())
                    .col(
                        ColumnDef::new(name("disabled"))
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(timestamp("password_changed_at").not_null())
                    .col(timestamp("created_at").not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(name("api_tokens"))
                    .col(id_column())
                    .col(ColumnDef::new(name("user_id")).big_integer().not_null())
                    .col(
                        ColumnDef::new(name("token_hash"))
                            .text()
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(name("prefix")).text().not_null())
                    .col(timestamp("created_at").not_null())
                    .col(timestamp("expires_at"))
                    .col(timestamp("revoked_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from(name("api_tokens"), name("user_id"))
                            .to(name("users"), name("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(name("sessions"))
                    .col(id_column())
                    .col(ColumnDef::new(name("user_id")).big_integer().not_null())
                    .col(
                        ColumnDef::new(name("token_hash"))
                            .text()
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(name("csrf_token")).text().not_null())
                    .col(timestamp("created_at").not_null())
                    .col(timestamp("expires_at").not_null())
                    .col(timestamp("revoked_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from(name("sessions"), name("user_id"))
                            .to(name("users"), name("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(name("audit_log"))
                    .col(id_column())
                    .col(timestamp("at").not_null())
                    .col(ColumnDef::new(name("actor")).text().not_null())
                    .col(ColumnDef::new(name("address")).text())
                    .col(ColumnDef::new(name("action")).text().not_null())
                    .col(ColumnDef::new(name("target")).text().not_null())
                    .col(ColumnDef::new(name("outcome")).text().not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["audit_log", "sessions", "api_tokens", "users"] {
            manager
                .drop_table(Table::drop().table(name(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
