//! Multi-node OpenSearch HTTP client.
//!
//! One `reqwest` connection pool shared by every node, round-robin over the nodes that are up,
//! a node that fails (connect error, timeout, HTTP 502/503/504) is put aside with an exponential
//! backoff and the request goes to the next node, at most once per node. Requests are
//! authenticated with HTTP basic auth or AWS SigV4 (Amazon OpenSearch Service / Serverless).

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use rand::Rng;
use reqwest::header::CONTENT_TYPE;
use reqwest::Method;
use serde_json::Value;
use tracing::{debug, info, warn};
use url::Url;

use crate::lock;

/// Backoff of a node after its first failure; doubles on each further failure.
const NODE_BACKOFF_BASE: Duration = Duration::from_secs(1);
/// Longest time a failed node is left alone before it is tried again.
const NODE_BACKOFF_MAX: Duration = Duration::from_secs(60);
/// Upper bound of the TCP/TLS connect phase, so a black-holed node fails fast.
const CONNECT_TIMEOUT_MAX: Duration = Duration::from_secs(10);
/// How much of an unparseable error body is kept in an error message.
const ERROR_BODY_EXCERPT: usize = 512;
/// Retries of a 429 in `Client::json` (delays double from 100 ms to 4 s: about 12 s in all).
const BUSY_RETRIES: usize = 8;

/// Content type of JSON request bodies.
pub const CONTENT_TYPE_JSON: &str = "application/json";
/// Content type of `_bulk` request bodies (newline-delimited JSON).
pub const CONTENT_TYPE_NDJSON: &str = "application/x-ndjson";

/// Errors of the OpenSearch client and the bulk indexer, so callers can tell a bad configuration,
/// an unreachable cluster and an answer of the cluster apart.
#[derive(Debug, thiserror::Error)]
pub enum OpenSearchError {
    /// The client configuration is unusable (no URL, unreadable CA file, ...).
    #[error("invalid OpenSearch client configuration: {0}")]
    Config(String),
    /// The request path does not form a valid URL with the node URL.
    #[error("invalid OpenSearch request path {path:?}: {reason}")]
    InvalidPath {
        /// The path and query as given.
        path: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The request could not be sent or its answer not read (connection refused, reset, timeout).
    #[error("OpenSearch request to {node} failed{}: {detail}", if *.timeout { " (timeout)" } else { "" })]
    Transport {
        /// URL of the node (without credentials).
        node: String,
        /// Whether the request timed out (a sign of overload rather than of a dead node).
        timeout: bool,
        /// The error with its chain of causes (e.g. "... : Connection refused"), for logs.
        detail: String,
        /// The underlying HTTP client error.
        #[source]
        source: reqwest::Error,
    },
    /// The cluster answered with a non-2xx status; `reason` is its `error.type: error.reason`.
    #[error("OpenSearch answered HTTP {status}: {reason}")]
    Status {
        /// HTTP status code.
        status: u16,
        /// The cluster's `error.type: error.reason` (or an excerpt of the body).
        reason: String,
    },
    /// A 2xx answer whose body is not the JSON that was expected.
    #[error("cannot decode OpenSearch response: {0}")]
    Decode(String),
    /// SigV4 credentials could not be obtained or the request could not be signed.
    #[error("AWS SigV4 signing failed: {0}")]
    Signing(String),
    /// The bulk indexer gave up: the cluster stayed unreachable or overloaded for too long.
    /// None of the operations of that `index` call may be assumed indexed.
    #[error("bulk indexing gave up after {elapsed:?} of retries with {pending} operation(s) not indexed: {last_reason}")]
    RetryTimeExceeded {
        /// Operations of the call that were not confirmed indexed or failed.
        pending: usize,
        /// Time spent retrying the operations that ran out of time.
        elapsed: Duration,
        /// The last failure seen for them.
        last_reason: String,
    },
    /// A bug: an internal invariant did not hold (e.g. a worker task panicked).
    #[error("internal error in the OpenSearch client: {0}")]
    Internal(String),
}

impl OpenSearchError {
    /// Whether this is a request that timed out, which callers treat as overload.
    pub fn is_timeout(&self) -> bool {
        matches!(self, OpenSearchError::Transport { timeout: true, .. })
    }

