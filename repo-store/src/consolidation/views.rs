//! Reads of the consolidated data: product usage, licences, the reclaim
//! list, and the raw rows and rule behind a consolidated row.

use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, QueryResult, Value};
use serde::Serialize;

use super::run::{bind, category};
use crate::connect::Store;
use crate::error::StoreError;

/// When and how a repository was last consolidated.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    /// The process that did it.
    pub process_id: Option<i64>,
    /// When (RFC 3339).
    pub consolidated_at: String,
    /// The day usage was judged on.
    pub as_of: String,
    /// Used within this many days.
    pub used_days: i32,
    /// Rarely used within this many days.
    pub rarely_used_days: i32,
    /// The operator's rule files.
    pub rule_files: Vec<String>,
    /// The counts.
    pub summary: serde_json::Value,
    /// The one-line note.
    pub notes: String,
}

/// One row of the product-usage view.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ProductUsage {
    /// Product id (stable within one consolidation).
    pub id: i64,
    /// Vendor.
    pub vendor: String,
    /// Product.
    pub product: String,
    /// Edition, if the rule names one.
    pub edition: Option<String>,
    /// Version.
    pub version: Option<String>,
    /// Whether a rule named it (unmatched titles keep their raw values).
    pub matched: bool,
    /// `installations` when counted over installations, `users` for a
    /// product known only from usage reports.
    pub basis: &'static str,
    /// Consolidated installations.
    pub installations: u64,
    /// Devices.
    pub devices: u64,
    /// Users: primary users of its devices, or report users.
    pub users: u64,
    /// Used.
    pub used: u64,
    /// Rarely Used.
    pub rarely_used: u64,
    /// Unused.
    pub unused: u64,
    /// Unreported.
    pub unreported: u64,
    /// Latest use (`YYYY-MM-DD`).
    pub last_used: Option<String>,
}

/// One SKU of one tenant in the licence summary.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LicenceSummary {
    /// The tenant holding the SKU ('' for connectors that report none); a
    /// total over tenants says `all N tenants` ([`licence_totals`]).
    pub tenant: String,
    /// SKU id (lower-case).
    pub sku_id: String,
    /// Part number.
    pub part_number: Option<String>,
    /// Product name.
    pub name: Option<String>,
    /// Prepaid (enabled) units; unknown when licences were derived.
    pub prepaid: Option<i64>,
    /// Users assigned.
    pub assigned: i64,
    /// Assignees active within the rarely-used threshold.
    pub active: i64,
    /// Assignees without activity within it.
    pub inactive: i64,
    /// Assignees whose activity is unknown.
    pub unreported: i64,
    /// Inactive assignments that can be reclaimed.
    pub reclaimable: i64,
}

/// One assignment that can be reclaimed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Reclaim {
    /// The tenant of the user and licence ('' for none).
    pub tenant: String,
    /// User principal name.
    pub user: String,
    /// Display name.
    pub display_name: Option<String>,
    /// SKU id.
    pub sku_id: String,
    /// Part number.
    pub part_number: Option<String>,
    /// Latest activity in any service, if any.
    pub last_activity: Option<String>,
    /// Last activity per service or application (`None`: never).
    pub activity: BTreeMap<String, Option<String>>,
    /// The refresh date of the report the judgement rests on.
    pub report_refresh_date: Option<String>,
    /// When the licence was assigned, if the source says.
    pub assigned_on: Option<String>,
    /// Why it is reclaimable.
    pub reason: String,
}

