//! `invhost inventory VIEW --repository NAME`: the raw rows of one kind
//! (`devices`, `applications`, `installations`, `users`, `usage`, `skus`,
//! `assignments`, `activations`) or the consolidated views
//! (`product-usage`, `licences`, `reclaim`, `explain device|product ID|NAME`).

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use repo_store::Store;
use repo_store::consolidation::{LicenceSummary, ProductUsage, Reclaim};

use crate::ops::host::Host;
use crate::ops::inventory::{self, Subject, View};
use crate::output;

/// Read a repository's inventory.
#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// What to list.
    #[arg(value_parser = view_parser())]
    pub view: View,
    /// For `explain`: `device ID|NAME` or `product ID|NAME`.
    #[arg(num_args = 0..=2)]
    pub target: Vec<String>,
    /// The repository.
    #[arg(long, default_value = repo_store::DEFAULT_REPOSITORY)]
    pub repository: String,
    /// Rows at most: 50 by default in a table (which says how many it left
    /// out); the other formats list every row unless this is given.
    #[arg(long)]
    pub limit: Option<u64>,
    /// Only rows whose COLUMN is VALUE (text without regard to case; an
    /// empty VALUE matches an empty one). Repeatable: every one must hold.
    /// Columns are the JSON field names (`--format json` shows them).
    #[arg(long = "where", value_name = "COLUMN=VALUE", value_parser = parse_where)]
    pub filters: Vec<(String, String)>,
    /// Only rows with TEXT in any text column (without regard to case).
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,
    /// Order by COLUMN, ascending, or descending with `:desc`.
    #[arg(long, value_name = "COLUMN[:desc]", value_parser = parse_sort)]
    pub sort: Option<(String, bool)>,
}

impl InventoryArgs {
    /// The rows to print: as asked, else all for scripts and 50 for a table.
    fn rows(&self, json: bool) -> u64 {
        self.limit.unwrap_or(if json { u64::MAX } else { 50 })
    }
}

fn parse_where(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((column, value)) if !column.trim().is_empty() => {
            Ok((column.trim().to_owned(), value.to_owned()))
        }
        _ => Err(format!("'{text}' is not COLUMN=VALUE")),
    }
}

fn parse_sort(text: &str) -> Result<(String, bool), String> {
    let (column, descending) = match text.rsplit_once(':') {
        Some((column, "desc")) => (column, true),
        Some((column, "asc")) => (column, false),
        Some((_, order)) => return Err(format!("'{order}' is not an order: use asc or desc")),
        None => (text, false),
    };
    match column.trim() {
        "" => Err("--sort needs a column".into()),
        column => Ok((column.to_owned(), descending)),
    }
}

/// `--where`, `--search` and `--sort` over rows held in memory (the
/// consolidated views), by their JSON fields.
fn refine<T: serde::Serialize>(rows: Vec<T>, args: &InventoryArgs) -> Result<Vec<T>> {
    if args.filters.is_empty() && args.search.is_none() && args.sort.is_none() {
        return Ok(rows);
    }
    let mut valued: Vec<(serde_json::Value, T)> = rows
        .into_iter()
        .map(|row| Ok((serde_json::to_value(&row)?, row)))
        .collect::<Result<_>>()?;
    let fields: Vec<String> = valued
        .first()
        .and_then(|(v, _)| v.as_object())
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let known = |column: &str| -> Result<()> {
        if fields.is_empty() || fields.iter().any(|f| f == column) {
            Ok(())
        } else {
            anyhow::bail!(
                "no column '{column}' in {} (one of: {})",
                args.view.name(),
                fields.join(", ")
            )
        }
    };
    for (column, value) in &args.filters {
        known(column)?;
        let wanted = value.trim().to_lowercase();
        valued.retain(|(v, _)| cell(&v[column]).to_lowercase() == wanted);
    }
    if let Some(text) = args
        .search
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let text = text.to_lowercase();
        valued.retain(|(v, _)| {
            v.as_object().is_some_and(|o| {
                o.values()
                    .any(|value| value.is_string() && cell(value).to_lowercase().contains(&text))
            })
        });
    }
    if let Some((column, descending)) = &args.sort {
        known(column)?;
        valued.sort_by(|(a, _), (b, _)| {
            let (a, b) = (&a[column], &b[column]);
            // Missing values last, in either order.
            match (a.is_null(), b.is_null(), *descending) {
                (false, false, true) => compare(a, b).reverse(),
                _ => compare(a, b),
            }
        });
    }
    Ok(valued.into_iter().map(|(_, row)| row).collect())
}

