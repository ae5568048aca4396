//! Turning one CSV row into one inventory record.

use connector_core::{
    Application, ApplicationUsage, Device, Installation, Record, RecordKind, User,
};

use crate::files::{FileSpec, HeaderMatch};
use crate::reader::Row;

/// The values of one row, looked up by column name.
pub struct Fields<'a> {
    spec: &'a FileSpec,
    header: &'a HeaderMatch,
    row: Row<'a>,
}

impl<'a> Fields<'a> {
    /// The row `row` of a file of `spec` whose header matched as `header`.
    pub fn new(spec: &'a FileSpec, header: &'a HeaderMatch, row: Row<'a>) -> Self {
        Fields { spec, header, row }
    }

    /// The trimmed text of a column; `None` when the header lacks the
    /// column or the cell is empty.
    fn text(&self, column: &str) -> Result<Option<&'a str>, String> {
        let position = self
            .spec
            .position(column)
            .ok_or_else(|| format!("internal error: {} has no column {column}", self.spec.name))?;
        let Some(bytes) = self.header.indices[position].and_then(|i| self.row.field(i)) else {
            return Ok(None);
        };
        let text = std::str::from_utf8(bytes).map_err(|_| {
            format!(
                "the value in column '{column}' is not valid UTF-8; save the file with UTF-8 \
                 encoding (in Excel: \"CSV UTF-8\")"
            )
        })?;
        let text = text.trim();
        Ok((!text.is_empty()).then_some(text))
    }

    /// A required column's value.
    fn required(&self, column: &str) -> Result<String, String> {
        self.text(column)?
            .map(str::to_owned)
            .ok_or_else(|| format!("empty value in required column '{column}'"))
    }

    /// An optional column's value.
    fn optional(&self, column: &str) -> Result<Option<String>, String> {
        Ok(self.text(column)?.map(str::to_owned))
    }

    /// An optional yes/no column's value.
    fn boolean(&self, column: &str) -> Result<Option<bool>, String> {
        self.text(column)?
            .map(|text| {
                parse_bool(text).ok_or_else(|| {
                    format!(
                        "column '{column}' holds '{}', which is not a yes/no value \
                         (use true/false, yes/no, 1/0 or enabled/disabled)",
                        shorten(text)
                    )
                })
            })
            .transpose()
    }
}

/// A value quoted in a message, cut to a readable length.
fn shorten(text: &str) -> String {
    const MAX_CHARS: usize = 40;
    if text.chars().count() <= MAX_CHARS {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(MAX_CHARS).collect();
        format!("{cut}...")
    }
}

/// Reads a yes/no value, ignoring case.
fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" | "enabled" | "active" => Some(true),
        "false" | "no" | "n" | "0" | "disabled" | "inactive" => Some(false),
        _ => None,
    }
}

/// The record a row describes, or what is wrong with the row.
pub fn map_row(fields: &Fields<'_>) -> Result<Record, String> {
    match fields.spec.kind {
        RecordKind::Device => device(fields).map(Record::from),
        RecordKind::Application => application(fields).map(Record::from),
        RecordKind::Installation => installation(fields).map(Record::from),
        RecordKind::User => user(fields).map(Record::from),
        RecordKind::ApplicationUsage => usage(fields).map(Record::from),
        other => Err(format!("internal error: no mapping for {other} records")),
    }
}

fn device(f: &Fields<'_>) -> Result<Device, String> {
    let mut device = Device::new(f.required("device_id")?, f.required("name")?);
    device.serial_number = f.optional("serial_number")?;
    device.manufacturer = f.optional("manufacturer")?;
    device.model = f.optional("model")?;
    device.operating_system = f.optional("operating_system")?;
    device.os_version = f.optional("os_version")?;
    device.primary_user = f.optional("primary_user")?;
    device.last_seen = f.optional("last_seen")?;
    device.entra_device_id = f.optional("entra_device_id")?;
    device.source_type = Some("csv".to_owned());
    Ok(device)
}

fn application(f: &Fields<'_>) -> Result<Application, String> {
    let mut application = Application::new(f.required("application_id")?, f.required("name")?);
    application.publisher = f.optional("publisher")?;
    application.version = f.optional("version")?;
    application.platform = f.optional("platform")?;
    Ok(application)
}

fn installation(f: &Fields<'_>) -> Result<Installation, String> {
    let mut installation =
        Installation::new(f.required("device_id")?, f.required("application_id")?);
    installation.installed_on = f.optional("installed_on")?;
    installation.last_used = f.optional("last_used")?;
    Ok(installation)
}

fn user(f: &Fields<'_>) -> Result<User, String> {
    let mut user = User::new(f.required("user_id")?, f.required("user_principal_name")?);
    user.display_name = f.optional("display_name")?;
    user.mail = f.optional("mail")?;
    user.department = f.optional("department")?;
    user.job_title = f.optional("job_title")?;
    user.enabled = f.boolean("enabled")?;
    Ok(user)
}

