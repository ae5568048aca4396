//! Consolidation: raw rows from every connector of a repository become
//! devices, users, products, usage and licences an operator can act on
//! (docs/CONSOLIDATION.md says how).
//!
//! - [`catalog`]: the product rules (a shipped default plus the operator's
//!   own files) that name raw application titles.
//! - [`Store::consolidate`](crate::Store::consolidate) rebuilds a
//!   repository's consolidated tables in one transaction.
//! - The views read them: product usage, licences, the reclaim list, and
//!   the raw rows and rule behind any consolidated row.

pub mod catalog;
mod run;
mod views;

pub use catalog::{Catalog, CatalogError, Product};
pub(crate) use run::bind as bind_sql;
pub use run::{CATEGORIES, Request, Summary, Thresholds, category};
pub use views::{
    DeviceExplain, LicenceSummary, ProductExplain, ProductUsage, Reclaim, RunInfo, licence_totals,
};
