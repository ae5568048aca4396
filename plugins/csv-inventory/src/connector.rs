//! The `csv-inventory` connector type: what it says about itself, and which
//! module does each action.

use connector_core::{
    ACTION_SYNC_DATA, Action, Connector, ConnectorError, ConnectorInfo, Parameters, RecordKind,
    RecordMode, RunContext, RunSummary, TestReport,
};

use crate::{check, params, sync};

/// Connector type id, part of the public interface.
pub const TYPE_ID: &str = "csv-inventory";
/// Name as operators know it.
pub const DISPLAY_NAME: &str = "CSV Inventory";

/// The action that checks the folder without importing it.
pub const ACTION_VALIDATE: &str = "validate_files";

/// Imports devices, applications, installations, users and usage from a
/// folder of CSV files.
#[derive(Debug, Default, Clone, Copy)]
pub struct CsvInventory;

impl Connector for CsvInventory {
    fn info(&self) -> ConnectorInfo {
        let mut info = ConnectorInfo::new(TYPE_ID, DISPLAY_NAME, env!("CARGO_PKG_VERSION"))
            .description(
                "Imports an inventory from a folder of CSV files: devices.csv, \
                 applications.csv and installations.csv (required), users.csv and usage.csv \
                 (optional), as exported by an inventory tool or a spreadsheet.",
            )
            .record_kinds(&[
                RecordKind::Device,
                RecordKind::Application,
                RecordKind::Installation,
                RecordKind::User,
                RecordKind::ApplicationUsage,
            ]);
        for field in params::fields() {
            info = info.parameter(field);
        }
        info.action(
            Action::new(ACTION_VALIDATE, "Validate Files")
                .description(
                    "Reads the folder as a sync would and reports, per file, the rows it would \
                     import and the first problems found; writes nothing.",
                )
                .records(RecordMode::None),
        )
    }

    fn test(&self, params: &Parameters) -> Result<TestReport, ConnectorError> {
        Ok(check::test(params))
    }

    fn run(
        &self,
        action: &str,
        params: &Parameters,
        ctx: &mut RunContext<'_>,
    ) -> Result<RunSummary, ConnectorError> {
        match action {
            ACTION_SYNC_DATA => sync::sync(params, ctx),
            ACTION_VALIDATE => sync::validate(params),
            other => Err(ConnectorError::unknown_action(
                other,
                &[ACTION_SYNC_DATA, ACTION_VALIDATE],
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use connector_core::{CheckStatus, ErrorKind, Record};

    use super::*;
    use crate::test_support::harness;

    fn sample_params() -> Parameters {
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sample");
        let mut params = Parameters::new();
        params.insert("folder", sample.to_string_lossy().as_ref());
        params
    }

    #[test]
    fn info_declares_the_public_interface() {
        // As the host reads it: through the exported descriptor.
        let harness = harness();
        let info = harness.info();
        assert_eq!(info.type_id, "csv-inventory");
        assert_eq!(info.display_name, "CSV Inventory");
        assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
        assert!(!info.description.is_empty());
        assert!(info.has_action("test") && info.has_action("sync_data"));
        let keys: Vec<_> = info
            .parameters
            .fields
            .iter()
            .map(|f| f.key.as_str())
            .collect();
        assert_eq!(keys, ["folder", "delimiter", "malformed_rows"]);
        assert!(info.parameters.lint().is_empty());
        assert_eq!(info.record_kinds.len(), 5);
    }

    #[test]
    fn the_sample_folder_tests_clean_and_syncs_in_full() {
        let harness = harness();
        let report = harness.test(&sample_params()).unwrap();
        assert_eq!(report.status(), CheckStatus::Ok, "{report:#?}");
        assert_eq!(report.checks.len(), 6);
        // The README's walk-through shows these messages.
        let messages: Vec<_> = report.checks.iter().map(|c| c.message.as_str()).collect();
        assert!(messages[0].ends_with("examples/sample is readable and holds 5 CSV file(s)."));
        assert_eq!(
            messages[1],
            "Found columns device_id, name, serial_number, manufacturer, model, \
             operating_system, os_version, primary_user, last_seen, entra_device_id."
        );
        assert_eq!(
            messages[5],
            "Found columns user, application, last_activity, platform."
        );

        // Defaults filled in by the export: no delimiter or malformed_rows given.
        let run = harness.sync(&sample_params());
        run.assert_conforms();
        let summary = run.summary();
        let count = |kind| summary.records.get(&kind).copied().unwrap_or(0);
        assert_eq!(count(RecordKind::Device), 5);
        assert_eq!(count(RecordKind::Application), 8);
        assert_eq!(count(RecordKind::Installation), 20);
        assert_eq!(count(RecordKind::User), 5);
        assert_eq!(count(RecordKind::ApplicationUsage), 12);
        assert_eq!(summary.complete.len(), 5);
        assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);
        assert!(summary.message.starts_with(
            "Imported 5 devices, 8 applications, 20 installations, 5 users and 12 usage rows"
        ));
        assert_eq!(run.complete(), summary.complete);
        let m365 = run.records().any(|r| {
            matches!(r, Record::Application(a) if a.name == "Microsoft 365 Apps for enterprise")
        });
        assert!(m365);
    }

    #[test]
    fn only_sync_data_runs() {
        let run = harness().run(
            "clean_up",
            &sample_params(),
            &connector_core::testing::Options::new(),
        );
        let err = run.error();
        assert_eq!(err.kind, ErrorKind::UnknownAction);
        assert_eq!(
            err.message,
            "unknown action 'clean_up' (offered: sync_data, validate_files)"
        );
    }
}
