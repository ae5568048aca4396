//! The raw inventory tables: one per record kind, each row keyed by
//! (repository, connector, source key) and carrying the first and last run
//! that saw it. One description serves the migration, the writer and the views.

use connector_core::{FieldType, FieldValue, Record, RecordKind};
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
    /// The record's columns, after the common key columns: its fields
    /// other than `source_key`, in the model's order.
    pub columns: Vec<(&'static str, ColumnType)>,
    /// Merge keys the host adds after them, text, written with the row.
    pub folds: &'static [Fold],
}

/// A merge key the host keeps beside a record's text field: the field's
/// [`fold`](crate::fold::fold), computed in Rust when the row is written,
/// so that a consolidation on either backend compares the same bytes.
#[derive(Debug, PartialEq, Eq)]
pub struct Fold {
    /// The key's column.
    pub column: &'static str,
    /// The record's field it folds.
    pub field: &'static str,
}

/// The merge keys of a raw table (added by migration 9).
fn folds(kind: RecordKind) -> &'static [Fold] {
    const fn f(column: &'static str, field: &'static str) -> Fold {
        Fold { column, field }
    }
    const DEVICE: &[Fold] = &[
        f("name_fold", "name"),
        f("serial_fold", "serial_number"),
        f("primary_user_fold", "primary_user"),
    ];
    const USER: &[Fold] = &[f("upn_fold", "user_principal_name")];
    const USAGE: &[Fold] = &[f("user_fold", "user")];
    match kind {
        RecordKind::Device => DEVICE,
        RecordKind::User => USER,
        RecordKind::ApplicationUsage => USAGE,
        _ => &[],
    }
}

/// Columns every raw table starts with, in this order.
pub const KEY_COLUMNS: [&str; 3] = ["repository_id", "connector_id", "source_key"];
/// Columns every raw table ends with, in this order.
pub const RUN_COLUMNS: [&str; 2] = ["first_seen_run", "last_seen_run"];

/// Longest text kept in a raw column, in characters; longer values are cut.
pub const MAX_TEXT_CHARS: usize = 4000;

/// The table holding a record kind.
fn table_name(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Device => "raw_devices",
        RecordKind::User => "raw_users",
        RecordKind::Application => "raw_applications",
        RecordKind::Installation => "raw_installations",
        RecordKind::ApplicationUsage => "raw_application_usage",
        RecordKind::Licence => "raw_licences",
        RecordKind::LicenceAssignment => "raw_licence_assignments",
        RecordKind::Activation => "raw_activations",
        _ => "raw_unknown",
    }
}

/// The column a field is stored in: its own name, except `user`, a
/// reserved word in SQL, kept as `user_name`.
pub fn column_name(field: &'static str) -> &'static str {
    match field {
        "user" => "user_name",
        other => other,
    }
}

fn column_type(ty: FieldType) -> ColumnType {
    match ty {
        FieldType::BigInt => ColumnType::BigInt,
        FieldType::Int => ColumnType::Int,
        FieldType::Bool => ColumnType::Bool,
        _ => ColumnType::Text,
    }
}

/// Every raw table, in [`RecordKind::ALL`] order, built from the record
/// model's description of its fields: a field added to the model is a
/// column here (and needs a migration adding it).
pub fn raw_tables() -> &'static [RawTable] {
    static TABLES: std::sync::LazyLock<Vec<RawTable>> = std::sync::LazyLock::new(|| {
        RecordKind::ALL
            .iter()
            .map(|kind| RawTable {
                kind: *kind,
                name: table_name(*kind),
                columns: kind
                    .fields()
                    .iter()
                    .filter(|f| f.name != "source_key")
                    .map(|f| (column_name(f.name), column_type(f.ty)))
                    .collect(),
                folds: folds(*kind),
            })
            .collect()
    });
    &TABLES
}

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
    raw_tables().iter().find(|t| t.kind == kind)
}

impl RawTable {
    /// Values bound per row: key columns, record columns, run columns.
    pub fn values_per_row(&self) -> usize {
        KEY_COLUMNS.len() + self.columns.len() + RUN_COLUMNS.len()
    }

    /// The record's columns, then its merge keys: what a row is written with
    /// after its key columns.
    pub fn written_columns(&self) -> impl Iterator<Item = (&'static str, ColumnType)> + '_ {
        self.columns
            .iter()
            .copied()
            .chain(self.folds.iter().map(|f| (f.column, ColumnType::Text)))
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

/// Appends a record's column values (after the key columns) to `out`, in
/// the order of its table's `columns`, then its merge keys (`folds`).
/// `None` for a kind no table holds.
pub(crate) fn push_values(record: &Record, out: &mut Vec<Value>) -> Option<()> {
    let table = raw_table(record.kind())?;
    let mut keys: [Option<String>; 3] = Default::default();
    record.visit(&mut |name, value| {
        if name == "source_key" {
            return;
        }
        if let Some(i) = table.folds.iter().position(|f| f.field == name)
            && let (Some(slot), FieldValue::Text(text)) = (keys.get_mut(i), &value)
        {
            *slot = crate::fold::fold_opt(text.map(clean_text).as_deref());
        }
        out.push(match value {
            FieldValue::Text(text) => Value::String(text.map(|t| Box::new(clean_text(t)))),
            FieldValue::BigInt(n) => Value::BigInt(n),
            FieldValue::Int(n) => Value::Int(n),
            FieldValue::Bool(b) => Value::Bool(b),
            _ => Value::String(None),
        });
    });
    out.extend(
        keys.into_iter()
            .take(table.folds.len())
            .map(|k| Value::String(k.map(Box::new))),
    );
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use connector_core::{Activation, Device, LicenceAssignment};

    #[test]
    fn the_tables_built_from_the_model_are_the_migrated_ones() {
        // Migration 2 made the record columns (none added since); migration
        // 9 the merge keys.
        let migrated = crate::migration::m20261126_000002_raw::frozen();
        assert_eq!(raw_tables().len(), migrated.len());
        for (table, (name, columns)) in raw_tables().iter().zip(migrated) {
            assert_eq!(table.name, *name);
            assert_eq!(table.columns, columns.to_vec(), "{name}");
            let folded = crate::migration::m20261207_000009_tenants::FOLDS
                .iter()
                .find(|(t, _)| t == name)
                .map(|(_, folds)| *folds)
                .unwrap_or_default();
            let live: Vec<(&str, &str)> = table
                .folds
                .iter()
                .map(|f| (f.column, column_name(f.field)))
                .collect();
            assert_eq!(live, folded.to_vec(), "{name}");
        }
    }

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
            assert_eq!(
                values.len(),
                table.written_columns().count(),
                "{}",
                table.name
            );
        }
    }

    #[test]
    fn merge_keys_are_written_after_the_columns() {
        let mut device = Device::new("d", "ÅSA-PC");
        device.primary_user = Some(" Jürgen@Contoso.com".into());
        let record: Record = device.into();
        let mut values = Vec::new();
        push_values(&record, &mut values).unwrap();
        let table = raw_table(RecordKind::Device).unwrap();
        let n = table.columns.len();
        assert_eq!(values[n], Value::String(Some(Box::new("åsa-pc".into()))));
        assert_eq!(values[n + 1], Value::String(None));
        assert_eq!(
            values[n + 2],
            Value::String(Some(Box::new("jürgen@contoso.com".into())))
        );
        for table in raw_tables() {
            assert!(table.folds.len() <= 3, "push_values keeps three keys");
            for fold in table.folds {
                assert!(table.kind.fields().iter().any(|f| f.name == fold.field));
            }
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
