//! The operator console: server-rendered pages (maud) over the same engine
//! and store as the API, with one stylesheet and one script served from the
//! binary. Forms and live updates go through the JSON API (the script sends
//! the session's CSRF token); a strict Content-Security-Policy allows
//! nothing from anywhere else and no inline script.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{DOCTYPE, Markup, html};
use repo_store::Role;
use serde::Deserialize;

use crate::ApiState;
use crate::auth::Authed;

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
                    main { h1 { (title) } (body) }
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

async fn connectors(State(state): State<Arc<ApiState>>, Operator(who): Operator) -> Response {
    let store = &state.store;
    let loaded = async {
        Ok::<_, anyhow::Error>((
            store.connectors().await?,
            store.repositories().await?,
            store.last_process_per_connector().await?,
        ))
    };
    let (rows, repositories, last_syncs) = match loaded.await {
        Ok(loaded) => loaded,
        Err(e) => return failed(&who, e),
    };
    let may_run = who.caller.role >= Role::Operator;
    let may_edit = who.caller.role >= Role::Admin;
    let body = html! {
        @if may_edit { p { a.button href="/console/connectors/new" { "Add connector" } } }
        table {
            thead { tr {
                th { "Name" } th { "Type" } th { "Repository type" } th { "Last test (UTC)" } th { "Last sync" }
                @if may_run { th { "Actions" } }
            } }
            tbody {
                @for row in &rows {
                    @let last = last_syncs.get(&row.id);
                    tr data-connector=(row.name) {
                        td {
                            (row.name)
                            @if may_edit { " " a href=(format!("/console/connectors/{}/edit", urlencode(&row.name))) { "Edit" } }
                        }
                        td { (row.connector_type) }
                        td { (repo_store::RepositoryType::Inventory) }
                        td {
                            @if let Some(status) = &row.last_test_status {
                                span class=(format!("status-{status}")) { (status) } " "
                                (utc(row.last_tested_at.map(|t| t.to_rfc3339()).as_deref()))
                            } @else { "never" }
                        }
                        td {
                            @if let Some(p) = last {
                                span class=(format!("status-{}", p.status)) { (p.status) } " "
                                (utc(p.finished_at.or(p.started_at).map(|t| t.to_rfc3339()).as_deref()))
                            } @else { "never" }
                        }
                        @if may_run {
                            td {
                                form.inline data-action="test" {
                                    input type="hidden" name="connector" value=(row.name);
                                    button.secondary type="submit" { "Test" }
                                }
                                form.inline data-action="execute" {
                                    input type="hidden" name="action" value=(host_engine::actions::sync_action(&row.name));
                                    label { "Repository "
                                        select name="repository" {
                                            @for r in repositories.iter().filter(|r| r.repository_type == repo_store::RepositoryType::Inventory) {
                                                option value=(r.name) { (r.name) }
                                            }
                                        }
                                    }
                                    label title="Replaces everything this connector holds in the repository, once the sync succeeds." {
                                        input type="checkbox" name="clean"; " Clean sync"
                                    }
                                    button type="submit" { "Execute" }
                                }
                                p.warning { "A clean sync replaces everything this connector holds in the repository (only when it succeeds)." }
                            }
                        }
                    }
                }
            }
        }
        @if rows.is_empty() { p { "No connectors yet: an admin adds them with invhost connector add, or through the API." } }
    };
    page("Connectors", Some(&who), "/console/connectors", body).into_response()
}

/// Which connector type to add.
#[derive(Debug, Deserialize)]
struct NewQuery {
    #[serde(rename = "type")]
    connector_type: Option<String>,
}

fn admins_only(who: &Authed) -> Option<Response> {
    (who.caller.role < Role::Admin).then(|| {
        (
            axum::http::StatusCode::FORBIDDEN,
            page(
                "Not allowed",
                Some(who),
                "",
                html! { p.notice.bad { "Adding and editing connectors needs the admin role." } },
            ),
        )
            .into_response()
    })
}

