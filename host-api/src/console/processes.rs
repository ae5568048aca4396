//! The process log: filtered on the server, updated live through the API's
//! event stream with the same filter, running processes ticking their
//! elapsed time.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use host_engine::processes::ProcessView;
use maud::{Markup, html};
use repo_store::{ProcessFilter, ProcessStatus, Role, StoreError, Trigger};
use serde::Deserialize;

use super::{Operator, failed, href, page};
use crate::ApiState;

/// The filters of the process log; empty means any.
#[derive(Debug, Default, Deserialize)]
pub(super) struct LogQuery {
    #[serde(default)]
    repository: String,
    #[serde(default)]
    connector: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    trigger: String,
}

impl LogQuery {
    fn params(&self) -> [(&'static str, &str); 4] {
        [
            ("repository", self.repository.as_str()),
            ("connector", self.connector.as_str()),
            ("status", self.status.as_str()),
            ("trigger", self.trigger.as_str()),
        ]
    }
}

fn process_cells(p: &ProcessView, may_cancel: bool, shown: &dyn Fn(i64) -> bool) -> Markup {
    let source = if p.status == ProcessStatus::Running {
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
        td data-field="parent" {
            @if let Some(parent) = p.parent_id {
                @if shown(parent) {
                    a href=(format!("#process-{parent}")) title="The process that queued this one" { "after " (parent) }
                } @else { "after " (parent) }
            }
        }
        td data-field="queued" { (p.queued_at.replace('T', " ").chars().take(19).collect::<String>()) }
        td data-field="duration" {
            @match (p.duration_seconds, p.status) {
                (Some(d), _) => (format!("{d:.1} s")),
                (None, ProcessStatus::Running) => "running",
                _ => "",
            }
        }
        td data-field="counts" { (counts) }
        td data-field="message" class="message" { (p.message.clone().unwrap_or_default()) }
        @if may_cancel {
            td {
                form.inline data-action="cancel" hidden[!open] {
                    input type="hidden" name="id" value=(p.id);
                    button.secondary type="submit" aria-label=(format!("Cancel process {}", p.id)) { "Cancel" }
                }
            }
        }
    }
}

fn process_row(p: &ProcessView, may_cancel: bool, shown: &dyn Fn(i64) -> bool) -> Markup {
    html! {
        tr id=(format!("process-{}", p.id)) data-id=(p.id) data-status=(p.status)
            data-started=[p.started_at.as_deref()] class=[p.parent_id.map(|_| "child")] {
            (process_cells(p, may_cancel, shown))
        }
    }
}

pub(super) async fn processes(
    State(state): State<Arc<ApiState>>,
    Operator(who): Operator,
    Query(query): Query<LogQuery>,
) -> Response {
    let loaded = async {
        let store = &state.store;
        let repositories = store.repositories().await?;
        let connectors = store.connectors().await?;
        let schedules = store.schedules().await?;
        let named = |v: &str| Some(v.trim()).filter(|v| !v.is_empty()).map(str::to_owned);
        let filter = ProcessFilter {
            repository_id: match named(&query.repository) {
                Some(name) => Some(store.repository(&name).await?.id),
                None => None,
            },
            connector_id: match named(&query.connector) {
                Some(name) => Some(store.connector(&name).await?.id),
                None => None,
            },
            status: named(&query.status)
                .map(|s| s.parse::<ProcessStatus>())
                .transpose()
                .map_err(StoreError::Refused)?,
            trigger: named(&query.trigger)
                .map(|t| t.parse::<Trigger>())
                .transpose()
                .map_err(StoreError::Refused)?,
            limit: Some(100),
            ..Default::default()
        };
        let names = host_engine::processes::repository_names(store).await?;
        let rows: Vec<ProcessView> = store
            .processes(&filter)
            .await?
            .iter()
            .map(|p| host_engine::processes::process_view(p, &names))
            .collect();
        Ok::<_, anyhow::Error>((repositories, connectors, schedules, rows))
    };
    let (repositories, connectors, schedules, views) = match loaded.await {
        Ok(loaded) => loaded,
        Err(e) => return failed(&who, e),
    };
    let may_cancel = who.caller.role >= Role::Operator;
    let empty = ProcessView {
        id: 0,
        parent_id: None,
        action: String::new(),
        repository: String::new(),
        status: ProcessStatus::Queued,
        trigger: Trigger::Operator,
        clean: false,
        queued_at: String::new(),
        started_at: None,
        finished_at: None,
        duration_seconds: None,
        counts: serde_json::json!({}),
        message: None,
        progress: None,
    };
    let mut triggers = vec!["operator".to_owned(), "after sync".to_owned()];
    triggers.extend(
        schedules
            .iter()
            .map(|s| Trigger::Schedule(s.name.clone()).to_string()),
    );
    if !query.trigger.is_empty() && !triggers.contains(&query.trigger) {
        triggers.push(query.trigger.clone());
    }
    let choice = |name: &str, label: &str, current: &str, options: Vec<String>| {
        html! {
            label { (label) " "
                select name=(name) {
                    option value="" { "any" }
                    @for o in &options { option value=(o) selected[o == current] { (o) } }
                }
            }
        }
    };
    let filtered = query.params().iter().any(|(_, v)| !v.is_empty());
    let ids: std::collections::HashSet<i64> = views.iter().map(|p| p.id).collect();
    let shown = |id: i64| ids.contains(&id);
    // The stream follows the open processes shown from its first look:
    // one that ends before it starts still updates its row.
    let open: Vec<String> = views
        .iter()
        .filter(|p| !p.status.is_ended())
        .map(|p| p.id.to_string())
        .collect();
    let mut params = query.params().to_vec();
    let open = open.join(",");
    params.push(("follow", &open));
    let stream = href("/api/v1/processes/events", &params);
    let body = html! {
        form.inline.filters method="get" action="/console/processes" aria-label="Filter the process log" {
            (choice("repository", "Repository", &query.repository, repositories.iter().map(|r| r.name.clone()).collect()))
            (choice("connector", "Connector", &query.connector, connectors.iter().map(|c| c.name.clone()).collect()))
            (choice("status", "Status", &query.status, ProcessStatus::ALL.iter().map(|s| s.to_string()).collect()))
            (choice("trigger", "Trigger", &query.trigger, triggers))
            button type="submit" { "Filter" }
            @if filtered { a href="/console/processes" { "Show all" } }
        }
        p { "Newest first, at most 100; it updates by itself. A consolidation queued by a sync says "
            em { "after N" } " with the sync's id. Times are UTC." }
        table data-live-log data-events=(stream) {
            thead { tr {
                th { "Id" } th { "Action" } th { "Repository" } th { "Status" } th { "Trigger" }
                th { "Queued by" } th { "Queued (UTC)" } th { "Elapsed" } th { "Records" } th { "Message" }
                @if may_cancel { th { span.visually-hidden { "Cancel" } } }
            } }
            tbody {
                @for p in &views { (process_row(p, may_cancel, &shown)) }
            }
        }
        @if views.is_empty() { p.empty { "No process matches." } }
        template #process-row { (process_row(&empty, may_cancel, &|_| false)) }
    };
    page("Process log", Some(&who), "/console/processes", body).into_response()
}
