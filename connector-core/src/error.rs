//! The error a connector returns, and its kinds.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::schema::ValidationError;

/// What kind of failure a [`ConnectorError`] is. Each kind has its own ABI
/// status code (see [`crate::abi::Status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The action failed; the message says why.
    Failed,
    /// The parameters do not fit the schema.
    InvalidParameters,
    /// The plugin has no connector of the requested type.
    UnknownConnectorType,
    /// The connector does not offer the requested action.
    UnknownAction,
    /// The request JSON was malformed.
    BadRequest,
    /// The run stopped because the host asked it to (cancel or stop).
    Cancelled,
    /// The connector panicked.
    Panic,
}

/// A connector's failure: a kind, a one-line message an operator can act
/// on, and optionally the parameter it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorError {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// One line an operator can act on. Never contains a secret.
    pub message: String,
    /// The parameter the error concerns, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ConnectorError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ConnectorError {
            kind,
            message: message.into(),
            field: None,
        }
    }

    /// The action failed.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Failed, message)
    }

    /// A parameter is wrong.
    pub fn invalid_parameter(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        ConnectorError {
            kind: ErrorKind::InvalidParameters,
            message: format!("invalid parameters: {field}: {}", message.into()),
            field: Some(field),
        }
    }

    /// The host asked the run to stop.
    pub fn cancelled() -> Self {
        Self::new(ErrorKind::Cancelled, "cancelled by the host")
    }

    /// The action is not offered.
    pub fn unknown_action(action: &str, offered: &[&str]) -> Self {
        Self::new(
            ErrorKind::UnknownAction,
            format!(
                "unknown action '{action}' (offered: {})",
                offered.join(", ")
            ),
        )
    }
}

impl fmt::Display for ConnectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConnectorError {}

impl From<ValidationError> for ConnectorError {
    fn from(error: ValidationError) -> Self {
        ConnectorError {
            kind: ErrorKind::InvalidParameters,
            field: error.errors.first().map(|e| e.field.clone()),
            message: error.to_string(),
        }
    }
}
