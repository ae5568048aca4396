//! `invhost demo`: the newcomer's first command.

use serde_json::Value;

use crate::support::Invhost;

#[test]
fn demo_syncs_the_simulated_tenant_and_shows_products() {
    let invhost = Invhost::new();
    let (code, stdout, stderr) =
        invhost.run(&["demo", "--json", "--users", "30", "--devices", "20"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    for kind in [
        "user",
        "device",
        "application",
        "installation",
        "application_usage",
        "licence",
        "activation",
    ] {
        assert!(
            report["counts"][kind].as_u64().unwrap() > 0,
            "{kind}: {report}"
        );
    }
    // The sync queued the consolidation, which named the products.
    let processes = report["processes"].as_array().unwrap();
    assert_eq!(processes.len(), 2, "{report}");
    assert_eq!(
        processes[1]["action"],
        "Generate Report - Basic Inventory Consolidation"
    );
    assert_eq!(processes[1]["status"], "succeeded", "{report}");
    let products = report["product_usage"].as_array().unwrap();
    let teams = products
        .iter()
        .find(|p| p["product"] == "Microsoft Teams" && p["basis"] == "installations")
        .unwrap_or_else(|| panic!("{report}"));
    assert!(teams["used"].as_u64().unwrap() > 0, "{teams}");
    assert!(!report["licences"].as_array().unwrap().is_empty());
    // The demo keeps to its own folder: the operator's repository is untouched.
    let repository = report["repository"].as_str().unwrap();
    assert!(repository.contains("/data/demo/"), "{repository}");
    let (code, stdout, _) = invhost.run(&["repository", "list", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<Value>(&stdout).unwrap()[0]["rows"],
        0
    );
    // Table output ends with the product-usage table.
    let (code, stdout, stderr) = invhost.run(&["demo", "--users", "10", "--devices", "5"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("succeeded"), "{stdout}");
    // The closing hint names the demo's own key: followed as printed, it
    // reads the demo's connector and decrypts its secret.
    let alias = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("alias demo-invhost=\""))
        .unwrap_or_else(|| panic!("no alias in: {stdout}"));
    let quoted: Vec<&str> = alias.split('\'').collect();
    let (key, database) = (quoted[1], quoted[3]);
    let mut cmd = invhost.cmd();
    let shown = cmd
        .env("INVHOST_SECRET_KEY_FILE", key)
        .args(["--database", database, "connector", "list", "--json"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.status.success(),
        "{listed}{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    assert!(listed.contains("\"client_secret\": \"(set)\""), "{listed}");
    let tail = stdout.rsplit("Product usage").next().unwrap();
    assert!(
        tail.contains("RARELY USED") && tail.contains("Microsoft 365 Apps"),
        "{stdout}"
    );
}
