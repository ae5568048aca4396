//! The Sync Data action: stream every file, row by row, into the run context.

use std::path::{Path, PathBuf};

use connector_core::{
    Batch, ConnectorError, Flow, Parameters, Progress, RecordSink, RunContext, RunSummary,
};
use tracing::{debug, info};

use crate::files::{FILES, FileSpec, HeaderMatch, display_name, join, locate};
use crate::params::{MalformedRows, Settings};
use crate::reader::{ReadError, RowReader};
use crate::records::{Fields, map_row};

/// Malformed rows listed one by one per file; further ones are only counted.
pub const MAX_LISTED_ROWS: u64 = 20;
/// Rows between two looks at `is_cancelled`.
const CANCEL_CHECK_EVERY: u64 = 256;
/// Rows between two progress notes within a file.
const PROGRESS_EVERY: u64 = 50_000;

/// What reading one file gave.
struct FileOutcome {
    spec: &'static FileSpec,
    imported: u64,
    skipped: u64,
}

/// Runs a sync of the folder in `params`.
pub fn sync(params: &Parameters, ctx: &mut RunContext<'_>) -> Result<RunSummary, ConnectorError> {
    let settings = Settings::from_params(params)?;
    let plan = plan(&settings)?;
    let mut outcomes = Vec::new();
    let mut absent = Vec::new();
    for (spec, path) in plan {
        if ctx.is_cancelled() {
            return Err(ConnectorError::cancelled());
        }
        match path {
            Some(path) => outcomes.push(import_file(spec, &path, &settings, ctx)?),
            None => {
                info!(file = spec.name, "Optional file not present, skipped.");
                absent.push(spec.name);
            }
        }
    }
    let mut summary = ctx.summary();
    summary.message = closing_line(&settings.folder, &outcomes, &absent);
    Ok(summary)
}

/// Validate Files: reads the folder as a sync would, every malformed row
/// listed rather than the first stopping it, and emits nothing. Succeeds
/// with the rows each file would import; fails, naming the first problem's
/// file and line, when a row could not be read.
pub fn validate(params: &Parameters) -> Result<RunSummary, ConnectorError> {
    let mut params = params.clone();
    params.insert(crate::params::MALFORMED_ROWS, "skip");
    let mut discard = Discard;
    let mut ctx = RunContext::new(&mut discard);
    let read = sync(&params, &mut ctx)?;
    let per_file: Vec<String> = FILES
        .iter()
        .filter_map(|spec| {
            read.records
                .get(&spec.kind)
                .map(|n| format!("{} {n} {}", spec.name, spec.noun))
        })
        .collect();
    let would = if per_file.is_empty() {
        "nothing".to_owned()
    } else {
        per_file.join(", ")
    };
    let problems: Vec<&String> = read
        .warnings
        .iter()
        .filter(|w| w.contains(" line "))
        .collect();
    match problems.first() {
        None => {
            let mut summary = RunSummary::default();
            summary.message = format!("No problem found; a sync would import {would}.");
            Ok(summary)
        }
        Some(first) => Err(ConnectorError::failed(format!(
            "{} malformed row(s) found, the first: {first}; a sync would import {would}",
            problems.len()
        ))),
    }
}

/// Takes batches and keeps nothing (Validate Files counts, writes nothing).
struct Discard;

impl RecordSink for Discard {
    fn emit(&mut self, _batch: Batch) -> Flow {
        Flow::Continue
    }

    fn progress(&mut self, _progress: Progress) {}

    fn is_cancelled(&self) -> bool {
        false
    }
}

