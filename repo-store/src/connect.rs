//! Opening a store: the connection, SQLite's settings, migrations, the default repository.

use std::time::Duration;

use sea_orm::sea_query::{Alias, OnConflict, Query};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend,
    EntityTrait, QueryFilter, Statement, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

use crate::DEFAULT_REPOSITORY;
use crate::error::StoreError;
use crate::migration::Migrator;

/// Key of the PostgreSQL advisory lock that serialises migrations of
/// several hosts starting together ("invhost" in ASCII).
const MIGRATION_LOCK: i64 = 0x0069_6E76_686F_7374;

/// The database behind a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// Most bind parameters one statement may carry.
    pub fn max_binds(self) -> usize {
        match self {
            Backend::Sqlite => 32_766,
            Backend::Postgres => 65_535,
        }
    }
}

/// How to open a store.
#[derive(Debug, Clone, Copy)]
pub struct StoreOptions {
    /// How long SQLite waits for another process's write lock before giving up.
    pub busy_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            busy_timeout: Duration::from_secs(30),
        }
    }
}

/// An open inventory repository database.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) db: DatabaseConnection,
    backend: Backend,
    url: String,
    read_only: bool,
}

impl Store {
    /// Opens the database at `url` (`sqlite://PATH[?mode=rwc]` or
    /// `postgres://...`), applies pending migrations and makes sure the
    /// `Default Inventory` repository exists. A SQLite file and its folder
    /// are created when missing.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Self::connect_with(url, StoreOptions::default()).await
    }

    /// [`Store::connect`] with options.
    pub async fn connect_with(url: &str, store_options: StoreOptions) -> Result<Store, StoreError> {
        let redacted = redact_url(url);
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl { url: redacted });
        };
        let connect_error = |reason: String| StoreError::Connect {
            url: redacted.clone(),
            reason: scrub(&reason, url),
        };

        let mut options = ConnectOptions::new(url.to_owned());
        options
            .sqlx_logging(false)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(60));
        let mut read_only = false;
        if backend == Backend::Sqlite {
            let asked_read_only = url
                .split_once('?')
                .is_some_and(|(_, query)| query.split('&').any(|p| p == "mode=ro"));
            if let Some(path) = sqlite_path(url) {
                // A copy for auditors, a file on a read-only mount: opened
                // read-only, so that reading works and a write says why not.
                read_only = asked_read_only || cannot_write(&path);
                if read_only {
                    if !path.exists() {
                        return Err(connect_error(format!(
                            "there is no database at {} to open read-only",
                            path.display()
                        )));
                    }
                } else {
                    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                        crate::private_dir(parent).map_err(|e| {
                            connect_error(format!("cannot create {}: {e}", parent.display()))
                        })?;
                    }
                    private_database(&path).map_err(connect_error)?;
                }
            }
            let busy_timeout = store_options.busy_timeout;
            options.max_connections(4).map_sqlx_sqlite_opts(move |o| {
                let o = if read_only {
                    o.read_only(true).create_if_missing(false)
                } else {
                    o.create_if_missing(true)
                        .journal_mode(SqliteJournalMode::Wal)
                };
                o.synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(busy_timeout)
                    .foreign_keys(true)
                    // Prepared multi-row upserts are large: keep few.
                    .statement_cache_capacity(4)
            });
        } else {
            options
                .max_connections(8)
                .map_sqlx_postgres_opts(|o| o.statement_cache_capacity(16));
            // sqlx retries an unreachable server until the acquire timeout;
            // an operator should hear at once that nothing answers.
            probe_tcp(url).map_err(connect_error)?;
        }
        let db = Database::connect(options)
            .await
            .map_err(|e| connect_error(e.to_string()))?;
        let store = Store {
            db,
            backend,
            url: redacted,
            read_only,
        };
        store.migrate().await?;
        if !read_only {
            store.ensure_default_repository().await?;
        }
        Ok(store)
    }

    /// True for a SQLite database opened read-only (`mode=ro`, or a file
    /// this process cannot write): reads work, writes are refused.
    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL, password removed.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The SeaORM connection, for queries this crate does not offer.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let migrate_error = |e: sea_orm::DbErr| StoreError::Migrate {
            url: self.url.clone(),
            reason: e.to_string(),
        };
        let mut lock = None;
        if self.backend == Backend::Postgres {
            let pool = self.db.get_postgres_connection_pool();
            let mut connection = pool
                .acquire()
                .await
                .map_err(|e| migrate_error(sea_orm::DbErr::Custom(e.to_string())))?;
            sea_orm::sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(MIGRATION_LOCK)
                .execute(&mut *connection)
                .await
                .map_err(|e| migrate_error(sea_orm::DbErr::Custom(e.to_string())))?;
            lock = Some(connection);
        }
        let result = async {
            self.refuse_newer_schema().await?;
            // Only write when there is something to apply: a second process
            // opening the store during a sync must not wait for the writer.
            let pending = Migrator::get_pending_migrations(&self.db)
                .await
                .map_err(migrate_error)?;
            if pending.is_empty() {
                return Ok(());
            }
            if self.read_only {
                return Err(StoreError::Migrate {
                    url: self.url.clone(),
                    reason: format!(
                        "the database is read-only and {} schema change(s) of this invhost are \
                         not applied yet; open it once read-write to upgrade it",
                        pending.len()
                    ),
                });
            }
            if self.backend == Backend::Sqlite {
                // sea-orm-migration wraps migrations in a transaction on
                // PostgreSQL only; SQLite's DDL is transactional too, so a
                // failed migration leaves nothing half-applied there either.
                let txn = self.db.begin().await.map_err(migrate_error)?;
                Migrator::up(&txn, None).await.map_err(migrate_error)?;
                txn.commit().await.map_err(migrate_error)
            } else {
                Migrator::up(&self.db, None).await.map_err(migrate_error)
            }
        }
        .await;
        if let Some(mut connection) = lock {
            let _ = sea_orm::sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(MIGRATION_LOCK)
                .execute(&mut *connection)
                .await;
        }
        result
    }

    async fn refuse_newer_schema(&self) -> Result<(), StoreError> {
        let backend = self.db.get_database_backend();
        let applied = match self
            .db
            .query_all(Statement::from_string(
                backend,
                "SELECT version FROM seaql_migrations",
            ))
            .await
        {
            Ok(rows) => rows,
            // A fresh database has no migration table yet.
            Err(_) => return Ok(()),
        };
        let known: Vec<String> = Migrator::migrations()
            .iter()
            .map(|m| m.name().to_owned())
            .collect();
        for row in applied {
            let version: String = row.try_get("", "version")?;
            if !known.contains(&version) {
                return Err(StoreError::NewerSchema {
                    url: self.url.clone(),
                    migration: version,
                });
            }
        }
        Ok(())
    }

    async fn ensure_default_repository(&self) -> Result<(), StoreError> {
        let exists = crate::entities::repository::Entity::find()
            .filter(crate::entities::repository::Column::Name.eq(DEFAULT_REPOSITORY))
            .one(&self.db)
            .await?;
        if exists.is_some() {
            return Ok(());
        }
        let insert = Query::insert()
            .into_table(Alias::new("repositories"))
            .columns([
                Alias::new("name"),
                Alias::new("repository_type"),
                Alias::new("created_at"),
            ])
            .values([
                DEFAULT_REPOSITORY.into(),
                crate::values::RepositoryType::Inventory.into(),
                chrono::Utc::now().into(),
            ])
            .map_err(|e| StoreError::Db(e.to_string()))?
            .on_conflict(
                OnConflict::column(Alias::new("name"))
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned();
        self.db
            .execute(self.db.get_database_backend().build(&insert))
            .await?;
        Ok(())
    }

    pub(crate) fn db_backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }
}

