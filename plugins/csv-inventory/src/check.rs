//! The Test action: is the folder there, and does every file have the
//! columns a sync needs? One check per step; headers only, rows are not read.

use std::path::{Path, PathBuf};

use connector_core::{CheckStatus, Parameters, TestReport};

use crate::files::{FILES, FileSpec, HeaderMatch, display_name, join, locate};
use crate::params::Settings;
use crate::reader::RowReader;

/// Name of the folder check.
pub const FOLDER_CHECK: &str = "Folder";

/// Runs the checks for `params`.
pub fn test(params: &Parameters) -> TestReport {
    let mut report = TestReport::default();
    let settings = match Settings::from_params(params) {
        Ok(settings) => settings,
        Err(error) => {
            report.failed("Parameters", error.message);
            return report;
        }
    };
    let folder = absolute(&settings.folder);
    if check_folder(&folder, &mut report) {
        for spec in &FILES {
            check_file(spec, &folder, &settings, &mut report);
        }
    }
    report
}

/// The folder as the host resolves it, so messages show what was used.
fn absolute(folder: &Path) -> PathBuf {
    std::path::absolute(folder).unwrap_or_else(|_| folder.to_owned())
}

/// Checks that the folder exists and can be listed; false when it cannot.
fn check_folder(folder: &Path, report: &mut TestReport) -> bool {
    let shown = folder.display();
    match std::fs::metadata(folder) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            report.failed(
                FOLDER_CHECK,
                format!(
                    "Folder {shown} does not exist. Set 'folder' to the folder holding the CSV \
                     files, as a path on the machine running invhost."
                ),
            );
            return false;
        }
        Err(error) => {
            report.failed(
                FOLDER_CHECK,
                format!(
                    "Cannot access folder {shown}: {error}. Give the account running invhost \
                     access to it."
                ),
            );
            return false;
        }
        Ok(meta) if !meta.is_dir() => {
            report.failed(
                FOLDER_CHECK,
                format!(
                    "{shown} is a file, not a folder. Set 'folder' to the folder holding the \
                     CSV files."
                ),
            );
            return false;
        }
        Ok(_) => {}
    }
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(error) => {
            report.failed(
                FOLDER_CHECK,
                format!(
                    "Cannot list folder {shown}: {error}. Give the account running invhost \
                     read access to it."
                ),
            );
            return false;
        }
    };
    let csv_files = entries
        .filter_map(Result::ok)
        .filter(|e| {
            Path::new(&e.file_name())
                .extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("csv"))
        })
        .count();
    report.ok(
        FOLDER_CHECK,
        format!("Folder {shown} is readable and holds {csv_files} CSV file(s)."),
    );
    true
}

/// Checks one known file: present (or optional), readable, with the
/// required columns in its header.
fn check_file(spec: &FileSpec, folder: &Path, settings: &Settings, report: &mut TestReport) {
    let name = spec.name;
    let shown = folder.display();
    let path = match locate(folder, name) {
        Ok(Some(path)) => path,
        Ok(None) if spec.required => {
            report.failed(
                name,
                format!(
                    "{name} not found in {shown}. It is required: export the {} there as \
                     {name} with the columns {}.",
                    spec.noun,
                    spec.describe_columns()
                ),
            );
            return;
        }
        Ok(None) => {
            report.ok(
                name,
                format!(
                    "{name} not found in {shown}; it is optional, so {} will be skipped.",
                    spec.noun
                ),
            );
            return;
        }
        Err(error) => {
            report.failed(name, format!("Cannot look for {name} in {shown}: {error}."));
            return;
        }
    };
    let file = display_name(&path);
    let reader = match RowReader::open(&path, settings.delimiter) {
        Ok(reader) => reader,
        Err(error) => {
            report.failed(
                name,
                format!(
                    "Cannot read {}: {error}. Give the account running invhost read access \
                     to it.",
                    path.display()
                ),
            );
            return;
        }
    };
    let header = HeaderMatch::new(spec, reader.header());
    if !header.is_complete() {
        report.failed(
            name,
            format!("{}.", header.missing_message(&file, settings.delimiter)),
        );
        return;
    }
    let mut message = format!("Found columns {}", join(header.known(spec)));
    if file != name {
        message.push_str(&format!(" (file {file})"));
    }
    message.push('.');
    let mut status = CheckStatus::Ok;
    if !header.unknown.is_empty() {
        status = CheckStatus::Warning;
        message.push_str(&format!(
            " Columns not used by the connector, which will be ignored: {}.",
            join(&header.unknown)
        ));
    }
    if !header.duplicates.is_empty() {
        status = CheckStatus::Warning;
        message.push_str(&format!(
            " Column(s) {} appear more than once; only the first is read.",
            join(&header.duplicates)
        ));
    }
    report.push(name, status, message);
}

