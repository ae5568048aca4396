//! Reading a downloaded CSV (report or export) row by row, byte-order mark
//! tolerated, with the header names mapped to column positions. A row may
//! not be longer than [`MAX_ROW_BYTES`]: the reader never holds more than
//! one row, whatever the file.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The longest row (or header) read; real rows are a few hundred bytes.
pub const MAX_ROW_BYTES: u64 = 1 << 20;

/// Slack for what the CSV reader buffers ahead of the row it parses.
const READ_AHEAD: u64 = 64 << 10;

/// A CSV file with a header row.
pub struct CsvFile<R: Read> {
    reader: csv::Reader<Bounded<R>>,
    /// Where the current row may end at the latest (bytes from the start).
    row_limit: Arc<AtomicU64>,
    columns: HashMap<String, usize>,
    what: String,
}

/// A reader that fails once it delivers bytes past `limit`, which the
/// CSV file moves forward after every row.
pub struct Bounded<R> {
    inner: R,
    delivered: u64,
    limit: Arc<AtomicU64>,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let limit = self.limit.load(Ordering::Relaxed);
        if self.delivered >= limit {
            return Err(std::io::Error::other(TOO_LONG));
        }
        let room = usize::try_from(limit - self.delivered).unwrap_or(usize::MAX);
        let n = buf.len().min(room);
        let read = self.inner.read(&mut buf[..n])?;
        self.delivered += read as u64;
        Ok(read)
    }
}

const TOO_LONG: &str = "a row is longer than 1 MiB";

/// Opens `path`, skipping a UTF-8 byte-order mark.
pub fn open(path: &Path, what: &str) -> Result<CsvFile<Box<dyn Read + Send>>, String> {
    let file = File::open(path).map_err(|e| format!("{what}: cannot open the download: {e}"))?;
    skipping_bom(BufReader::new(file), what)
}

/// A CSV from any reader, skipping a UTF-8 byte-order mark.
pub fn skipping_bom(
    mut reader: impl Read + Send + 'static,
    what: &str,
) -> Result<CsvFile<Box<dyn Read + Send>>, String> {
    let mut bom = [0u8; 3];
    let mut n = 0;
    // `read` may return fewer bytes than asked even before the end.
    while n < 3 {
        match reader.read(&mut bom[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("{what}: {e}")),
        }
    }
    let head: Vec<u8> = if bom[..n] == [0xEF, 0xBB, 0xBF] {
        Vec::new()
    } else {
        bom[..n].to_vec()
    };
    let reader: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(head).chain(reader));
    from_reader(reader, what)
}

/// A CSV from any reader (a zip entry).
pub fn from_reader<R: Read>(reader: R, what: &str) -> Result<CsvFile<R>, String> {
    let row_limit = Arc::new(AtomicU64::new(MAX_ROW_BYTES + READ_AHEAD));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(Bounded {
            inner: reader,
            delivered: 0,
            limit: Arc::clone(&row_limit),
        });
    let headers = reader
        .headers()
        .map_err(|e| format!("{what}: unreadable header: {}", describe(&e)))?;
    let columns = headers
        .iter()
        .enumerate()
        .map(|(i, h)| (h.trim_start_matches('\u{feff}').trim().to_owned(), i))
        .collect();
    Ok(CsvFile {
        reader,
        row_limit,
        columns,
        what: what.to_owned(),
    })
}

impl<R: Read> CsvFile<R> {
    /// Fails naming the columns the file lacks.
    pub fn require(&self, names: &[&str]) -> Result<(), String> {
        let missing: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| !self.columns.contains_key(*n))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{}: the columns {} are missing",
                self.what,
                missing.join(", ")
            ))
        }
    }

    /// The next row; a short or malformed row is an error naming its line.
    pub fn next_row(&mut self, row: &mut csv::StringRecord) -> Result<bool, String> {
        let more = self.reader.read_record(row).map_err(|e| {
            let line = match e.position() {
                Some(p) => p.line(),
                // An I/O error has no position: the row after the last read.
                None => self.reader.position().line() + 1,
            };
            format!(
                "{} is truncated or malformed at line {line}: {}",
                self.what,
                describe(&e)
            )
        })?;
        let end = self.reader.position().byte();
        self.row_limit
            .store(end + MAX_ROW_BYTES + READ_AHEAD, Ordering::Relaxed);
        Ok(more)
    }

    /// A cell by column name; empty cells are `None`.
    pub fn get<'r>(&self, row: &'r csv::StringRecord, name: &str) -> Option<&'r str> {
        self.columns
            .get(name)
            .and_then(|i| row.get(*i))
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
}

/// A CSV error on one line, without the csv crate's own position prefix.
fn describe(error: &csv::Error) -> String {
    match error.kind() {
        csv::ErrorKind::Io(e) => e.to_string(),
        csv::ErrorKind::Utf8 { err, .. } => format!("not UTF-8 text: {err}"),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields where the header has {expected_len}"),
        _ => error.to_string().replace('\n', " "),
    }
}

/// Report booleans: `True`/`Yes` are true.
pub fn truthy(value: Option<&str>) -> bool {
    value.is_some_and(|v| v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("yes"))
}
