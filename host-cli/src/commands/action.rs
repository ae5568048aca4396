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
    let actions = actions::list(&store).await?;
    if json {
        output::print_json(&actions)?;
    } else {
        let mut table = output::table(["ACTION", "CONNECTOR", "TYPE"]);
        for a in &actions {
            table.add_row([&a.name, &a.connector, &a.connector_type]);
        }
        output::print_table(&table);
    }
    Ok(ExitCode::SUCCESS)
}
