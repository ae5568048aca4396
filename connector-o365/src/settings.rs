//! The connector's parameters, read once into typed settings.

use connector_core::{ConnectorError, Parameters};
use serde::Deserialize;

use crate::cloud::{Cloud, Endpoints};

/// One stream of the connector; its `snake_case` name is the value of the
/// `streams` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// Users and their licence assignments.
    Users,
    /// Subscribed SKUs (or licences derived from assignments).
    Licences,
    /// Entra ID devices.
    EntraDevices,
    /// Intune managed devices.
    ManagedDevices,
    /// Applications and installations (Intune app inventory).
    Applications,
    /// Microsoft 365 Apps usage.
    AppUsage,
    /// Office activations.
    Activations,
    /// Active-user detail: per-service licences and last activity.
    ActiveUsers,
}

impl Stream {
    /// Every stream, in the order a sync reads them.
    pub const ALL: [Stream; 8] = [
        Stream::Users,
        Stream::Licences,
        Stream::EntraDevices,
        Stream::ManagedDevices,
        Stream::Applications,
        Stream::AppUsage,
        Stream::Activations,
        Stream::ActiveUsers,
    ];

    /// The parameter value naming the stream.
    pub fn name(self) -> &'static str {
        match self {
            Stream::Users => "users",
            Stream::Licences => "licences",
            Stream::EntraDevices => "entra_devices",
            Stream::ManagedDevices => "managed_devices",
            Stream::Applications => "applications",
            Stream::AppUsage => "app_usage",
            Stream::Activations => "activations",
            Stream::ActiveUsers => "active_users",
        }
    }
}

/// The parameters as the schema in `params.rs` declares them (field names
/// are the keys); `Settings` is what a run makes of them.
#[derive(Deserialize)]
struct Declared {
    #[serde(default)]
    cloud_instance: Option<String>,
    #[serde(default)]
    graph_endpoint: Option<String>,
    tenant_id: String,
    client_id: String,
    client_secret: String,
    #[serde(default = "default_period")]
    report_period: String,
    #[serde(default = "all_streams")]
    streams: Vec<Stream>,
    #[serde(default = "default_concurrency")]
    max_concurrency: usize,
}

fn default_period() -> String {
    "D30".into()
}

fn all_streams() -> Vec<Stream> {
    Stream::ALL.to_vec()
}

fn default_concurrency() -> usize {
    4
}

/// Everything a run needs, from the parameters.
#[derive(Clone)]
pub struct Settings {
    /// Sign-in authority and Graph root.
    pub endpoints: Endpoints,
    /// Tenant id or domain.
    pub tenant: String,
    /// Application (client) id.
    pub client_id: String,
    /// Client secret value.
    pub client_secret: String,
    /// Usage report period (`D7`, `D30`, `D90`, `D180`).
    pub period: String,
    /// Streams to sync.
    pub streams: Vec<Stream>,
    /// Graph requests in flight at once.
    pub max_concurrency: usize,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("endpoints", &self.endpoints)
            .field("tenant", &self.tenant)
            .field("client_id", &self.client_id)
            .field("period", &self.period)
            .field("streams", &self.streams)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// Reads validated parameters (defaults filled in by the host).
    pub fn from_parameters(params: &Parameters) -> Result<Settings, ConnectorError> {
        let declared: Declared = params.deserialize()?;
        let cloud = Cloud::parse(declared.cloud_instance.as_deref())
            .map_err(|e| ConnectorError::invalid_parameter("cloud_instance", e))?;
        let endpoints = cloud
            .endpoints(
                declared
                    .graph_endpoint
                    .as_deref()
                    .filter(|s| !s.trim().is_empty()),
            )
            .map_err(|e| ConnectorError::invalid_parameter("graph_endpoint", e))?;
        let required = |key: &str, value: String| {
            let value = value.trim().to_owned();
            if value.is_empty() {
                Err(ConnectorError::invalid_parameter(key, "is required"))
            } else {
                Ok(value)
            }
        };
        let tenant = required("tenant_id", declared.tenant_id)?;
        if tenant.eq_ignore_ascii_case("common") || tenant.eq_ignore_ascii_case("organizations") {
            return Err(ConnectorError::invalid_parameter(
                "tenant_id",
                "'common' does not work for app sign-in: use the tenant's GUID or a verified domain",
            ));
        }
        // The tenant goes into the sign-in URL's path: a GUID or a domain
        // name only, whatever a stored configuration holds.
        if !tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return Err(ConnectorError::invalid_parameter(
                "tenant_id",
                "expected the tenant's GUID or one of its domain names (contoso.onmicrosoft.com)",
            ));
        }
        if declared.streams.is_empty() {
            // A sync that reads nothing would "succeed", and a clean one
            // would remove everything.
            return Err(ConnectorError::invalid_parameter(
                "streams",
                "choose at least one stream to sync",
            ));
        }
        Ok(Settings {
            endpoints,
            tenant,
            client_id: required("client_id", declared.client_id)?,
            client_secret: required("client_secret", declared.client_secret)?,
            period: declared.report_period,
            streams: declared.streams,
            max_concurrency: declared.max_concurrency.clamp(1, 32),
        })
    }

    /// Whether a stream is selected.
    pub fn wants(&self, stream: Stream) -> bool {
        self.streams.contains(&stream)
    }

    /// Days of the usage report period.
    pub fn period_days(&self) -> i32 {
        self.period.trim_start_matches('D').parse().unwrap_or(30)
    }
}
