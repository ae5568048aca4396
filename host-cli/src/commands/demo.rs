//! `invhost demo`: starts the Graph simulator, creates a fresh SQLite
//! repository, adds a Microsoft 365 connector pointing at it, tests it, syncs
//! it and shows what it found.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Result;
use clap::Args;
use serde::Serialize;

use crate::config::Config;
use crate::ops::demo;
use crate::ops::execute::{self, ExecuteRequest, Live};
use crate::ops::host::Host;
use crate::output;

/// Run the whole product against the built-in Graph simulator.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Users in the simulated tenant.
    #[arg(long, default_value_t = 60)]
    pub users: usize,
    /// Intune devices in the simulated tenant.
    #[arg(long, default_value_t = 45)]
    pub devices: usize,
}

#[derive(Serialize)]
struct DemoReport {
    repository: String,
    counts: std::collections::BTreeMap<String, u64>,
    processes: Vec<serde_json::Value>,
    product_usage: Vec<repo_store::consolidation::ProductUsage>,
    licences: Vec<repo_store::consolidation::LicenceSummary>,
}

/// Runs the demo.
pub async fn exec(args: DemoArgs, base: &Config, json: bool) -> Result<ExitCode> {
    let config = demo::config(base)?;
    let database = config.database.clone();
    let key_file = config.secret_key_file.display().to_string();
    let host = Host::new(config);
    let simulator = demo::start_simulator(args.users, args.devices).await?;
    output::note(&format!(
        "Graph simulator listening at {} ({} users, {} devices).",
        simulator.base_url(),
        args.users,
        args.devices
    ));
    let store = host.store().await?;
    demo::add_connector(&host, &store, &simulator).await?;
    output::note(&format!(
        "Added connector '{}' (o365) pointing at the simulator.",
        demo::CONNECTOR
    ));

    let (_, report) = crate::ops::connectors::test(&host, &store, demo::CONNECTOR).await?;
    if !json {
        output::line(&format!("Test of '{}':", demo::CONNECTOR));
        for check in &report.checks {
            output::line(&format!(
                "  {:<7} {}: {}",
                check.status.to_string(),
                check.name,
                check.message
            ));
        }
    }

    let request = ExecuteRequest {
        repository: repo_store::DEFAULT_REPOSITORY.into(),
        action: crate::ops::actions::sync_action(demo::CONNECTOR),
        clean: false,
    };
    let live = Live::default();
    let cancel = Arc::new(crate::ops::cancel::Cancel::default());
    let done = Arc::new(AtomicBool::new(false));
    let drawer = tokio::spawn(super::execute::draw(Arc::clone(&live), Arc::clone(&done)));
    let result = execute::execute(&host, &store, &request, &live, &cancel).await;
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = drawer.await;
    let processes = result?;
    simulator.shutdown().await;

    let repository = store.repository(repo_store::DEFAULT_REPOSITORY).await?;
    let counts = store.raw_counts(repository.id).await?;
    let products = store.product_usage(repository.id).await?;
    let licences = store.licence_summary(repository.id).await?;
    let failed = processes
        .iter()
        .any(|p| p.status != repo_store::ProcessStatus::Succeeded);
    if json {
        let names = [(repository.id, repository.name.clone())]
            .into_iter()
            .collect();
        output::print_result(&DemoReport {
            repository: database,
            counts: counts.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            processes: processes
                .iter()
                .map(|p| serde_json::to_value(crate::ops::processes::process_view(p, &names)))
                .collect::<Result<_, _>>()?,
            product_usage: products,
            licences,
        })?;
    } else {
        output::line("");
        for process in &processes {
            output::line(&super::execute::summary(process));
        }
        output::line("");
        let mut table = output::table(["RECORDS", "COUNT"]);
        for (kind, n) in &counts {
            table.add_row([kind.to_string(), n.to_string()]);
        }
        output::print_table(&table);
        output::line("");
        // The demo's secrets are encrypted with its own key: the hint names
        // it, or every command reading the connector would say "wrong key".
        output::line(&format!(
            "The demo repository stays at {database}, its secrets encrypted with the key {key_file}. Explore it with:"
        ));
        output::line(&format!(
            "  alias demo-invhost=\"INVHOST_SECRET_KEY_FILE='{key_file}' invhost --database '{database}'\""
        ));
        output::line(
            "  then: demo-invhost connector list, demo-invhost inventory devices (or licences, reclaim), demo-invhost inventory explain device NAME",
        );
        output::line("");
        output::line("Product usage (Basic Inventory Consolidation):");
        super::inventory::print_product_usage(&products, 25);
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
