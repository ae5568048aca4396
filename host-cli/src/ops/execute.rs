//! `Sync Data - <connector>`: queue, run, write, finish, as a process in the log.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result};
use connector_core::{
    Batch, ErrorKind, Flow, Progress, RecordKind, RecordSink, RunOptions, RunSummary,
};
use repo_store::{
    ConnectorRow, NewProcess, ProcessRow, ProcessStatus, RepositoryRow, RunOutcome, Store,
    WriterConfig,
};
use tokio::sync::mpsc;

use super::actions::Action;
use super::host::{Host, host_id};
use super::processes::HEARTBEAT_EVERY;

/// What to execute.
#[derive(Debug, Clone)]
pub struct ExecuteRequest {
    /// Repository name.
    pub repository: String,
    /// Action name (`Sync Data - NAME`).
    pub action: String,
    /// Clean sync.
    pub clean: bool,
}

/// What a running sync shows: counts per kind and the connector's last note.
#[derive(Debug, Default)]
pub struct LiveStats {
    /// The process running now.
    pub process: Option<(i64, String)>,
    /// Records received per kind.
    pub records: BTreeMap<RecordKind, u64>,
    /// Progress notes not yet shown.
    pub notes: Vec<String>,
    /// When the process started.
    pub started: Option<Instant>,
}

impl LiveStats {
    /// Records received in all.
    pub fn total(&self) -> u64 {
        self.records.values().sum()
    }
}

/// Shared between the run and whoever draws its progress.
pub type Live = Arc<Mutex<LiveStats>>;

