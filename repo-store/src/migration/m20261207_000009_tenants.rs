//! Merge keys folded in Rust, and the tenant each connector's rows came from.
//!
//! - The raw tables get merge-key columns (`name_fold`, `upn_fold`, ...):
//!   the Unicode case fold of a name, written with the row, so that both
//!   backends merge `ÅSA-PC` and `åsa-pc` alike. Rows already stored get
//!   theirs here.
//! - `raw_sources` records, per repository and connector, the tenant its
//!   last published sync reported (Microsoft 365: the tenant id).
//! - The consolidated tables carry the tenant: licences are summed per
//!   tenant and SKU, users and Entra devices never merge across tenants.
//!   `cons_licences` is rebuilt with the tenant in its key, its rows kept.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Value};

use super::name;
use crate::fold::fold_opt;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The merge-key columns added to each raw table, with the column each folds.
pub(crate) const FOLDS: &[(&str, &[(&str, &str)])] = &[
    (
        "raw_devices",
        &[
            ("name_fold", "name"),
            ("serial_fold", "serial_number"),
            ("primary_user_fold", "primary_user"),
        ],
    ),
    ("raw_users", &[("upn_fold", "user_principal_name")]),
    ("raw_application_usage", &[("user_fold", "user_name")]),
];

/// Consolidated tables this migration creates (cleared by each consolidation).
pub(crate) const NEW_CONSOLIDATED: &[&str] = &["cons_user_names"];

/// Rows whose keys are computed per statement while backfilling.
const BACKFILL_CHUNK: usize = 2_000;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (table, folds) in FOLDS {
            for (column, _) in *folds {
                add_text(manager, table, column, false).await?;
            }
            backfill(db, table, folds).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(name("raw_sources"))
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
                    .col(ColumnDef::new(name("tenant")).text())
                    .col(ColumnDef::new(name("run_id")).big_integer().not_null())
                    .primary_key(
                        Index::create()
                            .col(name("repository_id"))
                            .col(name("connector_id")),
                    )
                    .to_owned(),
            )
            .await?;
        add_text(manager, "cons_device_sources", "tenant", true).await?;
        add_text(manager, "cons_devices", "primary_user_key", false).await?;
        add_text(manager, "cons_users", "tenant", true).await?;
        add_text(manager, "cons_assignments", "tenant", true).await?;
        manager
            .create_table(
                Table::create()
                    .table(name("cons_user_names"))
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
                    .col(ColumnDef::new(name("fold")).text().not_null())
                    .col(ColumnDef::new(name("tenant")).text().not_null())
                    .col(ColumnDef::new(name("user_key")).text())
                    .primary_key(
                        Index::create()
                            .col(name("repository_id"))
                            .col(name("connector_id"))
                            .col(name("fold")),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_cons_user_names_fold")
                    .table(name("cons_user_names"))
                    .col(name("repository_id"))
                    .col(name("fold"))
                    .to_owned(),
            )
            .await?;
        // The tenant joins the licences' key; the rows stay (tenant '').
        db.execute_unprepared("ALTER TABLE cons_licences RENAME TO cons_licences_before_tenants")
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(name("cons_licences"))
                    .col(
                        ColumnDef::new(name("repository_id"))
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(name("tenant")).text().not_null())
                    .col(ColumnDef::new(name("sku_id")).text().not_null())
                    .col(ColumnDef::new(name("part_number")).text())
                    .col(ColumnDef::new(name("name")).text())
                    .col(ColumnDef::new(name("prepaid")).big_integer())
                    .col(ColumnDef::new(name("assigned")).big_integer().not_null())
                    .col(ColumnDef::new(name("active")).big_integer().not_null())
                    .col(ColumnDef::new(name("inactive")).big_integer().not_null())
                    .col(ColumnDef::new(name("unreported")).big_integer().not_null())
                    .col(ColumnDef::new(name("reclaimable")).big_integer().not_null())
                    .primary_key(
                        Index::create()
                            .col(name("repository_id"))
                            .col(name("tenant"))
                            .col(name("sku_id")),
                    )
                    .to_owned(),
            )
            .await?;
        db.execute_unprepared(
            "INSERT INTO cons_licences (repository_id, tenant, sku_id, part_number, name, prepaid, \
               assigned, active, inactive, unreported, reclaimable) \
             SELECT repository_id, '', sku_id, part_number, name, prepaid, assigned, active, \
               inactive, unreported, reclaimable FROM cons_licences_before_tenants",
        )
        .await?;
        db.execute_unprepared("DROP TABLE cons_licences_before_tenants")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DELETE FROM cons_licences WHERE tenant <> ''")
            .await?;
        db.execute_unprepared("ALTER TABLE cons_licences RENAME TO cons_licences_with_tenants")
            .await?;
        db.execute_unprepared(
            "CREATE TABLE cons_licences (repository_id BIGINT NOT NULL, sku_id TEXT NOT NULL, \
               part_number TEXT, name TEXT, prepaid BIGINT, assigned BIGINT NOT NULL, \
               active BIGINT NOT NULL, inactive BIGINT NOT NULL, unreported BIGINT NOT NULL, \
               reclaimable BIGINT NOT NULL, PRIMARY KEY (repository_id, sku_id))",
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO cons_licences SELECT repository_id, sku_id, part_number, name, prepaid, \
               assigned, active, inactive, unreported, reclaimable FROM cons_licences_with_tenants",
        )
        .await?;
        db.execute_unprepared("DROP TABLE cons_licences_with_tenants")
            .await?;
        for table in ["cons_user_names", "raw_sources"] {
            manager
                .drop_table(Table::drop().table(name(table)).to_owned())
                .await?;
        }
        for (table, column) in [
            ("cons_assignments", "tenant"),
            ("cons_users", "tenant"),
            ("cons_devices", "primary_user_key"),
            ("cons_device_sources", "tenant"),
        ] {
            drop_column(manager, table, column).await?;
        }
        for (table, folds) in FOLDS {
            for (column, _) in *folds {
                drop_column(manager, table, column).await?;
            }
        }
        Ok(())
    }
}

