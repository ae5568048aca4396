//! The invhost connector SDK.
//!
//! A connector is a type implementing [`Connector`]: it describes itself
//! ([`ConnectorInfo`]: type id, parameter schema, actions), checks a
//! configuration with [`Connector::test`] and runs an action with
//! [`Connector::run`], emitting inventory [`Record`]s through a
//! [`RunContext`] in bounded batches.
//!
//! The same connector becomes
//! - a third-party plugin library with [`export_plugin!`] (built as a
//!   `cdylib`, loaded by the host through the C ABI in [`abi`]), or
//! - a built-in of the host with [`register_builtin!`].
//!
//! Both go through the very same descriptor and JSON messages, documented for
//! authors in any language in `ABI.md` and `include/invhost_plugin.h` (both
//! ship with this crate). Feature `testing` adds [`testing`] (when enabled):
//! a harness that runs a connector's Test and actions through that boundary
//! and collects its batches, progress and logs for assertions.
//!
//! ```
//! use connector_core::prelude::*;
//!
//! #[derive(Default)]
//! struct Hello;
//!
//! impl Connector for Hello {
//!     fn info(&self) -> ConnectorInfo {
//!         ConnectorInfo::new("hello", "Hello", env!("CARGO_PKG_VERSION"))
//!             .description("Emits one device.")
//!             .parameter(ParamField::new("name", "Device name", ParamKind::String).required())
//!     }
//!
//!     fn test(&self, params: &Parameters) -> Result<TestReport, ConnectorError> {
//!         let mut report = TestReport::default();
//!         report.ok("Configuration", format!("Will emit {}.", params.str("name").unwrap_or("?")));
//!         Ok(report)
//!     }
//!
//!     fn run(&self, _action: &str, params: &Parameters, ctx: &mut RunContext<'_>)
//!         -> Result<RunSummary, ConnectorError>
//!     {
//!         let name = params.str("name").unwrap_or_default();
//!         ctx.emit(Device::new(name, name))?;
//!         ctx.complete(RecordKind::Device)?;
//!         Ok(ctx.summary())
//!     }
//! }
//! # let mut sink = connector_core::CollectingSink::default();
//! # let params = Parameters::from_json(serde_json::json!({"name": "pc-1"})).unwrap();
//! # let mut ctx = RunContext::new(&mut sink);
//! # Hello.run("sync_data", &params, &mut ctx).unwrap();
//! # assert_eq!(sink.records.len(), 1);
//! ```

#![warn(missing_docs)]

// Every ABI export relies on catching panics; an aborting plugin would take
// the whole host down with it.
#[cfg(panic = "abort")]
compile_error!(
    "invhost plugins must be built with panic = \"unwind\": the SDK catches panics at the ABI \
     boundary and reports them as failed calls, which panic = \"abort\" makes impossible"
);

pub mod abi;
mod connector;
mod context;
mod error;
pub mod model;
mod schema;

#[cfg(feature = "host")]
pub mod host;
#[cfg(feature = "testing")]
pub mod testing;

pub use connector::{
    ACTION_SYNC_DATA, ACTION_TEST, Action, Check, CheckStatus, Connector, ConnectorInfo,
    RecordMode, RepositoryType, RunOptions, RunSummary, TestReport,
};
pub use context::{CollectingSink, DEFAULT_BATCH_SIZE, Flow, Progress, RecordSink, RunContext};
pub use error::{ConnectorError, ErrorKind};
pub use model::{
    Activation, Application, ApplicationUsage, Batch, Device, Field, FieldType, FieldValue,
    Installation, Licence, LicenceAssignment, Record, RecordKind, UnknownRecordKind, User,
};
pub use schema::{
    FieldError, InvalidValue, ParamField, ParamKind, ParamSchema, Parameters, Pattern,
    ValidationError,
};

/// The SDK's version, reported to the host in the plugin metadata.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Everything a connector author usually needs, in one import.
pub mod prelude {
    pub use crate::model::*;
    pub use crate::{
        Action, Check, CheckStatus, CollectingSink, Connector, ConnectorError, ConnectorInfo,
        ErrorKind, ParamField, ParamKind, ParamSchema, Parameters, Progress, RecordMode,
        RunContext, RunOptions, RunSummary, TestReport,
    };
}

#[doc(hidden)]
pub mod __private {
    pub use inventory;
}
