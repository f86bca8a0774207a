//! Operational endpoints.

use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

use super::{ApiError, AppState};

/// Liveness and a document count, for load balancers and humans; 503 when the index (the
/// cluster) cannot be reached.
pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match state.index.num_docs().await {
        Ok(documents) => (
            StatusCode::OK,
            Json(json!({ "status": "ok", "documents": documents })),
        ),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "error": error.to_string() })),
        ),
    }
}

/// Readiness, for orchestrators that route traffic or roll deployments: 200 only when the
/// index answers, the data directory's disk is above its floor (ingest is accepted), and every
/// stream source has reached its input (joined its consumer group, listed its prefix); else 503
/// saying which check failed. Names no URL: it is open like `/healthz`.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let index = match state.index.num_docs().await {
        Ok(documents) => json!({"ready": true, "documents": documents}),
        Err(error) => json!({"ready": false, "detail": error.to_string()}),
    };
    let disk = match state.pipeline.disk_state() {
        Ok(()) => json!({"ready": true}),
        Err(detail) => json!({"ready": false, "detail": detail}),
    };
    let sources: Vec<_> = state
        .sources
        .iter()
        .map(|source| match source.state() {
            Ok(()) => json!({"source": source.name, "ready": true}),
            Err(detail) => json!({"source": source.name, "ready": false, "detail": detail}),
        })
        .collect();
    let ready = [&index, &disk]
        .into_iter()
        .chain(&sources)
        .all(|check| check["ready"] == true);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({
            "status": if ready { "ready" } else { "not_ready" },
            "index": index,
            "disk": disk,
            "sources": sources,
        })),
    )
}

/// Prometheus text exposition.
pub async fn metrics() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::metrics::render(),
    )
}

/// JSON 405 naming the methods the route takes.
pub async fn method_not_allowed(method: axum::http::Method, uri: Uri) -> ApiError {
    let allowed = match uri.path().trim_end_matches('/') {
        "/v1/documents" => "POST",
        "/v1/search" => "GET, POST",
        "/v1/documents/_delete" => "POST",
        by_id if by_id.starts_with("/v1/documents/") => "GET, DELETE",
        _ => "GET",
    };
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed on {}; use {allowed}", uri.path()),
    )
}

/// JSON 404 naming the routes that exist.
pub async fn not_found(uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!(
            "no route {}; try GET / (the search page), POST /v1/documents, GET or DELETE /v1/documents/ID, POST /v1/documents/_delete, GET or POST /v1/search, GET /v1/search/options, GET /v1/operator, GET /healthz, GET /readyz, GET /metrics",
            uri.path()
        ),
    )
}
