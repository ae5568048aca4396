//! Every action a connector type declares is an operator action named
//! `<action name> - <connector name>`: listed with its record mode,
//! executed in the foreground or queued, and recorded in the process log.

use serde_json::Value;

use super::consolidation::{add_contoso, setup_for};
use super::workflow::Setup;
use crate::store::support::{TestDb, on_both_backends};
use crate::support::PluginDir;

on_both_backends!(
    sync_usage_data_writes_only_usage_and_removes_nothing_else,
    validate_files_writes_nothing_and_names_the_bad_line,
    a_third_action_of_each_record_mode_runs_and_is_logged
);

const REPO: &str = "Default Inventory";

fn action<'a>(actions: &'a Value, name: &str) -> &'a Value {
    actions
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no action '{name}' in {actions}"))
}

fn execute(s: &Setup, action: &str) -> Value {
    s.json(&["execute", "--repository", REPO, "--action", action])[0].clone()
}

async fn sync_usage_data_writes_only_usage_and_removes_nothing_else(db: &TestDb) {
    let sim = graph_simulator::Simulator::start(graph_simulator::SimulatorConfig {
        users: 24,
        devices: 16,
        ..Default::default()
    })
    .await
    .unwrap();
    let (s, t) = setup_for(db, &sim);
    tokio::task::spawn_blocking(move || {
        add_contoso(&s, &t, &[]);
        let actions = s.json(&["action", "list"]);
        let usage = action(&actions, "Sync Usage Data - Contoso");
        assert_eq!(usage["kind"], "sync_usage_data", "{usage}");
        assert_eq!(usage["records"], "sync", "{usage}");
        assert_eq!(action(&actions, "Sync Data - Contoso")["records"], "sync");

        // Alone, it writes the usage kinds and nothing else.
        let first = execute(&s, "Sync Usage Data - Contoso");
        assert_eq!(first["status"], "succeeded", "{first}");
        assert_eq!(first["action"], "Sync Usage Data - Contoso");
        let counts = first["counts"].as_object().unwrap();
        let kinds: Vec<&str> = counts.keys().map(String::as_str).collect();
        assert!(
            kinds
                .iter()
                .all(|k| ["application_usage", "activation"].contains(k)),
            "{first}"
        );
        assert!(s.count("usage") > 0 && s.count("activations") > 0);
        assert_eq!(s.count("devices"), 0);
        assert_eq!(s.count("users"), 0);

        // After a full sync, it leaves the other kinds as they are.
        execute(&s, "Sync Data - Contoso");
        let (devices, users, installations, usage) = (
            s.count("devices"),
            s.count("users"),
            s.count("installations"),
            s.count("usage"),
        );
        assert!(devices > 0 && users > 0 && installations > 0);
        let again = execute(&s, "Sync Usage Data - Contoso");
        assert_eq!(again["status"], "succeeded", "{again}");
        assert!(
            !again["message"].as_str().unwrap().contains("removed"),
            "{again}"
        );
        assert_eq!(s.count("devices"), devices);
        assert_eq!(s.count("users"), users);
        assert_eq!(s.count("installations"), installations);
        assert_eq!(s.count("usage"), usage);

        // A clean sync replaces everything the connector holds: Sync Data only.
        let (code, _, stderr) = s.invhost.run(&[
            "execute",
            "--repository",
            REPO,
            "--action",
            "Sync Usage Data - Contoso",
            "--clean",
        ]);
        assert_ne!(code, 0);
        assert!(
            stderr.contains("goes with 'Sync Data - Contoso' only"),
            "{stderr}"
        );
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");

        // Queued like any action, and cancelled before a host runs it.
        let queued = s.json(&[
            "execute",
            "--repository",
            REPO,
            "--action",
            "Sync Usage Data - Contoso",
            "--queue",
        ]);
        assert_eq!(queued["status"], "queued", "{queued}");
        assert_eq!(queued["action"], "Sync Usage Data - Contoso");
        let id = queued["id"].as_i64().unwrap().to_string();
        let cancelled = s.json(&["process", "cancel", &id]);
        assert_eq!(cancelled["outcome"], "cancelled", "{cancelled}");
    })
    .await
    .unwrap();
}

