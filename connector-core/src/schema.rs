//! Parameter schemas and their validation, shared by host and plugins.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::ConnectorError;

/// The type of one parameter, which decides how its value is checked.
///
/// In JSON: `{"type": "string"}`, `{"type": "integer", "min": 1, "max": 64}`,
/// `{"type": "choice", "options": ["D7", "D30"]}`, ...
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ParamKind {
    /// Free text.
    String,
    /// A filesystem path.
    Path,
    /// An absolute `http://` or `https://` URL.
    Url,
    /// A GUID such as `8c3f1f0e-7d0e-4a41-9d3c-1b2a3c4d5e6f`.
    Guid,
    /// An e-mail address or user principal name.
    Email,
    /// `true` or `false`.
    Bool,
    /// A whole number, optionally bounded.
    Integer {
        /// Smallest accepted value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<i64>,
        /// Largest accepted value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<i64>,
    },
    /// One of a fixed list of strings.
    Choice {
        /// The accepted values.
        options: Vec<String>,
    },
    /// Any subset of a fixed list of strings: a JSON array of strings.
    MultiChoice {
        /// The accepted values.
        options: Vec<String>,
    },
    /// Text that must never be shown, logged or stored in clear.
    Secret,
}

impl ParamKind {
    /// True for [`ParamKind::Secret`].
    pub fn is_secret(&self) -> bool {
        matches!(self, ParamKind::Secret)
    }

    /// A short human name of the kind, for tables and error messages.
    pub fn describe(&self) -> String {
        match self {
            ParamKind::String => "string".into(),
            ParamKind::Path => "path".into(),
            ParamKind::Url => "url".into(),
            ParamKind::Guid => "guid".into(),
            ParamKind::Email => "email".into(),
            ParamKind::Bool => "bool".into(),
            ParamKind::Integer { min, max } => match (min, max) {
                (Some(min), Some(max)) => format!("integer {min}..={max}"),
                (Some(min), None) => format!("integer >= {min}"),
                (None, Some(max)) => format!("integer <= {max}"),
                (None, None) => "integer".into(),
            },
            ParamKind::Choice { options } => format!("one of {}", options.join(" | ")),
            ParamKind::MultiChoice { options } => format!("any of {}", options.join(", ")),
            ParamKind::Secret => "secret".into(),
        }
    }
}

/// One parameter of a connector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ParamField {
    /// Stable key, part of the connector's public interface (`tenant_id`).
    pub key: String,
    /// Label as an operator sees it (`Tenant Id`).
    pub label: String,
    /// Type of the value.
    pub kind: ParamKind,
    /// Whether a value must be given.
    #[serde(default)]
    pub required: bool,
    /// Value used when none is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// One or two sentences of help for operators.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub help: String,
    /// Still accepted, but no longer used: setting it earns a warning.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deprecated: bool,
    /// For text kinds: a regular expression the whole value must match
    /// (Rust `regex` syntax, implicitly anchored like HTML's `pattern`),
    /// and what it asks for in words, for the refusal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<Pattern>,
}

/// A shape a text parameter must have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pattern {
    /// The regular expression the whole value must match.
    pub regex: String,
    /// What a matching value is, in words (`a GUID or a domain name`).
    pub description: String,
}

impl ParamField {
    /// An optional field with no default and no help.
    pub fn new(key: impl Into<String>, label: impl Into<String>, kind: ParamKind) -> Self {
        ParamField {
            key: key.into(),
            label: label.into(),
            kind,
            required: false,
            default: None,
            help: String::new(),
            deprecated: false,
            pattern: None,
        }
    }

    /// Asks that a text value match `regex` as a whole; `description` says
    /// what that means to an operator.
    pub fn pattern(mut self, regex: impl Into<String>, description: impl Into<String>) -> Self {
        self.pattern = Some(Pattern {
            regex: regex.into(),
            description: description.into(),
        });
        self
    }

    /// Marks the field required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Sets the default value.
    pub fn default_value(mut self, value: impl Into<Value>) -> Self {
        self.default = Some(value.into());
        self
    }

