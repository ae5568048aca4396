//! The `#[repr(C)]` layout of ABI v1. Keep in step with `include/invhost_plugin.h`.

use std::ffi::c_void;

/// First field of every descriptor: the bytes `INVHPLUG` read as a
/// big-endian `u64`.
pub const MAGIC: u64 = 0x494E_5648_504C_5547;
/// The ABI major this SDK speaks; a host accepts only exactly this major.
pub const ABI_MAJOR: u16 = 1;
/// The ABI minor this SDK speaks; minors only append fields.
pub const ABI_MINOR: u16 = 1;
/// Name of the one symbol a plugin library exports.
pub const ENTRY_SYMBOL: &str = "invhost_connector_plugin_v1";

/// Status code every call returns.
pub type Status = i32;
/// The call succeeded; `out` holds the response JSON.
pub const STATUS_OK: Status = 0;
/// The action failed; `out` holds an error JSON.
pub const STATUS_FAILED: Status = 1;
/// The parameters do not fit the schema; `out` holds an error JSON naming the field.
pub const STATUS_INVALID_PARAMETERS: Status = 2;
/// The plugin has no connector of the requested type.
pub const STATUS_UNKNOWN_CONNECTOR_TYPE: Status = 3;
/// The connector does not offer the requested action.
pub const STATUS_UNKNOWN_ACTION: Status = 4;
/// The request was not valid JSON of the expected shape.
pub const STATUS_BAD_REQUEST: Status = 5;
/// The run stopped because the host asked it to.
pub const STATUS_CANCELLED: Status = 6;
/// The plugin panicked (or hit the equivalent in its language); `out` may hold an error JSON.
pub const STATUS_PANIC: Status = 7;

/// What [`RunCallbacks::emit`] returns to go on.
pub const EMIT_CONTINUE: i32 = 0;
/// What [`RunCallbacks::emit`] returns to stop: end the run as soon as possible.
pub const EMIT_STOP: i32 = 1;

/// Log levels of [`HostApi::log`].
pub const LOG_ERROR: i32 = 1;
/// Warning.
pub const LOG_WARN: i32 = 2;
/// Information.
pub const LOG_INFO: i32 = 3;
/// Debugging detail.
pub const LOG_DEBUG: i32 = 4;
/// Tracing detail.
pub const LOG_TRACE: i32 = 5;

/// A buffer the plugin allocates and fills; the host hands it back to the
/// plugin's `free` once it has read it. `ptr` is null when there is nothing.
#[repr(C)]
#[derive(Debug)]
pub struct OutBuf {
    /// Start of the UTF-8 JSON, or null.
    pub ptr: *mut u8,
    /// Its length in bytes.
    pub len: usize,
}

impl OutBuf {
    /// An empty buffer, as the host passes it in.
    pub const fn empty() -> Self {
        OutBuf {
            ptr: std::ptr::null_mut(),
            len: 0,
        }
    }
}

/// Host log callback: `level` is one of the `LOG_*` constants; `target` and
/// `message` are UTF-8, valid for the call only.
pub type LogFn = unsafe extern "C" fn(
    level: i32,
    target: *const u8,
    target_len: usize,
    message: *const u8,
    message_len: usize,
);

/// What the host gives a plugin once, in `init`; valid for the life of the process.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct HostApi {
    /// `size_of::<HostApi>()` as the host built it; read a field only if this covers it.
    pub size: u32,
    /// The host's ABI major.
    pub abi_major: u16,
    /// The host's ABI minor.
    pub abi_minor: u16,
    /// The most detailed `LOG_*` level the host will keep; skip the rest.
    pub max_log_level: i32,
    /// Log sink; callable from any thread at any time.
    pub log: Option<LogFn>,
}

/// Emit callback: hands one batch JSON to the host; returns [`EMIT_CONTINUE`] or [`EMIT_STOP`].
pub type EmitFn = unsafe extern "C" fn(ctx: *mut c_void, batch: *const u8, len: usize) -> i32;
/// Progress callback: hands one progress JSON to the host.
pub type ProgressFn = unsafe extern "C" fn(ctx: *mut c_void, progress: *const u8, len: usize);
/// Cancellation query: non-zero when the operator cancelled the run.
pub type IsCancelledFn = unsafe extern "C" fn(ctx: *mut c_void) -> i32;

