//! A streaming CSV row reader: one row in memory at a time, each with its
//! line number in the file.

use std::fs::File;
use std::io::{self, Chain, Cursor, Read};
use std::path::Path;

use csv::{ByteRecord, Reader, ReaderBuilder};

use crate::params::Delimiter;

/// The UTF-8 byte order mark some tools (Excel) write at the start of a file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Why the next row could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// This row is unusable; the following ones may be fine.
    Malformed {
        /// 1-based line of the file where the row starts.
        line: u64,
        /// What is wrong with it.
        problem: String,
    },
    /// The file itself cannot be read any further.
    Io(io::Error),
}

/// One data row, borrowed from the reader until the next call.
#[derive(Debug, Clone, Copy)]
pub struct Row<'r> {
    /// 1-based line of the file where the row starts (the header is line 1).
    pub line: u64,
    record: &'r ByteRecord,
}

impl<'r> Row<'r> {
    /// The raw bytes of field `index`.
    pub fn field(&self, index: usize) -> Option<&'r [u8]> {
        self.record.get(index)
    }
}

/// Reads a CSV file row by row; the header row is read on opening.
pub struct RowReader {
    reader: Reader<Chain<Cursor<Vec<u8>>, File>>,
    header: Vec<String>,
    record: ByteRecord,
}

impl RowReader {
    /// Opens `path` and reads its header row. A UTF-8 BOM at the start is
    /// skipped; header names are decoded leniently (invalid bytes become
    /// U+FFFD, so such a column simply does not match).
    pub fn open(path: &Path, delimiter: Delimiter) -> io::Result<Self> {
        let mut file = File::open(path)?;
        let mut start = Vec::with_capacity(BOM.len());
        (&mut file).take(BOM.len() as u64).read_to_end(&mut start)?;
        if start == BOM {
            start.clear();
        }
        let mut reader = ReaderBuilder::new()
            .delimiter(delimiter.0)
            .has_headers(true)
            // Field counts are checked here, per row, to report the line.
            .flexible(true)
            .from_reader(Cursor::new(start).chain(file));
        let header = reader
            .byte_headers()
            .map_err(into_io)?
            .iter()
            .map(|h| String::from_utf8_lossy(h).trim().to_owned())
            .collect();
        Ok(RowReader {
            reader,
            header,
            record: ByteRecord::new(),
        })
    }

    /// The header names, trimmed, in file order (empty for an empty file).
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// The next data row; `Ok(None)` at the end of the file. Blank lines are
    /// skipped; a row whose field count differs from the header's is
    /// [`ReadError::Malformed`].
    pub fn next_row(&mut self) -> Result<Option<Row<'_>>, ReadError> {
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => return Ok(None),
            Ok(true) => {}
            Err(error) => {
                let line = error
                    .position()
                    .map_or_else(|| self.reader.position().line(), |p| p.line());
                let problem = error.to_string();
                return match error.into_kind() {
                    csv::ErrorKind::Io(e) => Err(ReadError::Io(e)),
                    _ => Err(ReadError::Malformed { line, problem }),
                };
            }
        }
        let line = self
            .record
            .position()
            .map_or_else(|| self.reader.position().line(), |p| p.line());
        let (found, expected) = (self.record.len(), self.header.len());
        if found != expected {
            return Err(ReadError::Malformed {
                line,
                problem: format!(
                    "{found} field(s) where the header has {expected}; check for a missing \
                     or extra delimiter, or a value containing the delimiter without quotes"
                ),
            });
        }
        Ok(Some(Row {
            line,
            record: &self.record,
        }))
    }
}

fn into_io(error: csv::Error) -> io::Error {
    let text = error.to_string();
    match error.into_kind() {
        csv::ErrorKind::Io(e) => e,
        _ => io::Error::new(io::ErrorKind::InvalidData, text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(content: &[u8], delimiter: u8) -> (tempfile::TempDir, RowReader) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.csv");
        std::fs::write(&path, content).unwrap();
        let reader = RowReader::open(&path, Delimiter(delimiter)).unwrap();
        (dir, reader)
    }

    fn fields(row: &Row<'_>, n: usize) -> Vec<String> {
        (0..n)
            .map(|i| String::from_utf8_lossy(row.field(i).unwrap()).into_owned())
            .collect()
    }

    #[test]
    fn rows_carry_their_line_numbers() {
        let (_dir, mut r) = open(b"a , B\n1,2\n\n\"multi\nline\",3\n4,5\n", b',');
        assert_eq!(r.header(), ["a", "B"]);
        let row = r.next_row().unwrap().unwrap();
        assert_eq!(
            (row.line, fields(&row, 2)),
            (2, vec!["1".into(), "2".into()])
        );
        let row = r.next_row().unwrap().unwrap();
        assert_eq!(row.line, 4);
        assert_eq!(fields(&row, 2), ["multi\nline", "3"]);
        let row = r.next_row().unwrap().unwrap();
        assert_eq!(row.line, 6);
        assert!(r.next_row().unwrap().is_none());
        assert!(r.next_row().unwrap().is_none());
    }

    #[test]
    fn a_bom_is_skipped_and_delimiters_apply() {
        let (_dir, mut r) = open(b"\xEF\xBB\xBF\"id\";name\nx;y\n", b';');
        assert_eq!(r.header(), ["id", "name"]);
        let row = r.next_row().unwrap().unwrap();
        assert_eq!(fields(&row, 2), ["x", "y"]);

        let (_dir, mut r) = open(b"id\tname\nx\ty,z\n", b'\t');
        assert_eq!(r.header(), ["id", "name"]);
        let row = r.next_row().unwrap().unwrap();
        assert_eq!(fields(&row, 2), ["x", "y,z"]);
    }

    #[test]
    fn wrong_field_counts_are_malformed_and_reading_goes_on() {
        let (_dir, mut r) = open(b"a,b\n1\n1,2,3\n4,5\n", b',');
        for expected_line in [2, 3] {
            match r.next_row() {
                Err(ReadError::Malformed { line, problem }) => {
                    assert_eq!(line, expected_line);
                    assert!(problem.contains("where the header has 2"), "{problem}");
                }
                other => panic!("expected a malformed row, got {other:?}"),
            }
        }
        let row = r.next_row().unwrap().unwrap();
        assert_eq!(
            (row.line, fields(&row, 2)),
            (4, vec!["4".into(), "5".into()])
        );
    }

    #[test]
    fn an_empty_file_has_an_empty_header() {
        let (_dir, mut r) = open(b"", b',');
        assert!(r.header().is_empty());
        assert!(r.next_row().unwrap().is_none());
        let (_dir, r) = open(BOM, b',');
        assert!(r.header().is_empty());
    }
}
