//! The `Connector` trait and the types it speaks in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::context::RunContext;
use crate::error::ConnectorError;
use crate::model::RecordKind;
use crate::schema::{ParamField, ParamSchema, Parameters};

/// Id of the Test action, which every connector offers.
pub const ACTION_TEST: &str = "test";
/// Id of the Sync Data action, which every connector offers.
pub const ACTION_SYNC_DATA: &str = "sync_data";

/// A connector: one source of inventory data.
///
/// Implementations must be cheap to construct and hold no per-run state:
/// the host may call `test` and `run` concurrently from several threads.
pub trait Connector: Send + Sync + 'static {
    /// Describes the connector: type id, name, version, schema, actions.
    fn info(&self) -> ConnectorInfo;

    /// Checks a configuration and reports one [`Check`] per step.
    ///
    /// `params` have been validated against the schema, with defaults filled
    /// in, before this is called: by the host, and again by the code
    /// [`export_plugin!`](crate::export_plugin) generates (the ABI requires a
    /// plugin to check what it is given, so a plugin built with this SDK does
    /// not need to). Read them with [`Parameters::deserialize`]. A check that
    /// fails is a report entry, not an error; return an error only when no
    /// report can be made at all. A Test is not a process: its report goes to
    /// the operator who asked for it, not to the process log.
    fn test(&self, params: &Parameters) -> Result<TestReport, ConnectorError>;

    /// Runs an action (at least [`ACTION_SYNC_DATA`]), emitting records
    /// through `ctx` and returning a summary.
    ///
    /// The rules of a run (the plugin ABI, `connector-core/ABI.md`, says
    /// them in full):
    /// - Emit only the kinds [`ConnectorInfo::record_kinds`] declares: the
    ///   host fails a run whose batch holds another kind, naming it.
    /// - `source_key` is stable and unique per kind within a run.
    /// - Call [`RunContext::complete`] for a kind only when it was read in
    ///   full, and emit no record of it after: at the end of a successful run
    ///   the host removes the connector's rows of that kind that the run did
    ///   not emit. A kind never marked keeps its old rows.
    /// - Return the error of a failed `ctx.emit` (the host asked to stop).
    /// - The host counts the batches; the summary's counts are for your log
    ///   line and `invhost plugin check --sync`, which compares them.
    fn run(
        &self,
        action: &str,
        params: &Parameters,
        ctx: &mut RunContext<'_>,
    ) -> Result<RunSummary, ConnectorError>;
}

/// The repository type a connector writes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RepositoryType {
    /// An inventory repository (the only type so far).
    Inventory,
}

/// An action a connector offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Action {
    /// Stable id (`test`, `sync_data`).
    pub id: String,
    /// Name as operators know it (`Test`, `Sync Data`).
    pub name: String,
    /// What it does, in a sentence.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// What its records mean (ABI 1.1); absent: [`RecordMode::Sync`] for
    /// `sync_data`, [`RecordMode::None`] for any other action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<RecordMode>,
}

/// What the records of an action mean to the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordMode {
    /// Published as a sync is: staged, then published at once, and the
    /// connector's rows of each kind marked complete that the run did not
    /// emit are removed.
    Sync,
    /// The action emits no records and reports only its summary; a record
    /// fails the run, naming the action.
    None,
}

impl std::fmt::Display for RecordMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RecordMode::Sync => "sync",
            RecordMode::None => "none",
        })
    }
}

impl Action {
    /// An action with an id and a display name.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Action {
            id: id.into(),
            name: name.into(),
            description: String::new(),
            records: None,
        }
    }

    /// The same action with a description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// The same action with its record mode said (the plugin then needs a
    /// host of ABI 1.1 or later, which `export_plugin!` declares).
    pub fn records(mut self, mode: RecordMode) -> Self {
        self.records = Some(mode);
        self
    }

    /// What its records mean: as declared, or by its id.
    pub fn record_mode(&self) -> RecordMode {
        self.records.unwrap_or(if self.id == ACTION_SYNC_DATA {
            RecordMode::Sync
        } else {
            RecordMode::None
        })
    }

    /// The Test action.
    pub fn test() -> Self {
        Action {
            description: "Checks the configuration and the connection, step by step.".into(),
            ..Action::new(ACTION_TEST, "Test")
        }
    }

    /// The Sync Data action.
    pub fn sync_data() -> Self {
        Action {
            description: "Reads the source and writes its inventory into a repository.".into(),
            ..Action::new(ACTION_SYNC_DATA, "Sync Data")
        }
    }
}

