//! Changes to repositories, connectors and processes.

use std::collections::BTreeMap;

use chrono::Utc;
use connector_core::{Parameters, RecordKind};
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, EntityTrait, TransactionTrait};
use serde_json::{Map, Value};

use crate::connect::Store;
use crate::entities::{connector, process, repository};
use crate::error::StoreError;
use crate::raw::raw_tables;
use crate::secrets::SecretKey;
use crate::values::{ProcessStatus, RepositoryType, Trigger};

/// A connector to create.
#[derive(Debug, Clone)]
pub struct NewConnector {
    /// Unique name.
    pub name: String,
    /// Connector type id.
    pub connector_type: String,
    /// Every parameter, secrets included (they are split off and encrypted).
    pub parameters: Parameters,
    /// Keys of the secret parameters.
    pub secret_keys: Vec<String>,
    /// Queue consolidation after each sync.
    pub run_consolidation: bool,
}

/// A process to queue.
#[derive(Debug, Clone)]
pub struct NewProcess {
    /// The process that queues it.
    pub parent_id: Option<i64>,
    /// Repository it works on.
    pub repository_id: i64,
    /// Connector it runs.
    pub connector_id: Option<i64>,
    /// Action name.
    pub action: String,
    /// Who queued it.
    pub trigger: Trigger,
    /// A clean sync.
    pub clean: bool,
    /// `hostname:pid` of the host queueing it, so that another host can
    /// tell a live queue from one whose host died.
    pub host: Option<String>,
    /// With a parent: run once the parent ended, even if it failed
    /// (otherwise a parent that did not succeed cancels it).
    pub continue_on_failure: bool,
}

/// Splits parameters into the plain JSON and the encrypted secrets.
fn split_secrets(
    parameters: &Parameters,
    secret_keys: &[String],
    key: &SecretKey,
) -> Result<(String, String), StoreError> {
    let mut plain = Map::new();
    let mut secret = Map::new();
    for (k, v) in parameters.as_map() {
        if secret_keys.iter().any(|s| s == k) {
            secret.insert(k.clone(), v.clone());
        } else {
            plain.insert(k.clone(), v.clone());
        }
    }
    let secret_json =
        serde_json::to_vec(&Value::Object(secret)).map_err(|e| StoreError::Db(e.to_string()))?;
    Ok((Value::Object(plain).to_string(), key.encrypt(&secret_json)?))
}

/// A new process row in the `queued` state.
pub(crate) fn queued(new: NewProcess) -> process::ActiveModel {
    process::ActiveModel {
        parent_id: Set(new.parent_id),
        repository_id: Set(new.repository_id),
        connector_id: Set(new.connector_id),
        action: Set(new.action),
        trigger: Set(new.trigger),
        status: Set(ProcessStatus::Queued),
        clean: Set(new.clean),
        queued_at: Set(Utc::now()),
        counts: Set("{}".into()),
        host: Set(new.host),
        continue_on_failure: Set(new.continue_on_failure),
        ..Default::default()
    }
}

pub(crate) fn unique_violation(error: &sea_orm::DbErr) -> bool {
    let text = error.to_string();
    text.contains("UNIQUE constraint failed") || text.contains("duplicate key value")
}

impl Store {
    /// Creates a repository.
    pub async fn create_repository(&self, name: &str) -> Result<repository::Model, StoreError> {
        check_name("repository", name)?;
        let row = repository::ActiveModel {
            name: Set(name.to_owned()),
            repository_type: Set(RepositoryType::Inventory),
            created_at: Set(Utc::now()),
            ..Default::default()
        };
        row.insert(&self.db).await.map_err(|e| {
            if unique_violation(&e) {
                StoreError::Duplicate {
                    what: "repository",
                    name: name.to_owned(),
                }
            } else {
                e.into()
            }
        })
    }

    /// Takes the database's write lock (SQLite) or the row's lock
    /// (PostgreSQL) before a change reads anything: a SQLite transaction
    /// that reads first and writes later fails at once when another
    /// connection wrote in between, where one that writes first waits.
    async fn lock_row(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        table: &str,
        id: i64,
    ) -> Result<(), StoreError> {
        let update = Query::update()
            .table(Alias::new(table))
            .value(Alias::new("id"), Expr::col(Alias::new("id")))
            .and_where(Expr::col(Alias::new("id")).eq(id))
            .to_owned();
        txn.execute(self.db_backend().build(&update)).await?;
        Ok(())
    }

