//! The durable queue: hosts claim queued processes atomically, and any host
//! can ask a process to stop.
//!
//! A process is claimed by exactly one host, ever: the claim is one
//! `UPDATE … WHERE id = (SELECT …)` that only a `queued` row satisfies,
//! serialised between hosts (a transaction-scoped advisory lock on
//! PostgreSQL; SQLite's write lock, which a writing statement takes before
//! it reads). It picks the oldest queued process that may run now: at most
//! one process per connector runs at a time, and one consolidation per
//! repository; a process never overtakes an older queued one of the same
//! connector (or the same repository's consolidation).

use chrono::Utc;
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait, Value};

use crate::connect::{Backend, Store};
use crate::entities::process;
use crate::error::StoreError;
use crate::values::ProcessStatus;

/// Key of the PostgreSQL advisory lock that serialises claims ("claim").
const CLAIM_LOCK: i64 = 0x0063_6C61_696D_0000;

/// What asking a process to stop did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelOutcome {
    /// It was queued: it is cancelled and will never run.
    Cancelled,
    /// It is running: its host stops it at the next batch (or step).
    Requested,
    /// It had already ended, with this status.
    AlreadyEnded(ProcessStatus),
}

/// Two processes compete for the same slot: the same connector, or (for
/// connector-less ones, the consolidations) the same repository.
const SAME_SLOT: &str = "((p.connector_id IS NOT NULL AND o.connector_id = p.connector_id) \
     OR (p.connector_id IS NULL AND o.connector_id IS NULL AND o.repository_id = p.repository_id))";

/// A process with a parent (the step before it in a chain, or the sync
/// that queued a consolidation) runs once the parent ended: after a success,
/// or after any end when it continues on failure.
const PARENT_ENDED: &str = "(p.parent_id IS NULL OR EXISTS (SELECT 1 FROM processes w \
     WHERE w.id = p.parent_id AND (w.status = 'succeeded' \
     OR (p.continue_on_failure AND w.status IN ('failed', 'cancelled')))))";

impl Store {
    /// Cancels the queued steps whose parent ended without success and
    /// that do not continue on failure, and theirs in turn; returns how
    /// many. Called whenever a process ends otherwise than succeeded.
    pub async fn cancel_stranded(&self) -> Result<u64, StoreError> {
        let mut cancelled = 0;
        loop {
            let sql = format!(
                "UPDATE processes SET status = 'cancelled', finished_at = {now}, \
                 message = 'not run: the step before it (process ' || parent_id || ') did not succeed, \
                 and this chain stops at a failed step' \
                 WHERE status = 'queued' AND parent_id IS NOT NULL AND NOT continue_on_failure \
                 AND parent_id IN (SELECT w.id FROM processes w WHERE w.status IN ('failed', 'cancelled'))",
                now = match self.backend() {
                    Backend::Postgres => "$1",
                    Backend::Sqlite => "?1",
                }
            );
            let done = self
                .db
                .execute(Statement::from_sql_and_values(
                    self.db_backend(),
                    sql,
                    [Utc::now().into()],
                ))
                .await?
                .rows_affected();
            if done == 0 {
                return Ok(cancelled);
            }
            cancelled += done;
        }
    }

    /// Queues again the steps after `id` (and theirs) that
    /// [`Store::cancel_stranded`] cancelled: `id`'s failure was replaced by
    /// its real end, a success.
    pub async fn requeue_stranded(&self, id: i64) -> Result<u64, StoreError> {
        let mut parents = vec![id];
        let mut requeued = 0;
        while let Some(parent) = parents.pop() {
            let sql = match self.backend() {
                Backend::Postgres => {
                    "UPDATE processes SET status = 'queued', finished_at = NULL, message = NULL \
                     WHERE parent_id = $1 AND status = 'cancelled' AND started_at IS NULL \
                     AND message LIKE 'not run: the step before it%' RETURNING id"
                }
                Backend::Sqlite => {
                    "UPDATE processes SET status = 'queued', finished_at = NULL, message = NULL \
                     WHERE parent_id = ? AND status = 'cancelled' AND started_at IS NULL \
                     AND message LIKE 'not run: the step before it%' RETURNING id"
                }
            };
            let rows = self
                .db
                .query_all(Statement::from_sql_and_values(
                    self.db_backend(),
                    sql,
                    [parent.into()],
                ))
                .await?;
            for row in rows {
                parents.push(row.try_get("", "id")?);
                requeued += 1;
            }
        }
        Ok(requeued)
    }

