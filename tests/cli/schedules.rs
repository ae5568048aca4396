//! Schedules as operators use them: added, shown, edited, removed and run
//! through the binary; a chain that stops at a failed step or goes on; a
//! due time fired exactly once by several `invhost serve` processes on one
//! database; a due time missed while no host ran fired once, late, saying so.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use repo_store::{ProcessFilter, ProcessRow, ProcessStatus, Store, Trigger};
use sea_orm::ConnectionTrait;
use serde_json::Value;

use super::service::{add_flood, serve, wait_done};
use super::workflow::Setup;
use crate::store::support::{TestDb, on_both_backends};

on_both_backends!(
    schedules_are_kept_checked_and_run_as_chains,
    a_due_time_fires_exactly_once_across_hosts,
    a_due_time_missed_while_no_host_ran_fires_once_and_says_so,
);

const REPOSITORY: &str = "Default Inventory";
const CONSOLIDATION: &str = "Generate Report - Basic Inventory Consolidation";

async fn scheduled(store: &Store, name: &str) -> Vec<ProcessRow> {
    let mut processes = store
        .processes(&ProcessFilter {
            trigger: Some(Trigger::Schedule(name.into())),
            ..Default::default()
        })
        .await
        .unwrap();
    processes.reverse();
    processes
}

fn time(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap())
        .unwrap()
        .to_utc()
}

