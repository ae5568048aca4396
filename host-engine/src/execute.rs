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
    CancelOutcome, ConnectorRow, NewProcess, ProcessEnd, ProcessRow, ProcessStatus, RepositoryRow,
    RepositoryType, Store, SyncReport, Trigger, WriterConfig,
};
use tokio::sync::mpsc;

use super::actions::Action;
use super::cancel::Cancel;
use super::host::{Host, host_id};

/// How long the writer waits for the next batch before committing what it
/// staged (it commits every 25,000 rows otherwise).
const IDLE_COMMIT: std::time::Duration = std::time::Duration::from_millis(200);

/// How often a running sync records its progress, at most.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

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

/// Queues the action's process, waits its turn (another process of the
/// same connector, or the repository's consolidation, may be running on any
/// host) and runs it here; returns the finished processes in the order they
/// ran (a sync, then the consolidation it queued).
pub async fn execute(
    host: &Host,
    store: &Store,
    request: &ExecuteRequest,
    live: &Live,
    cancel: &Arc<Cancel>,
) -> Result<Vec<ProcessRow>> {
    let process = enqueue(host, store, request, Trigger::Operator).await?;
    run_queued(host, store, vec![process], live, cancel).await
}

/// Runs queued processes here, in order, each when its turn comes (a
/// chain's step after the one before it), with the consolidation a sync
/// queues right after that sync; returns every process as it ended. A
/// process another host claimed first is followed until it ends; one that
/// was cancelled (or whose chain stopped) is returned as it is. After a
/// stop request, what has not started is cancelled.
pub async fn run_queued(
    host: &Host,
    store: &Store,
    queued: Vec<ProcessRow>,
    live: &Live,
    cancel: &Arc<Cancel>,
) -> Result<Vec<ProcessRow>> {
    let mut processes = Vec::new();
    let mut pending: std::collections::VecDeque<ProcessRow> = queued.into();
    while let Some(process) = pending.pop_front() {
        let Some(claimed) = wait_turn(store, &process, live, cancel).await? else {
            processes.push(store.process(process.id).await?);
            continue;
        };
        let ran = super::runner::run_claimed(host, store, claimed, live, cancel).await?;
        processes.push(ran.finished);
        // The consolidation a sync queued runs here too, unless stopped:
        // after what was already queued here (an older process of its slot
        // would otherwise keep it waiting for ever).
        if let Some(consolidation) = ran.queued.filter(|_| !cancel.is_cancelled()) {
            pending.push_back(consolidation);
        }
    }
    Ok(processes)
}

/// Checks that `action` can run on `repository` and returns its process
/// row to queue, as `trigger`.
pub async fn step(
    host: &Host,
    store: &Store,
    repository: &RepositoryRow,
    action: &str,
    clean: bool,
    trigger: Trigger,
) -> Result<NewProcess> {
    let connector = match super::actions::resolve(host, store, action).await? {
        Action::Connector {
            connector,
            action: declared,
        } => {
            if clean && !super::actions::is_sync_data(&declared) {
                anyhow::bail!(
                    "--clean replaces everything connector '{}' holds, so it goes with '{}' only",
                    connector.name,
                    super::actions::sync_action(&connector.name)
                );
            }
            if connector.run_consolidation && super::actions::writes_records(&declared) {
                // A sync that queues consolidation checks the rules before it starts.
                host.catalog().with_context(|| {
                    format!(
                        "connector '{}' runs consolidation after its sync",
                        connector.name
                    )
                })?;
            }
            Some(*connector)
        }
        Action::Consolidation => {
            if clean {
                anyhow::bail!("--clean applies to sync actions only");
            }
            if repository.repository_type != RepositoryType::Inventory {
                anyhow::bail!(
                    "'{}' is a {} repository; consolidation runs on inventory repositories",
                    repository.name,
                    repository.repository_type
                );
            }
            // The rules are checked before anything is queued.
            host.catalog()?;
            None
        }
    };
    Ok(NewProcess {
        parent_id: None,
        repository_id: repository.id,
        connector_id: connector.map(|c| c.id),
        action: action.to_owned(),
        trigger,
        clean,
        host: Some(host_id()),
        continue_on_failure: false,
    })
}