    /// What to change when a secured cluster refuses Glossa: the raw causes (`401`,
    /// `UnknownIssuer`, a closed connection) do not say which setting is wrong.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            OpenSearchError::Status { status: 401, .. } => Some(
                "the cluster refused the credentials: check opensearch.username and the password (GLOSSA_OPENSEARCH_PASSWORD)",
            ),
            OpenSearchError::Status { status: 403, .. } => Some(
                "the user lacks a permission Glossa needs: cluster monitor, and index and alias management on the configured index",
            ),
            OpenSearchError::Transport { detail, .. } if detail.contains("certificate") => Some(
                "the node's TLS certificate is not trusted: set opensearch.ca_cert to the CA that signed it",
            ),
            OpenSearchError::Transport { node, detail, .. }
                if node.starts_with("http://") && detail.contains("connection closed") =>
            {
                Some("the node closed a plain HTTP connection: if it serves HTTPS, use an https:// URL")
            }
            _ => None,
        }
    }
}

/// AWS SigV4 settings, for Amazon OpenSearch Service (`es`) and OpenSearch Serverless (`aoss`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigV4 {
    /// AWS region of the domain or collection, e.g. `eu-west-1`.
    pub region: String,
    /// Signing service name: `es` (managed domains) or `aoss` (Serverless).
    pub service: String,
}

/// Everything needed to reach a cluster; the node URLs are all entry points to one cluster.
#[derive(Clone)]
pub struct ClientConfig {
    /// Node URLs (`http://host:9200`, `https://host/prefix`); requests are spread over them.
    pub urls: Vec<Url>,
    /// Basic-auth user; a user in a URL is used when this is `None`.
    pub username: Option<String>,
    /// Basic-auth password.
    pub password: Option<String>,
    /// PEM file with the CA certificate(s) that sign the cluster's certificate.
    pub ca_cert: Option<PathBuf>,
    /// Accept any TLS certificate (test clusters with self-signed certificates only).
    pub insecure_skip_verify: bool,
    /// Time allowed for one HTTP request, body included, on one node.
    pub request_timeout: Duration,
    /// Sign requests with AWS SigV4 instead of basic auth.
    pub sigv4: Option<SigV4>,
}

impl ClientConfig {
    /// A configuration with the given nodes, no authentication and a 60 s request timeout.
    pub fn new(urls: Vec<Url>) -> Self {
        ClientConfig {
            urls,
            username: None,
            password: None,
            ca_cert: None,
            insecure_skip_verify: false,
            request_timeout: Duration::from_secs(60),
            sigv4: None,
        }
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // never print the password
        f.debug_struct("ClientConfig")
            .field(
                "urls",
                &self.urls.iter().map(redacted_url).collect::<Vec<_>>(),
            )
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("ca_cert", &self.ca_cert)
            .field("insecure_skip_verify", &self.insecure_skip_verify)
            .field("request_timeout", &self.request_timeout)
            .field("sigv4", &self.sigv4)
            .finish()
    }
}

/// A request body with its content type, so `_bulk` can send NDJSON and everything else JSON.
#[derive(Debug, Clone)]
pub struct Body {
    bytes: Bytes,
    content_type: &'static str,
}

impl Body {
    /// A JSON body (`application/json`).
    pub fn json(bytes: impl Into<Bytes>) -> Self {
        Body {
            bytes: bytes.into(),
            content_type: CONTENT_TYPE_JSON,
        }
    }

    /// A newline-delimited JSON body (`application/x-ndjson`), as `_bulk` wants.
    pub fn ndjson(bytes: impl Into<Bytes>) -> Self {
        Body {
            bytes: bytes.into(),
            content_type: CONTENT_TYPE_NDJSON,
        }
    }

    /// The body bytes, e.g. to log or measure them.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// Size in bytes, as sent on the wire.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the body has no bytes.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The `Content-Type` sent with it.
    pub fn content_type(&self) -> &'static str {
        self.content_type
    }
}

