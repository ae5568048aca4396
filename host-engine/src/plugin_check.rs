//! `invhost plugin check --sync`: a connector's Sync Data into a scratch
//! repository (a SQLite file in a private temporary directory, removed
//! afterwards), every batch checked on the way, the run published as a real
//! sync would be.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use connector_core::host::{BatchChecker, CheckLine, ConnectorHandle};
use connector_core::{
    Batch, Check, CheckStatus, Flow, Parameters, Progress, RecordKind, RecordSink, RunOptions,
};
use repo_store::{NewConnector, NewProcess, ProcessEnd, SecretKey, Store, Trigger, WriterConfig};
use serde::Serialize;
use tokio::sync::mpsc;

/// One record kind in the check's summary.
#[derive(Debug, Clone, Serialize)]
pub struct KindResult {
    /// The record kind.
    pub kind: RecordKind,
    /// Declared in the connector's `record_kinds`.
    pub declared: bool,
    /// Records the batches held.
    pub emitted: u64,
    /// Rows the scratch repository holds after publication.
    pub stored: u64,
    /// Marked complete by a batch.
    pub complete: bool,
}

/// What `plugin check --sync` found.
#[derive(Debug, Clone, Serialize)]
pub struct SyncCheck {
    /// The check's lines (the run, its batches, its summary, the repository).
    pub lines: Vec<CheckLine>,
    /// Per record kind.
    pub kinds: Vec<KindResult>,
}