/// Per SKU that several tenants hold, the sum over them (empty when the
/// summary holds one tenant or none): each total's tenant says
/// `all N tenants`, so that nobody takes it for one tenant's figures.
/// Prepaid is unknown in a total when it is unknown for one tenant.
pub fn licence_totals(rows: &[LicenceSummary]) -> Vec<LicenceSummary> {
    let tenants: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r.tenant.as_str()).collect();
    if tenants.len() < 2 {
        return Vec::new();
    }
    let mut totals: BTreeMap<&str, LicenceSummary> = BTreeMap::new();
    let mut holders: BTreeMap<&str, usize> = BTreeMap::new();
    for row in rows {
        *holders.entry(&row.sku_id).or_default() += 1;
        let total = totals.entry(&row.sku_id).or_insert_with(|| LicenceSummary {
            tenant: String::new(),
            prepaid: Some(0),
            assigned: 0,
            active: 0,
            inactive: 0,
            unreported: 0,
            reclaimable: 0,
            ..row.clone()
        });
        total.prepaid = total.prepaid.zip(row.prepaid).map(|(a, b)| a + b);
        total.assigned += row.assigned;
        total.active += row.active;
        total.inactive += row.inactive;
        total.unreported += row.unreported;
        total.reclaimable += row.reclaimable;
        if total.name.is_none() {
            total.name.clone_from(&row.name);
        }
        if total.part_number.is_none() {
            total.part_number.clone_from(&row.part_number);
        }
    }
    totals
        .into_iter()
        .filter(|(sku, _)| holders[sku] > 1)
        .map(|(sku, mut total)| {
            total.tenant = format!("all {} tenants", holders[sku]);
            total
        })
        .collect()
}

/// A consolidated device and what it was made of.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceExplain {
    /// The consolidated row.
    pub device: serde_json::Map<String, serde_json::Value>,
    /// Its raw rows, with the key each was merged by.
    pub sources: Vec<serde_json::Map<String, serde_json::Value>>,
    /// Its installations.
    pub installations: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// A product and the raw titles and rule behind it.
#[derive(Debug, Clone, Serialize)]
pub struct ProductExplain {
    /// The consolidated row, with its rule.
    pub product: serde_json::Map<String, serde_json::Value>,
    /// The raw applications named as it.
    pub titles: Vec<serde_json::Map<String, serde_json::Value>>,
    /// Installations per category.
    pub categories: BTreeMap<String, u64>,
    /// Installations per category and the reason for it, most first.
    pub reasons: Vec<serde_json::Map<String, serde_json::Value>>,
    /// The devices it is installed on (the first 1,000 by name), with the
    /// category and reason of each installation.
    pub devices: Vec<serde_json::Map<String, serde_json::Value>>,
}

fn text(row: &QueryResult, column: &str) -> Result<Option<String>, StoreError> {
    Ok(row.try_get::<Option<String>>("", column)?)
}

