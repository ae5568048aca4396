//! Actions as operators know them: `Sync Data - <connector name>` per
//! connector, and `Generate Report - Basic Inventory Consolidation` per
//! inventory repository.

use anyhow::{Result, bail};
use repo_store::{ConnectorRow, RepositoryType, Store};
use serde::Serialize;

/// Prefix of every connector's sync action.
pub const SYNC_DATA_PREFIX: &str = "Sync Data - ";

/// The consolidation action of every inventory repository.
pub const CONSOLIDATION: &str = "Generate Report - Basic Inventory Consolidation";

/// The sync action of a connector.
pub fn sync_action(connector: &str) -> String {
    format!("{SYNC_DATA_PREFIX}{connector}")
}

/// One action an operator can execute.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ActionInfo {
    /// Its name.
    pub name: String,
    /// `sync_data` or `consolidation`.
    pub kind: &'static str,
    /// The connector it runs (sync actions).
    pub connector: Option<String>,
    /// The connector's type (sync actions).
    pub connector_type: Option<String>,
    /// The repository it works on (consolidation: one per repository).
    pub repository: Option<String>,
}

/// What an action name stands for.
#[derive(Debug, Clone)]
pub enum Action {
    /// A connector's sync.
    Sync(ConnectorRow),
    /// The repository's consolidation.
    Consolidation,
}

/// Every action: the connectors' syncs by name, then one consolidation per
/// inventory repository.
pub async fn list(store: &Store) -> Result<Vec<ActionInfo>> {
    let mut actions: Vec<ActionInfo> = store
        .connectors()
        .await?
        .into_iter()
        .map(|c| ActionInfo {
            name: sync_action(&c.name),
            kind: "sync_data",
            connector: Some(c.name),
            connector_type: Some(c.connector_type),
            repository: None,
        })
        .collect();
    actions.extend(
        store
            .repositories()
            .await?
            .into_iter()
            .filter(|r| r.repository_type == RepositoryType::Inventory)
            .map(|r| ActionInfo {
                name: CONSOLIDATION.to_owned(),
                kind: "consolidation",
                connector: None,
                connector_type: None,
                repository: Some(r.name),
            }),
    );
    Ok(actions)
}

/// What an action name stands for, or an error listing the actions.
pub async fn resolve(store: &Store, action: &str) -> Result<Action> {
    if action == CONSOLIDATION {
        return Ok(Action::Consolidation);
    }
    let connectors = store.connectors().await?;
    let found = action
        .strip_prefix(SYNC_DATA_PREFIX)
        .and_then(|name| connectors.iter().find(|c| c.name == name));
    match found {
        Some(connector) => Ok(Action::Sync(connector.clone())),
        None => {
            let mut known: Vec<String> = connectors
                .iter()
                .map(|c| format!("'{}'", sync_action(&c.name)))
                .collect();
            known.push(format!("'{CONSOLIDATION}'"));
            bail!("unknown action '{action}' (known: {})", known.join(", "))
        }
    }
}
