//! The front door every request passes before a handler: request-target length, browser
//! origin, content encoding, API key and scope, and rate limits per key and per client address.
//!
//! Who is served without a key: everyone with `auth.insecure_no_auth`; loopback clients of a
//! server listening on loopback while no key was ever created (a fresh `cargo run`, the demo);
//! and anyone on `/healthz`, `/readyz` and the search page's static files (`/`, `/page/...`: no
//! user data; the page's own calls carry the key). Everything else needs `Authorization: Bearer KEY`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::ApiError;
use crate::auth::{key_id, JwtVerifier, KeyRecord, KeyStore, Scope, Tenant};
use crate::config::Config;
use crate::metrics as m;

/// The client's address, put on every request by the server loop.
#[derive(Clone, Copy, Debug)]
pub struct RemoteAddr(pub SocketAddr);

/// The key a request was made with, for handlers (records-per-second) and logs.
#[derive(Clone)]
pub struct Caller {
    pub name: String,
    /// The tenant the caller is confined to; handlers stamp, filter and namespace by it.
    pub tenant: Option<Tenant>,
    records: Option<Arc<DefaultDirectRateLimiter>>,
    records_rate: u32,
}

impl Caller {
    /// Takes `records` from the key's records-per-second budget, or says why not.
    pub fn admit_records(&self, records: usize) -> Result<(), ApiError> {
        let Some(limiter) = &self.records else {
            return Ok(());
        };
        let n =
            NonZeroU32::new(u32::try_from(records).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN);
        match limiter.check_n(n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => {
                count(&self.name, "records_rate_limited");
                Err(too_many(
                    format!(
                        "key `{}` is over its rate of {} records per second; retry later",
                        self.name, self.records_rate
                    ),
                    not_until.wait_time_from(DefaultClock::default().now()),
                ))
            }
            Err(_) => Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the request holds {records} records, more than key `{}` may send in one second ({}); split it",
                    self.name, self.records_rate
                ),
            )),
        }
    }
}

/// Whether keys are needed, decided at start from the settings and the listening address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exposure {
    /// `auth.insecure_no_auth`: nobody needs a key.
    Open,
    /// Listening on loopback: no key needed until the first key is created.
    Loopback,
    /// Listening on a network address: every route but `/healthz` needs a key.
    Network,
}

/// The gate's state: the current keys, their limiters, and the per-address limiter.
pub struct Gate {
    exposure: Exposure,
    store: Option<KeyStore>,
    /// `[auth.jwt]`: identity-provider tokens, with the JWKS re-read on every refresh.
    jwt: RwLock<Option<Arc<JwtVerifier>>>,
    jwt_settings: Option<crate::config::JwtSettings>,
    keys: RwLock<Arc<HashMap<String, KeyRecord>>>,
    limiters: Mutex<HashMap<String, (u32, Arc<DefaultDirectRateLimiter>)>>,
    record_limiters: Mutex<HashMap<String, (u32, Arc<DefaultDirectRateLimiter>)>>,
    per_address: Option<DefaultKeyedRateLimiter<IpAddr>>,
    allowed_origins: Vec<String>,
    max_uri_bytes: usize,
    default_rate: u32,
    default_records_rate: u32,
    /// `auth.tenant_field`.
    tenant_field: String,
}