    /// Claims for `host` the oldest queued process that may run now, or,
    /// with `only`, that one process if it may; it is then `running` on
    /// `host`. `None` when nothing (or not `only`) may run yet.
    pub async fn claim(
        &self,
        host: &str,
        only: Option<i64>,
    ) -> Result<Option<process::Model>, StoreError> {
        let only_clause = only.map_or(String::new(), |id| format!(" AND p.id = {id}"));
        let condition = format!(
            "p.status = 'queued'{only_clause} \
             AND NOT EXISTS (SELECT 1 FROM processes o WHERE o.status = 'running' AND {SAME_SLOT}) \
             AND NOT EXISTS (SELECT 1 FROM processes o WHERE o.status = 'queued' AND o.id < p.id AND {SAME_SLOT}) \
             AND {PARENT_ENDED}"
        );
        // Look before taking any lock: hosts poll, and on SQLite a claim is
        // a write transaction that would contend with the syncs for nothing.
        let claimable = self
            .db
            .query_one(Statement::from_string(
                self.db_backend(),
                format!("SELECT p.id FROM processes p WHERE {condition} LIMIT 1"),
            ))
            .await?;
        if claimable.is_none() {
            return Ok(None);
        }
        let txn = self.db.begin().await?;
        let (backend, sql) = match self.backend() {
            Backend::Postgres => {
                txn.execute(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT pg_advisory_xact_lock($1)",
                    [CLAIM_LOCK.into()],
                ))
                .await?;
                (
                    DbBackend::Postgres,
                    format!(
                        "UPDATE processes SET status = 'running', started_at = $1, heartbeat_at = $1, \
                         host = $2 WHERE id = (SELECT p.id FROM processes p WHERE {condition} \
                         ORDER BY p.id LIMIT 1) RETURNING id"
                    ),
                )
            }
            Backend::Sqlite => {
                // Take the write lock before reading the clock: a claim that
                // waited for it must not record a start time before the
                // claims that went first.
                txn.execute_unprepared("UPDATE processes SET status = status WHERE id = -1")
                    .await?;
                (
                    DbBackend::Sqlite,
                    format!(
                        "UPDATE processes SET status = 'running', started_at = ?1, heartbeat_at = ?1, \
                     host = ?2 WHERE id = (SELECT p.id FROM processes p WHERE {condition} \
                     ORDER BY p.id LIMIT 1) RETURNING id"
                    ),
                )
            }
        };
        let values: [Value; 2] = [Utc::now().into(), host.into()];
        let row = txn
            .query_one(Statement::from_sql_and_values(backend, sql, values))
            .await?;
        txn.commit().await?;
        match row {
            Some(row) => {
                let id: i64 = row.try_get("", "id")?;
                Ok(Some(self.process(id).await?))
            }
            None => Ok(None),
        }
    }

    /// Asks process `id` to stop, with `reason` for the log: a queued one is
    /// cancelled at once; a running one is marked, and the host running it
    /// stops it (see [`Store::cancel_requested`]).
    pub async fn request_cancel(&self, id: i64, reason: &str) -> Result<CancelOutcome, StoreError> {
        let cancelled = self
            .end_process_when(
                id,
                ProcessStatus::Queued,
                ProcessStatus::Cancelled,
                Some(reason.to_owned()),
            )
            .await?;
        if cancelled {
            self.cancel_stranded().await?;
            return Ok(CancelOutcome::Cancelled);
        }
        let backend = self.db_backend();
        let sql = match self.backend() {
            Backend::Postgres => {
                "UPDATE processes SET cancel_requested = $1 WHERE id = $2 AND status = 'running'"
            }
            Backend::Sqlite => {
                "UPDATE processes SET cancel_requested = ? WHERE id = ? AND status = 'running'"
            }
        };
        let marked = self
            .db
            .execute(Statement::from_sql_and_values(
                backend,
                sql,
                [reason.into(), id.into()],
            ))
            .await?
            .rows_affected();
        if marked == 1 {
            return Ok(CancelOutcome::Requested);
        }
        Ok(CancelOutcome::AlreadyEnded(self.process(id).await?.status))
    }

    /// Why process `id` was asked to stop, if it was.
    pub async fn cancel_requested(&self, id: i64) -> Result<Option<String>, StoreError> {
        Ok(self.process(id).await?.cancel_requested)
    }

    async fn end_process_when(
        &self,
        id: i64,
        from: ProcessStatus,
        to: ProcessStatus,
        message: Option<String>,
    ) -> Result<bool, StoreError> {
        use sea_orm::sea_query::{Expr, Query};
        let update = Query::update()
            .table(process::Entity)
            .value(process::Column::Status, to.as_str())
            .value(process::Column::FinishedAt, Utc::now())
            .value(process::Column::Message, message)
            .and_where(Expr::col(process::Column::Id).eq(id))
            .and_where(Expr::col(process::Column::Status).eq(from.as_str()))
            .to_owned();
        let result = self.db.execute(self.db_backend().build(&update)).await?;
        Ok(result.rows_affected() == 1)
    }
}
