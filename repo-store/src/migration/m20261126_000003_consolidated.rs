//! The consolidated tables that *Generate Report - Basic Inventory
//! Consolidation* rebuilds per repository.
//!
//! Every row carries `repository_id`; a consolidation deletes a
//! repository's rows and rebuilds them in one transaction. Numbered ids
//! (`cons_products`, `cons_devices`, `cons_users`) are stable only within
//! one consolidation.

use sea_orm_migration::prelude::*;

use super::name;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A column: name, type, not null.
type Col = (&'static str, Kind, bool);

#[derive(Clone, Copy)]
enum Kind {
    Text,
    BigInt,
    Int,
    Bool,
}

use Kind::{BigInt, Bool, Int, Text};

/// A table: name, an `id` column first, its columns, its primary key (when
/// not `id`), and indexes.
struct Spec {
    name: &'static str,
    id: bool,
    columns: &'static [Col],
    key: &'static [&'static str],
    indexes: &'static [&'static [&'static str]],
}

static TABLES: &[Spec] = &[
    // One row per repository: when and how it was last consolidated.
    Spec {
        name: "cons_runs",
        id: false,
        columns: &[
            ("repository_id", BigInt, true),
            ("process_id", BigInt, false),
            ("consolidated_at", Text, true),
            ("as_of", Text, true),
            ("used_days", Int, true),
            ("rarely_used_days", Int, true),
            ("rule_files", Text, true),
            ("summary", Text, true),
            ("notes", Text, true),
        ],
        key: &["repository_id"],
        indexes: &[],
    },
    Spec {
        name: "cons_products",
        id: true,
        columns: &[
            ("repository_id", BigInt, true),
            ("vendor", Text, true),
            ("product", Text, true),
            ("edition", Text, true),
            ("version", Text, true),
            // The rule that named it and where it lives; NULL when unmatched.
            ("rule", Text, false),
            ("rule_source", Text, false),
            // What usage reports say of it: 0 nothing, 1 named and current,
            // 2 only concealed names, 3 only reports older than their period.
            ("coverage", Int, true),
        ],
        key: &[],
        indexes: &[&["repository_id", "vendor", "product", "edition", "version"]],
    },
    // One row per distinct raw title: the product it is.
    Spec {
        name: "cons_title_names",
        id: false,
        columns: &[
            ("repository_id", BigInt, true),
            // '' where the source gives none.
            ("name", Text, true),
            ("publisher", Text, true),
            ("version", Text, true),
            ("platform", Text, true),
            ("product_id", BigInt, true),
        ],
        key: &["repository_id", "name", "publisher", "version", "platform"],
        indexes: &[],
    },
    // One row per raw application: the product it is.
    Spec {
        name: "cons_titles",
        id: false,
        columns: &[
            ("repository_id", BigInt, true),
            ("connector_id", BigInt, true),
            ("source_key", Text, true),
            ("product_id", BigInt, true),
        ],
        key: &["repository_id", "connector_id", "source_key"],
        indexes: &[&["repository_id", "product_id"]],
    },
    // One row per raw device: its merge keys and the consolidated device.
    Spec {
        name: "cons_device_sources",
        id: false,
        columns: &[
            ("repository_id", BigInt, true),
            ("connector_id", BigInt, true),
            ("source_key", Text, true),
            ("entra_key", Text, false),
            ("serial_key", Text, false),
            ("name_key", Text, false),
            ("merge_key", Text, false),
            ("matched_by", Text, false),
            ("device_id", BigInt, false),
        ],
        key: &["repository_id", "connector_id", "source_key"],
        indexes: &[
            &["repository_id", "entra_key"],
            &["repository_id", "serial_key"],
            &["repository_id", "name_key"],
            &["repository_id", "device_id"],
        ],
    },
    Spec {
        name: "cons_devices",
        id: true,
        columns: &[
            ("repository_id", BigInt, true),
            ("merge_key", Text, true),
            ("name", Text, false),
            ("serial_number", Text, false),
            ("entra_device_id", Text, false),
            ("manufacturer", Text, false),
            ("model", Text, false),
            ("operating_system", Text, false),
            ("primary_user", Text, false),
            ("last_seen", Text, false),
            ("sources", BigInt, true),
        ],
        key: &[],
        indexes: &[&["repository_id", "merge_key"]],
    },
    Spec {
        name: "cons_users",
        id: true,
        columns: &[
            ("repository_id", BigInt, true),
            // lower(UPN), or `concealed:<id>` for a concealed report identity.
            ("user_key", Text, true),
            ("user_principal_name", Text, true),
            ("display_name", Text, false),
            ("concealed", Bool, true),
            // Named in a current usage report (any application).
            ("reported", Bool, true),
        ],
        key: &[],
        indexes: &[&["repository_id", "user_key"]],
    },
    // Distinct usage-report applications and the product they prove use of.
    Spec {
        name: "cons_usage_apps",
        id: false,
        columns: &[
            ("repository_id", BigInt, true),
            ("application", Text, true),
            ("vendor", Text, true),
            ("product", Text, true),
        ],
        key: &["repository_id", "application"],
        indexes: &[],
    },
    // Usage per user and report application.
    Spec {
        name: "cons_user_usage",
        id: false,
        columns: &[
            ("repository_id", BigInt, true),
            ("user_id", BigInt, true),
            ("application", Text, true),
            ("vendor", Text, true),
            ("product", Text, true),
            ("last_activity", Text, false),
            ("refresh_date", Text, true),
            ("period_days", Int, true),
            // 1 Used, 2 Rarely Used, 3 Unused, 4 Unreported.
            ("state", Int, true),
            ("reason", Text, true),
        ],
        key: &["repository_id", "user_id", "application"],
        indexes: &[&["repository_id", "vendor", "product"]],
    },
    Spec {
        name: "cons_installations",
        id: false,
        columns: &[
            ("repository_id", BigInt, true),
            ("device_id", BigInt, true),
            ("product_id", BigInt, true),
            ("installed_on", Text, false),
            ("last_used", Text, false),
            ("state", Int, true),
            ("reason", Text, true),
            // Raw installations merged into it.
            ("sources", BigInt, true),
        ],
        key: &["repository_id", "device_id", "product_id"],
        indexes: &[&["repository_id", "product_id"]],
    },
    // Licence assignments per consolidated user and SKU, judged.
    Spec {
        name: "cons_assignments",
        id: false,
        columns: &[
            ("repository_id", BigInt, true),
            ("user_id", BigInt, true),
            ("sku_id", Text, true),
            ("assigned_on", Text, false),
            ("last_activity", Text, false),
            ("refresh_date", Text, false),
            ("state", Int, true),
            ("reason", Text, true),
            ("reclaimable", Bool, true),
        ],
        key: &["repository_id", "user_id", "sku_id"],
        indexes: &[],
    },
    Spec {
        name: "cons_licences",
        id: false,
        columns: &[
            ("repository_id", BigInt, true),
            ("sku_id", Text, true),
            ("part_number", Text, false),
            ("name", Text, false),
            ("prepaid", BigInt, false),
            ("assigned", BigInt, true),
            ("active", BigInt, true),
            ("inactive", BigInt, true),
            ("unreported", BigInt, true),
            ("reclaimable", BigInt, true),
        ],
        key: &["repository_id", "sku_id"],
        indexes: &[],
    },
];

/// The consolidated tables, in the order a consolidation clears them.
pub(crate) fn table_names() -> impl Iterator<Item = &'static str> {
    TABLES.iter().map(|t| t.name)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for spec in TABLES {
            let mut create = Table::create();
            create.table(name(spec.name));
            if spec.id {
                create.col(super::id_column());
            }
            for (column, kind, not_null) in spec.columns {
                let mut def = ColumnDef::new(name(column));
                match kind {
                    Text => def.text(),
                    BigInt => def.big_integer(),
                    Int => def.integer(),
                    Bool => def.boolean(),
                };
                if *not_null {
                    def.not_null();
                }
                create.col(def);
            }
            if !spec.key.is_empty() {
                let mut key = Index::create();
                for column in spec.key {
                    key.col(name(column));
                }
                create.primary_key(&mut key);
            }
            manager.create_table(create.to_owned()).await?;
            for (n, columns) in spec.indexes.iter().enumerate() {
                let mut index = Index::create();
                index
                    .name(format!("ix_{}_{n}", spec.name))
                    .table(name(spec.name));
                for column in *columns {
                    index.col(name(column));
                }
                manager.create_index(index.to_owned()).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for spec in TABLES.iter().rev() {
            manager
                .drop_table(Table::drop().table(name(spec.name)).to_owned())
                .await?;
        }
        Ok(())
    }
}
