//! `invhost serve`: the host as a service. A scheduler fires the schedules
//! when due, and workers claim queued processes from the repository
//! database and run them, beside any other hosts on the same database,
//! until SIGTERM or Ctrl-C.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use repo_store::Store;
use tokio::sync::Notify;

use crate::ops::cancel::{Cancel, StopReason};
use crate::ops::execute::Live;
use crate::ops::host::{Host, host_id};

/// How long an idle worker waits before it looks at the queue again (the
/// scheduler wakes this host's workers at once when it queues something).
const POLL: Duration = Duration::from_millis(200);

/// How long the scheduler sleeps at most: a schedule added or edited
/// elsewhere is seen within this.
const SCHEDULER_NAP: Duration = Duration::from_secs(1);

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
    /// Where to serve the HTTP API: HOST:PORT (default: `listen` in
    /// invhost.toml, then 127.0.0.1:8080; port 0 picks a free one), or
    /// `off`. Off loopback it needs --tls-cert and --tls-key.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// TLS certificate chain, PEM (default: `tls_cert` in invhost.toml).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// TLS private key, PEM (default: `tls_key` in invhost.toml).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
    /// Serve the API over plain HTTP off loopback anyway (tokens then cross
    /// the network in clear; a warning says so at every start).
    #[arg(long)]
    pub insecure_http: bool,
}

/// The checked `--listen`: `None` when the API is off.
fn listen(args: &ServeArgs, host: &Host) -> Result<Option<host_api::Listen>> {
    let text = args
        .listen
        .clone()
        .or_else(|| host.config.listen.clone())
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    if text == "off" {
        return Ok(None);
    }
    let address = text.parse().map_err(|_| {
        anyhow::anyhow!("--listen '{text}' is not HOST:PORT (e.g. 127.0.0.1:8080), nor off")
    })?;
    let tls = match (
        args.tls_cert
            .clone()
            .or_else(|| host.config.tls_cert.clone()),
        args.tls_key.clone().or_else(|| host.config.tls_key.clone()),
    ) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        _ => anyhow::bail!("TLS needs both a certificate and a key (tls_cert and tls_key)"),
    };
    let listen = host_api::Listen {
        address,
        tls,
        insecure_http: args.insecure_http,
    };
    listen.check()?;
    Ok(Some(listen))
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
    let listen = listen(&args, &host)?;
    let bound = match &listen {
        Some(listen) => Some(host_api::bind(listen).await?),
        None => None,
    };
    let store = host.store().await?;
    let stopping = Arc::new(Cancel::default());
    let running: Running = Arc::default();
    tracing::info!(host = %host_id(), workers = args.workers, database = %store.url(), "Serving.");
    let wake = Arc::new(Notify::new());
    let mut workers = Vec::new();
    for worker in 0..args.workers {
        workers.push(tokio::spawn(work(
            worker,
            Arc::clone(&host),
            store.clone(),
            Arc::clone(&stopping),
            Arc::clone(&running),
            Arc::clone(&wake),
        )));
    }
    let recovery = tokio::spawn(recover(Arc::clone(&host), store.clone()));
    let tick = Arc::new(AtomicI64::new(0));
    let scheduler = tokio::spawn(schedule(
        Arc::clone(&host),
        store.clone(),
        Arc::clone(&wake),
        Arc::clone(&tick),
    ));
    let api_stop = Arc::new(Notify::new());
    let api = match bound {
        Some(bound) => {
            let state = Arc::new(host_api::ApiState::new(
                Arc::clone(&host),
                store.clone(),
                Arc::clone(&tick),
                bound.is_tls(),
            ));
            tracing::info!(
                address = %bound.address,
                scheme = if bound.is_tls() { "https" } else { "http" },
                "API listening."
            );
            let stop = Arc::clone(&api_stop);
            Some(tokio::spawn(async move {
                let served =
                    host_api::serve(bound, state, async move { stop.notified().await }).await;
                if let Err(e) = served {
                    tracing::error!(error = %format!("{e:#}"), "The API stopped.");
                }
            }))
        }
        None => {
            tracing::info!("API off (--listen off).");
            None
        }
    };

    let reason = next_signal().await;
    tracing::info!(
        reason = reason.describe(),
        "Stopping: no new processes; the running ones are cancelled."
    );
    scheduler.abort();
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
    api_stop.notify_one();
    if let Some(api) = api {
        let _ = tokio::time::timeout(Duration::from_secs(5), api).await;
    }
    tracing::info!("Stopped.");
    Ok(ExitCode::SUCCESS)
}

async fn join_all(workers: Vec<tokio::task::JoinHandle<()>>) {
    for worker in workers {
        let _ = worker.await;
    }
}

/// One worker: claim, run, repeat, until the host stops.
async fn work(
    worker: u16,
    host: Arc<Host>,
    store: Store,
    stopping: Arc<Cancel>,
    running: Running,
    wake: Arc<Notify>,
) {
    let me = host_id();
    while !stopping.is_cancelled() {
        let process = match store.claim(&me, None).await {
            Ok(Some(process)) => process,
            Ok(None) => {
                tokio::select! {
                    _ = tokio::time::sleep(POLL) => {}
                    _ = wake.notified() => {}
                }
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

/// Fires the schedules when due, sleeping until the next due time (at most
/// [`SCHEDULER_NAP`]); wakes the workers when it queued something. Another
/// host may fire a due time first: it then fires here not at all.
async fn schedule(host: Arc<Host>, store: Store, wake: Arc<Notify>, tick: Arc<AtomicI64>) {
    loop {
        let now = chrono::Utc::now();
        tick.store(now.timestamp_millis(), Ordering::Relaxed);
        let nap = match crate::ops::schedules::tick(&host, &store, now).await {
            Ok(tick) => {
                for fired in &tick.fired {
                    let ids: Vec<String> =
                        fired.processes.iter().map(|p| p.id.to_string()).collect();
                    match &fired.note {
                        Some(note) => tracing::warn!(
                            schedule = %fired.schedule,
                            due = %fired.due_at.format("%Y-%m-%d %H:%M:%S UTC"),
                            processes = %ids.join(","),
                            note = %note,
                            "Schedule fired late."
                        ),
                        None => tracing::info!(
                            schedule = %fired.schedule,
                            due = %fired.due_at.format("%Y-%m-%d %H:%M:%S UTC"),
                            processes = %ids.join(","),
                            "Schedule fired."
                        ),
                    }
                }
                if tick.fired.iter().any(|f| !f.processes.is_empty()) {
                    wake.notify_waiters();
                }
                tick.next_due_at
                    .and_then(|next| (next - chrono::Utc::now()).to_std().ok())
                    .map_or(SCHEDULER_NAP, |until| until.min(SCHEDULER_NAP))
            }
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "Could not look at the schedules.");
                SCHEDULER_NAP
            }
        };
        tokio::time::sleep(nap).await;
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
