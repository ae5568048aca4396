//! `invhost inventory devices | applications | installations | users | usage | licences --repository NAME`.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use crate::ops::host::Host;
use crate::ops::inventory::{self, View};
use crate::output;

/// Read a repository's inventory.
#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// What to list.
    #[arg(value_enum)]
    pub view: View,
    /// The repository.
    #[arg(long, default_value = repo_store::DEFAULT_REPOSITORY)]
    pub repository: String,
    /// Rows at most.
    #[arg(long, default_value_t = 50)]
    pub limit: u64,
}

/// Runs `inventory`.
pub async fn exec(args: InventoryArgs, host: &Host, json: bool) -> Result<ExitCode> {
    let store = host.store().await?;
    let (rows, total) = inventory::rows(&store, &args.repository, args.view, args.limit).await?;
    if json {
        output::print_json(&rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    let columns = args.view.columns();
    let mut table = output::table(columns.iter().map(|c| c.to_ascii_uppercase()));
    for row in &rows {
        table.add_row(columns.iter().map(|c| match row.get(*c) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        }));
    }
    output::print_table(&table);
    output::note(&format!(
        "{} of {total} rows in '{}'.",
        rows.len(),
        args.repository
    ));
    Ok(ExitCode::SUCCESS)
}
