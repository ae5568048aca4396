//! `invhost plugin list | show TYPE | check PATH [--test] [--sync]`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::Subcommand;
use connector_core::host::{check_and_load, check_test};
use connector_core::{CheckStatus, Parameters};
use serde::Serialize;

use crate::cli::GlobalArgs;
use crate::commands::connector::ParamArgs;
use crate::config::Config;
use crate::ops::{self, connectors, plugin_check};
use crate::output;

/// Connector plugins.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Built-in and loaded connectors: type, version, ABI, where each came from.
    List,
    /// A connector type's parameters and actions.
    Show {
        /// Connector type id (see `invhost plugin list`).
        #[arg(value_name = "TYPE")]
        type_id: String,
    },
    /// Conformance check for plugin authors: loads a library and checks it step
    /// by step; with --test and --sync, runs the connector with the given
    /// parameters too.
    Check {
        /// The plugin library file.
        path: PathBuf,
        /// Also run the connector's Test with the parameters given.
        #[arg(long)]
        test: bool,
        /// Also run its Sync Data into a scratch repository (removed afterwards),
        /// checking every batch: its JSON, kinds against the declared record kinds,
        /// keys unique per kind, nothing after its kind was marked complete, the
        /// summary against the batches; then a summary per record kind.
        #[arg(long)]
        sync: bool,
        /// With --sync: the action to run instead of Sync Data (any it declares; one
        /// that declares it writes no records must emit none).
        #[arg(long, value_name = "ID", default_value = connector_core::ACTION_SYNC_DATA)]
        action: String,
        /// The connector type to test or sync (needed when the library has several).
        #[arg(long = "type", value_name = "TYPE")]
        type_id: Option<String>,
        #[command(flatten)]
        params: ParamArgs,
    },
}

/// Runs a plugin command.
pub async fn exec(
    command: PluginCommand,
    config: &Config,
    global: &GlobalArgs,
) -> Result<ExitCode> {
    match command {
        PluginCommand::List => list(config, global.json),
        PluginCommand::Show { type_id } => show(config, &type_id, global.json),
        PluginCommand::Check {
            path,
            test,
            sync,
            action,
            type_id,
            params,
        } => {
            let runs = Runs {
                test,
                sync,
                action,
                type_id,
                params,
            };
            check(&path, runs, global.json).await
        }
    }
}

/// What `plugin check` runs beyond the library's own checks.
struct Runs {
    test: bool,
    sync: bool,
    action: String,
    type_id: Option<String>,
    params: ParamArgs,
}