/// Checks that something listens at a `postgres://` URL's host and port.
fn probe_tcp(url: &str) -> Result<(), String> {
    use std::net::{TcpStream, ToSocketAddrs};
    let Some((_, rest)) = url.split_once("://") else {
        return Ok(());
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_port.is_empty() || host_port.contains(',') {
        // A unix socket (host in the query) or several hosts: let the driver decide.
        return Ok(());
    }
    let with_port = if host_port.starts_with('[') {
        if host_port.contains("]:") {
            host_port.to_owned()
        } else {
            format!("{host_port}:5432")
        }
    } else if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    };
    let addresses = with_port
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {with_port}: {e}"))?;
    let mut last = String::from("no address");
    for address in addresses {
        match TcpStream::connect_timeout(&address, Duration::from_secs(5)) {
            Ok(_) => return Ok(()),
            Err(e) => last = format!("{address}: {e}"),
        }
    }
    Err(format!("nothing answers at {last}"))
}

/// True when the database file exists and this process may not write it
/// (its mode, a read-only mount).
fn cannot_write(path: &std::path::Path) -> bool {
    match std::fs::OpenOptions::new().write(true).open(path) {
        Ok(_) => false,
        Err(e) => matches!(
            e.kind(),
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
        ),
    }
}

/// A SQLite database only its owner may read: created 0600 whatever the
/// umask (SQLite gives its `-wal` and `-shm` files the database file's
/// mode), and an existing one that other users may read is refused with
/// the command that fixes it. Windows keeps its own access lists.
fn private_database(path: &std::path::Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let created = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path);
        match created {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("cannot create {}: {e}", path.display())),
        }
        let mut open = Vec::new();
        let mut worst = 0;
        for suffix in ["", "-wal", "-shm"] {
            let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
            if let Ok(metadata) = std::fs::metadata(&file) {
                let mode = metadata.permissions().mode() & 0o777;
                if mode & 0o007 != 0 {
                    worst = worst.max(mode);
                    open.push(file.display().to_string());
                }
            }
        }
        if !open.is_empty() {
            return Err(format!(
                "other users may read the inventory in it (mode {worst:o}); run 'chmod 600 {}' \
                 (and 'chmod 700' on its folder)",
                open.join(" ")
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// The file of a `sqlite://` URL (none for in-memory databases).
fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| std::path::PathBuf::from(path))
}

/// The URL with its password replaced by `***`, for messages and logs
/// (in the user part and in a `password=` query parameter).
pub fn redact_url(url: &str) -> String {
    let url = redact_query_password(url);
    let url = url.as_str();
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{path}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

fn redact_query_password(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{base}?{}", query.join("&"))
}

/// Removes the URL's password from a driver message, should it quote it.
fn scrub(message: &str, url: &str) -> String {
    let password = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split('/').next())
        .and_then(|authority| authority.rsplit_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, password)| password)
        .filter(|p| !p.is_empty());
    match password {
        Some(password) => message.replace(password, "***"),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_leave_the_url() {
        assert_eq!(
            redact_url("postgres://inv:s3cret@db:5432/inv"),
            "postgres://inv:***@db:5432/inv"
        );
        assert_eq!(redact_url("postgres://inv@db/inv"), "postgres://inv@db/inv");
        assert_eq!(
            redact_url("postgres://db/inv?user=inv&password=s3cret&sslmode=require"),
            "postgres://db/inv?user=inv&password=***&sslmode=require"
        );
        assert_eq!(
            redact_url("sqlite:///var/lib/x.db?mode=rwc"),
            "sqlite:///var/lib/x.db?mode=rwc"
        );
        assert_eq!(
            scrub("bad s3cret here", "postgres://u:s3cret@h/d"),
            "bad *** here"
        );
    }

    #[test]
    fn sqlite_paths_are_found() {
        assert_eq!(
            sqlite_path("sqlite:///tmp/a/b.db?mode=rwc").unwrap(),
            std::path::Path::new("/tmp/a/b.db")
        );
        assert!(sqlite_path("sqlite::memory:").is_none());
    }
}
