//! Actions as operators know them: `<action name> - <connector name>` for
//! every action a connector's type declares but Test (so `Sync Data -
//! <connector name>` for every connector), and `Generate Report - Basic
//! Inventory Consolidation` per inventory repository.

use anyhow::{Result, bail};
use connector_core::{ACTION_SYNC_DATA, ACTION_TEST, RecordMode};
use repo_store::{ConnectorRow, RepositoryType, Store};
use serde::Serialize;

use crate::host::Host;

/// Prefix of every connector's sync action.
pub const SYNC_DATA_PREFIX: &str = "Sync Data - ";

/// The consolidation action of every inventory repository.
pub const CONSOLIDATION: &str = "Generate Report - Basic Inventory Consolidation";

/// The sync action of a connector.
pub fn sync_action(connector: &str) -> String {
    format!("{SYNC_DATA_PREFIX}{connector}")
}

/// The operator's name of a connector's action.
pub fn action_name(action: &connector_core::Action, connector: &str) -> String {
    format!("{} - {connector}", action.name)
}

/// One action an operator can execute.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ActionInfo {
    /// Its name.
    pub name: String,
    /// The connector action's id (`sync_data`, `sync_usage_data`, ...), or
    /// `consolidation`.
    pub kind: String,
    /// What its records mean: `sync` (published as a sync) or `none`
    /// (it writes nothing); none for the consolidation.
    pub records: Option<String>,
    /// What it does, as its connector says.
    pub description: Option<String>,
    /// The connector it runs (connector actions).
    pub connector: Option<String>,
    /// The connector's type (connector actions).
    pub connector_type: Option<String>,
    /// The repository it works on (consolidation: one per repository).
    pub repository: Option<String>,
}

/// What an action name stands for.
#[derive(Debug, Clone)]
pub enum Action {
    /// An action of a connector (its sync, or another it declares).
    Connector {
        /// The connector.
        connector: Box<ConnectorRow>,
        /// The action as its type declares it.
        action: connector_core::Action,
    },
    /// The repository's consolidation.
    Consolidation,
}

/// The actions a connector offers operators: what its type declares but
/// Test; only Sync Data when its plugin is not loaded here.
pub fn connector_actions(host: &Host, connector: &ConnectorRow) -> Vec<connector_core::Action> {
    match host.registry().connector(&connector.connector_type) {
        Some(handle) => handle
            .info()
            .actions
            .iter()
            .filter(|a| a.id != ACTION_TEST)
            .cloned()
            .collect(),
        None => vec![connector_core::Action::sync_data()],
    }
}

/// The connector action a process of `connector` named `name` runs; `None`
/// when its type no longer declares it.
pub fn connector_action(
    host: &Host,
    connector: &ConnectorRow,
    name: &str,
) -> Option<connector_core::Action> {
    connector_actions(host, connector)
        .into_iter()
        .find(|a| action_name(a, &connector.name) == name)
        .or_else(|| (name == sync_action(&connector.name)).then(connector_core::Action::sync_data))
}

/// Every action: each connector's, then one consolidation per inventory
/// repository.
pub async fn list(host: &Host, store: &Store) -> Result<Vec<ActionInfo>> {
    let mut actions = Vec::new();
    for c in store.connectors().await? {
        for action in connector_actions(host, &c) {
            actions.push(ActionInfo {
                name: action_name(&action, &c.name),
                kind: action.id.clone(),
                records: Some(action.record_mode().to_string()),
                description: (!action.description.is_empty()).then(|| action.description.clone()),
                connector: Some(c.name.clone()),
                connector_type: Some(c.connector_type.clone()),
                repository: None,
            });
        }
    }
    actions.extend(
        store
            .repositories()
            .await?
            .into_iter()
            .filter(|r| r.repository_type == RepositoryType::Inventory)
            .map(|r| ActionInfo {
                name: CONSOLIDATION.to_owned(),
                kind: "consolidation".into(),
                records: None,
                description: None,
                connector: None,
                connector_type: None,
                repository: Some(r.name),
            }),
    );
    Ok(actions)
}

/// What an action name stands for, or an error listing the actions.
pub async fn resolve(host: &Host, store: &Store, action: &str) -> Result<Action> {
    if action == CONSOLIDATION {
        return Ok(Action::Consolidation);
    }
    let connectors = store.connectors().await?;
    for connector in &connectors {
        if let Some(found) = connector_action(host, connector, action) {
            return Ok(Action::Connector {
                connector: Box::new(connector.clone()),
                action: found,
            });
        }
    }
    let mut known: Vec<String> = connectors
        .iter()
        .flat_map(|c| {
            connector_actions(host, c)
                .into_iter()
                .map(|a| format!("'{}'", action_name(&a, &c.name)))
                .collect::<Vec<_>>()
        })
        .collect();
    known.push(format!("'{CONSOLIDATION}'"));
    bail!("unknown action '{action}' (known: {})", known.join(", "))
}

/// Whether a connector action writes records.
pub fn writes_records(action: &connector_core::Action) -> bool {
    action.record_mode() == RecordMode::Sync
}

/// Whether `action` is the connector's Sync Data.
pub fn is_sync_data(action: &connector_core::Action) -> bool {
    action.id == ACTION_SYNC_DATA
}
