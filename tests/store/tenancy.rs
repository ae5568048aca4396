//! Consolidation across backends and tenants (issue 17): a repository
//! holding two tenants with overlapping SKUs and user names, the same
//! tenant read by two connectors, a connector of no tenant, non-ASCII names
//! that differ only in case, and usage reports of two periods. Both
//! backends must build the same consolidated tables, row for row: each
//! compares its dump with one snapshot, and the facts that matter are
//! asserted by hand as well.

use chrono::{Days, NaiveDate};
use connector_core::{
    Application, ApplicationUsage, Device, Installation, Licence, LicenceAssignment, Record,
    RecordKind, User,
};
use repo_store::consolidation::{Catalog, Request, Summary, Thresholds, licence_totals};
use repo_store::{NewConnector, NewProcess, RunOutcome, SecretKey, Store, Trigger, WriterConfig};
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};

use super::support::{TestDb, batch, on_both_backends};

on_both_backends!(
    tenants_stay_apart_and_both_backends_build_the_same_tables,
    a_failed_consolidation_gives_back_the_connections_page_cache,
);

/// The same on a PostgreSQL database whose collation sorts by language:
/// the results must not change with it.
mod postgres_linguistic {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn tenants_stay_apart_and_both_backends_build_the_same_tables() {
        let Some(db) = crate::store::support::TestDb::postgres_linguistic().await else {
            return;
        };
        super::tenants_stay_apart_and_both_backends_build_the_same_tables(&db).await;
    }
}

const TA: &str = "0a0a0a0a-0000-4000-8000-00000000000a";
const TB: &str = "0b0b0b0b-0000-4000-8000-00000000000b";
const E3: &str = "05e9a617-0261-4cee-bb44-138d3ef5d965";
const E5: &str = "06ebc4ee-1bb5-47dd-8120-11324bc54e06";

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 30).unwrap()
}

fn ago(days: u64) -> String {
    (as_of() - Days::new(days)).format("%Y-%m-%d").to_string()
}

struct Repo {
    store: Store,
    repository_id: i64,
    key: SecretKey,
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
        Repo {
            store,
            repository_id,
            key,
        }
    }

    async fn connector(&self, name: &str, kind: &str) -> i64 {
        self.store
            .create_connector(
                NewConnector {
                    name: name.into(),
                    connector_type: kind.into(),
                    parameters: connector_core::Parameters::default(),
                    secret_keys: vec![],
                    run_consolidation: false,
                },
                &self.key,
            )
            .await
            .unwrap()
            .id
    }

    /// One published sync of `connector`, reporting `tenant`.
    async fn sync(&self, connector: i64, tenant: Option<&str>, records: Vec<Record>) {
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
        writer.set_tenant(tenant);
        writer.write(batch(records, RecordKind::ALL)).await.unwrap();
        writer.finish(RunOutcome::Succeeded).await.unwrap();
    }

    fn request<'a>(&self, catalog: &'a Catalog) -> Request<'a> {
        Request {
            repository_id: self.repository_id,
            process_id: None,
            catalog,
            rule_files: vec![],
            thresholds: Thresholds::default(),
            as_of: as_of(),
        }
    }

    async fn consolidate(&self) -> Summary {
        let catalog = Catalog::default_only().unwrap();
        self.store
            .consolidate(&self.request(&catalog))
            .await
            .unwrap()
    }

    /// Every consolidated table as text, ids replaced by what they stand
    /// for, rows sorted by bytes: what must be the same on both backends.
    async fn dump(&self) -> String {
        let db = self.store.connection();
        let backend = db.get_database_backend();
        let mut out = String::new();
        for (table, sql) in DUMP {
            let sql = sql.replace("{R}", &self.repository_id.to_string());
            let rows = db
                .query_all(Statement::from_string(backend, sql))
                .await
                .unwrap();
            let mut lines: Vec<String> = rows
                .iter()
                .map(|row| {
                    (0..row.column_names().len())
                        .map(|i| {
                            row.try_get_by_index::<Option<String>>(i)
                                .unwrap()
                                .unwrap_or_else(|| "∅".into())
                        })
                        .collect::<Vec<_>>()
                        .join(" | ")
                })
                .collect();
            lines.sort();
            out.push_str(&format!("## {table} ({} rows)\n", lines.len()));
            for line in lines {
                out.push_str(&line);
                out.push('\n');
            }
        }
        out
    }
}

