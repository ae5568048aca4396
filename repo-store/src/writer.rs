//! The bulk sync writer: a run's rows are staged, then published at once.
//!
//! A run never writes the raw tables readers query while it is running. Its
//! batches go, in bounded multi-row statements committed every few tens of
//! thousands of rows, into staging tables of its own
//! (`stage_r<run>_<raw table>`, see [`stage_table_name`]) that no reader
//! looks at. Only when the run succeeds does one transaction
//!
//! 1. copy the staged rows into the raw tables (an upsert per kind, stamped
//!    with the run),
//! 2. remove the connector's rows the run did not see, for the kinds it
//!    completed (for every kind on a clean sync),
//! 3. record the process's end, when asked to ([`SyncWriter::publish`]),
//! 4. drop the staging tables.
//!
//! A failed or cancelled run drops its staging tables and changes nothing
//! readers see; a killed one leaves staging tables that
//! [`Store::drop_abandoned_stages`] removes at the next start. On disk the
//! staging costs one copy of the run's rows; in memory, nothing more than
//! one statement's rows per record kind.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use connector_core::{Batch, Record, RecordKind};
use sea_orm::sea_query::{Alias, Expr, Query, SimpleExpr, Value};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, Statement, TransactionTrait};
use serde::Serialize;

use crate::connect::{Backend, Store};
use crate::error::StoreError;
use crate::raw::{
    self, ColumnType, KEY_COLUMNS, RUN_COLUMNS, RawTable, push_values, raw_table, raw_tables,
};
use crate::values::ProcessStatus;

/// Rows per statement at most, below the bind limit: larger statements
/// measured no faster and cost more to plan and to cache.
const MAX_ROWS_PER_STATEMENT: usize = 1_000;

/// The longest a staging transaction stays open while rows keep coming.
const MAX_TRANSACTION_AGE: Duration = Duration::from_secs(1);

/// Prefix of every staging table's name.
pub const STAGE_PREFIX: &str = "stage_r";

/// How often a publication blocked by another writer's lock (SQLite's busy
/// timeout ran out) is tried again before the run fails.
const PUBLISH_ATTEMPTS: u32 = 3;

/// Key space of the PostgreSQL advisory locks that keep a repository's
/// publications and its consolidation apart ("pub" in ASCII, then the
/// repository id): publications take it shared, a consolidation exclusively.
pub(crate) const PUBLICATION_LOCK: i64 = 0x0070_7562_0000_0000;

/// How the writer batches its work.
#[derive(Debug, Clone, Copy)]
pub struct WriterConfig {
    /// Commit the staging area after this many rows.
    pub commit_every: usize,
    /// Bind parameters per statement; `None` for the backend's limit.
    pub max_binds: Option<usize>,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            commit_every: 25_000,
            max_binds: None,
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// Completed: the run is published.
    Succeeded,
    /// Failed: nothing is published.
    Failed,
    /// Cancelled: nothing is published.
    Cancelled,
}

/// What a finished run did to the repository.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    /// Rows published (inserted or updated), per kind; empty for a run
    /// that failed or was cancelled, which publishes nothing.
    pub written: BTreeMap<RecordKind, u64>,
    /// Rows removed as no longer seen, per kind.
    pub removed: BTreeMap<RecordKind, u64>,
}

impl SyncReport {
    /// Rows published in all.
    pub fn written_total(&self) -> u64 {
        self.written.values().sum()
    }

    /// Rows removed in all.
    pub fn removed_total(&self) -> u64 {
        self.removed.values().sum()
    }
}

/// The process's end, recorded in the publishing transaction.
#[derive(Debug, Clone)]
pub struct ProcessEnd {
    /// Rows per kind, as the process log shows them.
    pub counts: BTreeMap<RecordKind, u64>,
    /// The process log's line.
    pub message: Option<String>,
    /// The connector's counters for monitoring (`graph_requests`, ...).
    pub counters: BTreeMap<String, u64>,
}

