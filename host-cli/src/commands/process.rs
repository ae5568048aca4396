//! `invhost process cancel ID`: stop a queued or running process, whichever
//! host runs it.

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use repo_store::CancelOutcome;

use crate::ops::host::Host;
use crate::output;

/// One process of the log.
#[derive(Debug, Subcommand)]
pub enum ProcessCommand {
    /// Cancel a queued process (it never runs) or stop a running one (its
    /// host stops it before it publishes; the repository keeps its data).
    Cancel {
        /// The process id (see `invhost process-log`).
        id: i64,
    },
}

/// Runs `process`.
pub async fn exec(command: ProcessCommand, host: &Host, json: bool) -> Result<ExitCode> {
    let ProcessCommand::Cancel { id } = command;
    let store = host.store().await?;
    let reason = format!(
        "cancelled with invhost process cancel (from {})",
        crate::ops::host::host_id()
    );
    let outcome = store.request_cancel(id, &reason).await?;
    let (line, code) = match &outcome {
        CancelOutcome::Cancelled => (
            format!("Process {id} was queued: cancelled, it will not run."),
            ExitCode::SUCCESS,
        ),
        CancelOutcome::Requested => (
            format!(
                "Process {id} is running: its host stops it within a few seconds; nothing it wrote is published."
            ),
            ExitCode::SUCCESS,
        ),
        CancelOutcome::AlreadyEnded(status) => (
            format!("Process {id} has already ended ({status}); nothing to cancel."),
            ExitCode::FAILURE,
        ),
    };
    if json {
        let process = store.process(id).await?;
        output::print_result(&serde_json::json!({
            "id": id,
            "outcome": match outcome {
                CancelOutcome::Cancelled => "cancelled",
                CancelOutcome::Requested => "requested",
                CancelOutcome::AlreadyEnded(_) => "already_ended",
            },
            "status": process.status,
        }))?;
    } else {
        output::line(&line);
    }
    Ok(code)
}