async fn schedules_are_kept_checked_and_run_as_chains(db: &TestDb) {
    let store = db.store().await;
    let s = Setup::new(db);
    add_flood(&s, ["A".to_owned(), "B".to_owned()], 20);
    s.ok(&["connector", "add", "--type", "fixture-panic", "--name", "P"]);

    // Added: the first due time is the next 02:00 UTC, and five are shown.
    let out = s.ok(&[
        "schedule",
        "add",
        "nightly",
        "--cron",
        "0 2 * * *",
        "--repository",
        REPOSITORY,
        "--action",
        "Sync Data - A",
        "--action",
        "Sync Data - B",
        "--action",
        CONSOLIDATION,
    ]);
    assert!(out.contains("Schedule 'nightly' added"), "{out}");
    assert!(out.contains("UTC"), "{out}");
    let shown = s.json(&["schedule", "show", "nightly"]);
    let upcoming: Vec<DateTime<Utc>> = shown["upcoming"]
        .as_array()
        .unwrap()
        .iter()
        .map(time)
        .collect();
    assert_eq!(upcoming.len(), 5, "{shown}");
    assert!(upcoming[0] > Utc::now());
    for (i, due) in upcoming.iter().enumerate() {
        assert_eq!(due.format("%H:%M:%S").to_string(), "02:00:00");
        if i > 0 {
            assert_eq!(*due - upcoming[i - 1], chrono::TimeDelta::days(1));
        }
    }
    assert_eq!(time(&shown["next_due_at"]), upcoming[0]);
    let text = s.ok(&["schedule", "show", "nightly"]);
    assert!(text.contains("Next due (UTC):"), "{text}");
    assert!(text.contains("  3. Generate Report"), "{text}");
    let list = s.ok(&["schedule", "list"]);
    assert!(
        list.contains("CRON (UTC)") && list.contains("nightly"),
        "{list}"
    );

    // Mistakes are refused, saying where, and nothing is added.
    let refused = [
        (
            vec!["--cron", "0 2 32 * *", "--action", "Sync Data - A"],
            "field 3 (day of month) '32' at column 5",
        ),
        (
            vec!["--cron", "0 2 * *", "--action", "Sync Data - A"],
            "4 fields where 5 are expected",
        ),
        (
            vec!["--cron", "0 2 * * *", "--action", "Sync Data - Nobody"],
            "unknown action 'Sync Data - Nobody'",
        ),
    ];
    for (args, reason) in refused {
        let mut all = vec!["schedule", "add", "bad", "--repository", REPOSITORY];
        all.extend(args);
        let (code, _, stderr) = s.invhost.run(&all);
        assert_eq!(code, 1, "{stderr}");
        assert!(stderr.contains(reason), "{reason}: {stderr}");
    }
    let (code, _, stderr) = s.invhost.run(&[
        "schedule",
        "add",
        "nightly",
        "--cron",
        "0 3 * * *",
        "--repository",
        REPOSITORY,
        "--action",
        "Sync Data - A",
    ]);
    assert_eq!(code, 1);
    assert!(stderr.contains("already exists"), "{stderr}");
    assert_eq!(store.schedules().await.unwrap().len(), 1);

    // Run now: the chain runs in order, each step the child of the one before.
    let ran = s.json(&["schedule", "run", "nightly"]);
    let ran = ran.as_array().unwrap();
    assert_eq!(ran.len(), 3, "{ran:?}");
    for (i, process) in ran.iter().enumerate() {
        assert_eq!(process["status"], "succeeded", "{process}");
        assert_eq!(process["trigger"], "schedule nightly");
        let parent = if i == 0 {
            Value::Null
        } else {
            ran[i - 1]["id"].clone()
        };
        assert_eq!(process["parent_id"], parent);
    }
    assert_eq!(ran[2]["action"], CONSOLIDATION);
    let ordered: Vec<ProcessRow> = scheduled(&store, "nightly").await;
    for pair in ordered.windows(2) {
        assert!(pair[0].finished_at.unwrap() <= pair[1].started_at.unwrap());
    }
    let log = s.ok(&["process-log", "--trigger", "schedule nightly"]);
    assert!(log.contains("TRIGGER") && log.contains("PARENT"), "{log}");
    assert_eq!(log.matches("schedule nightly").count(), 3, "{log}");

    // A sync that queues consolidation, in a chain that consolidates after
    // it: the chain's consolidation runs once, and nothing waits for ever.
    s.ok(&["connector", "edit", "A", "--run-consolidation", "true"]);
    s.ok(&[
        "schedule",
        "add",
        "self-consolidating",
        "--cron",
        "0 4 * * *",
        "--repository",
        REPOSITORY,
        "--action",
        "Sync Data - A",
        "--action",
        CONSOLIDATION,
    ]);
    let mut run = s.spawn(&["schedule", "run", "self-consolidating", "--json"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while run.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "schedule run never ended");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let output = run.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let ran: Value = serde_json::from_slice(&output.stdout).unwrap();
    let actions: Vec<&str> = ran
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["Sync Data - A", CONSOLIDATION], "{ran}");
    let queued_consolidations = store
        .processes(&ProcessFilter {
            status: Some(ProcessStatus::Queued),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        queued_consolidations.is_empty(),
        "{queued_consolidations:?}"
    );
    s.ok(&["connector", "edit", "A", "--run-consolidation", "false"]);
    s.ok(&["schedule", "remove", "self-consolidating"]);

    // A failed step stops the rest, which are cancelled saying why.
    s.ok(&[
        "schedule",
        "add",
        "fragile",
        "--cron",
        "0 3 * * *",
        "--repository",
        REPOSITORY,
        "--action",
        "Sync Data - P",
        "--action",
        "Sync Data - A",
        "--action",
        CONSOLIDATION,
    ]);
    let (code, stdout, stderr) = s.invhost.run(&["schedule", "run", "fragile"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let chain = scheduled(&store, "fragile").await;
    assert_eq!(chain.len(), 3);
    assert_eq!(chain[0].status, ProcessStatus::Failed, "{:?}", chain[0]);
    for step in &chain[1..] {
        assert_eq!(step.status, ProcessStatus::Cancelled, "{step:?}");
        assert!(step.started_at.is_none(), "{step:?}");
        assert!(
            step.message
                .as_deref()
                .unwrap()
                .starts_with("not run: the step before it (process"),
            "{step:?}"
        );
    }
    assert!(stdout.contains("not run: the step before it"), "{stdout}");

    // With --continue-on-failure the rest runs after the failed step.
    let edited = s.json(&[
        "schedule",
        "edit",
        "fragile",
        "--continue-on-failure",
        "true",
    ]);
    assert_eq!(edited["continue_on_failure"], true);
    let (code, _, _) = s.invhost.run(&["schedule", "run", "fragile"]);
    assert_eq!(code, 1, "a failed step still fails the run");
    let chain = scheduled(&store, "fragile").await;
    let last: Vec<ProcessStatus> = chain[3..].iter().map(|p| p.status).collect();
    assert_eq!(
        last,
        [
            ProcessStatus::Failed,
            ProcessStatus::Succeeded,
            ProcessStatus::Succeeded
        ]
    );

    // A connector a schedule runs cannot be removed from under it.
    let (code, _, stderr) = s.invhost.run(&["connector", "remove", "A"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("connector 'A' is run by schedule 'fragile', 'nightly'"),
        "{stderr}"
    );

    // --queue only queues the chain; disabled shows as such; remove.
    let out = s.ok(&["schedule", "run", "nightly", "--queue"]);
    assert!(out.contains("queued as processes"), "{out}");
    let queued = scheduled(&store, "nightly").await;
    assert_eq!(queued.len(), 6);
    assert!(
        queued[3..]
            .iter()
            .all(|p| p.status == ProcessStatus::Queued)
    );
    let disabled = s.json(&["schedule", "edit", "nightly", "--disable"]);
    assert_eq!(disabled["next_due_at"], Value::Null);
    assert!(s.ok(&["schedule", "list"]).contains("disabled"));
    s.ok(&["schedule", "remove", "nightly"]);
    s.ok(&["schedule", "remove", "fragile"]);
    let (code, _, stderr) = s.invhost.run(&["schedule", "show", "nightly"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("no schedule named 'nightly'"), "{stderr}");
    // What it queued stays queued, and runs.
    let ids: Vec<i64> = queued[3..].iter().map(|p| p.id).collect();
    let host = serve(&s, 2);
    let done = wait_done(&store, &ids, Duration::from_secs(60)).await;
    let (code, log) = host.stop();
    assert_eq!(code, Some(0), "{log}");
    assert!(
        done.iter().all(|p| p.status == ProcessStatus::Succeeded),
        "{done:?}"
    );
}

async fn a_due_time_fires_exactly_once_across_hosts(db: &TestDb) {
    let store = db.store().await;
    let s = Setup::new(db);
    add_flood(&s, ["A".to_owned()], 20);
    let hosts: Vec<_> = match store.backend() {
        repo_store::Backend::Postgres => (0..3).map(|_| serve(&s, 2)).collect(),
        repo_store::Backend::Sqlite => (0..2).map(|_| serve(&s, 2)).collect(),
    };
    // Every 4 seconds; three due times are watched, then it is disabled
    // halfway to the fourth.
    let added = s.json(&[
        "schedule",
        "add",
        "often",
        "--cron",
        "*/4 * * * * *",
        "--repository",
        REPOSITORY,
        "--action",
        "Sync Data - A",
    ]);
    let due: Vec<DateTime<Utc>> = added["upcoming"]
        .as_array()
        .unwrap()
        .iter()
        .map(time)
        .collect();
    assert!(
        due.iter().all(|t| t.timestamp_subsec_nanos() == 0),
        "{due:?}"
    );
    let stop_at = due[2] + chrono::TimeDelta::milliseconds(2000);
    tokio::time::sleep((stop_at - Utc::now()).to_std().unwrap()).await;
    let disabled = s.json(&["schedule", "edit", "often", "--disable"]);
    assert!(
        Utc::now() < due[3],
        "the test machine was too slow to stop in time"
    );
    let fired = scheduled(&store, "often").await;
    let ids: Vec<i64> = fired.iter().map(|p| p.id).collect();
    let done = wait_done(&store, &ids, Duration::from_secs(60)).await;
    let logs: Vec<String> = hosts
        .into_iter()
        .map(|host| {
            let (code, log) = host.stop();
            assert_eq!(code, Some(0), "{log}");
            log
        })
        .collect();

    assert_eq!(disabled["fired"], 3, "{disabled}");
    assert_eq!(done.len(), 3, "{done:?}");
    assert!(
        done.iter().all(|p| p.status == ProcessStatus::Succeeded),
        "{done:?}"
    );
    // One process per due time, queued right after it.
    let mut queued: Vec<DateTime<Utc>> = done.iter().map(|p| p.queued_at).collect();
    queued.sort();
    for (queued, due) in queued.iter().zip(&due) {
        let delay = *queued - *due;
        assert!(
            delay >= chrono::TimeDelta::zero() && delay < chrono::TimeDelta::milliseconds(1000),
            "queued {queued} for due {due}"
        );
    }
    // Each firing was logged by exactly one host.
    let lines: usize = logs
        .iter()
        .map(|l| l.matches("Schedule fired.").count())
        .sum();
    assert_eq!(lines, 3, "{logs:?}");
    assert!(logs.iter().all(|l| !l.contains("fired late")), "{logs:?}");
}

async fn a_due_time_missed_while_no_host_ran_fires_once_and_says_so(db: &TestDb) {
    let store = db.store().await;
    let s = Setup::new(db);
    add_flood(&s, ["A".to_owned()], 20);
    s.ok(&[
        "schedule",
        "add",
        "daily",
        "--cron",
        "0 0 3 * * *",
        "--repository",
        REPOSITORY,
        "--action",
        "Sync Data - A",
    ]);
    // As if no host had run for three days and a bit.
    let missed = Utc::now() - chrono::TimeDelta::hours(75);
    let due = missed.date_naive().and_hms_opt(3, 0, 0).unwrap().and_utc();
    let sql = match store.backend() {
        repo_store::Backend::Postgres => {
            "UPDATE schedules SET next_due_at = $1 WHERE name = 'daily'"
        }
        repo_store::Backend::Sqlite => "UPDATE schedules SET next_due_at = ? WHERE name = 'daily'",
    };
    let statement = sea_orm::Statement::from_sql_and_values(
        store.connection().get_database_backend(),
        sql,
        [due.into()],
    );
    store.connection().execute(statement).await.unwrap();

    let host = serve(&s, 1);
    let deadline = Instant::now() + Duration::from_secs(30);
    let fired = loop {
        let fired = scheduled(&store, "daily").await;
        if !fired.is_empty() {
            break fired;
        }
        assert!(Instant::now() < deadline, "the missed schedule never fired");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let ids: Vec<i64> = fired.iter().map(|p| p.id).collect();
    wait_done(&store, &ids, Duration::from_secs(60)).await;
    // Long enough for a burst of missed due times to have shown.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (code, log) = host.stop();
    assert_eq!(code, Some(0), "{log}");

    assert_eq!(
        scheduled(&store, "daily").await.len(),
        1,
        "fired once, not per missed due time"
    );
    let shown = s.json(&["schedule", "show", "daily"]);
    let note = shown["last_note"].as_str().unwrap();
    assert!(
        note.contains("while no host was running; fired once"),
        "{note}"
    );
    assert!(note.contains("later due times were skipped"), "{note}");
    assert_eq!(time(&shown["last_due_at"]), due);
    assert!(time(&shown["next_due_at"]) > Utc::now());
    assert!(log.contains("Schedule fired late."), "{log}");
    let text = s.ok(&["schedule", "show", "daily"]);
    assert!(
        text.contains("Note:") && text.contains("Last run:"),
        "{text}"
    );
    let hosts: BTreeSet<String> = scheduled(&store, "daily")
        .await
        .into_iter()
        .filter_map(|p| p.host)
        .collect();
    assert_eq!(hosts.len(), 1);
}