/// Why a server may not start with these settings.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error("refusing to serve {0} without authentication: create an API key first (`glossa keys create --scope ingest,search`), listen on 127.0.0.1, or start with --insecure-no-auth (auth.insecure_no_auth = true) to let anyone who reaches the port read and overwrite every document")]
    NoKeys(SocketAddr),
    #[error(transparent)]
    Store(#[from] crate::auth::StoreError),
    #[error("{0}")]
    Bootstrap(String),
    #[error(transparent)]
    Jwks(#[from] crate::auth::JwksError),
}

impl Gate {
    /// Loads the keys and decides the exposure for a server listening on `addr`.
    pub async fn open(config: &Config, addr: SocketAddr) -> Result<Arc<Gate>, GateError> {
        let exposure = if config.auth.insecure_no_auth {
            Exposure::Open
        } else if addr.ip().is_loopback() {
            Exposure::Loopback
        } else {
            Exposure::Network
        };
        let store = (exposure != Exposure::Open)
            .then(|| KeyStore::for_config(config))
            .transpose()?;
        let mut keys = match &store {
            Some(store) => store.load().await?,
            None => Vec::new(),
        };
        if let (Some(store), Some(chosen)) = (&store, &config.auth.bootstrap_key) {
            let scopes = vec![Scope::Ingest, Scope::Search, Scope::Metrics];
            let record = crate::auth::chosen_key(chosen, "bootstrap", scopes)
                .map_err(GateError::Bootstrap)?;
            if !keys.iter().any(|k| k.id == record.id) {
                store.add(&record).await?;
                keys.push(record);
            }
        }
        let jwt = match (&config.auth.jwt, exposure) {
            (Some(settings), Exposure::Loopback | Exposure::Network) => {
                Some(Arc::new(JwtVerifier::load(settings)?))
            }
            _ => None,
        };
        if exposure == Exposure::Network && keys.is_empty() && jwt.is_none() {
            return Err(GateError::NoKeys(addr));
        }
        match exposure {
            Exposure::Open => {
                tracing::warn!(%addr, "auth.insecure_no_auth: the API is open to anyone who can reach {addr}")
            }
            Exposure::Loopback if keys.is_empty() => {
                tracing::warn!(%addr, "no API key exists: the API is open to local clients only; `glossa keys create` closes it")
            }
            _ => tracing::info!(keys = keys.len(), "API keys required"),
        }
        let per_address = NonZeroU32::new(config.server.per_address_rate_per_second)
            .map(|rate| RateLimiter::keyed(Quota::per_second(rate)));
        Ok(Arc::new(Gate {
            exposure,
            store,
            jwt: RwLock::new(jwt),
            jwt_settings: config.auth.jwt.clone(),
            keys: RwLock::new(Arc::new(by_id(keys))),
            limiters: Mutex::default(),
            record_limiters: Mutex::default(),
            per_address,
            allowed_origins: config
                .server
                .cors_allowed_origins
                .iter()
                .map(|o| o.trim_end_matches('/').to_string())
                .collect(),
            max_uri_bytes: config.server.max_uri_bytes,
            default_rate: config.auth.default_rate_per_second,
            default_records_rate: config.auth.default_records_per_second,
            tenant_field: config.auth.tenant_field.clone(),
        }))
    }

    /// Reloads the keys every `every` (new keys work, revoked keys stop) until the process
    /// ends; a store that cannot be read keeps the keys it had.
    pub fn keep_fresh(self: &Arc<Self>, every: Duration) {
        let Some(store) = self.store.clone() else {
            return;
        };
        let gate = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(gate) = gate.upgrade() else {
                    return;
                };
                match store.load().await {
                    Ok(keys) => *crate::write_lock(&gate.keys) = Arc::new(by_id(keys)),
                    Err(error) => {
                        tracing::warn!(%error, "cannot reload API keys; keeping the ones loaded before")
                    }
                }
                if let Some(settings) = &gate.jwt_settings {
                    match JwtVerifier::load(settings) {
                        Ok(verifier) => *crate::write_lock(&gate.jwt) = Some(Arc::new(verifier)),
                        Err(error) => {
                            tracing::warn!(%error, "cannot reload the JWKS file; keeping the keys loaded before")
                        }
                    }
                }
                if let Some(limiter) = &gate.per_address {
                    limiter.retain_recent();
                }
            }
        });
    }

    fn current_keys(&self) -> Arc<HashMap<String, KeyRecord>> {
        crate::read_lock(&self.keys).clone()
    }

    /// Whether a request without a key may use a route that needs a scope.
    fn open_without_key(&self) -> bool {
        match self.exposure {
            Exposure::Open => true,
            Exposure::Loopback => self.current_keys().is_empty() && self.jwt_settings.is_none(),
            Exposure::Network => false,
        }
    }

    fn origin_allowed(&self, origin: &str, headers: &HeaderMap) -> bool {
        let origin = origin.trim_end_matches('/');
        if self.allowed_origins.iter().any(|o| o == origin || o == "*") {
            return true;
        }
        // Same origin: a page served by this very server (scheme aside).
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        host.is_some_and(|host| {
            origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"))
                == Some(host)
        })
    }

    fn key_limiter(
        table: &Mutex<HashMap<String, (u32, Arc<DefaultDirectRateLimiter>)>>,
        id: &str,
        rate: u32,
    ) -> Option<Arc<DefaultDirectRateLimiter>> {
        let rate_nz = NonZeroU32::new(rate)?;
        let mut table = crate::lock(table);
        let entry = table.entry(id.to_string()).or_insert_with(|| {
            (
                rate,
                Arc::new(RateLimiter::direct(Quota::per_second(rate_nz))),
            )
        });
        if entry.0 != rate {
            *entry = (
                rate,
                Arc::new(RateLimiter::direct(Quota::per_second(rate_nz))),
            );
        }
        Some(entry.1.clone())
    }

    fn check_address(&self, remote: Option<IpAddr>) -> Result<(), ApiError> {
        let (Some(limiter), Some(ip)) = (&self.per_address, remote) else {
            return Ok(());
        };
        limiter.check_key(&ip).map_err(|not_until| {
            count("-", "address_rate_limited");
            too_many(
                format!(
                    "too many requests from {ip} (server.per_address_rate_per_second); retry later"
                ),
                not_until.wait_time_from(DefaultClock::default().now()),
            )
        })
    }
}

