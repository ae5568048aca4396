//! Plugins written in C against `invhost_plugin.h` and the `invhost_json.h`
//! helper: the ABI is language-neutral. Run through the SDK's harness.

use std::process::Command;

use connector_core::testing::{Harness, Options};
use connector_core::{CheckStatus, ErrorKind, Parameters, RecordKind};
use serde_json::json;

use crate::support::{Invhost, PluginDir, repo_root};

#[test]
fn c_plugin_loads_describes_tests_and_syncs() {
    let dir = PluginDir::new();
    let harness = Harness::load(&dir.compile_c(None), "c-demo").expect("the C plugin loads");
    assert_eq!(harness.handle().plugin().abi_version(), "1.0");
    let info = harness.info();
    assert_eq!(info.display_name, "C Demo Connector");
    assert!(info.parameters.field("prefix").is_some_and(|f| f.required));

    let params = Parameters::from_json(json!({"prefix": "c", "count": 250})).unwrap();
    let report = harness.test(&params).unwrap();
    assert_eq!(report.status(), CheckStatus::Ok, "{report:#?}");

    let run = harness.sync(&params);
    run.assert_conforms();
    assert_eq!(run.count(RecordKind::Device), 250);
    assert_eq!(run.batches.len(), 3, "batches of up to 100");
    assert_eq!(run.complete(), [RecordKind::Device]);
    assert_eq!(run.summary().total(), 250);
    assert_eq!(run.progress.last().and_then(|p| p.done), Some(250));
    // Its log line reached the host through HostApi.log.
    assert!(
        run.logs
            .iter()
            .any(|l| l.level == "info" && l.message == "C plugin emitting 250 devices"),
        "{:?}",
        run.logs
    );
}

#[test]
fn c_plugin_refuses_what_it_should() {
    let dir = PluginDir::new();
    let harness = Harness::load(&dir.compile_c(None), "c-demo").unwrap();
    let error = harness.test(&Parameters::new()).unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidParameters);
    assert_eq!(error.field.as_deref(), Some("prefix"));

    let params = Parameters::from_json(json!({"prefix": "c"})).unwrap();
    let run = harness.run("defragment", &params, &Options::new());
    assert_eq!(
        run.error().kind,
        ErrorKind::UnknownAction,
        "{}",
        run.error()
    );
}

#[test]
fn c_plugin_is_cancelled_between_batches() {
    let dir = PluginDir::new();
    let harness = Harness::load(&dir.compile_c(None), "c-demo").unwrap();
    let params = Parameters::from_json(json!({"prefix": "c", "count": 100000})).unwrap();
    let run = harness.run(
        "sync_data",
        &params,
        &Options::new().cancel_after_batches(2),
    );
    assert_eq!(run.error().kind, ErrorKind::Cancelled);
    assert_eq!(run.batches.len(), 2);
    assert!(
        run.complete().is_empty(),
        "a cancelled run completes nothing"
    );
}

#[test]
fn the_c_walk_through_is_short_and_conforms() {
    let source = repo_root().join("connector-core/examples/c/hello.c");
    let lines = std::fs::read_to_string(&source).unwrap().lines().count();
    assert!(lines < 150, "the walk-through has {lines} lines");
    let dir = PluginDir::new();
    let library = dir.compile_source(&source, "c_hello", &[]);

    let harness = Harness::load(&library, "c-hello").unwrap();
    let params = Parameters::from_json(json!({"prefix": "Ü \"PC\"", "count": 1234})).unwrap();
    let run = harness.sync(&params);
    run.assert_conforms();
    assert_eq!(run.count(RecordKind::Device), 1234);
    // The prefix went through the reader and the writer: escapes survive.
    assert_eq!(
        run.of_kind(RecordKind::Device)[0].source_key(),
        "Ü \"PC\"-1"
    );
    let run = harness.run(
        "sync_data",
        &params,
        &Options::new().cancel_after_batches(1),
    );
    assert_eq!(run.error().kind, ErrorKind::Cancelled);

    let invhost = Invhost::new();
    let (code, stdout, stderr) = invhost.run(&[
        "plugin",
        "check",
        library.to_str().unwrap(),
        "--test",
        "--sync",
        "--param",
        "prefix=PC",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("c-hello: sync: repository: 3 row(s) written"),
        "{stdout}"
    );
}

#[test]
fn the_c_json_helper_holds_under_the_sanitizers() {
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("json_test");
    let root = repo_root();
    let build = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args([
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-g",
            "-fsanitize=address,undefined",
            "-fno-sanitize-recover=all",
            "-I",
        ])
        .arg(root.join("connector-core/include"))
        .arg(root.join("tests/fixtures/c-json/json_test.c"))
        .arg("-o")
        .arg(&program)
        .output()
        .expect("run the C compiler (cc)");
    assert!(
        build.status.success(),
        "{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let run = Command::new(&program).output().unwrap();
    assert!(
        run.status.success(),
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
}
