//! The process log: recovery after a crash, listing.

use std::time::Duration;

use anyhow::Result;
use chrono::Utc;
use repo_store::{ProcessFilter, ProcessRow, ProcessStatus, Store};

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
