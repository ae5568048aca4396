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

/// Renames a repository (refused while its processes are queued or running).
pub async fn rename(store: &Store, name: &str, new_name: &str) -> Result<RepositoryRow> {
    let repository = store.repository(name).await?;
    anyhow::ensure!(
        !repository
            .name
            .eq_ignore_ascii_case(repo_store::DEFAULT_REPOSITORY),
        "'{}' is the default repository: commands use it when no --repository is given, and \
         it keeps its name",
        repository.name
    );
    store
        .rename_repository(repository.id, new_name)
        .await
        .with_context(|| format!("renaming repository '{name}'"))
}

/// Removes a repository, its rows and its process history; returns the raw
/// rows removed. The default repository stays (clear it instead).
pub async fn remove(store: &Store, name: &str) -> Result<u64> {
    let repository = store.repository(name).await?;
    anyhow::ensure!(
        !repository
            .name
            .eq_ignore_ascii_case(repo_store::DEFAULT_REPOSITORY),
        "'{}' is the default repository and stays; 'invhost repository clear' empties it",
        repository.name
    );
    store
        .remove_repository(repository.id)
        .await
        .with_context(|| format!("removing repository '{name}'"))
}