fn by_id(keys: Vec<KeyRecord>) -> HashMap<String, KeyRecord> {
    keys.into_iter().map(|k| (k.id.clone(), k)).collect()
}

fn too_many(message: String, wait: Duration) -> ApiError {
    let seconds = wait.as_secs_f64().ceil().max(1.0) as u32;
    ApiError {
        retry_after: Some(seconds),
        ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, message)
    }
}

fn count(key: &str, outcome: &'static str) {
    metrics::counter!(m::API_REQUESTS, "key" => key.to_string(), "outcome" => outcome).increment(1);
}

/// The scope a route needs; `None` for routes without user data (the search page and its
/// assets, health checks). Reading a document by id is a search; anything else under
/// `/v1/documents` writes. The operator view shows counters and the dead-letter queue, like
/// `/metrics`.
fn required_scope(method: &Method, path: &str) -> Option<Scope> {
    if super::page::is_public(path) {
        return None;
    }
    match path.trim_end_matches('/') {
        "/v1/documents" => Some(Scope::Ingest),
        "/v1/search" | "/v1/search/options" => Some(Scope::Search),
        "/metrics" | "/v1/operator" => Some(Scope::Metrics),
        by_id if by_id.starts_with("/v1/documents/") => Some(match *method {
            Method::GET | Method::HEAD => Scope::Search,
            _ => Scope::Ingest,
        }),
        _ => None,
    }
}