fn usage(f: &Fields<'_>) -> Result<ApplicationUsage, String> {
    let mut usage = ApplicationUsage::default();
    usage.user = f.required("user")?;
    usage.application = f.required("application")?;
    usage.last_activity = f.optional("last_activity")?;
    usage.platform = f.optional("platform")?;
    // One row per user, application and platform.
    usage.source_key = format!(
        "{}|{}|{}",
        usage.user,
        usage.application,
        usage.platform.as_deref().unwrap_or_default()
    );
    Ok(usage)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::{DEVICES, INSTALLATIONS, USAGE, USERS};
    use crate::params::Delimiter;
    use crate::reader::RowReader;

    /// Maps every row of `content`, read as a file of `spec`.
    fn map_all(spec: &FileSpec, content: &[u8]) -> Vec<Result<Record, String>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(spec.name);
        std::fs::write(&path, content).unwrap();
        let mut reader = RowReader::open(&path, Delimiter(b',')).unwrap();
        let header = HeaderMatch::new(spec, reader.header());
        let mut out = Vec::new();
        while let Some(row) = reader.next_row().unwrap() {
            out.push(map_row(&Fields::new(spec, &header, row)));
        }
        out
    }

    #[test]
    fn devices_map_every_column_and_empty_cells_become_none() {
        let rows = map_all(
            &DEVICES,
            b"device_id,name,serial_number,manufacturer,model,operating_system,os_version,\
              primary_user,last_seen,entra_device_id,asset_tag\n\
              D1, PC-001 ,SN1,Dell Inc.,Latitude 5440,Windows,10.0.22631,a@x.com,\
              2024-05-01T08:00:00Z,0f1e,AT-9\n\
              D2,PC-002,,,,,,,,,\n",
        );
        let Ok(Record::Device(d)) = &rows[0] else {
            panic!("{rows:?}")
        };
        assert_eq!((d.source_key.as_str(), d.name.as_str()), ("D1", "PC-001"));
        assert_eq!(d.serial_number.as_deref(), Some("SN1"));
        assert_eq!(d.manufacturer.as_deref(), Some("Dell Inc."));
        assert_eq!(d.model.as_deref(), Some("Latitude 5440"));
        assert_eq!(d.operating_system.as_deref(), Some("Windows"));
        assert_eq!(d.os_version.as_deref(), Some("10.0.22631"));
        assert_eq!(d.primary_user.as_deref(), Some("a@x.com"));
        assert_eq!(d.last_seen.as_deref(), Some("2024-05-01T08:00:00Z"));
        assert_eq!(d.entra_device_id.as_deref(), Some("0f1e"));
        assert_eq!(d.source_type.as_deref(), Some("csv"));

        let Ok(Record::Device(d)) = &rows[1] else {
            panic!("{rows:?}")
        };
        let mut expected = Device::new("D2", "PC-002");
        expected.source_type = Some("csv".into());
        assert_eq!(d, &expected);
    }

    #[test]
    fn installations_are_keyed_by_device_and_application() {
        let rows = map_all(
            &INSTALLATIONS,
            b"application_id,device_id,installed_on\nA1,D1,2024-01-02\n",
        );
        let Ok(Record::Installation(i)) = &rows[0] else {
            panic!("{rows:?}")
        };
        let mut expected = Installation::new("D1", "A1");
        expected.installed_on = Some("2024-01-02".into());
        assert_eq!(i, &expected);
        assert_eq!(i.source_key, "D1|A1");
    }

    #[test]
    fn users_read_yes_no_values_and_reject_others() {
        let rows = map_all(
            &USERS,
            b"user_id,user_principal_name,enabled\nU1,a@x.com,Yes\nU2,b@x.com,FALSE\n\
              U3,c@x.com,\nU4,d@x.com,maybe\nU5,e@x.com,0123456789012345678901234567890123456789xyz\n",
        );
        let enabled: Vec<_> = rows
            .iter()
            .map(|r| match r {
                Ok(Record::User(u)) => Ok(u.enabled),
                Ok(other) => panic!("{other:?}"),
                Err(e) => Err(e.clone()),
            })
            .collect();
        assert_eq!(enabled[..3], [Ok(Some(true)), Ok(Some(false)), Ok(None)]);
        assert_eq!(
            enabled[3],
            Err(
                "column 'enabled' holds 'maybe', which is not a yes/no value \
                 (use true/false, yes/no, 1/0 or enabled/disabled)"
                    .to_owned()
            )
        );
    }

    #[test]
    fn usage_rows_are_keyed_by_user_application_and_platform() {
        let rows = map_all(
            &USAGE,
            b"user,application,platform,last_activity\na@x.com,Teams,Windows,2024-04-30\n\
              a@x.com,Teams,,\n",
        );
        let keys: Vec<_> = rows
            .iter()
            .map(|r| r.as_ref().unwrap().source_key().to_owned())
            .collect();
        assert_eq!(keys, ["a@x.com|Teams|Windows", "a@x.com|Teams|"]);
        let Ok(Record::ApplicationUsage(u)) = &rows[0] else {
            panic!("{rows:?}")
        };
        assert_eq!(u.last_activity.as_deref(), Some("2024-04-30"));
        assert_eq!(u.platform.as_deref(), Some("Windows"));
    }

    #[test]
    fn empty_required_values_and_bad_utf8_are_named() {
        let rows = map_all(
            &DEVICES,
            b"device_id,name,model\n D1 ,  ,x\nD2,PC,\xFF\xFE\n",
        );
        assert_eq!(
            rows[0],
            Err("empty value in required column 'name'".to_owned())
        );
        let Err(problem) = &rows[1] else {
            panic!("{rows:?}")
        };
        assert!(
            problem.starts_with("the value in column 'model' is not valid UTF-8"),
            "{problem}"
        );
    }
}
