//! Writing CSV rows, with an optional cut in the middle of the last row
//! (the `truncated_csv` fault).

use std::io::{self, Write};

/// Writes records one behind, so the last one can be cut short.
pub(crate) struct CsvSink<W: Write> {
    writer: csv::Writer<W>,
    pending: Option<Vec<String>>,
    truncate_last: bool,
}

impl<W: Write> CsvSink<W> {
    /// A sink over `inner` with CRLF line ends; `truncate_last` cuts the last
    /// record after half its fields (no line end after it).
    pub(crate) fn new(inner: W, truncate_last: bool) -> CsvSink<W> {
        let writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(inner);
        CsvSink {
            writer,
            pending: None,
            truncate_last,
        }
    }

    /// Writes the header at once.
    pub(crate) fn header(&mut self, fields: &[&str]) -> io::Result<()> {
        self.writer.write_record(fields).map_err(io::Error::other)
    }

    /// Queues one record (and writes the previous one).
    pub(crate) fn push(&mut self, record: Vec<String>) -> io::Result<()> {
        if let Some(previous) = self.pending.replace(record) {
            self.writer
                .write_record(&previous)
                .map_err(io::Error::other)?;
        }
        Ok(())
    }

    /// Writes the last record (whole or cut) and returns the inner writer.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        let last = self.pending.take();
        match last {
            Some(record) if self.truncate_last => {
                let keep = (record.len() / 2).max(1);
                let mut cut = csv::WriterBuilder::new()
                    .terminator(csv::Terminator::CRLF)
                    .from_writer(Vec::new());
                cut.write_record(record.iter().take(keep))
                    .map_err(io::Error::other)?;
                let mut bytes = cut
                    .into_inner()
                    .map_err(|e| io::Error::other(e.to_string()))?;
                while matches!(bytes.last(), Some(b'\r' | b'\n')) {
                    bytes.pop();
                }
                let mut inner = self
                    .writer
                    .into_inner()
                    .map_err(|e| io::Error::other(e.to_string()))?;
                inner.write_all(&bytes)?;
                Ok(inner)
            }
            Some(record) => {
                self.writer
                    .write_record(&record)
                    .map_err(io::Error::other)?;
                self.writer
                    .into_inner()
                    .map_err(|e| io::Error::other(e.to_string()))
            }
            None => self
                .writer
                .into_inner()
                .map_err(|e| io::Error::other(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_and_cut() {
        let mut sink = CsvSink::new(Vec::new(), false);
        sink.header(&["a", "b", "c", "d"]).unwrap();
        sink.push(vec!["1".into(), "x,y".into(), "3".into(), "4".into()])
            .unwrap();
        sink.push(vec!["5".into(), "6".into(), "7".into(), "8".into()])
            .unwrap();
        let text = String::from_utf8(sink.finish().unwrap()).unwrap();
        assert_eq!(text, "a,b,c,d\r\n1,\"x,y\",3,4\r\n5,6,7,8\r\n");

        let mut sink = CsvSink::new(Vec::new(), true);
        sink.header(&["a", "b", "c", "d"]).unwrap();
        sink.push(vec!["1".into(), "2".into(), "3".into(), "4".into()])
            .unwrap();
        sink.push(vec!["5".into(), "6".into(), "7".into(), "8".into()])
            .unwrap();
        let text = String::from_utf8(sink.finish().unwrap()).unwrap();
        assert_eq!(text, "a,b,c,d\r\n1,2,3,4\r\n5,6");
    }
}
