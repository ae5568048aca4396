//! The host's side of the ABI (feature `host`): loading plugin libraries,
//! checking them, and calling connectors.
//!
//! Built-in connectors (registered with [`crate::register_builtin!`]) and
//! connectors loaded from libraries both end up as a [`ConnectorHandle`]:
//! the rest of the host never knows which it holds. Every call into a
//! connector runs on a thread of its own, so a plugin may block or start its
//! own async runtime whatever the caller is doing.

mod call;
mod check;
mod error;
mod library;
mod log;
mod plugin;
mod preflight;
mod registry;

pub use call::{MAX_BATCH_BYTES, declared, decode_batch};
pub use check::{BatchChecker, CheckLine, check_and_load, check_library, check_test};
pub use error::{CallError, LoadError, LoadProblem};
pub use plugin::{ConnectorHandle, Origin, Plugin};
pub use registry::{Registry, UnknownConnectorType};
