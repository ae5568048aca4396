//! The operator console in a real headless Chromium (Debian's `chromium`
//! and `chromium-driver`, driven over WebDriver): sign in, test and execute
//! a connector of the simulator tenant, watch it finish in the live process
//! log, find Microsoft 365 Apps in product usage and download it as CSV; a
//! viewer is not offered Execute and a forged POST is refused. A second
//! session follows the links between the inventory's names and their
//! explanations, filters the process log, watches a held sync's elapsed
//! time tick, keeps schedules with the cron preview, and works from the
//! keyboard.
//!
//! `INVHOST_SCREENSHOTS=1 cargo nextest run -p tests console::` also saves
//! the main pages under `docs/screenshots/`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::api::{Served, account};
use crate::cli::workflow::Setup;
use crate::store::support::TestDb;
use crate::support::repo_root;

/// A headless Chromium behind its own chromedriver, gone when dropped.
struct Browser {
    driver: Child,
    client: Option<Client>,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver runs (Debian's chromium-driver; .ci/run installs it)");
        let profile = tempfile::tempdir().unwrap();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1366,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => break client,
                Err(e) => {
                    assert!(Instant::now() < deadline, "no browser session: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        };
        Browser {
            driver,
            client: Some(client),
            _profile: profile,
        }
    }

    fn client(&self) -> &Client {
        self.client.as_ref().unwrap()
    }

    /// Waits until `css` matches an element whose text contains `text`.
    async fn wait_text(&self, css: &str, text: &str) -> fantoccini::elements::Element {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            for element in self.client().find_all(Locator::Css(css)).await.unwrap() {
                if element.text().await.unwrap_or_default().contains(text) {
                    return element;
                }
            }
            if Instant::now() > deadline {
                let page = self.client().source().await.unwrap_or_default();
                panic!("no '{css}' with '{text}' in:\n{page}");
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    async fn wait_path(&self, path: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.client().current_url().await.unwrap().path() != path {
            if Instant::now() > deadline {
                let notices: Vec<String> = {
                    let mut all = Vec::new();
                    for n in self
                        .client()
                        .find_all(Locator::Css(".notice"))
                        .await
                        .unwrap()
                    {
                        all.push(n.text().await.unwrap_or_default());
                    }
                    all
                };
                panic!("never reached {path}; notices: {notices:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn sign_in(&self, base: &str, name: &str) {
        let c = self.client();
        c.goto(&format!("{base}/console/connectors")).await.unwrap();
        self.wait_path("/console/sign-in").await;
        c.find(Locator::Css("#name"))
            .await
            .unwrap()
            .send_keys(name)
            .await
            .unwrap();
        c.find(Locator::Css("#password"))
            .await
            .unwrap()
            .send_keys(crate::api::PASSWORD)
            .await
            .unwrap();
        self.click("form[data-action=sign-in] button").await;
        self.wait_path("/console/connectors").await;
    }

    /// Clicks the element `css` finds.
    async fn click(&self, css: &str) {
        self.client()
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no '{css}': {e}"))
            .click()
            .await
            .unwrap();
    }

    /// The text of the first element `css` finds.
    async fn text(&self, css: &str) -> String {
        self.client()
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no '{css}': {e}"))
            .text()
            .await
            .unwrap()
    }

    /// Opens `path` under `base` and waits until the browser is there.
    async fn open(&self, base: &str, path: &str) {
        self.client().goto(&format!("{base}{path}")).await.unwrap();
        let bare = path.split(['?', '#']).next().unwrap();
        self.wait_path(bare).await;
    }

    /// Presses one key, as a keyboard would.
    async fn press(&self, key: fantoccini::key::Key) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let value: char = key.into();
        self.client()
            .perform_actions(
                KeyActions::new("keyboard".into())
                    .then(KeyAction::Down { value })
                    .then(KeyAction::Up { value }),
            )
            .await
            .unwrap();
    }

    async fn screenshot(&self, name: &str) {
        if std::env::var_os("INVHOST_SCREENSHOTS").is_none() {
            return;
        }
        let png = self.client().screenshot().await.unwrap();
        let dir = repo_root().join("docs/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_runs_a_sync_from_the_console_and_a_viewer_cannot() {
    let sim = graph_simulator::Simulator::start(graph_simulator::SimulatorConfig {
        users: 12,
        devices: 8,
        ..Default::default()
    })
    .await
    .unwrap();
    let db = TestDb::sqlite();
    let s = Setup::new(&db);
    account(&s, "ada", "admin");
    account(&s, "vera", "viewer");
    let served = Served::start(&s, &[], "http");
    let base = served.base.clone();

    // Every console page forbids scripts and styles from anywhere else.
    let page = reqwest::get(format!("{base}/console/sign-in"))
        .await
        .unwrap();
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        policy.contains("script-src 'self'") && policy.contains("default-src 'none'"),
        "{policy}"
    );
    assert!(
        !page.text().await.unwrap().contains("<script>"),
        "no inline script"
    );

    let browser = Browser::start().await;
    let c = browser.client();
    browser.sign_in(&base, "ada").await;
    browser.wait_text("header .who", "ada (admin)").await;

    // Add the simulator's tenant through the form the o365 schema generates.
    c.find(Locator::LinkText("Add connector"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_path("/console/connectors/new").await;
    browser.click("select#type option[value=o365]").await;
    browser.click("form.card button").await;
    browser
        .wait_text("form[data-action=connector-add]", "Microsoft 365")
        .await;
    let fill = |id: &'static str, text: String| async move {
        let input = c.find(Locator::Id(id)).await.unwrap();
        input.clear().await.unwrap();
        input.send_keys(&text).await.unwrap();
    };
    fill("connector-name", "Contoso".into()).await;
    fill("param-tenant_id", sim.tenant_id()).await;
    fill("param-client_id", sim.client_id()).await;
    fill("param-client_secret", sim.client_secret()).await;
    fill("param-cloud_instance", sim.base_url()).await;
    let secret_input = c.find(Locator::Id("param-client_secret")).await.unwrap();
    assert_eq!(
        secret_input.attr("type").await.unwrap().as_deref(),
        Some("password")
    );
    c.find(Locator::Id("run-consolidation"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.screenshot("add-connector").await;
    browser
        .click("form[data-action=connector-add] button[type=submit]")
        .await;
    browser.wait_path("/console/connectors").await;
    browser
        .wait_text("tr[data-connector=Contoso]", "o365")
        .await;
    // Editing shows no secret, and saving without one keeps it.
    c.find(Locator::LinkText("Edit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait_text("form[data-action=connector-edit]", "Microsoft 365")
        .await;
    let secret = c.find(Locator::Id("param-client_secret")).await.unwrap();
    assert_eq!(secret.prop("value").await.unwrap().as_deref(), Some(""));
    assert_eq!(
        secret.attr("placeholder").await.unwrap().as_deref(),
        Some("leave empty to keep")
    );
    assert!(!c.source().await.unwrap().contains(&sim.client_secret()));
    browser
        .click("form[data-action=connector-edit] button[type=submit]")
        .await;
    browser.wait_path("/console/connectors").await;
    browser.screenshot("connectors").await;

    // Test, then execute the Microsoft 365 connector.
    let row = browser
        .wait_text("tr[data-connector=Contoso]", "Contoso")
        .await;
    row.find(Locator::Css("form[data-action=test] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait_text("tr[data-connector=Contoso] .notice", "Test passed")
        .await;
    let row = browser
        .wait_text("tr[data-connector=Contoso]", "Contoso")
        .await;
    row.find(Locator::Css("form[data-action=execute] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_path("/console/processes").await;

    // The log shows the sync and the consolidation it queued finish, live.
    browser
        .wait_text(
            "table[data-live-log] tbody tr",
            "Generate Report - Basic Inventory Consolidation",
        )
        .await;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let rows = c
            .find_all(Locator::Css("table[data-live-log] tbody tr"))
            .await
            .unwrap();
        let mut succeeded = 0;
        for row in &rows {
            let text = row.text().await.unwrap_or_default();
            if text.contains("succeeded")
                && (text.contains("Sync Data - Contoso") || text.contains("Generate Report"))
            {
                succeeded += 1;
            }
        }
        if succeeded == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the sync and its consolidation never both succeeded"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    browser.screenshot("process-log").await;

    // Product usage: Microsoft 365 Apps, and the same as CSV.
    c.goto(&format!("{base}/console/product-usage"))
        .await
        .unwrap();
    browser
        .wait_text("table tbody tr", "Microsoft 365 Apps")
        .await;
    browser.screenshot("product-usage").await;
    let csv = c
        .find(Locator::LinkText("Download CSV"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let session = c.get_named_cookie("invhost_session").await.unwrap();
    let download = reqwest::Client::new()
        .get(format!("{base}{csv}"))
        .header("cookie", format!("invhost_session={}", session.value()))
        .send()
        .await
        .unwrap();
    assert_eq!(download.status().as_u16(), 200);
    assert!(
        download
            .text()
            .await
            .unwrap()
            .contains("Microsoft 365 Apps")
    );

    // The connectors page shows the last sync; an unknown connector is named.
    c.goto(&format!("{base}/console/connectors")).await.unwrap();
    browser
        .wait_text("tr[data-connector=Contoso]", "succeeded")
        .await;
    c.goto(&format!("{base}/console/connectors/Nobody/edit"))
        .await
        .unwrap();
    browser
        .wait_text("main .notice", "no connector named 'Nobody'")
        .await;

    // Licences and reclaim, from the same consolidation.
    c.goto(&format!("{base}/console/licences")).await.unwrap();
    browser
        .wait_text("main p", "rows in 'Default Inventory'")
        .await;
    assert!(
        !c.find_all(Locator::Css("main table tbody tr"))
            .await
            .unwrap()
            .is_empty()
    );
    c.goto(&format!("{base}/console/reclaim")).await.unwrap();
    browser.wait_text("main p", "can be reclaimed").await;

    // A schedule, shown with its next due times, run from the console.
    s.ok(&[
        "schedule",
        "add",
        "nightly",
        "--cron",
        "0 2 * * *",
        "--repository",
        "Default Inventory",
        "--action",
        "Generate Report - Basic Inventory Consolidation",
    ]);
    c.goto(&format!("{base}/console/schedules")).await.unwrap();
    let row = browser
        .wait_text("tr[data-schedule=nightly]", "02:00:00 UTC")
        .await;
    assert_eq!(
        row.find_all(Locator::Css("ul.checks li"))
            .await
            .unwrap()
            .len(),
        5
    );
    browser.screenshot("schedules").await;
    row.find(Locator::Css("form[data-action=schedule-run] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_path("/console/processes").await;
    browser
        .wait_text("table[data-live-log] tbody tr", "schedule nightly")
        .await;

    // The raw views: paged on the server, sorted by a click, searched.
    c.goto(&format!("{base}/console/inventory/devices"))
        .await
        .unwrap();
    browser
        .wait_text("main p", "rows in 'Default Inventory'")
        .await;
    let rows = c
        .find_all(Locator::Css("main table tbody tr"))
        .await
        .unwrap();
    assert!(!rows.is_empty() && rows.len() <= 50, "{} rows", rows.len());
    browser.click("th a[href*='sort=name']").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !c
        .current_url()
        .await
        .unwrap()
        .as_str()
        .contains("sort=name")
    {
        assert!(Instant::now() < deadline, "sorting did not reload the page");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let first = c
        .find(Locator::Css("main table tbody tr td"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let search = c.find(Locator::Css("input[name=q]")).await.unwrap();
    search.send_keys(&first).await.unwrap();
    browser.click("main form button[type=submit]").await;
    browser.wait_text("main table tbody tr", &first).await;
    browser.screenshot("inventory").await;

    // Sign out; a viewer is not offered Execute, and a forged POST fails.
    browser.click("form[data-action=sign-out] button").await;
    browser.wait_path("/console/sign-in").await;
    browser.sign_in(&base, "vera").await;
    browser
        .wait_text("tr[data-connector=Contoso]", "Contoso")
        .await;
    let execute = c
        .find_all(Locator::Css("form[data-action=execute]"))
        .await
        .unwrap();
    assert!(execute.is_empty(), "a viewer is offered Execute");
    let forged = c
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               const body = JSON.stringify({repository: "Default Inventory", action: "Sync Data - Contoso"});
               const post = (headers) => fetch("/api/v1/execute", {method: "POST", credentials: "same-origin",
                   headers: Object.assign({"Content-Type": "application/json"}, headers), body}).then(r => r.status);
               Promise.all([post({}), post({"X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content})])
                 .then(done);"#,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        forged,
        json!([403, 403]),
        "without the CSRF token, then as a viewer"
    );
    browser.screenshot("viewer-connectors").await;

    let mut browser = browser;
    if let Some(client) = browser.client.take() {
        let _ = client.close().await;
    }
    let (code, _) = served.stop();
    assert_eq!(code, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_follows_names_filters_the_log_and_keeps_schedules() {
    use crate::cli::consolidation::{add_contoso, setup_for};
    use fantoccini::key::Key;

    let sim = graph_simulator::Simulator::start(graph_simulator::SimulatorConfig {
        users: 12,
        devices: 8,
        ..Default::default()
    })
    .await
    .unwrap();
    // A second tenant whose usage reports wait at a gate: its sync stays
    // running for as long as the test needs.
    let gate = graph_simulator::Gate::new();
    let slow = graph_simulator::Simulator::start(graph_simulator::SimulatorConfig {
        users: 4,
        devices: 2,
        faults: graph_simulator::Faults {
            hold_reports: Some(gate.clone()),
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .unwrap();
    let db = TestDb::sqlite();
    let (mut s, t) = setup_for(&db, &sim);
    s.invhost
        .env
        .push(("SLOW_SECRET".into(), slow.client_secret()));
    let (slow_cloud, slow_tenant, slow_client) = (
        format!("cloud_instance={}", slow.base_url()),
        format!("tenant_id={}", slow.tenant_id()),
        format!("client_id={}", slow.client_id()),
    );
    let s = tokio::task::spawn_blocking(move || {
        add_contoso(&s, &t, &["--run-consolidation"]);
        s.ok(&[
            "connector",
            "add",
            "--type",
            "o365",
            "--name",
            "Slow",
            "--param",
            &slow_cloud,
            "--param",
            &slow_tenant,
            "--param",
            &slow_client,
            "--secret",
            "client_secret=env:SLOW_SECRET",
        ]);
        s.ok(&["repository", "add", "Lab"]);
        s.ok(&[
            "execute",
            "--repository",
            "Default Inventory",
            "--action",
            "Sync Data - Contoso",
        ]);
        account(&s, "ada", "admin");
        s
    })
    .await
    .unwrap();
    let served = Served::start(&s, &[], "http");
    let base = served.base.clone();
    let browser = Browser::start().await;
    let c = browser.client();
    browser.sign_in(&base, "ada").await;

    // The keyboard: the first Tab reaches "Skip to content", Enter moves
    // the focus to the page's content.
    browser.press(Key::Tab).await;
    let focused = c.active_element().await.unwrap();
    assert_eq!(focused.text().await.unwrap(), "Skip to content");
    browser.press(Key::Enter).await;
    let focused = c.active_element().await.unwrap();
    assert_eq!(focused.attr("id").await.unwrap().as_deref(), Some("main"));

    // Installations show device and application names, not source keys;
    // a device's name leads to its explanation.
    browser
        .open(&base, "/console/inventory/installations")
        .await;
    let headers = browser.text("main table thead").await.to_lowercase();
    for column in ["device", "application", "publisher", "version"] {
        assert!(headers.contains(column), "{headers}");
    }
    assert!(!headers.contains("key"), "{headers}");
    let device = browser
        .text("main table tbody tr td a[href*='/explain/device/']")
        .await;
    assert!(!device.is_empty());
    let devices = s.json(&["inventory", "devices", "--limit", "1000"]);
    assert!(
        devices
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == device.as_str()),
        "'{device}' is not a device name"
    );
    // Searching finds installations by the device's name.
    let search = c.find(Locator::Css("input[name=q]")).await.unwrap();
    search.send_keys(&device).await.unwrap();
    search
        .send_keys(&char::from(Key::Enter).to_string())
        .await
        .unwrap();
    browser.wait_text("main p", "rows in").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !c.current_url().await.unwrap().as_str().contains("q=") {
        assert!(Instant::now() < deadline, "Enter did not search");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for row in c
        .find_all(Locator::Css("main table tbody tr"))
        .await
        .unwrap()
    {
        assert!(row.text().await.unwrap().contains(&device));
    }
    browser.screenshot("installations").await;
    // An application's name leads to the product it was consolidated into.
    browser
        .click("main table tbody tr td a[href*='/explain/application']")
        .await;
    browser
        .wait_text("main h2", "Installations by category and reason")
        .await;
    c.back().await.unwrap();
    browser.wait_path("/console/inventory/installations").await;
    // Every column sorts, the connector's name too.
    browser.click("th a[href*='sort=connector']").await;
    browser
        .wait_text("main p", "rows in 'Default Inventory'")
        .await;
    assert!(
        c.current_url()
            .await
            .unwrap()
            .as_str()
            .contains("sort=connector")
    );
    browser
        .click("main table tbody tr td a[href*='/explain/device/']")
        .await;
    browser
        .wait_text("main h1", &format!("Device {device}"))
        .await;
    browser.wait_text("main h2", "Source records").await;
    browser.wait_text("main h2", "Installed products").await;
    // ... and a product there to its categories with their reasons, and
    // back to a device.
    browser
        .click("main table tbody tr td a[href*='/explain/product/']")
        .await;
    browser
        .wait_text("main h2", "Installations by category and reason")
        .await;
    let reasons = browser.text("main table:nth-of-type(2) tbody").await;
    assert!(!reasons.is_empty(), "no reasons");
    browser.screenshot("explain-product").await;
    browser
        .click("main table tbody tr td a[href*='/explain/device/']")
        .await;
    browser.wait_text("main h1", "Device ").await;

    // Product usage leads to the same explanation.
    browser.open(&base, "/console/product-usage").await;
    c.find(Locator::LinkText("Microsoft 365 Apps"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_text("main h1", "Microsoft 365 Apps").await;
    browser
        .wait_text("main h2", "Installations by category and reason")
        .await;

    // A repository with nothing in it is one choice away.
    browser.open(&base, "/console/inventory/devices").await;
    browser.click("form.picker select option[value=Lab]").await;
    browser.click("form.picker button").await;
    browser.wait_text("main p", "0 rows in 'Lab'").await;

    // A sync held in flight: the log filtered to running processes shows
    // it, its elapsed time ticking; filtered to the other connector, not.
    browser.open(&base, "/console/connectors").await;
    let row = browser.wait_text("tr[data-connector=Slow]", "Slow").await;
    row.find(Locator::Css("form[data-action=execute] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_path("/console/processes").await;
    browser
        .open(&base, "/console/processes?status=running&connector=Slow")
        .await;
    let running = browser
        .wait_text("table[data-live-log] tbody tr", "Sync Data - Slow")
        .await;
    let elapsed = |row: fantoccini::elements::Element| async move {
        row.find(Locator::Css("[data-field=duration]"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let before = elapsed(running.clone()).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let after = elapsed(running.clone()).await;
    assert!(
        after.ends_with(" s") && after != before,
        "{before} then {after}"
    );
    assert_eq!(
        c.find_all(Locator::Css("table[data-live-log] tbody tr"))
            .await
            .unwrap()
            .len(),
        1,
        "only the running sync of Slow"
    );
    browser.screenshot("process-log-running").await;
    browser
        .open(
            &base,
            "/console/processes?connector=Contoso&status=succeeded",
        )
        .await;
    browser
        .wait_text("table[data-live-log] tbody tr", "Sync Data - Contoso")
        .await;
    assert!(!c.source().await.unwrap().contains("Sync Data - Slow"));
    // The consolidation the sync queued is its child.
    browser
        .open(&base, "/console/processes?trigger=after+sync")
        .await;
    let child = browser
        .wait_text("table[data-live-log] tbody tr", "Generate Report")
        .await;
    assert!(child.text().await.unwrap().contains("after "));
    // Letting the held sync go ends it; the running filter's row follows.
    browser
        .open(&base, "/console/processes?status=running")
        .await;
    browser
        .wait_text("table[data-live-log] tbody tr", "Sync Data - Slow")
        .await;
    gate.open();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let log = s.json(&["process-log", "--limit", "1"]);
        if log[0]["status"] == "succeeded" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the held sync never ended: {log}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    browser
        .wait_text("table[data-live-log] tbody tr", "succeeded")
        .await;

    // Schedules: the form previews the next due times as the cron is
    // typed, names a mistake, saves the steps in order; edit and remove.
    browser.open(&base, "/console/schedules").await;
    c.find(Locator::LinkText("Add schedule"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_path("/console/schedules/new").await;
    browser.wait_text("#cron-preview", "02:00:00 UTC").await;
    let name = c.find(Locator::Id("schedule-name")).await.unwrap();
    name.send_keys("weekdays").await.unwrap();
    let cron = c.find(Locator::Id("schedule-cron")).await.unwrap();
    cron.clear().await.unwrap();
    cron.send_keys("30 6 * * 9").await.unwrap();
    browser.wait_text("#cron-preview.bad", "day of week").await;
    cron.clear().await.unwrap();
    cron.send_keys("30 6 * * 1-5").await.unwrap();
    browser.wait_text("#cron-preview", "06:30:00 UTC").await;
    assert_eq!(
        c.find_all(Locator::Css("#cron-preview li"))
            .await
            .unwrap()
            .len(),
        5
    );
    browser
        .click("#step-0 option[value='Sync Data - Contoso']")
        .await;
    browser
        .click("#step-1 option[value='Generate Report - Basic Inventory Consolidation']")
        .await;
    browser.screenshot("schedule-form").await;
    browser
        .click("form[data-action=schedule-add] button[type=submit]")
        .await;
    browser.wait_path("/console/schedules").await;
    let row = browser
        .wait_text("tr[data-schedule=weekdays]", "06:30:00 UTC")
        .await;
    let steps = row.find_all(Locator::Css("ol li")).await.unwrap();
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0].text().await.unwrap(), "Sync Data - Contoso");
    let stored = s.json(&["schedule", "show", "weekdays"]);
    assert_eq!(stored["cron"], "30 6 * * 1-5", "{stored}");
    assert_eq!(
        stored["actions"],
        json!([
            "Sync Data - Contoso",
            "Generate Report - Basic Inventory Consolidation"
        ])
    );

    c.find(Locator::Css("a[aria-label='Edit weekdays']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_path("/console/schedules/weekdays/edit").await;
    browser.wait_text("#cron-preview", "06:30:00 UTC").await;
    let cron = c.find(Locator::Id("schedule-cron")).await.unwrap();
    cron.clear().await.unwrap();
    cron.send_keys("0 3 * * *").await.unwrap();
    browser.wait_text("#cron-preview", "03:00:00 UTC").await;
    browser.click("#step-0 option[value='']").await;
    browser
        .click("form[data-action=schedule-edit] button[type=submit]")
        .await;
    browser.wait_path("/console/schedules").await;
    browser
        .wait_text("tr[data-schedule=weekdays]", "03:00:00 UTC")
        .await;
    let stored = s.json(&["schedule", "show", "weekdays"]);
    assert_eq!(stored["cron"], "0 3 * * *", "{stored}");
    assert_eq!(
        stored["actions"],
        json!(["Generate Report - Basic Inventory Consolidation"]),
        "the emptied first step is left out"
    );

    browser
        .click("tr[data-schedule=weekdays] form[data-action=schedule-remove] button")
        .await;
    assert!(
        c.get_alert_text()
            .await
            .unwrap()
            .contains("Remove the schedule weekdays")
    );
    c.accept_alert().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !c
        .find_all(Locator::Css("tr[data-schedule=weekdays]"))
        .await
        .unwrap()
        .is_empty()
    {
        assert!(Instant::now() < deadline, "the schedule stayed on the page");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let listed = s.json(&["schedule", "list"]);
    assert!(listed.as_array().unwrap().is_empty(), "{listed}");

    let mut browser = browser;
    if let Some(client) = browser.client.take() {
        let _ = client.close().await;
    }
    let (code, _) = served.stop();
    assert_eq!(code, Some(0));
}
