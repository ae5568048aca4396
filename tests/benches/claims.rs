//! How fast hosts drain the queue, and how soon a schedule's process starts
//! after its due time: `invhost serve` processes on one PostgreSQL database
//! claim and run processes that do nothing (a fixture connector that emits
//! no record), measured from outside.
//!
//! ```sh
//! cargo build --release -p host-cli -p fixture-plugin
//! cargo bench -p tests --bench claims
//! ```
//!
//! Claims: `INVHOST_BENCH_PROCESSES` (default 600) processes over 20
//! connectors are queued, then 1, 2 and 4 hosts (`INVHOST_BENCH_HOSTS=1,2,4`),
//! each with two workers, are started and timed until the queue is empty.
//!
//! Schedule delay: with 1 and then 3 hosts running, a schedule due every
//! 2 seconds fires `INVHOST_BENCH_DUE_TIMES` (default 15) times; for each
//! due time but the first (which may come before the hosts have seen the new
//! schedule), the delay to its process being queued and started is read from
//! the process log.

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn release_dir() -> PathBuf {
    let deps = std::env::current_exe().unwrap();
    deps.parent().unwrap().parent().unwrap().to_path_buf()
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
    assert!(
        output.status.success(),
        "psql -c {sql}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn invhost(home: &Path, url: &str, plugins: &Path) -> Command {
    let mut cmd = Command::new(release_dir().join("invhost"));
    cmd.env("INVHOST_DATA_DIR", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("INVHOST_DATABASE_URL", url)
        .env("INVHOST_PLUGIN_DIRS", plugins)
        .env_remove("INVHOST_LOG");
    cmd
}

/// A fresh database with 20 connectors that emit nothing.
struct Bench {
    name: String,
    url: String,
    home: tempfile::TempDir,
    plugins: PathBuf,
}

impl Bench {
    fn invhost(&self) -> Command {
        invhost(self.home.path(), &self.url, &self.plugins)
    }

    /// `hosts` running `invhost serve`, two workers each.
    fn serve(&self, hosts: usize) -> Vec<Child> {
        (0..hosts)
            .map(|_| {
                self.invhost()
                    .args(["serve", "--workers", "2", "--listen", "off"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect()
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

fn stop(children: &mut [Child]) {
    for child in children.iter() {
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
    }
    for child in children.iter_mut() {
        let _ = child.wait();
    }
}

fn setup(label: &str) -> Bench {
    let name = format!("invhost_{label}_{}", std::process::id());
    psql("postgres", &format!("DROP DATABASE IF EXISTS {name}"));
    psql("postgres", &format!("CREATE DATABASE {name}"));
    let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
    let home = tempfile::tempdir().unwrap();
    let plugins = home.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let library = release_dir().join("libfixture_plugin.so");
    assert!(
        library.exists(),
        "{} is missing: cargo build --release -p host-cli -p fixture-plugin",
        library.display()
    );
    let installed = plugins.join("libfixture_plugin.so");
    std::fs::copy(&library, &installed).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&installed, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    for i in 0..20 {
        let status = invhost(home.path(), &url, &plugins)
            .args([
                "connector",
                "add",
                "--type",
                "fixture-flood",
                "--name",
                &format!("N{i}"),
                "--param",
                "count=0",
            ])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
    }
    Bench {
        name,
        url,
        home,
        plugins,
    }
}

fn claims(hosts: usize, processes: usize) {
    let bench = setup("claims");
    let name = &bench.name;
    // Queue directly: what is measured is draining, not queueing.
    psql(
        name,
        &format!(
            "INSERT INTO processes (repository_id, connector_id, action, trigger, status, clean, queued_at, counts) \
             SELECT 1, c.id, 'Sync Data - ' || c.name, 'operator', 'queued', false, now(), '{{}}' \
             FROM generate_series(1, {processes}) s JOIN connectors c ON c.id = 1 + (s % 20)"
        ),
    );
    let start = Instant::now();
    let mut children = bench.serve(hosts);
    loop {
        let open: u64 = psql(
            name,
            "SELECT count(*) FROM processes WHERE status IN ('queued', 'running')",
        )
        .parse()
        .unwrap();
        if open == 0 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(600), "{open} left");
        std::thread::sleep(Duration::from_millis(50));
    }
    let wall = start.elapsed().as_secs_f64();
    stop(&mut children);
    let succeeded = psql(
        name,
        "SELECT count(*) FROM processes WHERE status = 'succeeded'",
    );
    println!(
        "claims {hosts} host(s) x 2 workers: {processes} processes ({succeeded} succeeded) in {wall:.2} s = {:.0} processes/s",
        processes as f64 / wall
    );
}

/// Milliseconds from each due time of a schedule due every 2 s to its
/// process being queued and started, with `hosts` hosts running.
fn schedule_delay(hosts: usize, due_times: usize) {
    let bench = setup("schedule");
    let mut children = bench.serve(hosts);
    // Let the hosts start before the first due time.
    std::thread::sleep(Duration::from_secs(2));
    let status = bench
        .invhost()
        .args([
            "schedule",
            "add",
            "often",
            "--cron",
            "*/2 * * * * *",
            "--repository",
            "Default Inventory",
            "--action",
            "Sync Data - N0",
        ])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(2 * due_times as u64 + 30);
    loop {
        let fired: usize = psql(&bench.name, "SELECT fired FROM schedules")
            .parse()
            .unwrap();
        if fired >= due_times {
            break;
        }
        assert!(Instant::now() < deadline, "only {fired} due times fired");
        std::thread::sleep(Duration::from_millis(200));
    }
    psql(&bench.name, "UPDATE schedules SET enabled = false");
    std::thread::sleep(Duration::from_secs(1));
    stop(&mut children);
    // A due time is an even second; its process was queued within 2 s of it.
    // The first due time is left out: it may come before the hosts, which
    // look for new schedules every second, have seen the schedule.
    let rows = psql(
        &bench.name,
        "SELECT (extract(epoch FROM queued_at) - floor(extract(epoch FROM queued_at) / 2) * 2) * 1000, \
         (extract(epoch FROM started_at) - floor(extract(epoch FROM queued_at) / 2) * 2) * 1000 \
         FROM processes WHERE trigger = 'schedule often' AND started_at IS NOT NULL ORDER BY id OFFSET 1",
    );
    let (mut queued, mut started): (Vec<f64>, Vec<f64>) = rows
        .lines()
        .map(|line| {
            let (q, s) = line.split_once('|').unwrap();
            (q.parse::<f64>().unwrap(), s.parse::<f64>().unwrap())
        })
        .unzip();
    let summary = |values: &mut Vec<f64>| {
        values.sort_by(f64::total_cmp);
        let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
        format!(
            "median {:.0} ms, p90 {:.0} ms, max {:.0} ms",
            at(0.5),
            at(0.9),
            at(1.0)
        )
    };
    println!(
        "schedule delay, {hosts} host(s), {} due times: due -> queued {}; due -> started {}",
        queued.len(),
        summary(&mut queued),
        summary(&mut started)
    );
}

fn main() {
    let processes: usize = std::env::var("INVHOST_BENCH_PROCESSES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(600);
    let hosts = std::env::var("INVHOST_BENCH_HOSTS").unwrap_or_else(|_| "1,2,4".into());
    for n in hosts.split(',').filter(|n| !n.trim().is_empty()) {
        claims(n.trim().parse().unwrap(), processes);
    }
    let due_times: usize = std::env::var("INVHOST_BENCH_DUE_TIMES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(15);
    for hosts in [1, 3] {
        schedule_delay(hosts, due_times);
    }
}
