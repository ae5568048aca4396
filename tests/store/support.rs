//! Test databases: a fresh SQLite file, or a fresh PostgreSQL database dropped afterwards.

use repo_store::Trigger;
use std::sync::atomic::{AtomicU32, Ordering};

use connector_core::{Batch, Device, Installation, Record, RecordKind};
use repo_store::{NewConnector, NewProcess, SecretKey, Store};
use sea_orm::{ConnectionTrait, Database, Statement};
use tempfile::TempDir;

/// The local server's admin URL (trust auth).
pub const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub struct TestDb {
    pub url: String,
    pub label: &'static str,
    pub dir: TempDir,
    pg_database: Option<String>,
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("repo.db").display());
        TestDb {
            url,
            label: "sqlite",
            dir,
            pg_database: None,
        }
    }

    /// A fresh database on the local server; `None` (after saying SKIPPED)
    /// when the server is unreachable and not required.
    pub async fn postgres() -> Option<TestDb> {
        Self::postgres_created("").await
    }

    /// [`TestDb::postgres`] whose default collation is ICU's `en-US`, as
    /// on many a server: text sorts by language (case and accents second),
    /// not by bytes.
    pub async fn postgres_linguistic() -> Option<TestDb> {
        Self::postgres_created(" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'").await
    }

    async fn postgres_created(options: &str) -> Option<TestDb> {
        let admin = match Database::connect(PG_ADMIN_URL).await {
            Ok(admin) => admin,
            Err(e) => {
                let required = std::env::var("INVHOST_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
                assert!(
                    !required,
                    "PostgreSQL at {PG_ADMIN_URL} is required (INVHOST_REQUIRE_POSTGRES=1) but unreachable: {e}"
                );
                eprintln!(
                    "SKIPPED: PostgreSQL at {PG_ADMIN_URL} is unreachable ({e}); set INVHOST_REQUIRE_POSTGRES=1 to fail instead"
                );
                return None;
            }
        };
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "invhost_test_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        admin
            .execute(Statement::from_string(
                admin.get_database_backend(),
                format!("CREATE DATABASE {name}{options}"),
            ))
            .await
            .unwrap();
        let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
        Some(TestDb {
            url,
            label: "postgres",
            dir: tempfile::tempdir().unwrap(),
            pg_database: Some(name),
        })
    }

    pub async fn store(&self) -> Store {
        Store::connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", self.label))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_database.take() else {
            return;
        };
        // Drop runs inside the test's runtime: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok(admin) = Database::connect(PG_ADMIN_URL).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = admin
                        .execute(Statement::from_string(admin.get_database_backend(), sql))
                        .await;
                }
            });
        })
        .join();
    }
}

/// Runs each named `async fn(&TestDb)` of the parent module on both backends.
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::store::support::TestDb::sqlite();
                    super::$name(&db).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = $crate::store::support::TestDb::postgres().await else { return };
                    super::$name(&db).await;
                }
            )+
        }
    };
}
pub(crate) use on_both_backends;

/// A repository, a connector and a key, ready for sync runs.
pub struct Fixture {
    pub store: Store,
    pub repository_id: i64,
    pub connector_id: i64,
}

impl Fixture {
    pub async fn new(db: &TestDb) -> Fixture {
        let store = db.store().await;
        let key = SecretKey::load_or_create(&db.dir.path().join("secret.key")).unwrap();
        let repository_id = store
            .repository(repo_store::DEFAULT_REPOSITORY)
            .await
            .unwrap()
            .id;
        let connector = store
            .create_connector(
                NewConnector {
                    name: "CSV".into(),
                    connector_type: "csv-inventory".into(),
                    parameters: connector_core::Parameters::from_json(
                        serde_json::json!({"folder": "/data"}),
                    )
                    .unwrap(),
                    secret_keys: vec![],
                    run_consolidation: false,
                },
                &key,
            )
            .await
            .unwrap();
        Fixture {
            store,
            repository_id,
            connector_id: connector.id,
        }
    }

    /// Queues a sync process and returns its id (the run id).
    pub async fn run_id(&self) -> i64 {
        self.store
            .queue_process(NewProcess {
                parent_id: None,
                repository_id: self.repository_id,
                connector_id: Some(self.connector_id),
                action: "Sync Data - CSV".into(),
                trigger: Trigger::Operator,
                clean: false,
                host: None,
                continue_on_failure: false,
            })
            .await
            .unwrap()
            .id
    }

    /// All rows of a kind, without the run columns, for comparing contents.
    pub async fn contents(
        &self,
        kind: RecordKind,
    ) -> Vec<serde_json::Map<String, serde_json::Value>> {
        let rows = self
            .store
            .raw_rows(
                self.repository_id,
                kind,
                repo_store::Page {
                    limit: 1_000_000,
                    offset: 0,
                },
            )
            .await
            .unwrap();
        rows.into_iter()
            .map(|mut r| {
                r.remove("first_seen_run");
                r.remove("last_seen_run");
                r
            })
            .collect()
    }
}

/// `n` devices `d0..` named after `tag`.
pub fn devices(n: usize, tag: &str) -> Vec<Record> {
    (0..n)
        .map(|i| Device::new(format!("d{i}"), format!("{tag}-{i}")).into())
        .collect()
}

/// One installation per device.
pub fn installations(n: usize) -> Vec<Record> {
    (0..n)
        .map(|i| Installation::new(format!("d{i}"), "app").into())
        .collect()
}

pub fn batch(records: Vec<Record>, complete: &[RecordKind]) -> Batch {
    Batch {
        records,
        complete: complete.to_vec(),
    }
}
