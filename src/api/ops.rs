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
            "no route {}; try POST /v1/documents, GET or DELETE /v1/documents/ID, POST /v1/documents/_delete, GET or POST /v1/search, GET /healthz, GET /metrics",
            uri.path()
        ),
    )
}
