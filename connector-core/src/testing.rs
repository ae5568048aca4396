//! Testing a connector (feature `testing`): run its Test or one of its
//! actions the way the host does, through the plugin ABI, and look at what
//! it handed over.
//!
//! A [`Harness`] holds one connector type, from the plugin crate's own export
//! ([`Harness::exported`], in the crate's unit tests), from a built library
//! ([`Harness::load`]), or from the built-ins linked into the program
//! ([`Harness::builtin`]). Whichever it is, requests and answers cross the
//! same JSON boundary as in the host: parameters are checked against the
//! schema and defaults filled in, batches are decoded and checked (declared
//! kinds, keys unique per kind, nothing after its kind was complete, the
//! summary against the batches), and a panic is a failure, not a crash.
//!
//! ```ignore
//! use connector_core::testing::Harness;
//!
//! #[test]
//! fn a_sync_reads_every_device() {
//!     let harness = Harness::exported(crate::__invhost_descriptor(), "csv-inventory").unwrap();
//!     let run = harness.sync(&params);
//!     run.assert_conforms();
//!     assert_eq!(run.count(RecordKind::Device), 2);
//!     assert!(run.is_complete(RecordKind::Device));
//! }
//! ```
//!
//! What the plugin logs through the host during a harness's calls is kept
//! in [`Run::logs`] (for runs) and [`Harness::logs`]; runs of several
//! harnesses at once in one process share that log.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::abi::{HostApi, LOG_DEBUG, LOG_ERROR, LOG_INFO, LOG_WARN, LogFn, PluginDescriptor};
use crate::connector::{ACTION_SYNC_DATA, Check, CheckStatus, ConnectorInfo, RunOptions};
use crate::connector::{RunSummary, TestReport};
use crate::context::{Flow, Progress, RecordSink};
use crate::host::{BatchChecker, CallError, ConnectorHandle, LoadError, Plugin};
use crate::model::{Batch, Record, RecordKind};
use crate::schema::Parameters;

/// One line a plugin logged through the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// `error`, `warn`, `info`, `debug` or `trace`.
    pub level: &'static str,
    /// The plugin's target (its module path).
    pub target: String,
    /// The message.
    pub message: String,
}

static LOGS: Mutex<Vec<LogLine>> = Mutex::new(Vec::new());

unsafe extern "C" fn capture(
    level: i32,
    target: *const u8,
    target_len: usize,
    message: *const u8,
    message_len: usize,
) {
    let text = |ptr: *const u8, len: usize| {
        if ptr.is_null() || len == 0 {
            return String::new();
        }
        // SAFETY: the ABI says the buffer holds `len` bytes for the call.
        String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(ptr, len) }).into_owned()
    };
    let line = LogLine {
        level: match level {
            LOG_ERROR => "error",
            LOG_WARN => "warn",
            LOG_INFO => "info",
            LOG_DEBUG => "debug",
            _ => "trace",
        },
        target: text(target, target_len),
        message: text(message, message_len),
    };
    if let Ok(mut logs) = LOGS.lock() {
        logs.push(line);
    }
}

/// The host API a harness hands `init`: every level, logged into [`LOGS`].
fn host_api() -> &'static HostApi {
    static API: HostApi = HostApi {
        size: size_of::<HostApi>() as u32,
        abi_major: crate::abi::ABI_MAJOR,
        abi_minor: crate::abi::ABI_MINOR,
        max_log_level: crate::abi::LOG_TRACE,
        log: Some(capture as LogFn),
    };
    &API
}

fn take_logs() -> Vec<LogLine> {
    LOGS.lock()
        .map(|mut l| std::mem::take(&mut *l))
        .unwrap_or_default()
}

/// How a harness runs an action.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Options {
    /// A clean sync.
    pub clean: bool,
    /// Cancel the run, as an operator would, once this many batches arrived.
    pub cancel_after_batches: Option<usize>,
    /// Take each batch this slowly (a slow repository: backpressure).
    pub delay_per_batch: Option<Duration>,
}

