//! The built-in registry of this test binary, which links no connector crate.

use connector_core::host::Registry;

#[test]
fn a_binary_linking_no_connector_has_no_builtins() {
    let registry = Registry::builtins();
    assert_eq!(registry.connectors().count(), 0);
    assert!(registry.problems().is_empty());
}
