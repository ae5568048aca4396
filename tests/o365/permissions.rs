//! Missing permissions and licences: degraded with a clear word, never silently.

use std::collections::BTreeSet;

use connector_core::{CheckStatus, Record, RecordKind};
use graph_simulator::SimulatorConfig;

use super::{builtin, count, params, start, sync, test_report};

fn all_but(permission: &str) -> BTreeSet<String> {
    SimulatorConfig::default()
        .permissions
        .into_iter()
        .filter(|p| p != permission)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn licences_are_derived_when_subscribed_skus_is_refused() {
    let sim = start(SimulatorConfig {
        permissions: all_but("LicenseAssignment.Read.All"),
        ..Default::default()
    })
    .await;
    let (result, counter) = sync(&builtin(), params(&sim)).await;
    let summary = result.unwrap();
    assert!(
        summary
            .warnings
            .iter()
            .any(|w| w.contains("derived from users' assignments")
                && w.contains("LicenseAssignment.Read.All")),
        "{:?}",
        summary.warnings
    );
    let licences: Vec<_> = counter
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Licence(l) => Some(l),
            _ => None,
        })
        .collect();
    assert!(
        !licences.is_empty()
            && licences
                .iter()
                .all(|l| l.derived && l.prepaid_enabled.is_none())
    );
    let assigned: u64 = licences
        .iter()
        .map(|l| l.consumed.unwrap_or(0) as u64)
        .sum();
    assert_eq!(assigned, sim.expected().licence_assignments);
    let report = test_report(&builtin(), params(&sim)).await;
    let check = report.checks.iter().find(|c| c.name == "Licences").unwrap();
    assert_eq!(check.status, CheckStatus::Warning);
    assert!(check.message.contains("derived"), "{}", check.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_export_job_falls_back_to_per_application_lists() {
    let sim = start(SimulatorConfig {
        export_jobs: false,
        ..Default::default()
    })
    .await;
    let (result, counter) = sync(&builtin(), params(&sim)).await;
    let summary = result.unwrap();
    assert_eq!(
        count(&counter, RecordKind::Installation),
        sim.expected().installations
    );
    assert_eq!(
        count(&counter, RecordKind::Application),
        sim.expected().applications
    );
    assert!(counter.complete.contains(&RecordKind::Installation));
    assert!(
        summary.warnings.iter().any(|w| w.contains("export job")),
        "{:?}",
        summary.warnings
    );
    assert!(sim.requests()["detected_app_devices"] >= sim.expected().applications);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_reports_permission_is_named() {
    let sim = start(SimulatorConfig {
        permissions: all_but("Reports.Read.All"),
        ..Default::default()
    })
    .await;
    let (result, counter) = sync(&builtin(), params(&sim)).await;
    let summary = result.unwrap();
    assert_eq!(count(&counter, RecordKind::ApplicationUsage), 0);
    assert!(
        !counter.complete.contains(&RecordKind::ApplicationUsage),
        "a skipped stream completes nothing"
    );
    assert!(!counter.complete.contains(&RecordKind::Activation));
    assert!(counter.complete.contains(&RecordKind::User));
    assert!(
        summary
            .warnings
            .iter()
            .any(|w| w.contains("Reports.Read.All")),
        "{:?}",
        summary.warnings
    );
    let report = test_report(&builtin(), params(&sim)).await;
    let check = report
        .checks
        .iter()
        .find(|c| c.name == "Office activations")
        .unwrap();
    assert_eq!(check.status, CheckStatus::Failed);
    assert!(
        check
            .message
            .contains("grant the application permission Reports.Read.All")
            && check.message.contains("Entra admin center"),
        "{}",
        check.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_without_intune_is_said_plainly() {
    let sim = start(SimulatorConfig {
        intune_licensed: false,
        ..Default::default()
    })
    .await;
    let (result, counter) = sync(&builtin(), params(&sim)).await;
    let summary = result.unwrap();
    assert_eq!(count(&counter, RecordKind::Installation), 0);
    assert_eq!(
        count(&counter, RecordKind::Device),
        sim.expected().entra_devices
    );
    assert!(
        !counter.complete.contains(&RecordKind::Device),
        "Intune devices missing: devices are not complete"
    );
    assert!(
        summary
            .warnings
            .iter()
            .any(|w| w.contains("no Intune licence")),
        "{:?}",
        summary.warnings
    );
    let report = test_report(&builtin(), params(&sim)).await;
    let check = report
        .checks
        .iter()
        .find(|c| c.name == "Intune devices")
        .unwrap();
    assert_eq!(check.status, CheckStatus::Failed);
    assert!(
        check.message.contains("no Intune licence"),
        "{}",
        check.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_users_licences_are_neither_derived_nor_completed() {
    let permissions = all_but("LicenseAssignment.Read.All")
        .into_iter()
        .filter(|p| p != "User.Read.All")
        .collect();
    let sim = start(SimulatorConfig {
        permissions,
        ..Default::default()
    })
    .await;
    let (result, counter) = sync(&builtin(), params(&sim)).await;
    let summary = result.unwrap();
    assert_eq!(count(&counter, RecordKind::Licence), 0);
    assert!(
        !counter.complete.contains(&RecordKind::Licence)
            && !counter.complete.contains(&RecordKind::User)
    );
    assert!(
        summary
            .warnings
            .iter()
            .any(|w| w.contains("users to derive them from could not be read")),
        "{:?}",
        summary.warnings
    );
}