/// What a connector says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ConnectorInfo {
    /// Connector type id, part of the public interface (`o365`, `csv-inventory`).
    pub type_id: String,
    /// Name as operators know it (`Microsoft Office 365`).
    pub display_name: String,
    /// The connector's version.
    pub version: String,
    /// The repository type it writes into.
    pub repository_type: RepositoryType,
    /// What it reads, in a sentence or two.
    #[serde(default)]
    pub description: String,
    /// Its parameters.
    pub parameters: ParamSchema,
    /// Its actions; always includes Test and Sync Data.
    pub actions: Vec<Action>,
    /// The record kinds a Sync Data run may emit.
    #[serde(default)]
    pub record_kinds: Vec<RecordKind>,
}

impl ConnectorInfo {
    /// An inventory connector with the Test and Sync Data actions and no parameters.
    pub fn new(
        type_id: impl Into<String>,
        display_name: impl Into<String>,
        version: impl Into<String>,
    ) -> Self {
        ConnectorInfo {
            type_id: type_id.into(),
            display_name: display_name.into(),
            version: version.into(),
            repository_type: RepositoryType::Inventory,
            description: String::new(),
            parameters: ParamSchema::default(),
            actions: vec![Action::test(), Action::sync_data()],
            record_kinds: Vec::new(),
        }
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Appends a parameter.
    pub fn parameter(mut self, field: ParamField) -> Self {
        self.parameters.fields.push(field);
        self
    }

    /// Appends an action.
    pub fn action(mut self, action: Action) -> Self {
        self.actions.push(action);
        self
    }

    /// Declares the record kinds a sync may emit.
    pub fn record_kinds(mut self, kinds: &[RecordKind]) -> Self {
        self.record_kinds = kinds.to_vec();
        self
    }

    /// Whether the connector offers the action with this id.
    pub fn has_action(&self, id: &str) -> bool {
        self.actions.iter().any(|a| a.id == id)
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// Works.
    Ok,
    /// Works, with a limitation the operator should know of.
    Warning,
    /// Does not work; the message says what to fix.
    Failed,
}

impl std::fmt::Display for CheckStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CheckStatus::Ok => "ok",
            CheckStatus::Warning => "warning",
            CheckStatus::Failed => "failed",
        })
    }
}

/// One named step of a test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Short name (`Sign-in`, `devices.csv`).
    pub name: String,
    /// Outcome.
    pub status: CheckStatus,
    /// What was found, and for a failure what to fix. Never a secret.
    pub message: String,
}

/// The result of a Test: one [`Check`] per step.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestReport {
    /// The checks, in the order they ran.
    pub checks: Vec<Check>,
}

impl TestReport {
    /// Adds a check.
    pub fn push(
        &mut self,
        name: impl Into<String>,
        status: CheckStatus,
        message: impl Into<String>,
    ) {
        self.checks.push(Check {
            name: name.into(),
            status,
            message: message.into(),
        });
    }

    /// Adds a passing check.
    pub fn ok(&mut self, name: impl Into<String>, message: impl Into<String>) {
        self.push(name, CheckStatus::Ok, message);
    }

    /// Adds a warning.
    pub fn warning(&mut self, name: impl Into<String>, message: impl Into<String>) {
        self.push(name, CheckStatus::Warning, message);
    }

    /// Adds a failed check.
    pub fn failed(&mut self, name: impl Into<String>, message: impl Into<String>) {
        self.push(name, CheckStatus::Failed, message);
    }

    /// The worst status among the checks (`Ok` for an empty report).
    pub fn status(&self) -> CheckStatus {
        self.checks
            .iter()
            .map(|c| c.status)
            .max()
            .unwrap_or(CheckStatus::Ok)
    }
}

/// Options of a run that the host decides.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct RunOptions {
    /// A clean sync: the host replaces everything the connector holds. A
    /// connector may use it to skip incremental shortcuts.
    pub clean: bool,
}

impl RunOptions {
    /// Options for a clean sync (`true`) or a normal one.
    pub fn clean(clean: bool) -> Self {
        RunOptions { clean }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct RunSummary {
    /// Records emitted, per kind.
    pub records: BTreeMap<RecordKind, u64>,
    /// Kinds delivered in full.
    pub complete: Vec<RecordKind>,
    /// Things the operator should know (skipped rows, degraded streams).
    pub warnings: Vec<String>,
    /// One closing line.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Counters of the source for monitoring, by name (`graph_requests`,
    /// `graph_throttled`): the host adds them up per name and exposes them
    /// on its `/metrics`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub counters: BTreeMap<String, u64>,
    /// The organisation the data came from, when the source has one
    /// (Microsoft 365: the tenant id, a lower-case GUID). Connectors of one
    /// repository that report the same tenant read the same data: the
    /// consolidation merges their users and devices and counts their
    /// licences once. Users and Entra devices of different tenants never
    /// merge. Without it the rows belong to no tenant and merge with any
    /// tenant's by name when that is unambiguous.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
}

impl RunSummary {
    /// Total records emitted.
    pub fn total(&self) -> u64 {
        self.records.values().sum()
    }
}
