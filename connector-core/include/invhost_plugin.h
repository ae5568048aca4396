/*
 * invhost_plugin.h - the invhost connector plugin ABI, version 1.1 (1.0 plugins load unchanged).
 *
 * A plugin is a shared library that exports one function,
 * `invhost_connector_plugin_v1`, returning a pointer to a static
 * `invhost_plugin_descriptor`. Only the plain C structs below cross the
 * boundary; everything with meaning is UTF-8 JSON passed as pointer + length
 * (never NUL-terminated). `ABI.md` beside this directory documents every
 * call and every JSON message.
 *
 * This header mirrors `connector-core/src/abi/types.rs` field for field;
 * the two must change together.
 *
 * Plain C99; the layout checks at the bottom need C11.
 */
#ifndef INVHOST_PLUGIN_H
#define INVHOST_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Constants                                                                 */
/* ------------------------------------------------------------------------ */

/** First field of every descriptor: the bytes "INVHPLUG" read as a
 *  big-endian 64-bit integer. Store and compare it as an integer. */
#define INVHOST_MAGIC 0x494E5648504C5547ULL

/** The ABI major this header describes; a host accepts only exactly this major. */
#define INVHOST_ABI_MAJOR 1

/** The ABI minor this header describes; later minors only append fields.
 *  1.1 added `records` ("sync" or "none") to an action in the describe JSON:
 *  set abi_minor to 1 when you declare it. */
#define INVHOST_ABI_MINOR 1

/** Name of the one symbol a plugin library exports. */
#define INVHOST_ENTRY_SYMBOL "invhost_connector_plugin_v1"

/** Bytes of the descriptor header (magic, abi_major, abi_minor, size) that a
 *  host reads before trusting anything else. */
#define INVHOST_DESCRIPTOR_HEADER_SIZE 16

/** Status code every call returns (see the INVHOST_STATUS_* values). */
typedef int32_t invhost_status;

/** The call succeeded; `out` holds the response JSON. */
#define INVHOST_STATUS_OK 0
/** The action failed; `out` holds an error JSON. */
#define INVHOST_STATUS_FAILED 1
/** The parameters do not fit the schema; `out` holds an error JSON naming the field. */
#define INVHOST_STATUS_INVALID_PARAMETERS 2
/** The plugin has no connector of the requested type; `out` holds an error JSON. */
#define INVHOST_STATUS_UNKNOWN_CONNECTOR_TYPE 3
/** The connector does not offer the requested action; `out` holds an error JSON. */
#define INVHOST_STATUS_UNKNOWN_ACTION 4
/** The request was not valid JSON of the expected shape; `out` holds an error JSON. */
#define INVHOST_STATUS_BAD_REQUEST 5
/** The run stopped because the host asked it to (cancel, or emit answered STOP). */
#define INVHOST_STATUS_CANCELLED 6
/** The plugin panicked / hit an exception (caught before the boundary);
 *  `out` may hold an error JSON. */
#define INVHOST_STATUS_PANIC 7

/** What the emit callback returns to go on. */
#define INVHOST_EMIT_CONTINUE 0
/** What the emit callback returns to stop: end the run as soon as possible.
 *  Treat any value other than INVHOST_EMIT_CONTINUE as stop. */
#define INVHOST_EMIT_STOP 1

/** Log level: error. */
#define INVHOST_LOG_ERROR 1
/** Log level: warning. */
#define INVHOST_LOG_WARN 2
/** Log level: information. */
#define INVHOST_LOG_INFO 3
/** Log level: debugging detail. */
#define INVHOST_LOG_DEBUG 4
/** Log level: tracing detail. */
#define INVHOST_LOG_TRACE 5

/** Marks the entry point for export from the shared library. */
#if defined(_WIN32) || defined(__CYGWIN__)
#define INVHOST_EXPORT __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define INVHOST_EXPORT __attribute__((visibility("default")))
#else
#define INVHOST_EXPORT
#endif

/* ------------------------------------------------------------------------ */
/* Buffers                                                                   */
/* ------------------------------------------------------------------------ */

