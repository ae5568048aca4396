//! Graph endpoints under `/v1.0`: routing, faults, bearer and permission
//! checks, the paged collections, export jobs and report redirects.

use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::auth;
use super::downloads;
use super::export::{self, ExportJob};
use super::faults::{self, Injected};
use super::net::ConnHandle;
use super::query::{self, Query, Stream};
use super::reports::ReportKind;
use super::resources;
use super::respond::{self, Ctx, Refusal};
use super::rng::{Rng, domain};
use super::state::{Endpoint, InjectedCounters, SimState, lock};

/// Permissions that allow reading users.
const USER_READ: &[&str] = &[
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
/// Permissions that allow reading subscribed SKUs.
const SKU_READ: &[&str] = &[
    "LicenseAssignment.Read.All",
    "Organization.Read.All",
    "Organization.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
/// Permissions that allow reading Entra ID devices.
const DEVICE_READ: &[&str] = &[
    "Device.Read.All",
    "Device.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
/// Permissions that allow reading Intune devices, detected apps and export jobs.
const INTUNE_READ: &[&str] = &[
    "DeviceManagementManagedDevices.Read.All",
    "DeviceManagementManagedDevices.ReadWrite.All",
];
/// Permissions that allow reading usage reports.
const REPORTS_READ: &[&str] = &["Reports.Read.All"];

/// A Graph path, parsed from its lower-cased form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GraphRoute {
    Users,
    SubscribedSkus,
    Devices,
    ManagedDevices,
    DetectedApps,
    DetectedAppDevices(String),
    ExportJobs,
    ExportJob(String),
    /// Period in days, `None` when the period is not valid.
    AppUsageReport(Option<u32>),
    ActivationsReport,
    ActiveUsersReport(Option<u32>),
    NotFound(String),
}

/// `'D30'` (quotes optional) to 30; `date=...` to 1.
fn parse_period(segment: &str, function: &str) -> Option<u32> {
    let args = segment
        .strip_prefix(function)?
        .strip_prefix('(')?
        .strip_suffix(')')?;
    let (name, value) = args.split_once('=')?;
    let value = value.trim().trim_matches('\'');
    match name.trim() {
        "period" => match value {
            "d7" => Some(7),
            "d30" => Some(30),
            "d90" => Some(90),
            "d180" => Some(180),
            _ => None,
        },
        "date" => Some(1),
        _ => None,
    }
}

/// `name('x')` to `x`.
fn key_in_parens<'a>(segment: &'a str, name: &str) -> Option<&'a str> {
    segment
        .strip_prefix(name)?
        .strip_prefix('(')?
        .strip_suffix(')')
        .map(|k| k.trim_matches('\''))
}

/// Parses the part of a lower-cased path after `/v1.0/`.
pub(crate) fn parse_route(rest: &str) -> GraphRoute {
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["users"] => GraphRoute::Users,
        ["subscribedskus"] => GraphRoute::SubscribedSkus,
        ["devices"] => GraphRoute::Devices,
        ["devicemanagement", "manageddevices"] => GraphRoute::ManagedDevices,
        ["devicemanagement", "detectedapps"] => GraphRoute::DetectedApps,
        ["devicemanagement", "detectedapps", id, "manageddevices"] => {
            GraphRoute::DetectedAppDevices((*id).to_owned())
        }
        ["devicemanagement", app, "manageddevices"] if app.starts_with("detectedapps(") => {
            GraphRoute::DetectedAppDevices(
                key_in_parens(app, "detectedapps").unwrap_or("").to_owned(),
            )
        }
        ["devicemanagement", "reports", "exportjobs"] => GraphRoute::ExportJobs,
        ["devicemanagement", "reports", "exportjobs", id] => {
            GraphRoute::ExportJob((*id).to_owned())
        }
        ["devicemanagement", "reports", job] if job.starts_with("exportjobs(") => {
            GraphRoute::ExportJob(key_in_parens(job, "exportjobs").unwrap_or("").to_owned())
        }
        ["reports", report] if report.starts_with("getm365appuserdetail(") => {
            GraphRoute::AppUsageReport(parse_period(report, "getm365appuserdetail"))
        }
        [
            "reports",
            "getoffice365activationsuserdetail" | "getoffice365activationsuserdetail()",
        ] => GraphRoute::ActivationsReport,
        ["reports", report] if report.starts_with("getoffice365activeuserdetail(") => {
            GraphRoute::ActiveUsersReport(parse_period(report, "getoffice365activeuserdetail"))
        }
        _ => GraphRoute::NotFound(segments.last().copied().unwrap_or("").to_owned()),
    }
}

