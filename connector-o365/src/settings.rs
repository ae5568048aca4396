//! The connector's parameters, read once into typed settings.

use connector_core::{ConnectorError, Parameters};

use crate::cloud::{Cloud, Endpoints};
use crate::params::STREAMS;

/// One stream of the connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

    fn parse(name: &str) -> Option<Stream> {
        [
            Stream::Users,
            Stream::Licences,
            Stream::EntraDevices,
            Stream::ManagedDevices,
            Stream::Applications,
            Stream::AppUsage,
            Stream::Activations,
            Stream::ActiveUsers,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }
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
        let cloud = Cloud::parse(params.str("cloud_instance"))
            .map_err(|e| ConnectorError::invalid_parameter("cloud_instance", e))?;
        let endpoints = cloud
            .endpoints(params.str("graph_endpoint"))
            .map_err(|e| ConnectorError::invalid_parameter("graph_endpoint", e))?;
        let required = |key: &str| {
            params
                .str(key)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| ConnectorError::invalid_parameter(key, "is required"))
        };
        let tenant = required("tenant_id")?;
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
        let streams: Vec<Stream> = match params.list("streams") {
            Some(names) => names.iter().filter_map(|n| Stream::parse(n)).collect(),
            None => STREAMS.iter().filter_map(|n| Stream::parse(n)).collect(),
        };
        if streams.is_empty() {
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
            client_id: required("client_id")?,
            client_secret: required("client_secret")?,
            period: params.str("report_period").unwrap_or("D30").to_owned(),
            streams,
            max_concurrency: params.int("max_concurrency").unwrap_or(4).clamp(1, 32) as usize,
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