/** A buffer the plugin allocates and fills with UTF-8 JSON. The host passes
 *  it in empty (ptr NULL, len 0) and, once it has read it, hands ptr and len
 *  back to the plugin's `free` exactly once if ptr is not NULL. */
typedef struct invhost_out_buf {
    /** Start of the UTF-8 JSON (not NUL-terminated), or NULL when there is nothing. */
    uint8_t *ptr;
    /** Its length in bytes. */
    size_t len;
} invhost_out_buf;

/* ------------------------------------------------------------------------ */
/* What the host gives the plugin                                            */
/* ------------------------------------------------------------------------ */

/** Host log callback. `level` is one of the INVHOST_LOG_* values; `target`
 *  (a module/component name) and `message` are UTF-8, not NUL-terminated, and
 *  need only be valid for the call. Callable from any thread at any time. */
typedef void (*invhost_log_fn)(int32_t level,
                               const uint8_t *target, size_t target_len,
                               const uint8_t *message, size_t message_len);

/** What the host gives a plugin once, in `init`; valid for the life of the
 *  process (copy it or keep the pointer). */
typedef struct invhost_host_api {
    /** sizeof(invhost_host_api) as the host built it; read a field only if
     *  this covers it (offset + size of the field <= size). */
    uint32_t size;
    /** The host's ABI major. */
    uint16_t abi_major;
    /** The host's ABI minor. */
    uint16_t abi_minor;
    /** The most detailed INVHOST_LOG_* level the host keeps; skip more
     *  detailed messages. 0 or less: the host keeps nothing. */
    int32_t max_log_level;
    /** Log sink, or NULL. */
    invhost_log_fn log;
} invhost_host_api;

/** Emit callback: hands one batch JSON to the host. Blocks while the host
 *  catches up (backpressure). Returns INVHOST_EMIT_CONTINUE or INVHOST_EMIT_STOP. */
typedef int32_t (*invhost_emit_fn)(void *ctx, const uint8_t *batch, size_t len);

/** Progress callback: hands one progress JSON to the host. */
typedef void (*invhost_progress_fn)(void *ctx, const uint8_t *progress, size_t len);

/** Cancellation query: non-zero when the operator cancelled the run. */
typedef int32_t (*invhost_is_cancelled_fn)(void *ctx);

/** What the host lends a plugin for one `run` call. Valid until `run`
 *  returns; the callbacks may be called from any thread, one at a time. */
typedef struct invhost_run_callbacks {
    /** sizeof(invhost_run_callbacks) as the host built it; read a field only if this covers it. */
    uint32_t size;
    /** The host's context; pass it back to every callback. */
    void *ctx;
    /** Takes a batch (the backpressure point). */
    invhost_emit_fn emit;
    /** Takes a progress note; may be NULL. */
    invhost_progress_fn progress;
    /** Asks whether the run was cancelled; may be NULL (never cancelled). */
    invhost_is_cancelled_fn is_cancelled;
} invhost_run_callbacks;

/* ------------------------------------------------------------------------ */
/* What the plugin exports                                                   */
/* ------------------------------------------------------------------------ */

/** `init`: called when the host loads the library, before any other call,
 *  with the host's API (again if the same library is loaded a second time:
 *  make that harmless). Returns INVHOST_STATUS_OK, or another status to
 *  refuse to load (log the reason first: init has no output buffer). */
typedef invhost_status (*invhost_init_fn)(const invhost_host_api *host);

/** `describe`: writes the plugin metadata JSON (PluginMeta) into `out`. */
typedef invhost_status (*invhost_describe_fn)(invhost_out_buf *out);

/** `test`: takes a test request JSON (`request`, `len` bytes, valid for the
 *  call only) and writes a test report (or error) JSON into `out`. */
typedef invhost_status (*invhost_test_fn)(const uint8_t *request, size_t len,
                                          invhost_out_buf *out);

/** `run`: takes a run request JSON, emits batches through `callbacks`, and
 *  writes a run summary (or error) JSON into `out`. */
typedef invhost_status (*invhost_run_fn)(const uint8_t *request, size_t len,
                                         const invhost_run_callbacks *callbacks,
                                         invhost_out_buf *out);

