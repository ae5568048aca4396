//! Pre-authenticated download links: report CSVs and export-job zips.
//! They must be fetched without the bearer token, as real ones are.

use std::sync::Arc;

use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;

use super::export;
use super::reports::{self, ReportKind};
use super::respond;
use super::rng::{domain, hash3};
use super::state::{SimState, lock};

/// The download URL of an export job.
pub(crate) fn export_url(base_url: &str, token: &str) -> String {
    format!("{base_url}/download/export/{token}.zip")
}

fn report_mac(seed: u64, kind: u64, period: u64, nonce: u64) -> u64 {
    hash3(
        seed,
        domain::DOWNLOAD,
        (kind << 56) ^ (period << 40) ^ nonce,
    )
}

/// A report download token (lower-case hex): kind, period, nonce, MAC.
pub(crate) fn report_token(state: &SimState, kind: ReportKind, period: u32) -> String {
    let nonce = state.next_serial() & 0xFFFF_FFFF;
    let code = kind.code();
    let mac = report_mac(state.tenant.seed, code, u64::from(period), nonce);
    format!("{code:02x}{period:04x}{nonce:08x}{mac:016x}")
}

fn decode_report_token(seed: u64, token: &str) -> Option<(ReportKind, u32)> {
    if token.len() != 30 {
        return None;
    }
    let code = u64::from_str_radix(token.get(0..2)?, 16).ok()?;
    let period = u64::from_str_radix(token.get(2..6)?, 16).ok()?;
    let nonce = u64::from_str_radix(token.get(6..14)?, 16).ok()?;
    let mac = u64::from_str_radix(token.get(14..30)?, 16).ok()?;
    if mac != report_mac(seed, code, period, nonce) {
        return None;
    }
    Some((ReportKind::from_code(code)?, u32::try_from(period).ok()?))
}

/// 400 when a bearer token was sent to a pre-signed link; 405 for other
/// methods than GET.
fn link_checks(method: &Method, headers: &HeaderMap) -> Result<(), respond::Refusal> {
    if method != Method::GET {
        return Err(Box::new(respond::storage_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "UnsupportedHttpVerb",
            "The resource doesn't support the specified HTTP verb.",
        )));
    }
    if headers.contains_key("authorization") {
        return Err(Box::new(respond::storage_error(
            StatusCode::BAD_REQUEST,
            "InvalidAuthenticationInfo",
            "Authentication information is not given in the correct format. This is a pre-signed URL: fetch it without the bearer token (no Authorization header).",
        )));
    }
    Ok(())
}

fn not_found() -> Response {
    respond::storage_error(
        StatusCode::NOT_FOUND,
        "BlobNotFound",
        "The specified blob does not exist.",
    )
}

fn server_error(error: &dyn std::fmt::Display) -> Response {
    tracing::warn!(%error, "Simulator could not build a download.");
    respond::storage_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalError",
        "The server encountered an internal error.",
    )
}

/// Serves `/download/report/<token>.csv`.
pub(crate) async fn report(
    state: Arc<SimState>,
    method: &Method,
    headers: &HeaderMap,
    file: &str,
) -> Response {
    if let Err(e) = link_checks(method, headers) {
        return *e;
    }
    let token = file.strip_suffix(".csv").unwrap_or(file);
    let Some((kind, period)) = decode_report_token(state.tenant.seed, token) else {
        return not_found();
    };
    let truncate = state.config.faults.truncated_csv.as_deref() == Some(kind.fault_name());
    let built = tokio::task::spawn_blocking(move || {
        reports::write_report(&state.tenant, kind, period, truncate)
    })
    .await;
    match built {
        Ok(Ok(bytes)) => respond::build(
            StatusCode::OK,
            "application/octet-stream",
            bytes,
            None,
            &[("content-disposition", "attachment; filename=\"report.csv\"")],
        ),
        Ok(Err(e)) => server_error(&e),
        Err(e) => server_error(&e),
    }
}

/// Serves `/download/export/<token>.zip`.
pub(crate) async fn export(
    state: Arc<SimState>,
    method: &Method,
    headers: &HeaderMap,
    file: &str,
) -> Response {
    if let Err(e) = link_checks(method, headers) {
        return *e;
    }
    let token = file.strip_suffix(".zip").unwrap_or(file);
    let job = lock(&state.jobs)
        .values()
        .find(|j| j.download_token == token)
        .cloned();
    let Some(job) = job else {
        return not_found();
    };
    let truncate = state.config.faults.truncated_csv.as_deref() == Some("app_inventory");
    let built =
        tokio::task::spawn_blocking(move || export::build_zip(&state.tenant, &job, truncate)).await;
    match built {
        Ok(Ok(bytes)) => respond::build(StatusCode::OK, "application/zip", bytes, None, &[]),
        Ok(Err(e)) => server_error(&e),
        Err(e) => server_error(&e),
    }
}
