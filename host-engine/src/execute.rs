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
    ConnectorRow, NewProcess, ProcessEnd, ProcessRow, ProcessStatus, RepositoryRow, Store,
    SyncReport, WriterConfig,
};
use tokio::sync::mpsc;

use super::actions::Action;
use super::cancel::Cancel;
use super::host::{Host, host_id};
use super::processes::HEARTBEAT_EVERY;

/// How long the writer waits for the next batch before committing what it
/// staged (it commits every 25,000 rows otherwise).
const IDLE_COMMIT: std::time::Duration = std::time::Duration::from_millis(200);

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
    cancel: &Arc<Cancel>,
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
            let finished =
                consolidate(host, store, process, &repository, &catalog, live, cancel).await?;
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
    if let (Some(reason), Some(_), true) = (cancel.reason(), &catalog, synced) {
        tracing::warn!(
            reason = reason.describe(),
            "The sync published before the stop request; the consolidation after it is not run."
        );
    }
    if let Some(catalog) = catalog
        && synced
        && !cancel.is_cancelled()
    {
        let parent = processes[0].id;
        // The sync's result stands whatever happens to the consolidation.
        match queue_consolidation(store, &repository, Some(parent)).await {
            Ok(process) => {
                match consolidate(host, store, process, &repository, &catalog, live, cancel).await {
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
    cancel: &Arc<Cancel>,
) -> Result<ProcessRow> {
    let id = process.id;
    match super::consolidate::run(host, store, process, repository, catalog, live, cancel).await {
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
    cancel: &Arc<Cancel>,
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

    // A success is recorded with the publication, in one transaction; a
    // failure publishes nothing and is recorded here.
    if let Err(failure) = sync(host, store, &process, connector, repository, live, cancel).await {
        super::processes::record_end(
            store,
            &host.config.data_dir,
            &process,
            failure.status,
            &BTreeMap::new(),
            Some(one_line(&failure.message)),
        )
        .await
        .context("recording the process's end")?;
    }
    let finished = store.process(process.id).await?;
    tracing::info!(status = %finished.status, "Process finished.");
    Ok(finished)
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

async fn sync(
    host: &Host,
    store: &Store,
    process: &ProcessRow,
    connector: &ConnectorRow,
    repository: &RepositoryRow,
    live: &Live,
    cancel: &Arc<Cancel>,
) -> Result<SyncReport, Failure> {
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
            None
        }
    };
    if let Some(failure) = failure {
        if let Err(e) = writer.abandon().await {
            tracing::warn!(error = %e, "Could not drop the staging tables; the next start drops them.");
        }
        return Err(failure);
    }
    let _alive = super::processes::keep_alive(store, process.id);
    writer
        .publish(|report| ProcessEnd {
            counts: report.written.clone(),
            message: Some(one_line(&published_line(report, extra.as_deref()))),
        })
        .await
        .map_err(|e| Failure::failed(format!("cannot publish the sync to the repository: {e}")))
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
