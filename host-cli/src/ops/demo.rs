//! `invhost demo`: the whole product against the built-in Graph simulator,
//! into a fresh SQLite repository, with nothing set up.

use std::path::PathBuf;

use anyhow::{Context, Result};
use connector_core::Parameters;
use graph_simulator::{Simulator, SimulatorConfig};
use serde_json::json;

use super::host::Host;
use crate::config::Config;

/// Name of the demo's connector.
pub const CONNECTOR: &str = "Contoso (simulated)";

/// The demo's own configuration: a fresh folder under the data directory,
/// so the operator's real repository and key are never touched.
pub fn config(base: &Config) -> Result<Config> {
    let dir: PathBuf = base.data_dir.join("demo");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .with_context(|| format!("cannot reset the demo folder {}", dir.display()))?;
    }
    repo_store::private_dir(&dir)
        .with_context(|| format!("cannot create the demo folder {}", dir.display()))?;
    Ok(Config {
        database: format!("sqlite://{}?mode=rwc", dir.join("demo.db").display()),
        secret_key_file: dir.join("secret.key"),
        data_dir: dir,
        plugin_dirs: base.plugin_dirs.clone(),
        default_plugin_dir: base.default_plugin_dir,
        rule_files: base.rule_files.clone(),
        thresholds: base.thresholds.clone(),
        heartbeat_timeout: base.heartbeat_timeout,
        listen: None,
        tls_cert: None,
        tls_key: None,
    })
}

/// Starts the simulator with the demo tenant.
pub async fn start_simulator(users: usize, devices: usize) -> Result<Simulator> {
    let config = SimulatorConfig {
        users,
        devices,
        seed: 2026,
        ..SimulatorConfig::default()
    };
    Simulator::start(config)
        .await
        .context("starting the Graph simulator on 127.0.0.1")
}

/// Adds the Microsoft 365 connector pointing at the simulator.
pub async fn add_connector(
    host: &Host,
    store: &repo_store::Store,
    simulator: &Simulator,
) -> Result<()> {
    let parameters = Parameters::from_json(json!({
        "cloud_instance": simulator.base_url(),
        "tenant_id": simulator.tenant_id(),
        "client_id": simulator.client_id(),
        "client_secret": simulator.client_secret(),
    }))
    .map_err(anyhow::Error::msg)?;
    super::connectors::create(
        host,
        store,
        connector_o365::CONNECTOR_TYPE,
        CONNECTOR,
        parameters,
        // Run Consolidation Reports: the sync queues the consolidation.
        true,
    )
    .await?;
    Ok(())
}