/// Loopback names a browser could be pointing at; any other `Host` on an unauthenticated
/// loopback server is a DNS-rebinding page, not a local client.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The middleware: runs every check, then the handler.
pub async fn guard(State(gate): State<Arc<Gate>>, mut request: Request, next: Next) -> Response {
    match admit(&gate, &mut request) {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

fn admit(gate: &Gate, request: &mut Request) -> Result<(), ApiError> {
    let uri_len = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if uri_len > gate.max_uri_bytes {
        return Err(ApiError::new(
            StatusCode::URI_TOO_LONG,
            format!(
                "the request target is {uri_len} bytes, over the limit server.max_uri_bytes = {}; send the search as POST /v1/search with a JSON body",
                gate.max_uri_bytes
            ),
        ));
    }
    let headers = request.headers();
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !gate.origin_allowed(origin, headers) {
            count("-", "origin_refused");
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!("requests from the browser origin `{origin}` are refused: it is not in server.cors_allowed_origins"),
            ));
        }
    }
    if let Some(encoding) = headers.get(header::CONTENT_ENCODING) {
        let encoding = encoding.to_str().unwrap_or("").trim().to_ascii_lowercase();
        if !matches!(encoding.as_str(), "gzip" | "identity" | "") {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("Content-Encoding `{encoding}` is not supported; send gzip or no encoding"),
            ));
        }
    }
    let remote = request.extensions().get::<RemoteAddr>().map(|r| r.0.ip());
    let scope = required_scope(request.method(), request.uri().path());
    let bearer = bearer(request.headers());
    let Some(scope) = scope.filter(|_| bearer.is_some() || !gate.open_without_key()) else {
        if gate.exposure == Exposure::Loopback && gate.open_without_key() {
            let host = request
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("");
            if !is_loopback_host(host) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    format!("Host `{host}` is not a loopback name: without API keys this server answers local clients only"),
                ));
            }
        }
        return gate.check_address(remote);
    };
    let Some(presented) = bearer else {
        gate.check_address(remote)?;
        count("-", "unauthenticated");
        return Err(unauthorized(format!(
            "this route needs an API key with the `{scope}` scope: send `Authorization: Bearer KEY`"
        )));
    };
    if key_id(&presented).is_none() {
        let verifier = crate::read_lock(&gate.jwt).clone();
        if let Some(verifier) = verifier {
            return admit_token(gate, request, &verifier, &presented, scope, remote);
        }
    }
    let keys = gate.current_keys();
    let record = key_id(&presented)
        .and_then(|id| keys.get(id))
        .filter(|record| record.matches(&presented));
    let Some(record) = record else {
        gate.check_address(remote)?;
        count("-", "unauthenticated");
        return Err(unauthorized("the API key is not valid".to_string()));
    };
    if record.revoked_at.is_some() {
        gate.check_address(remote)?;
        count(&record.name, "revoked");
        return Err(unauthorized(format!(
            "the API key `{}` was revoked",
            record.name
        )));
    }
    admit_caller(
        gate,
        request,
        scope,
        Identified {
            described: format!("the API key `{}`", record.name),
            rate_subject: format!("key `{}`", record.name),
            label: &record.name,
            limiter_id: record.id.clone(),
            name: record.name.clone(),
            scopes: &record.scopes,
            rate: record.rate_per_second.unwrap_or(gate.default_rate),
            records_rate: record
                .records_per_second
                .unwrap_or(gate.default_records_rate),
            tenant: record.tenant.as_deref(),
        },
    )
}

/// Someone whose key or token checked out, as the scope and rate checks need them.
struct Identified<'a> {
    /// Who, in a 403 message ("the API key `etl`").
    described: String,
    /// Who, in a 429 message ("key `etl`").
    rate_subject: String,
    /// Metrics `key` label.
    label: &'a str,
    /// Key of the rate limiters.
    limiter_id: String,
    /// The caller's name for handlers and logs.
    name: String,
    scopes: &'a [Scope],
    rate: u32,
    records_rate: u32,
    tenant: Option<&'a str>,
}

/// The checks after identification, the same for keys and tokens: the scope, the request rate,
/// then the caller (with its records budget for ingest) handed to the handler.
fn admit_caller(
    gate: &Gate,
    request: &mut Request,
    scope: Scope,
    who: Identified<'_>,
) -> Result<(), ApiError> {
    if !crate::auth::grants(who.scopes, scope) {
        count(who.label, "forbidden");
        let held: Vec<&str> = who.scopes.iter().map(|s| s.as_str()).collect();
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "{} has the scopes [{}]; {} {} needs `{scope}`",
                who.described,
                held.join(", "),
                request.method(),
                request.uri().path()
            ),
        ));
    }
    if let Some(limiter) = Gate::key_limiter(&gate.limiters, &who.limiter_id, who.rate) {
        if let Err(not_until) = limiter.check() {
            count(who.label, "rate_limited");
            return Err(too_many(
                format!(
                    "{} is over its rate of {} requests per second; retry later",
                    who.rate_subject, who.rate
                ),
                not_until.wait_time_from(DefaultClock::default().now()),
            ));
        }
    }
    let tenant = who
        .tenant
        .map(|name| Tenant::new(&gate.tenant_field, name))
        .transpose()
        .map_err(|e| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "{} is confined to a tenant that is not valid: {e}",
                    who.described
                ),
            )
        })?;
    count(who.label, "allowed");
    let caller = Caller {
        name: who.name,
        tenant,
        records: (scope == Scope::Ingest && request.method() == Method::POST)
            .then(|| Gate::key_limiter(&gate.record_limiters, &who.limiter_id, who.records_rate))
            .flatten(),
        records_rate: who.records_rate,
    };
    request.extensions_mut().insert(caller);
    Ok(())
}

