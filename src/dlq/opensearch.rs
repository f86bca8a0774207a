//! Dead letters in an OpenSearch index (`dlq.target = "opensearch"`: `<opensearch.index>-dead-letters`
//! on the configured cluster, or `"opensearch:NAME"`): shared by every worker, searchable by
//! reason, source and time with the cluster's own tools. A letter is durable once its bulk
//! request is acknowledged (the translog is fsynced per request by default). A replay takes every
//! letter with its id and deletes exactly those once they are acknowledged again; letters that
//! fail again are written anew, with new ids.
//!
//! The queue's API is blocking (the pipeline's sink thread calls it), so it drives the async
//! client on a small runtime of its own, from a short-lived thread (callers may be async code).

use std::future::Future;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use super::{now_rfc3339, DeadLetter, DlqError};
use crate::backend::opensearch::client::{Body, Client, OpenSearchError};
use crate::config::Config;
use crate::record::Rejection;

/// Longest time a sync retries a cluster that refuses or does not answer.
const SYNC_TIMEOUT: Duration = Duration::from_secs(60);
/// Letters read per request by a listing.
const PAGE: usize = 1000;

/// The index dead letters go to, from `dlq.target`.
pub fn index_name(config: &Config, named: Option<&str>) -> String {
    match named {
        Some(name) => name.to_string(),
        None => format!("{}-dead-letters", config.opensearch.index),
    }
}

/// A cluster client with a runtime to drive it from blocking code.
struct Blocking {
    client: Client,
    index: String,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Blocking {
    fn new(config: &Config, index: String) -> Result<Blocking, DlqError> {
        let client = crate::backend::opensearch::connect(&config.opensearch)
            .map_err(|e| error(&index, e))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| DlqError::OpenSearch {
                index: index.clone(),
                message: format!("cannot start a runtime: {e}"),
            })?;
        Ok(Blocking {
            client,
            index,
            runtime: Some(runtime),
        })
    }

    /// Runs `future` to completion on a thread of its own, so it works whatever the caller's
    /// context (a plain thread, a blocking-pool thread, or async code of any runtime flavour).
    fn block<F>(&self, future: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        let Some(runtime) = &self.runtime else {
            unreachable!("the runtime lives as long as the queue");
        };
        std::thread::scope(
            |scope| match scope.spawn(|| runtime.block_on(future)).join() {
                Ok(output) => output,
                Err(panic) => std::panic::resume_unwind(panic),
            },
        )
    }

    /// Creates the index with an explicit mapping (ignored when it exists).
    fn ensure_index(&self) -> Result<(), DlqError> {
        let body = json!({
            "settings": {"number_of_shards": 1},
            "mappings": {"dynamic": false, "properties": {
                "letter_id": {"type": "keyword"},
                "time": {"type": "date"},
                "reason": {"type": "keyword"},
                "position": {"properties": {
                    "source": {"type": "keyword"},
                    "line": {"type": "long"},
                }},
            }},
        });
        match self.block(self.client.json(Method::PUT, &self.index, Some(&body))) {
            Err(OpenSearchError::Status { reason, .. })
                if reason.starts_with("resource_already_exists_exception") =>
            {
                Ok(())
            }
            other => other.map(|_| ()).map_err(|e| error(&self.index, e)),
        }
    }

