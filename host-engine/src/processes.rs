//! The process log: recording a process's end (and keeping it when the
//! database cannot take it), recovery after a crash, listing.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;
use connector_core::RecordKind;
use repo_store::{ProcessFilter, ProcessRow, ProcessStatus, Store, StoreError, Trigger};
use serde::{Deserialize, Serialize};

/// How the message of a process whose host vanished starts, as recovery
/// writes it (the host and its last heartbeat follow).
const ORPHANED: &str = "the host running it stopped before it finished (killed or crashed)";

/// Shows a sign of life of process `id` every `every` until the
/// returned guard is dropped: for the stretches where the work itself
/// cannot (a publication or a consolidation, one transaction each, perhaps
/// waiting for a lock). On PostgreSQL only: on SQLite that transaction
/// holds the only write lock, and the hosts sharing the file are on one
/// machine, where recovery asks whether the process is alive.
pub fn keep_alive(store: &Store, id: i64, every: Duration) -> KeepAlive {
    let task = (store.backend() == repo_store::Backend::Postgres).then(|| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(every);
            every.tick().await;
            loop {
                every.tick().await;
                if let Err(e) = store.heartbeat(id).await {
                    tracing::warn!(error = %e, "Could not record the process's heartbeat.");
                }
            }
        })
    });
    KeepAlive(task)
}

/// Stops the heartbeats of [`keep_alive`] when dropped.
#[derive(Debug)]
pub struct KeepAlive(Option<tokio::task::JoinHandle<()>>);

impl Drop for KeepAlive {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

/// Pauses between the attempts at recording a process's end; each attempt
/// itself waits up to SQLite's busy timeout for the write lock.
const RECORD_RETRIES: [Duration; 3] = [
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
];

/// Records a process's end. When the database will not take it (SQLite
/// locked beyond its busy timeout, PostgreSQL gone), tries again; when it
/// still cannot, keeps the end in the journal of unrecorded ends in the data
/// directory, which the next start of invhost writes to the database, so the
/// process log ends up with the real reason rather than "killed or crashed".
pub async fn record_end(
    store: &Store,
    data_dir: &Path,
    process: &ProcessRow,
    status: ProcessStatus,
    counts: &BTreeMap<RecordKind, u64>,
    message: Option<String>,
) -> Result<()> {
    let id = process.id;
    let mut last = None;
    for pause in std::iter::once(Duration::ZERO).chain(RECORD_RETRIES) {
        tokio::time::sleep(pause).await;
        match store
            .finish_process(id, status, counts, message.clone())
            .await
        {
            // Not recorded when something else ended it first: what it says stands.
            Ok(_) => return Ok(()),
            Err(e) => {
                tracing::warn!(process = id, error = %e, "Could not record the process's end.");
                last = Some(e);
            }
        }
    }
    let entry = Unrecorded {
        database: store.url().to_owned(),
        process: id,
        queued_at: process.queued_at,
        status,
        counts: counts.clone(),
        message,
        at: Utc::now(),
    };
    let path = entry.write(data_dir).with_context(|| {
        format!("process {id} ended, but neither the database nor the journal took its end")
    })?;
    let error = last.map(|e| e.to_string()).unwrap_or_default();
    anyhow::bail!(
        "cannot record the end of process {id} ({error}); it is kept in {} and recorded at the next start of invhost",
        path.display()
    )
}

/// A process's end that the database did not take, kept in the data directory.
#[derive(Debug, Serialize, Deserialize)]
struct Unrecorded {
    /// Which database (the URL without its password).
    database: String,
    process: i64,
    /// When the process was queued: with the id, tells it from a process
    /// of a database recreated since.
    queued_at: chrono::DateTime<Utc>,
    status: ProcessStatus,
    counts: BTreeMap<RecordKind, u64>,
    message: Option<String>,
    at: chrono::DateTime<Utc>,
}

impl Unrecorded {
    fn dir(data_dir: &Path) -> PathBuf {
        data_dir.join("unrecorded")
    }

