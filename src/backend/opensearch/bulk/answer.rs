//! What a `_bulk` answer means: per request (retry the whole request, split it, give up) and
//! per item (indexed, retry, or a permanent failure for the dead-letter queue), and what it
//! tells the concurrency limiter.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::limiter::{LoadSignal, Permit};
use crate::backend::opensearch::client::{describe_error, OpenSearchError, Response};

/// What became of one request.
pub(super) enum ChunkOutcome {
    /// A 2xx bulk answer: one class per op of the chunk, same order.
    Items(Vec<ItemClass>),
    /// The whole request should be retried (429, 5xx, connection error, ...).
    RequestRetry(String),
    /// HTTP 413: the request was larger than `http.max_content_length`.
    TooLarge { bytes: usize },
    /// HTTP 400 for the whole request: one op makes the request invalid.
    BadRequest(String),
    /// Retrying cannot help (401, 403, 404 ...): the call fails.
    Fatal(OpenSearchError),
}

/// What became of one item of a 2xx answer.
pub(super) enum ItemClass {
    Indexed,
    Retry { status: u16, reason: String },
    Failed { status: u16, reason: String },
}

#[derive(Deserialize)]
struct BulkAnswer {
    #[serde(default)]
    items: Vec<BTreeMap<String, BulkItem>>,
}

#[derive(Deserialize)]
struct BulkItem {
    status: u16,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

/// Reads a `_bulk` answer for a request of `n_ops` operations and `bytes` bytes, and records on
/// `permit` what it says about the cluster's load.
pub(super) fn classify(
    resp: &Response,
    n_ops: usize,
    bytes: usize,
    latency: Duration,
    permit: &mut Permit,
) -> ChunkOutcome {
    match resp.status {
        200..=299 => {}
        429 => {
            permit.outcome = LoadSignal::Overload;
            return ChunkOutcome::RequestRetry(format!("HTTP 429: {}", resp.error_reason()));
        }
        413 => return ChunkOutcome::TooLarge { bytes },
        400 => return ChunkOutcome::BadRequest(resp.error_reason()),
        s @ (503 | 504) => {
            permit.outcome = LoadSignal::Overload;
            return ChunkOutcome::RequestRetry(format!("HTTP {s}: {}", resp.error_reason()));
        }
        s @ (500..=599 | 408) => {
            return ChunkOutcome::RequestRetry(format!("HTTP {s}: {}", resp.error_reason()))
        }
        status => {
            return ChunkOutcome::Fatal(OpenSearchError::Status {
                status,
                reason: resp.error_reason(),
            })
        }
    }
    let answer: BulkAnswer = match serde_json::from_slice(&resp.body) {
        Ok(a) => a,
        Err(e) => {
            // the items may or may not be indexed: sending them again is safe (same ids)
            return ChunkOutcome::RequestRetry(format!("undecodable bulk answer: {e}"));
        }
    };
    if answer.items.len() != n_ops {
        return ChunkOutcome::RequestRetry(format!(
            "bulk answer has {} items for {n_ops} operations",
            answer.items.len()
        ));
    }
    let mut overloaded = false;
    let classes = answer
        .items
        .into_iter()
        .map(|item| {
            let Some((action, item)) = item.into_iter().next() else {
                return ItemClass::Retry {
                    status: 0,
                    reason: "empty bulk item".into(),
                };
            };
            let status = item.status;
            let reason = || {
                item.error
                    .as_ref()
                    .map(describe_error)
                    .unwrap_or_else(|| format!("item status {status}"))
            };
            match status {
                200..=299 => ItemClass::Indexed,
                404 if action == "delete" => ItemClass::Indexed,
                429 => {
                    overloaded = true;
                    ItemClass::Retry {
                        status,
                        reason: reason(),
                    }
                }
                500..=599 => ItemClass::Retry {
                    status,
                    reason: reason(),
                },
                _ => ItemClass::Failed {
                    status,
                    reason: reason(),
                },
            }
        })
        .collect();
    permit.outcome = if overloaded {
        LoadSignal::Overload
    } else {
        LoadSignal::Success(latency)
    };
    ChunkOutcome::Items(classes)
}