    /// Sets the help text.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = help.into();
        self
    }

    /// Marks the field deprecated.
    pub fn deprecated(mut self) -> Self {
        self.deprecated = true;
        self
    }

    /// Checks one value against this field's kind.
    pub fn check_value(&self, value: &Value) -> Result<(), InvalidValue> {
        self.check(value).map_err(InvalidValue)
    }

    fn check(&self, value: &Value) -> Result<(), String> {
        check_kind(&self.kind, value)?;
        if let (Some(pattern), Some(text)) = (&self.pattern, value.as_str()) {
            // An empty optional value is "not given", not a wrong shape.
            if text.is_empty() && !self.required {
                return Ok(());
            }
            let anchored = format!("^(?:{})$", pattern.regex);
            let regex = regex::Regex::new(&anchored).map_err(|e| {
                let e = e.to_string();
                let last = e.lines().last().unwrap_or_default().trim();
                format!("the connector's pattern for it is invalid: {last}")
            })?;
            if !regex.is_match(text) {
                return Err(format!("expected {}", pattern.description));
            }
        }
        if let (ParamKind::MultiChoice { .. }, Some(list)) = (&self.kind, value.as_array())
            && list.is_empty()
            && self.required
        {
            return Err("choose at least one".into());
        }
        Ok(())
    }

    /// Turns text typed by an operator (`--param key=text`) into a typed value.
    pub fn parse_text(&self, text: &str) -> Result<Value, InvalidValue> {
        let value = match &self.kind {
            ParamKind::Bool => match text.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" | "on" => Value::Bool(true),
                "false" | "no" | "0" | "off" => Value::Bool(false),
                _ => {
                    return Err(InvalidValue(format!(
                        "expected true or false, got '{}'",
                        text.escape_debug()
                    )));
                }
            },
            ParamKind::Integer { .. } => {
                text.trim().parse::<i64>().map(Value::from).map_err(|_| {
                    InvalidValue(format!(
                        "expected a whole number, got '{}'",
                        text.escape_debug()
                    ))
                })?
            }
            ParamKind::MultiChoice { .. } => Value::Array(
                text.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_owned()))
                    .collect(),
            ),
            _ => Value::String(text.to_owned()),
        };
        self.check_value(&value)?;
        Ok(value)
    }
}

fn check_kind(kind: &ParamKind, value: &Value) -> Result<(), String> {
    let text = || {
        value
            .as_str()
            .ok_or_else(|| format!("expected {}, got {}", kind.describe(), json_type(value)))
    };
    match kind {
        ParamKind::String | ParamKind::Path | ParamKind::Secret => text().map(drop),
        ParamKind::Url => {
            let s = text()?;
            let rest = s
                .strip_prefix("https://")
                .or_else(|| s.strip_prefix("http://"))
                .ok_or_else(|| "expected an http:// or https:// URL".to_owned())?;
            if rest.is_empty() || rest.starts_with('/') || rest.contains(char::is_whitespace) {
                return Err("expected a URL with a host name".into());
            }
            Ok(())
        }
        ParamKind::Guid => {
            let s = text()?;
            if is_guid(s) {
                Ok(())
            } else {
                Err("expected a GUID like 00000000-0000-0000-0000-000000000000".into())
            }
        }
        ParamKind::Email => {
            let s = text()?;
            match s.split_once('@') {
                Some((local, domain))
                    if !local.is_empty()
                        && domain.contains('.')
                        && !s.contains(char::is_whitespace) =>
                {
                    Ok(())
                }
                _ => Err("expected an address like name@example.com".into()),
            }
        }
        ParamKind::Bool => value
            .as_bool()
            .map(drop)
            .ok_or_else(|| format!("expected true or false, got {}", json_type(value))),
        ParamKind::Integer { min, max } => {
            let n = value
                .as_i64()
                .ok_or_else(|| format!("expected a whole number, got {}", json_type(value)))?;
            if min.is_some_and(|min| n < min) || max.is_some_and(|max| n > max) {
                return Err(format!("{n} is outside {}", kind.describe()));
            }
            Ok(())
        }
        ParamKind::Choice { options } => {
            let s = text()?;
            if options.iter().any(|o| o == s) {
                Ok(())
            } else {
                Err(format!(
                    "'{}' is not one of {}",
                    s.escape_debug(),
                    options.join(", ")
                ))
            }
        }
        ParamKind::MultiChoice { options } => {
            let items = value
                .as_array()
                .ok_or_else(|| format!("expected a list, got {}", json_type(value)))?;
            for item in items {
                let s = item.as_str().ok_or("expected a list of strings")?;
                if !options.iter().any(|o| o == s) {
                    return Err(format!(
                        "'{}' is not one of {}",
                        s.escape_debug(),
                        options.join(", ")
                    ));
                }
            }
            Ok(())
        }
    }
}

fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A value that does not fit: what was expected, in one line an operator
/// can act on (the value of a secret is never quoted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidValue(pub String);

impl fmt::Display for InvalidValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidValue {}

/// The ordered list of a connector's parameters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ParamSchema {
    /// The fields, in the order forms show them.
    pub fields: Vec<ParamField>,
}

impl ParamSchema {
    /// The field with this key.
    pub fn field(&self, key: &str) -> Option<&ParamField> {
        self.fields.iter().find(|f| f.key == key)
    }

    /// The keys of secret fields.
    pub fn secret_keys(&self) -> impl Iterator<Item = &str> {
        self.fields
            .iter()
            .filter(|f| f.kind.is_secret())
            .map(|f| f.key.as_str())
    }

    /// Checks parameters against the schema: every unknown key, missing
    /// required field and wrongly typed value is reported, each naming its field.
    pub fn validate(&self, params: &Parameters) -> Result<(), ValidationError> {
        let mut errors = Vec::new();
        for (key, value) in params.values.iter() {
            match self.field(key) {
                None => errors.push(FieldError::unknown(key, self)),
                Some(_) if value.is_null() => {}
                Some(field) => {
                    if let Err(problem) = field.check_value(value) {
                        errors.push(FieldError {
                            field: key.clone(),
                            problem: problem.0,
                        });
                    }
                }
            }
        }
        for field in self.fields.iter().filter(|f| f.required) {
            let missing = match params.values.get(&field.key) {
                None | Some(Value::Null) => true,
                Some(Value::String(s)) => s.trim().is_empty(),
                Some(_) => false,
            };
            if missing && field.default.is_none() {
                errors.push(FieldError {
                    field: field.key.clone(),
                    problem: format!("'{}' is required", field.label),
                });
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ValidationError { errors })
        }
    }

    /// Returns the parameters with defaults filled in for absent fields.
    pub fn with_defaults(&self, params: &Parameters) -> Parameters {
        let mut values = params.values.clone();
        for field in &self.fields {
            if let Some(default) = &field.default {
                let absent = matches!(values.get(&field.key), None | Some(Value::Null));
                if absent {
                    values.insert(field.key.clone(), default.clone());
                }
            }
        }
        Parameters { values }
    }

    /// Problems with the schema itself (duplicate keys, empty labels, a default
    /// of the wrong kind, a choice without options); empty when it is sound.
    pub fn lint(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut seen = BTreeSet::new();
        for field in &self.fields {
            if field.key.is_empty()
                || !field
                    .key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                problems.push(format!("key '{}' is not snake_case ASCII", field.key));
            }
            if !seen.insert(field.key.as_str()) {
                problems.push(format!("key '{}' appears twice", field.key));
            }
            if field.label.trim().is_empty() {
                problems.push(format!("field '{}' has no label", field.key));
            }
            if let ParamKind::Choice { options } | ParamKind::MultiChoice { options } = &field.kind
                && options.is_empty()
            {
                problems.push(format!("field '{}' offers no options", field.key));
            }
            if let Some(default) = &field.default {
                if field.kind.is_secret() {
                    problems.push(format!("secret field '{}' has a default", field.key));
                } else if let Err(problem) = field.check_value(default) {
                    problems.push(format!("default of '{}' is invalid: {problem}", field.key));
                }
            }
        }
        problems
    }
}

