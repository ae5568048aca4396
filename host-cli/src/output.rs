//! The one place results reach stdout (tables, JSON, JSON lines or CSV)
//! and errors reach stderr.
//!
//! Tables fit the terminal: when stdout is one (or `--width` says how
//! wide), the columns a table names as least useful are hidden first, then
//! long cells wrap; `--wide` shows everything at full width, and so does
//! output that is not a terminal, so that pipes and logs keep whole rows.

use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

use comfy_table::{ColumnConstraint, ContentArrangement, LineStyle, Table, TableStyle};
use serde::Serialize;
use serde_json::Value;
use unicode_width::UnicodeWidthStr;

/// How results are printed (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Tables for people (the default).
    #[default]
    Table,
    /// One JSON document.
    Json,
    /// One JSON object per line (a list's rows; a single result as one line).
    Jsonl,
    /// CSV: a header of field names, then a line per row; nested values as JSON.
    Csv,
}

/// What the command line asked of the output.
#[derive(Debug, Clone, Copy, Default)]
struct Options {
    format: Format,
    /// Fit tables to this many columns; `None`: full width.
    fit: Option<u16>,
}

static OPTIONS: OnceLock<Options> = OnceLock::new();

/// Takes the output options of the command line (once, before any output).
pub fn configure(global: &crate::cli::GlobalArgs) {
    let format = match (global.json, global.format) {
        (true, _) => Format::Json,
        (false, format) => format.unwrap_or_default(),
    };
    let fit = match (global.wide, global.width) {
        (true, _) => None,
        (false, Some(width)) => Some(width),
        (false, None) if std::io::stdout().is_terminal() => {
            terminal_size::terminal_size().map(|(terminal_size::Width(w), _)| w)
        }
        (false, None) => None,
    };
    let _ = OPTIONS.set(Options { format, fit });
}

/// The format asked for.
pub fn format() -> Format {
    OPTIONS.get().copied().unwrap_or_default().format
}

/// The width tables are fitted to; `None`: full width.
fn fit_to() -> Option<u16> {
    OPTIONS.get().copied().unwrap_or_default().fit
}

/// psql-like: a dashed line under the header, nothing else.
const STYLE: TableStyle =
    TableStyle::new().header_separator(LineStyle::none().fill('-').junction(' '));

/// A table with a header, plain ASCII so it survives pipes and logs.
pub fn table<I, S>(header: I) -> Table
where
    I: IntoIterator<Item = S>,
    S: Into<comfy_table::Cell>,
{
    let mut table = Table::new();
    table.load_style(STYLE).set_header(header);
    table
}

/// Prints a table to stdout, fitted to the terminal (module docs).
pub fn print_table(table: &Table) {
    print_table_hiding(table, &[]);
}

/// [`print_table`], hiding the columns headed `dispensable` (in that order)
/// before wrapping cells when the table is too wide.
pub fn print_table_hiding(table: &Table, dispensable: &[&str]) {
    line(&render(table, dispensable));
}

/// A table as text, fitted to the terminal (module docs).
pub fn render(table: &Table, dispensable: &[&str]) -> String {
    let Some(width) = fit_to() else {
        return table.to_string();
    };
    let mut table = table.clone();
    let text = table.to_string();
    if widest(&text) <= usize::from(width) {
        return text;
    }
    let headers: Vec<String> = table
        .header()
        .map(|h| h.cell_iter().map(|c| c.content()).collect())
        .unwrap_or_default();
    let mut hidden = Vec::new();
    for name in dispensable {
        let Some(index) = headers.iter().position(|h| h == name) else {
            continue;
        };
        if let Some(column) = table.column_mut(index) {
            column.set_constraint(ColumnConstraint::Hidden);
        }
        hidden.push(*name);
        if widest(&table.to_string()) <= usize::from(width) {
            break;
        }
    }
    table
        .set_width(width)
        .set_content_arrangement(ContentArrangement::Dynamic);
    // Wrapped cells pad their columns to the full width: no trailing blanks.
    let text = table
        .to_string()
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n");
    if !hidden.is_empty() {
        note(&format!(
            "Hidden to fit {width} columns: {} (--wide shows every column).",
            hidden.join(", ")
        ));
    }
    text
}

