//! The inventory record model: what connectors emit and the host stores.
//!
//! Every record carries a `source_key`, stable in its source, so that a
//! re-sync updates rather than duplicates. References between records
//! (an installation's device and application, a usage row's user) use the
//! referenced record's `source_key` within the same connector.
//!
//! Dates are ISO 8601 strings: `YYYY-MM-DD` for days, RFC 3339 for instants.
//! Optional fields may be omitted from the JSON; unknown fields are ignored,
//! so later SDK versions can add fields without breaking older hosts.

use serde::{Deserialize, Serialize};

macro_rules! record_kinds {
    ($($(#[$doc:meta])* $variant:ident($ty:ident) = $name:literal),+ $(,)?) => {
        /// The kinds of record a connector can emit.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[non_exhaustive]
        pub enum RecordKind {
            $($(#[$doc])* $variant),+
        }

        impl RecordKind {
            /// Every kind, in a fixed order (the order stores report counts in).
            pub const ALL: &'static [RecordKind] = &[$(RecordKind::$variant),+];

            /// The kind's name as it appears in JSON (`"device"`, `"application_usage"`, ...).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(RecordKind::$variant => $name),+
                }
            }
        }

        /// One inventory record. In JSON, an object whose `kind` field names
        /// its [`RecordKind`] next to the record's own fields.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "kind", rename_all = "snake_case")]
        #[non_exhaustive]
        pub enum Record {
            $($(#[$doc])* $variant($ty)),+
        }

        impl Record {
            /// This record's kind.
            pub fn kind(&self) -> RecordKind {
                match self {
                    $(Record::$variant(_) => RecordKind::$variant),+
                }
            }

            /// The record's key in its source.
            pub fn source_key(&self) -> &str {
                match self {
                    $(Record::$variant(r) => &r.source_key),+
                }
            }
        }

        $(
            impl From<$ty> for Record {
                fn from(record: $ty) -> Self {
                    Record::$variant(record)
                }
            }
        )+
    };
}

record_kinds! {
    /// A machine: a PC, a Mac, a phone, a server.
    Device(Device) = "device",
    /// A person or service account.
    User(User) = "user",
    /// A software title as its source reports it.
    Application(Application) = "application",
    /// An application found on a device.
    Installation(Installation) = "installation",
    /// A user's use of an application or product, from a usage report.
    ApplicationUsage(ApplicationUsage) = "application_usage",
    /// A subscribed licence SKU.
    Licence(Licence) = "licence",
    /// A licence SKU assigned to a user.
    LicenceAssignment(LicenceAssignment) = "licence_assignment",
    /// A user's activations of a product type, per platform.
    Activation(Activation) = "activation",
}

impl std::fmt::Display for RecordKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for RecordKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RecordKind::ALL
            .iter()
            .copied()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = RecordKind::ALL.iter().map(|k| k.as_str()).collect();
                format!(
                    "unknown record kind '{s}' (expected one of {})",
                    names.join(", ")
                )
            })
    }
}

/// One batch of records handed from a connector to the host.
///
/// `complete` is the stream-complete marker: the kinds whose records the run
/// has now delivered in full (in this batch or earlier ones). Only for those
/// kinds does the host remove rows that the run did not see.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// The records, in any order.
    #[serde(default)]
    pub records: Vec<Record>,
    /// Kinds delivered in full once this batch is taken.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub complete: Vec<RecordKind>,
}

/// A machine.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Device {
    /// Stable key in the source (Intune managed device id, Entra object id, CSV id).
    pub source_key: String,
    /// Host or device name as the source reports it.
    pub name: String,
    /// Entra ID (Azure AD) device id, the strongest key for merging devices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entra_device_id: Option<String>,
    /// Hardware serial number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    /// Hardware manufacturer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    /// Hardware model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Operating system name (`Windows`, `macOS`, `iOS`, `Android`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operating_system: Option<String>,
    /// Operating system version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    /// User principal name of the device's primary user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_user: Option<String>,
    /// When the source last heard from the device (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
    /// When the device was enrolled or registered (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enrolled: Option<String>,
    /// Compliance state as the source names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compliance: Option<String>,
    /// Ownership (`company`, `personal`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ownership: Option<String>,
    /// Installed memory in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<i64>,
    /// Total storage in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_bytes: Option<i64>,
    /// Which part of the source described it (`intune`, `entra`, `csv`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_type: Option<String>,
}

impl Device {
    /// A device with its key and name; set the other fields directly.
    pub fn new(source_key: impl Into<String>, name: impl Into<String>) -> Self {
        Device {
            source_key: source_key.into(),
            name: name.into(),
            ..Default::default()
        }
    }
}

/// A person or service account.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct User {
    /// Stable key in the source (Entra object id, CSV id).
    pub source_key: String,
    /// User principal name (sign-in name).
    pub user_principal_name: String,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Mail address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mail: Option<String>,
    /// Whether the account may sign in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `Member`, `Guest`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    /// Department.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Job title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    /// When the account was created (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// True when the source conceals the identity (pseudonymous reports):
    /// such a user joins to nothing and is never merged by guess.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub concealed: bool,
}

impl User {
    /// A user with its key and user principal name.
    pub fn new(source_key: impl Into<String>, user_principal_name: impl Into<String>) -> Self {
        User {
            source_key: source_key.into(),
            user_principal_name: user_principal_name.into(),
            ..Default::default()
        }
    }
}

