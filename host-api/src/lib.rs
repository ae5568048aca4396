//! The HTTP API of `invhost serve`: the command line's `--json` shapes under
//! `/api/v1/`, for accounts with a role, authenticated by bearer tokens;
//! `/healthz` for load balancers and an OpenAPI 3.1 document generated from
//! the handlers.
//!
//! - [`router`] builds the routes (each documented through `utoipa`, so the
//!   document cannot miss one) with a 1 MiB body limit, JSON errors for
//!   every refusal, and panics answered as a plain 500.
//! - [`Listen`] checks where it may listen: off loopback only with TLS, or
//!   with `--insecure-http` and a warning at every start.

mod auth;
mod body;
mod console;
mod error;
mod routes;
mod session;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::Json;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use host_engine::host::Host;
use repo_store::Store;
use serde::Serialize;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::{ApiError, ErrorBody};

/// Request bodies larger than this are refused with 413.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// What the handlers share.
pub struct ApiState {
    /// The host (settings, plugins, key).
    pub host: Arc<Host>,
    /// The repository database.
    pub store: Store,
    /// When the scheduler last looked at the schedules (Unix ms; 0: never).
    pub scheduler_tick: Arc<AtomicI64>,
    /// Served over TLS: session cookies are `Secure`.
    pub tls: bool,
    sign_in_failures: std::sync::Mutex<std::collections::HashMap<String, Vec<std::time::Instant>>>,
    /// Consolidated views as the last consolidation left them, per
    /// (repository, view), with that consolidation's identity: computed once
    /// per consolidation (one request computes, the others of that view
    /// wait for it; other views do not).
    consolidated: std::sync::Mutex<std::collections::HashMap<(i64, &'static str), Arc<CachedView>>>,
}

/// One consolidated view's rows and the consolidation they come from.
type CachedView = tokio::sync::Mutex<Option<(String, Arc<Vec<serde_json::Value>>)>>;

impl ApiState {
    /// The state of an API on this host and database.
    pub fn new(
        host: Arc<Host>,
        store: Store,
        scheduler_tick: Arc<AtomicI64>,
        tls: bool,
    ) -> ApiState {
        ApiState {
            host,
            store,
            scheduler_tick,
            tls,
            sign_in_failures: Default::default(),
            consolidated: Default::default(),
        }
    }
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState").finish_non_exhaustive()
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "invhost",
        description = "The HTTP API of invhost serve. Send `Authorization: Bearer TOKEN` \
                       (invhost token create). Times are UTC, RFC 3339."
    ),
    tags(
        (name = "accounts"), (name = "repositories"), (name = "connectors"),
        (name = "processes"), (name = "schedules"), (name = "inventory"), (name = "health")
    )
)]
struct ApiDoc;

/// The routes and their OpenAPI document.
pub fn router(state: Arc<ApiState>) -> axum::Router {
    let (api, document) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(routes::metrics))
        .routes(routes!(routes::me))
        .routes(routes!(session::sign_in, session::sign_out))
        .routes(routes!(routes::repositories, routes::add_repository))
        .routes(routes!(routes::clear_repository))
        .routes(routes!(routes::connector_types))
        .routes(routes!(routes::plugins))
        .routes(routes!(routes::connector_type))
        .routes(routes!(routes::explain))
        .routes(routes!(routes::connectors_list, routes::connector_add))
        .routes(routes!(
            routes::connector_show,
            routes::connector_edit,
            routes::connector_remove
        ))
        .routes(routes!(routes::connector_test))
        .routes(routes!(routes::actions))
        .routes(routes!(routes::execute))
        .routes(routes!(routes::processes))
        .routes(routes!(routes::process))
        .routes(routes!(routes::process_events))
        .routes(routes!(routes::log_events))
        .routes(routes!(routes::cancel))
        .routes(routes!(routes::schedules_list, routes::schedule_add))
        .routes(routes!(
            routes::schedule_show,
            routes::schedule_edit,
            routes::schedule_remove
        ))
        .routes(routes!(routes::schedule_run))
        .routes(routes!(routes::cron_preview))
        .routes(routes!(routes::inventory_view))
        .routes(routes!(routes::audit))
        .split_for_parts();
    let document = Arc::new(document);
    api.route(
        "/api/v1/openapi.json",
        axum::routing::get(move || {
            let document = Arc::clone(&document);
            async move { Json(document.as_ref().clone()) }
        }),
    )
    .merge(console::routes())
    .fallback(|| async { ApiError::not_found("no such route (see /api/v1/openapi.json)") })
    .method_not_allowed_fallback(|| async {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "this route does not take that method (see /api/v1/openapi.json)",
        )
    })
    .layer(DefaultBodyLimit::max(BODY_LIMIT))
    .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
        tracing::error!("A request handler panicked.");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the host could not complete the request; its log says why",
        )
        .into_response()
    }))
    .with_state(state)
}

