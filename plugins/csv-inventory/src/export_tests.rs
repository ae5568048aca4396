//! The exported descriptor, called the way the host calls a loaded library:
//! JSON in, JSON out, records through the run callbacks.

use std::ffi::c_void;
use std::path::Path;

use connector_core::abi::messages::{PluginMeta, RunRequest, TestRequest};
use connector_core::abi::{
    EMIT_CONTINUE, OutBuf, PluginDescriptor, RunCallbacks, STATUS_OK, Status,
};
use connector_core::{
    Batch, CheckStatus, Parameters, RecordKind, RunOptions, RunSummary, TestReport,
};

fn descriptor() -> &'static PluginDescriptor {
    // SAFETY: the entry symbol returns a pointer to a static descriptor.
    unsafe { &*crate::invhost_connector_plugin_v1() }
}

/// Takes the JSON out of `out` and frees it with the plugin's `free`.
fn take(out: OutBuf) -> Vec<u8> {
    assert!(!out.ptr.is_null());
    // SAFETY: the plugin wrote `len` bytes at `ptr` and has not freed them.
    let json = unsafe { std::slice::from_raw_parts(out.ptr, out.len) }.to_vec();
    let free = descriptor().free.expect("free");
    // SAFETY: handing the buffer back exactly once.
    unsafe { free(out.ptr, out.len) };
    json
}

fn sample_params() -> Parameters {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sample");
    let mut params = Parameters::new();
    params.insert("folder", sample.to_string_lossy().as_ref());
    params
}

#[derive(Default)]
struct Received {
    batches: Vec<Batch>,
}

unsafe extern "C" fn emit(ctx: *mut c_void, batch: *const u8, len: usize) -> i32 {
    // SAFETY: `ctx` is the `Received` the test lent for the run; the plugin
    // passes `len` readable bytes.
    let (received, bytes) = unsafe {
        (
            &mut *ctx.cast::<Received>(),
            std::slice::from_raw_parts(batch, len),
        )
    };
    received
        .batches
        .push(serde_json::from_slice(bytes).expect("batch JSON"));
    EMIT_CONTINUE
}

#[test]
fn describe_names_the_connector_type_and_its_parameters() {
    let d = descriptor();
    let mut out = OutBuf::empty();
    // SAFETY: `out` is writable.
    let status: Status = unsafe { d.describe.expect("describe")(&mut out) };
    assert_eq!(status, STATUS_OK);
    let meta: PluginMeta = serde_json::from_slice(&take(out)).unwrap();
    assert_eq!(meta.name, "csv-inventory");
    assert_eq!(meta.connectors.len(), 1);
    let info = &meta.connectors[0];
    assert_eq!(info.type_id, "csv-inventory");
    assert_eq!(info.display_name, "CSV Inventory");
    assert!(info.parameters.field("folder").is_some_and(|f| f.required));
}

#[test]
fn test_and_sync_through_the_abi_fill_in_defaults() {
    let d = descriptor();
    let request = serde_json::to_vec(&TestRequest {
        connector_type: "csv-inventory".into(),
        parameters: sample_params(),
    })
    .unwrap();
    let mut out = OutBuf::empty();
    // SAFETY: `request` is readable for its length, `out` writable.
    let status = unsafe { d.test.expect("test")(request.as_ptr(), request.len(), &mut out) };
    assert_eq!(status, STATUS_OK);
    let report: TestReport = serde_json::from_slice(&take(out)).unwrap();
    assert_eq!(report.status(), CheckStatus::Ok, "{report:#?}");

    let request = serde_json::to_vec(&RunRequest {
        connector_type: "csv-inventory".into(),
        action: "sync_data".into(),
        parameters: sample_params(),
        options: RunOptions::default(),
    })
    .unwrap();
    let mut received = Received::default();
    let callbacks = RunCallbacks {
        size: size_of::<RunCallbacks>() as u32,
        ctx: (&mut received as *mut Received).cast(),
        emit: Some(emit),
        progress: None,
        is_cancelled: None,
    };
    let mut out = OutBuf::empty();
    // SAFETY: as above; `callbacks` and `received` outlive the call.
    let status =
        unsafe { d.run.expect("run")(request.as_ptr(), request.len(), &callbacks, &mut out) };
    let json = take(out);
    assert_eq!(status, STATUS_OK, "{}", String::from_utf8_lossy(&json));
    let summary: RunSummary = serde_json::from_slice(&json).unwrap();
    assert_eq!(summary.total(), 5 + 8 + 20 + 5 + 12);
    let records: usize = received.batches.iter().map(|b| b.records.len()).sum();
    assert_eq!(records as u64, summary.total());
    let complete: Vec<RecordKind> = received
        .batches
        .iter()
        .flat_map(|b| b.complete.iter().copied())
        .collect();
    assert_eq!(complete, summary.complete);
    assert_eq!(complete.len(), 5);
}
