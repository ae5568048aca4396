//! The plugin's side of the ABI: what [`crate::export_plugin!`] and
//! [`crate::register_builtin!`] expand to. Not for direct use.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

use super::messages::{PluginMeta, RunRequest, TestRequest};
use super::types::*;
use crate::connector::{ACTION_TEST, Connector, ConnectorInfo};
use crate::context::{Flow, Progress, RecordSink, RunContext};
use crate::error::{ConnectorError, ErrorKind};
use crate::model::Batch;

/// A plugin's connectors and metadata, behind the exported functions.
pub struct Plugin {
    name: &'static str,
    version: &'static str,
    make: fn() -> Vec<Box<dyn Connector>>,
    forward_logs: bool,
    loaded: OnceLock<Loaded>,
}

struct Loaded {
    connectors: Vec<(ConnectorInfo, Box<dyn Connector>)>,
}

impl Plugin {
    /// A plugin named `name`; `forward_logs` installs a `tracing`
    /// subscriber that hands events to the host (dynamic libraries only:
    /// a built-in shares the host's subscriber).
    pub const fn new(
        name: &'static str,
        version: &'static str,
        make: fn() -> Vec<Box<dyn Connector>>,
        forward_logs: bool,
    ) -> Self {
        Plugin {
            name,
            version,
            make,
            forward_logs,
            loaded: OnceLock::new(),
        }
    }

    /// The descriptor for these functions.
    pub const fn descriptor(
        init: InitFn,
        describe: DescribeFn,
        test: TestFn,
        run: RunFn,
        free: FreeFn,
    ) -> PluginDescriptor {
        PluginDescriptor {
            magic: MAGIC,
            abi_major: ABI_MAJOR,
            abi_minor: ABI_MINOR,
            size: size_of::<PluginDescriptor>() as u32,
            init: Some(init),
            describe: Some(describe),
            test: Some(test),
            run: Some(run),
            free: Some(free),
        }
    }

    fn loaded(&self) -> &Loaded {
        self.loaded.get_or_init(|| Loaded {
            connectors: (self.make)().into_iter().map(|c| (c.info(), c)).collect(),
        })
    }

    fn find(&self, type_id: &str) -> Result<&(ConnectorInfo, Box<dyn Connector>), ConnectorError> {
        let loaded = self.loaded();
        loaded
            .connectors
            .iter()
            .find(|(info, _)| info.type_id == type_id)
            .ok_or_else(|| {
                let known: Vec<_> = loaded
                    .connectors
                    .iter()
                    .map(|(i, _)| i.type_id.as_str())
                    .collect();
                ConnectorError::new(
                    ErrorKind::UnknownConnectorType,
                    format!(
                        "no connector type '{type_id}' here (offered: {})",
                        known.join(", ")
                    ),
                )
            })
    }

    /// `init`.
    ///
    /// # Safety
    /// `host` is null or points to a valid [`HostApi`].
    pub unsafe fn init(&self, host: *const HostApi) -> Status {
        guard(std::ptr::null_mut(), || {
            if self.forward_logs && !host.is_null() {
                // SAFETY: the caller guarantees `host` is valid; `size` says which fields exist.
                let api = unsafe { read_host_api(host) };
                if let Some(log) = api.log {
                    super::forward_log::install(log, api.max_log_level);
                }
            }
            Ok(Vec::new())
        })
    }

    /// `describe`.
    ///
    /// # Safety
    /// `out` points to a writable [`OutBuf`].
    pub unsafe fn describe(&self, out: *mut OutBuf) -> Status {
        guard(out, || {
            let meta = PluginMeta {
                name: self.name.into(),
                version: self.version.into(),
                sdk_version: crate::SDK_VERSION.into(),
                abi_major: ABI_MAJOR,
                abi_minor: ABI_MINOR,
                connectors: self
                    .loaded()
                    .connectors
                    .iter()
                    .map(|(i, _)| i.clone())
                    .collect(),
            };
            to_json(&meta)
        })
    }

