//! What tenant the simulator serves and which faults it injects.

use std::collections::BTreeSet;

/// The application permissions granted by default: everything the connector
/// asks for.
pub const DEFAULT_PERMISSIONS: [&str; 6] = [
    "User.Read.All",
    "Device.Read.All",
    "DeviceManagementManagedDevices.Read.All",
    "DeviceManagementApps.Read.All",
    "Reports.Read.All",
    "LicenseAssignment.Read.All",
];

/// The synthetic tenant and the behaviour of the simulator.
///
/// `Default` is a small tenant (25 users, 20 managed devices), every
/// permission granted, Intune licensed, export jobs allowed and no faults.
/// Everything is generated from `seed` and an index, so large tenants cost no
/// memory and start instantly.
///
/// ```
/// use graph_simulator::SimulatorConfig;
///
/// let mut config = SimulatorConfig { users: 500, seed: 7, ..SimulatorConfig::default() };
/// config.permissions.remove("Reports.Read.All");
/// config.faults.throttle_every = Some(5);
/// ```
#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    /// Seed of every generated value (ids, names, licences, apps, usage).
    pub seed: u64,
    /// Number of users (`/users`). Default 25.
    pub users: usize,
    /// Number of Intune managed devices. Default 20. Entra ID holds
    /// `devices + devices / 5` devices: the managed ones first, then
    /// registered devices that Intune does not manage.
    pub devices: usize,
    /// Mean number of installed applications per managed device. Default 8.
    /// Each device gets between half and one and a half times this (mobile
    /// devices half that), capped by the applications of its platform.
    pub apps_per_device: usize,
    /// Number of distinct applications (detected apps) in the catalog.
    /// Default 40. The first ones are well-known titles; the rest are
    /// generated, some without a publisher.
    pub catalog_apps: usize,
    /// Usage reports show 32 upper-case hex characters instead of user
    /// principal names and display names (the tenant's privacy setting).
    pub concealed_names: bool,
    /// Granted application permissions (see [`DEFAULT_PERMISSIONS`]).
    pub permissions: BTreeSet<String>,
    /// The tenant has an Intune licence. Without it the Intune endpoints
    /// answer 400 "Request not applicable to target tenant".
    pub intune_licensed: bool,
    /// Intune export jobs are allowed. `false`: creating one answers 403, as
    /// for a tenant or app that may not use them.
    pub export_jobs: bool,
    /// How many polls of an export job answer `inProgress` before it is
    /// `completed`. Default 1.
    pub export_polls: u32,
    /// Injected faults.
    pub faults: Faults,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            seed: 1,
            users: 25,
            devices: 20,
            apps_per_device: 8,
            catalog_apps: 40,
            concealed_names: false,
            permissions: DEFAULT_PERMISSIONS
                .iter()
                .map(|p| (*p).to_owned())
                .collect(),
            intune_licensed: true,
            export_jobs: true,
            export_polls: 1,
            faults: Faults::default(),
        }
    }
}

impl SimulatorConfig {
    /// Whether any of `permissions` is granted.
    pub(crate) fn has_any(&self, permissions: &[&str]) -> bool {
        permissions.iter().any(|p| self.permissions.contains(*p))
    }
}

/// Faults the simulator injects. `Default` injects none.
///
/// Request-count faults count Graph requests only (every request under
/// `/v1.0`, starting at 1), not sign-in requests and not downloads.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Every Nth Graph request answers 429 with `Retry-After: 0.05`.
    pub throttle_every: Option<u64>,
    /// The 429s of `throttle_every` carry no `Retry-After` header.
    pub throttle_without_retry_after: bool,
    /// Every Graph request answers 429 with `Retry-After: 0.01`.
    pub always_throttle: bool,
    /// `(after, count)`: Graph requests `after + 1 ..= after + count` answer 503.
    pub unavailable_burst: Option<(u64, u64)>,
    /// Every Nth Graph request: the TCP connection is closed without any
    /// response.
    pub drop_connection_every: Option<u64>,
    /// A token works for N Graph requests; after that the same token gets
    /// 401 `InvalidAuthenticationToken` ("Access token has expired or is not
    /// yet valid."). A new token works again.
    pub token_valid_requests: Option<u64>,
    /// `expires_in` of token responses (default 3599). The simulator also
    /// refuses a token once that many seconds have passed.
    pub token_expires_in: Option<u64>,
    /// Stream (`users`, `managed_devices`, `devices`, `detected_apps`)
    /// whose second page is truncated, invalid JSON, every time it is asked
    /// for. When the stream fits in one page, that page is the one cut.
    pub malformed_page: Option<String>,
    /// The export job ends with status `failed`.
    pub export_job_fails: bool,
    /// The export job stays `inProgress` forever.
    pub export_job_never_completes: bool,
    /// Report (`app_usage`, `activations`, `active_users`, `app_inventory`)
    /// whose CSV is cut in the middle of its last row.
    pub truncated_csv: Option<String>,
    /// The token endpoint answers as for a wrong secret (AADSTS7000215).
    pub wrong_secret: bool,
    /// The token endpoint answers as for an expired secret (AADSTS7000222).
    pub expired_secret: bool,
    /// Every Graph request is answered this many milliseconds late: a slow
    /// tenant, for tests that act while a sync is under way.
    pub graph_delay_ms: Option<u64>,
    /// Usage-report requests (`/v1.0/reports/...`) wait until this gate is
    /// opened: a sync held in flight, its other streams done, for as long
    /// as a test needs.
    pub hold_reports: Option<Gate>,
}

/// A gate requests wait at until it is opened (then for good).
#[derive(Debug, Clone, Default)]
pub struct Gate(std::sync::Arc<tokio::sync::watch::Sender<bool>>);

impl Gate {
    /// A closed gate.
    pub fn new() -> Gate {
        Gate::default()
    }

    /// Lets every waiting and later request through.
    pub fn open(&self) {
        self.0.send_replace(true);
    }

    /// Waits until the gate is open.
    pub(crate) async fn pass(&self) {
        let mut open = self.0.subscribe();
        let _ = open.wait_for(|open| *open).await;
    }
}