/// Writes one sync run of one connector into one repository: stages its
/// rows, then publishes them at once (module docs).
pub struct SyncWriter {
    store: Store,
    repository_id: i64,
    connector_id: i64,
    run_id: i64,
    clean: bool,
    config: WriterConfig,
    txn: Option<DatabaseTransaction>,
    /// When the open staging transaction began.
    txn_since: Option<Instant>,
    uncommitted: usize,
    /// Rows staged per kind (the staging tables that exist).
    staged: BTreeMap<RecordKind, u64>,
    completed: BTreeSet<RecordKind>,
    statements: HashMap<(&'static str, usize), String>,
    /// Rows waiting for a full statement, per kind (at most one statement's worth each).
    pending: HashMap<RecordKind, Vec<Record>>,
    /// The tenant the run's data came from, recorded when it is published.
    tenant: Option<String>,
}

impl std::fmt::Debug for SyncWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncWriter")
            .field("repository_id", &self.repository_id)
            .field("connector_id", &self.connector_id)
            .field("run_id", &self.run_id)
            .field("clean", &self.clean)
            .finish_non_exhaustive()
    }
}

/// The staging table of run `run_id` for `table`.
pub fn stage_table_name(run_id: i64, table: &RawTable) -> String {
    format!("{STAGE_PREFIX}{run_id}_{}", table.name)
}

/// The run a staging table belongs to, from its name.
fn stage_run(name: &str) -> Option<i64> {
    let rest = name.strip_prefix(STAGE_PREFIX)?;
    let (run, table) = rest.split_once('_')?;
    raw_tables().iter().any(|t| t.name == table).then_some(())?;
    run.parse().ok()
}

impl Store {
    /// Starts writing run `run_id` (its process id) of a connector into a repository.
    pub fn sync_writer(
        &self,
        repository_id: i64,
        connector_id: i64,
        run_id: i64,
        clean: bool,
        config: WriterConfig,
    ) -> SyncWriter {
        SyncWriter {
            store: self.clone(),
            repository_id,
            connector_id,
            run_id,
            clean,
            config,
            txn: None,
            txn_since: None,
            uncommitted: 0,
            staged: BTreeMap::new(),
            completed: BTreeSet::new(),
            statements: HashMap::new(),
            pending: HashMap::new(),
            tenant: None,
        }
    }

    /// The staging tables in the database, with the run each belongs to.
    pub async fn stage_tables(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let sql = match self.backend() {
            Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table'",
            Backend::Postgres => {
                "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()"
            }
        };
        let rows = self
            .db
            .query_all(Statement::from_string(self.db_backend(), sql))
            .await?;
        let mut stages = Vec::new();
        for row in rows {
            let name: String = row.try_get("", "name")?;
            if let Some(run) = stage_run(&name) {
                stages.push((name, run));
            }
        }
        Ok(stages)
    }

    /// Drops the staging tables of runs that are not running (a host was
    /// killed before it could drop them); returns how many were dropped.
    /// Call it after marking the processes of dead hosts failed: a staging
    /// table whose process still runs belongs to a live sync.
    pub async fn drop_abandoned_stages(&self) -> Result<usize, StoreError> {
        let stages = self.stage_tables().await?;
        if stages.is_empty() {
            return Ok(0);
        }
        let running: BTreeSet<i64> = self
            .processes(&crate::ProcessFilter {
                status: Some(ProcessStatus::Running),
                ..Default::default()
            })
            .await?
            .into_iter()
            .map(|p| p.id)
            .collect();
        let mut dropped = 0;
        for (name, run) in stages {
            if !running.contains(&run) {
                // Never wait long behind whoever still holds it (a host that
                // is only suspended): a later start drops it.
                let txn = self.db.begin().await?;
                if self.backend() == Backend::Postgres {
                    txn.execute_unprepared("SET LOCAL lock_timeout = '2s'")
                        .await?;
                }
                txn.execute_unprepared(&format!("DROP TABLE IF EXISTS \"{name}\""))
                    .await?;
                txn.commit().await?;
                tracing::info!(table = %name, run, "Dropped the staging table of an interrupted sync.");
                dropped += 1;
            }
        }
        Ok(dropped)
    }
}

impl SyncWriter {
    /// The tenant the run's data came from, as the connector's summary
    /// reports it (`RunSummary::tenant`): recorded in `raw_sources` with the
    /// publication, for the consolidation. Blank is none.
    pub fn set_tenant(&mut self, tenant: Option<&str>) {
        // No '/': it ends the consolidation's keys (`name/tenant`).
        self.tenant = tenant
            .map(|t| raw::clean_text(t.trim()).to_lowercase().replace('/', "_"))
            .filter(|t| !t.is_empty());
    }

    /// Rows staged so far, per kind (none of them visible to readers yet).
    pub fn staged(&self) -> BTreeMap<RecordKind, u64> {
        self.staged.clone()
    }