/// Checks the request and queues its process, as `trigger`; a host
/// (this one, or `invhost serve` anywhere) runs it when its turn comes.
pub async fn enqueue(
    host: &Host,
    store: &Store,
    request: &ExecuteRequest,
    trigger: Trigger,
) -> Result<ProcessRow> {
    let repository = store.repository(&request.repository).await?;
    let new = step(
        host,
        store,
        &repository,
        &request.action,
        request.clean,
        trigger,
    )
    .await?;
    Ok(store.queue_process(new).await?)
}

/// Claims `process` for this host as soon as it may run; `None` once it
/// ended without running here: cancelled while it waited (it then never
/// runs), its chain stopped, or another host claimed and ran it (followed
/// to its end).
async fn wait_turn(
    store: &Store,
    process: &ProcessRow,
    live: &Live,
    cancel: &Arc<Cancel>,
) -> Result<Option<ProcessRow>> {
    let (mut said_waiting, mut said_elsewhere, mut asked_to_stop) = (false, false, false);
    loop {
        if let Some(claimed) = store.claim(&host_id(), Some(process.id)).await? {
            return Ok(Some(claimed));
        }
        let current = store.process(process.id).await?;
        if current.status.is_ended() {
            return Ok(None);
        }
        if let Some(reason) = cancel.reason().filter(|_| !asked_to_stop) {
            asked_to_stop = true;
            // A queued one never runs; one running elsewhere stops soon.
            if store.request_cancel(process.id, reason.describe()).await?
                == CancelOutcome::Cancelled
            {
                return Ok(None);
            }
        }
        let note = match current.status {
            ProcessStatus::Running if !said_elsewhere => {
                said_elsewhere = true;
                Some(format!(
                    "Process {} '{}' is run by another host ({}); following it to its end.",
                    process.id,
                    process.action,
                    current.host.as_deref().unwrap_or("unknown")
                ))
            }
            ProcessStatus::Queued if !said_waiting => {
                said_waiting = true;
                Some(format!(
                    "Process {} '{}' waits for its turn: the step before it, another process of \
                     the same connector, or this repository's consolidation is queued or running.",
                    process.id, process.action
                ))
            }
            _ => None,
        };
        if let (Some(note), Ok(mut stats)) = (note, live.lock()) {
            stats.notes.push(note);
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// Queues the repository's consolidation after the sync `parent`.
pub(crate) async fn queue_consolidation(
    store: &Store,
    repository_id: i64,
    parent: i64,
) -> Result<ProcessRow> {
    Ok(store
        .queue_process(NewProcess {
            parent_id: Some(parent),
            repository_id,
            connector_id: None,
            action: super::actions::CONSOLIDATION.into(),
            trigger: Trigger::AfterSync,
            clean: false,
            host: Some(host_id()),
            continue_on_failure: false,
        })
        .await?)
}

/// Runs a claimed sync (Sync Data, or another action that writes records:
/// `action` is its id) to its end and records it.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn run_sync(
    host: &Host,
    store: &Store,
    process: &ProcessRow,
    connector: &ConnectorRow,
    repository: &RepositoryRow,
    action: &str,
    live: &Live,
    cancel: &Arc<Cancel>,
) -> Result<ProcessRow> {
    // A success is recorded with the publication, in one transaction; a
    // failure publishes nothing and is recorded here.
    if let Err(failure) = sync(
        host, store, process, connector, repository, action, live, cancel,
    )
    .await
    {
        super::processes::record_end(
            store,
            &host.config.data_dir,
            process,
            failure.status,
            &BTreeMap::new(),
            Some(one_line(&failure.message)),
        )
        .await
        .context("recording the process's end")?;
    }
    Ok(store.process(process.id).await?)
}

/// Why a sync did not publish.
struct Failure {
    status: ProcessStatus,
    message: String,
}

impl Failure {
    fn failed(message: impl Into<String>) -> Self {
        Failure {
            status: ProcessStatus::Failed,
            message: message.into(),
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn sync(
    host: &Host,
    store: &Store,
    process: &ProcessRow,
    connector: &ConnectorRow,
    repository: &RepositoryRow,
    action: &str,
    live: &Live,
    cancel: &Arc<Cancel>,
) -> Result<SyncReport, Failure> {
    let (handle, parameters) = prepare(host, store, connector)?;
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
    let action = action.to_owned();
    let plugin = tokio::task::spawn_blocking(move || {
        let result = handle.run(&action, &parameters, options, &mut sink);
        drop(sink);
        result
    });

    let mut write_error = None;
    // A sign of life on a timer, not only when a batch arrives: a connector
    // may wait minutes for Graph (an export job, a long Retry-After).
    let mut beat = tokio::time::interval(host.config.heartbeat_every());
    beat.tick().await;
    let mut shown = Instant::now();
    loop {
        tokio::select! {
            batch = rx.recv() => {
                let Some(batch) = batch else { break };
                if let Err(e) = writer.write(batch).await {
                    write_error = Some(e);
                    stop.store(true, Ordering::SeqCst);
                    break;
                }
                // Progress for whoever follows it (the API, another host),
                // at most every second.
                if shown.elapsed() >= PROGRESS_EVERY {
                    shown = Instant::now();
                    if let Err(e) = writer.heartbeat().await {
                        tracing::warn!(error = %e, "Could not record the process's progress.");
                    }
                }
            }
            _ = beat.tick() => {
                if let Err(e) = writer.heartbeat().await {
                    tracing::warn!(error = %e, "Could not record the process's heartbeat.");
                }
            }
            // The connector is waiting on its source: commit what is staged,
            // so that SQLite's write lock is not held while nothing is written.
            _ = tokio::time::sleep(IDLE_COMMIT), if writer.in_transaction() => {
                if let Err(e) = writer.idle().await {
                    write_error = Some(e);
                    stop.store(true, Ordering::SeqCst);
                    break;
                }
            }
        }
    }
    drop(rx);
    let result = plugin
        .await
        .map_err(|e| Failure::failed(format!("the connector's thread failed: {e}")));

    let mut extra = None;
    let mut counters = BTreeMap::new();
    let failure = match (write_error, result) {
        (Some(e), _) => Some(Failure::failed(format!(
            "cannot write to the repository: {e}"
        ))),
        (None, Err(failure)) => Some(failure),
        (None, Ok(Err(e))) if e.kind == ErrorKind::Cancelled => Some(Failure {
            status: ProcessStatus::Cancelled,
            message: format!(
                "{}; nothing was published, the repository keeps its previous data",
                cancel
                    .reason()
                    .map_or("cancelled", super::cancel::StopReason::describe)
            ),
        }),
        (None, Ok(Err(e))) => Some(Failure::failed(e.message)),
        (None, Ok(Ok(summary))) => {
            extra = summary_line(&summary);
            writer.set_tenant(summary.tenant.as_deref());
            counters = summary.counters;
            None
        }
    };
    if let Some(failure) = failure {
        if let Err(e) = writer.abandon().await {
            tracing::warn!(error = %e, "Could not drop the staging tables; the next start drops them.");
        }
        return Err(failure);
    }
    let _alive = super::processes::keep_alive(store, process.id, host.config.heartbeat_every());
    writer
        .publish(|report| ProcessEnd {
            counts: report.written.clone(),
            message: Some(one_line(&published_line(report, extra.as_deref()))),
            counters: counters.clone(),
        })
        .await
        .map_err(|e| Failure::failed(format!("cannot publish the sync to the repository: {e}")))
}

/// Runs a claimed action that writes no records (`action` is its id, `name`
/// the operator's name) to its end and records it with the connector's
/// closing line; a record it emits fails it.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn run_without_records(
    host: &Host,
    store: &Store,
    process: &ProcessRow,
    connector: &ConnectorRow,
    action: &str,
    live: &Live,
    cancel: &Arc<Cancel>,
) -> Result<ProcessRow> {
    let (status, message) =
        match without_records(host, store, connector, action, live, cancel).await {
            Ok(line) => (ProcessStatus::Succeeded, line),
            Err(failure) => (failure.status, failure.message),
        };
    super::processes::record_end(
        store,
        &host.config.data_dir,
        process,
        status,
        &BTreeMap::new(),
        Some(one_line(&message)),
    )
    .await
    .context("recording the process's end")?;
    Ok(store.process(process.id).await?)
}

async fn without_records(
    host: &Host,
    store: &Store,
    connector: &ConnectorRow,
    action: &str,
    live: &Live,
    cancel: &Arc<Cancel>,
) -> Result<String, Failure> {
    let (handle, parameters) = prepare(host, store, connector)?;
    let refused = Arc::new(AtomicBool::new(false));
    let mut sink = NoRecords {
        cancel: Arc::clone(cancel),
        refused: Arc::clone(&refused),
        live: Arc::clone(live),
    };
    let id = action.to_owned();
    let result = tokio::task::spawn_blocking(move || {
        handle.run(&id, &parameters, RunOptions::default(), &mut sink)
    })
    .await
    .map_err(|e| Failure::failed(format!("the connector's thread failed: {e}")))?;
    if refused.load(Ordering::SeqCst) {
        return Err(Failure::failed(format!(
            "the connector's action '{action}' emitted records, but it declares that it writes none; nothing was written"
        )));
    }
    match result {
        Ok(summary) => Ok(summary_line(&summary).unwrap_or_else(|| "Done.".to_owned())),
        Err(e) if e.kind == ErrorKind::Cancelled => Err(Failure {
            status: ProcessStatus::Cancelled,
            message: cancel
                .reason()
                .map_or("cancelled", super::cancel::StopReason::describe)
                .to_owned(),
        }),
        Err(e) => Err(Failure::failed(e.message)),
    }
}

/// The connector's handle and its parameters, secrets decrypted: what any
/// of its actions is called with.
fn prepare(
    host: &Host,
    store: &Store,
    connector: &ConnectorRow,
) -> Result<
    (
        connector_core::host::ConnectorHandle,
        connector_core::Parameters,
    ),
    Failure,
> {
    let handle = host
        .registry()
        .require(&connector.connector_type)
        .map_err(|e| Failure::failed(format!("{e}: is its plugin in a plugin directory?")))?
        .clone();
    let key = host.key().map_err(|e| Failure::failed(format!("{e:#}")))?;
    let parameters = store
        .connector_parameters(connector, &key)
        .map_err(|e| Failure::failed(e.to_string()))?;
    Ok((handle, parameters))
}

/// The sink of an action that writes no records: any record stops it.
struct NoRecords {
    cancel: Arc<Cancel>,
    refused: Arc<AtomicBool>,
    live: Live,
}

impl RecordSink for NoRecords {
    fn emit(&mut self, batch: Batch) -> Flow {
        if batch.records.is_empty() {
            Flow::Continue
        } else {
            self.refused.store(true, Ordering::SeqCst);
            Flow::Stop
        }
    }

    fn progress(&mut self, progress: Progress) {
        if let Ok(mut stats) = self.live.lock()
            && stats.notes.len() < 1_000
        {
            stats.notes.push(progress.message);
        }
    }

    fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled() || self.refused.load(Ordering::SeqCst)
    }
}

/// The process log's line for a published sync.
fn published_line(report: &SyncReport, extra: Option<&str>) -> String {
    let mut message = format!("Wrote {} records", report.written_total());
    let removed = report.removed_total();
    if removed > 0 {
        message.push_str(&format!(", removed {removed} no longer seen"));
    }
    message.push('.');
    if let Some(extra) = extra {
        message.push(' ');
        message.push_str(extra);
    }
    message
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
    cancel: Arc<Cancel>,
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
        self.cancel.is_cancelled() || self.stop.load(Ordering::SeqCst)
    }
}
