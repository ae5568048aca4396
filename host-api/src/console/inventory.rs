//! Inventory: the raw views, product usage, licences, reclaim and the
//! explanations of a device or product.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use host_engine::inventory::View;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{
    ListQuery, Operator, chosen_repository, failed, href, page, repository_picker, unavailable,
};
use crate::ApiState;
use crate::auth::Authed;

/// Rows per page of a table.
const PAGE: usize = 50;

/// The page asked for, kept where its offset cannot overflow.
fn page_number(asked: Option<usize>) -> usize {
    asked.unwrap_or(0).min(10_000_000)
}

/// The raw views the inventory page shows.
const RAW_VIEWS: [View; 8] = [
    View::Devices,
    View::Users,
    View::Applications,
    View::Installations,
    View::Usage,
    View::Skus,
    View::Assignments,
    View::Activations,
];

/// A JSON value as table text.
fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// The pager under a table: previous, "page N of M", next.
fn pager(link: impl Fn(usize) -> String, page_no: usize, total: usize) -> Markup {
    html! {
        nav.pager aria-label="Pages" {
            @if page_no > 0 { a href=(link(page_no - 1)) rel="prev" { "← Previous" } }
            span { "Page " (page_no + 1) " of " (total.div_ceil(PAGE).max(1)) }
            @if (page_no + 1) * PAGE < total { a href=(link(page_no + 1)) rel="next" { "Next →" } }
        }
    }
}

pub(super) async fn inventory(
    State(state): State<Arc<ApiState>>,
    Operator(who): Operator,
    Path(view): Path<String>,
    Query(query): Query<ListQuery>,
) -> Response {
    let Some(view) = RAW_VIEWS.into_iter().find(|v| v.name() == view) else {
        let known: Vec<&str> = RAW_VIEWS.iter().map(|v| v.name()).collect();
        return (
            StatusCode::NOT_FOUND,
            page(
                "No such view",
                Some(&who),
                "",
                html! { p.notice.bad { "No inventory view of that name; the views are " (known.join(", ")) "." } },
            ),
        )
            .into_response();
    };
    let Some(kind) = view.kind() else {
        return unavailable(&who);
    };
    let (repository, repositories) =
        match chosen_repository(&state, query.repository.as_deref()).await {
            Ok(chosen) => chosen,
            Err(e) => return failed(&who, e),
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
        ..Default::default()
    };
    let page_no = page_number(query.page);
    let (total, rows) = match tokio::join!(
        state.store.raw_count(repository.id, kind, &raw),
        state.store.raw_rows_where(
            repository.id,
            kind,
            repo_store::Page {
                limit: PAGE as u64,
                offset: (page_no * PAGE) as u64,
            },
            &raw,
        ),
    ) {
        (Ok(total), Ok(rows)) => (total as usize, rows),
        (Err(e), _) | (_, Err(e)) => return failed(&who, e.into()),
    };
    let path = format!("/console/inventory/{}", view.name());
    let here = |sort: Option<&str>, page: usize| {
        href(
            &path,
            &[
                ("repository", repository.name.as_str()),
                ("q", &q),
                ("sort", sort.unwrap_or_default()),
                ("page", &page.to_string()),
            ],
        )
    };
    let explain_device = |name: &str| {
        href(
            &format!("/console/explain/device/{}", super::urlencode(name)),
            &[("repository", repository.name.as_str()), ("by", "name")],
        )
    };
    // The cells that lead somewhere: a device to its explanation, an
    // application to the products it may be.
    let cell = |row: &Map<String, Value>, column: &str| -> Markup {
        let value = text(row.get(column));
        match (view, column) {
            (View::Devices, "name") | (View::Installations, "device") if !value.is_empty() => {
                html! { a href=(explain_device(&value)) { (value) } }
            }
            (View::Installations, "application") | (View::Applications, "name")
                if !value.is_empty() =>
            {
                let key = if view == View::Installations {
                    text(row.get("application_key"))
                } else {
                    text(row.get("source_key"))
                };
                html! { a href=(href("/console/explain/application", &[
                    ("repository", repository.name.as_str()),
                    ("connector", &text(row.get("connector"))),
                    ("key", &key),
                ])) title="The product it was consolidated into" { (value) } }
            }
            _ => html! { (value) },
        }
    };
    let body = html! {
        nav.views aria-label="Inventory views" {
            @for v in RAW_VIEWS {
                @if v == view {
                    strong aria-current="page" { (v.name()) }
                } @else {
                    a href=(href(&format!("/console/inventory/{}", v.name()), &[("repository", repository.name.as_str())])) { (v.name()) }
                }
                " "
            }
        }
        (repository_picker(&path, &repository, &repositories, &[("q", &q)]))
        form.inline role="search" method="get" action=(path) {
            input type="hidden" name="repository" value=(repository.name);
            label { "Search " input type="search" name="q" value=(q); }
            @if let Some(sort) = &sort { input type="hidden" name="sort" value=(sort); }
            button type="submit" { "Search" }
            a.button.secondary href=(href(
                &format!("/api/v1/inventory/{}", view.name()),
                &[("format", "csv"), ("repository", repository.name.as_str()), ("q", &q), ("sort", sort.as_deref().unwrap_or_default())],
            )) download { "Download CSV" }
        }
        p { (total) " rows in '" (repository.name) "'. " (view.help()) "." }
        table {
            thead { tr {
                @for column in columns {
                    @let (next, order) = match sort.as_deref() {
                        Some(s) if s == *column => (format!("-{column}"), "ascending"),
                        Some(s) if s.strip_prefix('-') == Some(*column) => ((*column).to_owned(), "descending"),
                        _ => ((*column).to_owned(), "none"),
                    };
                    th aria-sort=(order) {
                        a href=(here(Some(&next), 0)) title="Sort by this column" {
                            (column.replace('_', " "))
                            @match order { "ascending" => " ▲", "descending" => " ▼", _ => "" }
                        }
                    }
                }
            } }
            tbody {
                @for row in &rows {
                    tr { @for column in columns { td { (cell(row, column)) } } }
                }
            }
        }
        (pager(|p| here(sort.as_deref(), p), page_no, total))
    };
    page("Inventory", Some(&who), "/console/inventory/devices", body).into_response()
}

