//! Accounts of the HTTP API: names with a role and an Argon2id password,
//! bearer tokens (shown once, kept as a SHA-256), and the audit log.

use std::fmt;

use anyhow::{Context, Result, bail};
use argon2::Argon2;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, TimeDelta, Utc};
use repo_store::{AuditRecord, Role, Store, TokenRow, UserRow};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// How every token starts, so that a leaked one is easy to recognise.
pub const TOKEN_PREFIX: &str = "ivh_";

/// Passwords shorter than this are refused.
const MIN_PASSWORD: usize = 12;

pub use super::secrets::Secret;

/// Whether `name` could be an account's name (see [`add_user`]).
pub fn is_user_name(name: &str) -> bool {
    check_user_name(name).is_ok()
}

fn check_user_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if !ok {
        bail!(
            "a user name has 1 to 64 characters: letters, digits, '.', '_', '-' or '@' ('{name}' does not)"
        );
    }
    Ok(())
}

fn hash_password(password: &Secret) -> Result<String> {
    if password.expose().chars().count() < MIN_PASSWORD {
        bail!("a password needs at least {MIN_PASSWORD} characters");
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| anyhow::anyhow!("the password could not be hashed"))
}

/// Whether `password` is the one `hash` was made from (Argon2id, constant time).
pub fn verify_password(hash: &str, password: &Secret) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Adds an account.
pub async fn add_user(store: &Store, name: &str, role: Role, password: &Secret) -> Result<UserRow> {
    check_user_name(name)?;
    let hash = hash_password(password)?;
    Ok(store.create_user(name, role, hash).await?)
}

/// Sets an account's password.
pub async fn set_password(store: &Store, name: &str, password: &Secret) -> Result<()> {
    let user = store.user(name).await?;
    let hash = hash_password(password)?;
    Ok(store.set_password(user.id, hash).await?)
}

/// An account as lists show it: never its hash.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    /// Name.
    pub name: String,
    /// Role: viewer, operator or admin.
    #[schema(value_type = String)]
    pub role: Role,
    /// Disabled accounts cannot sign in; their tokens are refused.
    pub disabled: bool,
    /// When it was created (RFC 3339, UTC).
    pub created_at: String,
    /// When its password was last set.
    pub password_changed_at: String,
}

/// The view of an account.
pub fn user_view(user: &UserRow) -> UserView {
    UserView {
        name: user.name.clone(),
        role: user.role,
        disabled: user.disabled,
        created_at: user.created_at.to_rfc3339(),
        password_changed_at: user.password_changed_at.to_rfc3339(),
    }
}

/// A token as lists show it: its first characters, never the token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenView {
    /// Id, for `token revoke`.
    pub id: i64,
    /// The account it acts as.
    pub user: String,
    /// Its first characters.
    pub prefix: String,
    /// When it was created.
    pub created_at: String,
    /// When it stops working (null: never).
    pub expires_at: Option<String>,
    /// When it was revoked.
    pub revoked_at: Option<String>,
}

/// The view of a token.
pub fn token_view(token: &TokenRow, user: &str) -> TokenView {
    TokenView {
        id: token.id,
        user: user.to_owned(),
        prefix: format!("{}…", token.prefix),
        created_at: token.created_at.to_rfc3339(),
        expires_at: token.expires_at.map(|t| t.to_rfc3339()),
        revoked_at: token.revoked_at.map(|t| t.to_rfc3339()),
    }
}

/// A line of the audit log as lists show it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditView {
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The account, or `local USER@HOST` for the command line.
    pub actor: String,
    /// The client's address (HTTP API).
    pub address: Option<String>,
    /// What was done (`connector.remove`).
    pub action: String,
    /// On what.
    pub target: String,
    /// `ok`, or why it was refused.
    pub outcome: String,
}

/// The view of an audit line.
pub fn audit_view(row: &repo_store::AuditRow) -> AuditView {
    AuditView {
        at: row.at.to_rfc3339(),
        actor: row.actor.clone(),
        address: row.address.clone(),
        action: row.action.clone(),
        target: row.target.clone(),
        outcome: row.outcome.clone(),
    }
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Parses a lifetime: `90d`, `12h`, `30m`, `2w`, or `never`.
pub fn parse_lifetime(text: &str) -> Result<Option<TimeDelta>, String> {
    if text == "never" {
        return Ok(None);
    }
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: i64 = number.parse().map_err(|_| {
        format!("'{text}': a lifetime is a number and a unit (90d, 12h, 30m, 2w) or never")
    })?;
    let delta = match unit {
        "m" => TimeDelta::try_minutes(n),
        "h" => TimeDelta::try_hours(n),
        "d" => TimeDelta::try_days(n),
        "w" => TimeDelta::try_weeks(n),
        _ => None,
    };
    match delta {
        Some(d) if n > 0 => Ok(Some(d)),
        _ => Err(format!(
            "'{text}': a lifetime is a positive number and a unit (m, h, d, w), or never"
        )),
    }
}

/// Creates a token for `user`; the token itself is returned once and never
/// stored.
pub async fn create_token(
    store: &Store,
    user: &str,
    lifetime: Option<TimeDelta>,
) -> Result<(Secret, TokenRow)> {
    let user = store.user(user).await?;
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let token = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
    let expires_at = lifetime.map(|d| Utc::now() + d);
    let row = store
        .create_token(
            user.id,
            token_hash(&token),
            token[..TOKEN_PREFIX.len() + 8].to_owned(),
            expires_at,
        )
        .await
        .context("storing the token")?;
    Ok((Secret::new(token), row))
}

/// Who made a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The account's name.
    pub user: String,
    /// Its role.
    pub role: Role,
}

