//! `invhost schedule add|list|show|edit|remove|run`: chains of actions due
//! on a cron expression (UTC), fired by `invhost serve`.

use std::process::ExitCode;

use anyhow::Result;
use clap::{ArgAction, Subcommand};

use super::execute::{Work, foreground};
use crate::ops::host::Host;
use crate::ops::processes::{process_view, repository_names};
use crate::ops::schedules::{self, ScheduleEdit, ScheduleRequest, ScheduleView};
use crate::output;

/// Schedules: chains of actions that `invhost serve` runs when due.
#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Add a schedule. Its actions run in the order given, each after the
    /// one before it ended; a failed step stops the rest unless
    /// --continue-on-failure.
    Add {
        /// Unique name; the trigger of every process it starts.
        name: String,
        /// When it is due, in UTC: "MIN HOUR DAY-OF-MONTH MONTH DAY-OF-WEEK"
        /// (e.g. "0 2 * * *", every day at 02:00), or six fields with
        /// seconds first.
        #[arg(long)]
        cron: String,
        /// The repository its actions work on.
        #[arg(long)]
        repository: String,
        /// An action (see `invhost action list`); repeat for a chain, e.g.
        /// --action "Sync Data - A" --action "Generate Report - Basic
        /// Inventory Consolidation".
        #[arg(long = "action", required = true)]
        actions: Vec<String>,
        /// Run the remaining steps after a failed one.
        #[arg(long)]
        continue_on_failure: bool,
        /// Add it disabled: it only runs with `schedule run`.
        #[arg(long)]
        disabled: bool,
    },
    /// List the schedules with their next due time.
    List,
    /// One schedule: its actions, next five due times, last firing.
    Show {
        /// Schedule name.
        name: String,
    },
    /// Change a schedule; what is not given stays.
    Edit {
        /// Schedule name.
        name: String,
        /// New cron expression (UTC); the next due time counts from now.
        #[arg(long)]
        cron: Option<String>,
        /// New repository.
        #[arg(long)]
        repository: Option<String>,
        /// New actions, replacing the list (repeat, in order).
        #[arg(long = "action")]
        actions: Vec<String>,
        /// Whether a failed step lets the rest run: true or false.
        #[arg(long, action = ArgAction::Set, value_name = "BOOL")]
        continue_on_failure: Option<bool>,
        /// Fire when due again; the next due time counts from now.
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        /// Stop firing when due (`schedule run` still runs it).
        #[arg(long)]
        disable: bool,
    },
    /// Remove a schedule; processes it queued stay in the log.
    Remove {
        /// Schedule name.
        name: String,
    },
    /// Run a schedule's actions now, in the foreground (like `execute`), or
    /// with --queue for a running `invhost serve`.
    Run {
        /// Schedule name.
        name: String,
        /// Only queue the chain and return.
        #[arg(long)]
        queue: bool,
    },
}

