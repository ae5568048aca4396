//! `Generate Report - Basic Inventory Consolidation`: one process that
//! rebuilds a repository's consolidated data in one transaction.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{Context, Result};
use repo_store::consolidation::{Catalog, Request};
use repo_store::{Backend, ProcessRow, ProcessStatus, RepositoryRow, Store};

use super::cancel::Cancel;
use super::execute::{Live, LiveStats, one_line};
use super::host::{Host, host_id};
use super::processes::HEARTBEAT_EVERY;

/// Runs a queued consolidation process to its end.
pub async fn run(
    host: &Host,
    store: &Store,
    process: ProcessRow,
    repository: &RepositoryRow,
    catalog: &Catalog,
    live: &Live,
    cancel: &std::sync::Arc<Cancel>,
) -> Result<ProcessRow> {
    store.start_process(process.id, &host_id()).await?;
    if let Ok(mut stats) = live.lock() {
        *stats = LiveStats {
            process: Some((process.id, process.action.clone())),
            started: Some(Instant::now()),
            ..Default::default()
        };
    }
    let span = tracing::info_span!("process", id = process.id, repository = %repository.name);
    let _entered = span.enter();
    tracing::info!(action = %process.action, "Process started.");

    // A sign of life while the transaction runs. On SQLite the transaction
    // holds the only write lock, so there is nothing to beat against (and
    // only this host uses the file).
    let beat = (store.backend() == Backend::Postgres).then(|| {
        let (store, id) = (store.clone(), process.id);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(HEARTBEAT_EVERY);
            every.tick().await;
            loop {
                every.tick().await;
                if let Err(e) = store.heartbeat(id).await {
                    tracing::warn!(error = %e, "Could not record the process's heartbeat.");
                }
            }
        })
    });
    let request = Request {
        repository_id: repository.id,
        process_id: Some(process.id),
        catalog,
        rule_files: host
            .config
            .rule_files
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        thresholds: host.config.thresholds.clone(),
        as_of: chrono::Utc::now().date_naive(),
    };
    // A stop request abandons the transaction: dropping it rolls it back,
    // so the previous results stay.
    let result = tokio::select! {
        result = store.consolidate(&request) => Ok(result),
        reason = cancel.cancelled() => Err(reason),
    };
    if let Some(beat) = beat {
        beat.abort();
    }
    let (status, message) = match result {
        Ok(Ok(summary)) => (ProcessStatus::Succeeded, summary.line()),
        Ok(Err(e)) => (
            ProcessStatus::Failed,
            format!("consolidation failed, the previous results are kept: {e}"),
        ),
        Err(reason) => (
            ProcessStatus::Cancelled,
            format!(
                "{}; the previous consolidated results are kept",
                reason.describe()
            ),
        ),
    };
    super::processes::record_end(
        store,
        &host.config.data_dir,
        process.id,
        status,
        &BTreeMap::new(),
        Some(one_line(&message)),
    )
    .await
    .context("recording the process's end")?;
    tracing::info!(status = status.as_str(), "Process finished.");
    Ok(store.process(process.id).await?)
}