/// Finds every file and checks every header before anything is emitted, so
/// that a missing file or column fails the run at once.
fn plan(settings: &Settings) -> Result<Vec<(&'static FileSpec, Option<PathBuf>)>, ConnectorError> {
    let folder = &settings.folder;
    if let Err(error) = std::fs::read_dir(folder) {
        return Err(ConnectorError::failed(format!(
            "cannot read folder {}: {error}; check the 'folder' parameter and that the \
             account running invhost may read it",
            folder.display()
        )));
    }
    let mut plan = Vec::with_capacity(FILES.len());
    let mut missing = Vec::new();
    for spec in &FILES {
        let path = locate(folder, spec.name).map_err(|error| {
            ConnectorError::failed(format!(
                "cannot look for {} in {}: {error}",
                spec.name,
                folder.display()
            ))
        })?;
        if path.is_none() && spec.required {
            missing.push(spec.name);
        }
        plan.push((spec, path));
    }
    if !missing.is_empty() {
        return Err(ConnectorError::failed(format!(
            "required file(s) {} not found in folder {} (names are matched ignoring case); \
             add them or correct the 'folder' parameter",
            join(&missing),
            folder.display()
        )));
    }
    for (spec, path) in &plan {
        if let Some(path) = path {
            open(spec, path, settings)?;
        }
    }
    Ok(plan)
}

/// Opens a file and matches its header, failing when a required column is missing.
fn open(
    spec: &FileSpec,
    path: &Path,
    settings: &Settings,
) -> Result<(RowReader, HeaderMatch), ConnectorError> {
    let reader = RowReader::open(path, settings.delimiter).map_err(|error| {
        ConnectorError::failed(format!("cannot read {}: {error}", path.display()))
    })?;
    let header = HeaderMatch::new(spec, reader.header());
    if !header.is_complete() {
        return Err(ConnectorError::failed(
            header.missing_message(&display_name(path), settings.delimiter),
        ));
    }
    if !header.unknown.is_empty() {
        debug!(file = spec.name, unknown = %join(&header.unknown), "Ignoring unknown columns.");
    }
    Ok((reader, header))
}

/// Streams one file into `ctx` and marks its record kind complete.
fn import_file(
    spec: &'static FileSpec,
    path: &Path,
    settings: &Settings,
    ctx: &mut RunContext<'_>,
) -> Result<FileOutcome, ConnectorError> {
    let name = display_name(path);
    ctx.progress(progress(format!("Reading {name}"), 0));
    let (mut reader, header) = open(spec, path, settings)?;
    let (mut imported, mut skipped, mut last_line) = (0u64, 0u64, 1u64);
    let mut first_problem = None;
    loop {
        if (imported + skipped) % CANCEL_CHECK_EVERY == 0 && ctx.is_cancelled() {
            return Err(ConnectorError::cancelled());
        }
        let (line, problem) = match reader.next_row() {
            Ok(None) => break,
            Ok(Some(row)) => {
                last_line = row.line;
                match map_row(&Fields::new(spec, &header, row)) {
                    Ok(record) => {
                        ctx.emit(record)?;
                        imported += 1;
                        if imported % PROGRESS_EVERY == 0 {
                            ctx.progress(progress(format!("Reading {name}"), imported));
                        }
                        continue;
                    }
                    Err(problem) => (row.line, problem),
                }
            }
            Err(ReadError::Malformed { line, problem }) => (line, problem),
            Err(ReadError::Io(error)) => {
                return Err(ConnectorError::failed(format!(
                    "cannot read {name} after line {last_line}: {error}"
                )));
            }
        };
        last_line = line;
        match settings.malformed_rows {
            MalformedRows::Fail => {
                return Err(ConnectorError::failed(format!(
                    "{name} line {line}: {problem}; correct the row, or set 'malformed_rows' \
                     to \"skip\" to import the other rows"
                )));
            }
            MalformedRows::Skip => {
                skipped += 1;
                if first_problem.is_none() {
                    first_problem = Some(format!("line {line}: {problem}"));
                }
                if skipped <= MAX_LISTED_ROWS {
                    ctx.warn(format!("{name} line {line}: {problem}; row skipped"));
                }
            }
        }
    }
    if skipped > MAX_LISTED_ROWS {
        ctx.warn(format!(
            "{name}: {skipped} malformed rows skipped in all; only the first \
             {MAX_LISTED_ROWS} are listed"
        ));
    }
    if imported == 0 && skipped > 0 {
        // Completing the kind now would make the host remove every
        // previously imported row of it: refuse rather than lose good data.
        return Err(ConnectorError::failed(format!(
            "{name}: none of its {skipped} data row(s) could be read (first: {}), so nothing \
             was imported and the previous {} are kept",
            first_problem.unwrap_or_default(),
            spec.noun
        )));
    }
    ctx.complete(spec.kind)?;
    info!(file = %name, imported, skipped, "Imported file.");
    ctx.progress(progress(
        format!("Read {name}: {imported} {}", spec.noun),
        imported,
    ));
    Ok(FileOutcome {
        spec,
        imported,
        skipped,
    })
}

