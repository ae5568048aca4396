//! Reads for the operator's views.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use connector_core::{Parameters, RecordKind};
use sea_orm::sea_query::{Alias, Expr, Func, JoinType, Order, Query, SimpleExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use serde_json::{Map, Value};

use crate::connect::Store;
use crate::entities::{connector, process, repository};
use crate::error::StoreError;
use crate::raw::{ColumnType, Lookup, RUN_COLUMNS, lookups, raw_table, raw_tables};
use crate::secrets::SecretKey;
use crate::values::{ProcessStatus, Trigger};

/// A page of a list.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// Rows at most.
    pub limit: u64,
    /// Rows to skip.
    pub offset: u64,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            limit: 100,
            offset: 0,
        }
    }
}

/// Which raw rows, in which order.
#[derive(Debug, Clone, Default)]
pub struct RawQuery {
    /// Rows with this text in any text column (case-insensitive).
    pub search: Option<String>,
    /// A column to order by, and whether descending.
    pub sort: Option<(String, bool)>,
    /// Only rows whose column equals the value (text compared without
    /// regard to case; an empty value matches an empty or missing one).
    /// The columns are the row's own, `connector`, and the looked-up ones.
    pub filters: Vec<(String, String)>,
    /// Only rows after this key (connector id, source key) in the default
    /// order (no `sort`): pages that cost the same at any depth, for reading
    /// every row a page at a time (see [`Store::raw_rows_keyed`]).
    pub after: Option<(i64, String)>,
}

/// Which processes to list.
#[derive(Debug, Clone, Default)]
pub struct ProcessFilter {
    /// Only this repository.
    pub repository_id: Option<i64>,
    /// Only the processes of this connector (its syncs and tests).
    pub connector_id: Option<i64>,
    /// Only this status.
    pub status: Option<ProcessStatus>,
    /// Only processes queued this way (a schedule's name, ...).
    pub trigger: Option<Trigger>,
    /// Only the children of this process (the next step of a chain, the
    /// consolidation a sync queued).
    pub parent_id: Option<i64>,
    /// Only processes queued at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Newest first, at most this many (all when `None`).
    pub limit: Option<u64>,
}

fn not_found(what: &'static str, name: &str, known: Vec<String>) -> StoreError {
    StoreError::NotFound {
        what,
        name: name.to_owned(),
        known: known.join(", "),
    }
}

impl Store {
    /// Every repository, by name.
    pub async fn repositories(&self) -> Result<Vec<repository::Model>, StoreError> {
        Ok(repository::Entity::find()
            .order_by_asc(repository::Column::Name)
            .all(&self.db)
            .await?)
    }

    /// The repository of this name, or an error listing the names.
    pub async fn repository(&self, name: &str) -> Result<repository::Model, StoreError> {
        let all = self.repositories().await?;
        let known = all.iter().map(|r| r.name.clone()).collect();
        let folded = name.to_lowercase();
        match all.iter().position(|r| r.name == name) {
            Some(at) => Ok(all.into_iter().nth(at).unwrap_or_else(|| unreachable!())),
            None => all
                .into_iter()
                .find(|r| r.name.to_lowercase() == folded)
                .ok_or_else(|| not_found("repository", name, known)),
        }
    }

    /// Every connector, by name.
    pub async fn connectors(&self) -> Result<Vec<connector::Model>, StoreError> {
        Ok(connector::Entity::find()
            .order_by_asc(connector::Column::Name)
            .all(&self.db)
            .await?)
    }

    /// The connector of this name, or an error listing the names.
    pub async fn connector(&self, name: &str) -> Result<connector::Model, StoreError> {
        let all = self.connectors().await?;
        let known = all.iter().map(|c| c.name.clone()).collect();
        let folded = name.to_lowercase();
        match all.iter().position(|c| c.name == name) {
            Some(at) => Ok(all.into_iter().nth(at).unwrap_or_else(|| unreachable!())),
            None => all
                .into_iter()
                .find(|c| c.name.to_lowercase() == folded)
                .ok_or_else(|| not_found("connector", name, known)),
        }
    }

