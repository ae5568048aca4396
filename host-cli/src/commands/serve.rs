//! `invhost serve`: the host as a service. Workers claim queued processes
//! from the repository database and run them, beside any other hosts on the
//! same database, until SIGTERM or Ctrl-C.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use repo_store::Store;

use crate::ops::cancel::{Cancel, StopReason};
use crate::ops::execute::Live;
use crate::ops::host::{Host, host_id};

/// How long an idle worker waits before it looks at the queue again.
const POLL: Duration = Duration::from_millis(200);

/// Run as a service: claim and run queued processes.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Processes run at once on this host.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub workers: u16,
    /// Seconds to wait, after SIGTERM or Ctrl-C, for running processes to stop.
    #[arg(long, default_value_t = 30)]
    pub grace: u64,
    /// How log lines are written on stderr: `text`, or `json` (one object
    /// per line, for log shippers).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The processes this host runs, and how to stop each.
type Running = Arc<Mutex<HashMap<i64, Arc<Cancel>>>>;

/// Runs `serve`.
pub async fn exec(args: ServeArgs, host: Arc<Host>) -> Result<ExitCode> {
    let store = host.store().await?;
    let stopping = Arc::new(Cancel::default());
    let running: Running = Arc::default();
    tracing::info!(host = %host_id(), workers = args.workers, database = %store.url(), "Serving.");
    let mut workers = Vec::new();
    for worker in 0..args.workers {
        workers.push(tokio::spawn(work(
            worker,
            Arc::clone(&host),
            store.clone(),
            Arc::clone(&stopping),
            Arc::clone(&running),
        )));
    }
    let recovery = tokio::spawn(recover(Arc::clone(&host), store.clone()));

    let reason = next_signal().await;
    tracing::info!(
        reason = reason.describe(),
        "Stopping: no new processes; the running ones are cancelled."
    );
    stopping.cancel(StopReason::Shutdown);
    if let Ok(running) = running.lock() {
        for cancel in running.values() {
            cancel.cancel(StopReason::Shutdown);
        }
    }
    let all = join_all(workers);
    if tokio::time::timeout(Duration::from_secs(args.grace), all)
        .await
        .is_err()
    {
        tracing::warn!(
            grace = args.grace,
            "Processes still running after the grace period; the next start marks them failed."
        );
    }
    recovery.abort();
    tracing::info!("Stopped.");
    Ok(ExitCode::SUCCESS)
}

async fn join_all(workers: Vec<tokio::task::JoinHandle<()>>) {
    for worker in workers {
        let _ = worker.await;
    }
}

/// One worker: claim, run, repeat, until the host stops.
async fn work(worker: u16, host: Arc<Host>, store: Store, stopping: Arc<Cancel>, running: Running) {
    let me = host_id();
    while !stopping.is_cancelled() {
        let process = match store.claim(&me, None).await {
            Ok(Some(process)) => process,
            Ok(None) => {
                tokio::time::sleep(POLL).await;
                continue;
            }
            Err(e) => {
                tracing::warn!(worker, error = %e, "Could not claim a process.");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let cancel = Arc::new(Cancel::default());
        if let Ok(mut running) = running.lock() {
            running.insert(process.id, Arc::clone(&cancel));
        }
        if stopping.is_cancelled() {
            cancel.cancel(StopReason::Shutdown);
        }
        let id = process.id;
        let live = Live::default();
        match crate::ops::runner::run_claimed(&host, &store, process, &live, &cancel).await {
            Ok(ran) => tracing::info!(
                worker,
                process = id,
                status = %ran.finished.status,
                message = ran.finished.message.as_deref().unwrap_or(""),
                "Process ended."
            ),
            Err(e) => {
                tracing::error!(worker, process = id, error = %format!("{e:#}"), "Process could not run.")
            }
        }
        if let Ok(mut running) = running.lock() {
            running.remove(&id);
        }
    }
}

/// Marks failed, every few seconds, the processes of hosts that died.
async fn recover(host: Arc<Host>, store: Store) {
    let every = host.config.heartbeat_every().min(Duration::from_secs(5));
    loop {
        tokio::time::sleep(every).await;
        if let Err(e) = crate::ops::processes::recover(
            &store,
            &host.config.data_dir,
            host.config.heartbeat_timeout,
        )
        .await
        {
            tracing::warn!(error = %format!("{e:#}"), "Could not check for interrupted processes.");
        }
    }
}

/// The first SIGTERM or SIGINT.
async fn next_signal() -> StopReason {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => tokio::select! {
                _ = int.recv() => StopReason::Interrupt,
                _ = term.recv() => StopReason::Terminate,
            },
            _ => std::future::pending().await,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        StopReason::Interrupt
    }
}
