//! Reading a downloaded CSV (report or export) row by row, byte-order mark
//! tolerated, with the header names mapped to column positions.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

/// A CSV file with a header row.
pub struct CsvFile<R: Read> {
    reader: csv::Reader<R>,
    columns: HashMap<String, usize>,
    what: String,
}

/// Opens `path`, skipping a UTF-8 byte-order mark.
pub fn open(path: &Path, what: &str) -> Result<CsvFile<Box<dyn Read + Send>>, String> {
    let mut file = BufReader::new(
        File::open(path).map_err(|e| format!("{what}: cannot open the download: {e}"))?,
    );
    let mut bom = [0u8; 3];
    let n = file.read(&mut bom).map_err(|e| format!("{what}: {e}"))?;
    let head: Vec<u8> = if bom[..n] == [0xEF, 0xBB, 0xBF] {
        Vec::new()
    } else {
        bom[..n].to_vec()
    };
    let reader: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(head).chain(file));
    from_reader(reader, what)
}

/// A CSV from any reader (a zip entry).
pub fn from_reader<R: Read>(reader: R, what: &str) -> Result<CsvFile<R>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(reader);
    let headers = reader
        .headers()
        .map_err(|e| format!("{what}: unreadable header: {e}"))?;
    let columns = headers
        .iter()
        .enumerate()
        .map(|(i, h)| (h.trim_start_matches('\u{feff}').trim().to_owned(), i))
        .collect();
    Ok(CsvFile {
        reader,
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
        self.reader.read_record(row).map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            format!(
                "{} is truncated or malformed at line {line}: {e}",
                self.what
            )
        })
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

/// Report booleans: `True`/`Yes` are true.
pub fn truthy(value: Option<&str>) -> bool {
    value.is_some_and(|v| v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("yes"))
}
