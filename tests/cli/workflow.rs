//! The operator's workflow with the real binary: connector, test, execute,
//! process log, inventory; on a SQLite file and on PostgreSQL.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::store::support::{TestDb, on_both_backends};
use crate::support::{Invhost, PluginDir, built_library, repo_root};

/// An isolated invhost on `db` with csv-inventory and the fixture plugin installed.
pub struct Setup {
    pub invhost: Invhost,
    _plugins: PluginDir,
    pub folder: tempfile::TempDir,
}

impl Setup {
    pub fn new(db: &TestDb) -> Setup {
        let plugins = PluginDir::new();
        plugins.install(&built_library("csv-inventory"), "libcsv_inventory.so");
        plugins.install(&built_library("fixture-plugin"), "libfixture_plugin.so");
        let mut invhost = Invhost::new();
        invhost.database = Some(db.url.clone());
        invhost.plugin_dir = Some(plugins.path().to_path_buf());
        let folder = tempfile::tempdir().unwrap();
        let sample = repo_root().join("plugins/csv-inventory/examples/sample");
        for entry in std::fs::read_dir(sample).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), folder.path().join(entry.file_name())).unwrap();
        }
        Setup {
            invhost,
            _plugins: plugins,
            folder,
        }
    }

    /// Runs and expects success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let (code, stdout, stderr) = self.invhost.run(args);
        assert_eq!(code, 0, "invhost {args:?} failed:\n{stdout}\n{stderr}");
        stdout
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let stdout = self.ok(&all);
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {stdout}"))
    }

    pub fn count(&self, view: &str) -> usize {
        self.json(&["inventory", view, "--limit", "100000"])
            .as_array()
            .unwrap()
            .len()
    }

    pub fn folder(&self) -> &Path {
        self.folder.path()
    }

    pub fn add_csv(&self, name: &str) {
        let folder = format!("folder={}", self.folder().display());
        self.ok(&[
            "connector",
            "add",
            "--type",
            "csv-inventory",
            "--name",
            name,
            "--param",
            &folder,
        ]);
    }

    pub fn spawn(&self, args: &[&str]) -> Child {
        self.invhost
            .cmd()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// The newest process, as `process-log --json` shows it.
    pub fn last_process(&self) -> Value {
        self.json(&["process-log", "--limit", "1"])[0].clone()
    }

    /// Waits until the newest process has this status.
    pub fn wait_for_status(&self, status: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (_, stdout, _) = self.invhost.run(&["process-log", "--limit", "1", "--json"]);
            if let Ok(Value::Array(list)) = serde_json::from_str::<Value>(&stdout)
                && list.first().is_some_and(|p| p["status"] == status)
            {
                return list[0].clone();
            }
            assert!(
                Instant::now() < deadline,
                "no process reached '{status}': {stdout}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn signal(child: &Child, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

on_both_backends!(
    whole_workflow_normal_and_clean_sync,
    failing_sync_keeps_the_previous_data,
    cancellation_keeps_the_previous_data,
    a_process_of_a_killed_host_is_failed_on_the_next_start,
);

async fn whole_workflow_normal_and_clean_sync(db: &TestDb) {
    let s = Setup::new(db);
    s.add_csv("Sample");
    let listed = s.json(&["connector", "list"]);
    assert_eq!(listed[0]["name"], "Sample");
    assert_eq!(listed[0]["last_test_status"], Value::Null);
    let test = s.ok(&["connector", "test", "Sample"]);
    assert!(test.contains("ok      devices.csv"), "{test}");
    assert_eq!(
        s.json(&["connector", "show", "Sample"])["last_test_status"],
        "ok"
    );
    let actions = s.json(&["action", "list"]);
    assert_eq!(actions[0]["name"], "Sync Data - Sample");

    let out = s.ok(&[
        "execute",
        "--repository",
        "Default Inventory",
        "--action",
        "Sync Data - Sample",
    ]);
    assert!(out.contains("'Sync Data - Sample': succeeded"), "{out}");
    let process = s.last_process();
    assert_eq!(process["status"], "succeeded");
    assert_eq!(process["counts"]["device"], 5);
    assert_eq!(process["repository"], "Default Inventory");
    assert!(process["duration_seconds"].as_f64().is_some());
    assert_eq!(
        (
            s.count("devices"),
            s.count("installations"),
            s.count("usage")
        ),
        (5, 20, 12)
    );

    // The source loses a device and its usage file: a normal sync removes the
    // device (devices.csv is complete) but keeps usage (no file, not complete).
    let devices = std::fs::read_to_string(s.folder().join("devices.csv")).unwrap();
    let kept: Vec<&str> = devices.lines().take(devices.lines().count() - 1).collect();
    std::fs::write(s.folder().join("devices.csv"), kept.join("\n") + "\n").unwrap();
    std::fs::remove_file(s.folder().join("usage.csv")).unwrap();
    s.ok(&[
        "execute",
        "--repository",
        "Default Inventory",
        "--action",
        "Sync Data - Sample",
    ]);
    assert_eq!((s.count("devices"), s.count("usage")), (4, 12));
    // A clean sync replaces everything the connector holds.
    s.ok(&[
        "execute",
        "--repository",
        "Default Inventory",
        "--action",
        "Sync Data - Sample",
        "--clean",
    ]);
    assert_eq!((s.count("devices"), s.count("usage")), (4, 0));
    assert_eq!(s.last_process()["clean"], true);

    // Another repository starts empty; clearing one needs --yes without a terminal.
    s.ok(&["repository", "add", "Lab"]);
    let repositories = s.json(&["repository", "list"]);
    assert_eq!(repositories.as_array().unwrap().len(), 2);
    let (code, _, stderr) = s.invhost.run(&["repository", "clear", "Default Inventory"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("pass --yes"), "{stderr}");
    s.ok(&["repository", "clear", "Default Inventory", "--yes"]);
    assert_eq!(s.count("devices"), 0);
}

async fn failing_sync_keeps_the_previous_data(db: &TestDb) {
    let s = Setup::new(db);
    s.add_csv("Sample");
    s.ok(&[
        "execute",
        "--repository",
        "Default Inventory",
        "--action",
        "Sync Data - Sample",
    ]);
    let before = s.json(&["inventory", "devices"]);
    std::fs::write(
        s.folder().join("devices.csv"),
        "device_id,name\nd1,PC-1\nbroken\n",
    )
    .unwrap();
    s.ok(&[
        "connector",
        "edit",
        "Sample",
        "--param",
        "malformed_rows=fail",
    ]);
    let (code, stdout, stderr) = s.invhost.run(&[
        "execute",
        "--repository",
        "Default Inventory",
        "--action",
        "Sync Data - Sample",
    ]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let process = s.last_process();
    assert_eq!(process["status"], "failed");
    let message = process["message"].as_str().unwrap();
    assert!(message.contains("devices.csv line 3"), "{message}");
    assert!(
        stdout.contains(&format!(
            "Process {} 'Sync Data - Sample': failed",
            process["id"]
        )) && stdout.contains(message),
        "{stdout}"
    );
    assert_eq!(
        s.json(&["inventory", "devices"]),
        before,
        "the repository keeps its last good data"
    );
}

async fn cancellation_keeps_the_previous_data(db: &TestDb) {
    let s = Setup::new(db);
    s.ok(&[
        "connector",
        "add",
        "--type",
        "fixture-flood",
        "--name",
        "Flood",
        "--param",
        "count=25",
        "--param",
        "batch=10",
    ]);
    s.ok(&[
        "execute",
        "--repository",
        "Default Inventory",
        "--action",
        "Sync Data - Flood",
    ]);
    let before = s.json(&["inventory", "devices", "--limit", "100000000"]);
    assert_eq!(before.as_array().unwrap().len(), 25);
    // The flood goes on past the 25 devices: a mix would show more of them.
    s.ok(&[
        "connector",
        "edit",
        "Flood",
        "--param",
        "count=100000000",
        "--param",
        "batch=100",
    ]);
    for (signal_name, code, reason) in [
        ("-INT", 130, "cancelled by the operator (Ctrl-C)"),
        ("-TERM", 143, "stopped by SIGTERM"),
    ] {
        for clean in [false, true] {
            let mut args = vec![
                "execute",
                "--repository",
                "Default Inventory",
                "--action",
                "Sync Data - Flood",
            ];
            if clean {
                args.push("--clean");
            }
            let child = s.spawn(&args);
            let running = s.wait_for_status("running");
            if signal_name == "-INT" && !clean {
                // A second execute of the same connector waits its turn,
                // saying so; stopped while it waits, it never runs.
                let second = s.spawn(&args);
                let waiting = s.wait_for_status("queued");
                assert_ne!(waiting["id"], running["id"]);
                std::thread::sleep(Duration::from_millis(500));
                assert_eq!(s.last_process()["status"], "queued", "it waits");
                signal(&second, "-INT");
                let output = second.wait_with_output().unwrap();
                let stderr = String::from_utf8_lossy(&output.stderr);
                assert!(stderr.contains("waits for its turn"), "{stderr}");
                assert_eq!(output.status.code(), Some(130), "{stderr}");
                let waited = s.last_process();
                assert_eq!(waited["id"], waiting["id"]);
                assert_eq!(waited["status"], "cancelled");
                assert_eq!(
                    waited["started_at"],
                    serde_json::Value::Null,
                    "it never ran"
                );
            }
            // Let it stage a good many rows first.
            std::thread::sleep(Duration::from_millis(700));
            signal(&child, signal_name);
            let output = child.wait_with_output().unwrap();
            assert_eq!(
                output.status.code(),
                Some(code),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            let process = s
                .json(&["process-log", "--limit", "5"])
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["id"] == running["id"])
                .unwrap()
                .clone();
            assert_eq!(process["status"], "cancelled");
            let message = process["message"].as_str().unwrap();
            assert!(
                message.starts_with(reason) && message.contains("keeps its previous data"),
                "{message}"
            );
            assert_eq!(
                process["counts"],
                serde_json::json!({}),
                "nothing published"
            );
            assert_eq!(
                s.json(&["inventory", "devices", "--limit", "100000000"]),
                before,
                "{signal_name} clean={clean}: exactly the last good sync"
            );
        }
    }
}

async fn a_process_of_a_killed_host_is_failed_on_the_next_start(db: &TestDb) {
    let s = Setup::new(db);
    s.ok(&[
        "connector",
        "add",
        "--type",
        "fixture-flood",
        "--name",
        "Flood",
        "--param",
        "count=100000000",
    ]);
    let mut child = s.spawn(&[
        "execute",
        "--repository",
        "Default Inventory",
        "--action",
        "Sync Data - Flood",
    ]);
    let running = s.wait_for_status("running");
    child.kill().unwrap();
    child.wait().unwrap();
    // The next invhost to open the store notices.
    let process = s.last_process();
    assert_eq!(process["id"], running["id"]);
    assert_eq!(process["status"], "failed");
    assert!(
        process["message"]
            .as_str()
            .unwrap()
            .contains("stopped before it finished"),
        "{process}"
    );
}

#[test]
fn unknown_names_list_the_valid_ones() {
    let db = TestDb::sqlite();
    let s = Setup::new(&db);
    s.add_csv("Sample");
    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "execute",
                "--repository",
                "Nope",
                "--action",
                "Sync Data - Sample",
            ],
            "no repository named 'Nope' (known: Default Inventory)",
        ),
        (
            &[
                "execute",
                "--repository",
                "Default Inventory",
                "--action",
                "Sync Data - Nope",
            ],
            "unknown action 'Sync Data - Nope' (known: 'Sync Data - Sample', 'Validate Files - Sample', 'Generate Report - Basic Inventory Consolidation')",
        ),
        (
            &["connector", "show", "Nope"],
            "no connector named 'Nope' (known: Sample)",
        ),
        (
            &["connector", "add", "--type", "nope", "--name", "X"],
            "unknown connector type 'nope' (known: csv-inventory, fixture-flood, fixture-panic, o365)",
        ),
        (
            &[
                "connector",
                "add",
                "--type",
                "csv-inventory",
                "--name",
                "X",
                "--param",
                "delimiter=;;",
            ],
            "delimiter",
        ),
    ];
    for (args, expected) in cases {
        let (code, _, stderr) = s.invhost.run(args);
        assert_eq!(code, 1, "{args:?}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    }
    // Nothing half-created: the refused connector does not exist.
    assert_eq!(s.json(&["connector", "list"]).as_array().unwrap().len(), 1);
}

#[test]
fn json_lists_every_row_and_a_table_says_what_it_left_out() {
    let db = crate::store::support::TestDb::sqlite();
    let s = Setup::new(&db);
    super::service::add_flood(&s, ["Many".to_string()], 120);
    s.ok(&[
        "execute",
        "--repository",
        "Default Inventory",
        "--action",
        "Sync Data - Many",
    ]);
    let all = s.json(&["inventory", "devices"]);
    assert_eq!(
        all.as_array().unwrap().len(),
        120,
        "--json without --limit lists all"
    );
    let some = s.json(&["inventory", "devices", "--limit", "7"]);
    assert_eq!(some.as_array().unwrap().len(), 7);
    let (code, stdout, stderr) = s.invhost.run(&["inventory", "devices"]);
    assert_eq!(code, 0);
    // A header, its rule, and the rows.
    assert_eq!(
        stdout.lines().filter(|l| !l.trim().is_empty()).count(),
        2 + 50,
        "{stdout}"
    );
    assert!(stderr.contains("50 of 120 rows"), "{stderr}");
}