    /// `test`.
    ///
    /// # Safety
    /// `request` points to `len` readable bytes; `out` to a writable [`OutBuf`].
    pub unsafe fn test(&self, request: *const u8, len: usize, out: *mut OutBuf) -> Status {
        guard(out, || {
            // SAFETY: guaranteed by the caller.
            let request: TestRequest = parse(unsafe { bytes(request, len) })?;
            let (info, connector) = self.find(&request.connector_type)?;
            info.parameters.validate(&request.parameters)?;
            let params = info.parameters.with_defaults(&request.parameters);
            to_json(&connector.test(&params)?)
        })
    }

    /// `run`.
    ///
    /// # Safety
    /// `request` points to `len` readable bytes; `callbacks` to valid
    /// [`RunCallbacks`] for the duration of the call; `out` to a writable [`OutBuf`].
    pub unsafe fn run(
        &self,
        request: *const u8,
        len: usize,
        callbacks: *const RunCallbacks,
        out: *mut OutBuf,
    ) -> Status {
        guard(out, || {
            // SAFETY: guaranteed by the caller.
            let request: RunRequest = parse(unsafe { bytes(request, len) })?;
            // SAFETY: guaranteed by the caller.
            let mut sink = unsafe { FfiSink::new(callbacks) }?;
            let (info, connector) = self.find(&request.connector_type)?;
            if request.action == ACTION_TEST || !info.has_action(&request.action) {
                let offered: Vec<&str> = info
                    .actions
                    .iter()
                    .map(|a| a.id.as_str())
                    .filter(|id| *id != ACTION_TEST)
                    .collect();
                return Err(ConnectorError::unknown_action(&request.action, &offered));
            }
            info.parameters.validate(&request.parameters)?;
            let params = info.parameters.with_defaults(&request.parameters);
            let mut ctx = RunContext::new(&mut sink).with_options(request.options.clone());
            let result = connector.run(&request.action, &params, &mut ctx);
            let cancelled = ctx.is_cancelled();
            match result {
                Ok(summary) if !cancelled => to_json(&summary),
                Ok(_) => Err(ConnectorError::cancelled()),
                Err(e) => Err(e),
            }
        })
    }

    /// `free`.
    ///
    /// # Safety
    /// `ptr` and `len` come from an [`OutBuf`] this plugin wrote, not yet freed.
    pub unsafe fn free(ptr: *mut u8, len: usize) {
        if ptr.is_null() {
            return;
        }
        // SAFETY: `write_out` leaked exactly this boxed slice.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) });
    }
}

/// Reads the fields of a [`HostApi`] that its `size` covers.
unsafe fn read_host_api(host: *const HostApi) -> HostApi {
    // SAFETY: the caller guarantees `host` is valid for at least `size` bytes,
    // and `size` is the first field of every version.
    let size = unsafe { (*host).size } as usize;
    let mut api = HostApi {
        size: size as u32,
        abi_major: 0,
        abi_minor: 0,
        max_log_level: LOG_INFO,
        log: None,
    };
    if covers(
        size,
        std::mem::offset_of!(HostApi, max_log_level),
        size_of::<i32>(),
    ) {
        // SAFETY: as above; the fields up to `max_log_level` are covered.
        unsafe {
            api.abi_major = (*host).abi_major;
            api.abi_minor = (*host).abi_minor;
            api.max_log_level = (*host).max_log_level;
        }
    }
    if covers(
        size,
        std::mem::offset_of!(HostApi, log),
        size_of::<Option<LogFn>>(),
    ) {
        // SAFETY: as above; `size` covers the field.
        api.log = unsafe { (*host).log };
    }
    api
}

/// Runs `f`, turning its error or its panic into a status and an error JSON in `out`.
fn guard(out: *mut OutBuf, f: impl FnOnce() -> Result<Vec<u8>, ConnectorError>) -> Status {
    let (status, json) = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(json)) => (STATUS_OK, json),
        Ok(Err(error)) => (status_of(error.kind), error_json(&error)),
        Err(payload) => {
            let error = ConnectorError::new(
                ErrorKind::Panic,
                format!("connector panicked: {}", panic_message(payload.as_ref())),
            );
            (STATUS_PANIC, error_json(&error))
        }
    };
    write_out(out, json);
    status
}

