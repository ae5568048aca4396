//! The files the connector reads and their columns, how a file is found in
//! the folder, and how a header row is matched against a file's columns.

use std::io;
use std::path::{Path, PathBuf};

use connector_core::RecordKind;

use crate::params::Delimiter;

/// One column of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnSpec {
    /// Header name, lower case.
    pub name: &'static str,
    /// Whether the header must contain it and every row must give a value.
    pub required: bool,
}

const fn req(name: &'static str) -> ColumnSpec {
    ColumnSpec {
        name,
        required: true,
    }
}

const fn opt(name: &'static str) -> ColumnSpec {
    ColumnSpec {
        name,
        required: false,
    }
}

/// One file the connector reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSpec {
    /// File name, lower case (matched case-insensitively).
    pub name: &'static str,
    /// The record kind each row becomes.
    pub kind: RecordKind,
    /// Whether a sync needs the file.
    pub required: bool,
    /// What its rows are, plural, for messages (`devices`).
    pub noun: &'static str,
    /// Its columns, required ones first.
    pub columns: &'static [ColumnSpec],
}

/// The device list.
pub const DEVICES: FileSpec = FileSpec {
    name: "devices.csv",
    kind: RecordKind::Device,
    required: true,
    noun: "devices",
    columns: &[
        req("device_id"),
        req("name"),
        opt("serial_number"),
        opt("manufacturer"),
        opt("model"),
        opt("operating_system"),
        opt("os_version"),
        opt("primary_user"),
        opt("last_seen"),
        opt("entra_device_id"),
    ],
};

/// The software titles.
pub const APPLICATIONS: FileSpec = FileSpec {
    name: "applications.csv",
    kind: RecordKind::Application,
    required: true,
    noun: "applications",
    columns: &[
        req("application_id"),
        req("name"),
        opt("publisher"),
        opt("version"),
        opt("platform"),
    ],
};

/// Which application is on which device.
pub const INSTALLATIONS: FileSpec = FileSpec {
    name: "installations.csv",
    kind: RecordKind::Installation,
    required: true,
    noun: "installations",
    columns: &[
        req("device_id"),
        req("application_id"),
        opt("installed_on"),
        opt("last_used"),
    ],
};

/// The user accounts.
pub const USERS: FileSpec = FileSpec {
    name: "users.csv",
    kind: RecordKind::User,
    required: false,
    noun: "users",
    columns: &[
        req("user_id"),
        req("user_principal_name"),
        opt("display_name"),
        opt("mail"),
        opt("department"),
        opt("job_title"),
        opt("enabled"),
    ],
};

/// Who used which application.
pub const USAGE: FileSpec = FileSpec {
    name: "usage.csv",
    kind: RecordKind::ApplicationUsage,
    required: false,
    noun: "usage rows",
    columns: &[
        req("user"),
        req("application"),
        opt("last_activity"),
        opt("platform"),
    ],
};

/// Every file, in the order a sync reads them.
pub const FILES: [FileSpec; 5] = [DEVICES, APPLICATIONS, INSTALLATIONS, USERS, USAGE];

impl FileSpec {
    /// Names of the required columns.
    pub fn required_columns(&self) -> impl Iterator<Item = &'static str> {
        self.columns.iter().filter(|c| c.required).map(|c| c.name)
    }

    /// Names of the optional columns.
    pub fn optional_columns(&self) -> impl Iterator<Item = &'static str> {
        self.columns.iter().filter(|c| !c.required).map(|c| c.name)
    }

    /// Position of a column in [`FileSpec::columns`].
    pub fn position(&self, column: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == column)
    }

    /// "device_id, name (optional: serial_number, ...)", for messages.
    pub fn describe_columns(&self) -> String {
        let required = join(self.required_columns());
        let optional = join(self.optional_columns());
        if optional.is_empty() {
            required
        } else {
            format!("{required} (optional: {optional})")
        }
    }
}

