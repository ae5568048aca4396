//! *Generate Report - Basic Inventory Consolidation*: rebuilds a
//! repository's `cons_*` tables from its raw rows, in one transaction.
//!
//! Only the distinct application titles and usage-report applications (a
//! few thousand at most) pass through Rust, to be named by the [`Catalog`];
//! everything that scales with the tenant (devices, installations, usage,
//! assignments) is `INSERT … SELECT` and `UPDATE … FROM` on the database.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use chrono::{Days, NaiveDate};
use sea_orm::sea_query::{Alias, Query};
use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbBackend, Statement, TransactionTrait, Value,
};
use serde::Serialize;

use super::catalog::Catalog;
use crate::connect::Store;
use crate::error::StoreError;
use crate::fold::fold;
use crate::migration::consolidated_tables;

/// Usage categories, best first, as stored in the `state` columns.
pub const CATEGORIES: [&str; 4] = ["Used", "Rarely Used", "Unused", "Unreported"];

/// The name of a stored `state`.
pub fn category(state: i32) -> &'static str {
    match state {
        1 => CATEGORIES[0],
        2 => CATEGORIES[1],
        3 => CATEGORIES[2],
        _ => CATEGORIES[3],
    }
}

/// How to judge usage.
#[derive(Debug, Clone)]
pub struct Thresholds {
    /// Activity within this many days is Used (default 30).
    pub used_days: u32,
    /// Activity within this many days, but not within `used_days`, is
    /// Rarely Used (default 90); older activity is Unused.
    pub rarely_used_days: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            used_days: 30,
            rarely_used_days: 90,
        }
    }
}

impl Thresholds {
    /// Refuses thresholds that cannot order the categories.
    pub fn validate(&self) -> Result<(), String> {
        if self.used_days == 0 {
            return Err("used_days must be at least 1".into());
        }
        if self.rarely_used_days < self.used_days {
            return Err(format!(
                "rarely_used_days ({}) must be at least used_days ({})",
                self.rarely_used_days, self.used_days
            ));
        }
        Ok(())
    }
}

/// What one consolidation runs with.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The repository.
    pub repository_id: i64,
    /// The process doing it, for the record.
    pub process_id: Option<i64>,
    /// The rule catalog, already loaded and checked.
    pub catalog: &'a Catalog,
    /// The operator's rule files, for the record.
    pub rule_files: Vec<String>,
    /// The thresholds.
    pub thresholds: Thresholds,
    /// The day usage is judged on (today, in production).
    pub as_of: NaiveDate,
}

/// What a consolidation produced.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// Raw devices read.
    pub raw_devices: u64,
    /// Consolidated devices.
    pub devices: u64,
    /// Consolidated users with a principal name.
    pub users: u64,
    /// Concealed report identities, kept apart.
    pub concealed_identities: u64,
    /// Products.
    pub products: u64,
    /// Products no rule named (raw values kept).
    pub unmatched_products: u64,
    /// Raw applications named.
    pub titles: u64,
    /// Raw installations read.
    pub raw_installations: u64,
    /// Consolidated installations (one per device and product).
    pub installations: u64,
    /// Raw installations whose device or application no connector reported.
    pub unlinked_installations: u64,
    /// Installations per category, in [`CATEGORIES`] order.
    pub installation_categories: [u64; 4],
    /// Usage rows per user and application.
    pub user_usage: u64,
    /// Licensed SKUs.
    pub skus: u64,
    /// Assignments that can be reclaimed.
    pub reclaimable: u64,
    /// Raw licence assignments whose user no connector reported by name.
    pub unlinked_assignments: u64,
    /// Tenants the repository's connectors reported.
    pub tenants: u64,
    /// Tenants several connectors read, each as `tenant (connector, ...)`:
    /// their users and devices merged, their licences counted once.
    pub shared_tenants: Vec<String>,
}

impl Summary {
    /// One line for the process log.
    pub fn line(&self) -> String {
        if self.raw_devices == 0
            && self.raw_installations == 0
            && self.users == 0
            && self.skus == 0
            && self.user_usage == 0
        {
            return "The repository holds no raw data yet, so the consolidated results are empty; run a sync first.".into();
        }
        let [used, rarely, unused, unreported] = self.installation_categories;
        let mut line = format!(
            "Consolidated {} raw devices into {}, {} users ({} concealed identities kept apart), \
             {} products ({} unmatched), {} installations (Used {used}, Rarely Used {rarely}, \
             Unused {unused}, Unreported {unreported}), {} SKUs with {} reclaimable assignments.",
            self.raw_devices,
            self.devices,
            self.users,
            self.concealed_identities,
            self.products,
            self.unmatched_products,
            self.installations,
            self.skus,
            self.reclaimable,
        );
        if self.unlinked_installations > 0 {
            line.push_str(&format!(
                " {} raw installations name a device or application no connector reported and were left out.",
                self.unlinked_installations
            ));
        }
        if self.tenants > 1 {
            line.push_str(&format!(
                " {} tenants: licences are summed per tenant.",
                self.tenants
            ));
        }
        for shared in &self.shared_tenants {
            line.push_str(&format!(
                " Tenant {shared} is read by several connectors: its licences were counted once."
            ));
        }
        if self.unlinked_assignments > 0 {
            line.push_str(&format!(
                " {} licence assignments name a user no connector reported by name and were left out.",
                self.unlinked_assignments
            ));
        }
        line
    }
}

/// Rows per multi-row insert (SQLite allows 32,766 bound values).
const INSERT_CHUNK: usize = 500;

/// SQLite's page cache during a consolidation, in KiB.
const SQLITE_CACHE_KIB: u32 = 65_536;

/// Serialises consolidations on PostgreSQL (SQLite's write lock does it there).
const PG_LOCK: i64 = 0x0069_6E76_636F_6E73;

/// A statement for `backend` with each `?` a bound value (`$n` on
/// PostgreSQL). The SQL of this module holds no `?` inside a literal.
pub(crate) fn bind(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => {
            let mut out = String::with_capacity(sql.len() + 8);
            let mut n = 0;
            for c in sql.chars() {
                if c == '?' {
                    n += 1;
                    out.push_str(&format!("${n}"));
                } else {
                    out.push(c);
                }
            }
            out
        }
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// [`bind`], with `{R}` in `sql` replaced by the repository id.
fn statement(backend: DbBackend, repository_id: i64, sql: &str, values: Vec<Value>) -> Statement {
    bind(
        backend,
        &sql.replace("{R}", &repository_id.to_string()),
        values,
    )
}

/// `expr` compared byte by byte: PostgreSQL's `C` collation, SQLite's own
/// (BINARY), so that `min`, `max` and orderings agree on both backends.
fn bytes(backend: DbBackend, expr: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("({expr}) COLLATE \"C\""),
        _ => expr.to_owned(),
    }
}