pub(super) async fn product_usage(
    State(state): State<Arc<ApiState>>,
    Operator(who): Operator,
    Query(query): Query<ListQuery>,
) -> Response {
    let (repository, repositories) =
        match chosen_repository(&state, query.repository.as_deref()).await {
            Ok(chosen) => chosen,
            Err(e) => return failed(&who, e),
        };
    let rows =
        match crate::routes::consolidated_rows(&state, repository.id, View::ProductUsage).await {
            Ok(rows) => rows,
            Err(_) => return unavailable(&who),
        };
    let q = query.q.clone().unwrap_or_default();
    let search = q.to_lowercase();
    let matching: Vec<&Value> = rows
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
    let page_no = page_number(query.page);
    let link = |page: usize| {
        href(
            "/console/product-usage",
            &[
                ("repository", repository.name.as_str()),
                ("q", &q),
                ("page", &page.to_string()),
            ],
        )
    };
    let body = html! {
        (repository_picker("/console/product-usage", &repository, &repositories, &[("q", &q)]))
        form.inline role="search" method="get" action="/console/product-usage" {
            input type="hidden" name="repository" value=(repository.name);
            label { "Search " input type="search" name="q" value=(q); }
            button type="submit" { "Search" }
            a.button.secondary href=(href("/api/v1/inventory/product-usage", &[("format", "csv"), ("repository", repository.name.as_str()), ("q", &q)])) download { "Download CSV" }
        }
        p { (matching.len()) " products in '" (repository.name) "', from the last consolidation. "
            "An installation is Used, Rarely used or Unused by its last use against the thresholds, "
            "and Not reported when no source says; a product's page gives the reason for each." }
        table {
            thead { tr {
                th { "Vendor" } th { "Product" } th { "Version" } th.num { "Installations" } th.num { "Devices" }
                th.num { "Users" } th.num { "Used" } th.num { "Rarely used" } th.num { "Unused" } th.num { "Not reported" } th { "Last used (UTC)" }
            } }
            tbody {
                @for r in matching.iter().skip(page_no * PAGE).take(PAGE) {
                    tr {
                        td { (text(r.get("vendor"))) }
                        td {
                            @if r["id"].as_i64().unwrap_or(0) > 0 {
                                a href=(href(&format!("/console/explain/product/{}", r["id"]), &[("repository", repository.name.as_str())])) { (text(r.get("product"))) }
                            } @else { (text(r.get("product"))) }
                            @if let Some(edition) = r["edition"].as_str() { " " (edition) }
                        }
                        td { (text(r.get("version"))) }
                        @for field in ["installations", "devices", "users", "used", "rarely_used", "unused", "unreported"] {
                            td.num { (text(r.get(field))) }
                        }
                        td { (text(r.get("last_used"))) }
                    }
                }
            }
        }
        (pager(link, page_no, matching.len()))
    };
    page("Product usage", Some(&who), "/console/product-usage", body).into_response()
}

/// A consolidated view as a table of the given fields (label, field, numeric).
struct Consolidated<'a> {
    view: View,
    title: &'a str,
    here: &'a str,
    fields: &'a [(&'a str, &'a str, bool)],
    intro: &'a str,
}

