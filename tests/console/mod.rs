//! The operator console in a real headless Chromium (Debian's `chromium`
//! and `chromium-driver`, driven over WebDriver): sign in, test and execute
//! a connector of the simulator tenant, watch it finish in the live process
//! log, find Microsoft 365 Apps in product usage and download it as CSV; a
//! viewer is not offered Execute and a forged POST is refused.
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
    let sim =
        connector_o365::simulator::Simulator::start(connector_o365::simulator::SimulatorConfig {
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