/// Numbers by value, text without regard to case, missing values last.
fn compare(a: &serde_json::Value, b: &serde_json::Value) -> std::cmp::Ordering {
    use serde_json::Value;
    match (a, b) {
        (Value::Null, Value::Null) => std::cmp::Ordering::Equal,
        (Value::Null, _) => std::cmp::Ordering::Greater,
        (_, Value::Null) => std::cmp::Ordering::Less,
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(std::cmp::Ordering::Equal),
        _ => cell(a).to_lowercase().cmp(&cell(b).to_lowercase()),
    }
}

/// The views as clap offers them: names, with a line of help each.
fn view_parser() -> impl clap::builder::TypedValueParser<Value = View> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new(
        View::ALL.map(|view| PossibleValue::new(view.name()).help(view.help())),
    )
    .try_map(|name: String| name.parse::<View>())
}

/// Runs `inventory`.
pub async fn exec(args: InventoryArgs, host: &Host, json: bool) -> Result<ExitCode> {
    let store = host.store().await?;
    if args.view != View::Explain && !args.target.is_empty() {
        anyhow::bail!(
            "unexpected '{}': only 'inventory explain' takes a device or product",
            args.target.join(" ")
        );
    }
    let Some(kind) = args.view.kind() else {
        return consolidated(&store, &args, json).await;
    };
    raw(&store, &args, kind, json).await
}

/// Rows read from the database at a time: what the command holds at once,
/// however many it prints.
const BATCH: u64 = 5_000;

/// A raw view, streamed: `--limit` rows read a batch at a time in the
/// primary key's order (each batch starts after the last row of the one
/// before, so a deep batch costs what the first does) and written as they
/// come, as one JSON array or as tables of up to a batch each.
async fn raw(
    store: &Store,
    args: &InventoryArgs,
    kind: connector_core::RecordKind,
    json: bool,
) -> Result<ExitCode> {
    use std::io::Write;
    let repository = store.repository(&args.repository).await?;
    let base = repo_store::RawQuery {
        search: args.search.clone(),
        sort: args.sort.clone(),
        filters: args.filters.clone(),
        after: None,
    };
    let total = store.raw_count(repository.id, kind, &base).await?;
    let columns = args.view.columns();
    let format = output::format();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    // A closed pipe (`| head`) ends the command quietly.
    let written = |result: std::io::Result<()>| {
        if result.is_err() {
            std::process::exit(0);
        }
    };
    if format == output::Format::Json {
        written(write!(out, "["));
    }
    let mut csv = output::CsvOut::default();
    let mut printed = 0u64;
    let mut after = None;
    // Without a sort, each batch starts after the last row of the one
    // before (a deep batch costs what the first does); sorted, by offset.
    let keyed = base.sort.is_none();
    loop {
        let want = BATCH.min(args.rows(json).saturating_sub(printed));
        if want == 0 {
            break;
        }
        let query = repo_store::RawQuery {
            after: if keyed { after.take() } else { None },
            ..base.clone()
        };
        let page = repo_store::Page {
            limit: want,
            offset: if keyed { 0 } else { printed },
        };
        let (rows, last) = store
            .raw_rows_keyed(repository.id, kind, page, &query)
            .await?;
        let got = rows.len() as u64;
        match format {
            output::Format::Json => {
                for row in &rows {
                    let text = serde_json::to_string_pretty(row)?;
                    written(writeln!(out, "{}", if printed == 0 { "" } else { "," }));
                    for (n, line) in text.lines().enumerate() {
                        written(write!(out, "{}  {line}", if n == 0 { "" } else { "\n" }));
                    }
                    printed += 1;
                }
            }
            output::Format::Jsonl => {
                for row in &rows {
                    written(writeln!(out, "{}", serde_json::to_string(row)?));
                }
                printed += got;
            }
            output::Format::Csv => {
                written(out.flush());
                for row in rows {
                    csv.row(&serde_json::Value::Object(row))?;
                }
                printed += got;
            }
            output::Format::Table if !rows.is_empty() => {
                let mut table = output::table(columns.iter().map(|c| c.to_ascii_uppercase()));
                for row in &rows {
                    table.add_row(
                        columns
                            .iter()
                            .map(|c| row.get(*c).map(cell).unwrap_or_default()),
                    );
                }
                written(writeln!(out, "{}", output::render(&table, &[])));
                printed += got;
            }
            output::Format::Table => {}
        }
        if got < want {
            break;
        }
        after = last;
    }
    if format == output::Format::Json {
        written(writeln!(out, "{}]", if printed == 0 { "" } else { "\n" }));
    }
    written(out.flush());
    csv.finish()?;
    if !json {
        let filtered = if args.filters.is_empty() && args.search.is_none() {
            String::new()
        } else {
            " matching".to_owned()
        };
        output::note(&format!(
            "{printed} of {total}{filtered} rows in '{}'.",
            args.repository
        ));
    }
    Ok(ExitCode::SUCCESS)
}

