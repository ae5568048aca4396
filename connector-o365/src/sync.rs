//! A Sync Data run: every selected stream at once (within the concurrency
//! bound), records handed to the host as pages arrive.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use connector_core::{ConnectorError, Progress, RecordKind, RunContext, RunSummary};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::http::Graph;
use crate::settings::{Settings, Stream};
use crate::streams::{self, Emitter, Msg, Outcome, StreamError, users::SkuCounts};

/// Records in flight between the streams and the host, at most.
const CHANNEL: usize = 2_048;

/// Runs Sync Data.
///
/// The streams run on the connector's own runtime; the calling thread only
/// hands their records to the host. The host's callbacks are never called
/// from inside the runtime, so a host built on the same async runtime (a
/// built-in connector shares the host's copy of tokio) may block in them.
pub fn run(settings: Settings, ctx: &mut RunContext<'_>) -> Result<RunSummary, ConnectorError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("invhost-o365")
        .build()
        .map_err(|e| {
            ConnectorError::failed(format!("cannot start the connector's runtime: {e}"))
        })?;
    let (tx, mut rx) = mpsc::channel::<Msg>(CHANNEL);
    let cancel = Arc::new(AtomicBool::new(false));
    let driver = runtime.spawn(sync(settings, tx, Arc::clone(&cancel)));
    let mut stopped = None;
    loop {
        if ctx.is_cancelled() {
            stopped = Some(ConnectorError::cancelled());
            break;
        }
        let next = runtime
            .block_on(async { tokio::time::timeout(Duration::from_millis(200), rx.recv()).await });
        let handed = match next {
            Err(_) => continue,
            Ok(None) => break,
            Ok(Some(Msg::Record(record))) => ctx.emit(*record),
            Ok(Some(Msg::Complete(kind))) => ctx.complete(kind),
            Ok(Some(Msg::Progress(text))) => {
                ctx.progress(Progress::message(text));
                Ok(())
            }
            Ok(Some(Msg::Warning(text))) => {
                ctx.warn(text);
                Ok(())
            }
        };
        if let Err(e) = handed {
            stopped = Some(e);
            break;
        }
    }
    if let Some(error) = stopped {
        cancel.store(true, Ordering::SeqCst);
        drop(rx);
        driver.abort();
        runtime.shutdown_timeout(Duration::from_secs(5));
        return Err(error);
    }
    let result = runtime
        .block_on(driver)
        .map_err(|e| ConnectorError::failed(format!("the sync crashed: {e}")))?;
    runtime.shutdown_timeout(Duration::from_secs(5));
    let (requests, throttled, tenant) = result?;
    let mut summary = ctx.summary();
    summary.message = format!(
        "Read {} records with {requests} Graph requests{}.",
        summary.total(),
        match throttled {
            0 => String::new(),
            1 => " (1 throttled)".to_owned(),
            n => format!(" ({n} throttled)"),
        }
    );
    summary.counters.insert("graph_requests".into(), requests);
    summary.counters.insert("graph_throttled".into(), throttled);
    summary.tenant = Some(tenant);
    Ok(summary)
}

