//! `Generate Report - Basic Inventory Consolidation`: one process that
//! rebuilds a repository's consolidated data in one transaction.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{Context, Result};
use repo_store::consolidation::{Catalog, Request};
use repo_store::{ProcessRow, ProcessStatus, RepositoryRow, Store, StoreError};

use super::cancel::Cancel;
use super::execute::{Live, LiveStats, one_line};
use super::host::{Host, host_id};

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

    // A sign of life while the transaction runs.
    let beat = super::processes::keep_alive(store, process.id);
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
    // A stop request is honoured between two steps: the transaction is
    // rolled back, so the previous results stay.
    let result = store
        .consolidate_unless(&request, &|| cancel.is_cancelled())
        .await;
    drop(beat);
    let (status, message) = match (result, cancel.reason()) {
        (Ok(summary), _) => (ProcessStatus::Succeeded, summary.line()),
        (Err(StoreError::Cancelled), Some(reason)) => (
            ProcessStatus::Cancelled,
            format!(
                "{}; the previous consolidated results are kept",
                reason.describe()
            ),
        ),
        (Err(e), _) => (
            ProcessStatus::Failed,
            format!("consolidation failed, the previous results are kept: {e}"),
        ),
    };
    super::processes::record_end(
        store,
        &host.config.data_dir,
        &process,
        status,
        &BTreeMap::new(),
        Some(one_line(&message)),
    )
    .await
    .context("recording the process's end")?;
    tracing::info!(status = status.as_str(), "Process finished.");
    Ok(store.process(process.id).await?)
}
