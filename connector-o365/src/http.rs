//! Talking to Microsoft Graph: bounded concurrency, retries that honour
//! `Retry-After`, token renewal after a 401, paging, and downloads of
//! pre-signed URLs without the bearer token.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::{Method, StatusCode, header};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;

use crate::auth::{SignInError, TokenProvider};
use crate::settings::Settings;

/// Attempts after the first for throttling, 5xx and dropped connections.
pub const MAX_RETRIES: u32 = 6;
/// Longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// The largest JSON answer read: a Graph page of 999 items is a few MiB.
pub const MAX_JSON_BYTES: u64 = 64 << 20;
/// The largest error answer kept (only its first lines are ever shown).
const MAX_ERROR_BYTES: u64 = 1 << 20;
/// The largest download (report or export) written to disk.
pub const MAX_DOWNLOAD_BYTES: u64 = 16 << 30;

/// A Graph failure, worded for the operator; `path` is the request without host.
#[derive(Debug, Clone)]
pub enum GraphError {
    /// Sign-in failed.
    SignIn(SignInError),
    /// 403: a permission is missing.
    Forbidden {
        /// The request.
        path: String,
        /// Graph's message.
        message: String,
    },
    /// Intune answered that the tenant has no Intune licence.
    NotApplicable {
        /// The request.
        path: String,
    },
    /// Any other error status.
    Status {
        /// The request.
        path: String,
        /// HTTP status.
        status: u16,
        /// Graph's error code and message.
        message: String,
    },
    /// Still throttled (429) or unavailable (503/504) after every retry.
    Exhausted {
        /// The request.
        path: String,
        /// The last status.
        status: u16,
    },
    /// The connection failed every time.
    Unreachable {
        /// The request.
        path: String,
        /// Why.
        reason: String,
    },
    /// A page or a report could not be read.
    Malformed {
        /// The request.
        path: String,
        /// What was wrong.
        detail: String,
    },
}

impl std::fmt::Display for GraphError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GraphError::SignIn(e) => write!(f, "{e}"),
            GraphError::Forbidden { path, message } => {
                write!(f, "{path} was refused (403): {message}")
            }
            GraphError::NotApplicable { path } => write!(
                f,
                "{path}: Intune answered that it is not applicable to this tenant: the tenant has no Intune licence"
            ),
            GraphError::Status {
                path,
                status,
                message,
            } => write!(f, "{path} failed with HTTP {status}: {message}"),
            GraphError::Exhausted { path, status: 429 } => write!(
                f,
                "Microsoft Graph kept throttling {path} (429) after {MAX_RETRIES} retries; run the sync later or lower max_concurrency"
            ),
            GraphError::Exhausted { path, status } => write!(
                f,
                "Microsoft Graph stayed unavailable for {path} (HTTP {status}) after {MAX_RETRIES} retries; run the sync later"
            ),
            GraphError::Unreachable { path, reason } => {
                write!(
                    f,
                    "cannot reach Microsoft Graph for {path} after {MAX_RETRIES} retries: {reason}"
                )
            }
            GraphError::Malformed { path, detail } => {
                write!(f, "{path} answered something unreadable: {detail}")
            }
        }
    }
}

impl std::error::Error for GraphError {}

impl From<SignInError> for GraphError {
    fn from(e: SignInError) -> Self {
        GraphError::SignIn(e)
    }
}

/// The waiting time before retry number `attempt` (1-based) when the server
/// gave no `Retry-After`: exponential, with jitter, capped.
/// `INVHOST_O365_BACKOFF_MS` sets the first step (default 1000; tests use less).
pub fn backoff(attempt: u32) -> Duration {
    let base = std::env::var("INVHOST_O365_BACKOFF_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(1_000);
    let exp = base.saturating_mul(1u64 << attempt.saturating_sub(1).min(16));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    // ±25% jitter so that concurrent streams do not retry in lockstep.
    let jitter = (u64::from(nanos % 500) as i64 - 250) as f64 / 1000.0;
    let millis = (exp as f64 * (1.0 + jitter)).max(1.0) as u64;
    Duration::from_millis(millis).min(MAX_BACKOFF)
}

/// A short reason for a transport error, without the URL: a pre-signed
/// download link is a credential for as long as it is valid.
pub fn reason(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(header::RETRY_AFTER)?.to_str().ok()?;
    let seconds: f64 = value.trim().parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.min(300.0)))
}

