//! The usage reports: getM365AppUserDetail, getOffice365ActivationsUserDetail
//! and getOffice365ActiveUserDetail, as rows and as the CSV the download
//! link serves (UTF-8 with a byte-order mark).

use std::io;

use super::catalog;
use super::clock;
use super::csv_out::CsvSink;
use super::rng::{Rng, domain};
use super::tenant::{SERVICES, Tenant, User};

/// A usage report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReportKind {
    /// getM365AppUserDetail.
    AppUsage,
    /// getOffice365ActivationsUserDetail.
    Activations,
    /// getOffice365ActiveUserDetail.
    ActiveUsers,
}

impl ReportKind {
    /// Code used in download tokens.
    pub(crate) const fn code(self) -> u64 {
        match self {
            ReportKind::AppUsage => 1,
            ReportKind::Activations => 2,
            ReportKind::ActiveUsers => 3,
        }
    }

    /// The kind for a download-token code.
    pub(crate) const fn from_code(code: u64) -> Option<ReportKind> {
        match code {
            1 => Some(ReportKind::AppUsage),
            2 => Some(ReportKind::Activations),
            3 => Some(ReportKind::ActiveUsers),
            _ => None,
        }
    }

    /// The `truncated_csv` fault name of this report.
    pub(crate) const fn fault_name(self) -> &'static str {
        match self {
            ReportKind::AppUsage => "app_usage",
            ReportKind::Activations => "activations",
            ReportKind::ActiveUsers => "active_users",
        }
    }
}

/// The six apps of getM365AppUserDetail, in column order.
pub(crate) const APPS: [&str; 6] = ["Outlook", "Word", "Excel", "PowerPoint", "OneNote", "Teams"];
/// Its four platforms, in column order.
pub(crate) const APP_PLATFORMS: [&str; 4] = ["Windows", "Mac", "Mobile", "Web"];

/// One getM365AppUserDetail row.
#[derive(Debug, Clone)]
pub(crate) struct AppUsage {
    pub last_activation: Option<i64>,
    pub last_activity: Option<i64>,
    /// `used[app][platform]`.
    pub used: [[bool; 4]; 6],
}

impl AppUsage {
    /// Whether `app` was used on any platform.
    pub(crate) fn app_used(&self, app: usize) -> bool {
        self.used.get(app).is_some_and(|p| p.iter().any(|u| *u))
    }

    /// Whether any app was used on `platform`.
    pub(crate) fn platform_used(&self, platform: usize) -> bool {
        self.used
            .iter()
            .any(|p| p.get(platform).copied().unwrap_or(false))
    }

    /// Apps (of six) with "Yes".
    pub(crate) fn apps_used(&self) -> u64 {
        (0..APPS.len()).filter(|a| self.app_used(*a)).count() as u64
    }
}

/// The getM365AppUserDetail row of a user: every member has one, guests none.
/// Usage does not depend on the period (all activity is within 7 days).
pub(crate) fn app_usage(tenant: &Tenant, user: &User) -> Option<AppUsage> {
    if user.guest {
        return None;
    }
    let mut rng = Rng::new(tenant.seed, domain::REPORT_APPS, user.index as u64);
    let mut used = [[false; 4]; 6];
    let office = user.has_office();
    let services = user.services();
    let last_activation = office.then(|| tenant.refresh_day - rng.range(20, 600) as i64);
    if office && user.enabled {
        const PLATFORM_ODDS: [u64; 4] = [85, 12, 45, 55];
        const APP_ODDS: [u64; 6] = [92, 80, 75, 50, 25, 88];
        for (p, odds) in PLATFORM_ODDS.iter().enumerate() {
            if !rng.percent(*odds) {
                continue;
            }
            for (a, app_odds) in APP_ODDS.iter().enumerate() {
                let licensed = match a {
                    0 => services[0],
                    5 => services[5],
                    _ => true,
                };
                let yes = rng.percent(*app_odds);
                if let Some(cell) = used.get_mut(a).and_then(|row| row.get_mut(p)) {
                    *cell = licensed && yes;
                }
            }
        }
    }
    let any = used.iter().flatten().any(|u| *u);
    let last_activity = any.then(|| tenant.refresh_day - rng.below(7) as i64);
    Some(AppUsage {
        last_activation,
        last_activity,
        used,
    })
}

/// One getOffice365ActivationsUserDetail row.
#[derive(Debug, Clone)]
pub(crate) struct Activation {
    pub product: &'static str,
    pub last_activated: Option<i64>,
    pub windows: u64,
    pub mac: u64,
    pub windows10_mobile: u64,
    pub ios: u64,
    pub android: u64,
    pub shared_computer: bool,
}

