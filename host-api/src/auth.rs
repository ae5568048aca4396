//! Who is calling: a bearer token (`Authorization: Bearer ivh_…`) or a
//! browser session (the `invhost_session` cookie, whose state-changing
//! requests must also carry the session's `X-CSRF-Token`) stands for an
//! account and its role; each handler asks for the role it needs.

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
    /// The browser session it came with (none for a token).
    pub session: Option<accounts::Session>,
    credential: Credential,
    state: Arc<ApiState>,
}

/// What the caller presented, to check again during a long answer.
#[derive(Debug, Clone)]
enum Credential {
    Token(accounts::Secret),
    Session(accounts::Secret),
}

/// The client's address, when the server knows it.
#[derive(Debug, Clone)]
pub struct ClientAddress(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(a)| a.ip().to_string()),
        ))
    }
}

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "invhost_session";

/// The header a session's state-changing requests carry.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The value of cookie `name` in the request, if any.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
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

    /// Whether the credentials still hold (not revoked, expired, signed out
    /// or disabled since the request began): long answers (event streams)
    /// end when they do not.
    pub async fn still_valid(&self) -> bool {
        let now = chrono::Utc::now();
        match &self.credential {
            Credential::Token(token) => matches!(
                accounts::authenticate(&self.state.store, token.expose(), now).await,
                Ok(Ok(_))
            ),
            Credential::Session(cookie) => matches!(
                accounts::authenticate_session(&self.state.store, cookie.expose(), now).await,
                Ok(Ok(_))
            ),
        }
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
        let now = chrono::Utc::now();
        let Some(header) = parts.headers.get(AUTHORIZATION) else {
            let Some(value) = cookie(parts, SESSION_COOKIE) else {
                return Err(ApiError::unauthorized(
                    "no credentials: send `Authorization: Bearer TOKEN` (invhost token create), \
                     or sign in at POST /api/v1/session",
                ));
            };
            let session = match accounts::authenticate_session(&state.store, value, now).await {
                Ok(Ok(session)) => session,
                Ok(Err(refused)) => {
                    let text = refused.to_string().replace("the token", "the session");
                    return Err(ApiError::unauthorized(text));
                }
                Err(e) => return Err(ApiError::internal(&format!("{e:#}"))),
            };
            let safe = matches!(
                parts.method,
                axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
            );
            let csrf = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            if !safe && !csrf.is_some_and(|c| constant_time_eq(c, &session.csrf_token)) {
                return Err(ApiError::forbidden(
                    "missing or wrong X-CSRF-Token: a signed-in browser sends the token it got \
                     at sign-in with every change",
                ));
            }
            return Ok(Authed {
                caller: session.caller.clone(),
                address,
                session: Some(session),
                credential: Credential::Session(accounts::Secret::new(value.to_owned())),
                state: Arc::clone(state),
            });
        };
        let header = header
            .to_str()
            .map_err(|_| ApiError::unauthorized("the Authorization header is not text"))?;
        let token = header
            .strip_prefix("Bearer ")
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header must be `Bearer TOKEN`")
            })?
            .trim();
        match accounts::authenticate(&state.store, token, now).await {
            Ok(Ok(caller)) => Ok(Authed {
                caller,
                address,
                session: None,
                credential: Credential::Token(accounts::Secret::new(token.to_owned())),
                state: Arc::clone(state),
            }),
            Ok(Err(refused)) => Err(ApiError::unauthorized(refused.to_string())),
            Err(e) => Err(ApiError::internal(&format!("{e:#}"))),
        }
    }
}

/// Compares two strings in a time that does not depend on where they differ.
fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
