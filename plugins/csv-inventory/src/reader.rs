//! A streaming CSV row reader: one row in memory at a time, each with its
//! line number in the file.

use std::fs::File;
use std::io::{self, Chain, Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use csv::{ByteRecord, Reader, ReaderBuilder, Terminator};

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
///
/// Records end at `\n` only (a `\r` before it is trimmed with the other
/// surrounding whitespace), which keeps line numbers exact for Windows
/// (CRLF) files too.
pub struct RowReader {
    reader: Reader<Chain<Cursor<Vec<u8>>, File>>,
    header: Vec<String>,
    record: ByteRecord,
    /// Bytes the csv reader will see (the file without its BOM).
    stream_len: u64,
    /// Whether the file's last byte is a newline.
    ends_with_newline: bool,
}

impl RowReader {
    /// Opens `path` and reads its header row. A UTF-8 BOM at the start is
    /// skipped; header names are decoded leniently (invalid bytes become
    /// U+FFFD, so such a column simply does not match).
    pub fn open(path: &Path, delimiter: Delimiter) -> io::Result<Self> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        let mut ends_with_newline = false;
        if len > 0 {
            let mut last = [0u8; 1];
            file.seek(SeekFrom::End(-1))?;
            file.read_exact(&mut last)?;
            file.seek(SeekFrom::Start(0))?;
            ends_with_newline = last[0] == b'\n';
        }
        let mut start = Vec::with_capacity(BOM.len());
        (&mut file).take(BOM.len() as u64).read_to_end(&mut start)?;
        let mut stream_len = len;
        if start == BOM {
            start.clear();
            stream_len -= BOM.len() as u64;
        }
        let mut reader = ReaderBuilder::new()
            .delimiter(delimiter.0)
            .terminator(Terminator::Any(b'\n'))
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
            stream_len,
            ends_with_newline,
        })
    }

    /// The header names, trimmed, in file order (empty for an empty file).
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// The next data row; `Ok(None)` at the end of the file. Blank lines
    /// (also those holding only whitespace) are skipped; a row whose field
    /// count differs from the header's is [`ReadError::Malformed`].
    pub fn next_row(&mut self) -> Result<Option<Row<'_>>, ReadError> {
        loop {
            match self.reader.read_byte_record(&mut self.record) {
                Ok(false) => return Ok(None),
                Ok(true) => {}
                Err(error) => {
                    let line = self.reader.position().line();
                    let problem = error.to_string();
                    return match error.into_kind() {
                        csv::ErrorKind::Io(e) => Err(ReadError::Io(e)),
                        _ => Err(ReadError::Malformed { line, problem }),
                    };
                }
            }
            let blank =
                self.record.len() == 1 && self.record[0].iter().all(u8::is_ascii_whitespace);
            if !blank {
                break;
            }
        }
        let line = self.start_line();
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

    /// The line the record just read starts on.
    ///
    /// The csv reader's own record position counts the blank lines it
    /// skipped before the record, so work back from where the record ended
    /// instead: the end line, minus the newlines inside quoted values,
    /// minus the newline ending the record (absent only for a last line
    /// without one).
    fn start_line(&self) -> u64 {
        let end = self.reader.position();
        let inside: u64 = self
            .record
            .iter()
            .map(|field| field.iter().filter(|b| **b == b'\n').count() as u64)
            .sum();
        let at_eof = end.byte() >= self.stream_len;
        let terminated = !at_eof || self.ends_with_newline;
        end.line()
            .saturating_sub(inside + u64::from(terminated))
            .max(1)
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
    fn line_numbers_hold_for_crlf_blank_lines_and_a_missing_final_newline() {
        let (_dir, mut r) = open(
            b"\xEF\xBB\xBFa,b\r\n1,2\r\n\r\n  \n\n3,\"x\r\ny\"\r\n5,6",
            b',',
        );
        assert_eq!(r.header(), ["a", "b"]);
        let mut seen = Vec::new();
        while let Some(row) = r.next_row().unwrap() {
            seen.push((row.line, fields(&row, 2)));
        }
        assert_eq!(
            seen,
            [
                (2, vec!["1".to_owned(), "2\r".to_owned()]),
                (6, vec!["3".to_owned(), "x\r\ny\r".to_owned()]),
                (8, vec!["5".to_owned(), "6".to_owned()]),
            ]
        );
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