/// Finds the file named `name` in `folder`, ignoring case.
///
/// `Ok(None)` when there is none; an error when the folder cannot be read or
/// when several files match (`Devices.csv` and `devices.csv`).
pub fn locate(folder: &Path, name: &str) -> io::Result<Option<PathBuf>> {
    let mut found: Vec<PathBuf> = Vec::new();
    for entry in std::fs::read_dir(folder)? {
        let entry = entry?;
        let matches = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.eq_ignore_ascii_case(name));
        // A directory or other non-file named like the file does not count;
        // follow symlinks so a linked export is accepted.
        if matches && entry.path().is_file() {
            found.push(entry.path());
        }
    }
    found.sort();
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        _ => Err(io::Error::other(format!(
            "several files match {name} (names are compared ignoring case): {}; \
             keep only one",
            join(found.iter().map(|p| display_name(p)))
        ))),
    }
}

/// The file name of a path, for messages.
pub fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// How a file's header row maps onto its spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderMatch {
    /// Field index of each column of the spec (aligned with
    /// [`FileSpec::columns`]); `None` when the header lacks it.
    pub indices: Vec<Option<usize>>,
    /// The header names as found (trimmed), in file order.
    pub found: Vec<String>,
    /// Required columns the header lacks.
    pub missing: Vec<&'static str>,
    /// Header names the spec does not know; their values are ignored.
    pub unknown: Vec<String>,
    /// Known columns named more than once; the first is used.
    pub duplicates: Vec<&'static str>,
}

impl HeaderMatch {
    /// Matches header names (already decoded) against a spec: names are
    /// trimmed and compared ignoring case.
    pub fn new(spec: &FileSpec, header: &[String]) -> Self {
        let mut indices = vec![None; spec.columns.len()];
        let mut unknown = Vec::new();
        let mut duplicates = Vec::new();
        let found: Vec<String> = header.iter().map(|h| h.trim().to_owned()).collect();
        for (index, name) in found.iter().enumerate() {
            if name.is_empty() {
                continue;
            }
            match spec
                .columns
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(name))
            {
                Some(pos) if indices[pos].is_none() => indices[pos] = Some(index),
                Some(pos) => {
                    if !duplicates.contains(&spec.columns[pos].name) {
                        duplicates.push(spec.columns[pos].name);
                    }
                }
                None => unknown.push(name.clone()),
            }
        }
        let missing = spec
            .columns
            .iter()
            .zip(&indices)
            .filter(|(c, i)| c.required && i.is_none())
            .map(|(c, _)| c.name)
            .collect();
        HeaderMatch {
            indices,
            found,
            missing,
            unknown,
            duplicates,
        }
    }

    /// Whether every required column is present.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty()
    }

    /// Names of the known columns present, in the spec's order.
    pub fn known<'s>(&self, spec: &'s FileSpec) -> Vec<&'s str> {
        spec.columns
            .iter()
            .zip(&self.indices)
            .filter(|(_, i)| i.is_some())
            .map(|(c, _)| c.name)
            .collect()
    }

    /// What is wrong with a header lacking required columns, and how to fix
    /// it: the missing columns, the columns found, and a delimiter hint when
    /// the whole header landed in one column.
    pub fn missing_message(&self, file: &str, delimiter: Delimiter) -> String {
        if self.found.iter().all(|f| f.is_empty()) {
            return format!(
                "{file} has no header row: its first line must name the columns, \
                 separated by {delimiter}"
            );
        }
        let mut message = format!(
            "{file} lacks the required column(s) {} in its header row (found: {})",
            join(self.missing.iter().copied()),
            join(self.found.iter().map(String::as_str)),
        );
        if let Some(hint) = self.delimiter_hint(delimiter) {
            message.push_str("; ");
            message.push_str(&hint);
        } else {
            message.push_str("; add the column(s) to the first line of the file");
        }
        message
    }

    /// A hint when the header is a single column that contains another of
    /// the supported delimiters: the file was most likely saved with it.
    fn delimiter_hint(&self, delimiter: Delimiter) -> Option<String> {
        let [only] = self.found.as_slice() else {
            return None;
        };
        let other = Delimiter::ALL
            .into_iter()
            .filter(|d| *d != delimiter.0)
            .map(Delimiter)
            .max_by_key(|d| only.bytes().filter(|b| *b == d.0).count())
            .filter(|d| only.as_bytes().contains(&d.0))?;
        Some(format!(
            "the file seems to use {other} as its delimiter while the connector is set to \
             {delimiter}: set the 'delimiter' parameter to {other}"
        ))
    }
}