/// An aggregate: the greatest `expr` by bytes.
fn greatest(backend: DbBackend, expr: &str) -> String {
    format!("max({})", bytes(backend, expr))
}

/// An aggregate: the `value` (text) of the latest run (`run`, a run id)
/// among the rows with one; between values of one run, the first in byte
/// order. The same on both backends, whatever their collation.
fn latest(backend: DbBackend, run: &str, value: &str) -> String {
    // Runs are inverted so that `min` takes the latest, then the first value.
    let run = format!("(9223372036854775807 - {run})");
    let pad = match backend {
        DbBackend::Postgres => format!("lpad(CAST({run} AS TEXT), 20, '0')"),
        _ => format!("printf('%020d', {run})"),
    };
    format!(
        "substr(min({}), 21)",
        bytes(backend, &format!("{pad} || {value}"))
    )
}

/// The text before the first `.` of `expr` (a host name without its domain).
fn host_part(backend: DbBackend, expr: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("split_part({expr}, '.', 1)"),
        _ => format!(
            "CASE WHEN instr({expr}, '.') > 0 THEN substr({expr}, 1, instr({expr}, '.') - 1) ELSE {expr} END"
        ),
    }
}

/// `YYYY-MM-DD` of a text column holding a date or timestamp, else NULL.
fn date_of(column: &str) -> String {
    format!("CASE WHEN {column} LIKE '____-__-__%' THEN substr({column}, 1, 10) END")
}

/// Serial numbers that name no machine (firmware defaults), folded.
const JUNK_SERIALS: &str = "'0', 'none', 'n/a', 'na', 'unknown', 'default string', \
    'system serial number', 'to be filled by o.e.m.', 'chassis serial number', \
    '0123456789', '123456789', '1234567890', 'invalid', 'not applicable'";

/// The tenant of a raw row's connector (`raw_sources`, joined as `src`),
/// '' for none.
const TENANT: &str = "coalesce(src.tenant, '')";

/// Joins `raw_sources` as `src` for the raw rows aliased `alias`.
fn sources_of(alias: &str) -> String {
    format!(
        "LEFT JOIN raw_sources src ON src.repository_id = {{R}} AND src.connector_id = {alias}.connector_id"
    )
}

/// The user key of a usage row aliased `a` (with `n`, its
/// `cons_user_names` row, and `src` joined): a concealed identity is kept
/// apart per tenant; a name is its resolved key.
const USAGE_USER_KEY: &str = "CASE WHEN a.concealed = TRUE \
    THEN 'concealed:' || a.user_name || '/' || coalesce(src.tenant, '') ELSE n.user_key END";

/// Joins a usage row `a` to its `cons_user_names` row `n` and tenant `src`.
const USAGE_JOINS: &str = "LEFT JOIN cons_user_names n ON n.repository_id = {R} \
      AND n.connector_id = a.connector_id AND n.fold = a.user_fold \
      AND (a.concealed IS NULL OR a.concealed = FALSE) \
    LEFT JOIN raw_sources src ON src.repository_id = {R} AND src.connector_id = a.connector_id";

fn day(date: NaiveDate, back: u32) -> String {
    date.checked_sub_days(Days::new(back.into()))
        .unwrap_or(date)
        .format("%Y-%m-%d")
        .to_string()
}

struct Tx<'a> {
    txn: &'a DatabaseTransaction,
    backend: DbBackend,
    repository_id: i64,
}

impl Tx<'_> {
    async fn exec(&self, sql: &str, values: Vec<Value>) -> Result<u64, StoreError> {
        let statement = statement(self.backend, self.repository_id, sql, values);
        Ok(self.txn.execute(statement).await?.rows_affected())
    }

    async fn count(&self, sql: &str) -> Result<u64, StoreError> {
        let statement = statement(self.backend, self.repository_id, sql, vec![]);
        let row = self.txn.query_one(statement).await?;
        Ok(match row {
            Some(row) => row.try_get_by_index::<i64>(0)? as u64,
            None => 0,
        })
    }

    async fn strings(
        &self,
        sql: &str,
        columns: usize,
    ) -> Result<Vec<Vec<Option<String>>>, StoreError> {
        let statement = statement(self.backend, self.repository_id, sql, vec![]);
        let rows = self.txn.query_all(statement).await?;
        rows.iter()
            .map(|row| {
                (0..columns)
                    .map(|i| Ok(row.try_get_by_index::<Option<String>>(i)?))
                    .collect()
            })
            .collect()
    }

    async fn insert_rows(
        &self,
        table: &str,
        columns: &[&str],
        rows: Vec<Vec<Value>>,
    ) -> Result<(), StoreError> {
        for chunk in rows.chunks(INSERT_CHUNK) {
            let mut insert = Query::insert();
            insert
                .into_table(Alias::new(table))
                .columns(columns.iter().map(|c| Alias::new(*c)));
            for row in chunk {
                insert
                    .values(row.iter().cloned().map(Into::into))
                    .map_err(|e| StoreError::Db(e.to_string()))?;
            }
            self.txn.execute(self.backend.build(&insert)).await?;
        }
        Ok(())
    }
}

impl Store {
    /// Rebuilds a repository's consolidated data in one transaction:
    /// readers see the previous results until it commits, and a failure
    /// leaves them as they were.
    pub async fn consolidate(&self, request: &Request<'_>) -> Result<Summary, StoreError> {
        self.consolidate_unless(request, &|| false).await
    }

    /// [`Store::consolidate`], given up between two of its steps once
    /// `cancelled` says so ([`StoreError::Cancelled`]): the transaction is
    /// rolled back and the previous results stay. A step under way is
    /// never cut off, and neither is the commit.
    pub async fn consolidate_unless(
        &self,
        request: &Request<'_>,
        cancelled: &(dyn Fn() -> bool + Sync),
    ) -> Result<Summary, StoreError> {
        request.thresholds.validate().map_err(StoreError::Refused)?;
        let check = || match cancelled() {
            true => Err(StoreError::Cancelled),
            false => Ok(()),
        };
        let txn = self.db.begin().await?;
        let tx = Tx {
            txn: &txn,
            backend: self.db_backend(),
            repository_id: request.repository_id,
        };
        let result = rebuild(&tx, request, &check).await;
        if tx.backend == DbBackend::Sqlite {
            // The cache belongs to the pooled connection, which outlives this
            // consolidation: back to SQLite's default whatever the outcome.
            if let Err(e) = tx.exec("PRAGMA cache_size = -2000", vec![]).await {
                tracing::warn!(error = %e, "Could not reset the connection's page cache.");
            }
        }
        match result {
            Ok(summary) => {
                let started = Instant::now();
                txn.commit().await?;
                tracing::debug!(
                    step = "commit",
                    ms = started.elapsed().as_millis() as u64,
                    "Consolidation step done."
                );
                Ok(summary)
            }
            Err(e) => {
                if let Err(rollback) = txn.rollback().await {
                    tracing::debug!(error = %rollback, "Rolling back the consolidation failed.");
                }
                Err(e)
            }
        }
    }
}

