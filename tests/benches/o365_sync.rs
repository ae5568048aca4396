//! A Microsoft 365 sync of a large simulated tenant into SQLite, measured from
//! outside: `invhost execute` runs as its own process against the
//! `graph-simulator` process, so the figures are the host's and the
//! connector's alone.
//!
//! ```sh
//! cargo build --release -p host-cli -p graph-simulator
//! cargo bench -p tests --bench o365_sync
//! ```
//!
//! Tenant sizes (`INVHOST_BENCH_SCALE=small,large,xlarge` by default):
//! 1,000 users and devices (~16,000 installations), 10,000 (~160,000) and
//! 30,000 (~490,000), 20 apps per device on average; `USERSxDEVICESxAPPS`
//! names any other (`10000x10000x25` is about 200,000 installations).
//!
//! `INVHOST_BENCH_DATABASE=postgres` syncs into a fresh database on the
//! local PostgreSQL server instead of a fresh SQLite file;
//! `INVHOST_BENCH_RUNS=N` repeats each size N times.

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn release_bin(name: &str) -> PathBuf {
    let deps = std::env::current_exe().unwrap();
    let path = deps.parent().unwrap().parent().unwrap().join(name);
    assert!(
        path.exists(),
        "{} is missing: cargo build --release -p host-cli -p graph-simulator",
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

fn invhost(home: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(release_bin("invhost"));
    cmd.args(args)
        .env("INVHOST_DATA_DIR", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env_remove("INVHOST_DATABASE_URL")
        .env_remove("INVHOST_PLUGIN_DIRS");
    if let Ok(url) = std::fs::read_to_string(home.join("database-url")) {
        cmd.env("INVHOST_DATABASE_URL", url);
    }
    cmd
}

/// A fresh PostgreSQL database for one run, dropped when done.
struct PgDatabase {
    name: String,
}

impl PgDatabase {
    fn create() -> PgDatabase {
        let name = format!("invhost_bench_{}", std::process::id());
        psql(&format!("DROP DATABASE IF EXISTS {name}"));
        psql(&format!("CREATE DATABASE {name}"));
        PgDatabase { name }
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        psql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

fn psql(sql: &str) {
    let status = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-qc",
            sql,
        ])
        .status()
        .expect("psql (the PostgreSQL client) runs");
    assert!(status.success(), "psql -c {sql}");
}

fn run(scale: &str, users: usize, devices: usize, apps_per_device: usize) {
    let home = tempfile::tempdir().unwrap();
    let postgres = std::env::var("INVHOST_BENCH_DATABASE").is_ok_and(|d| d == "postgres");
    let database = postgres.then(PgDatabase::create);
    let url = database.as_ref().map(PgDatabase::url);
    if let Some(url) = &url {
        std::fs::write(home.path().join("database-url"), url).unwrap();
    }
    let mut sim = Command::new(release_bin("graph-simulator"))
        .args([
            "--users",
            &users.to_string(),
            "--devices",
            &devices.to_string(),
            "--apps-per-device",
            &apps_per_device.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(sim.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: serde_json::Value = serde_json::from_str(&line).unwrap();
    let s = |k: &str| info[k].as_str().unwrap().to_owned();

    let add = invhost(
        home.path(),
        &[
            "connector",
            "add",
            "--type",
            "o365",
            "--name",
            "Bench",
            "--param",
            &format!("cloud_instance={}", s("base_url")),
            "--param",
            &format!("tenant_id={}", s("tenant_id")),
            "--param",
            &format!("client_id={}", s("client_id")),
            "--secret",
            "client_secret=env:BENCH_SECRET",
        ],
    )
    .env("BENCH_SECRET", s("client_secret"))
    .output()
    .unwrap();
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );

    let start = Instant::now();
    let mut child = invhost(
        home.path(),
        &[
            "execute",
            "--repository",
            "Default Inventory",
            "--action",
            "Sync Data - Bench",
            "--json",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let pid = child.id();
    let mut peak = 0;
    while child.try_wait().unwrap().is_none() {
        if let Some(kib) = peak_rss_kib(pid) {
            peak = peak.max(kib);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let wall = start.elapsed().as_secs_f64();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "sync failed: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    let processes: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let counts = &processes[0]["counts"];
    let records: u64 = counts
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    let message = processes[0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    drop(sim.stdin.take());
    let _ = sim.kill();
    let _ = sim.wait();
    let backend = if postgres { "postgres" } else { "sqlite" };
    println!(
        "o365 {scale:<5} {backend}: {users} users, {devices} devices: {records} records in {wall:.2} s = {:.0} records/s, peak RSS {} MiB; {message}",
        records as f64 / wall,
        peak / 1024
    );
    println!("      counts {counts}");
}

fn main() {
    let scales =
        std::env::var("INVHOST_BENCH_SCALE").unwrap_or_else(|_| "small,large,xlarge".into());
    let runs: usize = std::env::var("INVHOST_BENCH_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    for scale in scales.split(',') {
        let (users, devices, apps) = match scale.trim() {
            "small" => (1_000, 1_000, 20),
            "large" => (10_000, 10_000, 20),
            "xlarge" => (30_000, 30_000, 20),
            other => {
                let parts: Vec<usize> = other
                    .split('x')
                    .map(|n| {
                        n.parse()
                            .unwrap_or_else(|_| panic!("unknown scale {other}"))
                    })
                    .collect();
                match parts.as_slice() {
                    [users, devices, apps] => (*users, *devices, *apps),
                    _ => panic!("unknown scale {other}: use small, large, xlarge or UxDxA"),
                }
            }
        };
        for _ in 0..runs {
            run(scale.trim(), users, devices, apps);
        }
    }
}