/** `free`: releases a buffer this plugin wrote into an invhost_out_buf;
 *  `ptr` and `len` are exactly what the plugin wrote. */
typedef void (*invhost_free_fn)(uint8_t *ptr, size_t len);

/** The static descriptor the entry symbol returns. It must stay valid and
 *  unchanged for the life of the process. */
typedef struct invhost_plugin_descriptor {
    /** Always INVHOST_MAGIC. */
    uint64_t magic;
    /** ABI major the plugin was built for; must equal the host's. */
    uint16_t abi_major;
    /** ABI minor the plugin was built for. */
    uint16_t abi_minor;
    /** sizeof(invhost_plugin_descriptor) as the plugin built it. */
    uint32_t size;
    /** See invhost_init_fn. Must not be NULL. */
    invhost_init_fn init;
    /** See invhost_describe_fn. Must not be NULL. */
    invhost_describe_fn describe;
    /** See invhost_test_fn. Must not be NULL. */
    invhost_test_fn test;
    /** See invhost_run_fn. Must not be NULL. */
    invhost_run_fn run;
    /** See invhost_free_fn. Must not be NULL. */
    invhost_free_fn free;
} invhost_plugin_descriptor;

/** Type of the entry symbol. */
typedef const invhost_plugin_descriptor *(*invhost_entry_fn)(void);

/** The entry point every plugin library exports (define it in your plugin;
 *  return the address of a static descriptor, the same one every time). */
INVHOST_EXPORT const invhost_plugin_descriptor *invhost_connector_plugin_v1(void);

/* ------------------------------------------------------------------------ */
/* Layout checks (C11, 64-bit targets): must match types.rs                  */
/* ------------------------------------------------------------------------ */

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && UINTPTR_MAX == 0xffffffffffffffff
_Static_assert(sizeof(invhost_out_buf) == 16, "invhost_out_buf must be 16 bytes");
_Static_assert(offsetof(invhost_out_buf, len) == 8, "invhost_out_buf.len at 8");

_Static_assert(sizeof(invhost_host_api) == 24, "invhost_host_api must be 24 bytes");
_Static_assert(offsetof(invhost_host_api, abi_major) == 4, "invhost_host_api.abi_major at 4");
_Static_assert(offsetof(invhost_host_api, abi_minor) == 6, "invhost_host_api.abi_minor at 6");
_Static_assert(offsetof(invhost_host_api, max_log_level) == 8, "invhost_host_api.max_log_level at 8");
_Static_assert(offsetof(invhost_host_api, log) == 16, "invhost_host_api.log at 16");

_Static_assert(sizeof(invhost_run_callbacks) == 40, "invhost_run_callbacks must be 40 bytes");
_Static_assert(offsetof(invhost_run_callbacks, ctx) == 8, "invhost_run_callbacks.ctx at 8");
_Static_assert(offsetof(invhost_run_callbacks, emit) == 16, "invhost_run_callbacks.emit at 16");
_Static_assert(offsetof(invhost_run_callbacks, progress) == 24, "invhost_run_callbacks.progress at 24");
_Static_assert(offsetof(invhost_run_callbacks, is_cancelled) == 32, "invhost_run_callbacks.is_cancelled at 32");

_Static_assert(sizeof(invhost_plugin_descriptor) == 56, "invhost_plugin_descriptor must be 56 bytes");
_Static_assert(offsetof(invhost_plugin_descriptor, abi_major) == 8, "descriptor.abi_major at 8");
_Static_assert(offsetof(invhost_plugin_descriptor, abi_minor) == 10, "descriptor.abi_minor at 10");
_Static_assert(offsetof(invhost_plugin_descriptor, size) == 12, "descriptor.size at 12");
_Static_assert(offsetof(invhost_plugin_descriptor, init) == INVHOST_DESCRIPTOR_HEADER_SIZE,
               "descriptor.init at 16, right after the header");
_Static_assert(offsetof(invhost_plugin_descriptor, free) == 48, "descriptor.free at 48");
#endif

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* INVHOST_PLUGIN_H */
