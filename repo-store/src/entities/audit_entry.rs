//! `audit_log`: who changed what, when, from where.

use sea_orm::entity::prelude::*;
use serde::Serialize;

/// One change, or one refused attempt.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// When.
    pub at: ChronoDateTimeUtc,
    /// The account (`alice`), or `local NAME@HOST` for a command line.
    pub actor: String,
    /// The client's address, for the HTTP API.
    pub address: Option<String>,
    /// What was done (`connector.remove`, `user.add`, ...).
    pub action: String,
    /// What it was done to (a name or an id).
    pub target: String,
    /// `ok`, or why it was refused or failed.
    pub outcome: String,
}

/// No relations are navigated through SeaORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