/// Every step of a consolidation, in its transaction.
async fn rebuild(
    tx: &Tx<'_>,
    request: &Request<'_>,
    check: &(dyn Fn() -> Result<(), StoreError> + Sync),
) -> Result<Summary, StoreError> {
    match tx.backend {
        DbBackend::Postgres => {
            tx.exec("SELECT pg_advisory_xact_lock(?)", vec![PG_LOCK.into()])
                .await?;
            // Syncs publish under this lock, shared: none commits while
            // the statements below read the raw tables one by one, so
            // the results come from one state of the repository. (On
            // SQLite the write lock taken by the first DELETE does this.)
            tx.exec(
                "SELECT pg_advisory_xact_lock(?)",
                vec![(crate::writer::PUBLICATION_LOCK | request.repository_id).into()],
            )
            .await?;
        }
        // The joins and groupings of a million rows spill SQLite's
        // default 2 MB page cache to disk; a bounded 64 MiB keeps them
        // in memory (reset by the caller).
        _ => {
            tx.exec(&format!("PRAGMA cache_size = -{SQLITE_CACHE_KIB}"), vec![])
                .await?;
        }
    }
    let mut clock = Instant::now();
    for table in consolidated_tables() {
        tx.exec(
            &format!("DELETE FROM {table} WHERE repository_id = {{R}}"),
            vec![],
        )
        .await?;
    }
    let mut summary = Summary::default();
    let mut lap = |step: &str| {
        tracing::debug!(
            step,
            ms = clock.elapsed().as_millis() as u64,
            "Consolidation step done."
        );
        clock = Instant::now();
    };
    if tx.backend == DbBackend::Postgres {
        // The raw tables were filled moments ago by a sync and may have no
        // statistics yet: without them the planner picks nested loops over
        // hundreds of thousands of rows (about a second at a million).
        tx.exec(
            "ANALYZE raw_devices, raw_users, raw_application_usage, raw_licences, \
             raw_licence_assignments, raw_sources",
            vec![],
        )
        .await?;
        lap("analyze raw");
    }
    lap("clear");
    tenants(tx, &mut summary).await?;
    products(tx, request.catalog, &mut summary).await?;
    lap("products");
    check()?;
    user_names(tx).await?;
    if tx.backend == DbBackend::Postgres {
        // The names just resolved are joined to every raw user, usage row
        // and device next; without statistics the planner loops over them.
        tx.exec("ANALYZE cons_user_names", vec![]).await?;
    }
    lap("user names");
    check()?;
    devices(tx, &mut summary).await?;
    lap("devices");
    check()?;
    users(tx, request.catalog, &mut summary).await?;
    if tx.backend == DbBackend::Postgres {
        tx.exec("ANALYZE cons_users", vec![]).await?;
    }
    lap("users");
    check()?;
    usage(tx, request).await?;
    lap("usage");
    check()?;
    if tx.backend == DbBackend::Postgres {
        // Tables filled moments ago (the raw ones by the sync just
        // before, the consolidated ones above) have no statistics yet;
        // without them the planner picks nested loops over millions of rows.
        tx.exec(
            "ANALYZE raw_installations, raw_applications, cons_device_sources, \
             cons_titles, cons_devices, cons_products, cons_users, cons_user_usage",
            vec![],
        )
        .await?;
        lap("analyze");
    }
    installations(tx, request, &mut summary).await?;
    lap("installations");
    check()?;
    licences(tx, request, &mut summary).await?;
    lap("licences");
    check()?;
    record(tx, request, &summary).await?;
    Ok(summary)
}

/// Counts the tenants and names those several connectors read (their
/// licences are counted once).
async fn tenants(tx: &Tx<'_>, summary: &mut Summary) -> Result<(), StoreError> {
    let rows = tx
        .strings(
            "SELECT s.tenant, c.name, CAST(s.connector_id AS TEXT) FROM raw_sources s \
             LEFT JOIN connectors c ON c.id = s.connector_id \
             WHERE s.repository_id = {R} AND s.tenant IS NOT NULL",
            3,
        )
        .await?;
    let mut readers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in rows {
        let mut row = row.into_iter();
        let (Some(tenant), name, id) = (
            row.next().flatten(),
            row.next().flatten(),
            row.next().flatten(),
        ) else {
            continue;
        };
        readers
            .entry(tenant)
            .or_default()
            .push(name.unwrap_or_else(|| format!("removed connector {}", id.unwrap_or_default())));
    }
    summary.tenants = readers.len() as u64;
    summary.shared_tenants = readers
        .into_iter()
        .filter(|(_, names)| names.len() > 1)
        .map(|(tenant, mut names)| {
            names.sort();
            format!("{tenant} ({})", names.join(", "))
        })
        .collect();
    Ok(())
}

/// A product's identity: vendor, product, edition, version ('' for none).
type Identity = (String, String, String, String);

/// How a product was named: the rule and the file it lives in (`None`
/// when no rule matched).
type Naming = (Option<String>, Option<String>);

/// The product a raw title (name, publisher, version, platform; '' for
/// none) is.
fn name_title(catalog: &Catalog, title: &[String]) -> (Identity, Naming) {
    let given = |i: usize| Some(title[i].as_str()).filter(|v| !v.is_empty());
    let (name, publisher, version, platform) = (title[0].as_str(), given(1), given(2), given(3));
    match catalog.classify(publisher, name, version, platform) {
        Some(p) => (
            (
                p.vendor,
                p.product,
                p.edition.unwrap_or_default(),
                p.version.unwrap_or_default(),
            ),
            (Some(p.rule), Some(p.source)),
        ),
        // Unmatched titles keep their raw values.
        None => (
            (
                publisher.unwrap_or_default().to_owned(),
                name.to_owned(),
                String::new(),
                version.unwrap_or_default().to_owned(),
            ),
            (None, None),
        ),
    }
}

/// The raw title columns, '' for none, as `cons_title_names` keys them.
const TITLE: &str =
    "coalesce(name, ''), coalesce(publisher, ''), coalesce(version, ''), coalesce(platform, '')";

