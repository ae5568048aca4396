//! All connectors the host can use: built-ins plus libraries from the plugin directories.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::abi::BuiltinPlugin;

use super::error::{LoadError, LoadProblem};
use super::plugin::{ConnectorHandle, Plugin};

/// The host's connectors by type id, and the plugins it refused.
#[derive(Debug, Default)]
pub struct Registry {
    plugins: Vec<Arc<Plugin>>,
    connectors: BTreeMap<String, ConnectorHandle>,
    problems: Vec<LoadError>,
}

impl Registry {
    /// Every built-in linked into this binary.
    pub fn builtins() -> Self {
        let mut registry = Registry::default();
        let mut builtins: Vec<_> = BuiltinPlugin::all().collect();
        builtins.sort_by_key(|b| b.name);
        for builtin in builtins {
            match Plugin::builtin(builtin) {
                Ok(plugin) => {
                    // A duplicate type is recorded in `problems`.
                    let _ = registry.add(plugin);
                }
                Err(e) => registry.problems.push(e),
            }
        }
        registry
    }

    /// Built-ins plus every library (`*.so`, `*.dylib` or `*.dll`, by
    /// platform) in `dirs`, in name order. A refused file is recorded in
    /// [`Registry::problems`]; the others still load.
    pub fn load(dirs: &[PathBuf]) -> Self {
        let mut registry = Self::builtins();
        let mut seen = BTreeSet::new();
        for dir in dirs {
            for path in registry.library_files(dir) {
                let key = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
                if seen.insert(key) {
                    // A refusal is recorded in `problems`; the others still load.
                    let _ = registry.load_file(&path);
                }
            }
        }
        registry
    }

    fn library_files(&mut self, dir: &Path) -> Vec<PathBuf> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                self.problems.push(LoadError {
                    origin: dir.display().to_string(),
                    problem: LoadProblem::Unreadable(format!(
                        "cannot read the plugin directory: {e}"
                    )),
                });
                return Vec::new();
            }
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .is_some_and(|x| x == std::env::consts::DLL_EXTENSION)
            })
            .collect();
        files.sort();
        files
    }

    /// Loads one library file into the registry; a refusal is recorded and returned.
    pub fn load_file(&mut self, path: &Path) -> Result<(), LoadError> {
        match Plugin::load(path) {
            Ok(plugin) => self.add(plugin),
            Err(e) => {
                tracing::warn!(error = %e, "Refused a plugin.");
                self.problems.push(e.clone());
                Err(e)
            }
        }
    }

    /// Adds a plugin's connectors; a type already provided is refused (and recorded).
    fn add(&mut self, plugin: Arc<Plugin>) -> Result<(), LoadError> {
        let mut refused = None;
        for handle in plugin.connectors() {
            let type_id = handle.info().type_id.clone();
            if let Some(existing) = self.connectors.get(&type_id) {
                let error = LoadError {
                    origin: plugin.origin().to_string(),
                    problem: LoadProblem::DuplicateType {
                        type_id,
                        provider: existing.plugin().origin().to_string(),
                    },
                };
                refused.get_or_insert(error.clone());
                self.problems.push(error);
                continue;
            }
            self.connectors.insert(type_id, handle);
        }
        self.plugins.push(plugin);
        refused.map_or(Ok(()), Err)
    }

    /// The connector of this type.
    pub fn connector(&self, type_id: &str) -> Option<&ConnectorHandle> {
        self.connectors.get(type_id)
    }

    /// The connector of this type, or an error listing the known types.
    pub fn require(&self, type_id: &str) -> Result<&ConnectorHandle, UnknownConnectorType> {
        self.connector(type_id).ok_or_else(|| UnknownConnectorType {
            type_id: type_id.to_owned(),
            known: self.connectors.keys().cloned().collect(),
        })
    }

    /// Every connector, by type id.
    pub fn connectors(&self) -> impl Iterator<Item = &ConnectorHandle> {
        self.connectors.values()
    }

    /// Every plugin that loaded, built-ins first.
    pub fn plugins(&self) -> &[Arc<Plugin>] {
        &self.plugins
    }

    /// The plugins (or connector types) that were refused, and why.
    pub fn problems(&self) -> &[LoadError] {
        &self.problems
    }
}

/// A connector type no loaded plugin provides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownConnectorType {
    /// The type asked for.
    pub type_id: String,
    /// The types the host has.
    pub known: Vec<String>,
}

impl std::fmt::Display for UnknownConnectorType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unknown connector type '{}' (known: {})",
            self.type_id,
            self.known.join(", ")
        )
    }
}

impl std::error::Error for UnknownConnectorType {}