    /// Kinds the run has delivered in full so far.
    pub fn completed(&self) -> &BTreeSet<RecordKind> {
        &self.completed
    }

    /// Takes one batch. Rows are buffered per kind until they fill one
    /// statement (the backend's bind limit), so statements are as large as
    /// allowed whatever the connector's batch size; memory stays bounded by
    /// one statement per kind. Records of the same kind and key keep the
    /// last one, as the source's latest word.
    pub async fn write(&mut self, batch: Batch) -> Result<(), StoreError> {
        for record in batch.records {
            let kind = record.kind();
            let pending = self.pending.entry(kind).or_default();
            pending.push(record);
            if pending.len() >= self.rows_per_statement(kind)? {
                self.flush_kind(kind).await?;
            }
        }
        self.completed.extend(batch.complete);
        // Commit what was staged, so that SQLite's write lock is held only
        // for a chunk; rows still buffered wait for a full statement, so
        // statements keep one shape per kind (and the driver's
        // prepared-statement cache stays small).
        // Also when the transaction has been open a while: SQLite's write
        // lock is then never held for long, however slowly rows come.
        if self.uncommitted >= self.config.commit_every
            || self
                .txn_since
                .is_some_and(|t| t.elapsed() >= MAX_TRANSACTION_AGE)
        {
            self.commit().await?;
        }
        Ok(())
    }

    /// Whether staged rows wait in an open transaction (holding SQLite's
    /// write lock).
    pub fn in_transaction(&self) -> bool {
        self.txn.is_some()
    }

    /// Commits what is staged so far: call it when no batch has come for a
    /// while, so that a connector waiting on its source does not keep
    /// SQLite's write lock from other writers. Rows still buffered for a
    /// full statement stay buffered.
    pub async fn idle(&mut self) -> Result<(), StoreError> {
        self.commit().await
    }

    fn rows_per_statement(&self, kind: RecordKind) -> Result<usize, StoreError> {
        let table = table_of(kind)?;
        Ok((self.max_binds() / stage_values_per_row(table)).clamp(1, MAX_ROWS_PER_STATEMENT))
    }

    /// Stages the rows buffered for `kind`: one multi-row insert (or a few,
    /// when the buffer holds more than one statement's worth).
    async fn flush_kind(&mut self, kind: RecordKind) -> Result<(), StoreError> {
        let Some(records) = self.pending.remove(&kind).filter(|r| !r.is_empty()) else {
            return Ok(());
        };
        let table = table_of(kind)?;
        if !self.staged.contains_key(&kind) {
            let create = create_stage_sql(self.store.backend(), self.run_id, table);
            self.txn().await?.execute_unprepared(&create).await?;
            self.staged.insert(kind, 0);
        }
        let per_statement = self.rows_per_statement(kind)?;
        let records = last_per_key(&records);
        for chunk in records.chunks(per_statement) {
            self.stage(table, chunk).await?;
            *self.staged.entry(kind).or_default() += chunk.len() as u64;
            self.uncommitted += chunk.len();
        }
        Ok(())
    }

    async fn flush_all(&mut self) -> Result<(), StoreError> {
        let kinds: Vec<RecordKind> = self.pending.keys().copied().collect();
        for kind in kinds {
            self.flush_kind(kind).await?;
        }
        Ok(())
    }

