//! `GET /v1/operator`: what the search page's operator view shows, in one bounded JSON answer:
//! documents per language, ingest counters and rate, the dead-letter queue (counts by reason,
//! the latest letters with their source position, never their records) and reindex jobs where
//! the backend keeps them. Needs the `metrics` scope; refused to tenant-scoped callers, since
//! the counters and the queue span every tenant.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::gate::Caller;
use super::{ApiError, AppState};
use crate::config::DlqTarget;
use crate::metrics as m;
use crate::search::SearchQuery;

/// Latest dead letters shown when the caller does not say.
const DEFAULT_LETTERS: usize = 20;
/// Reindex jobs shown, newest first.
const MAX_JOBS: usize = 5;
/// The ingest rate is measured over at most this much time between answers.
const RATE_WINDOW: Duration = Duration::from_secs(60);

/// `?letters=N`: how many of the latest dead letters to show (capped).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorParams {
    letters: Option<usize>,
}

/// The answer of `GET /v1/operator`.
#[derive(Debug, Serialize)]
pub struct OperatorAnswer {
    backend: &'static str,
    documents: u64,
    languages: BTreeMap<String, u64>,
    ingest: Ingest,
    dead_letters: Value,
    reindex: Value,
}

/// Process-wide ingest counters since start, and the rate between recent answers.
#[derive(Debug, Serialize)]
struct Ingest {
    records_in: u64,
    records_indexed: u64,
    records_rejected: u64,
    /// Records indexed per second over the time since the oldest answer of the last minute;
    /// `null` until two answers a second apart (the page asks every few seconds).
    indexed_per_second: Option<f64>,
    /// The time that rate was measured over.
    rate_window_seconds: Option<f64>,
}

/// `(when, records indexed)` at each recent answer: the rate is measured between them, so no
/// task runs when nobody looks.
static SAMPLES: Mutex<VecDeque<(Instant, u64)>> = Mutex::new(VecDeque::new());

fn ingest_rate(indexed: u64) -> (Option<f64>, Option<f64>) {
    let now = Instant::now();
    let mut samples = crate::lock(&SAMPLES);
    while samples
        .front()
        .is_some_and(|(at, _)| now.duration_since(*at) > RATE_WINDOW)
    {
        samples.pop_front();
    }
    // A bounded history: answers closer than a second apart add nothing.
    if samples
        .back()
        .is_none_or(|(at, _)| now.duration_since(*at) >= Duration::from_secs(1))
    {
        samples.push_back((now, indexed));
    }
    let Some(&(oldest, before)) = samples.front() else {
        return (None, None);
    };
    let seconds = now.duration_since(oldest).as_secs_f64();
    if seconds < 1.0 {
        return (None, None);
    }
    let rate = indexed.saturating_sub(before) as f64 / seconds;
    (Some((rate * 10.0).round() / 10.0), Some(seconds.round()))
}

/// `GET /v1/operator`: the operator view's answer (see the module's doc).
pub async fn get_operator(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<OperatorAnswer>, ApiError> {
    let params: OperatorParams =
        serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).map_err(|e| {
            ApiError::bad_request(format!(
                "invalid query string: {e}; the only parameter is letters=N (at most {})",
                crate::dlq::MAX_SUMMARY_LETTERS
            ))
        })?;
    if let Some(tenant) = caller.as_ref().and_then(|c| c.tenant.as_ref()) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "the operator view spans every tenant; a key confined to tenant `{}` cannot read it",
                tenant.name()
            ),
        ));
    }
    let letters = params
        .letters
        .unwrap_or(DEFAULT_LETTERS)
        .min(crate::dlq::MAX_SUMMARY_LETTERS);
    let all = SearchQuery::count_all();
    let counted = state.index.search(all).await.map_err(|e| ApiError {
        retry_after: Some(1),
        ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
    })?;
    let exposition = crate::metrics::render();
    let counter = |name| crate::metrics::sum_of(&exposition, name) as u64;
    let records_indexed = counter(m::RECORDS_INDEXED);
    let (indexed_per_second, rate_window_seconds) = ingest_rate(records_indexed);
    let ingest = Ingest {
        records_in: counter(m::RECORDS_IN),
        records_indexed,
        records_rejected: counter(m::RECORDS_REJECTED),
        indexed_per_second,
        rate_window_seconds,
    };
    let dead_letters = dead_letters(&state, letters).await;
    let reindex = reindex_jobs(&state).await;
    Ok(Json(OperatorAnswer {
        backend: state.index.kind(),
        documents: counted.total,
        languages: counted.languages.unwrap_or_default(),
        ingest,
        dead_letters,
        reindex,
    }))
}

/// The queue's summary, or why it is not shown here: the file queue (the default) and a
/// dead-letter index on the cluster the server searches are summarized; a Kafka topic (which
/// only a full read could count) is read with `glossa dlq list`.
async fn dead_letters(state: &AppState, letters: usize) -> Value {
    match &state.config.dlq.target {
        DlqTarget::File => {
            let dir = state.config.data_dir.clone();
            let read =
                tokio::task::spawn_blocking(move || crate::dlq::summarize(&dir, letters)).await;
            match read {
                Ok(Ok(summary)) => json!({"target": "file", "summary": summary}),
                Ok(Err(error)) => json!({"target": "file", "error": error.to_string()}),
                Err(error) => json!({"target": "file", "error": error.to_string()}),
            }
        }
        DlqTarget::Kafka(_) => json!({
            "target": "kafka",
            "note": "a Kafka dead-letter topic is not summarized by the server; read it with `glossa dlq list`",
        }),
        DlqTarget::OpenSearch(named) => match &state.index {
            crate::backend::SearchBackend::OpenSearch(search) => {
                let (index, summary) = crate::dlq::summarize_index(
                    search.client(),
                    &state.config,
                    named.as_deref(),
                    letters,
                )
                .await;
                match summary {
                    Ok(summary) => {
                        json!({"target": "opensearch", "index": index, "summary": summary})
                    }
                    Err(error) => {
                        json!({"target": "opensearch", "index": index, "error": error.to_string()})
                    }
                }
            }
            crate::backend::SearchBackend::Embedded(_) => json!({
                "target": "opensearch",
                "note": "a dead-letter index beside an embedded index is not summarized by the server; read it with `glossa dlq list`",
            }),
        },
    }
}

/// The newest reindex jobs: the embedded index's job file, or the cluster's jobs index.
async fn reindex_jobs(state: &AppState) -> Value {
    let jobs = match &state.index {
        crate::backend::SearchBackend::Embedded(_) => {
            let dir = state.config.data_dir.clone();
            tokio::task::spawn_blocking(move || crate::reindex::embedded::read_jobs(&dir))
                .await
                .map_err(|e| e.to_string())
                .and_then(|read| read.map_err(|e| e.to_string()))
        }
        crate::backend::SearchBackend::OpenSearch(search) => crate::reindex::job::JobStore::new(
            search.client().clone(),
            &state.config.opensearch.index,
        )
        .list()
        .await
        .map_err(|e| e.to_string()),
    };
    match jobs {
        Ok(jobs) => {
            let shown: Vec<Value> = jobs
                .iter()
                .take(MAX_JOBS)
                .map(|job| {
                    json!({
                        "source": job.source,
                        "target": job.target,
                        "phase": job.phase,
                        "started_at": job.started_at,
                        "updated_at": job.updated_at,
                        "total": job.total,
                        "copied": job.copied,
                        "failed": job.failed,
                        "message": job.message,
                    })
                })
                .collect();
            json!({"jobs": shown, "total": jobs.len()})
        }
        Err(error) => json!({"error": error}),
    }
}