impl GraphRoute {
    /// The request counter this request goes to.
    fn endpoint(&self, method: &Method) -> Endpoint {
        match self {
            GraphRoute::Users => Endpoint::Users,
            GraphRoute::SubscribedSkus => Endpoint::SubscribedSkus,
            GraphRoute::Devices => Endpoint::Devices,
            GraphRoute::ManagedDevices => Endpoint::ManagedDevices,
            GraphRoute::DetectedApps => Endpoint::DetectedApps,
            GraphRoute::DetectedAppDevices(_) => Endpoint::DetectedAppDevices,
            GraphRoute::ExportJobs if method == Method::POST => Endpoint::ExportJobCreate,
            GraphRoute::ExportJobs => Endpoint::ExportJobList,
            GraphRoute::ExportJob(_) => Endpoint::ExportJobPoll,
            GraphRoute::AppUsageReport(_) => Endpoint::ReportAppUsage,
            GraphRoute::ActivationsReport => Endpoint::ReportActivations,
            GraphRoute::ActiveUsersReport(_) => Endpoint::ReportActiveUsers,
            GraphRoute::NotFound(_) => Endpoint::NotFound,
        }
    }

    fn method_allowed(&self, method: &Method) -> bool {
        match self {
            GraphRoute::ExportJobs => method == Method::POST || method == Method::GET,
            GraphRoute::NotFound(_) => true,
            _ => method == Method::GET,
        }
    }
}

/// One Graph request, after routing.
pub(crate) struct GraphRequest<'a> {
    pub state: &'a SimState,
    pub conn: &'a ConnHandle,
    pub ctx: &'a Ctx,
    pub method: &'a Method,
    /// The lower-cased path after `/v1.0/`.
    pub rest: &'a str,
    pub query: &'a Query,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// Answers a Graph request: counts it, injects faults, checks the token,
/// then serves the route.
pub(crate) fn handle(req: &GraphRequest<'_>) -> Response {
    let state = req.state;
    let ctx = req.ctx;
    let route = parse_route(req.rest);
    state.count(route.endpoint(req.method));
    let n = state.next_graph_request();
    match faults::for_graph_request(&state.config.faults, n) {
        Some(Injected::Drop) => {
            tracing::debug!(request = n, "Simulator cutting the connection.");
            InjectedCounters::bump(&state.injected.dropped);
            req.conn.cut();
            return respond::build(StatusCode::INTERNAL_SERVER_ERROR, "", "", None, &[]);
        }
        Some(Injected::Throttle(retry_after)) => {
            InjectedCounters::bump(&state.injected.throttled);
            let extra: Vec<(&str, &str)> = retry_after
                .map(|r| ("retry-after", r))
                .into_iter()
                .collect();
            return respond::graph_error_with(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "Too many requests. Please retry after the time given in Retry-After.",
                ctx,
                &extra,
            );
        }
        Some(Injected::Unavailable) => {
            InjectedCounters::bump(&state.injected.unavailable);
            return respond::graph_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "serviceNotAvailable",
                "The service is temporarily unavailable. Please retry later.",
                ctx,
            );
        }
        None => {}
    }
    if let Err(denied) = auth::check_bearer(state, req.headers, ctx) {
        return *denied;
    }
    if !route.method_allowed(req.method) {
        return respond::graph_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "BadRequest",
            &format!(
                "The HTTP method '{}' is not allowed on this resource.",
                req.method
            ),
            ctx,
        );
    }
    if req.query.get("$skip").is_some() {
        return respond::graph_error(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "The query specified in the URI is not valid. Query option 'Skip' is not allowed. Follow @odata.nextLink to page.",
            ctx,
        );
    }
    match route {
        GraphRoute::Users => users(req),
        GraphRoute::SubscribedSkus => subscribed_skus(req),
        GraphRoute::Devices => devices(req),
        GraphRoute::ManagedDevices => managed_devices(req),
        GraphRoute::DetectedApps => detected_apps(req),
        GraphRoute::DetectedAppDevices(key) => detected_app_devices(req, &key),
        GraphRoute::ExportJobs if *req.method == Method::POST => export_create(req),
        GraphRoute::ExportJobs => intune_gate(req).err().map(|e| *e).unwrap_or_else(|| {
            respond::intune_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "An error has occurred: listing export jobs is not supported; get one job by id.",
                ctx,
            )
        }),
        GraphRoute::ExportJob(id) => export_poll(req, &id),
        GraphRoute::AppUsageReport(period) => report(req, ReportKind::AppUsage, period),
        GraphRoute::ActivationsReport => report(req, ReportKind::Activations, Some(0)),
        GraphRoute::ActiveUsersReport(period) => report(req, ReportKind::ActiveUsers, period),
        GraphRoute::NotFound(segment) => respond::graph_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            &format!("Resource not found for the segment '{segment}'."),
            ctx,
        ),
    }
}

