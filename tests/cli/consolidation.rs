//! Consolidation through the binary: the Microsoft 365 connector against the
//! simulator and csv-inventory describing some of the same machines, the
//! action queued after a sync, the views, and rule files refused up front.

use serde_json::Value;

use super::workflow::Setup;
use crate::store::support::{TestDb, on_both_backends};

const ACTION: &str = "Generate Report - Basic Inventory Consolidation";

on_both_backends!(simulator_and_spreadsheet_machines_merge_and_the_views_show_them);

/// "Consolidated 99 raw devices into 54, …" → 54.
fn consolidated_devices(message: &str) -> u64 {
    let rest = message.split(" into ").nth(1).unwrap_or_default();
    rest.split(',')
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{message}"))
}

fn sources_of(explained: &Value) -> Vec<(String, String)> {
    explained["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["connector"].as_str().unwrap().to_owned(),
                s["matched_by"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Where the simulator listens and who signs in, for `connector add`.
pub(crate) struct Tenant {
    base: String,
    tenant: String,
    client: String,
}

/// A Setup whose invhost has the simulator's secret in `GRAPH_SECRET`.
pub(crate) fn setup_for(db: &TestDb, sim: &graph_simulator::Simulator) -> (Setup, Tenant) {
    let mut s = Setup::new(db);
    s.invhost
        .env
        .push(("GRAPH_SECRET".into(), sim.client_secret()));
    let tenant = Tenant {
        base: sim.base_url(),
        tenant: sim.tenant_id(),
        client: sim.client_id(),
    };
    (s, tenant)
}

/// Adds the Microsoft 365 connector `Contoso` pointing at the simulator.
pub(crate) fn add_contoso(s: &Setup, t: &Tenant, extra: &[&str]) {
    let (cloud, tenant, client) = (
        format!("cloud_instance={}", t.base),
        format!("tenant_id={}", t.tenant),
        format!("client_id={}", t.client),
    );
    let mut args = vec![
        "connector",
        "add",
        "--type",
        "o365",
        "--name",
        "Contoso",
        "--param",
        &cloud,
        "--param",
        &tenant,
        "--param",
        &client,
        "--secret",
        "client_secret=env:GRAPH_SECRET",
    ];
    args.extend_from_slice(extra);
    s.ok(&args);
}

async fn simulator_and_spreadsheet_machines_merge_and_the_views_show_them(db: &TestDb) {
    let sim = graph_simulator::Simulator::start(graph_simulator::SimulatorConfig {
        users: 24,
        devices: 16,
        ..Default::default()
    })
    .await
    .unwrap();
    let (s, t) = setup_for(db, &sim);
    let s = tokio::task::spawn_blocking(move || {
        add_contoso(&s, &t, &[]);
        let actions = s.json(&["action", "list"]);
        let consolidation: Vec<&Value> = actions
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["kind"] == "consolidation")
            .collect();
        assert_eq!(consolidation.len(), 1, "{actions}");
        assert_eq!(consolidation[0]["name"], ACTION);
        assert_eq!(consolidation[0]["repository"], "Default Inventory");

        // Before any consolidation the views say how to make one.
        let (code, _, stderr) = s.invhost.run(&["inventory", "product-usage"]);
        assert_eq!(code, 0);
        assert!(stderr.contains("has not been consolidated yet"), "{stderr}");

        s.ok(&[
            "execute",
            "--repository",
            "Default Inventory",
            "--action",
            "Sync Data - Contoso",
        ]);
        let first = s.json(&[
            "execute",
            "--repository",
            "Default Inventory",
            "--action",
            ACTION,
        ]);
        assert_eq!(first[0]["status"], "succeeded", "{first}");
        let tenant_devices = consolidated_devices(first[0]["message"].as_str().unwrap());

        // Three Intune machines as a spreadsheet describes them.
        let devices = s.json(&["inventory", "devices", "--limit", "100000"]);
        let intune: Vec<&Value> = devices
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["source_type"] == "intune" && d["serial_number"].is_string())
            .take(3)
            .collect();
        assert_eq!(intune.len(), 3, "{devices}");
        let name = |d: &Value| d["name"].as_str().unwrap().to_owned();
        let serial = |d: &Value| d["serial_number"].as_str().unwrap().to_owned();
        for entry in std::fs::read_dir(s.folder()).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
        std::fs::write(
            s.folder().join("devices.csv"),
            format!(
                "device_id,name,serial_number\n\
                 csv-1,{}.corp.contoso.com,{}\n\
                 csv-2,{}.contoso.local,\n\
                 csv-3,{},OTHER-SERIAL-1\n",
                name(intune[0]).to_uppercase(),
                serial(intune[0]).to_lowercase(),
                name(intune[1]).to_lowercase(),
                name(intune[2]),
            ),
        )
        .unwrap();
        std::fs::write(
            s.folder().join("applications.csv"),
            "application_id,name,publisher,version\nz,Zoom Workplace,Zoom,6.1.1.41705\n",
        )
        .unwrap();
        std::fs::write(
            s.folder().join("installations.csv"),
            "device_id,application_id,last_used\ncsv-1,z,2020-01-01\ncsv-3,z,\n",
        )
        .unwrap();
        let folder = format!("folder={}", s.folder().display());
        s.ok(&[
            "connector",
            "add",
            "--type",
            "csv-inventory",
            "--name",
            "Spreadsheet",
            "--param",
            &folder,
            "--run-consolidation",
        ]);

        // The sync queues the consolidation; both show in the process log.
        let ran = s.json(&[
            "execute",
            "--repository",
            "Default Inventory",
            "--action",
            "Sync Data - Spreadsheet",
        ]);
        let ran = ran.as_array().unwrap();
        assert_eq!(ran.len(), 2, "{ran:?}");
        assert_eq!(ran[1]["action"], ACTION);
        assert_eq!(ran[1]["parent_id"], ran[0]["id"]);
        assert_eq!(ran[1]["trigger"], "after sync");
        assert_eq!(ran[1]["status"], "succeeded", "{ran:?}");
        let log = s.json(&["process-log"]);
        assert_eq!(log[0]["id"], ran[1]["id"]);
        // csv-1 and csv-2 joined tenant machines; csv-3 is a machine of its own.
        assert_eq!(
            consolidated_devices(ran[1]["message"].as_str().unwrap()),
            tenant_devices + 1,
            "{ran:?}"
        );

        let spreadsheet_name = format!("{}.corp.contoso.com", name(intune[0]).to_uppercase());
        let by_serial = s.json(&["inventory", "explain", "device", &spreadsheet_name]);
        let sources = sources_of(&by_serial);
        assert!(
            sources.contains(&("Spreadsheet".into(), "serial number".into())),
            "{by_serial}"
        );
        assert!(sources.iter().any(|(c, _)| c == "Contoso"), "{by_serial}");
        let by_name = s.json(&["inventory", "explain", "device", &name(intune[1])]);
        assert!(
            sources_of(&by_name).contains(&("Spreadsheet".into(), "name".into())),
            "{by_name}"
        );
        // Two machines share intune[2]'s name: the operator is asked for an id.
        let (code, _, stderr) =
            s.invhost
                .run(&["inventory", "explain", "device", &name(intune[2])]);
        assert_ne!(code, 0);
        assert!(
            stderr.contains("(ids ") && stderr.contains("give the device's id"),
            "{stderr}"
        );

        // Views, as JSON and as tables.
        let products = s.json(&["inventory", "product-usage"]);
        let zoom: Vec<&Value> = products
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["product"] == "Zoom Workplace" && p["version"] == "6.1.1.41705")
            .collect();
        assert_eq!(zoom.len(), 1, "{products}");
        let id = zoom[0]["id"].as_i64().unwrap();
        let explained = s.json(&["inventory", "explain", "product", &id.to_string()]);
        assert_eq!(explained["product"]["rule"], "zoom");
        assert!(
            explained["titles"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["connector"] == "Spreadsheet"),
            "{explained}"
        );
        let licences = s.json(&["inventory", "licences"]);
        assert!(!licences.as_array().unwrap().is_empty(), "{licences}");
        for l in licences.as_array().unwrap() {
            let n = |k: &str| l[k].as_i64().unwrap();
            assert_eq!(
                n("active") + n("inactive") + n("unreported"),
                n("assigned"),
                "{l}"
            );
            assert!(n("reclaimable") <= n("inactive"), "{l}");
        }
        let reclaim = s.json(&["inventory", "reclaim"]);
        let reclaimable: i64 = licences
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["reclaimable"].as_i64().unwrap())
            .sum();
        assert_eq!(reclaim.as_array().unwrap().len() as i64, reclaimable);
        let table = s.ok(&["inventory", "product-usage"]);
        assert!(
            table.contains("RARELY USED") && table.contains("Zoom Workplace"),
            "{table}"
        );
        let table = s.ok(&["inventory", "reclaim"]);
        assert!(table.contains("PER SERVICE"), "{table}");
        s
    })
    .await
    .unwrap();
    drop(s);
    sim.shutdown().await;
}

