//! The HTTP API: ingest (`/v1/documents`), search (`/v1/search`) and operations (`/healthz`,
//! `/metrics`). Every error is JSON with a message the caller can act on.

mod ingest;
mod ops;
mod search;

pub use ops::metrics;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::backend::SearchBackend;
use crate::config::Config;
use crate::pipeline::PipelineHandle;
use crate::route::Router as LanguageRouter;

/// What every handler needs.
#[derive(Clone)]
pub struct AppState {
    pub pipeline: PipelineHandle,
    pub index: SearchBackend,
    pub languages: LanguageRouter,
    pub config: Arc<Config>,
}

/// Builds the router with all routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/documents", post(ingest::post_documents))
        .route(
            "/v1/search",
            get(search::get_search).post(search::post_search),
        )
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .fallback(ops::not_found)
        // Body limits are enforced by the handlers, which name the limit in their 413.
        .layer(DefaultBodyLimit::disable())
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// An error answer: status plus a message; optional `Retry-After` seconds for 429/503.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub retry_after: Option<u32>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
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
        response
    }
}
