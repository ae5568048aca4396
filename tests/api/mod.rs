//! The HTTP API of `invhost serve`, over real HTTP on loopback: every route
//! for each role, refused credentials, malformed requests, the audit log,
//! the OpenAPI document, TLS and the rules on where it may listen; and no
//! secret in any byte of the exchange.

use std::io::Write;
use std::process::{Child, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::Method;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::cli::workflow::Setup;
use crate::store::support::{TestDb, on_both_backends};

on_both_backends!(
    every_route_answers_each_role_and_never_shows_a_secret,
    browser_sessions_connector_secrets_and_metrics,
);

/// Every route of the API, as the OpenAPI document must list it.
const ROUTES: [&str; 27] = [
    "/healthz",
    "/metrics",
    "/api/v1/session",
    "/api/v1/me",
    "/api/v1/repositories",
    "/api/v1/repositories/{name}/clear",
    "/api/v1/connector-types",
    "/api/v1/connector-types/{type_id}",
    "/api/v1/plugins",
    "/api/v1/explain/{subject}/{id}",
    "/api/v1/connectors",
    "/api/v1/connectors/{name}",
    "/api/v1/connectors/{name}/test",
    "/api/v1/actions",
    "/api/v1/execute",
    "/api/v1/processes",
    "/api/v1/processes/{id}",
    "/api/v1/processes/{id}/cancel",
    "/api/v1/processes/{id}/events",
    "/api/v1/processes/events",
    "/api/v1/schedules",
    "/api/v1/schedules/{name}",
    "/api/v1/schedules/{name}/run",
    "/api/v1/cron/preview",
    "/api/v1/inventory/{view}",
    "/api/v1/audit",
    "/api/v1/openapi.json",
];

const CONNECTOR_SECRET: &str = "Zq8~connector-secret-never-shown";
pub(crate) const PASSWORD: &str = "correct horse battery staple";

/// A running `invhost serve` with its API on a free loopback port.
pub(crate) struct Served {
    child: Option<Child>,
    log: tempfile::NamedTempFile,
    pub base: String,
}

impl Served {
    pub(crate) fn start(s: &Setup, extra: &[&str], scheme: &str) -> Served {
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut args = vec!["serve", "--workers", "2", "--grace", "10"];
        if !extra.contains(&"--listen") {
            args.extend(["--listen", "127.0.0.1:0"]);
        }
        args.extend(extra);
        let child = s
            .invhost
            .cmd()
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap();
        let mut served = Served {
            child: Some(child),
            log,
            base: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = served.log_text();
            if let Some(at) = text.find("API listening.") {
                let line = &text[at..text[at..].find('\n').map_or(text.len(), |n| at + n)];
                let address = line
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("address="))
                    .unwrap();
                let port = address.rsplit(':').next().unwrap();
                served.base = format!("{scheme}://127.0.0.1:{port}");
                return served;
            }
            if let Some(status) = served.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("serve exited ({status}) before listening:\n{text}");
            }
            assert!(Instant::now() < deadline, "the API never listened:\n{text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap()
    }

    /// SIGTERM; the exit code and the log.
    pub(crate) fn stop(mut self) -> (Option<i32>, String) {
        let child = self.child.take().unwrap();
        std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        let output = child.wait_with_output().unwrap();
        (output.status.code(), self.log_text())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs `invhost` with `input` on stdin; expects success; returns stdout.
pub(crate) fn with_stdin(s: &Setup, args: &[&str], input: &str) -> String {
    let mut child = s
        .invhost
        .cmd()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "invhost {args:?}: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Adds an account and returns a fresh token for it.
pub(crate) fn account(s: &Setup, name: &str, role: &str) -> String {
    with_stdin(
        s,
        &["user", "add", name, "--role", role, "--password-stdin"],
        PASSWORD,
    );
    let created = s.json(&["token", "create", "--user", name]);
    created["token"].as_str().unwrap().to_owned()
}

/// A client that keeps every byte it sends and receives.
pub(crate) struct Client {
    http: reqwest::Client,
    base: String,
    pub transcript: Mutex<String>,
}

impl Client {
    pub(crate) fn new(base: &str) -> Client {
        Client {
            http: reqwest::Client::new(),
            base: base.to_owned(),
            transcript: Mutex::new(String::new()),
        }
    }

    /// Sends a request; returns the status and the body as JSON (or text).
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let body = body.map(|b| b.to_string());
        let (status, text) = self
            .raw(
                method,
                path,
                token,
                body.as_deref(),
                Some("application/json"),
            )
            .await;
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    /// A GET with a token; the status and the body as text.
    pub(crate) async fn get(&self, path: &str, token: &str) -> (u16, String) {
        self.raw(Method::GET, path, Some(token), None, None).await
    }

    pub(crate) async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
        content_type: Option<&str>,
    ) -> (u16, String) {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.body(body.to_owned());
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type);
            }
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = format!("{:?}", response.headers());
        let text = response.text().await.unwrap();
        let mut transcript = self.transcript.lock().unwrap();
        transcript.push_str(&format!(
            ">> {method} {path} {}\n<< {status} {headers}\n{text}\n",
            body.unwrap_or("")
        ));
        (status, text)
    }
}

async fn every_route_answers_each_role_and_never_shows_a_secret(db: &TestDb) {
    let store = db.store().await;
    let mut s = Setup::new(db);
    s.invhost
        .env
        .push(("CONTOSO_SECRET".into(), CONNECTOR_SECRET.into()));
    crate::cli::service::add_flood(&s, ["A".to_owned(), "B".to_owned()], 20);
    s.ok(&[
        "connector",
        "add",
        "--type",
        "o365",
        "--name",
        "Contoso",
        "--param",
        "tenant_id=7c0c36f5-af83-4c24-8844-9962e0163719",
        "--param",
        "client_id=1b2b3c4d-0000-4000-8000-000000000001",
        "--secret",
        "client_secret=env:CONTOSO_SECRET",
    ]);
    s.add_csv("Sheet");
    let admin = account(&s, "ada", "admin");
    let operator = account(&s, "otto", "operator");
    let viewer = account(&s, "vera", "viewer");
    let expired = s.json(&["token", "create", "--user", "vera", "--expires", "1h"]);
    let (expired, expired_id) = (
        expired["token"].as_str().unwrap().to_owned(),
        expired["details"]["id"].as_i64().unwrap(),
    );
    store
        .connection()
        .execute_unprepared(&format!(
            "UPDATE api_tokens SET expires_at = created_at WHERE id = {expired_id}"
        ))
        .await
        .unwrap();
    let revoked = s.json(&["token", "create", "--user", "vera"]);
    let revoked_id = revoked["details"]["id"].as_i64().unwrap().to_string();
    let revoked = revoked["token"].as_str().unwrap().to_owned();
    s.ok(&["token", "revoke", &revoked_id]);
    let disabled = account(&s, "dora", "admin");
    s.ok(&["user", "disable", "dora"]);
    let listed = s.ok(&["token", "list"]);
    for token in [&admin, &operator, &viewer] {
        assert!(
            !listed.contains(token.as_str()),
            "token list shows only prefixes"
        );
    }

    let served = Served::start(&s, &[], "http");
    let api = Client::new(&served.base);
    use Method as M;

    // Health and the document need no credentials.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, health) = api.call(M::GET, "/healthz", None, None).await;
        if status == 200 {
            assert_eq!(health["database"], "ok");
            assert_eq!(health["scheduler"], "ok");
            break;
        }
        assert!(Instant::now() < deadline, "{health}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, document) = api.call(M::GET, "/api/v1/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut documented: Vec<String> = document["paths"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    documented.push("/api/v1/openapi.json".into());
    documented.sort();
    let mut expected: Vec<String> = ROUTES.iter().map(|r| (*r).to_owned()).collect();
    expected.sort();
    assert_eq!(
        documented, expected,
        "every route is in the OpenAPI document"
    );

    // Credentials.
    let refusals = [
        (None, "no credentials"),
        (Some("ivh_0000"), "the token is not valid"),
        (Some("Basic abc"), "the token is not valid"),
        (Some(expired.as_str()), "the token has expired"),
        (Some(revoked.as_str()), "the token was revoked"),
        (Some(disabled.as_str()), "the token's account is disabled"),
    ];
    for (token, reason) in refusals {
        let (status, body) = api.call(M::GET, "/api/v1/repositories", token, None).await;
        assert_eq!(status, 401, "{token:?}: {body}");
        assert_eq!(body["error"], "unauthorized");
        assert!(body["message"].as_str().unwrap().contains(reason), "{body}");
    }

    // What every role may read.
    for token in [&viewer, &operator, &admin] {
        let t = Some(token.as_str());
        let (status, me) = api.call(M::GET, "/api/v1/me", t, None).await;
        assert_eq!(status, 200, "{me}");
        let reads = [
            "/api/v1/repositories",
            "/api/v1/connector-types",
            "/api/v1/connector-types/o365",
            "/api/v1/plugins",
            "/api/v1/connectors",
            "/api/v1/connectors/Contoso",
            "/api/v1/actions",
            "/api/v1/processes?limit=5",
            "/api/v1/schedules",
            "/api/v1/inventory/devices",
            "/api/v1/inventory/product-usage",
        ];
        for path in reads {
            let (status, body) = api.call(M::GET, path, t, None).await;
            assert_eq!(status, 200, "{} {path}: {body}", me["user"]);
        }
    }
    let (_, contoso) = api
        .call(M::GET, "/api/v1/connectors/Contoso", Some(&viewer), None)
        .await;
    assert_eq!(contoso["parameters"]["client_secret"], "(set)", "{contoso}");
    let (_, plugins) = api
        .call(M::GET, "/api/v1/plugins", Some(&viewer), None)
        .await;
    let flood = plugins["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "fixture-flood")
        .unwrap_or_else(|| panic!("{plugins}"));
    assert_eq!(flood["builtin"], false);
    assert!(
        flood["source"]
            .as_str()
            .unwrap()
            .ends_with("libfixture_plugin.so"),
        "{flood}"
    );
    assert!(plugins["refused"].is_array());
    let (_, types) = api
        .call(M::GET, "/api/v1/connector-types", Some(&viewer), None)
        .await;
    assert!(
        types
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["type_id"] == "o365"),
        "{types}"
    );

    // What a viewer may not do, each refused with 403 and audited.
    let execute = json!({"repository": "Default Inventory", "action": "Sync Data - A"});
    let changes: [(Method, &str, Option<Value>, &str); 8] = [
        (
            M::POST,
            "/api/v1/execute",
            Some(execute.clone()),
            "operator",
        ),
        (M::POST, "/api/v1/processes/1/cancel", None, "operator"),
        (M::POST, "/api/v1/connectors/A/test", None, "operator"),
        (M::POST, "/api/v1/schedules/x/run", None, "operator"),
        (
            M::POST,
            "/api/v1/repositories",
            Some(json!({"name": "R"})),
            "admin",
        ),
        (
            M::POST,
            "/api/v1/repositories/Default Inventory/clear",
            None,
            "admin",
        ),
        (M::DELETE, "/api/v1/connectors/B", None, "admin"),
        (M::GET, "/api/v1/audit", None, "admin"),
    ];
    for (method, path, body, needs) in &changes {
        let (status, answer) = api
            .call(method.clone(), path, Some(&viewer), body.clone())
            .await;
        assert_eq!(status, 403, "{method} {path}: {answer}");
        assert!(
            answer["message"]
                .as_str()
                .unwrap()
                .contains(&format!("needs the {needs} role; 'vera' is a viewer")),
            "{answer}"
        );
    }
    // An operator may not administer.
    for (method, path, body, needs) in changes.iter().filter(|c| c.3 == "admin") {
        let (status, _) = api
            .call(method.clone(), path, Some(&operator), body.clone())
            .await;
        assert_eq!(status, 403, "{method} {path} needs {needs}");
    }

    // An operator executes; serve runs it; the account is its trigger.
    let (status, queued) = api
        .call(
            M::POST,
            "/api/v1/execute",
            Some(&operator),
            Some(execute.clone()),
        )
        .await;
    assert_eq!(status, 202, "{queued}");
    assert_eq!(queued["trigger"], "user otto");
    assert_eq!(queued["status"], "queued");
    let id = queued["id"].as_i64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let done = loop {
        let (_, process) = api
            .call(
                M::GET,
                &format!("/api/v1/processes/{id}"),
                Some(&viewer),
                None,
            )
            .await;
        if process["status"] == "succeeded" {
            break process;
        }
        assert!(Instant::now() < deadline, "{process}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(done["counts"]["device"], 20);
    let (_, page) = api
        .call(
            M::GET,
            "/api/v1/inventory/devices?limit=5&offset=5",
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(page["total"], 20, "{page}");
    assert_eq!(page["rows"].as_array().unwrap().len(), 5);
    // Searched and sorted on the server; any view as CSV.
    let (_, found) = api
        .call(
            M::GET,
            "/api/v1/inventory/devices?q=DEV-1",
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(found["total"], 11, "dev-1 and dev-10..19: {found}");
    let (_, sorted) = api
        .call(
            M::GET,
            "/api/v1/inventory/devices?sort=-source_key&limit=1",
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(sorted["rows"][0]["source_key"], "dev-9", "{sorted}");
    let (status, refused) = api
        .call(
            M::GET,
            "/api/v1/inventory/devices?sort=colour",
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("cannot sort device rows by 'colour'")
    );
    let csv = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/inventory/devices?format=csv",
            served.base
        ))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status().as_u16(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        csv.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("Default_Inventory-devices.csv")
    );
    let text = csv.text().await.unwrap();
    assert_eq!(text.lines().count(), 21, "{text}");
    assert!(
        text.lines().next().unwrap().contains("source_key"),
        "{text}"
    );
    let (status, text) = api
        .get("/api/v1/inventory/product-usage?format=csv", &viewer)
        .await;
    assert_eq!(status, 200, "{text}");
    let (status, text) = api.get("/api/v1/explain/product/abc", &viewer).await;
    assert_eq!(status, 400, "{text}");
    let (status, text) = api.get("/api/v1/explain/planet/1", &viewer).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("explain needs what and which"), "{text}");
    let (status, _) = api
        .call(
            M::POST,
            &format!("/api/v1/processes/{id}/cancel"),
            Some(&operator),
            None,
        )
        .await;
    assert_eq!(status, 409, "an ended process cannot be cancelled");
    let (status, _) = api
        .call(
            M::POST,
            "/api/v1/processes/999999/cancel",
            Some(&operator),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, report) = api
        .call(M::POST, "/api/v1/connectors/A/test", Some(&operator), None)
        .await;
    assert_eq!(status, 200, "{report}");
    let (_, log) = api
        .call(
            M::GET,
            "/api/v1/processes?trigger=user%20otto",
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(log.as_array().unwrap().len(), 1, "{log}");
    let (_, of_a) = api
        .call(M::GET, "/api/v1/processes?connector=A", Some(&viewer), None)
        .await;
    let of_a = of_a.as_array().unwrap();
    assert!(
        !of_a.is_empty() && of_a.iter().all(|p| p["action"] == "Sync Data - A"),
        "{of_a:?}"
    );
    let (status, _) = api
        .call(
            M::GET,
            "/api/v1/processes?connector=Nobody",
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(status, 404);

    // After a sync and a consolidation, product usage shows the new data
    // (it was empty, and read, before) and explain reaches a product.
    let (_, before) = api
        .call(
            M::GET,
            "/api/v1/inventory/product-usage",
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(before["total"], 0, "{before}");
    for action in [
        "Sync Data - Sheet",
        "Generate Report - Basic Inventory Consolidation",
    ] {
        let (status, queued) = api
            .call(
                M::POST,
                "/api/v1/execute",
                Some(&operator),
                Some(json!({"repository": "Default Inventory", "action": action})),
            )
            .await;
        assert_eq!(status, 202, "{queued}");
        // One after the other: a consolidation does not wait for queued syncs.
        let ids = [queued["id"].as_i64().unwrap()];
        let done = crate::cli::service::wait_done(&store, &ids, Duration::from_secs(60)).await;
        assert_eq!(
            done[0].status,
            repo_store::ProcessStatus::Succeeded,
            "{done:?}"
        );
    }
    let (_, after) = api
        .call(
            M::GET,
            "/api/v1/inventory/product-usage?sort=-installations",
            Some(&viewer),
            None,
        )
        .await;
    assert!(after["total"].as_u64().unwrap() > 0, "{after}");
    let product = after["rows"][0]["id"].as_i64().unwrap();
    let (status, explained) = api
        .call(
            M::GET,
            &format!("/api/v1/explain/product/{product}"),
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(status, 200, "{explained}");

    // An admin administers.
    let (status, added) = api
        .call(
            M::POST,
            "/api/v1/repositories",
            Some(&admin),
            Some(json!({"name": "Second"})),
        )
        .await;
    assert_eq!(status, 201, "{added}");
    let (status, _) = api
        .call(
            M::POST,
            "/api/v1/repositories",
            Some(&admin),
            Some(json!({"name": "Second"})),
        )
        .await;
    assert_eq!(status, 409);
    // Two repositories: each has its own consolidation among its actions.
    let (_, all) = api
        .call(M::GET, "/api/v1/actions", Some(&viewer), None)
        .await;
    let consolidations = |v: &Value| {
        v.as_array()
            .unwrap()
            .iter()
            .filter(|a| a["kind"] == "consolidation")
            .count()
    };
    assert_eq!(consolidations(&all), 2, "{all}");
    let (_, actions) = api
        .call(
            M::GET,
            "/api/v1/actions?repository=Default%20Inventory",
            Some(&viewer),
            None,
        )
        .await;
    let names: Vec<&str> = actions
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Sync Data - A"), "{actions}");
    assert_eq!(consolidations(&actions), 1, "{actions}");
    let (status, _) = api
        .call(
            M::GET,
            "/api/v1/actions?repository=Nowhere",
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let schedule = json!({"name": "nightly", "cron": "0 2 * * *", "repository": "Default Inventory",
        "actions": ["Sync Data - A", "Generate Report - Basic Inventory Consolidation"]});
    let (status, created) = api
        .call(M::POST, "/api/v1/schedules", Some(&admin), Some(schedule))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["upcoming"].as_array().unwrap().len(), 5);
    let (status, bad) = api
        .call(
            M::POST,
            "/api/v1/schedules",
            Some(&admin),
            Some(
                json!({"name": "bad", "cron": "0 2 32 * *", "repository": "Default Inventory",
                "actions": ["Sync Data - A"]}),
            ),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        bad["message"]
            .as_str()
            .unwrap()
            .contains("field 3 (day of month)"),
        "{bad}"
    );
    // The preview a schedule form shows, for anyone signed in.
    let (status, preview) = api
        .call(
            M::GET,
            "/api/v1/cron/preview?cron=30%206%20*%20*%201-5",
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(status, 200, "{preview}");
    let upcoming = preview["upcoming"].as_array().unwrap();
    assert_eq!(upcoming.len(), 5);
    assert!(
        upcoming
            .iter()
            .all(|t| t.as_str().unwrap().ends_with("T06:30:00Z")),
        "{preview}"
    );
    let (status, wrong) = api
        .call(
            M::GET,
            "/api/v1/cron/preview?cron=0%202%2032%20*%20*",
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        wrong["message"]
            .as_str()
            .unwrap()
            .contains("field 3 (day of month)"),
        "{wrong}"
    );
    let (status, _) = api
        .call(
            M::GET,
            "/api/v1/cron/preview?cron=0%202%20*%20*%20*",
            None,
            None,
        )
        .await;
    assert_eq!(status, 401);
    let (status, chain) = api
        .call(
            M::POST,
            "/api/v1/schedules/nightly/run",
            Some(&operator),
            None,
        )
        .await;
    assert_eq!(status, 202, "{chain}");
    assert_eq!(chain[1]["parent_id"], chain[0]["id"]);
    assert_eq!(chain[0]["trigger"], "schedule nightly");
    let (status, _) = api
        .call(M::GET, "/api/v1/schedules/nightly", Some(&viewer), None)
        .await;
    assert_eq!(status, 200);
    let (status, _) = api
        .call(M::DELETE, "/api/v1/schedules/nightly", Some(&admin), None)
        .await;
    assert_eq!(status, 204);
    // A connector is not removed while its processes are queued or
    // running: wait for the chain's end.
    let deadline = Instant::now() + Duration::from_secs(60);
    for step in chain.as_array().unwrap() {
        loop {
            let (_, process) = api
                .call(
                    M::GET,
                    &format!("/api/v1/processes/{}", step["id"]),
                    Some(&viewer),
                    None,
                )
                .await;
            if !matches!(process["status"].as_str(), Some("queued" | "running")) {
                break;
            }
            assert!(Instant::now() < deadline, "{process}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let (status, _) = api
        .call(
            M::DELETE,
            "/api/v1/connectors/B?purge_data=true",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, cleared) = api
        .call(
            M::POST,
            "/api/v1/repositories/Second/clear",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 200, "{cleared}");

    // Malformed requests: a clear refusal, never a trace or SQL.
    let bodies: [(&str, Option<&str>, u16, &str); 6] = [
        ("{", Some("application/json"), 400, "invalid JSON body"),
        (
            r#"{"repository": 1, "action": "Sync Data - A"}"#,
            Some("application/json"),
            400,
            "at 'repository'",
        ),
        (
            r#"{"repository": "Default Inventory", "action": "Sync Data - A", "fast": true}"#,
            Some("application/json"),
            400,
            "unknown field `fast`",
        ),
        (
            r#"{"repository": "Default Inventory"}"#,
            Some("application/json"),
            400,
            "missing field `action`",
        ),
        (
            r#"{"repository": "x", "action": "y"}"#,
            None,
            415,
            "Content-Type: application/json",
        ),
        (
            r#"{"repository": "Nowhere", "action": "Sync Data - A"}"#,
            Some("application/json"),
            404,
            "no repository named 'Nowhere'",
        ),
    ];
    for (body, content_type, expected, says) in bodies {
        let (status, text) = api
            .raw(
                M::POST,
                "/api/v1/execute",
                Some(&operator),
                Some(body),
                content_type,
            )
            .await;
        assert_eq!(status, expected, "{body}: {text}");
        assert!(text.contains(says), "{body}: {text}");
    }
    let huge = format!(r#"{{"name": "{}"}}"#, "x".repeat(2 * 1024 * 1024));
    // On its own client: the server closes a connection whose body it
    // refused to read, which a pooled connection would trip over next.
    let (status, text) = Client::new(&served.base)
        .raw(
            M::POST,
            "/api/v1/repositories",
            Some(&admin),
            Some(&huge),
            Some("application/json"),
        )
        .await;
    assert_eq!(status, 413, "{text}");
    let (status, text) = api.get("/api/v1/nothing", &admin).await;
    assert_eq!(status, 404, "{text}");
    assert!(text.contains("not_found"));
    let (status, _) = api
        .raw(M::PUT, "/api/v1/repositories", Some(&admin), None, None)
        .await;
    assert_eq!(status, 405);
    let (status, text) = api.get("/api/v1/inventory/nothing", &viewer).await;
    assert_eq!(status, 404, "{text}");
    let (status, text) = api.get("/api/v1/processes?status=paused", &viewer).await;
    assert_eq!(status, 400, "{text}");
    for path in [
        "/api/v1/processes/abc",
        "/api/v1/processes?limit=many",
        "/api/v1/processes?colour=red",
    ] {
        let (status, body) = api.call(M::GET, path, Some(&viewer), None).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["error"], "bad_request", "{path}: {body}");
    }

    // The audit log has who, what, from where, refusals included.
    let (status, audit) = api.call(M::GET, "/api/v1/audit", Some(&admin), None).await;
    assert_eq!(status, 200);
    let lines = audit.as_array().unwrap();
    let has = |actor: &str, action: &str, outcome: &str| {
        lines.iter().any(|l| {
            l["actor"] == actor
                && l["action"] == action
                && l["outcome"].as_str().unwrap().starts_with(outcome)
        })
    };
    assert!(has("otto", "execute", "ok"), "{audit}");
    assert!(has("vera", "execute", "refused: needs operator"), "{audit}");
    assert!(has("ada", "schedule.add", "ok"), "{audit}");
    assert!(has("ada", "connector.remove", "ok"), "{audit}");
    assert!(lines.iter().any(|l| l["address"] == "127.0.0.1"));
    assert!(
        lines.iter().any(
            |l| l["action"] == "user.add" && l["actor"].as_str().unwrap().starts_with("local ")
        ),
        "{audit}"
    );

    let (code, log) = served.stop();
    assert_eq!(code, Some(0), "{log}");
    let audit = s.ok(&["audit"]);
    assert!(
        audit.contains("schedule.add") && audit.contains("127.0.0.1"),
        "{audit}"
    );

    // Not one secret in any byte exchanged, nor in the host's log.
    let transcript = api.transcript.lock().unwrap().clone();
    let responses: String = transcript
        .lines()
        .filter(|l| !l.starts_with(">> "))
        .collect::<Vec<_>>()
        .join("\n");
    for secret in [CONNECTOR_SECRET, PASSWORD, "$argon2"] {
        assert!(!transcript.contains(secret), "{secret} in the exchange");
        assert!(!log.contains(secret), "{secret} in the log");
    }
    for token in [&admin, &operator, &viewer, &expired, &revoked, &disabled] {
        assert!(!responses.contains(token.as_str()), "a token in a response");
        assert!(!log.contains(token.as_str()), "a token in the log");
    }
    for leak in ["SELECT", "sqlx", "panicked", "stack backtrace"] {
        assert!(!responses.contains(leak), "{leak} in a response");
    }
}

async fn browser_sessions_connector_secrets_and_metrics(db: &TestDb) {
    let store = db.store().await;
    let s = Setup::new(db);
    let admin = account(&s, "ada", "admin");
    account(&s, "sam", "operator");
    let served = Served::start(&s, &[], "http");
    let api = Client::new(&served.base);
    use Method as M;

    // An admin adds a connector with a secret; it is never returned. Its
    // tenant (the simulator) throttles every third request.
    let sim = graph_simulator::Simulator::start(graph_simulator::SimulatorConfig {
        users: 6,
        devices: 6,
        faults: graph_simulator::Faults {
            throttle_every: Some(3),
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .unwrap();
    let secret = sim.client_secret();
    let secret = secret.as_str();
    let (status, added) = api
        .call(
            M::POST,
            "/api/v1/connectors",
            Some(&admin),
            Some(json!({"name": "Contoso", "type": "o365",
                "parameters": {"tenant_id": sim.tenant_id(), "client_id": sim.client_id(),
                               "cloud_instance": sim.base_url()},
                "secrets": {"client_secret": "a-wrong-secret-at-first"}})),
        )
        .await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["parameters"]["client_secret"], "(set)");
    let stored = store.connector("Contoso").await.unwrap();
    for text in [&stored.secrets, &stored.parameters] {
        assert!(
            !text.contains("a-wrong-secret-at-first"),
            "stored encrypted"
        );
    }
    let (status, refused) = api
        .call(
            M::POST,
            "/api/v1/connectors",
            Some(&admin),
            Some(json!({"name": "Leaky", "type": "o365",
                "parameters": {"client_secret": "in-the-open"}})),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("client_secret is a secret"),
        "{refused}"
    );
    let (status, edited) = api
        .call(
            M::PATCH,
            "/api/v1/connectors/Contoso",
            Some(&admin),
            Some(json!({"secrets": {"client_secret": secret}, "run_consolidation": false})),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["run_consolidation"], false);
    let key = repo_store::SecretKey::resolve(&s.invhost.data_dir().join("secret.key")).unwrap();
    let parameters = store
        .connector_parameters(&store.connector("Contoso").await.unwrap(), &key)
        .unwrap();
    assert_eq!(parameters.str("client_secret"), Some(secret));
    let stored = store.connector("Contoso").await.unwrap();
    assert!(!stored.secrets.contains(secret) && !stored.parameters.contains(secret));

    // A schedule is changed over the API.
    let (status, _) = api
        .call(
            M::POST,
            "/api/v1/schedules",
            Some(&admin),
            Some(
                json!({"name": "n", "cron": "0 2 * * *", "repository": "Default Inventory",
                "actions": ["Generate Report - Basic Inventory Consolidation"]}),
            ),
        )
        .await;
    assert_eq!(status, 201);
    let (status, changed) = api
        .call(
            M::PATCH,
            "/api/v1/schedules/n",
            Some(&admin),
            Some(json!({"cron": "30 4 * * *", "enabled": false})),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["cron"], "30 4 * * *");
    assert_eq!(changed["next_due_at"], Value::Null);

    // A sync followed live: its progress, then its end, from the event stream.
    crate::cli::service::add_flood(&s, ["Big".to_owned()], 0);
    let (status, _) = api
        .call(
            M::PATCH,
            "/api/v1/connectors/Big",
            Some(&admin),
            Some(json!({"parameters": {"count": 150000, "batch": 50}})),
        )
        .await;
    assert_eq!(status, 200);
    let log = reqwest::Client::new()
        .get(format!("{}/api/v1/processes/events", served.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(log.status().as_u16(), 200);
    assert!(
        log.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let (status, queued) = api
        .call(
            M::POST,
            "/api/v1/execute",
            Some(&admin),
            Some(json!({"repository": "Default Inventory", "action": "Sync Data - Big"})),
        )
        .await;
    assert_eq!(status, 202, "{queued}");
    let id = queued["id"].as_i64().unwrap();
    let events = reqwest::Client::new()
        .get(format!("{}/api/v1/processes/{id}/events", served.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let seen: Vec<Value> = events
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let last = seen.last().unwrap();
    assert_eq!(last["status"], "succeeded", "{events}");
    assert_eq!(last["counts"]["device"], 150000);
    assert!(
        seen.iter().any(|e| e["status"] == "running"
            && e["progress"]["device"]
                .as_u64()
                .is_some_and(|n| n > 0 && n < 150000)),
        "progress while running: {events}"
    );
    // The log's stream saw it queued and ended.
    let mut log = log;
    let mut text = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !text.contains(&format!(r#""id":{id},"#)) || !text.contains(r#""status":"succeeded""#) {
        assert!(Instant::now() < deadline, "{text}");
        match tokio::time::timeout(Duration::from_secs(5), log.chunk()).await {
            Ok(Ok(Some(chunk))) => text.push_str(&String::from_utf8_lossy(&chunk)),
            other => panic!("the log stream stopped: {other:?}"),
        }
    }
    drop(log);

    // A stream ends once its token is revoked.
    let streamer = s.json(&["token", "create", "--user", "ada"]);
    let mut stream = reqwest::Client::new()
        .get(format!("{}/api/v1/processes/events", served.base))
        .bearer_auth(streamer["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status().as_u16(), 200);
    s.ok(&[
        "token",
        "revoke",
        &streamer["details"]["id"].as_i64().unwrap().to_string(),
    ]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < deadline, "the stream outlived its token");
        match tokio::time::timeout(Duration::from_secs(30), stream.chunk()).await {
            Ok(Ok(Some(_))) => {}
            Ok(Ok(None)) | Ok(Err(_)) => break,
            Err(_) => panic!("the stream outlived its token"),
        }
    }

    // The tenant's sync, for its Graph counters.
    let (status, queued) = api
        .call(
            M::POST,
            "/api/v1/execute",
            Some(&admin),
            Some(json!({"repository": "Default Inventory", "action": "Sync Data - Contoso"})),
        )
        .await;
    assert_eq!(status, 202, "{queued}");
    let ids = [queued["id"].as_i64().unwrap()];
    let done = crate::cli::service::wait_done(&store, &ids, Duration::from_secs(60)).await;
    assert_eq!(
        done[0].status,
        repo_store::ProcessStatus::Succeeded,
        "{done:?}"
    );
    let message = done[0].message.clone().unwrap();
    let requests: u64 = message
        .split(" Graph requests")
        .next()
        .and_then(|m| m.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{message}"));
    let throttled = sim.injected().throttled;
    let contoso_devices = serde_json::from_str::<Value>(&done[0].counts).unwrap()["device"]
        .as_u64()
        .unwrap();
    assert!(
        throttled > 0 && message.contains(&format!("({throttled} throttled)")),
        "{message}"
    );

    // Metrics, for monitors with a token.
    let (status, text) = api.raw(M::GET, "/metrics", None, None, None).await;
    assert_eq!(status, 401, "{text}");
    let (status, text) = api.get("/metrics", &admin).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("# TYPE invhost_queue_depth gauge"), "{text}");
    assert!(text.contains("invhost_queue_depth 0"), "{text}");
    assert!(
        text.contains(&format!(
            r#"invhost_connector_counter_total{{counter="graph_requests"}} {requests}"#
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            r#"invhost_connector_counter_total{{counter="graph_throttled"}} {throttled}"#
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            r#"invhost_records_written_total{{kind="device"}} {}"#,
            150000 + contoso_devices
        )),
        "{text}"
    );
    assert!(
        text.contains(r#"invhost_processes{status="succeeded",action="Sync Data - Big"} 1"#),
        "{text}"
    );

    // A browser session: cookie attributes, CSRF on changes, sign-out.
    let browser = reqwest::Client::new();
    let sign_in = |name: &str, password: &str| {
        browser
            .post(format!("{}/api/v1/session", served.base))
            .json(&json!({"name": name, "password": password}))
            .send()
    };
    let response = sign_in("sam", PASSWORD).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let cookie = response
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "not Secure over plain HTTP on loopback"
    );
    let session: Value = response.json().await.unwrap();
    let csrf = session["csrf_token"].as_str().unwrap().to_owned();
    let pair = cookie.split(';').next().unwrap().to_owned();
    let with_cookie = |method: Method, path: &str, csrf: Option<&str>| {
        let mut request = browser
            .request(method, format!("{}{path}", served.base))
            .header("cookie", &pair);
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        request
    };
    let me: Value = with_cookie(M::GET, "/api/v1/me", None)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"], "sam");
    assert_eq!(me["csrf_token"], csrf.as_str());
    let body = json!({"repository": "Default Inventory",
        "action": "Generate Report - Basic Inventory Consolidation"});
    for wrong in [None, Some("0000")] {
        let refused = with_cookie(M::POST, "/api/v1/execute", wrong)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status().as_u16(), 403, "CSRF {wrong:?}");
        let text = refused.text().await.unwrap();
        assert!(text.contains("X-CSRF-Token"), "{text}");
    }
    let accepted = with_cookie(M::POST, "/api/v1/execute", Some(&csrf))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status().as_u16(), 202);
    let out = with_cookie(M::DELETE, "/api/v1/session", Some(&csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status().as_u16(), 204);
    let after = with_cookie(M::GET, "/api/v1/me", None)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status().as_u16(), 401, "a session ends at sign-out");

    // A password change ends the account's sessions.
    let second = sign_in("sam", PASSWORD).await.unwrap();
    let second_pair = second.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let me = |pair: String| {
        browser
            .get(format!("{}/api/v1/me", served.base))
            .header("cookie", pair)
            .send()
    };
    assert_eq!(
        me(second_pair.clone()).await.unwrap().status().as_u16(),
        200
    );
    with_stdin(
        &s,
        &["user", "passwd", "sam", "--password-stdin"],
        "another long password",
    );
    let ended = me(second_pair).await.unwrap();
    assert_eq!(ended.status().as_u16(), 401);
    let text = ended.text().await.unwrap();
    assert!(text.contains("session ended"), "{text}");

    // Failed sign-ins: the same answer for a wrong name and a wrong
    // password, then a limit per account and per address.
    let mut answers = Vec::new();
    for (name, password) in [
        ("ghost", PASSWORD),
        ("sam", "not the password at all"),
        ("ghost", PASSWORD),
        ("sam", "not the password at all"),
    ] {
        let started = Instant::now();
        let response = sign_in(name, password).await.unwrap();
        let elapsed = started.elapsed();
        answers.push((
            response.status().as_u16(),
            response.text().await.unwrap(),
            elapsed,
        ));
    }
    assert!(
        answers.iter().all(|a| a.0 == 401 && a.1 == answers[0].1),
        "{answers:?}"
    );
    let (ghost, sam): (Vec<_>, Vec<_>) = answers.iter().enumerate().partition(|(i, _)| i % 2 == 0);
    let mean = |v: &[(usize, &(u16, String, Duration))]| {
        v.iter().map(|(_, a)| a.2.as_secs_f64()).sum::<f64>() / v.len() as f64
    };
    let (ghost, sam) = (mean(&ghost), mean(&sam));
    assert!(
        // Skipping the hash for an unknown name would be ~100 times
        // faster; the bounds leave room for a busy two-core machine.
        ghost / sam > 0.25 && ghost / sam < 4.0,
        "a wrong name takes {ghost:.3} s, a wrong password {sam:.3} s"
    );
    let fifth = sign_in("sam", "still wrong").await.unwrap();
    assert_eq!(fifth.status().as_u16(), 401);
    let limited = sign_in("sam", "another long password").await.unwrap();
    assert_eq!(
        limited.status().as_u16(),
        429,
        "the right password, after five failures"
    );

    let (code, log) = served.stop();
    assert_eq!(code, Some(0));
    let audit = s.json(&["audit", "--limit", "100"]);
    let outcomes: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["action"] == "session.sign_in")
        .map(|l| l["outcome"].as_str().unwrap())
        .collect();
    assert!(outcomes.contains(&"ok"));
    assert!(outcomes.contains(&"refused: wrong name or password"));
    assert!(outcomes.contains(&"refused: too many failed sign-ins"));
    let transcript = api.transcript.lock().unwrap().clone();
    for leak in [secret, "a-wrong-secret-at-first", PASSWORD] {
        let responses: String = transcript
            .lines()
            .filter(|l| !l.starts_with(">> "))
            .collect();
        assert!(!responses.contains(leak), "{leak} in a response");
        assert!(!log.contains(leak), "{leak} in the log");
    }
    assert!(!log.contains(&csrf) && !log.contains(pair.split('=').nth(1).unwrap()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_off_loopback_is_refused_and_tls_serves() {
    let db = TestDb::sqlite();
    let s = Setup::new(&db);

    // Plain HTTP off loopback: refused, unless accepted, then warned.
    let (code, _, stderr) = s.invhost.run(&["serve", "--listen", "0.0.0.0:0"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("refusing to serve the API on 0.0.0.0:0 over plain HTTP"),
        "{stderr}"
    );
    let insecure = Served::start(&s, &["--listen", "0.0.0.0:0", "--insecure-http"], "http");
    let (code, log) = insecure.stop();
    assert_eq!(code, Some(0));
    assert!(
        log.contains("over plain HTTP off loopback (--insecure-http)"),
        "{log}"
    );

    // TLS with a certificate of our own; a client that trusts it only.
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .args([
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let (cert_arg, key_arg) = (cert.display().to_string(), key.display().to_string());
    let tls = Served::start(
        &s,
        &["--tls-cert", &cert_arg, "--tls-key", &key_arg],
        "https",
    );
    let root = reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(root)
        .build()
        .unwrap();
    let health = client
        .get(format!("{}/healthz", tls.base))
        .send()
        .await
        .unwrap();
    assert!(health.status().is_success() || health.status().as_u16() == 503);
    let plain = reqwest::Client::new()
        .get(format!("{}/healthz", tls.base.replace("https", "http")))
        .send()
        .await;
    assert!(
        plain.map(|r| !r.status().is_success()).unwrap_or(true),
        "plain HTTP is not answered on the TLS port"
    );
    // The port is taken: a second host says so and stops.
    let port = tls.base.rsplit(':').next().unwrap().to_owned();
    let (code, _, stderr) = s
        .invhost
        .run(&["serve", "--listen", &format!("127.0.0.1:{port}")]);
    assert_eq!(code, 1);
    assert!(stderr.contains("cannot listen on"), "{stderr}");
    let (code, _) = tls.stop();
    assert_eq!(code, Some(0));
}

/// A small deterministic generator (xorshift), so a failure can be replayed
/// from its seed.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn junk(&mut self) -> String {
        let pieces = [
            "",
            "x",
            "0",
            "-1",
            "99999999999999999999",
            "%00",
            "%2F..%2F",
            "..",
            "é",
            "😀",
            "'",
            "\"",
            "<script>",
            "a b",
            "%",
            "{}",
            "[]",
            "null",
            "true",
            "Default Inventory",
            "Sync Data - A",
            "nightly",
        ];
        let mut text = String::new();
        for _ in 0..1 + self.below(3) {
            let piece: &&str = self.pick(&pieces);
            text.push_str(piece);
        }
        if self.below(20) == 0 {
            text.push_str(&"z".repeat(5000));
        }
        text
    }

    fn json(&mut self, depth: usize) -> Value {
        match self.below(if depth > 2 { 5 } else { 7 }) {
            0 => Value::Null,
            1 => json!(self.below(2) == 0),
            2 => json!(self.next() as i64),
            3 => json!(self.junk()),
            4 => json!(-1.5e300),
            5 => Value::Array((0..self.below(4)).map(|_| self.json(depth + 1)).collect()),
            _ => {
                let keys = [
                    "name",
                    "repository",
                    "action",
                    "clean",
                    "cron",
                    "actions",
                    "type",
                    "parameters",
                    "secrets",
                    "unset",
                    "enabled",
                    "password",
                    "x",
                ];
                let mut object = serde_json::Map::new();
                for _ in 0..self.below(5) {
                    object.insert((*self.pick(&keys)).to_owned(), self.json(depth + 1));
                }
                Value::Object(object)
            }
        }
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_and_malformed_requests_never_break_the_server() {
    let db = TestDb::sqlite();
    let s = Setup::new(&db);
    crate::cli::service::add_flood(&s, ["A".to_owned()], 5);
    let admin = account(&s, "ada", "admin");
    let viewer = account(&s, "vera", "viewer");
    let served = Served::start(&s, &[], "http");
    let pid = served.child.as_ref().unwrap().id();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let seed = std::env::var("INVHOST_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_1234_abcd_ef01_u64);
    let mut dice = Dice(seed);
    let templates = ROUTES;
    let methods = [
        Method::GET,
        Method::POST,
        Method::PATCH,
        Method::DELETE,
        Method::PUT,
        Method::HEAD,
        Method::OPTIONS,
    ];
    let run_for = Duration::from_secs(
        std::env::var("INVHOST_FUZZ_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(8),
    );
    let started = Instant::now();
    let mut warm_rss = None;
    let mut sent = 0u64;
    let mut statuses = std::collections::BTreeMap::<u16, u64>::new();
    while started.elapsed() < run_for {
        if warm_rss.is_none() && started.elapsed() > run_for / 4 {
            warm_rss = Some(rss_kib(pid));
        }
        let template = *dice.pick(&templates);
        let mut path = String::new();
        for segment in template.split('/').skip(1) {
            path.push('/');
            if segment.starts_with('{') || dice.below(15) == 0 {
                let junk = dice.junk();
                let encoded: String = junk
                    .bytes()
                    .map(|b| {
                        if b.is_ascii_alphanumeric() || b"-_.~%".contains(&b) {
                            (b as char).to_string()
                        } else {
                            format!("%{b:02X}")
                        }
                    })
                    .collect();
                path.push_str(&encoded);
            } else {
                path.push_str(segment);
            }
        }
        if dice.below(3) == 0 {
            let keys = [
                "limit",
                "offset",
                "q",
                "sort",
                "format",
                "status",
                "trigger",
                "repository",
                "purge_data",
                "zz",
            ];
            let pairs: Vec<String> = (0..1 + dice.below(3))
                .map(|_| {
                    let value: String = dice
                        .junk()
                        .bytes()
                        .map(|b| {
                            if b.is_ascii_alphanumeric() {
                                (b as char).to_string()
                            } else {
                                format!("%{b:02X}")
                            }
                        })
                        .collect();
                    format!("{}={value}", dice.pick(&keys))
                })
                .collect();
            path.push('?');
            path.push_str(&pairs.join("&"));
        }
        let method = dice.pick(&methods).clone();
        let mut request = http.request(method.clone(), format!("{}{path}", served.base));
        match dice.below(6) {
            0 => {}
            1 => request = request.bearer_auth(&admin),
            2 => request = request.bearer_auth(&viewer),
            3 => request = request.header("authorization", dice.junk()),
            4 => request = request.header("cookie", format!("invhost_session={}", dice.junk())),
            _ => {
                request = request
                    .bearer_auth(&admin)
                    .header("x-csrf-token", dice.junk())
            }
        }
        match dice.below(4) {
            0 => {}
            1 => {
                request = request
                    .header("content-type", "application/json")
                    .body(dice.json(0).to_string())
            }
            2 => {
                let bytes: Vec<u8> = (0..dice.below(300)).map(|_| dice.next() as u8).collect();
                request = request
                    .header("content-type", "application/json")
                    .body(bytes)
            }
            _ => request = request.body(dice.junk()),
        }
        let response = match request.send().await {
            Ok(response) => response,
            // A request line the client itself refuses to send.
            Err(e) if e.is_builder() => continue,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = response.status().as_u16();
        let streaming = response
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap_or("").starts_with("text/event-stream"));
        // An event stream runs until the client leaves: leave at once.
        let text = if streaming {
            String::new()
        } else {
            response.text().await.unwrap_or_default()
        };
        *statuses.entry(status).or_default() += 1;
        sent += 1;
        assert!(
            status < 500 || (status == 503 && path.starts_with("/healthz")),
            "{method} {path} (seed {seed}): {status} {text}"
        );
        for leak in ["panicked", "sqlx", "SQLITE", "stack backtrace"] {
            assert!(!text.contains(leak), "{method} {path}: {text}");
        }
    }
    let end_rss = rss_kib(pid);
    let warm = warm_rss.expect("the run got past its first quarter");
    let (code, log) = served.stop();
    assert_eq!(
        code,
        Some(0),
        "the host survived {sent} random requests: {log}"
    );
    assert!(!log.contains("panicked"), "{log}");
    assert!(sent > 200, "only {sent} requests in {run_for:?}");
    assert!(
        end_rss < warm + 30 * 1024,
        "memory grew from {warm} KiB to {end_rss} KiB over {sent} requests"
    );
    eprintln!("{sent} random requests, statuses {statuses:?}, RSS {warm} → {end_rss} KiB");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_sign_ins_cannot_pass_the_limit() {
    let db = TestDb::sqlite();
    let s = Setup::new(&db);
    account(&s, "sam", "operator");
    let served = Served::start(&s, &[], "http");
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/session", served.base);
    let attempts: Vec<_> = (0..20)
        .map(|_| {
            let (http, url) = (http.clone(), url.clone());
            tokio::spawn(async move {
                http.post(url)
                    .json(&json!({"name": "sam", "password": "not the password at all"}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for attempt in attempts {
        statuses.push(attempt.await.unwrap());
    }
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(checked + limited, 20, "{statuses:?}");
    assert!(
        checked <= 5,
        "{checked} passwords checked in parallel: {statuses:?}"
    );
    let right = http
        .post(&url)
        .json(&json!({"name": "sam", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(right.status().as_u16(), 429);
    let (code, _) = served.stop();
    assert_eq!(code, Some(0));

    // A name no account can have is not kept, however long.
    let served = Served::start(&s, &[], "http");
    let long = "x".repeat(500_000);
    let answer = http
        .post(format!("{}/api/v1/session", served.base))
        .json(&json!({"name": long, "password": "whatever it is"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 401);
    let (code, _) = served.stop();
    assert_eq!(code, Some(0));
    let audit = s.ok(&["audit", "--json"]);
    assert!(audit.contains("(not a user name)") && !audit.contains(&long[..100]));
}