/// 403 for directory reads without permission.
fn directory_gate(req: &GraphRequest<'_>, permissions: &[&str]) -> Result<(), Refusal> {
    if req.state.config.has_any(permissions) {
        return Ok(());
    }
    Err(Box::new(respond::graph_error(
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
        req.ctx,
    )))
}

/// 403 without the Intune permission; 400 without an Intune licence.
fn intune_gate(req: &GraphRequest<'_>) -> Result<(), Refusal> {
    let config = &req.state.config;
    if !config.has_any(INTUNE_READ) {
        return Err(Box::new(respond::intune_error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            &format!(
                "Application is not authorized to perform this operation. Application must have one of the following scopes: {}",
                INTUNE_READ.join(", ")
            ),
            req.ctx,
        )));
    }
    if !config.intune_licensed {
        return Err(Box::new(respond::intune_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Request not applicable to target tenant.",
            req.ctx,
        )));
    }
    Ok(())
}

/// The page size: `$top` or `default`. `strict` answers 400 above `max`
/// (directory APIs); otherwise `$top` is capped at `max` (Intune).
fn page_size(
    req: &GraphRequest<'_>,
    default: usize,
    max: usize,
    strict: bool,
) -> Result<usize, Refusal> {
    let Some(raw) = req.query.get("$top") else {
        return Ok(default);
    };
    let invalid = |message: String| -> Refusal {
        Box::new(respond::graph_error(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            &message,
            req.ctx,
        ))
    };
    let n: usize = raw
        .trim()
        .parse()
        .map_err(|_| invalid(format!("Invalid value '{raw}' for query option '$top'.")))?;
    if n == 0 || (strict && n > max) {
        return Err(invalid(format!(
            "Invalid page size specified: '{n}'. Must be between 1 and {max} inclusive."
        )));
    }
    Ok(n.min(max))
}

/// `(cursor, page number)` from `$skiptoken`, `(0, 1)` without one.
fn cursor(req: &GraphRequest<'_>, stream: Stream) -> Result<(u64, u32), Refusal> {
    let Some(token) = req.query.get("$skiptoken") else {
        return Ok((0, 1));
    };
    query::decode_skiptoken(req.state.tenant.seed, stream, token).ok_or_else(|| {
        Box::new(respond::graph_error(
            StatusCode::BAD_REQUEST,
            "Directory_ExpiredPageToken",
            "The specified page token value has expired or is not valid for this collection.",
            req.ctx,
        ))
    })
}

/// The absolute `@odata.nextLink`: path, `$top` and `$select` kept, a new
/// `$skiptoken`.
fn next_link(req: &GraphRequest<'_>, path: &str, token: &str) -> String {
    let mut params = Vec::new();
    for key in ["$top", "$select"] {
        if let Some(value) = req.query.get(key) {
            params.push(format!("{key}={}", query::encode_component(value)));
        }
    }
    params.push(format!("$skiptoken={token}"));
    format!("{}/v1.0/{path}?{}", req.state.base_url, params.join("&"))
}

/// `@odata.context` for a collection.
fn context(req: &GraphRequest<'_>, entity_set: &str, select: Option<&[String]>) -> String {
    match select {
        Some(s) => format!(
            "{}/v1.0/$metadata#{entity_set}({})",
            req.state.base_url,
            s.join(",")
        ),
        None => format!("{}/v1.0/$metadata#{entity_set}", req.state.base_url),
    }
}

