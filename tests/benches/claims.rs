//! How fast hosts drain the queue: `invhost serve` processes on one
//! PostgreSQL database claim and run processes that do nothing (a fixture
//! connector that emits no record), measured from outside.
//!
//! ```sh
//! cargo build --release -p host-cli -p fixture-plugin
//! cargo bench -p tests --bench claims
//! ```
//!
//! `INVHOST_BENCH_PROCESSES` (default 600) processes over 20 connectors are
//! queued, then 1, 2 and 4 hosts (`INVHOST_BENCH_HOSTS=1,2,4`), each with
//! two workers, are started and timed until the queue is empty.

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

fn run(hosts: usize, processes: usize) {
    let name = format!("invhost_claims_{}", std::process::id());
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
    // Queue directly: what is measured is draining, not queueing.
    psql(
        &name,
        &format!(
            "INSERT INTO processes (repository_id, connector_id, action, trigger, status, clean, queued_at, counts) \
             SELECT 1, c.id, 'Sync Data - ' || c.name, 'operator', 'queued', false, now(), '{{}}' \
             FROM generate_series(1, {processes}) s JOIN connectors c ON c.id = 1 + (s % 20)"
        ),
    );
    let start = Instant::now();
    let mut children: Vec<Child> = (0..hosts)
        .map(|_| {
            invhost(home.path(), &url, &plugins)
                .args(["serve", "--workers", "2"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    loop {
        let open: u64 = psql(
            &name,
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
    for child in &mut children {
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
    }
    for child in &mut children {
        let _ = child.wait();
    }
    let succeeded = psql(
        &name,
        "SELECT count(*) FROM processes WHERE status = 'succeeded'",
    );
    psql(
        "postgres",
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    );
    println!(
        "claims {hosts} host(s) x 2 workers: {processes} processes ({succeeded} succeeded) in {wall:.2} s = {:.0} processes/s",
        processes as f64 / wall
    );
}

fn main() {
    let processes: usize = std::env::var("INVHOST_BENCH_PROCESSES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(600);
    let hosts = std::env::var("INVHOST_BENCH_HOSTS").unwrap_or_else(|_| "1,2,4".into());
    for n in hosts.split(',') {
        run(n.trim().parse().unwrap(), processes);
    }
}
