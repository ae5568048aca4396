//! The shared state of a running simulator: the tenant, issued tokens,
//! export jobs and request counters.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use axum::http::HeaderMap;

use super::clock;
use super::config::SimulatorConfig;
use super::export::ExportJob;
use super::respond::Ctx;
use super::rng::{Rng, domain};
use super::tenant::Tenant;

/// The endpoints whose requests are counted, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Token,
    Users,
    SubscribedSkus,
    Devices,
    ManagedDevices,
    DetectedApps,
    DetectedAppDevices,
    ExportJobCreate,
    ExportJobPoll,
    ExportJobList,
    ExportDownload,
    ReportAppUsage,
    ReportActivations,
    ReportActiveUsers,
    ReportDownload,
    NotFound,
}

/// Counter names, in [`Endpoint`] order.
pub(crate) const ENDPOINT_NAMES: [&str; 16] = [
    "token",
    "users",
    "subscribed_skus",
    "devices",
    "managed_devices",
    "detected_apps",
    "detected_app_devices",
    "export_job_create",
    "export_job_poll",
    "export_job_list",
    "export_download",
    "report_app_usage",
    "report_activations",
    "report_active_users",
    "report_download",
    "not_found",
];

/// What the simulator did to the client: faults injected and tokens
/// issued, counted as they are answered. A fault test asserts from these
/// that its fault really happened, not only that the sync survived it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// 429 answers sent (`throttle_every`, `always_throttle`).
    pub throttled: u64,
    /// 503 answers sent (`unavailable_burst`).
    pub unavailable: u64,
    /// Connections cut without an answer (`drop_connection_every`).
    pub dropped: u64,
    /// Access tokens issued by the sign-in endpoint.
    pub tokens_issued: u64,
    /// Graph requests refused with 401 for an expired or used-up token.
    pub expired_tokens: u64,
}

/// Counters behind [`FaultCounts`].
#[derive(Debug, Default)]
pub(crate) struct InjectedCounters {
    pub throttled: AtomicU64,
    pub unavailable: AtomicU64,
    pub dropped: AtomicU64,
    pub tokens_issued: AtomicU64,
    pub expired_tokens: AtomicU64,
}

impl InjectedCounters {
    /// Adds one to a counter.
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::SeqCst);
    }

    fn snapshot(&self) -> FaultCounts {
        let get = |c: &AtomicU64| c.load(Ordering::SeqCst);
        FaultCounts {
            throttled: get(&self.throttled),
            unavailable: get(&self.unavailable),
            dropped: get(&self.dropped),
            tokens_issued: get(&self.tokens_issued),
            expired_tokens: get(&self.expired_tokens),
        }
    }
}

/// A token the sign-in endpoint issued.
#[derive(Debug, Clone)]
pub(crate) struct TokenState {
    pub expires_at: Instant,
    /// Graph requests made with it so far.
    pub used: u64,
}

/// Everything the handlers share.
#[derive(Debug)]
pub(crate) struct SimState {
    pub config: SimulatorConfig,
    pub tenant: Tenant,
    pub base_url: String,
    counts: [AtomicU64; ENDPOINT_NAMES.len()],
    graph_requests: AtomicU64,
    serial: AtomicU64,
    pub injected: InjectedCounters,
    pub tokens: Mutex<HashMap<String, TokenState>>,
    /// Export jobs by lower-case id.
    pub jobs: Mutex<HashMap<String, ExportJob>>,
}

/// Locks a mutex, recovering the data if a holder panicked.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SimState {
    pub(crate) fn new(config: SimulatorConfig, tenant: Tenant, base_url: String) -> SimState {
        SimState {
            config,
            tenant,
            base_url,
            counts: Default::default(),
            graph_requests: AtomicU64::new(0),
            serial: AtomicU64::new(0),
            injected: InjectedCounters::default(),
            tokens: Mutex::new(HashMap::new()),
            jobs: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request to `endpoint`.
    pub(crate) fn count(&self, endpoint: Endpoint) {
        if let Some(c) = self.counts.get(endpoint as usize) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts one Graph request and returns its number (from 1).
    pub(crate) fn next_graph_request(&self) -> u64 {
        self.graph_requests.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// A fresh serial number (request ids, tokens, jobs).
    pub(crate) fn next_serial(&self) -> u64 {
        self.serial.fetch_add(1, Ordering::Relaxed)
    }

    /// Requests per endpoint name (every name present, zero included).
    pub(crate) fn requests(&self) -> BTreeMap<String, u64> {
        ENDPOINT_NAMES
            .iter()
            .zip(self.counts.iter())
            .map(|(name, c)| ((*name).to_owned(), c.load(Ordering::Relaxed)))
            .collect()
    }

    /// Faults injected and tokens issued so far.
    pub(crate) fn injected(&self) -> FaultCounts {
        self.injected.snapshot()
    }

    /// All requests counted.
    pub(crate) fn total_requests(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// Request ids for one request (`client-request-id` echoed if sent).
    pub(crate) fn context(&self, headers: &HeaderMap) -> Ctx {
        let request_id = Rng::new(self.tenant.seed, domain::REQUEST, self.next_serial()).guid();
        let client_request_id = headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_else(|| request_id.clone());
        Ctx {
            request_id,
            client_request_id,
            now: clock::now_secs(),
        }
    }
}
