//! `invhost execute --repository NAME --action "Sync Data - CONNECTOR" [--clean]`.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use repo_store::{ProcessRow, ProcessStatus};

use crate::ops::processes::process_view;

use crate::ops::cancel::{Cancel, StopReason};
use crate::ops::execute::{self, ExecuteRequest, Live};
use crate::ops::host::Host;
use crate::output;

/// Queue an action and run it.
#[derive(Debug, Args)]
pub struct ExecuteArgs {
    /// The repository to write into.
    #[arg(long)]
    pub repository: String,
    /// The action (see `invhost action list`), e.g. "Sync Data - Contoso".
    #[arg(long)]
    pub action: String,
    /// Clean sync (Sync Data only): on success, the connector's rows in the repository are
    /// exactly what this run read; everything else it held there is removed, whatever kinds the
    /// run completed. Other connectors' rows are untouched: to empty the whole repository, use
    /// `invhost repository clear`.
    #[arg(long)]
    pub clean: bool,
    /// Only queue it and return: a running `invhost serve` runs it. Prints
    /// the process id (`--json`: the process).
    #[arg(long)]
    pub queue: bool,
}

/// Runs `execute`. Ctrl-C or SIGTERM cancels the running process; the
/// repository keeps its previous data. Exit code 130 after Ctrl-C, 143 after SIGTERM.
pub async fn exec(args: ExecuteArgs, host: &Host, json: bool) -> Result<ExitCode> {
    let store = host.store().await?;
    let request = ExecuteRequest {
        repository: args.repository,
        action: args.action,
        clean: args.clean,
    };
    if args.queue {
        let process =
            execute::enqueue(host, &store, &request, repo_store::Trigger::Operator).await?;
        if json {
            let repositories = crate::ops::processes::repository_names(&store).await?;
            output::print_result(&process_view(&process, &repositories))?;
        } else {
            output::line(&format!(
                "Process {} '{}' queued; a running `invhost serve` runs it.",
                process.id, process.action
            ));
        }
        return Ok(ExitCode::SUCCESS);
    }
    foreground(host, &store, Work::Execute(request), json).await
}

/// What to run in the foreground.
pub enum Work {
    /// An action.
    Execute(ExecuteRequest),
    /// A schedule's chain, now.
    Schedule(String),
}

/// Runs `work` here, drawing its progress, and prints every process it
/// ran. Ctrl-C or SIGTERM cancels; the exit code is the worst status (130
/// or 143 when stopped by a signal).
pub async fn foreground(
    host: &Host,
    store: &repo_store::Store,
    work: Work,
    json: bool,
) -> Result<ExitCode> {
    let live = Live::default();
    let cancel = Arc::new(Cancel::default());
    let signals = on_signals(Arc::clone(&cancel));
    let done = Arc::new(AtomicBool::new(false));
    let drawer = tokio::spawn(draw(Arc::clone(&live), Arc::clone(&done)));
    let result = match &work {
        Work::Execute(request) => execute::execute(host, store, request, &live, &cancel).await,
        Work::Schedule(name) => {
            crate::ops::schedules::run_now(host, store, name, &live, &cancel).await
        }
    };
    done.store(true, Ordering::SeqCst);
    let _ = drawer.await;
    signals.abort();
    let processes = result?;

    if json {
        let repositories = crate::ops::processes::repository_names(store).await?;
        let views: Vec<_> = processes
            .iter()
            .map(|p| process_view(p, &repositories))
            .collect();
        output::print_result(&views)?;
    } else {
        for process in &processes {
            output::line(&summary(process));
        }
    }
    let statuses = || processes.iter().map(|p| p.status);
    let worst = if statuses().any(|s| s == ProcessStatus::Failed) {
        ProcessStatus::Failed
    } else if statuses().any(|s| s != ProcessStatus::Succeeded) {
        ProcessStatus::Cancelled
    } else {
        ProcessStatus::Succeeded
    };
    Ok(match worst {
        ProcessStatus::Succeeded => ExitCode::SUCCESS,
        ProcessStatus::Cancelled => match cancel.reason() {
            Some(reason) => ExitCode::from(reason.exit_code()),
            // Cancelled from elsewhere, or a chain stopped by a failed step.
            None => ExitCode::FAILURE,
        },
        _ => ExitCode::FAILURE,
    })
}

/// Cancels with the signal's reason when SIGINT (Ctrl-C) or SIGTERM arrives;
/// a second signal quits at once.
pub fn on_signals(cancel: Arc<Cancel>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let Some(reason) = next_signal().await else {
            return;
        };
        output::note(&format!(
            "Stopping ({}): a sync stops before it publishes and a consolidation between \
             two steps, so the repository keeps its previous data (a publication already \
             under way completes). Again to quit at once.",
            reason.describe()
        ));
        cancel.cancel(reason);
        if let Some(again) = next_signal().await {
            // The process stays `running` until the next invhost marks it failed.
            std::process::exit(i32::from(again.exit_code()));
        }
    })
}

