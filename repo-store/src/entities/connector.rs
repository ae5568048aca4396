//! `connectors`: configured connectors, secrets encrypted.

use sea_orm::entity::prelude::*;
use serde::Serialize;

/// One configured connector.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "connectors")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Unique name; its action is `Sync Data - <name>`.
    #[sea_orm(unique)]
    pub name: String,
    /// Connector type id (`o365`, `csv-inventory`).
    pub connector_type: String,
    /// Non-secret parameters, a JSON object.
    pub parameters: String,
    /// Secret parameters, a JSON object encrypted with the store's key
    /// (`v1:` + hex of nonce and ciphertext); never serialised.
    #[serde(skip)]
    pub secrets: String,
    /// Queue consolidation after each sync.
    pub run_consolidation: bool,
    /// Last Test's overall status (`ok`, `warning`, `failed`).
    pub last_test_status: Option<String>,
    /// When it was last tested (the last attempt, whatever its result).
    pub last_tested_at: Option<ChronoDateTimeUtc>,
    /// When a Test last succeeded (`ok` or `warning`).
    pub last_test_ok_at: Option<ChronoDateTimeUtc>,
    /// Last Test's report, a JSON object.
    pub last_test_report: Option<String>,
    /// When it was created.
    pub created_at: ChronoDateTimeUtc,
    /// When it was last changed.
    pub updated_at: ChronoDateTimeUtc,
}

/// No relations are navigated through SeaORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
