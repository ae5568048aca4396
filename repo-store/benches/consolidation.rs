//! *Generate Report - Basic Inventory Consolidation* on a large repository,
//! on SQLite and PostgreSQL.
//!
//! `cargo bench -p repo-store --bench consolidation` builds a repository of
//! 1,000,000 raw installations over 50,000 devices (set
//! `INVHOST_BENCH_INSTALLATIONS` for another size; devices are a twentieth
//! of it) from two connectors: an Intune-like one (managed devices, their
//! Entra registrations, 2,000 titles, users, usage rows, licences) and a
//! spreadsheet-like one re-describing a tenth of the machines by serial or
//! by name. It then times one consolidation and reports the peak RSS of the
//! consolidation alone (the high-water mark is reset before it starts).
//! PostgreSQL runs when 127.0.0.1:5432 answers.

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::time::Instant;

use chrono::{Days, Utc};
use connector_core::{
    Application, ApplicationUsage, Batch, Device, Installation, Licence, LicenceAssignment, Record,
    RecordKind, User,
};
use repo_store::consolidation::{Catalog, Request, Thresholds};
use repo_store::{RunOutcome, Store, WriterConfig};
use sea_orm::{ConnectionTrait, Database, Statement};

const BATCH: usize = 2_000;
const TITLES: usize = 2_000;
const PER_DEVICE: usize = 20;

/// Known titles in several versions, and line-of-business tools no rule knows.
const KNOWN: [&str; 10] = [
    "Microsoft 365 Apps for enterprise - en-us",
    "Microsoft Teams",
    "Google Chrome",
    "Mozilla Firefox",
    "Adobe Acrobat Reader DC",
    "Zoom Workplace",
    "7-Zip 24.08 (x64)",
    "Microsoft Edge",
    "Notepad++ (64-bit x64)",
    "Microsoft Visual C++ 2015-2022 Redistributable (x64)",
];

fn kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// Resets the peak RSS to the current RSS (Linux `clear_refs`).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn day(back: u64) -> String {
    (Utc::now().date_naive() - Days::new(back))
        .format("%Y-%m-%d")
        .to_string()
}

/// Records in batches into one connector's sync run.
struct Writer {
    records: Vec<Record>,
    writer: repo_store::SyncWriter,
}

impl Writer {
    fn new(store: &Store, repository: i64, connector: i64) -> Self {
        Writer {
            records: Vec::with_capacity(BATCH),
            writer: store.sync_writer(
                repository,
                connector,
                connector,
                false,
                WriterConfig::default(),
            ),
        }
    }

    async fn push(&mut self, record: impl Into<Record>) {
        self.records.push(record.into());
        if self.records.len() == BATCH {
            let records = std::mem::take(&mut self.records);
            self.writer
                .write(Batch {
                    records,
                    complete: vec![],
                })
                .await
                .unwrap();
        }
    }

    async fn finish(self) {
        let mut writer = self.writer;
        writer
            .write(Batch {
                records: self.records,
                complete: RecordKind::ALL.to_vec(),
            })
            .await
            .unwrap();
        writer.finish(RunOutcome::Succeeded).await.unwrap();
    }
}