/// Prints prose to stdout, wrapped at spaces to the width tables fit to
/// (whole when there is none).
pub fn paragraph(text: &str) {
    let Some(width) = fit_to().map(usize::from).filter(|w| *w > 0) else {
        return line(text);
    };
    let mut current = String::new();
    for word in text.split(' ') {
        let wanted = current.width() + usize::from(!current.is_empty()) + word.width();
        if !current.is_empty() && wanted > width {
            line(&current);
            current.clear();
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        line(&current);
    }
}

/// The display width of the widest line of `text`.
fn widest(text: &str) -> usize {
    text.lines().map(UnicodeWidthStr::width).max().unwrap_or(0)
}

/// Prints a result for scripts in the format asked for: pretty JSON, JSON
/// lines (a list's rows one per line) or CSV (a list's rows, or the one
/// object, under a header of their fields).
pub fn print_result<T: Serialize>(value: &T) -> anyhow::Result<()> {
    match format() {
        Format::Jsonl => {
            let value = serde_json::to_value(value)?;
            match value {
                Value::Array(rows) => {
                    for row in rows {
                        line(&serde_json::to_string(&row)?);
                    }
                }
                other => line(&serde_json::to_string(&other)?),
            }
        }
        Format::Csv => {
            let value = serde_json::to_value(value)?;
            let rows = match value {
                Value::Array(rows) => rows,
                other => vec![other],
            };
            // Every field of every row, in first-seen order: a row may leave
            // out a field it has no value for.
            let mut header: Vec<String> = Vec::new();
            for row in &rows {
                if let Value::Object(map) = row {
                    for key in map.keys() {
                        if !header.contains(key) {
                            header.push(key.clone());
                        }
                    }
                }
            }
            let mut csv = CsvOut::default();
            if !header.is_empty() {
                csv.header = Some(header);
            }
            for row in &rows {
                csv.row(row)?;
            }
            csv.finish()?;
        }
        Format::Json | Format::Table => line(&serde_json::to_string_pretty(value)?),
    }
    Ok(())
}

/// CSV rows written as they come: the header is the first row's fields
/// (unless set); a later row's field the header lacks is refused rather
/// than dropped.
#[derive(Default)]
pub struct CsvOut {
    header: Option<Vec<String>>,
    header_written: bool,
    buffer: Vec<u8>,
}

impl CsvOut {
    /// Writes one row (a JSON object, or a value as a one-column row).
    pub fn row(&mut self, row: &Value) -> anyhow::Result<()> {
        let fields: Vec<(String, &Value)> = match row {
            Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), v)).collect(),
            other => vec![("value".to_owned(), other)],
        };
        let mut writer = csv::Writer::from_writer(Vec::new());
        if !self.header_written {
            let header = self
                .header
                .get_or_insert_with(|| fields.iter().map(|(k, _)| k.clone()).collect());
            writer.write_record(header.iter())?;
            self.header_written = true;
        }
        let header = self.header.as_deref().unwrap_or_default();
        if let Some((extra, _)) = fields.iter().find(|(k, _)| !header.contains(k)) {
            anyhow::bail!("cannot write CSV: a row has a field '{extra}' the first row had not");
        }
        let cells: Vec<String> = header
            .iter()
            .map(|name| {
                fields
                    .iter()
                    .find(|(k, _)| k == name)
                    .map_or_else(String::new, |(_, v)| csv_cell(v))
            })
            .collect();
        writer.write_record(&cells)?;
        self.buffer
            .extend(writer.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?);
        if self.buffer.len() > 64 * 1024 {
            self.flush();
        }
        Ok(())
    }

    /// Writes what is buffered.
    pub fn finish(mut self) -> anyhow::Result<()> {
        self.flush();
        Ok(())
    }

    fn flush(&mut self) {
        let mut stdout = std::io::stdout().lock();
        if stdout.write_all(&self.buffer).is_err() || stdout.flush().is_err() {
            std::process::exit(0);
        }
        self.buffer.clear();
    }
}

/// A JSON value as one CSV cell: text as it is, null empty, nested values
/// as compact JSON.
fn csv_cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// Prints one line to stdout; a closed pipe ends quietly.
pub fn line(text: &str) {
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{text}").is_err() {
        std::process::exit(0);
    }
}

/// Prints a diagnostic line to stderr.
pub fn note(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Prints an error and its causes as one line to stderr; a control
/// character in it (a newline or a terminal escape in a name someone typed)
/// is shown escaped, never obeyed.
pub fn error_line(error: &anyhow::Error) {
    let mut text = format!("error: {error}");
    for cause in error.chain().skip(1) {
        text.push_str(": ");
        text.push_str(&cause.to_string());
    }
    note(&one_line(&text));
}

/// `text` with control characters escaped (`\n`, `\t`, `\u{1b}`).
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// An RFC 3339 time as `YYYY-MM-DD HH:MM:SS` (UTC) for tables.
pub fn time(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|_| rfc3339.to_owned())
}
