//! Schedules: stored, edited, and fired once per due time across hosts.
//!
//! The cron arithmetic is the caller's (the host engine): the store keeps
//! the next due time it is given, and [`Store::fire_schedule`] moves it on
//! and queues the schedule's steps in one transaction, only if no other
//! host fired that due time first.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction,
    EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};

use crate::connect::Store;
use crate::entities::{process, schedule};
use crate::error::StoreError;
use crate::mutations::NewProcess;

/// A schedule to create.
#[derive(Debug, Clone)]
pub struct NewSchedule {
    /// Unique name.
    pub name: String,
    /// Cron expression (checked by the caller).
    pub cron: String,
    /// Repository its actions work on.
    pub repository_id: i64,
    /// Action names, in order.
    pub actions: Vec<String>,
    /// A failed step does not stop the rest.
    pub continue_on_failure: bool,
    /// Fires when due.
    pub enabled: bool,
    /// First due time.
    pub next_due_at: DateTime<Utc>,
}

/// What to change in a schedule; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct ScheduleChange {
    /// New cron expression, with the due time it gives from now.
    pub cron: Option<(String, DateTime<Utc>)>,
    /// New repository.
    pub repository_id: Option<i64>,
    /// New action list.
    pub actions: Option<Vec<String>>,
    /// New failure behaviour.
    pub continue_on_failure: Option<bool>,
    /// Enable or disable; enabling needs the due time from now.
    pub enabled: Option<(bool, DateTime<Utc>)>,
}

/// A due time this host fired.
#[derive(Debug, Clone)]
pub struct Firing {
    /// The due time it fired for.
    pub due_at: DateTime<Utc>,
    /// The next due time.
    pub next_due_at: DateTime<Utc>,
    /// What the operator should know (a missed due time).
    pub note: Option<String>,
}

impl schedule::Model {
    /// The action names, in order.
    pub fn action_list(&self) -> Vec<String> {
        serde_json::from_str(&self.actions).unwrap_or_default()
    }
}

fn actions_json(actions: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(actions).map_err(|e| StoreError::Db(e.to_string()))
}