async fn consolidated_page(
    state: &Arc<ApiState>,
    who: &Authed,
    query: &ListQuery,
    spec: Consolidated<'_>,
) -> Response {
    let (repository, repositories) =
        match chosen_repository(state, query.repository.as_deref()).await {
            Ok(chosen) => chosen,
            Err(e) => return failed(who, e),
        };
    let Ok(rows) = crate::routes::consolidated_rows(state, repository.id, spec.view).await else {
        return unavailable(who);
    };
    let page_no = page_number(query.page);
    let link = |page: usize| {
        href(
            spec.here,
            &[
                ("repository", repository.name.as_str()),
                ("page", &page.to_string()),
            ],
        )
    };
    let body = html! {
        (repository_picker(spec.here, &repository, &repositories, &[]))
        p { (spec.intro) " " (rows.len()) " rows in '" (repository.name) "'. "
            a href=(href(&format!("/api/v1/inventory/{}", spec.view.name()), &[("format", "csv"), ("repository", repository.name.as_str())])) download { "Download CSV" } }
        table {
            thead { tr { @for (label, _, numeric) in spec.fields {
                @if *numeric { th.num { (label) } } @else { th { (label) } }
            } } }
            tbody {
                @for row in rows.iter().skip(page_no * PAGE).take(PAGE) {
                    tr { @for (_, field, numeric) in spec.fields {
                        @if *numeric { td.num { (text(row.get(*field))) } } @else { td { (text(row.get(*field))) } }
                    } }
                }
            }
        }
        (pager(link, page_no, rows.len()))
    };
    page(spec.title, Some(who), spec.here, body).into_response()
}

pub(super) async fn licences(
    State(state): State<Arc<ApiState>>,
    Operator(who): Operator,
    Query(query): Query<ListQuery>,
) -> Response {
    consolidated_page(
        &state,
        &who,
        &query,
        Consolidated {
            view: View::Licences,
            title: "Licences",
            here: "/console/licences",
            fields: &[
                ("SKU", "part_number", false),
                ("Name", "name", false),
                ("Prepaid", "prepaid", true),
                ("Assigned", "assigned", true),
                ("Active", "active", true),
                ("Inactive", "inactive", true),
                ("Not reported", "unreported", true),
                ("Reclaimable", "reclaimable", true),
            ],
            intro: "Per subscribed SKU, from the last consolidation.",
        },
    )
    .await
}

pub(super) async fn reclaim(
    State(state): State<Arc<ApiState>>,
    Operator(who): Operator,
    Query(query): Query<ListQuery>,
) -> Response {
    consolidated_page(
        &state,
        &who,
        &query,
        Consolidated {
            view: View::Reclaim,
            title: "Reclaim",
            here: "/console/reclaim",
            fields: &[
                ("User", "user", false),
                ("Name", "display_name", false),
                ("SKU", "part_number", false),
                ("Last activity (UTC)", "last_activity", false),
                ("Assigned on", "assigned_on", false),
                ("Why", "reason", false),
            ],
            intro: "Licence assignments that can be reclaimed, with the reason; nothing is changed in the tenant.",
        },
    )
    .await
}

/// Which repository an explanation is in; `by=name` reads a device's
/// path as its name even when it looks like an id.
#[derive(Debug, Deserialize)]
pub(super) struct ExplainQuery {
    repository: Option<String>,
    by: Option<String>,
}

/// A raw application of a connector.
#[derive(Debug, Deserialize)]
pub(super) struct ApplicationQuery {
    repository: Option<String>,
    connector: String,
    key: String,
}

/// The product page of a raw application, through the last consolidation.
pub(super) async fn explain_application(
    State(state): State<Arc<ApiState>>,
    Operator(who): Operator,
    Query(query): Query<ApplicationQuery>,
) -> Response {
    let found = async {
        let (repository, _) = chosen_repository(&state, query.repository.as_deref()).await?;
        let product = state
            .store
            .product_of_application(repository.id, &query.connector, &query.key)
            .await?;
        Ok::<_, anyhow::Error>((repository, product))
    };
    match found.await {
        Ok((repository, Some(product))) => axum::response::Redirect::to(&href(
            &format!("/console/explain/product/{product}"),
            &[("repository", repository.name.as_str())],
        ))
        .into_response(),
        Ok((repository, None)) => (
            StatusCode::NOT_FOUND,
            page(
                "Not consolidated yet",
                Some(&who),
                "/console/product-usage",
                html! { p.notice.bad { "The last consolidation of '" (repository.name) "' did not see this application: run Generate Report - Basic Inventory Consolidation." } },
            ),
        )
            .into_response(),
        Err(e) => failed(&who, e),
    }
}

