//! The operator console: server-rendered pages (maud) over the same engine
//! and store as the API, with one stylesheet and one script served from the
//! binary. Forms and live updates go through the JSON API (the script sends
//! the session's CSRF token); a strict Content-Security-Policy allows
//! nothing from anywhere else and no inline script.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{DOCTYPE, Markup, html};
use repo_store::Role;
use serde::Deserialize;

use crate::ApiState;
use crate::auth::Authed;

mod connectors;
mod inventory;
mod processes;
mod schedules;

use connectors::{connector_edit, connector_new, connectors};
use inventory::{
    explain_application, explain_device, explain_product, inventory, licences, product_usage,
    reclaim,
};
use processes::processes;
use schedules::{schedule_edit, schedule_new, schedules};

/// What every console answer says about where it may load from.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The console's routes.
pub fn routes() -> axum::Router<Arc<ApiState>> {
    axum::Router::new()
        .route("/", get(|| async { Redirect::to("/console/connectors") }))
        .route(
            "/console",
            get(|| async { Redirect::to("/console/connectors") }),
        )
        .route(
            "/console/",
            get(|| async { Redirect::to("/console/connectors") }),
        )
        .route("/console/sign-in", get(sign_in))
        .route("/console/connectors", get(connectors))
        .route("/console/connectors/new", get(connector_new))
        .route("/console/connectors/{name}/edit", get(connector_edit))
        .route("/console/processes", get(processes))
        .route("/console/product-usage", get(product_usage))
        .route("/console/inventory/{view}", get(inventory))
        .route("/console/plugins", get(plugins))
        .route("/console/licences", get(licences))
        .route("/console/reclaim", get(reclaim))
        .route("/console/schedules", get(schedules))
        .route("/console/schedules/new", get(schedule_new))
        .route("/console/schedules/{name}/edit", get(schedule_edit))
        .route("/console/explain/device/{id}", get(explain_device))
        .route("/console/explain/product/{id}", get(explain_product))
        .route("/console/explain/application", get(explain_application))
        .route("/console/assets/{file}", get(asset))
        .layer(axum::middleware::map_response(secure))
}

async fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "console.css" => (
            include_str!("../../assets/console.css"),
            "text/css; charset=utf-8",
        ),
        "console.js" => (
            include_str!("../../assets/console.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return (axum::http::StatusCode::NOT_FOUND, "no such file").into_response(),
    };
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

/// A signed-in operator; anyone else is sent to the sign-in page.
struct Operator(Authed);

impl FromRequestParts<Arc<ApiState>> for Operator {
    type Rejection = Redirect;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<ApiState>,
    ) -> Result<Self, Self::Rejection> {
        Authed::from_request_parts(parts, state)
            .await
            .map(Operator)
            .map_err(|_| Redirect::to("/console/sign-in"))
    }
}

/// The page around every console view.
fn page(title: &str, who: Option<&Authed>, current: &str, body: Markup) -> Html<String> {
    let csrf = who
        .and_then(|w| w.session.as_ref())
        .map(|s| s.csrf_token.clone())
        .unwrap_or_default();
    let link = |href: &str, text: &str| {
        html! {
            @if href == current {
                a href=(href) aria-current="page" { (text) }
            } @else {
                a href=(href) { (text) }
            }
        }
    };
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    meta name="csrf-token" content=(csrf);
                    title { (title) " · invhost" }
                    link rel="stylesheet" href="/console/assets/console.css";
                    script src="/console/assets/console.js" defer {}
                }
                body {
                    a.skip href="#main" { "Skip to content" }
                    header {
                        span.brand { "invhost" }
                        @if let Some(who) = who {
                            nav {
                                (link("/console/connectors", "Connectors"))
                                (link("/console/processes", "Process log"))
                                (link("/console/inventory/devices", "Inventory"))
                                (link("/console/product-usage", "Product usage"))
                                (link("/console/licences", "Licences"))
                                (link("/console/reclaim", "Reclaim"))
                                (link("/console/schedules", "Schedules"))
                                (link("/console/plugins", "Plugins"))
                            }
                            span.who { (who.caller.user) " (" (who.caller.role) ")" }
                            form.inline data-action="sign-out" {
                                button.secondary type="submit" { "Sign out" }
                            }
                        }
                    }
                    main #main tabindex="-1" { h1 { (title) } (body) }
                }
            }
        }
        .into_string(),
    )
}

async fn sign_in() -> Html<String> {
    page(
        "Sign in",
        None,
        "",
        html! {
            form.card data-action="sign-in" {
                label for="name" { "Name" }
                input #name name="name" autocomplete="username" required autofocus;
                label for="password" { "Password" }
                input #password name="password" type="password" autocomplete="current-password" required;
                p { button type="submit" { "Sign in" } }
            }
        },
    )
}

