//! The simulator over real HTTP on loopback: sign-in, paging, permissions,
//! export jobs, report downloads and every fault.

use std::collections::{BTreeSet, HashSet};
use std::io::{Cursor, Read, Write};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use super::{Faults, Simulator, SimulatorConfig};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn start(config: SimulatorConfig) -> Simulator {
    Simulator::start(config).await.unwrap()
}

fn with_faults(faults: Faults) -> SimulatorConfig {
    SimulatorConfig {
        faults,
        ..SimulatorConfig::default()
    }
}

fn without(permission: &str) -> SimulatorConfig {
    let mut config = SimulatorConfig::default();
    assert!(config.permissions.remove(permission));
    config
}

/// Posts the client-credentials form; returns status and JSON body.
async fn sign_in(
    sim: &Simulator,
    tenant: &str,
    client_id: &str,
    secret: &str,
    scope: &str,
    grant: &str,
) -> (StatusCode, Value) {
    let response = client()
        .post(format!("{}/{tenant}/oauth2/v2.0/token", sim.base_url()))
        .form(&[
            ("client_id", client_id),
            ("client_secret", secret),
            ("grant_type", grant),
            ("scope", scope),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn bearer(sim: &Simulator) -> String {
    let scope = format!("{}/.default", sim.base_url());
    let (status, body) = sign_in(
        sim,
        &sim.tenant_id(),
        &sim.client_id(),
        &sim.client_secret(),
        &scope,
        "client_credentials",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

async fn get(url: &str, token: &str) -> reqwest::Response {
    client().get(url).bearer_auth(token).send().await.unwrap()
}

async fn get_json(url: &str, token: &str) -> (StatusCode, Value) {
    let response = get(url, token).await;
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (status, body)
}

/// Follows `@odata.nextLink` from `url`; returns every item and the pages.
async fn walk(url: &str, token: &str) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut next = Some(url.to_owned());
    let mut pages = 0;
    while let Some(url) = next.take() {
        let (status, body) = get_json(&url, token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        pages += 1;
        items.extend(body["value"].as_array().unwrap().iter().cloned());
        next = body["@odata.nextLink"].as_str().map(str::to_owned);
        assert!(pages < 10_000, "paging does not end");
    }
    (items, pages)
}

fn assert_graph_error(body: &Value, code: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].as_str().is_some(), "{body}");
    let inner = &body["error"]["innerError"];
    assert_eq!(inner["request-id"].as_str().unwrap().len(), 36, "{body}");
    assert!(inner["date"].as_str().unwrap().contains('T'), "{body}");
}

fn assert_aad_error(body: &Value, error: &str, code: u64) {
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_codes"], serde_json::json!([code]), "{body}");
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.starts_with(&format!("AADSTS{code}: ")),
        "{description}"
    );
    for field in ["timestamp", "trace_id", "correlation_id"] {
        assert!(
            body[field].as_str().is_some_and(|v| !v.is_empty()),
            "{field}: {body}"
        );
    }
}

#[tokio::test]
async fn sign_in_succeeds_with_the_tenant_id_or_the_domain() {
    let sim = start(SimulatorConfig::default()).await;
    let scope = format!("{}/.default", sim.base_url());
    for tenant in [sim.tenant_id(), "contoso.onmicrosoft.com".to_owned()] {
        let (status, body) = sign_in(
            &sim,
            &tenant,
            &sim.client_id(),
            &sim.client_secret(),
            &scope,
            "client_credentials",
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3599);
        assert_eq!(body["ext_expires_in"], 3599);
        let access = body["access_token"].as_str().unwrap();
        assert_eq!(access.split('.').count(), 3, "JWT-shaped: {access}");
    }
    // The secret carries `~` and `.` and survives form encoding.
    assert!(sim.client_secret().contains('~'));
    assert_eq!(sim.requests()["token"], 2);
}

#[tokio::test]
async fn sign_in_errors_have_the_identity_platform_shape() {
    let sim = start(SimulatorConfig::default()).await;
    let scope = format!("{}/.default", sim.base_url());
    let (tenant, client_id, secret) = (sim.tenant_id(), sim.client_id(), sim.client_secret());
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        StatusCode,
        &'a str,
        u64,
    );
    let cases: [Case<'_>; 5] = [
        (
            "fabrikam.onmicrosoft.com",
            &client_id,
            &secret,
            &scope,
            "client_credentials",
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90_002,
        ),
        (
            &tenant,
            "11111111-2222-4333-8444-555555555555",
            &secret,
            &scope,
            "client_credentials",
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700_016,
        ),
        (
            &tenant,
            &client_id,
            "not-the-secret",
            &scope,
            "client_credentials",
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7_000_215,
        ),
        (
            &tenant,
            &client_id,
            &secret,
            "https://graph.microsoft.com/.default",
            "client_credentials",
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70_011,
        ),
        (
            &tenant,
            &client_id,
            &secret,
            &scope,
            "password",
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70_003,
        ),
    ];
    for (tenant, client_id, secret, scope, grant, status, error, code) in cases {
        let (got, body) = sign_in(&sim, tenant, client_id, secret, scope, grant).await;
        assert_eq!(got, status, "{body}");
        assert_aad_error(&body, error, code);
    }
    let (_, body) = sign_in(&sim, &tenant, &client_id, "x", &scope, "client_credentials").await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("not the client secret ID")
    );

    for (faults, code) in [
        (
            Faults {
                wrong_secret: true,
                ..Faults::default()
            },
            7_000_215,
        ),
        (
            Faults {
                expired_secret: true,
                ..Faults::default()
            },
            7_000_222,
        ),
    ] {
        let sim = start(with_faults(faults)).await;
        let scope = format!("{}/.default", sim.base_url());
        let (status, body) = sign_in(
            &sim,
            &sim.tenant_id(),
            &sim.client_id(),
            &sim.client_secret(),
            &scope,
            "client_credentials",
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_aad_error(&body, "invalid_client", code);
    }
}

#[tokio::test]
async fn graph_needs_an_issued_bearer_token() {
    let sim = start(SimulatorConfig::default()).await;
    let url = format!("{}/v1.0/users", sim.base_url());
    let response = client().get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().contains_key("www-authenticate"));
    let body: Value = response.json().await.unwrap();
    assert_graph_error(&body, "InvalidAuthenticationToken");
    let (status, body) = get_json(&url, "eyJ.forged.token").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_graph_error(&body, "InvalidAuthenticationToken");
    let (status, body) = get_json(
        &format!("{}/v1.0/me/messages", sim.base_url()),
        &bearer(&sim).await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_graph_error(&body, "ResourceNotFound");
    assert_eq!(sim.requests()["users"], 2);
    assert_eq!(sim.requests()["not_found"], 1);
}

#[tokio::test]
async fn users_page_by_skiptoken_and_count_as_expected() {
    let sim = start(SimulatorConfig {
        users: 250,
        ..SimulatorConfig::default()
    })
    .await;
    let token = bearer(&sim).await;
    let base = sim.base_url();
    let select = "id,userPrincipalName,accountEnabled,assignedLicenses,userType";
    let first = format!("{base}/v1.0/users?$select={select}&$top=100");
    let (_, body) = get_json(&first, &token).await;
    let next = body["@odata.nextLink"].as_str().unwrap();
    assert!(next.starts_with(&format!("{base}/v1.0/users?")), "{next}");
    assert!(
        next.contains("$skiptoken=") && !next.contains("$skip="),
        "{next}"
    );
    assert!(
        next.contains("$top=100") && next.contains("$select="),
        "{next}"
    );
    let (users, pages) = walk(&first, &token).await;
    assert_eq!(users.len() as u64, sim.expected().users);
    assert_eq!(pages, 3);
    let ids: HashSet<&str> = users.iter().map(|u| u["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), users.len());
    let assignments: u64 = users
        .iter()
        .map(|u| u["assignedLicenses"].as_array().unwrap().len() as u64)
        .sum();
    assert_eq!(assignments, sim.expected().licence_assignments);
    assert!(
        users.iter().all(|u| u.get("department").is_none()),
        "not selected"
    );
    assert!(users.iter().any(|u| u["userType"] == "Guest"));

    // Without $select Graph returns its default set only.
    let (_, body) = get_json(&format!("{base}/v1.0/users?$top=5"), &token).await;
    let user = &body["value"][0];
    assert!(user.get("userPrincipalName").is_some() && user.get("accountEnabled").is_none());
    // Page size limits and $skip.
    let (status, body) = get_json(&format!("{base}/v1.0/users?$top=1000"), &token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_graph_error(&body, "Request_BadRequest");
    let (status, _) = get_json(&format!("{base}/v1.0/users?$skip=10"), &token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = get_json(&format!("{base}/v1.0/users?$skiptoken=bogus"), &token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // The default page is 100.
    let (_, body) = get_json(&format!("{base}/v1.0/users"), &token).await;
    assert_eq!(body["value"].as_array().unwrap().len(), 100);
}

#[tokio::test]
async fn directory_reads_without_permission_are_denied() {
    for (permission, path) in [
        ("User.Read.All", "users"),
        ("LicenseAssignment.Read.All", "subscribedSkus"),
        ("Device.Read.All", "devices"),
    ] {
        let sim = start(without(permission)).await;
        let token = bearer(&sim).await;
        let (status, body) = get_json(&format!("{}/v1.0/{path}", sim.base_url()), &token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert_graph_error(&body, "Authorization_RequestDenied");
        assert_eq!(
            body["error"]["message"],
            "Insufficient privileges to complete the operation."
        );
    }
}

#[tokio::test]
async fn subscribed_skus_match_the_assignments() {
    let sim = start(SimulatorConfig {
        users: 80,
        ..SimulatorConfig::default()
    })
    .await;
    let token = bearer(&sim).await;
    let (status, body) = get_json(&format!("{}/v1.0/subscribedSkus", sim.base_url()), &token).await;
    assert_eq!(status, StatusCode::OK);
    let skus = body["value"].as_array().unwrap();
    assert_eq!(skus.len() as u64, sim.expected().licences);
    let consumed: u64 = skus
        .iter()
        .map(|s| s["consumedUnits"].as_u64().unwrap())
        .sum();
    assert_eq!(consumed, sim.expected().licence_assignments);
    let parts: BTreeSet<&str> = skus
        .iter()
        .map(|s| s["skuPartNumber"].as_str().unwrap())
        .collect();
    for part in [
        "ENTERPRISEPACK",
        "SPE_E3",
        "SPE_E5",
        "POWER_BI_PRO",
        "VISIOCLIENT",
        "FLOW_FREE",
    ] {
        assert!(parts.contains(part), "{part}");
    }
    for sku in skus {
        assert!(sku["prepaidUnits"]["enabled"].is_u64());
        assert!(
            sku["servicePlans"]
                .as_array()
                .is_some_and(|p| !p.is_empty())
        );
    }
}

#[tokio::test]
async fn devices_join_entra_and_intune() {
    let sim = start(SimulatorConfig {
        users: 60,
        devices: 150,
        ..SimulatorConfig::default()
    })
    .await;
    let token = bearer(&sim).await;
    let base = sim.base_url();
    let (entra, pages) = walk(&format!("{base}/v1.0/devices?$top=50"), &token).await;
    assert_eq!(entra.len() as u64, sim.expected().entra_devices);
    assert_eq!(entra.len(), 180);
    assert_eq!(pages, 4);
    let (intune, _) = walk(
        &format!("{base}/v1.0/deviceManagement/managedDevices?$top=40"),
        &token,
    )
    .await;
    assert_eq!(intune.len() as u64, sim.expected().managed_devices);
    let entra_ids: HashSet<&str> = entra
        .iter()
        .map(|d| d["deviceId"].as_str().unwrap())
        .collect();
    for device in &intune {
        assert!(entra_ids.contains(device["azureADDeviceId"].as_str().unwrap()));
        let enrolled = device["enrolledDateTime"].as_str().unwrap();
        assert_eq!(
            enrolled.len(),
            "2024-03-01T10:22:31.1234567Z".len(),
            "{enrolled}"
        );
        assert_eq!(device["physicalMemoryInBytes"], 0);
    }
    assert!(entra.iter().take(150).all(|d| d["isManaged"] == true));
    assert!(entra.iter().skip(150).all(|d| d["isManaged"] != true));
    // $top above Intune's limit is capped, not refused.
    let (status, body) = get_json(
        &format!("{base}/v1.0/deviceManagement/managedDevices?$top=5000"),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["value"].as_array().unwrap().len(), 150);
}

#[tokio::test]
async fn intune_needs_its_permission_and_licence() {
    let sim = start(without("DeviceManagementManagedDevices.Read.All")).await;
    let token = bearer(&sim).await;
    let (status, body) = get_json(
        &format!("{}/v1.0/deviceManagement/managedDevices", sim.base_url()),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_graph_error(&body, "Forbidden");

    let sim = start(SimulatorConfig {
        intune_licensed: false,
        ..SimulatorConfig::default()
    })
    .await;
    let token = bearer(&sim).await;
    for path in [
        "deviceManagement/managedDevices",
        "deviceManagement/detectedApps",
    ] {
        let (status, body) = get_json(&format!("{}/v1.0/{path}", sim.base_url()), &token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_graph_error(&body, "BadRequest");
        let inner: Value =
            serde_json::from_str(body["error"]["message"].as_str().unwrap()).unwrap();
        assert!(
            inner["Message"]
                .as_str()
                .unwrap()
                .starts_with("Request not applicable to target tenant.")
        );
    }
}

/// `(DeviceId, ApplicationKey)` pairs of an AppInvRawData CSV.
fn export_pairs(zip_bytes: Vec<u8>) -> (Vec<String>, Vec<(String, String)>) {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip_bytes)).unwrap();
    assert_eq!(archive.len(), 1);
    let mut text = String::new();
    archive
        .by_index(0)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let pairs = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[5].to_owned(), r[0].to_owned())
        })
        .collect();
    (header, pairs)
}

async fn create_job(sim: &Simulator, token: &str, report: &str) -> (StatusCode, Value) {
    let response = client()
        .post(format!(
            "{}/v1.0/deviceManagement/reports/exportJobs",
            sim.base_url()
        ))
        .bearer_auth(token)
        .json(&serde_json::json!({"reportName": report, "format": "csv", "select": []}))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn poll(sim: &Simulator, token: &str, id: &str) -> Value {
    let url = format!(
        "{}/v1.0/deviceManagement/reports/exportJobs('{id}')",
        sim.base_url()
    );
    let (status, body) = get_json(&url, token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn an_export_job_round_trip_yields_every_installation() {
    let sim = start(SimulatorConfig {
        users: 50,
        devices: 70,
        ..SimulatorConfig::default()
    })
    .await;
    let token = bearer(&sim).await;
    let (status, job) = create_job(&sim, &token, "AppInvRawData").await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    assert_eq!(job["status"], "notStarted");
    assert!(job["url"].is_null());
    let id = job["id"].as_str().unwrap();
    assert!(id.starts_with("AppInvRawData_"), "{id}");
    assert_eq!(poll(&sim, &token, id).await["status"], "inProgress");
    let done = poll(&sim, &token, id).await;
    assert_eq!(done["status"], "completed");
    let url = done["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/download/export/", sim.base_url())) && url.ends_with(".zip")
    );

    // The pre-signed link refuses a bearer token.
    let response = get(url, &token).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("without the bearer token")
    );
    let response = client().get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (header, pairs) = export_pairs(response.bytes().await.unwrap().to_vec());
    assert_eq!(header.len(), 13);
    assert_eq!(header[0], "ApplicationKey");
    assert_eq!(header[12], "UserName");
    assert_eq!(pairs.len() as u64, sim.expected().installations);
    let unique: BTreeSet<&(String, String)> = pairs.iter().collect();
    assert_eq!(unique.len(), pairs.len());
    let keys: BTreeSet<&str> = pairs.iter().map(|p| p.1.as_str()).collect();
    assert_eq!(keys.len() as u64, sim.expected().applications);

    // Detected apps and their devices describe the same installations.
    let base = sim.base_url();
    let (apps, _) = walk(
        &format!("{base}/v1.0/deviceManagement/detectedApps?$top=999"),
        &token,
    )
    .await;
    assert_eq!(apps.len() as u64, sim.expected().applications);
    let device_count: u64 = apps
        .iter()
        .map(|a| a["deviceCount"].as_u64().unwrap())
        .sum();
    assert_eq!(device_count, sim.expected().installations);
    let mut per_app = BTreeSet::new();
    for app in &apps {
        let key = app["id"].as_str().unwrap();
        let url = format!(
            "{base}/v1.0/deviceManagement/detectedApps/{key}/managedDevices?$select=id,deviceName&$top=7"
        );
        let (devices, _) = walk(&url, &token).await;
        assert_eq!(devices.len() as u64, app["deviceCount"].as_u64().unwrap());
        for d in devices {
            per_app.insert((d["id"].as_str().unwrap().to_owned(), key.to_owned()));
        }
    }
    let from_export: BTreeSet<(String, String)> = pairs.into_iter().collect();
    assert_eq!(per_app, from_export);
    assert!(apps.iter().any(|a| a["publisher"] == ""));
    let names: BTreeSet<&str> = apps
        .iter()
        .map(|a| a["displayName"].as_str().unwrap())
        .collect();
    assert!(
        names.contains("Microsoft 365 Apps for enterprise") && names.contains("Microsoft Edge")
    );

    let requests = sim.requests();
    assert_eq!(requests["export_job_create"], 1);
    assert_eq!(requests["export_job_poll"], 2);
    assert_eq!(requests["export_download"], 2);
    assert!(requests["detected_app_devices"] >= apps.len() as u64);
}

#[tokio::test]
async fn export_jobs_refuse_what_real_intune_refuses() {
    let sim = start(SimulatorConfig {
        export_polls: 3,
        ..SimulatorConfig::default()
    })
    .await;
    let token = bearer(&sim).await;
    let (status, body) = create_job(&sim, &token, "DeviceCompliance").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_graph_error(&body, "BadRequest");
    let (status, _) = get_json(
        &format!(
            "{}/v1.0/deviceManagement/reports/exportJobs",
            sim.base_url()
        ),
        &token,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "listing the collection fails"
    );
    let (_, job) = create_job(&sim, &token, "AppInvRawData").await;
    let id = job["id"].as_str().unwrap();
    for _ in 0..3 {
        assert_eq!(poll(&sim, &token, id).await["status"], "inProgress");
    }
    assert_eq!(poll(&sim, &token, id).await["status"], "completed");

    let sim = start(SimulatorConfig {
        export_jobs: false,
        ..SimulatorConfig::default()
    })
    .await;
    let (status, body) = create_job(&sim, &bearer(&sim).await, "AppInvRawData").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_graph_error(&body, "Forbidden");
    let sim = start(without("DeviceManagementManagedDevices.Read.All")).await;
    let (status, _) = create_job(&sim, &bearer(&sim).await, "AppInvRawData").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// Follows a report's 302 without the token; returns the CSV text.
async fn report_csv(sim: &Simulator, token: &str, function: &str) -> String {
    let url = format!(
        "{}/v1.0/reports/{function}?$format=text/csv",
        sim.base_url()
    );
    let response = get(&url, token).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{}/download/report/", sim.base_url())),
        "{location}"
    );
    assert_eq!(
        get(&location, token).await.status(),
        StatusCode::BAD_REQUEST
    );
    let response = client().get(&location).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]), "UTF-8 BOM");
    String::from_utf8(bytes[3..].to_vec()).unwrap()
}

fn records(text: &str) -> (csv::StringRecord, Vec<csv::StringRecord>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().clone();
    (header, reader.records().map(|r| r.unwrap()).collect())
}

#[tokio::test]
async fn reports_redirect_to_bom_csv_matching_expected() {
    let sim = start(SimulatorConfig {
        users: 90,
        ..SimulatorConfig::default()
    })
    .await;
    let token = bearer(&sim).await;
    let expected = sim.expected();

    let text = report_csv(&sim, &token, "getM365AppUserDetail(period='D30')").await;
    let (header, rows) = records(&text);
    assert_eq!(&header[0], "Report Refresh Date");
    assert_eq!(&header[9], "Outlook");
    assert_eq!(&header[15], "Outlook (Windows)");
    let yes: u64 = rows
        .iter()
        .map(|r| (9..15).filter(|c| &r[*c] == "Yes").count() as u64)
        .sum();
    assert_eq!(yes, expected.app_usage);
    let refresh = &rows[0][0];
    assert!(
        refresh.len() == 10 && refresh.as_bytes()[4] == b'-',
        "{refresh}"
    );
    assert!(rows.iter().all(|r| r[1].contains('@')));

    let text = report_csv(&sim, &token, "getOffice365ActivationsUserDetail").await;
    let (header, rows) = records(&text);
    assert_eq!(header.len(), 11);
    assert_eq!(&header[10], "Activated On Shared Computer");
    assert_eq!(rows.len() as u64, expected.activations);

    let text = report_csv(&sim, &token, "getOffice365ActiveUserDetail(period='D30')").await;
    let (header, rows) = records(&text);
    assert_eq!(header.len(), 25);
    assert_eq!(&header[5], "Has Exchange License");
    assert_eq!(&header[23], "Assigned Products");
    let has: u64 = rows
        .iter()
        .map(|r| (5..11).filter(|c| &r[*c] == "True").count() as u64)
        .sum();
    assert_eq!(has, expected.active_user_services);
    assert!(rows.iter().any(|r| r[23].contains('+')));

    let requests = sim.requests();
    assert_eq!(requests["report_app_usage"], 1);
    assert_eq!(requests["report_activations"], 1);
    assert_eq!(requests["report_active_users"], 1);
    assert_eq!(requests["report_download"], 6);

    let (status, _) = get_json(
        &format!(
            "{}/v1.0/reports/getM365AppUserDetail(period='D12')",
            sim.base_url()
        ),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn concealed_reports_use_hex_names() {
    let sim = start(SimulatorConfig {
        concealed_names: true,
        ..SimulatorConfig::default()
    })
    .await;
    let token = bearer(&sim).await;
    let first = report_csv(&sim, &token, "getOffice365ActiveUserDetail(period='D30')").await;
    let (_, rows) = records(&first);
    for r in &rows {
        for cell in [&r[1], &r[2]] {
            assert_eq!(cell.len(), 32);
            assert!(
                cell.bytes()
                    .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)),
                "{cell}"
            );
        }
    }
    let again = report_csv(&sim, &token, "getOffice365ActiveUserDetail(period='D30')").await;
    assert_eq!(first, again, "stable per user");
}

#[tokio::test]
async fn reports_need_their_permission() {
    let sim = start(without("Reports.Read.All")).await;
    let token = bearer(&sim).await;
    let (status, body) = get_json(
        &format!(
            "{}/v1.0/reports/getOffice365ActivationsUserDetail",
            sim.base_url()
        ),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_graph_error(&body, "S2SUnauthorized");
}

#[tokio::test]
async fn throttling_faults() {
    let sim = start(with_faults(Faults {
        throttle_every: Some(3),
        ..Faults::default()
    }))
    .await;
    let token = bearer(&sim).await;
    let url = format!("{}/v1.0/subscribedSkus", sim.base_url());
    let statuses: Vec<(StatusCode, Option<String>)> = {
        let mut out = Vec::new();
        for _ in 0..6 {
            let r = get(&url, &token).await;
            let retry = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            out.push((r.status(), retry));
        }
        out
    };
    let throttled = (StatusCode::TOO_MANY_REQUESTS, Some("0.05".to_owned()));
    assert_eq!(statuses[2], throttled);
    assert_eq!(statuses[5], throttled);
    assert_eq!(statuses.iter().filter(|s| s.0 == StatusCode::OK).count(), 4);

    let sim = start(with_faults(Faults {
        throttle_every: Some(1),
        throttle_without_retry_after: true,
        ..Faults::default()
    }))
    .await;
    let r = get(
        &format!("{}/v1.0/users", sim.base_url()),
        &bearer(&sim).await,
    )
    .await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().get("retry-after").is_none());
    let body: Value = r.json().await.unwrap();
    assert_graph_error(&body, "TooManyRequests");

    let sim = start(with_faults(Faults {
        always_throttle: true,
        ..Faults::default()
    }))
    .await;
    let token = bearer(&sim).await;
    for _ in 0..4 {
        let r = get(&format!("{}/v1.0/users", sim.base_url()), &token).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()["retry-after"], "0.01");
    }
}

