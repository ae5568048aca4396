//! The sync writer's semantics on both backends: staged, then published
//! at once; readers see the previous sync or the new one, never a mix.

use connector_core::{Device, Record, RecordKind, User};
use repo_store::ProcessStatus;
use repo_store::{RunOutcome, WriterConfig};

use super::support::{Fixture, TestDb, batch, devices, installations, on_both_backends};

on_both_backends!(
    resync_of_the_same_data_leaves_identical_tables,
    stale_rows_go_only_for_completed_kinds,
    failed_and_cancelled_runs_keep_the_previous_data,
    clean_sync_replaces_only_on_success,
    batches_at_and_above_the_bind_limit,
    duplicate_keys_in_one_batch_keep_the_last,
    unicode_long_strings_and_nulls_round_trip,
    a_reader_during_a_sync_sees_the_last_published_sync,
    a_failed_first_sync_leaves_an_empty_repository,
    a_killed_run_leaves_a_staging_area_the_next_start_drops,
    publication_and_the_process_end_are_one_transaction,
    a_key_staged_twice_keeps_its_last_row,
);

async fn sync(
    fx: &Fixture,
    records: Vec<Record>,
    complete: &[RecordKind],
    outcome: RunOutcome,
    clean: bool,
) -> repo_store::SyncReport {
    let run = fx.run_id().await;
    let mut writer = fx.store.sync_writer(
        fx.repository_id,
        fx.connector_id,
        run,
        clean,
        WriterConfig::default(),
    );
    writer.write(batch(records, complete)).await.unwrap();
    writer.finish(outcome).await.unwrap()
}

async fn resync_of_the_same_data_leaves_identical_tables(db: &TestDb) {
    let fx = Fixture::new(db).await;
    let mut data = devices(50, "pc");
    data.extend(installations(50));
    let all = [RecordKind::Device, RecordKind::Installation];
    sync(&fx, data.clone(), &all, RunOutcome::Succeeded, false).await;
    let (devices_before, installs_before) = (
        fx.contents(RecordKind::Device).await,
        fx.contents(RecordKind::Installation).await,
    );
    let report = sync(&fx, data, &all, RunOutcome::Succeeded, false).await;
    assert!(report.removed.is_empty(), "{report:?}");
    assert_eq!(fx.contents(RecordKind::Device).await, devices_before);
    assert_eq!(fx.contents(RecordKind::Installation).await, installs_before);
    assert_eq!(devices_before.len(), 50);
}

async fn stale_rows_go_only_for_completed_kinds(db: &TestDb) {
    let fx = Fixture::new(db).await;
    let mut first = devices(10, "pc");
    first.extend(installations(10));
    sync(
        &fx,
        first,
        &[RecordKind::Device, RecordKind::Installation],
        RunOutcome::Succeeded,
        false,
    )
    .await;
    // The second run sees 6 devices (complete) and 6 installations (not complete).
    let mut second = devices(6, "pc");
    second.extend(installations(6));
    let report = sync(
        &fx,
        second,
        &[RecordKind::Device],
        RunOutcome::Succeeded,
        false,
    )
    .await;
    assert_eq!(report.removed.get(&RecordKind::Device), Some(&4));
    assert_eq!(report.removed.get(&RecordKind::Installation), None);
    let counts = fx.store.raw_counts(fx.repository_id).await.unwrap();
    assert_eq!(counts[&RecordKind::Device], 6);
    assert_eq!(
        counts[&RecordKind::Installation],
        10,
        "an incomplete kind loses nothing"
    );
}

