//! The plugin registry as the host configures it.

use connector_core::host::{Origin, Registry};
use serde::Serialize;

use crate::settings::Settings;

/// A loaded connector type, as `invhost plugin list` shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ListedConnector {
    /// Type id.
    #[serde(rename = "type")]
    pub type_id: String,
    /// Display name.
    pub display_name: String,
    /// The connector's version.
    pub version: String,
    /// The plugin that provides it.
    pub plugin: String,
    /// The plugin's version.
    pub plugin_version: String,
    /// The ABI it was loaded through.
    pub abi: String,
    /// Linked into the host.
    pub builtin: bool,
    /// Where it came from (`builtin`, a library path).
    pub source: String,
}

/// A plugin file that was not loaded, and why.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RefusedPlugin {
    /// The file.
    pub source: String,
    /// Why (a wrong ABI, a bad owner, a missing symbol...).
    pub reason: String,
}

/// What the registry holds.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Listing {
    /// Loaded connector types.
    pub connectors: Vec<ListedConnector>,
    /// Plugin files refused.
    pub refused: Vec<RefusedPlugin>,
}

/// The registry's connector types and refused files.
pub fn listing(registry: &Registry) -> Listing {
    Listing {
        connectors: registry
            .connectors()
            .map(|c| {
                let plugin = c.plugin();
                ListedConnector {
                    type_id: c.info().type_id.clone(),
                    display_name: c.info().display_name.clone(),
                    version: c.info().version.clone(),
                    plugin: plugin.meta().name.clone(),
                    plugin_version: plugin.meta().version.clone(),
                    abi: plugin.abi_version(),
                    builtin: matches!(plugin.origin(), Origin::Builtin(_)),
                    source: plugin.origin().to_string(),
                }
            })
            .collect(),
        refused: registry
            .problems()
            .iter()
            .map(|p| RefusedPlugin {
                source: p.origin.clone(),
                reason: p.problem.to_string(),
            })
            .collect(),
    }
}

/// Built-ins plus the plugins of the configured directories. A missing
/// default directory is not a problem; a missing configured one is.
pub fn registry(config: &Settings) -> Registry {
    connector_o365::link();
    let dirs: Vec<_> = config
        .plugin_dirs
        .iter()
        .filter(|dir| !config.default_plugin_dir || dir.exists())
        .cloned()
        .collect();
    Registry::load(&dirs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Guards the linker: the built-ins must survive into the binary.
    #[test]
    fn builtins_are_exactly_the_linked_connectors() {
        connector_o365::link();
        let registry = Registry::builtins();
        let types: Vec<_> = registry
            .connectors()
            .map(|c| c.info().type_id.as_str())
            .collect();
        assert_eq!(types, ["o365"]);
        assert!(registry.problems().is_empty(), "{:?}", registry.problems());
    }
}