async fn fill(store: &Store, repository: i64, installations: usize) {
    let devices = installations / PER_DEVICE;
    let users = devices * 4 / 5;
    let mut w = Writer::new(store, repository, 1);
    // The Intune-like connector reads a tenant; the spreadsheet none.
    w.writer
        .set_tenant(Some("0a0a0a0a-0000-4000-8000-00000000000a"));
    for d in 0..devices {
        let mut device = Device::new(format!("dev-{d}"), format!("PC-{d:06}"));
        device.entra_device_id = Some(format!("{d:08x}-0000-4000-8000-000000000000"));
        device.serial_number = Some(format!("SN{d:08}"));
        device.primary_user = Some(format!("user{}@contoso.com", d % users));
        w.push(device).await;
        if d % 2 == 0 {
            let mut entra = Device::new(format!("entra-{d}"), format!("PC-{d:06}"));
            entra.entra_device_id = Some(format!("{d:08X}-0000-4000-8000-000000000000"));
            w.push(entra).await;
        }
    }
    for t in 0..TITLES {
        let mut app = if t % 4 == 0 {
            Application::new(format!("app-{t}"), format!("Contoso Tool {t}"))
        } else {
            Application::new(format!("app-{t}"), KNOWN[t % KNOWN.len()])
        };
        app.publisher = Some("Vendor".into());
        app.version = Some(format!("{}.{}", t % 7, t / 10));
        app.platform = Some("Windows".into());
        w.push(app).await;
    }
    for i in 0..devices * PER_DEVICE {
        let (d, k) = (i / PER_DEVICE, i % PER_DEVICE);
        let mut installation = Installation::new(
            format!("dev-{d}"),
            format!("app-{}", (d * 37 + k * 100) % TITLES),
        );
        if i % 3 == 0 {
            installation.last_used = Some(day((i % 200) as u64));
        }
        w.push(installation).await;
    }
    let refreshed = day(2);
    for u in 0..users {
        w.push(User::new(format!("u{u}"), format!("User{u}@Contoso.com")))
            .await;
        for (n, app) in ["Word", "Exchange", "Teams"].into_iter().enumerate() {
            let mut usage = ApplicationUsage::default();
            usage.source_key = format!("{u}|{app}");
            usage.user = format!("user{u}@contoso.com");
            usage.application = app.into();
            usage.last_activity = (u % 5 != n).then(|| day(((u * 13 + n * 7) % 150) as u64));
            usage.report_period_days = Some(30);
            usage.report_refresh_date = Some(refreshed.clone());
            w.push(usage).await;
        }
        let mut assignment = LicenceAssignment::default();
        assignment.source_key = format!("u{u}|sku-{}", u % 3);
        assignment.user_key = format!("u{u}");
        assignment.sku_id = format!("sku-{}", u % 3);
        w.push(assignment).await;
    }
    for s in 0..3 {
        let mut licence = Licence::default();
        licence.source_key = format!("sku-{s}");
        licence.sku_id = format!("sku-{s}");
        licence.part_number = format!("PART_{s}");
        licence.prepaid_enabled = Some((users / 3 + 100) as i64);
        w.push(licence).await;
    }
    w.finish().await;

    // A spreadsheet describing a tenth of the machines again.
    let mut w = Writer::new(store, repository, 2);
    for d in (0..devices).step_by(10) {
        let mut device = Device::new(format!("row-{d}"), format!("pc-{d:06}.corp.contoso.com"));
        if d % 20 == 0 {
            device.serial_number = Some(format!("sn{d:08}"));
        }
        w.push(device).await;
    }
    w.finish().await;
}

async fn run(label: &str, url: &str, installations: usize) {
    let store = Store::connect(url).await.unwrap();
    let repository = store
        .repository(repo_store::DEFAULT_REPOSITORY)
        .await
        .unwrap()
        .id;
    let start = Instant::now();
    fill(&store, repository, installations).await;
    let filled = start.elapsed();
    let catalog = Catalog::default_only().unwrap();
    let request = Request {
        repository_id: repository,
        process_id: None,
        catalog: &catalog,
        rule_files: vec![],
        thresholds: Thresholds::default(),
        as_of: Utc::now().date_naive(),
    };
    let before = kib("VmRSS:");
    reset_peak();
    let start = Instant::now();
    let summary = store.consolidate(&request).await.unwrap();
    let took = start.elapsed();
    let peak = kib("VmHWM:");
    println!(
        "{label:<8} {} raw installations, {} raw devices -> {} devices, {} products, {} installations: \
         consolidation {:.1} s ({:.0} raw installations/s), peak RSS {} MiB (+{} MiB over the {} MiB before); \
         filling took {:.0} s",
        summary.raw_installations,
        summary.raw_devices,
        summary.devices,
        summary.products,
        summary.installations,
        took.as_secs_f64(),
        summary.raw_installations as f64 / took.as_secs_f64(),
        peak / 1024,
        peak.saturating_sub(before) / 1024,
        before / 1024,
        filled.as_secs_f64(),
    );
    println!("         {}", summary.line());
}

async fn postgres_database(name: &str) -> Option<String> {
    let admin = Database::connect("postgres://postgres@127.0.0.1:5432/postgres")
        .await
        .ok()?;
    let backend = admin.get_database_backend();
    for sql in [
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        format!("CREATE DATABASE {name}"),
    ] {
        admin
            .execute(Statement::from_string(backend, sql))
            .await
            .ok()?;
    }
    Some(format!("postgres://postgres@127.0.0.1:5432/{name}"))
}

#[tokio::main]
async fn main() {
    // INVHOST_BENCH_STEPS=1: the time of each consolidation step on stderr.
    if std::env::var("INVHOST_BENCH_STEPS").is_ok_and(|v| v == "1") {
        tracing_subscriber::fmt()
            .with_env_filter("repo_store::consolidation=debug")
            .with_writer(std::io::stderr)
            .init();
    }
    let installations: usize = std::env::var("INVHOST_BENCH_INSTALLATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}?mode=rwc", dir.path().join("cons.db").display());
    run("sqlite", &sqlite, installations).await;
    match postgres_database("invhost_bench_consolidation").await {
        Some(url) => run("postgres", &url, installations).await,
        None => println!("postgres: skipped (nothing answers at 127.0.0.1:5432)"),
    }
}
