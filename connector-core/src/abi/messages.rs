//! The JSON messages of ABI v1, as serde types.

use serde::{Deserialize, Serialize};

use crate::connector::{ConnectorInfo, RunOptions};
use crate::schema::Parameters;

/// What `describe` returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginMeta {
    /// The plugin's name (usually its crate or library name).
    pub name: String,
    /// The plugin's version.
    pub version: String,
    /// The SDK version it was built with (free text for non-Rust plugins).
    #[serde(default)]
    pub sdk_version: String,
    /// ABI major it speaks (must equal the descriptor's).
    pub abi_major: u16,
    /// ABI minor it speaks.
    pub abi_minor: u16,
    /// The connector types it provides.
    pub connectors: Vec<ConnectorInfo>,
}

/// What `test` takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestRequest {
    /// Which of the plugin's connector types.
    pub connector_type: String,
    /// The configuration to test.
    pub parameters: Parameters,
}

/// What `run` takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRequest {
    /// Which of the plugin's connector types.
    pub connector_type: String,
    /// Action id (`sync_data`).
    pub action: String,
    /// The configuration.
    pub parameters: Parameters,
    /// Options the host decided.
    #[serde(default)]
    pub options: RunOptions,
}