impl Store {
    /// Creates a schedule.
    pub async fn create_schedule(&self, new: NewSchedule) -> Result<schedule::Model, StoreError> {
        let now = Utc::now();
        let row = schedule::ActiveModel {
            name: Set(new.name.clone()),
            cron: Set(new.cron),
            repository_id: Set(new.repository_id),
            actions: Set(actions_json(&new.actions)?),
            continue_on_failure: Set(new.continue_on_failure),
            enabled: Set(new.enabled),
            next_due_at: Set(new.next_due_at),
            fired: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        row.insert(&self.db).await.map_err(|e| {
            if crate::mutations::unique_violation(&e) {
                StoreError::Duplicate {
                    what: "schedule",
                    name: new.name,
                }
            } else {
                e.into()
            }
        })
    }

    /// Every schedule, by name.
    pub async fn schedules(&self) -> Result<Vec<schedule::Model>, StoreError> {
        Ok(schedule::Entity::find()
            .order_by_asc(schedule::Column::Name)
            .all(&self.db)
            .await?)
    }

    /// The schedule named `name`.
    pub async fn schedule(&self, name: &str) -> Result<schedule::Model, StoreError> {
        let found = schedule::Entity::find()
            .filter(schedule::Column::Name.eq(name))
            .one(&self.db)
            .await?;
        match found {
            Some(row) => Ok(row),
            None => Err(StoreError::NotFound {
                what: "schedule",
                name: name.to_owned(),
                known: self
                    .schedules()
                    .await?
                    .into_iter()
                    .map(|s| s.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// Changes a schedule.
    pub async fn update_schedule(
        &self,
        id: i64,
        change: ScheduleChange,
    ) -> Result<schedule::Model, StoreError> {
        let mut row = schedule::ActiveModel {
            id: Set(id),
            updated_at: Set(Utc::now()),
            ..Default::default()
        };
        if let Some((cron, next_due_at)) = change.cron {
            row.cron = Set(cron);
            row.next_due_at = Set(next_due_at);
        }
        if let Some(repository_id) = change.repository_id {
            row.repository_id = Set(repository_id);
        }
        if let Some(actions) = change.actions {
            row.actions = Set(actions_json(&actions)?);
        }
        if let Some(continue_on_failure) = change.continue_on_failure {
            row.continue_on_failure = Set(continue_on_failure);
        }
        if let Some((enabled, next_due_at)) = change.enabled {
            row.enabled = Set(enabled);
            if enabled {
                row.next_due_at = Set(next_due_at);
            }
        }
        Ok(row.update(&self.db).await?)
    }

    /// Removes a schedule; the processes it queued stay in the log.
    pub async fn delete_schedule(&self, id: i64) -> Result<(), StoreError> {
        schedule::Entity::delete_by_id(id).exec(&self.db).await?;
        Ok(())
    }

    /// Fires the due time of `schedule` as read (its `fired` count and
    /// `next_due_at`), unless another host did first: moves it on to
    /// `firing.next_due_at` and queues `steps` chained in order, each the
    /// child of the one before, all in one transaction. `None` when another
    /// host fired it (nothing is queued).
    pub async fn fire_schedule(
        &self,
        schedule: &schedule::Model,
        firing: &Firing,
        steps: Vec<NewProcess>,
    ) -> Result<Option<Vec<process::Model>>, StoreError> {
        let txn = self.db.begin().await?;
        // The claim is the first statement: on SQLite it takes the write lock.
        let claim = Query::update()
            .table(schedule::Entity)
            .value(
                schedule::Column::Fired,
                Expr::col(schedule::Column::Fired).add(1),
            )
            .value(schedule::Column::NextDueAt, firing.next_due_at)
            .value(schedule::Column::LastDueAt, firing.due_at)
            .value(schedule::Column::LastFiredAt, Utc::now())
            .value(schedule::Column::LastNote, firing.note.clone())
            .and_where(Expr::col(schedule::Column::Id).eq(schedule.id))
            .and_where(Expr::col(schedule::Column::Fired).eq(schedule.fired))
            // An edit that disabled it or changed its cron meanwhile wins.
            .and_where(Expr::col(schedule::Column::Enabled).eq(true))
            .and_where(Expr::col(schedule::Column::Cron).eq(schedule.cron.as_str()))
            .to_owned();
        let claimed = txn.execute(self.db_backend().build(&claim)).await?;
        if claimed.rows_affected() != 1 {
            txn.rollback().await?;
            return Ok(None);
        }
        let queued = queue_chain_in(&txn, steps).await?;
        if let Some(first) = queued.first() {
            let link = Query::update()
                .table(schedule::Entity)
                .value(schedule::Column::LastProcessId, first.id)
                .and_where(Expr::col(schedule::Column::Id).eq(schedule.id))
                .to_owned();
            txn.execute(self.db_backend().build(&link)).await?;
        }
        txn.commit().await?;
        Ok(Some(queued))
    }

    /// Records on a schedule what the operator should know about a due
    /// time it could not fire (an action that no longer exists), and moves
    /// it on, unless another host did first.
    pub async fn skip_schedule(
        &self,
        schedule: &schedule::Model,
        firing: &Firing,
    ) -> Result<bool, StoreError> {
        let skip = Query::update()
            .table(schedule::Entity)
            .value(
                schedule::Column::Fired,
                Expr::col(schedule::Column::Fired).add(1),
            )
            .value(schedule::Column::NextDueAt, firing.next_due_at)
            .value(schedule::Column::LastDueAt, firing.due_at)
            .value(schedule::Column::LastFiredAt, Utc::now())
            .value(schedule::Column::LastNote, firing.note.clone())
            .and_where(Expr::col(schedule::Column::Id).eq(schedule.id))
            .and_where(Expr::col(schedule::Column::Fired).eq(schedule.fired))
            // An edit that disabled it or changed its cron meanwhile wins.
            .and_where(Expr::col(schedule::Column::Enabled).eq(true))
            .and_where(Expr::col(schedule::Column::Cron).eq(schedule.cron.as_str()))
            .to_owned();
        let done = self.db.execute(self.db_backend().build(&skip)).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Queues `steps` as one chain: each step is the child of the one
    /// before it and runs only once that one has ended (see
    /// [`NewProcess::continue_on_failure`]).
    pub async fn queue_chain(
        &self,
        steps: Vec<NewProcess>,
    ) -> Result<Vec<process::Model>, StoreError> {
        let txn = self.db.begin().await?;
        let queued = queue_chain_in(&txn, steps).await?;
        txn.commit().await?;
        Ok(queued)
    }
}

async fn queue_chain_in(
    txn: &DatabaseTransaction,
    steps: Vec<NewProcess>,
) -> Result<Vec<process::Model>, StoreError> {
    let mut queued: Vec<process::Model> = Vec::with_capacity(steps.len());
    for mut step in steps {
        if let Some(previous) = queued.last() {
            step.parent_id = Some(previous.id);
        }
        queued.push(crate::mutations::queued(step).insert(txn).await?);
    }
    Ok(queued)
}
