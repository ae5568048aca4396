//! Intune export jobs: the AppInvRawData report as a zip holding one CSV,
//! generated row by row from the tenant.

use std::io::{self, Cursor, Write};

use super::csv_out::CsvSink;
use super::tenant::Tenant;

/// The only report the simulator exports.
pub(crate) const APP_INV_RAW_DATA: &str = "AppInvRawData";

/// AppInvRawData columns, in the report's order.
pub(crate) const COLUMNS: [&str; 13] = [
    "ApplicationKey",
    "ApplicationName",
    "ApplicationPublisher",
    "ApplicationShortVersion",
    "ApplicationVersion",
    "DeviceId",
    "DeviceName",
    "OSDescription",
    "OSVersion",
    "Platform",
    "UserId",
    "EmailAddress",
    "UserName",
];

/// The state of one export job.
#[derive(Debug, Clone)]
pub(crate) struct ExportJob {
    /// `AppInvRawData_<guid>`.
    pub id: String,
    /// Column indices into [`COLUMNS`], in the order asked for.
    pub columns: Vec<usize>,
    /// The `select` as sent.
    pub select: Vec<String>,
    pub requested: i64,
    /// Polls answered so far.
    pub polls: u32,
    /// The download token once completed.
    pub download_token: String,
}

/// Column indices for a `select` list: all columns when empty; `Err` names
/// the first unknown column.
pub(crate) fn resolve_columns(select: &[String]) -> Result<Vec<usize>, String> {
    if select.is_empty() {
        return Ok((0..COLUMNS.len()).collect());
    }
    select
        .iter()
        .map(|s| {
            COLUMNS
                .iter()
                .position(|c| c.eq_ignore_ascii_case(s.trim()))
                .ok_or_else(|| s.clone())
        })
        .collect()
}

/// Writes the AppInvRawData CSV (header and one row per installation, in
/// device order) into `out`.
pub(crate) fn write_csv<W: Write>(
    tenant: &Tenant,
    columns: &[usize],
    truncate_last: bool,
    out: W,
) -> io::Result<W> {
    let mut sink = CsvSink::new(out, truncate_last);
    let head: Vec<&str> = columns
        .iter()
        .filter_map(|c| COLUMNS.get(*c).copied())
        .collect();
    sink.header(&head)?;
    for d in 0..tenant.devices {
        let platform = tenant.device_platform(d);
        let apps = tenant.device_apps(d, platform);
        if apps.is_empty() {
            continue;
        }
        let device = tenant.managed_device(d);
        let (user_id, email, user_name) = match &device.user {
            Some(u) => (u.id.as_str(), u.mail.as_str(), u.display_name.as_str()),
            None => ("", "", ""),
        };
        for a in apps {
            let Some(app) = tenant.catalog.get(a) else {
                continue;
            };
            let short = app.short_version();
            let row: Vec<String> = columns
                .iter()
                .map(|c| {
                    match *c {
                        0 => app.key.as_str(),
                        1 => app.name.as_str(),
                        2 => app.publisher.as_str(),
                        3 => short.as_str(),
                        4 => app.version.as_str(),
                        5 => device.id.as_str(),
                        6 => device.name.as_str(),
                        7 => device.os_description,
                        8 => device.os_version,
                        9 => platform.intune_os(),
                        10 => user_id,
                        11 => email,
                        12 => user_name,
                        _ => "",
                    }
                    .to_owned()
                })
                .collect();
            sink.push(row)?;
        }
    }
    sink.finish()
}

/// The zip the download link serves: one deflated `<job id>.csv`.
pub(crate) fn build_zip(
    tenant: &Tenant,
    job: &ExportJob,
    truncate_last: bool,
) -> io::Result<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1))
        .large_file(true);
    zip.start_file(format!("{}.csv", job.id), options)
        .map_err(io::Error::other)?;
    let mut zip = write_csv(tenant, &job.columns, truncate_last, zip)?;
    zip.flush()?;
    let cursor = zip.finish().map_err(io::Error::other)?;
    Ok(cursor.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SimulatorConfig;
    use std::io::Read;

    #[test]
    fn zip_holds_one_row_per_installation() {
        let config = SimulatorConfig {
            users: 40,
            devices: 60,
            ..SimulatorConfig::default()
        };
        let tenant = Tenant::new(&config, 1_720_000_000);
        let job = ExportJob {
            id: "AppInvRawData_test".to_owned(),
            columns: resolve_columns(&[]).unwrap(),
            select: Vec::new(),
            requested: 0,
            polls: 0,
            download_token: String::new(),
        };
        let bytes = build_zip(&tenant, &job, false).unwrap();
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        assert_eq!(archive.len(), 1);
        let mut text = String::new();
        archive
            .by_index(0)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(reader.headers().unwrap().len(), 13);
        let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        assert_eq!(records.len() as u64, tenant.expected.installations);
        let mut pairs: Vec<(String, String)> = records
            .iter()
            .map(|r| (r[5].to_owned(), r[0].to_owned()))
            .collect();
        pairs.sort();
        pairs.dedup();
        assert_eq!(
            pairs.len(),
            records.len(),
            "duplicate (DeviceId, ApplicationKey)"
        );
        let mut keys: Vec<&str> = records.iter().map(|r| &r[0]).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len() as u64, tenant.expected.applications);
    }

    #[test]
    fn select_picks_and_orders_columns() {
        let cols = resolve_columns(&["DeviceId".into(), "applicationkey".into()]).unwrap();
        assert_eq!(cols, vec![5, 0]);
        assert_eq!(resolve_columns(&["Nope".into()]), Err("Nope".to_owned()));
    }
}