/// Joins names with ", ".
pub fn join<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> String {
    names
        .into_iter()
        .map(|n| n.as_ref().to_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn every_spec_has_unique_lowercase_columns_and_required_first() {
        for spec in FILES {
            for (i, column) in spec.columns.iter().enumerate() {
                assert_eq!(column.name, column.name.to_ascii_lowercase());
                assert_eq!(spec.position(column.name), Some(i), "{}", spec.name);
            }
            let first_optional = spec.columns.iter().position(|c| !c.required);
            let last_required = spec.columns.iter().rposition(|c| c.required);
            assert!(last_required < first_optional, "{}", spec.name);
        }
        let names: Vec<_> = FILES.iter().map(|f| f.name).collect();
        assert_eq!(
            names,
            [
                "devices.csv",
                "applications.csv",
                "installations.csv",
                "users.csv",
                "usage.csv"
            ]
        );
    }

    #[test]
    fn header_names_are_trimmed_and_case_insensitive() {
        let m = HeaderMatch::new(
            &DEVICES,
            &header(&[" Name ", "DEVICE_ID", "Serial_Number", "Colour", ""]),
        );
        assert!(m.is_complete());
        assert_eq!(m.indices[0], Some(1));
        assert_eq!(m.indices[1], Some(0));
        assert_eq!(m.indices[2], Some(2));
        assert_eq!(m.indices[3], None);
        assert_eq!(m.unknown, ["Colour"]);
        assert_eq!(m.known(&DEVICES), ["device_id", "name", "serial_number"]);
    }

    #[test]
    fn missing_required_columns_are_named_with_what_was_found() {
        let m = HeaderMatch::new(&APPLICATIONS, &header(&["id", "Name", "name"]));
        assert_eq!(m.missing, ["application_id"]);
        assert_eq!(m.duplicates, ["name"]);
        assert_eq!(
            m.missing_message("applications.csv", Delimiter(b',')),
            "applications.csv lacks the required column(s) application_id in its header row \
             (found: id, Name, name); add the column(s) to the first line of the file"
        );
    }

    #[test]
    fn a_header_in_one_column_suggests_the_delimiter() {
        let m = HeaderMatch::new(&DEVICES, &header(&["device_id;name;model"]));
        assert_eq!(m.missing, ["device_id", "name"]);
        let message = m.missing_message("devices.csv", Delimiter(b','));
        assert!(
            message.ends_with(
                "the file seems to use \";\" as its delimiter while the connector is set to \
                 \",\": set the 'delimiter' parameter to \";\""
            ),
            "{message}"
        );
        let empty = HeaderMatch::new(&DEVICES, &[]);
        assert!(
            empty
                .missing_message("devices.csv", Delimiter(b','))
                .starts_with("devices.csv has no header row")
        );
    }

    #[test]
    fn files_are_found_ignoring_case_and_duplicates_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Devices.CSV"), "device_id,name\n").unwrap();
        std::fs::create_dir(dir.path().join("users.csv")).unwrap();
        let found = locate(dir.path(), "devices.csv").unwrap().unwrap();
        assert_eq!(display_name(&found), "Devices.CSV");
        assert_eq!(locate(dir.path(), "users.csv").unwrap(), None);
        assert_eq!(locate(dir.path(), "usage.csv").unwrap(), None);

        std::fs::write(dir.path().join("devices.csv"), "device_id,name\n").unwrap();
        let err = locate(dir.path(), "devices.csv").unwrap_err();
        assert_eq!(
            err.to_string(),
            "several files match devices.csv (names are compared ignoring case): \
             Devices.CSV, devices.csv; keep only one"
        );
    }
}
