//! Graph misbehaving: retried where Graph says to, a one-line failure where not.

use connector_core::{ErrorKind, RecordKind};
use connector_o365::simulator::{Faults, SimulatorConfig};

use super::{builtin, count, params, start, sync, test_report};

fn with(faults: Faults) -> SimulatorConfig {
    SimulatorConfig {
        faults,
        ..Default::default()
    }
}

async fn survives(faults: Faults) -> connector_o365::simulator::Simulator {
    let sim = start(with(faults)).await;
    let (result, counter) = sync(&builtin(), params(&sim)).await;
    result.unwrap_or_else(|e| panic!("should survive: {e}"));
    assert_eq!(count(&counter, RecordKind::User), sim.expected().users);
    assert_eq!(
        count(&counter, RecordKind::Installation),
        sim.expected().installations
    );
    sim
}

async fn fails(faults: Faults) -> String {
    let sim = start(with(faults)).await;
    let (result, _) = sync(&builtin(), params(&sim)).await;
    let error = result.expect_err("should fail");
    assert_eq!(error.kind, ErrorKind::Failed, "{error}");
    assert!(!error.message.contains('\n'), "one line: {}", error.message);
    assert!(
        !error.message.contains(&sim.client_secret()),
        "{}",
        error.message
    );
    error.message
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_with_fractional_retry_after_is_retried() {
    survives(Faults {
        throttle_every: Some(3),
        ..Default::default()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_without_retry_after_backs_off() {
    survives(Faults {
        throttle_every: Some(4),
        throttle_without_retry_after: true,
        ..Default::default()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_503_is_retried() {
    survives(Faults {
        unavailable_burst: Some((2, 3)),
        ..Default::default()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_are_retried() {
    survives(Faults {
        drop_connection_every: Some(5),
        ..Default::default()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_renewed_mid_run() {
    let sim = survives(Faults {
        token_valid_requests: Some(4),
        ..Default::default()
    })
    .await;
    assert!(sim.requests()["token"] > 1, "{:?}", sim.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_beyond_the_retry_budget_fails() {
    let message = fails(Faults {
        always_throttle: true,
        ..Default::default()
    })
    .await;
    assert!(message.contains("kept throttling"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_page_fails() {
    let message = fails(Faults {
        malformed_page: Some("users".into()),
        ..Default::default()
    })
    .await;
    assert!(
        message.starts_with("users: /v1.0/users answered something unreadable"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_report_fails() {
    let message = fails(Faults {
        truncated_csv: Some("app_usage".into()),
        ..Default::default()
    })
    .await;
    assert!(
        message.contains("truncated or malformed at line"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_export_job_fails() {
    let message = fails(Faults {
        export_job_fails: true,
        ..Default::default()
    })
    .await;
    assert!(
        message.contains("export job AppInvRawData failed"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_job_that_never_completes_times_out() {
    let message = fails(Faults {
        export_job_never_completes: true,
        ..Default::default()
    })
    .await;
    assert!(message.contains("did not complete within"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_failures_say_what_to_fix() {
    for (faults, expected) in [
        (
            Faults {
                wrong_secret: true,
                ..Default::default()
            },
            "Value (not its Secret ID)",
        ),
        (
            Faults {
                expired_secret: true,
                ..Default::default()
            },
            "the client secret has expired",
        ),
    ] {
        let sim = start(with(faults)).await;
        let report = test_report(&builtin(), params(&sim)).await;
        let sign_in = report.checks.iter().find(|c| c.name == "Sign-in").unwrap();
        assert_eq!(sign_in.status, connector_core::CheckStatus::Failed);
        assert!(sign_in.message.contains(expected), "{}", sign_in.message);
        let (result, _) = sync(&builtin(), params(&sim)).await;
        assert!(result.unwrap_err().message.contains(expected));
    }
    let sim = start(SimulatorConfig::default()).await;
    let mut wrong_tenant = params(&sim);
    wrong_tenant.insert("tenant_id", "fabrikam.onmicrosoft.com");
    let report = test_report(&builtin(), wrong_tenant).await;
    let sign_in = report.checks.iter().find(|c| c.name == "Sign-in").unwrap();
    assert!(
        sign_in
            .message
            .contains("tenant 'fabrikam.onmicrosoft.com' is not found")
            && sign_in.message.contains("AADSTS90002"),
        "{}",
        sign_in.message
    );
}
