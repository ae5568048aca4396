//! Consolidation (issue 6) on both backends, against hand-computed results:
//! two connectors describing overlapping machines, rule precedence, the
//! category thresholds, concealed names and the reclaim list.

use chrono::{Days, NaiveDate};
use connector_core::{
    Application, ApplicationUsage, Device, Installation, Licence, LicenceAssignment, Record,
    RecordKind, User,
};
use repo_store::Trigger;
use repo_store::consolidation::{Catalog, Request, Thresholds};
use repo_store::{NewConnector, NewProcess, RunOutcome, SecretKey, Store, WriterConfig};
use sea_orm::ConnectionTrait;

use super::support::{TestDb, batch, on_both_backends};

on_both_backends!(
    overlapping_machines_merge_by_entra_id_serial_then_name,
    categories_follow_the_thresholds_and_say_why,
    licences_and_the_reclaim_list_match_a_hand_computed_expectation,
    operator_rules_take_precedence_and_unmatched_titles_stay_visible,
    an_empty_repository_consolidates_to_empty_results_with_a_note,
    a_failed_consolidation_keeps_the_previous_results,
);

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 30).unwrap()
}

/// `days` before the day of judgement, as `YYYY-MM-DD`.
fn ago(days: u64) -> String {
    (as_of() - Days::new(days)).format("%Y-%m-%d").to_string()
}

struct Repo {
    store: Store,
    repository_id: i64,
    intune: i64,
    csv: i64,
}

impl Repo {
    async fn new(db: &TestDb) -> Repo {
        let store = db.store().await;
        let key = SecretKey::load_or_create(&db.dir.path().join("secret.key")).unwrap();
        let repository_id = store
            .repository(repo_store::DEFAULT_REPOSITORY)
            .await
            .unwrap()
            .id;
        let mut ids = Vec::new();
        for (name, kind) in [("Contoso 365", "o365"), ("Spreadsheet", "csv-inventory")] {
            let row = store
                .create_connector(
                    NewConnector {
                        name: name.into(),
                        connector_type: kind.into(),
                        parameters: connector_core::Parameters::default(),
                        secret_keys: vec![],
                        run_consolidation: false,
                    },
                    &key,
                )
                .await
                .unwrap();
            ids.push(row.id);
        }
        Repo {
            store,
            repository_id,
            intune: ids[0],
            csv: ids[1],
        }
    }

    async fn sync(&self, connector: i64, records: Vec<Record>) {
        let run = self
            .store
            .queue_process(NewProcess {
                parent_id: None,
                repository_id: self.repository_id,
                connector_id: Some(connector),
                action: "Sync Data - test".into(),
                trigger: Trigger::Operator,
                clean: false,
                host: None,
                continue_on_failure: false,
            })
            .await
            .unwrap()
            .id;
        let mut writer = self.store.sync_writer(
            self.repository_id,
            connector,
            run,
            false,
            WriterConfig::default(),
        );
        writer.write(batch(records, RecordKind::ALL)).await.unwrap();
        writer.finish(RunOutcome::Succeeded).await.unwrap();
    }

    /// One consolidation on the day of judgement, as the store reports it.
    async fn try_consolidate(
        &self,
        catalog: &Catalog,
        thresholds: Thresholds,
    ) -> Result<repo_store::consolidation::Summary, repo_store::StoreError> {
        self.store
            .consolidate(&Request {
                repository_id: self.repository_id,
                process_id: None,
                catalog,
                rule_files: vec![],
                thresholds,
                as_of: as_of(),
            })
            .await
    }

    async fn consolidate_with(&self, catalog: &Catalog) -> repo_store::consolidation::Summary {
        self.try_consolidate(catalog, Thresholds::default())
            .await
            .unwrap()
    }

    async fn consolidate(&self) -> repo_store::consolidation::Summary {
        self.consolidate_with(&Catalog::default_only().unwrap())
            .await
    }

    async fn products(&self) -> Vec<repo_store::consolidation::ProductUsage> {
        self.store.product_usage(self.repository_id).await.unwrap()
    }
}

fn device(
    key: &str,
    name: &str,
    entra: Option<&str>,
    serial: Option<&str>,
    user: Option<&str>,
) -> Record {
    let mut d = Device::new(key, name);
    d.entra_device_id = entra.map(Into::into);
    d.serial_number = serial.map(Into::into);
    d.primary_user = user.map(Into::into);
    d.into()
}

