//! Applications and installations: the Intune `AppInvRawData` export job,
//! or, when it is refused, detected apps and their devices one app at a time.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use connector_core::{Application, Installation};
use serde_json::json;
use tokio::task::JoinSet;

use super::{Emitter, Outcome, StreamError, text};
use crate::csvfile;
use crate::http::{Graph, GraphError};
use crate::settings::Stream;

const COLUMNS: [&str; 13] = [
    "ApplicationKey",
    "ApplicationName",
    "ApplicationPublisher",
    "ApplicationShortVersion",
    "ApplicationVersion",
    "DeviceId",
    "DeviceName",
    "OSDescription",
    "OSVersion",
    "Platform",
    "UserId",
    "EmailAddress",
    "UserName",
];

/// How long an export job may take (`INVHOST_O365_EXPORT_TIMEOUT_SECS`, default 30 minutes).
fn export_timeout() -> Duration {
    let secs = std::env::var("INVHOST_O365_EXPORT_TIMEOUT_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1800);
    Duration::from_secs(secs)
}

/// Reads applications and installations.
pub async fn read(graph: &Arc<Graph>, em: &Emitter) -> Result<Outcome, StreamError> {
    let jobs = graph.url("/v1.0/deviceManagement/reports/exportJobs");
    let body = json!({"reportName": "AppInvRawData", "format": "csv", "select": COLUMNS});
    let job = match graph.post_json(&jobs, &body).await {
        Ok(job) => job,
        Err(GraphError::Forbidden { .. }) => {
            em.warn(
                "The Intune export job (AppInvRawData) was refused (403): reading installed apps one application at a \
                 time instead, which takes one request per application.",
            )
            .await;
            return per_application(graph, em).await;
        }
        Err(GraphError::NotApplicable { .. }) => {
            em.warn("Applications were not read: the tenant has no Intune licence.")
                .await;
            return Ok(Outcome::Skipped);
        }
        Err(e) => return Err(e.into()),
    };
    let id = text(&job["id"])
        .ok_or_else(|| StreamError::Other("the export job was created without an id".into()))?;
    let url = poll(graph, em, &id).await?;
    em.progress("Applications: downloading the app inventory export")
        .await;
    let file = graph.download(&url, "the AppInvRawData export").await?;
    let em = em.clone();
    tokio::task::spawn_blocking(move || parse_export(&file.path, &em))
        .await
        .map_err(|e| StreamError::Other(format!("reading the export failed: {e}")))?
}

async fn poll(graph: &Graph, em: &Emitter, id: &str) -> Result<String, StreamError> {
    let url = graph.url(&format!(
        "/v1.0/deviceManagement/reports/exportJobs('{id}')"
    ));
    let started = Instant::now();
    let mut wait = Duration::from_millis(200);
    loop {
        let job = graph.get_json(&url).await?;
        match job["status"].as_str().unwrap_or_default() {
            "completed" => {
                return text(&job["url"]).ok_or_else(|| {
                    StreamError::Other("the export job completed without a download URL".into())
                });
            }
            "failed" => {
                return Err(StreamError::Other(
                    "the Intune export job AppInvRawData failed; run the sync again later".into(),
                ));
            }
            status => {
                if started.elapsed() > export_timeout() {
                    return Err(StreamError::Other(format!(
                        "the Intune export job AppInvRawData did not complete within {} minutes (still {status}); run the sync again later",
                        export_timeout().as_secs() / 60
                    )));
                }
                em.progress(format!("Applications: export job {status}"))
                    .await;
            }
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(10));
    }
}

fn parse_export(path: &std::path::Path, em: &Emitter) -> Result<Outcome, StreamError> {
    let file = std::fs::File::open(path)
        .map_err(|e| StreamError::Other(format!("cannot open the export: {e}")))?;
    let mut archive = zip::ZipArchive::new(file)
        .map_err(|e| StreamError::Other(format!("the export is not a valid zip file: {e}")))?;
    let index = (0..archive.len())
        .find(|i| {
            archive
                .by_index(*i)
                .is_ok_and(|f| f.name().to_ascii_lowercase().ends_with(".csv"))
        })
        .ok_or_else(|| StreamError::Other("the export zip holds no CSV file".into()))?;
    let entry = archive
        .by_index(index)
        .map_err(|e| StreamError::Other(format!("the export zip is damaged: {e}")))?;
    let mut reader = std::io::BufReader::new(entry);
    // Tolerate a byte-order mark at the start of the entry.
    let mut csv = csvfile::from_reader(&mut reader, "the AppInvRawData export")
        .map_err(StreamError::Other)?;
    csv.require(&["ApplicationKey", "ApplicationName", "DeviceId"])
        .map_err(StreamError::Other)?;
    let mut row = csv::StringRecord::new();
    let mut apps: HashSet<String> = HashSet::new();
    let mut rows = 0u64;
    while csv.next_row(&mut row).map_err(StreamError::Other)? {
        let (Some(key), Some(device)) =
            (csv.get(&row, "ApplicationKey"), csv.get(&row, "DeviceId"))
        else {
            continue;
        };
        if !apps.contains(key) {
            apps.insert(key.to_owned());
            let mut app =
                Application::new(key, csv.get(&row, "ApplicationName").unwrap_or_default());
            app.publisher = csv.get(&row, "ApplicationPublisher").map(str::to_owned);
            app.version = csv
                .get(&row, "ApplicationVersion")
                .or(csv.get(&row, "ApplicationShortVersion"))
                .map(str::to_owned);
            app.platform = csv.get(&row, "Platform").map(str::to_owned);
            em.record_blocking(app)?;
        }
        em.record_blocking(Installation::new(device, key))?;
        rows += 1;
    }
    tracing::debug!(
        rows,
        applications = apps.len(),
        "Read the app inventory export."
    );
    Ok(Outcome::Complete)
}

/// The slow path: every detected app, then the devices that have it.
async fn per_application(graph: &Arc<Graph>, em: &Emitter) -> Result<Outcome, StreamError> {
    let url = graph.url("/v1.0/deviceManagement/detectedApps?$select=id,displayName,version,publisher,platform,sizeInByte&$top=50");
    let mut tasks: JoinSet<Result<(), StreamError>> = JoinSet::new();
    let mut pages = super::Pages::new(graph, em, Stream::Applications, "Applications", url);
    while let Some(items) = pages.next().await? {
        for item in &items {
            let Some(id) = text(&item["id"]) else {
                continue;
            };
            let mut app =
                Application::new(id.clone(), text(&item["displayName"]).unwrap_or_default());
            app.publisher = text(&item["publisher"]);
            app.version = text(&item["version"]);
            app.platform = text(&item["platform"]);
            app.size_bytes = item["sizeInByte"].as_i64().filter(|n| *n > 0);
            em.record(app).await?;
            // Bounded: the Graph client's request slots limit the requests in
            // flight; this bounds the tasks waiting for them.
            while tasks.len() >= 64 {
                if let Some(done) = tasks.join_next().await {
                    done.map_err(|e| StreamError::Other(e.to_string()))??;
                }
            }
            let (graph, em) = (Arc::clone(graph), em.clone());
            tasks.spawn(async move { devices_of(&graph, &em, &id).await });
        }
    }
    let outcome = pages.finish().await;
    while let Some(done) = tasks.join_next().await {
        done.map_err(|e| StreamError::Other(e.to_string()))??;
    }
    Ok(outcome)
}

async fn devices_of(graph: &Graph, em: &Emitter, app: &str) -> Result<(), StreamError> {
    let mut url = graph.url(&format!(
        "/v1.0/deviceManagement/detectedApps/{app}/managedDevices?$select=id,deviceName"
    ));
    loop {
        let page = graph.page(&url).await?;
        for device in &page.value {
            if let Some(device) = text(&device["id"]) {
                em.record(Installation::new(device, app)).await?;
            }
        }
        match page.next {
            Some(next) => url = next,
            None => return Ok(()),
        }
    }
}