/// Queues the action's process and runs it; returns the finished processes
/// in the order they ran (a sync, then the consolidation it queued).
pub async fn execute(
    host: &Host,
    store: &Store,
    request: &ExecuteRequest,
    live: &Live,
    cancel: &Arc<AtomicBool>,
) -> Result<Vec<ProcessRow>> {
    let repository = store.repository(&request.repository).await?;
    let connector = match super::actions::resolve(store, &request.action).await? {
        Action::Sync(connector) => connector,
        Action::Consolidation => {
            if request.clean {
                anyhow::bail!("--clean applies to sync actions only");
            }
            if repository.repository_type != "inventory" {
                anyhow::bail!(
                    "'{}' is a {} repository; consolidation runs on inventory repositories",
                    repository.name,
                    repository.repository_type
                );
            }
            // The rules are checked before anything is queued.
            let catalog = host.catalog()?;
            let process = queue_consolidation(store, &repository, None).await?;
            let finished = consolidate(host, store, process, &repository, &catalog, live).await?;
            return Ok(vec![finished]);
        }
    };
    // A sync that queues consolidation checks the rules before it starts.
    let catalog = match connector.run_consolidation {
        true => Some(host.catalog().with_context(|| {
            format!(
                "connector '{}' runs consolidation after its sync",
                connector.name
            )
        })?),
        false => None,
    };
    let process = store
        .queue_exclusive(
            &connector.name,
            NewProcess {
                parent_id: None,
                repository_id: repository.id,
                connector_id: Some(connector.id),
                action: request.action.clone(),
                trigger: "operator".into(),
                clean: request.clean,
                host: Some(host_id()),
            },
        )
        .await?;
    let finished = run_sync(host, store, process, &connector, &repository, live, cancel).await?;
    let synced = finished.status == ProcessStatus::Succeeded.as_str();
    let mut processes = vec![finished];
    if let Some(catalog) = catalog
        && synced
        && !cancel.load(Ordering::SeqCst)
    {
        let parent = processes[0].id;
        // The sync's result stands whatever happens to the consolidation.
        match queue_consolidation(store, &repository, Some(parent)).await {
            Ok(process) => {
                match consolidate(host, store, process, &repository, &catalog, live).await {
                    Ok(done) => processes.push(done),
                    Err(e) => {
                        tracing::error!(error = %format!("{e:#}"), "The consolidation could not run.")
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "The consolidation could not be queued.")
            }
        }
    }
    Ok(processes)
}

/// Runs a queued consolidation; if the run itself cannot be recorded, the
/// process is marked failed rather than left queued.
async fn consolidate(
    host: &Host,
    store: &Store,
    process: ProcessRow,
    repository: &RepositoryRow,
    catalog: &repo_store::consolidation::Catalog,
    live: &Live,
) -> Result<ProcessRow> {
    let id = process.id;
    match super::consolidate::run(host, store, process, repository, catalog, live).await {
        Ok(done) => Ok(done),
        Err(e) => {
            let reason = one_line(&format!("the consolidation could not run: {e:#}"));
            store.fail_process(id, &reason).await.ok();
            Ok(store.process(id).await.map_err(|_| e)?)
        }
    }
}

/// Queues the repository's consolidation; `parent` is the sync that asked for it.
async fn queue_consolidation(
    store: &Store,
    repository: &RepositoryRow,
    parent: Option<i64>,
) -> Result<ProcessRow> {
    Ok(store
        .queue_process(NewProcess {
            parent_id: parent,
            repository_id: repository.id,
            connector_id: None,
            action: super::actions::CONSOLIDATION.into(),
            trigger: match parent {
                Some(_) => "after sync".into(),
                None => "operator".into(),
            },
            clean: false,
            host: Some(host_id()),
        })
        .await?)
}

async fn run_sync(
    host: &Host,
    store: &Store,
    process: ProcessRow,
    connector: &ConnectorRow,
    repository: &RepositoryRow,
    live: &Live,
    cancel: &Arc<AtomicBool>,
) -> Result<ProcessRow> {
    store.start_process(process.id, &host_id()).await?;
    if let Ok(mut stats) = live.lock() {
        *stats = LiveStats {
            process: Some((process.id, process.action.clone())),
            started: Some(Instant::now()),
            ..Default::default()
        };
    }
    let span = tracing::info_span!("process", id = process.id, repository = %repository.name, connector = %connector.name);
    let _entered = span.enter();
    tracing::info!(action = %process.action, clean = process.clean, "Process started.");

    let outcome = sync(host, store, &process, connector, repository, live, cancel).await;
    let (status, counts, message) = match outcome {
        Ok(done) => (ProcessStatus::Succeeded, done.counts, done.message),
        Err(failure) => (
            failure.status,
            failure.counts,
            Some(one_line(&failure.message)),
        ),
    };
    store
        .finish_process(process.id, status, &counts, message)
        .await
        .context("recording the process's end")?;
    tracing::info!(status = status.as_str(), "Process finished.");
    Ok(store.process(process.id).await?)
}

struct Done {
    counts: BTreeMap<RecordKind, u64>,
    message: Option<String>,
}

struct Failure {
    status: ProcessStatus,
    counts: BTreeMap<RecordKind, u64>,
    message: String,
}

impl Failure {
    fn failed(message: impl Into<String>) -> Self {
        Failure {
            status: ProcessStatus::Failed,
            counts: BTreeMap::new(),
            message: message.into(),
        }
    }
}

async fn sync(
    host: &Host,
    store: &Store,
    process: &ProcessRow,
    connector: &ConnectorRow,
    repository: &RepositoryRow,
    live: &Live,
    cancel: &Arc<AtomicBool>,
) -> Result<Done, Failure> {
    let handle = host
        .registry()
        .require(&connector.connector_type)
        .map_err(|e| Failure::failed(format!("{e}: is its plugin in a plugin directory?")))?
        .clone();
    let key = host.key().map_err(|e| Failure::failed(format!("{e:#}")))?;
    let parameters = store
        .connector_parameters(connector, &key)
        .map_err(|e| Failure::failed(e.to_string()))?;
    let mut writer = store.sync_writer(
        repository.id,
        connector.id,
        process.id,
        process.clean,
        WriterConfig::default(),
    );

    let (tx, mut rx) = mpsc::channel::<Batch>(2);
    let stop = Arc::new(AtomicBool::new(false));
    let mut sink = ChannelSink {
        tx,
        cancel: Arc::clone(cancel),
        stop: Arc::clone(&stop),
        live: Arc::clone(live),
    };
    let options = RunOptions::clean(process.clean);
    let plugin = tokio::task::spawn_blocking(move || {
        let result = handle.run(
            connector_core::ACTION_SYNC_DATA,
            &parameters,
            options,
            &mut sink,
        );
        drop(sink);
        result
    });

    let mut write_error = None;
    // A sign of life on a timer, not only when a batch arrives: a connector
    // may wait minutes for Graph (an export job, a long Retry-After).
    let mut beat = tokio::time::interval(HEARTBEAT_EVERY);
    beat.tick().await;
    loop {
        tokio::select! {
            batch = rx.recv() => {
                let Some(batch) = batch else { break };
                if let Err(e) = writer.write(batch).await {
                    write_error = Some(e);
                    stop.store(true, Ordering::SeqCst);
                    break;
                }
            }
            _ = beat.tick() => {
                if let Err(e) = writer.heartbeat().await {
                    tracing::warn!(error = %e, "Could not record the process's heartbeat.");
                }
            }
        }
    }
    drop(rx);
    let result = plugin
        .await
        .map_err(|e| Failure::failed(format!("the connector's thread failed: {e}")));

    let mut extra = None;
    let failure = match (write_error, result) {
        (Some(e), _) => Some(Failure::failed(format!(
            "cannot write to the repository: {e}"
        ))),
        (None, Err(failure)) => Some(failure),
        (None, Ok(Err(e))) if e.kind == ErrorKind::Cancelled => Some(Failure {
            status: ProcessStatus::Cancelled,
            counts: BTreeMap::new(),
            message: "cancelled by the operator; the repository keeps its previous data".into(),
        }),
        (None, Ok(Err(e))) => Some(Failure::failed(e.message)),
        (None, Ok(Ok(summary))) => {
            extra = summary_line(&summary);
            None
        }
    };
    let outcome = match &failure {
        None => RunOutcome::Succeeded,
        Some(f) if f.status == ProcessStatus::Cancelled => RunOutcome::Cancelled,
        Some(_) => RunOutcome::Failed,
    };
    let counts = writer.written();
    let report = writer.finish(outcome).await;
    match (failure, report) {
        (Some(mut failure), report) => {
            // What stays in the repository: rows committed before the failure.
            failure.counts = report.map(|r| r.written).unwrap_or(counts);
            Err(failure)
        }
        (None, Err(e)) => Err(Failure {
            counts,
            ..Failure::failed(format!("cannot finish writing the repository: {e}"))
        }),
        (None, Ok(report)) => {
            let removed: u64 = report.removed.values().sum();
            let written: u64 = report.written.values().sum();
            let mut message = format!("Wrote {written} records");
            if removed > 0 {
                message.push_str(&format!(", removed {removed} no longer seen"));
            }
            message.push('.');
            if let Some(extra) = extra {
                message.push(' ');
                message.push_str(&extra);
            }
            Ok(Done {
                counts: report.written,
                message: Some(one_line(&message)),
            })
        }
    }
}

/// The connector's own closing line and its warnings, briefly.
fn summary_line(summary: &RunSummary) -> Option<String> {
    let mut parts = Vec::new();
    if !summary.message.is_empty() {
        parts.push(summary.message.clone());
    }
    match summary.warnings.len() {
        0 => {}
        1 => parts.push(format!("1 warning: {}", summary.warnings[0])),
        n => parts.push(format!("{n} warnings, the first: {}", summary.warnings[0])),
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// One line for the process log.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Hands the plugin's batches to the writer task; blocking in `emit` is the backpressure.
struct ChannelSink {
    tx: mpsc::Sender<Batch>,
    cancel: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    live: Live,
}

impl RecordSink for ChannelSink {
    fn emit(&mut self, batch: Batch) -> Flow {
        if let Ok(mut stats) = self.live.lock() {
            for record in &batch.records {
                *stats.records.entry(record.kind()).or_default() += 1;
            }
        }
        match self.tx.blocking_send(batch) {
            Ok(()) if !self.is_cancelled() => Flow::Continue,
            _ => Flow::Stop,
        }
    }

    fn progress(&mut self, progress: Progress) {
        if let Ok(mut stats) = self.live.lock() {
            let mut note = progress.message;
            if let (Some(done), Some(total)) = (progress.done, progress.total) {
                note.push_str(&format!(" ({done}/{total})"));
            } else if let Some(done) = progress.done {
                note.push_str(&format!(" ({done})"));
            }
            if stats.notes.len() < 1_000 {
                stats.notes.push(note);
            }
        }
    }

    fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst) || self.stop.load(Ordering::SeqCst)
    }
}