    fn write(&self, data_dir: &Path) -> std::io::Result<PathBuf> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let dir = Self::dir(data_dir);
        repo_store::private_dir(&dir)?;
        let path = dir.join(format!(
            "{:016x}-{}.json",
            fnv(self.database.as_bytes()),
            self.process
        ));
        let temp = path.with_extension("tmp");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(&serde_json::to_vec(self).map_err(std::io::Error::other)?)?;
        file.sync_all()?;
        std::fs::rename(&temp, &path)?;
        Ok(path)
    }
}

/// FNV-1a, 64 bits: a stable short name for a database URL.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Writes the journal's ends of this database's processes. An end replaces
/// what the log says only while the process is still `queued` or `running`,
/// or was marked failed by recovery ("killed or crashed"): the journal holds
/// the real reason. Entries are removed once written.
pub async fn replay_unrecorded(store: &Store, data_dir: &Path) -> Result<u64> {
    let dir = Unrecorded::dir(data_dir);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(0);
    };
    let prefix = format!("{:016x}-", fnv(store.url().as_bytes()));
    let mut replayed = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(&prefix) || !name.ends_with(".json") {
            continue;
        }
        let Some(end) = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<Unrecorded>(&b).ok())
            .filter(|e| e.database == store.url())
        else {
            tracing::warn!(file = %path.display(), "Unreadable entry in the journal of unrecorded process ends; left alone.");
            continue;
        };
        match store.process(end.process).await {
            Ok(process) if (process.queued_at - end.queued_at).num_milliseconds().abs() <= 1 => {
                let recorded = store
                    .end_process(
                        end.process,
                        end.status,
                        Some(&end.counts),
                        end.message,
                        Some(ORPHANED),
                    )
                    .await?;
                if recorded {
                    tracing::info!(
                        process = end.process,
                        "Recorded a process's end kept in the journal."
                    );
                    replayed += 1;
                }
            }
            // Another process of that id (the database was recreated), or none.
            Ok(_) | Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
    }
    Ok(replayed)
}

/// What a host does when it opens the store: writes the ends the journal
/// kept, marks failed the processes of dead hosts, and drops the staging
/// tables of syncs that will never publish.
pub async fn recover(store: &Store, data_dir: &Path, timeout: Duration) -> Result<()> {
    replay_unrecorded(store, data_dir).await?;
    recover_interrupted(store, timeout).await?;
    // Staging tables are never read: one left for later costs disk, not data.
    if let Err(e) = store.drop_abandoned_stages().await {
        tracing::warn!(error = %e, "Could not drop the staging tables of interrupted syncs; a later start will.");
    }
    Ok(())
}

/// Marks failed the processes left `running` by a host that died:
/// on this machine, one whose process no longer exists; elsewhere, one
/// whose heartbeat is older than `timeout`. The message names the host and
/// its last sign of life.
pub async fn recover_interrupted(store: &Store, timeout: Duration) -> Result<u64> {
    let here = super::host::hostname();
    let mut failed = 0;
    // Queued processes wait for any host (the queue is durable); only
    // running ones belong to a host.
    let filter = ProcessFilter {
        status: Some(ProcessStatus::Running),
        ..Default::default()
    };
    for process in store.processes(&filter).await? {
        // Only while it is still open: a sync may have published and
        // ended since it was listed.
        if !is_orphan(&process, &here, timeout) {
            continue;
        }
        let last = process
            .heartbeat_at
            .or(process.started_at)
            .unwrap_or(process.queued_at);
        let reason = format!(
            "{ORPHANED}: host {}, last sign of life {}",
            process.host.as_deref().unwrap_or("unknown"),
            last.format("%Y-%m-%d %H:%M:%S UTC")
        );
        if store.fail_process(process.id, &reason).await? {
            tracing::warn!(process = process.id, action = %process.action, "Marked an interrupted process failed.");
            failed += 1;
        }
    }
    Ok(failed)
}

