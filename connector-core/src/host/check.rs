//! `invhost plugin check`: a conformance check for plugin authors.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::Arc;

use crate::abi::ENTRY_SYMBOL;
use crate::connector::{Check, CheckStatus, RunOptions, RunSummary};
use crate::context::{Flow, Progress, RecordSink};
use crate::error::ErrorKind;
use crate::model::{Batch, RecordKind};
use crate::schema::Parameters;

use super::error::CallError;
use super::library;
use super::plugin::{ConnectorHandle, Plugin};

/// One line of the check.
pub type CheckLine = Check;

/// Action id no connector offers, used to check that unknown actions are refused.
const NO_SUCH_ACTION: &str = "invhost-check-no-such-action";

/// Loads the library at `path` and checks it step by step: file permissions,
/// loading, entry symbol, descriptor, metadata, each connector's schema, that
/// Test with empty parameters answers rather than crashes, and that an unknown
/// action is refused. Stops at the first step later ones depend on.
pub fn check_library(path: &Path) -> Vec<CheckLine> {
    check_and_load(path).0
}

/// [`check_library`], also handing back the plugin when it loaded, so that
/// its connectors can be tested and synced (`plugin check --test --sync`).
pub fn check_and_load(path: &Path) -> (Vec<CheckLine>, Option<Arc<Plugin>>) {
    let mut loaded = None;
    let lines = check_steps(path, &mut loaded);
    (lines, loaded)
}

fn check_steps(path: &Path, loaded: &mut Option<Arc<Plugin>>) -> Vec<CheckLine> {
    let mut lines = Vec::new();
    let mut line = |name: &str, result: Result<String, String>| {
        let (status, message) = match result {
            Ok(m) => (CheckStatus::Ok, m),
            Err(m) => (CheckStatus::Failed, m),
        };
        lines.push(Check {
            name: name.to_owned(),
            status,
            message,
        });
        status == CheckStatus::Ok
    };

    let permissions = library::check_permissions(path);
    let shown = permissions
        .as_ref()
        .map(|_| {
            "it and its directories belong to root or you, and no one else may write them"
                .to_owned()
        })
        .map_err(|e| e.to_string());
    if !line("file", shown) {
        return lines;
    }
    let Ok(real) = permissions else { return lines };
    let library = library::open(&real);
    if !line(
        "library",
        library
            .as_ref()
            .map(|_| "loads".to_owned())
            .map_err(|e| e.to_string()),
    ) {
        return lines;
    }
    let Ok(library) = library else { return lines };
    let entry = library::entry(library);
    if !line(
        "entry symbol",
        entry
            .as_ref()
            .map(|_| format!("exports {ENTRY_SYMBOL}"))
            .map_err(|e| e.to_string()),
    ) {
        return lines;
    }
    let Ok(entry) = entry else { return lines };
    let descriptor = library::check_descriptor(entry);
    let header = descriptor
        .map(|d| {
            format!(
                "magic ok, ABI {}.{}, {} bytes",
                d.abi_major, d.abi_minor, d.size
            )
        })
        .map_err(|e| e.to_string());
    if !line("descriptor", header) {
        return lines;
    }
    let plugin = match Plugin::load(path) {
        Ok(plugin) => plugin,
        Err(e) => {
            line("metadata", Err(e.problem.to_string()));
            return lines;
        }
    };
    *loaded = Some(Arc::clone(&plugin));
    let meta = plugin.meta();
    line(
        "metadata",
        Ok(format!(
            "{} {} (SDK {}), {} connector type(s)",
            meta.name,
            meta.version,
            if meta.sdk_version.is_empty() {
                "unknown"
            } else {
                &meta.sdk_version
            },
            meta.connectors.len()
        )),
    );

    for handle in plugin.connectors() {
        let info = handle.info();
        let id = info.type_id.clone();
        let lint = info.parameters.lint();
        let schema = if lint.is_empty() {
            Ok(format!(
                "{} parameter(s), {} action(s)",
                info.parameters.fields.len(),
                info.actions.len()
            ))
        } else {
            Err(lint.join("; "))
        };
        line(&format!("{id}: schema"), schema);

        let needs_something = info
            .parameters
            .fields
            .iter()
            .any(|f| f.required && f.default.is_none());
        let test = match handle.test_unchecked(&Parameters::new()) {
            Err(e) if e.kind == ErrorKind::InvalidParameters => {
                Ok(format!("refused empty parameters: {}", e.message))
            }
            Ok(report) if !needs_something => {
                Ok(format!("answered with {} check(s)", report.checks.len()))
            }
            Ok(_) => {
                Err("accepted empty parameters although the schema has required fields".into())
            }
            Err(e) if e.kind == ErrorKind::Panic => Err(format!("crashed: {}", e.message)),
            Err(e) => Err(format!(
                "expected a validation error, got {:?}: {}",
                e.kind, e.message
            )),
        };
        line(&format!("{id}: test with empty parameters"), test);

        let unknown = match handle.run_unchecked(
            NO_SUCH_ACTION,
            &Parameters::new(),
            RunOptions::default(),
            &mut Refuse,
        ) {
            Err(e) if e.kind == ErrorKind::UnknownAction => Ok(format!("refused: {}", e.message)),
            Err(e) => Err(format!(
                "expected unknown-action, got {:?}: {}",
                e.kind, e.message
            )),
            Ok(_) => Err("accepted an action it does not offer".into()),
        };
        line(&format!("{id}: unknown action"), unknown);
    }
    lines
}

