//! `invhost repository list | add NAME | rename NAME NEW | clear NAME [--yes]
//! | remove NAME [--yes]`.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Subcommand;
use serde::Serialize;

use crate::ops::host::Host;
use crate::ops::repositories;
use crate::output;

/// Inventory repositories.
#[derive(Debug, Subcommand)]
pub enum RepositoryCommand {
    /// Every repository with its row count.
    List,
    /// Adds a repository.
    Add {
        /// Its name.
        name: String,
    },
    /// Renames a repository (its rows, history and schedules follow).
    Rename {
        /// The repository.
        name: String,
        /// Its new name.
        new_name: String,
    },
    /// Removes a repository: its rows, consolidated results and process
    /// history. Refused while its processes are queued or running, or a
    /// schedule runs into it.
    Remove {
        /// The repository.
        name: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Removes every row of a repository (its connectors stay).
    Clear {
        /// The repository.
        name: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Serialize)]
struct Listed {
    name: String,
    #[serde(rename = "type")]
    repository_type: repo_store::RepositoryType,
    rows: u64,
    created_at: String,
}

/// Runs a repository command.
pub async fn exec(command: RepositoryCommand, host: &Host, json: bool) -> Result<ExitCode> {
    let store = host.store().await?;
    match command {
        RepositoryCommand::List => {
            let listed: Vec<Listed> = repositories::list(&store)
                .await?
                .into_iter()
                .map(|(r, rows)| Listed {
                    name: r.name,
                    repository_type: r.repository_type,
                    rows,
                    created_at: r.created_at.to_rfc3339(),
                })
                .collect();
            if json {
                output::print_result(&listed)?;
            } else {
                let mut table = output::table(["NAME", "TYPE", "ROWS", "CREATED (UTC)"]);
                for r in &listed {
                    table.add_row([
                        r.name.clone(),
                        r.repository_type.to_string(),
                        r.rows.to_string(),
                        output::time(&r.created_at),
                    ]);
                }
                output::print_table(&table);
            }
        }
        RepositoryCommand::Add { name } => {
            let repository = repositories::add(&store, &name).await?;
            output::line(&format!("Added repository '{}'.", repository.name));
        }
        RepositoryCommand::Rename { name, new_name } => {
            let row = repositories::rename(&store, &name, &new_name).await?;
            output::line(&format!("Renamed repository '{name}' to '{}'.", row.name));
        }
        RepositoryCommand::Remove { name, yes } => {
            store.repository(&name).await?;
            if !yes
                && !confirm(
                    &format!(
                        "Remove repository '{name}', its rows and its process history? Type its name to confirm: "
                    ),
                    &name,
                )?
            {
                bail!("not removed: confirmation did not match (use --yes in scripts)");
            }
            let removed = repositories::remove(&store, &name).await?;
            output::line(&format!(
                "Removed repository '{name}' and its {removed} rows."
            ));
        }
        RepositoryCommand::Clear { name, yes } => {
            store.repository(&name).await?;
            if !yes
                && !confirm(
                    &format!("Remove every row of repository '{name}'? Type its name to confirm: "),
                    &name,
                )?
            {
                bail!("not cleared: confirmation did not match (use --yes in scripts)");
            }
            let removed = repositories::clear(&store, &name).await?;
            output::line(&format!(
                "Cleared repository '{name}': {removed} rows removed."
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn confirm(question: &str, expected: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("refusing without confirmation: there is no terminal to ask on; pass --yes");
    }
    let mut stderr = std::io::stderr();
    write!(stderr, "{question}")?;
    stderr.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == expected)
}