    /// Sends a bulk body until every item is acknowledged, retrying 429s, 5xx and unreachable
    /// nodes for up to [`SYNC_TIMEOUT`].
    fn bulk(&self, body: Vec<u8>) -> Result<(), DlqError> {
        let started = Instant::now();
        let mut delay = Duration::from_millis(200);
        loop {
            let answer = self.block(self.client.send(
                Method::POST,
                "_bulk?filter_path=errors,items.*.status,items.*.error",
                Some(Body::ndjson(body.clone())),
            ));
            let problem = match answer {
                Ok(response) if response.is_success() => {
                    let parsed: Value =
                        serde_json::from_slice(&response.body).unwrap_or(Value::Null);
                    let failed: Vec<&Value> = parsed["items"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|item| item.as_object()?.values().next())
                        .filter(|item| {
                            // 404: a delete of a letter already gone is done.
                            !matches!(item["status"].as_u64(), Some(200..=299 | 404))
                        })
                        .collect();
                    match failed.first() {
                        None => return Ok(()),
                        Some(item) => format!("item refused: {}", item["error"]),
                    }
                }
                Ok(response) => format!("HTTP {}: {}", response.status, response.error_reason()),
                Err(e) => e.to_string(),
            };
            if started.elapsed() > SYNC_TIMEOUT {
                return Err(DlqError::OpenSearch {
                    index: self.index.clone(),
                    message: format!("dead letters not stored after {SYNC_TIMEOUT:?}: {problem}"),
                });
            }
            tracing::warn!(index = %self.index, %problem, retry_in = ?delay, "dead letters not stored yet; retrying");
            std::thread::sleep(delay);
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }
}

impl Drop for Blocking {
    fn drop(&mut self) {
        // A runtime cannot be dropped by blocking inside another one; this never blocks.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

fn error(index: &str, e: OpenSearchError) -> DlqError {
    DlqError::OpenSearch {
        index: index.to_string(),
        message: e.to_string(),
    }
}

/// Writes dead letters to the index; [`OpenSearchQueue::sync`] stores them before records are
/// acknowledged.
pub struct OpenSearchQueue {
    cluster: Blocking,
    pending: Vec<DeadLetter>,
    index_ready: bool,
}

impl OpenSearchQueue {
    /// Connects (lazily: the cluster is first contacted at the first sync with letters).
    pub fn open(config: &Config, index: String) -> Result<OpenSearchQueue, DlqError> {
        Ok(OpenSearchQueue {
            cluster: Blocking::new(config, index)?,
            pending: Vec::new(),
            index_ready: false,
        })
    }

    /// Queues one dead letter (stored at the next [`OpenSearchQueue::sync`]).
    pub fn push(&mut self, rejection: &Rejection) -> Result<(), DlqError> {
        self.pending.push(DeadLetter {
            time: now_rfc3339(),
            rejection: rejection.clone(),
        });
        Ok(())
    }

    /// Stores every queued letter, each under a new random id.
    pub fn sync(&mut self) -> Result<(), DlqError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        if !self.index_ready {
            self.cluster.ensure_index()?;
            self.index_ready = true;
        }
        let mut body = Vec::new();
        for letter in &self.pending {
            let id = letter_id();
            let action = json!({"create": {"_index": self.cluster.index, "_id": id}});
            let mut doc = serde_json::to_value(letter).unwrap_or(Value::Null);
            doc["letter_id"] = json!(id);
            body.extend_from_slice(action.to_string().as_bytes());
            body.push(b'\n');
            body.extend_from_slice(doc.to_string().as_bytes());
            body.push(b'\n');
        }
        self.cluster.bulk(body)?;
        self.pending.clear();
        Ok(())
    }
}

/// A random id: a letter that fails again is a new letter, never confused with the replayed one.
fn letter_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Dead letters taken from the index for a replay, with their ids.
pub struct OpenSearchReplay {
    pub letters: Vec<DeadLetter>,
    ids: Vec<String>,
    cluster: Blocking,
}

impl OpenSearchReplay {
    /// Reads every letter, oldest first (a missing index has none).
    pub fn take(config: &Config, index: String) -> Result<OpenSearchReplay, DlqError> {
        let cluster = Blocking::new(config, index)?;
        // Letters stored a moment ago become searchable at the next refresh: make it now.
        let refresh = format!("{}/_refresh", cluster.index);
        match cluster.block(cluster.client.json(Method::POST, &refresh, None)) {
            Ok(_) | Err(OpenSearchError::Status { status: 404, .. }) => {}
            Err(e) => return Err(error(&cluster.index, e)),
        }
        let mut letters = Vec::new();
        let mut ids = Vec::new();
        let mut after: Option<Value> = None;
        loop {
            let mut body = json!({
                "size": PAGE,
                "sort": [{"time": "asc"}, {"letter_id": "asc"}],
                "query": {"match_all": {}},
            });
            if let Some(after) = &after {
                body["search_after"] = after.clone();
            }
            let path = format!("{}/_search", cluster.index);
            let answer = match cluster.block(cluster.client.json(Method::POST, &path, Some(&body)))
            {
                Err(OpenSearchError::Status { status: 404, .. }) => break,
                other => other.map_err(|e| error(&cluster.index, e))?,
            };
            let hits = answer["hits"]["hits"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for hit in &hits {
                let letter: DeadLetter =
                    serde_json::from_value(hit["_source"].clone()).map_err(|e| {
                        DlqError::OpenSearch {
                            index: cluster.index.clone(),
                            message: format!("a dead letter does not parse: {e}"),
                        }
                    })?;
                letters.push(letter);
                ids.push(hit["_id"].as_str().unwrap_or_default().to_string());
            }
            match hits.last() {
                Some(last) if hits.len() == PAGE => after = Some(last["sort"].clone()),
                _ => break,
            }
        }
        Ok(OpenSearchReplay {
            letters,
            ids,
            cluster,
        })
    }

    /// Deletes the replayed letters (their records are indexed, or queued again as new letters).
    pub fn finish(self) -> Result<(), DlqError> {
        for ids in self.ids.chunks(PAGE) {
            let mut body = Vec::new();
            for id in ids {
                let action = json!({"delete": {"_index": self.cluster.index, "_id": id}});
                body.extend_from_slice(action.to_string().as_bytes());
                body.push(b'\n');
            }
            self.cluster.bulk(body)?;
        }
        let path = format!("{}/_refresh", self.cluster.index);
        self.cluster
            .block(self.cluster.client.json(Method::POST, &path, None))
            .map_err(|e| error(&self.cluster.index, e))?;
        Ok(())
    }
}

/// The operator view's summary of a dead-letter index: letters per reason (a terms
/// aggregation) and the `latest` newest, without their records; one search, whatever the
/// index's size. Letters become visible at the index's next refresh (a second). A missing
/// index has no letters.
pub async fn summarize(
    client: &Client,
    index: &str,
    latest: usize,
) -> Result<super::Summary, DlqError> {
    let latest = latest.min(super::MAX_SUMMARY_LETTERS);
    let body = json!({
        "size": latest,
        "track_total_hits": true,
        "query": {"bool": {"must_not": [{"term": {"reason": super::DELETED}}]}},
        "sort": [{"time": "desc"}, {"letter_id": "desc"}],
        "_source": ["time", "position", "reason", "message", "truncated"],
        "aggs": {"reasons": {"terms": {"field": "reason", "size": 100}}},
    });
    let answer = match client
        .json(Method::POST, &format!("{index}/_search"), Some(&body))
        .await
    {
        Err(OpenSearchError::Status { status: 404, .. }) => return Ok(super::Summary::default()),
        other => other.map_err(|e| error(index, e))?,
    };
    let mut summary = super::Summary {
        total: answer["hits"]["total"]["value"].as_u64().unwrap_or(0),
        ..super::Summary::default()
    };
    for bucket in answer["aggregations"]["reasons"]["buckets"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let (Some(reason), Some(count)) = (bucket["key"].as_str(), bucket["doc_count"].as_u64())
        {
            summary.by_reason.insert(reason.to_string(), count);
        }
    }
    for hit in answer["hits"]["hits"].as_array().into_iter().flatten() {
        let head: super::LetterHead =
            serde_json::from_value(hit["_source"].clone()).map_err(|e| DlqError::OpenSearch {
                index: index.to_string(),
                message: format!("a dead letter does not parse: {e}"),
            })?;
        summary.latest.push(head.into_summary());
    }
    Ok(summary)
}
