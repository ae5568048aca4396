//! The inventory views: raw rows of one kind in a repository, and the
//! consolidated views (product usage, licences, reclaim, explain).

use anyhow::Result;
use connector_core::RecordKind;
use repo_store::consolidation::RunInfo;
use repo_store::{Page, Store};
use serde_json::{Map, Value};

/// A view an operator asks for, and the record kind behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
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
                "device_key",
                "application_key",
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
            View::Assignments => &["user_key", "sku_id", "assigned_on", "connector"],
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
            crate::output::time(&run.consolidated_at),
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
