//! The raw inventory tables: one per record kind, each row keyed by
//! (repository, connector, source key) and carrying the first and last run
//! that saw it. One description serves the migration, the writer and the views.

use connector_core::{Record, RecordKind};
use sea_orm::sea_query::Value;

/// The SQL type of a raw column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// Text.
    Text,
    /// 64-bit integer.
    BigInt,
    /// 32-bit integer.
    Int,
    /// Boolean.
    Bool,
}

/// One raw table.
#[derive(Debug)]
pub struct RawTable {
    /// The record kind it holds.
    pub kind: RecordKind,
    /// Table name.
    pub name: &'static str,
    /// The record's columns, after the common key columns.
    pub columns: &'static [(&'static str, ColumnType)],
}

/// Columns every raw table starts with, in this order.
pub const KEY_COLUMNS: [&str; 3] = ["repository_id", "connector_id", "source_key"];
/// Columns every raw table ends with, in this order.
pub const RUN_COLUMNS: [&str; 2] = ["first_seen_run", "last_seen_run"];

/// Longest text kept in a raw column, in characters; longer values are cut.
pub const MAX_TEXT_CHARS: usize = 4000;

use ColumnType::{BigInt, Bool, Int, Text};

/// Every raw table, in [`RecordKind::ALL`] order.
pub static RAW_TABLES: &[RawTable] = &[
    RawTable {
        kind: RecordKind::Device,
        name: "raw_devices",
        columns: &[
            ("name", Text),
            ("entra_device_id", Text),
            ("serial_number", Text),
            ("manufacturer", Text),
            ("model", Text),
            ("operating_system", Text),
            ("os_version", Text),
            ("primary_user", Text),
            ("last_seen", Text),
            ("enrolled", Text),
            ("compliance", Text),
            ("ownership", Text),
            ("memory_bytes", BigInt),
            ("storage_bytes", BigInt),
            ("source_type", Text),
        ],
    },
    RawTable {
        kind: RecordKind::User,
        name: "raw_users",
        columns: &[
            ("user_principal_name", Text),
            ("display_name", Text),
            ("mail", Text),
            ("enabled", Bool),
            ("user_type", Text),
            ("department", Text),
            ("job_title", Text),
            ("created", Text),
            ("concealed", Bool),
        ],
    },
    RawTable {
        kind: RecordKind::Application,
        name: "raw_applications",
        columns: &[
            ("name", Text),
            ("publisher", Text),
            ("version", Text),
            ("platform", Text),
            ("size_bytes", BigInt),
        ],
    },
    RawTable {
        kind: RecordKind::Installation,
        name: "raw_installations",
        columns: &[
            ("device_key", Text),
            ("application_key", Text),
            ("installed_on", Text),
            ("last_used", Text),
        ],
    },
    RawTable {
        kind: RecordKind::ApplicationUsage,
        name: "raw_application_usage",
        columns: &[
            ("user_name", Text),
            ("application", Text),
            ("platform", Text),
            ("last_activity", Text),
            ("report_period_days", Int),
            ("report_refresh_date", Text),
            ("concealed", Bool),
        ],
    },
    RawTable {
        kind: RecordKind::Licence,
        name: "raw_licences",
        columns: &[
            ("sku_id", Text),
            ("part_number", Text),
            ("name", Text),
            ("capability_status", Text),
            ("prepaid_enabled", BigInt),
            ("prepaid_suspended", BigInt),
            ("prepaid_warning", BigInt),
            ("consumed", BigInt),
            ("derived", Bool),
        ],
    },
    RawTable {
        kind: RecordKind::LicenceAssignment,
        name: "raw_licence_assignments",
        columns: &[("user_key", Text), ("sku_id", Text), ("assigned_on", Text)],
    },
    RawTable {
        kind: RecordKind::Activation,
        name: "raw_activations",
        columns: &[
            ("user_name", Text),
            ("product_type", Text),
            ("last_activated", Text),
            ("windows", Int),
            ("mac", Int),
            ("windows_mobile", Int),
            ("ios", Int),
            ("android", Int),
            ("shared_computer", Int),
            ("report_refresh_date", Text),
            ("concealed", Bool),
        ],
    },
];