async fn failed_and_cancelled_runs_keep_the_previous_data(db: &TestDb) {
    let fx = Fixture::new(db).await;
    sync(
        &fx,
        devices(20, "pc"),
        &[RecordKind::Device],
        RunOutcome::Succeeded,
        false,
    )
    .await;
    let before = fx.contents(RecordKind::Device).await;
    // Statements of two rows, a commit once four are staged: a failing run
    // has committed some of its rows to its staging area when it ends.
    let config = tiny(2, 4);
    for outcome in [RunOutcome::Failed, RunOutcome::Cancelled] {
        for clean in [false, true] {
            let run = fx.run_id().await;
            let mut writer =
                fx.store
                    .sync_writer(fx.repository_id, fx.connector_id, run, clean, config);
            for chunk in devices(10, "new").chunks(4) {
                writer
                    .write(batch(chunk.to_vec(), &[RecordKind::Device]))
                    .await
                    .unwrap();
            }
            assert_eq!(writer.staged()[&RecordKind::Device], 10);
            assert!(
                !fx.store.stage_tables().await.unwrap().is_empty(),
                "the run staged its rows"
            );
            let report = writer.finish(outcome).await.unwrap();
            assert_eq!(
                report,
                repo_store::SyncReport::default(),
                "nothing published"
            );
            assert_eq!(
                fx.contents(RecordKind::Device).await,
                before,
                "{outcome:?} clean={clean}: readers see exactly the previous sync"
            );
            assert!(
                fx.store.stage_tables().await.unwrap().is_empty(),
                "the staging area is gone"
            );
        }
    }
}

/// Statements of `rows` device rows, a commit every `commit_every` rows.
fn tiny(rows: usize, commit_every: usize) -> WriterConfig {
    WriterConfig {
        commit_every,
        max_binds: Some(stage_values(RecordKind::Device) * rows),
    }
}

/// Values bound per staged row of a kind: the source key, its columns and
/// its merge keys.
fn stage_values(kind: RecordKind) -> usize {
    1 + repo_store::raw_table(kind)
        .unwrap()
        .written_columns()
        .count()
}

async fn a_failed_first_sync_leaves_an_empty_repository(db: &TestDb) {
    let fx = Fixture::new(db).await;
    let run = fx.run_id().await;
    let mut writer =
        fx.store
            .sync_writer(fx.repository_id, fx.connector_id, run, false, tiny(3, 5));
    let mut records = devices(40, "pc");
    records.extend(installations(40));
    writer
        .write(batch(
            records,
            &[RecordKind::Device, RecordKind::Installation],
        ))
        .await
        .unwrap();
    writer.finish(RunOutcome::Failed).await.unwrap();
    let counts = fx.store.raw_counts(fx.repository_id).await.unwrap();
    assert!(counts.values().all(|n| *n == 0), "{counts:?}");
}

async fn a_killed_run_leaves_a_staging_area_the_next_start_drops(db: &TestDb) {
    let fx = Fixture::new(db).await;
    sync(
        &fx,
        devices(5, "old"),
        &[RecordKind::Device],
        RunOutcome::Succeeded,
        false,
    )
    .await;
    // Two runs stage and are never finished, as when the host is killed.
    let (dead, alive) = (fx.run_id().await, fx.run_id().await);
    fx.store.start_process(alive, "elsewhere:1").await.unwrap();
    for run in [dead, alive] {
        let mut writer =
            fx.store
                .sync_writer(fx.repository_id, fx.connector_id, run, true, tiny(2, 2));
        writer
            .write(batch(devices(9, "new"), &[RecordKind::Device]))
            .await
            .unwrap();
        // Dropped without finishing: what was committed stays staged.
        drop(writer);
    }
    let reader = repo_store::Store::connect(&db.url).await.unwrap();
    let names: Vec<String> = reader
        .raw_rows(fx.repository_id, RecordKind::Device, Default::default())
        .await
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["old-0", "old-1", "old-2", "old-3", "old-4"]);
    let mut runs: Vec<i64> = reader
        .stage_tables()
        .await
        .unwrap()
        .into_iter()
        .map(|(_, run)| run)
        .collect();
    runs.sort();
    assert_eq!(runs, [dead, alive]);
    // The next start: the dead run's staging goes, the running one's stays.
    assert_eq!(reader.drop_abandoned_stages().await.unwrap(), 1);
    let left: Vec<i64> = reader
        .stage_tables()
        .await
        .unwrap()
        .into_iter()
        .map(|(_, run)| run)
        .collect();
    assert_eq!(left, [alive]);
}

