//! The HTTP API under load: 50 concurrent clients read the process log and
//! product usage of a repository with about a million raw installations,
//! while `invhost serve` runs a sync of that tenant; measured from outside.
//!
//! ```sh
//! cargo build --release -p host-cli -p graph-simulator
//! cargo bench -p tests --bench api_load
//! ```
//!
//! A fresh PostgreSQL database gets a simulated tenant of
//! `INVHOST_BENCH_SCALE` (default `40000x40000x25`: users, devices, apps per
//! device, about 1,000,000 installations), synced and consolidated with
//! `invhost execute` (timed: the sync without load). Then `invhost serve`
//! starts with its API, a second sync of the same tenant is queued, and
//! `INVHOST_BENCH_CLIENTS` (50) clients send requests for
//! `INVHOST_BENCH_SECONDS` (20) seconds per route; the second sync's own
//! time comes from the process log. Last, with the host quiet, one client
//! times console pages one request after the other: installations (first
//! page, a page half way down, sorted by device name, searched), a
//! product's explanation, product usage and the process log.

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
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

fn psql(database: &str, sql: &str) -> String {
    let output = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            database,
            "-Atqc",
            sql,
        ])
        .output()
        .expect("psql (the PostgreSQL client) runs");
    assert!(output.status.success(), "psql -c {sql}");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

struct Bench {
    name: String,
    home: tempfile::TempDir,
}

impl Bench {
    fn invhost(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(release_bin("invhost"));
        cmd.args(args)
            .env("INVHOST_DATA_DIR", self.home.path().join("data"))
            .env("XDG_CONFIG_HOME", self.home.path().join("config"))
            .env(
                "INVHOST_DATABASE_URL",
                format!("postgres://postgres@127.0.0.1:5432/{}", self.name),
            )
            .env_remove("INVHOST_PLUGIN_DIRS")
            .env_remove("INVHOST_LOG");
        cmd
    }

    fn ok(&self, args: &[&str]) -> String {
        let output = self.invhost(args).output().unwrap();
        assert!(
            output.status.success(),
            "invhost {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        psql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// Requests per second and latency percentiles of `clients` clients
/// sending GET `path` for `seconds`.
async fn load(base: &str, token: &str, path: &str, clients: usize, seconds: u64) -> String {
    let client = reqwest::Client::new();
    let until = Instant::now() + Duration::from_secs(seconds);
    let url = Arc::new(format!("{base}{path}"));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, url, token) = (client.clone(), Arc::clone(&url), token.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            let mut failed = 0u64;
            while Instant::now() < until {
                let started = Instant::now();
                match client.get(url.as_str()).bearer_auth(&token).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        times.push(started.elapsed().as_secs_f64() * 1000.0);
                    }
                    _ => failed += 1,
                }
            }
            (times, failed)
        }));
    }
    let mut all = Vec::new();
    let mut failed = 0;
    for task in tasks {
        let (times, f) = task.await.unwrap();
        all.extend(times);
        failed += f;
    }
    all.sort_by(f64::total_cmp);
    let at = |q: f64| all[((all.len() - 1) as f64 * q).round() as usize];
    format!(
        "{path}: {clients} clients, {:.0} requests/s, p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms, {failed} failed",
        all.len() as f64 / seconds as f64,
        at(0.5),
        at(0.99),
        at(1.0)
    )
}