/// A complete answer of one node: callers decide what a status means for them.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// The whole response body.
    pub body: Bytes,
    /// Index (in `ClientConfig::urls`) of the node that answered, for logs and tests.
    pub node: usize,
}

impl Response {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The cluster's `error.type: error.reason` of this (error) response.
    pub fn error_reason(&self) -> String {
        error_reason_from_body(self.status, &self.body)
    }
}

/// A multi-node OpenSearch client; cheap to clone (shared state behind an `Arc`).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field(
                "nodes",
                &self
                    .inner
                    .nodes
                    .iter()
                    .map(|n| n.url.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

struct Inner {
    http: reqwest::Client,
    nodes: Vec<Node>,
    next: AtomicUsize,
    auth: Auth,
}

struct Node {
    /// Normalised base URL: no credentials, no query, path ending in `/`.
    url: Url,
    state: Mutex<NodeState>,
}

#[derive(Default)]
struct NodeState {
    /// `Some` while the node is considered dead: not used before this instant.
    dead_until: Option<Instant>,
    /// Consecutive failures, for the exponential backoff.
    failures: u32,
}

enum Auth {
    None,
    Basic {
        username: String,
        password: Option<String>,
    },
    SigV4(Box<SigV4Signer>),
}

impl Client {
    /// Builds the client: validates the URLs, loads the CA file and sets up TLS and authentication.
    pub fn new(cfg: ClientConfig) -> Result<Client, OpenSearchError> {
        if cfg.urls.is_empty() {
            return Err(OpenSearchError::Config("no OpenSearch URL given".into()));
        }
        if cfg.request_timeout.is_zero() {
            return Err(OpenSearchError::Config(
                "request_timeout must be greater than zero".into(),
            ));
        }
        let mut url_user: Option<(String, Option<String>)> = None;
        let mut nodes = Vec::with_capacity(cfg.urls.len());
        for raw in &cfg.urls {
            let (url, user) = normalize_node_url(raw)?;
            if url_user.is_none() {
                url_user = user;
            }
            nodes.push(Node {
                url,
                state: Mutex::new(NodeState::default()),
            });
        }

        let auth = match (&cfg.sigv4, &cfg.username) {
            (Some(_), Some(_)) => {
                return Err(OpenSearchError::Config(
                    "both SigV4 and basic-auth credentials are configured; choose one".into(),
                ))
            }
            (Some(s), None) => {
                if s.service != "es" && s.service != "aoss" {
                    return Err(OpenSearchError::Config(format!(
                        "SigV4 service must be \"es\" or \"aoss\", got {:?}",
                        s.service
                    )));
                }
                if s.region.trim().is_empty() {
                    return Err(OpenSearchError::Config("SigV4 region is empty".into()));
                }
                Auth::SigV4(Box::new(SigV4Signer::new(
                    s.clone(),
                    CredentialSource::Environment,
                )))
            }
            (None, Some(user)) => Auth::Basic {
                username: user.clone(),
                password: cfg.password.clone(),
            },
            (None, None) => match url_user {
                Some((username, password)) => Auth::Basic { username, password },
                None => Auth::None,
            },
        };

        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(cfg.request_timeout)
            .connect_timeout(cfg.request_timeout.min(CONNECT_TIMEOUT_MAX))
            .pool_idle_timeout(Duration::from_secs(50))
            .tcp_nodelay(true)
            .http1_only();
        if let Some(path) = &cfg.ca_cert {
            let pem = std::fs::read(path).map_err(|e| {
                OpenSearchError::Config(format!("cannot read CA file {}: {e}", path.display()))
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                OpenSearchError::Config(format!("invalid PEM in CA file {}: {e}", path.display()))
            })?;
            if certs.is_empty() {
                return Err(OpenSearchError::Config(format!(
                    "no certificate in CA file {}",
                    path.display()
                )));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        if cfg.insecure_skip_verify {
            warn!("TLS certificate verification of OpenSearch nodes is disabled (insecure_skip_verify)");
            builder = builder.danger_accept_invalid_certs(true);
        }
        let http = builder
            .build()
            .map_err(|e| OpenSearchError::Config(format!("cannot build the HTTP client: {e}")))?;

        Ok(Client {
            inner: Arc::new(Inner {
                http,
                nodes,
                next: AtomicUsize::new(0),
                auth,
            }),
        })
    }

    /// Number of configured nodes (dead or alive), e.g. to size retries.
    pub fn node_count(&self) -> usize {
        self.inner.nodes.len()
    }

    /// URL of node `i` (as in `Response::node`), without credentials, for logs.
    pub fn node_url(&self, i: usize) -> Option<&Url> {
        self.inner.nodes.get(i).map(|n| &n.url)
    }

    /// Number of nodes not currently marked dead, for health reporting and tests.
    pub fn live_node_count(&self) -> usize {
        let now = Instant::now();
        self.inner
            .nodes
            .iter()
            .filter(|n| lock(&n.state).dead_until.is_none_or(|t| t <= now))
            .count()
    }

    /// Sends one request, round-robin over the healthy nodes.
    ///
    /// A node that fails (connect error, timeout, HTTP 502/503/504) is marked dead with an
    /// exponential backoff (1 s doubling to 60 s) and the request is retried on the next node,
    /// at most once per node. Dead nodes are tried again when their backoff has passed; if all
    /// are dead, the one whose backoff ends soonest is tried rather than failing at once.
    /// Any other status (including 429) is returned as it is; when every node failed, the last
    /// 502/503/504 answer is returned, or the last transport error.
    pub async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<Body>,
    ) -> Result<Response, OpenSearchError> {
        let n = self.inner.nodes.len();
        let mut tried = vec![false; n];
        let mut last: Option<Result<Response, OpenSearchError>> = None;
        for _ in 0..n {
            let Some(i) = self.pick_node(&tried) else {
                break;
            };
            tried[i] = true;
            let url = self.url_for(i, path_and_query)?;
            match self.send_once(i, &method, url, body.as_ref()).await {
                Ok(resp) if matches!(resp.status, 502..=504) => {
                    self.mark_dead(i, &format!("HTTP {}: {}", resp.status, resp.error_reason()));
                    last = Some(Ok(resp));
                }
                Ok(resp) => {
                    self.mark_alive(i);
                    return Ok(resp);
                }
                Err(e @ OpenSearchError::Transport { .. }) => {
                    self.mark_dead(i, &e.to_string());
                    last = Some(Err(e));
                }
                Err(e) => return Err(e),
            }
        }
        last.unwrap_or_else(|| Err(OpenSearchError::Internal("no node to send to".into())))
    }

    /// Sends a JSON request and decodes the JSON answer, waiting out a busy cluster: a 429
    /// (a full write or search queue) is retried after a jittered, doubling delay, for at most
    /// about 12 s, because operator commands and control-plane writes (job state, keys, dead
    /// letters) should not fail on a moment's overload. The serving path uses `json_once`.
    pub async fn json(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> Result<Value, OpenSearchError> {
        let mut cap = Duration::from_millis(100);
        for _ in 0..BUSY_RETRIES {
            match self.json_once(method.clone(), path_and_query, body).await {
                Err(OpenSearchError::Status {
                    status: 429,
                    reason,
                }) => {
                    let delay = Duration::from_millis(
                        rand::rng()
                            .random_range(cap.as_millis() as u64 / 2..=cap.as_millis() as u64),
                    );
                    debug!(path = path_and_query, %reason, ?delay, "cluster busy (429); retrying");
                    tokio::time::sleep(delay).await;
                    cap = (cap * 2).min(Duration::from_secs(4));
                }
                other => return other,
            }
        }
        self.json_once(method, path_and_query, body).await
    }

    /// Sends a JSON request once and decodes the JSON answer; a non-2xx answer becomes
    /// `OpenSearchError::Status` with the cluster's `error.type: error.reason`. For the search
    /// path, where a busy cluster should reach the caller at once as a 503 with `Retry-After`.
    pub async fn json_once(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> Result<Value, OpenSearchError> {
        let body = match body {
            Some(v) => Some(Body::json(serde_json::to_vec(v).map_err(|e| {
                OpenSearchError::Internal(format!("cannot serialize a JSON value: {e}"))
            })?)),
            None => None,
        };
        self.decoded(method, path_and_query, body).await
    }

    /// `json_once` for a newline-delimited body (`_msearch`).
    pub async fn ndjson_once(
        &self,
        method: Method,
        path_and_query: &str,
        body: String,
    ) -> Result<Value, OpenSearchError> {
        self.decoded(method, path_and_query, Some(Body::ndjson(body)))
            .await
    }

    /// Sends once and decodes the JSON answer, a non-2xx answer as `OpenSearchError::Status`.
    async fn decoded(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<Body>,
    ) -> Result<Value, OpenSearchError> {
        let resp = self.send(method, path_and_query, body).await?;
        if !resp.is_success() {
            return Err(OpenSearchError::Status {
                status: resp.status,
                reason: resp.error_reason(),
            });
        }
        if resp.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&resp.body).map_err(|e| {
            OpenSearchError::Decode(format!(
                "{e} (body starts with {:?})",
                excerpt(&resp.body, 200)
            ))
        })
    }

    fn pick_node(&self, tried: &[bool]) -> Option<usize> {
        let nodes = &self.inner.nodes;
        let n = nodes.len();
        if n == 0 {
            return None;
        }
        let now = Instant::now();
        let start = self.inner.next.fetch_add(1, Ordering::Relaxed) % n;
        let mut soonest: Option<(Instant, usize)> = None;
        for k in 0..n {
            let i = (start + k) % n;
            if tried.get(i).copied().unwrap_or(true) {
                continue;
            }
            match lock(&nodes[i].state).dead_until {
                None => return Some(i),
                Some(t) if t <= now => return Some(i), // backoff over: try it again
                Some(t) => {
                    if soonest.is_none_or(|(s, _)| t < s) {
                        soonest = Some((t, i));
                    }
                }
            }
        }
        soonest.map(|(_, i)| i)
    }

    fn mark_dead(&self, i: usize, reason: &str) {
        let Some(node) = self.inner.nodes.get(i) else {
            return;
        };
        let mut st = lock(&node.state);
        st.failures = st.failures.saturating_add(1);
        let backoff = node_backoff(st.failures);
        let was_alive = st.dead_until.is_none();
        st.dead_until = Some(Instant::now() + backoff);
        drop(st);
        if was_alive {
            warn!(node = %node.url, backoff_ms = backoff.as_millis() as u64, reason, "OpenSearch node marked dead");
        } else {
            debug!(node = %node.url, backoff_ms = backoff.as_millis() as u64, reason, "OpenSearch node still dead");
        }
    }

    fn mark_alive(&self, i: usize) {
        let Some(node) = self.inner.nodes.get(i) else {
            return;
        };
        let mut st = lock(&node.state);
        let was_dead = st.dead_until.is_some();
        st.dead_until = None;
        st.failures = 0;
        drop(st);
        if was_dead {
            info!(node = %node.url, "OpenSearch node is back up");
        }
    }

    fn url_for(&self, i: usize, path_and_query: &str) -> Result<Url, OpenSearchError> {
        let base = &self.inner.nodes[i].url;
        let joined = format!(
            "{}{}",
            base.as_str(),
            path_and_query.trim_start_matches('/')
        );
        Url::parse(&joined).map_err(|e| OpenSearchError::InvalidPath {
            path: path_and_query.to_string(),
            reason: e.to_string(),
        })
    }

    async fn send_once(
        &self,
        i: usize,
        method: &Method,
        url: Url,
        body: Option<&Body>,
    ) -> Result<Response, OpenSearchError> {
        let node = &self.inner.nodes[i];
        let transport = |e: reqwest::Error| OpenSearchError::Transport {
            node: node.url.to_string(),
            timeout: e.is_timeout(),
            detail: error_chain(&e),
            source: e,
        };
        let mut rb = self.inner.http.request(method.clone(), url.clone());
        if let Some(b) = body {
            rb = rb
                .header(CONTENT_TYPE, b.content_type)
                .body(b.bytes.clone());
        }
        match &self.inner.auth {
            Auth::None => {}
            Auth::Basic { username, password } => rb = rb.basic_auth(username, password.as_ref()),
            Auth::SigV4(signer) => {
                for (name, value) in signer.sign(method, &url, body).await? {
                    rb = rb.header(name, value);
                }
            }
        }
        let resp = rb.send().await.map_err(transport)?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(transport)?;
        Ok(Response {
            status,
            body,
            node: i,
        })
    }
}

/// An error and its causes, `outer: inner: innermost`, since reqwest's own message leaves out
/// the cause that matters ("Connection refused", "connection reset").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let msg = c.to_string();
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        cur = c.source();
    }
    out
}

/// Backoff after `failures` consecutive failures: 1 s, 2 s, 4 s, ... capped at 60 s.
fn node_backoff(failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(16);
    NODE_BACKOFF_BASE
        .saturating_mul(1u32 << exp)
        .min(NODE_BACKOFF_MAX)
}

/// Strips credentials, query and fragment from a node URL and makes its path end in `/`.
/// Returns the credentials found in it.
#[allow(clippy::type_complexity)]
fn normalize_node_url(
    raw: &Url,
) -> Result<(Url, Option<(String, Option<String>)>), OpenSearchError> {
    if raw.scheme() != "http" && raw.scheme() != "https" {
        return Err(OpenSearchError::Config(format!(
            "node URL {} must be http or https",
            redacted_url(raw)
        )));
    }
    if raw.host_str().is_none() {
        return Err(OpenSearchError::Config(format!(
            "node URL {} has no host",
            redacted_url(raw)
        )));
    }
    if raw.query().is_some() || raw.fragment().is_some() {
        return Err(OpenSearchError::Config(format!(
            "node URL {} must not have a query or fragment",
            redacted_url(raw)
        )));
    }
    let user = if raw.username().is_empty() {
        None
    } else {
        Some((
            percent_decode(raw.username()),
            raw.password().map(percent_decode),
        ))
    };
    let mut url = raw.clone();
    // cannot fail for http(s) URLs with a host
    let _ = url.set_username("");
    let _ = url.set_password(None);
    if !url.path().ends_with('/') {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    Ok((url, user))
}

/// Decodes `%XX` escapes (URL user info); invalid escapes are kept as they are.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn redacted_url(u: &Url) -> String {
    let mut u = u.clone();
    if u.password().is_some() {
        let _ = u.set_password(Some("redacted"));
    }
    u.to_string()
}

/// Up to `max` bytes of `body` as (lossy) text, for error messages.
fn excerpt(body: &[u8], max: usize) -> String {
    let s = String::from_utf8_lossy(&body[..body.len().min(max)]).into_owned();
    if body.len() > max {
        format!("{s}...")
    } else {
        s
    }
}

/// `error.type: error.reason` of an OpenSearch error body, else an excerpt of the body.
pub(crate) fn error_reason_from_body(status: u16, body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        match v.get("error") {
            Some(e @ Value::Object(_)) => return describe_error(e),
            Some(Value::String(s)) => return s.clone(),
            _ => {}
        }
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        format!("HTTP {status} with an empty body")
    } else {
        excerpt(body, ERROR_BODY_EXCERPT)
    }
}

