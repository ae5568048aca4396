//! A connector secret never shows: not in stdout, stderr (the log), the
//! process log, `--json` output or the database, across the whole workflow
//! including its failures.

use crate::store::support::{TestDb, on_both_backends};
use crate::support::Invhost;

const SECRET: &str = "Xq7~vErY-s3cret.Value_4Graph";

on_both_backends!(
    a_secret_never_leaks,
    a_lost_key_is_never_replaced_behind_the_operators_back
);

async fn a_secret_never_leaks(db: &TestDb) {
    let mut invhost = Invhost::new();
    invhost.database = Some(db.url.clone());
    invhost.env.push(("O365_SECRET".into(), SECRET.into()));
    invhost.env.push(("INVHOST_LOG".into(), "trace".into()));
    // Nothing listens at the cloud instance below: keep the sign-in retries short.
    invhost
        .env
        .push(("INVHOST_O365_BACKOFF_MS".into(), "5".into()));
    let secret_file = invhost.home.path().join("secret.txt");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    let from_file = format!("client_secret=file:{}", secret_file.display());

    let mut transcript = String::new();
    let mut run = |args: &[&str], expect: i32| {
        let (code, stdout, stderr) = invhost.run(args);
        assert_eq!(code, expect, "{args:?}:\n{stdout}\n{stderr}");
        transcript.push_str(&stdout);
        transcript.push_str(&stderr);
    };
    let add = [
        "connector",
        "add",
        "--type",
        "o365",
        "--name",
        "Contoso",
        "--param",
        "tenant_id=contoso.onmicrosoft.com",
        "--param",
        "client_id=8c3f1f0e-7d0e-4a41-9d3c-1b2a3c4d5e6f",
        "--param",
        "cloud_instance=http://127.0.0.1:9",
        "--secret",
        "client_secret=env:O365_SECRET",
    ];
    run(&add, 0);
    for args in [
        &["connector", "list"][..],
        &["connector", "list", "--json"],
        &["connector", "show", "Contoso"],
        &["connector", "show", "Contoso", "--json"],
        &["action", "list", "--json"],
    ] {
        run(args, 0);
    }
    // Test and sync fail (nothing answers at the cloud instance): failures must not leak either.
    run(&["connector", "test", "Contoso"], 1);
    run(&["connector", "test", "Contoso", "--json"], 1);
    run(
        &[
            "execute",
            "--repository",
            "Default Inventory",
            "--action",
            "Sync Data - Contoso",
        ],
        1,
    );
    run(
        &[
            "execute",
            "--repository",
            "Default Inventory",
            "--action",
            "Sync Data - Contoso",
            "--json",
        ],
        1,
    );
    run(&["connector", "edit", "Contoso", "--secret", &from_file], 0);
    run(&["process-log"], 0);
    run(&["process-log", "--json"], 0);
    // A secret typed as a plain parameter is refused, and the refusal does not echo it.
    let plain = format!("client_secret={SECRET}");
    let (code, stdout, stderr) = invhost.run(&["connector", "edit", "Contoso", "--param", &plain]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("client_secret is a secret: pass it with --secret client_secret=env:VAR"),
        "{stderr}"
    );
    assert!(
        !stdout.contains(SECRET) && !stderr.contains(SECRET),
        "the refusal echoes the secret: {stderr}"
    );

    assert!(
        transcript.contains("Sync Data - Contoso") && transcript.contains("Process started."),
        "the transcript is real: {transcript}"
    );
    assert!(
        transcript.contains("\"client_secret\": \"(set)\""),
        "show says the secret is set"
    );
    assert!(
        !transcript.contains(SECRET),
        "the secret leaked:\n{transcript}"
    );

    // The stored bytes: the key file is private, the database holds ciphertext only.
    let key = invhost.data_dir().join("secret.key");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    if db.label == "sqlite" {
        for entry in std::fs::read_dir(db.dir.path()).unwrap() {
            // The -wal and -shm files may vanish as the pool closes.
            let Ok(bytes) = std::fs::read(entry.unwrap().path()) else {
                continue;
            };
            assert!(
                !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
                "plaintext in a database file"
            );
        }
    } else {
        let store = db.store().await;
        let row = store.connector("Contoso").await.unwrap();
        assert!(!row.secrets.contains(SECRET) && !row.parameters.contains(SECRET));
        let processes = store.processes(&Default::default()).await.unwrap();
        assert!(
            processes
                .iter()
                .all(|p| !p.message.as_deref().unwrap_or_default().contains(SECRET))
        );
    }
}

/// A successful sync against the simulator, logged at trace level: neither
/// the client secret nor an access token shows anywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_sync_leaks_neither_secret_nor_token() {
    let sim = graph_simulator::Simulator::start(Default::default())
        .await
        .unwrap();
    let secret = sim.client_secret();
    let mut invhost = Invhost::new();
    invhost.env.push(("GRAPH_SECRET".into(), secret.clone()));
    invhost.env.push(("INVHOST_LOG".into(), "trace".into()));
    let invhost = std::sync::Arc::new(invhost);
    let (base, tenant, client) = (sim.base_url(), sim.tenant_id(), sim.client_id());
    let transcript = tokio::task::spawn_blocking(move || {
        let mut transcript = String::new();
        let cloud = format!("cloud_instance={base}");
        let tenant = format!("tenant_id={tenant}");
        let client = format!("client_id={client}");
        let runs: [&[&str]; 4] = [
            &[
                "connector",
                "add",
                "--type",
                "o365",
                "--name",
                "Sim",
                "--param",
                &cloud,
                "--param",
                &tenant,
                "--param",
                &client,
                "--secret",
                "client_secret=env:GRAPH_SECRET",
            ],
            &["connector", "test", "Sim", "--json"],
            &[
                "execute",
                "--repository",
                "Default Inventory",
                "--action",
                "Sync Data - Sim",
                "--json",
            ],
            &["process-log", "--json"],
        ];
        for args in runs {
            let (code, stdout, stderr) = invhost.run(args);
            assert_eq!(code, 0, "{args:?}: {stdout}\n{stderr}");
            transcript.push_str(&stdout);
            transcript.push_str(&stderr);
        }
        transcript
    })
    .await
    .unwrap();
    assert!(
        transcript.contains("\"status\": \"succeeded\""),
        "{transcript}"
    );
    assert!(!transcript.contains(&secret), "the client secret leaked");
    assert!(!transcript.contains("eyJ"), "an access token leaked");
    assert!(
        !transcript.to_ascii_lowercase().contains("bearer "),
        "an Authorization header leaked"
    );
}

