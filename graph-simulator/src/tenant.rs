//! The synthetic tenant: users, licences, Entra ID and Intune devices,
//! installed applications. Each object is regenerated from `(seed, index)`
//! when needed; only catalog-sized tables are kept.

use std::collections::HashMap;

use super::catalog::{
    self, CORE_APPS, CatalogApp, DEPARTMENTS, GIVEN_NAMES, Plan, Platform, SKUS, SURNAMES,
};
use super::clock::DAY;
use super::config::SimulatorConfig;
use super::reports;
use super::rng::{Rng, coprime_step, domain};

/// The tenant's initial domain; it also works as the tenant name at sign-in.
pub(crate) const DOMAIN: &str = "contoso.onmicrosoft.com";

/// What a complete, permitted sync of the simulated tenant must produce.
///
/// Counts describe the tenant's data whatever the permissions, licences and
/// faults of the run (a run without Intune licence still has
/// `managed_devices` devices in its tenant, it just cannot read them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Expected {
    /// Users served by `/users`.
    pub users: u64,
    /// Sum over users of `assignedLicenses` entries.
    pub licence_assignments: u64,
    /// SKUs served by `/subscribedSkus`.
    pub licences: u64,
    /// Devices served by `/devices` (`devices + devices / 5`).
    pub entra_devices: u64,
    /// Devices served by `/deviceManagement/managedDevices`.
    pub managed_devices: u64,
    /// Distinct `ApplicationKey` values in AppInvRawData (= detected apps).
    pub applications: u64,
    /// AppInvRawData rows: one per application per device (no duplicate
    /// `(DeviceId, ApplicationKey)` pairs); also the sum of detected apps'
    /// `deviceCount`.
    pub installations: u64,
    /// `(user, app)` pairs with "Yes" among the Outlook, Word, Excel,
    /// PowerPoint, OneNote and Teams columns of getM365AppUserDetail.
    pub app_usage: u64,
    /// Rows of getOffice365ActivationsUserDetail.
    pub activations: u64,
    /// `(user, service)` pairs with "Has <service> License" True in
    /// getOffice365ActiveUserDetail (Exchange, OneDrive, SharePoint, Skype For
    /// Business, Yammer, Teams).
    pub active_user_services: u64,
}

/// One licence assignment of a user.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Assigned {
    /// Index into [`SKUS`].
    pub sku: usize,
    /// Service plans switched off for this user.
    pub disabled: &'static [Plan],
}

/// The six services of the active-user report, in column order.
pub(crate) const SERVICES: [&str; 6] = [
    "Exchange",
    "OneDrive",
    "SharePoint",
    "Skype For Business",
    "Yammer",
    "Teams",
];

/// A generated user.
#[derive(Debug, Clone)]
pub(crate) struct User {
    pub index: usize,
    pub id: String,
    pub upn: String,
    pub given_name: &'static str,
    pub surname: &'static str,
    pub display_name: String,
    pub mail: String,
    pub enabled: bool,
    pub guest: bool,
    pub department: Option<&'static str>,
    pub job_title: Option<&'static str>,
    pub created: i64,
    pub licences: Vec<Assigned>,
    /// Day (since the epoch) the licences were assigned.
    pub licence_day: i64,
}

impl User {
    fn plan_enabled(&self, plan: &Plan) -> bool {
        self.licences.iter().any(|a| {
            SKUS.get(a.sku)
                .is_some_and(|s| s.plans.iter().any(|p| p.id == plan.id))
                && !a.disabled.iter().any(|d| d.id == plan.id)
        })
    }

    /// Whether the user may run the Microsoft 365 desktop apps.
    pub(crate) fn has_office(&self) -> bool {
        self.plan_enabled(&catalog::OFFICESUBSCRIPTION)
    }

    /// Whether the user holds `sku`.
    pub(crate) fn has_sku(&self, sku: usize) -> bool {
        self.licences.iter().any(|a| a.sku == sku)
    }

