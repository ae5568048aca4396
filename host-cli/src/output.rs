//! The one place results reach stdout (tables or JSON) and errors reach stderr.

use std::io::Write;

use comfy_table::{LineStyle, Table, TableStyle};
use serde::Serialize;

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

/// Prints a table to stdout.
pub fn print_table(table: &Table) {
    line(&table.to_string());
}

/// Prints a value as pretty JSON to stdout.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    line(&serde_json::to_string_pretty(value)?);
    Ok(())
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
