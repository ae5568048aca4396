//! Graph misbehaving: retried where Graph says to, a one-line failure where not.

use connector_core::ErrorKind;
use graph_simulator::{Faults, SimulatorConfig};

use super::{builtin, expected_counts, params, start, sync, test_report};

fn with(faults: Faults) -> SimulatorConfig {
    SimulatorConfig {
        faults,
        ..Default::default()
    }
}

/// Syncs through the fault into a real SQLite repository; the stored counts
/// must equal the simulated tenant's. Returns the simulator, whose counters
/// tell whether the fault really happened.
async fn survives(faults: Faults) -> graph_simulator::Simulator {
    let sim = start(with(faults)).await;
    let (result, counter) = sync(&builtin(), params(&sim)).await;
    result.unwrap_or_else(|e| panic!("should survive: {e}"));
    // Emitted once each, not again after a retry, and stored.
    assert_eq!(
        counter.counts,
        expected_counts(&sim.expected()),
        "emitted = the tenant"
    );
    let db = crate::store::support::TestDb::sqlite();
    let fx = crate::store::support::Fixture::new(&db).await;
    let run = fx.run_id().await;
    let mut writer = fx.store.sync_writer(
        fx.repository_id,
        fx.connector_id,
        run,
        false,
        repo_store::WriterConfig::default(),
    );
    writer
        .write(connector_core::Batch {
            records: counter.records,
            complete: counter.complete,
        })
        .await
        .unwrap();
    writer
        .finish(repo_store::RunOutcome::Succeeded)
        .await
        .unwrap();
    let stored = fx.store.raw_counts(fx.repository_id).await.unwrap();
    assert_eq!(
        stored,
        expected_counts(&sim.expected()),
        "stored = the tenant"
    );
    sim
}

async fn fails(faults: Faults) -> String {
    fails_on(&start(with(faults)).await).await
}

async fn fails_on(sim: &graph_simulator::Simulator) -> String {
    let (result, _) = sync(&builtin(), params(sim)).await;
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

/// Graph requests the simulator answered (sign-in and downloads aside).
fn graph_requests(sim: &graph_simulator::Simulator) -> u64 {
    let requests = sim.requests();
    requests
        .iter()
        .filter(|(name, _)| {
            !matches!(
                name.as_str(),
                "token" | "export_download" | "report_download"
            )
        })
        .map(|(_, n)| n)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_with_fractional_retry_after_is_retried() {
    let sim = survives(Faults {
        throttle_every: Some(3),
        ..Default::default()
    })
    .await;
    let graph = graph_requests(&sim);
    assert_eq!(
        sim.injected().throttled,
        graph / 3,
        "every third Graph request got 429"
    );
    assert!(sim.injected().throttled >= 3, "{:?}", sim.injected());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_without_retry_after_backs_off() {
    let sim = survives(Faults {
        throttle_every: Some(4),
        throttle_without_retry_after: true,
        ..Default::default()
    })
    .await;
    assert_eq!(sim.injected().throttled, graph_requests(&sim) / 4);
    assert!(sim.injected().throttled >= 3, "{:?}", sim.injected());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_503_is_retried() {
    let sim = survives(Faults {
        unavailable_burst: Some((2, 3)),
        ..Default::default()
    })
    .await;
    assert_eq!(sim.injected().unavailable, 3, "{:?}", sim.injected());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_are_retried() {
    let sim = survives(Faults {
        drop_connection_every: Some(5),
        ..Default::default()
    })
    .await;
    assert_eq!(sim.injected().dropped, graph_requests(&sim) / 5);
    assert!(sim.injected().dropped >= 2, "{:?}", sim.injected());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_renewed_mid_run() {
    let sim = survives(Faults {
        token_valid_requests: Some(4),
        ..Default::default()
    })
    .await;
    let injected = sim.injected();
    assert!(injected.expired_tokens >= 1, "{injected:?}");
    assert!(
        injected.tokens_issued >= 2,
        "a second token was issued: {injected:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_beyond_the_retry_budget_fails() {
    let sim = start(with(Faults {
        always_throttle: true,
        ..Default::default()
    }))
    .await;
    let message = fails_on(&sim).await;
    assert!(message.contains("kept throttling"), "{message}");
    let injected = sim.injected();
    assert!(
        injected.throttled > 1,
        "retried before giving up: {injected:?}"
    );
    assert_eq!(
        injected.throttled,
        graph_requests(&sim),
        "every Graph request got 429"
    );
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
