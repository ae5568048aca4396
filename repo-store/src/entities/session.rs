//! `sessions`: browser sessions of the HTTP API; only a hash is kept.

use sea_orm::entity::prelude::*;

/// One session.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The account signed in.
    pub user_id: i64,
    /// SHA-256 of the session cookie's value, hex.
    #[sea_orm(unique)]
    pub token_hash: String,
    /// The token every state-changing request of the session must carry.
    pub csrf_token: String,
    /// When it began.
    pub created_at: ChronoDateTimeUtc,
    /// When it ends.
    pub expires_at: ChronoDateTimeUtc,
    /// When it was ended (sign-out).
    pub revoked_at: Option<ChronoDateTimeUtc>,
}

/// No relations are navigated through SeaORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