async fn consolidated(store: &Store, args: &InventoryArgs, json: bool) -> Result<ExitCode> {
    let repository = store.repository(&args.repository).await?;
    let run = store.consolidation_run(repository.id).await?;
    let note = inventory::run_note(&repository.name, run.as_ref());
    let limit = usize::try_from(args.rows(json)).unwrap_or(usize::MAX);
    if args.view == View::Explain
        && (!args.filters.is_empty() || args.search.is_some() || args.sort.is_some())
    {
        anyhow::bail!("--where, --search and --sort apply to lists; 'explain' shows one item");
    }
    match args.view {
        View::ProductUsage => {
            let rows = refine(store.product_usage(repository.id).await?, args)?;
            if json {
                output::print_result(&rows.get(..limit).unwrap_or(&rows))?;
            } else {
                print_product_usage(&rows, limit);
            }
        }
        View::Licences => {
            let rows = refine(store.licence_summary(repository.id).await?, args)?;
            if json {
                output::print_result(&rows.get(..limit).unwrap_or(&rows))?;
            } else {
                print_licences(&rows, limit);
            }
        }
        View::Reclaim => {
            let rows = refine(store.reclaim_list(repository.id).await?, args)?;
            if json {
                output::print_result(&rows.get(..limit).unwrap_or(&rows))?;
            } else {
                print_reclaim(&rows, limit);
            }
        }
        _ => {
            let (subject, id) = inventory::subject(&args.target)?;
            let value = match subject {
                Subject::Device => {
                    serde_json::to_value(store.explain_device(repository.id, &id).await?)?
                }
                Subject::Product => match id.parse::<i64>() {
                    Ok(number) => {
                        serde_json::to_value(store.explain_product(repository.id, number).await?)?
                    }
                    Err(_) => serde_json::to_value(
                        store.explain_product_named(repository.id, &id).await?,
                    )?,
                },
            };
            if json {
                output::print_result(&value)?;
            } else {
                print_explain(&value);
            }
        }
    }
    if !json {
        output::note(&note);
    }
    Ok(ExitCode::SUCCESS)
}

fn opt(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

/// The product-usage table.
pub fn print_product_usage(rows: &[ProductUsage], limit: usize) {
    let mut table = output::table([
        "ID",
        "VENDOR",
        "PRODUCT",
        "EDITION",
        "VERSION",
        "INSTALLS",
        "DEVICES",
        "USERS",
        "USED",
        "RARELY USED",
        "UNUSED",
        "UNREPORTED",
        "LAST USED",
    ]);
    for p in rows.iter().take(limit) {
        let product = if p.matched {
            p.product.clone()
        } else {
            format!("{} (unmatched)", p.product)
        };
        table.add_row([
            if p.id == 0 {
                "-".into()
            } else {
                p.id.to_string()
            },
            p.vendor.clone(),
            product,
            opt(&p.edition),
            opt(&p.version),
            p.installations.to_string(),
            p.devices.to_string(),
            p.users.to_string(),
            p.used.to_string(),
            p.rarely_used.to_string(),
            p.unused.to_string(),
            p.unreported.to_string(),
            opt(&p.last_used),
        ]);
    }
    output::print_table_hiding(
        &table,
        &["EDITION", "RARELY USED", "UNREPORTED", "USERS", "ID"],
    );
    if rows.len() > limit {
        output::note(&format!(
            "{limit} of {} products shown (--limit).",
            rows.len()
        ));
    }
}

/// Whether rows of more than one tenant are shown (then a TENANT column is).
fn several_tenants<'a>(tenants: impl Iterator<Item = &'a str>) -> bool {
    tenants.collect::<std::collections::BTreeSet<_>>().len() > 1
}

