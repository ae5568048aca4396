//! The sign-in endpoint (`POST /{tenant}/oauth2/v2.0/token`, client
//! credentials) and bearer-token checks for Graph requests.

use std::time::{Duration, Instant};

use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde_json::json;

use super::clock;
use super::query::Query;
use super::respond::{self, Ctx};
use super::rng::{Rng, base64url, domain};
use super::state::{InjectedCounters, SimState, TokenState, lock};
use super::tenant::DOMAIN;

/// Default `expires_in` of issued tokens.
const DEFAULT_EXPIRES_IN: u64 = 3599;

/// An error in the shape the Microsoft identity platform uses.
fn aad_error(
    state: &SimState,
    status: StatusCode,
    error: &str,
    code: u64,
    description: &str,
) -> Response {
    let now = clock::now_secs();
    let mut rng = Rng::new(state.tenant.seed, domain::TOKEN, state.next_serial());
    let trace_id = rng.guid();
    let correlation_id = rng.guid();
    let timestamp = clock::aad_timestamp(now);
    let body = json!({
        "error": error,
        "error_description": format!(
            "AADSTS{code}: {description}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}"
        ),
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": format!("{}/error?code={code}", state.base_url),
    });
    respond::build(
        status,
        "application/json; charset=utf-8",
        serde_json::to_vec(&body).unwrap_or_default(),
        None,
        &[("cache-control", "no-store, no-cache")],
    )
}

/// Answers the token endpoint for `tenant` (as written in the path).
pub(crate) fn token(state: &SimState, method: &Method, tenant: &str, body: &[u8]) -> Response {
    let t = &state.tenant;
    if method != Method::POST {
        return aad_error(
            state,
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            900_561,
            "The endpoint only accepts POST requests.",
        );
    }
    if !(tenant.eq_ignore_ascii_case(&t.tenant_id) || tenant.eq_ignore_ascii_case(DOMAIN)) {
        return aad_error(
            state,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90_002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
            ),
        );
    }
    let form = Query::form(body);
    let grant_type = form.get("grant_type").unwrap_or("");
    if grant_type.is_empty() {
        return aad_error(
            state,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900_144,
            "The request body must contain the following parameter: 'grant_type'.",
        );
    }
    if grant_type != "client_credentials" {
        return aad_error(
            state,
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70_003,
            &format!("The app requested an unsupported grant type '{grant_type}'."),
        );
    }
    let Some(client_id) = form.get("client_id").filter(|c| !c.is_empty()) else {
        return aad_error(
            state,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900_144,
            "The request body must contain the following parameter: 'client_id'.",
        );
    };
    if !client_id.eq_ignore_ascii_case(&t.client_id) {
        return aad_error(
            state,
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700_016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory 'Contoso'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
        );
    }
    let expected_scope = format!("{}/.default", state.base_url);
    let scope = form.get("scope").unwrap_or("");
    if scope.trim() != expected_scope {
        return aad_error(
            state,
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70_011,
            &format!(
                "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid."
            ),
        );
    }
    let secret = form.get("client_secret").unwrap_or("");
    if secret.is_empty() {
        return aad_error(
            state,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7_000_218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        );
    }
    let faults = &state.config.faults;
    if faults.expired_secret && secret == t.client_secret {
        return aad_error(
            state,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7_000_222,
            &format!(
                "The provided client secret keys for app '{}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.",
                t.client_id
            ),
        );
    }
    if faults.wrong_secret || secret != t.client_secret {
        return aad_error(
            state,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7_000_215,
            &format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.",
                t.client_id
            ),
        );
    }
    issue(state)
}

/// Issues a JWT-shaped access token and remembers it.
fn issue(state: &SimState) -> Response {
    let t = &state.tenant;
    let expires_in = state
        .config
        .faults
        .token_expires_in
        .unwrap_or(DEFAULT_EXPIRES_IN);
    let serial = state.next_serial();
    let mut rng = Rng::new(t.seed, domain::TOKEN, serial);
    let now = clock::now_secs();
    let header = json!({"typ": "JWT", "alg": "RS256", "kid": "simulator"});
    let roles: Vec<&String> = state.config.permissions.iter().collect();
    let claims = json!({
        "aud": state.base_url,
        "iss": format!("{}/{}/v2.0", state.base_url, t.tenant_id),
        "iat": now,
        "nbf": now,
        "exp": now + expires_in as i64,
        "appid": t.client_id,
        "tid": t.tenant_id,
        "roles": roles,
        "uti": rng.hex_lower(22),
    });
    let signature: Vec<u8> = (0..32).map(|_| rng.below(256) as u8).collect();
    let access_token = format!(
        "{}.{}.{}",
        base64url(header.to_string().as_bytes()),
        base64url(claims.to_string().as_bytes()),
        base64url(&signature)
    );
    InjectedCounters::bump(&state.injected.tokens_issued);
    lock(&state.tokens).insert(
        access_token.clone(),
        TokenState {
            expires_at: Instant::now() + Duration::from_secs(expires_in),
            used: 0,
        },
    );
    let body = json!({
        "token_type": "Bearer",
        "expires_in": expires_in,
        "ext_expires_in": expires_in,
        "access_token": access_token,
    });
    respond::build(
        StatusCode::OK,
        "application/json; charset=utf-8",
        serde_json::to_vec(&body).unwrap_or_default(),
        None,
        &[("cache-control", "no-store, no-cache")],
    )
}

/// Checks the bearer token of a Graph request; counts its use. `Err` is
/// the 401 to answer.
pub(crate) fn check_bearer(
    state: &SimState,
    headers: &HeaderMap,
    ctx: &Ctx,
) -> Result<(), respond::Refusal> {
    let presented = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .unwrap_or("");
    let message = if presented.is_empty() {
        Some("Access token is empty.")
    } else {
        let mut tokens = lock(&state.tokens);
        match tokens.get_mut(presented) {
            None => Some("Access token validation failure. Invalid audience."),
            Some(token) => {
                token.used += 1;
                let used_up = state
                    .config
                    .faults
                    .token_valid_requests
                    .is_some_and(|limit| token.used > limit);
                if used_up || Instant::now() >= token.expires_at {
                    InjectedCounters::bump(&state.injected.expired_tokens);
                    Some("Access token has expired or is not yet valid.")
                } else {
                    None
                }
            }
        }
    };
    match message {
        None => Ok(()),
        Some(message) => Err(Box::new(respond::graph_error_with(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            message,
            ctx,
            &[(
                "www-authenticate",
                "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
            )],
        ))),
    }
}