/// Text of a boolean column, alike on both backends.
macro_rules! flag {
    ($c:literal) => {
        concat!("CASE WHEN ", $c, " = TRUE THEN 'yes' ELSE 'no' END")
    };
}

/// The dump of each consolidated table (every column but ids and times).
const DUMP: &[(&str, &str)] = &[
    (
        "cons_products",
        "SELECT vendor, product, edition, version, rule, rule_source, CAST(coverage AS TEXT) \
         FROM cons_products WHERE repository_id = {R}",
    ),
    (
        "cons_title_names",
        "SELECT n.name, n.publisher, n.version, n.platform, p.vendor || '/' || p.product \
         FROM cons_title_names n JOIN cons_products p ON p.id = n.product_id WHERE n.repository_id = {R}",
    ),
    (
        "cons_titles",
        "SELECT CAST(t.connector_id AS TEXT), t.source_key, p.vendor || '/' || p.product \
         FROM cons_titles t JOIN cons_products p ON p.id = t.product_id WHERE t.repository_id = {R}",
    ),
    (
        "cons_user_names",
        "SELECT CAST(connector_id AS TEXT), fold, tenant, user_key FROM cons_user_names \
         WHERE repository_id = {R}",
    ),
    (
        "cons_device_sources",
        "SELECT CAST(s.connector_id AS TEXT), s.source_key, s.tenant, s.entra_key, s.serial_key, \
           s.name_key, s.merge_key, s.matched_by, d.merge_key \
         FROM cons_device_sources s LEFT JOIN cons_devices d ON d.id = s.device_id \
         WHERE s.repository_id = {R}",
    ),
    (
        "cons_devices",
        "SELECT merge_key, name, serial_number, entra_device_id, manufacturer, model, \
           operating_system, primary_user, primary_user_key, last_seen, CAST(sources AS TEXT) \
         FROM cons_devices WHERE repository_id = {R}",
    ),
    (
        "cons_users",
        concat!(
            "SELECT user_key, tenant, user_principal_name, display_name, ",
            flag!("concealed"),
            ", ",
            flag!("reported"),
            " FROM cons_users WHERE repository_id = {R}"
        ),
    ),
    (
        "cons_usage_apps",
        "SELECT application, vendor, product FROM cons_usage_apps WHERE repository_id = {R}",
    ),
    (
        "cons_user_usage",
        "SELECT u.user_key, c.application, c.vendor, c.product, c.last_activity, c.refresh_date, \
           CAST(c.period_days AS TEXT), CAST(c.state AS TEXT), c.reason \
         FROM cons_user_usage c JOIN cons_users u ON u.id = c.user_id WHERE c.repository_id = {R}",
    ),
    (
        "cons_installations",
        "SELECT d.merge_key, p.vendor || '/' || p.product, i.installed_on, i.last_used, \
           CAST(i.state AS TEXT), i.reason, CAST(i.sources AS TEXT) \
         FROM cons_installations i JOIN cons_devices d ON d.id = i.device_id \
         JOIN cons_products p ON p.id = i.product_id WHERE i.repository_id = {R}",
    ),
    (
        "cons_assignments",
        concat!(
            "SELECT u.user_key, a.tenant, a.sku_id, a.assigned_on, a.last_activity, a.refresh_date, ",
            "CAST(a.state AS TEXT), a.reason, ",
            flag!("a.reclaimable"),
            " FROM cons_assignments a JOIN cons_users u ON u.id = a.user_id ",
            "WHERE a.repository_id = {R}"
        ),
    ),
    (
        "cons_licences",
        "SELECT tenant, sku_id, part_number, name, CAST(prepaid AS TEXT), CAST(assigned AS TEXT), \
           CAST(active AS TEXT), CAST(inactive AS TEXT), CAST(unreported AS TEXT), \
           CAST(reclaimable AS TEXT) FROM cons_licences WHERE repository_id = {R}",
    ),
    (
        "cons_runs",
        "SELECT as_of, summary, notes FROM cons_runs WHERE repository_id = {R}",
    ),
];

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

fn application(key: &str, name: &str) -> Record {
    let mut a = Application::new(key, name);
    a.publisher = Some("Microsoft Corporation".into());
    a.version = Some("16.0".into());
    a.platform = Some("Windows".into());
    a.into()
}

fn user(key: &str, upn: &str, display: &str) -> Record {
    let mut u = User::new(key, upn);
    u.display_name = Some(display.into());
    u.into()
}