/// One client, one request after the other: `runs` GETs of a console page,
/// the median and slowest time.
async fn page_time(base: &str, token: &str, path: &str, runs: usize) -> String {
    let client = reqwest::Client::new();
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..runs {
        let started = Instant::now();
        let response = client
            .get(format!("{base}{path}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        let body = response.text().await.unwrap();
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        assert!(body.contains("<table"), "{path}: no table");
        size = body.len();
    }
    times.sort_by(f64::total_cmp);
    format!(
        "console {path}: median {:.0} ms, max {:.0} ms of {runs}, {} kB",
        times[times.len() / 2],
        times[times.len() - 1],
        size / 1024
    )
}

fn main() {
    let scale = std::env::var("INVHOST_BENCH_SCALE").unwrap_or_else(|_| "40000x40000x25".into());
    let parts: Vec<usize> = scale.split('x').map(|n| n.parse().unwrap()).collect();
    let clients: usize = std::env::var("INVHOST_BENCH_CLIENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(50);
    let seconds: u64 = std::env::var("INVHOST_BENCH_SECONDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20);
    let bench = Bench {
        name: format!("invhost_api_load_{}", std::process::id()),
        home: tempfile::tempdir().unwrap(),
    };
    psql(
        "postgres",
        &format!("DROP DATABASE IF EXISTS {}", bench.name),
    );
    psql("postgres", &format!("CREATE DATABASE {}", bench.name));

    let mut sim = Command::new(release_bin("graph-simulator"))
        .args([
            "--users",
            &parts[0].to_string(),
            "--devices",
            &parts[1].to_string(),
            "--apps-per-device",
            &parts[2].to_string(),
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
    let add = bench
        .invhost(&[
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
        ])
        .env("BENCH_SECRET", s("client_secret"))
        .output()
        .unwrap();
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );

    let started = Instant::now();
    bench.ok(&[
        "execute",
        "--repository",
        "Default Inventory",
        "--action",
        "Sync Data - Bench",
    ]);
    let quiet_sync = started.elapsed().as_secs_f64();
    let started = Instant::now();
    bench.ok(&[
        "execute",
        "--repository",
        "Default Inventory",
        "--action",
        "Generate Report - Basic Inventory Consolidation",
    ]);
    let consolidation = started.elapsed().as_secs_f64();
    let installations = psql(&bench.name, "SELECT count(*) FROM raw_installations");
    println!(
        "api_load: {scale}: {installations} raw installations; sync without load {quiet_sync:.1} s, consolidation {consolidation:.1} s"
    );

    let mut user = bench
        .invhost(&[
            "user",
            "add",
            "bench",
            "--role",
            "viewer",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    user.stdin
        .take()
        .unwrap()
        .write_all(b"a long benchmark password")
        .unwrap();
    assert!(user.wait().unwrap().success());
    let token: serde_json::Value =
        serde_json::from_str(&bench.ok(&["token", "create", "--user", "bench", "--json"])).unwrap();
    let token = token["token"].as_str().unwrap().to_owned();

    let log = bench.home.path().join("serve.log");
    let mut serve = bench
        .invhost(&["serve", "--workers", "2", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let base = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(address) = text
            .split_whitespace()
            .find_map(|w| w.strip_prefix("address="))
        {
            break format!("http://{address}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let queued = bench.ok(&[
        "execute",
        "--repository",
        "Default Inventory",
        "--action",
        "Sync Data - Bench",
        "--queue",
        "--json",
    ]);
    let id = serde_json::from_str::<serde_json::Value>(&queued).unwrap()["id"]
        .as_i64()
        .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let lines = runtime.block_on(async {
        let log = load(
            &base,
            &token,
            "/api/v1/processes?limit=100",
            clients,
            seconds,
        )
        .await;
        let usage = load(
            &base,
            &token,
            "/api/v1/inventory/product-usage?limit=100",
            clients,
            seconds,
        )
        .await;
        [log, usage]
    });
    let sync_status = psql(
        &bench.name,
        &format!("SELECT status FROM processes WHERE id = {id}"),
    );
    let during = loop {
        let row = psql(
            &bench.name,
            &format!(
                "SELECT status, extract(epoch FROM finished_at - started_at) FROM processes WHERE id = {id}"
            ),
        );
        let (status, secs) = row.split_once('|').unwrap();
        if status != "queued" && status != "running" {
            break format!("{status} in {secs} s");
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let device = psql(
        &bench.name,
        "SELECT name FROM raw_devices WHERE name IS NOT NULL ORDER BY source_key LIMIT 1 OFFSET 1000",
    );
    let product = psql(
        &bench.name,
        "SELECT product_id FROM cons_installations GROUP BY product_id ORDER BY count(*) DESC LIMIT 1",
    );
    let pages = runtime.block_on(async {
        let mut lines = Vec::new();
        for path in [
            "/console/inventory/installations".to_owned(),
            "/console/inventory/installations?page=10000".to_owned(),
            "/console/inventory/installations?sort=device".to_owned(),
            format!(
                "/console/inventory/installations?q={}",
                device.replace(' ', "+")
            ),
            format!("/console/explain/product/{product}"),
            "/console/product-usage".to_owned(),
            "/console/processes".to_owned(),
        ] {
            lines.push(page_time(&base, &token, &path, 5).await);
        }
        lines
    });
    let _ = Command::new("kill")
        .args(["-TERM", &serve.id().to_string()])
        .status();
    let _ = serve.wait();
    drop(sim.stdin.take());
    let _ = sim.kill();
    let _ = sim.wait();
    for line in lines.iter().chain(&pages) {
        println!("api_load: {line}");
    }
    println!(
        "api_load: the sync under that load (it was {sync_status} when the load ended): {during}"
    );
}