/// Formats an OpenSearch error object as `type: reason (caused by: type: reason)`.
pub(crate) fn describe_error(err: &Value) -> String {
    fn go(err: &Value, depth: usize, out: &mut String) {
        let ty = err.get("type").and_then(Value::as_str).unwrap_or("error");
        let reason = err.get("reason").and_then(Value::as_str).unwrap_or("");
        out.push_str(ty);
        if !reason.is_empty() {
            out.push_str(": ");
            out.push_str(reason);
        }
        if depth < 3 {
            if let Some(cause @ Value::Object(_)) = err.get("caused_by") {
                out.push_str(" (caused by: ");
                go(cause, depth + 1, out);
                out.push(')');
            }
        }
    }
    match err {
        Value::String(s) => s.clone(),
        Value::Object(_) => {
            let mut out = String::new();
            go(err, 0, &mut out);
            out
        }
        other => other.to_string(),
    }
}

// ------------------------------------------------------------------------------------- SigV4

enum CredentialSource {
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and optionally `AWS_SESSION_TOKEN`, read on
    /// every signature so rotated keys (e.g. written by a sidecar) are picked up. Not the full AWS
    /// default chain (profiles, IMDS, web identity): that needs aws-config, whose TLS stack (a C
    /// build of aws-lc) would double Glossa's build time; export the variables instead.
    Environment,
    #[cfg(test)]
    Static(aws_credential_types::Credentials),
}

