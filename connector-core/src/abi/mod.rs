//! The stable C ABI between the host and connector plugins, version 1.
//!
//! Only `#[repr(C)]` structs of integers, pointers and `extern "C"` function
//! pointers cross the boundary; everything with meaning is UTF-8 JSON passed
//! as pointer + length ([`messages`]). `ABI.md` beside this crate documents
//! it for authors in any language, and `include/invhost_plugin.h` is the C
//! header with the same layout.
//!
//! Authors in Rust never touch this module directly: [`crate::export_plugin!`]
//! and [`crate::register_builtin!`] generate the descriptor and its functions.

mod builtin;
#[doc(hidden)]
pub mod export;
mod forward_log;
pub mod messages;
mod types;

pub use builtin::BuiltinPlugin;
pub use types::*;