/// One input per declared parameter: the form of any connector type, a
/// third party's included, with no console code of its own.
fn parameter_inputs(
    schema: &connector_core::ParamSchema,
    current: Option<&std::collections::BTreeMap<String, serde_json::Value>>,
) -> Markup {
    use connector_core::ParamKind;
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    html! {
        @for field in schema.fields.iter().filter(|f| !f.deprecated || current.is_some_and(|c| c.contains_key(&f.key))) {
            @let id = format!("param-{}", field.key);
            @let value = current.and_then(|c| c.get(&field.key)).map(text);
            @let default = field.default.as_ref().map(text).unwrap_or_default();
            div.field {
                label for=(id) {
                    (field.label)
                    @if field.required && field.default.is_none() { " *" }
                }
                @match &field.kind {
                    ParamKind::Bool => {
                        input #(id) type="checkbox" data-param=(field.key) data-kind="bool"
                            checked[value.as_deref().unwrap_or(default.as_str()) == "true"];
                    }
                    ParamKind::Integer { min, max } => {
                        input #(id) type="number" data-param=(field.key) data-kind="integer"
                            min=[min] max=[max] value=[value.as_deref()] placeholder=(default)
                            required[field.required && field.default.is_none()];
                    }
                    ParamKind::Choice { options } => {
                        select #(id) data-param=(field.key) data-kind="choice" {
                            @if !field.required { option value="" { "" } }
                            @for option in options {
                                option value=(option) selected[value.as_deref().unwrap_or(default.as_str()) == option] { (option) }
                            }
                        }
                    }
                    ParamKind::MultiChoice { options } => {
                        div #(id) data-param=(field.key) data-kind="multi" {
                            @for option in options {
                                label.choice { input type="checkbox" value=(option)
                                    checked[value.as_deref().is_some_and(|v| v.contains(&format!("\"{option}\"")))]; " " (option) }
                            }
                        }
                    }
                    ParamKind::Secret => {
                        input #(id) type="password" data-param=(field.key) data-kind="secret" autocomplete="new-password"
                            placeholder=(if current.is_some() { "leave empty to keep" } else { "" })
                            required[current.is_none() && field.required && field.default.is_none()];
                    }
                    kind => {
                        input #(id) type=(match kind { ParamKind::Url => "url", ParamKind::Email => "email", _ => "text" })
                            data-param=(field.key) data-kind="text" value=[value.as_deref()] placeholder=(default)
                            required[field.required && field.default.is_none()];
                    }
                }
                @if !field.help.is_empty() { p.help { (field.help) } }
            }
        }
    }
}

async fn connector_new(
    State(state): State<Arc<ApiState>>,
    Operator(who): Operator,
    Query(query): Query<NewQuery>,
) -> Response {
    if let Some(refused) = admins_only(&who) {
        return refused;
    }
    let registry = state.host.registry();
    let chosen = query
        .connector_type
        .as_deref()
        .and_then(|t| registry.connector(t));
    let body = match chosen {
        None => html! {
            form.card method="get" action="/console/connectors/new" {
                label for="type" { "Connector type" }
                select #type name="type" {
                    @for c in registry.connectors() {
                        option value=(c.info().type_id) { (c.info().display_name) " (" (c.info().type_id) ")" }
                    }
                }
                p { button type="submit" { "Next" } }
            }
        },
        Some(handle) => html! {
            form.card.wide data-action="connector-add" data-type=(handle.info().type_id) {
                p { "Type: " strong { (handle.info().display_name) } " (" (handle.info().type_id) ")" }
                div.field {
                    label for="connector-name" { "Name *" }
                    input #connector-name name="name" required;
                    p.help { "Its action will be “Sync Data - NAME”." }
                }
                (parameter_inputs(&handle.info().parameters, None))
                div.field {
                    label { input #run-consolidation type="checkbox"; " Run Consolidation Reports after each sync" }
                }
                p { button type="submit" { "Add connector" } }
            }
        },
    };
    page("Add a connector", Some(&who), "/console/connectors", body).into_response()
}