/// Names every distinct raw title (thousands, not millions) and writes
/// `cons_products`, `cons_title_names` and, set-based, `cons_titles`.
async fn products(tx: &Tx<'_>, catalog: &Catalog, summary: &mut Summary) -> Result<(), StoreError> {
    let titles: Vec<Vec<String>> = tx
        .strings(
            &format!("SELECT DISTINCT {TITLE} FROM raw_applications WHERE repository_id = {{R}}"),
            4,
        )
        .await?
        .into_iter()
        .map(|row| row.into_iter().map(Option::unwrap_or_default).collect())
        .collect();
    // Sorted here, by bytes: the first spelling seen must not depend on a
    // backend's collation.
    let mut titles = titles;
    titles.sort_unstable();
    let mut named: Vec<Identity> = Vec::with_capacity(titles.len());
    let mut products: BTreeMap<Identity, Naming> = BTreeMap::new();
    // Identities differing only in case ("Enterprise", "enterprise") are one
    // product, spelt as first seen in the sorted titles.
    let mut spelling: HashMap<Identity, Identity> = HashMap::new();
    for title in &titles {
        let (identity, naming) = name_title(catalog, title);
        let folded = (
            fold(&identity.0),
            fold(&identity.1),
            fold(&identity.2),
            fold(&identity.3),
        );
        let identity = spelling.entry(folded).or_insert(identity).clone();
        // A product a rule names stays named when an unmatched title
        // happens to have the same identity.
        let entry = products.entry(identity.clone()).or_insert((None, None));
        if entry.0.is_none() {
            *entry = naming;
        }
        named.push(identity);
    }
    let rows = products
        .iter()
        .map(|((vendor, product, edition, version), (rule, source))| {
            vec![
                tx.repository_id.into(),
                vendor.as_str().into(),
                product.as_str().into(),
                edition.as_str().into(),
                version.as_str().into(),
                rule.clone().into(),
                source.clone().into(),
                0i32.into(),
            ]
        })
        .collect();
    tx.insert_rows(
        "cons_products",
        &[
            "repository_id",
            "vendor",
            "product",
            "edition",
            "version",
            "rule",
            "rule_source",
            "coverage",
        ],
        rows,
    )
    .await?;
    summary.products = products.len() as u64;
    summary.unmatched_products =
        products.values().filter(|(rule, _)| rule.is_none()).count() as u64;

    let mut ids: HashMap<Identity, i64> = HashMap::new();
    let statement = statement(
        tx.backend,
        tx.repository_id,
        "SELECT id, vendor, product, edition, version FROM cons_products WHERE repository_id = {R}",
        vec![],
    );
    for row in tx.txn.query_all(statement).await? {
        ids.insert(
            (
                row.try_get_by_index(1)?,
                row.try_get_by_index(2)?,
                row.try_get_by_index(3)?,
                row.try_get_by_index(4)?,
            ),
            row.try_get_by_index(0)?,
        );
    }
    let rows = titles
        .into_iter()
        .zip(&named)
        .map(|(title, identity)| {
            let mut row: Vec<Value> = vec![tx.repository_id.into()];
            row.extend(title.into_iter().map(Value::from));
            row.push(ids[identity].into());
            row
        })
        .collect();
    tx.insert_rows(
        "cons_title_names",
        &[
            "repository_id",
            "name",
            "publisher",
            "version",
            "platform",
            "product_id",
        ],
        rows,
    )
    .await?;
    summary.titles = tx
        .exec(
            &format!(
                "INSERT INTO cons_titles (repository_id, connector_id, source_key, product_id) \
                 SELECT {{R}}, a.connector_id, a.source_key, n.product_id \
                 FROM (SELECT connector_id, source_key, {TITLE_A} FROM raw_applications WHERE repository_id = {{R}}) a \
                 JOIN cons_title_names n ON n.repository_id = {{R}} AND n.name = a.n AND n.publisher = a.p \
                   AND n.version = a.v AND n.platform = a.pl"
            ),
            vec![],
        )
        .await?;
    Ok(())
}

/// [`TITLE`] with names to join on.
const TITLE_A: &str = "coalesce(name, '') AS n, coalesce(publisher, '') AS p, coalesce(version, '') AS v, \
    coalesce(platform, '') AS pl";

/// Merges raw devices: by Entra device id (within a tenant), then serial
/// number, then normalised name. A serial or name joins an existing group
/// only when it points at exactly one; an ambiguous match is never guessed.
async fn devices(tx: &Tx<'_>, summary: &mut Summary) -> Result<(), StoreError> {
    let b = tx.backend;
    let host = host_part(b, "d.name_fold");
    // An Entra device id names a device within its tenant: such rows are
    // grouped as they are inserted.
    let entra = "CASE WHEN trim(coalesce(d.entra_device_id, '')) NOT IN ('', '00000000-0000-0000-0000-000000000000') \
                 THEN lower(trim(d.entra_device_id)) END";
    tx.exec(
        &format!(
            "INSERT INTO cons_device_sources (repository_id, connector_id, source_key, tenant, entra_key, \
               serial_key, name_key, merge_key, matched_by) \
             SELECT d.repository_id, d.connector_id, d.source_key, {TENANT}, {entra}, \
               CASE WHEN length(coalesce(d.serial_fold, '')) >= 3 AND d.serial_fold NOT IN ({JUNK_SERIALS}) \
                    THEN d.serial_fold END, \
               CASE WHEN d.name_fold IS NOT NULL THEN {host} END, \
               CASE WHEN src.tenant IS NOT NULL AND {entra} IS NOT NULL \
                    THEN 'entra:' || {entra} || '/' || src.tenant END, \
               CASE WHEN src.tenant IS NOT NULL AND {entra} IS NOT NULL THEN 'Entra device id' END \
             FROM raw_devices d {sources} WHERE d.repository_id = {{R}}",
            sources = sources_of("d"),
        ),
        vec![],
    )
    .await?;
    // A row of no tenant joins the one tenant's device holding its Entra
    // device id, or groups alone.
    tx.exec(
        "UPDATE cons_device_sources SET matched_by = 'Entra device id', merge_key = coalesce( \
           (SELECT CASE WHEN count(DISTINCT o.merge_key) = 1 THEN min(o.merge_key) END \
              FROM cons_device_sources o \
             WHERE o.repository_id = {R} AND o.entra_key = cons_device_sources.entra_key AND o.tenant <> ''), \
           'entra:' || entra_key || '/') \
         WHERE repository_id = {R} AND entra_key IS NOT NULL AND tenant = ''",
        vec![],
    )
    .await?;
    // A serial joins the one Entra group holding it, or groups by itself;
    // then a name joins the one group holding it, or groups by itself.
    join_or_group(
        tx,
        "serial_key",
        "serial number",
        "serial",
        "o.entra_key IS NOT NULL",
    )
    .await?;
    join_or_group(tx, "name_key", "name", "name", "o.merge_key IS NOT NULL").await?;
    tx.exec(
        "UPDATE cons_device_sources SET matched_by = 'source key', \
           merge_key = 'source:' || CAST(connector_id AS TEXT) || ':' || source_key \
         WHERE repository_id = {R} AND merge_key IS NULL",
        vec![],
    )
    .await?;
    summary.raw_devices = tx
        .count("SELECT count(*) FROM cons_device_sources WHERE repository_id = {R}")
        .await?;
    // Names are shown as the latest sync spells them ([`latest`]).
    let run = "d.last_seen_run";
    summary.devices = tx
        .exec(
            &format!(
                "INSERT INTO cons_devices (repository_id, merge_key, name, serial_number, entra_device_id, \
                   manufacturer, model, operating_system, primary_user, primary_user_key, last_seen, sources) \
                 SELECT {{R}}, s.merge_key, {name}, {serial}, {entra}, {manufacturer}, {model}, {os}, \
                   {user}, {user_key}, {last_seen}, count(*) \
                 FROM cons_device_sources s \
                 JOIN raw_devices d ON d.repository_id = {{R}} AND d.connector_id = s.connector_id \
                   AND d.source_key = s.source_key \
                 LEFT JOIN cons_user_names n ON n.repository_id = {{R}} AND n.connector_id = d.connector_id \
                   AND n.fold = d.primary_user_fold \
                 WHERE s.repository_id = {{R}} GROUP BY s.merge_key",
                name = latest(b, run, "d.name"),
                serial = latest(b, run, "trim(d.serial_number)"),
                // Values no one spells two ways: the greatest, by bytes.
                entra = greatest(b, "s.entra_key"),
                manufacturer = greatest(b, "d.manufacturer"),
                model = greatest(b, "d.model"),
                os = greatest(b, "d.operating_system"),
                user = latest(b, run, "trim(d.primary_user)"),
                user_key = latest(b, run, "n.user_key"),
                last_seen = greatest(b, "d.last_seen"),
            ),
            vec![],
        )
        .await?;
    tx.exec(
        "UPDATE cons_device_sources SET device_id = (SELECT c.id FROM cons_devices c \
           WHERE c.repository_id = {R} AND c.merge_key = cons_device_sources.merge_key) \
         WHERE repository_id = {R}",
        vec![],
    )
    .await?;
    Ok(())
}