async fn validate_files_writes_nothing_and_names_the_bad_line(db: &TestDb) {
    let s = Setup::new(db);
    tokio::task::spawn_blocking(move || {
        s.add_csv("Files");
        let actions = s.json(&["action", "list"]);
        let validate = action(&actions, "Validate Files - Files");
        assert_eq!(validate["records"], "none", "{validate}");

        let clean = execute(&s, "Validate Files - Files");
        assert_eq!(clean["status"], "succeeded", "{clean}");
        assert!(
            clean["message"]
                .as_str()
                .unwrap()
                .starts_with("No problem found; a sync would import devices.csv 5 devices"),
            "{clean}"
        );
        assert_eq!(s.count("devices"), 0, "validation writes nothing");

        // A malformed row fails it, naming the file and the line.
        let devices = s.folder().join("devices.csv");
        let mut text = std::fs::read_to_string(&devices).unwrap();
        text.push_str("broken-row-without-a-name\n");
        std::fs::write(&devices, text).unwrap();
        let (code, stdout, _) = s.invhost.run(&[
            "execute",
            "--repository",
            REPO,
            "--action",
            "Validate Files - Files",
            "--json",
        ]);
        assert_ne!(code, 0, "a failed process fails the command");
        let bad = serde_json::from_str::<Value>(&stdout).unwrap()[0].clone();
        assert_eq!(bad["status"], "failed", "{bad}");
        let message = bad["message"].as_str().unwrap();
        assert!(
            message.starts_with("1 malformed row(s) found, the first: devices.csv line 7:"),
            "{message}"
        );
        assert_eq!(s.count("devices"), 0, "still nothing written");
    })
    .await
    .unwrap();
}

#[test]
fn a_plugin_built_for_abi_1_0_loads_lists_only_sync_data_and_syncs() {
    let plugins = PluginDir::new();
    plugins.compile_c(None);
    let mut invhost = crate::support::Invhost::new();
    invhost.plugin_dir = Some(plugins.path().to_path_buf());
    let (code, stdout, _) = invhost.run(&["plugin", "list"]);
    assert_eq!(code, 0);
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("c-demo") && l.contains("1.0")),
        "{stdout}"
    );
    let (code, _, stderr) = invhost.run(&[
        "connector",
        "add",
        "--type",
        "c-demo",
        "--name",
        "Old",
        "--param",
        "prefix=PC",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let (_, stdout, _) = invhost.run(&["action", "list", "--json"]);
    let actions: Value = serde_json::from_str(&stdout).unwrap();
    let names: Vec<&str> = actions
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["connector"] == "Old")
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Sync Data - Old"]);
    let (code, stdout, stderr) = invhost.run(&[
        "execute",
        "--repository",
        REPO,
        "--action",
        "Sync Data - Old",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("succeeded"), "{stdout}");
}

async fn a_third_action_of_each_record_mode_runs_and_is_logged(db: &TestDb) {
    let s = Setup::new(db);
    tokio::task::spawn_blocking(move || {
        super::service::add_flood(&s, ["Tide".to_string()], 50);
        let actions = s.json(&["action", "list"]);
        assert_eq!(action(&actions, "Refill - Tide")["records"], "sync");
        assert_eq!(action(&actions, "Count Only - Tide")["records"], "none");

        let refill = execute(&s, "Refill - Tide");
        assert_eq!(refill["status"], "succeeded", "{refill}");
        assert_eq!(refill["counts"]["device"], 50, "{refill}");
        assert_eq!(s.count("devices"), 50);

        // An action that declares it writes nothing and emits a record fails,
        // naming the action, and writes nothing.
        let (code, stdout, _) = s.invhost.run(&[
            "execute",
            "--repository",
            REPO,
            "--action",
            "Count Only - Tide",
            "--json",
        ]);
        assert_ne!(code, 0);
        let failed = serde_json::from_str::<Value>(&stdout).unwrap()[0].clone();
        assert_eq!(failed["status"], "failed", "{failed}");
        assert_eq!(
            failed["message"],
            "the connector's action 'count_only' emitted records, but it declares that it writes none; nothing was written"
        );
        assert_eq!(s.count("devices"), 50);

        // Both are in the process log under their names.
        let log = s.json(&["process-log", "--limit", "5"]);
        let names: Vec<&str> = log
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["action"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"Refill - Tide") && names.contains(&"Count Only - Tide"), "{log}");
    })
    .await
    .unwrap();
}

#[test]
fn a_c_plugin_built_for_abi_1_1_offers_its_third_action() {
    let plugins = PluginDir::new();
    plugins.compile_c(Some("ABI_1_1"));
    let mut invhost = crate::support::Invhost::new();
    invhost.plugin_dir = Some(plugins.path().to_path_buf());
    let (code, _, stderr) = invhost.run(&[
        "connector",
        "add",
        "--type",
        "c-demo",
        "--name",
        "New",
        "--param",
        "prefix=PC",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let (_, stdout, _) = invhost.run(&["action", "list", "--json"]);
    let actions: Value = serde_json::from_str(&stdout).unwrap();
    let count = action(&actions, "Count Devices - New");
    assert_eq!(count["records"], "none", "{count}");
    assert_eq!(count["kind"], "count_devices");
    let (code, stdout, stderr) = invhost.run(&[
        "execute",
        "--repository",
        REPO,
        "--action",
        "Count Devices - New",
        "--json",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let ran: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(ran[0]["status"], "succeeded", "{ran}");
    assert_eq!(ran[0]["message"], "A sync would emit 3 devices.");
    let (_, stdout, _) = invhost.run(&["inventory", "devices", "--json"]);
    assert_eq!(stdout.trim(), "[]", "nothing written");
}