#[tokio::test]
async fn an_unavailable_burst_answers_503() {
    let sim = start(with_faults(Faults {
        unavailable_burst: Some((2, 2)),
        ..Faults::default()
    }))
    .await;
    let token = bearer(&sim).await;
    let url = format!("{}/v1.0/subscribedSkus", sim.base_url());
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(get(&url, &token).await.status());
    }
    let ok = StatusCode::OK;
    let down = StatusCode::SERVICE_UNAVAILABLE;
    assert_eq!(statuses, vec![ok, ok, down, down, ok]);
}

#[tokio::test]
async fn dropped_connections_send_no_response() {
    let sim = start(with_faults(Faults {
        drop_connection_every: Some(2),
        ..Faults::default()
    }))
    .await;
    let token = bearer(&sim).await;
    let url = format!("{}/v1.0/subscribedSkus", sim.base_url());
    assert_eq!(get(&url, &token).await.status(), StatusCode::OK);
    // Request 2 on a raw socket: the server closes it without a byte.
    let addr = sim.base_url().trim_start_matches("http://").to_owned();
    let bytes = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(
            stream,
            "GET /v1.0/subscribedSkus HTTP/1.1\r\nHost: sim\r\nAuthorization: Bearer {token}\r\n\r\n"
        )
        .unwrap();
        let mut buf = Vec::new();
        let _ = stream.read_to_end(&mut buf);
        buf
    })
    .await
    .unwrap();
    assert!(bytes.is_empty(), "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(
        get(&url, &bearer(&sim).await).await.status(),
        StatusCode::OK
    );
    let failed = client()
        .get(&url)
        .bearer_auth(bearer(&sim).await)
        .send()
        .await;
    assert!(failed.is_err(), "request 4 is dropped too");
}