    /// "Has <service> License" for the six report services.
    pub(crate) fn services(&self) -> [bool; 6] {
        let exchange = self.plan_enabled(&catalog::EXCHANGE_S_ENTERPRISE)
            || self.plan_enabled(&catalog::EXCHANGE_S_STANDARD);
        let sharepoint = self.plan_enabled(&catalog::SHAREPOINTENTERPRISE);
        [
            exchange,
            sharepoint,
            sharepoint,
            self.plan_enabled(&catalog::MCOSTANDARD),
            self.plan_enabled(&catalog::YAMMER_ENTERPRISE),
            self.plan_enabled(&catalog::TEAMS1),
        ]
    }

    /// "Assigned Products": product names joined with `+`.
    pub(crate) fn products(&self) -> String {
        self.licences
            .iter()
            .filter_map(|a| SKUS.get(a.sku).map(|s| s.product))
            .collect::<Vec<_>>()
            .join("+")
    }
}

/// An Intune managed device (also an Entra ID device).
#[derive(Debug, Clone)]
pub(crate) struct ManagedDevice {
    pub platform: Platform,
    /// Intune `managedDevice.id` (AppInvRawData `DeviceId`).
    pub id: String,
    /// `azureADDeviceId` = Entra `deviceId`.
    pub aad_device_id: String,
    /// Entra `device.id` (object id).
    pub entra_object_id: String,
    pub name: String,
    pub os_version: &'static str,
    pub os_description: &'static str,
    pub manufacturer: &'static str,
    pub model: &'static str,
    pub serial: String,
    pub user: Option<User>,
    pub enrolled: i64,
    pub enrolled_fraction: u32,
    pub last_sync: i64,
    pub last_sync_fraction: u32,
    pub compliance: &'static str,
    pub agent: &'static str,
    pub owner: &'static str,
    pub enrollment_type: &'static str,
    pub storage_total: u64,
    pub storage_free: u64,
    pub encrypted: bool,
    pub trust_type: &'static str,
    pub last_sign_in: i64,
}

/// An Entra ID device that Intune does not manage.
#[derive(Debug, Clone)]
pub(crate) struct UnmanagedDevice {
    pub platform: Platform,
    pub id: String,
    pub device_id: String,
    pub name: String,
    pub os_version: &'static str,
    pub hardware: Option<(&'static str, &'static str)>,
    pub enabled: bool,
    pub trust_type: &'static str,
    pub registered: i64,
    pub last_sign_in: i64,
}

/// An Entra ID device.
#[derive(Debug, Clone)]
pub(crate) enum EntraDevice {
    Managed(Box<ManagedDevice>),
    Unmanaged(UnmanagedDevice),
}

/// The tenant: sizes, identity and catalog-sized tables.
#[derive(Debug)]
pub(crate) struct Tenant {
    pub seed: u64,
    pub users: usize,
    pub devices: usize,
    pub apps_per_device: usize,
    pub concealed: bool,
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
    /// Seconds since the epoch when the simulator started.
    pub now: i64,
    /// The usage reports' "Report Refresh Date" (days since the epoch).
    pub refresh_day: i64,
    pub catalog: Vec<CatalogApp>,
    /// Catalog indices per platform ([`Platform::index`]).
    pub pools: [Vec<usize>; 4],
    /// Devices per catalog app.
    pub app_device_counts: Vec<u64>,
    /// Catalog indices with at least one device: the detected apps, in order.
    pub detected: Vec<usize>,
    /// Catalog index by detected-app id.
    pub app_by_key: HashMap<String, usize>,
    /// Assigned units per SKU.
    pub sku_consumed: Vec<u64>,
    pub expected: Expected,
}

