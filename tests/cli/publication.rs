//! A sync is published all at once or not at all, through the real binary:
//! kill -9 at several points of a normal and of a clean sync against a
//! tenant that changed, SIGINT and SIGTERM, a failed first sync, a
//! consolidation during a sync, and a stopped consolidation.

use std::collections::BTreeMap;
use std::process::Child;
use std::time::{Duration, Instant};

use connector_core::RecordKind;
use graph_simulator::{Faults, Gate, Simulator, SimulatorConfig};
use repo_store::{Backend, Page, ProcessStatus, Store};
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use serde_json::Value;

use super::workflow::Setup;
use crate::o365::expected_counts;
use crate::store::support::{TestDb, on_both_backends};

on_both_backends!(
    a_killed_sync_leaves_exactly_the_last_published_sync,
    a_failed_first_sync_leaves_an_empty_repository,
    a_consolidation_during_a_sync_sees_only_published_data,
    sigterm_stops_a_consolidation_and_keeps_its_results,
);

const SYNC: [&str; 5] = [
    "execute",
    "--repository",
    "Default Inventory",
    "--action",
    "Sync Data - Contoso",
];

/// Every raw row of the default repository, per kind, in key order: what a
/// reader sees. Two syncs' mix differs from both in keys or in values.
async fn snapshot(store: &Store) -> BTreeMap<RecordKind, Vec<serde_json::Map<String, Value>>> {
    let repository = store
        .repository(repo_store::DEFAULT_REPOSITORY)
        .await
        .unwrap()
        .id;
    let mut all = BTreeMap::new();
    for kind in RecordKind::ALL {
        let rows = store
            .raw_rows(
                repository,
                *kind,
                Page {
                    limit: 10_000_000,
                    offset: 0,
                },
            )
            .await
            .unwrap();
        all.insert(*kind, rows);
    }
    all
}

fn counts_of(
    snapshot: &BTreeMap<RecordKind, Vec<serde_json::Map<String, Value>>>,
) -> BTreeMap<RecordKind, u64> {
    snapshot
        .iter()
        .map(|(k, rows)| (*k, rows.len() as u64))
        .collect()
}

/// Rows staged by runs in flight, in all.
async fn staged_rows(store: &Store) -> u64 {
    let mut total = 0;
    for (table, _) in store.stage_tables().await.unwrap() {
        let row = store
            .connection()
            .query_one(Statement::from_string(
                store.connection().get_database_backend(),
                format!("SELECT count(*) AS n FROM \"{table}\""),
            ))
            .await;
        // A table dropped between the listing and the count is empty now.
        if let Ok(Some(row)) = row {
            total += row.try_get::<i64>("", "n").unwrap() as u64;
        }
    }
    total
}

async fn newest_process(store: &Store) -> repo_store::ProcessRow {
    store.processes(&Default::default()).await.unwrap()[0].clone()
}

/// An invhost with the connector `Contoso` on the simulator `sim`.
fn contoso(db: &TestDb, sim: &Simulator) -> Setup {
    let (s, tenant) = super::consolidation::setup_for(db, sim);
    super::consolidation::add_contoso(&s, &tenant, &[]);
    s
}

fn point_at(s: &Setup, sim: &Simulator) {
    let cloud = format!("cloud_instance={}", sim.base_url());
    s.ok(&["connector", "edit", "Contoso", "--param", &cloud]);
}

/// Runs a blocking closure (the binary) beside the simulator's runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