    /// Processes of a repository or connector that are queued or running:
    /// `(id, action)`, oldest first.
    async fn busy(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        column: &str,
        id: i64,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let select = Query::select()
            .columns([Alias::new("id"), Alias::new("action")])
            .from(Alias::new("processes"))
            .and_where(Expr::col(Alias::new(column)).eq(id))
            .and_where(Expr::col(Alias::new("status")).is_in(["queued", "running"]))
            .order_by(Alias::new("id"), sea_orm::sea_query::Order::Asc)
            .to_owned();
        let rows = txn.query_all(self.db_backend().build(&select)).await?;
        rows.iter()
            .map(|row| Ok((row.try_get_by_index(0)?, row.try_get_by_index(1)?)))
            .collect()
    }

    /// Renames a repository; its rows, processes and schedules follow (they
    /// hold its id). Refused while any of its processes is queued or running.
    pub async fn rename_repository(
        &self,
        id: i64,
        new_name: &str,
    ) -> Result<repository::Model, StoreError> {
        check_name("repository", new_name)?;
        let txn = self.db.begin().await?;
        self.lock_row(&txn, "repositories", id).await?;
        refuse_busy("repository", self.busy(&txn, "repository_id", id).await?)?;
        let row = repository::ActiveModel {
            id: Set(id),
            name: Set(new_name.to_owned()),
            ..Default::default()
        };
        let row = row.update(&txn).await.map_err(|e| {
            if unique_violation(&e) {
                StoreError::Duplicate {
                    what: "repository",
                    name: new_name.to_owned(),
                }
            } else {
                e.into()
            }
        })?;
        txn.commit().await?;
        Ok(row)
    }

    /// Removes a repository with its raw and consolidated rows and its
    /// process history, in one transaction; returns the raw rows removed.
    /// Refused while any of its processes is queued or running, or while a
    /// schedule runs into it (named).
    pub async fn remove_repository(&self, id: i64) -> Result<u64, StoreError> {
        let txn = self.db.begin().await?;
        self.lock_row(&txn, "repositories", id).await?;
        refuse_busy("repository", self.busy(&txn, "repository_id", id).await?)?;
        let schedules: Vec<String> = crate::entities::schedule::Entity::find()
            .all(&txn)
            .await?
            .into_iter()
            .filter(|s| s.repository_id == id)
            .map(|s| format!("'{}'", s.name))
            .collect();
        if !schedules.is_empty() {
            return Err(StoreError::Refused(format!(
                "schedule {} runs into this repository; remove {} first (invhost schedule remove NAME)",
                schedules.join(", "),
                if schedules.len() == 1 { "it" } else { "them" }
            )));
        }
        let removed = self.clear_in(&txn, id).await?;
        // Its processes go with it (the foreign key cascades).
        repository::Entity::delete_by_id(id).exec(&txn).await?;
        txn.commit().await?;
        Ok(removed)
    }

    /// Renames a connector. Its actions are named after it, so the
    /// schedule steps named in `actions` (old name, new name) are changed
    /// in the same transaction; the process log keeps the names processes
    /// ran under. Refused while any of its processes is queued or running.
    pub async fn rename_connector(
        &self,
        id: i64,
        new_name: &str,
        actions: &[(String, String)],
    ) -> Result<connector::Model, StoreError> {
        check_name("connector", new_name)?;
        let txn = self.db.begin().await?;
        self.lock_row(&txn, "connectors", id).await?;
        refuse_busy("connector", self.busy(&txn, "connector_id", id).await?)?;
        connector::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or_else(|| StoreError::Refused(format!("no connector has id {id}")))?;
        let row = connector::ActiveModel {
            id: Set(id),
            name: Set(new_name.to_owned()),
            updated_at: Set(Utc::now()),
            ..Default::default()
        };
        let row = row.update(&txn).await.map_err(|e| {
            if unique_violation(&e) {
                StoreError::Duplicate {
                    what: "connector",
                    name: new_name.to_owned(),
                }
            } else {
                e.into()
            }
        })?;
        for schedule in crate::entities::schedule::Entity::find().all(&txn).await? {
            let steps = schedule.action_list();
            let renamed: Vec<String> = steps
                .iter()
                .map(|step| {
                    actions
                        .iter()
                        .find(|(from, _)| from == step)
                        .map_or_else(|| step.clone(), |(_, to)| to.clone())
                })
                .collect();
            if renamed == steps {
                continue;
            }
            let update = crate::entities::schedule::ActiveModel {
                id: Set(schedule.id),
                actions: Set(
                    serde_json::to_string(&renamed).map_err(|e| StoreError::Db(e.to_string()))?
                ),
                ..Default::default()
            };
            update.update(&txn).await?;
        }
        txn.commit().await?;
        Ok(row)
    }

