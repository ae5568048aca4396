//! The host's log callback: plugin log lines into the host's `tracing` subscriber.

use std::panic::{AssertUnwindSafe, catch_unwind};

use tracing::level_filters::LevelFilter;

use crate::abi::{HostApi, LOG_DEBUG, LOG_ERROR, LOG_INFO, LOG_TRACE, LOG_WARN};

/// The API handed to every plugin's `init`; lives for the whole process.
pub(super) fn host_api() -> &'static HostApi {
    static API: std::sync::OnceLock<HostApi> = std::sync::OnceLock::new();
    API.get_or_init(|| HostApi {
        size: size_of::<HostApi>() as u32,
        abi_major: crate::abi::ABI_MAJOR,
        abi_minor: crate::abi::ABI_MINOR,
        max_log_level: match LevelFilter::current() {
            LevelFilter::OFF => 0,
            LevelFilter::ERROR => LOG_ERROR,
            LevelFilter::WARN => LOG_WARN,
            LevelFilter::INFO => LOG_INFO,
            LevelFilter::DEBUG => LOG_DEBUG,
            _ => LOG_TRACE,
        },
        log: Some(host_log),
    })
}

unsafe extern "C" fn host_log(
    level: i32,
    target: *const u8,
    target_len: usize,
    message: *const u8,
    message_len: usize,
) {
    // SAFETY: the ABI says both buffers are valid UTF-8 for the call; bad
    // UTF-8 is replaced, never trusted.
    let (target, message) = unsafe { (text(target, target_len), text(message, message_len)) };
    let _ = catch_unwind(AssertUnwindSafe(|| match level {
        LOG_ERROR => {
            tracing::error!(target: "invhost::plugin", plugin_target = %target, "{message}")
        }
        LOG_WARN => tracing::warn!(target: "invhost::plugin", plugin_target = %target, "{message}"),
        LOG_INFO => tracing::info!(target: "invhost::plugin", plugin_target = %target, "{message}"),
        LOG_DEBUG => {
            tracing::debug!(target: "invhost::plugin", plugin_target = %target, "{message}")
        }
        _ => tracing::trace!(target: "invhost::plugin", plugin_target = %target, "{message}"),
    }));
}

unsafe fn text(ptr: *const u8, len: usize) -> String {
    if ptr.is_null() || len == 0 {
        return String::new();
    }
    // SAFETY: guaranteed by the caller.
    String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(ptr, len) }).into_owned()
}
