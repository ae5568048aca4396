//! The streams: one file per Graph resource, each turning pages or report
//! rows into records and handing them to the run through an [`Emitter`].

pub mod applications;
pub mod devices;
pub mod licences;
pub mod reports;
pub mod users;

use connector_core::{Record, RecordKind};
use tokio::sync::mpsc;

use crate::http::GraphError;
use crate::settings::Stream;

/// What a stream tells the run.
#[derive(Debug)]
pub enum Msg {
    /// A record (boxed: records are large next to the other messages).
    Record(Box<Record>),
    /// A note for the operator's progress display.
    Progress(String),
    /// A limitation the operator should know of (goes to the process log).
    Warning(String),
    /// A kind delivered in full (sent by the run, after the kind's last record).
    Complete(RecordKind),
}

/// How a stream ended, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Read in full: its kinds may be completed.
    Complete,
    /// Not read (a permission is missing); a warning says why.
    Skipped,
    /// Read only in part or derived (a warning says why): its records stand,
    /// but its kinds are not completed, so nothing stored is removed.
    Partial,
}

/// Why a stream failed.
#[derive(Debug)]
pub enum StreamError {
    /// Graph failed.
    Graph(GraphError),
    /// The run stopped (cancelled, or the host stopped taking records).
    Stopped,
    /// Something else, worded for the operator.
    Other(String),
}

impl From<GraphError> for StreamError {
    fn from(e: GraphError) -> Self {
        StreamError::Graph(e)
    }
}

/// The sending side of the run's record channel.
#[derive(Clone)]
pub struct Emitter {
    tx: mpsc::Sender<Msg>,
}

impl Emitter {
    /// An emitter on this channel.
    pub fn new(tx: mpsc::Sender<Msg>) -> Self {
        Emitter { tx }
    }

    /// Sends a record; waits while the host catches up.
    pub async fn record(&self, record: impl Into<Record>) -> Result<(), StreamError> {
        self.tx
            .send(Msg::Record(Box::new(record.into())))
            .await
            .map_err(|_| StreamError::Stopped)
    }

    /// Sends a record from a blocking thread (report parsing).
    pub fn record_blocking(&self, record: impl Into<Record>) -> Result<(), StreamError> {
        self.tx
            .blocking_send(Msg::Record(Box::new(record.into())))
            .map_err(|_| StreamError::Stopped)
    }

    /// A progress note.
    pub async fn progress(&self, text: impl Into<String>) {
        let _ = self.tx.send(Msg::Progress(text.into())).await;
    }

    /// A warning for the process log.
    pub async fn warn(&self, text: impl Into<String>) {
        let _ = self.tx.send(Msg::Warning(text.into())).await;
    }

    /// A warning from a blocking thread.
    pub fn warn_blocking(&self, text: impl Into<String>) {
        let _ = self.tx.blocking_send(Msg::Warning(text.into()));
    }
}

/// A Graph collection read page by page, with progress as `label: N`. A 403
/// (or Intune's "not applicable") ends it as skipped, with a warning naming
/// what to fix.
pub struct Pages<'a> {
    graph: &'a crate::http::Graph,
    em: &'a Emitter,
    stream: Stream,
    label: &'static str,
    url: Option<String>,
    seen: u64,
    outcome: Outcome,
}

impl<'a> Pages<'a> {
    /// Starts at `url`.
    pub fn new(
        graph: &'a crate::http::Graph,
        em: &'a Emitter,
        stream: Stream,
        label: &'static str,
        url: String,
    ) -> Self {
        Pages {
            graph,
            em,
            stream,
            label,
            url: Some(url),
            seen: 0,
            outcome: Outcome::Complete,
        }
    }

    /// The next page's items; `None` at the end (or when skipped).
    pub async fn next(&mut self) -> Result<Option<Vec<serde_json::Value>>, StreamError> {
        let Some(url) = self.url.take() else {
            return Ok(None);
        };
        if self.seen > 0 {
            self.em
                .progress(format!("{}: {}", self.label, self.seen))
                .await;
        }
        let page = match self.graph.page(&url).await {
            Ok(page) => page,
            Err(GraphError::Forbidden { .. }) => {
                self.em
                    .warn(format!(
                        "{} were not read: {}.",
                        self.label,
                        grant(self.stream)
                    ))
                    .await;
                self.outcome = Outcome::Skipped;
                return Ok(None);
            }
            Err(GraphError::NotApplicable { .. }) => {
                self.em
                    .warn(format!(
                        "{} were not read: the tenant has no Intune licence.",
                        self.label
                    ))
                    .await;
                self.outcome = Outcome::Skipped;
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        self.seen += page.value.len() as u64;
        self.url = page.next;
        Ok(Some(page.value))
    }

    /// How the walk ended (after `next` returned `None`).
    pub async fn finish(self) -> Outcome {
        if self.outcome == Outcome::Complete {
            self.em
                .progress(format!("{}: {}", self.label, self.seen))
                .await;
        }
        self.outcome
    }
}

/// The record kinds a stream delivers.
pub fn kinds(stream: Stream) -> &'static [RecordKind] {
    match stream {
        Stream::Users => &[RecordKind::User, RecordKind::LicenceAssignment],
        Stream::Licences => &[RecordKind::Licence],
        Stream::EntraDevices | Stream::ManagedDevices => &[RecordKind::Device],
        Stream::Applications => &[RecordKind::Application, RecordKind::Installation],
        Stream::AppUsage | Stream::ActiveUsers => &[RecordKind::ApplicationUsage],
        Stream::Activations => &[RecordKind::Activation],
    }
}

/// The application permission a stream needs, and where to grant it.
pub fn permission(stream: Stream) -> &'static str {
    match stream {
        Stream::Users => "User.Read.All",
        Stream::Licences => "LicenseAssignment.Read.All",
        Stream::EntraDevices => "Device.Read.All",
        Stream::ManagedDevices | Stream::Applications => "DeviceManagementManagedDevices.Read.All",
        Stream::AppUsage | Stream::Activations | Stream::ActiveUsers => "Reports.Read.All",
    }
}

/// The operator's instruction for a missing permission.
pub fn grant(stream: Stream) -> String {
    format!(
        "grant the application permission {} to the app (Entra admin center > App registrations > API permissions > \
         Microsoft Graph > Application permissions), then grant admin consent",
        permission(stream)
    )
}

/// Graph's "not set" timestamp, and empty strings, as `None`.
pub fn when(value: &serde_json::Value) -> Option<String> {
    value
        .as_str()
        .filter(|s| !s.is_empty() && !s.starts_with("0001-01-01"))
        .map(str::to_owned)
}

/// A non-empty string field.
pub fn text(value: &serde_json::Value) -> Option<String> {
    value
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A concealed report identity: 32 upper-case hex characters, no `@`.
pub fn is_concealed(upn: &str) -> bool {
    upn.len() == 32
        && upn
            .chars()
            .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c))
}

#[cfg(test)]
mod tests {
    #[test]
    fn concealed_names_are_recognised() {
        assert!(super::is_concealed("0123456789ABCDEF0123456789ABCDEF"));
        assert!(!super::is_concealed("adele@contoso.com"));
        assert!(!super::is_concealed("0123456789abcdef0123456789abcdef"));
    }
}