    /// A connector's parameters without its secrets (no key needed).
    pub fn connector_plain_parameters(
        &self,
        row: &connector::Model,
    ) -> Result<Parameters, StoreError> {
        let plain = serde_json::from_str(&row.parameters).map_err(|e| {
            StoreError::Db(format!(
                "connector '{}' has unreadable parameters: {e}",
                row.name
            ))
        })?;
        Parameters::from_json(plain).map_err(|e| StoreError::Db(e.to_string()))
    }

    /// A connector's parameters with its secrets decrypted.
    pub fn connector_parameters(
        &self,
        row: &connector::Model,
        key: &SecretKey,
    ) -> Result<Parameters, StoreError> {
        let bad = |e: serde_json::Error| {
            StoreError::Db(format!(
                "connector '{}' has unreadable parameters: {e}",
                row.name
            ))
        };
        let mut parameters =
            Parameters::from_json(serde_json::from_str(&row.parameters).map_err(bad)?)
                .map_err(|e| StoreError::Db(e.to_string()))?;
        let secrets: Map<String, Value> =
            serde_json::from_slice(&key.decrypt(&row.secrets)?).map_err(bad)?;
        for (k, v) in secrets {
            parameters.insert(k, v);
        }
        Ok(parameters)
    }

    /// One process.
    pub async fn process(&self, id: i64) -> Result<process::Model, StoreError> {
        process::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "process",
                name: id.to_string(),
                known: String::new(),
            })
    }

    /// Processes, newest first.
    pub async fn processes(
        &self,
        filter: &ProcessFilter,
    ) -> Result<Vec<process::Model>, StoreError> {
        let mut query = process::Entity::find().order_by_desc(process::Column::Id);
        if let Some(id) = filter.repository_id {
            query = query.filter(process::Column::RepositoryId.eq(id));
        }
        if let Some(id) = filter.connector_id {
            query = query.filter(process::Column::ConnectorId.eq(id));
        }
        if let Some(status) = filter.status {
            query = query.filter(process::Column::Status.eq(status.as_str()));
        }
        if let Some(trigger) = &filter.trigger {
            query = query.filter(process::Column::Trigger.eq(trigger.to_string()));
        }
        if let Some(parent) = filter.parent_id {
            query = query.filter(process::Column::ParentId.eq(parent));
        }
        if let Some(since) = filter.since {
            query = query.filter(process::Column::QueuedAt.gte(since));
        }
        if let Some(limit) = filter.limit {
            query = query.limit(limit);
        }
        Ok(query.all(&self.db).await?)
    }

    /// The newest process of each connector, by connector id, in one query.
    pub async fn last_process_per_connector(
        &self,
    ) -> Result<std::collections::HashMap<i64, process::Model>, StoreError> {
        use sea_orm::sea_query::Query;
        let newest = Query::select()
            .expr(Func::max(Expr::col(process::Column::Id)))
            .from(process::Entity)
            .and_where(Expr::col(process::Column::ConnectorId).is_not_null())
            .group_by_col(process::Column::ConnectorId)
            .to_owned();
        Ok(process::Entity::find()
            .filter(process::Column::Id.in_subquery(newest))
            .all(&self.db)
            .await?
            .into_iter()
            .filter_map(|p| p.connector_id.map(|c| (c, p)))
            .collect())
    }

    /// Raw rows per record kind in a repository, all from one snapshot (no
    /// sync publishes between two of the counts).
    pub async fn raw_counts(
        &self,
        repository_id: i64,
    ) -> Result<BTreeMap<RecordKind, u64>, StoreError> {
        let snapshot = self.snapshot().await?;
        let mut counts = BTreeMap::new();
        for table in raw_tables() {
            let select = Query::select()
                .expr_as(
                    Func::count(Expr::col(Alias::new("source_key"))),
                    Alias::new("n"),
                )
                .from(Alias::new(table.name))
                .and_where(Expr::col(Alias::new("repository_id")).eq(repository_id))
                .to_owned();
            let row = snapshot.query_one(self.db_backend().build(&select)).await?;
            let n: i64 = match row {
                Some(row) => row.try_get("", "n")?,
                None => 0,
            };
            counts.insert(table.kind, n as u64);
        }
        snapshot.commit().await?;
        Ok(counts)
    }

    /// Raw rows a connector wrote, per repository id (repositories where it
    /// wrote none are left out).
    pub async fn connector_rows(
        &self,
        connector_id: i64,
    ) -> Result<BTreeMap<i64, u64>, StoreError> {
        let snapshot = self.snapshot().await?;
        let mut counts: BTreeMap<i64, u64> = BTreeMap::new();
        for table in raw_tables() {
            let select = Query::select()
                .column(Alias::new("repository_id"))
                .expr_as(
                    Func::count(Expr::col(Alias::new("source_key"))),
                    Alias::new("n"),
                )
                .from(Alias::new(table.name))
                .and_where(Expr::col(Alias::new("connector_id")).eq(connector_id))
                .group_by_col(Alias::new("repository_id"))
                .to_owned();
            for row in snapshot.query_all(self.db_backend().build(&select)).await? {
                let repository: i64 = row.try_get("", "repository_id")?;
                let n: i64 = row.try_get("", "n")?;
                *counts.entry(repository).or_default() += n as u64;
            }
        }
        snapshot.commit().await?;
        Ok(counts)
    }

    /// A read-only transaction whose statements all see one state of the
    /// database: REPEATABLE READ on PostgreSQL; on SQLite (WAL) any
    /// transaction reads from the snapshot its first read takes.
    pub(crate) async fn snapshot(&self) -> Result<sea_orm::DatabaseTransaction, StoreError> {
        Ok(match self.backend() {
            crate::Backend::Postgres => {
                self.db
                    .begin_with_config(
                        Some(sea_orm::IsolationLevel::RepeatableRead),
                        Some(sea_orm::AccessMode::ReadOnly),
                    )
                    .await?
            }
            crate::Backend::Sqlite => self.db.begin().await?,
        })
    }

    /// A page of a repository's raw rows of one kind, as JSON objects with
    /// the connector's name, ordered by connector and source key.
    pub async fn raw_rows(
        &self,
        repository_id: i64,
        kind: RecordKind,
        page: Page,
    ) -> Result<Vec<Map<String, Value>>, StoreError> {
        self.raw_rows_where(repository_id, kind, page, &RawQuery::default())
            .await
    }

    /// How many raw rows of one kind match `query` (its sort aside).
    pub async fn raw_count(
        &self,
        repository_id: i64,
        kind: RecordKind,
        query: &RawQuery,
    ) -> Result<u64, StoreError> {
        let table = raw_table(kind)
            .ok_or_else(|| StoreError::Db(format!("no table holds {kind} records")))?;
        let r = Alias::new("r");
        let mut select = Query::select();
        select
            .from_as(Alias::new(table.name), r.clone())
            .expr_as(
                Func::count(Expr::col((r.clone(), Alias::new("source_key")))),
                Alias::new("n"),
            )
            .and_where(Expr::col((r.clone(), Alias::new("repository_id"))).eq(repository_id));
        if let Some(condition) = self.condition(table, &r, query)? {
            // The looked-up names are searched too, so they are joined
            // only when there is a search or a filter.
            join_lookups(&mut select, kind, &r);
            select.join_as(
                JoinType::LeftJoin,
                Alias::new("connectors"),
                Alias::new("c"),
                Expr::col((Alias::new("c"), Alias::new("id")))
                    .equals((r.clone(), Alias::new("connector_id"))),
            );
            select.cond_where(condition);
        }
        let row = self.db.query_one(self.db_backend().build(&select)).await?;
        Ok(match row {
            Some(row) => row.try_get::<i64>("", "n")? as u64,
            None => 0,
        })
    }

    /// What `query` keeps of the rows: its search (any text column holds
    /// the text) and its filters (all of them hold).
    fn condition(
        &self,
        table: &crate::raw::RawTable,
        r: &Alias,
        query: &RawQuery,
    ) -> Result<Option<sea_orm::sea_query::Condition>, StoreError> {
        let mut all = sea_orm::sea_query::Condition::all();
        let mut any_condition = false;
        if let Some(search) = self.search_condition(table, r, query) {
            all = all.add(search);
            any_condition = true;
        }
        for (column, value) in &query.filters {
            let (expr, kind) = filter_column(table, r, column)?;
            let value = value.trim();
            let condition = if value.is_empty() {
                sea_orm::sea_query::Condition::any()
                    .add(Expr::expr(expr.clone()).is_null())
                    .add(match kind {
                        ColumnType::Text => Expr::expr(expr).eq(""),
                        _ => Expr::expr(expr).is_null(),
                    })
            } else {
                let compared = match kind {
                    ColumnType::Text => Expr::expr(Func::lower(expr)).eq(value.to_lowercase()),
                    ColumnType::BigInt | ColumnType::Int => {
                        let n: i64 = value.parse().map_err(|_| {
                            StoreError::Refused(format!(
                                "'{column}' holds whole numbers; '{value}' is not one"
                            ))
                        })?;
                        Expr::expr(expr).eq(n)
                    }
                    ColumnType::Bool => {
                        let b = match value.to_ascii_lowercase().as_str() {
                            "true" | "yes" | "1" => true,
                            "false" | "no" | "0" => false,
                            _ => {
                                return Err(StoreError::Refused(format!(
                                    "'{column}' is true or false; '{value}' is neither"
                                )));
                            }
                        };
                        Expr::expr(expr).eq(b)
                    }
                };
                sea_orm::sea_query::Condition::all().add(compared)
            };
            all = all.add(condition);
            any_condition = true;
        }
        Ok(any_condition.then_some(all))
    }

    fn search_condition(
        &self,
        table: &crate::raw::RawTable,
        r: &Alias,
        query: &RawQuery,
    ) -> Option<sea_orm::sea_query::Condition> {
        let text = query
            .search
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())?;
        let escaped = text
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let pattern = format!("%{}%", escaped.to_lowercase());
        let mut any = sea_orm::sea_query::Condition::any();
        let mut columns: Vec<(Alias, &str)> = vec![(r.clone(), "source_key")];
        columns.extend(
            table
                .columns
                .iter()
                .filter(|(_, kind)| matches!(kind, ColumnType::Text))
                .map(|(c, _)| (r.clone(), *c)),
        );
        columns.extend(
            lookups(table.kind)
                .iter()
                .map(|l| (lookup_alias(table.kind, l), l.value)),
        );
        for (alias, column) in columns {
            any = any.add(
                Expr::expr(Func::lower(Expr::col((alias, Alias::new(column)))))
                    .like(sea_orm::sea_query::LikeExpr::new(pattern.clone()).escape('\\')),
            );
        }
        Some(any)
    }

    /// A page of a repository's raw rows of one kind matching `query`, as
    /// JSON objects with the connector's name and the readable columns of
    /// [`lookups`] (an installation's device and application names).
    pub async fn raw_rows_where(
        &self,
        repository_id: i64,
        kind: RecordKind,
        page: Page,
        query: &RawQuery,
    ) -> Result<Vec<Map<String, Value>>, StoreError> {
        Ok(self
            .raw_rows_keyed(repository_id, kind, page, query)
            .await?
            .0)
    }

    /// [`Store::raw_rows_where`], with the key of the page's last row: give
    /// it as [`RawQuery::after`] (offset 0) for the next page.
    pub async fn raw_rows_keyed(
        &self,
        repository_id: i64,
        kind: RecordKind,
        page: Page,
        query: &RawQuery,
    ) -> Result<(Vec<Map<String, Value>>, Option<(i64, String)>), StoreError> {
        if query.after.is_some() && query.sort.is_some() {
            return Err(StoreError::Refused(
                "rows after a key are read in the default order only".into(),
            ));
        }
        let table = raw_table(kind)
            .ok_or_else(|| StoreError::Db(format!("no table holds {kind} records")))?;
        let r = Alias::new("r");
        // The order: the column asked for (the row's own, or a looked-up
        // one), then connector and source key, so pages never overlap.
        let sort = match &query.sort {
            None => None,
            Some((column, descending)) => {
                let order = if *descending { Order::Desc } else { Order::Asc };
                if table.all_columns().any(|c| c == column.as_str()) {
                    Some(((r.clone(), Alias::new(column.as_str())), order))
                } else if column == "connector" {
                    Some(((Alias::new("c"), Alias::new("name")), order))
                } else if let Some(lookup) = lookups(kind).iter().find(|l| l.column == column) {
                    Some((
                        (lookup_alias(kind, lookup), Alias::new(lookup.value)),
                        order,
                    ))
                } else {
                    let names: Vec<&str> = table
                        .all_columns()
                        .chain(["connector"])
                        .chain(lookups(kind).iter().map(|l| l.column))
                        .collect();
                    return Err(StoreError::Refused(format!(
                        "cannot sort {kind} rows by '{column}' (one of: {})",
                        names.join(", ")
                    )));
                }
            }
        };
        let order = |select: &mut sea_orm::sea_query::SelectStatement| {
            if let Some((column, order)) = &sort {
                select.order_by(column.clone(), order.clone());
            }
            select
                .order_by((r.clone(), Alias::new("connector_id")), Order::Asc)
                .order_by((r.clone(), Alias::new("source_key")), Order::Asc);
        };
        let search = self.condition(table, &r, query)?;
        let sorted_by_lookup = query.sort.as_ref().is_some_and(|(column, _)| {
            column == "connector" || lookups(kind).iter().any(|l| l.column == column)
        });
        let mut select = Query::select();
        if search.is_none() && !sorted_by_lookup {
            // The page is chosen from the raw table alone (its primary key
            // orders it), and only its rows are joined to their names: a
            // deep page of a million rows does not join the rows before it.
            let mut page_rows = Query::select();
            page_rows
                .from_as(Alias::new(table.name), r.clone())
                .and_where(Expr::col((r.clone(), Alias::new("repository_id"))).eq(repository_id))
                .limit(page.limit)
                .offset(page.offset);
            if let Some(after) = after_key(&r, query) {
                page_rows.and_where(after);
            }
            for column in table.all_columns() {
                page_rows.column((r.clone(), Alias::new(column)));
            }
            order(&mut page_rows);
            select.from_subquery(page_rows, r.clone());
        } else {
            select
                .from_as(Alias::new(table.name), r.clone())
                .and_where(Expr::col((r.clone(), Alias::new("repository_id"))).eq(repository_id))
                .limit(page.limit)
                .offset(page.offset);
            if let Some(condition) = search {
                select.cond_where(condition);
            }
            if let Some(after) = after_key(&r, query) {
                select.and_where(after);
            }
        }
        select
            .expr_as(
                Expr::col((Alias::new("c"), Alias::new("name"))),
                Alias::new("connector"),
            )
            .join_as(
                JoinType::LeftJoin,
                Alias::new("connectors"),
                Alias::new("c"),
                Expr::col((Alias::new("c"), Alias::new("id")))
                    .equals((r.clone(), Alias::new("connector_id"))),
            );
        join_lookups(&mut select, kind, &r);
        for lookup in lookups(kind) {
            select.expr_as(
                Expr::col((lookup_alias(kind, lookup), Alias::new(lookup.value))),
                Alias::new(lookup.column),
            );
        }
        order(&mut select);
        for column in table.all_columns() {
            select.column((r.clone(), Alias::new(column)));
        }
        let rows = self.db.query_all(self.db_backend().build(&select)).await?;
        let mut out = Vec::with_capacity(rows.len());
        let mut last = None;
        for row in rows {
            last = Some((
                row.try_get::<i64>("", "connector_id")?,
                row.try_get::<String>("", "source_key")?,
            ));
            let mut object = Map::new();
            object.insert(
                "connector".into(),
                row.try_get::<Option<String>>("", "connector")?
                    .map_or(Value::Null, Value::from),
            );
            object.insert(
                "source_key".into(),
                Value::from(row.try_get::<String>("", "source_key")?),
            );
            for (column, kind) in &table.columns {
                let value = match kind {
                    ColumnType::Text => row.try_get::<Option<String>>("", column)?.map(Value::from),
                    ColumnType::BigInt => row.try_get::<Option<i64>>("", column)?.map(Value::from),
                    ColumnType::Int => row.try_get::<Option<i32>>("", column)?.map(Value::from),
                    ColumnType::Bool => row.try_get::<Option<bool>>("", column)?.map(Value::from),
                };
                object.insert((*column).into(), value.unwrap_or(Value::Null));
            }
            for column in RUN_COLUMNS {
                object.insert(column.into(), Value::from(row.try_get::<i64>("", column)?));
            }
            for lookup in lookups(kind) {
                object.insert(
                    lookup.column.into(),
                    row.try_get::<Option<String>>("", lookup.column)?
                        .map_or(Value::Null, Value::from),
                );
            }
            out.push(object);
        }
        Ok((out, last))
    }
}