fn app(key: &str, name: &str, publisher: &str, version: &str) -> Record {
    let mut a = Application::new(key, name);
    a.publisher = Some(publisher.into());
    a.version = Some(version.into());
    a.platform = Some("Windows".into());
    a.into()
}

fn install(
    device: &str,
    app: &str,
    installed_on: Option<String>,
    last_used: Option<String>,
) -> Record {
    let mut i = Installation::new(device, app);
    i.installed_on = installed_on;
    i.last_used = last_used;
    i.into()
}

fn usage(user: &str, application: &str, last: Option<String>, concealed: bool) -> Record {
    let mut u = ApplicationUsage::default();
    u.source_key = format!("{user}|{application}");
    u.user = user.into();
    u.application = application.into();
    u.last_activity = last;
    u.report_period_days = Some(30);
    u.report_refresh_date = Some(ago(2));
    u.concealed = concealed;
    u.into()
}

fn user(key: &str, upn: &str) -> Record {
    User::new(key, upn).into()
}

/// The machines of the walk-through, as Intune and a spreadsheet see them.
async fn overlapping(repo: &Repo) {
    let m365 = "Microsoft 365 Apps for enterprise - en-us";
    repo.sync(
        repo.intune,
        vec![
            // Intune and Entra rows of one machine share the Entra device id.
            device(
                "i1",
                "PC-001",
                Some("AAAA-0001"),
                Some("SN001"),
                Some("Alice@Contoso.com"),
            ),
            device("e1", "PC-001", Some("aaaa-0001"), None, None),
            device(
                "i2",
                "LAPTOP-7",
                Some("BBBB-0002"),
                Some("sn002"),
                Some("bob@contoso.com"),
            ),
            // A firmware-default serial names no machine.
            device("i3", "KIOSK", None, Some("To be filled by O.E.M."), None),
            app("a1", m365, "Microsoft Corporation", "16.0.1"),
            app("a2", "Zoom Workplace", "Zoom Video Communications", "6.0"),
            app("a3", "Contoso Line-of-Business Tool", "Contoso", "1.2"),
            app("a4", "Microsoft Teams", "Microsoft", "24.1"),
            install("i1", "a1", None, None),
            install("i2", "a1", None, None),
            install("i1", "a2", None, None),
            install("i3", "a3", None, None),
            install("i2", "a4", None, None),
            user("u1", "Alice@Contoso.com"),
            user("u2", "bob@contoso.com"),
            user("u3", "carol@contoso.com"),
            usage("Alice@Contoso.com", "Word", Some(ago(5)), false),
            usage("bob@contoso.com", "Excel", Some(ago(95)), false),
            usage("alice@contoso.com", "Exchange", Some(ago(3)), false),
            usage("bob@contoso.com", "Exchange", Some(ago(100)), false),
            usage("carol@contoso.com", "Exchange", None, false),
            usage(
                "0123456789ABCDEF0123456789ABCDEF",
                "Teams",
                Some(ago(1)),
                true,
            ),
        ],
    )
    .await;
    repo.sync(
        repo.csv,
        vec![
            // Serial in another case, name with a domain suffix.
            device("c1", "pc-001.contoso.com", None, Some("sn001"), None),
            // No serial: joins by name without the domain.
            device("c2", "Laptop-7.corp.local", None, None, None),
            // Same name as PC-001 but another serial: another machine.
            device("c3", "PC-001", None, Some("SN999"), None),
            device("c4", "kiosk.contoso.com", None, None, None),
            // The edition in another case is the same product.
            app(
                "b1",
                "Microsoft 365 Apps for Enterprise - en-us",
                "Microsoft Corporation",
                "16.0.1",
            ),
            app("b2", "Zoom", "Zoom", "6.0"),
            install("c1", "b1", Some(ago(400)), None),
            install("c3", "b2", None, Some(ago(10))),
            user("x1", "ALICE@contoso.com"),
        ],
    )
    .await;
}

