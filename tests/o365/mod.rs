//! The Microsoft 365 connector over real HTTP against the Graph simulator.

mod faults;
mod permissions;
mod sync;

use std::collections::BTreeMap;

use connector_core::host::{ConnectorHandle, Registry};
use connector_core::{
    Batch, Flow, Parameters, Progress, RecordKind, RecordSink, RunOptions, RunSummary,
};
use graph_simulator::{Simulator, SimulatorConfig};
use serde_json::json;

/// Backoff and export timeouts short enough for tests; each test is its own process.
pub fn fast_retries() {
    // SAFETY: nextest runs each test in its own process, before any thread reads these.
    unsafe {
        std::env::set_var("INVHOST_O365_BACKOFF_MS", "5");
        std::env::set_var("INVHOST_O365_EXPORT_TIMEOUT_SECS", "2");
    }
}

/// The built-in `o365` connector.
pub fn builtin() -> ConnectorHandle {
    connector_o365::link();
    Registry::builtins()
        .connector("o365")
        .expect("o365 is built in")
        .clone()
}

pub fn params(sim: &Simulator) -> Parameters {
    Parameters::from_json(json!({
        "cloud_instance": sim.base_url(),
        "tenant_id": sim.tenant_id(),
        "client_id": sim.client_id(),
        "client_secret": sim.client_secret(),
    }))
    .unwrap()
}

pub async fn start(config: SimulatorConfig) -> Simulator {
    fast_retries();
    Simulator::start(config).await.expect("simulator starts")
}

/// Counts records per kind and keeps the completed kinds.
#[derive(Default)]
pub struct Counter {
    pub counts: BTreeMap<RecordKind, u64>,
    pub complete: Vec<RecordKind>,
    pub records: Vec<connector_core::Record>,
    pub keep: bool,
}

impl RecordSink for Counter {
    fn emit(&mut self, batch: Batch) -> Flow {
        for record in &batch.records {
            *self.counts.entry(record.kind()).or_default() += 1;
        }
        if self.keep {
            self.records.extend(batch.records);
        }
        self.complete.extend(batch.complete);
        Flow::Continue
    }
    fn progress(&mut self, _progress: Progress) {}
    fn is_cancelled(&self) -> bool {
        false
    }
}

/// Runs Sync Data on a blocking thread (the connector starts its own runtime).
pub async fn sync(
    handle: &ConnectorHandle,
    params: Parameters,
) -> (Result<RunSummary, connector_core::host::CallError>, Counter) {
    let handle = handle.clone();
    tokio::task::spawn_blocking(move || {
        let mut counter = Counter {
            keep: true,
            ..Default::default()
        };
        let result = handle.run("sync_data", &params, RunOptions::default(), &mut counter);
        (result, counter)
    })
    .await
    .unwrap()
}

pub async fn test_report(
    handle: &ConnectorHandle,
    params: Parameters,
) -> connector_core::TestReport {
    let handle = handle.clone();
    tokio::task::spawn_blocking(move || handle.test(&params).unwrap())
        .await
        .unwrap()
}

/// The rows per kind a complete sync of the simulated tenant stores.
pub fn expected_counts(expected: &graph_simulator::Expected) -> BTreeMap<RecordKind, u64> {
    BTreeMap::from([
        (RecordKind::User, expected.users),
        (RecordKind::LicenceAssignment, expected.licence_assignments),
        (RecordKind::Licence, expected.licences),
        (
            RecordKind::Device,
            expected.entra_devices + expected.managed_devices,
        ),
        (RecordKind::Application, expected.applications),
        (RecordKind::Installation, expected.installations),
        (
            RecordKind::ApplicationUsage,
            expected.app_usage + expected.active_user_services,
        ),
        (RecordKind::Activation, expected.activations),
    ])
}

pub fn count(counter: &Counter, kind: RecordKind) -> u64 {
    counter.counts.get(&kind).copied().unwrap_or(0)
}
