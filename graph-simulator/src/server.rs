//! The running simulator: binding, the request dispatcher, shutdown.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::auth;
use super::clock;
use super::config::SimulatorConfig;
use super::downloads;
use super::graph::{self, GraphRequest};
use super::net::{ConnHandle, SimListener};
use super::query::{self, Query};
use super::respond;
use super::state::{Endpoint, FaultCounts, SimState};
use super::tenant::{Expected, Tenant};

/// A Microsoft Graph simulator serving a synthetic tenant on loopback.
///
/// One base URL serves both the sign-in authority
/// (`POST {base_url}/{tenant}/oauth2/v2.0/token`) and the Graph root
/// (`{base_url}/v1.0/...`); the token scope is `{base_url}/.default`.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use graph_simulator::{Simulator, SimulatorConfig};
///
/// let sim = Simulator::start(SimulatorConfig::default()).await?;
/// let base = sim.base_url();
/// let expected = sim.expected();
/// // ... point the connector at `base`, `sim.tenant_id()`, `sim.client_id()`,
/// // `sim.client_secret()` and compare what it syncs with `expected` ...
/// assert_eq!(expected.users, 25);
/// sim.shutdown().await;
/// # let _ = base;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Simulator {
    state: Arc<SimState>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Simulator {
    /// Binds `127.0.0.1` on a free port and serves in a tokio task.
    pub async fn start(config: SimulatorConfig) -> std::io::Result<Simulator> {
        Simulator::start_on(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Binds `addr` (for a fixed port) and serves in a tokio task.
    pub async fn start_on(config: SimulatorConfig, addr: SocketAddr) -> std::io::Result<Simulator> {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let base_url = format!("http://{local}");
        let tenant = Tenant::new(&config, clock::now_secs());
        let state = Arc::new(SimState::new(config, tenant, base_url));
        let app = Router::new()
            .fallback(dispatch)
            .with_state(Arc::clone(&state));
        let (tx, rx) = oneshot::channel::<()>();
        let listener = SimListener::new(listener);
        let task = tokio::spawn(async move {
            let serve = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<ConnHandle>(),
            )
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            });
            if let Err(error) = serve.await {
                tracing::warn!(%error, "Graph simulator stopped with an error.");
            }
        });
        tracing::debug!(address = %local, "Graph simulator listening.");
        Ok(Simulator {
            state,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`: the sign-in authority and the Graph root.
    pub fn base_url(&self) -> String {
        self.state.base_url.clone()
    }

    /// The tenant id (a GUID derived from the seed). The domain
    /// `contoso.onmicrosoft.com` works as tenant too.
    pub fn tenant_id(&self) -> String {
        self.state.tenant.tenant_id.clone()
    }

    /// The application (client) id.
    pub fn client_id(&self) -> String {
        self.state.tenant.client_id.clone()
    }

    /// The valid client secret value.
    pub fn client_secret(&self) -> String {
        self.state.tenant.client_secret.clone()
    }

    /// What a complete, permitted sync must find.
    pub fn expected(&self) -> Expected {
        self.state.tenant.expected
    }

    /// Requests per endpoint name: `token`, `users`, `subscribed_skus`,
    /// `devices`, `managed_devices`, `detected_apps`, `detected_app_devices`,
    /// `export_job_create`, `export_job_poll`, `export_job_list`,
    /// `export_download`, `report_app_usage`, `report_activations`,
    /// `report_active_users`, `report_download`, `not_found`. Every name is
    /// present; requests answered with a fault count too.
    pub fn requests(&self) -> BTreeMap<String, u64> {
        self.state.requests()
    }

    /// Faults injected and tokens issued so far: what a fault test checks
    /// to know its fault happened.
    pub fn injected(&self) -> FaultCounts {
        self.state.injected()
    }

    /// All requests received (sign-in, Graph and downloads).
    pub fn total_requests(&self) -> u64 {
        self.state.total_requests()
    }

    /// Stops accepting, lets open requests finish (up to 5 seconds) and
    /// stops the server task.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Routes every request: sign-in, downloads, Graph, or 404.
async fn dispatch(
    State(state): State<Arc<SimState>>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = query::percent_decode(uri.path(), false);
    let query = Query::parse(uri.query());
    let ctx = state.context(&headers);
    tracing::debug!(%method, %path, "Graph simulator request.");
    let lower = path.to_ascii_lowercase();
    let trimmed = lower.trim_end_matches('/');
    if let Some(rest) = trimmed.strip_prefix("/v1.0/") {
        if let Some(delay) = state.config.faults.graph_delay_ms {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        if let Some(gate) = &state.config.faults.hold_reports
            && rest.starts_with("reports/")
        {
            gate.pass().await;
        }
        let request = GraphRequest {
            state: &state,
            conn: &conn,
            ctx: &ctx,
            method: &method,
            rest,
            query: &query,
            headers: &headers,
            body: &body,
        };
        return graph::handle(&request);
    }
    if let Some(file) = trimmed.strip_prefix("/download/export/") {
        state.count(Endpoint::ExportDownload);
        return downloads::export(Arc::clone(&state), &method, &headers, file).await;
    }
    if let Some(file) = trimmed.strip_prefix("/download/report/") {
        state.count(Endpoint::ReportDownload);
        return downloads::report(Arc::clone(&state), &method, &headers, file).await;
    }
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    if let [tenant, oauth, version, token] = segments.as_slice()
        && oauth.eq_ignore_ascii_case("oauth2")
        && version.eq_ignore_ascii_case("v2.0")
        && token.eq_ignore_ascii_case("token")
    {
        state.count(Endpoint::Token);
        return auth::token(&state, &method, tenant, &body);
    }
    state.count(Endpoint::NotFound);
    respond::graph_error(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        &format!("The simulator serves no resource at '{path}'."),
        &ctx,
    )
}