/// The activation rows of a user: one per product type it is licensed for
/// (Microsoft 365 Apps via a suite, Visio, Project).
pub(crate) fn activations(tenant: &Tenant, user: &User) -> Vec<Activation> {
    let mut products = Vec::new();
    if user.has_office() {
        products.push("MICROSOFT 365 APPS FOR ENTERPRISE");
    }
    if user.has_sku(catalog::VISIOCLIENT) {
        products.push("VISIO CLIENT");
    }
    if user.has_sku(catalog::PROJECTPROFESSIONAL) {
        products.push("PROJECT CLIENT");
    }
    let mut rng = Rng::new(tenant.seed, domain::REPORT_ACTIVATIONS, user.index as u64);
    products
        .into_iter()
        .map(|product| {
            let windows = if rng.percent(80) { rng.range(1, 3) } else { 0 };
            let mac = if rng.percent(10) { 1 } else { 0 };
            let ios = if rng.percent(30) { rng.range(1, 2) } else { 0 };
            let android = if rng.percent(20) { 1 } else { 0 };
            let total = windows + mac + ios + android;
            let last_activated = (total > 0).then(|| tenant.refresh_day - rng.range(1, 400) as i64);
            Activation {
                product,
                last_activated,
                windows,
                mac,
                windows10_mobile: 0,
                ios,
                android,
                shared_computer: rng.percent(4),
            }
        })
        .collect()
}

/// One getOffice365ActiveUserDetail row.
#[derive(Debug, Clone)]
pub(crate) struct ActiveUser {
    pub has: [bool; 6],
    pub last_activity: [Option<i64>; 6],
    pub assigned: [Option<i64>; 6],
    pub products: String,
}

/// The active-user row of a user (every user has one).
pub(crate) fn active_user(tenant: &Tenant, user: &User) -> ActiveUser {
    let has = user.services();
    let mut rng = Rng::new(tenant.seed, domain::REPORT_ACTIVE, user.index as u64);
    const ODDS: [u64; 6] = [90, 70, 60, 5, 15, 85];
    let mut last_activity = [None; 6];
    let mut assigned = [None; 6];
    for s in 0..SERVICES.len() {
        let licensed = has.get(s).copied().unwrap_or(false);
        let active = rng.percent(ODDS.get(s).copied().unwrap_or(0));
        let ago = rng.below(28) as i64;
        if licensed {
            if let Some(a) = assigned.get_mut(s) {
                *a = Some(user.licence_day.min(tenant.refresh_day));
            }
            if user.enabled
                && active
                && let Some(l) = last_activity.get_mut(s)
            {
                *l = Some(tenant.refresh_day - ago);
            }
        }
    }
    ActiveUser {
        has,
        last_activity,
        assigned,
        products: user.products(),
    }
}

fn yes_no(b: bool) -> String {
    if b { "Yes" } else { "No" }.to_owned()
}

fn true_false(b: bool) -> String {
    if b { "True" } else { "False" }.to_owned()
}

fn opt_date(day: Option<i64>) -> String {
    day.map(clock::date).unwrap_or_default()
}

