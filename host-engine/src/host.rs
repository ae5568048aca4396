//! What every command that touches the repository needs: the store, the
//! secret key, the plugin registry, and who this host is.

use std::sync::OnceLock;

use anyhow::{Context, Result};
use connector_core::host::Registry;
use repo_store::consolidation::Catalog;
use repo_store::{SecretKey, Store};

use crate::settings::Settings;

/// The configured host.
pub struct Host {
    /// The configuration in force.
    pub config: Settings,
    registry: OnceLock<Registry>,
}

impl Host {
    /// A host for this configuration; nothing is opened yet.
    pub fn new(config: Settings) -> Self {
        Host {
            config,
            registry: OnceLock::new(),
        }
    }

    /// Built-ins plus the plugins of the configured directories, loaded once.
    pub fn registry(&self) -> &Registry {
        self.registry
            .get_or_init(|| super::plugins::registry(&self.config))
    }

    /// Opens the repository database, migrating it; records the process
    /// ends the journal kept, marks processes of dead hosts failed and drops
    /// the staging tables of syncs that will never publish.
    pub async fn store(&self) -> Result<Store> {
        let store = Store::connect(&self.config.database).await?;
        super::processes::recover(&store, &self.config.data_dir, self.config.heartbeat_timeout)
            .await
            .context("checking for interrupted processes")?;
        Ok(store)
    }

    /// The product rule catalog: the operator's rule files, then the
    /// default. A file that does not parse is refused as `file:line: reason`.
    pub fn catalog(&self) -> Result<Catalog> {
        Catalog::load(&self.config.rule_files).map_err(|e| anyhow::anyhow!("invalid rule file {e}"))
    }

    /// The key for connector secrets.
    pub fn key(&self) -> Result<SecretKey> {
        Ok(SecretKey::resolve(&self.config.secret_key_file)?)
    }
}

/// `hostname:pid` of this process, as recorded on the processes it runs.
pub fn host_id() -> String {
    format!("{}:{}", hostname(), std::process::id())
}

/// This machine's name.
pub fn hostname() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}
