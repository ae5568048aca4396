//! `invhost plugin list | show TYPE | check PATH`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use clap::Subcommand;
use connector_core::CheckStatus;
use connector_core::host::check_library;
use serde::Serialize;

use crate::cli::GlobalArgs;
use crate::config::Config;
use crate::ops;
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
    /// Conformance check for plugin authors: loads a library and checks it step by step.
    Check {
        /// The plugin library file.
        path: PathBuf,
    },
}

/// Runs a plugin command.
pub fn exec(command: PluginCommand, config: &Config, global: &GlobalArgs) -> Result<ExitCode> {
    match command {
        PluginCommand::List => list(config, global.json),
        PluginCommand::Show { type_id } => show(config, &type_id, global.json),
        PluginCommand::Check { path } => check(&path, global.json),
    }
}

fn list(config: &Config, json: bool) -> Result<ExitCode> {
    let registry = ops::plugins::registry(config);
    let listing = ops::plugins::listing(&registry);
    if json {
        output::print_json(&listing)?;
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
    let info = handle.info();
    if json {
        #[derive(Serialize)]
        struct Shown<'a> {
            #[serde(flatten)]
            info: &'a connector_core::ConnectorInfo,
            source: String,
        }
        output::print_json(&Shown {
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
        output::line(&info.description);
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
    output::print_table(&table);
    output::line("");
    let mut actions = output::table(["ACTION", "NAME", "DESCRIPTION"]);
    for a in &info.actions {
        actions.add_row([&a.id, &a.name, &a.description]);
    }
    output::print_table(&actions);
    Ok(ExitCode::SUCCESS)
}

fn check(path: &std::path::Path, json: bool) -> Result<ExitCode> {
    let lines = check_library(path);
    let failed = lines.iter().any(|l| l.status == CheckStatus::Failed);
    if json {
        #[derive(Serialize)]
        struct Report<'a> {
            file: String,
            passed: bool,
            checks: &'a [connector_core::Check],
        }
        output::print_json(&Report {
            file: path.display().to_string(),
            passed: !failed,
            checks: &lines,
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