/// A collection page; the `malformed_page` fault cuts page 2 in half (the
/// only page when the collection fits in one).
fn page(
    req: &GraphRequest<'_>,
    stream: Stream,
    context: String,
    items: Vec<Value>,
    next: Option<String>,
    page_number: u32,
) -> Response {
    let last = next.is_none();
    let mut body = Map::new();
    body.insert("@odata.context".to_owned(), Value::from(context));
    if let Some(next) = next {
        body.insert("@odata.nextLink".to_owned(), Value::from(next));
    }
    body.insert("value".to_owned(), Value::Array(items));
    let mut bytes = serde_json::to_vec(&Value::Object(body)).unwrap_or_default();
    let malformed = req.state.config.faults.malformed_page.as_deref() == Some(stream.fault_name());
    if malformed && (page_number == 2 || (page_number == 1 && last)) {
        bytes.truncate(bytes.len() / 2);
    }
    respond::build(
        StatusCode::OK,
        respond::GRAPH_JSON,
        bytes,
        Some(req.ctx),
        &[],
    )
}

/// A collection of `total` items paged by offset.
#[allow(clippy::too_many_arguments)]
fn offset_collection(
    req: &GraphRequest<'_>,
    stream: Stream,
    path: &str,
    entity_set: &str,
    total: usize,
    sizes: (usize, usize, bool),
    select: Option<&[String]>,
    item: impl Fn(usize) -> Value,
) -> Response {
    let (default, max, strict) = sizes;
    let top = match page_size(req, default, max, strict) {
        Ok(t) => t,
        Err(e) => return *e,
    };
    let (offset, page_number) = match cursor(req, stream) {
        Ok(c) => c,
        Err(e) => return *e,
    };
    let start = (offset as usize).min(total);
    let end = start.saturating_add(top).min(total);
    let items: Vec<Value> = (start..end).map(item).collect();
    let next = (end < total).then(|| {
        let token =
            query::encode_skiptoken(req.state.tenant.seed, stream, end as u64, page_number + 1);
        next_link(req, path, &token)
    });
    page(
        req,
        stream,
        context(req, entity_set, select),
        items,
        next,
        page_number,
    )
}

fn users(req: &GraphRequest<'_>) -> Response {
    if let Err(e) = directory_gate(req, USER_READ) {
        return *e;
    }
    let tenant = &req.state.tenant;
    let select = req.query.select();
    let default_select: Vec<String> = resources::USER_DEFAULT_PROPERTIES
        .iter()
        .map(|p| (*p).to_owned())
        .collect();
    let effective = select.clone().unwrap_or(default_select);
    offset_collection(
        req,
        Stream::Users,
        "users",
        "users",
        tenant.users,
        (100, 999, true),
        select.as_deref(),
        |i| query::apply_select(resources::user(&tenant.user(i)), Some(&effective)),
    )
}

fn subscribed_skus(req: &GraphRequest<'_>) -> Response {
    if let Err(e) = directory_gate(req, SKU_READ) {
        return *e;
    }
    let body = json!({
        "@odata.context": format!("{}/v1.0/$metadata#subscribedSkus", req.state.base_url),
        "value": resources::subscribed_skus(&req.state.tenant),
    });
    respond::json(StatusCode::OK, &body, req.ctx)
}

fn devices(req: &GraphRequest<'_>) -> Response {
    if let Err(e) = directory_gate(req, DEVICE_READ) {
        return *e;
    }
    let tenant = &req.state.tenant;
    let select = req.query.select();
    offset_collection(
        req,
        Stream::Devices,
        "devices",
        "devices",
        tenant.entra_device_count(),
        (100, 999, true),
        select.as_deref(),
        |i| {
            query::apply_select(
                resources::entra_device(&tenant.entra_device(i)),
                select.as_deref(),
            )
        },
    )
}

fn managed_devices(req: &GraphRequest<'_>) -> Response {
    if let Err(e) = intune_gate(req) {
        return *e;
    }
    let tenant = &req.state.tenant;
    let select = req.query.select();
    offset_collection(
        req,
        Stream::ManagedDevices,
        "deviceManagement/managedDevices",
        "deviceManagement/managedDevices",
        tenant.devices,
        (1000, 1000, false),
        select.as_deref(),
        |i| {
            query::apply_select(
                resources::managed_device(&tenant.managed_device(i)),
                select.as_deref(),
            )
        },
    )
}