impl Tenant {
    /// Builds the tenant; walks every user and device once to count.
    pub(crate) fn new(config: &SimulatorConfig, now: i64) -> Tenant {
        let seed = config.seed;
        let mut ids = Rng::new(seed, domain::IDENTITY, 0);
        let tenant_id = ids.guid();
        let client_id = ids.guid();
        let secret_alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-";
        let client_secret = format!(
            "{}{}Q~{}",
            ids.chars(3, &secret_alphabet[..62]),
            ids.below(10),
            ids.chars(34, secret_alphabet)
        );
        let refresh_day = now.div_euclid(DAY) - 2 - ids.below(2) as i64;
        let catalog: Vec<CatalogApp> = (0..config.catalog_apps)
            .map(|i| catalog::catalog_app(seed, i))
            .collect();
        let mut pools: [Vec<usize>; 4] = Default::default();
        for (i, app) in catalog.iter().enumerate() {
            if let Some(pool) = pools.get_mut(app.platform.index()) {
                pool.push(i);
            }
        }
        let app_by_key = catalog
            .iter()
            .enumerate()
            .map(|(i, a)| (a.key.clone(), i))
            .collect();
        let mut tenant = Tenant {
            seed,
            users: config.users,
            devices: config.devices,
            apps_per_device: config.apps_per_device,
            concealed: config.concealed_names,
            tenant_id,
            client_id,
            client_secret,
            now,
            refresh_day,
            app_device_counts: vec![0; catalog.len()],
            catalog,
            pools,
            detected: Vec::new(),
            app_by_key,
            sku_consumed: vec![0; SKUS.len()],
            expected: Expected::default(),
        };
        tenant.count();
        tenant
    }

    /// Walks users and devices once, filling the counts and [`Expected`].
    fn count(&mut self) {
        let mut expected = Expected {
            users: self.users as u64,
            licences: SKUS.len() as u64,
            entra_devices: self.entra_device_count() as u64,
            managed_devices: self.devices as u64,
            ..Expected::default()
        };
        for i in 0..self.users {
            let user = self.user(i);
            expected.licence_assignments += user.licences.len() as u64;
            for a in &user.licences {
                if let Some(c) = self.sku_consumed.get_mut(a.sku) {
                    *c += 1;
                }
            }
            if let Some(row) = reports::app_usage(self, &user) {
                expected.app_usage += row.apps_used();
            }
            expected.activations += reports::activations(self, &user).len() as u64;
            let active = reports::active_user(self, &user);
            expected.active_user_services += active.has.iter().filter(|h| **h).count() as u64;
        }
        for d in 0..self.devices {
            let apps = self.device_apps(d, self.device_platform(d));
            expected.installations += apps.len() as u64;
            for a in apps {
                if let Some(c) = self.app_device_counts.get_mut(a) {
                    *c += 1;
                }
            }
        }
        self.detected = (0..self.catalog.len())
            .filter(|i| self.app_device_counts.get(*i).copied().unwrap_or(0) > 0)
            .collect();
        expected.applications = self.detected.len() as u64;
        self.expected = expected;
    }

    /// `devices + devices / 5`.
    pub(crate) fn entra_device_count(&self) -> usize {
        self.devices + self.devices / 5
    }

    /// Whether user `index` is a guest (B2B) account.
    pub(crate) fn user_is_guest(&self, index: usize) -> bool {
        index != 0 && Rng::new(self.seed, domain::USER_KIND, index as u64).percent(3)
    }

    /// User number `index`.
    pub(crate) fn user(&self, index: usize) -> User {
        let guest = self.user_is_guest(index);
        let mut rng = Rng::new(self.seed, domain::USER, index as u64);
        let id = rng.guid();
        let combos = (GIVEN_NAMES.len() * SURNAMES.len()) as u64;
        let pair = ((index as u64 % combos) * 1427 + self.seed % combos) % combos;
        let given_name = GIVEN_NAMES[(pair % GIVEN_NAMES.len() as u64) as usize];
        let surname = SURNAMES[(pair / GIVEN_NAMES.len() as u64) as usize];
        let round = index as u64 / combos;
        let local = if round == 0 {
            format!(
                "{}.{}",
                catalog::ascii_fold(given_name),
                catalog::ascii_fold(surname)
            )
        } else {
            format!(
                "{}.{}{}",
                catalog::ascii_fold(given_name),
                catalog::ascii_fold(surname),
                round + 1
            )
        };
        let (upn, mail) = if guest {
            (
                format!("{local}_fabrikam.com#EXT#@{DOMAIN}"),
                format!("{local}@fabrikam.com"),
            )
        } else {
            (format!("{local}@{DOMAIN}"), format!("{local}@{DOMAIN}"))
        };
        let enabled = index == 0 || rng.percent(95);
        let (department, job_title) = if !guest && rng.percent(90) {
            let (dept, titles) = DEPARTMENTS[rng.index(DEPARTMENTS.len())];
            (Some(dept), Some(titles[rng.index(titles.len())]))
        } else {
            (None, None)
        };
        let created = self.now - rng.range(20, 2200) as i64 * DAY - rng.below(DAY as u64) as i64;
        let licences = if guest {
            Vec::new()
        } else {
            generate_licences(&mut rng)
        };
        let created_day = created.div_euclid(DAY);
        let licence_day =
            created_day + rng.below((self.refresh_day - created_day).max(1) as u64) as i64;
        User {
            index,
            id,
            upn,
            given_name,
            surname,
            display_name: format!("{given_name} {surname}"),
            mail,
            enabled,
            guest,
            department,
            job_title,
            created,
            licences,
            licence_day,
        }
    }