#[tokio::test]
async fn tokens_wear_out_and_renew() {
    let sim = start(with_faults(Faults {
        token_valid_requests: Some(2),
        ..Faults::default()
    }))
    .await;
    let first = bearer(&sim).await;
    let url = format!("{}/v1.0/subscribedSkus", sim.base_url());
    assert_eq!(get(&url, &first).await.status(), StatusCode::OK);
    assert_eq!(get(&url, &first).await.status(), StatusCode::OK);
    let (status, body) = get_json(&url, &first).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_graph_error(&body, "InvalidAuthenticationToken");
    assert_eq!(
        body["error"]["message"],
        "Access token has expired or is not yet valid."
    );
    let second = bearer(&sim).await;
    assert_ne!(first, second);
    assert_eq!(get(&url, &second).await.status(), StatusCode::OK);

    let sim = start(with_faults(Faults {
        token_expires_in: Some(1),
        ..Faults::default()
    }))
    .await;
    let scope = format!("{}/.default", sim.base_url());
    let (_, body) = sign_in(
        &sim,
        &sim.tenant_id(),
        &sim.client_id(),
        &sim.client_secret(),
        &scope,
        "client_credentials",
    )
    .await;
    assert_eq!(body["expires_in"], 1);
    let short = body["access_token"].as_str().unwrap().to_owned();
    let url = format!("{}/v1.0/subscribedSkus", sim.base_url());
    assert_eq!(get(&url, &short).await.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(get(&url, &short).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_malformed_page_is_cut_json() {
    let sim = start(with_faults(Faults {
        malformed_page: Some("users".into()),
        ..Faults::default()
    }))
    .await;
    let token = bearer(&sim).await;
    let (status, body) = get_json(&format!("{}/v1.0/users?$top=10", sim.base_url()), &token).await;
    assert_eq!(status, StatusCode::OK);
    let next = body["@odata.nextLink"].as_str().unwrap();
    let text = get(next, &token).await.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    assert!(text.starts_with("{\"@odata.context\""));
    // A stream that fits in one page gets its only page cut.
    let text = get(&format!("{}/v1.0/users?$top=999", sim.base_url()), &token)
        .await
        .text()
        .await
        .unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err());
    // Other streams are whole.
    let (status, _) = get_json(&format!("{}/v1.0/devices", sim.base_url()), &token).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn export_job_faults() {
    let sim = start(with_faults(Faults {
        export_job_fails: true,
        ..Faults::default()
    }))
    .await;
    let token = bearer(&sim).await;
    let (_, job) = create_job(&sim, &token, "AppInvRawData").await;
    let id = job["id"].as_str().unwrap();
    assert_eq!(poll(&sim, &token, id).await["status"], "inProgress");
    let failed = poll(&sim, &token, id).await;
    assert_eq!(failed["status"], "failed");
    assert!(failed["url"].is_null());

    let sim = start(with_faults(Faults {
        export_job_never_completes: true,
        ..Faults::default()
    }))
    .await;
    let token = bearer(&sim).await;
    let (_, job) = create_job(&sim, &token, "AppInvRawData").await;
    let id = job["id"].as_str().unwrap();
    for _ in 0..6 {
        assert_eq!(poll(&sim, &token, id).await["status"], "inProgress");
    }
}

#[tokio::test]
async fn truncated_csvs_cut_the_last_row() {
    let sim = start(with_faults(Faults {
        truncated_csv: Some("app_usage".into()),
        ..Faults::default()
    }))
    .await;
    let token = bearer(&sim).await;
    let text = report_csv(&sim, &token, "getM365AppUserDetail(period='D7')").await;
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let results: Vec<Result<csv::StringRecord, csv::Error>> = reader.records().collect();
    assert!(results.last().unwrap().is_err(), "the last row is short");
    assert!(results[..results.len() - 1].iter().all(Result::is_ok));
    // Other reports are whole.
    let text = report_csv(&sim, &token, "getOffice365ActivationsUserDetail").await;
    assert!(text.ends_with("\r\n"));

    let sim = start(with_faults(Faults {
        truncated_csv: Some("app_inventory".into()),
        ..Faults::default()
    }))
    .await;
    let token = bearer(&sim).await;
    let (_, job) = create_job(&sim, &token, "AppInvRawData").await;
    let id = job["id"].as_str().unwrap();
    poll(&sim, &token, id).await;
    let url = poll(&sim, &token, id).await["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let bytes = client()
        .get(&url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes.to_vec())).unwrap();
    let mut text = String::new();
    archive
        .by_index(0)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    let last = text.lines().last().unwrap();
    assert!(last.split(',').count() < 13, "{last}");
}

#[tokio::test]
async fn a_large_tenant_starts_at_once() {
    let started = Instant::now();
    let sim = start(SimulatorConfig {
        users: 10_000,
        devices: 10_000,
        apps_per_device: 20,
        catalog_apps: 200,
        ..SimulatorConfig::default()
    })
    .await;
    let elapsed = started.elapsed();
    let expected = sim.expected();
    assert_eq!(expected.users, 10_000);
    assert_eq!(expected.entra_devices, 12_000);
    assert!(expected.installations > 150_000, "{expected:?}");
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
    // The last page of users is served without walking the others.
    let token = bearer(&sim).await;
    let (_, body) = get_json(&format!("{}/v1.0/users?$top=999", sim.base_url()), &token).await;
    assert_eq!(body["value"].as_array().unwrap().len(), 999);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_same_seed_gives_the_same_tenant() {
    let a = start(SimulatorConfig {
        seed: 42,
        ..SimulatorConfig::default()
    })
    .await;
    let b = start(SimulatorConfig {
        seed: 42,
        ..SimulatorConfig::default()
    })
    .await;
    let c = start(SimulatorConfig {
        seed: 43,
        ..SimulatorConfig::default()
    })
    .await;
    assert_eq!(a.tenant_id(), b.tenant_id());
    assert_eq!(a.client_secret(), b.client_secret());
    assert_eq!(a.expected(), b.expected());
    assert_ne!(a.tenant_id(), c.tenant_id());
    let (ta, tb) = (bearer(&a).await, bearer(&b).await);
    let (_, ua) = get_json(
        &format!("{}/v1.0/users?$select=id,userPrincipalName", a.base_url()),
        &ta,
    )
    .await;
    let (_, ub) = get_json(
        &format!("{}/v1.0/users?$select=id,userPrincipalName", b.base_url()),
        &tb,
    )
    .await;
    assert_eq!(ua["value"], ub["value"]);
    assert_eq!(a.total_requests(), 2);
    a.shutdown().await;
    b.shutdown().await;
}
