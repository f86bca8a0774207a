//! `GET /v1/documents/{id}`: one document as stored, with what Glossa decided about it (language,
//! confidence, method, ingest time), for callers that know the id and for checking an ingest.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

use super::{ApiError, AppState};
use crate::decode::MAX_ID_BYTES;
use crate::search::StoredDocument;

pub async fn get_document(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<StoredDocument>, ApiError> {
    if id.is_empty() || id.len() > MAX_ID_BYTES {
        return Err(ApiError::bad_request(format!(
            "a document id is 1 to {MAX_ID_BYTES} bytes"
        )));
    }
    match state.index.get(&id).await {
        Ok(Some(document)) => Ok(Json(document)),
        Ok(None) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no document with id `{id}`"),
        )),
        Err(error) => Err(ApiError {
            retry_after: Some(1),
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, error.to_string())
        }),
    }
}