/// Parameter values: a JSON object from key to value.
///
/// `Debug` prints keys only, so that secret values cannot reach a log by accident.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Parameters {
    values: Map<String, Value>,
}

impl fmt::Debug for Parameters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.values.keys()).finish()
    }
}

impl Parameters {
    /// Empty parameters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parameters from a JSON value, which must be an object.
    pub fn from_json(value: Value) -> Result<Self, InvalidValue> {
        match value {
            Value::Object(values) => Ok(Parameters { values }),
            other => Err(InvalidValue(format!(
                "parameters must be a JSON object, got {}",
                json_type(&other)
            ))),
        }
    }

    /// The underlying JSON object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.values
    }

    /// Sets a value, returning the previous one.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) -> Option<Value> {
        self.values.insert(key.into(), value.into())
    }

    /// Removes a value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.values.remove(key)
    }

    /// The raw value of a key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.values.get(key).filter(|v| !v.is_null())
    }

    /// A text value; `None` when absent, null or empty.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    /// A boolean value.
    pub fn bool(&self, key: &str) -> Option<bool> {
        self.get(key).and_then(Value::as_bool)
    }

    /// An integer value.
    pub fn int(&self, key: &str) -> Option<i64> {
        self.get(key).and_then(Value::as_i64)
    }

    /// A list of strings (a multi-choice value).
    pub fn list(&self, key: &str) -> Option<Vec<&str>> {
        self.get(key)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
    }

    /// Whether a key has a non-null value.
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The parameters as the connector's own settings type, through serde:
    /// declare a struct whose field names are the schema's keys (`Option` for
    /// optional ones, `#[serde(default)]` where a default applies) and read
    /// it in one call. Values are checked against the schema before a
    /// connector sees them (the host does, and `export_plugin!` does again),
    /// so an error here means the struct and the schema disagree; it names
    /// the missing field or the type, and never quotes a value.
    pub fn deserialize<T: serde::de::DeserializeOwned>(&self) -> Result<T, ConnectorError> {
        serde_json::from_value(Value::Object(self.values.clone())).map_err(|e| {
            let mut message = e.to_string();
            // serde quotes a wrong value (`invalid type: string "…"`): take
            // out every string given (a secret among them); values of a
            // character or two would only mangle the words around them.
            for value in self.values.values().filter_map(Value::as_str) {
                if value.chars().count() > 2 {
                    message = message.replace(value, "(value)");
                }
            }
            match message
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split('`').next())
            {
                Some(field) => ConnectorError::invalid_parameter(field, "is required"),
                None => ConnectorError {
                    kind: crate::error::ErrorKind::InvalidParameters,
                    message: format!("invalid parameters: {message}"),
                    field: None,
                },
            }
        })
    }
}

/// One parameter's problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The parameter key.
    pub field: String,
    /// What is wrong, as a sentence fragment.
    pub problem: String,
}