fn print_licences(rows: &[LicenceSummary], limit: usize) {
    let tenants = several_tenants(rows.iter().map(|l| l.tenant.as_str()));
    let mut columns = vec![
        "SKU",
        "NAME",
        "PREPAID",
        "ASSIGNED",
        "ACTIVE",
        "INACTIVE",
        "UNREPORTED",
        "RECLAIMABLE",
    ];
    if tenants {
        columns.insert(0, "TENANT");
    }
    let mut table = output::table(columns);
    let totals = repo_store::consolidation::licence_totals(rows);
    for l in rows.iter().take(limit).chain(&totals) {
        let part = l.part_number.clone().unwrap_or_else(|| l.sku_id.clone());
        let mut row = vec![
            part.clone(),
            // An SKU no list names is shown by its part number, not a guess.
            l.name.clone().unwrap_or(part),
            l.prepaid.map_or("unknown".into(), |n| n.to_string()),
            l.assigned.to_string(),
            l.active.to_string(),
            l.inactive.to_string(),
            l.unreported.to_string(),
            l.reclaimable.to_string(),
        ];
        if tenants {
            row.insert(0, display_tenant(&l.tenant));
        }
        table.add_row(row);
    }
    output::print_table_hiding(&table, &["UNREPORTED", "NAME", "ACTIVE", "INACTIVE"]);
    if !totals.is_empty() {
        output::note(
            "Rows of 'all N tenants' add up the tenants' figures for one SKU; each tenant's \
             subscriptions are its own.",
        );
    }
}

/// A tenant as shown: its id, or what a blank one means.
fn display_tenant(tenant: &str) -> String {
    match tenant {
        "" => "(no tenant)".to_owned(),
        t => t.to_owned(),
    }
}

fn print_reclaim(rows: &[Reclaim], limit: usize) {
    let tenants = several_tenants(rows.iter().map(|r| r.tenant.as_str()));
    let mut columns = vec![
        "USER",
        "SKU",
        "LAST ACTIVITY",
        "PER SERVICE",
        "ASSIGNED ON",
        "WHY",
    ];
    if tenants {
        columns.insert(0, "TENANT");
    }
    let mut table = output::table(columns);
    for r in rows.iter().take(limit) {
        let services: Vec<String> = r
            .activity
            .iter()
            .map(|(service, last)| format!("{service}: {}", last.as_deref().unwrap_or("never")))
            .collect();
        let mut row = vec![
            r.user.clone(),
            r.part_number.clone().unwrap_or_else(|| r.sku_id.clone()),
            r.last_activity.clone().unwrap_or_else(|| "never".into()),
            services.join(", "),
            opt(&r.assigned_on),
            r.reason.clone(),
        ];
        if tenants {
            row.insert(0, display_tenant(&r.tenant));
        }
        table.add_row(row);
    }
    output::print_table_hiding(&table, &["PER SERVICE", "ASSIGNED ON"]);
    output::note(&format!(
        "{} assignments can be reclaimed. invhost changes nothing in the tenant.",
        rows.len()
    ));
}

/// An explanation as sections of `key: value` lines and tables.
fn print_explain(value: &serde_json::Value) {
    let Some(object) = value.as_object() else {
        return;
    };
    for (section, content) in object {
        output::line(&format!("{}:", section.replace('_', " ")));
        match content {
            serde_json::Value::Array(rows) => {
                let Some(first) = rows.first().and_then(|r| r.as_object()) else {
                    output::line("  (none)");
                    continue;
                };
                let columns: Vec<&String> = first.keys().collect();
                let mut table = output::table(columns.iter().map(|c| c.to_ascii_uppercase()));
                for row in rows {
                    table.add_row(columns.iter().map(|c| cell(&row[c.as_str()])));
                }
                output::print_table(&table);
            }
            serde_json::Value::Object(fields) => {
                for (key, value) in fields {
                    output::line(&format!("  {key}: {}", cell(value)));
                }
            }
            other => output::line(&format!("  {}", cell(other))),
        }
    }
}

fn cell(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}