impl Options {
    /// Default options: a normal sync, never cancelled.
    pub fn new() -> Self {
        Options::default()
    }

    /// A clean sync.
    pub fn clean(mut self) -> Self {
        self.clean = true;
        self
    }

    /// Cancel once `n` batches arrived.
    pub fn cancel_after_batches(mut self, n: usize) -> Self {
        self.cancel_after_batches = Some(n);
        self
    }

    /// Take each batch after `delay`.
    pub fn delay_per_batch(mut self, delay: Duration) -> Self {
        self.delay_per_batch = Some(delay);
        self
    }
}

/// One connector type, called the way the host calls it.
pub struct Harness {
    handle: ConnectorHandle,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("type_id", &self.handle.info().type_id)
            .finish_non_exhaustive()
    }
}

impl Harness {
    fn pick(plugin: &Arc<Plugin>, type_id: &str) -> Result<Harness, LoadError> {
        let connectors = plugin.connectors();
        let known = connectors
            .iter()
            .map(|c| c.info().type_id.clone())
            .collect::<Vec<_>>()
            .join(", ");
        connectors
            .into_iter()
            .find(|c| c.info().type_id == type_id)
            .map(|handle| Harness { handle })
            .ok_or_else(|| LoadError {
                origin: plugin.origin().to_string(),
                problem: crate::host::LoadProblem::BadMetadata(format!(
                    "no connector type '{type_id}' (it has {known})"
                )),
            })
    }

    /// The connector type `type_id` of a plugin crate's own export, in its
    /// unit tests: `export_plugin!` defines `__invhost_descriptor()` beside
    /// the entry symbol for this.
    pub fn exported(
        descriptor: &'static PluginDescriptor,
        type_id: &str,
    ) -> Result<Harness, LoadError> {
        let plugin = Plugin::linked("the plugin under test", descriptor, host_api())?;
        Self::pick(&plugin, type_id)
    }

    /// The connector type `type_id` of a built plugin library, loaded as the
    /// host loads it (file trust, symbols, descriptor, `init`, `describe`).
    pub fn load(path: &Path, type_id: &str) -> Result<Harness, LoadError> {
        let plugin = Plugin::load_with(path, host_api())?;
        Self::pick(&plugin, type_id)
    }

    /// A connector type built into this program (`register_builtin!`).
    pub fn builtin(type_id: &str) -> Result<Harness, LoadError> {
        for builtin in crate::abi::BuiltinPlugin::all() {
            let plugin = Plugin::linked(builtin.name, builtin.descriptor, host_api())?;
            if let Ok(harness) = Self::pick(&plugin, type_id) {
                return Ok(harness);
            }
        }
        Err(LoadError {
            origin: "built-ins".into(),
            problem: crate::host::LoadProblem::BadMetadata(format!(
                "no built-in connector type '{type_id}'"
            )),
        })
    }

    /// A connector the program already holds (from a host's registry).
    /// Its plugin was initialised by whoever loaded it, so its log lines go
    /// where that host sends them, not to the harness.
    pub fn from_handle(handle: ConnectorHandle) -> Harness {
        Harness { handle }
    }

    /// What the connector says about itself.
    pub fn info(&self) -> &ConnectorInfo {
        self.handle.info()
    }

    /// The handle, for what the harness does not cover.
    pub fn handle(&self) -> &ConnectorHandle {
        &self.handle
    }

    /// Runs Test with these parameters (checked against the schema first).
    pub fn test(&self, params: &Parameters) -> Result<TestReport, CallError> {
        self.handle.test(params)
    }

    /// Runs Sync Data with these parameters.
    pub fn sync(&self, params: &Parameters) -> Run {
        self.run(ACTION_SYNC_DATA, params, &Options::default())
    }

    /// Runs an action with these parameters and options.
    pub fn run(&self, action: &str, params: &Parameters, options: &Options) -> Run {
        take_logs();
        let mut collector = Collector {
            batches: Vec::new(),
            progress: Vec::new(),
            cancelled: false,
            options: options.clone(),
        };
        let mut checker = BatchChecker::new(&mut collector);
        let outcome = self.handle.run(
            action,
            params,
            RunOptions::clean(options.clean),
            &mut checker,
        );
        let checks = checker.finish(&outcome);
        drop(checker);
        Run {
            batches: collector.batches,
            progress: collector.progress,
            outcome,
            checks,
            logs: take_logs(),
        }
    }