fn write_out(out: *mut OutBuf, json: Vec<u8>) {
    if out.is_null() || json.is_empty() {
        return;
    }
    let len = json.len();
    let ptr = Box::into_raw(json.into_boxed_slice()) as *mut u8;
    // SAFETY: the caller of the export guarantees `out` is writable.
    unsafe {
        (*out).ptr = ptr;
        (*out).len = len;
    }
}

/// The status code of an error kind.
pub fn status_of(kind: ErrorKind) -> Status {
    match kind {
        ErrorKind::Failed => STATUS_FAILED,
        ErrorKind::InvalidParameters => STATUS_INVALID_PARAMETERS,
        ErrorKind::UnknownConnectorType => STATUS_UNKNOWN_CONNECTOR_TYPE,
        ErrorKind::UnknownAction => STATUS_UNKNOWN_ACTION,
        ErrorKind::BadRequest => STATUS_BAD_REQUEST,
        ErrorKind::Cancelled => STATUS_CANCELLED,
        ErrorKind::Panic => STATUS_PANIC,
    }
}

fn error_json(error: &ConnectorError) -> Vec<u8> {
    serde_json::to_vec(error).unwrap_or_default()
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, ConnectorError> {
    serde_json::to_vec(value)
        .map_err(|e| ConnectorError::failed(format!("cannot encode the response: {e}")))
}

fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ConnectorError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ConnectorError::new(ErrorKind::BadRequest, format!("malformed request: {e}")))
}

/// # Safety
/// `ptr` is null with `len == 0`, or points to `len` readable bytes.
unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: guaranteed by the caller.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned())
}

/// A [`RecordSink`] that calls the host's [`RunCallbacks`].
struct FfiSink {
    callbacks: RunCallbacks,
    emit: EmitFn,
}

// SAFETY: the ABI requires host callbacks to be callable from any thread
// (one at a time, which `&mut self` guarantees).
unsafe impl Send for FfiSink {}

impl FfiSink {
    /// # Safety
    /// `callbacks` is null or valid for the duration of the run.
    unsafe fn new(callbacks: *const RunCallbacks) -> Result<Self, ConnectorError> {
        let bad =
            |what: &str| ConnectorError::new(ErrorKind::BadRequest, format!("host passed {what}"));
        if callbacks.is_null() {
            return Err(bad("no run callbacks"));
        }
        // SAFETY: guaranteed by the caller; `size` is the first field.
        let size = unsafe { (*callbacks).size } as usize;
        if size < RUN_CALLBACKS_V1_SIZE {
            return Err(bad("run callbacks smaller than ABI v1 defines"));
        }
        // SAFETY: `size` covers every v1 field; fields a later minor appends
        // are not read.
        let callbacks = unsafe {
            RunCallbacks {
                size: size as u32,
                ctx: (*callbacks).ctx,
                emit: (*callbacks).emit,
                progress: (*callbacks).progress,
                is_cancelled: (*callbacks).is_cancelled,
            }
        };
        let emit = callbacks.emit.ok_or_else(|| bad("no emit callback"))?;
        Ok(FfiSink { callbacks, emit })
    }
}

impl RecordSink for FfiSink {
    fn emit(&mut self, batch: Batch) -> Flow {
        let Ok(json) = serde_json::to_vec(&batch) else {
            return Flow::Stop;
        };
        drop(batch);
        // SAFETY: the host lent these callbacks for the duration of the run.
        let answer = unsafe { (self.emit)(self.callbacks.ctx, json.as_ptr(), json.len()) };
        if answer == EMIT_CONTINUE {
            Flow::Continue
        } else {
            Flow::Stop
        }
    }

    fn progress(&mut self, progress: Progress) {
        if let (Some(f), Ok(json)) = (self.callbacks.progress, serde_json::to_vec(&progress)) {
            // SAFETY: as in `emit`.
            unsafe { f(self.callbacks.ctx, json.as_ptr(), json.len()) };
        }
    }

    fn is_cancelled(&self) -> bool {
        match self.callbacks.is_cancelled {
            // SAFETY: as in `emit`.
            Some(f) => unsafe { f(self.callbacks.ctx) != 0 },
            None => false,
        }
    }
}