/// `(connector_id, source_key) > (…)`: the rows after a page's last, in the
/// order of the primary key (which the comparison can use).
fn after_key(r: &Alias, query: &RawQuery) -> Option<sea_orm::sea_query::SimpleExpr> {
    let (connector, key) = query.after.clone()?;
    Some(
        Expr::tuple([
            Expr::col((r.clone(), Alias::new("connector_id"))).into(),
            Expr::col((r.clone(), Alias::new("source_key"))).into(),
        ])
        .gt(Expr::tuple([Expr::value(connector), Expr::value(key)])),
    )
}

/// The expression and type of a column a filter names: the row's own, the
/// connector's name, or a looked-up one.
fn filter_column(
    table: &crate::raw::RawTable,
    r: &Alias,
    column: &str,
) -> Result<(SimpleExpr, ColumnType), StoreError> {
    let own = table
        .columns
        .iter()
        .find(|(c, _)| *c == column)
        .map(|(_, kind)| *kind)
        .or(match column {
            "source_key" => Some(ColumnType::Text),
            "connector_id" | "first_seen_run" | "last_seen_run" => Some(ColumnType::BigInt),
            _ => None,
        });
    if let Some(kind) = own {
        return Ok((Expr::col((r.clone(), Alias::new(column))).into(), kind));
    }
    if column == "connector" {
        return Ok((
            Expr::col((Alias::new("c"), Alias::new("name"))).into(),
            ColumnType::Text,
        ));
    }
    if let Some(lookup) = lookups(table.kind).iter().find(|l| l.column == column) {
        return Ok((
            Expr::col((lookup_alias(table.kind, lookup), Alias::new(lookup.value))).into(),
            ColumnType::Text,
        ));
    }
    let names: Vec<&str> = table
        .all_columns()
        .chain(["connector"])
        .chain(lookups(table.kind).iter().map(|l| l.column))
        .collect();
    Err(StoreError::Refused(format!(
        "cannot filter {} rows by '{column}' (one of: {})",
        table.kind,
        names.join(", ")
    )))
}

