//! Who is calling: a bearer token (`Authorization: Bearer ivh_…`) stands
//! for an account and its role; each handler asks for the role it needs.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use host_engine::accounts::{self, Caller};
use repo_store::{AuditRecord, Role};

use crate::ApiState;
use crate::error::ApiError;

/// An authenticated caller and where the request came from.
#[derive(Debug, Clone)]
pub struct Authed {
    /// The account.
    pub caller: Caller,
    /// The client's address.
    pub address: Option<String>,
    state: Arc<ApiState>,
}

impl Authed {
    /// Refuses (403) a caller whose role is below `role`, and records the
    /// refusal of a change.
    pub async fn require(&self, role: Role, action: &str, target: &str) -> Result<(), ApiError> {
        if self.caller.role >= role {
            return Ok(());
        }
        let message = format!(
            "{action} needs the {role} role; '{}' is {} {}",
            self.caller.user,
            if self.caller.role == Role::Admin {
                "an"
            } else {
                "a"
            },
            self.caller.role
        );
        if role > Role::Viewer {
            self.audit(action, target, &format!("refused: needs {role}"))
                .await;
        }
        Err(ApiError::forbidden(message))
    }

    /// Records a change made by this caller.
    pub async fn audit(&self, action: &str, target: &str, outcome: &str) {
        accounts::audit(
            &self.state.store,
            AuditRecord {
                actor: self.caller.user.clone(),
                address: self.address.clone(),
                action: action.to_owned(),
                target: target.to_owned(),
                outcome: outcome.to_owned(),
            },
        )
        .await;
    }
}

impl FromRequestParts<Arc<ApiState>> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<ApiState>,
    ) -> Result<Self, Self::Rejection> {
        let address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(a)| a.ip().to_string());
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "no credentials: send `Authorization: Bearer TOKEN` (invhost token create)",
                )
            })?
            .to_str()
            .map_err(|_| ApiError::unauthorized("the Authorization header is not text"))?;
        let token = header
            .strip_prefix("Bearer ")
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header must be `Bearer TOKEN`")
            })?
            .trim();
        match accounts::authenticate(&state.store, token, chrono::Utc::now()).await {
            Ok(Ok(caller)) => Ok(Authed {
                caller,
                address,
                state: Arc::clone(state),
            }),
            Ok(Err(refused)) => Err(ApiError::unauthorized(refused.to_string())),
            Err(e) => Err(ApiError::internal(&format!("{e:#}"))),
        }
    }
}