    /// Records a sign of life of the run's process. On SQLite it goes through
    /// the writer's own transaction when one is open (another connection
    /// would wait for the writer's lock); otherwise through the pool.
    pub async fn heartbeat(&mut self) -> Result<(), StoreError> {
        // With the sign of life goes the progress: rows staged per kind.
        if self.store.backend() == Backend::Sqlite
            && let Some(txn) = self.txn.as_ref()
        {
            let statement = Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "UPDATE processes SET heartbeat_at = ?, progress = ? WHERE id = ?",
                [
                    chrono::Utc::now().into(),
                    self.progress_json().into(),
                    self.run_id.into(),
                ],
            );
            txn.execute(statement).await?;
            return Ok(());
        }
        let sql = match self.store.backend() {
            Backend::Postgres => {
                "UPDATE processes SET heartbeat_at = $1, progress = $2 WHERE id = $3"
            }
            Backend::Sqlite => "UPDATE processes SET heartbeat_at = ?, progress = ? WHERE id = ?",
        };
        let statement = Statement::from_sql_and_values(
            self.store.db_backend(),
            sql,
            [
                chrono::Utc::now().into(),
                self.progress_json().into(),
                self.run_id.into(),
            ],
        );
        self.store.db.execute(statement).await?;
        Ok(())
    }

    /// Rows staged so far per kind, pending ones included, as JSON.
    fn progress_json(&self) -> String {
        let mut counts: BTreeMap<String, u64> = self
            .staged
            .iter()
            .map(|(k, n)| (k.to_string(), *n))
            .collect();
        for (kind, rows) in &self.pending {
            *counts.entry(kind.to_string()).or_default() += rows.len() as u64;
        }
        serde_json::to_string(&counts).unwrap_or_else(|_| "{}".into())
    }

    fn max_binds(&self) -> usize {
        self.config
            .max_binds
            .unwrap_or_else(|| self.store.backend().max_binds())
    }

    async fn txn(&mut self) -> Result<&DatabaseTransaction, StoreError> {
        if self.txn.is_none() {
            self.txn = Some(self.store.db.begin().await?);
            self.txn_since = Some(Instant::now());
        }
        self.txn
            .as_ref()
            .ok_or_else(|| StoreError::Db("no transaction".into()))
    }

    async fn commit(&mut self) -> Result<(), StoreError> {
        if let Some(txn) = self.txn.take() {
            txn.commit().await?;
        }
        self.txn_since = None;
        self.uncommitted = 0;
        Ok(())
    }

    async fn stage(
        &mut self,
        table: &'static RawTable,
        records: &[(Cow<'_, str>, &Record)],
    ) -> Result<(), StoreError> {
        let mut values: Vec<Value> =
            Vec::with_capacity(records.len() * stage_values_per_row(table));
        for (key, record) in records {
            values.push(key.as_ref().to_owned().into());
            push_values(record, &mut values).ok_or_else(|| {
                StoreError::Db(format!("no table holds {} records", record.kind()))
            })?;
        }
        let backend = self.store.backend();
        let run_id = self.run_id;
        // Full statements repeat and are kept; the odd remainder is built once.
        let sql = if records.len() == self.rows_per_statement(table.kind)? {
            self.statements
                .entry((table.name, records.len()))
                .or_insert_with(|| stage_insert_sql(backend, run_id, table, records.len()))
                .clone()
        } else {
            stage_insert_sql(backend, run_id, table, records.len())
        };
        let statement = Statement::from_sql_and_values(self.store.db_backend(), sql, values);
        self.txn().await?.execute(statement).await?;
        Ok(())
    }

    /// Ends the run without recording its process: publishes it when it
    /// succeeded, else drops what it staged (see [`SyncWriter::publish`]
    /// and [`SyncWriter::abandon`]).
    pub async fn finish(self, outcome: RunOutcome) -> Result<SyncReport, StoreError> {
        match outcome {
            RunOutcome::Succeeded => self.publish_with(None).await,
            RunOutcome::Failed | RunOutcome::Cancelled => {
                self.abandon().await?;
                Ok(SyncReport::default())
            }
        }
    }

    /// Publishes the run and records its process as succeeded, in one
    /// transaction: readers see the run's rows exactly when the process log
    /// says it succeeded. `end` words the process's end from what was
    /// published. If the process is no longer `running` (another host took
    /// it for dead and marked it failed), nothing is published. On failure
    /// the staging tables are dropped and readers keep the previous data.
    pub async fn publish(
        self,
        end: impl Fn(&SyncReport) -> ProcessEnd + Sync,
    ) -> Result<SyncReport, StoreError> {
        self.publish_with(Some(&end)).await
    }

    async fn publish_with(
        mut self,
        end: Option<&(dyn Fn(&SyncReport) -> ProcessEnd + Sync)>,
    ) -> Result<SyncReport, StoreError> {
        let staged = async {
            self.flush_all().await?;
            self.commit().await
        }
        .await;
        let mut attempt = 1;
        let result = match staged {
            Err(e) => Err(e),
            Ok(()) => loop {
                match self.publish_once(end).await {
                    // SQLite's busy timeout ran out behind another writer
                    // (a consolidation, say): the staged rows are intact.
                    Err(StoreError::Locked) if attempt < PUBLISH_ATTEMPTS => {
                        tracing::warn!(
                            run = self.run_id,
                            attempt,
                            "The repository database stayed locked; publishing again."
                        );
                        attempt += 1;
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    other => break other,
                }
            },
        };
        if result.is_err()
            && let Err(e) = self.abandon().await
        {
            tracing::warn!(error = %e, "Could not drop the staging tables; the next start drops them.");
        }
        result
    }

    /// One attempt at the publishing transaction.
    async fn publish_once(
        &self,
        end: Option<&(dyn Fn(&SyncReport) -> ProcessEnd + Sync)>,
    ) -> Result<SyncReport, StoreError> {
        let backend = self.store.backend();
        let txn = self.store.db.begin().await?;
        if backend == Backend::Postgres {
            // Never while this repository's consolidation reads the raw tables.
            txn.execute(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_advisory_xact_lock_shared($1)",
                [(PUBLICATION_LOCK | self.repository_id).into()],
            ))
            .await?;
            // The sort that orders and deduplicates each kind's rows stays in
            // memory up to this bound, server side.
            txn.execute_unprepared("SET LOCAL work_mem = '64MB'")
                .await?;
        }
        if end.is_some() {
            // Before anything is copied: a process another host took for
            // dead (and whose staging it may have dropped) publishes nothing.
            // A write, so that SQLite takes its write lock here rather than
            // upgrade a read later (which fails at once if another host
            // wrote in between); on PostgreSQL it locks the process's row.
            let alive = txn
                .execute(Statement::from_sql_and_values(
                    self.store.db_backend(),
                    match backend {
                        Backend::Postgres => {
                            "UPDATE processes SET heartbeat_at = $1 WHERE id = $2 AND status = 'running'"
                        }
                        Backend::Sqlite => {
                            "UPDATE processes SET heartbeat_at = ? WHERE id = ? AND status = 'running'"
                        }
                    },
                    [chrono::Utc::now().into(), self.run_id.into()],
                ))
                .await?
                .rows_affected();
            if alive == 0 {
                txn.rollback().await?;
                return Err(self.no_longer_running());
            }
        }
        let mut report = SyncReport::default();
        for table in raw_tables()
            .iter()
            .filter(|t| self.staged.contains_key(&t.kind))
        {
            let sql = publish_sql(
                backend,
                table,
                self.repository_id,
                self.connector_id,
                self.run_id,
                self.clean,
            );
            let started = Instant::now();
            let mut written = txn.execute_unprepared(&sql).await?.rows_affected();
            if backend == Backend::Sqlite {
                // A key staged twice counted as an insert and an update:
                // count the rows this run wrote, as PostgreSQL does.
                written = count_seen(
                    &txn,
                    table,
                    self.repository_id,
                    self.connector_id,
                    self.run_id,
                )
                .await?;
            }
            tracing::debug!(
                kind = %table.kind,
                rows = written,
                ms = started.elapsed().as_millis() as u64,
                "Published the staged rows of one kind."
            );
            report.written.insert(table.kind, written);
        }
        for table in raw_tables()
            .iter()
            .filter(|t| self.clean || self.completed.contains(&t.kind))
        {
            let delete = format!(
                "DELETE FROM \"{}\" WHERE \"repository_id\" = {} AND \"connector_id\" = {} \
                 AND \"last_seen_run\" <> {}",
                table.name, self.repository_id, self.connector_id, self.run_id
            );
            let removed = txn.execute_unprepared(&delete).await?.rows_affected();
            if removed > 0 {
                report.removed.insert(table.kind, removed);
            }
        }
        // The tenant the connector's rows in this repository now came from.
        let source = Query::insert()
            .into_table(Alias::new("raw_sources"))
            .columns(["repository_id", "connector_id", "tenant", "run_id"].map(Alias::new))
            .values_panic([
                self.repository_id.into(),
                self.connector_id.into(),
                self.tenant.clone().into(),
                self.run_id.into(),
            ])
            .on_conflict(
                sea_orm::sea_query::OnConflict::columns(
                    ["repository_id", "connector_id"].map(Alias::new),
                )
                .update_columns(["tenant", "run_id"].map(Alias::new))
                .to_owned(),
            )
            .to_owned();
        txn.execute(self.store.db_backend().build(&source)).await?;
        if let Some(end) = end {
            let end = end(&report);
            let counts =
                serde_json::to_string(&end.counts).map_err(|e| StoreError::Db(e.to_string()))?;
            let update = Query::update()
                .table(Alias::new("processes"))
                .values([
                    (
                        Alias::new("status"),
                        ProcessStatus::Succeeded.as_str().into(),
                    ),
                    (Alias::new("finished_at"), chrono::Utc::now().into()),
                    (Alias::new("counts"), counts.into()),
                    (Alias::new("message"), end.message.into()),
                    (
                        Alias::new("counters"),
                        (!end.counters.is_empty())
                            .then(|| serde_json::to_string(&end.counters).unwrap_or_default())
                            .into(),
                    ),
                ])
                .and_where(Expr::col(Alias::new("id")).eq(self.run_id))
                .and_where(Expr::col(Alias::new("status")).eq(ProcessStatus::Running.as_str()))
                .to_owned();
            let recorded = txn
                .execute(self.store.db_backend().build(&update))
                .await?
                .rows_affected();
            if recorded == 0 {
                txn.rollback().await?;
                return Err(self.no_longer_running());
            }
        }
        for kind in self.staged.keys() {
            let drop = format!(
                "DROP TABLE \"{}\"",
                stage_table_name(self.run_id, table_of(*kind)?)
            );
            txn.execute_unprepared(&drop).await?;
        }
        txn.commit().await?;
        Ok(report)
    }

    fn no_longer_running(&self) -> StoreError {
        StoreError::Refused(format!(
            "process {} is no longer running (another host took its host for dead), \
             so its data was not published",
            self.run_id
        ))
    }

    /// Drops what the run staged; readers never saw any of it. A staging
    /// table this cannot drop (the database went away) is dropped by
    /// [`Store::drop_abandoned_stages`] later.
    pub async fn abandon(mut self) -> Result<(), StoreError> {
        self.pending.clear();
        if let Some(txn) = self.txn.take() {
            txn.rollback().await.ok();
        }
        for kind in self.staged.keys() {
            let table = table_of(*kind)?;
            let drop = format!(
                "DROP TABLE IF EXISTS \"{}\"",
                stage_table_name(self.run_id, table)
            );
            self.store.db.execute_unprepared(&drop).await?;
        }
        Ok(())
    }
}

/// Rows of a connector's raw table that run `run_id` saw.
async fn count_seen(
    txn: &DatabaseTransaction,
    table: &RawTable,
    repository_id: i64,
    connector_id: i64,
    run_id: i64,
) -> Result<u64, StoreError> {
    let row = txn
        .query_one(Statement::from_string(
            DbBackend::Sqlite,
            format!(
                "SELECT count(*) AS n FROM \"{}\" WHERE \"repository_id\" = {repository_id} \
                 AND \"connector_id\" = {connector_id} AND \"last_seen_run\" = {run_id}",
                table.name
            ),
        ))
        .await?;
    let n: i64 = row.map(|r| r.try_get("", "n")).transpose()?.unwrap_or(0);
    Ok(n as u64)
}

fn table_of(kind: RecordKind) -> Result<&'static RawTable, StoreError> {
    raw_table(kind).ok_or_else(|| StoreError::Db(format!("no table holds {kind} records")))
}