/// A sink that takes nothing, so a misbehaving run stops at once.
struct Refuse;

impl RecordSink for Refuse {
    fn emit(&mut self, _batch: Batch) -> Flow {
        Flow::Stop
    }

    fn progress(&mut self, _progress: Progress) {}

    fn is_cancelled(&self) -> bool {
        false
    }
}

/// Problems listed in full before the rest are only counted.
const PROBLEMS_SHOWN: usize = 5;

/// A sink for `plugin check --sync`: checks every batch a run hands over
/// against the ABI's rules, counts the records per kind, and hands the batch
/// on to `inner` (the scratch repository). The kinds a connector declares
/// are checked by the host on every run, before any sink sees a batch.
pub struct BatchChecker<'a> {
    inner: &'a mut dyn RecordSink,
    /// Hashes of the keys seen per kind (8 bytes a record).
    keys: HashMap<RecordKind, HashSet<u64>>,
    counts: BTreeMap<RecordKind, u64>,
    complete: BTreeSet<RecordKind>,
    problems: Vec<String>,
    unshown: usize,
    batches: u64,
    progress: u64,
}

impl<'a> BatchChecker<'a> {
    /// A checker handing every batch on to `inner`.
    pub fn new(inner: &'a mut dyn RecordSink) -> Self {
        BatchChecker {
            inner,
            keys: HashMap::new(),
            counts: BTreeMap::new(),
            complete: BTreeSet::new(),
            problems: Vec::new(),
            unshown: 0,
            batches: 0,
            progress: 0,
        }
    }

    fn problem(&mut self, text: String) {
        if self.problems.len() < PROBLEMS_SHOWN {
            self.problems.push(text);
        } else {
            self.unshown += 1;
        }
    }

    /// Records per kind, as the batches held them.
    pub fn counts(&self) -> &BTreeMap<RecordKind, u64> {
        &self.counts
    }

    /// The kinds the batches marked complete.
    pub fn complete(&self) -> &BTreeSet<RecordKind> {
        &self.complete
    }