/// Resolves every user name a connector reported (users, usage reports,
/// devices' primary users) to a user key: `fold/tenant` within a tenant;
/// for a connector of no tenant, the one tenant's key holding the same
/// name, else `fold/`. Users of two tenants never share a key. (The name
/// comes first: keys that start alike for a whole tenant made every index
/// comparison walk the tenant id.)
async fn user_names(tx: &Tx<'_>) -> Result<(), StoreError> {
    tx.exec(
        &format!(
            "INSERT INTO cons_user_names (repository_id, connector_id, fold, tenant, user_key) \
             SELECT DISTINCT {{R}}, x.connector_id, x.f, {TENANT}, \
               CASE WHEN src.tenant IS NOT NULL THEN x.f || '/' || src.tenant END FROM ( \
               SELECT connector_id, upn_fold AS f FROM raw_users WHERE repository_id = {{R}} \
                 AND upn_fold IS NOT NULL AND (concealed IS NULL OR concealed = FALSE) \
               UNION SELECT connector_id, user_fold FROM raw_application_usage WHERE repository_id = {{R}} \
                 AND user_fold IS NOT NULL AND (concealed IS NULL OR concealed = FALSE) \
               UNION SELECT connector_id, primary_user_fold FROM raw_devices WHERE repository_id = {{R}} \
                 AND primary_user_fold IS NOT NULL \
             ) x {sources}",
            sources = sources_of("x"),
        ),
        vec![],
    )
    .await?;
    tx.exec(
        "UPDATE cons_user_names SET user_key = coalesce( \
           (SELECT CASE WHEN count(DISTINCT o.tenant) = 1 THEN min(o.user_key) END \
              FROM cons_user_names o \
             WHERE o.repository_id = {R} AND o.fold = cons_user_names.fold AND o.tenant <> ''), \
           fold || '/') \
         WHERE repository_id = {R} AND tenant = ''",
        vec![],
    )
    .await?;
    Ok(())
}

/// Gives each device not yet grouped, but with a `key` column value, the
/// merge key of the one group (among rows matching `candidates`) holding the
/// same value, or a group of its own (`prefix:value`). An ambiguous value
/// never joins a group.
async fn join_or_group(
    tx: &Tx<'_>,
    key: &str,
    matched_by: &str,
    prefix: &str,
    candidates: &str,
) -> Result<(), StoreError> {
    tx.exec(
        &format!(
            "UPDATE cons_device_sources SET matched_by = '{matched_by}', merge_key = coalesce( \
               (SELECT CASE WHEN count(DISTINCT o.merge_key) = 1 THEN min(o.merge_key) END \
                  FROM cons_device_sources o \
                 WHERE o.repository_id = {{R}} AND o.{key} = cons_device_sources.{key} AND {candidates}), \
               '{prefix}:' || {key}) \
             WHERE repository_id = {{R}} AND merge_key IS NULL AND {key} IS NOT NULL"
        ),
        vec![],
    )
    .await?;
    Ok(())
}

/// Added to a user directory row's run so that its spelling of a name
/// comes before any report's ([`latest`] takes the latest run); runs are
/// process ids, far below it.
const DIRECTORY_FIRST: i64 = 1_000_000_000_000;

/// Users by resolved key ([`user_names`]); concealed report identities
/// apart, per tenant. The shown name is the latest sync's spelling, the
/// user directory's before a report's.
async fn users(tx: &Tx<'_>, catalog: &Catalog, summary: &mut Summary) -> Result<(), StoreError> {
    let b = tx.backend;
    tx.exec(
        &format!(
            "INSERT INTO cons_users (repository_id, user_key, tenant, user_principal_name, display_name, concealed, reported) \
             SELECT {{R}}, k, coalesce(max(t), ''), {upn}, {display}, k LIKE 'concealed:%', FALSE FROM ( \
               SELECT n.user_key AS k, NULLIF(n.tenant, '') AS t, u.user_principal_name AS upn, \
                      u.display_name AS dn, u.last_seen_run + {DIRECTORY_FIRST} AS run \
                 FROM raw_users u \
                 JOIN cons_user_names n ON n.repository_id = {{R}} AND n.connector_id = u.connector_id \
                   AND n.fold = u.upn_fold \
                WHERE u.repository_id = {{R}} AND (u.concealed IS NULL OR u.concealed = FALSE) \
               UNION ALL \
               SELECT {USAGE_USER_KEY}, NULLIF({TENANT}, ''), a.user_name, NULL, a.last_seen_run \
                 FROM raw_application_usage a {USAGE_JOINS} \
                WHERE a.repository_id = {{R}} AND trim(coalesce(a.user_name, '')) <> '' \
             ) x WHERE k IS NOT NULL GROUP BY k",
            upn = latest(b, "run", "upn"),
            display = latest(b, "run", "dn"),
        ),
        vec![],
    )
    .await?;
    summary.users = tx
        .count("SELECT count(*) FROM cons_users WHERE repository_id = {R} AND concealed = FALSE")
        .await?;
    summary.concealed_identities = tx
        .count("SELECT count(*) FROM cons_users WHERE repository_id = {R} AND concealed = TRUE")
        .await?;

    // The product each usage-report application proves use of.
    let apps = tx
        .strings(
            "SELECT DISTINCT application FROM raw_application_usage WHERE repository_id = {R}",
            1,
        )
        .await?;
    let rows = apps
        .into_iter()
        .filter_map(|row| row.into_iter().next().flatten())
        .map(|app| {
            let (vendor, product) = match catalog.usage_product(&app) {
                Some((v, p)) => (v.to_owned(), p.to_owned()),
                None => match catalog.classify(None, &app, None, None) {
                    Some(p) => (p.vendor, p.product),
                    None => (String::new(), app.clone()),
                },
            };
            vec![
                tx.repository_id.into(),
                app.into(),
                vendor.into(),
                product.into(),
            ]
        })
        .collect();
    tx.insert_rows(
        "cons_usage_apps",
        &["repository_id", "application", "vendor", "product"],
        rows,
    )
    .await
}

