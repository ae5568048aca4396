//! The registry of built-in connectors, filled by [`crate::register_builtin!`].

use super::types::PluginDescriptor;

/// A built-in plugin: a descriptor linked into the host binary.
#[derive(Debug)]
pub struct BuiltinPlugin {
    /// The crate that registered it.
    pub name: &'static str,
    /// Its descriptor, the same shape a plugin library exports.
    pub descriptor: &'static PluginDescriptor,
}

impl BuiltinPlugin {
    /// Used by [`crate::register_builtin!`].
    pub const fn new(name: &'static str, descriptor: &'static PluginDescriptor) -> Self {
        BuiltinPlugin { name, descriptor }
    }

    /// Every built-in linked into this binary.
    pub fn all() -> impl Iterator<Item = &'static BuiltinPlugin> {
        inventory::iter::<BuiltinPlugin>.into_iter()
    }
}

inventory::collect!(BuiltinPlugin);
