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
    read_export(std::io::BufReader::new(file), em)
}

/// Entries looked at for the CSV: Intune's export holds one.
const MAX_ENTRIES: usize = 1000;

/// How much an export may unpack to: 200 times its packed size (real exports
/// pack about ten to one) and at least 64 MiB, at most 64 GiB.
fn unpack_limit(packed: u64) -> u64 {
    packed.saturating_mul(200).clamp(64 << 20, 64 << 30)
}

/// Reads the `AppInvRawData` export zip (blocking), bounded in what it
/// unpacks, however the archive was made.
pub fn read_export<R: std::io::Read + std::io::Seek>(
    mut reader: R,
    em: &Emitter,
) -> Result<Outcome, StreamError> {
    let what = "the AppInvRawData export";
    // The archive's own size, which a lying header cannot inflate.
    let size = reader
        .seek(std::io::SeekFrom::End(0))
        .and_then(|size| reader.rewind().map(|()| size))
        .map_err(|e| StreamError::Other(format!("cannot read {what}: {e}")))?;
    let mut archive = zip::ZipArchive::new(reader)
        .map_err(|e| StreamError::Other(format!("{what} is not a valid zip file: {e}")))?;
    let index = (0..archive.len().min(MAX_ENTRIES))
        .find(|i| {
            archive
                .by_index(*i)
                .is_ok_and(|f| f.is_file() && f.name().to_ascii_lowercase().ends_with(".csv"))
        })
        .ok_or_else(|| StreamError::Other(format!("{what} holds no CSV file")))?;
    let entry = archive
        .by_index(index)
        .map_err(|e| StreamError::Other(format!("{what} is damaged: {e}")))?;
    let limit = unpack_limit(entry.compressed_size().min(size));
    let reader = Unpacked {
        inner: entry,
        left: limit,
        limit,
    };
    // Tolerate a byte-order mark at the start of the entry.
    let mut csv =
        csvfile::from_reader(std::io::BufReader::new(reader), what).map_err(StreamError::Other)?;
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

/// A zip entry that fails when it unpacks to more than its limit (a zip bomb).
struct Unpacked<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R: std::io::Read> std::io::Read for Unpacked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            // Something left past the limit means the entry is too large.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(std::io::Error::other(format!(
                    "it unpacks to more than {} MiB, far more than its packed size explains (a zip bomb?)",
                    self.limit >> 20
                ))),
            };
        }
        let n = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let read = self.inner.read(&mut buf[..n])?;
        self.left -= read as u64;
        Ok(read)
    }
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
