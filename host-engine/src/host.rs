//! What every command that touches the repository needs: the store, the
//! secret key, the plugin registry, and who this host is.

use std::path::{Path, PathBuf};
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
        // A read-only copy has no processes of this host to recover.
        if !store.read_only() {
            super::processes::recover(&store, &self.config.data_dir, self.config.heartbeat_timeout)
                .await
                .context("checking for interrupted processes")?;
        }
        Ok(store)
    }

    /// The product rule catalog: the operator's rule files, then the
    /// default. A file that does not parse is refused as `file:line: reason`.
    pub fn catalog(&self) -> Result<Catalog> {
        Catalog::load(&self.config.rule_files).map_err(|e| anyhow::anyhow!("invalid rule file {e}"))
    }

    /// The key for connector secrets: `INVHOST_SECRET_KEY`, else the key
    /// file. A missing file is an error saying what to do; reading never
    /// creates a key.
    pub fn key(&self) -> Result<SecretKey> {
        if let Some(key) = SecretKey::from_env() {
            return Ok(key?);
        }
        let path = &self.config.secret_key_file;
        if path.exists() {
            return Ok(SecretKey::load(path)?);
        }
        if self.key_path_is_named() {
            anyhow::bail!(
                "there is no secret key file at {} (the configured secret_key_file or \
                 INVHOST_SECRET_KEY_FILE): check the path, or create the key there with \
                 'invhost secrets new-key'; invhost creates a key by itself only in its data \
                 directory ({})",
                path.display(),
                self.default_key_path().display()
            );
        }
        anyhow::bail!(
            "the secret key file {} is missing: restore it from a backup (or set \
             INVHOST_SECRET_KEY); if it is lost, 'invhost secrets new-key' starts a new key and \
             each connector's secrets are entered again with 'invhost connector edit NAME --secret ...'",
            path.display()
        )
    }

    /// The key to encrypt new secrets with: [`Host::key`], or, when there is
    /// none yet, a new key file in the data directory, but only while no
    /// connector holds secrets encrypted with a key that was lost.
    pub async fn key_for_new_secrets(&self, store: &Store) -> Result<SecretKey> {
        let path = &self.config.secret_key_file;
        if SecretKey::from_env().is_some() || path.exists() || self.key_path_is_named() {
            return self.key();
        }
        let holders = store.connectors().await?;
        if !holders.is_empty() {
            return self.key();
        }
        Ok(SecretKey::create(path)?)
    }

    /// Starts a new key (`invhost secrets new-key`) where the key file is
    /// configured; never over an existing one. Returns the connectors whose
    /// secrets must now be entered again.
    pub async fn new_key(&self, store: &Store) -> Result<Vec<String>> {
        anyhow::ensure!(
            SecretKey::from_env().is_none(),
            "INVHOST_SECRET_KEY is set: the key comes from it, not from a file"
        );
        let path = &self.config.secret_key_file;
        anyhow::ensure!(
            !path.exists(),
            "{} exists already: invhost never replaces a key (to move the secrets to a new key, \
             move this file away, run new-key, then 'invhost secrets rekey --old-key-file OLD')",
            path.display()
        );
        let key = SecretKey::create(path)?;
        Ok(store
            .connectors()
            .await?
            .into_iter()
            .filter(|c| key.decrypt(&c.secrets).is_err())
            .map(|c| c.name)
            .collect())
    }

    /// Re-encrypts every secret the key in `old_key_file` decrypts under the
    /// current key (`invhost secrets rekey`).
    pub async fn rekey(&self, store: &Store, old_key_file: &Path) -> Result<repo_store::Rekeyed> {
        let old = SecretKey::load(old_key_file)?;
        let new = self.key()?;
        Ok(store.rekey(&old, &new).await?)
    }

    fn default_key_path(&self) -> PathBuf {
        self.config.data_dir.join("secret.key")
    }

    /// Whether the key file is one an operator named (not the data
    /// directory's): a key is never created there, a typo must not become
    /// a new key.
    fn key_path_is_named(&self) -> bool {
        self.config.secret_key_file != self.default_key_path()
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
