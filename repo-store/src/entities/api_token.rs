//! `api_tokens`: bearer tokens of the HTTP API; only a hash is kept.

use sea_orm::entity::prelude::*;

/// One token.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_tokens")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The account it acts as.
    pub user_id: i64,
    /// SHA-256 of the token, hex.
    #[sea_orm(unique)]
    pub token_hash: String,
    /// The token's first characters, to tell tokens apart in lists.
    pub prefix: String,
    /// When it was created.
    pub created_at: ChronoDateTimeUtc,
    /// When it stops working, if ever.
    pub expires_at: Option<ChronoDateTimeUtc>,
    /// When it was revoked.
    pub revoked_at: Option<ChronoDateTimeUtc>,
}

/// No relations are navigated through SeaORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