    /// The check's lines for the run's outcome: the run itself, its
    /// batches, and its summary against what the batches held.
    pub fn finish(&self, outcome: &Result<RunSummary, CallError>) -> Vec<CheckLine> {
        let mut lines = Vec::new();
        let mut line = |name: &str, status: CheckStatus, message: String| {
            lines.push(Check {
                name: name.to_owned(),
                status,
                message,
            });
        };
        let summary = match outcome {
            Ok(summary) => {
                let said = if summary.message.is_empty() {
                    "succeeded".to_owned()
                } else {
                    format!("succeeded: {}", summary.message)
                };
                line("sync: run", CheckStatus::Ok, said);
                Some(summary)
            }
            Err(e) => {
                line("sync: run", CheckStatus::Failed, e.message.clone());
                None
            }
        };
        if self.problems.is_empty() {
            line(
                "sync: batches",
                CheckStatus::Ok,
                format!(
                    "{} batch(es), {} record(s), {} progress note(s); keys unique per kind, nothing after its kind was complete",
                    self.batches,
                    self.counts.values().sum::<u64>(),
                    self.progress
                ),
            );
        } else {
            let mut text = self.problems.join("; ");
            if self.unshown > 0 {
                text.push_str(&format!("; and {} more", self.unshown));
            }
            line("sync: batches", CheckStatus::Failed, text);
        }
        let Some(summary) = summary else {
            return lines;
        };
        let mut differences = Vec::new();
        let kinds: BTreeSet<RecordKind> = self
            .counts
            .keys()
            .chain(summary.records.keys())
            .copied()
            .collect();
        for kind in kinds {
            let said = summary.records.get(&kind).copied().unwrap_or(0);
            let held = self.counts.get(&kind).copied().unwrap_or(0);
            if said != held {
                differences.push(format!(
                    "{kind}: the summary says {said}, the batches held {held}"
                ));
            }
        }
        if differences.is_empty() {
            line(
                "sync: summary",
                CheckStatus::Ok,
                "its counts are the batches' counts".into(),
            );
        } else {
            line(
                "sync: summary",
                CheckStatus::Failed,
                format!(
                    "{} (the host counts the batches, not the summary)",
                    differences.join("; ")
                ),
            );
        }
        let unmarked: Vec<String> = summary
            .complete
            .iter()
            .filter(|k| !self.complete.contains(k))
            .map(ToString::to_string)
            .collect();
        if !unmarked.is_empty() {
            line(
                "sync: complete",
                CheckStatus::Warning,
                format!(
                    "the summary says {} complete but no batch marked it: the host goes by the batches, so rows no longer seen stay",
                    unmarked.join(", ")
                ),
            );
        }
        lines
    }
}

impl RecordSink for BatchChecker<'_> {
    fn emit(&mut self, batch: Batch) -> Flow {
        self.batches += 1;
        for record in &batch.records {
            let kind = record.kind();
            *self.counts.entry(kind).or_default() += 1;
            if self.complete.contains(&kind) {
                self.problem(format!(
                    "a {kind} record ('{}') came after {kind} was marked complete",
                    record.source_key().escape_debug()
                ));
            }
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            record.source_key().hash(&mut hasher);
            if !self.keys.entry(kind).or_default().insert(hasher.finish()) {
                self.problem(format!(
                    "the {kind} key '{}' was emitted twice in one run",
                    record.source_key().escape_debug()
                ));
            }
        }
        self.complete.extend(batch.complete.iter().copied());
        self.inner.emit(batch)
    }

    fn progress(&mut self, progress: Progress) {
        self.progress += 1;
        self.inner.progress(progress);
    }

    fn is_cancelled(&self) -> bool {
        self.inner.is_cancelled()
    }
}

/// `plugin check --test`: the connector's Test with these parameters, each
/// of its checks a line; a refusal or a crash is one failed line.
pub fn check_test(handle: &ConnectorHandle, parameters: &Parameters) -> Vec<CheckLine> {
    match handle.test(parameters) {
        Ok(report) if report.checks.is_empty() => vec![Check {
            name: "test".into(),
            status: CheckStatus::Failed,
            message: "Test answered with no check at all".into(),
        }],
        Ok(report) => report
            .checks
            .into_iter()
            .map(|c| Check {
                name: format!("test: {}", c.name),
                ..c
            })
            .collect(),
        Err(e) => vec![Check {
            name: "test".into(),
            status: CheckStatus::Failed,
            message: e.message,
        }],
    }
}
