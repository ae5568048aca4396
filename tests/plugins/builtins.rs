//! The built-in registry: exactly the connector crates a binary links.

use connector_core::host::Registry;

#[test]
fn builtins_are_the_linked_connector_crates() {
    connector_o365::link();
    let registry = Registry::builtins();
    let types: Vec<&str> = registry
        .connectors()
        .map(|c| c.info().type_id.as_str())
        .collect();
    assert_eq!(types, ["o365"]);
    assert!(registry.problems().is_empty());
}
