//! `invhost action list [--repository NAME]`.

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

use crate::ops::actions;
use crate::ops::host::Host;
use crate::output;

/// Actions.
#[derive(Debug, Subcommand)]
pub enum ActionCommand {
    /// Every action that can be executed.
    List {
        /// Only actions that can run into this repository (checks that it exists).
        #[arg(long)]
        repository: Option<String>,
    },
}

/// Runs an action command.
pub async fn exec(command: ActionCommand, host: &Host, json: bool) -> Result<ExitCode> {
    let store = host.store().await?;
    let ActionCommand::List { repository } = command;
    if let Some(name) = &repository {
        store.repository(name).await?;
    }
    let mut actions = actions::list(host, &store).await?;
    if repository.is_some() {
        actions.retain(|a| a.repository.is_none() || a.repository == repository);
    }
    if json {
        output::print_result(&actions)?;
    } else {
        let mut table = output::table(["ACTION", "CONNECTOR", "TYPE", "RECORDS", "REPOSITORY"]);
        for a in &actions {
            let cell = |v: &Option<String>| v.clone().unwrap_or_default();
            table.add_row([
                a.name.clone(),
                cell(&a.connector),
                cell(&a.connector_type),
                cell(&a.records),
                cell(&a.repository),
            ]);
        }
        output::print_table(&table);
    }
    Ok(ExitCode::SUCCESS)
}