    /// What the plugin logged since the last run or call to this.
    pub fn logs(&self) -> Vec<LogLine> {
        take_logs()
    }
}

/// The sink of a harness run: keeps everything.
struct Collector {
    batches: Vec<Batch>,
    progress: Vec<Progress>,
    cancelled: bool,
    options: Options,
}

impl RecordSink for Collector {
    fn emit(&mut self, batch: Batch) -> Flow {
        if let Some(delay) = self.options.delay_per_batch {
            std::thread::sleep(delay);
        }
        self.batches.push(batch);
        let taken = self.batches.len();
        if self
            .options
            .cancel_after_batches
            .is_some_and(|n| taken >= n)
        {
            self.cancelled = true;
        }
        Flow::Continue
    }

    fn progress(&mut self, progress: Progress) {
        self.progress.push(progress);
    }

    fn is_cancelled(&self) -> bool {
        self.cancelled
    }
}

/// What one run handed over, and how it ended.
#[derive(Debug)]
#[non_exhaustive]
pub struct Run {
    /// The batches, in order, as the host took them.
    pub batches: Vec<Batch>,
    /// The progress notes, in order.
    pub progress: Vec<Progress>,
    /// The run's summary, or its error.
    pub outcome: Result<RunSummary, CallError>,
    /// The checks `invhost plugin check --sync` makes of a run.
    pub checks: Vec<Check>,
    /// What the plugin logged during the run.
    pub logs: Vec<LogLine>,
}

impl Run {
    /// Every record, in order.
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.batches.iter().flat_map(|b| b.records.iter())
    }

    /// The records of one kind, in order.
    pub fn of_kind(&self, kind: RecordKind) -> Vec<&Record> {
        self.records().filter(|r| r.kind() == kind).collect()
    }

    /// Records per kind.
    pub fn counts(&self) -> BTreeMap<RecordKind, u64> {
        let mut counts = BTreeMap::new();
        for record in self.records() {
            *counts.entry(record.kind()).or_default() += 1;
        }
        counts
    }

    /// How many records of one kind.
    pub fn count(&self, kind: RecordKind) -> usize {
        self.records().filter(|r| r.kind() == kind).count()
    }

    /// The kinds the batches marked complete, in the order they were marked.
    pub fn complete(&self) -> Vec<RecordKind> {
        let mut kinds = Vec::new();
        for kind in self.batches.iter().flat_map(|b| b.complete.iter()) {
            if !kinds.contains(kind) {
                kinds.push(*kind);
            }
        }
        kinds
    }

    /// Whether a batch marked this kind complete.
    pub fn is_complete(&self, kind: RecordKind) -> bool {
        self.batches.iter().any(|b| b.complete.contains(&kind))
    }

    /// The summary of a run that succeeded; panics with the error otherwise.
    #[track_caller]
    pub fn summary(&self) -> &RunSummary {
        match &self.outcome {
            Ok(summary) => summary,
            Err(e) => panic!("the run failed ({:?}): {}", e.kind, e.message),
        }
    }

    /// The error of a run that failed; panics when it succeeded.
    #[track_caller]
    pub fn error(&self) -> &CallError {
        match &self.outcome {
            Ok(summary) => panic!("the run succeeded: {summary:?}"),
            Err(e) => e,
        }
    }

    /// Panics, listing them, when a check of the run failed (the run
    /// itself, its batches, its summary against the batches).
    #[track_caller]
    pub fn assert_conforms(&self) {
        let failed: Vec<String> = self
            .checks
            .iter()
            .filter(|c| c.status == CheckStatus::Failed)
            .map(|c| format!("{}: {}", c.name, c.message))
            .collect();
        assert!(
            failed.is_empty(),
            "the run does not conform:\n{}",
            failed.join("\n")
        );
    }
}