/// The CSV header of a report.
pub(crate) fn header(kind: ReportKind) -> Vec<String> {
    match kind {
        ReportKind::AppUsage => {
            let mut h: Vec<String> = [
                "Report Refresh Date",
                "User Principal Name",
                "Last Activation Date",
                "Last Activity Date",
                "Report Period",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
            h.extend(APP_PLATFORMS.iter().map(|s| (*s).to_owned()));
            h.extend(APPS.iter().map(|s| (*s).to_owned()));
            for app in APPS {
                for platform in APP_PLATFORMS {
                    h.push(format!("{app} ({platform})"));
                }
            }
            h
        }
        ReportKind::Activations => [
            "Report Refresh Date",
            "User Principal Name",
            "Display Name",
            "Product Type",
            "Last Activated Date",
            "Windows",
            "Mac",
            "Windows 10 Mobile",
            "iOS",
            "Android",
            "Activated On Shared Computer",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect(),
        ReportKind::ActiveUsers => {
            let mut h: Vec<String> = [
                "Report Refresh Date",
                "User Principal Name",
                "Display Name",
                "Is Deleted",
                "Deleted Date",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
            h.extend(SERVICES.iter().map(|s| format!("Has {s} License")));
            h.extend(SERVICES.iter().map(|s| format!("{s} Last Activity Date")));
            h.extend(SERVICES.iter().map(|s| format!("{s} License Assign Date")));
            h.push("Assigned Products".to_owned());
            h.push("Report Period".to_owned());
            h
        }
    }
}

/// The report's CSV: a UTF-8 byte-order mark, the header, one line per row.
pub(crate) fn write_report(
    tenant: &Tenant,
    kind: ReportKind,
    period_days: u32,
    truncate_last: bool,
) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(256 * (tenant.users + 1));
    out.extend_from_slice("\u{feff}".as_bytes());
    let mut sink = CsvSink::new(out, truncate_last);
    let head = header(kind);
    let head_refs: Vec<&str> = head.iter().map(String::as_str).collect();
    sink.header(&head_refs)?;
    let refresh = clock::date(tenant.refresh_day);
    for i in 0..tenant.users {
        let user = tenant.user(i);
        let (upn, name) = if tenant.concealed {
            (tenant.concealed_upn(i), tenant.concealed_name(i))
        } else {
            (user.upn.clone(), user.display_name.clone())
        };
        match kind {
            ReportKind::AppUsage => {
                let Some(row) = app_usage(tenant, &user) else {
                    continue;
                };
                let mut r = vec![
                    refresh.clone(),
                    upn,
                    opt_date(row.last_activation),
                    opt_date(row.last_activity),
                    period_days.to_string(),
                ];
                r.extend((0..APP_PLATFORMS.len()).map(|p| yes_no(row.platform_used(p))));
                r.extend((0..APPS.len()).map(|a| yes_no(row.app_used(a))));
                for per_app in row.used {
                    r.extend(per_app.iter().map(|u| yes_no(*u)));
                }
                sink.push(r)?;
            }
            ReportKind::Activations => {
                for a in activations(tenant, &user) {
                    sink.push(vec![
                        refresh.clone(),
                        upn.clone(),
                        name.clone(),
                        a.product.to_owned(),
                        opt_date(a.last_activated),
                        a.windows.to_string(),
                        a.mac.to_string(),
                        a.windows10_mobile.to_string(),
                        a.ios.to_string(),
                        a.android.to_string(),
                        true_false(a.shared_computer),
                    ])?;
                }
            }
            ReportKind::ActiveUsers => {
                let row = active_user(tenant, &user);
                let mut r = vec![refresh.clone(), upn, name, true_false(false), String::new()];
                r.extend(row.has.iter().map(|h| true_false(*h)));
                r.extend(row.last_activity.iter().map(|d| opt_date(*d)));
                r.extend(row.assigned.iter().map(|d| opt_date(*d)));
                r.push(row.products);
                r.push(period_days.to_string());
                sink.push(r)?;
            }
        }
    }
    sink.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SimulatorConfig;

    fn tenant(concealed: bool) -> Tenant {
        let config = SimulatorConfig {
            users: 120,
            concealed_names: concealed,
            ..SimulatorConfig::default()
        };
        Tenant::new(&config, 1_720_000_000)
    }

    fn rows(bytes: &[u8]) -> (Vec<String>, Vec<csv::StringRecord>) {
        let text = std::str::from_utf8(bytes).unwrap();
        let text = text.strip_prefix('\u{feff}').expect("BOM");
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let head = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect();
        (head, reader.records().map(|r| r.unwrap()).collect())
    }

    #[test]
    fn app_usage_csv_matches_expected() {
        let t = tenant(false);
        let bytes = write_report(&t, ReportKind::AppUsage, 30, false).unwrap();
        let (head, records) = rows(&bytes);
        assert_eq!(head.len(), 5 + 4 + 6 + 24);
        assert_eq!(head[15], "Outlook (Windows)");
        assert_eq!(head[38], "Teams (Web)");
        let yes: u64 = records
            .iter()
            .map(|r| (9..15).filter(|c| &r[*c] == "Yes").count() as u64)
            .sum();
        assert_eq!(yes, t.expected.app_usage);
        assert!(yes > 0);
        assert!(records.iter().all(|r| &r[4] == "30"));
    }

    #[test]
    fn activations_and_active_users_match_expected() {
        let t = tenant(false);
        let (_, records) = rows(&write_report(&t, ReportKind::Activations, 0, false).unwrap());
        assert_eq!(records.len() as u64, t.expected.activations);
        let (head, records) = rows(&write_report(&t, ReportKind::ActiveUsers, 30, false).unwrap());
        assert_eq!(head.len(), 25);
        assert_eq!(records.len(), 120);
        let has: u64 = records
            .iter()
            .map(|r| (5..11).filter(|c| &r[*c] == "True").count() as u64)
            .sum();
        assert_eq!(has, t.expected.active_user_services);
    }

    #[test]
    fn concealed_names_are_hex() {
        let t = tenant(true);
        let (_, records) = rows(&write_report(&t, ReportKind::ActiveUsers, 30, false).unwrap());
        for r in &records {
            assert_eq!(r[1].len(), 32);
            assert!(
                r[1].chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
            );
            assert!(!r[2].contains(' '));
        }
    }

    #[test]
    fn truncated_report_has_a_short_last_line() {
        let t = tenant(false);
        let bytes = write_report(&t, ReportKind::ActiveUsers, 30, true).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let last = text.lines().last().unwrap();
        assert!(last.split(',').count() < 25);
        assert!(!text.ends_with('\n'));
    }
}
