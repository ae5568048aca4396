//! `invhost inventory VIEW --repository NAME`: the raw rows of one kind
//! (`devices`, `applications`, `installations`, `users`, `usage`, `skus`,
//! `assignments`, `activations`) or the consolidated views
//! (`product-usage`, `licences`, `reclaim`, `explain device|product ID`).

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
    /// For `explain`: `device ID|NAME` or `product ID`.
    #[arg(num_args = 0..=2)]
    pub target: Vec<String>,
    /// The repository.
    #[arg(long, default_value = repo_store::DEFAULT_REPOSITORY)]
    pub repository: String,
    /// Rows at most: 50 by default in a table (which says how many it left
    /// out); `--json` lists every row unless this is given.
    #[arg(long)]
    pub limit: Option<u64>,
}

impl InventoryArgs {
    /// The rows to print: as asked, else all for JSON and 50 for a table.
    fn rows(&self, json: bool) -> u64 {
        self.limit.unwrap_or(if json { u64::MAX } else { 50 })
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
    let total = store
        .raw_counts(repository.id)
        .await?
        .get(&kind)
        .copied()
        .unwrap_or(0);
    let columns = args.view.columns();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    // A closed pipe (`| head`) ends the command quietly.
    let written = |result: std::io::Result<()>| {
        if result.is_err() {
            std::process::exit(0);
        }
    };
    if json {
        written(write!(out, "["));
    }
    let mut printed = 0u64;
    let mut after = None;
    loop {
        let want = BATCH.min(args.rows(json).saturating_sub(printed));
        if want == 0 {
            break;
        }
        let query = repo_store::RawQuery {
            after: after.take(),
            ..Default::default()
        };
        let (rows, last) = store
            .raw_rows_keyed(
                repository.id,
                kind,
                repo_store::Page {
                    limit: want,
                    offset: 0,
                },
                &query,
            )
            .await?;
        let got = rows.len() as u64;
        if json {
            for row in &rows {
                let text = serde_json::to_string_pretty(row)?;
                written(writeln!(out, "{}", if printed == 0 { "" } else { "," }));
                for (n, line) in text.lines().enumerate() {
                    written(write!(out, "{}  {line}", if n == 0 { "" } else { "\n" }));
                }
                printed += 1;
            }
        } else if !rows.is_empty() {
            let mut table = output::table(columns.iter().map(|c| c.to_ascii_uppercase()));
            for row in &rows {
                table.add_row(
                    columns
                        .iter()
                        .map(|c| row.get(*c).map(cell).unwrap_or_default()),
                );
            }
            written(writeln!(out, "{table}"));
            printed += got;
        }
        if got < want {
            break;
        }
        after = last;
    }
    if json {
        written(writeln!(out, "{}]", if printed == 0 { "" } else { "\n" }));
    }
    written(out.flush());
    if !json {
        output::note(&format!(
            "{printed} of {total} rows in '{}'.",
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
    match args.view {
        View::ProductUsage => {
            let rows = store.product_usage(repository.id).await?;
            if json {
                output::print_json(&rows)?;
            } else {
                print_product_usage(&rows, limit);
            }
        }
        View::Licences => {
            let rows = store.licence_summary(repository.id).await?;
            if json {
                output::print_json(&rows)?;
            } else {
                print_licences(&rows, limit);
            }
        }
        View::Reclaim => {
            let rows = store.reclaim_list(repository.id).await?;
            if json {
                output::print_json(&rows)?;
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
                Subject::Product => {
                    let id: i64 = id.parse().map_err(|_| {
                        anyhow::anyhow!(
                            "'{id}' is not a product id (see 'inventory product-usage')"
                        )
                    })?;
                    serde_json::to_value(store.explain_product(repository.id, id).await?)?
                }
            };
            if json {
                output::print_json(&value)?;
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
    output::print_table(&table);
    if rows.len() > limit {
        output::note(&format!(
            "{limit} of {} products shown (--limit).",
            rows.len()
        ));
    }
}

fn print_licences(rows: &[LicenceSummary], limit: usize) {
    let mut table = output::table([
        "SKU",
        "NAME",
        "PREPAID",
        "ASSIGNED",
        "ACTIVE",
        "INACTIVE",
        "UNREPORTED",
        "RECLAIMABLE",
    ]);
    for l in rows.iter().take(limit) {
        table.add_row([
            l.part_number.clone().unwrap_or_else(|| l.sku_id.clone()),
            opt(&l.name),
            l.prepaid.map_or("unknown".into(), |n| n.to_string()),
            l.assigned.to_string(),
            l.active.to_string(),
            l.inactive.to_string(),
            l.unreported.to_string(),
            l.reclaimable.to_string(),
        ]);
    }
    output::print_table(&table);
}

fn print_reclaim(rows: &[Reclaim], limit: usize) {
    let mut table = output::table([
        "USER",
        "SKU",
        "LAST ACTIVITY",
        "PER SERVICE",
        "ASSIGNED ON",
        "WHY",
    ]);
    for r in rows.iter().take(limit) {
        let services: Vec<String> = r
            .activity
            .iter()
            .map(|(service, last)| format!("{service}: {}", last.as_deref().unwrap_or("never")))
            .collect();
        table.add_row([
            r.user.clone(),
            r.part_number.clone().unwrap_or_else(|| r.sku_id.clone()),
            r.last_activity.clone().unwrap_or_else(|| "never".into()),
            services.join(", "),
            opt(&r.assigned_on),
            r.reason.clone(),
        ]);
    }
    output::print_table(&table);
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