    /// The user's stable concealed name in reports (32 upper-case hex).
    pub(crate) fn concealed_upn(&self, index: usize) -> String {
        Rng::new(self.seed, domain::CONCEAL_UPN, index as u64).hex_upper(32)
    }

    /// The user's stable concealed display name in reports.
    pub(crate) fn concealed_name(&self, index: usize) -> String {
        Rng::new(self.seed, domain::CONCEAL_NAME, index as u64).hex_upper(32)
    }

    /// The platform of managed device `index` (cheap: no other attribute).
    pub(crate) fn device_platform(&self, index: usize) -> Platform {
        match Rng::new(self.seed, domain::DEVICE_PLATFORM, index as u64).below(100) {
            0..78 => Platform::Windows,
            78..90 => Platform::MacOs,
            90..96 => Platform::Ios,
            _ => Platform::Android,
        }
    }

    /// Catalog indices of the apps installed on managed device `index`:
    /// distinct, from its platform's pool, the pool's head apps first.
    pub(crate) fn device_apps(&self, index: usize, platform: Platform) -> Vec<usize> {
        let Some(pool) = self.pools.get(platform.index()) else {
            return Vec::new();
        };
        let mut rng = Rng::new(self.seed, domain::DEVICE_APPS, index as u64);
        let mean = self.apps_per_device as u64;
        let mut want = rng.range(mean - mean / 2, mean + mean / 2) as usize;
        if platform.is_mobile() {
            want = want.div_ceil(2);
        }
        let k = want.min(pool.len());
        let core = CORE_APPS.min(pool.len());
        let mut apps: Vec<usize> = pool.iter().take(k.min(core)).copied().collect();
        let rest = (pool.len() - core) as u64;
        let extra = k.saturating_sub(core) as u64;
        if extra > 0 {
            let start = rng.below(rest);
            let step = coprime_step(rng.next_u64(), rest);
            for j in 0..extra {
                let at = core + ((start + j * step) % rest) as usize;
                if let Some(app) = pool.get(at) {
                    apps.push(*app);
                }
            }
        }
        apps
    }

    /// A user for a device: a random member, or none for shared devices.
    fn primary_user(&self, rng: &mut Rng) -> Option<User> {
        if self.users == 0 || rng.percent(6) {
            return None;
        }
        let first = rng.index(self.users);
        (0..5)
            .map(|k| (first + k) % self.users)
            .find(|i| !self.user_is_guest(*i))
            .map(|i| self.user(i))
    }