fn int(row: &QueryResult, column: &str) -> Result<i64, StoreError> {
    Ok(row.try_get::<Option<i64>>("", column)?.unwrap_or(0))
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

impl Store {
    async fn cons_rows(
        &self,
        sql: &str,
        values: Vec<Value>,
    ) -> Result<Vec<QueryResult>, StoreError> {
        Ok(self
            .db
            .query_all(bind(self.db_backend(), sql, values))
            .await?)
    }

    /// The last consolidation of a repository, if any.
    pub async fn consolidation_run(
        &self,
        repository_id: i64,
    ) -> Result<Option<RunInfo>, StoreError> {
        let rows = self
            .cons_rows(
                "SELECT process_id, consolidated_at, as_of, used_days, rarely_used_days, rule_files, summary, notes \
                 FROM cons_runs WHERE repository_id = ?",
                vec![repository_id.into()],
            )
            .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let json = |column: &str| -> Result<serde_json::Value, StoreError> {
            Ok(serde_json::from_str(&text(row, column)?.unwrap_or_default()).unwrap_or_default())
        };
        Ok(Some(RunInfo {
            process_id: row.try_get("", "process_id")?,
            consolidated_at: text(row, "consolidated_at")?.unwrap_or_default(),
            as_of: text(row, "as_of")?.unwrap_or_default(),
            used_days: row.try_get("", "used_days")?,
            rarely_used_days: row.try_get("", "rarely_used_days")?,
            rule_files: serde_json::from_value(json("rule_files")?).unwrap_or_default(),
            summary: json("summary")?,
            notes: text(row, "notes")?.unwrap_or_default(),
        }))
    }

    /// Products by installations, then those known only from usage reports
    /// by users.
    pub async fn product_usage(&self, repository_id: i64) -> Result<Vec<ProductUsage>, StoreError> {
        let installed = self
            .cons_rows(
                "SELECT p.id, p.vendor, p.product, p.edition, p.version, p.rule, \
                   count(*) AS installations, count(DISTINCT i.device_id) AS devices, \
                   count(DISTINCT d.primary_user_key) AS users, \
                   sum(CASE WHEN i.state = 1 THEN 1 ELSE 0 END) AS used, \
                   sum(CASE WHEN i.state = 2 THEN 1 ELSE 0 END) AS rarely_used, \
                   sum(CASE WHEN i.state = 3 THEN 1 ELSE 0 END) AS unused, \
                   sum(CASE WHEN i.state = 4 THEN 1 ELSE 0 END) AS unreported, \
                   max(i.last_used) AS last_used \
                 FROM cons_installations i \
                 JOIN cons_products p ON p.id = i.product_id \
                 JOIN cons_devices d ON d.id = i.device_id \
                 WHERE i.repository_id = ? \
                 GROUP BY p.id, p.vendor, p.product, p.edition, p.version, p.rule \
                 ORDER BY count(*) DESC, p.vendor, p.product, p.version",
                vec![repository_id.into()],
            )
            .await?;
        let mut out = Vec::with_capacity(installed.len());
        for row in &installed {
            out.push(ProductUsage {
                id: int(row, "id")?,
                vendor: text(row, "vendor")?.unwrap_or_default(),
                product: text(row, "product")?.unwrap_or_default(),
                edition: non_empty(text(row, "edition")?),
                version: non_empty(text(row, "version")?),
                matched: text(row, "rule")?.is_some(),
                basis: "installations",
                installations: int(row, "installations")? as u64,
                devices: int(row, "devices")? as u64,
                users: int(row, "users")? as u64,
                used: int(row, "used")? as u64,
                rarely_used: int(row, "rarely_used")? as u64,
                unused: int(row, "unused")? as u64,
                unreported: int(row, "unreported")? as u64,
                last_used: text(row, "last_used")?,
            });
        }
        // Products seen only in usage reports (Exchange, SharePoint, web use):
        // one judgement per user, the best of their applications.
        let reported = self
            .cons_rows(
                "SELECT vendor, product, count(*) AS users, \
                   sum(CASE WHEN st = 1 THEN 1 ELSE 0 END) AS used, \
                   sum(CASE WHEN st = 2 THEN 1 ELSE 0 END) AS rarely_used, \
                   sum(CASE WHEN st = 3 THEN 1 ELSE 0 END) AS unused, \
                   sum(CASE WHEN st = 4 THEN 1 ELSE 0 END) AS unreported, \
                   max(la) AS last_used \
                 FROM (SELECT user_id, vendor, product, min(state) AS st, max(last_activity) AS la \
                         FROM cons_user_usage WHERE repository_id = ? GROUP BY user_id, vendor, product) u \
                 WHERE NOT EXISTS (SELECT 1 FROM cons_products p JOIN cons_installations i ON i.product_id = p.id \
                                    WHERE p.repository_id = ? AND p.vendor = u.vendor AND p.product = u.product) \
                 GROUP BY vendor, product ORDER BY count(*) DESC, vendor, product",
                vec![repository_id.into(), repository_id.into()],
            )
            .await?;
        for row in &reported {
            out.push(ProductUsage {
                id: 0,
                vendor: text(row, "vendor")?.unwrap_or_default(),
                product: text(row, "product")?.unwrap_or_default(),
                edition: None,
                version: None,
                matched: true,
                basis: "users",
                installations: 0,
                devices: 0,
                users: int(row, "users")? as u64,
                used: int(row, "used")? as u64,
                rarely_used: int(row, "rarely_used")? as u64,
                unused: int(row, "unused")? as u64,
                unreported: int(row, "unreported")? as u64,
                last_used: text(row, "last_used")?,
            });
        }
        Ok(out)
    }

    /// The licence summary, per SKU.
    pub async fn licence_summary(
        &self,
        repository_id: i64,
    ) -> Result<Vec<LicenceSummary>, StoreError> {
        let rows = self
            .cons_rows(
                "SELECT tenant, sku_id, part_number, name, prepaid, assigned, active, inactive, unreported, reclaimable \
                 FROM cons_licences WHERE repository_id = ? \
                 ORDER BY reclaimable DESC, assigned DESC, sku_id, tenant",
                vec![repository_id.into()],
            )
            .await?;
        rows.iter()
            .map(|row| {
                Ok(LicenceSummary {
                    tenant: text(row, "tenant")?.unwrap_or_default(),
                    sku_id: text(row, "sku_id")?.unwrap_or_default(),
                    part_number: text(row, "part_number")?,
                    name: text(row, "name")?,
                    prepaid: row.try_get("", "prepaid")?,
                    assigned: int(row, "assigned")?,
                    active: int(row, "active")?,
                    inactive: int(row, "inactive")?,
                    unreported: int(row, "unreported")?,
                    reclaimable: int(row, "reclaimable")?,
                })
            })
            .collect()
    }

    /// Assignments that can be reclaimed, by user; read-only.
    pub async fn reclaim_list(&self, repository_id: i64) -> Result<Vec<Reclaim>, StoreError> {
        let rows = self
            .cons_rows(
                "SELECT a.user_id, a.tenant, u.user_principal_name, u.display_name, a.sku_id, l.part_number, \
                   a.last_activity, a.refresh_date, a.assigned_on, a.reason \
                 FROM cons_assignments a \
                 JOIN cons_users u ON u.id = a.user_id \
                 LEFT JOIN cons_licences l ON l.repository_id = a.repository_id AND l.tenant = a.tenant \
                   AND l.sku_id = a.sku_id \
                 WHERE a.repository_id = ? AND a.reclaimable = TRUE \
                 ORDER BY u.user_principal_name, a.sku_id, a.tenant",
                vec![repository_id.into()],
            )
            .await?;
        let activity_rows = self
            .cons_rows(
                "SELECT c.user_id, c.application, c.last_activity FROM cons_user_usage c \
                 WHERE c.repository_id = ? AND c.user_id IN \
                   (SELECT user_id FROM cons_assignments WHERE repository_id = ? AND reclaimable = TRUE)",
                vec![repository_id.into(), repository_id.into()],
            )
            .await?;
        let mut activity: BTreeMap<i64, BTreeMap<String, Option<String>>> = BTreeMap::new();
        for row in &activity_rows {
            activity.entry(int(row, "user_id")?).or_default().insert(
                text(row, "application")?.unwrap_or_default(),
                text(row, "last_activity")?,
            );
        }
        rows.iter()
            .map(|row| {
                let reason = format!(
                    "{}{}",
                    text(row, "reason")?.unwrap_or_default(),
                    match text(row, "refresh_date")?.filter(|d| !d.is_empty()) {
                        Some(date) => format!(" (report refreshed {date})"),
                        None => String::new(),
                    }
                );
                Ok(Reclaim {
                    tenant: text(row, "tenant")?.unwrap_or_default(),
                    user: text(row, "user_principal_name")?.unwrap_or_default(),
                    display_name: text(row, "display_name")?,
                    sku_id: text(row, "sku_id")?.unwrap_or_default(),
                    part_number: text(row, "part_number")?,
                    last_activity: text(row, "last_activity")?,
                    activity: activity
                        .get(&int(row, "user_id")?)
                        .cloned()
                        .unwrap_or_default(),
                    report_refresh_date: non_empty(text(row, "refresh_date")?),
                    assigned_on: text(row, "assigned_on")?,
                    reason,
                })
            })
            .collect()
    }

    /// A consolidated device by id, or by name (case and domain ignored).
    pub async fn explain_device(
        &self,
        repository_id: i64,
        target: &str,
    ) -> Result<DeviceExplain, StoreError> {
        let id = match target.parse::<i64>() {
            Ok(id) => id,
            Err(_) => self.device_named(repository_id, target).await?,
        };
        self.explain_device_id(repository_id, id, target).await
    }

    /// [`Store::explain_device`] of the device with this name, even one
    /// that looks like a number (an asset tag).
    pub async fn explain_device_named(
        &self,
        repository_id: i64,
        name: &str,
    ) -> Result<DeviceExplain, StoreError> {
        let id = self.device_named(repository_id, name).await?;
        self.explain_device_id(repository_id, id, name).await
    }

    /// The consolidated device of this name (case and domain suffix
    /// ignored); several of that name are refused with their ids.
    async fn device_named(&self, repository_id: i64, target: &str) -> Result<i64, StoreError> {
        // The merge key's own fold, so that `åsa-pc` finds `ÅSA-PC`.
        let key = crate::fold::fold(target);
        let key = key.split('.').next().unwrap_or_default().to_owned();
        let rows = self
            .cons_rows(
                "SELECT DISTINCT device_id FROM cons_device_sources WHERE repository_id = ? AND name_key = ? \
                 ORDER BY device_id",
                vec![repository_id.into(), key.into()],
            )
            .await?;
        match rows.as_slice() {
            [one] => int(one, "device_id"),
            [] => Err(not_found("device", target)),
            _ => {
                let ids: Vec<String> = rows
                    .iter()
                    .map(|r| int(r, "device_id").map(|id| id.to_string()))
                    .collect::<Result<_, _>>()?;
                Err(StoreError::Refused(format!(
                    "{} consolidated devices are named '{target}' (ids {}); give the device's id",
                    rows.len(),
                    ids.join(", ")
                )))
            }
        }
    }

    /// The product a raw application (connector name, source key) was
    /// consolidated into, if the last consolidation saw it.
    pub async fn product_of_application(
        &self,
        repository_id: i64,
        connector: &str,
        source_key: &str,
    ) -> Result<Option<i64>, StoreError> {
        let rows = self
            .cons_rows(
                "SELECT t.product_id FROM cons_titles t JOIN connectors c ON c.id = t.connector_id \
                 WHERE t.repository_id = ? AND c.name = ? AND t.source_key = ?",
                vec![repository_id.into(), connector.into(), source_key.into()],
            )
            .await?;
        rows.first().map(|row| int(row, "product_id")).transpose()
    }

    async fn explain_device_id(
        &self,
        repository_id: i64,
        id: i64,
        target: &str,
    ) -> Result<DeviceExplain, StoreError> {
        let device = self
            .cons_rows(
                "SELECT id, name, serial_number, entra_device_id, manufacturer, model, operating_system, \
                   primary_user, last_seen, sources, merge_key \
                 FROM cons_devices WHERE repository_id = ? AND id = ?",
                vec![repository_id.into(), id.into()],
            )
            .await?;
        let device = device.first().ok_or_else(|| not_found("device", target))?;
        let sources = self
            .cons_rows(
                "SELECT c.name AS connector, s.source_key, s.matched_by, s.entra_key, s.serial_key, s.name_key, \
                   d.name, d.serial_number, d.entra_device_id, d.source_type, d.primary_user, d.last_seen \
                 FROM cons_device_sources s \
                 JOIN raw_devices d ON d.repository_id = s.repository_id AND d.connector_id = s.connector_id \
                   AND d.source_key = s.source_key \
                 LEFT JOIN connectors c ON c.id = s.connector_id \
                 WHERE s.repository_id = ? AND s.device_id = ? ORDER BY c.name, s.source_key",
                vec![repository_id.into(), id.into()],
            )
            .await?;
        let installations = self
            .cons_rows(
                "SELECT p.id AS product_id, p.vendor, p.product, p.version, i.installed_on, i.last_used, \
                   i.state, i.reason \
                 FROM cons_installations i JOIN cons_products p ON p.id = i.product_id \
                 WHERE i.repository_id = ? AND i.device_id = ? ORDER BY p.vendor, p.product, p.version",
                vec![repository_id.into(), id.into()],
            )
            .await?;
        Ok(DeviceExplain {
            device: object(
                device,
                &[
                    ("id", Int),
                    ("name", Str),
                    ("serial_number", Str),
                    ("entra_device_id", Str),
                    ("manufacturer", Str),
                    ("model", Str),
                    ("operating_system", Str),
                    ("primary_user", Str),
                    ("last_seen", Str),
                    ("sources", Int),
                    ("merge_key", Str),
                ],
            )?,
            sources: sources
                .iter()
                .map(|row| {
                    object(
                        row,
                        &[
                            ("connector", Str),
                            ("source_key", Str),
                            ("matched_by", Str),
                            ("name", Str),
                            ("serial_number", Str),
                            ("entra_device_id", Str),
                            ("source_type", Str),
                            ("primary_user", Str),
                            ("last_seen", Str),
                        ],
                    )
                })
                .collect::<Result<_, _>>()?,
            installations: installations
                .iter()
                .map(|row| {
                    object(
                        row,
                        &[
                            ("product_id", Int),
                            ("vendor", Str),
                            ("product", Str),
                            ("version", Str),
                            ("installed_on", Str),
                            ("last_used", Str),
                            ("state", State),
                            ("reason", Str),
                        ],
                    )
                })
                .collect::<Result<_, _>>()?,
        })
    }

    /// [`Store::explain_product`] of the product with this name (case
    /// ignored); several products of that name (versions, editions) are
    /// refused with their ids.
    pub async fn explain_product_named(
        &self,
        repository_id: i64,
        name: &str,
    ) -> Result<ProductExplain, StoreError> {
        let rows = self
            .cons_rows(
                "SELECT id, vendor, product, edition, version FROM cons_products \
                 WHERE repository_id = ? ORDER BY id",
                vec![repository_id.into()],
            )
            .await?;
        let key = crate::fold::fold(name);
        let mut matching = Vec::new();
        for row in &rows {
            if crate::fold::fold(&text(row, "product")?.unwrap_or_default()) == key {
                let described = [
                    text(row, "vendor")?,
                    text(row, "product")?,
                    text(row, "edition")?,
                    text(row, "version")?,
                ]
                .into_iter()
                .flatten()
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
                matching.push((int(row, "id")?, described));
            }
        }
        match matching.as_slice() {
            [(id, _)] => self.explain_product(repository_id, *id).await,
            [] => Err(not_found("product", name)),
            several => Err(StoreError::Refused(format!(
                "{} products are named '{name}': {}; give the id",
                several.len(),
                several
                    .iter()
                    .take(10)
                    .map(|(id, d)| format!("{id} ({d})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// A product by id: its rule and the raw titles named as it.
    pub async fn explain_product(
        &self,
        repository_id: i64,
        id: i64,
    ) -> Result<ProductExplain, StoreError> {
        let product = self
            .cons_rows(
                "SELECT id, vendor, product, edition, version, rule, rule_source, coverage \
                 FROM cons_products WHERE repository_id = ? AND id = ?",
                vec![repository_id.into(), id.into()],
            )
            .await?;
        let product = product
            .first()
            .ok_or_else(|| not_found("product", &id.to_string()))?;
        let titles = self
            .cons_rows(
                "SELECT c.name AS connector, a.source_key, a.name, a.publisher, a.version, a.platform \
                 FROM cons_titles t \
                 JOIN raw_applications a ON a.repository_id = t.repository_id AND a.connector_id = t.connector_id \
                   AND a.source_key = t.source_key \
                 LEFT JOIN connectors c ON c.id = t.connector_id \
                 WHERE t.repository_id = ? AND t.product_id = ? ORDER BY c.name, a.name, a.source_key LIMIT 1000",
                vec![repository_id.into(), id.into()],
            )
            .await?;
        let states = self
            .cons_rows(
                "SELECT state, count(*) AS n FROM cons_installations WHERE repository_id = ? AND product_id = ? \
                 GROUP BY state",
                vec![repository_id.into(), id.into()],
            )
            .await?;
        let mut categories = BTreeMap::new();
        for row in &states {
            let state: i32 = row.try_get("", "state")?;
            categories.insert(category(state).to_owned(), int(row, "n")? as u64);
        }
        let mut reasons = Vec::new();
        for row in &self
            .cons_rows(
                "SELECT state, reason, count(*) AS installations FROM cons_installations \
                 WHERE repository_id = ? AND product_id = ? GROUP BY state, reason ORDER BY installations DESC, state",
                vec![repository_id.into(), id.into()],
            )
            .await?
        {
            reasons.push(object(
                row,
                &[("state", State), ("reason", Str), ("installations", Int)],
            )?);
        }
        let mut devices = Vec::new();
        for row in &self
            .cons_rows(
                "SELECT d.id, d.name, d.primary_user, i.installed_on, i.last_used, i.state, i.reason \
                 FROM cons_installations i JOIN cons_devices d ON d.id = i.device_id \
                 WHERE i.repository_id = ? AND i.product_id = ? ORDER BY d.name, d.id LIMIT 1000",
                vec![repository_id.into(), id.into()],
            )
            .await?
        {
            devices.push(object(
                row,
                &[
                    ("id", Int),
                    ("name", Str),
                    ("primary_user", Str),
                    ("installed_on", Str),
                    ("last_used", Str),
                    ("state", State),
                    ("reason", Str),
                ],
            )?);
        }
        let mut product = object(
            product,
            &[
                ("id", Int),
                ("vendor", Str),
                ("product", Str),
                ("edition", Str),
                ("version", Str),
                ("rule", Str),
                ("rule_source", Str),
            ],
        )?;
        if product.get("rule").is_some_and(serde_json::Value::is_null) {
            product.insert(
                "rule".into(),
                "unmatched: no rule names this title; raw values kept".into(),
            );
        }
        Ok(ProductExplain {
            product,
            titles: titles
                .iter()
                .map(|row| {
                    object(
                        row,
                        &[
                            ("connector", Str),
                            ("source_key", Str),
                            ("name", Str),
                            ("publisher", Str),
                            ("version", Str),
                            ("platform", Str),
                        ],
                    )
                })
                .collect::<Result<_, _>>()?,
            categories,
            reasons,
            devices,
        })
    }
}

fn not_found(what: &'static str, name: &str) -> StoreError {
    StoreError::NotFound {
        what,
        name: name.to_owned(),
        known: String::new(),
    }
}

#[derive(Clone, Copy)]
enum Field {
    Str,
    Int,
    State,
}

use Field::{Int, State, Str};

fn object(
    row: &QueryResult,
    fields: &[(&str, Field)],
) -> Result<serde_json::Map<String, serde_json::Value>, StoreError> {
    let mut out = serde_json::Map::new();
    for (name, field) in fields {
        let value = match field {
            Str => non_empty(text(row, name)?).map_or(serde_json::Value::Null, Into::into),
            Int => row
                .try_get::<Option<i64>>("", name)?
                .map_or(serde_json::Value::Null, Into::into),
            State => {
                let state: i32 = row.try_get("", name)?;
                category(state).into()
            }
        };
        let key = if matches!(field, State) {
            "category"
        } else {
            name
        };
        out.insert(key.to_owned(), value);
    }
    Ok(out)
}
