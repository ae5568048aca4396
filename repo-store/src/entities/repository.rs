//! `repositories`: named inventory repositories.

use sea_orm::entity::prelude::*;
use serde::Serialize;

use crate::values::RepositoryType;

/// One repository.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "repositories")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Unique name (`Default Inventory`).
    #[sea_orm(unique)]
    pub name: String,
    /// What it holds, and so which actions run on it.
    pub repository_type: RepositoryType,
    /// When it was created.
    pub created_at: ChronoDateTimeUtc,
}

/// No relations are navigated through SeaORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
