//! The copy engine: reads one index version in `(id_hash, id)` order with `search_after` (no
//! scroll context or point in time to expire, so a copy can stop and resume days later), rebuilds
//! each document on the blocking pool, and writes it to the other version through the bulk
//! indexer (adaptive concurrency, retries, 429 backoff). Conditional passes never overwrite a
//! newer document: they compare `ingested_at` and write with `create` / `if_seq_no`.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rayon::prelude::*;
use reqwest::Method;
use serde_json::{json, Value};

use super::transform::{Rebuilt, Transform};
use super::ReindexError;
use crate::backend::opensearch::bulk::{BulkIndexer, BulkOp, ItemResult, WriteCondition};
use crate::backend::opensearch::client::{Client, OpenSearchError};
use crate::dlq::DeadLetterQueue;
use crate::metrics as m;
use crate::record::{Rejection, SourcePosition};

/// Documents copied and to copy, for the progress bar.
#[derive(Debug, Default)]
pub struct CopyProgress {
    pub total: AtomicU64,
    pub copied: AtomicU64,
    pub failed: AtomicU64,
    /// What the job is doing now.
    pub phase: Mutex<String>,
}

impl CopyProgress {
    pub(super) fn set_phase(&self, phase: &str) {
        if let Ok(mut current) = self.phase.lock() {
            *current = phase.to_string();
        }
    }
}

/// Which documents of the source a pass reads.
#[derive(Clone, Debug)]
pub struct Range {
    pub lo: i64,
    pub hi: i64,
    /// Resume after this sort key.
    pub after: Option<(i64, String)>,
    /// Only documents ingested at or after this RFC 3339 time (catch-up passes).
    pub since: Option<String>,
}

/// What one page did.
#[derive(Debug, Default, Clone, Copy)]
pub struct PageOutcome {
    pub written: u64,
    pub failed: u64,
    /// Conditional passes: documents left alone because the other version has a newer one.
    pub kept_newer: u64,
}

/// Copies documents from `source` to `target`; shared by the slices of a job.
pub struct Copier {
    pub client: Client,
    pub indexer: BulkIndexer,
    pub transform: Transform,
    pub source: String,
    pub target: String,
    pub page_size: u32,
    pub limiter: Option<Arc<governor::DefaultDirectRateLimiter>>,
    pub dlq: Arc<Mutex<DeadLetterQueue>>,
    pub progress: Arc<CopyProgress>,
}

/// Attempts of a search before a copy gives up (429 and 5xx answers are retried with backoff).
const SEARCH_ATTEMPTS: u32 = 8;

impl Copier {
    /// Copies every document of `range`, one page at a time; after each page is acknowledged by
    /// the target (or the dead-letter queue), `on_page` gets its last sort key. Stops early,
    /// between pages, when `stop` becomes true. With `conditional`, a document is written only
    /// if the target has none with the same id or an older one.
    pub async fn copy(
        &self,
        mut range: Range,
        conditional: bool,
        stop: &tokio::sync::watch::Receiver<bool>,
        mut on_page: impl FnMut(&(i64, String), PageOutcome),
    ) -> Result<PageOutcome, ReindexError> {
        let mut total = PageOutcome::default();
        loop {
            if *stop.borrow() {
                return Err(ReindexError::Interrupted);
            }
            let hits = self.read_page(&range).await?;
            let Some(last) = hits.last().and_then(|h| sort_key(&h["sort"])) else {
                return Ok(total);
            };
            if let Some(limiter) = &self.limiter {
                let n = NonZeroU32::new(hits.len() as u32).unwrap_or(NonZeroU32::MIN);
                // The burst is at least a page, so this cannot fail; if it did, go unthrottled.
                let _ = limiter.until_n_ready(n).await;
            }
            let outcome = self.write_page(hits, conditional).await?;
            total.written += outcome.written;
            total.failed += outcome.failed;
            total.kept_newer += outcome.kept_newer;
            on_page(&last, outcome);
            range.after = Some(last);
        }
    }