/// A request with an identity-provider token: valid, then the same checks as a key, under the
/// default rates (per subject). Metrics label such callers `jwt`, so subjects cannot grow the
/// label set.
fn admit_token(
    gate: &Gate,
    request: &mut Request,
    verifier: &JwtVerifier,
    token: &str,
    scope: Scope,
    remote: Option<IpAddr>,
) -> Result<(), ApiError> {
    let caller = match verifier.verify(token) {
        Ok(caller) => caller,
        Err(message) => {
            gate.check_address(remote)?;
            count("jwt", "unauthenticated");
            return Err(unauthorized(message));
        }
    };
    let id = format!("jwt:{}", caller.subject);
    admit_caller(
        gate,
        request,
        scope,
        Identified {
            described: format!("the token of `{}`", caller.subject),
            rate_subject: format!("`{}`", caller.subject),
            label: "jwt",
            limiter_id: id.clone(),
            name: id,
            scopes: &caller.scopes,
            rate: gate.default_rate,
            records_rate: gate.default_records_rate,
            tenant: caller.tenant.as_deref(),
        },
    )
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

fn unauthorized(message: String) -> ApiError {
    ApiError {
        www_authenticate: true,
        ..ApiError::new(StatusCode::UNAUTHORIZED, message)
    }
}

/// `WWW-Authenticate` for 401 answers (RFC 6750).
pub const WWW_AUTHENTICATE: HeaderValue = HeaderValue::from_static("Bearer realm=\"glossa\"");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_recognised() {
        for host in [
            "localhost",
            "localhost:8080",
            "127.0.0.1:80",
            "[::1]:8080",
            "127.8.9.1",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "evil.example",
            "evil.example:8080",
            "10.0.0.1:8080",
            "",
            "[::2]:1",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    proptest::proptest! {
        /// Header values are attacker-chosen: reading them never panics.
        #[test]
        fn any_host_or_authorization_is_read_safely(value in "\\PC{0,100}") {
            let _ = is_loopback_host(&value);
            let _ = crate::auth::key_id(&value);
            if let Ok(header) = HeaderValue::from_str(&value) {
                let mut headers = HeaderMap::new();
                headers.insert(header::AUTHORIZATION, header);
                let _ = bearer(&headers);
            }
        }
    }

    #[test]
    fn routes_need_their_scope() {
        let scope = |method: Method, path: &str| required_scope(&method, path);
        assert_eq!(scope(Method::POST, "/v1/documents"), Some(Scope::Ingest));
        assert_eq!(scope(Method::GET, "/v1/search/"), Some(Scope::Search));
        assert_eq!(scope(Method::GET, "/metrics"), Some(Scope::Metrics));
        assert_eq!(scope(Method::GET, "/healthz"), None);
        assert_eq!(scope(Method::GET, "/"), None);
        assert_eq!(scope(Method::GET, "/page/app.js"), None);
        assert_eq!(scope(Method::GET, "/v1/operator"), Some(Scope::Metrics));
        assert_eq!(
            scope(Method::GET, "/v1/search/options"),
            Some(Scope::Search)
        );
        assert_eq!(
            scope(Method::GET, "/v1/documents/a%2Fb"),
            Some(Scope::Search)
        );
        assert_eq!(
            scope(Method::DELETE, "/v1/documents/x"),
            Some(Scope::Ingest)
        );
    }

    #[test]
    fn bearer_tokens_are_read_case_insensitively() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  glossa_x_y "),
        );
        assert_eq!(bearer(&headers).as_deref(), Some("glossa_x_y"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&headers), None);
    }
}