fn kill9(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Where in a sync the host is killed.
#[derive(Debug, Clone, Copy)]
enum Point {
    /// As soon as the process runs.
    Started,
    /// Once this many rows are staged.
    Staged(u64),
    /// PostgreSQL: inside the publishing transaction, held up by a lock on
    /// the last raw table it writes after it wrote the others.
    Publishing,
}

/// Waits until the sync queued after process `after` reaches `point`
/// (panics if it finishes first).
async fn reach(store: &Store, after: i64, point: Point) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let process = newest_process(store).await;
        if process.id <= after {
            assert!(Instant::now() < deadline, "no new process");
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        }
        assert!(
            process.status == ProcessStatus::Running || process.status == ProcessStatus::Queued,
            "the sync ended ({}: {:?}) before {point:?}: the tenant is too small or too fast",
            process.status,
            process.message
        );
        if process.status == ProcessStatus::Running {
            let reached = match point {
                Point::Started => true,
                Point::Staged(rows) => staged_rows(store).await >= rows,
                Point::Publishing => publication_waits(store).await,
            };
            if reached {
                return process.id;
            }
        }
        assert!(Instant::now() < deadline, "{point:?} not reached");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Whether another session waits for a lock on `raw_activations`.
async fn publication_waits(store: &Store) -> bool {
    let row = store
        .connection()
        .query_one(Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT count(*) AS n FROM pg_locks \
             WHERE NOT granted AND relation = 'raw_activations'::regclass",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap() > 0
}

async fn a_killed_sync_leaves_exactly_the_last_published_sync(db: &TestDb) {
    let before = Simulator::start(SimulatorConfig {
        users: 150,
        devices: 120,
        apps_per_device: 6,
        ..Default::default()
    })
    .await
    .unwrap();
    // The tenant changed: more users and devices, other installations, and
    // slow enough to be caught at every point.
    let after = Simulator::start(SimulatorConfig {
        users: 400,
        devices: 300,
        apps_per_device: 10,
        faults: Faults {
            graph_delay_ms: Some(60),
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .unwrap();
    let store = db.store().await;
    let s = contoso(db, &before);
    let s = blocking(move || {
        s.ok(&SYNC);
        s
    })
    .await;
    let published = snapshot(&store).await;
    assert_eq!(counts_of(&published), expected_counts(&before.expected()));
    let changed = expected_counts(&after.expected());
    assert_ne!(counts_of(&published), changed, "the tenant changed");
    let total: u64 = changed.values().sum();
    point_at(&s, &after);

    let mut points = vec![
        Point::Started,
        Point::Staged(1),
        Point::Staged(total / 3),
        Point::Staged(total * 2 / 3),
    ];
    if store.backend() == Backend::Postgres {
        points.push(Point::Publishing);
    }
    let mut s = Some(s);
    for clean in [false, true] {
        for point in &points {
            let setup = s.take().unwrap();
            // Hold the last raw table the publication writes, so the kill
            // lands inside its transaction.
            let hold = match point {
                Point::Publishing => {
                    let txn = store.connection().begin().await.unwrap();
                    txn.execute_unprepared("LOCK TABLE raw_activations IN ACCESS EXCLUSIVE MODE")
                        .await
                        .unwrap();
                    Some(txn)
                }
                _ => None,
            };
            let mut args = SYNC.to_vec();
            if clean {
                args.push("--clean");
            }
            let last = newest_process(&store).await.id;
            let child = setup.spawn(&args);
            reach(&store, last, *point).await;
            kill9(child);
            if let Some(txn) = hold {
                txn.rollback().await.unwrap();
            }
            // The next invhost to open the repository recovers.
            let setup = blocking(move || {
                let process = setup.last_process();
                assert_eq!(process["status"], "failed", "{process}");
                assert!(
                    process["message"]
                        .as_str()
                        .unwrap()
                        .contains("stopped before it finished"),
                    "{process}"
                );
                setup
            })
            .await;
            assert_eq!(
                snapshot(&store).await,
                published,
                "{}: clean={clean}, killed at {point:?}: readers see exactly the last published sync",
                db.label
            );
            assert!(
                store.stage_tables().await.unwrap().is_empty(),
                "the next start dropped the staging area"
            );
            s = Some(setup);
        }
    }
    // Left alone, the same sync publishes the changed tenant: the kills above
    // interrupted a sync that would have changed what readers see.
    let setup = s.take().unwrap();
    blocking(move || setup.ok(&SYNC)).await;
    assert_eq!(counts_of(&snapshot(&store).await), changed);
}

async fn a_failed_first_sync_leaves_an_empty_repository(db: &TestDb) {
    // The managed devices' second page is malformed: users, Entra devices
    // and more are staged by then.
    let sim = Simulator::start(SimulatorConfig {
        users: 300,
        devices: 250,
        faults: Faults {
            malformed_page: Some("managed_devices".into()),
            graph_delay_ms: Some(20),
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .unwrap();
    let store = db.store().await;
    let s = contoso(db, &sim);
    let (code, stdout, stderr) = blocking(move || s.invhost.run(&SYNC)).await;
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stdout.contains("answered something unreadable"),
        "the real reason: {stdout}"
    );
    let counts = counts_of(&snapshot(&store).await);
    assert!(counts.values().all(|n| *n == 0), "{counts:?}");
    assert!(store.stage_tables().await.unwrap().is_empty());
    let process = newest_process(&store).await;
    assert_eq!(process.status, ProcessStatus::Failed);
    assert_eq!(process.counts, "{}", "nothing was published");
}

async fn a_consolidation_during_a_sync_sees_only_published_data(db: &TestDb) {
    let before = Simulator::start(SimulatorConfig {
        users: 40,
        devices: 30,
        ..Default::default()
    })
    .await
    .unwrap();
    // The changed tenant holds its usage reports back until the test lets
    // them go: the sync stays in flight with its other streams staged.
    let gate = Gate::new();
    let after = Simulator::start(SimulatorConfig {
        users: 200,
        devices: 160,
        faults: Faults {
            hold_reports: Some(gate.clone()),
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .unwrap();
    let store = db.store().await;
    let s = contoso(db, &before);
    let consolidate = [
        "execute",
        "--repository",
        "Default Inventory",
        "--action",
        "Generate Report - Basic Inventory Consolidation",
        "--json",
    ];
    let (s, first) = blocking(move || {
        s.ok(&SYNC);
        let first = s.json(&consolidate[..5]);
        (s, first)
    })
    .await;
    let first_message = first[0]["message"].as_str().unwrap().to_owned();
    point_at(&s, &after);
    let last = newest_process(&store).await.id;
    let child = s.spawn(&SYNC);
    let sync = reach(&store, last, Point::Staged(500)).await;
    // Long enough for the writer, idle now, to have committed its staging.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (s, during) = blocking(move || {
        let during = s.json(&consolidate[..5]);
        (s, during)
    })
    .await;
    assert_eq!(during[0]["status"], "succeeded", "{during}");
    let in_flight = store.process(sync).await.unwrap();
    assert_eq!(
        in_flight.status,
        ProcessStatus::Running,
        "the sync is still in flight"
    );
    assert!(staged_rows(&store).await >= 500, "with rows staged");
    assert_eq!(
        during[0]["message"].as_str().unwrap(),
        first_message,
        "the consolidation saw the published sync only, not the rows being staged"
    );
    // Once the sync publishes, the next consolidation sees it.
    gate.open();
    let output = blocking(move || child.wait_with_output().unwrap()).await;
    assert!(output.status.success());
    let after = blocking(move || s.json(&consolidate[..5])).await;
    assert_ne!(after[0]["message"].as_str().unwrap(), first_message);
}

async fn sigterm_stops_a_consolidation_and_keeps_its_results(db: &TestDb) {
    let sim = Simulator::start(SimulatorConfig {
        users: 30,
        devices: 20,
        ..Default::default()
    })
    .await
    .unwrap();
    let store = db.store().await;
    let s = contoso(db, &sim);
    let consolidate = [
        "execute",
        "--repository",
        "Default Inventory",
        "--action",
        "Generate Report - Basic Inventory Consolidation",
    ];
    let sqlite = store.backend() == Backend::Sqlite;
    let (s, products) = blocking(move || {
        s.ok(&SYNC);
        if sqlite {
            s.ok(&[
                "connector",
                "add",
                "--type",
                "fixture-flood",
                "--name",
                "Flood",
                "--param",
                "count=150000",
                "--param",
                "batch=1000",
            ]);
            s.ok(&[
                "execute",
                "--repository",
                "Default Inventory",
                "--action",
                "Sync Data - Flood",
            ]);
        }
        s.ok(&consolidate);
        let products = s.json(&["inventory", "product-usage"]);
        (s, products)
    })
    .await;
    // The consolidation must be under way when SIGTERM comes. On PostgreSQL
    // the test holds the first table it writes, so it waits there; SQLite's
    // one write lock would also keep it from starting, so there the
    // repository holds enough devices for the consolidation to take a while.
    let hold = match store.backend() {
        Backend::Postgres => {
            let hold = store.connection().begin().await.unwrap();
            hold.execute_unprepared("LOCK TABLE cons_devices IN ACCESS EXCLUSIVE MODE")
                .await
                .unwrap();
            Some(hold)
        }
        Backend::Sqlite => None,
    };
    let first = newest_process(&store).await.id;
    let last = first;
    let child = s.spawn(&consolidate);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let process = newest_process(&store).await;
        if process.id > last && process.status == ProcessStatus::Running {
            break;
        }
        assert!(
            process.id <= last || process.status == ProcessStatus::Queued,
            "the consolidation ended before SIGTERM: {:?}",
            process.message
        );
        assert!(Instant::now() < deadline, "the consolidation never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(newest_process(&store).await.status, ProcessStatus::Running);
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    if let Some(hold) = hold {
        hold.rollback().await.unwrap();
    }
    let output = blocking(move || child.wait_with_output().unwrap()).await;
    assert_eq!(
        output.status.code(),
        Some(143),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let process = newest_process(&store).await;
    assert_eq!(
        process.status,
        ProcessStatus::Cancelled,
        "{:?}",
        process.message
    );
    assert!(
        process
            .message
            .as_deref()
            .unwrap()
            .starts_with("stopped by SIGTERM"),
        "{:?}",
        process.message
    );
    blocking(move || {
        assert_eq!(
            s.json(&["inventory", "product-usage"]),
            products,
            "the previous consolidated results are kept"
        );
    })
    .await;
    // The results on record are the first consolidation's, not the stopped one's.
    let rows = store
        .connection()
        .query_all(Statement::from_string(
            store.connection().get_database_backend(),
            "SELECT process_id FROM cons_runs",
        ))
        .await
        .unwrap();
    let recorded: Vec<i64> = rows
        .iter()
        .map(|r| r.try_get::<i64>("", "process_id").unwrap())
        .collect();
    assert_eq!(recorded, [first], "{recorded:?}");
}