fn is_orphan(process: &ProcessRow, here: &str, timeout: Duration) -> bool {
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
        .is_ok_and(|age| age > timeout)
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

/// Repository names by id, for [`process_view`].
pub async fn repository_names(store: &Store) -> Result<HashMap<i64, String>> {
    Ok(store
        .repositories()
        .await?
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect())
}

/// A process as the log and `execute` show it (stable JSON field names).
#[derive(Debug, Serialize, PartialEq, utoipa::ToSchema)]
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
    #[schema(value_type = String)]
    pub status: ProcessStatus,
    /// Who queued it: `operator`, `after sync`, `schedule NAME` or `user NAME`.
    #[schema(value_type = String)]
    pub trigger: Trigger,
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
    #[schema(value_type = Object)]
    pub counts: serde_json::Value,
    /// One line for the operator; the reason on failure.
    pub message: Option<String>,
    /// While it runs: rows staged so far per kind.
    #[schema(value_type = Option<Object>)]
    pub progress: Option<serde_json::Value>,
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
        status: p.status,
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
        progress: (p.status == ProcessStatus::Running)
            .then(|| {
                p.progress
                    .as_deref()
                    .and_then(|t| serde_json::from_str(t).ok())
            })
            .flatten(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::os::unix::fs::PermissionsExt;

    use repo_store::{NewProcess, StoreOptions};
    use sea_orm::{ConnectionTrait, TransactionTrait};

    use super::*;

    async fn running_process(store: &Store) -> ProcessRow {
        let repository = store
            .repository(repo_store::DEFAULT_REPOSITORY)
            .await
            .unwrap();
        let process = store
            .queue_process(NewProcess {
                parent_id: None,
                repository_id: repository.id,
                connector_id: None,
                action: "Sync Data - Contoso".into(),
                trigger: repo_store::Trigger::Operator,
                clean: false,
                host: None,
                continue_on_failure: false,
            })
            .await
            .unwrap();
        store
            .start_process(process.id, "elsewhere:1")
            .await
            .unwrap();
        process
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_end_the_database_refuses_keeps_its_reason_until_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("repo.db").display());
        let options = StoreOptions {
            busy_timeout: Duration::from_millis(100),
        };
        let store = Store::connect_with(&url, options).await.unwrap();
        let process = running_process(&store).await;
        let id = process.id;
        let finished = running_process(&store).await;
        let done = finished.id;
        store
            .finish_process(done, ProcessStatus::Succeeded, &BTreeMap::new(), None)
            .await
            .unwrap();

        // Another writer holds SQLite's lock beyond the busy timeout, every attempt.
        let other = Store::connect(&url).await.unwrap();
        let hold = other.connection().begin().await.unwrap();
        hold.execute_unprepared("UPDATE repositories SET name = name")
            .await
            .unwrap();
        let reason = "Sign-in: cannot reach the sign-in endpoint";
        let counts = BTreeMap::from([(RecordKind::Device, 0)]);
        let error = record_end(
            &store,
            dir.path(),
            &process,
            ProcessStatus::Failed,
            &counts,
            Some(reason.into()),
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(error.contains("recorded at the next start"), "{error}");
        let mut kept: Vec<_> = std::fs::read_dir(dir.path().join("unrecorded"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(kept.len(), 1, "{kept:?}");
        let mode = std::fs::metadata(&kept[0]).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // An end kept for a process that ended anyway is dropped unused.
        Unrecorded {
            database: store.url().to_owned(),
            process: done,
            queued_at: finished.queued_at,
            status: ProcessStatus::Failed,
            counts: BTreeMap::new(),
            message: Some("stale".into()),
            at: Utc::now(),
        }
        .write(dir.path())
        .unwrap();
        hold.rollback().await.unwrap();

        // Meanwhile another host took the process's host for dead.
        store.fail_process(id, ORPHANED).await.unwrap();
        // The next start records the real reason.
        recover(&store, dir.path(), Duration::from_secs(60))
            .await
            .unwrap();
        let process = store.process(id).await.unwrap();
        assert_eq!(process.status, ProcessStatus::Failed);
        assert_eq!(process.message.as_deref(), Some(reason));
        let process = store.process(done).await.unwrap();
        assert_eq!(process.status, ProcessStatus::Succeeded);
        assert_eq!(process.message, None);
        kept = std::fs::read_dir(dir.path().join("unrecorded"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(kept.is_empty(), "{kept:?}");
    }
}