/// The next SIGINT or SIGTERM; `None` if they cannot be listened to.
async fn next_signal() -> Option<StopReason> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).ok()?;
        let mut int = signal(SignalKind::interrupt()).ok()?;
        tokio::select! {
            _ = int.recv() => Some(StopReason::Interrupt),
            _ = term.recv() => Some(StopReason::Terminate),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.ok()?;
        Some(StopReason::Interrupt)
    }
}

/// One line per finished process.
pub fn summary(process: &ProcessRow) -> String {
    let counts: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&process.counts).unwrap_or_default();
    let counts: Vec<String> = counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let mut line = format!(
        "Process {} '{}': {}",
        process.id, process.action, process.status
    );
    if !counts.is_empty() {
        line.push_str(&format!(" ({})", counts.join(", ")));
    }
    if let Some(message) = &process.message {
        line.push_str(&format!(": {message}"));
    }
    line
}

/// A note's phase: its text with the numbers taken out, so that "Users:
/// 1200" and "Users: 1300" are one phase and "Devices: 10" another.
fn phase(note: &str) -> String {
    let mut phase = String::with_capacity(note.len());
    for c in note.chars() {
        if c.is_ascii_digit() {
            if !phase.ends_with('#') {
                phase.push('#');
            }
        } else {
            phase.push(c);
        }
    }
    phase
}

/// A phase lasting this long shows its duration on the live line.
const LONG_PHASE: Duration = Duration::from_secs(3);

/// A duration as `45s`, `2m 05s` or `1h 02m`.
fn human(duration: Duration) -> String {
    let s = duration.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// How often a status line is written when stderr is not a terminal.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// Shows progress on stderr: a live line on a terminal, plain lines
/// otherwise. A note is printed when its phase changes (a new stream, a
/// wait); the notes between only update the live line, or, off a terminal,
/// the status line written every few seconds. The line names the process
/// and what it is doing from the first frame.
pub async fn draw(live: Live, done: Arc<AtomicBool>) {
    let terminal = std::io::stderr().is_terminal();
    let bar = terminal.then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let mut last_plain = Instant::now();
    let mut last_phase = String::new();
    // When the current phase began: a long one (an export job, a
    // Retry-After of minutes) says for how long it has lasted.
    let mut phase_started = Instant::now();
    let mut latest: Option<String> = None;
    loop {
        let finished = done.load(Ordering::SeqCst);
        let (notes, line) = match live.lock() {
            Ok(mut stats) => {
                let notes = std::mem::take(&mut stats.notes);
                if let Some(note) = notes.last() {
                    latest = Some(note.clone());
                }
                let elapsed = stats.started.map(|s| s.elapsed()).unwrap_or_default();
                let rate = stats.total() as f64 / elapsed.as_secs_f64().max(0.001);
                let kinds: Vec<String> = stats
                    .records
                    .iter()
                    .map(|(k, n)| format!("{k} {n}"))
                    .collect();
                let action = stats
                    .process
                    .as_ref()
                    .map(|(_, a)| a.clone())
                    .unwrap_or_default();
                let doing = latest
                    .clone()
                    .unwrap_or_else(|| "waiting for the connector's first word".into());
                let mut line = format!("{action}: {doing}");
                let lasted = phase_started.elapsed();
                if latest.is_some() && lasted >= LONG_PHASE {
                    line.push_str(&format!(" (for {})", human(lasted)));
                }
                if !kinds.is_empty() {
                    line.push_str(&format!(" · {} · {rate:.0} records/s", kinds.join(", ")));
                }
                line.push_str(&format!(" · {}s", elapsed.as_secs()));
                (notes, line)
            }
            Err(_) => (Vec::new(), String::new()),
        };
        let mut changed = Vec::new();
        for note in notes {
            let p = phase(&note);
            if p != last_phase {
                last_phase = p;
                phase_started = Instant::now();
                changed.push(note);
            }
        }
        match &bar {
            Some(bar) => {
                for note in changed {
                    bar.println(note);
                }
                bar.set_message(line);
            }
            None => {
                for note in changed {
                    output::note(&note);
                }
                if last_plain.elapsed() >= PLAIN_EVERY && !finished {
                    output::note(&line);
                    last_plain = Instant::now();
                }
            }
        }
        if finished {
            break;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}

#[cfg(test)]
mod duration_tests {
    use super::human;
    use std::time::Duration;

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(human(Duration::from_secs(45)), "45s");
        assert_eq!(human(Duration::from_secs(125)), "2m 05s");
        assert_eq!(human(Duration::from_secs(3720)), "1h 02m");
    }
}
