//! `invhost serve` as operators run it: several hosts as several processes
//! on one database claim a queue of processes, each runs exactly once and
//! no connector runs twice at once; a killed host's process is failed by the
//! others, which carry on; SIGTERM stops a host cleanly.

use repo_store::{ProcessStatus, Trigger};
use std::collections::{BTreeMap, BTreeSet};
use std::process::Child;
use std::time::{Duration, Instant};

use repo_store::{NewProcess, ProcessRow, Store};

use super::workflow::Setup;
use crate::store::support::{TestDb, on_both_backends};

on_both_backends!(
    queue_and_cancel_from_the_command_line,
    several_hosts_run_every_queued_process_exactly_once,
    a_killed_host_is_failed_by_the_others_which_carry_on,
    sigterm_stops_a_host_and_publishes_nothing,
);

/// Adds `n` quick fixture connectors `F0..` (20 devices each).
pub(crate) fn add_flood(s: &Setup, names: impl IntoIterator<Item = String>, count: u64) {
    let count = format!("count={count}");
    for name in names {
        s.ok(&[
            "connector",
            "add",
            "--type",
            "fixture-flood",
            "--name",
            &name,
            "--param",
            &count,
            "--param",
            "batch=10",
        ]);
    }
}

/// Queues a sync of each named connector, as `execute --queue` does.
async fn queue(store: &Store, names: &[String]) -> Vec<i64> {
    let repository = store
        .repository(repo_store::DEFAULT_REPOSITORY)
        .await
        .unwrap()
        .id;
    let connectors: BTreeMap<String, i64> = store
        .connectors()
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.name, c.id))
        .collect();
    let mut ids = Vec::new();
    for name in names {
        let process = store
            .queue_process(NewProcess {
                parent_id: None,
                repository_id: repository,
                connector_id: Some(connectors[name]),
                action: format!("Sync Data - {name}"),
                trigger: Trigger::Operator,
                clean: false,
                host: None,
                continue_on_failure: false,
            })
            .await
            .unwrap();
        ids.push(process.id);
    }
    ids
}

/// A running `invhost serve`; its log goes to a file (a pipe nobody reads
/// would fill and stall it). Killed if the test ends first.
pub(super) struct Host {
    child: Option<Child>,
    log: tempfile::NamedTempFile,
}

impl Host {
    fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// SIGTERM, then the exit code and the log.
    pub(super) fn stop(mut self) -> (Option<i32>, String) {
        let child = self.child.take().unwrap();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let output = child.wait_with_output().unwrap();
        let log = std::fs::read_to_string(self.log.path()).unwrap();
        (output.status.code(), log)
    }

