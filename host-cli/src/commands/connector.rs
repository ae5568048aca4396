//! `invhost connector add | list | show | edit | remove | test`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use connector_core::CheckStatus;

use crate::ops::connectors::{self, ParameterInput};
use crate::ops::host::Host;
use crate::ops::secrets::{SecretSource, parse_secret_arg};
use crate::output;

/// Connectors.
#[derive(Debug, Subcommand)]
pub enum ConnectorCommand {
    /// Adds a connector (and its action `Sync Data - NAME`).
    Add {
        /// Connector type (see `invhost plugin list`).
        #[arg(long = "type", value_name = "TYPE")]
        connector_type: String,
        /// Its name.
        #[arg(long)]
        name: String,
        /// Parameters.
        #[command(flatten)]
        params: ParamArgs,
        /// Queue consolidation after each sync.
        #[arg(long)]
        run_consolidation: bool,
    },
    /// Every connector.
    List,
    /// One connector's configuration (secrets shown as set or not set).
    Show {
        /// The connector.
        name: String,
    },
    /// Changes a connector's parameters.
    Edit {
        /// The connector.
        name: String,
        /// Parameters to change.
        #[command(flatten)]
        params: ParamArgs,
        /// Parameters to remove (back to their default).
        #[arg(long, value_name = "KEY")]
        unset: Vec<String>,
        /// Queue consolidation after each sync (true or false).
        #[arg(long, value_name = "BOOL")]
        run_consolidation: Option<bool>,
    },
    /// Renames a connector, its actions (`Sync Data - NEW`) and the schedule
    /// steps that run them; the process log keeps the names processes ran under.
    Rename {
        /// The connector.
        name: String,
        /// Its new name.
        new_name: String,
    },
    /// Removes a connector and its actions. Say what becomes of the rows it
    /// wrote: --keep-data leaves them in their repositories (listed under no
    /// connector, consolidated as before), --purge-data removes them.
    Remove {
        /// The connector.
        name: String,
        /// Remove the rows it wrote, in every repository.
        #[arg(long, conflicts_with = "keep_data")]
        purge_data: bool,
        /// Keep the rows it wrote; they stay in the repositories' views and
        /// consolidations under no connector.
        #[arg(long)]
        keep_data: bool,
    },
    /// Runs the connector's Test and records the result.
    Test {
        /// The connector.
        name: String,
    },
}

/// Parameter options shared by add and edit.
#[derive(Debug, Args)]
pub struct ParamArgs {
    /// A parameter, KEY=VALUE (repeatable). Secrets are refused here.
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = parse_param)]
    pub params: Vec<(String, String)>,
    /// Parameters from a TOML (or .json) file of key = value pairs.
    #[arg(long, value_name = "FILE")]
    pub params_file: Option<PathBuf>,
    /// A secret parameter: KEY=env:VAR, KEY=file:PATH, KEY=stdin or KEY=prompt (repeatable).
    #[arg(long = "secret", value_name = "KEY=SOURCE", value_parser = parse_secret_arg)]
    pub secrets: Vec<(String, SecretSource)>,
}

fn parse_param(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
        .ok_or_else(|| "expected KEY=VALUE".to_owned())
}

impl ParamArgs {
    pub(crate) fn input(self, unset: Vec<String>) -> ParameterInput {
        ParameterInput {
            params: self.params,
            params_file: self.params_file,
            secrets: self.secrets,
            unset,
            prompt: std::io::stdin()
                .is_terminal()
                .then_some(crate::ops::prompt::ask as host_engine::secrets::Prompt),
        }
    }
}