/// A record's fields as a two-column table.
fn fields(record: &Map<String, Value>) -> Markup {
    html! {
        table.fields {
            tbody {
                @for (name, value) in record {
                    tr { th scope="row" { (name.replace('_', " ")) } td { (text(Some(value))) } }
                }
            }
        }
    }
}

/// Rows as a table with the given columns, a cell made by `cell`.
fn rows_table(
    rows: &[Map<String, Value>],
    columns: &[&str],
    cell: impl Fn(&Map<String, Value>, &str) -> Markup,
) -> Markup {
    html! {
        table {
            thead { tr { @for c in columns { th { (c.replace('_', " ")) } } } }
            tbody { @for row in rows { tr { @for c in columns { td { (cell(row, c)) } } } } }
        }
    }
}

pub(super) async fn explain_device(
    State(state): State<Arc<ApiState>>,
    Operator(who): Operator,
    Path(id): Path<String>,
    Query(query): Query<ExplainQuery>,
) -> Response {
    let found = async {
        let (repository, _) = chosen_repository(&state, query.repository.as_deref()).await?;
        let explained = if query.by.as_deref() == Some("name") {
            state.store.explain_device_named(repository.id, &id).await?
        } else {
            state.store.explain_device(repository.id, &id).await?
        };
        Ok::<_, anyhow::Error>((repository, explained))
    };
    let (repository, explained) = match found.await {
        Ok(found) => found,
        Err(e) => return failed(&who, e),
    };
    let product = |row: &Map<String, Value>, column: &str| -> Markup {
        let value = text(row.get(column));
        match (column, row.get("product_id").and_then(Value::as_i64)) {
            ("product", Some(product)) => html! {
                a href=(href(&format!("/console/explain/product/{product}"), &[("repository", repository.name.as_str())])) { (value) }
            },
            _ => html! { (value) },
        }
    };
    let title = format!("Device {}", text(explained.device.get("name")));
    let body = html! {
        p { "A consolidated device of '" (repository.name) "': the fields below are merged from its "
            (explained.sources.len()) " source record(s), matched by the key each names." }
        (fields(&explained.device))
        h2 { "Source records" }
        (rows_table(&explained.sources, &["connector", "name", "serial_number", "entra_device_id", "primary_user", "last_seen", "matched_by"], |row, c| html! { (text(row.get(c))) }))
        h2 { "Installed products (" (explained.installations.len()) ")" }
        (rows_table(&explained.installations, &["vendor", "product", "version", "installed_on", "last_used", "category", "reason"], product))
    };
    page(&title, Some(&who), "/console/product-usage", body).into_response()
}

pub(super) async fn explain_product(
    State(state): State<Arc<ApiState>>,
    Operator(who): Operator,
    Path(id): Path<String>,
    Query(query): Query<ExplainQuery>,
) -> Response {
    let found = async {
        let (repository, _) = chosen_repository(&state, query.repository.as_deref()).await?;
        let id: i64 = id.parse().map_err(|_| {
            anyhow::Error::new(repo_store::StoreError::NotFound {
                what: "product",
                name: id.clone(),
                known: String::new(),
            })
        })?;
        let explained = state.store.explain_product(repository.id, id).await?;
        Ok::<_, anyhow::Error>((repository, explained))
    };
    let (repository, explained) = match found.await {
        Ok(found) => found,
        Err(e) => return failed(&who, e),
    };
    let device = |row: &Map<String, Value>, column: &str| -> Markup {
        let value = text(row.get(column));
        match (column, row.get("id").and_then(Value::as_i64)) {
            ("name", Some(device)) => html! {
                a href=(href(&format!("/console/explain/device/{device}"), &[("repository", repository.name.as_str())])) { (value) }
            },
            _ => html! { (value) },
        }
    };
    let name = ["vendor", "product", "edition", "version"]
        .iter()
        .map(|f| text(explained.product.get(*f)))
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let body = html! {
        p { "A consolidated product of '" (repository.name) "', the rule that named it, the raw titles it was made of, and why each installation has its category." }
        (fields(&explained.product))
        h2 { "Installations by category and reason" }
        (rows_table(&explained.reasons, &["category", "reason", "installations"], |row, c| html! { (text(row.get(c))) }))
        h2 { "Raw titles (" (explained.titles.len()) ")" }
        (rows_table(&explained.titles, &["connector", "name", "publisher", "version", "platform"], |row, c| html! { (text(row.get(c))) }))
        h2 { "Devices (" (explained.devices.len()) (if explained.devices.len() == 1000 { ", the first 1,000 by name" } else { "" }) ")" }
        (rows_table(&explained.devices, &["name", "primary_user", "installed_on", "last_used", "category", "reason"], device))
    };
    page(&name, Some(&who), "/console/product-usage", body).into_response()
}