    /// Managed device number `index`.
    pub(crate) fn managed_device(&self, index: usize) -> ManagedDevice {
        let platform = self.device_platform(index);
        let mut rng = Rng::new(self.seed, domain::DEVICE, index as u64);
        let id = rng.guid();
        let aad_device_id = rng.guid();
        let entra_object_id = rng.guid();
        let user = self.primary_user(&mut rng);
        let enrolled = self.now - rng.range(10, 900) as i64 * DAY - rng.below(DAY as u64) as i64;
        let enrolled_fraction = rng.below(10_000_000) as u32;
        let last_sync = self.now - rng.below(14 * DAY as u64) as i64;
        let last_sync_fraction = rng.below(10_000_000) as u32;
        let last_sign_in = self.now - rng.below(20 * DAY as u64) as i64;
        let compliance = match rng.below(100) {
            0..84 => "compliant",
            84..92 => "noncompliant",
            92..96 => "inGracePeriod",
            _ => "unknown",
        };
        let encrypted = rng.percent(90);
        let given = user.as_ref().map(|u| u.given_name);
        let (hardware, os_version, storage): (&[(&str, &str)], &[&str], &[u64]) = match platform {
            Platform::Windows => (
                &catalog::WINDOWS_HARDWARE,
                &catalog::WINDOWS_VERSIONS,
                &[255_369_875_456, 511_101_108_224, 1_023_379_521_536],
            ),
            Platform::MacOs => (
                &catalog::MAC_HARDWARE,
                &catalog::MAC_VERSIONS,
                &[494_384_795_648, 994_662_584_320],
            ),
            Platform::Ios => (
                &catalog::IOS_HARDWARE,
                &catalog::IOS_VERSIONS,
                &[127_865_454_592, 255_652_581_376],
            ),
            Platform::Android => (
                &catalog::ANDROID_HARDWARE,
                &catalog::ANDROID_VERSIONS,
                &[119_135_215_616, 246_833_864_704],
            ),
        };
        let (manufacturer, model) = rng.pick(hardware).unwrap_or(("", ""));
        let os_version = rng.pick(os_version).unwrap_or("");
        let storage_total = rng.pick(storage).unwrap_or(0);
        let storage_free = storage_total / 100 * rng.range(5, 80);
        let (name, serial, agent, owner, enrollment_type, trust_type, os_description) =
            match platform {
                Platform::Windows => {
                    let name = if rng.percent(55) {
                        format!("DESKTOP-{}", rng.alnum_upper(7))
                    } else {
                        let kind = if rng.percent(70) { "LT" } else { "WS" };
                        format!("CTS-{kind}-{:05}", rng.below(100_000))
                    };
                    let serial = match manufacturer {
                        "Dell Inc." => rng.alnum_upper(7),
                        "LENOVO" => format!("PF{}", rng.alnum_upper(6)),
                        "HP" => format!("5CG{}", rng.alnum_upper(7)),
                        _ if model == "Virtual Machine" => format!(
                            "{:04}-{:04}-{:04}-{:04}-{:04}-{:04}-{:02}",
                            rng.below(10_000),
                            rng.below(10_000),
                            rng.below(10_000),
                            rng.below(10_000),
                            rng.below(10_000),
                            rng.below(10_000),
                            rng.below(100)
                        ),
                        _ => format!("{:012}", rng.below(1_000_000_000_000)),
                    };
                    let co_managed = rng.percent(25);
                    let agent = if co_managed {
                        "configurationManagerClientMdm"
                    } else {
                        "mdm"
                    };
                    let trust = if co_managed { "ServerAd" } else { "AzureAd" };
                    let description = if os_version.starts_with("10.0.19") {
                        "Windows 10 Enterprise"
                    } else {
                        "Windows 11 Enterprise"
                    };
                    (
                        name,
                        serial,
                        agent,
                        "company",
                        "windowsAzureADJoin",
                        trust,
                        description,
                    )
                }
                Platform::MacOs => {
                    let kind = if model.starts_with("MacBook Air") {
                        "MacBook Air"
                    } else {
                        "MacBook Pro"
                    };
                    let name = match given {
                        Some(g) => format!("{g}\u{2019}s {kind}"),
                        None => kind.to_owned(),
                    };
                    let serial = rng.alnum_upper(10);
                    (
                        name,
                        serial,
                        "mdm",
                        "company",
                        "appleBulkWithUser",
                        "Workplace",
                        "macOS",
                    )
                }
                Platform::Ios => {
                    let name = match given {
                        Some(g) => format!("{g}\u{2019}s iPhone"),
                        None => "iPhone".to_owned(),
                    };
                    let serial = rng.alnum_upper(10);
                    let owner = if rng.percent(60) {
                        "company"
                    } else {
                        "personal"
                    };
                    let enrollment = if owner == "company" {
                        "appleBulkWithUser"
                    } else {
                        "userEnrollment"
                    };
                    (name, serial, "mdm", owner, enrollment, "Workplace", "iOS")
                }
                Platform::Android => {
                    let (y, m, d) = super::clock::civil_from_days(enrolled.div_euclid(DAY));
                    let secs = enrolled.rem_euclid(DAY);
                    let hour = secs / 3600;
                    let (h12, ampm) = match hour {
                        0 => (12, "AM"),
                        1..12 => (hour, "AM"),
                        12 => (12, "PM"),
                        _ => (hour - 12, "PM"),
                    };
                    let prefix = given.map(catalog::ascii_fold).unwrap_or_default();
                    let name = format!(
                        "{prefix}_AndroidEnterprise_{m}/{d}/{y}_{h12}:{:02} {ampm}",
                        (secs / 60) % 60
                    );
                    let serial = if rng.percent(50) {
                        String::new()
                    } else {
                        format!("R5C{}", rng.alnum_upper(8))
                    };
                    let owner = if rng.percent(60) {
                        "company"
                    } else {
                        "personal"
                    };
                    let enrollment = if owner == "company" {
                        "androidEnterpriseFullyManaged"
                    } else {
                        "androidEnterpriseWorkProfile"
                    };
                    (
                        name,
                        serial,
                        "mdm",
                        owner,
                        enrollment,
                        "Workplace",
                        "Android",
                    )
                }
            };
        ManagedDevice {
            platform,
            id,
            aad_device_id,
            entra_object_id,
            name,
            os_version,
            os_description,
            manufacturer,
            model,
            serial,
            user,
            enrolled,
            enrolled_fraction,
            last_sync,
            last_sync_fraction,
            compliance,
            agent,
            owner,
            enrollment_type,
            storage_total,
            storage_free,
            encrypted,
            trust_type,
            last_sign_in,
        }
    }