    /// Deletes from the target every document the source no longer holds. Live deletes reach
    /// both versions during a job, but one that lands between the copier reading a page and
    /// writing it is undone by the write; before the aliases move (only the job writes to the
    /// target then) anything in the target and not in the source was deleted that way. Returns
    /// how many were removed. Reads the target's ids page by page and asks the source for them
    /// with `_mget` (real time: no refresh needed there).
    pub async fn prune(
        &self,
        stop: &tokio::sync::watch::Receiver<bool>,
    ) -> Result<u64, ReindexError> {
        let mut pruned = 0;
        let mut after: Option<Value> = None;
        loop {
            if *stop.borrow() {
                return Err(ReindexError::Interrupted);
            }
            let mut body = json!({
                "size": self.page_size,
                "sort": [{"id_hash": "asc"}, {"id": "asc"}],
                "_source": false,
                "track_total_hits": false,
            });
            if let Some(after) = &after {
                body["search_after"] = after.clone();
            }
            let path = format!(
                "{}/_search?filter_path=hits.hits._id,hits.hits.sort",
                self.target
            );
            let answer =
                with_retries(|| self.client.json(Method::POST, &path, Some(&body))).await?;
            let hits = answer["hits"]["hits"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let Some(last) = hits.last() else {
                return Ok(pruned);
            };
            after = Some(last["sort"].clone());
            let ids: Vec<&str> = hits.iter().filter_map(|h| h["_id"].as_str()).collect();
            let path = format!(
                "{}/_mget?_source=false&filter_path=docs._id,docs.found",
                self.source
            );
            let wanted = json!({ "ids": ids });
            let found =
                with_retries(|| self.client.json(Method::POST, &path, Some(&wanted))).await?;
            let gone: Vec<BulkOp> = found["docs"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|doc| doc["found"] == false)
                .filter_map(|doc| doc["_id"].as_str())
                .map(|id| BulkOp {
                    index: self.target.clone(),
                    id: id.to_string(),
                    source: Default::default(),
                    condition: None,
                    delete: true,
                })
                .collect();
            if gone.is_empty() {
                continue;
            }
            let count = gone.len() as u64;
            for result in self.indexer.index(gone).await? {
                if let ItemResult::Failed { status, reason } = result {
                    return Err(ReindexError::State(format!(
                        "cannot remove a document deleted during the copy from {} (HTTP {status}): {reason}",
                        self.target
                    )));
                }
            }
            pruned += count;
        }
    }

    async fn read_page(&self, range: &Range) -> Result<Vec<Value>, ReindexError> {
        let mut filter = vec![json!({"range": {"id_hash": {"gte": range.lo, "lte": range.hi}}})];
        if let Some(since) = &range.since {
            filter.push(json!({"range": {"ingested_at": {"gte": since}}}));
        }
        let mut body = json!({
            "size": self.page_size,
            "sort": [{"id_hash": "asc"}, {"id": "asc"}],
            "query": {"bool": {"filter": filter}},
            "track_total_hits": false,
        });
        if let Some((hash, id)) = &range.after {
            body["search_after"] = json!([hash, id]);
        }
        let path = format!(
            "{}/_search?filter_path=hits.hits._source,hits.hits.sort",
            self.source
        );
        let answer = with_retries(|| self.client.json(Method::POST, &path, Some(&body))).await?;
        Ok(answer["hits"]["hits"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }

    async fn write_page(
        &self,
        hits: Vec<Value>,
        conditional: bool,
    ) -> Result<PageOutcome, ReindexError> {
        let transform = self.transform.clone();
        let position = SourcePosition {
            source: format!("reindex:{}", self.source),
            line: 0,
        };
        let refused_position = position.clone();
        // Decoding and detection are CPU work: off the async workers, on every core.
        let rebuilt: Vec<(Value, Result<Rebuilt, Rejection>)> =
            tokio::task::spawn_blocking(move || {
                hits.into_par_iter()
                    .map(|hit| {
                        let stored = hit["_source"].clone();
                        let result = transform.apply(&stored, &position);
                        (stored, result)
                    })
                    .collect()
            })
            .await
            .map_err(|e| ReindexError::State(format!("a rebuild task failed: {e}")))?;
        let mut outcome = PageOutcome::default();
        let mut rejections = Vec::new();
        let mut ready = Vec::with_capacity(rebuilt.len());
        for (stored, result) in rebuilt {
            match result {
                Ok(doc) => ready.push((stored, doc)),
                Err(rejection) => rejections.push(rejection),
            }
        }
        let conditions = if conditional {
            let ids: Vec<&str> = ready.iter().map(|(_, doc)| doc.id.as_str()).collect();
            Some(self.stored_versions(&ids).await?)
        } else {
            None
        };
        let mut ops = Vec::with_capacity(ready.len());
        let mut sent = Vec::with_capacity(ready.len());
        for (stored, doc) in ready {
            let condition = match conditions.as_ref().map(|c| c.get(&doc.id)) {
                None => None,
                Some(None) => Some(WriteCondition::Absent),
                Some(Some(existing))
                    if !super::is_older(&existing.ingested_at, &doc.ingested_at) =>
                {
                    outcome.kept_newer += 1;
                    continue;
                }
                Some(Some(existing)) => Some(WriteCondition::Unchanged {
                    seq_no: existing.seq_no,
                    primary_term: existing.primary_term,
                }),
            };
            ops.push(BulkOp {
                index: self.target.clone(),
                id: doc.id.clone(),
                source: doc.source.into(),
                condition,
                delete: false,
            });
            sent.push(stored);
        }
        let results = self.indexer.index(ops).await?;
        for (stored, result) in sent.iter().zip(results) {
            match result {
                ItemResult::Indexed => outcome.written += 1,
                // A live write landed between our read and our write: it is newer, keep it.
                ItemResult::Failed { status: 409, .. } if conditional => outcome.kept_newer += 1,
                ItemResult::Failed { status, reason } => rejections.push(Rejection {
                    position: refused_position.clone(),
                    reason: crate::sink::REASON_BACKEND_REJECTED.to_string(),
                    message: format!(
                        "{} refused the document (HTTP {status}): {reason}",
                        self.target
                    ),
                    raw: crate::backend::opensearch::document::original_record(stored).to_string(),
                    truncated: false,
                }),
            }
        }
        outcome.failed = rejections.len() as u64;
        if !rejections.is_empty() {
            let mut dlq = self.dlq.lock().map_err(|_| {
                ReindexError::State("the dead-letter queue lock is poisoned".into())
            })?;
            for rejection in &rejections {
                tracing::warn!(reason = %rejection.reason, message = %rejection.message, "document not copied; it is in the dead-letter queue");
                dlq.push(rejection)?;
            }
            dlq.sync()?;
        }
        m::counter_add(m::REINDEX_COPIED, outcome.written);
        m::counter_add(m::REINDEX_FAILED, outcome.failed);
        self.progress
            .copied
            .fetch_add(outcome.written, Ordering::Relaxed);
        self.progress
            .failed
            .fetch_add(outcome.failed, Ordering::Relaxed);
        Ok(outcome)
    }

    /// `ingested_at`, sequence number and primary term of the target's documents among `ids`.
    async fn stored_versions(
        &self,
        ids: &[&str],
    ) -> Result<HashMap<String, StoredVersion>, ReindexError> {
        let mut out = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let body = json!({"ids": ids});
        let path = format!("{}/_mget?_source_includes=ingested_at", self.target);
        let answer = with_retries(|| self.client.json(Method::POST, &path, Some(&body))).await?;
        for doc in answer["docs"].as_array().into_iter().flatten() {
            if doc["found"] != true {
                continue;
            }
            let (Some(id), Some(seq_no), Some(primary_term)) = (
                doc["_id"].as_str(),
                doc["_seq_no"].as_u64(),
                doc["_primary_term"].as_u64(),
            ) else {
                continue;
            };
            out.insert(
                id.to_string(),
                StoredVersion {
                    ingested_at: doc["_source"]["ingested_at"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    seq_no,
                    primary_term,
                },
            );
        }
        Ok(out)
    }
}

/// A `Value` sort key from a hit's `sort` array (`[id_hash, id]`).
fn sort_key(sort: &Value) -> Option<(i64, String)> {
    Some((sort.get(0)?.as_i64()?, sort.get(1)?.as_str()?.to_string()))
}

/// What a conditional write needs to know of the document already there.
struct StoredVersion {
    ingested_at: String,
    seq_no: u64,
    primary_term: u64,
}

/// Runs a read request again on 429 and 5xx answers, with exponential backoff.
pub async fn with_retries<F, Fut>(mut request: F) -> Result<Value, OpenSearchError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Value, OpenSearchError>>,
{
    let mut delay = Duration::from_millis(250);
    let mut attempt = 1;
    loop {
        match request().await {
            Err(OpenSearchError::Status { status, reason })
                if (status == 429 || status >= 500) && attempt < SEARCH_ATTEMPTS =>
            {
                tracing::warn!(status, %reason, retry_in = ?delay, "read request refused; retrying");
            }
            Err(error @ OpenSearchError::Transport { .. }) if attempt < SEARCH_ATTEMPTS => {
                tracing::warn!(%error, retry_in = ?delay, "read request failed; retrying");
            }
            other => return other,
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(10));
        attempt += 1;
    }
}
