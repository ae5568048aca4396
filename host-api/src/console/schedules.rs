//! Schedules: the list with Run now, and for admins the Add and Edit forms
//! with a live preview of the next five due times and Remove.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use host_engine::schedules::ScheduleView;
use maud::{Markup, html};
use repo_store::Role;

use super::{Operator, admins_only, failed, href, page, urlencode, utc};
use crate::ApiState;

/// Empty step selectors offered after the schedule's own steps.
const SPARE_STEPS: usize = 2;

pub(super) async fn schedules(
    State(state): State<Arc<ApiState>>,
    Operator(who): Operator,
) -> Response {
    let loaded = async {
        let rows = state.store.schedules().await?;
        let names = host_engine::processes::repository_names(&state.store).await?;
        Ok::<_, anyhow::Error>(
            rows.iter()
                .map(|row| host_engine::schedules::view(row, &names))
                .collect::<Vec<_>>(),
        )
    };
    let views = match loaded.await {
        Ok(views) => views,
        Err(e) => return failed(&who, e),
    };
    let may_run = who.caller.role >= Role::Operator;
    let may_edit = who.caller.role >= Role::Admin;
    let body = html! {
        @if may_edit { p { a.button href="/console/schedules/new" { "Add schedule" } } }
        p { "Times are UTC. Each schedule runs its actions in order; a step waits for the one before it." }
        table {
            thead { tr {
                th { "Name" } th { "Cron (UTC)" } th { "Repository" } th { "Actions, in order" }
                th { "Next due (UTC)" } th { "Last fired (UTC)" }
                @if may_run { th { span.visually-hidden { "Actions" } } }
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
                            @if let Some(id) = v.last_process_id {
                                " " a href=(format!("/console/processes#process-{id}")) { "process " (id) }
                            }
                            @if let Some(note) = &v.last_note { p.help { (note) } }
                        }
                        @if may_run {
                            td {
                                form.inline data-action="schedule-run" {
                                    input type="hidden" name="schedule" value=(v.name);
                                    button.secondary type="submit" aria-label=(format!("Run {} now", v.name)) { "Run now" }
                                }
                                @if may_edit {
                                    " " a href=(format!("/console/schedules/{}/edit", urlencode(&v.name))) aria-label=(format!("Edit {}", v.name)) { "Edit" }
                                    " "
                                    form.inline data-action="schedule-remove" data-confirm=(format!("Remove the schedule {}? What it queued stays in the process log.", v.name)) {
                                        input type="hidden" name="schedule" value=(v.name);
                                        button.secondary.danger type="submit" aria-label=(format!("Remove {}", v.name)) { "Remove" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if views.is_empty() { p { "No schedules yet." } }
    };
    page("Schedules", Some(&who), "/console/schedules", body).into_response()
}

/// The form of a new or existing schedule.
fn schedule_form(
    current: Option<&ScheduleView>,
    repositories: &[repo_store::RepositoryRow],
    actions: &[String],
) -> Markup {
    let steps = current.map(|c| c.actions.len()).unwrap_or(1) + SPARE_STEPS;
    let cron = current.map(|c| c.cron.as_str()).unwrap_or("0 2 * * *");
    html! {
        form.card.wide data-action=(if current.is_some() { "schedule-edit" } else { "schedule-add" })
            data-name=[current.map(|c| c.name.as_str())] {
            @if current.is_none() {
                div.field {
                    label for="schedule-name" { "Name *" }
                    input #schedule-name name="name" required;
                }
            }
            div.field {
                label for="schedule-cron" { "Cron expression (UTC) *" }
                input #schedule-cron name="cron" required value=(cron) aria-describedby="cron-help cron-preview" autocomplete="off" spellcheck="false";
                p.help #cron-help { "Five fields (minute hour day-of-month month day-of-week), or six with seconds first. "
                    code { "0 2 * * *" } " is every day at 02:00 UTC; " code { "30 6 * * 1-5" } " is weekdays at 06:30 UTC." }
                div #cron-preview role="status" aria-live="polite" {
                    @if let Some(c) = current {
                        @if c.upcoming.is_empty() { "Disabled: it does not fire." } @else {
                            "Next due times (UTC):"
                            ol.checks { @for due in &c.upcoming { li { (utc(Some(due))) } } }
                        }
                    }
                }
            }
            div.field {
                label for="schedule-repository" { "Repository *" }
                select #schedule-repository name="repository" {
                    @for r in repositories {
                        option value=(r.name) selected[current.is_some_and(|c| c.repository == r.name)] { (r.name) }
                    }
                }
            }
            fieldset.field {
                legend { "Actions, in order" }
                @for step in 0..steps {
                    @let chosen = current.and_then(|c| c.actions.get(step));
                    div {
                        label for=(format!("step-{step}")) { "Step " (step + 1) " " }
                        select #(format!("step-{step}")) data-step {
                            option value="" { @if step == 0 { "choose an action" } @else { "none" } }
                            @for a in actions { option value=(a) selected[chosen == Some(a)] { (a) } }
                            @if let Some(gone) = chosen.filter(|c| !actions.contains(c)) {
                                option value=(gone) selected { (gone) " (no such action now)" }
                            }
                        }
                    }
                }
                p.help { "Empty steps are left out. Save and edit again for more steps." }
            }
            div.field {
                label { input #continue-on-failure type="checkbox" checked[current.is_some_and(|c| c.continue_on_failure)]; " A failed step does not stop the rest" }
            }
            div.field {
                label { input #schedule-enabled type="checkbox" checked[current.is_none_or(|c| c.enabled)]; " Enabled" }
            }
            p { button type="submit" { (if current.is_some() { "Save" } else { "Add schedule" }) } }
        }
    }
}

async fn form_choices(
    state: &ApiState,
) -> anyhow::Result<(Vec<repo_store::RepositoryRow>, Vec<String>)> {
    let repositories: Vec<_> = state
        .store
        .repositories()
        .await?
        .into_iter()
        .filter(|r| r.repository_type == repo_store::RepositoryType::Inventory)
        .collect();
    let mut actions: Vec<String> = host_engine::actions::list(&state.host, &state.store)
        .await?
        .into_iter()
        .map(|a| a.name)
        .collect();
    actions.dedup();
    Ok((repositories, actions))
}

pub(super) async fn schedule_new(
    State(state): State<Arc<ApiState>>,
    Operator(who): Operator,
) -> Response {
    if let Some(refused) = admins_only(&who, "Adding schedules") {
        return refused;
    }
    let (repositories, actions) = match form_choices(&state).await {
        Ok(choices) => choices,
        Err(e) => return failed(&who, e),
    };
    page(
        "Add a schedule",
        Some(&who),
        "/console/schedules",
        schedule_form(None, &repositories, &actions),
    )
    .into_response()
}

pub(super) async fn schedule_edit(
    State(state): State<Arc<ApiState>>,
    Operator(who): Operator,
    Path(name): Path<String>,
) -> Response {
    if let Some(refused) = admins_only(&who, "Editing schedules") {
        return refused;
    }
    let loaded = async {
        let row = state.store.schedule(&name).await?;
        let names = host_engine::processes::repository_names(&state.store).await?;
        let (repositories, actions) = form_choices(&state).await?;
        Ok::<_, anyhow::Error>((
            host_engine::schedules::view(&row, &names),
            repositories,
            actions,
        ))
    };
    let (view, repositories, actions) = match loaded.await {
        Ok(loaded) => loaded,
        Err(e) => return failed(&who, e),
    };
    let body = html! {
        (schedule_form(Some(&view), &repositories, &actions))
        p { a href=(href("/console/processes", &[("trigger", &format!("schedule {}", view.name))])) { "What it queued" } }
    };
    page(
        &format!("Edit schedule {name}"),
        Some(&who),
        "/console/schedules",
        body,
    )
    .into_response()
}
