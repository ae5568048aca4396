//! `invhost plugin check`: a conformance check for plugin authors.

use std::path::Path;

use crate::abi::ENTRY_SYMBOL;
use crate::connector::{Check, CheckStatus, RunOptions};
use crate::context::{Flow, Progress, RecordSink};
use crate::error::ErrorKind;
use crate::model::Batch;
use crate::schema::Parameters;

use super::library;
use super::plugin::Plugin;

/// One line of the check.
pub type CheckLine = Check;

/// Action id no connector offers, used to check that unknown actions are refused.
const NO_SUCH_ACTION: &str = "invhost-check-no-such-action";

/// Loads the library at `path` and checks it step by step: file permissions,
/// loading, entry symbol, descriptor, metadata, each connector's schema, that
/// Test with empty parameters answers rather than crashes, and that an unknown
/// action is refused. Stops at the first step later ones depend on.
pub fn check_library(path: &Path) -> Vec<CheckLine> {
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