/// Usage per user and application, judged against each report's own
/// refresh date (or the day of judgement where a source gives none).
async fn usage(tx: &Tx<'_>, request: &Request<'_>) -> Result<(), StoreError> {
    let activity = date_of("a.last_activity");
    let refresh = date_of("a.report_refresh_date");
    let b = tx.backend;
    // The latest report's refresh date and the period of that same row:
    // both from one key, `YYYY-MM-DD` (or zeros for none) and the period in
    // ten digits, so that a 7-day and a 30-day report never mix.
    let period = match b {
        DbBackend::Postgres => "lpad(CAST(x.pd AS TEXT), 10, '0')",
        _ => "printf('%010d', x.pd)",
    };
    let pair = format!(
        "max({})",
        bytes(
            b,
            &format!("CASE WHEN x.rd = '' THEN '0000-00-00' ELSE x.rd END || {period}")
        )
    );
    tx.exec(
        &format!(
            "INSERT INTO cons_user_usage (repository_id, user_id, application, vendor, product, \
               last_activity, refresh_date, period_days, state, reason) \
             SELECT {{R}}, y.user_id, y.application, y.vendor, y.product, y.la, \
               CASE WHEN substr(y.pair, 1, 10) = '0000-00-00' THEN '' ELSE substr(y.pair, 1, 10) END, \
               CAST(substr(y.pair, 11) AS INTEGER), 0, '' \
             FROM ( \
               SELECT u.id AS user_id, x.application, a.vendor, a.product, max({la}) AS la, {pair} AS pair \
               FROM ( \
                 SELECT {USAGE_USER_KEY} AS k, a.application, {activity} AS la, \
                        coalesce({refresh}, '') AS rd, \
                        CASE WHEN a.report_period_days > 0 THEN a.report_period_days ELSE 0 END AS pd \
                   FROM raw_application_usage a {USAGE_JOINS} WHERE a.repository_id = {{R}} \
               ) x \
               JOIN cons_users u ON u.repository_id = {{R}} AND u.user_key = x.k \
               JOIN cons_usage_apps a ON a.repository_id = {{R}} AND a.application = x.application \
               GROUP BY u.id, x.application, a.vendor, a.product \
             ) y",
            la = bytes(b, "x.la"),
        ),
        vec![],
    )
    .await?;
    let references = tx
        .strings(
            "SELECT DISTINCT refresh_date, CAST(period_days AS TEXT) FROM cons_user_usage WHERE repository_id = {R}",
            2,
        )
        .await?;
    let t = &request.thresholds;
    for row in references {
        let refresh = row[0].clone().unwrap_or_default();
        let period: u32 = row[1].as_deref().and_then(|p| p.parse().ok()).unwrap_or(0);
        let reference = NaiveDate::parse_from_str(&refresh, "%Y-%m-%d").unwrap_or(request.as_of);
        // A report refreshed longer ago than its own period says nothing of now.
        let stale = period > 0 && reference < request.as_of - Days::new(period.into());
        let (used, rarely) = (
            day(reference, t.used_days),
            day(reference, t.rarely_used_days),
        );
        let sql = if stale {
            "UPDATE cons_user_usage SET state = 4, reason = 'report older than its period' \
             WHERE repository_id = {R} AND refresh_date = ? AND period_days = ?"
                .to_owned()
        } else {
            format!(
                "UPDATE cons_user_usage SET \
                   state = CASE WHEN last_activity >= '{used}' THEN 1 WHEN last_activity >= '{rarely}' THEN 2 ELSE 3 END, \
                   reason = CASE WHEN last_activity >= '{used}' THEN 'active within {u} days' \
                                 WHEN last_activity >= '{rarely}' THEN 'last active within {r} days' \
                                 WHEN last_activity IS NULL THEN 'no activity reported' \
                                 ELSE 'no activity within {r} days' END \
                 WHERE repository_id = {{R}} AND refresh_date = ? AND period_days = ?",
                u = t.used_days,
                r = t.rarely_used_days,
            )
        };
        tx.exec(&sql, vec![refresh.into(), (period as i32).into()])
            .await?;
    }
    tx.exec(
        "UPDATE cons_user_usage SET state = 4, reason = 'concealed names' \
         WHERE repository_id = {R} AND user_id IN \
           (SELECT id FROM cons_users WHERE repository_id = {R} AND concealed = TRUE)",
        vec![],
    )
    .await?;
    tx.exec(
        "UPDATE cons_users SET reported = TRUE WHERE repository_id = {R} AND EXISTS \
           (SELECT 1 FROM cons_user_usage c WHERE c.repository_id = {R} AND c.user_id = cons_users.id \
              AND c.state < 4)",
        vec![],
    )
    .await?;
    // What the reports say of each product, for installations without evidence.
    tx.exec(
        "UPDATE cons_products SET coverage = CASE \
           WHEN EXISTS (SELECT 1 FROM cons_user_usage c WHERE c.repository_id = {R} \
                 AND c.vendor = cons_products.vendor AND c.product = cons_products.product AND c.state < 4) THEN 1 \
           WHEN EXISTS (SELECT 1 FROM cons_user_usage c WHERE c.repository_id = {R} \
                 AND c.vendor = cons_products.vendor AND c.product = cons_products.product \
                 AND c.reason = 'concealed names') THEN 2 \
           WHEN EXISTS (SELECT 1 FROM cons_user_usage c WHERE c.repository_id = {R} \
                 AND c.vendor = cons_products.vendor AND c.product = cons_products.product) THEN 3 \
           ELSE 0 END \
         WHERE repository_id = {R}",
        vec![],
    )
    .await?;
    Ok(())
}

