//! `invhost plugin list | show | check`.

use serde_json::Value;

use crate::support::{Invhost, PluginDir, built_library};

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

#[test]
fn builtins_are_exactly_o365() {
    let invhost = Invhost::new();
    let (code, stdout, stderr) = invhost.run(&["plugin", "list", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let listing = json(&stdout);
    let types: Vec<&str> = listing["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["o365"]);
    assert_eq!(listing["connectors"][0]["builtin"], true);
    assert_eq!(
        listing["connectors"][0]["display_name"],
        "Microsoft Office 365"
    );
    assert_eq!(listing["refused"], Value::Array(vec![]));
}

#[test]
fn list_shows_plugins_from_the_plugin_directories() {
    let invhost = Invhost::new();
    let plugins = PluginDir::new();
    let csv = plugins.install(&built_library("csv-inventory"), "libcsv_inventory.so");
    plugins.compile_c(Some("BROKEN_MAJOR"));
    let dir = plugins.path().to_str().unwrap();

    let (code, stdout, stderr) = invhost.run(&["plugin", "list", "--plugin-dir", dir]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    let row = |t: &str| {
        lines
            .iter()
            .find(|l| l.split_whitespace().next() == Some(t))
            .map(|l| l.to_string())
    };
    let csv_row = row("csv-inventory").expect("csv-inventory listed");
    assert!(
        csv_row.contains("CSV Inventory")
            && csv_row.contains("1.0")
            && csv_row.contains(&csv.display().to_string()),
        "{csv_row}"
    );
    assert!(
        row("o365")
            .expect("o365 listed")
            .contains("built-in connector-o365")
    );
    // The refused file is in its own table, and a warning on stderr; the
    // command still succeeds.
    assert!(
        stdout.contains("REFUSED FILE")
            && lines
                .iter()
                .any(|l| l.contains("libc_broken_major.so") && l.contains("ABI v2")),
        "{stdout}"
    );
    assert!(
        stderr.contains("libc_broken_major.so") && stderr.contains("ABI v2"),
        "{stderr}"
    );

    // The same directory through the environment.
    let output = invhost
        .cmd()
        .args(["plugin", "list", "--json"])
        .env("INVHOST_PLUGIN_DIRS", dir)
        .output()
        .unwrap();
    let listing = json(&String::from_utf8_lossy(&output.stdout));
    assert_eq!(
        listing["connectors"].as_array().unwrap().len(),
        2,
        "{listing}"
    );
    assert_eq!(listing["refused"].as_array().unwrap().len(), 1, "{listing}");
}

#[test]
fn show_prints_schema_and_actions() {
    let invhost = Invhost::new();
    let (code, stdout, stderr) = invhost.run(&["plugin", "show", "o365", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let shown = json(&stdout);
    let keys: Vec<&str> = shown["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap())
        .collect();
    // Operators script against these keys: renaming one breaks them.
    assert_eq!(
        keys,
        [
            "cloud_instance",
            "graph_endpoint",
            "tenant_id",
            "client_id",
            "client_secret",
            "login_email",
            "password",
            "report_period",
            "streams",
            "max_concurrency"
        ]
    );
    assert_eq!(shown["parameters"][4]["kind"]["type"], "secret");
    let actions: Vec<&str> = shown["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["Test", "Sync Data", "Sync Usage Data"]);
    // Each action says what its records mean, declared or by its id.
    let modes: Vec<&str> = shown["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["records"].as_str().unwrap())
        .collect();
    assert_eq!(modes, ["none", "sync", "sync"]);

    let (code, stdout, _) = invhost.run(&["plugin", "show", "o365"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("client_secret") && stdout.contains("secret"),
        "{stdout}"
    );
}

#[test]
fn show_of_an_unknown_type_lists_the_known_ones() {
    let invhost = Invhost::new();
    let (code, stdout, stderr) = invhost.run(&["plugin", "show", "o356"]);
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    assert_eq!(
        stderr.trim(),
        "error: unknown connector type 'o356' (known: o365)"
    );
}

#[test]
fn check_passes_real_plugins() {
    let invhost = Invhost::new();
    let plugins = PluginDir::new();
    let csv = plugins.install(&built_library("csv-inventory"), "libcsv_inventory.so");
    let c = plugins.compile_c(None);
    for path in [csv, c] {
        let (code, stdout, stderr) = invhost.run(&["plugin", "check", path.to_str().unwrap()]);
        assert_eq!(code, 0, "{stdout}{stderr}");
        assert!(
            stdout
                .lines()
                .all(|l| l.starts_with("ok") || l.ends_with("passes the conformance check")),
            "{stdout}"
        );
        assert!(
            stdout.contains("test with empty parameters: refused empty parameters"),
            "{stdout}"
        );
        assert!(stdout.contains("unknown action: refused"), "{stdout}");
    }
}

#[test]
fn check_fails_each_broken_fixture_with_its_own_reason() {
    let invhost = Invhost::new();
    let plugins = PluginDir::new();
    let cases = [
        (
            plugins.compile_c(Some("BROKEN_MAGIC")),
            "failed  descriptor: not an invhost plugin descriptor: expected magic",
        ),
        (
            plugins.compile_c(Some("BROKEN_MAJOR")),
            "failed  descriptor: built for plugin ABI v2",
        ),
        (
            plugins.compile_c(Some("BROKEN_SIZE")),
            "failed  descriptor: descriptor size 8",
        ),
        (
            plugins.compile_c(Some("NO_ENTRY")),
            "failed  entry symbol: not an invhost plugin",
        ),
        (
            plugins.compile_c(Some("ENTRY_V2")),
            "failed  entry symbol: built for another plugin ABI",
        ),
        (
            plugins.compile_c(Some("DESCRIBE_GARBAGE")),
            "failed  metadata: unusable plugin metadata",
        ),
        (
            plugins.write("libempty.so", b""),
            "failed  library: not a loadable library",
        ),
        (
            plugins.install(&built_library("fixture-plugin"), "libfixture_plugin.so"),
            "failed  fixture-panic: test with empty parameters: crashed: connector panicked",
        ),
    ];
    for (path, expected) in cases {
        let (code, stdout, stderr) = invhost.run(&["plugin", "check", path.to_str().unwrap()]);
        assert_eq!(code, 1, "{}: {stdout}{stderr}", path.display());
        assert!(
            stdout.contains(expected),
            "{}: expected '{expected}' in:\n{stdout}",
            path.display()
        );
        assert!(
            stdout.trim_end().ends_with("FAILED conformance check"),
            "{stdout}"
        );
        assert!(
            !stderr.contains("stack backtrace"),
            "a panic is one log line, not a backtrace: {stderr}"
        );
    }

    let writable = plugins.install(&built_library("csv-inventory"), "libwritable.so");
    crate::support::set_mode(&writable, 0o666);
    let (code, stdout, _) = invhost.run(&["plugin", "check", writable.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        stdout
            .contains("failed  file: refused: the file is writable by group or others (mode 666)"),
        "{stdout}"
    );
}

/// Guards the shape of `plugin show`: operators read it to configure a connector.
#[test]
fn show_table_shape() {
    let invhost = Invhost::new();
    let plugins = PluginDir::new();
    plugins.install(&built_library("csv-inventory"), "libcsv_inventory.so");
    let (code, stdout, stderr) = invhost.run(&[
        "plugin",
        "show",
        "csv-inventory",
        "--plugin-dir",
        plugins.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let stable = stdout.replace(&plugins.path().display().to_string(), "[PLUGIN_DIR]");
    insta::assert_snapshot!(stable);
}

#[test]
fn check_sync_runs_a_good_plugin_into_a_scratch_repository() {
    let invhost = Invhost::new();
    let plugins = PluginDir::new();
    let c = plugins.compile_c(None);
    let path = c.to_str().unwrap();
    let (code, stdout, stderr) = invhost.run(&[
        "plugin",
        "check",
        path,
        "--test",
        "--sync",
        "--param",
        "prefix=PC",
        "--param",
        "count=250",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    for expected in [
        "ok      c-demo: test: Configuration",
        "ok      c-demo: sync: run: succeeded: Emitted 250 devices in 3 batches.",
        "ok      c-demo: sync: batches: 3 batch(es), 250 record(s)",
        "ok      c-demo: sync: summary: its counts are the batches' counts",
        "ok      c-demo: sync: repository: 250 row(s) written and published",
        "passes the conformance check",
    ] {
        assert!(
            stdout.contains(expected),
            "expected '{expected}' in:\n{stdout}"
        );
    }
    // The summary per kind: declared, emitted, stored, complete.
    let row = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("device"))
        .unwrap_or_else(|| panic!("no device row in:\n{stdout}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells, ["device", "yes", "250", "250", "yes"], "{row}");

    let (code, stdout, _) = invhost.run(&[
        "plugin",
        "check",
        path,
        "--sync",
        "--param",
        "prefix=PC",
        "--json",
    ]);
    assert_eq!(code, 0, "{stdout}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["passed"], true);
    assert_eq!(report["kinds"][0]["kind"], "device");
    assert_eq!(report["kinds"][0]["stored"], 3);

    // Parameters are checked against the schema before anything runs.
    let (code, stdout, _) = invhost.run(&["plugin", "check", path, "--sync"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("failed  c-demo: parameters:") && stdout.contains("prefix"),
        "{stdout}"
    );
}

#[test]
fn check_sync_fails_each_broken_run_with_its_own_reason() {
    let invhost = Invhost::new();
    let plugins = PluginDir::new();
    let cases = [
        (
            "EMIT_INVALID_JSON",
            "failed  c-demo: sync: run: the plugin emitted an invalid batch: EOF while parsing",
        ),
        (
            "SYNC_FAIL",
            "failed  c-demo: sync: run: the demo source is down",
        ),
        (
            "EMIT_UNDECLARED",
            "failed  c-demo: sync: run: the plugin emitted an invalid batch: 'user' is not one of the record kinds the connector declares (device)",
        ),
        (
            "DUPLICATE_KEYS",
            "failed  c-demo: sync: batches: the device key 'PC-1' was emitted twice in one run",
        ),
        (
            "SUMMARY_MISCOUNTS",
            "failed  c-demo: sync: summary: device: the summary says 4, the batches held 3 (the host counts the batches, not the summary)",
        ),
    ];
    for (variant, expected) in cases {
        let path = plugins.compile_c(Some(variant));
        // Loading alone passes: what is wrong shows only when the plugin runs.
        let (code, stdout, _) = invhost.run(&["plugin", "check", path.to_str().unwrap()]);
        assert_eq!(code, 0, "{variant}: {stdout}");
        let (code, stdout, stderr) = invhost.run(&[
            "plugin",
            "check",
            path.to_str().unwrap(),
            "--sync",
            "--param",
            "prefix=PC",
        ]);
        assert_eq!(code, 1, "{variant}: {stdout}{stderr}");
        assert!(
            stdout.contains(expected),
            "{variant}: expected '{expected}' in:\n{stdout}"
        );
        assert!(
            stdout.trim_end().ends_with("FAILED conformance check"),
            "{stdout}"
        );
    }
}

#[test]
fn a_sync_that_emits_an_undeclared_kind_fails_and_publishes_nothing() {
    let plugins = PluginDir::new();
    plugins.compile_c(Some("EMIT_UNDECLARED"));
    let mut invhost = Invhost::new();
    invhost.plugin_dir = Some(plugins.path().to_path_buf());
    let (code, _, stderr) = invhost.run(&[
        "connector",
        "add",
        "--type",
        "c-demo",
        "--name",
        "Demo",
        "--param",
        "prefix=PC",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = invhost.run(&[
        "execute",
        "--repository",
        "Default Inventory",
        "--action",
        "Sync Data - Demo",
    ]);
    assert_ne!(code, 0);
    assert!(
        stdout.contains("failed: the plugin emitted an invalid batch: 'user' is not one of the record kinds the connector declares (device)"),
        "{stdout}{stderr}"
    );
    let (_, stdout, _) = invhost.run(&["inventory", "devices", "--json"]);
    assert_eq!(stdout.trim(), "[]", "{stdout}");
}

#[test]
fn check_sync_runs_another_declared_action_by_its_record_mode() {
    let invhost = Invhost::new();
    let plugins = PluginDir::new();
    let csv = plugins.install(&built_library("csv-inventory"), "libcsv_inventory.so");
    let folder = format!(
        "folder={}",
        crate::support::repo_root()
            .join("plugins/csv-inventory/examples/sample")
            .display()
    );
    let (code, stdout, stderr) = invhost.run(&[
        "plugin",
        "check",
        csv.to_str().unwrap(),
        "--sync",
        "--action",
        "validate_files",
        "--param",
        &folder,
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("ok      csv-inventory: validate_files: run: succeeded: No problem found"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "ok      csv-inventory: validate_files: records: none, as the action declares"
        ),
        "{stdout}"
    );
    let (code, _, stderr) = invhost.run(&[
        "plugin",
        "check",
        csv.to_str().unwrap(),
        "--sync",
        "--action",
        "defragment",
        "--param",
        &folder,
    ]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("declares no action 'defragment' (it has sync_data, validate_files)"),
        "{stderr}"
    );
}

#[test]
fn progress_off_a_terminal_is_a_few_lines_not_one_per_note() {
    let plugins = PluginDir::new();
    plugins.compile_c(None);
    let mut invhost = Invhost::new();
    invhost.plugin_dir = Some(plugins.path().to_path_buf());
    let (code, _, stderr) = invhost.run(&[
        "connector",
        "add",
        "--type",
        "c-demo",
        "--name",
        "Chatty",
        "--param",
        "prefix=PC",
        "--param",
        "count=100000",
    ]);
    assert_eq!(code, 0, "{stderr}");
    // 1,000 batches, each with a progress note.
    let (code, stdout, stderr) = invhost.run(&[
        "execute",
        "--repository",
        "Default Inventory",
        "--action",
        "Sync Data - Chatty",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let notes: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("Emitting devices"))
        .collect();
    assert!(
        !notes.is_empty() && notes.len() <= 10,
        "{} progress lines:\n{stderr}",
        notes.len()
    );
}