impl FieldError {
    fn unknown(key: &str, schema: &ParamSchema) -> Self {
        let known: Vec<&str> = schema.fields.iter().map(|f| f.key.as_str()).collect();
        FieldError {
            field: key.to_owned(),
            problem: format!("unknown parameter (known: {})", known.join(", ")),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

/// Parameters that do not fit their schema; lists every problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationError {
    /// The problems, one per field.
    pub errors: Vec<FieldError>,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid parameters: ")?;
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationError {}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> ParamSchema {
        ParamSchema {
            fields: vec![
                ParamField::new("tenant_id", "Tenant Id", ParamKind::Guid).required(),
                ParamField::new("client_secret", "Client Secret", ParamKind::Secret).required(),
                ParamField::new(
                    "period",
                    "Period",
                    ParamKind::Choice {
                        options: vec!["D7".into(), "D30".into()],
                    },
                )
                .default_value("D30"),
                ParamField::new(
                    "max",
                    "Max",
                    ParamKind::Integer {
                        min: Some(1),
                        max: Some(8),
                    },
                ),
                ParamField::new("url", "Url", ParamKind::Url),
                ParamField::new("on", "On", ParamKind::Bool),
            ],
        }
    }

    fn params(v: Value) -> Parameters {
        Parameters::from_json(v).unwrap()
    }

    #[test]
    fn each_problem_names_its_field() {
        let err = schema()
            .validate(&params(
                json!({"tenant_id": "nope", "max": 9, "bogus": 1, "on": "yes"}),
            ))
            .unwrap_err();
        let fields: Vec<_> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["bogus", "max", "on", "tenant_id", "client_secret"]);
        let text = err.to_string();
        assert!(
            text.contains("bogus: unknown parameter (known: tenant_id, client_secret"),
            "{text}"
        );
        assert!(text.contains("max: 9 is outside integer 1..=8"), "{text}");
        assert!(text.contains("'Client Secret' is required"), "{text}");
    }

    #[test]
    fn valid_parameters_pass_and_defaults_fill_in() {
        let schema = schema();
        let p = params(json!({
            "tenant_id": "8c3f1f0e-7d0e-4a41-9d3c-1b2a3c4d5e6f",
            "client_secret": "s", "url": "http://127.0.0.1:8080", "on": true,
        }));
        schema.validate(&p).unwrap();
        assert_eq!(schema.with_defaults(&p).str("period"), Some("D30"));
    }

    #[test]
    fn text_is_parsed_by_kind() {
        let schema = schema();
        assert_eq!(
            schema.field("on").unwrap().parse_text("yes").unwrap(),
            json!(true)
        );
        assert_eq!(
            schema.field("max").unwrap().parse_text("4").unwrap(),
            json!(4)
        );
        assert!(schema.field("max").unwrap().parse_text("four").is_err());
        assert!(
            schema
                .field("period")
                .unwrap()
                .parse_text("D9")
                .unwrap_err()
                .0
                .contains("D7, D30")
        );
    }

    #[test]
    fn debug_never_shows_values() {
        let p = params(json!({"client_secret": "hunter2"}));
        assert_eq!(format!("{p:?}"), r#"{"client_secret"}"#);
    }

    #[test]
    fn lint_finds_unsound_schemas() {
        let schema = ParamSchema {
            fields: vec![
                ParamField::new("a", "A", ParamKind::Bool).default_value("x"),
                ParamField::new("a", "", ParamKind::Choice { options: vec![] }),
            ],
        };
        let problems = schema.lint();
        assert_eq!(problems.len(), 4, "{problems:?}");
    }
}

#[cfg(test)]
mod typed {
    use serde::Deserialize;
    use serde_json::json;

    use super::Parameters;
    use crate::error::ErrorKind;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Settings {
        folder: String,
        token: String,
        #[serde(default)]
        recursive: bool,
        limit: Option<u32>,
    }

    #[test]
    fn parameters_read_into_a_settings_struct() {
        let params = Parameters::from_json(json!({
            "folder": "/srv/inventory", "token": "s3cr3t", "limit": 5
        }))
        .unwrap();
        let settings: Settings = params.deserialize().unwrap();
        assert_eq!(
            settings,
            Settings {
                folder: "/srv/inventory".into(),
                token: "s3cr3t".into(),
                recursive: false,
                limit: Some(5),
            }
        );
    }

    #[test]
    fn a_missing_field_is_named_and_a_wrong_value_never_quoted() {
        let missing = Parameters::from_json(json!({"token": "s3cr3t"})).unwrap();
        let e = missing.deserialize::<Settings>().unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidParameters);
        assert_eq!(e.field.as_deref(), Some("folder"));
        assert_eq!(e.message, "invalid parameters: folder: is required");

        let wrong = Parameters::from_json(json!({
            "folder": "/srv", "token": "s3cr3t", "limit": "s3cr3t"
        }))
        .unwrap();
        let e = wrong.deserialize::<Settings>().unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidParameters);
        assert!(!e.message.contains("s3cr3t"), "{}", e.message);
        assert!(e.message.contains("expected u32"), "{}", e.message);
    }
}
