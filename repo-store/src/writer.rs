//! The bulk sync writer: batches in, chunked multi-row upserts out.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use connector_core::{Batch, Record, RecordKind};
use sea_orm::sea_query::{Alias, Expr, OnConflict, Query, SimpleExpr, Value};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, Statement, TransactionTrait};
use serde::Serialize;

use crate::connect::Store;
use crate::error::StoreError;
use crate::raw::{self, KEY_COLUMNS, RAW_TABLES, RawTable, push_values, raw_table};

/// Rows per statement at most, below the bind limit: larger statements
/// measured no faster and cost more to plan and to cache.
const MAX_ROWS_PER_STATEMENT: usize = 1_000;

/// How the writer batches its work.
#[derive(Debug, Clone, Copy)]
pub struct WriterConfig {
    /// Commit after this many rows.
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
    /// Completed: stale rows of completed kinds go (all kinds on a clean sync).
    Succeeded,
    /// Failed: nothing is removed.
    Failed,
    /// Cancelled: nothing is removed.
    Cancelled,
}

/// What a finished run did to the repository.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    /// Rows written (inserted or updated) and committed, per kind: on a
    /// failed or cancelled run, what stays in the repository.
    pub written: BTreeMap<RecordKind, u64>,
    /// Rows removed as no longer seen, per kind.
    pub removed: BTreeMap<RecordKind, u64>,
}

/// Writes one sync run of one connector into one repository.
///
/// Rows are upserted by (repository, connector, source key) and stamped with
/// the run; the run's end removes rows it did not see, only for the kinds it
/// completed and only when it succeeded (ARCHITECTURE.md §5).
pub struct SyncWriter {
    store: Store,
    repository_id: i64,
    connector_id: i64,
    run_id: i64,
    clean: bool,
    config: WriterConfig,
    txn: Option<DatabaseTransaction>,
    uncommitted: usize,
    /// Rows written since the last commit, per kind (lost on rollback).
    pending_counts: BTreeMap<RecordKind, u64>,
    completed: BTreeSet<RecordKind>,
    report: SyncReport,
    statements: HashMap<(&'static str, usize), String>,
    /// Rows waiting for a full statement, per kind (at most one statement's worth each).
    pending: HashMap<RecordKind, Vec<Record>>,
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
            uncommitted: 0,
            pending_counts: BTreeMap::new(),
            completed: BTreeSet::new(),
            report: SyncReport::default(),
            statements: HashMap::new(),
            pending: HashMap::new(),
        }
    }
}

impl SyncWriter {
    /// Rows written so far, per kind (committed or not).
    pub fn written(&self) -> BTreeMap<RecordKind, u64> {
        let mut all = self.report.written.clone();
        for (kind, n) in &self.pending_counts {
            *all.entry(*kind).or_default() += n;
        }
        all
    }

    /// Kinds the run has delivered in full so far.
    pub fn completed(&self) -> &BTreeSet<RecordKind> {
        &self.completed
    }

