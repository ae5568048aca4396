//! The readers of what Microsoft Graph sends, callable on bytes: a page of a
//! collection, each usage report and the app inventory export. They are
//! what a sync runs; they are public so that tests can feed them anything
//! (the fuzz tests do) and see a record list or a one-line reason. Not a
//! stable interface.

use std::io::Cursor;

use connector_core::Record;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::streams::{Emitter, Msg, Outcome, StreamError, applications, reports};

/// The usage reports the connector reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    /// `getM365AppUserDetail`.
    AppUsage,
    /// `getOffice365ActivationsUserDetail`.
    Activations,
    /// `getOffice365ActiveUserDetail`.
    ActiveUsers,
}

/// One page of a Graph collection fetched from `url` under the Graph root
/// `root` (such as `https://graph.microsoft.com`): its items and the link to
/// the next page.
pub fn graph_page(
    body: &[u8],
    url: &str,
    root: &str,
) -> Result<(Vec<Value>, Option<String>), String> {
    crate::http::parse_page(body, url, root).map(|page| (page.value, page.next))
}

/// The records of a downloaded usage report (a 30-day period), and the
/// warnings the sync would log.
pub fn report_csv(
    report: Report,
    input: impl std::io::Read + Send + 'static,
) -> Result<(Vec<Record>, Vec<String>), String> {
    let reader = match report {
        Report::AppUsage => reports::app_usage_reader(30),
        Report::Activations => reports::activations_reader(),
        Report::ActiveUsers => reports::active_users_reader(30),
    };
    collect(move |em| reader.parse(input, em))
}

/// The records of a downloaded `AppInvRawData` export zip.
pub fn export_zip(bytes: Vec<u8>) -> Result<(Vec<Record>, Vec<String>), String> {
    collect(move |em| applications::read_export(Cursor::new(bytes), em))
}

/// Runs a blocking reader on its own thread and gathers what it emits.
fn collect(
    read: impl FnOnce(&Emitter) -> Result<Outcome, StreamError> + Send + 'static,
) -> Result<(Vec<Record>, Vec<String>), String> {
    let (tx, mut rx) = mpsc::channel(256);
    let reader = std::thread::spawn(move || read(&Emitter::new(tx)));
    let (mut records, mut warnings) = (Vec::new(), Vec::new());
    while let Some(msg) = rx.blocking_recv() {
        match msg {
            Msg::Record(record) => records.push(*record),
            Msg::Warning(text) => warnings.push(text),
            Msg::Progress(_) | Msg::Complete(_) => {}
        }
    }
    match reader.join() {
        Ok(Ok(_)) => Ok((records, warnings)),
        Ok(Err(StreamError::Other(reason))) => Err(reason),
        Ok(Err(StreamError::Graph(e))) => Err(e.to_string()),
        Ok(Err(StreamError::Stopped)) => Err("stopped".into()),
        Err(_) => Err("the reader panicked".into()),
    }
}
