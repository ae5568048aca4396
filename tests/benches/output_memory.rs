//! Output memory: `invhost inventory VIEW --json` (and the table) of a
//! million rows, measured from outside. The rows are written straight
//! through the store (as a sync would) into a fresh SQLite file; then the
//! release binary prints them to a pipe this bench drains, while its peak
//! resident memory (`VmHWM`) is read from `/proc`.
//!
//! ```sh
//! cargo build --release -p host-cli
//! cargo bench -p tests --bench output_memory
//! ```
//!
//! `INVHOST_BENCH_ROWS` (default 1000000) installations, and a tenth as
//! many devices.

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use connector_core::{Batch, Device, Installation, Record, RecordKind};
use repo_store::{NewConnector, NewProcess, RunOutcome, SecretKey, Store, Trigger, WriterConfig};

fn release_bin(name: &str) -> PathBuf {
    let deps = std::env::current_exe().unwrap();
    let path = deps.parent().unwrap().parent().unwrap().join(name);
    assert!(
        path.exists(),
        "{} is missing: cargo build --release -p host-cli",
        path.display()
    );
    path
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

async fn fill(data: &Path, installations: usize) {
    std::fs::create_dir_all(data).unwrap();
    let url = format!("sqlite://{}?mode=rwc", data.join("invhost.db").display());
    let store = Store::connect(&url).await.unwrap();
    let key = SecretKey::load_or_create(&data.join("secret.key")).unwrap();
    let repository_id = store
        .repository(repo_store::DEFAULT_REPOSITORY)
        .await
        .unwrap()
        .id;
    let connector = store
        .create_connector(
            NewConnector {
                name: "Bench".into(),
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
    let run = store
        .queue_process(NewProcess {
            parent_id: None,
            repository_id,
            connector_id: Some(connector.id),
            action: "Sync Data - Bench".into(),
            trigger: Trigger::Operator,
            clean: false,
            host: None,
            continue_on_failure: false,
        })
        .await
        .unwrap()
        .id;
    let mut writer = store.sync_writer(
        repository_id,
        connector.id,
        run,
        false,
        WriterConfig::default(),
    );
    let devices = installations / 10;
    for start in (0..devices).step_by(5_000) {
        let records: Vec<Record> = (start..(start + 5_000).min(devices))
            .map(|i| {
                let mut d = Device::new(format!("device-{i:07}"), format!("PC-{i:07}"));
                d.serial_number = Some(format!("SN{i:010}"));
                d.operating_system = Some("Windows".into());
                d.into()
            })
            .collect();
        writer
            .write(Batch {
                records,
                complete: vec![],
            })
            .await
            .unwrap();
    }
    for start in (0..installations).step_by(5_000) {
        let records: Vec<Record> = (start..(start + 5_000).min(installations))
            .map(|i| {
                Installation::new(
                    format!("device-{:07}", i / 10),
                    format!("app-{:03}", i % 500),
                )
                .into()
            })
            .collect();
        writer
            .write(Batch {
                records,
                complete: vec![],
            })
            .await
            .unwrap();
    }
    writer
        .write(Batch {
            records: vec![],
            complete: vec![RecordKind::Device, RecordKind::Installation],
        })
        .await
        .unwrap();
    writer.finish(RunOutcome::Succeeded).await.unwrap();
}

/// Runs `invhost ARGS`, drains its stdout, and returns (seconds, bytes,
/// peak resident memory in MiB).
fn measure(data: &Path, args: &[&str]) -> (f64, u64, f64) {
    let started = Instant::now();
    let mut child = Command::new(release_bin("invhost"))
        .args(args)
        .env("INVHOST_DATA_DIR", data)
        .env("XDG_CONFIG_HOME", data.join("config"))
        .env_remove("INVHOST_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buffer = vec![0u8; 1 << 16];
        let mut total = 0u64;
        loop {
            match stdout.read(&mut buffer) {
                Ok(0) | Err(_) => return total,
                Ok(n) => total += n as u64,
            }
        }
    });
    let mut peak = 0;
    while child.try_wait().unwrap().is_none() {
        if let Some(kib) = peak_rss_kib(pid) {
            peak = peak.max(kib);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let bytes = reader.join().unwrap();
    (started.elapsed().as_secs_f64(), bytes, peak as f64 / 1024.0)
}

fn main() {
    let rows: usize = std::env::var("INVHOST_BENCH_ROWS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let started = Instant::now();
    runtime.block_on(fill(&data, rows));
    println!(
        "output_memory: wrote {rows} installations and {} devices in {:.1} s",
        rows / 10,
        started.elapsed().as_secs_f64()
    );
    let all = (rows * 2).to_string();
    for (view, format) in [
        ("installations", "--json"),
        ("devices", "--json"),
        ("installations", "table"),
    ] {
        let mut args = vec!["inventory", view, "--limit", &all];
        if format == "--json" {
            args.push("--json");
        }
        let (seconds, bytes, peak) = measure(&data, &args);
        println!(
            "output_memory: inventory {view} {format}: {:.0} MB written in {seconds:.1} s ({:.0} rows/s), peak RSS {peak:.0} MiB",
            bytes as f64 / 1e6,
            if view == "devices" { rows / 10 } else { rows } as f64 / seconds,
        );
    }
}