    /// Removes every raw row of a repository, and its consolidated results,
    /// in one transaction; returns the count of raw rows removed.
    pub async fn clear_repository(&self, repository_id: i64) -> Result<u64, StoreError> {
        let txn = self.db.begin().await?;
        let removed = self.clear_in(&txn, repository_id).await?;
        txn.commit().await?;
        Ok(removed)
    }

    /// [`Store::clear_repository`] inside `txn`.
    async fn clear_in(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        repository_id: i64,
    ) -> Result<u64, StoreError> {
        for table in crate::migration::consolidated_tables() {
            let delete = Query::delete()
                .from_table(Alias::new(table))
                .cond_where(Expr::col(Alias::new("repository_id")).eq(repository_id))
                .to_owned();
            txn.execute(self.db_backend().build(&delete)).await?;
        }
        let mut removed = 0;
        let sources = Query::delete()
            .from_table(Alias::new("raw_sources"))
            .cond_where(Expr::col(Alias::new("repository_id")).eq(repository_id))
            .to_owned();
        txn.execute(self.db_backend().build(&sources)).await?;
        for table in raw_tables() {
            let delete = Query::delete()
                .from_table(Alias::new(table.name))
                .cond_where(Expr::col(Alias::new("repository_id")).eq(repository_id))
                .to_owned();
            removed += txn
                .execute(self.db_backend().build(&delete))
                .await?
                .rows_affected();
        }
        Ok(removed)
    }

