//! The sync writer against raw baselines, on SQLite and PostgreSQL.
//!
//! `cargo bench -p repo-store --bench writer` (N = 1,000,000; set
//! `INVHOST_BENCH_ROWS` for another N). Writes N installation-shaped rows
//! through [`SyncWriter`] in batches of 1,000 and, as the baseline, through
//! one prepared INSERT in one transaction (rusqlite on SQLite, sqlx on
//! PostgreSQL). Peak RSS is read after the writer runs at N/10 and at N: it
//! must not grow with N. PostgreSQL runs when 127.0.0.1:5432 answers.

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::time::Instant;

use connector_core::{Batch, Installation, Record, RecordKind};
use repo_store::{RunOutcome, Store, WriterConfig};
use sea_orm::{ConnectionTrait, Database, Statement};

const BATCH: usize = 1_000;

fn installation(i: usize) -> Installation {
    let mut record = Installation::new(
        format!("device-{:07}", i / 20),
        format!("app-{:05}", i % 5_000),
    );
    record.source_key = format!("inst-{i:08}");
    record.installed_on = Some("2026-01-15".into());
    record
}

fn peak_rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_owned)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|n| n.parse::<u64>().ok())
        })
        .unwrap_or(0)
        / 1024
}

async fn writer_run(url: &str, n: usize) -> f64 {
    let store = Store::connect(url).await.unwrap();
    let repository = store
        .repository(repo_store::DEFAULT_REPOSITORY)
        .await
        .unwrap()
        .id;
    let start = Instant::now();
    let mut writer = store.sync_writer(repository, 1, 1, false, WriterConfig::default());
    let mut i = 0;
    while i < n {
        let end = (i + BATCH).min(n);
        let records: Vec<Record> = (i..end).map(|j| installation(j).into()).collect();
        let complete = if end == n {
            vec![RecordKind::Installation]
        } else {
            vec![]
        };
        writer.write(Batch { records, complete }).await.unwrap();
        i = end;
    }
    writer.finish(RunOutcome::Succeeded).await.unwrap();
    n as f64 / start.elapsed().as_secs_f64()
}

fn sqlite_baseline(path: &std::path::Path, n: usize) -> f64 {
    let mut db = rusqlite::Connection::open(path).unwrap();
    db.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
         CREATE TABLE raw_installations (repository_id INTEGER NOT NULL, connector_id INTEGER NOT NULL,
           source_key TEXT NOT NULL, device_key TEXT, application_key TEXT, installed_on TEXT, last_used TEXT,
           first_seen_run INTEGER NOT NULL, last_seen_run INTEGER NOT NULL,
           PRIMARY KEY (repository_id, connector_id, source_key));",
    )
    .unwrap();
    let start = Instant::now();
    let tx = db.transaction().unwrap();
    {
        let mut insert = tx
            .prepare("INSERT INTO raw_installations VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")
            .unwrap();
        for i in 0..n {
            let r = installation(i);
            insert
                .execute(rusqlite::params![
                    1,
                    1,
                    r.source_key,
                    r.device_key,
                    r.application_key,
                    r.installed_on,
                    r.last_used,
                    1,
                    1
                ])
                .unwrap();
        }
    }
    tx.commit().unwrap();
    n as f64 / start.elapsed().as_secs_f64()
}

async fn postgres_baseline(url: &str, n: usize) -> f64 {
    let db = Database::connect(url).await.unwrap();
    let pool = db.get_postgres_connection_pool();
    sea_orm::sqlx::query(
        "CREATE TABLE baseline (repository_id BIGINT NOT NULL, connector_id BIGINT NOT NULL,
           source_key TEXT NOT NULL, device_key TEXT, application_key TEXT, installed_on TEXT, last_used TEXT,
           first_seen_run BIGINT NOT NULL, last_seen_run BIGINT NOT NULL,
           PRIMARY KEY (repository_id, connector_id, source_key))",
    )
    .execute(pool)
    .await
    .unwrap();
    let start = Instant::now();
    let mut tx = pool.begin().await.unwrap();
    for i in 0..n {
        let r = installation(i);
        sea_orm::sqlx::query("INSERT INTO baseline VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(1_i64)
            .bind(1_i64)
            .bind(r.source_key)
            .bind(r.device_key)
            .bind(r.application_key)
            .bind(r.installed_on)
            .bind(r.last_used)
            .bind(1_i64)
            .bind(1_i64)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    n as f64 / start.elapsed().as_secs_f64()
}

async fn postgres_database(name: &str) -> Option<String> {
    let admin = Database::connect("postgres://postgres@127.0.0.1:5432/postgres")
        .await
        .ok()?;
    let backend = admin.get_database_backend();
    admin
        .execute(Statement::from_string(
            backend,
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        ))
        .await
        .ok()?;
    admin
        .execute(Statement::from_string(
            backend,
            format!("CREATE DATABASE {name}"),
        ))
        .await
        .ok()?;
    Some(format!("postgres://postgres@127.0.0.1:5432/{name}"))
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("INVHOST_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();

    let small = writer_run(
        &format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("small.db").display()
        ),
        n / 10,
    )
    .await;
    let rss_small = peak_rss_mib();
    let writer = writer_run(
        &format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("writer.db").display()
        ),
        n,
    )
    .await;
    let rss_large = peak_rss_mib();
    println!(
        "sqlite writer:   {:>9} rows  {small:>9.0} rows/s  peak RSS {rss_small} MiB",
        n / 10
    );
    println!("sqlite writer:   {n:>9} rows  {writer:>9.0} rows/s  peak RSS {rss_large} MiB");
    let baseline = sqlite_baseline(&dir.path().join("baseline.db"), n);
    println!(
        "sqlite baseline: {n:>9} rows  {baseline:>9.0} rows/s  (rusqlite, one prepared INSERT, one transaction)"
    );
    println!("sqlite ratio writer/baseline: {:.2}", writer / baseline);

    if std::env::var("INVHOST_BENCH_BACKENDS").is_ok_and(|b| !b.contains("postgres")) {
        return;
    }
    match postgres_database("invhost_bench_writer").await {
        Some(url) => {
            let writer = writer_run(&url, n).await;
            println!(
                "postgres writer:   {n:>9} rows  {writer:>9.0} rows/s  peak RSS {} MiB",
                peak_rss_mib()
            );
            let baseline = postgres_baseline(&url, n).await;
            println!(
                "postgres baseline: {n:>9} rows  {baseline:>9.0} rows/s  (sqlx, one prepared INSERT, one transaction)"
            );
            println!("postgres ratio writer/baseline: {:.2}", writer / baseline);
            let _ = postgres_database("invhost_bench_writer").await;
        }
        None => println!("postgres: SKIPPED (127.0.0.1:5432 unreachable)"),
    }
}