/// Values bound per staged row: the source key and the record's columns.
fn stage_values_per_row(table: &RawTable) -> usize {
    1 + table.written_columns().count()
}

fn sql_type(kind: ColumnType) -> &'static str {
    match kind {
        ColumnType::Text => "TEXT",
        ColumnType::BigInt => "BIGINT",
        ColumnType::Int => "INTEGER",
        ColumnType::Bool => "BOOLEAN",
    }
}

/// The staging table of a run for one raw table: a plain heap, rows in
/// arrival order (a key staged twice is resolved at publication: the last
/// row wins). On SQLite the rowid gives that order; on PostgreSQL an
/// identity column does, in an `UNLOGGED` table (no write-ahead log: a
/// crash empties it, which is all a staging area needs).
fn create_stage_sql(backend: Backend, run_id: i64, table: &RawTable) -> String {
    let columns: Vec<String> = table
        .written_columns()
        .map(|(c, kind)| format!("\"{c}\" {}", sql_type(kind)))
        .collect();
    let name = stage_table_name(run_id, table);
    match backend {
        Backend::Sqlite => format!(
            "CREATE TABLE \"{name}\" (\"source_key\" TEXT NOT NULL, {})",
            columns.join(", ")
        ),
        Backend::Postgres => format!(
            "CREATE UNLOGGED TABLE \"{name}\" (\"seq\" BIGINT GENERATED ALWAYS AS IDENTITY, \
             \"source_key\" TEXT NOT NULL, {})",
            columns.join(", ")
        ),
    }
}