/// The alias of the joined row a lookup reads: one join per (key, table).
fn lookup_alias(kind: RecordKind, lookup: &Lookup) -> Alias {
    let index = lookups(kind)
        .iter()
        .position(|l| l.key == lookup.key && l.table == lookup.table)
        .unwrap_or(0);
    Alias::new(format!("l{index}"))
}

/// Left-joins the rows the lookups of `kind` read, by source key in the same
/// repository and connector (their primary key).
fn join_lookups(select: &mut sea_orm::sea_query::SelectStatement, kind: RecordKind, r: &Alias) {
    let all = lookups(kind);
    for (index, lookup) in all.iter().enumerate() {
        let joined = all[..index]
            .iter()
            .any(|l| l.key == lookup.key && l.table == lookup.table);
        if joined {
            continue;
        }
        let alias = lookup_alias(kind, lookup);
        select.join_as(
            JoinType::LeftJoin,
            Alias::new(lookup.table),
            alias.clone(),
            sea_orm::sea_query::Condition::all()
                .add(
                    Expr::col((alias.clone(), Alias::new("repository_id")))
                        .equals((r.clone(), Alias::new("repository_id"))),
                )
                .add(
                    Expr::col((alias.clone(), Alias::new("connector_id")))
                        .equals((r.clone(), Alias::new("connector_id"))),
                )
                .add(
                    Expr::col((alias, Alias::new("source_key")))
                        .equals((r.clone(), Alias::new(lookup.key))),
                ),
        );
    }
}

