//! The connectors page and the Add and Edit forms generated from a type's
//! parameter schema.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use repo_store::Role;
use serde::Deserialize;

use super::{Operator, admins_only, failed, page, urlencode, utc};
use crate::ApiState;

pub(super) async fn connectors(
    State(state): State<Arc<ApiState>>,
    Operator(who): Operator,
) -> Response {
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
                th { "Name" } th { "Type" } th { "Repository type" } th { "Last tested OK (UTC)" } th { "Last test attempt (UTC)" } th { "Last sync" }
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
                            @if row.last_test_ok_at.is_some() {
                                (utc(row.last_test_ok_at.map(|t| t.to_rfc3339()).as_deref()))
                            } @else { "never" }
                        }
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
                                    label { "Action "
                                        select name="action" {
                                            @for a in host_engine::actions::connector_actions(&state.host, row) {
                                                option value=(host_engine::actions::action_name(&a, &row.name))
                                                    title=(a.description) {
                                                    (a.name)
                                                    @if a.record_mode() == connector_core::RecordMode::None { " (writes nothing)" }
                                                }
                                            }
                                        }
                                    }
                                    label { "Repository "
                                        select name="repository" {
                                            @for r in repositories.iter().filter(|r| r.repository_type == repo_store::RepositoryType::Inventory) {
                                                option value=(r.name) { (r.name) }
                                            }
                                        }
                                    }
                                    label title="Replaces everything this connector holds in the repository, once the sync succeeds (Sync Data only)." {
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
pub(super) struct NewQuery {
    #[serde(rename = "type")]
    connector_type: Option<String>,
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
                        // The browser checks a pattern it understands (its
                        // syntax is JavaScript's); the host checks them all.
                        @let pattern = field.pattern.as_ref().filter(|p| !p.regex.contains("(?"));
                        input #(id) type=(match kind { ParamKind::Url => "url", ParamKind::Email => "email", _ => "text" })
                            data-param=(field.key) data-kind="text" value=[value.as_deref()] placeholder=(default)
                            pattern=[pattern.map(|p| p.regex.as_str())]
                            title=[field.pattern.as_ref().map(|p| format!("Expected {}", p.description))]
                            required[field.required && field.default.is_none()];
                    }
                }
                @if !field.help.is_empty() { p.help { (field.help) } }
            }
        }
    }
}

pub(super) async fn connector_new(
    State(state): State<Arc<ApiState>>,
    Operator(who): Operator,
    Query(query): Query<NewQuery>,
) -> Response {
    if let Some(refused) = admins_only(&who, "Adding connectors") {
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

pub(super) async fn connector_edit(
    State(state): State<Arc<ApiState>>,
    Operator(who): Operator,
    Path(name): Path<String>,
) -> Response {
    if let Some(refused) = admins_only(&who, "Editing connectors") {
        return refused;
    }
    let loaded = async {
        let row = state.store.connector(&name).await?;
        let handle = state
            .host
            .registry()
            .require(&row.connector_type)
            .map_err(|e| anyhow::anyhow!(e))?;
        let view =
            host_engine::connectors::view(&state.host, &row, state.host.key().ok().as_ref())?;
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