/// A software title as the source reports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Application {
    /// Stable key in the source.
    pub source_key: String,
    /// Title as reported.
    pub name: String,
    /// Publisher as reported (often empty in Intune).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    /// Version as reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Platform (`Windows`, `macOS`, `iOS`, `Android`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Size on disk in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<i64>,
}

impl Application {
    /// An application with its key and title.
    pub fn new(source_key: impl Into<String>, name: impl Into<String>) -> Self {
        Application {
            source_key: source_key.into(),
            name: name.into(),
            ..Default::default()
        }
    }
}

/// An application found on a device.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Installation {
    /// Stable key in the source (often `device_key` and `application_key` joined).
    pub source_key: String,
    /// `source_key` of the [`Device`].
    pub device_key: String,
    /// `source_key` of the [`Application`].
    pub application_key: String,
    /// Installation date (`YYYY-MM-DD`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installed_on: Option<String>,
    /// Last time the application was used on this device (RFC 3339 or `YYYY-MM-DD`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used: Option<String>,
}

impl Installation {
    /// An installation of `application_key` on `device_key`, keyed by both.
    pub fn new(device_key: impl Into<String>, application_key: impl Into<String>) -> Self {
        let device_key = device_key.into();
        let application_key = application_key.into();
        Installation {
            source_key: format!("{device_key}|{application_key}"),
            device_key,
            application_key,
            ..Default::default()
        }
    }
}

/// A user's use of an application or product, from a usage report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ApplicationUsage {
    /// Stable key in the source.
    pub source_key: String,
    /// User principal name, or the concealed identifier when `concealed`.
    pub user: String,
    /// The application or product used (`Word`, `Teams`, a CSV title).
    pub application: String,
    /// Platform the use was seen on, when the source splits by platform.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Last activity date (`YYYY-MM-DD`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_activity: Option<String>,
    /// Report period in days the row covers (7, 30, 90, 180).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_period_days: Option<i32>,
    /// The report's as-of date (`YYYY-MM-DD`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_refresh_date: Option<String>,
    /// True when the report conceals user names.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub concealed: bool,
}

/// A subscribed licence SKU.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Licence {
    /// Stable key in the source (the SKU id).
    pub source_key: String,
    /// SKU id (a GUID for Microsoft 365).
    pub sku_id: String,
    /// SKU part number (`ENTERPRISEPACK`, ...).
    pub part_number: String,
    /// Readable product name, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `Enabled`, `Warning`, `Suspended`, `Deleted`, `LockedOut`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capability_status: Option<String>,
    /// Units bought and active.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prepaid_enabled: Option<i64>,
    /// Units suspended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prepaid_suspended: Option<i64>,
    /// Units in warning (grace) state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prepaid_warning: Option<i64>,
    /// Units assigned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumed: Option<i64>,
    /// True when the figures were derived (e.g. from user assignments)
    /// rather than read from the source's subscription list.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub derived: bool,
}

/// A licence SKU assigned to a user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct LicenceAssignment {
    /// Stable key in the source.
    pub source_key: String,
    /// `source_key` of the [`User`].
    pub user_key: String,
    /// SKU id, as in [`Licence::sku_id`].
    pub sku_id: String,
    /// When the licence was assigned (`YYYY-MM-DD`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned_on: Option<String>,
}

/// A user's activations of one product type, per platform.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Activation {
    /// Stable key in the source.
    pub source_key: String,
    /// User principal name, or the concealed identifier when `concealed`.
    pub user: String,
    /// Product type (`MICROSOFT 365 APPS FOR ENTERPRISE`, ...).
    pub product_type: String,
    /// Last activation date (`YYYY-MM-DD`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_activated: Option<String>,
    /// Activations on Windows.
    pub windows: i32,
    /// Activations on macOS.
    pub mac: i32,
    /// Activations on Windows 10 Mobile.
    pub windows_mobile: i32,
    /// Activations on iOS.
    pub ios: i32,
    /// Activations on Android.
    pub android: i32,
    /// Activations on shared computers.
    pub shared_computer: i32,
    /// The report's as-of date (`YYYY-MM-DD`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_refresh_date: Option<String>,
    /// True when the report conceals user names.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub concealed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_json_carries_its_kind_and_round_trips() {
        let mut device = Device::new("d-1", "PC-01");
        device.serial_number = Some("SN1".into());
        let record = Record::from(device);
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(json["kind"], "device");
        assert_eq!(json["serial_number"], "SN1");
        assert!(
            json.get("model").is_none(),
            "absent options are omitted: {json}"
        );
        let back: Record = serde_json::from_value(json).unwrap();
        assert_eq!(back, record);
    }

    #[test]
    fn unknown_kind_is_an_error_naming_it() {
        let err = serde_json::from_str::<Record>(r#"{"kind":"printer","source_key":"x"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("printer"), "{err}");
    }

    #[test]
    fn unknown_fields_are_ignored_for_forward_compatibility() {
        let record: Record = serde_json::from_str(
            r#"{"kind":"user","source_key":"u","user_principal_name":"a@b","added_later":1}"#,
        )
        .unwrap();
        assert_eq!(record.kind(), RecordKind::User);
    }

    #[test]
    fn kind_names_parse_back() {
        for kind in RecordKind::ALL {
            assert_eq!(kind.as_str().parse::<RecordKind>().unwrap(), *kind);
        }
        assert!(
            "nope"
                .parse::<RecordKind>()
                .unwrap_err()
                .contains("application_usage")
        );
    }
}
