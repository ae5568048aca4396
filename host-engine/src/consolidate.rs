//! `Generate Report - Basic Inventory Consolidation`: one process that
//! rebuilds a repository's consolidated data in one transaction.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use repo_store::consolidation::{Catalog, Request};
use repo_store::{ProcessRow, ProcessStatus, RepositoryRow, Store, StoreError};

use super::cancel::Cancel;
use super::execute::one_line;
use super::host::Host;

/// Runs a claimed consolidation process to its end and records it.
pub async fn run(
    host: &Host,
    store: &Store,
    process: &ProcessRow,
    repository: &RepositoryRow,
    catalog: &Catalog,
    cancel: &std::sync::Arc<Cancel>,
) -> Result<ProcessRow> {
    // A sign of life while the transaction runs.
    let beat = super::processes::keep_alive(store, process.id, host.config.heartbeat_every());
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
        process,
        status,
        &BTreeMap::new(),
        Some(one_line(&message)),
    )
    .await
    .context("recording the process's end")?;
    tracing::info!(status = status.as_str(), "Process finished.");
    Ok(store.process(process.id).await?)
}