fn detected_apps(req: &GraphRequest<'_>) -> Response {
    if let Err(e) = intune_gate(req) {
        return *e;
    }
    let tenant = &req.state.tenant;
    let select = req.query.select();
    offset_collection(
        req,
        Stream::DetectedApps,
        "deviceManagement/detectedApps",
        "deviceManagement/detectedApps",
        tenant.detected.len(),
        (50, 50, false),
        select.as_deref(),
        |i| {
            let app_index = tenant.detected.get(i).copied().unwrap_or(0);
            let count = tenant
                .app_device_counts
                .get(app_index)
                .copied()
                .unwrap_or(0);
            match tenant.catalog.get(app_index) {
                Some(app) => {
                    query::apply_select(resources::detected_app(app, count), select.as_deref())
                }
                None => Value::Null,
            }
        },
    )
}

/// Devices that have one detected app, paged by device index.
fn detected_app_devices(req: &GraphRequest<'_>, key: &str) -> Response {
    if let Err(e) = intune_gate(req) {
        return *e;
    }
    let tenant = &req.state.tenant;
    let Some(app_index) = tenant
        .app_by_key
        .get(key)
        .copied()
        .filter(|i| tenant.app_device_counts.get(*i).copied().unwrap_or(0) > 0)
    else {
        return respond::intune_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            &format!("Resource not found: detectedApp '{key}'."),
            req.ctx,
        );
    };
    let Some(app) = tenant.catalog.get(app_index) else {
        return respond::graph_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            "Not found.",
            req.ctx,
        );
    };
    let stream = Stream::DetectedAppDevices(app_index);
    let top = match page_size(req, 50, 1000, false) {
        Ok(t) => t,
        Err(e) => return *e,
    };
    let (start, page_number) = match cursor(req, stream) {
        Ok(c) => c,
        Err(e) => return *e,
    };
    let has_app = |d: usize| {
        let platform = tenant.device_platform(d);
        platform == app.platform && tenant.device_apps(d, platform).contains(&app_index)
    };
    let select = req.query.select();
    let mut items = Vec::new();
    let mut d = (start as usize).min(tenant.devices);
    while d < tenant.devices && items.len() < top {
        if has_app(d) {
            items.push(query::apply_select(
                resources::managed_device(&tenant.managed_device(d)),
                select.as_deref(),
            ));
        }
        d += 1;
    }
    let next_device = (d..tenant.devices).find(|x| has_app(*x));
    let path = format!("deviceManagement/detectedApps/{}/managedDevices", app.key);
    let next = next_device.map(|nd| {
        let token = query::encode_skiptoken(tenant.seed, stream, nd as u64, page_number + 1);
        next_link(req, &path, &token)
    });
    let ctx_url = context(
        req,
        "deviceManagement/detectedApps('id')/managedDevices",
        select.as_deref(),
    );
    page(req, stream, ctx_url, items, next, page_number)
}

fn export_create(req: &GraphRequest<'_>) -> Response {
    let state = req.state;
    if let Err(e) = intune_gate(req) {
        return *e;
    }
    if !state.config.export_jobs {
        return respond::intune_error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "Application is not authorized to perform this operation: export jobs are not available to this application.",
            req.ctx,
        );
    }
    let bad =
        |text: String| respond::intune_error(StatusCode::BAD_REQUEST, "BadRequest", &text, req.ctx);
    let Ok(body) = serde_json::from_slice::<Value>(req.body) else {
        return bad("The request body is not valid JSON.".to_owned());
    };
    let report_name = body.get("reportName").and_then(Value::as_str).unwrap_or("");
    if !report_name.eq_ignore_ascii_case(export::APP_INV_RAW_DATA) {
        return bad(format!(
            "Invalid report name '{report_name}': the simulator exports only AppInvRawData."
        ));
    }
    let format = body.get("format").and_then(Value::as_str).unwrap_or("csv");
    if !format.eq_ignore_ascii_case("csv") {
        return bad(format!(
            "Unsupported format '{format}': the simulator exports csv only."
        ));
    }
    let select: Vec<String> = body
        .get("select")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let columns = match export::resolve_columns(&select) {
        Ok(c) => c,
        Err(unknown) => {
            return bad(format!(
                "Invalid select column '{unknown}' for AppInvRawData."
            ));
        }
    };
    let mut rng = Rng::new(state.tenant.seed, domain::JOB, state.next_serial());
    let job = ExportJob {
        id: format!("{}_{}", export::APP_INV_RAW_DATA, rng.guid()),
        columns,
        select,
        requested: req.ctx.now,
        polls: 0,
        download_token: rng.hex_lower(40),
    };
    let answer = resources::export_job(&state.base_url, &job, "notStarted", None);
    lock(&state.jobs).insert(job.id.to_ascii_lowercase(), job);
    respond::json(StatusCode::CREATED, &answer, req.ctx)
}

