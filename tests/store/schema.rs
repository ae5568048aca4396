//! Opening databases: migrations, the default repository, refusals.

use repo_store::{DEFAULT_REPOSITORY, Store, StoreError};
use sea_orm::{ConnectionTrait, Statement};

use super::support::{TestDb, on_both_backends};

on_both_backends!(
    migrations_twice_are_a_no_op,
    a_newer_database_is_refused,
    names_are_unique_and_listed
);

async fn migrations_twice_are_a_no_op(db: &TestDb) {
    let store = db.store().await;
    store.create_repository("Second").await.unwrap();
    drop(store);
    let store = db.store().await;
    let names: Vec<String> = store
        .repositories()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, [DEFAULT_REPOSITORY, "Second"]);
    let backend = store.connection().get_database_backend();
    let applied = store
        .connection()
        .query_all(Statement::from_string(
            backend,
            "SELECT version FROM seaql_migrations",
        ))
        .await
        .unwrap();
    assert_eq!(
        applied.len(),
        10,
        "core, raw, consolidated, queue, schedules, accounts, progress, names, tenants, test success"
    );
}

async fn a_newer_database_is_refused(db: &TestDb) {
    let store = db.store().await;
    let backend = store.connection().get_database_backend();
    store
        .connection()
        .execute(Statement::from_string(
            backend,
            "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m20991231_000001_future', 0)",
        ))
        .await
        .unwrap();
    let error = Store::connect(&db.url).await.unwrap_err();
    assert!(matches!(error, StoreError::NewerSchema { .. }), "{error}");
    assert!(
        error.to_string().contains("m20991231_000001_future")
            && error.to_string().contains("upgrade invhost"),
        "{error}"
    );
}

async fn names_are_unique_and_listed(db: &TestDb) {
    let store = db.store().await;
    let error = store
        .create_repository(DEFAULT_REPOSITORY)
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "a repository named 'Default Inventory' already exists"
    );
    let error = store.repository("Nope").await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "no repository named 'Nope' (known: Default Inventory)"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_named_without_its_password() {
    let error = Store::connect("postgres://invhost:hunter2@127.0.0.1:1/inventory")
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        text.starts_with(
            "cannot open the repository database postgres://invhost:***@127.0.0.1:1/inventory: "
        ),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");
}

#[tokio::test]
async fn an_unknown_scheme_is_refused() {
    let error = Store::connect("mysql://root:pw@localhost/x")
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "unsupported database URL mysql://root:***@localhost/x: use sqlite://PATH or postgres://USER@HOST/DB"
    );
}