/// Runs a connector command.
pub async fn exec(command: ConnectorCommand, host: &Host, json: bool) -> Result<ExitCode> {
    let store = host.store().await?;
    match command {
        ConnectorCommand::Add {
            connector_type,
            name,
            params,
            run_consolidation,
        } => {
            let row = connectors::add(
                host,
                &store,
                &connector_type,
                &name,
                &params.input(vec![]),
                run_consolidation,
            )
            .await
            .with_context(|| format!("adding connector '{name}'"))?;
            output::line(&format!(
                "Added connector '{}' ({}) with action 'Sync Data - {}'.",
                row.name, row.connector_type, row.name
            ));
            if run_consolidation {
                warn_other_consolidators(&store, &row.name).await?;
            }
        }
        ConnectorCommand::List => {
            // Listed without a key too: secrets then show as undecryptable.
            let key = host.key().ok();
            let mut views = Vec::new();
            for row in store.connectors().await? {
                views.push(connectors::view(host, &row, key.as_ref())?);
            }
            if json {
                output::print_result(&views)?;
            } else {
                let mut table = output::table([
                    "NAME",
                    "TYPE",
                    "REPOSITORY TYPE",
                    "LAST TESTED OK (UTC)",
                    "LAST ATTEMPT",
                    "RUN CONSOLIDATION",
                ]);
                for v in &views {
                    table.add_row([
                        v.name.clone(),
                        v.connector_type.clone(),
                        v.repository_type.clone(),
                        v.last_successful_test_at
                            .as_deref()
                            .map(output::time)
                            .unwrap_or_else(|| "never".into()),
                        match (&v.last_test_status, &v.last_tested_at) {
                            (Some(status), Some(at)) => format!("{status} {}", output::time(at)),
                            _ => "never tested".into(),
                        },
                        if v.run_consolidation {
                            "yes".into()
                        } else {
                            "no".into()
                        },
                    ]);
                }
                output::print_table_hiding(&table, &["REPOSITORY TYPE"]);
            }
        }
        ConnectorCommand::Show { name } => {
            let row = store.connector(&name).await?;
            let view = connectors::view(host, &row, host.key().ok().as_ref())?;
            if json {
                output::print_result(&view)?;
            } else {
                output::line(&format!(
                    "{} ({}), action '{}'",
                    view.name, view.connector_type, view.action
                ));
                output::line(&format!(
                    "run consolidation: {}",
                    if view.run_consolidation { "yes" } else { "no" }
                ));
                output::line(&format!(
                    "last tested ok: {}",
                    view.last_successful_test_at
                        .as_deref()
                        .map_or_else(|| "never".into(), |t| format!("{} UTC", output::time(t)))
                ));
                output::line(&format!(
                    "last attempt: {}",
                    match (&view.last_test_status, &view.last_tested_at) {
                        (Some(s), Some(t)) => format!("{s} at {} UTC", output::time(t)),
                        _ => "never tested".into(),
                    }
                ));
                let mut table = output::table(["PARAMETER", "VALUE"]);
                for (k, v) in &view.parameters {
                    table.add_row([
                        k.clone(),
                        v.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string()),
                    ]);
                }
                for k in &view.secrets_not_set {
                    table.add_row([k.clone(), "(not set)".into()]);
                }
                output::print_table(&table);
            }
        }
        ConnectorCommand::Edit {
            name,
            params,
            unset,
            run_consolidation,
        } => {
            connectors::edit(host, &store, &name, &params.input(unset), run_consolidation)
                .await
                .with_context(|| format!("editing connector '{name}'"))?;
            output::line(&format!("Updated connector '{name}'."));
            if run_consolidation == Some(true) {
                warn_other_consolidators(&store, &name).await?;
            }
        }
        ConnectorCommand::Rename { name, new_name } => {
            let row = connectors::rename(host, &store, &name, &new_name).await?;
            output::line(&format!(
                "Renamed connector '{name}' to '{}'; its action is now '{}'.",
                row.name,
                crate::ops::actions::sync_action(&row.name)
            ));
        }
        ConnectorCommand::Remove {
            name,
            purge_data,
            keep_data,
        } => {
            connectors::check_removable(host, &store, &name).await?;
            let written = connectors::rows_written(&store, &name).await?;
            let total: u64 = written.iter().map(|(_, n)| n).sum();
            let described = written
                .iter()
                .map(|(repository, n)| format!("{n} in '{repository}'"))
                .collect::<Vec<_>>()
                .join(", ");
            if total > 0 && !purge_data && !keep_data {
                bail!(
                    "connector '{name}' wrote {total} rows ({described}); say what becomes of them: \
                     --keep-data leaves them in the repositories under no connector (consolidated as \
                     before), --purge-data removes them"
                );
            }
            connectors::remove(host, &store, &name, purge_data).await?;
            output::line(&match (total, purge_data) {
                (0, _) => {
                    format!("Removed connector '{name}' and its actions; it had written no rows.")
                }
                (_, true) => format!(
                    "Removed connector '{name}', its actions and the {total} rows it wrote ({described})."
                ),
                (_, false) => format!(
                    "Removed connector '{name}' and its actions; the {total} rows it wrote stay \
                     ({described}), listed under no connector."
                ),
            });
        }
        ConnectorCommand::Test { name } => {
            let (_, report) = connectors::test(host, &store, &name).await?;
            if json {
                output::print_result(&report)?;
            } else {
                for check in &report.checks {
                    output::line(&format!(
                        "{:<7} {}: {}",
                        check.status.to_string(),
                        check.name,
                        check.message
                    ));
                }
                output::line(&format!("Connector '{name}': {}", report.status()));
            }
            if report.status() == CheckStatus::Failed {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Run Consolidation Reports on several connectors consolidates once per
/// sync of each: the consolidation reads every connector's rows, so one is
/// enough. Says so, naming the others.
async fn warn_other_consolidators(store: &repo_store::Store, name: &str) -> Result<()> {
    let others: Vec<String> = store
        .connectors()
        .await?
        .into_iter()
        .filter(|c| c.run_consolidation && !c.name.eq_ignore_ascii_case(name))
        .map(|c| format!("'{}'", c.name))
        .collect();
    if !others.is_empty() {
        output::note(&format!(
            "warning: {} also run(s) consolidation after its sync; a repository synced by both is \
             consolidated after each, which repeats the work (the consolidation reads every connector's \
             rows): one connector with --run-consolidation is enough",
            others.join(", ")
        ));
    }
    Ok(())
}