/// Exports a plugin library: the entry symbol `invhost_connector_plugin_v1`
/// and the descriptor behind it. Use it once, in the root of a `cdylib` crate.
///
/// ```ignore
/// connector_core::export_plugin!(name: "csv-inventory", connectors: [CsvInventory]);
/// ```
///
/// Each listed type implements [`Connector`] and `Default`. `name:` becomes
/// the plugin's name in `invhost plugin list` and in the host's messages
/// (use the crate's name); the plugin's version is the crate's
/// `CARGO_PKG_VERSION`, and its SDK version this crate's. The generated code
/// answers the ABI's calls: it checks the request, validates the parameters
/// against each connector's schema and fills in defaults before `test` or
/// `run` sees them, refuses unknown connector types and actions, catches
/// panics (reported as the connector's failure), and forwards the plugin's
/// `tracing` events to the host's log.
#[macro_export]
macro_rules! export_plugin {
    (name: $name:expr, connectors: [$($connector:ty),+ $(,)?] $(,)?) => {
        $crate::__plugin_descriptor!(__INVHOST_DESCRIPTOR, $name, true, [$($connector),+]);

        /// The entry symbol of ABI v1.
        #[unsafe(no_mangle)]
        pub extern "C" fn invhost_connector_plugin_v1() -> *const $crate::abi::PluginDescriptor {
            &__INVHOST_DESCRIPTOR
        }

        /// The exported descriptor, for the crate's own tests
        /// (`connector_core::testing::Harness::exported`).
        #[doc(hidden)]
        #[allow(dead_code)]
        pub fn __invhost_descriptor() -> &'static $crate::abi::PluginDescriptor {
            &__INVHOST_DESCRIPTOR
        }
    };
}

/// Registers connectors as built-ins of the host, through the same
/// descriptor a plugin library exports. Use it once per crate.
///
/// ```ignore
/// connector_core::register_builtin!(name: "connector-o365", connectors: [O365Connector]);
/// ```
#[macro_export]
macro_rules! register_builtin {
    (name: $name:expr, connectors: [$($connector:ty),+ $(,)?] $(,)?) => {
        const _: () = {
            $crate::__plugin_descriptor!(DESCRIPTOR, $name, false, [$($connector),+]);
            $crate::__private::inventory::submit! {
                $crate::abi::BuiltinPlugin::new($name, &DESCRIPTOR)
            }
        };
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __plugin_descriptor {
    ($descriptor:ident, $name:expr, $forward_logs:expr, [$($connector:ty),+]) => {
        static $descriptor: $crate::abi::PluginDescriptor = {
            use $crate::abi::{self, export::Plugin};
            static PLUGIN: Plugin = Plugin::new(
                $name,
                env!("CARGO_PKG_VERSION"),
                || vec![$(Box::new(<$connector as ::core::default::Default>::default()) as Box<dyn $crate::Connector>),+],
                $forward_logs,
            );
            unsafe extern "C" fn init(host: *const abi::HostApi) -> abi::Status {
                // SAFETY: the ABI's contract on `init`.
                unsafe { PLUGIN.init(host) }
            }
            unsafe extern "C" fn describe(out: *mut abi::OutBuf) -> abi::Status {
                // SAFETY: the ABI's contract on `describe`.
                unsafe { PLUGIN.describe(out) }
            }
            unsafe extern "C" fn test(request: *const u8, len: usize, out: *mut abi::OutBuf) -> abi::Status {
                // SAFETY: the ABI's contract on `test`.
                unsafe { PLUGIN.test(request, len, out) }
            }
            unsafe extern "C" fn run(
                request: *const u8,
                len: usize,
                callbacks: *const abi::RunCallbacks,
                out: *mut abi::OutBuf,
            ) -> abi::Status {
                // SAFETY: the ABI's contract on `run`.
                unsafe { PLUGIN.run(request, len, callbacks, out) }
            }
            unsafe extern "C" fn free(ptr: *mut u8, len: usize) {
                // SAFETY: the ABI's contract on `free`.
                unsafe { Plugin::free(ptr, len) }
            }
            Plugin::descriptor(init, describe, test, run, free)
        };
    };
}