#[cfg(test)]
mod tests {
    use connector_core::Check;

    use super::*;
    use crate::test_support::{Folder, minimal};

    fn check<'r>(report: &'r TestReport, name: &str) -> &'r Check {
        report
            .checks
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no check {name} in {report:?}"))
    }

    #[test]
    fn a_complete_folder_passes_with_one_check_per_step() {
        let folder = minimal();
        let report = test(&folder.params(&[]));
        let names: Vec<_> = report.checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Folder",
                "devices.csv",
                "applications.csv",
                "installations.csv",
                "users.csv",
                "usage.csv"
            ]
        );
        assert_eq!(report.status(), CheckStatus::Ok, "{report:#?}");
        assert_eq!(
            check(&report, "Folder").message,
            format!(
                "Folder {} is readable and holds 3 CSV file(s).",
                folder.path().display()
            )
        );
        assert_eq!(
            check(&report, "devices.csv").message,
            "Found columns device_id, name, serial_number."
        );
        let users = check(&report, "users.csv");
        assert_eq!(users.status, CheckStatus::Ok);
        assert_eq!(
            users.message,
            format!(
                "users.csv not found in {}; it is optional, so users will be skipped.",
                folder.path().display()
            )
        );
    }

    #[test]
    fn a_missing_required_file_names_the_file_and_the_folder() {
        let folder = Folder::new()
            .file("devices.csv", "device_id,name\n")
            .file("applications.csv", "application_id,name\n");
        let report = test(&folder.params(&[]));
        let c = check(&report, "installations.csv");
        assert_eq!(c.status, CheckStatus::Failed);
        assert_eq!(
            c.message,
            format!(
                "installations.csv not found in {}. It is required: export the installations \
                 there as installations.csv with the columns device_id, application_id \
                 (optional: installed_on, last_used).",
                folder.path().display()
            )
        );
        assert_eq!(report.status(), CheckStatus::Failed);
    }

    #[test]
    fn a_missing_required_column_fails_naming_it() {
        let folder = minimal().file("devices.csv", "\u{feff}Device_ID , Model\nD1,X\n");
        let report = test(&folder.params(&[]));
        let c = check(&report, "devices.csv");
        assert_eq!(c.status, CheckStatus::Failed);
        assert_eq!(
            c.message,
            "devices.csv lacks the required column(s) name in its header row (found: \
             Device_ID, Model); add the column(s) to the first line of the file."
        );
        assert_eq!(check(&report, "applications.csv").status, CheckStatus::Ok);
    }

    #[test]
    fn unknown_columns_are_a_warning_and_case_is_ignored() {
        let folder = minimal()
            .file(
                "USERS.csv",
                "User_Id;USER_PRINCIPAL_NAME;Cost Centre;mail\nu1;a@x.com;7;a@x.com\n",
            )
            .file("applications.csv", "application_id;name\n")
            .file("devices.csv", "device_id;name\n")
            .file("installations.csv", "device_id;application_id\n");
        let report = test(&folder.params(&[("delimiter", ";")]));
        let c = check(&report, "users.csv");
        assert_eq!(c.status, CheckStatus::Warning);
        assert_eq!(
            c.message,
            "Found columns user_id, user_principal_name, mail (file USERS.csv). Columns not \
             used by the connector, which will be ignored: Cost Centre."
        );
        assert_eq!(check(&report, "devices.csv").status, CheckStatus::Ok);
    }

    #[test]
    fn the_wrong_delimiter_is_pointed_out() {
        let folder = minimal().file("devices.csv", "device_id\tname\nD1\tPC\n");
        let report = test(&folder.params(&[]));
        let c = check(&report, "devices.csv");
        assert_eq!(c.status, CheckStatus::Failed);
        assert!(
            c.message
                .contains("set the 'delimiter' parameter to \"tab\""),
            "{}",
            c.message
        );
    }

    #[test]
    fn a_missing_folder_fails_with_one_check() {
        let folder = Folder::new();
        let missing = folder.path().join("nope");
        let mut params = Parameters::new();
        params.insert("folder", missing.to_string_lossy().as_ref());
        let report = test(&params);
        assert_eq!(report.checks.len(), 1);
        assert_eq!(report.checks[0].status, CheckStatus::Failed);
        assert_eq!(
            report.checks[0].message,
            format!(
                "Folder {} does not exist. Set 'folder' to the folder holding the CSV files, \
                 as a path on the machine running invhost.",
                missing.display()
            )
        );

        let report = test(&Parameters::new());
        assert_eq!(report.checks[0].name, "Parameters");
        assert!(report.checks[0].message.contains("'Folder' is required"));
    }
}
