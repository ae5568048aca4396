//! `users`: accounts of the HTTP API.

use sea_orm::entity::prelude::*;

use crate::values::Role;

/// One account. Never serialised: it holds the password hash.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Unique name.
    #[sea_orm(unique)]
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// Argon2id hash in the PHC string format.
    pub password_hash: String,
    /// A disabled account cannot sign in, and its tokens are refused.
    pub disabled: bool,
    /// When the password was last set.
    pub password_changed_at: ChronoDateTimeUtc,
    /// When it was created.
    pub created_at: ChronoDateTimeUtc,
}

/// No relations are navigated through SeaORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
