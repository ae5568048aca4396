//! Calling a descriptor's functions: output buffers, error JSON, run callbacks.

use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;

use serde::de::DeserializeOwned;

use crate::abi::{self, EMIT_CONTINUE, EMIT_STOP, OutBuf, PluginDescriptor, RunCallbacks, Status};
use crate::context::{Flow, Progress, RecordSink};
use crate::error::{ConnectorError, ErrorKind};
use crate::model::{Batch, RecordKind};

/// What one call returned: its status and a copy of its output buffer.
pub(super) struct Reply {
    pub status: Status,
    pub body: Vec<u8>,
}

/// Runs `f` on a thread of its own, handing it an output buffer, then copies
/// the buffer and gives it back to the plugin's `free`.
pub(super) fn call<F>(descriptor: &'static PluginDescriptor, f: F) -> Reply
where
    F: FnOnce(*mut OutBuf) -> Status + Send,
{
    std::thread::scope(|scope| {
        let worker = scope.spawn(move || {
            let mut out = OutBuf::empty();
            let status = f(&mut out);
            let body = if out.ptr.is_null() {
                Vec::new()
            } else {
                // SAFETY: the plugin wrote `len` bytes at `ptr` and keeps them until `free`.
                let body = unsafe { std::slice::from_raw_parts(out.ptr, out.len) }.to_vec();
                if let Some(free) = descriptor.free {
                    // SAFETY: returned exactly once, as the ABI says.
                    unsafe { free(out.ptr, out.len) };
                }
                body
            };
            Reply { status, body }
        });
        worker.join().unwrap_or_else(|payload| Reply {
            status: abi::STATUS_PANIC,
            body: error_body(&format!(
                "the call crashed the host's worker thread: {}",
                abi::export::panic_message(payload.as_ref())
            )),
        })
    })
}

fn error_body(message: &str) -> Vec<u8> {
    serde_json::to_vec(&ConnectorError::failed(message)).unwrap_or_default()
}

/// Interprets a reply: the response on success, the plugin's error otherwise.
pub(super) fn decode<T: DeserializeOwned>(reply: Reply, what: &str) -> Result<T, ConnectorError> {
    if reply.status == abi::STATUS_OK {
        return serde_json::from_slice(&reply.body).map_err(|e| {
            ConnectorError::failed(format!("returned an invalid {what} response: {e}"))
        });
    }
    let kind = match reply.status {
        abi::STATUS_FAILED => ErrorKind::Failed,
        abi::STATUS_INVALID_PARAMETERS => ErrorKind::InvalidParameters,
        abi::STATUS_UNKNOWN_CONNECTOR_TYPE => ErrorKind::UnknownConnectorType,
        abi::STATUS_UNKNOWN_ACTION => ErrorKind::UnknownAction,
        abi::STATUS_BAD_REQUEST => ErrorKind::BadRequest,
        abi::STATUS_CANCELLED => ErrorKind::Cancelled,
        abi::STATUS_PANIC => ErrorKind::Panic,
        other => {
            return Err(ConnectorError::failed(format!(
                "{what} returned unknown status {other}"
            )));
        }
    };
    let mut error = serde_json::from_slice::<ConnectorError>(&reply.body).unwrap_or_else(|_| {
        ConnectorError::new(
            kind,
            format!(
                "{what} failed with status {} and no readable message",
                reply.status
            ),
        )
    });
    error.kind = kind;
    if error.message.trim().is_empty() {
        error.message = format!("{what} failed with status {}", reply.status);
    }
    Err(error)
}

/// The host's state behind one run's callbacks.
pub(super) struct RunState<'a> {
    sink: Mutex<&'a mut dyn RecordSink>,
    /// The kinds the connector declares; empty when it declares none.
    declared: Vec<RecordKind>,
    /// Set when the plugin emitted something the host cannot take.
    pub failure: Mutex<Option<String>>,
}

impl<'a> RunState<'a> {
    pub fn new(sink: &'a mut dyn RecordSink, declared: Vec<RecordKind>) -> Self {
        RunState {
            sink: Mutex::new(sink),
            declared,
            failure: Mutex::new(None),
        }
    }

    /// The callbacks to lend for this run; valid while `self` lives.
    pub fn callbacks(&self) -> RunCallbacks {
        RunCallbacks {
            size: size_of::<RunCallbacks>() as u32,
            ctx: std::ptr::from_ref(self).cast_mut().cast::<c_void>(),
            emit: Some(emit),
            progress: Some(progress),
            is_cancelled: Some(is_cancelled),
        }
    }

    pub fn take_failure(&self) -> Option<String> {
        self.failure.lock().ok().and_then(|mut f| f.take())
    }

    pub fn cancelled(&self) -> bool {
        self.sink.lock().map(|s| s.is_cancelled()).unwrap_or(true)
    }

