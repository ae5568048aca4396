//! `processes`: the process log, one row per queued action.

use sea_orm::entity::prelude::*;
use serde::Serialize;

use crate::values::{ProcessStatus, Trigger};

/// One process.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "processes")]
pub struct Model {
    /// Process id.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The process that queued this one (a sync queues consolidation).
    pub parent_id: Option<i64>,
    /// Repository it works on.
    pub repository_id: i64,
    /// Connector it runs, if any.
    pub connector_id: Option<i64>,
    /// Action name (`Sync Data - Contoso`).
    pub action: String,
    /// Who queued it (`operator`, `after sync`, ...).
    pub trigger: Trigger,
    /// Where it is in its life.
    pub status: ProcessStatus,
    /// A clean sync.
    pub clean: bool,
    /// When it was queued.
    pub queued_at: ChronoDateTimeUtc,
    /// When it started.
    pub started_at: Option<ChronoDateTimeUtc>,
    /// When it finished.
    pub finished_at: Option<ChronoDateTimeUtc>,
    /// Rows per record kind, a JSON object.
    pub counts: String,
    /// One line for the operator (the reason, on failure).
    pub message: Option<String>,
    /// `hostname:pid` of the host running it.
    pub host: Option<String>,
    /// Last sign of life of a running process.
    pub heartbeat_at: Option<ChronoDateTimeUtc>,
    /// Who asked a running process to stop, and why (`invhost process cancel`).
    pub cancel_requested: Option<String>,
    /// A step of a chain (a schedule's actions) that runs after its parent
    /// ended, even when the parent failed; otherwise a failed parent
    /// cancels it.
    pub continue_on_failure: bool,
    /// While a sync runs: rows staged so far per kind (a JSON object),
    /// written with its heartbeat.
    pub progress: Option<String>,
    /// The connector's counters of a published sync (a JSON object):
    /// `graph_requests`, `graph_throttled`, ...
    pub counters: Option<String>,
}

/// No relations are navigated through SeaORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
