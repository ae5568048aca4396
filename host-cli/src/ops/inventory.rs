//! The inventory views: raw rows of one kind in a repository.

use anyhow::Result;
use connector_core::RecordKind;
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
    /// Licences (subscribed SKUs).
    Licences,
    /// Licences assigned to users.
    Assignments,
    /// Office activations.
    Activations,
}

impl View {
    /// The record kind the view lists.
    pub fn kind(self) -> RecordKind {
        match self {
            View::Devices => RecordKind::Device,
            View::Applications => RecordKind::Application,
            View::Installations => RecordKind::Installation,
            View::Users => RecordKind::User,
            View::Usage => RecordKind::ApplicationUsage,
            View::Licences => RecordKind::Licence,
            View::Assignments => RecordKind::LicenceAssignment,
            View::Activations => RecordKind::Activation,
        }
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
            View::Licences => &[
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
        }
    }
}

/// A page of a view, and the total number of rows.
pub async fn rows(
    store: &Store,
    repository: &str,
    view: View,
    limit: u64,
) -> Result<(Vec<Map<String, Value>>, u64)> {
    let repository = store.repository(repository).await?;
    let total = store
        .raw_counts(repository.id)
        .await?
        .get(&view.kind())
        .copied()
        .unwrap_or(0);
    let rows = store
        .raw_rows(repository.id, view.kind(), Page { limit, offset: 0 })
        .await?;
    Ok((rows, total))
}