async fn a_lost_key_is_never_replaced_behind_the_operators_back(db: &TestDb) {
    let mut invhost = Invhost::new();
    invhost.database = Some(db.url.clone());
    invhost.env.push(("O365_SECRET".into(), SECRET.into()));
    let run = |invhost: &Invhost, args: &[&str]| {
        let (code, stdout, stderr) = invhost.run(args);
        (code, format!("{stdout}{stderr}"))
    };
    let ok = |invhost: &Invhost, args: &[&str]| {
        let (code, out) = run(invhost, args);
        assert_eq!(code, 0, "{args:?}: {out}");
        out
    };
    let add = |invhost: &Invhost, name: &str| {
        run(
            invhost,
            &[
                "connector",
                "add",
                "--type",
                "o365",
                "--name",
                name,
                "--param",
                "tenant_id=contoso.onmicrosoft.com",
                "--param",
                "client_id=8c3f1f0e-7d0e-4a41-9d3c-1b2a3c4d5e6f",
                "--secret",
                "client_secret=env:O365_SECRET",
            ],
        )
    };
    let shown = |invhost: &Invhost, name: &str| -> serde_json::Value {
        serde_json::from_str(&ok(invhost, &["connector", "show", name, "--json"])).unwrap()
    };
    // The first secret creates the key in the data directory.
    assert_eq!(add(&invhost, "A").0, 0);
    assert_eq!(add(&invhost, "B").0, 0);
    let key = invhost.data_dir().join("secret.key");
    let backup = invhost.home.path().join("secret.key.backup");
    std::fs::copy(&key, &backup).unwrap();
    std::fs::remove_file(&key).unwrap();

    // Lost: listing still works and creates nothing; what needs the key
    // says what to do; nothing quietly writes a new key.
    let listed = ok(&invhost, &["connector", "list", "--json"]);
    assert!(
        listed.contains("(set, cannot be decrypted with this key)"),
        "{listed}"
    );
    let (code, out) = run(&invhost, &["connector", "test", "A"]);
    assert_ne!(code, 0);
    assert!(
        out.contains("secret key file")
            && out.contains("is missing")
            && out.contains("secrets new-key"),
        "{out}"
    );
    let (code, out) = add(&invhost, "C");
    assert_ne!(code, 0, "{out}");
    assert!(!key.exists(), "a key was created while secrets exist");

    // A mistyped key file path creates neither a folder nor a key.
    let mut typo = Invhost {
        home: tempfile::tempdir().unwrap(),
        database: invhost.database.clone(),
        plugin_dir: None,
        env: invhost.env.clone(),
    };
    let wrong = invhost.home.path().join("no-such-dir/secret.kee");
    typo.env.push((
        "INVHOST_SECRET_KEY_FILE".into(),
        wrong.display().to_string(),
    ));
    let (code, out) = run(&typo, &["connector", "test", "A"]);
    assert_ne!(code, 0);
    assert!(out.contains("there is no secret key file at"), "{out}");
    assert!(!wrong.parent().unwrap().exists(), "a folder was created");

    // A new key, on purpose: plain parameters can change, a secret given
    // again replaces the undecryptable one.
    let started = ok(&invhost, &["secrets", "new-key"]);
    assert!(
        started.contains("Connector 'A'") && started.contains("Connector 'B'"),
        "{started}"
    );
    let (code, out) = run(&invhost, &["secrets", "new-key"]);
    assert_ne!(code, 0, "a second new-key replaced the key: {out}");
    ok(
        &invhost,
        &["connector", "edit", "A", "--param", "report_period=D90"],
    );
    assert_eq!(shown(&invhost, "A")["parameters"]["report_period"], "D90");
    assert_eq!(
        shown(&invhost, "A")["parameters"]["client_secret"],
        "(set, cannot be decrypted with this key)"
    );
    ok(
        &invhost,
        &[
            "connector",
            "edit",
            "A",
            "--secret",
            "client_secret=env:O365_SECRET",
        ],
    );
    assert_eq!(shown(&invhost, "A")["parameters"]["client_secret"], "(set)");

    // The old key turns up: rekey moves B's secrets under the new key.
    let backup_arg = backup.display().to_string();
    let rekeyed: serde_json::Value = serde_json::from_str(&ok(
        &invhost,
        &["secrets", "rekey", "--old-key-file", &backup_arg, "--json"],
    ))
    .unwrap();
    assert_eq!(rekeyed["rekeyed"], serde_json::json!(["B"]), "{rekeyed}");
    assert_eq!(rekeyed["already"], serde_json::json!(["A"]), "{rekeyed}");
    assert_eq!(shown(&invhost, "B")["parameters"]["client_secret"], "(set)");
    let all = ok(&invhost, &["connector", "list", "--json"]);
    assert!(!all.contains("cannot be decrypted"), "{all}");
    assert!(!all.contains(SECRET));
}