struct SigV4Signer {
    cfg: SigV4,
    source: CredentialSource,
}

impl SigV4Signer {
    fn new(cfg: SigV4, source: CredentialSource) -> Self {
        SigV4Signer { cfg, source }
    }

    fn credentials(&self) -> Result<aws_credential_types::Credentials, OpenSearchError> {
        match &self.source {
            #[cfg(test)]
            CredentialSource::Static(c) => Ok(c.clone()),
            CredentialSource::Environment => {
                let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
                match (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
                    (Some(key), Some(secret)) => Ok(aws_credential_types::Credentials::new(
                        key,
                        secret,
                        var("AWS_SESSION_TOKEN"),
                        None,
                        "environment",
                    )),
                    _ => Err(OpenSearchError::Signing(
                        "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials)".into(),
                    )),
                }
            }
        }
    }

    async fn sign(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&Body>,
    ) -> Result<Vec<(&'static str, String)>, OpenSearchError> {
        use aws_sigv4::http_request::{
            sign, PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings,
        };
        use aws_sigv4::sign::v4;
        let creds = self.credentials()?;
        let identity = creds.into();
        let mut settings = SigningSettings::default();
        // aoss requires the body hash header; es accepts it
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.cfg.region)
            .name(&self.cfg.service)
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|e| OpenSearchError::Signing(e.to_string()))?
            .into();
        let headers: Vec<(&str, &str)> = body
            .map(|b| ("content-type", b.content_type))
            .into_iter()
            .collect();
        let payload: &[u8] = body.map(|b| b.bytes.as_ref()).unwrap_or(&[]);
        let req = SignableRequest::new(
            method.as_str(),
            url.as_str(),
            headers.into_iter(),
            SignableBody::Bytes(payload),
        )
        .map_err(|e| OpenSearchError::Signing(e.to_string()))?;
        let (instructions, _signature) = sign(req, &params)
            .map_err(|e| OpenSearchError::Signing(e.to_string()))?
            .into_parts();
        let (headers, _params) = instructions.into_parts();
        Ok(headers
            .into_iter()
            .map(|h| (h.name(), h.value().to_string()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_backoff_doubles_to_a_minute() {
        assert_eq!(node_backoff(1), Duration::from_secs(1));
        assert_eq!(node_backoff(2), Duration::from_secs(2));
        assert_eq!(node_backoff(6), Duration::from_secs(32));
        assert_eq!(node_backoff(7), Duration::from_secs(60));
        assert_eq!(node_backoff(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn node_urls_are_normalized_and_credentials_extracted() {
        let u = Url::parse("https://al%40ice:p%3Ass@h.example:9200/prefix").unwrap();
        let (n, user) = normalize_node_url(&u).unwrap();
        assert_eq!(n.as_str(), "https://h.example:9200/prefix/");
        assert_eq!(user, Some(("al@ice".into(), Some("p:ss".into()))));
        assert!(normalize_node_url(&Url::parse("ftp://h/").unwrap()).is_err());
        assert!(normalize_node_url(&Url::parse("http://h/?a=1").unwrap()).is_err());
    }

    #[test]
    fn error_reasons_come_from_the_error_object() {
        let body = br#"{"error":{"root_cause":[],"type":"index_not_found_exception","reason":"no such index [x]"},"status":404}"#;
        assert_eq!(
            error_reason_from_body(404, body),
            "index_not_found_exception: no such index [x]"
        );
        let v: Value = serde_json::from_str(
            r#"{"type":"mapper_parsing_exception","reason":"failed","caused_by":{"type":"number_format_exception","reason":"bad"}}"#,
        )
        .unwrap();
        assert_eq!(
            describe_error(&v),
            "mapper_parsing_exception: failed (caused by: number_format_exception: bad)"
        );
        assert_eq!(
            error_reason_from_body(502, b""),
            "HTTP 502 with an empty body"
        );
        assert_eq!(error_reason_from_body(500, b"oops"), "oops");
    }

    #[test]
    fn config_errors() {
        assert!(matches!(
            Client::new(ClientConfig::new(vec![])),
            Err(OpenSearchError::Config(_))
        ));
        let mut cfg = ClientConfig::new(vec![Url::parse("http://127.0.0.1:9200").unwrap()]);
        cfg.sigv4 = Some(SigV4 {
            region: "eu-west-1".into(),
            service: "s3".into(),
        });
        assert!(matches!(Client::new(cfg), Err(OpenSearchError::Config(_))));
    }

    #[test]
    fn debug_never_shows_the_password() {
        let mut cfg =
            ClientConfig::new(vec![Url::parse("http://u:secret1@127.0.0.1:9200").unwrap()]);
        cfg.password = Some("secret2".into());
        let s = format!("{cfg:?}");
        assert!(!s.contains("secret1") && !s.contains("secret2"), "{s}");
    }

    #[tokio::test]
    async fn sigv4_signs_the_body_and_the_host_with_port() {
        let creds = aws_credential_types::Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            Some("tok".into()),
            None,
            "test",
        );
        let signer = SigV4Signer::new(
            SigV4 {
                region: "eu-west-1".into(),
                service: "es".into(),
            },
            CredentialSource::Static(creds),
        );
        let url = Url::parse("https://search.example:9200/_bulk?filter_path=errors").unwrap();
        let body = Body::ndjson(&b"{}\n"[..]);
        let headers = signer.sign(&Method::POST, &url, Some(&body)).await.unwrap();
        let get = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.clone())
        };
        let auth = get("authorization").unwrap();
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
            "{auth}"
        );
        assert!(auth.contains("/eu-west-1/es/aws4_request"), "{auth}");
        assert!(auth.contains("SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token"), "{auth}");
        // sha256 of "{}\n"
        assert_eq!(
            get("x-amz-content-sha256").unwrap(),
            "ca3d163bab055381827226140568f3bef7eaac187cebd76878e0b63e9e442356"
        );
        assert_eq!(get("x-amz-security-token").unwrap(), "tok");
    }

    /// A cluster that is busy for two requests: `json` waits it out, `json_once` reports it.
    #[tokio::test]
    async fn json_waits_out_a_busy_cluster_and_json_once_does_not() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let busy = "{\"error\":{\"type\":\"rejected_execution_exception\",\"reason\":\"queue full\"},\"status\":429}";
            let mut served = 0;
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let mut request = vec![0u8; 4096];
                let _ = socket.read(&mut request).await;
                let (status, body) = if served % 3 < 2 {
                    ("429 Too Many Requests", busy)
                } else {
                    ("200 OK", "{\"acknowledged\":true}")
                };
                served += 1;
                let answer = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        let mut cfg = ClientConfig::new(vec![Url::parse(&format!("http://{addr}")).unwrap()]);
        cfg.request_timeout = Duration::from_secs(5);
        let client = Client::new(cfg).unwrap();
        let answer = client.json(Method::PUT, "jobs/_doc/1", None).await.unwrap();
        assert_eq!(answer["acknowledged"], true);
        match client.json_once(Method::PUT, "jobs/_doc/1", None).await {
            Err(OpenSearchError::Status {
                status: 429,
                reason,
            }) => {
                assert!(reason.contains("rejected_execution_exception"), "{reason}")
            }
            other => panic!("expected the 429, got {other:?}"),
        }
    }
}
