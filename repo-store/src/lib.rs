//! The invhost inventory repository: SeaORM over SQLite (embedded default)
//! or PostgreSQL (server deployments, several hosts).
//!
//! - [`Store::connect`] opens a database, applies the migrations and makes
//!   sure the `Default Inventory` repository exists.
//! - [`SyncWriter`] stages a sync's batches in tables of its own (chunked
//!   multi-row inserts) and publishes the run in one transaction when it
//!   succeeds: readers see the previous sync or this one, never a mix.
//! - [`SecretKey`] encrypts connector secrets at rest.
//! - The `queries` and `mutations` of [`Store`] serve the operator's views.

mod accounts;
mod connect;
pub mod consolidation;
mod entities;
mod error;
pub mod fold;
mod migration;
mod mutations;
mod queries;
mod queue;
mod raw;
mod schedules;
mod secrets;
mod values;
mod writer;

pub use accounts::AuditRecord;

/// Creates `dir` and its missing parents as folders only their owner may
/// enter (0700 whatever the umask); an existing folder is left as it is.
pub fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}
pub use connect::{Backend, Store, StoreOptions, redact_url};
pub use entities::{
    api_token::Model as TokenRow, audit_entry::Model as AuditRow, connector::Model as ConnectorRow,
    process::Model as ProcessRow, repository::Model as RepositoryRow,
    schedule::Model as ScheduleRow, user::Model as UserRow,
};
pub use error::StoreError;
pub use mutations::{NewConnector, NewProcess, Rekeyed};
pub use queries::{Page, ProcessFilter, ProcessStats, RawQuery};
pub use queue::CancelOutcome;
pub use schedules::{Firing, NewSchedule, ScheduleChange};

pub use raw::{RawTable, raw_table};
pub use secrets::SecretKey;
pub use values::{ProcessStatus, RepositoryType, Role, Trigger};
pub use writer::{
    ProcessEnd, RunOutcome, STAGE_PREFIX, SyncReport, SyncWriter, WriterConfig, stage_table_name,
};

/// The name of the repository every store has.
pub const DEFAULT_REPOSITORY: &str = "Default Inventory";
