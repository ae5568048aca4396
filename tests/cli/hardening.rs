//! What a careless or hostile local user must not get away with: files
//! other users could read, names that break tables and logs.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::Invhost;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// `invhost` run with umask 000: whatever it creates is as open as it
/// itself asks for.
fn open_umask(invhost: &Invhost, args: &[&str]) -> std::process::Command {
    let mut cmd = invhost.cmd();
    cmd.args(args);
    // SAFETY: umask is async-signal-safe and touches nothing but the mask.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0);
            Ok(())
        });
    }
    cmd
}

#[test]
fn the_data_directory_and_the_database_are_private_whatever_the_umask() {
    let invhost = Invhost::new();
    let data = invhost.data_dir();
    let db = data.join("invhost.db");
    let output = open_umask(&invhost, &["repository", "add", "Lab"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(mode(&data), 0o700, "the data directory");
    assert_eq!(mode(&db), 0o600, "the database");

    // While a host runs, SQLite keeps its -wal and -shm files: private too.
    let mut serve = open_umask(&invhost, &["serve", "--listen", "off"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (wal, shm) = (data.join("invhost.db-wal"), data.join("invhost.db-shm"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(wal.exists() && shm.exists()) {
        assert!(Instant::now() < deadline, "no -wal and -shm files");
        std::thread::sleep(Duration::from_millis(50));
    }
    let modes = (mode(&wal), mode(&shm));
    let _ = serve.kill();
    let _ = serve.wait();
    assert_eq!(modes, (0o600, 0o600), "the -wal and -shm files");

    // A database other users may read is refused, with the command to run.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, _, stderr) = invhost.run(&["repository", "list"]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("other users may read the inventory in it (mode 644)")
            && stderr.contains(&format!("chmod 600 {}", db.display())),
        "{stderr}"
    );
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (code, _, stderr) = invhost.run(&["repository", "list"]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn names_hold_no_control_characters_and_ignore_case() {
    let db = crate::store::support::TestDb::sqlite();
    let s = crate::cli::workflow::Setup::new(&db);
    let folder = format!("folder={}", s.folder().display());
    let add = |name: &str| {
        s.invhost.run(&[
            "connector",
            "add",
            "--type",
            "csv-inventory",
            "--name",
            name,
            "--param",
            &folder,
        ])
    };
    for bad in ["Con\ttoso", "Con\ntoso", "Con\u{1b}[2Jtoso"] {
        let (code, stdout, stderr) = add(bad);
        assert_ne!(code, 0, "{bad:?} was accepted: {stdout}");
        assert!(stderr.contains("control characters"), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    }
    s.add_csv("Contoso");
    let (code, _, stderr) = add("contoso");
    assert_ne!(code, 0);
    assert!(stderr.contains("already exists"), "{stderr}");
    // The name is found whatever its case.
    let shown = s.json(&["connector", "show", "CONTOSO"]);
    assert_eq!(shown["name"], "Contoso", "{shown}");
    let (code, _, stderr) = s.invhost.run(&["repository", "add", "Lab\tB"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("control characters"), "{stderr}");
}

#[test]
fn a_read_only_copy_can_be_read_and_says_why_it_cannot_be_written() {
    let db = crate::store::support::TestDb::sqlite();
    let s = crate::cli::workflow::Setup::new(&db);
    s.add_csv("Csv");
    s.ok(&[
        "execute",
        "--repository",
        "Default Inventory",
        "--action",
        "Sync Data - Csv",
    ]);
    let devices = s.count("devices");
    assert!(devices > 0);
    // The auditors' copy: the same file, opened read-only.
    let mut auditor = crate::cli::workflow::Setup::new(&db);
    auditor.invhost.database = Some(format!(
        "{}{}mode=ro",
        db.url.split("?mode").next().unwrap(),
        "?"
    ));
    for args in [
        &["repository", "list"][..],
        &["connector", "list"],
        &["process-log"],
        &["inventory", "devices"],
    ] {
        auditor.ok(args);
    }
    assert_eq!(auditor.count("devices"), devices);
    for args in [
        &["repository", "add", "Audit"][..],
        &[
            "execute",
            "--repository",
            "Default Inventory",
            "--action",
            "Sync Data - Csv",
        ],
    ] {
        let (code, _, stderr) = auditor.invhost.run(args);
        assert_ne!(code, 0, "{args:?}");
        assert!(
            stderr.contains("the repository database is read-only"),
            "{args:?}: {stderr}"
        );
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    }
}

#[test]
fn a_connector_is_checked_when_it_is_added_not_only_when_tested() {
    let invhost = Invhost::new();
    let add = |extra: &[&str]| {
        let mut args = vec![
            "connector",
            "add",
            "--type",
            "o365",
            "--name",
            "Contoso",
            "--param",
            "client_id=8c3f1f0e-7d0e-4a41-9d3c-1b2a3c4d5e6f",
            "--secret",
            "client_secret=env:NOT_USED",
        ];
        args.extend_from_slice(extra);
        let mut cmd = invhost.cmd();
        let output = cmd.args(&args).env("NOT_USED", "x").output().unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let tenant = "tenant_id=contoso.onmicrosoft.com";
    for (extra, expected) in [
        (
            &["--param", "tenant_id=../../x?y#z"][..],
            "tenant's GUID or one of its domain names",
        ),
        (
            &["--param", tenant, "--param", "cloud_instance=Narnia"],
            "AzureUsGovernment",
        ),
        (
            &["--param", tenant, "--param", "streams="],
            "choose at least one",
        ),
    ] {
        let (code, stderr) = add(extra);
        assert_ne!(code, 0, "{extra:?} was accepted");
        assert!(stderr.contains(expected), "{extra:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    }
    let (code, _, stdout) = invhost.run(&["connector", "list", "--json"]);
    assert_eq!(code, 0);
    assert!(!stdout.contains("Contoso"), "a refused connector was kept");

    // A national cloud's sign-in URL is not taken for its Graph: Test says so.
    let (code, stderr) = add(&[
        "--param",
        tenant,
        "--param",
        "cloud_instance=https://login.microsoftonline.us",
    ]);
    assert_eq!(code, 0, "{stderr}");
    // Edit checks what add checks, and keeps the connector as it was.
    for (param, expected) in [
        (
            "tenant_id=../../x?y#z",
            "tenant's GUID or one of its domain names",
        ),
        ("cloud_instance=Narnia", "AzureUsGovernment"),
        ("streams=", "choose at least one"),
    ] {
        let (code, _, stderr) = invhost.run(&["connector", "edit", "Contoso", "--param", param]);
        assert_ne!(code, 0, "{param} was accepted by edit");
        assert!(stderr.contains(expected), "{param}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    }
    let (_, stdout, _) = invhost.run(&["connector", "show", "Contoso", "--json"]);
    assert!(stdout.contains("contoso.onmicrosoft.com"), "{stdout}");
    let (code, stdout, stderr) = invhost.run(&["connector", "test", "Contoso"]);
    assert_ne!(code, 0);
    assert!(
        format!("{stdout}{stderr}").contains("use AzureUsGovernment"),
        "{stdout}{stderr}"
    );
}

#[test]
fn run_consolidation_on_a_second_connector_warns_naming_the_first() {
    let invhost = Invhost::new();
    let folder = crate::support::repo_root()
        .join("plugins/csv-inventory/examples/sample")
        .display()
        .to_string();
    let plugins = crate::support::PluginDir::new();
    plugins.install(
        &crate::support::built_library("csv-inventory"),
        "libcsv_inventory.so",
    );
    let dir = plugins.path().to_str().unwrap().to_owned();
    let add = |name: &str, extra: &[&str]| {
        let param = format!("folder={folder}");
        let mut args = vec![
            "--plugin-dir",
            &dir,
            "connector",
            "add",
            "--type",
            "csv-inventory",
            "--name",
            name,
            "--param",
            &param,
        ];
        args.extend_from_slice(extra);
        invhost.run(&args)
    };
    let (code, _, stderr) = add("First", &["--run-consolidation"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("warning"), "the first alone: {stderr}");
    let (code, _, stderr) = add("Second", &["--run-consolidation"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("warning: 'First' also run(s) consolidation after its sync"),
        "{stderr}"
    );
    let (code, _, stderr) = invhost.run(&[
        "--plugin-dir",
        &dir,
        "connector",
        "edit",
        "First",
        "--run-consolidation",
        "true",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("'Second' also run(s)"), "{stderr}");
    // Without it, no warning.
    let (code, _, stderr) = add("Third", &[]);
    assert_eq!(code, 0);
    assert!(!stderr.contains("warning"), "{stderr}");
}