/// The multi-row insert of `rows` rows into a run's staging table, built
/// once per shape and reused (the driver caches the prepared statement by
/// its text).
fn stage_insert_sql(backend: Backend, run_id: i64, table: &RawTable, rows: usize) -> String {
    let mut insert = Query::insert();
    insert
        .into_table(Alias::new(stage_table_name(run_id, table)))
        .columns(
            std::iter::once("source_key")
                .chain(table.written_columns().map(|(c, _)| c))
                .map(Alias::new),
        );
    let placeholder_row: Vec<SimpleExpr> = (0..stage_values_per_row(table))
        .map(|_| Expr::val(0).into())
        .collect();
    for _ in 0..rows {
        // Same arity as the columns, so this cannot fail.
        let _ = insert.values(placeholder_row.iter().cloned());
    }
    match backend {
        Backend::Sqlite => DbBackend::Sqlite.build(&insert).sql,
        Backend::Postgres => DbBackend::Postgres.build(&insert).sql,
    }
}

/// Copies a run's staged rows of one kind into its raw table: new keys
/// are inserted (first seen by this run), known ones updated (last seen by
/// this run; on a clean sync first seen too, as history restarts).
fn publish_sql(
    backend: Backend,
    table: &RawTable,
    repository_id: i64,
    connector_id: i64,
    run_id: i64,
    clean: bool,
) -> String {
    let record_columns: Vec<String> = table
        .written_columns()
        .map(|(c, _)| format!("\"{c}\""))
        .collect();
    let mut updates: Vec<String> = record_columns
        .iter()
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    updates.push("\"last_seen_run\" = excluded.\"last_seen_run\"".into());
    if clean {
        updates.push("\"first_seen_run\" = excluded.\"first_seen_run\"".into());
    }
    let insert_columns: Vec<String> = KEY_COLUMNS
        .into_iter()
        .chain(table.written_columns().map(|(c, _)| c))
        .chain(RUN_COLUMNS)
        .map(|c| format!("\"{c}\""))
        .collect();
    // A key staged twice keeps its last row. SQLite: in arrival order, the
    // second row updates the first. PostgreSQL refuses to touch a row twice
    // in one statement: one row per key, the last, which the sort also puts
    // in key order for the raw table's index.
    let (distinct, order) = match backend {
        Backend::Sqlite => ("", "ORDER BY rowid"),
        Backend::Postgres => (
            "DISTINCT ON (\"source_key\") ",
            "ORDER BY \"source_key\", \"seq\" DESC",
        ),
    };
    format!(
        "INSERT INTO \"{raw}\" ({insert_columns}) \
         SELECT {distinct}{repository_id}, {connector_id}, \"source_key\", {record_columns}, {run_id}, {run_id} \
         FROM \"{stage}\" WHERE true {order} \
         ON CONFLICT ({key}) DO UPDATE SET {updates}",
        raw = table.name,
        insert_columns = insert_columns.join(", "),
        record_columns = record_columns.join(", "),
        stage = stage_table_name(run_id, table),
        key = KEY_COLUMNS.map(|c| format!("\"{c}\"")).join(", "),
        updates = updates.join(", "),
    )
}

/// Keeps the last record of each stored key, in first-seen order: two
/// records whose keys are equal once stored must not meet in one statement.
fn last_per_key(records: &[Record]) -> Vec<(Cow<'_, str>, &Record)> {
    let mut index: HashMap<Cow<'_, str>, usize> = HashMap::with_capacity(records.len());
    let mut kept: Vec<(Cow<'_, str>, &Record)> = Vec::with_capacity(records.len());
    for record in records {
        let key = raw::stored_key(record.source_key());
        match index.get(&key) {
            Some(&at) => kept[at].1 = record,
            None => {
                index.insert(key.clone(), kept.len());
                kept.push((key, record));
            }
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_names_round_trip_and_nothing_else_matches() {
        let table = raw_table(RecordKind::Installation).unwrap();
        let name = stage_table_name(42, table);
        assert_eq!(name, "stage_r42_raw_installations");
        assert_eq!(stage_run(&name), Some(42));
        assert_eq!(stage_run("stage_r42_something_else"), None);
        assert_eq!(stage_run("raw_installations"), None);
        assert_eq!(stage_run("stage_rx_raw_devices"), None);
    }
}