    fn kill9(mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub(super) fn serve(s: &Setup, workers: u16) -> Host {
    serve_with(s, workers, &[])
}

pub(super) fn serve_with(s: &Setup, workers: u16, extra: &[&str]) -> Host {
    let log = tempfile::NamedTempFile::new().unwrap();
    let child = s
        .invhost
        .cmd()
        .args(["serve", "--workers", &workers.to_string(), "--grace", "20"])
        .args(if extra.contains(&"--listen") {
            &[][..]
        } else {
            &["--listen", "127.0.0.1:0"][..]
        })
        .args(extra)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(log.reopen().unwrap())
        .spawn()
        .unwrap();
    Host {
        child: Some(child),
        log,
    }
}

/// Waits until process `id` runs on some host.
async fn wait_running(store: &Store, id: i64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while store.process(id).await.unwrap().status != ProcessStatus::Running {
        assert!(Instant::now() < deadline, "process {id} never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until none of `ids` is queued or running.
pub(crate) async fn wait_done(store: &Store, ids: &[i64], within: Duration) -> Vec<ProcessRow> {
    let deadline = Instant::now() + within;
    loop {
        let all: Vec<ProcessRow> = store
            .processes(&Default::default())
            .await
            .unwrap()
            .into_iter()
            .filter(|p| ids.contains(&p.id))
            .collect();
        let open = all
            .iter()
            .filter(|p| p.status == ProcessStatus::Queued || p.status == ProcessStatus::Running)
            .count();
        if open == 0 {
            return all;
        }
        assert!(
            Instant::now() < deadline,
            "{open} of {} processes still open",
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn several_hosts_run_every_queued_process_exactly_once(db: &TestDb) {
    let store = db.store().await;
    let s = Setup::new(db);
    let names: Vec<String> = (0..20).map(|i| format!("F{i}")).collect();
    add_flood(&s, names.clone(), 20);
    // 300 syncs over 20 connectors, 15 each, queued before any host runs.
    let queued: Vec<String> = (0..300).map(|i| names[i % 20].clone()).collect();
    let ids = queue(&store, &queued).await;
    let hosts: Vec<Host> = match store.backend() {
        repo_store::Backend::Postgres => (0..3).map(|_| serve(&s, 2)).collect(),
        repo_store::Backend::Sqlite => (0..2).map(|_| serve(&s, 2)).collect(),
    };
    let expected_hosts = hosts.len();
    let done = wait_done(&store, &ids, Duration::from_secs(240)).await;
    for host in hosts {
        let (code, log) = host.stop();
        assert_eq!(code, Some(0), "{log}");
    }
    assert_eq!(done.len(), 300);
    for process in &done {
        assert_eq!(process.status, ProcessStatus::Succeeded, "{process:?}");
        assert_eq!(process.counts, r#"{"device":20}"#, "{process:?}");
    }
    // Several hosts took part.
    let ran_on: BTreeSet<&str> = done.iter().filter_map(|p| p.host.as_deref()).collect();
    assert_eq!(ran_on.len(), expected_hosts, "{ran_on:?}");
    // No connector ever ran twice at once, and each ran in queue order.
    let mut by_connector: BTreeMap<i64, Vec<&ProcessRow>> = BTreeMap::new();
    for process in &done {
        by_connector
            .entry(process.connector_id.unwrap())
            .or_default()
            .push(process);
    }
    assert_eq!(by_connector.len(), 20);
    for runs in by_connector.values_mut() {
        runs.sort_by_key(|p| p.started_at);
        assert_eq!(runs.len(), 15);
        for pair in runs.windows(2) {
            assert!(
                pair[0].finished_at.unwrap() <= pair[1].started_at.unwrap(),
                "one connector ran twice at once: {:?} and {:?}",
                pair[0],
                pair[1]
            );
            assert!(pair[0].id < pair[1].id, "queue order kept");
        }
    }
    let counts = store
        .raw_counts(
            store
                .repository(repo_store::DEFAULT_REPOSITORY)
                .await
                .unwrap()
                .id,
        )
        .await
        .unwrap();
    assert_eq!(counts[&connector_core::RecordKind::Device], 20 * 20);
}

async fn a_killed_host_is_failed_by_the_others_which_carry_on(db: &TestDb) {
    let store = db.store().await;
    let mut s = Setup::new(db);
    s.invhost
        .env
        .push(("INVHOST_HEARTBEAT_TIMEOUT".into(), "4".into()));
    add_flood(&s, ["Endless".to_string()], 100_000_000);
    let quick: Vec<String> = (0..4).map(|i| format!("Q{i}")).collect();
    add_flood(&s, quick.clone(), 20);
    let endless = queue(&store, &["Endless".to_string()]).await;
    let doomed = serve(&s, 1);
    wait_running(&store, endless[0]).await;
    let others: Vec<Host> = (0..2).map(|_| serve(&s, 1)).collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let doomed_pid = doomed.pid();
    doomed.kill9();
    let failed = wait_done(&store, &endless, Duration::from_secs(30)).await;
    assert_eq!(failed[0].status, ProcessStatus::Failed);
    let message = failed[0].message.as_deref().unwrap();
    assert!(
        message.contains("stopped before it finished") && message.contains("last sign of life"),
        "{message}"
    );
    // The others carry on with the queue.
    let ids = queue(&store, &quick).await;
    let done = wait_done(&store, &ids, Duration::from_secs(60)).await;
    assert!(
        done.iter().all(|p| p.status == ProcessStatus::Succeeded),
        "{done:?}"
    );
    assert!(
        message.contains(&format!(":{doomed_pid}")),
        "names the host: {message}"
    );
    for host in others {
        let (code, log) = host.stop();
        assert_eq!(code, Some(0), "{log}");
    }
    // Nothing of the killed sync was published.
    let devices: Vec<String> = store
        .raw_rows(
            store
                .repository(repo_store::DEFAULT_REPOSITORY)
                .await
                .unwrap()
                .id,
            connector_core::RecordKind::Device,
            repo_store::Page {
                limit: 1_000_000,
                offset: 0,
            },
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r["connector"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        devices.iter().all(|c| c != "Endless"),
        "nothing of the killed sync"
    );
    assert_eq!(devices.len(), 4 * 20);
    assert!(store.stage_tables().await.unwrap().is_empty());
}

async fn sigterm_stops_a_host_and_publishes_nothing(db: &TestDb) {
    let store = db.store().await;
    let s = Setup::new(db);
    add_flood(&s, ["Endless".to_string()], 100_000_000);
    let ids = queue(&store, &["Endless".to_string()]).await;
    let host = serve(&s, 2);
    wait_running(&store, ids[0]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (code, stderr) = host.stop();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("Process started."),
        "one line per start: {stderr}"
    );
    assert!(stderr.contains("Process ended."), "and per end: {stderr}");
    let process = store.process(ids[0]).await.unwrap();
    assert_eq!(process.status, ProcessStatus::Cancelled);
    assert!(
        process
            .message
            .as_deref()
            .unwrap()
            .starts_with("host shutting down"),
        "{process:?}"
    );
    let counts = store
        .raw_counts(
            store
                .repository(repo_store::DEFAULT_REPOSITORY)
                .await
                .unwrap()
                .id,
        )
        .await
        .unwrap();
    assert!(
        counts.values().all(|n| *n == 0),
        "nothing published: {counts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_logs_one_json_object_per_line_for_log_shippers() {
    let db = TestDb::sqlite();
    let store = db.store().await;
    let s = Setup::new(&db);
    add_flood(&s, ["Quick".to_string()], 20);
    let ids = queue(&store, &["Quick".to_string()]).await;
    let host = serve_with(&s, 1, &["--log-format", "json"]);
    let done = wait_done(&store, &ids, Duration::from_secs(60)).await;
    assert_eq!(done[0].status, ProcessStatus::Succeeded);
    let (code, log) = host.stop();
    assert_eq!(code, Some(0), "{log}");
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let started = lines
        .iter()
        .find(|l| l["fields"]["message"] == "Process started.")
        .unwrap_or_else(|| panic!("{log}"));
    assert_eq!(started["span"]["id"], ids[0], "{started}");
    assert_eq!(started["fields"]["action"], "Sync Data - Quick");
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "Process finished."
                && l["fields"]["status"] == "succeeded"),
        "{log}"
    );
}

async fn queue_and_cancel_from_the_command_line(db: &TestDb) {
    let store = db.store().await;
    let s = Setup::new(db);
    add_flood(&s, ["Endless".to_string()], 100_000_000);
    let execute = [
        "execute",
        "--repository",
        "Default Inventory",
        "--action",
        "Sync Data - Endless",
        "--queue",
    ];
    // Queued, then cancelled before any host runs it.
    let queued = s.json(&execute);
    assert_eq!(queued["status"], "queued", "{queued}");
    let id = queued["id"].as_i64().unwrap().to_string();
    let cancelled = s.json(&["process", "cancel", &id]);
    assert_eq!(cancelled["outcome"], "cancelled", "{cancelled}");
    let process = store.process(id.parse().unwrap()).await.unwrap();
    assert_eq!(process.status, ProcessStatus::Cancelled);
    assert_eq!(process.started_at, None, "it never ran");
    // Cancelling it again says it has ended, with a failing exit code.
    let (code, stdout, _) = s.invhost.run(&["process", "cancel", &id]);
    assert_eq!(code, 1);
    assert!(stdout.contains("has already ended (cancelled)"), "{stdout}");

    // Queued, run by a host, stopped from another command.
    let out = s.ok(&execute[..]);
    assert!(
        out.contains("queued; a running `invhost serve` runs it"),
        "{out}"
    );
    let id = store.processes(&Default::default()).await.unwrap()[0].id;
    let host = serve(&s, 1);
    wait_running(&store, id).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let out = s.ok(&["process", "cancel", &id.to_string()]);
    assert!(out.contains("is running: its host stops it"), "{out}");
    let done = wait_done(&store, &[id], Duration::from_secs(30)).await;
    assert_eq!(done[0].status, ProcessStatus::Cancelled, "{:?}", done[0]);
    assert!(
        done[0]
            .message
            .as_deref()
            .unwrap()
            .starts_with("cancelled with invhost process cancel"),
        "{:?}",
        done[0].message
    );
    let counts = store
        .raw_counts(
            store
                .repository(repo_store::DEFAULT_REPOSITORY)
                .await
                .unwrap()
                .id,
        )
        .await
        .unwrap();
    assert!(
        counts.values().all(|n| *n == 0),
        "nothing published: {counts:?}"
    );
    // The host goes on serving.
    let (code, log) = host.stop();
    assert_eq!(code, Some(0), "{log}");
}