/// A usage row of a report refreshed `refreshed` days ago covering `period` days.
fn usage(user: &str, application: &str, last: Option<u64>, refreshed: u64, period: i32) -> Record {
    let mut u = ApplicationUsage::default();
    u.source_key = format!("{user}|{application}|{period}");
    u.user = user.into();
    u.application = application.into();
    u.last_activity = last.map(ago);
    u.report_period_days = Some(period);
    u.report_refresh_date = Some(ago(refreshed));
    u.into()
}

fn licence(sku: &str, part: &str, prepaid: i64) -> Record {
    let mut l = Licence::default();
    l.source_key = sku.into();
    l.sku_id = sku.to_uppercase();
    l.part_number = part.into();
    l.prepaid_enabled = Some(prepaid);
    l.into()
}

fn assignment(user: &str, sku: &str, assigned_days_ago: u64) -> Record {
    let mut a = LicenceAssignment::default();
    a.source_key = format!("{user}|{sku}");
    a.user_key = user.into();
    a.sku_id = sku.into();
    a.assigned_on = Some(ago(assigned_days_ago));
    a.into()
}

/// Tenant A as its first connector reads it.
fn tenant_a(upn_of_asa: &str) -> Vec<Record> {
    vec![
        user("a1", upn_of_asa, "Åsa Berg"),
        user("a2", "JÜRGEN@contoso.com", "Jürgen Weiß"),
        user("a3", "alice@shared.example", "Alice (Contoso)"),
        licence(E3, "SPE_E3", 10),
        licence(E5, "SPE_E5", 5),
        assignment("a1", E3, 200),
        assignment("a2", E3, 200),
        assignment("a3", E5, 200),
        // Intune's and Entra's record of one machine, in two cases.
        device(
            "intune-1",
            "ÅSA-PC",
            Some("E-1"),
            Some("SN-A1"),
            Some("åsa@contoso.com"),
        ),
        device("entra-1", "åsa-pc", Some("e-1"), None, None),
        application("m365", "Microsoft 365 Apps for enterprise - en-us"),
        Installation::new("intune-1", "m365").into(),
        usage("åsa@contoso.com", "Word", Some(5), 2, 30),
        usage("jürgen@contoso.com", "Word", Some(100), 2, 30),
        usage("ALICE@shared.example", "Word", Some(120), 2, 30),
        // Two reports of one application: the latest (10 days old) covers
        // 7 days, so it says nothing of now; the older one covers 30. The
        // judgement rests on the latest row's date *and* period.
        usage("jürgen@contoso.com", "Teams", Some(3), 10, 7),
        usage("jürgen@contoso.com", "Teams", Some(15), 20, 30),
    ]
}

