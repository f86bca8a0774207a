//! Documents by id: `GET /v1/documents/{id}` (the document as stored, with what Glossa decided
//! about it), `DELETE /v1/documents/{id}` and `POST /v1/documents/_delete` (a list of ids).
//! Deletes go through the pipeline like writes, in order with them, and are answered once
//! durable.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use super::gate::Caller;
use super::{ApiError, AppState};
use crate::decode::MAX_ID_BYTES;
use crate::pipeline::Admission;
use crate::record::RawRecord;
use crate::search::StoredDocument;

/// Largest `POST /v1/documents/_delete` body.
const MAX_DELETE_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The id the index holds for the caller's `id`: the same, or namespaced for a tenant-scoped
/// caller (whose limit is shorter by the prefix).
fn stored_id(caller: Option<&Caller>, id: &str) -> Result<String, ApiError> {
    let too_long = || ApiError::bad_request(format!("a document id is 1 to {MAX_ID_BYTES} bytes"));
    if id.is_empty() || id.len() > MAX_ID_BYTES {
        return Err(too_long());
    }
    match caller.and_then(|c| c.tenant.as_ref()) {
        None => Ok(id.to_string()),
        Some(tenant) => tenant.stored_id(id).ok_or_else(|| {
            ApiError::bad_request(format!(
                "a document id is at most {} bytes for tenant `{}` ({MAX_ID_BYTES} with the tenant prefix)",
                MAX_ID_BYTES - tenant.name().len() - 1,
                tenant.name()
            ))
        }),
    }
}

pub async fn delete_document(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let stored = stored_id(caller.as_deref(), &id)?;
    let deleted = delete(&state, caller.as_deref(), vec![stored]).await?;
    Ok(Json(json!({"id": id, "deleted": deleted == 1})))
}

/// The body of `POST /v1/documents/_delete`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteBody {
    ids: Vec<String>,
}

pub async fn delete_documents(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let bytes = super::read_body(body, MAX_DELETE_BODY_BYTES, &state.config, || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("a delete body is at most {MAX_DELETE_BODY_BYTES} bytes; split the ids"),
        )
    })
    .await?;
    let body: DeleteBody = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("expected {{\"ids\": [\"ID\", ...]}}: {e}")))?;
    if body.ids.is_empty() {
        return Err(ApiError::bad_request("`ids` is empty"));
    }
    let ids = body
        .ids
        .iter()
        .map(|id| stored_id(caller.as_deref(), id))
        .collect::<Result<Vec<_>, _>>()?;
    let deleted = delete(&state, caller.as_deref(), ids).await?;
    Ok(Json(json!({"deleted": deleted})))
}

/// Sends the deletes through the pipeline and waits until they are durable; logs who asked.
async fn delete(
    state: &AppState,
    caller: Option<&Caller>,
    ids: Vec<String>,
) -> Result<u64, ApiError> {
    let source = super::ingest::request_source();
    let records = ids
        .into_iter()
        .zip(1..)
        .map(|(id, line)| RawRecord::delete_of(&source, line, id))
        .collect();
    let pending = state
        .pipeline
        .submit(records, Admission::FailFast)
        .await
        .map_err(super::ingest::pipeline_error)?;
    let outcome = pending
        .outcome()
        .await
        .map_err(super::ingest::pipeline_error)?;
    tracing::info!(
        key = caller.map_or("-", |c| c.name.as_str()),
        tenant = caller
            .and_then(|c| c.tenant.as_ref())
            .map_or("-", |t| t.name()),
        deleted = outcome.deleted,
        "documents deleted"
    );
    Ok(outcome.deleted)
}

pub async fn get_document(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(id): Path<String>,
) -> Result<Json<StoredDocument>, ApiError> {
    let tenant = caller.as_deref().and_then(|c| c.tenant.as_ref());
    let stored = stored_id(caller.as_deref(), &id)?;
    match state.index.get(&stored).await {
        Ok(Some(document)) if tenant.is_none_or(|t| t.owns(&document.source)) => {
            let mut document = document;
            if let Some(tenant) = tenant {
                tenant.present_document(&mut document);
            }
            Ok(Json(document))
        }
        Ok(_) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no document with id `{id}`"),
        )),
        Err(error) => Err(ApiError {
            retry_after: Some(1),
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, error.to_string())
        }),
    }
}