/// One installation per consolidated device and product, judged by the
/// device's own last-used date, then its primary user's report usage.
async fn installations(
    tx: &Tx<'_>,
    request: &Request<'_>,
    summary: &mut Summary,
) -> Result<(), StoreError> {
    let t = &request.thresholds;
    let (used, rarely) = (
        day(request.as_of, t.used_days),
        day(request.as_of, t.rarely_used_days),
    );
    let (installed, last_used) = (
        bytes(tx.backend, &date_of("i.installed_on")),
        bytes(tx.backend, &date_of("i.last_used")),
    );
    summary.raw_installations = tx
        .count("SELECT count(*) FROM raw_installations WHERE repository_id = {R}")
        .await?;
    // One statement: the device's own last-used date, the primary user's
    // report usage of the product, whichever says more; without either,
    // why not.
    let own = |st: &str| {
        format!(
            "CASE {st} WHEN 1 THEN 'used on the device within {u} days' \
                       WHEN 2 THEN 'used on the device within {r} days' \
                       ELSE 'not used on the device within {r} days' END",
            u = t.used_days,
            r = t.rarely_used_days
        )
    };
    let own_reason = own("h.own");
    summary.installations = tx
        .exec(
            &format!(
                "INSERT INTO cons_installations (repository_id, device_id, product_id, installed_on, last_used, state, reason, sources) \
                 SELECT {{R}}, h.device_id, h.product_id, h.io, \
                   CASE WHEN h.la IS NOT NULL AND (h.lu IS NULL OR h.la > h.lu) THEN h.la ELSE h.lu END, \
                   CASE WHEN h.own IS NOT NULL AND (h.ev IS NULL OR h.own <= h.ev) THEN h.own \
                        WHEN h.ev IS NOT NULL THEN h.ev \
                        WHEN h.io >= '{used}' THEN 4 \
                        WHEN h.coverage = 1 AND h.seen IS NOT NULL THEN 3 \
                        ELSE 4 END, \
                   CASE WHEN h.own IS NOT NULL AND (h.ev IS NULL OR h.own <= h.ev) THEN {own_reason} \
                        WHEN h.ev = 1 THEN 'primary user active per usage report' \
                        WHEN h.ev = 2 THEN 'primary user rarely active per usage report' \
                        WHEN h.ev = 3 THEN 'primary user inactive per usage report' \
                        WHEN h.io >= '{used}' THEN 'installed recently' \
                        WHEN h.coverage = 1 AND h.seen IS NOT NULL THEN 'primary user not active per usage report' \
                        WHEN h.coverage = 1 AND h.primary_user IS NULL THEN 'no primary user to join usage to' \
                        WHEN h.coverage = 1 THEN 'primary user not in current usage reports' \
                        WHEN h.coverage = 2 THEN 'concealed names' \
                        WHEN h.coverage = 3 THEN 'report older than its period' \
                        ELSE 'no usage data' END, \
                   h.n \
                 FROM ( \
                   SELECT g.device_id, g.product_id, g.io, g.lu, g.n, \
                     CASE WHEN g.lu >= '{used}' THEN 1 WHEN g.lu >= '{rarely}' THEN 2 \
                          WHEN g.lu IS NOT NULL THEN 3 END AS own, \
                     e.st AS ev, e.la AS la, p.coverage, d.primary_user, \
                     CASE WHEN u.reported = TRUE THEN 1 END AS seen \
                   FROM ( \
                     SELECT s.device_id, t.product_id, min({installed}) AS io, max({last_used}) AS lu, \
                       count(*) AS n \
                     FROM raw_installations i \
                     JOIN cons_device_sources s ON s.repository_id = {{R}} AND s.connector_id = i.connector_id \
                       AND s.source_key = i.device_key \
                     JOIN cons_titles t ON t.repository_id = {{R}} AND t.connector_id = i.connector_id \
                       AND t.source_key = i.application_key \
                     WHERE i.repository_id = {{R}} \
                     GROUP BY s.device_id, t.product_id \
                   ) g \
                   JOIN cons_products p ON p.id = g.product_id \
                   JOIN cons_devices d ON d.id = g.device_id \
                   LEFT JOIN cons_users u ON u.repository_id = {{R}} AND u.user_key = d.primary_user_key \
                   LEFT JOIN ( \
                     SELECT user_id, vendor, product, min(state) AS st, max(last_activity) AS la \
                     FROM cons_user_usage WHERE repository_id = {{R}} AND state < 4 \
                     GROUP BY user_id, vendor, product \
                   ) e ON e.user_id = u.id AND e.vendor = p.vendor AND e.product = p.product \
                 ) h"
            ),
            vec![],
        )
        .await?;
    let statement = statement(
        tx.backend,
        tx.repository_id,
        "SELECT state, count(*), CAST(sum(sources) AS BIGINT) FROM cons_installations \
         WHERE repository_id = {R} GROUP BY state",
        vec![],
    );
    let mut linked = 0;
    for row in tx.txn.query_all(statement).await? {
        let state: i32 = row.try_get_by_index(0)?;
        let n: i64 = row.try_get_by_index(1)?;
        linked += row.try_get_by_index::<i64>(2)? as u64;
        let slot = usize::try_from(state - 1).ok();
        if let Some(slot) = slot.and_then(|i| summary.installation_categories.get_mut(i)) {
            *slot = n as u64;
        }
    }
    summary.unlinked_installations = summary.raw_installations.saturating_sub(linked);
    summary.user_usage = tx
        .count("SELECT count(*) FROM cons_user_usage WHERE repository_id = {R}")
        .await?;
    Ok(())
}

/// Joins a licence assignment `a` to its consolidated user `u` (through its
/// raw user `ru` and the resolved name `n`).
const ASSIGNEE: &str = "JOIN raw_users ru ON ru.repository_id = {R} AND ru.connector_id = a.connector_id \
      AND ru.source_key = a.user_key \
    JOIN cons_user_names n ON n.repository_id = {R} AND n.connector_id = ru.connector_id \
      AND n.fold = ru.upn_fold \
    JOIN cons_users u ON u.repository_id = {R} AND u.user_key = n.user_key";

