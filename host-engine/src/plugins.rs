//! The plugin registry as the host configures it.

use connector_core::host::Registry;

use crate::settings::Settings;

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