/// What the host lends a plugin for one `run` call. Valid until `run`
/// returns; the callbacks may be called from any thread, one at a time.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct RunCallbacks {
    /// `size_of::<RunCallbacks>()` as the host built it.
    pub size: u32,
    /// The host's context, passed back to every callback.
    pub ctx: *mut c_void,
    /// Takes a batch (the backpressure point: it blocks while the host catches up).
    pub emit: Option<EmitFn>,
    /// Takes a progress note.
    pub progress: Option<ProgressFn>,
    /// Asks whether the run was cancelled.
    pub is_cancelled: Option<IsCancelledFn>,
}

/// `init`: called once, before any other call, with the host's API.
pub type InitFn = unsafe extern "C" fn(host: *const HostApi) -> Status;
/// `describe`: writes the plugin metadata JSON into `out`.
pub type DescribeFn = unsafe extern "C" fn(out: *mut OutBuf) -> Status;
/// `test`: takes a test request JSON, writes a test report (or error) JSON into `out`.
pub type TestFn = unsafe extern "C" fn(request: *const u8, len: usize, out: *mut OutBuf) -> Status;
/// `run`: takes a run request JSON, emits batches, writes a run summary (or error) JSON into `out`.
pub type RunFn = unsafe extern "C" fn(
    request: *const u8,
    len: usize,
    callbacks: *const RunCallbacks,
    out: *mut OutBuf,
) -> Status;
/// `free`: releases a buffer the plugin wrote into an [`OutBuf`].
pub type FreeFn = unsafe extern "C" fn(ptr: *mut u8, len: usize);

/// The static descriptor the entry symbol returns.
#[repr(C)]
#[derive(Debug)]
pub struct PluginDescriptor {
    /// Always [`MAGIC`].
    pub magic: u64,
    /// ABI major the plugin was built for; must equal the host's.
    pub abi_major: u16,
    /// ABI minor the plugin was built for.
    pub abi_minor: u16,
    /// `size_of::<PluginDescriptor>()` as the plugin built it.
    pub size: u32,
    /// See [`InitFn`].
    pub init: Option<InitFn>,
    /// See [`DescribeFn`].
    pub describe: Option<DescribeFn>,
    /// See [`TestFn`].
    pub test: Option<TestFn>,
    /// See [`RunFn`].
    pub run: Option<RunFn>,
    /// See [`FreeFn`].
    pub free: Option<FreeFn>,
}

/// Size of the descriptor header (magic, major, minor, size) that a host
/// reads before trusting anything else.
pub const DESCRIPTOR_HEADER_SIZE: usize = 16;

/// Whether a struct of `size` bytes (its own `size` field) covers the field
/// at `offset` of `field_size` bytes. Later minors append fields, so code
/// built against a newer SDK reads a field only when this holds, instead of
/// comparing `size` with its own, larger `size_of`.
pub const fn covers(size: usize, offset: usize, field_size: usize) -> bool {
    offset + field_size <= size
}

/// Bytes of [`PluginDescriptor`] that ABI v1.0 defines (up to `free`).
pub const DESCRIPTOR_V1_SIZE: usize =
    std::mem::offset_of!(PluginDescriptor, free) + size_of::<Option<FreeFn>>();
/// Bytes of [`RunCallbacks`] that ABI v1.0 defines (up to `is_cancelled`).
pub const RUN_CALLBACKS_V1_SIZE: usize =
    std::mem::offset_of!(RunCallbacks, is_cancelled) + size_of::<Option<IsCancelledFn>>();

/// Type of the entry symbol.
pub type EntryFn = unsafe extern "C" fn() -> *const PluginDescriptor;

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    /// Guards the layout the C header promises on 64-bit targets.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn layout_matches_the_c_header() {
        assert_eq!(offset_of!(PluginDescriptor, abi_major), 8);
        assert_eq!(offset_of!(PluginDescriptor, size), 12);
        assert_eq!(offset_of!(PluginDescriptor, init), DESCRIPTOR_HEADER_SIZE);
        assert_eq!(size_of::<PluginDescriptor>(), 56);
        assert_eq!(size_of::<HostApi>(), 24);
        assert_eq!(size_of::<RunCallbacks>(), 40);
        assert_eq!(size_of::<OutBuf>(), 16);
        assert_eq!(&MAGIC.to_be_bytes(), b"INVHPLUG");
        assert_eq!(DESCRIPTOR_V1_SIZE, 56);
        assert_eq!(RUN_CALLBACKS_V1_SIZE, 40);
    }
}
