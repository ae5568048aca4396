//! The inventory views: raw rows of one kind in a repository, and the
//! consolidated views (product usage, licences, reclaim, explain).

use anyhow::Result;
use connector_core::RecordKind;
use repo_store::consolidation::RunInfo;
use repo_store::{Page, Store};
use serde_json::{Map, Value};

/// A view an operator asks for, and the record kind behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Devices.
    Devices,
    /// Applications as their sources report them.
    Applications,
    /// Applications per device.
    Installations,
    /// Users.
    Users,
    /// Application usage.
    Usage,
    /// Subscribed SKUs as the sources report them.
    Skus,
    /// Licences assigned to users.
    Assignments,
    /// Office activations.
    Activations,
    /// Consolidated: products with installations, devices, users and usage categories.
    ProductUsage,
    /// Consolidated: per SKU prepaid, assigned, active, inactive, reclaimable.
    Licences,
    /// Consolidated: licence assignments that can be reclaimed (read-only).
    Reclaim,
    /// Consolidated: the raw rows and rule behind a device or product (`explain device|product ID`).
    Explain,
}

impl View {
    /// Every view, in the order operators see them listed.
    pub const ALL: [View; 12] = [
        View::Devices,
        View::Applications,
        View::Installations,
        View::Users,
        View::Usage,
        View::Skus,
        View::Assignments,
        View::Activations,
        View::ProductUsage,
        View::Licences,
        View::Reclaim,
        View::Explain,
    ];

    /// The name operators type (`product-usage`).
    pub fn name(self) -> &'static str {
        match self {
            View::Devices => "devices",
            View::Applications => "applications",
            View::Installations => "installations",
            View::Users => "users",
            View::Usage => "usage",
            View::Skus => "skus",
            View::Assignments => "assignments",
            View::Activations => "activations",
            View::ProductUsage => "product-usage",
            View::Licences => "licences",
            View::Reclaim => "reclaim",
            View::Explain => "explain",
        }
    }

    /// One line on what the view shows.
    pub fn help(self) -> &'static str {
        match self {
            View::Devices => "Devices",
            View::Applications => "Applications as their sources report them",
            View::Installations => "Applications per device",
            View::Users => "Users",
            View::Usage => "Application usage",
            View::Skus => "Subscribed SKUs as the sources report them",
            View::Assignments => "Licences assigned to users",
            View::Activations => "Office activations",
            View::ProductUsage => {
                "Consolidated: products with installations, devices, users and usage categories"
            }
            View::Licences => {
                "Consolidated: per SKU prepaid, assigned, active, inactive, reclaimable"
            }
            View::Reclaim => "Consolidated: licence assignments that can be reclaimed (read-only)",
            View::Explain => {
                "Consolidated: the raw rows and rule behind a device or product (`explain device|product ID`)"
            }
        }
    }

    /// The record kind the view lists; `None` for the consolidated views.
    pub fn kind(self) -> Option<RecordKind> {
        Some(match self {
            View::Devices => RecordKind::Device,
            View::Applications => RecordKind::Application,
            View::Installations => RecordKind::Installation,
            View::Users => RecordKind::User,
            View::Usage => RecordKind::ApplicationUsage,
            View::Skus => RecordKind::Licence,
            View::Assignments => RecordKind::LicenceAssignment,
            View::Activations => RecordKind::Activation,
            View::ProductUsage | View::Licences | View::Reclaim | View::Explain => return None,
        })
    }

    /// Columns of the table view (JSON carries every column).
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            View::Devices => &[
                "name",
                "serial_number",
                "operating_system",
                "os_version",
                "model",
                "primary_user",
                "last_seen",
                "connector",
            ],
            View::Applications => &["name", "publisher", "version", "platform", "connector"],
            View::Installations => &[
                "device",
                "application",
                "publisher",
                "version",
                "installed_on",
                "last_used",
                "connector",
            ],
            View::Users => &[
                "user_principal_name",
                "display_name",
                "department",
                "enabled",
                "connector",
            ],
            View::Usage => &[
                "user_name",
                "application",
                "platform",
                "last_activity",
                "report_refresh_date",
                "connector",
            ],
            View::Skus => &[
                "part_number",
                "name",
                "prepaid_enabled",
                "consumed",
                "capability_status",
                "connector",
            ],
            View::Assignments => &["user", "sku", "assigned_on", "connector"],
            View::Activations => &[
                "user_name",
                "product_type",
                "windows",
                "mac",
                "ios",
                "android",
                "last_activated",
                "connector",
            ],
            View::ProductUsage | View::Licences | View::Reclaim | View::Explain => &[],
        }
    }
}

/// A page of a raw view, and the total number of rows.
pub async fn rows(
    store: &Store,
    repository: &str,
    kind: RecordKind,
    limit: u64,
) -> Result<(Vec<Map<String, Value>>, u64)> {
    let repository = store.repository(repository).await?;
    let total = store
        .raw_counts(repository.id)
        .await?
        .get(&kind)
        .copied()
        .unwrap_or(0);
    let rows = store
        .raw_rows(repository.id, kind, Page { limit, offset: 0 })
        .await?;
    Ok((rows, total))
}

/// The line that says how a repository's consolidated data was made, or
/// how to make it.
pub fn run_note(repository: &str, run: Option<&RunInfo>) -> String {
    match run {
        Some(run) => format!(
            "Consolidated {} by process {}; usage judged on {} (Used within {} days, Rarely Used within {}). {}",
            utc_time(&run.consolidated_at),
            run.process_id.map_or("-".into(), |id| id.to_string()),
            run.as_of,
            run.used_days,
            run.rarely_used_days,
            run.notes
        ),
        None => format!(
            "'{repository}' has not been consolidated yet: invhost execute --repository '{repository}' --action '{}'",
            super::actions::CONSOLIDATION
        ),
    }
}

/// What `explain` is asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A consolidated device (id or name).
    Device,
    /// A product (id).
    Product,
}

/// Parses `device ID` or `product ID`.
pub fn subject(target: &[String]) -> Result<(Subject, String)> {
    match target {
        [kind, id] if kind == "device" => Ok((Subject::Device, id.clone())),
        [kind, id] if kind == "product" => Ok((Subject::Product, id.clone())),
        _ => anyhow::bail!(
            "explain needs what and which: 'inventory explain device ID|NAME' or 'inventory explain product ID' \
             (the ids are in 'inventory product-usage' and 'inventory explain device NAME')"
        ),
    }
}

impl std::str::FromStr for View {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        View::ALL
            .into_iter()
            .find(|v| v.name() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = View::ALL.iter().map(|v| v.name()).collect();
                format!("no view named '{name}' (known: {})", known.join(", "))
            })
    }
}

/// An RFC 3339 time as `YYYY-MM-DD HH:MM:SS UTC` (unparsable text as it is).
pub fn utc_time(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string()
        })
        .unwrap_or_else(|_| rfc3339.to_owned())
}
