//! Microsoft 365 usage reports (CSV behind a 302): app usage, activations,
//! active-user detail. Concealed user names are detected and marked.

use connector_core::{Activation, ApplicationUsage};

use super::{Emitter, Outcome, StreamError, is_concealed};
use crate::csvfile::{self, CsvFile, truthy};
use crate::http::{Graph, GraphError};
use crate::settings::{Settings, Stream};

const APPS: [&str; 6] = ["Outlook", "Word", "Excel", "PowerPoint", "OneNote", "Teams"];
const PLATFORMS: [&str; 4] = ["Windows", "Mac", "Mobile", "Web"];
const SERVICES: [&str; 6] = [
    "Exchange",
    "OneDrive",
    "SharePoint",
    "Skype For Business",
    "Yammer",
    "Teams",
];

/// The sentence for concealed names, with where to change the setting.
pub const CONCEALED: &str = "user names in Microsoft 365 reports are concealed, so usage cannot be joined to users; \
     to show them, turn off 'Display concealed user, group, and site names in all reports' in the Microsoft 365 \
     admin center (Settings > Org settings > Reports)";

/// Downloads a report; `None` (after a warning) when the permission is missing
/// or the report does not exist in this cloud.
async fn fetch(
    graph: &Graph,
    em: &Emitter,
    stream: Stream,
    path: &str,
) -> Result<Option<crate::http::TempFile>, StreamError> {
    match graph.report(&graph.url(path)).await {
        Ok(file) => Ok(Some(file)),
        Err(GraphError::Forbidden { .. }) => {
            em.warn(format!(
                "The {} report was not read: {}.",
                stream.name(),
                super::grant(stream)
            ))
            .await;
            Ok(None)
        }
        // Microsoft documents several report APIs for the global cloud only.
        Err(GraphError::Status {
            status: 400 | 404,
            message,
            ..
        }) if !graph.is_global() => {
            em.warn(format!(
                "The {} report was not read: it is not available in this cloud ({message}); deselect the stream to silence this.",
                stream.name()
            ))
            .await;
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// What one report row handler gets: the file (for cells), the row, the
/// user principal name (or concealed id) and whether it is concealed.
type RowFn = dyn FnMut(
        &CsvFile<Box<dyn std::io::Read + Send>>,
        &csv::StringRecord,
        &str,
        bool,
        &Emitter,
    ) -> Result<(), StreamError>
    + Send;

/// How one report is read: its name in messages, the columns it needs and
/// what each row with a user gives.
pub struct ReportReader {
    label: &'static str,
    required: &'static [&'static str],
    each: Box<RowFn>,
}

impl ReportReader {
    /// Reads a downloaded report row by row (blocking), handing each row with a
    /// user to the report's handler; says once in the process log when names
    /// are concealed.
    pub fn parse(
        mut self,
        reader: impl std::io::Read + Send + 'static,
        em: &Emitter,
    ) -> Result<Outcome, StreamError> {
        let label = self.label;
        let mut csv = csvfile::skipping_bom(reader, &format!("the {label} report"))
            .map_err(StreamError::Other)?;
        csv.require(self.required).map_err(StreamError::Other)?;
        let mut row = csv::StringRecord::new();
        let mut concealed_seen = false;
        while csv.next_row(&mut row).map_err(StreamError::Other)? {
            let Some(user) = csv.get(&row, "User Principal Name") else {
                continue;
            };
            let concealed = is_concealed(user);
            concealed_seen |= concealed;
            (self.each)(&csv, &row, user, concealed, em)?;
        }
        if concealed_seen {
            em.warn_blocking(format!("{label}: {CONCEALED}."));
        }
        Ok(Outcome::Complete)
    }
}

/// Fetches a report and parses it on a blocking thread, reading from disk.
async fn read_report(
    graph: &Graph,
    em: &Emitter,
    stream: Stream,
    path: &str,
    reader: ReportReader,
) -> Result<Outcome, StreamError> {
    let Some(file) = fetch(graph, em, stream, path).await? else {
        return Ok(Outcome::Skipped);
    };
    let em = em.clone();
    tokio::task::spawn_blocking(move || {
        let opened = std::fs::File::open(&file.path).map_err(|e| {
            StreamError::Other(format!(
                "the {} report: cannot open the download: {e}",
                reader.label
            ))
        })?;
        let outcome = reader.parse(std::io::BufReader::new(opened), &em);
        drop(file);
        outcome
    })
    .await
    .map_err(|e| StreamError::Other(format!("reading a report failed: {e}")))?
}

/// `getM365AppUserDetail`: one usage row per user and app used in the period.
pub async fn app_usage(
    graph: &Graph,
    em: &Emitter,
    settings: &Settings,
) -> Result<Outcome, StreamError> {
    let path = format!(
        "/v1.0/reports/getM365AppUserDetail(period='{}')?$format=text/csv",
        settings.period
    );
    let reader = app_usage_reader(settings.period_days());
    read_report(graph, em, Stream::AppUsage, &path, reader).await
}

/// The reader of `getM365AppUserDetail` for a period of `days`.
pub fn app_usage_reader(days: i32) -> ReportReader {
    // Column names built once, not per row.
    let columns: Vec<(&str, Vec<(&str, String)>)> = APPS
        .iter()
        .map(|app| {
            (
                *app,
                PLATFORMS
                    .iter()
                    .map(|p| (*p, format!("{app} ({p})")))
                    .collect(),
            )
        })
        .collect();
    ReportReader {
        label: "Microsoft 365 Apps usage",
        required: &["User Principal Name", "Report Refresh Date"],
        each: Box::new(move |csv, row, user, concealed, em| {
            for (app, platforms) in &columns {
                if !truthy(csv.get(row, app)) {
                    continue;
                }
                let platforms: Vec<&str> = platforms
                    .iter()
                    .filter(|(_, column)| truthy(csv.get(row, column)))
                    .map(|(p, _)| *p)
                    .collect();
                let mut usage = ApplicationUsage::default();
                usage.source_key = format!("m365apps|{user}|{app}");
                usage.user = user.to_owned();
                usage.application = (*app).to_owned();
                usage.platform = (!platforms.is_empty()).then(|| platforms.join(", "));
                usage.last_activity = csv.get(row, "Last Activity Date").map(str::to_owned);
                usage.report_period_days = Some(days);
                usage.report_refresh_date = csv.get(row, "Report Refresh Date").map(str::to_owned);
                usage.concealed = concealed;
                em.record_blocking(usage)?;
            }
            Ok(())
        }),
    }
}

/// `getOffice365ActivationsUserDetail`: one row per user and product type.
pub async fn activations(graph: &Graph, em: &Emitter) -> Result<Outcome, StreamError> {
    let path = "/v1.0/reports/getOffice365ActivationsUserDetail?$format=text/csv";
    read_report(graph, em, Stream::Activations, path, activations_reader()).await
}

/// The reader of `getOffice365ActivationsUserDetail`.
pub fn activations_reader() -> ReportReader {
    let count = |v: Option<&str>| v.and_then(|v| v.parse::<i32>().ok()).unwrap_or(0);
    ReportReader {
        label: "Office activations",
        required: &["User Principal Name", "Product Type"],
        each: Box::new(move |csv, row, user, concealed, em| {
            let Some(product) = csv.get(row, "Product Type") else {
                return Ok(());
            };
            let mut activation = Activation::default();
            activation.source_key = format!("{user}|{product}");
            activation.user = user.to_owned();
            activation.product_type = product.to_owned();
            activation.last_activated = csv.get(row, "Last Activated Date").map(str::to_owned);
            activation.windows = count(csv.get(row, "Windows"));
            activation.mac = count(csv.get(row, "Mac"));
            activation.windows_mobile = count(csv.get(row, "Windows 10 Mobile"));
            activation.ios = count(csv.get(row, "iOS"));
            activation.android = count(csv.get(row, "Android"));
            activation.shared_computer =
                i32::from(truthy(csv.get(row, "Activated On Shared Computer")));
            activation.report_refresh_date = csv.get(row, "Report Refresh Date").map(str::to_owned);
            activation.concealed = concealed;
            em.record_blocking(activation)
        }),
    }
}

/// `getOffice365ActiveUserDetail`: one usage row per user and licensed service.
pub async fn active_users(
    graph: &Graph,
    em: &Emitter,
    settings: &Settings,
) -> Result<Outcome, StreamError> {
    let path = format!(
        "/v1.0/reports/getOffice365ActiveUserDetail(period='{}')?$format=text/csv",
        settings.period
    );
    let reader = active_users_reader(settings.period_days());
    read_report(graph, em, Stream::ActiveUsers, &path, reader).await
}

/// The reader of `getOffice365ActiveUserDetail` for a period of `days`.
pub fn active_users_reader(days: i32) -> ReportReader {
    // (service, licence column, activity column), built once.
    let columns: Vec<(&str, String, String)> = SERVICES
        .iter()
        .map(|s| {
            (
                *s,
                format!("Has {s} License"),
                format!("{s} Last Activity Date"),
            )
        })
        .collect();
    ReportReader {
        label: "Active users",
        required: &["User Principal Name", "Report Refresh Date"],
        each: Box::new(move |csv, row, user, concealed, em| {
            if truthy(csv.get(row, "Is Deleted")) {
                return Ok(());
            }
            for (service, licence, activity) in &columns {
                if !truthy(csv.get(row, licence)) {
                    continue;
                }
                let mut usage = ApplicationUsage::default();
                usage.source_key = format!("services|{user}|{service}");
                usage.user = user.to_owned();
                usage.application = (*service).to_owned();
                usage.last_activity = csv.get(row, activity).map(str::to_owned);
                usage.report_period_days = Some(days);
                usage.report_refresh_date = csv.get(row, "Report Refresh Date").map(str::to_owned);
                usage.concealed = concealed;
                em.record_blocking(usage)?;
            }
            Ok(())
        }),
    }
}
