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
    assert!(
        report["most_used"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["application"] == "Teams"),
        "{report}"
    );
    assert!(!report["most_installed"].as_array().unwrap().is_empty());
    // The demo keeps to its own folder: the operator's repository is untouched.
    let repository = report["repository"].as_str().unwrap();
    assert!(repository.contains("/data/demo/"), "{repository}");
    let (code, stdout, _) = invhost.run(&["repository", "list", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<Value>(&stdout).unwrap()[0]["rows"],
        0
    );
    // Table output ends with the products.
    let (code, stdout, stderr) = invhost.run(&["demo", "--users", "10", "--devices", "5"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("Most used") && stdout.contains("succeeded"),
        "{stdout}"
    );
}