    /// Takes one batch. Rows are buffered per kind until they fill one
    /// statement (the backend's bind limit), so statements are as large as
    /// allowed whatever the connector's batch size; memory stays bounded by
    /// one statement per kind. Records of the same kind and key within one
    /// statement collapse to the last one, as the source's latest word.
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
        // Commit what was written; rows still buffered wait for a full
        // statement, so statements keep one shape per kind (and the driver's
        // prepared-statement cache stays small).
        if self.uncommitted >= self.config.commit_every {
            self.commit().await?;
        }
        Ok(())
    }

    fn rows_per_statement(&self, kind: RecordKind) -> Result<usize, StoreError> {
        let table = raw_table(kind)
            .ok_or_else(|| StoreError::Db(format!("no table holds {kind} records")))?;
        Ok((self.max_binds() / table.values_per_row()).clamp(1, MAX_ROWS_PER_STATEMENT))
    }

    /// Writes the rows buffered for `kind`: one multi-row upsert (or a few,
    /// when keys repeat and the buffer holds more than one statement's worth).
    async fn flush_kind(&mut self, kind: RecordKind) -> Result<(), StoreError> {
        let Some(records) = self.pending.remove(&kind).filter(|r| !r.is_empty()) else {
            return Ok(());
        };
        let table = raw_table(kind)
            .ok_or_else(|| StoreError::Db(format!("no table holds {kind} records")))?;
        let per_statement = self.rows_per_statement(kind)?;
        let records = last_per_key(&records);
        for chunk in records.chunks(per_statement) {
            self.upsert(table, chunk).await?;
            *self.pending_counts.entry(kind).or_default() += chunk.len() as u64;
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
    /// the writer's own transaction (another connection would wait for the
    /// writer's lock); on PostgreSQL through the pool, so other hosts see it
    /// before the next commit.
    pub async fn heartbeat(&mut self) -> Result<(), StoreError> {
        if self.store.backend() == crate::Backend::Sqlite
            && let Some(txn) = self.txn.as_ref()
        {
            let statement = sea_orm::Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "UPDATE processes SET heartbeat_at = ? WHERE id = ?",
                [chrono::Utc::now().into(), self.run_id.into()],
            );
            txn.execute(statement).await?;
            return Ok(());
        }
        self.store.heartbeat(self.run_id).await
    }

    fn max_binds(&self) -> usize {
        self.config
            .max_binds
            .unwrap_or_else(|| self.store.backend().max_binds())
    }

    async fn txn(&mut self) -> Result<&DatabaseTransaction, StoreError> {
        if self.txn.is_none() {
            self.txn = Some(self.store.db.begin().await?);
        }
        self.txn
            .as_ref()
            .ok_or_else(|| StoreError::Db("no transaction".into()))
    }

    async fn commit(&mut self) -> Result<(), StoreError> {
        if let Some(txn) = self.txn.take() {
            txn.commit().await?;
        }
        self.uncommitted = 0;
        for (kind, n) in std::mem::take(&mut self.pending_counts) {
            *self.report.written.entry(kind).or_default() += n;
        }
        Ok(())
    }

    async fn upsert(
        &mut self,
        table: &'static RawTable,
        records: &[(Cow<'_, str>, &Record)],
    ) -> Result<(), StoreError> {
        let mut values: Vec<Value> = Vec::with_capacity(records.len() * table.values_per_row());
        for (key, record) in records {
            values.push(self.repository_id.into());
            values.push(self.connector_id.into());
            values.push(key.as_ref().to_owned().into());
            push_values(record, &mut values).ok_or_else(|| {
                StoreError::Db(format!("no table holds {} records", record.kind()))
            })?;
            values.push(self.run_id.into());
            values.push(self.run_id.into());
        }
        let backend = self.store.db_backend();
        // Full statements repeat and are kept; the odd remainder is built once.
        let sql = if records.len() == self.rows_per_statement(table.kind)? {
            self.statements
                .entry((table.name, records.len()))
                .or_insert_with(|| upsert_sql(backend, table, records.len()))
                .clone()
        } else {
            upsert_sql(backend, table, records.len())
        };
        let statement = Statement::from_sql_and_values(backend, sql, values);
        self.txn().await?.execute(statement).await?;
        Ok(())
    }

    /// Ends the run. On success, removes the rows this run did not see, for
    /// the kinds it completed, or for every kind (and resets first-seen) on a
    /// clean sync, in the same transaction as the last rows. On failure or
    /// cancel, rolls back what was not yet committed and removes nothing.
    pub async fn finish(mut self, outcome: RunOutcome) -> Result<SyncReport, StoreError> {
        if outcome != RunOutcome::Succeeded {
            self.pending.clear();
            if let Some(txn) = self.txn.take() {
                txn.rollback().await?;
            }
            return Ok(self.report);
        }
        self.flush_all().await?;
        let kinds: Vec<&'static RawTable> = RAW_TABLES
            .iter()
            .filter(|t| self.clean || self.completed.contains(&t.kind))
            .collect();
        let (repository_id, connector_id, run_id, clean) = (
            self.repository_id,
            self.connector_id,
            self.run_id,
            self.clean,
        );
        let backend = self.store.db_backend();
        for table in kinds {
            let scope = Expr::col(Alias::new("repository_id"))
                .eq(repository_id)
                .and(Expr::col(Alias::new("connector_id")).eq(connector_id));
            let delete = Query::delete()
                .from_table(Alias::new(table.name))
                .cond_where(
                    scope
                        .clone()
                        .and(Expr::col(Alias::new("last_seen_run")).ne(run_id)),
                )
                .to_owned();
            let removed = self
                .txn()
                .await?
                .execute(backend.build(&delete))
                .await?
                .rows_affected();
            if removed > 0 {
                self.report.removed.insert(table.kind, removed);
            }
            if clean {
                let reset = Query::update()
                    .table(Alias::new(table.name))
                    .value(Alias::new("first_seen_run"), run_id)
                    .cond_where(scope)
                    .to_owned();
                self.txn().await?.execute(backend.build(&reset)).await?;
            }
        }
        self.commit().await?;
        Ok(self.report)
    }
}

/// The multi-row upsert of `rows` rows into `table`, built once per shape
/// and reused (the driver caches the prepared statement by its text).
fn upsert_sql(backend: DbBackend, table: &RawTable, rows: usize) -> String {
    let mut insert = Query::insert();
    insert
        .into_table(Alias::new(table.name))
        .columns(table.all_columns().map(Alias::new));
    let placeholder_row: Vec<SimpleExpr> = (0..table.values_per_row())
        .map(|_| Expr::val(0).into())
        .collect();
    for _ in 0..rows {
        // Same arity as the columns, so this cannot fail.
        let _ = insert.values(placeholder_row.iter().cloned());
    }
    let updated = table
        .columns
        .iter()
        .map(|(c, _)| Alias::new(*c))
        .chain([Alias::new("last_seen_run")]);
    insert.on_conflict(
        OnConflict::columns(KEY_COLUMNS.map(Alias::new))
            .update_columns(updated)
            .to_owned(),
    );
    backend.build(&insert).sql
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