/// A private temporary directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "invhost-plugin-check-{}-{nanos:x}",
            std::process::id()
        ));
        repo_store::private_dir(&path)
            .with_context(|| format!("cannot create the scratch directory {}", path.display()))?;
        Ok(Scratch(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An action that declares it writes no records: run it, and fail the check
/// when it emits one.
async fn check_without_records(
    handle: &ConnectorHandle,
    parameters: Parameters,
    declared: &connector_core::Action,
) -> SyncCheck {
    let handle = handle.clone();
    let id = declared.id.clone();
    let (outcome, records) = tokio::task::spawn_blocking(move || {
        let mut sink = Refuse { records: 0 };
        let outcome = handle.run(&id, &parameters, RunOptions::default(), &mut sink);
        (outcome, sink.records)
    })
    .await
    .unwrap_or_else(|e| {
        (
            Err(connector_core::host::CallError {
                origin: String::new(),
                connector_type: String::new(),
                kind: connector_core::ErrorKind::Panic,
                message: format!("the connector's thread failed: {e}"),
                field: None,
            }),
            0,
        )
    });
    let mut lines = vec![match &outcome {
        Ok(summary) => line(
            &format!("{}: run", declared.id),
            CheckStatus::Ok,
            format!("succeeded: {}", summary.message),
        ),
        Err(e) => line(
            &format!("{}: run", declared.id),
            CheckStatus::Failed,
            e.message.clone(),
        ),
    }];
    lines.push(if records == 0 {
        line(
            &format!("{}: records", declared.id),
            CheckStatus::Ok,
            "none, as the action declares".into(),
        )
    } else {
        line(
            &format!("{}: records", declared.id),
            CheckStatus::Failed,
            format!(
                "the action '{}' declares that it writes none, but emitted a batch of {records}; the host fails such a run",
                declared.id
            ),
        )
    });
    SyncCheck {
        lines,
        kinds: Vec::new(),
    }
}

/// The sink of an action that writes nothing: counts the first batch that
/// holds records, and stops the run there.
struct Refuse {
    records: usize,
}

impl RecordSink for Refuse {
    fn emit(&mut self, batch: Batch) -> Flow {
        if batch.records.is_empty() {
            return Flow::Continue;
        }
        self.records = batch.records.len();
        Flow::Stop
    }

    fn progress(&mut self, _progress: Progress) {}

    fn is_cancelled(&self) -> bool {
        self.records > 0
    }
}

/// Hands batches to the writer task; blocking in `emit` is the backpressure.
struct Forward {
    tx: mpsc::Sender<Batch>,
    stop: Arc<AtomicBool>,
}

impl RecordSink for Forward {
    fn emit(&mut self, batch: Batch) -> Flow {
        match self.tx.blocking_send(batch) {
            Ok(()) if !self.is_cancelled() => Flow::Continue,
            _ => Flow::Stop,
        }
    }

    fn progress(&mut self, _progress: Progress) {}

    fn is_cancelled(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

fn line(name: &str, status: CheckStatus, message: String) -> CheckLine {
    Check {
        name: name.to_owned(),
        status,
        message,
    }
}

/// Runs the connector's action `action` (Sync Data, or another it declares)
/// with `parameters` (checked against its schema first). An action that
/// writes records goes into a scratch repository with every batch checked;
/// one that declares it writes none must emit none.
pub async fn check_sync(
    handle: &ConnectorHandle,
    parameters: Parameters,
    action: &str,
) -> Result<SyncCheck> {
    let declared = handle
        .info()
        .actions
        .iter()
        .find(|a| a.id == action && a.id != connector_core::ACTION_TEST)
        .cloned();
    let Some(declared) = declared else {
        let offered: Vec<&str> = handle
            .info()
            .actions
            .iter()
            .map(|a| a.id.as_str())
            .filter(|a| *a != connector_core::ACTION_TEST)
            .collect();
        anyhow::bail!(
            "connector type '{}' declares no action '{action}' (it has {})",
            handle.info().type_id,
            offered.join(", ")
        );
    };
    if declared.record_mode() == connector_core::RecordMode::None {
        return Ok(check_without_records(handle, parameters, &declared).await);
    }
    let scratch = Scratch::new()?;
    let url = format!("sqlite://{}?mode=rwc", scratch.0.join("check.db").display());
    let store = Store::connect(&url)
        .await
        .context("cannot open the scratch repository")?;
    let repository = store.repository(repo_store::DEFAULT_REPOSITORY).await?;
    // Nothing secret is stored: the run gets its parameters directly.
    let key = SecretKey::from_hex(&"0".repeat(64), "the scratch repository's key")?;
    let info = handle.info().clone();
    let connector = store
        .create_connector(
            NewConnector {
                name: "plugin check".into(),
                connector_type: info.type_id.clone(),
                parameters: Parameters::new(),
                secret_keys: vec![],
                run_consolidation: false,
            },
            &key,
        )
        .await?;
    let process = store
        .queue_process(NewProcess {
            parent_id: None,
            repository_id: repository.id,
            connector_id: Some(connector.id),
            action: "Sync Data - plugin check".into(),
            trigger: Trigger::Operator,
            clean: false,
            host: None,
            continue_on_failure: false,
        })
        .await?;
    store.start_process(process.id, "plugin-check").await?;
    let mut writer = store.sync_writer(
        repository.id,
        connector.id,
        process.id,
        false,
        WriterConfig::default(),
    );

    let (tx, mut rx) = mpsc::channel::<Batch>(2);
    let stop = Arc::new(AtomicBool::new(false));
    let mut forward = Forward {
        tx,
        stop: Arc::clone(&stop),
    };
    let run_handle = handle.clone();
    let action_id = declared.id.clone();
    let run = tokio::task::spawn_blocking(move || {
        let mut checker = BatchChecker::new(&mut forward);
        let outcome = run_handle.run(&action_id, &parameters, RunOptions::default(), &mut checker);
        let lines = checker.finish(&outcome);
        let counts = checker.counts().clone();
        let complete = checker.complete().clone();
        drop(checker);
        drop(forward);
        (outcome.is_ok(), lines, counts, complete)
    });
    let mut write_error = None;
    while let Some(batch) = rx.recv().await {
        if let Err(e) = writer.write(batch).await {
            write_error = Some(e);
            stop.store(true, Ordering::SeqCst);
            break;
        }
    }
    drop(rx);
    let (succeeded, mut lines, counts, complete) =
        run.await.context("the connector's thread failed")?;

    let mut stored = BTreeMap::new();
    match write_error {
        Some(e) => {
            lines.push(line(
                "sync: repository",
                CheckStatus::Failed,
                format!("the repository refused a batch: {e}"),
            ));
            let _ = writer.abandon().await;
        }
        None if succeeded => {
            match writer
                .publish(|report| ProcessEnd {
                    counts: report.written.clone(),
                    message: Some("plugin check".into()),
                    counters: BTreeMap::new(),
                })
                .await
            {
                Ok(report) => {
                    stored = store.raw_counts(repository.id).await?;
                    lines.push(line(
                        "sync: repository",
                        CheckStatus::Ok,
                        format!(
                            "{} row(s) written and published to a scratch repository",
                            report.written_total()
                        ),
                    ));
                }
                Err(e) => lines.push(line(
                    "sync: repository",
                    CheckStatus::Failed,
                    format!("publication failed: {e}"),
                )),
            }
        }
        None => {
            let _ = writer.abandon().await;
        }
    }
    let kinds = RecordKind::ALL
        .iter()
        .copied()
        .filter(|k| info.record_kinds.contains(k) || counts.contains_key(k))
        .map(|kind| KindResult {
            kind,
            declared: info.record_kinds.contains(&kind),
            emitted: counts.get(&kind).copied().unwrap_or(0),
            stored: stored.get(&kind).copied().unwrap_or(0),
            complete: complete.contains(&kind),
        })
        .collect();
    drop(store);
    drop(scratch);
    Ok(SyncCheck { lines, kinds })
}
