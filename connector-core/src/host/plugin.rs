//! A loaded plugin and the handle to one of its connectors.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::abi::messages::{PluginMeta, RunRequest, TestRequest};
use crate::abi::{ABI_MAJOR, BuiltinPlugin, PluginDescriptor, STATUS_OK};
use crate::connector::{
    ACTION_SYNC_DATA, ACTION_TEST, ConnectorInfo, RunOptions, RunSummary, TestReport,
};
use crate::context::RecordSink;
use crate::error::{ConnectorError, ErrorKind};
use crate::schema::Parameters;

use super::call::{self, RunState};
use super::error::{CallError, LoadError, LoadProblem};
use super::library;

/// Where a plugin comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Linked into the host, registered by the named crate.
    Builtin(&'static str),
    /// Loaded from this library file.
    Library(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Builtin(name) => write!(f, "built-in {name}"),
            Origin::Library(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A plugin whose descriptor passed every check, with its metadata.
#[derive(Debug)]
pub struct Plugin {
    descriptor: &'static PluginDescriptor,
    origin: Origin,
    meta: PluginMeta,
}

impl Plugin {
    /// Checks and initialises a built-in.
    pub fn builtin(builtin: &'static BuiltinPlugin) -> Result<Arc<Plugin>, LoadError> {
        Self::linked(builtin.name, builtin.descriptor, super::log::host_api())
    }

    /// Checks and initialises a descriptor linked into this program (a
    /// built-in, or a plugin crate's own export in its tests), handing
    /// `init` this host API.
    pub(crate) fn linked(
        name: &'static str,
        descriptor: &'static PluginDescriptor,
        api: &'static crate::abi::HostApi,
    ) -> Result<Arc<Plugin>, LoadError> {
        let origin = Origin::Builtin(name);
        let descriptor = library::check_descriptor(descriptor).map_err(|problem| LoadError {
            origin: origin.to_string(),
            problem,
        })?;
        Self::init(descriptor, origin, api)
    }

    /// Loads a plugin library: refuses a file someone other than root or the
    /// host's user could replace (the file or a directory above it), checks the
    /// descriptor's magic, ABI major and size before any call, then calls
    /// `init` and `describe`. The library is never unloaded.
    pub fn load(path: &Path) -> Result<Arc<Plugin>, LoadError> {
        Self::load_with(path, super::log::host_api())
    }

    /// [`Plugin::load`], handing `init` this host API.
    pub(crate) fn load_with(
        path: &Path,
        api: &'static crate::abi::HostApi,
    ) -> Result<Arc<Plugin>, LoadError> {
        let origin = Origin::Library(path.to_path_buf());
        let refuse = |problem| LoadError {
            origin: path.display().to_string(),
            problem,
        };
        let real = library::check_permissions(path).map_err(refuse)?;
        let library = library::open(&real).map_err(refuse)?;
        let descriptor = library::entry(library).map_err(refuse)?;
        let descriptor = library::check_descriptor(descriptor).map_err(refuse)?;
        Self::init(descriptor, origin, api)
    }

    fn init(
        descriptor: &'static PluginDescriptor,
        origin: Origin,
        api: &'static crate::abi::HostApi,
    ) -> Result<Arc<Plugin>, LoadError> {
        let refuse = |message: String| LoadError {
            origin: origin.to_string(),
            problem: LoadProblem::BadMetadata(message),
        };
        let Some(init) = descriptor.init else {
            return Err(refuse("no init function".into()));
        };
        let reply = call::call(descriptor, |_out| {
            // SAFETY: the host API is a process-lifetime static, as the ABI promises.
            unsafe { init(api) }
        });
        if reply.status != STATUS_OK {
            return Err(refuse(format!(
                "init returned status {}; the plugin's log may say why",
                reply.status
            )));
        }
        let meta = describe(descriptor).map_err(|e| refuse(e.message))?;
        check_meta(&meta).map_err(refuse)?;
        Ok(Arc::new(Plugin {
            descriptor,
            origin,
            meta,
        }))
    }

    /// Where it came from.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// What `describe` said.
    pub fn meta(&self) -> &PluginMeta {
        &self.meta
    }

    /// The ABI version in its descriptor, as `major.minor`.
    pub fn abi_version(&self) -> String {
        format!(
            "{}.{}",
            self.descriptor.abi_major, self.descriptor.abi_minor
        )
    }

    /// A handle to each of its connectors.
    pub fn connectors(self: &Arc<Self>) -> Vec<ConnectorHandle> {
        self.meta
            .connectors
            .iter()
            .map(|info| ConnectorHandle {
                plugin: Arc::clone(self),
                info: info.clone(),
            })
            .collect()
    }
}

pub(super) fn describe(
    descriptor: &'static PluginDescriptor,
) -> Result<PluginMeta, ConnectorError> {
    let Some(describe) = descriptor.describe else {
        return Err(ConnectorError::failed("no describe function"));
    };
    // SAFETY: `out` is a valid OutBuf, as the ABI says.
    let reply = call::call(descriptor, |out| unsafe { describe(out) });
    call::decode::<PluginMeta>(reply, "describe")
}

fn check_meta(meta: &PluginMeta) -> Result<(), String> {
    if meta.abi_major != ABI_MAJOR {
        return Err(format!(
            "describe reports ABI v{} but the descriptor v{ABI_MAJOR}",
            meta.abi_major
        ));
    }
    if meta.name.trim().is_empty() {
        return Err("the plugin has no name".into());
    }
    if meta.connectors.is_empty() {
        return Err("the plugin provides no connector type".into());
    }
    for info in &meta.connectors {
        let id = &info.type_id;
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(format!(
                "connector type id '{id}' is not lower-case ASCII with dashes"
            ));
        }
        for needed in [ACTION_TEST, ACTION_SYNC_DATA] {
            if !info.has_action(needed) {
                return Err(format!(
                    "connector type '{id}' does not offer the '{needed}' action"
                ));
            }
        }
    }
    Ok(())
}

/// One connector type, built-in or loaded: the only way the host calls a connector.
#[derive(Debug, Clone)]
pub struct ConnectorHandle {
    plugin: Arc<Plugin>,
    info: ConnectorInfo,
}

impl ConnectorHandle {
    /// What the connector says about itself.
    pub fn info(&self) -> &ConnectorInfo {
        &self.info
    }

    /// The plugin providing it.
    pub fn plugin(&self) -> &Arc<Plugin> {
        &self.plugin
    }

    fn error(&self, error: ConnectorError) -> CallError {
        CallError {
            origin: self.plugin.origin.to_string(),
            connector_type: self.info.type_id.clone(),
            kind: error.kind,
            message: error.message,
            field: error.field,
        }
    }

    /// Checks parameters against the connector's schema and fills in defaults,
    /// as the host does before every call.
    pub fn prepare(&self, parameters: &Parameters) -> Result<Parameters, CallError> {
        self.info
            .parameters
            .validate(parameters)
            .map_err(|e| self.error(e.into()))?;
        Ok(self.info.parameters.with_defaults(parameters))
    }

    /// Validates the parameters, then runs Test on a thread of its own.
    pub fn test(&self, parameters: &Parameters) -> Result<TestReport, CallError> {
        let parameters = self.prepare(parameters)?;
        self.test_unchecked(&parameters)
    }

    /// Runs Test with the parameters as given (for conformance checks).
    pub(super) fn test_unchecked(&self, parameters: &Parameters) -> Result<TestReport, CallError> {
        let request = TestRequest {
            connector_type: self.info.type_id.clone(),
            parameters: parameters.clone(),
        };
        let request = serde_json::to_vec(&request).map_err(|e| {
            self.error(ConnectorError::failed(format!(
                "cannot encode the request: {e}"
            )))
        })?;
        let Some(test) = self.plugin.descriptor.test else {
            return Err(self.error(ConnectorError::failed("no test function")));
        };
        // SAFETY: request and out are valid for the call, as the ABI says.
        let reply = call::call(self.plugin.descriptor, |out| unsafe {
            test(request.as_ptr(), request.len(), out)
        });
        call::decode(reply, "test").map_err(|e| self.error(with_panic_context(e, "Test")))
    }

    /// Checks the action and the parameters, then runs the action on a thread
    /// of its own, handing each batch to `sink`.
    ///
    /// Fails when the connector fails, panics, or emits a batch the host
    /// cannot read (invalid JSON, an unknown record kind, a record without
    /// key); ends with [`ErrorKind::Cancelled`] when the sink was cancelled.
    pub fn run(
        &self,
        action: &str,
        parameters: &Parameters,
        options: RunOptions,
        sink: &mut dyn RecordSink,
    ) -> Result<RunSummary, CallError> {
        if action == ACTION_TEST || !self.info.has_action(action) {
            let offered: Vec<&str> = self
                .info
                .actions
                .iter()
                .map(|a| a.id.as_str())
                .filter(|a| *a != ACTION_TEST)
                .collect();
            return Err(self.error(ConnectorError::unknown_action(action, &offered)));
        }
        let parameters = self.prepare(parameters)?;
        self.run_unchecked(action, &parameters, options, sink)
    }

    /// Runs an action with the parameters as given (for conformance checks).
    pub(super) fn run_unchecked(
        &self,
        action: &str,
        parameters: &Parameters,
        options: RunOptions,
        sink: &mut dyn RecordSink,
    ) -> Result<RunSummary, CallError> {
        let request = RunRequest {
            connector_type: self.info.type_id.clone(),
            action: action.to_owned(),
            parameters: parameters.clone(),
            options,
        };
        let request = serde_json::to_vec(&request).map_err(|e| {
            self.error(ConnectorError::failed(format!(
                "cannot encode the request: {e}"
            )))
        })?;
        let Some(run) = self.plugin.descriptor.run else {
            return Err(self.error(ConnectorError::failed("no run function")));
        };
        let state = RunState::new(sink, self.info.record_kinds.clone());
        let callbacks = state.callbacks();
        let callbacks_ptr = std::ptr::from_ref(&callbacks) as usize;
        // SAFETY: request, callbacks (and the state behind them) and out all
        // outlive the call, which joins before returning.
        let reply = call::call(self.plugin.descriptor, |out| unsafe {
            run(
                request.as_ptr(),
                request.len(),
                callbacks_ptr as *const crate::abi::RunCallbacks,
                out,
            )
        });
        if let Some(failure) = state.take_failure() {
            return Err(self.error(ConnectorError::failed(failure)));
        }
        let cancelled = state.cancelled();
        match call::decode::<RunSummary>(reply, "run") {
            Ok(_) if cancelled => Err(self.error(ConnectorError::cancelled())),
            Ok(summary) => Ok(summary),
            Err(e) if cancelled => Err(self.error(ConnectorError {
                kind: ErrorKind::Cancelled,
                ..e
            })),
            Err(e) => Err(self.error(with_panic_context(e, action))),
        }
    }
}

fn with_panic_context(mut error: ConnectorError, during: &str) -> ConnectorError {
    if error.kind == ErrorKind::Panic && !error.message.contains(during) {
        error.message = format!("{} (during {during})", error.message);
    }
    error
}
