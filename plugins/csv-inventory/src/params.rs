//! The connector's parameters: their schema (public interface) and the
//! typed settings a run works with.

use std::fmt;
use std::path::PathBuf;

use connector_core::{ConnectorError, ParamField, ParamKind, Parameters};

/// Key of the folder parameter.
pub const FOLDER: &str = "folder";
/// Key of the delimiter parameter.
pub const DELIMITER: &str = "delimiter";
/// Key of the malformed-rows policy parameter.
pub const MALFORMED_ROWS: &str = "malformed_rows";

/// The delimiter choices, as operators type them.
const DELIMITERS: [&str; 4] = [",", ";", "tab", "|"];
/// The default delimiter.
const DEFAULT_DELIMITER: &str = ",";
/// The malformed-rows choices.
const POLICIES: [&str; 2] = ["skip", "fail"];
/// The default malformed-rows policy.
const DEFAULT_POLICY: &str = "skip";

/// The parameter schema, in the order forms show it.
pub fn fields() -> Vec<ParamField> {
    vec![
        ParamField::new(FOLDER, "Folder", ParamKind::Path)
            .required()
            .help(
                "Folder holding devices.csv, applications.csv and installations.csv \
                 (required) and optionally users.csv and usage.csv. Use an absolute path \
                 the invhost host can read; file names are matched case-insensitively.",
            ),
        ParamField::new(
            DELIMITER,
            "Delimiter",
            ParamKind::Choice {
                options: DELIMITERS.iter().map(|d| (*d).to_owned()).collect(),
            },
        )
        .default_value(DEFAULT_DELIMITER)
        .help(
            "Character separating the columns: \",\" (default), \";\" (Excel in many \
             European locales), \"tab\" or \"|\". The same delimiter is used for every file.",
        ),
        ParamField::new(
            MALFORMED_ROWS,
            "Malformed Rows",
            ParamKind::Choice {
                options: POLICIES.iter().map(|p| (*p).to_owned()).collect(),
            },
        )
        .default_value(DEFAULT_POLICY)
        .help(
            "What to do with a row that cannot be read (wrong number of fields, empty \
             required value, invalid value): \"skip\" imports the other rows and reports \
             each skipped row with its file and line; \"fail\" stops the sync at the first one.",
        ),
    ]
}

/// What to do with a row that cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MalformedRows {
    /// Report the row as a warning and go on.
    Skip,
    /// Fail the run.
    Fail,
}

/// A column delimiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiter(pub u8);

impl Delimiter {
    /// The delimiters an operator may choose, as bytes.
    pub const ALL: [u8; 4] = [b',', b';', b'\t', b'|'];

    /// The parameter value naming this delimiter (`,`, `;`, `tab`, `|`).
    pub fn param_value(self) -> String {
        match self.0 {
            b'\t' => "tab".to_owned(),
            other => char::from(other).to_string(),
        }
    }
}

impl fmt::Display for Delimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.param_value())
    }
}

/// The parameters of one Test or run, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The folder holding the files.
    pub folder: PathBuf,
    /// The column delimiter.
    pub delimiter: Delimiter,
    /// The malformed-row policy.
    pub malformed_rows: MalformedRows,
}

impl Settings {
    /// Reads the settings, using the schema defaults for absent optional values.
    pub fn from_params(params: &Parameters) -> Result<Self, ConnectorError> {
        let folder = params
            .str(FOLDER)
            .filter(|f| !f.trim().is_empty())
            .ok_or_else(|| {
                ConnectorError::invalid_parameter(
                    FOLDER,
                    "'Folder' is required: set it to the folder holding the CSV files",
                )
            })?;
        let delimiter = match params.str(DELIMITER).unwrap_or(DEFAULT_DELIMITER) {
            "," => Delimiter(b','),
            ";" => Delimiter(b';'),
            "tab" | "\t" => Delimiter(b'\t'),
            "|" => Delimiter(b'|'),
            other => {
                return Err(ConnectorError::invalid_parameter(
                    DELIMITER,
                    format!("'{other}' is not one of {}", quoted(&DELIMITERS)),
                ));
            }
        };
        let malformed_rows = match params.str(MALFORMED_ROWS).unwrap_or(DEFAULT_POLICY) {
            "skip" => MalformedRows::Skip,
            "fail" => MalformedRows::Fail,
            other => {
                return Err(ConnectorError::invalid_parameter(
                    MALFORMED_ROWS,
                    format!("'{other}' is not one of {}", quoted(&POLICIES)),
                ));
            }
        };
        Ok(Settings {
            folder: PathBuf::from(folder),
            delimiter,
            malformed_rows,
        })
    }
}

/// `"a", "b"`: choices quoted, so that `,` and `;` stay readable.
fn quoted(options: &[&str]) -> String {
    options
        .iter()
        .map(|o| format!("\"{o}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use connector_core::{ErrorKind, ParamSchema};

    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Parameters {
        let mut params = Parameters::new();
        for (key, value) in pairs {
            params.insert(*key, *value);
        }
        params
    }

    #[test]
    fn schema_is_sound_and_keys_are_stable() {
        let schema = ParamSchema { fields: fields() };
        assert!(schema.lint().is_empty(), "{:?}", schema.lint());
        let keys: Vec<_> = schema.fields.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, ["folder", "delimiter", "malformed_rows"]);
        assert!(schema.fields.iter().all(|f| !f.help.is_empty()));
        let defaults = schema.with_defaults(&params(&[("folder", "/data")]));
        assert_eq!(defaults.str("delimiter"), Some(","));
        assert_eq!(defaults.str("malformed_rows"), Some("skip"));
        assert!(schema.validate(&params(&[("delimiter", ";")])).is_err());
    }

    #[test]
    fn settings_are_typed_with_defaults() {
        let s = Settings::from_params(&params(&[("folder", "/data")])).unwrap();
        assert_eq!(s.folder, PathBuf::from("/data"));
        assert_eq!(s.delimiter, Delimiter(b','));
        assert_eq!(s.malformed_rows, MalformedRows::Skip);

        let s = Settings::from_params(&params(&[
            ("folder", "/data"),
            ("delimiter", "tab"),
            ("malformed_rows", "fail"),
        ]))
        .unwrap();
        assert_eq!(s.delimiter, Delimiter(b'\t'));
        assert_eq!(s.delimiter.to_string(), "\"tab\"");
        assert_eq!(s.malformed_rows, MalformedRows::Fail);
    }

    #[test]
    fn bad_settings_name_their_parameter() {
        let err = Settings::from_params(&params(&[])).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidParameters);
        assert_eq!(err.field.as_deref(), Some("folder"));

        let err =
            Settings::from_params(&params(&[("folder", "/d"), ("delimiter", ":")])).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("delimiter"));
        assert!(
            err.message
                .contains(r#"':' is not one of ",", ";", "tab", "|""#),
            "{}",
            err.message
        );
    }
}
