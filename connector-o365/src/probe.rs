//! Test: one check per step, each probing with the smallest request.

use std::time::Duration;

use connector_core::TestReport;

use crate::csvfile;
use crate::http::{Graph, GraphError};
use crate::settings::{Settings, Stream};
use crate::streams::{self, is_concealed};

/// Runs the checks.
pub fn test(settings: &Settings, report: &mut TestReport) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            report.failed(
                "Runtime",
                format!("cannot start the connector's runtime: {e}"),
            );
            return;
        }
    };
    runtime.block_on(checks(settings, report));
    runtime.shutdown_timeout(Duration::from_secs(2));
}

async fn checks(settings: &Settings, report: &mut TestReport) {
    let graph = match Graph::new(settings) {
        Ok(graph) => graph,
        Err(e) => {
            report.failed("Sign-in", e);
            return;
        }
    };
    match graph.sign_in().await {
        Ok(()) => report.ok(
            "Sign-in",
            format!(
                "Signed in to tenant '{}' as application {}.",
                settings.tenant, settings.client_id
            ),
        ),
        Err(e) => {
            report.failed("Sign-in", e.to_string());
            return;
        }
    }
    for stream in settings.streams.clone() {
        probe(&graph, settings, stream, report).await;
    }
}

fn label(stream: Stream) -> &'static str {
    match stream {
        Stream::Users => "Users",
        Stream::Licences => "Licences",
        Stream::EntraDevices => "Entra devices",
        Stream::ManagedDevices => "Intune devices",
        Stream::Applications => "Applications",
        Stream::AppUsage => "Microsoft 365 Apps usage",
        Stream::Activations => "Office activations",
        Stream::ActiveUsers => "Active users",
    }
}

async fn probe(graph: &Graph, settings: &Settings, stream: Stream, report: &mut TestReport) {
    let name = label(stream);
    let path = match stream {
        Stream::Users => "/v1.0/users?$select=id&$top=1".to_owned(),
        Stream::Licences => "/v1.0/subscribedSkus?$select=skuId".to_owned(),
        Stream::EntraDevices => "/v1.0/devices?$select=id&$top=1".to_owned(),
        Stream::ManagedDevices => {
            "/v1.0/deviceManagement/managedDevices?$select=id&$top=1".to_owned()
        }
        Stream::Applications => "/v1.0/deviceManagement/detectedApps?$select=id&$top=1".to_owned(),
        Stream::AppUsage => format!(
            "/v1.0/reports/getM365AppUserDetail(period='{}')?$format=text/csv",
            settings.period
        ),
        Stream::Activations => {
            "/v1.0/reports/getOffice365ActivationsUserDetail?$format=text/csv".to_owned()
        }
        Stream::ActiveUsers => {
            format!(
                "/v1.0/reports/getOffice365ActiveUserDetail(period='{}')?$format=text/csv",
                settings.period
            )
        }
    };
    let url = graph.url(&path);
    let is_report = matches!(
        stream,
        Stream::AppUsage | Stream::Activations | Stream::ActiveUsers
    );
    let result = if is_report {
        graph.report(&url).await.map(Some)
    } else {
        graph.get_json(&url).await.map(|_| None)
    };
    match result {
        Ok(None) => report.ok(name, format!("{path} answers.")),
        Ok(Some(file)) => match concealed(&file.path) {
            Ok(true) => report.warning(name, format!("Readable, but {}.", streams::reports::CONCEALED)),
            Ok(false) => report.ok(name, "The report is readable and names users."),
            Err(e) => report.failed(name, e),
        },
        Err(GraphError::Forbidden { .. }) if stream == Stream::Licences => report.warning(
            name,
            format!(
                "/subscribedSkus was refused: licences will be derived from users' assignments, without purchased \
                 counts. To read them, {}.",
                streams::grant(stream)
            ),
        ),
        Err(GraphError::Forbidden { .. }) => report.failed(name, format!("Refused (403): {}.", streams::grant(stream))),
        Err(GraphError::NotApplicable { .. }) => report.failed(
            name,
            "The tenant has no Intune licence: assign one (Microsoft 365 admin center > Billing), or deselect the \
             managed_devices and applications streams.",
        ),
        Err(GraphError::Status { status: 400 | 404, message, .. }) if !graph.is_global() => {
            report.failed(name, format!("Not available in this cloud: {message}"))
        }
        Err(e) => report.failed(name, e.to_string()),
    }
}

fn concealed(path: &std::path::Path) -> Result<bool, String> {
    let mut csv = csvfile::open(path, "the report")?;
    let mut row = csv::StringRecord::new();
    let mut any = false;
    while csv.next_row(&mut row)? {
        if let Some(user) = csv.get(&row, "User Principal Name") {
            return Ok(is_concealed(user));
        }
        any = true;
    }
    let _ = any;
    Ok(false)
}
