//! `users`: accounts of the HTTP API.

use sea_orm::entity::prelude::*;

use crate::values::Role;

/// One account. Never serialised: it holds the password hash.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
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

impl std::fmt::Debug for Model {
    /// Without the hashes and tokens it holds.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("user::Model")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("role", &self.role)
            .field("disabled", &self.disabled)
            .field("password_changed_at", &self.password_changed_at)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// No relations are navigated through SeaORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