/// Reads a body of at most `limit` bytes; `None` when it is longer.
pub(crate) async fn read_bounded(
    mut response: reqwest::Response,
    limit: u64,
) -> Result<Option<Vec<u8>>, reqwest::Error> {
    if response.content_length().is_some_and(|n| n > limit) {
        return Ok(None);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if (body.len() + chunk.len()) as u64 > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// Reads one page of a collection fetched from `url`, under the Graph root
/// `root`. The next-page link is followed with the bearer token, so it must
/// stay on Graph's own origin, and it must move on.
pub fn parse_page(body: &[u8], url: &str, root: &str) -> Result<Page, String> {
    let mut document: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let value = match document.get_mut("value").map(Value::take) {
        Some(Value::Array(items)) => items,
        _ => return Err("no 'value' array".into()),
    };
    let next = match document.get("@odata.nextLink") {
        None | Some(Value::Null) => None,
        Some(Value::String(next)) => {
            let origin = |u: &str| reqwest::Url::parse(u).ok().map(|u| u.origin());
            match (origin(next), origin(root)) {
                (Some(a), Some(b)) if a == b && a.is_tuple() => {}
                _ => {
                    return Err(
                        "the next-page link leads away from Microsoft Graph; it was not followed"
                            .into(),
                    );
                }
            }
            if next == url {
                return Err("the next-page link points back at the same page".into());
            }
            Some(next.clone())
        }
        Some(_) => return Err("'@odata.nextLink' is not a string".into()),
    };
    Ok(Page { value, next })
}

/// A page of a Graph collection.
#[derive(Debug)]
pub struct Page {
    /// The items.
    pub value: Vec<Value>,
    /// The next page, followed verbatim.
    pub next: Option<String>,
}

/// A Graph client for one tenant.
pub struct Graph {
    http: reqwest::Client,
    tokens: TokenProvider,
    root: String,
    slots: Arc<Semaphore>,
    requests: AtomicU64,
    throttled: AtomicU64,
}

impl Graph {
    /// A client for these settings.
    pub fn new(settings: &Settings) -> Result<Graph, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(15))
            .timeout(Duration::from_secs(300))
            .user_agent(concat!("invhost-o365/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot set up the HTTP client: {}", reason(e)))?;
        Ok(Graph {
            tokens: TokenProvider::new(http.clone(), settings),
            http,
            root: settings.endpoints.graph.clone(),
            slots: Arc::new(Semaphore::new(settings.max_concurrency)),
            requests: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
        })
    }

    /// Signs in (or uses the cached token).
    pub async fn sign_in(&self) -> Result<(), GraphError> {
        self.tokens
            .token()
            .await
            .map(drop)
            .map_err(GraphError::SignIn)
    }

    /// The id of the tenant signed in to ([`TokenProvider::tenant_id`]).
    pub async fn tenant_id(&self) -> String {
        self.tokens.tenant_id().await
    }

    /// Whether this is the global (AzurePublic) Graph: several report APIs
    /// exist there only.
    pub fn is_global(&self) -> bool {
        self.root == "https://graph.microsoft.com"
    }

    /// An absolute URL for a path under the Graph root.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.root)
    }

    /// Graph requests sent (retries included).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Answers that asked to slow down (429).
    pub fn throttled(&self) -> u64 {
        self.throttled.load(Ordering::Relaxed)
    }

    fn path_of(&self, url: &str) -> String {
        let path = url.strip_prefix(&self.root).unwrap_or(url);
        path.split('?').next().unwrap_or(path).to_owned()
    }

    /// Sends a request with retries; returns the response of the first
    /// non-retryable status, with its body read.
    async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, header::HeaderMap, Vec<u8>), GraphError> {
        let path = self.path_of(url);
        // A 401 means the token expired (or was revoked) mid-run: sign in again,
        // a few times at most.
        let mut reauthentications = 0;
        let mut attempt = 0;
        loop {
            let permit = self
                .slots
                .acquire()
                .await
                .map_err(|_| GraphError::Unreachable {
                    path: path.clone(),
                    reason: "the client was shut down".into(),
                })?;
            let token = self.tokens.token().await?;
            let mut request = self
                .http
                .request(method.clone(), url)
                .bearer_auth(&token)
                .header(header::ACCEPT, "application/json");
            if let Some(body) = body {
                request = request.json(body);
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let outcome = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let wait = retry_after(&response);
                    let headers = response.headers().clone();
                    let limit = if status.is_success() {
                        MAX_JSON_BYTES
                    } else {
                        MAX_ERROR_BYTES
                    };
                    match read_bounded(response, limit).await {
                        Ok(Some(body)) => Ok((status, headers, body, wait)),
                        Ok(None) => {
                            return Err(GraphError::Malformed {
                                path,
                                detail: format!("the answer is larger than {} MiB", limit >> 20),
                            });
                        }
                        Err(e) => Err(reason(e)),
                    }
                }
                Err(e) => Err(reason(e)),
            };
            drop(permit);
            attempt += 1;
            match outcome {
                Err(why) => {
                    if attempt > MAX_RETRIES {
                        return Err(GraphError::Unreachable { path, reason: why });
                    }
                    tracing::debug!(%path, attempt, reason = %why, "Graph request failed; retrying.");
                    tokio::time::sleep(backoff(attempt)).await;
                }
                Ok((status, _, _, _))
                    if status == StatusCode::UNAUTHORIZED && reauthentications < 3 =>
                {
                    tracing::debug!(%path, "Graph answered 401; signing in again.");
                    self.tokens.invalidate(&token).await;
                    reauthentications += 1;
                    attempt -= 1;
                }
                Ok((status, _, _, wait)) if matches!(status.as_u16(), 429 | 503 | 504) => {
                    if status.as_u16() == 429 {
                        self.throttled.fetch_add(1, Ordering::Relaxed);
                    }
                    if attempt > MAX_RETRIES {
                        return Err(GraphError::Exhausted {
                            path,
                            status: status.as_u16(),
                        });
                    }
                    let wait = wait.unwrap_or_else(|| backoff(attempt));
                    tracing::debug!(%path, status = status.as_u16(), wait_ms = wait.as_millis() as u64, "Graph throttled or busy; waiting.");
                    tokio::time::sleep(wait).await;
                }
                Ok((status, headers, body, _)) => return Ok((status, headers, body)),
            }
        }
    }

    fn error(
        &self,
        path: String,
        status: StatusCode,
        body: &[u8],
        headers: &header::HeaderMap,
    ) -> GraphError {
        let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let code = parsed["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let mut message = parsed["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        // Intune wraps its own JSON document inside `message`.
        if let Ok(inner) = serde_json::from_str::<Value>(&message)
            && let Some(text) = inner["Message"].as_str()
        {
            message = text.to_owned();
        }
        let request_id = parsed["error"]["innerError"]["request-id"]
            .as_str()
            .map(str::to_owned)
            .or_else(|| {
                headers
                    .get("request-id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            });
        tracing::debug!(%path, status = status.as_u16(), %code, request_id = request_id.as_deref().unwrap_or(""), "Graph error.");
        if status == StatusCode::FORBIDDEN {
            return GraphError::Forbidden {
                path,
                message: if message.is_empty() { code } else { message },
            };
        }
        if message.contains("not applicable to target tenant") {
            return GraphError::NotApplicable { path };
        }
        let message = match (code.is_empty(), message.is_empty()) {
            (false, false) => format!("{code}: {message}"),
            (false, true) => code,
            (true, false) => message,
            (true, true) => String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
        };
        let message = match request_id {
            Some(id) => format!("{message} (request id {id})"),
            None => message,
        };
        GraphError::Status {
            path,
            status: status.as_u16(),
            message,
        }
    }

    /// GET a JSON document.
    pub async fn get_json(&self, url: &str) -> Result<Value, GraphError> {
        self.json(Method::GET, url, None).await
    }

    /// POST a JSON document, returning the JSON answer.
    pub async fn post_json(&self, url: &str, body: &Value) -> Result<Value, GraphError> {
        self.json(Method::POST, url, Some(body)).await
    }

    async fn json(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Value, GraphError> {
        let path = self.path_of(url);
        let (status, headers, bytes) = self.send(method, url, body).await?;
        if !status.is_success() {
            return Err(self.error(path, status, &bytes, &headers));
        }
        serde_json::from_slice(&bytes).map_err(|e| GraphError::Malformed {
            path,
            detail: e.to_string(),
        })
    }

    /// One page of a collection.
    pub async fn page(&self, url: &str) -> Result<Page, GraphError> {
        let path = self.path_of(url);
        let (status, headers, bytes) = self.send(Method::GET, url, None).await?;
        if !status.is_success() {
            return Err(self.error(path, status, &bytes, &headers));
        }
        parse_page(&bytes, url, &self.root).map_err(|detail| GraphError::Malformed { path, detail })
    }

    /// A report: Graph answers 302 to a short-lived pre-authenticated URL,
    /// fetched at once and without the bearer token, into a temporary file.
    /// (A report answered directly, without the redirect, is held to the
    /// size of a JSON answer.)
    pub async fn report(&self, url: &str) -> Result<TempFile, GraphError> {
        let path = self.path_of(url);
        let (status, headers, bytes) = self.send(Method::GET, url, None).await?;
        if status.is_redirection() {
            let location = headers
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| GraphError::Malformed {
                    path: path.clone(),
                    detail: "a redirect without Location".into(),
                })?;
            return self.download(location, &path).await;
        }
        if !status.is_success() {
            return Err(self.error(path, status, &bytes, &headers));
        }
        let file = TempFile::new("report").map_err(|e| GraphError::Malformed {
            path: path.clone(),
            detail: e,
        })?;
        tokio::fs::write(&file.path, &bytes)
            .await
            .map_err(|e| GraphError::Malformed {
                path,
                detail: e.to_string(),
            })?;
        Ok(file)
    }

    /// Downloads a pre-signed URL (no bearer token) into a temporary file, streaming.
    pub async fn download(&self, url: &str, what: &str) -> Result<TempFile, GraphError> {
        let path = what.to_owned();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let failure = match self.download_once(url).await {
                Ok(file) => return Ok(file),
                Err(Retry::No(e)) => return Err(e),
                Err(Retry::Yes(why)) => why,
            };
            if attempt > MAX_RETRIES {
                return Err(GraphError::Unreachable {
                    path,
                    reason: failure,
                });
            }
            tokio::time::sleep(backoff(attempt)).await;
        }
    }

    async fn download_once(&self, url: &str) -> Result<TempFile, Retry> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let what = "the download of a pre-signed URL".to_owned();
        let mut response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| Retry::Yes(reason(e)))?;
        let status = response.status();
        if matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504) {
            if status.as_u16() == 429 {
                self.throttled.fetch_add(1, Ordering::Relaxed);
            }
            return Err(Retry::Yes(format!("HTTP {status}")));
        }
        if !status.is_success() {
            let body = read_bounded(response, MAX_ERROR_BYTES)
                .await
                .ok()
                .flatten()
                .unwrap_or_default();
            return Err(Retry::No(GraphError::Status {
                path: what,
                status: status.as_u16(),
                message: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
            }));
        }
        let file = TempFile::new("download").map_err(|e| {
            Retry::No(GraphError::Malformed {
                path: what.clone(),
                detail: e,
            })
        })?;
        let mut out = tokio::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&file.path)
            .await
            .map_err(|e| {
                Retry::No(GraphError::Malformed {
                    path: what.clone(),
                    detail: e.to_string(),
                })
            })?;
        let too_large = || {
            Retry::No(GraphError::Malformed {
                path: what.clone(),
                detail: format!(
                    "the download is larger than {} GiB, more than any real tenant's",
                    MAX_DOWNLOAD_BYTES >> 30
                ),
            })
        };
        if response
            .content_length()
            .is_some_and(|n| n > MAX_DOWNLOAD_BYTES)
        {
            return Err(too_large());
        }
        let mut written = 0u64;
        while let Some(chunk) = response.chunk().await.map_err(|e| Retry::Yes(reason(e)))? {
            written += chunk.len() as u64;
            if written > MAX_DOWNLOAD_BYTES {
                return Err(too_large());
            }
            out.write_all(&chunk).await.map_err(|e| {
                Retry::No(GraphError::Malformed {
                    path: what.clone(),
                    detail: e.to_string(),
                })
            })?;
        }
        out.flush().await.map_err(|e| {
            Retry::No(GraphError::Malformed {
                path: what,
                detail: e.to_string(),
            })
        })?;
        Ok(file)
    }
}

enum Retry {
    Yes(String),
    No(GraphError),
}

/// A temporary file removed when dropped.
#[derive(Debug)]
pub struct TempFile {
    /// Its path.
    pub path: PathBuf,
}

impl TempFile {
    /// Creates a new, empty file only this user may read, under a name no
    /// other file has (`create_new`, so a file planted in advance is refused).
    fn new(kind: &str) -> Result<TempFile, String> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let name = format!(
            "invhost-o365-{kind}-{}-{}-{nanos:x}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(&path).map_err(|e| {
            format!(
                "cannot create a temporary file in {}: {e}",
                std::env::temp_dir().display()
            )
        })?;
        Ok(TempFile { path })
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