    fn fail(&self, message: String) {
        if let Ok(mut failure) = self.failure.lock()
            && failure.is_none()
        {
            *failure = Some(message);
        }
    }
}

/// The largest batch the host takes (64 MiB of JSON): the SDK's batches of
/// 1000 records are well under 1 MiB.
pub const MAX_BATCH_BYTES: usize = 64 << 20;

/// Reads one batch as a plugin hands it to `emit`: at most
/// [`MAX_BATCH_BYTES`] of UTF-8 JSON of the batch's shape, every record with
/// a key. The error is one line, worded for the process log.
pub fn decode_batch(bytes: &[u8]) -> Result<Batch, InvalidBatch> {
    if bytes.len() > MAX_BATCH_BYTES {
        return Err(InvalidBatch(format!(
            "a batch of {} MiB, more than the {} MiB a batch may hold; emit smaller batches",
            bytes.len() >> 20,
            MAX_BATCH_BYTES >> 20
        )));
    }
    let batch: Batch = serde_json::from_slice(bytes).map_err(|e| InvalidBatch(e.to_string()))?;
    validate(&batch).map_err(InvalidBatch)?;
    Ok(batch)
}

/// Why the host refused a batch, in one line for the process log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidBatch(pub String);

impl std::fmt::Display for InvalidBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidBatch {}

/// Checks that a batch holds, and marks complete, only kinds the connector
/// declares in `record_kinds` (any kind when it declares none).
pub fn declared(batch: &Batch, kinds: &[RecordKind]) -> Result<(), InvalidBatch> {
    if kinds.is_empty() {
        return Ok(());
    }
    let undeclared = batch
        .records
        .iter()
        .map(crate::model::Record::kind)
        .chain(batch.complete.iter().copied())
        .find(|kind| !kinds.contains(kind));
    match undeclared {
        None => Ok(()),
        Some(kind) => Err(InvalidBatch(format!(
            "'{kind}' is not one of the record kinds the connector declares ({})",
            kinds
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Checks what serde cannot: every record has a key.
fn validate(batch: &Batch) -> Result<(), String> {
    match batch
        .records
        .iter()
        .find(|r| r.source_key().trim().is_empty())
    {
        Some(record) => Err(format!(
            "a {} record has an empty source_key",
            record.kind()
        )),
        None => Ok(()),
    }
}

/// # Safety
/// `ctx` is the `RunState` whose callbacks were lent; `ptr`/`len` readable.
unsafe fn state<'a>(ctx: *mut c_void) -> &'a RunState<'a> {
    // SAFETY: guaranteed by the caller.
    unsafe { &*ctx.cast::<RunState<'a>>() }
}

unsafe extern "C" fn emit(ctx: *mut c_void, ptr: *const u8, len: usize) -> i32 {
    // SAFETY: the plugin passes back the ctx we lent, valid during the run.
    let state = unsafe { state(ctx) };
    let bytes = if ptr.is_null() {
        &[][..]
    } else {
        // SAFETY: the ABI says `ptr` holds `len` bytes for the call.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    };
    let result = catch_unwind(AssertUnwindSafe(|| {
        let batch =
            match decode_batch(bytes).and_then(|b| declared(&b, &state.declared).map(|()| b)) {
                Ok(batch) => batch,
                Err(e) => {
                    state.fail(format!("the plugin emitted an invalid batch: {e}"));
                    return EMIT_STOP;
                }
            };
        let Ok(mut sink) = state.sink.lock() else {
            return EMIT_STOP;
        };
        match sink.emit(batch) {
            Flow::Continue => EMIT_CONTINUE,
            Flow::Stop => EMIT_STOP,
        }
    }));
    result.unwrap_or_else(|payload| {
        state.fail(format!(
            "the host failed to take a batch: {}",
            abi::export::panic_message(payload.as_ref())
        ));
        EMIT_STOP
    })
}

unsafe extern "C" fn progress(ctx: *mut c_void, ptr: *const u8, len: usize) {
    // SAFETY: as in `emit`.
    let state = unsafe { state(ctx) };
    if ptr.is_null() {
        return;
    }
    // SAFETY: as in `emit`.
    let bytes = unsafe { std::slice::from_raw_parts(ptr, len) };
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if let (Ok(progress), Ok(mut sink)) =
            (serde_json::from_slice::<Progress>(bytes), state.sink.lock())
        {
            sink.progress(progress);
        }
    }));
}

unsafe extern "C" fn is_cancelled(ctx: *mut c_void) -> i32 {
    // SAFETY: as in `emit`.
    let state = unsafe { state(ctx) };
    catch_unwind(AssertUnwindSafe(|| i32::from(state.cancelled()))).unwrap_or(1)
}