/// Runs a schedule command.
pub async fn exec(command: ScheduleCommand, host: &Host, json: bool) -> Result<ExitCode> {
    let store = host.store().await?;
    let repositories = repository_names(&store).await?;
    match command {
        ScheduleCommand::Add {
            name,
            cron,
            repository,
            actions,
            continue_on_failure,
            disabled,
        } => {
            let row = schedules::add(
                host,
                &store,
                ScheduleRequest {
                    name,
                    cron,
                    repository,
                    actions,
                    continue_on_failure,
                    enabled: !disabled,
                },
            )
            .await?;
            let view = schedules::view(&row, &repositories);
            if json {
                output::print_result(&view)?;
            } else {
                output::line(&format!(
                    "Schedule '{}' added: {}",
                    view.name,
                    due_line(&view)
                ));
            }
        }
        ScheduleCommand::List => {
            let views: Vec<ScheduleView> = store
                .schedules()
                .await?
                .iter()
                .map(|row| schedules::view(row, &repositories))
                .collect();
            if json {
                output::print_result(&views)?;
            } else if views.is_empty() {
                output::line("No schedules. Add one with `invhost schedule add`.");
            } else {
                let mut table = output::table([
                    "NAME",
                    "CRON (UTC)",
                    "REPOSITORY",
                    "ACTIONS",
                    "NEXT DUE (UTC)",
                    "LAST FIRED (UTC)",
                ]);
                for v in &views {
                    table.add_row([
                        v.name.clone(),
                        v.cron.clone(),
                        v.repository.clone(),
                        v.actions.join(" → "),
                        v.next_due_at
                            .as_deref()
                            .map_or_else(|| "disabled".to_owned(), output::time),
                        v.last_fired_at
                            .as_deref()
                            .map(output::time)
                            .unwrap_or_default(),
                    ]);
                }
                output::print_table(&table);
            }
        }
        ScheduleCommand::Show { name } => {
            let row = store.schedule(&name).await?;
            let view = schedules::view(&row, &repositories);
            if json {
                output::print_result(&view)?;
            } else {
                print_show(&store, &view, &repositories).await?;
            }
        }
        ScheduleCommand::Edit {
            name,
            cron,
            repository,
            actions,
            continue_on_failure,
            enable,
            disable,
        } => {
            let edit = ScheduleEdit {
                cron,
                repository,
                actions: (!actions.is_empty()).then_some(actions),
                continue_on_failure,
                enabled: match (enable, disable) {
                    (true, _) => Some(true),
                    (_, true) => Some(false),
                    _ => None,
                },
            };
            let row = schedules::edit(host, &store, &name, edit).await?;
            let view = schedules::view(&row, &repositories);
            if json {
                output::print_result(&view)?;
            } else {
                output::line(&format!(
                    "Schedule '{}' changed: {}",
                    view.name,
                    due_line(&view)
                ));
            }
        }
        ScheduleCommand::Remove { name } => {
            let row = schedules::remove(&store, &name).await?;
            if json {
                output::print_result(&schedules::view(&row, &repositories))?;
            } else {
                output::line(&format!(
                    "Schedule '{name}' removed; the processes it queued stay in the process log."
                ));
            }
        }
        ScheduleCommand::Run { name, queue: true } => {
            let queued = schedules::queue_now(host, &store, &name).await?;
            if json {
                let views: Vec<_> = queued
                    .iter()
                    .map(|p| process_view(p, &repositories))
                    .collect();
                output::print_result(&views)?;
            } else {
                let ids: Vec<String> = queued.iter().map(|p| p.id.to_string()).collect();
                output::line(&format!(
                    "Schedule '{name}' queued as process{} {}; a running `invhost serve` runs {}.",
                    if ids.len() == 1 { "" } else { "es" },
                    ids.join(" → "),
                    if ids.len() == 1 {
                        "it"
                    } else {
                        "them in order"
                    }
                ));
            }
        }
        ScheduleCommand::Run { name, queue: false } => {
            return foreground(host, &store, Work::Schedule(name), json).await;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// "runs A → B every …; next due …".
fn due_line(view: &ScheduleView) -> String {
    let when = match &view.next_due_at {
        Some(next) => format!("next due {} UTC", output::time(next)),
        None => "disabled (runs only with `invhost schedule run`)".to_owned(),
    };
    format!(
        "{} on '{}', cron \"{}\" (UTC); {when}.",
        view.actions.join(" → "),
        view.repository,
        view.cron
    )
}

async fn print_show(
    store: &repo_store::Store,
    view: &ScheduleView,
    repositories: &std::collections::HashMap<i64, String>,
) -> Result<()> {
    let mut lines = vec![
        format!("Schedule:            {}", view.name),
        format!("Cron (UTC):          {}", view.cron),
        format!("Repository:          {}", view.repository),
        format!(
            "On a failed step:    {}",
            if view.continue_on_failure {
                "run the remaining steps"
            } else {
                "stop; the remaining steps are cancelled"
            }
        ),
        format!(
            "Enabled:             {}",
            if view.enabled { "yes" } else { "no" }
        ),
        "Actions, in order:".to_owned(),
    ];
    for (i, action) in view.actions.iter().enumerate() {
        lines.push(format!("  {}. {action}", i + 1));
    }
    if view.upcoming.is_empty() {
        lines.push("Next due (UTC):      none while disabled".to_owned());
    } else {
        lines.push("Next due (UTC):".to_owned());
        for due in &view.upcoming {
            lines.push(format!("  {}", output::time(due)));
        }
    }
    lines.push(format!(
        "Last fired (UTC):    {}",
        match (&view.last_fired_at, &view.last_due_at) {
            (Some(fired), Some(due)) => format!(
                "{} (due {}); {} due time{} fired in all",
                output::time(fired),
                output::time(due),
                view.fired,
                if view.fired == 1 { "" } else { "s" }
            ),
            _ => "never".to_owned(),
        }
    ));
    if let Some(note) = &view.last_note {
        lines.push(format!("Note:                {note}"));
    }
    if let Some(first) = view.last_process_id {
        // The last chain it queued: the first step and the steps after it.
        let mut chain = Vec::new();
        let mut next = Some(first);
        while let Some(id) = next.take() {
            let Ok(process) = store.process(id).await else {
                break;
            };
            chain.push(process_view(&process, repositories));
            next = store
                .processes(&repo_store::ProcessFilter {
                    parent_id: Some(id),
                    ..Default::default()
                })
                .await?
                .into_iter()
                .filter(|p| p.trigger == repo_store::Trigger::Schedule(view.name.clone()))
                .map(|p| p.id)
                .min();
        }
        lines.push("Last run:".to_owned());
        for p in chain {
            lines.push(format!(
                "  process {} '{}': {}{}",
                p.id,
                p.action,
                p.status,
                p.message.map(|m| format!(" - {m}")).unwrap_or_default()
            ));
        }
    }
    for line in lines {
        output::line(&line);
    }
    Ok(())
}
