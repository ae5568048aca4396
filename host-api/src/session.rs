//! Browser sessions: sign in with a name and password for an `HttpOnly`,
//! `SameSite=Strict` cookie (`Secure` under TLS) and a CSRF token; sign out
//! ends it. Failed sign-ins are limited per account and per address, and a
//! wrong name answers exactly like a wrong password.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use host_engine::accounts::{self, Secret};
use repo_store::AuditRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ApiState;
use crate::auth::{Authed, ClientAddress, SESSION_COOKIE};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, ErrorBody};

/// Failed sign-ins allowed per account, and per address, in [`WINDOW`].
const MAX_FAILURES: usize = 5;

/// The window failed sign-ins are counted in.
const WINDOW: Duration = Duration::from_secs(15 * 60);

/// A name and password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// Account name.
    pub name: String,
    /// Password.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A session begun.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// Account name.
    pub user: String,
    /// viewer, operator or admin.
    pub role: String,
    /// Send it in `X-CSRF-Token` with every change made in this session.
    pub csrf_token: String,
    /// When the session ends (RFC 3339, UTC).
    pub expires_at: String,
}

/// Entries kept at most; past this, the per-account ones are dropped (the
/// per-address ones stay).
const MAX_KEYS: usize = 100_000;

/// Counts this attempt as a failure before it is checked (so parallel
/// attempts cannot slip past the limit), unless one of `keys` is at the
/// limit already; `false` then.
fn reserve(state: &ApiState, keys: &[String]) -> bool {
    let Ok(mut failures) = state.sign_in_failures.lock() else {
        return false;
    };
    let now = Instant::now();
    failures.retain(|_, times| {
        times.retain(|t| now.duration_since(*t) < WINDOW);
        !times.is_empty()
    });
    if failures.len() > MAX_KEYS {
        failures.retain(|key, _| key.starts_with("address:"));
    }
    if keys
        .iter()
        .any(|key| failures.get(key).is_some_and(|t| t.len() >= MAX_FAILURES))
    {
        return false;
    }
    for key in keys {
        failures.entry(key.clone()).or_default().push(now);
    }
    true
}

/// Takes back the failure [`reserve`] counted: the attempt succeeded.
fn release(state: &ApiState, keys: &[String]) {
    if let Ok(mut failures) = state.sign_in_failures.lock() {
        for key in keys {
            if let Some(times) = failures.get_mut(key) {
                times.pop();
            }
        }
    }
}

/// Signs in: sets the session cookie and returns the CSRF token.
#[utoipa::path(post, path = "/api/v1/session", tag = "accounts", request_body = Credentials,
    responses((status = 200, body = SessionView), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn sign_in(
    State(state): State<Arc<ApiState>>,
    ClientAddress(address): ClientAddress,
    JsonBody(credentials): JsonBody<Credentials>,
) -> ApiResult<Response> {
    // A name no account could have is counted against the address only
    // (and never stored: it may be up to a megabyte long).
    let valid_name = accounts::is_user_name(&credentials.name);
    let mut keys = vec![format!("address:{}", address.as_deref().unwrap_or("-"))];
    if valid_name {
        keys.push(format!("user:{}", credentials.name));
    }
    let shown_name = if valid_name {
        credentials.name.clone()
    } else {
        "(not a user name)".to_owned()
    };
    let record = |outcome: &str| AuditRecord {
        actor: shown_name.clone(),
        address: address.clone(),
        action: "session.sign_in".into(),
        target: shown_name.clone(),
        outcome: outcome.into(),
    };
    if !reserve(&state, &keys) {
        accounts::audit(&state.store, record("refused: too many failed sign-ins")).await;
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed sign-ins for this account or address; try again in 15 minutes",
        ));
    }
    let password = Secret::new(credentials.password.clone());
    let name = if valid_name {
        credentials.name.as_str()
    } else {
        ""
    };
    let Some(signed) = accounts::sign_in(&state.store, name, &password).await? else {
        accounts::audit(&state.store, record("refused: wrong name or password")).await;
        return Err(ApiError::unauthorized("wrong name or password"));
    };
    release(&state, &keys);
    accounts::audit(&state.store, record("ok")).await;
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        signed.session.expose(),
        accounts::SESSION_LIFETIME.num_seconds(),
        if state.tls { "; Secure" } else { "" }
    );
    let body = SessionView {
        user: signed.caller.user,
        role: signed.caller.role.to_string(),
        csrf_token: signed.csrf_token,
        expires_at: signed.expires_at.to_rfc3339(),
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        SET_COOKIE,
        cookie
            .parse()
            .map_err(|_| ApiError::internal(&"the session cookie is not a header value"))?,
    );
    Ok((headers, Json(body)).into_response())
}

/// Signs out: ends the session and clears its cookie.
#[utoipa::path(delete, path = "/api/v1/session", tag = "accounts",
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn sign_out(State(state): State<Arc<ApiState>>, who: Authed) -> ApiResult<Response> {
    let Some(session) = &who.session else {
        return Err(ApiError::bad_request(
            "signing out ends a browser session; revoke a token with invhost token revoke",
        ));
    };
    state.store.revoke_session(session.id).await?;
    who.audit("session.sign_out", &who.caller.user, "ok").await;
    let mut headers = HeaderMap::new();
    headers.insert(
        SET_COOKIE,
        format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
            .parse()
            .map_err(|_| ApiError::internal(&"the session cookie is not a header value"))?,
    );
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}
