//! `sessions`: browser sessions of the HTTP API; only a hash is kept.

use sea_orm::entity::prelude::*;

/// One session.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
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

impl std::fmt::Debug for Model {
    /// Without the hashes and tokens it holds.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("session::Model")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .finish_non_exhaustive()
    }
}

/// No relations are navigated through SeaORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