fn export_poll(req: &GraphRequest<'_>, id: &str) -> Response {
    let state = req.state;
    if let Err(e) = intune_gate(req) {
        return *e;
    }
    let mut jobs = lock(&state.jobs);
    let Some(job) = jobs.get_mut(id) else {
        return respond::intune_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            &format!("Export job '{id}' was not found."),
            req.ctx,
        );
    };
    job.polls = job.polls.saturating_add(1);
    let faults = &state.config.faults;
    let (status, url) =
        if faults.export_job_never_completes || job.polls <= state.config.export_polls {
            ("inProgress", None)
        } else if faults.export_job_fails {
            ("failed", None)
        } else {
            (
                "completed",
                Some(downloads::export_url(&state.base_url, &job.download_token)),
            )
        };
    let answer = resources::export_job(&state.base_url, job, status, url);
    drop(jobs);
    respond::json(StatusCode::OK, &answer, req.ctx)
}

/// A usage report: 302 to a pre-authenticated CSV download.
fn report(req: &GraphRequest<'_>, kind: ReportKind, period: Option<u32>) -> Response {
    let state = req.state;
    if !state.config.has_any(REPORTS_READ) {
        return respond::graph_error(
            StatusCode::FORBIDDEN,
            "S2SUnauthorized",
            "Invalid permission.",
            req.ctx,
        );
    }
    let Some(period) = period else {
        return respond::graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Invalid value for the 'period' parameter; supported values are D7, D30, D90 and D180.",
            req.ctx,
        );
    };
    if let Some(format) = req.query.get("$format")
        && !format.eq_ignore_ascii_case("text/csv")
    {
        return respond::graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!(
                "The simulator serves usage reports as CSV only ($format=text/csv), not '{format}'."
            ),
            req.ctx,
        );
    }
    let token = downloads::report_token(state, kind, period);
    let location = format!("{}/download/report/{token}.csv", state.base_url);
    respond::build(
        StatusCode::FOUND,
        "",
        "",
        Some(req.ctx),
        &[("location", location.as_str())],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(parse_route("users"), GraphRoute::Users);
        assert_eq!(parse_route("users/"), GraphRoute::Users);
        assert_eq!(parse_route("subscribedskus"), GraphRoute::SubscribedSkus);
        assert_eq!(
            parse_route("devicemanagement/detectedapps/abc/manageddevices"),
            GraphRoute::DetectedAppDevices("abc".into())
        );
        assert_eq!(
            parse_route("devicemanagement/detectedapps('abc')/manageddevices"),
            GraphRoute::DetectedAppDevices("abc".into())
        );
        assert_eq!(
            parse_route("devicemanagement/reports/exportjobs('appinvrawdata_x')"),
            GraphRoute::ExportJob("appinvrawdata_x".into())
        );
        assert_eq!(
            parse_route("reports/getm365appuserdetail(period='d30')"),
            GraphRoute::AppUsageReport(Some(30))
        );
        assert_eq!(
            parse_route("reports/getm365appuserdetail(period='d31')"),
            GraphRoute::AppUsageReport(None)
        );
        assert_eq!(
            parse_route("reports/getoffice365activationsuserdetail"),
            GraphRoute::ActivationsReport
        );
        assert_eq!(
            parse_route("reports/getoffice365activeuserdetail(period='d7')"),
            GraphRoute::ActiveUsersReport(Some(7))
        );
        assert_eq!(parse_route("me"), GraphRoute::NotFound("me".into()));
    }
}
