//! Configuration: `invhost.toml`, `INVHOST_*` variables and flags, in that
//! order of increasing precedence.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use repo_store::consolidation::Thresholds;
use serde::Deserialize;

use crate::cli::GlobalArgs;

/// The plugin directory of a package install, searched when no plugin
/// directory is configured.
pub const SYSTEM_PLUGIN_DIR: &str = "/usr/lib/invhost/plugins";

/// What `invhost.toml` may say.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Repository database URL.
    pub database: Option<String>,
    /// Plugin directories.
    #[serde(default)]
    pub plugin_dirs: Vec<PathBuf>,
    /// Key file for connector secrets.
    pub secret_key_file: Option<PathBuf>,
    /// How consolidation names products and judges usage.
    #[serde(default)]
    pub consolidation: ConsolidationFile,
    /// Seconds without a sign of life after which other hosts take a
    /// running process's host for dead (default 60).
    pub heartbeat_timeout_secs: Option<u64>,
    /// Where `invhost serve` serves the HTTP API (default 127.0.0.1:8080;
    /// `off` for none).
    pub listen: Option<String>,
    /// TLS certificate chain (PEM) for the HTTP API.
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM) for the HTTP API.
    pub tls_key: Option<PathBuf>,
}

/// The `[consolidation]` table of `invhost.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsolidationFile {
    /// The operator's product rule files, before the default catalog.
    #[serde(default)]
    pub rule_files: Vec<PathBuf>,
    /// Activity within this many days is Used (default 30).
    pub used_days: Option<u32>,
    /// Activity within this many days is Rarely Used (default 90).
    pub rarely_used_days: Option<u32>,
}

pub use host_engine::Settings as Config;

/// Reads the configuration for these flags.
pub fn load(args: &GlobalArgs) -> Result<Config> {
    let file_path = args
        .config
        .clone()
        .or_else(|| std::env::var_os("INVHOST_CONFIG").map(PathBuf::from));
    let file = match &file_path {
        Some(path) => read_file(path)?,
        None => match dirs::config_dir().map(|d| d.join("invhost").join("invhost.toml")) {
            Some(path) if path.exists() => read_file(&path)?,
            _ => ConfigFile::default(),
        },
    };
    let data_dir = std::env::var_os("INVHOST_DATA_DIR")
        .map(PathBuf::from)
        .or_else(|| dirs::data_dir().map(|d| d.join("invhost")))
        .context("cannot find a data directory: set INVHOST_DATA_DIR")?;

    let mut plugin_dirs = file.plugin_dirs;
    // Without any directory given: the data directory's `plugins`, then the
    // system's (each only when it exists).
    if let Some(dirs) = std::env::var_os("INVHOST_PLUGIN_DIRS") {
        plugin_dirs.extend(std::env::split_paths(&dirs).filter(|p| !p.as_os_str().is_empty()));
    }
    plugin_dirs.extend(args.plugin_dirs.iter().cloned());
    let default_plugin_dir = plugin_dirs.is_empty();
    if default_plugin_dir {
        plugin_dirs.push(data_dir.join("plugins"));
        // Where the package installs plugins (csv-inventory).
        plugin_dirs.push(PathBuf::from(SYSTEM_PLUGIN_DIR));
    }

    let database = args
        .database
        .clone()
        .or_else(|| std::env::var("INVHOST_DATABASE_URL").ok())
        .or(file.database)
        .unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                data_dir.join("invhost.db").display()
            )
        });
    let secret_key_file = std::env::var_os("INVHOST_SECRET_KEY_FILE")
        .map(PathBuf::from)
        .or(file.secret_key_file)
        .unwrap_or_else(|| data_dir.join("secret.key"));
    // Rule files: the file's, then INVHOST_RULE_FILES (a path list).
    let mut rule_files = file.consolidation.rule_files;
    if let Some(files) = std::env::var_os("INVHOST_RULE_FILES") {
        rule_files.extend(std::env::split_paths(&files).filter(|p| !p.as_os_str().is_empty()));
    }
    let defaults = Thresholds::default();
    let thresholds = Thresholds {
        used_days: file.consolidation.used_days.unwrap_or(defaults.used_days),
        rarely_used_days: file
            .consolidation
            .rarely_used_days
            .unwrap_or(defaults.rarely_used_days),
    };
    if let Err(e) = thresholds.validate() {
        let source = file_path
            .as_ref()
            .map_or("invhost.toml".into(), |p| p.display().to_string());
        anyhow::bail!("invalid configuration file {source}: [consolidation] {e}");
    }
    let heartbeat_timeout = match std::env::var("INVHOST_HEARTBEAT_TIMEOUT") {
        Ok(secs) => secs
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|s| *s > 0)
            .map(Duration::from_secs)
            .with_context(|| {
                format!(
                    "INVHOST_HEARTBEAT_TIMEOUT must be a whole number of seconds above 0, not '{secs}'"
                )
            })?,
        Err(_) => file
            .heartbeat_timeout_secs
            .map_or(Config::HEARTBEAT_TIMEOUT, Duration::from_secs),
    };
    Ok(Config {
        heartbeat_timeout,
        listen: file.listen,
        tls_cert: file.tls_cert,
        tls_key: file.tls_key,
        data_dir,
        plugin_dirs,
        default_plugin_dir,
        database,
        secret_key_file,
        rule_files,
        thresholds,
    })
}

fn read_file(path: &Path) -> Result<ConfigFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
    parse(&text).map_err(|e| anyhow::anyhow!("invalid configuration file {}: {e}", path.display()))
}

/// Reads the text of an `invhost.toml`; the error is one line that never
/// quotes the file.
pub fn parse(text: &str) -> Result<ConfigFile, String> {
    toml::from_str(text).map_err(|e| toml_error(text, &e))
}

/// A TOML error as line and message only: toml's own text quotes the line,
/// which may hold a password or a secret.
pub fn toml_error(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim().replace('\n', " ");
    match error.span() {
        Some(span) => {
            // Bytes, not a `str` slice: a span need not fall on a character.
            let line = text.as_bytes()[..span.start.min(text.len())]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1;
            format!("line {line}: {message}")
        }
        None => message,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_shipped_server_example_parses() {
        let text = include_str!("../../packaging/invhost.toml");
        let file: super::ConfigFile = toml::from_str(text).unwrap();
        assert_eq!(file.heartbeat_timeout_secs, Some(60));
    }
}
