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

/// How the host stores a field: its type and whether it may be absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldType {
    /// Text (`string` in JSON).
    Text,
    /// A 64-bit whole number (`integer`).
    BigInt,
    /// A 32-bit whole number (`integer`).
    Int,
    /// `true` or `false` (`bool`).
    Bool,
}

/// One field of a record kind, in the order the host stores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Its name in JSON (`serial_number`).
    pub name: &'static str,
    /// Its type.
    pub ty: FieldType,
    /// Whether it may be absent (stored as NULL); the others default to
    /// `""`, `0` or `false`.
    pub optional: bool,
}

/// A field's value, as [`Record::visit`] hands it over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldValue<'a> {
    /// Text, or absent.
    Text(Option<&'a str>),
    /// A 64-bit whole number, or absent.
    BigInt(Option<i64>),
    /// A 32-bit whole number, or absent.
    Int(Option<i32>),
    /// A boolean, or absent.
    Bool(Option<bool>),
}

/// The Rust types a record field may have, and how each is stored.
trait Stored {
    const TYPE: FieldType;
    const OPTIONAL: bool;
    fn value(&self) -> FieldValue<'_>;
}

macro_rules! stored {
    ($t:ty, $variant:ident, $optional:literal, |$v:ident| $value:expr) => {
        impl Stored for $t {
            const TYPE: FieldType = FieldType::$variant;
            const OPTIONAL: bool = $optional;
            fn value(&self) -> FieldValue<'_> {
                let $v = self;
                FieldValue::$variant($value)
            }
        }
    };
}

stored!(String, Text, false, |v| Some(v.as_str()));
stored!(Option<String>, Text, true, |v| v.as_deref());
stored!(i64, BigInt, false, |v| Some(*v));
stored!(Option<i64>, BigInt, true, |v| *v);
stored!(i32, Int, false, |v| Some(*v));
stored!(Option<i32>, Int, true, |v| *v);
stored!(bool, Bool, false, |v| Some(*v));
stored!(Option<bool>, Bool, true, |v| *v);

/// Declares a record struct once: the struct as written, plus the
/// description of its fields (`FIELDS`) and a visitor of their values that
/// the host's storage, `plugin check` and the documentation test use.
macro_rules! described {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $fty:ty ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $( $(#[$fmeta])* pub $field : $fty ),+
        }

        impl $name {
            /// Its fields, in the order the host stores them.
            pub const FIELDS: &'static [Field] = &[
                $( Field {
                    name: stringify!($field),
                    ty: <$fty as Stored>::TYPE,
                    optional: <$fty as Stored>::OPTIONAL,
                } ),+
            ];

            /// Hands each field's name and value to `f`, in [`Self::FIELDS`] order.
            pub fn visit(&self, f: &mut dyn FnMut(&'static str, FieldValue<'_>)) {
                $( f(stringify!($field), Stored::value(&self.$field)); )+
            }
        }
    };
}

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

            /// The fields of records of this kind (`source_key` first), in
            /// the order the host stores them.
            pub fn fields(self) -> &'static [Field] {
                match self {
                    $(RecordKind::$variant => $ty::FIELDS),+
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

            /// Hands each field's name and value to `f`, in the order of
            /// its kind's [`RecordKind::fields`].
            pub fn visit(&self, f: &mut dyn FnMut(&'static str, FieldValue<'_>)) {
                match self {
                    $(Record::$variant(r) => r.visit(f)),+
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
    type Err = UnknownRecordKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RecordKind::ALL
            .iter()
            .copied()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| UnknownRecordKind(s.to_owned()))
    }
}

/// A name that is not one of the [`RecordKind`]s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRecordKind(pub String);

impl std::fmt::Display for UnknownRecordKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = RecordKind::ALL.iter().map(|k| k.as_str()).collect();
        write!(
            f,
            "unknown record kind '{}' (expected one of {})",
            self.0.escape_debug(),
            names.join(", ")
        )
    }
}

impl std::error::Error for UnknownRecordKind {}

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

described! {
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

described! {
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

described! {
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

described! {
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

described! {
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
}

described! {
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
}

described! {
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
}

described! {
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
}

#[cfg(test)]
mod tests {
    #[test]
    fn abi_md_documents_every_field_of_every_kind_with_its_type() {
        let doc = include_str!("../ABI.md");
        for kind in RecordKind::ALL {
            let heading = format!("**`{kind}`**");
            let at = doc
                .find(&heading)
                .unwrap_or_else(|| panic!("ABI.md has no section {heading}"));
            let documented: Vec<(String, String)> = doc[at..]
                .lines()
                .skip_while(|l| !l.starts_with("| field"))
                .skip(2)
                .take_while(|l| l.starts_with('|'))
                .map(|l| {
                    let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                    (cells[1].trim_matches('`').to_owned(), cells[2].to_owned())
                })
                .collect();
            let model: Vec<(String, String)> = kind
                .fields()
                .iter()
                .map(|f| {
                    let ty = match f.ty {
                        FieldType::Text => "string",
                        FieldType::Bool => "bool",
                        _ => "integer",
                    };
                    (f.name.to_owned(), ty.to_owned())
                })
                .collect();
            assert_eq!(documented, model, "ABI.md's table of {kind}");
        }
    }

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
                .to_string()
                .contains("application_usage")
        );
    }
}