    /// Creates a connector; its secret parameters are encrypted with `key`.
    pub async fn create_connector(
        &self,
        new: NewConnector,
        key: &SecretKey,
    ) -> Result<connector::Model, StoreError> {
        check_name("connector", &new.name)?;
        let (parameters, secrets) = split_secrets(&new.parameters, &new.secret_keys, key)?;
        let now = Utc::now();
        let row = connector::ActiveModel {
            name: Set(new.name.clone()),
            connector_type: Set(new.connector_type),
            parameters: Set(parameters),
            secrets: Set(secrets),
            run_consolidation: Set(new.run_consolidation),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        row.insert(&self.db).await.map_err(|e| {
            if unique_violation(&e) {
                StoreError::Duplicate {
                    what: "connector",
                    name: new.name,
                }
            } else {
                e.into()
            }
        })
    }

    /// Replaces a connector's parameters and flag.
    pub async fn update_connector(
        &self,
        id: i64,
        parameters: &Parameters,
        secret_keys: &[String],
        run_consolidation: bool,
        key: &SecretKey,
    ) -> Result<connector::Model, StoreError> {
        let (parameters, secrets) = split_secrets(parameters, secret_keys, key)?;
        let row = connector::ActiveModel {
            id: Set(id),
            parameters: Set(parameters),
            secrets: Set(secrets),
            run_consolidation: Set(run_consolidation),
            updated_at: Set(Utc::now()),
            ..Default::default()
        };
        Ok(row.update(&self.db).await?)
    }

    /// Replaces a connector's plain parameters and flag, its encrypted
    /// secrets left as they are (they may not decrypt with the key in hand).
    pub async fn update_connector_plain(
        &self,
        id: i64,
        parameters: &Parameters,
        secret_keys: &[String],
        run_consolidation: bool,
    ) -> Result<connector::Model, StoreError> {
        let mut plain = Map::new();
        for (k, v) in parameters.as_map() {
            if !secret_keys.iter().any(|s| s == k) {
                plain.insert(k.clone(), v.clone());
            }
        }
        let row = connector::ActiveModel {
            id: Set(id),
            parameters: Set(Value::Object(plain).to_string()),
            run_consolidation: Set(run_consolidation),
            updated_at: Set(Utc::now()),
            ..Default::default()
        };
        Ok(row.update(&self.db).await?)
    }

    /// Re-encrypts every connector's secrets under `new`: those `old`
    /// decrypts, in one transaction. Returns the names re-encrypted, those
    /// already under `new`, and those neither key decrypts.
    pub async fn rekey(&self, old: &SecretKey, new: &SecretKey) -> Result<Rekeyed, StoreError> {
        let txn = self.db.begin().await?;
        let mut done = Rekeyed::default();
        for row in connector::Entity::find().all(&txn).await? {
            if new.decrypt(&row.secrets).is_ok() {
                done.already.push(row.name);
                continue;
            }
            let Ok(plain) = old.decrypt(&row.secrets) else {
                done.undecryptable.push(row.name);
                continue;
            };
            let secrets = new.encrypt(&plain)?;
            connector::ActiveModel {
                id: Set(row.id),
                secrets: Set(secrets),
                updated_at: Set(Utc::now()),
                ..Default::default()
            }
            .update(&txn)
            .await?;
            done.rekeyed.push(row.name);
        }
        txn.commit().await?;
        Ok(done)
    }

    /// Removes a connector, and with `purge_data` its raw rows in every
    /// repository; refused while any of its processes is queued or running.
    pub async fn delete_connector(&self, id: i64, purge_data: bool) -> Result<(), StoreError> {
        let txn = self.db.begin().await?;
        self.lock_row(&txn, "connectors", id).await?;
        // A sync under way would publish its rows after they were purged.
        refuse_busy("connector", self.busy(&txn, "connector_id", id).await?)?;
        if purge_data {
            let sources = Query::delete()
                .from_table(Alias::new("raw_sources"))
                .cond_where(Expr::col(Alias::new("connector_id")).eq(id))
                .to_owned();
            txn.execute(self.db_backend().build(&sources)).await?;
            for table in raw_tables() {
                let delete = Query::delete()
                    .from_table(Alias::new(table.name))
                    .cond_where(Expr::col(Alias::new("connector_id")).eq(id))
                    .to_owned();
                txn.execute(self.db_backend().build(&delete)).await?;
            }
        }
        connector::Entity::delete_by_id(id).exec(&txn).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Records a Test's outcome on the connector: the last attempt, and
    /// when it succeeded (`ok` or `warning`) the last success too.
    pub async fn record_test(
        &self,
        id: i64,
        status: &str,
        report_json: String,
    ) -> Result<(), StoreError> {
        let now = Utc::now();
        let mut row = connector::ActiveModel {
            id: Set(id),
            last_test_status: Set(Some(status.to_owned())),
            last_tested_at: Set(Some(now)),
            last_test_report: Set(Some(report_json)),
            ..Default::default()
        };
        if status != "failed" {
            row.last_test_ok_at = Set(Some(now));
        }
        row.update(&self.db).await?;
        Ok(())
    }

    /// Queues a process.
    pub async fn queue_process(&self, new: NewProcess) -> Result<process::Model, StoreError> {
        Ok(queued(new).insert(&self.db).await?)
    }

    /// Marks a process running on `host`.
    pub async fn start_process(&self, id: i64, host: &str) -> Result<(), StoreError> {
        let now = Utc::now();
        let row = process::ActiveModel {
            id: Set(id),
            status: Set(ProcessStatus::Running),
            started_at: Set(Some(now)),
            heartbeat_at: Set(Some(now)),
            host: Set(Some(host.to_owned())),
            ..Default::default()
        };
        row.update(&self.db).await?;
        Ok(())
    }

    /// Ends a process with its counts and one line, if it has not ended
    /// yet (is `queued` or `running`); returns whether it did. A process
    /// another host already ended (a sync that published, one recovery
    /// marked failed) keeps what it says.
    pub async fn finish_process(
        &self,
        id: i64,
        status: ProcessStatus,
        counts: &BTreeMap<RecordKind, u64>,
        message: Option<String>,
    ) -> Result<bool, StoreError> {
        self.end_process(id, status, Some(counts), message, None)
            .await
    }

    /// Marks a process failed with `reason` (a host found it orphaned), if
    /// it has not ended yet; returns whether it did.
    pub async fn fail_process(&self, id: i64, reason: &str) -> Result<bool, StoreError> {
        self.end_process(
            id,
            ProcessStatus::Failed,
            None,
            Some(reason.to_owned()),
            None,
        )
        .await
    }

    /// Ends a process that has not ended, or that failed with a message
    /// starting with `replaces` (what recovery writes for a host that
    /// vanished); returns whether it did.
    pub async fn end_process(
        &self,
        id: i64,
        status: ProcessStatus,
        counts: Option<&BTreeMap<RecordKind, u64>>,
        message: Option<String>,
        replaces: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut update = Query::update();
        update
            .table(process::Entity)
            .value(process::Column::Status, status.as_str())
            .value(process::Column::FinishedAt, Utc::now())
            .value(process::Column::Message, message);
        if let Some(counts) = counts {
            let counts =
                serde_json::to_string(counts).map_err(|e| StoreError::Db(e.to_string()))?;
            update.value(process::Column::Counts, counts);
        }
        let open = Expr::col(process::Column::Status).is_in([
            ProcessStatus::Queued.as_str(),
            ProcessStatus::Running.as_str(),
        ]);
        let replaceable = match replaces {
            Some(placeholder) => open.or(Expr::col(process::Column::Status)
                .eq(ProcessStatus::Failed.as_str())
                .and(Expr::col(process::Column::Message).like(format!("{placeholder}%")))),
            None => open,
        };
        update
            .and_where(Expr::col(process::Column::Id).eq(id))
            .and_where(replaceable);
        let ended = self
            .db
            .execute(self.db_backend().build(&update))
            .await?
            .rows_affected()
            == 1;
        if ended && status != ProcessStatus::Succeeded {
            self.cancel_stranded().await?;
        }
        if ended && status == ProcessStatus::Succeeded && replaces.is_some() {
            // Recovery had failed it and so cancelled the steps after it;
            // its real end is a success: they run after all.
            self.requeue_stranded(id).await?;
        }
        Ok(ended)
    }

    /// Records a sign of life of a running process.
    pub async fn heartbeat(&self, id: i64) -> Result<(), StoreError> {
        let row = process::ActiveModel {
            id: Set(id),
            heartbeat_at: Set(Some(Utc::now())),
            ..Default::default()
        };
        row.update(&self.db).await?;
        Ok(())
    }
}

/// What [`Store::rekey`] did, by connector name.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Rekeyed {
    /// Re-encrypted from the old key to the new one.
    pub rekeyed: Vec<String>,
    /// Already encrypted with the new key.
    pub already: Vec<String>,
    /// Decrypted by neither key: their secrets must be entered again.
    pub undecryptable: Vec<String>,
}

/// Longest connector or repository name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// A name that fits in a table cell, a one-line process message and a log
/// line: not empty, no surrounding spaces, no control characters (tabs,
/// newlines, escapes), at most [`MAX_NAME_CHARS`] characters.
/// Refuses a change while processes of the thing are queued or running,
/// naming them.
fn refuse_busy(what: &str, busy: Vec<(i64, String)>) -> Result<(), StoreError> {
    if busy.is_empty() {
        return Ok(());
    }
    let named: Vec<String> = busy
        .iter()
        .take(3)
        .map(|(id, action)| format!("{id} '{action}'"))
        .collect();
    Err(StoreError::Refused(format!(
        "the {what} has {} queued or running (process {}{}); wait for {} or cancel {} \
         (invhost process cancel ID)",
        if busy.len() == 1 {
            "a process"
        } else {
            "processes"
        },
        named.join(", "),
        if busy.len() > 3 { ", ..." } else { "" },
        if busy.len() == 1 { "it" } else { "them" },
        if busy.len() == 1 { "it" } else { "them" },
    )))
}

pub fn check_name(what: &str, name: &str) -> Result<(), StoreError> {
    let refuse = |why: &str| Err(StoreError::Refused(format!("a {what} name {why}")));
    if name.trim().is_empty() {
        return refuse("cannot be empty");
    }
    if name.trim() != name {
        return refuse("cannot start or end with a space");
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(StoreError::Refused(format!(
            "a {what} name cannot hold control characters (found {}); use letters, digits, spaces and punctuation",
            c.escape_default()
        )));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return refuse(&format!("has at most {MAX_NAME_CHARS} characters"));
    }
    Ok(())
}