/// The run on the runtime: every selected stream, records forwarded to `out`
/// in order, each kind's completion after its last record. Returns the
/// number of Graph requests and of throttled answers, and the tenant's id.
async fn sync(
    settings: Settings,
    out: mpsc::Sender<Msg>,
    cancel: Arc<AtomicBool>,
) -> Result<(u64, u64, String), ConnectorError> {
    let graph = Arc::new(Graph::new(&settings).map_err(ConnectorError::failed)?);
    let forward = |message: Msg| {
        let out = out.clone();
        async move {
            out.send(message)
                .await
                .map_err(|_| ConnectorError::cancelled())
        }
    };
    forward(Msg::Progress("Signing in to Microsoft Graph".into())).await?;
    graph
        .sign_in()
        .await
        .map_err(|e| ConnectorError::failed(e.to_string()))?;

    let (tx, mut rx) = mpsc::channel::<Msg>(CHANNEL);
    let emitter = Emitter::new(tx);
    let counts: SkuCounts = Arc::default();
    // Whether the users stream read every user (None while it runs).
    let (users_done_tx, users_done_rx) = watch::channel(None::<bool>);
    let mut tasks: JoinSet<(Stream, Result<Outcome, StreamError>)> = JoinSet::new();
    // How many selected streams still have to finish for each kind to be complete.
    let mut pending: BTreeMap<RecordKind, usize> = BTreeMap::new();
    let mut incomplete: BTreeSet<RecordKind> = BTreeSet::new();
    for stream in settings.streams.clone() {
        for kind in streams::kinds(stream) {
            *pending.entry(*kind).or_default() += 1;
        }
        let (graph, em, settings) = (Arc::clone(&graph), emitter.clone(), settings.clone());
        let counts = Arc::clone(&counts);
        let users_done = settings.wants(Stream::Users).then(|| users_done_rx.clone());
        let users_done_tx = users_done_tx.clone();
        tasks.spawn(async move {
            let outcome = match stream {
                Stream::Users => {
                    let outcome = streams::users::read(&graph, &em, &counts).await;
                    let _ = users_done_tx.send(Some(matches!(outcome, Ok(Outcome::Complete))));
                    outcome
                }
                Stream::Licences => streams::licences::read(&graph, &em, &counts, users_done).await,
                Stream::EntraDevices => streams::devices::entra(&graph, &em).await,
                Stream::ManagedDevices => streams::devices::intune(&graph, &em).await,
                Stream::Applications => streams::applications::read(&graph, &em).await,
                Stream::AppUsage => streams::reports::app_usage(&graph, &em, &settings).await,
                Stream::Activations => streams::reports::activations(&graph, &em).await,
                Stream::ActiveUsers => streams::reports::active_users(&graph, &em, &settings).await,
            };
            (stream, outcome)
        });
    }
    drop(emitter);
    drop(users_done_tx);

    let mut failure: Option<String> = None;
    let mut channel_open = true;
    while channel_open || !tasks.is_empty() {
        if cancel.load(Ordering::SeqCst) {
            tasks.abort_all();
            return Err(ConnectorError::cancelled());
        }
        tokio::select! {
            message = rx.recv(), if channel_open => match message {
                Some(message) => {
                    if let Err(e) = forward(message).await {
                        tasks.abort_all();
                        return Err(e);
                    }
                }
                None => channel_open = false,
            },
            Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                let (stream, outcome) = match joined {
                    Ok(done) => done,
                    Err(e) if e.is_cancelled() => continue,
                    Err(e) => {
                        failure.get_or_insert(format!("a stream crashed: {e}"));
                        tasks.abort_all();
                        continue;
                    }
                };
                match outcome {
                    Ok(Outcome::Complete) => {
                        for kind in streams::kinds(stream) {
                            let left = pending.entry(*kind).or_default();
                            *left = left.saturating_sub(1);
                            if *left == 0 && !incomplete.contains(kind) && failure.is_none() {
                                // The stream's records were all sent before it returned.
                                while let Ok(message) = rx.try_recv() {
                                    forward(message).await?;
                                }
                                forward(Msg::Complete(*kind)).await?;
                            }
                        }
                    }
                    Ok(Outcome::Skipped | Outcome::Partial) => incomplete.extend(streams::kinds(stream)),
                    Err(StreamError::Stopped) => {}
                    Err(StreamError::Graph(e)) => {
                        failure.get_or_insert(format!("{}: {e}", stream.name()));
                        tasks.abort_all();
                    }
                    Err(StreamError::Other(e)) => {
                        failure.get_or_insert(format!("{}: {e}", stream.name()));
                        tasks.abort_all();
                    }
                }
            },
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
    if let Some(failure) = failure {
        return Err(ConnectorError::failed(failure));
    }
    Ok((graph.requests(), graph.throttled(), graph.tenant_id().await))
}