async fn publication_and_the_process_end_are_one_transaction(db: &TestDb) {
    let fx = Fixture::new(db).await;
    let run = fx.run_id().await;
    fx.store.start_process(run, "here:1").await.unwrap();
    let mut writer = fx.store.sync_writer(
        fx.repository_id,
        fx.connector_id,
        run,
        false,
        WriterConfig::default(),
    );
    writer
        .write(batch(devices(7, "pc"), &[RecordKind::Device]))
        .await
        .unwrap();
    let report = writer
        .publish(|report| repo_store::ProcessEnd {
            counters: Default::default(),
            counts: report.written.clone(),
            message: Some(format!("Wrote {} records.", report.written_total())),
        })
        .await
        .unwrap();
    assert_eq!(report.written[&RecordKind::Device], 7);
    let process = fx.store.process(run).await.unwrap();
    assert_eq!(process.status, ProcessStatus::Succeeded);
    assert_eq!(process.message.as_deref(), Some("Wrote 7 records."));
    assert_eq!(process.counts, r#"{"device":7}"#);

    // A run whose process another host marked failed publishes nothing.
    let run = fx.run_id().await;
    fx.store.start_process(run, "here:1").await.unwrap();
    let mut writer = fx.store.sync_writer(
        fx.repository_id,
        fx.connector_id,
        run,
        true,
        WriterConfig::default(),
    );
    writer
        .write(batch(devices(2, "late"), &[RecordKind::Device]))
        .await
        .unwrap();
    fx.store.fail_process(run, "taken for dead").await.unwrap();
    let error = writer
        .publish(|_| repo_store::ProcessEnd {
            counters: Default::default(),
            counts: Default::default(),
            message: None,
        })
        .await
        .unwrap_err();
    assert!(error.to_string().contains("no longer running"), "{error}");
    assert_eq!(fx.contents(RecordKind::Device).await.len(), 7);
    let process = fx.store.process(run).await.unwrap();
    assert_eq!(process.status, ProcessStatus::Failed);
    assert_eq!(process.message.as_deref(), Some("taken for dead"));
    assert!(fx.store.stage_tables().await.unwrap().is_empty());
}

async fn a_key_staged_twice_keeps_its_last_row(db: &TestDb) {
    let fx = Fixture::new(db).await;
    let run = fx.run_id().await;
    let mut writer =
        fx.store
            .sync_writer(fx.repository_id, fx.connector_id, run, false, tiny(2, 2));
    // The same keys in separate batches (and so separate statements).
    writer.write(batch(devices(4, "first"), &[])).await.unwrap();
    writer
        .write(batch(devices(4, "second"), &[RecordKind::Device]))
        .await
        .unwrap();
    writer.finish(RunOutcome::Succeeded).await.unwrap();
    let rows = fx.contents(RecordKind::Device).await;
    assert_eq!(rows.len(), 4);
    assert!(
        rows.iter()
            .all(|r| r["name"].as_str().unwrap().starts_with("second")),
        "{rows:?}"
    );
}

async fn clean_sync_replaces_only_on_success(db: &TestDb) {
    let fx = Fixture::new(db).await;
    let mut first = devices(10, "pc");
    first.extend(installations(10));
    let first_run_report = sync(&fx, first, &[], RunOutcome::Succeeded, false).await;
    assert!(
        first_run_report.removed.is_empty(),
        "nothing completed, nothing removed"
    );
    // A clean sync removes rows of every kind it did not see, complete or not.
    let report = sync(&fx, devices(4, "pc"), &[], RunOutcome::Succeeded, true).await;
    assert_eq!(report.removed.get(&RecordKind::Device), Some(&6));
    assert_eq!(report.removed.get(&RecordKind::Installation), Some(&10));
    let rows = fx
        .store
        .raw_rows(fx.repository_id, RecordKind::Device, Default::default())
        .await
        .unwrap();
    assert_eq!(rows.len(), 4);
    let run = rows[0]["last_seen_run"].clone();
    assert!(
        rows.iter().all(|r| r["first_seen_run"] == run),
        "history restarts with the clean run"
    );
}

async fn batches_at_and_above_the_bind_limit(db: &TestDb) {
    let fx = Fixture::new(db).await;
    let store = &fx.store;
    let per_row = stage_values(RecordKind::Device);
    let at_limit = store.backend().max_binds() / per_row;
    for n in [at_limit, at_limit + 1, 3 * at_limit + 7] {
        let report = sync(
            &fx,
            devices(n, "pc"),
            &[RecordKind::Device],
            RunOutcome::Succeeded,
            false,
        )
        .await;
        assert_eq!(report.written[&RecordKind::Device], n as u64);
        assert_eq!(
            store.raw_counts(fx.repository_id).await.unwrap()[&RecordKind::Device],
            n as u64
        );
    }
    // A tiny bind budget and commit interval exercise many chunks and commits.
    let run = fx.run_id().await;
    let config = WriterConfig {
        commit_every: 7,
        max_binds: Some(per_row * 3),
    };
    let mut writer = store.sync_writer(fx.repository_id, fx.connector_id, run, false, config);
    writer
        .write(batch(devices(100, "small"), &[RecordKind::Device]))
        .await
        .unwrap();
    writer.finish(RunOutcome::Succeeded).await.unwrap();
    assert_eq!(
        store.raw_counts(fx.repository_id).await.unwrap()[&RecordKind::Device],
        100
    );
}

async fn duplicate_keys_in_one_batch_keep_the_last(db: &TestDb) {
    let fx = Fixture::new(db).await;
    let records = vec![
        Device::new("d1", "first").into(),
        Device::new("d2", "other").into(),
        Device::new("d1", "last").into(),
    ];
    let report = sync(
        &fx,
        records,
        &[RecordKind::Device],
        RunOutcome::Succeeded,
        false,
    )
    .await;
    assert_eq!(report.written[&RecordKind::Device], 2);
    let rows = fx.contents(RecordKind::Device).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows.iter().find(|r| r["source_key"] == "d1").unwrap()["name"],
        "last"
    );
}

