//! What can go wrong in the store.

/// A store failure, worded for an operator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database could not be opened (URL shown without its password).
    #[error("cannot open the repository database {url}: {reason}")]
    Connect {
        /// The URL, password removed.
        url: String,
        /// What the driver said.
        reason: String,
    },
    /// The URL is neither `sqlite://` nor `postgres://`.
    #[error("unsupported database URL {url}: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl {
        /// The URL, password removed.
        url: String,
    },
    /// The database was migrated by a newer invhost.
    #[error(
        "the repository database {url} was migrated by a newer invhost (it has migration {migration}, \
         which this version does not know); upgrade invhost"
    )]
    NewerSchema {
        /// The URL, password removed.
        url: String,
        /// The unknown migration.
        migration: String,
    },
    /// Applying the migrations failed; nothing was half-applied.
    #[error("cannot migrate the repository database {url}: {reason}")]
    Migrate {
        /// The URL, password removed.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The SQLite database was opened read-only and a command would change it.
    #[error(
        "the repository database is read-only (opened with mode=ro, or its file cannot be \
         written here): this command would change it; reading commands work"
    )]
    ReadOnly,
    /// Another process holds the SQLite database.
    #[error(
        "the repository database is locked by another process (another invhost, a backup, or a \
         sqlite3 shell with a transaction open); retry when it has finished"
    )]
    Locked,
    /// A named thing does not exist.
    #[error("no {what} named '{name}'{}", known_suffix(.known))]
    NotFound {
        /// `repository`, `connector`, ...
        what: &'static str,
        /// The name asked for.
        name: String,
        /// The names that exist.
        known: String,
    },
    /// A named thing exists already.
    #[error("a {what} named '{name}' already exists")]
    Duplicate {
        /// `repository`, `connector`, ...
        what: &'static str,
        /// The name.
        name: String,
    },
    /// Connector secrets could not be decrypted or encrypted.
    #[error("cannot decrypt connector secrets: {0}")]
    Secrets(String),
    /// The secret key could not be read or created.
    #[error("secret key {path}: {reason}")]
    Key {
        /// The key file (or the environment variable).
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The caller asked to stop; nothing was changed.
    #[error("cancelled; nothing was changed")]
    Cancelled,
    /// A request the store refuses, with what to do instead.
    #[error("{0}")]
    Refused(String),
    /// Any other database error.
    #[error("repository database error: {0}")]
    Db(String),
}

/// What a database error means to the store, by the error's own code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meaning {
    Locked,
    ReadOnly,
    Other,
}

/// Reads the error code the database gave: SQLite's result code (its
/// primary code, the low byte of the extended one) or PostgreSQL's SQLSTATE.
fn meaning(error: &sea_orm::DbErr) -> Option<Meaning> {
    use sea_orm::{DbErr, RuntimeErr, sqlx};
    let runtime = match error {
        DbErr::Conn(r) | DbErr::Exec(r) | DbErr::Query(r) => r,
        _ => return None,
    };
    let RuntimeErr::SqlxError(sqlx::Error::Database(db)) = runtime else {
        return None;
    };
    let code = db.code()?;
    Some(match code.parse::<i32>() {
        // SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended codes.
        Ok(n) if matches!(n & 0xff, 5 | 6) => Meaning::Locked,
        // SQLITE_READONLY (8).
        Ok(n) if n & 0xff == 8 => Meaning::ReadOnly,
        Ok(_) => Meaning::Other,
        // PostgreSQL: lock_not_available, read_only_sql_transaction.
        Err(_) if code == "55P03" => Meaning::Locked,
        Err(_) if code == "25006" => Meaning::ReadOnly,
        Err(_) => Meaning::Other,
    })
}

impl From<sea_orm::DbErr> for StoreError {
    fn from(error: sea_orm::DbErr) -> Self {
        let text = error.to_string();
        let meaning = meaning(&error).unwrap_or_else(|| {
            // Only an error that carries no code (a driver's own, such as
            // SQLite refusing to open a file) is judged by its text.
            if text.contains("database is locked") {
                Meaning::Locked
            } else if text.contains("readonly database") {
                Meaning::ReadOnly
            } else {
                Meaning::Other
            }
        });
        match meaning {
            Meaning::Locked => StoreError::Locked,
            Meaning::ReadOnly => StoreError::ReadOnly,
            Meaning::Other => StoreError::Db(text),
        }
    }
}

/// ` (known: a, b)`, or nothing when there is nothing to list.
fn known_suffix(known: &str) -> String {
    if known.is_empty() {
        String::new()
    } else {
        format!(" (known: {known})")
    }
}
