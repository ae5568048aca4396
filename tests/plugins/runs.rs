//! Calls into plugins: panics, bad batches, cancellation, backpressure, logs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use connector_core::host::{ConnectorHandle, Plugin};
use connector_core::testing::{Harness, Options, Run};
use connector_core::{ErrorKind, Parameters, Record, RecordKind};
use serde_json::json;

use crate::support::{PluginDir, built_library};

/// Runs Sync Data on a handle the host loaded, through the SDK's harness.
fn sync(handle: &ConnectorHandle, params: &Parameters, options: &Options) -> Run {
    Harness::from_handle(handle.clone()).run("sync_data", params, options)
}

fn fixture(type_id: &str) -> (PluginDir, ConnectorHandle) {
    let dir = PluginDir::new();
    let path = dir.install(&built_library("fixture-plugin"), "libfixture_plugin.so");
    let plugin = Plugin::load(&path).expect("fixture loads");
    let handle = plugin
        .connectors()
        .into_iter()
        .find(|c| c.info().type_id == type_id)
        .expect("type");
    (dir, handle)
}

fn params(value: serde_json::Value) -> Parameters {
    Parameters::from_json(value).unwrap()
}

#[test]
fn panic_in_test_is_a_failed_call_and_the_host_goes_on() {
    let (_dir, handle) = fixture("fixture-panic");
    let error = handle
        .test(&params(json!({"panic_in": "test"})))
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Panic);
    let line = error.to_string();
    assert!(
        line.contains("connector panicked: fixture panic in test"),
        "{line}"
    );
    assert!(
        line.contains("libfixture_plugin.so"),
        "names the file: {line}"
    );
    // The host keeps running and the plugin keeps answering.
    let report = handle.test(&params(json!({"panic_in": "sync"}))).unwrap();
    assert!(report.checks.is_empty());
}

#[test]
fn panic_in_sync_is_a_failed_run() {
    let (_dir, handle) = fixture("fixture-panic");
    let run = sync(
        &handle,
        &params(json!({"panic_in": "sync"})),
        &Options::new(),
    );
    let error = run.error();
    assert_eq!(error.kind, ErrorKind::Panic);
    assert!(
        error
            .to_string()
            .contains("fixture panic in sync (during sync_data)"),
        "{error}"
    );
    assert_eq!(
        run.records().count(),
        1,
        "what came before the panic arrived"
    );
}

#[test]
fn invalid_batch_json_fails_the_run() {
    let dir = PluginDir::new();
    let plugin = Plugin::load(&dir.compile_c(Some("EMIT_INVALID_JSON"))).unwrap();
    let handle = &plugin.connectors()[0];
    let run = sync(handle, &params(json!({"prefix": "x"})), &Options::new());
    let error = run.error();
    assert_eq!(error.kind, ErrorKind::Failed);
    assert!(
        error
            .to_string()
            .contains("the plugin emitted an invalid batch"),
        "{error}"
    );
    assert!(
        error.to_string().contains("libc_emit_invalid_json.so"),
        "{error}"
    );
}

#[test]
fn unknown_record_kind_fails_the_run_naming_it() {
    let dir = PluginDir::new();
    let plugin = Plugin::load(&dir.compile_c(Some("EMIT_UNKNOWN_KIND"))).unwrap();
    let handle = &plugin.connectors()[0];
    let run = sync(handle, &params(json!({"prefix": "x"})), &Options::new());
    let error = run.error();
    assert!(
        error.to_string().contains("unknown variant `printer`"),
        "{error}"
    );
}

#[test]
fn cancellation_stops_within_one_batch() {
    let (_dir, handle) = fixture("fixture-flood");
    let run = sync(
        &handle,
        &params(json!({"count": 1_000_000, "batch": 100})),
        &Options::new().cancel_after_batches(3),
    );
    let error = run.error();
    assert_eq!(error.kind, ErrorKind::Cancelled, "{error}");
    assert_eq!(
        run.batches.len(),
        3,
        "no batch after the one that saw the cancel"
    );
    assert_eq!(run.records().count(), 300);
    assert!(
        run.complete().is_empty(),
        "a cancelled run completes nothing"
    );
}

#[test]
fn slow_consumer_throttles_a_fast_plugin() {
    let (_dir, handle) = fixture("fixture-flood");
    let run = sync(
        &handle,
        &params(json!({"count": 20_000, "batch": 250})),
        &Options::new().delay_per_batch(Duration::from_millis(2)),
    );
    assert_eq!(run.records().count(), 20_000);
    assert_eq!(run.summary().total(), 20_000);
    // Each device's name is how many records the plugin had produced when it
    // made it; the host had taken every record before it.
    let max_lead = run
        .records()
        .enumerate()
        .filter_map(|(taken, r)| match r {
            Record::Device(d) => d.name.parse::<i64>().ok().map(|p| p - taken as i64),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    // The plugin never produced more than one batch ahead of what the host took:
    // emit is synchronous, so a slow host holds the plugin back instead of
    // letting batches pile up in memory.
    assert!(max_lead < 250, "producer ran {max_lead} records ahead");
    assert_eq!(run.complete(), [RecordKind::Device]);
}

/// Captures events from the host's `tracing`.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<(String, String)>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Captured {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        struct Message(String);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                }
            }
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        let level = event.metadata().level().to_string();
        self.0.lock().unwrap().push((
            level,
            format!("{} {}", event.metadata().target(), message.0),
        ));
    }
}

#[test]
fn plugin_logs_arrive_in_the_host_subscriber() {
    use tracing_subscriber::layer::SubscriberExt;
    let captured = Captured::default();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::filter::LevelFilter::INFO)
        .with(captured.clone());
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let (_dir, handle) = fixture("fixture-flood");
    // Loaded by the host (not the harness): its logs go to the host's tracing.
    sync(&handle, &params(json!({"count": 10})), &Options::new()).summary();
    let events = captured.0.lock().unwrap().clone();
    assert!(
        events.iter().any(|(level, text)| level == "INFO"
            && text.starts_with("invhost::plugin")
            && text.contains("Fixture flood starting. count=10")),
        "{events:#?}"
    );
    assert!(
        !events.iter().any(|(_, text)| text.contains("debug detail")),
        "the host's level filter reaches the plugin"
    );
}

#[test]
fn the_host_validates_parameters_before_calling_the_plugin() {
    let (_dir, handle) = fixture("fixture-flood");
    let run = sync(
        &handle,
        &params(json!({"count": "many", "colour": "red"})),
        &Options::new(),
    );
    let error = run.error();
    assert_eq!(error.kind, ErrorKind::InvalidParameters);
    assert!(
        error
            .message
            .contains("colour: unknown parameter (known: count, batch, wait_ms)"),
        "{error}"
    );
    assert!(
        error
            .message
            .contains("count: expected a whole number, got text"),
        "{error}"
    );
    // Defaults are filled in by the host: no count means the default 10,000.
    let run = sync(&handle, &Parameters::new(), &Options::new());
    run.assert_conforms();
    assert_eq!(run.records().count(), 10_000);
}