fn progress(message: String, done: u64) -> Progress {
    let mut progress = Progress::message(message);
    progress.done = Some(done);
    progress
}

/// "Imported 5 devices, 8 applications and 20 installations from /data."
fn closing_line(folder: &Path, outcomes: &[FileOutcome], absent: &[&str]) -> String {
    let counts: Vec<String> = outcomes
        .iter()
        .map(|o| format!("{} {}", o.imported, o.spec.noun))
        .collect();
    let mut line = format!("Imported {} from {}.", and_list(&counts), folder.display());
    let skipped: u64 = outcomes.iter().map(|o| o.skipped).sum();
    if skipped > 0 {
        line.push_str(&format!(
            " Skipped {skipped} malformed row(s); see the warnings."
        ));
    }
    if !absent.is_empty() {
        line.push_str(&format!(" Not present (optional): {}.", join(absent)));
    }
    line
}

/// "a, b and c".
fn and_list(items: &[String]) -> String {
    match items {
        [] => "nothing".to_owned(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use connector_core::testing::{Options, Run};
    use connector_core::{ErrorKind, Record, RecordKind};

    use super::*;
    use crate::test_support::{Folder, minimal};

    fn kinds(run: &Run) -> Vec<RecordKind> {
        let mut kinds: Vec<_> = run.records().map(Record::kind).collect();
        kinds.dedup();
        kinds
    }

    #[test]
    fn a_sync_streams_every_file_in_order_and_marks_it_complete() {
        let folder = minimal()
            .file(
                "users.csv",
                "user_id,user_principal_name,enabled\nU1,a@x.com,true\n",
            )
            .file("usage.csv", "user,application\na@x.com,Zoom\n");
        let run = folder.sync(&[]);
        run.assert_conforms();
        let summary = run.summary();
        assert_eq!(
            kinds(&run),
            [
                RecordKind::Device,
                RecordKind::Application,
                RecordKind::Installation,
                RecordKind::User,
                RecordKind::ApplicationUsage
            ]
        );
        assert_eq!(run.records().count(), 2 + 2 + 3 + 1 + 1);
        assert_eq!(run.complete(), summary.complete);
        assert_eq!(summary.complete.len(), 5);
        assert_eq!(summary.records[&RecordKind::Installation], 3);
        assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);
        assert_eq!(
            summary.message,
            format!(
                "Imported 2 devices, 2 applications, 3 installations, 1 users and 1 usage \
                 rows from {}.",
                folder.path().display()
            )
        );
        let notes: Vec<_> = run
            .progress
            .iter()
            .map(|p| (p.message.as_str(), p.done))
            .collect();
        assert_eq!(notes[0], ("Reading devices.csv", Some(0)));
        assert_eq!(notes[1], ("Read devices.csv: 2 devices", Some(2)));
        assert_eq!(
            notes.last(),
            Some(&("Read usage.csv: 1 usage rows", Some(1)))
        );
    }

    #[test]
    fn absent_optional_files_are_not_marked_complete() {
        let folder = minimal();
        let run = folder.sync(&[]);
        run.assert_conforms();
        let summary = run.summary();
        assert_eq!(
            run.complete(),
            [
                RecordKind::Device,
                RecordKind::Application,
                RecordKind::Installation
            ]
        );
        assert!(!summary.records.contains_key(&RecordKind::User));
        assert!(
            summary
                .message
                .ends_with("Not present (optional): users.csv, usage.csv."),
            "{}",
            summary.message
        );
    }

    #[test]
    fn a_bom_case_insensitive_headers_and_other_delimiters_are_read() {
        for (delimiter, sep) in [(";", ";"), ("tab", "\t"), ("|", "|")] {
            let folder = Folder::new()
                .file(
                    "Devices.CSV",
                    format!(
                        "\u{feff}Device_ID{sep} NAME {sep}Model\nD1{sep}PC-1{sep}\"X{sep}Y\"\n"
                    ),
                )
                .file(
                    "applications.csv",
                    format!("APPLICATION_ID{sep}Name\nA1{sep}Zoom\n"),
                )
                .file(
                    "installations.csv",
                    format!("Application_Id{sep}Device_Id\nA1{sep}D1\n"),
                );
            let run = folder.sync(&[("delimiter", delimiter)]);
            let summary = run.summary();
            assert_eq!(summary.total(), 3, "{delimiter}");
            let records: Vec<&Record> = run.records().collect();
            let Record::Device(device) = records[0] else {
                panic!("{:?}", records[0])
            };
            assert_eq!(device.source_key, "D1");
            assert_eq!(device.name, "PC-1");
            assert_eq!(device.model.as_deref(), Some(format!("X{sep}Y").as_str()));
            let Record::Installation(installation) = records[2] else {
                panic!("{:?}", records[2])
            };
            assert_eq!(installation.source_key, "D1|A1");
        }
    }

    #[test]
    fn malformed_rows_are_skipped_with_file_and_line() {
        let folder = minimal().file(
            "devices.csv",
            "device_id,name\nD1,PC-1\nD2\n,PC-3\nD4,PC-4,extra\nD5,PC-5\n",
        );
        let run = folder.sync(&[("malformed_rows", "skip")]);
        run.assert_conforms();
        let summary = run.summary();
        assert_eq!(summary.records[&RecordKind::Device], 2);
        let keys: Vec<_> = run
            .of_kind(RecordKind::Device)
            .into_iter()
            .map(Record::source_key)
            .collect();
        assert_eq!(keys, ["D1", "D5"]);
        assert_eq!(summary.warnings.len(), 3);
        assert!(
            summary.warnings[0]
                .starts_with("devices.csv line 3: 1 field(s) where the header has 2"),
            "{}",
            summary.warnings[0]
        );
        assert_eq!(
            summary.warnings[1],
            "devices.csv line 4: empty value in required column 'device_id'; row skipped"
        );
        assert!(summary.warnings[2].starts_with("devices.csv line 5: 3 field(s)"));
        assert!(summary.complete.contains(&RecordKind::Device));
        assert!(
            summary
                .message
                .contains("Skipped 3 malformed row(s); see the warnings."),
            "{}",
            summary.message
        );
    }

    #[test]
    fn lines_are_exact_in_windows_files_with_blank_lines() {
        let folder = minimal().file(
            "devices.csv",
            "device_id,name\r\nD1,PC-1\r\n\r\nD2,\"PC\r\n2\"\r\n\r\nD3,\r\nD4,PC-4",
        );
        let run = folder.sync(&[]);
        run.assert_conforms();
        let summary = run.summary();
        assert_eq!(
            summary.warnings,
            ["devices.csv line 7: empty value in required column 'name'; row skipped"]
        );
        let names: Vec<_> = run
            .records()
            .filter_map(|r| match r {
                Record::Device(d) => Some(d.name.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(names, ["PC-1", "PC\r\n2", "PC-4"]);
    }

    #[test]
    fn a_malformed_row_fails_the_run_when_asked() {
        let folder = minimal().file(
            "users.csv",
            "user_id,user_principal_name,enabled\nU1,a@x.com,yes\nU2,b@x.com,sometimes\n",
        );
        let run = folder.sync(&[("malformed_rows", "fail")]);
        let err = run.error();
        assert_eq!(err.kind, ErrorKind::Failed);
        assert_eq!(
            err.message,
            "users.csv line 3: column 'enabled' holds 'sometimes', which is not a yes/no value \
             (use true/false, yes/no, 1/0 or enabled/disabled); correct the row, or set \
             'malformed_rows' to \"skip\" to import the other rows"
        );
        assert!(!run.is_complete(RecordKind::User));
    }

    #[test]
    fn invalid_utf8_is_a_malformed_row() {
        let folder = minimal().file(
            "applications.csv",
            b"application_id,name\nA1,Google Chrome\nA2,Z\xF6om\n".as_slice(),
        );
        let run = folder.sync(&[("malformed_rows", "fail")]);
        let err = run.error();
        assert!(
            err.message.starts_with(
                "applications.csv line 3: the value in column 'name' is not valid UTF-8"
            ),
            "{}",
            err.message
        );
    }

    #[test]
    fn warnings_are_capped_per_file() {
        let mut devices = String::from("device_id,name\nD0,PC-0\n");
        for i in 1..=500 {
            devices.push_str(&format!("D{i}\n"));
        }
        let folder = minimal().file("devices.csv", devices);
        let run = folder.sync(&[]);
        run.assert_conforms();
        let summary = run.summary();
        assert_eq!(summary.warnings.len(), MAX_LISTED_ROWS as usize + 1);
        assert!(summary.warnings[19].starts_with("devices.csv line 22: "));
        assert_eq!(
            summary.warnings[20],
            "devices.csv: 500 malformed rows skipped in all; only the first 20 are listed"
        );
    }

    #[test]
    fn a_file_of_only_bad_rows_is_not_marked_complete() {
        let folder = minimal().file("installations.csv", "device_id,application_id\nD1\nD2\n");
        let run = folder.sync(&[]);
        let err = run.error();
        assert_eq!(
            err.message,
            "installations.csv: none of its 2 data row(s) could be read (first: line 2: 1 \
             field(s) where the header has 2; check for a missing or extra delimiter, or a value \
             containing the delimiter without quotes), so nothing was imported and the previous \
             installations are kept"
        );
        assert!(!run.is_complete(RecordKind::Installation));

        // A header-only file is a legitimately empty list.
        let folder = minimal().file("installations.csv", "device_id,application_id\n");
        let run = folder.sync(&[]);
        assert_eq!(run.summary().records.get(&RecordKind::Installation), None);
        assert!(run.is_complete(RecordKind::Installation));
    }

    #[test]
    fn a_missing_required_file_or_column_fails_before_anything_is_emitted() {
        let folder = minimal().without("applications.csv");
        let run = folder.sync(&[]);
        let err = run.error();
        assert_eq!(err.kind, ErrorKind::Failed);
        assert_eq!(
            err.message,
            format!(
                "required file(s) applications.csv not found in folder {} (names are matched \
                 ignoring case); add them or correct the 'folder' parameter",
                folder.path().display()
            )
        );
        assert!(run.batches.is_empty());

        let folder = minimal().file("usage.csv", "user,app\n");
        let run = folder.sync(&[]);
        assert_eq!(
            run.error().message,
            "usage.csv lacks the required column(s) application in its header row (found: \
             user, app); add the column(s) to the first line of the file"
        );
        assert!(run.batches.is_empty());
    }

    #[test]
    fn a_stop_from_the_host_ends_the_run_within_one_batch() {
        let mut devices = String::from("device_id,name\n");
        for i in 0..2_500 {
            devices.push_str(&format!("D{i},PC-{i}\n"));
        }
        let folder = minimal().file("devices.csv", devices);
        let run = folder.sync_with(&[], &Options::new().cancel_after_batches(1));
        assert_eq!(run.error().kind, ErrorKind::Cancelled);
        assert_eq!(run.batches.len(), 1);
        assert_eq!(run.records().count(), connector_core::DEFAULT_BATCH_SIZE);
        assert!(run.complete().is_empty());
    }

    #[test]
    fn the_closing_line_reads_naturally() {
        assert_eq!(and_list(&[]), "nothing");
        assert_eq!(and_list(&["1 devices".into()]), "1 devices");
        assert_eq!(
            and_list(&["1 a".into(), "2 b".into(), "3 c".into()]),
            "1 a, 2 b and 3 c"
        );
    }
}
