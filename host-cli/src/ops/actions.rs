//! Actions as operators know them: `Sync Data - <connector name>`.

use anyhow::{Result, bail};
use repo_store::{ConnectorRow, Store};
use serde::Serialize;

/// Prefix of every connector's sync action.
pub const SYNC_DATA_PREFIX: &str = "Sync Data - ";

/// The sync action of a connector.
pub fn sync_action(connector: &str) -> String {
    format!("{SYNC_DATA_PREFIX}{connector}")
}

/// One action an operator can execute.
#[derive(Debug, Clone, Serialize)]
pub struct ActionInfo {
    /// Its name.
    pub name: String,
    /// `sync_data`.
    pub kind: &'static str,
    /// The connector it runs.
    pub connector: String,
    /// The connector's type.
    pub connector_type: String,
}

/// Every action, by name.
pub async fn list(store: &Store) -> Result<Vec<ActionInfo>> {
    Ok(store
        .connectors()
        .await?
        .into_iter()
        .map(|c| ActionInfo {
            name: sync_action(&c.name),
            kind: "sync_data",
            connector: c.name,
            connector_type: c.connector_type,
        })
        .collect())
}

/// The connector behind an action name, or an error listing the actions.
pub async fn resolve(store: &Store, action: &str) -> Result<ConnectorRow> {
    let connectors = store.connectors().await?;
    let found = action
        .strip_prefix(SYNC_DATA_PREFIX)
        .and_then(|name| connectors.iter().find(|c| c.name == name));
    match found {
        Some(connector) => Ok(connector.clone()),
        None => {
            let known: Vec<String> = connectors
                .iter()
                .map(|c| format!("'{}'", sync_action(&c.name)))
                .collect();
            if known.is_empty() {
                bail!(
                    "unknown action '{action}': no connector is configured yet (invhost connector add)"
                )
            }
            bail!("unknown action '{action}' (known: {})", known.join(", "))
        }
    }
}
