//! The csv-inventory plugin, loaded from its real built library.

use connector_core::host::Plugin;
use connector_core::testing::{Harness, Options};
use connector_core::{CheckStatus, ErrorKind, Parameters, RecordKind};
use serde_json::json;

use crate::support::{PluginDir, built_library, repo_root};

fn handle() -> (PluginDir, connector_core::host::ConnectorHandle) {
    let dir = PluginDir::new();
    let path = dir.install(&built_library("csv-inventory"), "libcsv_inventory.so");
    let plugin = Plugin::load(&path).expect("csv-inventory loads");
    assert_eq!(plugin.meta().name, "csv-inventory");
    let handle = plugin
        .connectors()
        .into_iter()
        .next()
        .expect("one connector");
    assert_eq!(handle.info().type_id, "csv-inventory");
    (dir, handle)
}

fn sample() -> String {
    repo_root()
        .join("plugins/csv-inventory/examples/sample")
        .display()
        .to_string()
}

#[test]
fn test_passes_on_the_sample_folder() {
    let (_dir, handle) = handle();
    let params = Parameters::from_json(json!({"folder": sample()})).unwrap();
    let report = handle.test(&params).unwrap();
    assert_ne!(report.status(), CheckStatus::Failed, "{report:#?}");
    assert!(
        report.checks.iter().any(|c| c.name.contains("devices.csv")),
        "{report:#?}"
    );
}

#[test]
fn test_names_a_missing_required_file() {
    let (_dir, handle) = handle();
    let empty = tempfile::tempdir().unwrap();
    let params = Parameters::from_json(json!({"folder": empty.path()})).unwrap();
    let report = handle.test(&params).unwrap();
    assert_eq!(report.status(), CheckStatus::Failed);
    let failed: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.status == CheckStatus::Failed)
        .collect();
    assert!(
        failed.iter().any(|c| c.message.contains("devices.csv")),
        "{failed:#?}"
    );
}

#[test]
fn empty_parameters_are_a_validation_error_naming_the_field() {
    let (_dir, handle) = handle();
    let error = handle.test(&Parameters::new()).unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidParameters);
    assert_eq!(error.field.as_deref(), Some("folder"));
}

#[test]
fn sync_streams_the_sample_folder() {
    let (_dir, handle) = handle();
    let params = Parameters::from_json(json!({"folder": sample()})).unwrap();
    let run = Harness::from_handle(handle).sync(&params);
    run.assert_conforms();
    assert_eq!(run.summary().total() as usize, run.records().count());
    for kind in [
        RecordKind::Device,
        RecordKind::Application,
        RecordKind::Installation,
    ] {
        assert!(
            run.is_complete(kind),
            "{kind} complete: {:?}",
            run.complete()
        );
    }
    assert!(!run.progress.is_empty(), "progress notes arrive");
}

#[test]
fn malformed_row_fails_with_file_and_line_when_told_to() {
    let (_dir, handle) = handle();
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(
        folder.path().join("devices.csv"),
        "device_id,name\nd1,PC-1\nd2\n",
    )
    .unwrap();
    std::fs::write(
        folder.path().join("applications.csv"),
        "application_id,name\n",
    )
    .unwrap();
    std::fs::write(
        folder.path().join("installations.csv"),
        "device_id,application_id\n",
    )
    .unwrap();
    let params =
        Parameters::from_json(json!({"folder": folder.path(), "malformed_rows": "fail"})).unwrap();
    let harness = Harness::from_handle(handle);
    let run = harness.run("sync_data", &params, &Options::new());
    let error = run.error();
    assert_eq!(error.kind, ErrorKind::Failed);
    assert!(error.message.contains("devices.csv line 3"), "{error}");

    let params =
        Parameters::from_json(json!({"folder": folder.path(), "malformed_rows": "skip"})).unwrap();
    let run = harness.sync(&params);
    let summary = run.summary();
    assert_eq!(run.records().count(), 1);
    assert!(
        summary
            .warnings
            .iter()
            .any(|w| w.contains("devices.csv line 3")),
        "{:?}",
        summary.warnings
    );
}