async fn connector_edit(
    State(state): State<Arc<ApiState>>,
    Operator(who): Operator,
    Path(name): Path<String>,
) -> Response {
    if let Some(refused) = admins_only(&who) {
        return refused;
    }
    let loaded = async {
        let row = state.store.connector(&name).await?;
        let handle = state
            .host
            .registry()
            .require(&row.connector_type)
            .map_err(|e| anyhow::anyhow!(e))?;
        let view = host_engine::connectors::view(&state.host, &row, &state.host.key()?)?;
        Ok::<_, anyhow::Error>((row, handle, view))
    };
    let (row, handle, view) = match loaded.await {
        Ok(loaded) => loaded,
        Err(e) => return failed(&who, e),
    };
    let body = html! {
        form.card.wide data-action="connector-edit" data-name=(row.name) {
            p { "Type: " strong { (handle.info().display_name) } }
            (parameter_inputs(&handle.info().parameters, Some(&view.parameters)))
            div.field {
                label { input #run-consolidation type="checkbox" checked[row.run_consolidation]; " Run Consolidation Reports after each sync" }
            }
            p { button type="submit" { "Save" } }
        }
    };
    page(
        &format!("Edit connector {name}"),
        Some(&who),
        "/console/connectors",
        body,
    )
    .into_response()
}

fn process_cells(p: &host_engine::processes::ProcessView, may_cancel: bool) -> Markup {
    let source = if p.status == repo_store::ProcessStatus::Running {
        p.progress.as_ref().unwrap_or(&p.counts)
    } else {
        &p.counts
    };
    let counts = source
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let open = !p.status.is_ended();
    html! {
        td data-field="id" { (p.id) }
        td data-field="action" { (p.action) }
        td data-field="repository" { (p.repository) }
        td data-field="status" class=(format!("status-{}", p.status)) { (p.status) }
        td data-field="trigger" { (p.trigger) }
        td data-field="parent" { (p.parent_id.map(|i| i.to_string()).unwrap_or_default()) }
        td data-field="queued" { (p.queued_at.replace('T', " ").chars().take(19).collect::<String>()) }
        td data-field="duration" { (p.duration_seconds.map(|d| format!("{d:.1} s")).unwrap_or_default()) }
        td data-field="counts" { (counts) }
        td data-field="message" class="message" { (p.message.clone().unwrap_or_default()) }
        @if may_cancel {
            td {
                form.inline data-action="cancel" hidden[!open] {
                    input type="hidden" name="id" value=(p.id);
                    button.secondary type="submit" { "Cancel" }
                }
            }
        }
    }
}

async fn processes(State(state): State<Arc<ApiState>>, Operator(who): Operator) -> Response {
    let Ok(names) = host_engine::processes::repository_names(&state.store).await else {
        return unavailable(&who);
    };
    let Ok(rows) = state
        .store
        .processes(&repo_store::ProcessFilter {
            limit: Some(100),
            ..Default::default()
        })
        .await
    else {
        return unavailable(&who);
    };
    let may_cancel = who.caller.role >= Role::Operator;
    let views: Vec<_> = rows
        .iter()
        .map(|p| host_engine::processes::process_view(p, &names))
        .collect();
    let empty = host_engine::processes::ProcessView {
        id: 0,
        parent_id: None,
        action: String::new(),
        repository: String::new(),
        status: repo_store::ProcessStatus::Queued,
        trigger: repo_store::Trigger::Operator,
        clean: false,
        queued_at: String::new(),
        started_at: None,
        finished_at: None,
        duration_seconds: None,
        counts: serde_json::json!({}),
        message: None,
        progress: None,
    };
    let body = html! {
        p { "Newest first; it updates by itself. Times are UTC." }
        table data-live-log {
            thead { tr {
                th { "Id" } th { "Action" } th { "Repository" } th { "Status" } th { "Trigger" }
                th { "Parent" } th { "Queued (UTC)" } th { "Duration" } th { "Records" } th { "Message" }
                @if may_cancel { th {} }
            } }
            tbody {
                @for p in &views {
                    tr data-id=(p.id) { (process_cells(p, may_cancel)) }
                }
            }
        }
        template #process-row { tr { (process_cells(&empty, may_cancel)) } }
    };
    page("Process log", Some(&who), "/console/processes", body).into_response()
}

/// Which page of a list.
#[derive(Debug, Deserialize)]
struct ListQuery {
    q: Option<String>,
    page: Option<usize>,
    sort: Option<String>,
}

/// The raw views the inventory page shows.
const RAW_VIEWS: [host_engine::inventory::View; 8] = {
    use host_engine::inventory::View;
    [
        View::Devices,
        View::Users,
        View::Applications,
        View::Installations,
        View::Usage,
        View::Skus,
        View::Assignments,
        View::Activations,
    ]
};

async fn inventory(
    State(state): State<Arc<ApiState>>,
    Operator(who): Operator,
    Path(view): Path<String>,
    Query(query): Query<ListQuery>,
) -> Response {
    let Some(view) = RAW_VIEWS.into_iter().find(|v| v.name() == view) else {
        return (
            axum::http::StatusCode::NOT_FOUND,
            page(
                "No such view",
                Some(&who),
                "",
                html! { p.notice.bad { "No inventory view of that name." } },
            ),
        )
            .into_response();
    };
    let Some(kind) = view.kind() else {
        return unavailable(&who);
    };
    let Ok(repository) = state.store.repository(repo_store::DEFAULT_REPOSITORY).await else {
        return unavailable(&who);
    };
    let columns = view.columns();
    let q = query.q.clone().unwrap_or_default();
    let sort = query
        .sort
        .clone()
        .filter(|s| columns.contains(&s.trim_start_matches('-')));
    let raw = repo_store::RawQuery {
        search: Some(q.clone()).filter(|q| !q.is_empty()),
        sort: sort.as_deref().map(|s| match s.strip_prefix('-') {
            Some(field) => (field.to_owned(), true),
            None => (s.to_owned(), false),
        }),
    };
    let page_no = query.page.unwrap_or(0);
    let (Ok(total), Ok(rows)) = (
        state.store.raw_count(repository.id, kind, &raw).await,
        state
            .store
            .raw_rows_where(
                repository.id,
                kind,
                repo_store::Page {
                    limit: PAGE as u64,
                    offset: (page_no * PAGE) as u64,
                },
                &raw,
            )
            .await,
    ) else {
        return unavailable(&who);
    };
    let here = |q: &str, sort: Option<&str>, page: usize| {
        let mut link = format!(
            "/console/inventory/{}?q={}&page={page}",
            view.name(),
            urlencode(q)
        );
        if let Some(sort) = sort {
            link.push_str(&format!("&sort={}", urlencode(sort)));
        }
        link
    };
    let cell = |v: Option<&serde_json::Value>| match v {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let total = total as usize;
    let body = html! {
        nav.views {
            @for v in RAW_VIEWS {
                @if v == view { strong { (v.name()) } } @else { a href=(format!("/console/inventory/{}", v.name())) { (v.name()) } }
                " "
            }
        }
        form.inline method="get" action=(format!("/console/inventory/{}", view.name())) {
            label { "Search " input name="q" value=(q); }
            @if let Some(sort) = &sort { input type="hidden" name="sort" value=(sort); }
            button type="submit" { "Search" }
            a.button.secondary href=(format!(
                "/api/v1/inventory/{}?format=csv&q={}{}",
                view.name(),
                urlencode(&q),
                sort.as_deref().map(|s| format!("&sort={}", urlencode(s))).unwrap_or_default()
            )) { "Download CSV" }
        }
        p { (total) " rows in '" (repository.name) "'. " (view.help()) "." }
        table {
            thead { tr {
                @for column in columns {
                    @let next = if sort.as_deref() == Some(*column) { format!("-{column}") } else { (*column).to_owned() };
                    th { a href=(here(&q, Some(&next), 0)) { (column.replace('_', " ")) } }
                }
            } }
            tbody {
                @for row in &rows {
                    tr { @for column in columns { td { (cell(row.get(*column))) } } }
                }
            }
        }
        div.pager {
            @if page_no > 0 { a href=(here(&q, sort.as_deref(), page_no - 1)) { "← Previous" } }
            span { "Page " (page_no + 1) " of " (total.div_ceil(PAGE).max(1)) }
            @if (page_no + 1) * PAGE < total { a href=(here(&q, sort.as_deref(), page_no + 1)) { "Next →" } }
        }
    };
    page("Inventory", Some(&who), "/console/inventory/devices", body).into_response()
}

const PAGE: usize = 50;

async fn product_usage(
    State(state): State<Arc<ApiState>>,
    Operator(who): Operator,
    Query(query): Query<ListQuery>,
) -> Response {
    let Ok(repository) = state.store.repository(repo_store::DEFAULT_REPOSITORY).await else {
        return unavailable(&who);
    };
    let Ok(rows) = crate::routes::consolidated_rows(
        &state,
        repository.id,
        host_engine::inventory::View::ProductUsage,
    )
    .await
    else {
        return unavailable(&who);
    };
    let search = query.q.clone().unwrap_or_default().to_lowercase();
    let matching: Vec<&serde_json::Value> = rows
        .iter()
        .filter(|r| {
            search.is_empty()
                || ["vendor", "product", "edition", "version"].iter().any(|f| {
                    r[*f]
                        .as_str()
                        .is_some_and(|s| s.to_lowercase().contains(&search))
                })
        })
        .collect();
    let page_no = query.page.unwrap_or(0);
    let shown: Vec<&&serde_json::Value> = matching.iter().skip(page_no * PAGE).take(PAGE).collect();
    let text = |v: &serde_json::Value| {
        v.as_str().map(str::to_owned).unwrap_or_else(|| {
            if v.is_null() {
                String::new()
            } else {
                v.to_string()
            }
        })
    };
    let q = query.q.clone().unwrap_or_default();
    let body = html! {
        form.inline method="get" action="/console/product-usage" {
            label { "Search " input name="q" value=(q); }
            button type="submit" { "Search" }
            a.button.secondary href=(format!("/api/v1/inventory/product-usage?format=csv&q={}", urlencode(&q))) { "Download CSV" }
        }
        p { (matching.len()) " products in '" (repository.name) "'." }
        table {
            thead { tr {
                th { "Vendor" } th { "Product" } th { "Version" } th { "Installations" } th { "Devices" }
                th { "Users" } th { "Used" } th { "Rarely used" } th { "Unused" } th { "Not reported" } th { "Last used (UTC)" }
            } }
            tbody {
                @for r in &shown {
                    tr {
                        td { (text(&r["vendor"])) }
                        td {
                            @if r["id"].as_i64().unwrap_or(0) > 0 {
                                a href=(format!("/api/v1/explain/product/{}", r["id"])) { (text(&r["product"])) }
                            } @else { (text(&r["product"])) }
                            @if let Some(edition) = r["edition"].as_str() { " " (edition) }
                        }
                        td { (text(&r["version"])) }
                        td.num { (text(&r["installations"])) }
                        td.num { (text(&r["devices"])) }
                        td.num { (text(&r["users"])) }
                        td.num { (text(&r["used"])) }
                        td.num { (text(&r["rarely_used"])) }
                        td.num { (text(&r["unused"])) }
                        td.num { (text(&r["unreported"])) }
                        td { (text(&r["last_used"])) }
                    }
                }
            }
        }
        div.pager {
            @if page_no > 0 { a href=(format!("?q={}&page={}", urlencode(&q), page_no - 1)) { "← Previous" } }
            span { "Page " (page_no + 1) " of " (matching.len().div_ceil(PAGE).max(1)) }
            @if (page_no + 1) * PAGE < matching.len() { a href=(format!("?q={}&page={}", urlencode(&q), page_no + 1)) { "Next →" } }
        }
    };
    page("Product usage", Some(&who), "/console/product-usage", body).into_response()
}

/// A consolidated view as a table of the given fields (label, field, numeric).
async fn consolidated_page(
    state: &Arc<ApiState>,
    who: &Authed,
    view: host_engine::inventory::View,
    title: &str,
    here: &str,
    fields: &[(&str, &str, bool)],
    intro: &str,
) -> Response {
    let Ok(repository) = state.store.repository(repo_store::DEFAULT_REPOSITORY).await else {
        return unavailable(who);
    };
    let Ok(rows) = crate::routes::consolidated_rows(state, repository.id, view).await else {
        return unavailable(who);
    };
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    let body = html! {
        p { (intro) " " (rows.len()) " rows in '" (repository.name) "'. "
            a href=(format!("/api/v1/inventory/{}?format=csv", view.name())) { "Download CSV" } }
        table {
            thead { tr { @for (label, _, _) in fields { th { (label) } } } }
            tbody {
                @for row in rows.iter().take(1000) {
                    tr { @for (_, field, numeric) in fields {
                        @if *numeric { td.num { (text(&row[*field])) } } @else { td { (text(&row[*field])) } }
                    } }
                }
            }
        }
        @if rows.len() > 1000 { p { "The first 1,000 rows; the CSV has them all." } }
    };
    page(title, Some(who), here, body).into_response()
}

async fn licences(State(state): State<Arc<ApiState>>, Operator(who): Operator) -> Response {
    consolidated_page(
        &state,
        &who,
        host_engine::inventory::View::Licences,
        "Licences",
        "/console/licences",
        &[
            ("SKU", "part_number", false),
            ("Name", "name", false),
            ("Prepaid", "prepaid", true),
            ("Assigned", "assigned", true),
            ("Active", "active", true),
            ("Inactive", "inactive", true),
            ("Not reported", "unreported", true),
            ("Reclaimable", "reclaimable", true),
        ],
        "Per subscribed SKU, from the last consolidation.",
    )
    .await
}

async fn reclaim(State(state): State<Arc<ApiState>>, Operator(who): Operator) -> Response {
    consolidated_page(
        &state,
        &who,
        host_engine::inventory::View::Reclaim,
        "Reclaim",
        "/console/reclaim",
        &[
            ("User", "user", false),
            ("Name", "display_name", false),
            ("SKU", "part_number", false),
            ("Last activity (UTC)", "last_activity", false),
            ("Assigned on", "assigned_on", false),
            ("Why", "reason", false),
        ],
        "Licence assignments that can be reclaimed, with the reason; nothing is changed in the tenant.",
    )
    .await
}

async fn schedules(State(state): State<Arc<ApiState>>, Operator(who): Operator) -> Response {
    let (Ok(rows), Ok(names)) = (
        state.store.schedules().await,
        host_engine::processes::repository_names(&state.store).await,
    ) else {
        return unavailable(&who);
    };
    let may_run = who.caller.role >= Role::Operator;
    let views: Vec<_> = rows
        .iter()
        .map(|row| host_engine::schedules::view(row, &names))
        .collect();
    let body = html! {
        p { "Times are UTC. Add and edit schedules with invhost schedule or the API." }
        table {
            thead { tr {
                th { "Name" } th { "Cron (UTC)" } th { "Repository" } th { "Actions, in order" }
                th { "Next due (UTC)" } th { "Last fired (UTC)" }
                @if may_run { th {} }
            } }
            tbody {
                @for v in &views {
                    tr data-schedule=(v.name) {
                        td { (v.name) }
                        td { code { (v.cron) } }
                        td { (v.repository) }
                        td { ol { @for a in &v.actions { li { (a) } } }
                            @if v.continue_on_failure { p.help { "A failed step does not stop the rest." } } }
                        td {
                            @if v.upcoming.is_empty() { "disabled" } @else {
                                ul.checks { @for due in &v.upcoming { li { (utc(Some(due))) } } }
                            }
                        }
                        td {
                            (utc(v.last_fired_at.as_deref()))
                            @if let Some(note) = &v.last_note { p.help { (note) } }
                        }
                        @if may_run {
                            td { form.inline data-action="schedule-run" {
                                input type="hidden" name="schedule" value=(v.name);
                                button.secondary type="submit" { "Run now" }
                            } }
                        }
                    }
                }
            }
        }
        @if views.is_empty() { p { "No schedules yet." } }
    };
    page("Schedules", Some(&who), "/console/schedules", body).into_response()
}

fn urlencode(text: &str) -> String {
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