async fn unicode_long_strings_and_nulls_round_trip(db: &TestDb) {
    let fx = Fixture::new(db).await;
    let mut user = User::new("ü-1", "zoë@exämple.com");
    user.display_name = Some("Zoë 🚀 日本語 \"quoted\" 'single' \\ back".into());
    user.department = Some(format!("nul\0byte{}", "x".repeat(10_000)));
    user.enabled = None;
    user.concealed = true;
    sync(
        &fx,
        vec![user.into()],
        &[RecordKind::User],
        RunOutcome::Succeeded,
        false,
    )
    .await;
    let rows = fx.contents(RecordKind::User).await;
    let row = &rows[0];
    assert_eq!(row["source_key"], "ü-1");
    assert_eq!(row["user_principal_name"], "zoë@exämple.com");
    assert_eq!(
        row["display_name"],
        "Zoë 🚀 日本語 \"quoted\" 'single' \\ back"
    );
    let department = row["department"].as_str().unwrap();
    assert!(department.starts_with("nulbytex"), "NUL removed");
    assert_eq!(
        department.chars().count(),
        repo_store::raw_table(RecordKind::User)
            .map(|_| 4000)
            .unwrap(),
        "cut to the limit"
    );
    assert_eq!(row["enabled"], serde_json::Value::Null);
    assert_eq!(row["mail"], serde_json::Value::Null);
    assert_eq!(row["concealed"], true);
    assert_eq!(row["connector"], "CSV");
}

async fn a_reader_during_a_sync_sees_the_last_published_sync(db: &TestDb) {
    let fx = Fixture::new(db).await;
    sync(
        &fx,
        devices(10, "old"),
        &[RecordKind::Device],
        RunOutcome::Succeeded,
        false,
    )
    .await;
    let run = fx.run_id().await;
    // Statements of five rows, a commit every ten: the run's rows are in the
    // database, committed, before it publishes.
    let mut writer =
        fx.store
            .sync_writer(fx.repository_id, fx.connector_id, run, true, tiny(5, 10));
    writer
        .write(batch(devices(30, "new"), &[RecordKind::Device]))
        .await
        .unwrap();
    assert_eq!(
        writer.staged()[&RecordKind::Device],
        30,
        "the rows went to the database"
    );
    let reader = repo_store::Store::connect(&db.url).await.unwrap();
    let rows = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        reader.raw_rows(fx.repository_id, RecordKind::Device, Default::default()),
    )
    .await
    .expect("a reader is not blocked by the writer")
    .unwrap();
    assert_eq!(rows.len(), 10);
    assert!(
        rows.iter()
            .all(|r| r["name"].as_str().unwrap().starts_with("old"))
    );
    writer.finish(RunOutcome::Succeeded).await.unwrap();
    let rows = reader
        .raw_rows(fx.repository_id, RecordKind::Device, Default::default())
        .await
        .unwrap();
    assert_eq!(rows.len(), 30);
    assert!(
        rows.iter()
            .all(|r| r["name"].as_str().unwrap().starts_with("new"))
    );
}
