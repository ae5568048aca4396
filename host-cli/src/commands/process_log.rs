//! `invhost process-log [--repository NAME] [--status S] [--trigger T] [--limit N] [--follow]`.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Result, anyhow};
use clap::Args;
use repo_store::{ProcessFilter, ProcessStatus, Trigger};

use crate::ops::processes::{ProcessView, process_view};

use crate::ops::host::Host;
use crate::output;

/// The process log.
#[derive(Debug, Args)]
pub struct ProcessLogArgs {
    /// Only this repository.
    #[arg(long)]
    pub repository: Option<String>,
    /// Only this status: queued, running, succeeded, failed, cancelled.
    #[arg(long, value_parser = |s: &str| s.parse::<ProcessStatus>())]
    pub status: Option<ProcessStatus>,
    /// Only processes queued this way: operator, "after sync", or
    /// "schedule NAME".
    #[arg(long, value_parser = |s: &str| s.parse::<Trigger>())]
    pub trigger: Option<Trigger>,
    /// Newest first, at most this many.
    #[arg(long, default_value_t = 20)]
    pub limit: u64,
    /// Keep watching and print processes as they change (Ctrl-C ends).
    #[arg(long)]
    pub follow: bool,
}

/// Runs `process-log`.
pub async fn exec(args: ProcessLogArgs, host: &Host, json: bool) -> Result<ExitCode> {
    let store = host.store().await?;
    let repositories = crate::ops::processes::repository_names(&store).await?;
    let repository_id = match &args.repository {
        Some(name) => Some(store.repository(name).await?.id),
        None => None,
    };
    let filter = ProcessFilter {
        repository_id,
        status: args.status,
        trigger: args.trigger.clone(),
        limit: Some(args.limit),
        ..Default::default()
    };
    let entries: Vec<ProcessView> = store
        .processes(&filter)
        .await?
        .iter()
        .map(|p| process_view(p, &repositories))
        .collect();
    if json && !args.follow {
        output::print_result(&entries)?;
        return Ok(ExitCode::SUCCESS);
    }
    if !json {
        print_table(&entries);
    }
    if !args.follow {
        return Ok(ExitCode::SUCCESS);
    }
    // Follow: print each process again whenever it changes.
    let mut seen: HashMap<i64, ProcessView> = entries.into_iter().map(|e| (e.id, e)).collect();
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        let mut changed: Vec<ProcessView> = Vec::new();
        for process in store
            .processes(&filter)
            .await
            .map_err(|e| anyhow!(e))?
            .iter()
            .rev()
        {
            let e = process_view(process, &repositories);
            if seen.get(&e.id) != Some(&e) {
                seen.insert(e.id, process_view(process, &repositories));
                changed.push(e);
            }
        }
        for e in changed {
            if json {
                output::line(&serde_json::to_string(&e)?);
            } else {
                output::line(&line(&e));
            }
        }
    }
}

fn counts_text(counts: &serde_json::Value) -> String {
    counts
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

fn line(e: &ProcessView) -> String {
    format!(
        "{} {} [{}] {} {}{}",
        e.id,
        e.status,
        e.repository,
        e.action,
        counts_text(&e.counts),
        e.message
            .as_deref()
            .map(|m| format!(" - {m}"))
            .unwrap_or_default()
    )
}

fn print_table(entries: &[ProcessView]) {
    let mut table = output::table([
        "ID",
        "ACTION",
        "REPOSITORY",
        "STATUS",
        "TRIGGER",
        "PARENT",
        "QUEUED (UTC)",
        "STARTED (UTC)",
        "FINISHED (UTC)",
        "DURATION",
        "COUNTS",
        "MESSAGE",
    ]);
    for e in entries {
        table.add_row([
            e.id.to_string(),
            e.action.clone(),
            e.repository.clone(),
            e.status.to_string(),
            e.trigger.to_string(),
            e.parent_id.map(|p| p.to_string()).unwrap_or_default(),
            output::time(&e.queued_at),
            e.started_at
                .as_deref()
                .map(output::time)
                .unwrap_or_default(),
            e.finished_at
                .as_deref()
                .map(output::time)
                .unwrap_or_default(),
            e.duration_seconds
                .map(|d| format!("{d:.1}s"))
                .unwrap_or_default(),
            counts_text(&e.counts),
            e.message.clone().unwrap_or_default(),
        ]);
    }
    output::print_table_hiding(
        &table,
        &[
            "PARENT",
            "TRIGGER",
            "QUEUED (UTC)",
            "STARTED (UTC)",
            "COUNTS",
            "REPOSITORY",
        ],
    );
}
