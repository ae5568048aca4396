//! Response builders: Graph JSON, the Graph error shape, Intune's escaped
//! error documents, and plain bodies.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::clock;

/// The content type Graph answers JSON with.
pub(crate) const GRAPH_JSON: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// An answer that ends a request early (boxed: responses are large).
pub(crate) type Refusal = Box<Response>;

/// Per-request values that go into headers and error bodies.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub request_id: String,
    pub client_request_id: String,
    /// Seconds since the epoch.
    pub now: i64,
}

fn set(headers: &mut HeaderMap, name: &str, value: &str) {
    if let (Ok(n), Ok(v)) = (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        headers.insert(n, v);
    }
}

/// A response with a status, a content type, request-id headers when `ctx`
/// is given, and `extra` headers.
pub(crate) fn build(
    status: StatusCode,
    content_type: &str,
    body: impl Into<Body>,
    ctx: Option<&Ctx>,
    extra: &[(&str, &str)],
) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if !content_type.is_empty() {
        set(headers, "content-type", content_type);
    }
    if let Some(ctx) = ctx {
        set(headers, "request-id", &ctx.request_id);
        set(headers, "client-request-id", &ctx.client_request_id);
    }
    for (name, value) in extra {
        set(headers, name, value);
    }
    response
}

/// Graph JSON.
pub(crate) fn json(status: StatusCode, value: &Value, ctx: &Ctx) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_default();
    build(status, GRAPH_JSON, body, Some(ctx), &[])
}

/// The Graph error body: `{"error":{"code","message","innerError":{...}}}`.
pub(crate) fn error_body(code: &str, message: &str, ctx: &Ctx) -> Value {
    json!({
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": clock::inner_error_date(ctx.now),
                "request-id": ctx.request_id,
                "client-request-id": ctx.client_request_id,
            }
        }
    })
}

/// A Graph error response.
pub(crate) fn graph_error(status: StatusCode, code: &str, message: &str, ctx: &Ctx) -> Response {
    json(status, &error_body(code, message, ctx), ctx)
}

/// A Graph error with extra headers (Retry-After, WWW-Authenticate).
pub(crate) fn graph_error_with(
    status: StatusCode,
    code: &str,
    message: &str,
    ctx: &Ctx,
    extra: &[(&str, &str)],
) -> Response {
    let body = serde_json::to_vec(&error_body(code, message, ctx)).unwrap_or_default();
    build(status, GRAPH_JSON, body, Some(ctx), extra)
}

/// Intune's error `message`: an escaped JSON document.
pub(crate) fn intune_message(text: &str) -> String {
    let message = serde_json::to_string(&format!(
        "{text} - Operation ID (for customer support): 00000000-0000-0000-0000-000000000000"
    ))
    .unwrap_or_default();
    format!(
        "{{\"_version\": 3, \"Message\": {message}, \"CustomApiErrorPhrase\": \"\", \"RetryAfter\": null, \"ErrorSourceService\": \"\", \"HttpHeaders\": \"{{}}\"}}"
    )
}

/// An Intune error response.
pub(crate) fn intune_error(status: StatusCode, code: &str, text: &str, ctx: &Ctx) -> Response {
    graph_error(status, code, &intune_message(text), ctx)
}

/// The storage-style answer of a pre-signed download link.
pub(crate) fn storage_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    build(status, "application/xml", body, None, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intune_message_is_escaped_json() {
        let m = intune_message("Request not applicable to target tenant.");
        let v: Value = serde_json::from_str(&m).unwrap();
        assert_eq!(v["_version"], 3);
        assert!(
            v["Message"]
                .as_str()
                .unwrap()
                .starts_with("Request not applicable to target tenant. - Operation ID")
        );
    }
}
