//! Accounts, API tokens and the audit log. Hashing is the caller's (the
//! host engine): the store keeps a password's Argon2id PHC string and a
//! token's SHA-256, never the password or the token.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::connect::Store;
use crate::entities::{api_token, audit_entry, session, user};
use crate::error::StoreError;
use crate::values::Role;

/// One line of the audit log to write.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    /// Who.
    pub actor: String,
    /// From which address (HTTP API).
    pub address: Option<String>,
    /// What (`connector.remove`).
    pub action: String,
    /// On what.
    pub target: String,
    /// `ok`, or why not.
    pub outcome: String,
}

impl Store {
    /// Creates an account.
    pub async fn create_user(
        &self,
        name: &str,
        role: Role,
        password_hash: String,
    ) -> Result<user::Model, StoreError> {
        let now = Utc::now();
        let row = user::ActiveModel {
            name: Set(name.to_owned()),
            role: Set(role),
            password_hash: Set(password_hash),
            disabled: Set(false),
            password_changed_at: Set(now),
            created_at: Set(now),
            ..Default::default()
        };
        row.insert(&self.db).await.map_err(|e| {
            if crate::mutations::unique_violation(&e) {
                StoreError::Duplicate {
                    what: "user",
                    name: name.to_owned(),
                }
            } else {
                e.into()
            }
        })
    }

    /// Every account, by name.
    pub async fn users(&self) -> Result<Vec<user::Model>, StoreError> {
        Ok(user::Entity::find()
            .order_by_asc(user::Column::Name)
            .all(&self.db)
            .await?)
    }

    /// The account named `name`.
    pub async fn user(&self, name: &str) -> Result<user::Model, StoreError> {
        user::Entity::find()
            .filter(user::Column::Name.eq(name))
            .one(&self.db)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "user",
                name: name.to_owned(),
                known: String::new(),
            })
    }

    /// The account named `name`, if there is one (no error either way:
    /// sign-in answers the same for a wrong name and a wrong password).
    pub async fn find_user(&self, name: &str) -> Result<Option<user::Model>, StoreError> {
        Ok(user::Entity::find()
            .filter(user::Column::Name.eq(name))
            .one(&self.db)
            .await?)
    }

    /// Sets an account's password hash; its tokens stay, its sessions end.
    pub async fn set_password(&self, id: i64, password_hash: String) -> Result<(), StoreError> {
        let row = user::ActiveModel {
            id: Set(id),
            password_hash: Set(password_hash),
            password_changed_at: Set(Utc::now()),
            ..Default::default()
        };
        row.update(&self.db).await?;
        Ok(())
    }

    /// Disables or enables an account.
    pub async fn set_disabled(&self, id: i64, disabled: bool) -> Result<(), StoreError> {
        let row = user::ActiveModel {
            id: Set(id),
            disabled: Set(disabled),
            ..Default::default()
        };
        row.update(&self.db).await?;
        Ok(())
    }

    /// Removes an account, its tokens and its sessions.
    pub async fn delete_user(&self, id: i64) -> Result<(), StoreError> {
        session::Entity::delete_many()
            .filter(session::Column::UserId.eq(id))
            .exec(&self.db)
            .await?;
        api_token::Entity::delete_many()
            .filter(api_token::Column::UserId.eq(id))
            .exec(&self.db)
            .await?;
        user::Entity::delete_by_id(id).exec(&self.db).await?;
        Ok(())
    }

    /// Stores a token by its hash.
    pub async fn create_token(
        &self,
        user_id: i64,
        token_hash: String,
        prefix: String,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<api_token::Model, StoreError> {
        let row = api_token::ActiveModel {
            user_id: Set(user_id),
            token_hash: Set(token_hash),
            prefix: Set(prefix),
            created_at: Set(Utc::now()),
            expires_at: Set(expires_at),
            revoked_at: Set(None),
            ..Default::default()
        };
        Ok(row.insert(&self.db).await?)
    }

    /// Every token, newest first, with its account's name.
    pub async fn tokens(&self) -> Result<Vec<(api_token::Model, String)>, StoreError> {
        let users: std::collections::HashMap<i64, String> = self
            .users()
            .await?
            .into_iter()
            .map(|u| (u.id, u.name))
            .collect();
        Ok(api_token::Entity::find()
            .order_by_desc(api_token::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|t| {
                let user = users.get(&t.user_id).cloned().unwrap_or_default();
                (t, user)
            })
            .collect())
    }

    /// The token with this hash and its account, whatever their state.
    pub async fn token_by_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<(api_token::Model, user::Model)>, StoreError> {
        let Some(token) = api_token::Entity::find()
            .filter(api_token::Column::TokenHash.eq(token_hash))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let user = user::Entity::find_by_id(token.user_id)
            .one(&self.db)
            .await?;
        Ok(user.map(|user| (token, user)))
    }

    /// Revokes token `id`; false when there is none, or it was revoked.
    pub async fn revoke_token(&self, id: i64) -> Result<bool, StoreError> {
        let done = api_token::Entity::update_many()
            .col_expr(
                api_token::Column::RevokedAt,
                sea_orm::sea_query::Expr::value(Utc::now()),
            )
            .filter(api_token::Column::Id.eq(id))
            .filter(api_token::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(done.rows_affected == 1)
    }

    /// Appends to the audit log.
    pub async fn audit(&self, record: AuditRecord) -> Result<(), StoreError> {
        let row = audit_entry::ActiveModel {
            at: Set(Utc::now()),
            actor: Set(record.actor),
            address: Set(record.address),
            action: Set(record.action),
            target: Set(record.target),
            outcome: Set(record.outcome),
            ..Default::default()
        };
        row.insert(&self.db).await?;
        Ok(())
    }

    /// The audit log, newest first, at most `limit` lines.
    pub async fn audit_log(&self, limit: u64) -> Result<Vec<audit_entry::Model>, StoreError> {
        Ok(audit_entry::Entity::find()
            .order_by_desc(audit_entry::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?)
    }
}

impl Store {
    /// Starts a session (stored by its hash).
    pub async fn create_session(
        &self,
        user_id: i64,
        token_hash: String,
        csrf_token: String,
        expires_at: DateTime<Utc>,
    ) -> Result<session::Model, StoreError> {
        let row = session::ActiveModel {
            user_id: Set(user_id),
            token_hash: Set(token_hash),
            csrf_token: Set(csrf_token),
            created_at: Set(Utc::now()),
            expires_at: Set(expires_at),
            revoked_at: Set(None),
            ..Default::default()
        };
        Ok(row.insert(&self.db).await?)
    }

    /// The session with this hash and its account, whatever their state.
    pub async fn session_by_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<(session::Model, user::Model)>, StoreError> {
        let Some(session) = session::Entity::find()
            .filter(session::Column::TokenHash.eq(token_hash))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let user = user::Entity::find_by_id(session.user_id)
            .one(&self.db)
            .await?;
        Ok(user.map(|user| (session, user)))
    }

    /// Ends session `id` (sign-out).
    pub async fn revoke_session(&self, id: i64) -> Result<(), StoreError> {
        session::Entity::update_many()
            .col_expr(
                session::Column::RevokedAt,
                sea_orm::sea_query::Expr::value(Utc::now()),
            )
            .filter(session::Column::Id.eq(id))
            .filter(session::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(())
    }
}
