//! The one process runner: a claimed process, whatever its action, is run
//! here to its end (queue → claim → start → heartbeat → finish). The claim
//! is [`repo_store::Store::claim`]; starting, watching for a stop request
//! from anywhere, running and recording the end are this module's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use repo_store::{ProcessRow, ProcessStatus, Store};
use tracing::Instrument;

use super::cancel::{Cancel, StopReason};
use super::execute::{Live, LiveStats, one_line};
use super::host::Host;

/// How often a running process looks for a stop request in the database.
const CANCEL_POLL: Duration = Duration::from_secs(1);

/// A process run to its end.
#[derive(Debug)]
pub struct Ran {
    /// The process as the log now shows it.
    pub finished: ProcessRow,
    /// The consolidation a successful sync queued (its connector has Run
    /// Consolidation Reports set).
    pub queued: Option<ProcessRow>,
}

/// Runs a process this host claimed (it is `running` here) to its end and
/// records it; `cancel` stops it, and so does `invhost process cancel` from
/// any host.
pub async fn run_claimed(
    host: &Host,
    store: &Store,
    process: ProcessRow,
    live: &Live,
    cancel: &Arc<Cancel>,
) -> Result<Ran> {
    if let Ok(mut stats) = live.lock() {
        *stats = LiveStats {
            process: Some((process.id, process.action.clone())),
            started: Some(Instant::now()),
            notes: std::mem::take(&mut stats.notes),
            ..Default::default()
        };
    }
    let repository = store
        .repositories()
        .await?
        .into_iter()
        .find(|r| r.id == process.repository_id)
        .ok_or_else(|| anyhow!("process {}: its repository is gone", process.id))?;
    // The span follows the future from thread to thread (an entered guard
    // held across an await would not).
    let span = tracing::info_span!("process", id = process.id, repository = %repository.name);
    run_in_span(host, store, process, repository, live, cancel)
        .instrument(span)
        .await
}

async fn run_in_span(
    host: &Host,
    store: &Store,
    process: ProcessRow,
    repository: repo_store::RepositoryRow,
    live: &Live,
    cancel: &Arc<Cancel>,
) -> Result<Ran> {
    tracing::info!(action = %process.action, trigger = %process.trigger, clean = process.clean, "Process started.");
    let watcher = watch_for_stop(store, process.id, cancel);

    let outcome = match process.connector_id {
        Some(connector_id) => {
            let connector = store
                .connectors()
                .await?
                .into_iter()
                .find(|c| c.id == connector_id);
            let action = connector
                .as_ref()
                .map(|c| super::actions::connector_action(host, c, &process.action));
            match (connector, action) {
                (Some(connector), Some(Some(action)))
                    if super::actions::writes_records(&action) =>
                {
                    let finished = super::execute::run_sync(
                        host,
                        store,
                        &process,
                        &connector,
                        &repository,
                        &action.id,
                        live,
                        cancel,
                    )
                    .await;
                    finished.map(|finished| (finished, connector.run_consolidation))
                }
                (Some(connector), Some(Some(action))) => super::execute::run_without_records(
                    host, store, &process, &connector, &action.id, live, cancel,
                )
                .await
                .map(|finished| (finished, false)),
                (Some(connector), _) => fail(
                    host,
                    store,
                    &process,
                    &format!(
                        "connector type '{}' no longer offers this action",
                        connector.connector_type
                    ),
                )
                .await
                .map(|finished| (finished, false)),
                (None, _) => fail(host, store, &process, "its connector was removed")
                    .await
                    .map(|finished| (finished, false)),
            }
        }
        None => match host.catalog() {
            Ok(catalog) => {
                super::consolidate::run(host, store, &process, &repository, &catalog, cancel)
                    .await
                    .map(|finished| (finished, false))
            }
            Err(e) => fail(host, store, &process, &format!("{e:#}"))
                .await
                .map(|finished| (finished, false)),
        },
    };
    watcher.abort();
    let (finished, consolidate_after) = match outcome {
        Ok(done) => done,
        Err(e) => {
            // The run itself could not be recorded: say so rather than leave it running.
            let reason = one_line(&format!("the process could not run: {e:#}"));
            store.fail_process(process.id, &reason).await.ok();
            (store.process(process.id).await.map_err(|_| e)?, false)
        }
    };
    tracing::info!(status = %finished.status, "Process finished.");
    let queued = match consolidate_after && finished.status == ProcessStatus::Succeeded {
        true if cancel.is_cancelled() => {
            tracing::warn!(
                "The sync published before the stop request; the consolidation after it is not queued."
            );
            None
        }
        true => match queued_consolidation(store, repository.id).await? {
            // A schedule's chain (or an operator) already queued one: it
            // runs after this sync anyway, and a second would only repeat it.
            Some(waiting) => {
                tracing::info!(
                    consolidation = waiting,
                    "A consolidation of this repository is already queued; not queuing another."
                );
                None
            }
            None => Some(
                super::execute::queue_consolidation(store, repository.id, finished.id)
                    .await
                    .context("queueing the consolidation after the sync")?,
            ),
        },
        false => None,
    };
    Ok(Ran { finished, queued })
}

/// A queued consolidation of the repository, if there is one.
async fn queued_consolidation(store: &Store, repository_id: i64) -> Result<Option<i64>> {
    let filter = repo_store::ProcessFilter {
        repository_id: Some(repository_id),
        status: Some(ProcessStatus::Queued),
        ..Default::default()
    };
    Ok(store
        .processes(&filter)
        .await?
        .into_iter()
        .find(|p| p.connector_id.is_none())
        .map(|p| p.id))
}

async fn fail(
    host: &Host,
    store: &Store,
    process: &ProcessRow,
    reason: &str,
) -> Result<ProcessRow> {
    super::processes::record_end(
        store,
        &host.config.data_dir,
        process,
        ProcessStatus::Failed,
        &Default::default(),
        Some(one_line(reason)),
    )
    .await?;
    Ok(store.process(process.id).await?)
}

/// Cancels the run when someone asks, in the database, for process `id` to stop.
fn watch_for_stop(store: &Store, id: i64, cancel: &Arc<Cancel>) -> tokio::task::JoinHandle<()> {
    let (store, cancel) = (store.clone(), Arc::clone(cancel));
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(CANCEL_POLL).await;
            match store.cancel_requested(id).await {
                Ok(Some(reason)) => {
                    tracing::info!(%reason, "Asked to stop.");
                    cancel.cancel(StopReason::Requested);
                    return;
                }
                Ok(None) => {}
                Err(e) => tracing::debug!(error = %e, "Could not look for a stop request."),
            }
        }
    })
}
