//! What the engine needs to know of its configuration. The faces (the
//! command line, the service) read `invhost.toml`, the environment and
//! their flags, and hand the engine this.

use std::path::PathBuf;

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
}
