//! Repositories, connectors and the process log.

use repo_store::Trigger;
use std::collections::BTreeMap;
use std::time::Duration;

use connector_core::RecordKind;
use repo_store::{
    NewProcess, ProcessFilter, ProcessStatus, RunOutcome, Store, StoreError, StoreOptions,
    WriterConfig,
};

use super::support::{Fixture, TestDb, batch, devices, on_both_backends};

on_both_backends!(
    process_log_filters_by_repository_status_and_time,
    interrupted_processes_are_failed,
    connectors_and_repositories_change_whole,
    names_are_one_line_and_one_name_whatever_their_case,
    every_row_is_read_once_a_page_at_a_time,
);

fn process(repository_id: i64, action: &str) -> NewProcess {
    NewProcess {
        parent_id: None,
        repository_id,
        connector_id: None,
        action: action.into(),
        trigger: Trigger::Operator,
        clean: false,
        host: None,
        continue_on_failure: false,
    }
}

async fn process_log_filters_by_repository_status_and_time(db: &TestDb) {
    let store = db.store().await;
    let default = store
        .repository(repo_store::DEFAULT_REPOSITORY)
        .await
        .unwrap()
        .id;
    let other = store.create_repository("Other").await.unwrap().id;
    let a = store
        .queue_process(process(default, "Sync Data - A"))
        .await
        .unwrap();
    let b = store
        .queue_process(process(default, "Sync Data - B"))
        .await
        .unwrap();
    let c = store
        .queue_process(process(other, "Sync Data - C"))
        .await
        .unwrap();
    store.start_process(a.id, "host:1").await.unwrap();
    let counts = BTreeMap::from([(RecordKind::Device, 5)]);
    store
        .finish_process(a.id, ProcessStatus::Succeeded, &counts, None)
        .await
        .unwrap();
    store.start_process(b.id, "host:1").await.unwrap();
    store
        .finish_process(
            b.id,
            ProcessStatus::Failed,
            &BTreeMap::new(),
            Some("devices.csv line 3: bad row".into()),
        )
        .await
        .unwrap();

    let all = store.processes(&ProcessFilter::default()).await.unwrap();
    assert_eq!(
        all.iter().map(|p| p.id).collect::<Vec<_>>(),
        [c.id, b.id, a.id],
        "newest first"
    );
    let mine = store
        .processes(&ProcessFilter {
            repository_id: Some(default),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(mine.len(), 2);
    let failed = store
        .processes(&ProcessFilter {
            status: Some(ProcessStatus::Failed),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        failed[0].message.as_deref(),
        Some("devices.csv line 3: bad row")
    );
    let done = store.process(a.id).await.unwrap();
    assert_eq!(done.status, ProcessStatus::Succeeded);
    assert_eq!(done.counts, r#"{"device":5}"#);
    assert!(done.started_at.unwrap() <= done.finished_at.unwrap());
    let future = chrono::Utc::now() + chrono::Duration::hours(1);
    assert!(
        store
            .processes(&ProcessFilter {
                since: Some(future),
                ..Default::default()
            })
            .await
            .unwrap()
            .is_empty()
    );
    let limited = store
        .processes(&ProcessFilter {
            limit: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(limited[0].id, c.id);
}

async fn interrupted_processes_are_failed(db: &TestDb) {
    let store = db.store().await;
    let repo = store
        .repository(repo_store::DEFAULT_REPOSITORY)
        .await
        .unwrap()
        .id;
    let running = store
        .queue_process(process(repo, "Sync Data - A"))
        .await
        .unwrap();
    store.start_process(running.id, "host:1").await.unwrap();
    let before = store
        .process(running.id)
        .await
        .unwrap()
        .heartbeat_at
        .unwrap();
    store.heartbeat(running.id).await.unwrap();
    assert!(
        store
            .process(running.id)
            .await
            .unwrap()
            .heartbeat_at
            .unwrap()
            >= before
    );
    store
        .fail_process(running.id, "the host stopped while this process ran")
        .await
        .unwrap();
    let failed = store.process(running.id).await.unwrap();
    assert_eq!(failed.status, ProcessStatus::Failed);
    assert_eq!(
        failed.message.as_deref(),
        Some("the host stopped while this process ran")
    );
    assert!(failed.finished_at.is_some());
}

async fn connectors_and_repositories_change_whole(db: &TestDb) {
    let fx = Fixture::new(db).await;
    let run = fx.run_id().await;
    let mut writer = fx.store.sync_writer(
        fx.repository_id,
        fx.connector_id,
        run,
        false,
        WriterConfig::default(),
    );
    writer
        .write(batch(devices(5, "pc"), &[RecordKind::Device]))
        .await
        .unwrap();
    writer.finish(RunOutcome::Succeeded).await.unwrap();
    // A connector with a process queued or running is not removed.
    let refused = fx
        .store
        .delete_connector(fx.connector_id, false)
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("queued or running (process"),
        "{refused}"
    );
    fx.store
        .finish_process(
            run,
            repo_store::ProcessStatus::Succeeded,
            &Default::default(),
            None,
        )
        .await
        .unwrap();

    // Removing a connector keeps its data unless purged.
    fx.store
        .delete_connector(fx.connector_id, false)
        .await
        .unwrap();
    assert_eq!(
        fx.store.raw_counts(fx.repository_id).await.unwrap()[&RecordKind::Device],
        5
    );
    let error = fx.store.connector("CSV").await.unwrap_err();
    assert!(matches!(error, StoreError::NotFound { .. }));
    // Clearing the repository removes every raw row.
    assert_eq!(
        fx.store.clear_repository(fx.repository_id).await.unwrap(),
        5
    );
    assert_eq!(
        fx.store.raw_counts(fx.repository_id).await.unwrap()[&RecordKind::Device],
        0
    );
}

async fn every_row_is_read_once_a_page_at_a_time(db: &TestDb) {
    let fx = Fixture::new(db).await;
    let run = fx.run_id().await;
    let mut writer = fx.store.sync_writer(
        fx.repository_id,
        fx.connector_id,
        run,
        false,
        WriterConfig::default(),
    );
    writer
        .write(batch(devices(257, "pc"), &[RecordKind::Device]))
        .await
        .unwrap();
    writer.finish(RunOutcome::Succeeded).await.unwrap();
    let page = repo_store::Page {
        limit: 20,
        offset: 0,
    };
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let query = repo_store::RawQuery {
            after: after.take(),
            ..Default::default()
        };
        let (rows, last) = fx
            .store
            .raw_rows_keyed(fx.repository_id, RecordKind::Device, page, &query)
            .await
            .unwrap();
        seen.extend(
            rows.iter()
                .map(|r| r["source_key"].as_str().unwrap().to_owned()),
        );
        if rows.len() < 20 {
            break;
        }
        after = last;
    }
    let mut expected: Vec<String> = (0..257).map(|i| format!("d{i}")).collect();
    expected.sort();
    assert_eq!(seen, expected, "every row once, in key order");
    // Keys only follow the default order.
    let sorted = repo_store::RawQuery {
        sort: Some(("name".into(), false)),
        after: Some((fx.connector_id, "d1".into())),
        ..Default::default()
    };
    assert!(
        fx.store
            .raw_rows_keyed(fx.repository_id, RecordKind::Device, page, &sorted)
            .await
            .is_err()
    );
}

async fn names_are_one_line_and_one_name_whatever_their_case(db: &TestDb) {
    let store = db.store().await;
    // Names that would break a table, a one-line message or a log line.
    for bad in [
        "Lab\tB",
        "Lab\nB",
        "Lab\u{1b}[31m",
        " Lab",
        "",
        &"x".repeat(101),
    ] {
        let error = store.create_repository(bad).await.unwrap_err();
        assert!(matches!(error, StoreError::Refused(_)), "{bad:?}: {error}");
        assert!(!error.to_string().contains('\n'), "{error}");
    }
    let lab = store.create_repository("Lab").await.unwrap();
    // "lab" is "Lab": refused as a second one, found as the first.
    let error = store.create_repository("LAB").await.unwrap_err();
    assert!(matches!(error, StoreError::Duplicate { .. }), "{error}");
    assert_eq!(store.repository("lab").await.unwrap().id, lab.id);
    assert!(store.repository("Lab ").await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_sqlite_file_is_a_clear_error() {
    let db = TestDb::sqlite();
    let fx = Fixture::new(&db).await;
    let run = fx.run_id().await;
    let per_row = repo_store::raw_table(RecordKind::Device)
        .unwrap()
        .values_per_row();
    let config = WriterConfig {
        commit_every: 1_000_000,
        max_binds: Some(per_row * 2),
    };
    let mut writer = fx
        .store
        .sync_writer(fx.repository_id, fx.connector_id, run, false, config);
    writer.write(batch(devices(10, "pc"), &[])).await.unwrap();
    // The writer holds SQLite's write lock; another process gives up after its busy timeout.
    let other = Store::connect_with(
        &db.url,
        StoreOptions {
            busy_timeout: Duration::from_millis(200),
        },
    )
    .await
    .unwrap();
    let error = other.create_repository("Blocked").await.unwrap_err();
    assert!(matches!(error, StoreError::Locked), "{error:?}");
    assert_eq!(
        error.to_string(),
        "the repository database is locked by another process (another invhost, a backup, or a \
         sqlite3 shell with a transaction open); retry when it has finished"
    );
    writer.finish(RunOutcome::Succeeded).await.unwrap();
    other.create_repository("Blocked").await.unwrap();
}