/// Assignments judged by their user's activity, and the per-tenant, per-SKU
/// summary.
async fn licences(
    tx: &Tx<'_>,
    request: &Request<'_>,
    summary: &mut Summary,
) -> Result<(), StoreError> {
    let t = &request.thresholds;
    let recent = day(request.as_of, t.used_days);
    let assigned = date_of("a.assigned_on");
    tx.exec(
        &format!(
            "INSERT INTO cons_assignments (repository_id, user_id, tenant, sku_id, assigned_on, state, reason, reclaimable) \
             SELECT {{R}}, u.id, u.tenant, lower(a.sku_id), min({assigned}), 0, 'no usage data', FALSE \
             FROM raw_licence_assignments a \
             {ASSIGNEE} \
             WHERE a.repository_id = {{R}} \
             GROUP BY u.id, u.tenant, lower(a.sku_id)",
            assigned = bytes(tx.backend, &assigned),
        ),
        vec![],
    )
    .await?;
    tx.exec(
        &format!(
            "UPDATE cons_assignments SET last_activity = e.la, refresh_date = e.rd, state = e.st, \
               reason = CASE e.st WHEN 1 THEN 'active within {u} days' WHEN 2 THEN 'last active within {r} days' \
                                  WHEN 3 THEN 'no activity within {r} days' ELSE e.reason END \
             FROM (SELECT user_id, max({la}) AS la, max({rd}) AS rd, min(state) AS st, \
                          min({reason}) AS reason \
                     FROM cons_user_usage WHERE repository_id = {{R}} GROUP BY user_id) e \
             WHERE cons_assignments.repository_id = {{R}} AND e.user_id = cons_assignments.user_id",
            u = t.used_days,
            r = t.rarely_used_days,
            la = bytes(tx.backend, "last_activity"),
            rd = bytes(tx.backend, "refresh_date"),
            reason = bytes(tx.backend, "reason"),
        ),
        vec![],
    )
    .await?;
    // Reports with concealed names cannot say anything of a named user.
    tx.exec(
        "UPDATE cons_assignments SET state = 4, reason = 'concealed names' \
         WHERE repository_id = {R} AND state = 0 AND EXISTS \
           (SELECT 1 FROM cons_users c WHERE c.repository_id = {R} AND c.concealed = TRUE \
              AND c.tenant = cons_assignments.tenant)",
        vec![],
    )
    .await?;
    tx.exec(
        &format!(
            "UPDATE cons_assignments SET reclaimable = TRUE WHERE repository_id = {{R}} AND state = 3 \
               AND (assigned_on IS NULL OR assigned_on < '{recent}')"
        ),
        vec![],
    )
    .await?;
    tx.exec(
        &format!(
            "UPDATE cons_assignments SET reason = 'assigned recently' WHERE repository_id = {{R}} AND state = 3 \
               AND assigned_on >= '{recent}'"
        ),
        vec![],
    )
    .await?;
    if tx.backend == DbBackend::Postgres {
        tx.exec("ANALYZE cons_assignments", vec![]).await?;
    }
    // Per tenant and SKU. The connectors of one tenant read the same
    // subscriptions: the latest sync's figures count, once. Connectors of
    // no tenant are each their own, summed.
    let b = tx.backend;
    let run = "l.last_seen_run";
    summary.skus = tx
        .exec(
            &format!(
                "INSERT INTO cons_licences (repository_id, tenant, sku_id, part_number, name, prepaid, assigned, \
                   active, inactive, unreported, reclaimable) \
                 SELECT {{R}}, s.tenant, s.sku, l.part_number, l.name, l.prepaid, coalesce(a.assigned, 0), \
                   coalesce(a.active, 0), coalesce(a.inactive, 0), coalesce(a.unreported, 0), \
                   coalesce(a.reclaimable, 0) \
                 FROM ( \
                   SELECT {TENANT} AS tenant, lower(l.sku_id) AS sku FROM raw_licences l {sources} \
                    WHERE l.repository_id = {{R}} \
                   UNION SELECT tenant, sku_id FROM cons_assignments WHERE repository_id = {{R}} \
                 ) s \
                 LEFT JOIN ( \
                   SELECT tenant, sku, min({part}) AS part_number, min({name}) AS name, \
                     CASE WHEN sum(CASE WHEN derived = '1' THEN 1 ELSE 0 END) > 0 THEN NULL \
                          ELSE CAST(sum(CAST(prepaid AS BIGINT)) AS BIGINT) END AS prepaid \
                   FROM ( \
                     SELECT {TENANT} AS tenant, lower(l.sku_id) AS sku, \
                       {latest_part} AS part_number, {latest_name} AS name, \
                       {latest_prepaid} AS prepaid, {latest_derived} AS derived \
                     FROM raw_licences l {sources} WHERE l.repository_id = {{R}} \
                     GROUP BY {TENANT}, CASE WHEN src.tenant IS NULL THEN l.connector_id ELSE 0 END, \
                       lower(l.sku_id) \
                   ) r GROUP BY tenant, sku \
                 ) l ON l.tenant = s.tenant AND l.sku = s.sku \
                 LEFT JOIN ( \
                   SELECT tenant, sku_id AS sku, count(*) AS assigned, \
                     sum(CASE WHEN state IN (1, 2) THEN 1 ELSE 0 END) AS active, \
                     sum(CASE WHEN state = 3 THEN 1 ELSE 0 END) AS inactive, \
                     sum(CASE WHEN state IN (0, 4) THEN 1 ELSE 0 END) AS unreported, \
                     sum(CASE WHEN reclaimable = TRUE THEN 1 ELSE 0 END) AS reclaimable \
                   FROM cons_assignments WHERE repository_id = {{R}} GROUP BY tenant, sku_id \
                 ) a ON a.tenant = s.tenant AND a.sku = s.sku",
                sources = sources_of("l"),
                part = bytes(b, "part_number"),
                name = bytes(b, "name"),
                latest_part = latest(b, run, "l.part_number"),
                latest_name = latest(b, run, "l.name"),
                latest_prepaid = latest(b, run, "CAST(l.prepaid_enabled AS TEXT)"),
                latest_derived = latest(
                    b,
                    run,
                    "CASE WHEN l.derived = TRUE THEN '1' ELSE '0' END"
                ),
            ),
            vec![],
        )
        .await?;
    // Each raw assignment links to at most one user (keys all the way).
    let linked = tx
        .count(&format!(
            "SELECT count(*) FROM raw_licence_assignments a {ASSIGNEE} WHERE a.repository_id = {{R}}"
        ))
        .await?;
    let total = tx
        .count("SELECT count(*) FROM raw_licence_assignments WHERE repository_id = {R}")
        .await?;
    summary.unlinked_assignments = total.saturating_sub(linked);
    summary.reclaimable = tx
        .count("SELECT count(*) FROM cons_assignments WHERE repository_id = {R} AND reclaimable = TRUE")
        .await?;
    Ok(())
}

async fn record(tx: &Tx<'_>, request: &Request<'_>, summary: &Summary) -> Result<(), StoreError> {
    let row = vec![
        tx.repository_id.into(),
        request.process_id.into(),
        chrono::Utc::now().to_rfc3339().into(),
        request.as_of.format("%Y-%m-%d").to_string().into(),
        (request.thresholds.used_days as i32).into(),
        (request.thresholds.rarely_used_days as i32).into(),
        serde_json::to_string(&request.rule_files)
            .unwrap_or_default()
            .into(),
        serde_json::to_string(summary).unwrap_or_default().into(),
        summary.line().into(),
    ];
    tx.insert_rows(
        "cons_runs",
        &[
            "repository_id",
            "process_id",
            "consolidated_at",
            "as_of",
            "used_days",
            "rarely_used_days",
            "rule_files",
            "summary",
            "notes",
        ],
        vec![row],
    )
    .await
}
