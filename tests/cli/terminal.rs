//! The operator's terminal (issue 18): formats, filters and sort on the
//! inventory views, tables fitted to a width, the connector and repository
//! lifecycle, and the last successful test beside the last attempt. Run as
//! the binary, on both backends where the database matters.

use serde_json::Value;

use super::workflow::Setup;
use crate::store::support::{TestDb, on_both_backends};

on_both_backends!(
    formats_filters_and_sort_on_the_inventory_views,
    renames_and_removal_keep_everything_consistent,
    the_last_successful_test_stays_beside_a_failed_attempt,
);

/// A repository holding the csv sample, consolidated.
fn synced(db: &TestDb) -> Setup {
    let s = Setup::new(db);
    s.add_csv("Sheet");
    s.ok(&[
        "execute",
        "--repository",
        "Default Inventory",
        "--action",
        "Sync Data - Sheet",
    ]);
    s.ok(&[
        "execute",
        "--repository",
        "Default Inventory",
        "--action",
        "Generate Report - Basic Inventory Consolidation",
    ]);
    s
}

fn names(rows: &Value) -> Vec<String> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn formats_filters_and_sort_on_the_inventory_views(db: &TestDb) {
    let s = synced(db);
    let all = s.json(&["inventory", "devices"]);
    assert_eq!(all.as_array().unwrap().len(), 5);

    // CSV: a header of the JSON fields, a line per row, every row.
    let csv_text = s.ok(&["inventory", "devices", "--format", "csv"]);
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert!(header.contains(&"name".to_owned()) && header.contains(&"serial_number".to_owned()));
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 5, "{csv_text}");
    let name_at = header.iter().position(|h| h == "name").unwrap();
    let mut csv_names: Vec<&str> = rows.iter().map(|r| &r[name_at]).collect();
    csv_names.sort_unstable();
    let mut json_names = names(&all);
    json_names.sort();
    assert_eq!(csv_names, json_names);

    // JSON lines: one object per line.
    let jsonl = s.ok(&["inventory", "devices", "--format", "jsonl"]);
    let lines: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    assert!(lines.iter().all(Value::is_object));

    // --where: text without regard to case; repeatable, all must hold.
    let hp = s.json(&["inventory", "devices", "--where", "manufacturer=hp"]);
    assert_eq!(names(&hp), ["LPT-ADELE-01", "LPT-NESTOR-01"]);
    let one = s.json(&[
        "inventory",
        "devices",
        "--where",
        "manufacturer=HP",
        "--where",
        "model=ProBook 450 G9",
    ]);
    assert_eq!(names(&one), ["LPT-NESTOR-01"]);
    // An empty value matches a missing one (the reception desk has no user).
    let nobody = s.json(&["inventory", "devices", "--where", "primary_user="]);
    assert_eq!(names(&nobody), ["DSK-RECEPTION"]);
    // A looked-up column: installations by their device's name.
    let installed = s.json(&[
        "inventory",
        "installations",
        "--where",
        "device=lpt-adele-01",
    ]);
    let installed = installed.as_array().unwrap();
    assert!(!installed.is_empty());
    assert!(installed.iter().all(|i| i["device"] == "LPT-ADELE-01"));

    // --search and --sort.
    let found = s.json(&["inventory", "devices", "--search", "MACBOOK"]);
    assert_eq!(names(&found), ["MAC-MEGAN-01"]);
    let sorted = names(&s.json(&["inventory", "devices", "--sort", "name:desc"]));
    let mut expected = json_names.clone();
    expected.reverse();
    assert_eq!(sorted, expected);

    // The table says how many matched.
    let (code, stdout, stderr) =
        s.invhost
            .run(&["inventory", "devices", "--where", "manufacturer=HP"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("LPT-NESTOR-01") && !stdout.contains("MAC-MEGAN-01"));
    assert!(stderr.contains("2 of 2 matching rows"), "{stderr}");

    // Consolidated views filter and sort by their JSON fields.
    let usage = s.json(&["inventory", "product-usage", "--sort", "installations:desc"]);
    let counts: Vec<i64> = usage
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["installations"].as_i64().unwrap())
        .collect();
    assert!(
        counts.len() > 2 && counts.windows(2).all(|w| w[0] >= w[1]),
        "{counts:?}"
    );
    let microsoft = s.json(&["inventory", "product-usage", "--where", "vendor=microsoft"]);
    let microsoft = microsoft.as_array().unwrap();
    assert!(!microsoft.is_empty() && microsoft.len() < counts.len());
    assert!(microsoft.iter().all(|p| p["vendor"] == "Microsoft"));
    let csv_usage = s.ok(&["inventory", "product-usage", "--format", "csv"]);
    assert_eq!(csv_usage.lines().count(), counts.len() + 1, "{csv_usage}");

    // Mistakes are one line naming what there is.
    for (args, expected) in [
        (
            vec!["inventory", "devices", "--where", "colour=red"],
            "cannot filter device rows by 'colour' (one of: ",
        ),
        (
            vec!["inventory", "devices", "--sort", "colour"],
            "cannot sort device rows by 'colour'",
        ),
        (
            vec!["inventory", "devices", "--where", "memory_bytes=lots"],
            "'memory_bytes' holds whole numbers; 'lots' is not one",
        ),
        (
            vec!["inventory", "product-usage", "--sort", "colour"],
            "no column 'colour' in product-usage (one of: ",
        ),
        (
            vec!["inventory", "devices", "--where", "novalue"],
            "'novalue' is not COLUMN=VALUE",
        ),
    ] {
        let (code, _, stderr) = s.invhost.run(&args);
        assert_ne!(code, 0, "{args:?}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

async fn renames_and_removal_keep_everything_consistent(db: &TestDb) {
    let s = synced(db);
    s.ok(&["repository", "add", "Scratch"]);
    s.ok(&[
        "schedule",
        "add",
        "nightly",
        "--cron",
        "0 2 * * *",
        "--repository",
        "Default Inventory",
        "--action",
        "Sync Data - Sheet",
    ]);

    // Another connector whose name ends the same way, run by another schedule.
    s.add_csv("EU - Sheet");
    s.ok(&[
        "schedule",
        "add",
        "europe",
        "--cron",
        "0 3 * * *",
        "--repository",
        "Default Inventory",
        "--action",
        "Sync Data - EU - Sheet",
    ]);

    // A connector's rename renames its actions and the schedule's steps,
    // and only its own.
    let out = s.ok(&["connector", "rename", "Sheet", "Spreadsheet"]);
    assert!(out.contains("'Sync Data - Spreadsheet'"), "{out}");
    let nightly = s.json(&["schedule", "show", "nightly"]);
    assert_eq!(
        nightly["actions"][0], "Sync Data - Spreadsheet",
        "{nightly}"
    );
    let europe = s.json(&["schedule", "show", "europe"]);
    assert_eq!(europe["actions"][0], "Sync Data - EU - Sheet", "{europe}");
    let actions = s.ok(&["action", "list"]);
    assert!(actions.contains("Sync Data - Spreadsheet") && !actions.contains("Sync Data - Sheet"));
    // Its rows follow it: they are the connector's by id.
    let devices = s.json(&["inventory", "devices"]);
    assert!(
        devices
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["connector"] == "Spreadsheet")
    );
    // A name taken, in any case, is refused.
    s.add_csv("Other");
    let (code, _, stderr) = s
        .invhost
        .run(&["connector", "rename", "Other", "SPREADSHEET"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("already"), "{stderr}");

    // Not while a process of it is queued.
    s.ok(&[
        "execute",
        "--queue",
        "--repository",
        "Default Inventory",
        "--action",
        "Sync Data - Other",
    ]);
    let (code, _, stderr) = s.invhost.run(&["connector", "rename", "Other", "Renamed"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("queued or running (process"), "{stderr}");
    let queued = s.last_process();
    s.ok(&["process", "cancel", &queued["id"].to_string()]);
    s.ok(&[
        "execute",
        "--queue",
        "--repository",
        "Scratch",
        "--action",
        "Generate Report - Basic Inventory Consolidation",
    ]);
    for args in [
        vec!["repository", "rename", "Scratch", "Lab"],
        vec!["repository", "remove", "Scratch", "--yes"],
    ] {
        let (code, _, stderr) = s.invhost.run(&args);
        assert_ne!(code, 0, "{args:?}");
        assert!(stderr.contains("queued or running (process"), "{stderr}");
    }
    let queued = s.last_process();
    s.ok(&["process", "cancel", &queued["id"].to_string()]);

    // A connector a schedule runs is not removed; then its removal says
    // what becomes of its rows, and asks.
    let (code, _, stderr) = s
        .invhost
        .run(&["connector", "remove", "Spreadsheet", "--purge-data"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("is run by schedule 'nightly'"), "{stderr}");
    s.ok(&["schedule", "remove", "nightly"]);
    let (code, _, stderr) = s.invhost.run(&["connector", "remove", "Spreadsheet"]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("wrote")
            && stderr.contains("--keep-data")
            && stderr.contains("--purge-data"),
        "{stderr}"
    );
    let out = s.ok(&["connector", "remove", "Spreadsheet", "--keep-data"]);
    assert!(
        out.contains("stay") && out.contains("'Default Inventory'"),
        "{out}"
    );
    let devices = s.json(&["inventory", "devices"]);
    assert_eq!(devices.as_array().unwrap().len(), 5, "kept");
    // A connector that wrote nothing needs no choice.
    s.ok(&["connector", "remove", "Other"]);

    // Repositories: renamed with their rows and history; removed with
    // them, asked. The default one keeps its name and stays.
    s.ok(&[
        "execute",
        "--repository",
        "Scratch",
        "--action",
        "Generate Report - Basic Inventory Consolidation",
    ]);
    s.ok(&["repository", "rename", "Scratch", "Lab"]);
    let history = s.json(&["process-log", "--repository", "Lab"]);
    assert_eq!(history.as_array().unwrap().len(), 2, "{history}");
    let (code, _, stderr) = s
        .invhost
        .run(&["repository", "rename", "Default Inventory", "Main"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("keeps its name"), "{stderr}");
    let (code, _, stderr) = s
        .invhost
        .run(&["repository", "remove", "Default Inventory", "--yes"]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("is the default repository and stays"),
        "{stderr}"
    );
    let (code, _, stderr) = s.invhost.run(&["repository", "remove", "Lab"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("pass --yes"), "{stderr}");
    s.ok(&["repository", "remove", "Lab", "--yes"]);
    let listed = s.json(&["repository", "list"]);
    let listed: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["Default Inventory"]);
    let (code, _, stderr) = s
        .invhost
        .run(&["inventory", "devices", "--repository", "Lab"]);
    assert_ne!(code, 0, "{stderr}");
    let history = s.json(&["process-log"]);
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["repository"] != "Lab"),
        "its history went with it"
    );
}

async fn the_last_successful_test_stays_beside_a_failed_attempt(db: &TestDb) {
    let s = Setup::new(db);
    s.add_csv("Sheet");
    s.ok(&["connector", "test", "Sheet"]);
    let first = s.json(&["connector", "show", "Sheet"]);
    let ok_at = first["last_successful_test_at"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(first["last_test_status"], "ok", "{first}");

    // The folder goes away: the next test fails, the success stays.
    let gone = s.folder().join("gone");
    s.ok(&[
        "connector",
        "edit",
        "Sheet",
        "--param",
        &format!("folder={}", gone.display()),
    ]);
    s.invhost.run(&["connector", "test", "Sheet"]);
    let second = s.json(&["connector", "show", "Sheet"]);
    assert_eq!(second["last_test_status"], "failed", "{second}");
    assert_eq!(second["last_successful_test_at"], ok_at.as_str());
    assert_ne!(second["last_tested_at"], first["last_tested_at"]);
    let table = s.ok(&["connector", "list"]);
    assert!(
        table.contains("LAST TESTED OK (UTC)") && table.contains("failed "),
        "{table}"
    );
}

/// `plugin show` fitted to 80 and 200 columns: what a narrow terminal
/// hides and wraps, and what a wide one shows whole.
#[test]
fn tables_fit_80_and_200_columns() {
    let db = TestDb::sqlite();
    let s = Setup::new(&db);
    for width in ["80", "200"] {
        let (code, stdout, stderr) = s.invhost.run(&["plugin", "show", "o365", "--width", width]);
        assert_eq!(code, 0, "{stderr}");
        let widest = stdout.lines().map(|l| l.chars().count()).max().unwrap_or(0);
        assert!(
            widest <= width.parse().unwrap(),
            "a line of {widest} columns at --width {width}"
        );
        insta::assert_snapshot!(format!("plugin_show_o365_width_{width}"), stdout);
        if width == "80" {
            assert!(
                stderr.contains("Hidden to fit 80 columns: DEFAULT"),
                "{stderr}"
            );
        }
    }
    // Off a terminal and without --width, rows stay whole (today's output).
    let (_, full, _) = s.invhost.run(&["plugin", "show", "o365"]);
    let widest = full.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(widest > 200, "full rows: {widest}");
    let (_, wide, _) = s.invhost.run(&["plugin", "show", "o365", "--wide"]);
    assert_eq!(wide, full);

    // The process log and a consolidated view fit too.
    s.add_csv("Sheet");
    s.ok(&[
        "execute",
        "--repository",
        "Default Inventory",
        "--action",
        "Sync Data - Sheet",
    ]);
    for args in [
        vec!["process-log", "--width", "80"],
        vec!["inventory", "product-usage", "--width", "80"],
        vec!["inventory", "installations", "--width", "80"],
    ] {
        let (code, stdout, stderr) = s.invhost.run(&args);
        assert_eq!(code, 0, "{stderr}");
        let widest = stdout.lines().map(|l| l.chars().count()).max().unwrap_or(0);
        assert!(widest <= 80, "{args:?}: {widest} columns:\n{stdout}");
    }
}

/// A long wait says what is awaited and for how long, off a terminal too
/// (the status line every few seconds).
#[test]
fn a_long_wait_says_for_how_long() {
    let db = TestDb::sqlite();
    let s = Setup::new(&db);
    s.ok(&[
        "connector",
        "add",
        "--type",
        "fixture-flood",
        "--name",
        "Slow",
        "--param",
        "count=10",
        "--param",
        "wait_ms=7000",
    ]);
    let (code, stdout, stderr) = s.invhost.run(&[
        "execute",
        "--repository",
        "Default Inventory",
        "--action",
        "Sync Data - Slow",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("Sync Data - Slow: Waiting for the export job (for ")),
        "{stderr}"
    );
}
