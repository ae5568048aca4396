//! A full sync equals the simulated tenant; the cdylib behaves like the built-in.

use connector_core::host::Plugin;
use connector_core::{Record, RecordKind};
use graph_simulator::SimulatorConfig;

use super::{builtin, count, params, start, sync, test_report};
use crate::support::{PluginDir, built_library};

fn assert_tenant(counter: &super::Counter, expected: &graph_simulator::Expected) {
    assert_eq!(count(counter, RecordKind::User), expected.users);
    assert_eq!(
        count(counter, RecordKind::LicenceAssignment),
        expected.licence_assignments
    );
    assert_eq!(count(counter, RecordKind::Licence), expected.licences);
    assert_eq!(
        count(counter, RecordKind::Device),
        expected.entra_devices + expected.managed_devices
    );
    assert_eq!(
        count(counter, RecordKind::Application),
        expected.applications
    );
    assert_eq!(
        count(counter, RecordKind::Installation),
        expected.installations
    );
    assert_eq!(
        count(counter, RecordKind::ApplicationUsage),
        expected.app_usage + expected.active_user_services
    );
    assert_eq!(count(counter, RecordKind::Activation), expected.activations);
    let mut complete = counter.complete.clone();
    complete.sort();
    assert_eq!(
        complete,
        RecordKind::ALL.to_vec(),
        "every kind delivered in full"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_sync_equals_the_simulated_tenant() {
    let sim = start(SimulatorConfig {
        users: 120,
        devices: 90,
        ..Default::default()
    })
    .await;
    let (result, counter) = sync(&builtin(), params(&sim)).await;
    let summary = result.unwrap();
    assert_tenant(&counter, &sim.expected());
    assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);
    // Devices join Entra and Intune by the Entra device id.
    let intune = counter.records.iter().filter_map(|r| match r {
        Record::Device(d) if d.source_type.as_deref() == Some("intune") => Some(d),
        _ => None,
    });
    let entra: std::collections::HashSet<String> = counter
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Device(d) if d.source_type.as_deref() == Some("entra") => {
                d.entra_device_id.clone()
            }
            _ => None,
        })
        .collect();
    for device in intune {
        assert!(
            entra.contains(device.entra_device_id.as_ref().unwrap()),
            "{device:?}"
        );
    }
    // Request count grows with pages: one export job instead of one request per app or device.
    let requests = sim.requests();
    assert_eq!(
        requests.get("detected_app_devices").copied().unwrap_or(0),
        0
    );
    assert_eq!(requests.get("export_job_create").copied(), Some(1));
    assert!(sim.total_requests() < 40, "{requests:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_passes_every_check_on_a_healthy_tenant() {
    let sim = start(SimulatorConfig::default()).await;
    let report = test_report(&builtin(), params(&sim)).await;
    let names: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names[..2], ["Configuration", "Sign-in"]);
    assert_eq!(report.checks.len(), 10, "{report:#?}");
    assert!(
        report
            .checks
            .iter()
            .all(|c| c.status == connector_core::CheckStatus::Ok),
        "{report:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concealed_names_are_marked_and_said() {
    let sim = start(SimulatorConfig {
        concealed_names: true,
        ..Default::default()
    })
    .await;
    let (result, counter) = sync(&builtin(), params(&sim)).await;
    let summary = result.unwrap();
    let usage: Vec<_> = counter
        .records
        .iter()
        .filter_map(|r| match r {
            Record::ApplicationUsage(u) => Some(u),
            _ => None,
        })
        .collect();
    assert!(!usage.is_empty() && usage.iter().all(|u| u.concealed && !u.user.contains('@')));
    assert!(
        summary
            .warnings
            .iter()
            .any(|w| w.contains("concealed") && w.contains("Settings > Org settings > Reports")),
        "{:?}",
        summary.warnings
    );
    let report = test_report(&builtin(), params(&sim)).await;
    let usage_check = report
        .checks
        .iter()
        .find(|c| c.name == "Microsoft 365 Apps usage")
        .unwrap();
    assert_eq!(usage_check.status, connector_core::CheckStatus::Warning);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cdylib_behaves_like_the_builtin() {
    let dir = PluginDir::new();
    let path = dir.install(&built_library("connector-o365"), "libconnector_o365.so");
    let plugin = Plugin::load(&path).expect("the o365 cdylib loads");
    let loaded = plugin.connectors().into_iter().next().unwrap();
    assert_eq!(loaded.info(), builtin().info());
    let sim = start(SimulatorConfig {
        users: 40,
        devices: 30,
        ..Default::default()
    })
    .await;
    let (result, counter) = sync(&loaded, params(&sim)).await;
    result.unwrap();
    assert_tenant(&counter, &sim.expected());
}