fn utc(rfc3339: Option<&str>) -> String {
    rfc3339
        .map(|t| {
            format!(
                "{} UTC",
                t.replace('T', " ").chars().take(19).collect::<String>()
            )
        })
        .unwrap_or_default()
}

/// Which page of a list.
#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    q: Option<String>,
    page: Option<usize>,
    sort: Option<String>,
    repository: Option<String>,
}

/// The page refusing `what` to a caller below admin.
fn admins_only(who: &Authed, what: &str) -> Option<Response> {
    (who.caller.role < Role::Admin).then(|| {
        (
            axum::http::StatusCode::FORBIDDEN,
            page(
                "Not allowed",
                Some(who),
                "",
                html! { p.notice.bad { (what) " needs the admin role." } },
            ),
        )
            .into_response()
    })
}

/// A console link: `path` with the given query parameters, empty ones left
/// out.
pub(super) fn href(path: &str, params: &[(&str, &str)]) -> String {
    let mut link = path.to_owned();
    let mut first = !path.contains('?');
    for (name, value) in params.iter().filter(|(_, v)| !v.is_empty()) {
        link.push(if first { '?' } else { '&' });
        first = false;
        link.push_str(name);
        link.push('=');
        link.push_str(&urlencode(value));
    }
    link
}

/// The repository a page shows (`?repository=`, else the default one) and
/// every inventory repository, for the picker.
pub(super) async fn chosen_repository(
    state: &ApiState,
    name: Option<&str>,
) -> anyhow::Result<(repo_store::RepositoryRow, Vec<repo_store::RepositoryRow>)> {
    let all: Vec<_> = state
        .store
        .repositories()
        .await?
        .into_iter()
        .filter(|r| r.repository_type == repo_store::RepositoryType::Inventory)
        .collect();
    let name = name
        .filter(|n| !n.is_empty())
        .unwrap_or(repo_store::DEFAULT_REPOSITORY);
    let chosen = state.store.repository(name).await?;
    Ok((chosen, all))
}

/// A small GET form choosing the repository of a page, keeping the other
/// parameters given; nothing when there is only one.
pub(super) fn repository_picker(
    action: &str,
    chosen: &repo_store::RepositoryRow,
    all: &[repo_store::RepositoryRow],
    keep: &[(&str, &str)],
) -> Markup {
    html! {
        @if all.len() > 1 {
            form.inline.picker method="get" action=(action) {
                label { "Repository "
                    select name="repository" {
                        @for r in all {
                            option value=(r.name) selected[r.id == chosen.id] { (r.name) }
                        }
                    }
                }
                @for (name, value) in keep.iter().filter(|(_, v)| !v.is_empty()) {
                    input type="hidden" name=(name) value=(value);
                }
                button.secondary type="submit" { "Show" }
            }
        }
    }
}

pub(super) fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn plugins(State(state): State<Arc<ApiState>>, Operator(who): Operator) -> Response {
    let listing = host_engine::plugins::listing(state.host.registry());
    let body = html! {
        table {
            thead { tr { th { "Type" } th { "Name" } th { "Version" } th { "ABI" } th { "Source" } } }
            tbody {
                @for c in &listing.connectors {
                    tr { td { (c.type_id) } td { (c.display_name) } td { (c.version) } td { (c.abi) } td { (c.source) } }
                }
            }
        }
        @if !listing.refused.is_empty() {
            h1 { "Refused plugin files" }
            table {
                thead { tr { th { "File" } th { "Why" } } }
                tbody { @for r in &listing.refused { tr { td { (r.source) } td { (r.reason) } } } }
            }
        }
    };
    page("Plugins", Some(&who), "/console/plugins", body).into_response()
}

/// The page for a failure: what the operator can act on (an unknown name,
/// a connector type not loaded, an unreadable secret key) is said; a
/// database failure only says so, its detail goes to the log.
fn failed(who: &Authed, error: anyhow::Error) -> Response {
    use repo_store::StoreError;
    let (status, text) = match error.downcast_ref::<StoreError>() {
        Some(StoreError::NotFound { .. }) => (axum::http::StatusCode::NOT_FOUND, error.to_string()),
        Some(StoreError::Refused(_) | StoreError::Duplicate { .. }) => {
            (axum::http::StatusCode::CONFLICT, error.to_string())
        }
        Some(StoreError::Key { .. } | StoreError::Secrets(_)) => (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            error.to_string(),
        ),
        Some(_) => {
            tracing::error!(error = %format!("{error:#}"), "A console page failed.");
            return unavailable(who);
        }
        None => (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            format!("{error:#}"),
        ),
    };
    (
        status,
        page(
            "Not shown",
            Some(who),
            "",
            html! { p.notice.bad { (text) } },
        ),
    )
        .into_response()
}

fn unavailable(who: &Authed) -> Response {
    (
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        page(
            "Unavailable",
            Some(who),
            "",
            html! { p.notice.bad { "The repository database does not answer; the host's log says why." } },
        ),
    )
        .into_response()
}
