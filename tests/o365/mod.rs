//! The Microsoft 365 connector over real HTTP against the Graph simulator.

mod faults;
mod permissions;
mod sync;

use std::collections::BTreeMap;

use connector_core::host::{ConnectorHandle, Registry};
use connector_core::testing::Harness;
use connector_core::{Parameters, RecordKind, RunSummary};
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

/// What a sync handed over: records per kind, the completed kinds, the records.
pub struct Counter {
    pub counts: BTreeMap<RecordKind, u64>,
    pub complete: Vec<RecordKind>,
    pub records: Vec<connector_core::Record>,
}

/// Runs Sync Data through the SDK's harness, on a blocking thread (the
/// connector starts its own runtime); every batch is checked as
/// `plugin check --sync` checks it.
pub async fn sync(
    handle: &ConnectorHandle,
    params: Parameters,
) -> (Result<RunSummary, connector_core::host::CallError>, Counter) {
    let handle = handle.clone();
    tokio::task::spawn_blocking(move || {
        let run = Harness::from_handle(handle).sync(&params);
        if run.outcome.is_ok() {
            run.assert_conforms();
        }
        let counter = Counter {
            counts: run.counts(),
            complete: run.complete(),
            records: run.records().cloned().collect(),
        };
        (run.outcome, counter)
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