/// Adds a text column (`NOT NULL DEFAULT ''` when `required`); one per
/// statement, as SQLite alters.
async fn add_text(
    manager: &SchemaManager<'_>,
    table: &str,
    column: &str,
    required: bool,
) -> Result<(), DbErr> {
    let mut def = ColumnDef::new(name(column));
    def.text();
    if required {
        def.not_null().default("");
    }
    manager
        .alter_table(Table::alter().table(name(table)).add_column(def).to_owned())
        .await
}

async fn drop_column(manager: &SchemaManager<'_>, table: &str, column: &str) -> Result<(), DbErr> {
    manager
        .alter_table(
            Table::alter()
                .table(name(table))
                .drop_column(name(column))
                .to_owned(),
        )
        .await
}

/// Gives the rows already stored their merge keys, a bounded chunk at a
/// time (keyset order), so that memory does not grow with the table.
async fn backfill(
    db: &SchemaManagerConnection<'_>,
    table: &str,
    folds: &[(&str, &str)],
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let sources: Vec<&str> = folds.iter().map(|(_, source)| *source).collect();
    let mut after: Option<(i64, i64, String)> = None;
    loop {
        let (filter, values): (&str, Vec<Value>) = match &after {
            None => ("", vec![]),
            Some((r, c, k)) => (
                "WHERE (repository_id > ? OR (repository_id = ? AND (connector_id > ? \
                   OR (connector_id = ? AND source_key > ?))))",
                vec![
                    (*r).into(),
                    (*r).into(),
                    (*c).into(),
                    (*c).into(),
                    k.clone().into(),
                ],
            ),
        };
        let sql = format!(
            "SELECT repository_id, connector_id, source_key, {} FROM {table} {filter} \
             ORDER BY repository_id, connector_id, source_key LIMIT {BACKFILL_CHUNK}",
            sources.join(", ")
        );
        let rows = db
            .query_all(crate::consolidation::bind_sql(backend, &sql, values))
            .await?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = Some((
            last.try_get_by_index(0)?,
            last.try_get_by_index(1)?,
            last.try_get_by_index(2)?,
        ));
        for row in &rows {
            let (r, c, k): (i64, i64, String) = (
                row.try_get_by_index(0)?,
                row.try_get_by_index(1)?,
                row.try_get_by_index(2)?,
            );
            // One statement per row, once, at the upgrade: the keys are
            // Unicode folds no SQL of either backend computes alike.
            let mut sets = Vec::new();
            let mut values: Vec<Value> = Vec::new();
            for (i, (column, _)) in folds.iter().enumerate() {
                let text: Option<String> = row.try_get_by_index(3 + i)?;
                if let Some(key) = fold_opt(text.as_deref()) {
                    sets.push(format!("{column} = ?"));
                    values.push(key.into());
                }
            }
            if sets.is_empty() {
                continue;
            }
            values.extend([r.into(), c.into(), k.into()]);
            let sql = format!(
                "UPDATE {table} SET {} WHERE repository_id = ? AND connector_id = ? AND source_key = ?",
                sets.join(", ")
            );
            db.execute(crate::consolidation::bind_sql(backend, &sql, values))
                .await?;
        }
        if rows.len() < BACKFILL_CHUNK {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use sea_orm_migration::MigratorTrait;
    use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};

    use crate::migration::Migrator;

    /// A database of the version before: its rows get their merge keys and
    /// its consolidated licences stay, and the migration goes back down.
    #[tokio::test]
    async fn an_upgrade_folds_the_stored_rows_and_keeps_the_licences() {
        let dir = tempfile::tempdir().expect("a folder");
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("db.sqlite").display()
        );
        let store = crate::Store::connect(&url).await.expect("a store");
        let db = &store.db;
        let exec = |sql: &str| {
            db.execute(Statement::from_string(
                sea_orm_migration::sea_orm::DbBackend::Sqlite,
                sql.to_owned(),
            ))
        };
        // Back to before this migration (and the one after it).
        Migrator::down(db, Some(2)).await.expect("down");
        for n in 0..(super::BACKFILL_CHUNK + 3) {
            exec(&format!(
                "INSERT INTO raw_devices (repository_id, connector_id, source_key, name, primary_user, \
                   first_seen_run, last_seen_run) VALUES (1, 1, 'd{n:05}', 'ÅSA-PC-{n}', ' Jürgen@X ', 1, 1)"
            ))
            .await
            .expect("a device");
        }
        exec(
            "INSERT INTO raw_users (repository_id, connector_id, source_key, user_principal_name, \
                first_seen_run, last_seen_run) VALUES (1, 1, 'u', 'ÉVA@X', 1, 1)",
        )
        .await
        .expect("a user");
        exec("INSERT INTO cons_licences (repository_id, sku_id, assigned, active, inactive, unreported, \
                reclaimable) VALUES (1, 'sku', 3, 1, 2, 0, 2)")
            .await
            .expect("a licence");
        Migrator::up(db, None).await.expect("up");

        let row = db
            .query_one(Statement::from_string(
                sea_orm_migration::sea_orm::DbBackend::Sqlite,
                "SELECT count(*), min(name_fold), max(name_fold), min(primary_user_fold), \
                   count(serial_fold) FROM raw_devices WHERE name_fold LIKE 'åsa-pc-%'",
            ))
            .await
            .expect("a query")
            .expect("a row");
        let count: i64 = row.try_get_by_index(0).expect("count");
        assert_eq!(count as usize, super::BACKFILL_CHUNK + 3, "every chunk");
        assert_eq!(row.try_get_by_index::<String>(1).expect("min"), "åsa-pc-0");
        assert_eq!(row.try_get_by_index::<String>(3).expect("user"), "jürgen@x");
        assert_eq!(row.try_get_by_index::<i64>(4).expect("serials"), 0);
        let upn = db
            .query_one(Statement::from_string(
                sea_orm_migration::sea_orm::DbBackend::Sqlite,
                "SELECT upn_fold FROM raw_users",
            ))
            .await
            .expect("a query")
            .expect("a row");
        assert_eq!(upn.try_get_by_index::<String>(0).expect("upn"), "éva@x");
        let licence = db
            .query_one(Statement::from_string(
                sea_orm_migration::sea_orm::DbBackend::Sqlite,
                "SELECT tenant, reclaimable FROM cons_licences",
            ))
            .await
            .expect("a query")
            .expect("a row");
        assert_eq!(licence.try_get_by_index::<String>(0).expect("tenant"), "");
        assert_eq!(licence.try_get_by_index::<i64>(1).expect("reclaimable"), 2);

        Migrator::down(db, Some(2)).await.expect("down again");
        Migrator::up(db, None).await.expect("up again");
    }
}