/// Why a token was refused; the answer names no more than this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No such token.
    Unknown,
    /// It expired.
    Expired,
    /// It was revoked.
    Revoked,
    /// Its account is disabled.
    Disabled,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refused::Unknown => "the token is not valid",
            Refused::Expired => "the token has expired",
            Refused::Revoked => "the token was revoked (or the session ended)",
            Refused::Disabled => "the token's account is disabled",
        })
    }
}

/// The caller a bearer token stands for, at `now`.
pub async fn authenticate(
    store: &Store,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Result<Caller, Refused>> {
    if !token.starts_with(TOKEN_PREFIX) {
        return Ok(Err(Refused::Unknown));
    }
    let Some((token, user)) = store.token_by_hash(&token_hash(token)).await? else {
        return Ok(Err(Refused::Unknown));
    };
    if token.revoked_at.is_some() {
        return Ok(Err(Refused::Revoked));
    }
    if token.expires_at.is_some_and(|at| at <= now) {
        return Ok(Err(Refused::Expired));
    }
    if user.disabled {
        return Ok(Err(Refused::Disabled));
    }
    Ok(Ok(Caller {
        user: user.name,
        role: user.role,
    }))
}

/// How long a browser session lasts.
pub const SESSION_LIFETIME: TimeDelta = TimeDelta::hours(12);

/// A session begun by signing in.
#[derive(Debug)]
pub struct SignedIn {
    /// The account.
    pub caller: Caller,
    /// The session cookie's value (shown to the browser once).
    pub session: Secret,
    /// The token every state-changing request of the session carries.
    pub csrf_token: String,
    /// When the session ends.
    pub expires_at: DateTime<Utc>,
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A hash to verify against when the name is unknown, so that a wrong name
/// takes as long as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(random_hex().as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// Signs in with a name and password; `None` for a wrong name, a wrong
/// password or a disabled account alike (and in the same time).
pub async fn sign_in(store: &Store, name: &str, password: &Secret) -> Result<Option<SignedIn>> {
    let user = store.find_user(name).await?;
    let hash = user
        .as_ref()
        .map_or_else(|| dummy_hash().to_owned(), |u| u.password_hash.clone());
    let password = password.clone();
    // Argon2 takes tens of milliseconds and ~19 MiB: a few at a time, so a
    // burst of sign-ins cannot take the host's memory.
    static CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);
    let _turn = CHECKS.acquire().await.context("checking the password")?;
    let matches = tokio::task::spawn_blocking(move || verify_password(&hash, &password))
        .await
        .context("checking the password")?;
    let Some(user) = user.filter(|u| matches && !u.disabled) else {
        return Ok(None);
    };
    let session = format!("ivs_{}", random_hex());
    let csrf_token = random_hex();
    let expires_at = Utc::now() + SESSION_LIFETIME;
    store
        .create_session(
            user.id,
            token_hash(&session),
            csrf_token.clone(),
            expires_at,
        )
        .await?;
    Ok(Some(SignedIn {
        caller: Caller {
            user: user.name,
            role: user.role,
        },
        session: Secret::new(session),
        csrf_token,
        expires_at,
    }))
}

/// A session's caller, with its id and CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    /// The account.
    pub caller: Caller,
    /// The session's id, for sign-out.
    pub id: i64,
    /// What state-changing requests must carry in `X-CSRF-Token`.
    pub csrf_token: String,
}

/// The caller a session cookie stands for, at `now`. A session ends at
/// sign-out, at its expiry, and when the account's password changes.
pub async fn authenticate_session(
    store: &Store,
    cookie: &str,
    now: DateTime<Utc>,
) -> Result<Result<Session, Refused>> {
    let Some((session, user)) = store.session_by_hash(&token_hash(cookie)).await? else {
        return Ok(Err(Refused::Unknown));
    };
    if session.revoked_at.is_some() || session.created_at < user.password_changed_at {
        return Ok(Err(Refused::Revoked));
    }
    if session.expires_at <= now {
        return Ok(Err(Refused::Expired));
    }
    if user.disabled {
        return Ok(Err(Refused::Disabled));
    }
    Ok(Ok(Session {
        caller: Caller {
            user: user.name,
            role: user.role,
        },
        id: session.id,
        csrf_token: session.csrf_token,
    }))
}

/// Records a change (or a refused one) in the audit log; a failure to
/// record is logged, never hidden.
pub async fn audit(store: &Store, record: AuditRecord) {
    let what = format!("{} {}", record.action, record.target);
    if let Err(e) = store.audit(record).await {
        tracing::error!(error = %e, change = %what, "Could not write the audit log.");
    }
}

/// The actor of a change made on this machine's command line.
pub fn local_actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("local {user}@{}", super::host::hostname())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let hash = hash_password(&Secret::new("correct horse battery".into())).unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(
            &hash,
            &Secret::new("correct horse battery".into())
        ));
        assert!(!verify_password(
            &hash,
            &Secret::new("correct horse battery!".into())
        ));
        assert!(hash_password(&Secret::new("short".into())).is_err());
        assert_eq!(
            format!("{:?}", Secret::new("hunter2".into())),
            "Secret(***)"
        );
    }

    #[test]
    fn lifetimes_parse() {
        assert_eq!(parse_lifetime("90d").unwrap(), Some(TimeDelta::days(90)));
        assert_eq!(parse_lifetime("12h").unwrap(), Some(TimeDelta::hours(12)));
        assert_eq!(parse_lifetime("never").unwrap(), None);
        assert!(parse_lifetime("0d").is_err());
        assert!(parse_lifetime("d").is_err());
        assert!(parse_lifetime("5y").is_err());
    }
}
