//! The process log: recovery after a crash, listing.

use std::time::Duration;

use anyhow::Result;
use chrono::Utc;
use std::collections::HashMap;

use repo_store::{ProcessFilter, ProcessRow, ProcessStatus, Store};
use serde::Serialize;

/// A running process whose host has not shown a sign of life for this long
/// is taken for dead (several hosts may share a PostgreSQL repository).
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(300);
/// How often a running process shows a sign of life.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(30);

/// Marks failed the processes left `running` or `queued` by a host that died:
/// on this machine, one whose process no longer exists; elsewhere, one
/// whose heartbeat is older than [`HEARTBEAT_TIMEOUT`].
pub async fn recover_interrupted(store: &Store) -> Result<u64> {
    let here = super::host::hostname();
    let mut failed = 0;
    for status in [ProcessStatus::Running, ProcessStatus::Queued] {
        let filter = ProcessFilter {
            status: Some(status),
            ..Default::default()
        };
        for process in store.processes(&filter).await? {
            if is_orphan(&process, &here) {
                let reason = "the host running it stopped before it finished (killed or crashed)";
                store.fail_process(process.id, reason).await?;
                tracing::warn!(process = process.id, action = %process.action, "Marked an interrupted process failed.");
                failed += 1;
            }
        }
    }
    Ok(failed)
}

fn is_orphan(process: &ProcessRow, here: &str) -> bool {
    let Some((host, pid)) = process.host.as_deref().and_then(|h| h.rsplit_once(':')) else {
        return true;
    };
    if host == here {
        return pid.parse::<u32>().is_ok_and(|pid| !pid_alive(pid));
    }
    let last = process
        .heartbeat_at
        .or(process.started_at)
        .unwrap_or(process.queued_at);
    Utc::now()
        .signed_duration_since(last)
        .to_std()
        .is_ok_and(|age| age > HEARTBEAT_TIMEOUT)
}

fn pid_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    if cfg!(target_os = "linux") {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    } else {
        // Without /proc, trust the heartbeat.
        true
    }
}

/// A process as the log and `execute` show it (stable JSON field names).
#[derive(Debug, Serialize, PartialEq)]
pub struct ProcessView {
    /// Process id.
    pub id: i64,
    /// The process that queued this one.
    pub parent_id: Option<i64>,
    /// Action name.
    pub action: String,
    /// Repository name.
    pub repository: String,
    /// `queued`, `running`, `succeeded`, `failed` or `cancelled`.
    pub status: String,
    /// Who queued it.
    pub trigger: String,
    /// A clean sync.
    pub clean: bool,
    /// When it was queued (RFC 3339).
    pub queued_at: String,
    /// When it started.
    pub started_at: Option<String>,
    /// When it finished.
    pub finished_at: Option<String>,
    /// From start to finish.
    pub duration_seconds: Option<f64>,
    /// Rows per record kind.
    pub counts: serde_json::Value,
    /// One line for the operator; the reason on failure.
    pub message: Option<String>,
}

pub fn process_view(p: &ProcessRow, repositories: &HashMap<i64, String>) -> ProcessView {
    ProcessView {
        id: p.id,
        parent_id: p.parent_id,
        action: p.action.clone(),
        repository: repositories
            .get(&p.repository_id)
            .cloned()
            .unwrap_or_default(),
        status: p.status.clone(),
        trigger: p.trigger.clone(),
        clean: p.clean,
        queued_at: p.queued_at.to_rfc3339(),
        started_at: p.started_at.map(|t| t.to_rfc3339()),
        finished_at: p.finished_at.map(|t| t.to_rfc3339()),
        duration_seconds: match (p.started_at, p.finished_at) {
            (Some(s), Some(f)) => Some((f - s).num_milliseconds() as f64 / 1000.0),
            _ => None,
        },
        counts: serde_json::from_str(&p.counts).unwrap_or_default(),
        message: p.message.clone(),
    }
}
