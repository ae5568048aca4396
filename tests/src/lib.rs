//! The integration suite lives in `main.rs` and its modules.