fn list(config: &Config, json: bool) -> Result<ExitCode> {
    let registry = ops::plugins::registry(config);
    let listing = ops::plugins::listing(&registry);
    if json {
        output::print_result(&listing)?;
    } else {
        let mut table = output::table(["TYPE", "NAME", "VERSION", "ABI", "SOURCE"]);
        for c in &listing.connectors {
            table.add_row([&c.type_id, &c.display_name, &c.version, &c.abi, &c.source]);
        }
        output::print_table(&table);
        if !listing.refused.is_empty() {
            output::line("");
            let mut refused_table = output::table(["REFUSED FILE", "WHY"]);
            for refused in &listing.refused {
                refused_table.add_row([&refused.source, &refused.reason]);
            }
            output::print_table(&refused_table);
        }
        for refused in &listing.refused {
            output::note(&format!(
                "warning: plugin {}: {}",
                refused.source, refused.reason
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show(config: &Config, type_id: &str, json: bool) -> Result<ExitCode> {
    let registry = ops::plugins::registry(config);
    let handle = registry.require(type_id).map_err(|e| anyhow!(e))?;
    // Each action with the record mode it has, declared or by its id.
    let mut info = handle.info().clone();
    for action in &mut info.actions {
        action.records = Some(action.record_mode());
    }
    let info = &info;
    if json {
        #[derive(Serialize)]
        struct Shown<'a> {
            #[serde(flatten)]
            info: &'a connector_core::ConnectorInfo,
            source: String,
        }
        output::print_result(&Shown {
            info,
            source: handle.plugin().origin().to_string(),
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    output::line(&format!(
        "{} ({}) {}",
        info.display_name, info.type_id, info.version
    ));
    output::line(&format!("source: {}", handle.plugin().origin()));
    if !info.description.is_empty() {
        output::paragraph(&info.description);
    }
    output::line("");
    let mut table = output::table(["PARAMETER", "LABEL", "KIND", "REQUIRED", "DEFAULT", "HELP"]);
    for f in &info.parameters.fields {
        let default = f
            .default
            .as_ref()
            .map(|d| d.to_string())
            .unwrap_or_default();
        let help = if f.deprecated {
            format!("(deprecated) {}", f.help)
        } else {
            f.help.clone()
        };
        table.add_row([
            f.key.clone(),
            f.label.clone(),
            f.kind.describe(),
            if f.required {
                "yes".into()
            } else {
                "no".into()
            },
            default,
            help,
        ]);
    }
    output::print_table_hiding(&table, &["DEFAULT", "LABEL", "REQUIRED"]);
    output::line("");
    let mut actions = output::table(["ACTION", "NAME", "RECORDS", "DESCRIPTION"]);
    for a in &info.actions {
        actions.add_row([
            a.id.clone(),
            a.name.clone(),
            if a.id == connector_core::ACTION_TEST {
                String::new()
            } else {
                a.record_mode().to_string()
            },
            a.description.clone(),
        ]);
    }
    output::print_table(&actions);
    Ok(ExitCode::SUCCESS)
}

async fn check(path: &std::path::Path, runs: Runs, json: bool) -> Result<ExitCode> {
    let (mut lines, plugin) = check_and_load(path);
    let mut kinds = Vec::new();
    let loaded_fine = !lines.iter().any(|l| l.status == CheckStatus::Failed);
    if (runs.test || runs.sync) && loaded_fine {
        let plugin = plugin.context("the plugin did not load")?;
        let connectors = plugin.connectors();
        let handle = match (&runs.type_id, connectors.as_slice()) {
            (None, [only]) => only.clone(),
            (None, _) => bail!(
                "the library has several connector types ({}): choose one with --type",
                type_list(&connectors)
            ),
            (Some(id), _) => connectors
                .iter()
                .find(|c| c.info().type_id == *id)
                .cloned()
                .with_context(|| {
                    format!(
                        "the library has no connector type '{id}' (it has {})",
                        type_list(&connectors)
                    )
                })?,
        };
        let id = handle.info().type_id.clone();
        match connectors::build_parameters(&handle, Parameters::new(), &runs.params.input(vec![])) {
            Err(e) => lines.push(connector_core::Check {
                name: format!("{id}: parameters"),
                status: CheckStatus::Failed,
                message: format!("{e:#}"),
            }),
            Ok(parameters) => {
                if runs.test {
                    lines.extend(check_test(&handle, &parameters).into_iter().map(|l| {
                        connector_core::Check {
                            name: format!("{id}: {}", l.name),
                            ..l
                        }
                    }));
                }
                if runs.sync {
                    let checked =
                        plugin_check::check_sync(&handle, parameters, &runs.action).await?;
                    lines.extend(checked.lines.into_iter().map(|l| connector_core::Check {
                        name: format!("{id}: {}", l.name),
                        ..l
                    }));
                    kinds = checked.kinds;
                }
            }
        }
    }
    let failed = lines.iter().any(|l| l.status == CheckStatus::Failed);
    if json {
        #[derive(Serialize)]
        struct Report<'a> {
            file: String,
            passed: bool,
            checks: &'a [connector_core::Check],
            #[serde(skip_serializing_if = "<[_]>::is_empty")]
            kinds: &'a [plugin_check::KindResult],
        }
        output::print_result(&Report {
            file: path.display().to_string(),
            passed: !failed,
            checks: &lines,
            kinds: &kinds,
        })?;
    } else {
        for l in &lines {
            output::line(&format!(
                "{:<7} {}: {}",
                l.status.to_string(),
                l.name,
                l.message
            ));
        }
        if !kinds.is_empty() {
            output::line("");
            let mut table = output::table(["KIND", "DECLARED", "EMITTED", "STORED", "COMPLETE"]);
            let yes = |b: bool| if b { "yes" } else { "no" }.to_owned();
            for k in &kinds {
                table.add_row([
                    k.kind.to_string(),
                    yes(k.declared),
                    k.emitted.to_string(),
                    k.stored.to_string(),
                    yes(k.complete),
                ]);
            }
            output::print_table(&table);
        }
        output::line(&format!(
            "{}: {}",
            path.display(),
            if failed {
                "FAILED conformance check"
            } else {
                "passes the conformance check"
            }
        ));
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn type_list(connectors: &[connector_core::host::ConnectorHandle]) -> String {
    connectors
        .iter()
        .map(|c| c.info().type_id.clone())
        .collect::<Vec<_>>()
        .join(", ")
}
