//! Sign-in with client credentials: the token, cached and renewed.

use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

use crate::settings::Settings;

/// Renew this long before the token expires.
const RENEW_BEFORE: Duration = Duration::from_secs(300);

/// A sign-in failure, worded for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInError(pub String);

impl std::fmt::Display for SignInError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: serde_json::Value,
}

#[derive(Deserialize, Default)]
struct AadError {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
    #[serde(default)]
    error_codes: Vec<u64>,
    #[serde(default)]
    trace_id: String,
}

struct Cached {
    token: String,
    renew_at: Instant,
}

/// Gets and caches app tokens for one tenant.
pub struct TokenProvider {
    http: reqwest::Client,
    url: String,
    form: Vec<(&'static str, String)>,
    tenant: String,
    cached: Mutex<Option<Cached>>,
}

impl TokenProvider {
    /// A provider for these settings.
    pub fn new(http: reqwest::Client, settings: &Settings) -> Self {
        let url = format!(
            "{}/{}/oauth2/v2.0/token",
            settings.endpoints.authority, settings.tenant
        );
        let form = vec![
            ("client_id", settings.client_id.clone()),
            ("client_secret", settings.client_secret.clone()),
            ("grant_type", "client_credentials".to_owned()),
            ("scope", format!("{}/.default", settings.endpoints.graph)),
        ];
        TokenProvider {
            http,
            url,
            form,
            tenant: settings.tenant.clone(),
            cached: Mutex::new(None),
        }
    }

    /// A valid token: the cached one, or a new one when it is close to expiry.
    pub async fn token(&self) -> Result<String, SignInError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref()
            && Instant::now() < c.renew_at
        {
            return Ok(c.token.clone());
        }
        let (token, lifetime) = self.sign_in().await?;
        let renew_at = Instant::now() + lifetime.saturating_sub(RENEW_BEFORE).max(lifetime / 2);
        *cached = Some(Cached {
            token: token.clone(),
            renew_at,
        });
        Ok(token)
    }

    /// The tenant's id (a GUID, lower-case) as the signed-in token names it
    /// (its `tid` claim), else the tenant as configured, lower-cased. Two
    /// connectors reading one tenant, one by its GUID and one by a domain,
    /// report the same id this way.
    pub async fn tenant_id(&self) -> String {
        let cached = self.cached.lock().await;
        cached
            .as_ref()
            .and_then(|c| claim_tid(&c.token))
            .unwrap_or_else(|| self.tenant.trim().to_ascii_lowercase())
    }

    /// Forgets the cached token (Graph answered 401 with it).
    pub async fn invalidate(&self, token: &str) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|c| c.token == token) {
            *cached = None;
        }
    }

    async fn sign_in(&self) -> Result<(String, Duration), SignInError> {
        let mut last = String::new();
        for attempt in 0..4u32 {
            if attempt > 0 {
                tokio::time::sleep(crate::http::backoff(attempt)).await;
            }
            let response = match self.http.post(&self.url).form(&self.form).send().await {
                Ok(r) => r,
                Err(e) => {
                    last = format!(
                        "cannot reach the sign-in endpoint {}: {}",
                        self.url,
                        crate::http::reason(e)
                    );
                    continue;
                }
            };
            let status = response.status();
            // A token answer is a few KiB; a longer one is cut (and unreadable).
            let body = crate::http::read_bounded(response, 1 << 20)
                .await
                .ok()
                .flatten()
                .unwrap_or_default();
            if status.is_success() {
                let token: TokenResponse = serde_json::from_slice(&body).map_err(|e| {
                    SignInError(format!(
                        "the sign-in endpoint answered an unreadable token: {e}"
                    ))
                })?;
                let seconds = token
                    .expires_in
                    .as_u64()
                    .or_else(|| token.expires_in.as_str().and_then(|s| s.parse().ok()))
                    .unwrap_or(3600)
                    // Entra tokens last hours; a lifetime of years is not
                    // believed (and would overflow the clock).
                    .min(24 * 3600);
                tracing::debug!(expires_in = seconds, "Signed in to Microsoft Graph.");
                return Ok((token.access_token, Duration::from_secs(seconds)));
            }
            if status.is_server_error() || status.as_u16() == 429 {
                last = format!("the sign-in endpoint answered {status}");
                continue;
            }
            let error: AadError = serde_json::from_slice(&body).unwrap_or_default();
            return Err(SignInError(explain(&error, &self.tenant, status.as_u16())));
        }
        Err(SignInError(last))
    }
}