    /// Entra ID device number `index`: managed devices first, then
    /// registered devices Intune does not manage.
    pub(crate) fn entra_device(&self, index: usize) -> EntraDevice {
        if index < self.devices {
            return EntraDevice::Managed(Box::new(self.managed_device(index)));
        }
        let mut rng = Rng::new(self.seed, domain::ENTRA_EXTRA, index as u64);
        let id = rng.guid();
        let device_id = rng.guid();
        let platform = match rng.below(100) {
            0..70 => Platform::Windows,
            70..85 => Platform::Android,
            _ => Platform::Ios,
        };
        let registered = self.now - rng.range(5, 1500) as i64 * DAY - rng.below(DAY as u64) as i64;
        let last_sign_in = self.now - rng.below(60 * DAY as u64) as i64;
        let enabled = rng.percent(95);
        let (name, os_version, hardware, trust_type) = match platform {
            Platform::Windows => {
                let hybrid = rng.percent(40);
                let name = if hybrid {
                    format!("CTS-WS-{:05}", rng.below(100_000))
                } else {
                    format!("DESKTOP-{}", rng.alnum_upper(7))
                };
                let hardware = if hybrid {
                    rng.pick(&catalog::WINDOWS_HARDWARE)
                } else {
                    None
                };
                let trust = if hybrid { "ServerAd" } else { "Workplace" };
                let version = rng.pick(&catalog::WINDOWS_VERSIONS).unwrap_or("");
                (name, version, hardware, trust)
            }
            Platform::Android => (
                "Pixel 8".to_owned(),
                rng.pick(&catalog::ANDROID_VERSIONS).unwrap_or(""),
                rng.pick(&catalog::ANDROID_HARDWARE),
                "Workplace",
            ),
            Platform::Ios | Platform::MacOs => (
                "iPhone".to_owned(),
                rng.pick(&catalog::IOS_VERSIONS).unwrap_or(""),
                rng.pick(&catalog::IOS_HARDWARE),
                "Workplace",
            ),
        };
        EntraDevice::Unmanaged(UnmanagedDevice {
            platform,
            id,
            device_id,
            name,
            os_version,
            hardware,
            enabled,
            trust_type,
            registered,
            last_sign_in,
        })
    }
}