/// A readable column a view adds to a raw row by looking up the row another
/// column names, in the same repository and connector: an installation's
/// device and application names instead of their source keys.
#[derive(Debug, Clone, Copy)]
pub struct Lookup {
    /// The column the view adds.
    pub column: &'static str,
    /// The column of this row holding the other row's source key.
    pub key: &'static str,
    /// The raw table of the other row.
    pub table: &'static str,
    /// The other row's column shown.
    pub value: &'static str,
}

/// The readable columns views add to rows of `kind`.
pub fn lookups(kind: RecordKind) -> &'static [Lookup] {
    const fn l(
        column: &'static str,
        key: &'static str,
        table: &'static str,
        value: &'static str,
    ) -> Lookup {
        Lookup {
            column,
            key,
            table,
            value,
        }
    }
    const INSTALLATION: &[Lookup] = &[
        l("device", "device_key", "raw_devices", "name"),
        l("application", "application_key", "raw_applications", "name"),
        l(
            "publisher",
            "application_key",
            "raw_applications",
            "publisher",
        ),
        l("version", "application_key", "raw_applications", "version"),
    ];
    const ASSIGNMENT: &[Lookup] = &[
        l("user", "user_key", "raw_users", "user_principal_name"),
        l("sku", "sku_id", "raw_licences", "part_number"),
    ];
    match kind {
        RecordKind::Installation => INSTALLATION,
        RecordKind::LicenceAssignment => ASSIGNMENT,
        _ => &[],
    }
}

/// The raw table of a record kind.
pub fn raw_table(kind: RecordKind) -> Option<&'static RawTable> {
    RAW_TABLES.iter().find(|t| t.kind == kind)
}

impl RawTable {
    /// Values bound per row: key columns, record columns, run columns.
    pub fn values_per_row(&self) -> usize {
        KEY_COLUMNS.len() + self.columns.len() + RUN_COLUMNS.len()
    }

    /// Every column name, in insert order.
    pub fn all_columns(&self) -> impl Iterator<Item = &'static str> + '_ {
        KEY_COLUMNS
            .into_iter()
            .chain(self.columns.iter().map(|(c, _)| *c))
            .chain(RUN_COLUMNS)
    }
}

/// Text as stored: NUL characters (which PostgreSQL refuses) removed, cut
/// to [`MAX_TEXT_CHARS`] on a character boundary.
pub fn clean_text(text: &str) -> String {
    // Fast path: byte length bounds the character count.
    if text.len() <= MAX_TEXT_CHARS && !text.contains('\0') {
        return text.to_owned();
    }
    let mut cleaned: String = text
        .chars()
        .filter(|c| *c != '\0')
        .take(MAX_TEXT_CHARS)
        .collect();
    cleaned.shrink_to_fit();
    cleaned
}

/// Longest source key stored as it is, in bytes; PostgreSQL indexes keys of
/// at most about 2.7 kB.
pub const MAX_KEY_BYTES: usize = 512;

/// A source key as stored: NULs removed; a key longer than
/// [`MAX_KEY_BYTES`] becomes its start plus a hash of the whole, so that
/// distinct long keys stay distinct.
pub fn stored_key(key: &str) -> std::borrow::Cow<'_, str> {
    if key.len() <= MAX_KEY_BYTES && !key.contains('\0') {
        return std::borrow::Cow::Borrowed(key);
    }
    let cleaned: String = key.chars().filter(|c| *c != '\0').collect();
    if cleaned.len() <= MAX_KEY_BYTES {
        return std::borrow::Cow::Owned(cleaned);
    }
    // FNV-1a, 64 bits: stable across builds and platforms.
    let hash = cleaned.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut cut = MAX_KEY_BYTES - 20;
    while !cleaned.is_char_boundary(cut) {
        cut -= 1;
    }
    std::borrow::Cow::Owned(format!("{}~{hash:016x}", &cleaned[..cut]))
}

fn text(value: &str) -> Value {
    Value::String(Some(Box::new(clean_text(value))))
}

fn opt_text(value: &Option<String>) -> Value {
    Value::String(value.as_deref().map(|v| Box::new(clean_text(v))))
}

fn big(value: Option<i64>) -> Value {
    Value::BigInt(value)
}

