//! What the engine needs to know of its configuration. The faces (the
//! command line, the service) read `invhost.toml`, the environment and
//! their flags, and hand the engine this.

use std::path::PathBuf;
use std::time::Duration;

use repo_store::consolidation::Thresholds;

/// The configuration in force.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where invhost keeps its files (the default database, key, plugins).
    pub data_dir: PathBuf,
    /// Plugin directories, in search order.
    pub plugin_dirs: Vec<PathBuf>,
    /// Whether `plugin_dirs` is only the default (missing is then fine).
    pub default_plugin_dir: bool,
    /// Repository database URL.
    pub database: String,
    /// Key file for connector secrets.
    pub secret_key_file: PathBuf,
    /// The operator's product rule files, in precedence order.
    pub rule_files: Vec<PathBuf>,
    /// Usage thresholds.
    pub thresholds: Thresholds,
    /// A running process whose host shows no sign of life for this long is
    /// taken for dead by the other hosts (its own machine's hosts ask
    /// whether its process still exists).
    pub heartbeat_timeout: Duration,
    /// Where `invhost serve` serves the HTTP API (`HOST:PORT`, or `off`);
    /// its flag overrides this.
    pub listen: Option<String>,
    /// TLS certificate chain and key (PEM) for the HTTP API.
    pub tls_cert: Option<PathBuf>,
    /// See [`Settings::tls_cert`].
    pub tls_key: Option<PathBuf>,
}

impl Settings {
    /// The default of [`Settings::heartbeat_timeout`].
    pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(60);

    /// How often a running process shows a sign of life: a quarter of the
    /// timeout, at least every second.
    pub fn heartbeat_every(&self) -> Duration {
        (self.heartbeat_timeout / 4).max(Duration::from_secs(1))
    }
}
