//! `POST /v1/documents`: NDJSON or a JSON array of records. Answers only once every accepted
//! record is durably indexed; a bad line is reported by number and never rejects its neighbours.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Extension;
use axum::Json;
use serde::Serialize;
use serde_json::Value;

use super::gate::Caller;
use super::{ApiError, AppState};
use crate::auth::Tenant;
use crate::metrics as m;
use crate::pipeline::{Admission, PipelineError};
use crate::record::{RawRecord, SourcePosition};

static REQUEST_SEQ: AtomicU64 = AtomicU64::new(1);

/// The answer to an ingest request.
#[derive(Debug, Serialize)]
pub struct IngestAnswer {
    /// Records indexed.
    accepted: u64,
    /// Documents deleted by delete marker records (`"_delete": true`).
    deleted: u64,
    /// True when at least one record was rejected.
    errors: bool,
    rejected: Vec<RejectedLine>,
    /// Accepted records per detected language.
    languages: std::collections::BTreeMap<String, u64>,
}

/// One rejected record: its 1-based line (NDJSON) or array position (JSON array).
#[derive(Debug, Serialize)]
struct RejectedLine {
    line: u64,
    reason: String,
    message: String,
}

pub async fn post_documents(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<IngestAnswer>, ApiError> {
    let limit = state.config.limits.max_body_bytes;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body is over the limit limits.max_body_bytes = {limit} bytes; split it into smaller requests"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(too_large());
    }
    let bytes = super::read_body(body, limit, &state.config, too_large).await?;
    let source = request_source();
    let mut records = split_body(&bytes, &source)?;
    if records.is_empty() {
        return Err(ApiError::bad_request(
            "the body holds no records: send NDJSON (one JSON object per line) or a JSON array of objects",
        ));
    }
    if let Some(caller) = &caller {
        caller.admit_records(records.len())?;
        if let Some(tenant) = caller.tenant.clone() {
            records = stamp(tenant, records).await?;
        }
    }
    let pending = state
        .pipeline
        .submit(records, Admission::FailFast)
        .await
        .map_err(pipeline_error)?;
    let outcome = pending.outcome().await.map_err(pipeline_error)?;
    let rejected: Vec<RejectedLine> = outcome
        .rejected
        .into_iter()
        .map(|r| RejectedLine {
            line: r.position.line,
            reason: r.reason,
            message: r.message,
        })
        .collect();
    Ok(Json(IngestAnswer {
        accepted: outcome.indexed,
        deleted: outcome.deleted,
        errors: !rejected.is_empty(),
        rejected,
        languages: outcome.languages,
    }))
}

/// Makes every record the tenant's (stamped field, namespaced id), off the async workers: it
/// parses every record. One record naming another tenant refuses the whole request.
async fn stamp(tenant: Tenant, mut records: Vec<RawRecord>) -> Result<Vec<RawRecord>, ApiError> {
    tokio::task::spawn_blocking(move || {
        for record in &mut records {
            record.bytes = tenant.stamp(&record.bytes, record.position.line)?;
        }
        Ok(records)
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map_err(|e: crate::auth::TenantError| ApiError::new(StatusCode::FORBIDDEN, e.to_string()))
}

/// The source name of one HTTP request's records (`http:N`), for dead letters and logs.
pub(super) fn request_source() -> String {
    format!("http:{}", REQUEST_SEQ.fetch_add(1, Ordering::Relaxed))
}

pub(super) fn pipeline_error(error: PipelineError) -> ApiError {
    match error {
        PipelineError::Busy { .. } => {
            metrics::counter!(m::INGEST_THROTTLED).increment(1);
            ApiError {
                retry_after: Some(1),
                ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, error.to_string())
            }
        }
        PipelineError::TooMany { .. } => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, error.to_string())
        }
        PipelineError::DiskFull(_) => ApiError {
            retry_after: Some(30),
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, error.to_string())
        },
        PipelineError::Closed | PipelineError::Commit(_) | PipelineError::Backend(_) => ApiError {
            retry_after: Some(5),
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, error.to_string())
        },
    }
}

/// A body starting with `[` is a JSON array; anything else is NDJSON.
fn split_body(bytes: &[u8], source: &str) -> Result<Vec<RawRecord>, ApiError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        let items: Vec<Value> = serde_json::from_slice(bytes).map_err(|e| {
            ApiError::bad_request(format!(
                "the body starts with `[` but is not a valid JSON array ({e}); send NDJSON to have bad records reported one by one"
            ))
        })?;
        return Ok(items
            .into_iter()
            .enumerate()
            .map(|(i, item)| RawRecord {
                position: SourcePosition {
                    source: source.to_string(),
                    line: i as u64 + 1,
                },
                bytes: serde_json::to_vec(&item).unwrap_or_default(),
                id_from_position: false,
                delete: false,
            })
            .collect());
    }
    Ok(bytes
        .split(|b| *b == b'\n')
        .enumerate()
        .map(|(i, line)| (i, line.strip_suffix(b"\r").unwrap_or(line)))
        .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
        .map(|(i, line)| RawRecord {
            position: SourcePosition {
                source: source.to_string(),
                line: i as u64 + 1,
            },
            bytes: line.to_vec(),
            id_from_position: false,
            delete: false,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ndjson_lines_keep_their_numbers() {
        let records = split_body(b"{\"a\":1}\r\n\n  \nnot json\n", "t").expect("ndjson");
        let lines: Vec<u64> = records.iter().map(|r| r.position.line).collect();
        assert_eq!(lines, vec![1, 4]);
        assert_eq!(records[0].bytes, b"{\"a\":1}");
    }

    #[test]
    fn arrays_are_split_and_broken_arrays_refused() {
        let records = split_body(b" [{\"a\":1}, 5]", "t").expect("array");
        assert_eq!(records.len(), 2);
        assert_eq!(records[1].bytes, b"5");
        assert!(split_body(b"[{\"a\":1}", "t").is_err());
    }
}
