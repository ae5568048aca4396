//! `schedules`: named chains of actions, due on a cron expression (UTC).

use sea_orm::entity::prelude::*;
use serde::Serialize;

/// One schedule.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "schedules")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Unique name; the trigger of the processes it starts.
    #[sea_orm(unique)]
    pub name: String,
    /// The cron expression, as the operator wrote it (UTC).
    pub cron: String,
    /// The repository its actions work on.
    pub repository_id: i64,
    /// The action names, a JSON array, run in this order.
    pub actions: String,
    /// A failed step does not stop the steps after it.
    pub continue_on_failure: bool,
    /// Fires when due; a disabled schedule only runs with `schedule run`.
    pub enabled: bool,
    /// When it is next due.
    pub next_due_at: ChronoDateTimeUtc,
    /// How many due times fired; a host fires one only by moving this on
    /// from the count it read, so a due time fires once across hosts.
    pub fired: i64,
    /// The due time it last fired for.
    pub last_due_at: Option<ChronoDateTimeUtc>,
    /// When it last fired.
    pub last_fired_at: Option<ChronoDateTimeUtc>,
    /// The first process it last queued.
    pub last_process_id: Option<i64>,
    /// What the operator should know about its last firing (a missed due
    /// time, an action that no longer exists).
    pub last_note: Option<String>,
    /// When it was created.
    pub created_at: ChronoDateTimeUtc,
    /// When it was last edited.
    pub updated_at: ChronoDateTimeUtc,
}

/// No relations are navigated through SeaORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
