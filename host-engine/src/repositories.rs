//! Repositories.

use anyhow::{Context, Result};
use repo_store::{RepositoryRow, Store};

/// Every repository with its raw row counts.
pub async fn list(store: &Store) -> Result<Vec<(RepositoryRow, u64)>> {
    let mut out = Vec::new();
    for repository in store.repositories().await? {
        let rows = store.raw_counts(repository.id).await?.values().sum();
        out.push((repository, rows));
    }
    Ok(out)
}

/// Adds a repository.
pub async fn add(store: &Store, name: &str) -> Result<RepositoryRow> {
    anyhow::ensure!(!name.trim().is_empty(), "a repository needs a name");
    Ok(store.create_repository(name.trim()).await?)
}

/// Removes every raw row of a repository; returns how many.
pub async fn clear(store: &Store, name: &str) -> Result<u64> {
    let repository = store.repository(name).await?;
    store
        .clear_repository(repository.id)
        .await
        .with_context(|| format!("clearing repository '{name}'"))
}
