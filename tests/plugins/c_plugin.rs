//! A plugin written in C against `invhost_plugin.h`: the ABI is language-neutral.

use connector_core::host::Plugin;
use connector_core::{CheckStatus, ErrorKind, Parameters, RunOptions};
use serde_json::json;

use super::sinks::TestSink;
use crate::support::PluginDir;

#[test]
fn c_plugin_loads_describes_tests_and_syncs() {
    let dir = PluginDir::new();
    let plugin = Plugin::load(&dir.compile_c(None)).expect("the C plugin loads");
    assert_eq!(plugin.abi_version(), "1.0");
    let handle = &plugin.connectors()[0];
    let info = handle.info();
    assert_eq!(info.type_id, "c-demo");
    assert_eq!(info.display_name, "C Demo Connector");
    assert!(info.parameters.field("prefix").is_some_and(|f| f.required));

    let params = Parameters::from_json(json!({"prefix": "c", "count": 250})).unwrap();
    let report = handle.test(&params).unwrap();
    assert_eq!(report.status(), CheckStatus::Ok, "{report:#?}");

    let mut sink = TestSink::default();
    let summary = handle
        .run("sync_data", &params, RunOptions::default(), &mut sink)
        .unwrap();
    assert_eq!(sink.records, 250);
    assert_eq!(sink.batches, 3, "batches of up to 100");
    assert_eq!(sink.complete, ["device"]);
    assert_eq!(summary.total(), 250);
}

#[test]
fn c_plugin_refuses_what_it_should() {
    let dir = PluginDir::new();
    let plugin = Plugin::load(&dir.compile_c(None)).unwrap();
    let handle = &plugin.connectors()[0];
    let error = handle.test(&Parameters::new()).unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidParameters);
    assert_eq!(error.field.as_deref(), Some("prefix"));

    let params = Parameters::from_json(json!({"prefix": "c"})).unwrap();
    let error = handle
        .run(
            "defragment",
            &params,
            RunOptions::default(),
            &mut TestSink::default(),
        )
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::UnknownAction, "{error}");
}

#[test]
fn c_plugin_is_cancelled_between_batches() {
    let dir = PluginDir::new();
    let plugin = Plugin::load(&dir.compile_c(None)).unwrap();
    let handle = &plugin.connectors()[0];
    let params = Parameters::from_json(json!({"prefix": "c", "count": 100000})).unwrap();
    let mut sink = TestSink {
        cancel_after: Some(2),
        ..Default::default()
    };
    let error = handle
        .run("sync_data", &params, RunOptions::default(), &mut sink)
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Cancelled);
    assert_eq!(sink.batches, 2);
}