/// Turns an AAD error into a sentence saying what to fix.
fn explain(error: &AadError, tenant: &str, status: u16) -> String {
    let code = error.error_codes.first().copied().unwrap_or(0);
    let what = match code {
        7000215 => "the client secret is wrong: paste the secret's Value (not its Secret ID) from Entra admin center > App registrations > Certificates & secrets".to_owned(),
        7000222 => "the client secret has expired: create a new one in Entra admin center > App registrations > Certificates & secrets and update the connector".to_owned(),
        700016 => format!("the application (client id) is not found in tenant '{tenant}': check the Client Id, and that the app is registered in (or consented to by) this tenant"),
        90002 => format!("tenant '{tenant}' is not found: check the Tenant Id, and the Azure Cloud Instance (a tenant of a national cloud is not found in AzurePublic)"),
        90038 => format!("tenant '{tenant}' belongs to another national cloud: set the Azure Cloud Instance (AzureUsGovernment, AzureChina, ...)"),
        70011 => "the requested scope is invalid: the Graph endpoint does not match the cloud instance".to_owned(),
        7000218 | 7000216 => "the request carried no client secret: set the Client Secret".to_owned(),
        _ => match error.error.as_str() {
            "invalid_client" => "the client credentials were refused: check the Client Id and Client Secret".to_owned(),
            "unauthorized_client" => "the application is not authorised in this tenant: grant admin consent in Entra admin center".to_owned(),
            "invalid_scope" => "the scope was refused: check the Graph endpoint".to_owned(),
            "" => format!("the sign-in endpoint answered HTTP {status}"),
            other => format!("sign-in failed ({other})"),
        },
    };
    let aadsts = if code > 0 {
        format!(" [AADSTS{code}]")
    } else {
        String::new()
    };
    let trace = if error.trace_id.is_empty() {
        String::new()
    } else {
        format!(" (trace id {})", error.trace_id)
    };
    let _ = &error.error_description;
    format!("sign-in failed: {what}{aadsts}{trace}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aadsts_codes_become_instructions() {
        let e = AadError {
            error: "invalid_client".into(),
            error_codes: vec![7000215],
            ..Default::default()
        };
        let text = explain(&e, "contoso.onmicrosoft.com", 401);
        assert!(
            text.contains("Value (not its Secret ID)") && text.ends_with("[AADSTS7000215]"),
            "{text}"
        );
        let e = AadError {
            error: "invalid_request".into(),
            error_codes: vec![90002],
            ..Default::default()
        };
        assert!(explain(&e, "contoso", 400).contains("tenant 'contoso' is not found"));
    }
}

/// The `tid` claim of a JWT access token, when it is one and names a GUID.
/// The token is not verified: Graph does that; this only labels the data.
fn claim_tid(token: &str) -> Option<String> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let tid = claims["tid"].as_str()?.trim().to_ascii_lowercase();
    let guid = tid.len() == 36
        && tid.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        });
    guid.then_some(tid)
}

#[cfg(test)]
mod tid_tests {
    use super::claim_tid;
    use base64::Engine;

    fn jwt(claims: &str) -> String {
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            e.encode(b"{\"alg\":\"RS256\"}"),
            e.encode(claims)
        )
    }

    #[test]
    fn the_tenant_comes_from_the_tokens_tid_claim() {
        let token = jwt(r#"{"tid":"3F2A9C1E-0000-4000-8000-00000000ABCD","roles":[]}"#);
        assert_eq!(
            claim_tid(&token).as_deref(),
            Some("3f2a9c1e-0000-4000-8000-00000000abcd")
        );
        assert_eq!(claim_tid(&jwt(r#"{"tid":"contoso.com"}"#)), None);
        assert_eq!(claim_tid("opaque-token"), None);
        assert_eq!(claim_tid("a.!!!.c"), None);
    }
}