async fn overlapping_machines_merge_by_entra_id_serial_then_name(db: &TestDb) {
    let repo = Repo::new(db).await;
    overlapping(&repo).await;
    let summary = repo.consolidate().await;
    assert_eq!(
        (summary.raw_devices, summary.devices),
        (8, 4),
        "{summary:?}"
    );
    assert_eq!(
        (summary.users, summary.concealed_identities),
        (3, 1),
        "{summary:?}"
    );
    assert_eq!(summary.unlinked_installations, 0);

    let pc = repo
        .store
        .explain_device(repo.repository_id, "pc-001.contoso.com")
        .await;
    assert!(pc.is_err(), "two machines are named PC-001: {pc:?}");
    let laptop = repo
        .store
        .explain_device(repo.repository_id, "laptop-7")
        .await
        .unwrap();
    let keys: Vec<(String, String)> = laptop
        .sources
        .iter()
        .map(|s| {
            (
                s["source_key"].as_str().unwrap().into(),
                s["matched_by"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            ("i2".to_owned(), "Entra device id".to_owned()),
            ("c2".into(), "name".into())
        ]
    );
    let kiosk = repo
        .store
        .explain_device(repo.repository_id, "KIOSK")
        .await
        .unwrap();
    assert_eq!(kiosk.sources.len(), 2, "{kiosk:?}");
    let id = kiosk.device["id"].as_i64().unwrap();
    let by_id = repo
        .store
        .explain_device(repo.repository_id, &id.to_string())
        .await
        .unwrap();
    assert_eq!(by_id.device, kiosk.device);

    // Intune's PC-001 and the spreadsheet's pc-001 (same serial) are one
    // installation of Microsoft 365 Apps; c3 is a machine of its own.
    let products = repo.products().await;
    let m365 = products
        .iter()
        .find(|p| p.product == "Microsoft 365 Apps" && p.basis == "installations")
        .unwrap();
    assert_eq!(
        (m365.installations, m365.devices, m365.users),
        (2, 2, 2),
        "{m365:?}"
    );
    let zoom = products
        .iter()
        .find(|p| p.product == "Zoom Workplace")
        .unwrap();
    assert_eq!((zoom.installations, zoom.devices), (2, 2), "{zoom:?}");
}

async fn categories_follow_the_thresholds_and_say_why(db: &TestDb) {
    let repo = Repo::new(db).await;
    overlapping(&repo).await;
    // One 7-Zip per machine, used on the threshold days and either side.
    let mut records = Vec::new();
    for (n, days) in [(0, 30), (1, 31), (2, 90), (3, 91)] {
        records.push(device(
            &format!("t{n}"),
            &format!("T-{days}"),
            None,
            None,
            None,
        ));
        records.push(install(&format!("t{n}"), "z", None, Some(ago(days))));
    }
    records.push(device("t9", "NEW-1", None, None, None));
    records.push(install("t9", "z", Some(ago(3)), None));
    records.push(app("z", "7-Zip 24.08 (x64)", "Igor Pavlov", "24.08"));
    let spreadsheet_rows = {
        // Keep the spreadsheet's earlier rows: a sync replaces a kind it completes.
        let mut rows = vec![
            device("c1", "pc-001.contoso.com", None, Some("sn001"), None),
            device("c2", "Laptop-7.corp.local", None, None, None),
            device("c3", "PC-001", None, Some("SN999"), None),
            device("c4", "kiosk.contoso.com", None, None, None),
        ];
        rows.extend(records);
        rows
    };
    repo.sync(repo.csv, spreadsheet_rows).await;
    repo.consolidate().await;

    let products = repo.products().await;
    let zip = products.iter().find(|p| p.product == "7-Zip").unwrap();
    assert_eq!(
        (zip.used, zip.rarely_used, zip.unused, zip.unreported),
        (1, 2, 1, 1),
        "30 days is Used, 31 and 90 Rarely Used, 91 Unused; installed 3 days ago is Unreported: {zip:?}"
    );
    let reason = |device: &str, product: &str| {
        let repo = &repo;
        let device = device.to_owned();
        let product = product.to_owned();
        async move {
            let d = repo
                .store
                .explain_device(repo.repository_id, &device)
                .await
                .unwrap();
            let i = d
                .installations
                .iter()
                .find(|i| i["product"] == product.as_str())
                .unwrap_or_else(|| panic!("{device} has no {product}: {d:?}"));
            (
                i["category"].as_str().unwrap().to_owned(),
                i["reason"].as_str().unwrap().to_owned(),
            )
        }
    };
    assert_eq!(reason("NEW-1", "7-Zip").await.1, "installed recently");
    // Alice used Word 5 days ago: her machine's Microsoft 365 Apps is Used;
    // Bob last used Excel 95 days ago: his is Unused.
    let m365 = products
        .iter()
        .find(|p| p.product == "Microsoft 365 Apps" && p.basis == "installations")
        .unwrap();
    assert_eq!((m365.used, m365.unused), (1, 1), "{m365:?}");
    assert_eq!(m365.last_used.as_deref(), Some(ago(5).as_str()));
    let (category, why) = reason("LAPTOP-7", "Microsoft 365 Apps").await;
    assert_eq!(
        (category.as_str(), why.as_str()),
        ("Unused", "primary user inactive per usage report")
    );
    // Teams usage is all concealed: Bob's Teams cannot be judged.
    assert_eq!(
        reason("LAPTOP-7", "Microsoft Teams").await,
        ("Unreported".to_owned(), "concealed names".to_owned())
    );
    assert_eq!(
        reason("KIOSK", "Contoso Line-of-Business Tool").await,
        ("Unreported".to_owned(), "no usage data".to_owned())
    );
    assert_eq!(reason("T-91", "7-Zip").await.0, "Unused");

    // Narrower thresholds move the boundaries.
    repo.try_consolidate(
        &Catalog::default_only().unwrap(),
        Thresholds {
            used_days: 31,
            rarely_used_days: 60,
        },
    )
    .await
    .unwrap();
    let zip = repo
        .products()
        .await
        .into_iter()
        .find(|p| p.product == "7-Zip")
        .unwrap();
    assert_eq!(
        (zip.used, zip.rarely_used, zip.unused),
        (2, 0, 2),
        "{zip:?}"
    );
}

async fn licences_and_the_reclaim_list_match_a_hand_computed_expectation(db: &TestDb) {
    let repo = Repo::new(db).await;
    overlapping(&repo).await;
    let mut licence = Licence::default();
    licence.source_key = "s1".into();
    licence.sku_id = "05E9A617-0261-4CEE-BB44-138D3EF5D965".into();
    licence.part_number = "SPE_E3".into();
    licence.prepaid_enabled = Some(10);
    licence.consumed = Some(3);
    let mut records = vec![licence.into()];
    for (n, user) in ["u1", "u2", "u3"].iter().enumerate() {
        let mut a = LicenceAssignment::default();
        a.source_key = format!("{user}|s1");
        a.user_key = (*user).into();
        a.sku_id = "05e9a617-0261-4cee-bb44-138d3ef5d965".into();
        // Carol's licence is older than the threshold; no date for the others.
        a.assigned_on = (n == 2).then(|| ago(200));
        records.push(a.into());
    }
    // Keep the tenant's other rows.
    let mut tenant = Vec::new();
    tenant.extend(records);
    tenant.extend([
        device(
            "i1",
            "PC-001",
            Some("AAAA-0001"),
            Some("SN001"),
            Some("Alice@Contoso.com"),
        ),
        user("u1", "Alice@Contoso.com"),
        user("u2", "bob@contoso.com"),
        user("u3", "carol@contoso.com"),
        usage("Alice@Contoso.com", "Word", Some(ago(5)), false),
        usage("bob@contoso.com", "Excel", Some(ago(95)), false),
        usage("alice@contoso.com", "Exchange", Some(ago(3)), false),
        usage("bob@contoso.com", "Exchange", Some(ago(100)), false),
        usage("carol@contoso.com", "Exchange", None, false),
    ]);
    repo.sync(repo.intune, tenant).await;
    let summary = repo.consolidate().await;
    assert_eq!((summary.skus, summary.reclaimable), (1, 2), "{summary:?}");

    let licences = repo
        .store
        .licence_summary(repo.repository_id)
        .await
        .unwrap();
    assert_eq!(licences.len(), 1);
    let l = &licences[0];
    assert_eq!(l.part_number.as_deref(), Some("SPE_E3"));
    assert_eq!(
        (
            l.prepaid,
            l.assigned,
            l.active,
            l.inactive,
            l.unreported,
            l.reclaimable
        ),
        (Some(10), 3, 1, 2, 0, 2),
        "{l:?}"
    );
    let reclaim = repo.store.reclaim_list(repo.repository_id).await.unwrap();
    let got: Vec<_> = reclaim
        .iter()
        .map(|r| {
            (
                r.user.as_str(),
                r.last_activity.clone(),
                r.assigned_on.clone(),
                r.activity.clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "bob@contoso.com",
                Some(ago(95)),
                None,
                [
                    ("Excel".to_owned(), Some(ago(95))),
                    ("Exchange".to_owned(), Some(ago(100)))
                ]
                .into_iter()
                .collect()
            ),
            (
                "carol@contoso.com",
                None,
                Some(ago(200)),
                [("Exchange".to_owned(), None)].into_iter().collect()
            ),
        ]
    );
    assert!(
        reclaim
            .iter()
            .all(|r| r.report_refresh_date.as_deref() == Some(ago(2).as_str()))
    );
    assert!(
        reclaim[0].reason.starts_with("no activity within 90 days"),
        "{}",
        reclaim[0].reason
    );
}

async fn operator_rules_take_precedence_and_unmatched_titles_stay_visible(db: &TestDb) {
    let repo = Repo::new(db).await;
    overlapping(&repo).await;
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("contoso.toml");
    std::fs::write(
        &rules,
        r#"
[[rule]]
id = "contoso-lob"
vendor = "Contoso"
product = "LOB Suite"
[rule.match]
name = '(?i)^Contoso Line-of-Business'

[[rule]]
id = "zoom-as-meetings"
vendor = "Zoom"
product = "Zoom Meetings"
[rule.match]
name = '(?i)^Zoom'
"#,
    )
    .unwrap();
    let default = repo.consolidate().await;
    assert_eq!(default.unmatched_products, 1, "{default:?}");
    let unmatched = repo
        .products()
        .await
        .into_iter()
        .find(|p| !p.matched)
        .unwrap();
    assert_eq!(
        (
            unmatched.vendor.as_str(),
            unmatched.product.as_str(),
            unmatched.version.as_deref()
        ),
        ("Contoso", "Contoso Line-of-Business Tool", Some("1.2")),
        "raw values kept"
    );
    let explained = repo
        .store
        .explain_product(repo.repository_id, unmatched.id)
        .await
        .unwrap();
    assert!(
        explained.product["rule"]
            .as_str()
            .unwrap()
            .starts_with("unmatched")
    );
    assert_eq!(explained.titles[0]["source_key"], "a3");

    let catalog = Catalog::load(std::slice::from_ref(&rules)).unwrap();
    let summary = repo.consolidate_with(&catalog).await;
    assert_eq!(summary.unmatched_products, 0);
    let products = repo.products().await;
    assert!(
        products
            .iter()
            .any(|p| p.product == "Zoom Meetings" && p.installations == 2)
    );
    assert!(!products.iter().any(|p| p.product == "Zoom Workplace"));
    let lob = products.iter().find(|p| p.product == "LOB Suite").unwrap();
    let explained = repo
        .store
        .explain_product(repo.repository_id, lob.id)
        .await
        .unwrap();
    assert_eq!(explained.product["rule"], "contoso-lob");
    assert_eq!(
        explained.product["rule_source"],
        rules.display().to_string()
    );
}

async fn an_empty_repository_consolidates_to_empty_results_with_a_note(db: &TestDb) {
    let repo = Repo::new(db).await;
    let summary = repo.consolidate().await;
    assert_eq!(summary, Default::default());
    assert!(summary.line().contains("no raw data"), "{}", summary.line());
    let run = repo
        .store
        .consolidation_run(repo.repository_id)
        .await
        .unwrap()
        .unwrap();
    assert!(run.notes.contains("run a sync first"));
    assert!(repo.products().await.is_empty());
    assert!(
        repo.store
            .licence_summary(repo.repository_id)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_failed_consolidation_keeps_the_previous_results(db: &TestDb) {
    let repo = Repo::new(db).await;
    overlapping(&repo).await;
    repo.consolidate().await;
    let before = repo.products().await;
    assert!(!before.is_empty());
    // Thresholds that cannot order the categories are refused outright.
    let refused = repo
        .try_consolidate(
            &Catalog::default_only().unwrap(),
            Thresholds {
                used_days: 90,
                rarely_used_days: 30,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        refused.to_string(),
        "rarely_used_days (30) must be at least used_days (90)"
    );
    assert_eq!(repo.products().await, before);

    // A failure half-way (the licence table gone when licences are summed)
    // rolls back everything the run had already rebuilt.
    let admin = sea_orm::Database::connect(&db.url).await.unwrap();
    let rename = |from: &str, to: &str| format!("ALTER TABLE {from} RENAME TO {to}");
    admin
        .execute_unprepared(&rename("raw_licences", "raw_licences_away"))
        .await
        .unwrap();
    let failed = repo
        .try_consolidate(&Catalog::default_only().unwrap(), Thresholds::default())
        .await;
    admin
        .execute_unprepared(&rename("raw_licences_away", "raw_licences"))
        .await
        .unwrap();
    assert!(failed.is_err());
    assert_eq!(repo.products().await, before);

    // Clearing the repository clears its consolidated results too.
    repo.store
        .clear_repository(repo.repository_id)
        .await
        .unwrap();
    assert!(repo.products().await.is_empty());
    assert!(
        repo.store
            .consolidation_run(repo.repository_id)
            .await
            .unwrap()
            .is_none()
    );
}