#[test]
fn a_bad_rule_file_is_refused_before_anything_runs() {
    let db = TestDb::sqlite();
    let mut s = Setup::new(&db);
    let rules = s.folder().join("rules.toml");
    std::fs::write(
        &rules,
        "# Contoso's rules\n\n[[rule]]\nid = \"broken\"\nvendor = \"Contoso\"\nproduct = \"X\"\n[rule.match]\nname = '(?i)^Contoso ('\n",
    )
    .unwrap();
    s.invhost
        .env
        .push(("INVHOST_RULE_FILES".into(), rules.display().to_string()));
    let (code, _, stderr) = s.invhost.run(&[
        "execute",
        "--repository",
        "Default Inventory",
        "--action",
        ACTION,
    ]);
    assert_eq!(code, 1);
    let expected = format!("{}:8:", rules.display());
    assert!(stderr.contains(&expected), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    // A sync that would queue consolidation does not start either.
    let folder = format!("folder={}", s.folder().display());
    s.ok(&[
        "connector",
        "add",
        "--type",
        "csv-inventory",
        "--name",
        "Sample",
        "--param",
        &folder,
        "--run-consolidation",
    ]);
    let (code, _, stderr) = s.invhost.run(&[
        "execute",
        "--repository",
        "Default Inventory",
        "--action",
        "Sync Data - Sample",
    ]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains(&expected) && stderr.contains("runs consolidation after its sync"),
        "{stderr}"
    );
    assert_eq!(
        s.json(&["process-log"]),
        Value::Array(vec![]),
        "nothing was queued"
    );

    // --clean is for syncs; an empty repository consolidates to a note.
    s.invhost.env.clear();
    let (code, _, stderr) = s.invhost.run(&[
        "execute",
        "--repository",
        "Default Inventory",
        "--action",
        ACTION,
        "--clean",
    ]);
    assert_eq!(code, 1, "{stderr}");
    s.ok(&["repository", "add", "Empty"]);
    let ran = s.json(&["execute", "--repository", "Empty", "--action", ACTION]);
    assert_eq!(ran[0]["status"], "succeeded");
    assert!(
        ran[0]["message"].as_str().unwrap().contains("no raw data"),
        "{ran}"
    );
    assert_eq!(
        s.json(&["inventory", "product-usage", "--repository", "Empty"]),
        Value::Array(vec![])
    );
}

/// A tenant whose reports conceal user names: usage cannot be joined to
/// people, so installations the reports would judge, and every licence,
/// end Unreported with that reason, and nothing is offered for reclaim.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concealed_names_end_as_unreported_with_that_reason() {
    let sim = graph_simulator::Simulator::start(graph_simulator::SimulatorConfig {
        users: 20,
        devices: 12,
        concealed_names: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let db = TestDb::sqlite();
    let (s, t) = setup_for(&db, &sim);
    tokio::task::spawn_blocking(move || {
        add_contoso(&s, &t, &["--run-consolidation"]);
        let ran = s.json(&[
            "execute",
            "--repository",
            "Default Inventory",
            "--action",
            "Sync Data - Contoso",
        ]);
        assert_eq!(ran[1]["status"], "succeeded", "{ran}");
        let message = ran[1]["message"].as_str().unwrap();
        assert!(!message.contains("(0 concealed identities"), "{message}");

        let products = s.json(&["inventory", "product-usage"]);
        let m365 = products
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["product"] == "Microsoft 365 Apps" && p["edition"] == "enterprise")
            .unwrap_or_else(|| panic!("{products}"));
        assert_eq!(m365["unreported"], m365["installations"], "{m365}");
        let id = m365["id"].as_i64().unwrap().to_string();
        let explained = s.json(&["inventory", "explain", "product", &id]);
        assert_eq!(
            explained["categories"]["Unreported"], m365["installations"],
            "{explained}"
        );

        // One of its devices says why.
        let devices = s.json(&["inventory", "devices", "--limit", "100000"]);
        let with_m365 = devices
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["source_type"] == "intune")
            .find_map(|d| {
                let name = d["name"].as_str().unwrap();
                let (code, stdout, _) =
                    s.invhost
                        .run(&["inventory", "explain", "device", name, "--json"]);
                (code == 0).then(|| serde_json::from_str::<Value>(&stdout).unwrap())
            })
            .unwrap();
        let reasons: Vec<&str> = with_m365["installations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["product"] == "Microsoft 365 Apps" || i["product"] == "Microsoft Teams")
            .map(|i| i["reason"].as_str().unwrap())
            .collect();
        assert!(
            !reasons.is_empty() && reasons.iter().all(|r| *r == "concealed names"),
            "{with_m365}"
        );

        let licences = s.json(&["inventory", "licences"]);
        for l in licences.as_array().unwrap() {
            assert_eq!(l["unreported"], l["assigned"], "{l}");
            assert_eq!(l["reclaimable"], 0, "{l}");
        }
        assert_eq!(s.json(&["inventory", "reclaim"]), Value::Array(vec![]));
    })
    .await
    .unwrap();
    sim.shutdown().await;
}
