//! Consolidation: raw rows from every connector of a repository become
//! products and usage an operator can act on.
//!
//! Built so far: the product rule [`catalog`] (a shipped default plus the
//! operator's own files) that normalises raw application titles.

pub mod catalog;

pub use catalog::{Catalog, CatalogError, Product};