async fn tenants_stay_apart_and_both_backends_build_the_same_tables(db: &TestDb) {
    let repo = Repo::new(db).await;
    let a = repo.connector("Contoso", "o365").await;
    let a_again = repo.connector("Contoso (second app)", "o365").await;
    let b = repo.connector("Fabrikam", "o365").await;
    let csv = repo.connector("Spreadsheet", "csv-inventory").await;

    repo.sync(a, Some(TA), tenant_a("Åsa@Contoso.com")).await;
    // The same tenant through a second app registration, synced later:
    // its spelling of Åsa's name is the latest; its licences are the same.
    repo.sync(
        a_again,
        Some(&TA.to_uppercase()),
        tenant_a("åsa@contoso.com"),
    )
    .await;
    repo.sync(
        b,
        Some(TB),
        vec![
            // Same UPN as tenant A's Alice, and the same Entra device id as
            // tenant A's machine: another tenant, so neither merges.
            user("b1", "alice@shared.example", "Alice (Fabrikam)"),
            user("b2", "ASA@fabrikam.com", "Åsa Lind"),
            licence(E3, "SPE_E3", 4),
            assignment("b1", E3, 200),
            device(
                "fab-1",
                "FAB-PC",
                Some("E-1"),
                Some("SN-B1"),
                Some("alice@shared.example"),
            ),
            usage("alice@shared.example", "Word", Some(1), 2, 30),
        ],
    )
    .await;
    repo.sync(
        csv,
        None,
        vec![
            // No tenant: its machine joins tenant A's by serial (in another
            // case); Jürgen's name is held by one tenant only, so the usage
            // joins him; Alice's is held by two, so it stays apart.
            device("row-1", "åsa-pc.contoso.local", None, Some("sn-a1"), None),
            usage("JÜRGEN@CONTOSO.COM", "AutoCAD", Some(4), 2, 30),
            usage("alice@shared.example", "AutoCAD", Some(4), 2, 30),
        ],
    )
    .await;

    let summary = repo.consolidate().await;
    assert_eq!(summary.tenants, 2, "{summary:?}");
    assert_eq!(
        summary.shared_tenants,
        [format!("{TA} (Contoso, Contoso (second app))")]
    );
    assert!(
        summary
            .line()
            .contains("is read by several connectors: its licences were counted once"),
        "{}",
        summary.line()
    );
    // Tenant A's machine (Intune, Entra, both apps, the spreadsheet) and
    // Fabrikam's.
    assert_eq!(
        (summary.raw_devices, summary.devices),
        (6, 2),
        "{summary:?}"
    );
    // Åsa, Jürgen and Alice of A; Alice and Åsa of Fabrikam; the
    // spreadsheet's Alice, whom no single tenant claims.
    assert_eq!(summary.users, 6, "{summary:?}");

    let licences = repo
        .store
        .licence_summary(repo.repository_id)
        .await
        .unwrap();
    let got: Vec<_> = licences
        .iter()
        .map(|l| (l.tenant.as_str(), l.sku_id.as_str(), l.prepaid, l.assigned))
        .collect();
    assert_eq!(
        got,
        [
            (TA, E5, Some(5), 1),
            (TA, E3, Some(10), 2),
            (TB, E3, Some(4), 1)
        ],
        "A's prepaid units counted once, per tenant (reclaimable first)"
    );
    let totals = licence_totals(&licences);
    assert_eq!(totals.len(), 1);
    assert_eq!(
        (
            totals[0].tenant.as_str(),
            totals[0].sku_id.as_str(),
            totals[0].prepaid,
            totals[0].assigned
        ),
        ("all 2 tenants", E3, Some(14), 3)
    );
    let reclaim = repo.store.reclaim_list(repo.repository_id).await.unwrap();
    let got: Vec<_> = reclaim
        .iter()
        .map(|r| (r.tenant.as_str(), r.user.as_str(), r.sku_id.as_str()))
        .collect();
    // Alice of A was last active 120 days ago; Fabrikam's Alice yesterday.
    assert_eq!(got, [(TA, "alice@shared.example", E5)]);

    let dump = repo.dump().await;
    // The latest sync's spelling, whatever the collation.
    assert!(dump.contains("| åsa@contoso.com | Åsa Berg |"), "{dump}");
    // The latest report's own period: Teams is unreported, not judged on a
    // 10-day-old 7-day report as if it covered 30.
    assert!(
        dump.contains(&format!(
            "jürgen@contoso.com/{TA} | Teams | Microsoft | Microsoft Teams | {} | {} | 7 | 4 | report older than its period",
            ago(3),
            ago(10)
        )),
        "{dump}"
    );
    // Åsa's machine, merged from five rows of three connectors, is judged
    // by her usage, found through her name in the tenant's directory.
    assert!(
        dump.contains("| Microsoft/Microsoft 365 Apps | ∅ | 2026-06-25 | 1 | primary user active per usage report | 2"),
        "{dump}"
    );
    insta::assert_snapshot!("tenancy_consolidated_tables", dump);
}

/// SQLite keeps a consolidation's 64 MiB page cache on the pooled
/// connection it ran on: a failed one must give it back too.
async fn a_failed_consolidation_gives_back_the_connections_page_cache(db: &TestDb) {
    let repo = Repo::new(db).await;
    let a = repo.connector("Contoso", "o365").await;
    repo.sync(a, Some(TA), tenant_a("åsa@contoso.com")).await;
    let catalog = Catalog::default_only().unwrap();
    let cancelled = repo
        .store
        .consolidate_unless(&repo.request(&catalog), &|| true)
        .await;
    assert!(cancelled.is_err());
    if repo.store.connection().get_database_backend() != sea_orm::DbBackend::Sqlite {
        return;
    }
    // Hold every pooled connection at once (the pool keeps four) and ask each.
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(repo.store.connection().begin().await.unwrap());
    }
    for txn in &held {
        let row = txn
            .query_one(Statement::from_string(
                sea_orm::DbBackend::Sqlite,
                "PRAGMA cache_size",
            ))
            .await
            .unwrap()
            .unwrap();
        let size: i64 = row.try_get_by_index(0).unwrap();
        assert_eq!(size, -2000, "a connection kept the consolidation's cache");
    }
}