/// Licence assignments of a member: most have one suite, some add-ons.
fn generate_licences(rng: &mut Rng) -> Vec<Assigned> {
    let mut out = Vec::new();
    if rng.percent(8) {
        if rng.percent(20) {
            out.push(Assigned {
                sku: catalog::FLOW_FREE,
                disabled: &[],
            });
        }
        return out;
    }
    let base = match rng.below(100) {
        0..45 => catalog::SPE_E3,
        45..65 => catalog::SPE_E5,
        _ => catalog::ENTERPRISEPACK,
    };
    const NO_TEAMS: &[Plan] = &[catalog::TEAMS1];
    const NO_YAMMER: &[Plan] = &[catalog::YAMMER_ENTERPRISE];
    const NO_TEAMS_NO_YAMMER: &[Plan] = &[catalog::TEAMS1, catalog::YAMMER_ENTERPRISE];
    let disabled = match rng.below(100) {
        0..10 => NO_TEAMS,
        10..14 => NO_YAMMER,
        14..16 => NO_TEAMS_NO_YAMMER,
        _ => &[],
    };
    out.push(Assigned {
        sku: base,
        disabled,
    });
    let mut add = |sku: usize, yes: bool| {
        if yes {
            out.push(Assigned { sku, disabled: &[] });
        }
    };
    add(
        catalog::POWER_BI_PRO,
        base != catalog::SPE_E5 && rng.percent(25),
    );
    add(catalog::VISIOCLIENT, rng.percent(8));
    add(catalog::PROJECTPROFESSIONAL, rng.percent(6));
    add(catalog::FLOW_FREE, rng.percent(15));
    add(
        catalog::EMS,
        base == catalog::ENTERPRISEPACK && rng.percent(40),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(users: usize, devices: usize) -> Tenant {
        let config = SimulatorConfig {
            users,
            devices,
            ..SimulatorConfig::default()
        };
        Tenant::new(&config, 1_720_000_000)
    }

    #[test]
    fn users_are_unique_and_stable() {
        let t = tenant(3000, 0);
        let mut upns: Vec<String> = (0..3000).map(|i| t.user(i).upn).collect();
        upns.sort_unstable();
        upns.dedup();
        assert_eq!(upns.len(), 3000);
        assert_eq!(t.user(17).id, t.user(17).id);
        assert!(!t.user(0).guest);
    }

    #[test]
    fn device_apps_are_distinct_and_total_matches_counts() {
        let t = tenant(50, 400);
        let mut total = 0u64;
        for d in 0..400 {
            let p = t.device_platform(d);
            let mut apps = t.device_apps(d, p);
            total += apps.len() as u64;
            assert!(apps.iter().all(|a| t.catalog[*a].platform == p));
            let n = apps.len();
            apps.sort_unstable();
            apps.dedup();
            assert_eq!(apps.len(), n, "duplicate app on device {d}");
        }
        assert_eq!(total, t.expected.installations);
        assert_eq!(t.app_device_counts.iter().sum::<u64>(), total);
        assert_eq!(t.expected.applications, t.detected.len() as u64);
        assert!(t.expected.installations > 400 * 3);
    }

    #[test]
    fn entra_devices_start_with_the_managed_ones() {
        let t = tenant(10, 10);
        assert_eq!(t.entra_device_count(), 12);
        match t.entra_device(3) {
            EntraDevice::Managed(d) => {
                assert_eq!(d.aad_device_id, t.managed_device(3).aad_device_id)
            }
            EntraDevice::Unmanaged(_) => panic!("device 3 should be managed"),
        }
        assert!(matches!(t.entra_device(11), EntraDevice::Unmanaged(_)));
    }

    #[test]
    fn licences_and_secret_look_real() {
        let t = tenant(200, 0);
        assert!(t.client_secret.contains("Q~"));
        assert_eq!(t.client_secret.len(), 40);
        let assigned: u64 = t.sku_consumed.iter().sum();
        assert_eq!(assigned, t.expected.licence_assignments);
        assert!(t.sku_consumed[catalog::SPE_E3] > 0);
        assert_eq!(t.sku_consumed[8], 0);
    }
}
