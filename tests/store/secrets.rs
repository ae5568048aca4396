//! Connector secrets at rest.

use connector_core::Parameters;
use repo_store::{NewConnector, SecretKey};
use sea_orm::{ConnectionTrait, Statement};

use super::support::{TestDb, on_both_backends};

const SECRET: &str = "Zq8~plaintext-secret-value-7Kd";

on_both_backends!(the_database_never_holds_a_secret_in_clear);

async fn the_database_never_holds_a_secret_in_clear(db: &TestDb) {
    let store = db.store().await;
    let key = SecretKey::load_or_create(&db.dir.path().join("secret.key")).unwrap();
    let parameters = Parameters::from_json(serde_json::json!({
        "tenant_id": "contoso.onmicrosoft.com", "client_secret": SECRET,
    }))
    .unwrap();
    let row = store
        .create_connector(
            NewConnector {
                name: "Contoso".into(),
                connector_type: "o365".into(),
                parameters,
                secret_keys: vec!["client_secret".into()],
                run_consolidation: true,
            },
            &key,
        )
        .await
        .unwrap();
    assert!(!row.parameters.contains(SECRET) && !row.secrets.contains(SECRET));
    assert!(
        !serde_json::to_string(&row).unwrap().contains("v1:"),
        "secrets never serialise"
    );

    // Read back with the right key...
    let row = store.connector("Contoso").await.unwrap();
    let back = store.connector_parameters(&row, &key).unwrap();
    assert_eq!(back.str("client_secret"), Some(SECRET));
    assert_eq!(back.str("tenant_id"), Some("contoso.onmicrosoft.com"));
    // ...and refused with another.
    let other = SecretKey::from_hex(&"ab".repeat(32), "INVHOST_SECRET_KEY").unwrap();
    let error = store
        .connector_parameters(&row, &other)
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("cannot decrypt connector secrets: wrong key"),
        "{error}"
    );

    // Nowhere in the stored bytes.
    if db.label == "sqlite" {
        drop(store);
        for entry in std::fs::read_dir(db.dir.path()).unwrap() {
            // The -wal and -shm files may vanish as the pool closes.
            let Ok(bytes) = std::fs::read(entry.unwrap().path()) else {
                continue;
            };
            assert!(
                !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
                "plaintext in a database file"
            );
        }
    } else {
        let backend = store.connection().get_database_backend();
        let rows = store
            .connection()
            .query_all(Statement::from_string(
                backend,
                "SELECT CAST(c AS TEXT) AS t FROM connectors c",
            ))
            .await
            .unwrap();
        for row in rows {
            let text: String = row.try_get("", "t").unwrap();
            assert!(!text.contains(SECRET), "{text}");
        }
    }
}