/// How the host is.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` or `failing`.
    pub status: &'static str,
    /// `ok`, or what the database said.
    pub database: String,
    /// `ok`, or how long ago the scheduler last looked at the schedules.
    pub scheduler: String,
}

/// Whether the database answers and the scheduler ticks; no credentials
/// needed (for load balancers and monitors).
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
async fn healthz(State(state): State<Arc<ApiState>>) -> Response {
    let database = match state.store.repositories().await {
        Ok(_) => "ok".to_owned(),
        Err(e) => {
            tracing::warn!(error = %e, "Health check: the database does not answer.");
            "not answering".to_owned()
        }
    };
    let last = state.scheduler_tick.load(Ordering::Relaxed);
    let age_ms = chrono::Utc::now().timestamp_millis() - last;
    let scheduler = if last > 0 && age_ms < 10_000 {
        "ok".to_owned()
    } else if last == 0 {
        "not started".to_owned()
    } else {
        format!("last tick {} s ago", age_ms / 1000)
    };
    let ok = database == "ok" && scheduler == "ok";
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let health = Health {
        status: if ok { "ok" } else { "failing" },
        database,
        scheduler,
    };
    (status, Json(health)).into_response()
}

/// Where and how to listen, checked.
#[derive(Debug, Clone)]
pub struct Listen {
    /// The address.
    pub address: SocketAddr,
    /// TLS certificate chain and key, PEM.
    pub tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// Plain HTTP off loopback, accepted by the operator.
    pub insecure_http: bool,
}

impl Listen {
    /// Refuses plain HTTP off loopback unless the operator accepted it.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.tls.is_none() && !self.address.ip().is_loopback() && !self.insecure_http {
            anyhow::bail!(
                "refusing to serve the API on {} over plain HTTP: tokens would cross the network \
                 in clear. Give --tls-cert FILE --tls-key FILE, listen on 127.0.0.1, or accept the \
                 risk with --insecure-http",
                self.address
            );
        }
        Ok(())
    }
}

/// A listening socket for the API, bound before the host starts working so
/// that a taken port stops `invhost serve` at once.
#[derive(Debug)]
pub struct Bound {
    listener: tokio::net::TcpListener,
    tls: Option<axum_server::tls_rustls::RustlsConfig>,
    /// The address listened on (a port of 0 is chosen by the system).
    pub address: SocketAddr,
}

impl Bound {
    /// Whether it serves HTTPS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }
}

/// Checks `listen`, reads the TLS files and binds.
pub async fn bind(listen: &Listen) -> anyhow::Result<Bound> {
    listen.check()?;
    let tls = match &listen.tls {
        Some((cert, key)) => Some(tls::config(cert, key)?),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(listen.address)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {} for the API: {e}", listen.address))?;
    let address = listener.local_addr()?;
    if tls.is_none() && !address.ip().is_loopback() {
        tracing::warn!(
            address = %address,
            "The API is served over plain HTTP off loopback (--insecure-http): tokens cross the network in clear."
        );
    }
    Ok(Bound {
        listener,
        tls,
        address,
    })
}

/// Serves the API on `bound` until `shutdown` resolves.
pub async fn serve(
    bound: Bound,
    state: Arc<ApiState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    match bound.tls {
        None => {
            axum::serve(bound.listener, app)
                .with_graceful_shutdown(shutdown)
                .await?;
        }
        Some(config) => {
            let handle = axum_server::Handle::new();
            let stopper = handle.clone();
            tokio::spawn(async move {
                shutdown.await;
                stopper.graceful_shutdown(Some(std::time::Duration::from_secs(5)));
            });
            axum_server::from_tcp_rustls(bound.listener.into_std()?, config)
                .handle(handle)
                .serve(app)
                .await?;
        }
    }
    Ok(())
}

mod tls {
    //! TLS with rustls (the ring provider), from PEM files.
    use std::path::Path;
    use std::sync::Arc;

    use anyhow::{Context, Result};
    use axum_server::tls_rustls::RustlsConfig;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    pub(super) fn config(cert: &Path, key: &Path) -> Result<RustlsConfig> {
        let chain = CertificateDer::pem_file_iter(cert)
            .with_context(|| format!("reading the TLS certificate {}", cert.display()))?
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("reading the TLS certificate {}", cert.display()))?;
        let key = PrivateKeyDer::from_pem_file(key)
            .with_context(|| format!("reading the TLS key {}", key.display()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("setting up TLS")?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .context("the TLS certificate and key do not go together")?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(RustlsConfig::from_config(Arc::new(config)))
    }
}