/// What `/metrics` reports of the process log.
#[derive(Debug, Clone, Default)]
pub struct ProcessStats {
    /// Processes by (status, action).
    pub by_status_and_action: Vec<(String, String, u64)>,
    /// Ended processes by action: (action, count, seconds in all).
    pub durations: Vec<(String, u64, f64)>,
    /// Rows written by succeeded processes, by record kind.
    pub records: BTreeMap<String, u64>,
    /// Connector counters of succeeded processes, added up by name.
    pub counters: BTreeMap<String, u64>,
}

impl Store {
    /// Counts of the process log for monitoring.
    pub async fn process_stats(&self) -> Result<ProcessStats, StoreError> {
        let backend = self.db_backend();
        let mut stats = ProcessStats::default();
        let rows = self
            .db
            .query_all(sea_orm::Statement::from_string(
                backend,
                "SELECT status, action, count(*) AS n FROM processes GROUP BY status, action",
            ))
            .await?;
        for row in rows {
            let n: i64 = row.try_get("", "n")?;
            stats.by_status_and_action.push((
                row.try_get("", "status")?,
                row.try_get("", "action")?,
                n as u64,
            ));
        }
        use sea_orm::PaginatorTrait;
        // Only the columns summed, a page at a time: a long log is read
        // through, never held.
        type Ended = (
            String,
            ProcessStatus,
            Option<DateTime<Utc>>,
            Option<DateTime<Utc>>,
            String,
            Option<String>,
        );
        let mut durations: BTreeMap<String, (u64, f64)> = BTreeMap::new();
        let mut pages = process::Entity::find()
            .select_only()
            .columns([
                process::Column::Action,
                process::Column::Status,
                process::Column::StartedAt,
                process::Column::FinishedAt,
                process::Column::Counts,
                process::Column::Counters,
            ])
            .filter(process::Column::StartedAt.is_not_null())
            .filter(process::Column::FinishedAt.is_not_null())
            .order_by_asc(process::Column::Id)
            .into_tuple::<Ended>()
            .paginate(&self.db, 10_000);
        while let Some(page) = pages.fetch_and_next().await? {
            for (action, status, started, finished, counts, counters) in page {
                if let (Some(s), Some(f)) = (started, finished) {
                    let entry = durations.entry(action).or_default();
                    entry.0 += 1;
                    entry.1 += (f - s).num_milliseconds() as f64 / 1000.0;
                }
                if status == ProcessStatus::Succeeded {
                    let counts: BTreeMap<String, u64> =
                        serde_json::from_str(&counts).unwrap_or_default();
                    for (kind, n) in counts {
                        *stats.records.entry(kind).or_default() += n;
                    }
                    let counters: BTreeMap<String, u64> = counters
                        .as_deref()
                        .and_then(|c| serde_json::from_str(c).ok())
                        .unwrap_or_default();
                    for (name, n) in counters {
                        *stats.counters.entry(name).or_default() += n;
                    }
                }
            }
        }
        stats.durations = durations
            .into_iter()
            .map(|(action, (n, secs))| (action, n, secs))
            .collect();
        Ok(stats)
    }
}