/// Appends a record's column values (after the key columns) to `out`, in
/// the order of its table's `columns`. `None` for a kind no table holds.
pub(crate) fn push_values(record: &Record, out: &mut Vec<Value>) -> Option<()> {
    match record {
        Record::Device(d) => out.extend([
            text(&d.name),
            opt_text(&d.entra_device_id),
            opt_text(&d.serial_number),
            opt_text(&d.manufacturer),
            opt_text(&d.model),
            opt_text(&d.operating_system),
            opt_text(&d.os_version),
            opt_text(&d.primary_user),
            opt_text(&d.last_seen),
            opt_text(&d.enrolled),
            opt_text(&d.compliance),
            opt_text(&d.ownership),
            big(d.memory_bytes),
            big(d.storage_bytes),
            opt_text(&d.source_type),
        ]),
        Record::User(u) => out.extend([
            text(&u.user_principal_name),
            opt_text(&u.display_name),
            opt_text(&u.mail),
            Value::Bool(u.enabled),
            opt_text(&u.user_type),
            opt_text(&u.department),
            opt_text(&u.job_title),
            opt_text(&u.created),
            Value::Bool(Some(u.concealed)),
        ]),
        Record::Application(a) => out.extend([
            text(&a.name),
            opt_text(&a.publisher),
            opt_text(&a.version),
            opt_text(&a.platform),
            big(a.size_bytes),
        ]),
        Record::Installation(i) => out.extend([
            text(&i.device_key),
            text(&i.application_key),
            opt_text(&i.installed_on),
            opt_text(&i.last_used),
        ]),
        Record::ApplicationUsage(u) => out.extend([
            text(&u.user),
            text(&u.application),
            opt_text(&u.platform),
            opt_text(&u.last_activity),
            Value::Int(u.report_period_days),
            opt_text(&u.report_refresh_date),
            Value::Bool(Some(u.concealed)),
        ]),
        Record::Licence(l) => out.extend([
            text(&l.sku_id),
            text(&l.part_number),
            opt_text(&l.name),
            opt_text(&l.capability_status),
            big(l.prepaid_enabled),
            big(l.prepaid_suspended),
            big(l.prepaid_warning),
            big(l.consumed),
            Value::Bool(Some(l.derived)),
        ]),
        Record::LicenceAssignment(a) => {
            out.extend([text(&a.user_key), text(&a.sku_id), opt_text(&a.assigned_on)])
        }
        Record::Activation(a) => out.extend([
            text(&a.user),
            text(&a.product_type),
            opt_text(&a.last_activated),
            Value::Int(Some(a.windows)),
            Value::Int(Some(a.mac)),
            Value::Int(Some(a.windows_mobile)),
            Value::Int(Some(a.ios)),
            Value::Int(Some(a.android)),
            Value::Int(Some(a.shared_computer)),
            opt_text(&a.report_refresh_date),
            Value::Bool(Some(a.concealed)),
        ]),
        _ => return None,
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use connector_core::{Activation, Device, LicenceAssignment};

    #[test]
    fn every_kind_has_a_table_whose_columns_match_its_values() {
        let samples: Vec<Record> = vec![
            Device::new("d", "n").into(),
            connector_core::User::new("u", "a@b").into(),
            connector_core::Application::new("a", "n").into(),
            connector_core::Installation::new("d", "a").into(),
            connector_core::ApplicationUsage::default().into(),
            connector_core::Licence::default().into(),
            LicenceAssignment::default().into(),
            Activation::default().into(),
        ];
        for kind in RecordKind::ALL {
            assert!(raw_table(*kind).is_some(), "{kind} has a table");
        }
        for record in samples {
            let table = raw_table(record.kind()).unwrap();
            let mut values = Vec::new();
            push_values(&record, &mut values).unwrap();
            assert_eq!(values.len(), table.columns.len(), "{}", table.name);
        }
    }

    #[test]
    fn long_keys_stay_distinct_and_bounded() {
        let a = "k".repeat(600) + "a";
        let b = "k".repeat(600) + "b";
        assert_ne!(stored_key(&a), stored_key(&b));
        assert!(stored_key(&a).len() <= MAX_KEY_BYTES);
        assert_eq!(stored_key("d\0x"), "dx");
        assert_eq!(stored_key("short"), "short");
    }

    #[test]
    fn text_is_cleaned_and_bounded() {
        assert_eq!(clean_text("a\0b"), "ab");
        let long = "é".repeat(MAX_TEXT_CHARS + 10);
        assert_eq!(clean_text(&long).chars().count(), MAX_TEXT_CHARS);
    }
}
