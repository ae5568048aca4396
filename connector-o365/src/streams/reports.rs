//! Microsoft 365 usage reports (CSV behind a 302): app usage, activations,
//! active-user detail. Concealed user names are detected and marked.

use std::path::PathBuf;

use connector_core::{Activation, ApplicationUsage};

use super::{Emitter, Outcome, StreamError, is_concealed};
use crate::csvfile::{self, truthy};
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

/// Downloads a report; `None` (after a warning) when the permission is missing.
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
        Err(e) => Err(e.into()),
    }
}

async fn parse<F>(
    file: crate::http::TempFile,
    em: &Emitter,
    parse: F,
) -> Result<Outcome, StreamError>
where
    F: FnOnce(PathBuf, &Emitter) -> Result<Outcome, StreamError> + Send + 'static,
{
    let em = em.clone();
    tokio::task::spawn_blocking(move || {
        let outcome = parse(file.path.clone(), &em);
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
    let Some(file) = fetch(graph, em, Stream::AppUsage, &path).await? else {
        return Ok(Outcome::Skipped);
    };
    let days = settings.period_days();
    parse(file, em, move |path, em| {
        let mut csv = csvfile::open(&path, "the Microsoft 365 Apps usage report")
            .map_err(StreamError::Other)?;
        csv.require(&["User Principal Name", "Report Refresh Date"])
            .map_err(StreamError::Other)?;
        let mut row = csv::StringRecord::new();
        let mut concealed_seen = false;
        while csv.next_row(&mut row).map_err(StreamError::Other)? {
            let Some(user) = csv.get(&row, "User Principal Name") else {
                continue;
            };
            let concealed = is_concealed(user);
            concealed_seen |= concealed;
            for app in APPS {
                if !truthy(csv.get(&row, app)) {
                    continue;
                }
                let platforms: Vec<&str> = PLATFORMS
                    .iter()
                    .copied()
                    .filter(|p| truthy(csv.get(&row, &format!("{app} ({p})"))))
                    .collect();
                let mut usage = ApplicationUsage::default();
                usage.source_key = format!("m365apps|{user}|{app}");
                usage.user = user.to_owned();
                usage.application = app.to_owned();
                usage.platform = (!platforms.is_empty()).then(|| platforms.join(", "));
                usage.last_activity = csv.get(&row, "Last Activity Date").map(str::to_owned);
                usage.report_period_days = Some(days);
                usage.report_refresh_date = csv.get(&row, "Report Refresh Date").map(str::to_owned);
                usage.concealed = concealed;
                em.record_blocking(usage)?;
            }
        }
        if concealed_seen {
            em.warn_blocking(format!("Microsoft 365 Apps usage: {CONCEALED}."));
        }
        Ok(Outcome::Complete)
    })
    .await
}

/// `getOffice365ActivationsUserDetail`: one row per user and product type.
pub async fn activations(graph: &Graph, em: &Emitter) -> Result<Outcome, StreamError> {
    let path = "/v1.0/reports/getOffice365ActivationsUserDetail?$format=text/csv";
    let Some(file) = fetch(graph, em, Stream::Activations, path).await? else {
        return Ok(Outcome::Skipped);
    };
    parse(file, em, move |path, em| {
        let mut csv =
            csvfile::open(&path, "the Office activations report").map_err(StreamError::Other)?;
        csv.require(&["User Principal Name", "Product Type"])
            .map_err(StreamError::Other)?;
        let mut row = csv::StringRecord::new();
        let mut concealed_seen = false;
        let count = |v: Option<&str>| v.and_then(|v| v.parse::<i32>().ok()).unwrap_or(0);
        while csv.next_row(&mut row).map_err(StreamError::Other)? {
            let (Some(user), Some(product)) = (
                csv.get(&row, "User Principal Name"),
                csv.get(&row, "Product Type"),
            ) else {
                continue;
            };
            let mut activation = Activation::default();
            activation.source_key = format!("{user}|{product}");
            activation.user = user.to_owned();
            activation.product_type = product.to_owned();
            activation.last_activated = csv.get(&row, "Last Activated Date").map(str::to_owned);
            activation.windows = count(csv.get(&row, "Windows"));
            activation.mac = count(csv.get(&row, "Mac"));
            activation.windows_mobile = count(csv.get(&row, "Windows 10 Mobile"));
            activation.ios = count(csv.get(&row, "iOS"));
            activation.android = count(csv.get(&row, "Android"));
            activation.shared_computer =
                i32::from(truthy(csv.get(&row, "Activated On Shared Computer")));
            activation.report_refresh_date =
                csv.get(&row, "Report Refresh Date").map(str::to_owned);
            activation.concealed = is_concealed(user);
            concealed_seen |= activation.concealed;
            em.record_blocking(activation)?;
        }
        if concealed_seen {
            em.warn_blocking(format!("Office activations: {CONCEALED}."));
        }
        Ok(Outcome::Complete)
    })
    .await
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
    let Some(file) = fetch(graph, em, Stream::ActiveUsers, &path).await? else {
        return Ok(Outcome::Skipped);
    };
    let days = settings.period_days();
    parse(file, em, move |path, em| {
        let mut csv = csvfile::open(&path, "the Microsoft 365 active users report")
            .map_err(StreamError::Other)?;
        csv.require(&["User Principal Name", "Report Refresh Date"])
            .map_err(StreamError::Other)?;
        let mut row = csv::StringRecord::new();
        let mut concealed_seen = false;
        while csv.next_row(&mut row).map_err(StreamError::Other)? {
            let Some(user) = csv.get(&row, "User Principal Name") else {
                continue;
            };
            if truthy(csv.get(&row, "Is Deleted")) {
                continue;
            }
            let concealed = is_concealed(user);
            concealed_seen |= concealed;
            for service in SERVICES {
                if !truthy(csv.get(&row, &format!("Has {service} License"))) {
                    continue;
                }
                let mut usage = ApplicationUsage::default();
                usage.source_key = format!("services|{user}|{service}");
                usage.user = user.to_owned();
                usage.application = service.to_owned();
                usage.last_activity = csv
                    .get(&row, &format!("{service} Last Activity Date"))
                    .map(str::to_owned);
                usage.report_period_days = Some(days);
                usage.report_refresh_date = csv.get(&row, "Report Refresh Date").map(str::to_owned);
                usage.concealed = concealed;
                em.record_blocking(usage)?;
            }
        }
        if concealed_seen {
            em.warn_blocking(format!("Active users: {CONCEALED}."));
        }
        Ok(Outcome::Complete)
    })
    .await
}
