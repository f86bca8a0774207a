//! The HTTP API: ingest and fetch by id (`/v1/documents`), search (`/v1/search`), operations (`/healthz`,
//! `/metrics`, `/v1/operator`) and the search page (`/`). Every error is JSON with a message the caller can act on.

mod documents;
pub(crate) mod gate;
mod ingest;
mod operator;
mod ops;
pub(crate) mod page;
mod search;
pub(crate) mod server;

pub use crate::service::AppState;
pub use ops::metrics;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tokio::sync::watch;

use crate::config::Config;
use crate::service::Service;

/// Serves the API of `service` on `listener`, and consumes its configured stream sources, until
/// `shutdown` resolves; then stops the sources (each commits what was stored), drains and
/// commits.
pub async fn serve(
    mut service: Service,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let config = service.state.config.clone();
    let (gate, tls) = match front_door(&config, &listener).await {
        Ok(door) => door,
        Err(error) => {
            service.stop().await?;
            return Err(error);
        }
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let background = service.start_background(stop_rx);
    let Service { pipeline, state } = service;
    let app = router(state, gate);
    let stop_sources = stop_tx.clone();
    let served = server::serve(listener, app, &config.server, tls, async move {
        shutdown.await;
        let _ = stop_sources.send(true);
    })
    .await;
    let _ = stop_tx.send(true);
    for task in background {
        let _ = task.await;
    }
    crate::service::stop_pipeline(pipeline).await?;
    served
}

/// The gate (keys loaded, kept fresh) and the TLS acceptor for a server on `listener`.
async fn front_door(
    config: &Config,
    listener: &tokio::net::TcpListener,
) -> std::io::Result<(Arc<gate::Gate>, Option<tokio_rustls::TlsAcceptor>)> {
    let addr = listener.local_addr()?;
    let gate = gate::Gate::open(config, addr)
        .await
        .map_err(std::io::Error::other)?;
    gate.keep_fresh(Duration::from_secs(config.auth.refresh_seconds));
    let tls = match (&config.server.tls_cert, &config.server.tls_key) {
        (Some(cert), Some(key)) => {
            Some(server::tls_acceptor(cert, key).map_err(std::io::Error::other)?)
        }
        _ => None,
    };
    Ok((gate, tls))
}

/// Builds the router with all routes behind the front door (`gate`).
pub fn router(state: AppState, gate: Arc<gate::Gate>) -> Router {
    let allowed_origins: Vec<HeaderValue> = state
        .config
        .server
        .cors_allowed_origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin.trim_end_matches('/')).ok())
        .collect();
    let router = Router::new()
        .route("/v1/documents", post(ingest::post_documents))
        .route(
            "/v1/documents/{id}",
            get(documents::get_document).delete(documents::delete_document),
        )
        .route("/v1/documents/_delete", post(documents::delete_documents))
        .route(
            "/v1/search",
            get(search::get_search).post(search::post_search),
        )
        .route("/v1/search/options", get(search::get_search_options))
        .route("/v1/operator", get(operator::get_operator))
        .merge(page::routes())
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .fallback(ops::not_found)
        .method_not_allowed_fallback(ops::method_not_allowed)
        // Body limits are enforced by the handlers, which name the limit in their 413; a gzip
        // body counts by its decompressed size.
        .layer(DefaultBodyLimit::disable())
        .layer(tower_http::decompression::RequestDecompressionLayer::new())
        .layer(axum::middleware::from_fn_with_state(gate, gate::guard))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state);
    if allowed_origins.is_empty() {
        return router;
    }
    router.layer(
        tower_http::cors::CorsLayer::new()
            .allow_origin(tower_http::cors::AllowOrigin::list(allowed_origins))
            .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
            .allow_headers([
                axum::http::header::AUTHORIZATION,
                axum::http::header::CONTENT_TYPE,
                axum::http::header::CONTENT_ENCODING,
            ])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

/// Reads a request body of at most `limit` bytes (after decompression) within
/// `server.body_read_timeout_seconds`: over the limit is `too_large`, too slow is 408, a body
/// that cannot be read (a broken gzip stream) is 400.
pub async fn read_body(
    body: axum::body::Body,
    limit: usize,
    config: &Config,
    too_large: impl FnOnce() -> ApiError,
) -> Result<bytes::Bytes, ApiError> {
    let seconds = config.server.body_read_timeout_seconds;
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(seconds),
        axum::body::to_bytes(body, limit),
    )
    .await
    .map_err(|_| {
        ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            format!("the request body did not arrive within server.body_read_timeout_seconds = {seconds}"),
        )
    })?;
    read.map_err(|error| {
        let too_big = std::error::Error::source(&error)
            .is_some_and(|cause| cause.is::<http_body_util::LengthLimitError>());
        if too_big {
            too_large()
        } else {
            ApiError::bad_request(format!("cannot read the request body: {error}"))
        }
    })
}

/// An error answer: status plus a message; optional `Retry-After` seconds for 429/503.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub retry_after: Option<u32>,
    /// Adds `WWW-Authenticate: Bearer` (401 answers).
    pub www_authenticate: bool,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
            www_authenticate: false,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(json!({
            "error": { "status": self.status.as_u16(), "message": self.message }
        }));
        let mut response = (self.status, body).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from(seconds));
        }
        if self.www_authenticate {
            response
                .headers_mut()
                .insert(axum::http::header::WWW_AUTHENTICATE, gate::WWW_AUTHENTICATE);
        }
        response
    }
}
