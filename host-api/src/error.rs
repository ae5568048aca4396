//! Every failure answers JSON `{"error": CODE, "message": LINE}` with the
//! status it deserves; a database or internal failure says only that (the
//! detail goes to the host's log), so no SQL, path or stack trace leaves.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use repo_store::StoreError;
use serde::Serialize;

/// What a failed request answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// `bad_request`, `unauthorized`, `forbidden`, `not_found`, `conflict`,
    /// `payload_too_large`, `internal`, ...
    pub error: &'static str,
    /// One line for a person.
    pub message: String,
}

/// A failed request.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    /// A failure with this status and line.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 403.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// 500, whose detail only the log sees.
    pub fn internal(detail: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(error = %detail, "Request failed.");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the host could not complete the request; its log says why",
        )
    }

    fn code(&self) -> &'static str {
        match self.status {
            StatusCode::BAD_REQUEST => "bad_request",
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
            StatusCode::CONFLICT => "conflict",
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::SERVICE_UNAVAILABLE => "unavailable",
            StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
            _ => "internal",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code(),
            message: self.message,
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match &e {
            StoreError::NotFound { .. } => ApiError::not_found(e.to_string()),
            StoreError::Duplicate { .. } => ApiError::new(StatusCode::CONFLICT, e.to_string()),
            StoreError::Locked => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
            StoreError::Refused(_) => ApiError::bad_request(e.to_string()),
            StoreError::Cancelled => ApiError::new(StatusCode::CONFLICT, e.to_string()),
            _ => ApiError::internal(&e),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    /// The engine's errors are worded for operators and hold no secret: a
    /// store failure keeps its status; the rest is a refused request.
    fn from(e: anyhow::Error) -> ApiError {
        match e.downcast::<StoreError>() {
            Ok(store) => store.into(),
            Err(e) => ApiError::bad_request(format!("{e:#}")),
        }
    }
}

/// What a handler returns.
pub type ApiResult<T> = Result<T, ApiError>;
