//! Bulk indexer: byte-sized `_bulk` requests, adaptive concurrency (AIMD) and item-level retries.
//!
//! Every operation ends as `Indexed` or `Failed` (a permanent, per-document failure for the
//! dead-letter queue), or the whole call returns `Err` when the cluster stayed unreachable or
//! overloaded for longer than `max_retry_time`. Only the failed items of a bulk answer are
//! retried, never the ones already indexed.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::Rng;
use reqwest::Method;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tracing::{debug, warn};

mod answer;
mod encode;
mod limiter;

use super::client::{Body, Client, OpenSearchError};
use answer::{classify, ChunkOutcome, ItemClass};
use encode::{chunk_ops, op_size, write_op};
use limiter::{AdaptiveLimit, Limiter, LoadSignal, Permit};

/// `_bulk` with the answer trimmed to what the indexer reads (checked on OpenSearch 2.19:
/// gives `{"errors":..,"items":[{"index":{"status":201}},{"index":{"status":400,"error":{..}}}]}`).
const BULK_PATH: &str = "_bulk?filter_path=errors,items.*.status,items.*.error";
/// An item that keeps failing with HTTP 500 is a poison document after this many attempts.
const MAX_ATTEMPTS_500: u32 = 3;
/// Longest reason kept in retry logs.
const LOG_REASON_MAX: usize = 300;

/// One document to index: `source` is its JSON (one line; newlines between tokens are replaced
/// by spaces, which is safe for valid JSON since a string cannot hold a raw newline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkOp {
    /// Target index (or alias / data stream).
    pub index: String,
    /// Document id; re-indexing the same id replaces the document, which makes retries safe.
    pub id: String,
    /// The document as JSON.
    pub source: Bytes,
    /// Write only if the stored document is as expected (reindex catch-up after the write alias
    /// moved, when a live write must win); `None` always writes. A lost condition fails the
    /// item with status 409.
    pub condition: Option<WriteCondition>,
    /// Remove the document instead (`source` is not sent); a document already gone counts as
    /// removed.
    pub delete: bool,
}

/// Optimistic-concurrency condition of a [`BulkOp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteCondition {
    /// Only if no document with this id exists (`create`).
    Absent,
    /// Only if the stored document is still at this sequence number and primary term.
    Unchanged { seq_no: u64, primary_term: u64 },
}

/// The final fate of one operation, so the caller can dead-letter the permanent failures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemResult {
    /// The cluster acknowledged the document (HTTP 200/201 for the item).
    Indexed,
    /// Permanent failure: retrying would not help (mapping error, too large, ...).
    Failed {
        /// Item status from the cluster, or 413 for a document over `max_request_bytes`.
        status: u16,
        /// The cluster's `error.type: error.reason`, or our own explanation.
        reason: String,
    },
}

/// Tuning of the bulk indexer; `Default` gives sizes that suit a typical cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkConfig {
    /// Upper bound of one `_bulk` body in bytes (must stay below the cluster's
    /// `http.max_content_length`, 100 MiB by default).
    pub max_request_bytes: usize,
    /// Most `_bulk` requests in flight at once, across all callers of one indexer.
    pub max_concurrency: usize,
    /// Concurrency to start with before the adaptive limit has measured anything.
    pub initial_concurrency: usize,
    /// How long operations are retried from their first retryable failure before giving up.
    pub max_retry_time: Duration,
    /// Backoff cap of the first retry (full jitter: the delay is uniform in `0..cap`).
    pub initial_backoff: Duration,
    /// Largest backoff cap, reached by doubling.
    pub max_backoff: Duration,
}

impl Default for BulkConfig {
    fn default() -> Self {
        BulkConfig {
            max_request_bytes: 10 * 1024 * 1024,
            max_concurrency: 8,
            initial_concurrency: 2,
            max_retry_time: Duration::from_secs(300),
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// Counters of an indexer, for metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BulkStats {
    /// Current adaptive concurrency limit.
    pub limit: usize,
    /// Bulk requests in flight now.
    pub in_flight: usize,
    /// Times the limit was lowered (backoff events: 429s, latency rises).
    pub limit_decreases: u64,
    /// Times the limit was raised.
    pub limit_increases: u64,
    /// `_bulk` requests sent (each attempt counts).
    pub requests: u64,
    /// Whole requests retried (429/5xx/connection errors).
    pub request_retries: u64,
    /// Items retried after a retryable item error inside a 200 answer.
    pub item_retries: u64,
    /// Requests split in two after a whole-request 413 or 400.
    pub splits: u64,
}

/// Indexes batches of documents with `_bulk`; cheap to clone and share across tasks (the
/// concurrency limit is shared by all clones).
#[derive(Clone)]
pub struct BulkIndexer {
    shared: Arc<Shared>,
}

struct Shared {
    client: Client,
    cfg: BulkConfig,
    limiter: Arc<Limiter>,
    requests: AtomicU64,
    request_retries: AtomicU64,
    item_retries: AtomicU64,
    splits: AtomicU64,
}

impl std::fmt::Debug for BulkIndexer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkIndexer")
            .field("cfg", &self.shared.cfg)
            .field("stats", &self.stats())
            .finish()
    }
}

impl BulkIndexer {
    /// Creates an indexer; nonsensical settings are clamped (concurrency at least 1, initial
    /// concurrency within 1..=max, max_request_bytes at least 1 KiB).
    pub fn new(client: Client, cfg: BulkConfig) -> Self {
        let mut cfg = cfg;
        cfg.max_concurrency = cfg.max_concurrency.max(1);
        cfg.initial_concurrency = cfg.initial_concurrency.clamp(1, cfg.max_concurrency);
        cfg.max_request_bytes = cfg.max_request_bytes.max(1024);
        cfg.max_backoff = cfg.max_backoff.max(cfg.initial_backoff);
        let limiter = Arc::new(Limiter {
            state: Mutex::new(AdaptiveLimit::new(
                cfg.initial_concurrency,
                cfg.max_concurrency,
            )),
            notify: Notify::new(),
        });
        BulkIndexer {
            shared: Arc::new(Shared {
                client,
                cfg,
                limiter,
                requests: AtomicU64::new(0),
                request_retries: AtomicU64::new(0),
                item_retries: AtomicU64::new(0),
                splits: AtomicU64::new(0),
            }),
        }
    }

    /// Current adaptive concurrency limit, for metrics.
    pub fn concurrency(&self) -> usize {
        self.shared.limiter.lock().limit()
    }

    /// All counters at once.
    pub fn stats(&self) -> BulkStats {
        let l = self.shared.limiter.lock();
        BulkStats {
            limit: l.limit(),
            in_flight: l.in_flight(),
            limit_decreases: l.decreases(),
            limit_increases: l.increases(),
            requests: self.shared.requests.load(Ordering::Relaxed),
            request_retries: self.shared.request_retries.load(Ordering::Relaxed),
            item_retries: self.shared.item_retries.load(Ordering::Relaxed),
            splits: self.shared.splits.load(Ordering::Relaxed),
        }
    }

    /// Indexes all ops; returns one `ItemResult` per op, in the same order.
    ///
    /// Only returns `Err` if the cluster stayed unreachable/overloaded past `max_retry_time`
    /// (or rejected the requests as a whole, e.g. 401/403); then nothing of this call may be
    /// assumed indexed. Dropping the future cancels the requests in flight.
    pub async fn index(&self, ops: Vec<BulkOp>) -> Result<Vec<ItemResult>, OpenSearchError> {
        let n = ops.len();
        let max = self.shared.cfg.max_request_bytes;
        let mut results: Vec<Option<ItemResult>> = vec![None; n];
        let mut pending: Vec<usize> = Vec::with_capacity(n);
        let mut sizes: Vec<usize> = Vec::with_capacity(n);
        for (i, op) in ops.iter().enumerate() {
            let size = op_size(op);
            sizes.push(size);
            if size > max {
                warn!(index = %op.index, id = %op.id, size, max_request_bytes = max, "document larger than max_request_bytes; not sent");
                results[i] = Some(ItemResult::Failed {
                    status: 413,
                    reason: format!(
                        "document needs {size} bytes in a bulk request (action and source lines), \
                         more than max_request_bytes = {max}; not sent"
                    ),
                });
            } else {
                pending.push(i);
            }
        }
        let mut queue: VecDeque<Chunk> = chunk_ops(&pending, &sizes, max)
            .into_iter()
            .map(|ops| Chunk {
                ops,
                attempt: 0,
                first_failure: None,
            })
            .collect();
        drop(pending);
        drop(sizes);

        let ops = Arc::new(ops);
        let mut tasks: JoinSet<TaskOutput> = JoinSet::new();
        let mut run = Run {
            shared: &self.shared,
            results: &mut results,
            queue: &mut queue,
            tasks: &mut tasks,
        };
        while !(run.queue.is_empty() && run.tasks.is_empty()) {
            let has_queue = !run.queue.is_empty();
            tokio::select! {
                permit = self.shared.limiter.acquire(), if has_queue => {
                    if let Some(chunk) = run.queue.pop_front() {
                        let shared = self.shared.clone();
                        let ops = ops.clone();
                        run.tasks.spawn(run_chunk(shared, ops, chunk, permit));
                    }
                }
                joined = run.tasks.join_next(), if !run.tasks.is_empty() => {
                    match joined {
                        Some(Ok(TaskOutput::Requeue(chunk))) => run.queue.push_front(chunk),
                        Some(Ok(TaskOutput::Done(chunk, outcome))) => run.handle(chunk, outcome)?,
                        Some(Err(e)) => {
                            return Err(OpenSearchError::Internal(format!("bulk worker task failed: {e}")))
                        }
                        None => {}
                    }
                }
            }
        }

        let mut out = Vec::with_capacity(n);
        for (i, r) in results.into_iter().enumerate() {
            match r {
                Some(r) => out.push(r),
                None => {
                    return Err(OpenSearchError::Internal(format!(
                        "bulk operation {i} ended without a result"
                    )))
                }
            }
        }
        Ok(out)
    }
}

/// A set of operations (indices into the caller's ops) sent as one `_bulk` request.
#[derive(Debug)]
struct Chunk {
    ops: Vec<usize>,
    /// Attempts already made for these operations.
    attempt: u32,
    /// When these operations first failed retryably: `max_retry_time` counts from here.
    first_failure: Option<Instant>,
}

enum TaskOutput {
    /// A backoff delay is over: send the chunk again.
    Requeue(Chunk),
    /// A request was made; what became of it.
    Done(Chunk, ChunkOutcome),
}

/// The state of one `index` call.
struct Run<'a> {
    shared: &'a Arc<Shared>,
    results: &'a mut Vec<Option<ItemResult>>,
    queue: &'a mut VecDeque<Chunk>,
    tasks: &'a mut JoinSet<TaskOutput>,
}

impl Run<'_> {
    fn handle(&mut self, chunk: Chunk, outcome: ChunkOutcome) -> Result<(), OpenSearchError> {
        match outcome {
            ChunkOutcome::Items(classes) => {
                let mut retry = Vec::new();
                let mut reasons: BTreeMap<u16, (usize, String)> = BTreeMap::new();
                for (&i, class) in chunk.ops.iter().zip(classes) {
                    let result = match class {
                        ItemClass::Indexed => ItemResult::Indexed,
                        ItemClass::Failed { status, reason } => {
                            ItemResult::Failed { status, reason }
                        }
                        ItemClass::Retry { status, reason }
                            if status == 500 && chunk.attempt + 1 >= MAX_ATTEMPTS_500 =>
                        {
                            ItemResult::Failed {
                                status,
                                reason: format!(
                                    "{reason} (still failing after {} attempts)",
                                    chunk.attempt + 1
                                ),
                            }
                        }
                        ItemClass::Retry { status, reason } => {
                            let e = reasons.entry(status).or_insert((0, reason));
                            e.0 += 1;
                            retry.push(i);
                            continue;
                        }
                    };
                    if let ItemResult::Failed { status, reason } = &result {
                        debug!(status, reason = %truncate(reason), "bulk item failed permanently");
                    }
                    if let Some(slot) = self.results.get_mut(i) {
                        *slot = Some(result);
                    }
                }
                if !retry.is_empty() {
                    let summary = reasons
                        .iter()
                        .map(|(status, (count, reason))| {
                            format!("{count}x {status} {}", truncate(reason))
                        })
                        .collect::<Vec<_>>()
                        .join("; ");
                    self.shared
                        .item_retries
                        .fetch_add(retry.len() as u64, Ordering::Relaxed);
                    self.schedule_retry(
                        Chunk {
                            ops: retry,
                            attempt: chunk.attempt + 1,
                            first_failure: chunk.first_failure,
                        },
                        "items",
                        summary,
                    )?;
                }
                Ok(())
            }
            ChunkOutcome::RequestRetry(reason) => {
                self.shared.request_retries.fetch_add(1, Ordering::Relaxed);
                self.schedule_retry(
                    Chunk {
                        attempt: chunk.attempt + 1,
                        ..chunk
                    },
                    "request",
                    reason,
                )
            }
            ChunkOutcome::TooLarge { bytes } => {
                let max = self.shared.cfg.max_request_bytes;
                warn!(
                    request_bytes = bytes,
                    max_request_bytes = max,
                    ops = chunk.ops.len(),
                    "the cluster rejected a bulk request with HTTP 413 (http.max_content_length): \
                     max_request_bytes is too high for this cluster; splitting the request"
                );
                self.split_or_fail(chunk, 413, || {
                    format!(
                        "a bulk request of {bytes} bytes holding only this document was rejected \
                         with HTTP 413 (the cluster's http.max_content_length is smaller; \
                         max_request_bytes = {max})"
                    )
                })
            }
            ChunkOutcome::BadRequest(reason) => {
                warn!(ops = chunk.ops.len(), reason = %truncate(&reason), "the cluster rejected a whole bulk request with HTTP 400; bisecting to find the operation at fault");
                self.split_or_fail(chunk, 400, || reason.clone())
            }
            ChunkOutcome::Fatal(e) => Err(e),
        }
    }

    /// Splits a chunk in two halves sent first, or fails its single op with `status`.
    fn split_or_fail(
        &mut self,
        chunk: Chunk,
        status: u16,
        reason: impl FnOnce() -> String,
    ) -> Result<(), OpenSearchError> {
        if chunk.ops.len() <= 1 {
            if let Some(slot) = chunk.ops.first().and_then(|&i| self.results.get_mut(i)) {
                *slot = Some(ItemResult::Failed {
                    status,
                    reason: reason(),
                });
            }
            return Ok(());
        }
        self.shared.splits.fetch_add(1, Ordering::Relaxed);
        let mut first = chunk.ops;
        let second = first.split_off(first.len() / 2);
        self.queue.push_front(Chunk {
            ops: second,
            attempt: chunk.attempt,
            first_failure: chunk.first_failure,
        });
        self.queue.push_front(Chunk {
            ops: first,
            attempt: chunk.attempt,
            first_failure: chunk.first_failure,
        });
        Ok(())
    }

    /// Sends the chunk again after an exponential backoff with full jitter, or gives up with
    /// `RetryTimeExceeded` once its operations have been failing for `max_retry_time`.
    fn schedule_retry(
        &mut self,
        mut chunk: Chunk,
        what: &'static str,
        reason: String,
    ) -> Result<(), OpenSearchError> {
        let cfg = &self.shared.cfg;
        let now = Instant::now();
        let first = *chunk.first_failure.get_or_insert(now);
        let deadline = first + cfg.max_retry_time;
        if now >= deadline {
            let pending = self.results.iter().filter(|r| r.is_none()).count();
            warn!(
                ops = chunk.ops.len(),
                attempts = chunk.attempt,
                pending,
                reason = %truncate(&reason),
                "giving up bulk retries: max_retry_time exceeded"
            );
            return Err(OpenSearchError::RetryTimeExceeded {
                pending,
                elapsed: now.duration_since(first),
                last_reason: reason,
            });
        }
        let delay = full_jitter(
            cfg.initial_backoff,
            cfg.max_backoff,
            chunk.attempt,
            &mut rand::rng(),
        )
        .min(deadline - now);
        warn!(
            what,
            ops = chunk.ops.len(),
            attempt = chunk.attempt,
            delay_ms = delay.as_millis() as u64,
            reason = %truncate(&reason),
            "retrying bulk operations"
        );
        self.tasks.spawn(async move {
            tokio::time::sleep(delay).await;
            TaskOutput::Requeue(chunk)
        });
        Ok(())
    }
}

/// Sends one chunk (holding one concurrency permit) and classifies the answer.
async fn run_chunk(
    shared: Arc<Shared>,
    ops: Arc<Vec<BulkOp>>,
    chunk: Chunk,
    mut permit: Permit,
) -> TaskOutput {
    let mut body = Vec::with_capacity(
        chunk
            .ops
            .iter()
            .filter_map(|&i| ops.get(i))
            .map(op_size)
            .sum(),
    );
    for &i in &chunk.ops {
        if let Some(op) = ops.get(i) {
            write_op(&mut body, op);
        }
    }
    let bytes = body.len();
    shared.requests.fetch_add(1, Ordering::Relaxed);
    let started = Instant::now();
    let res = shared
        .client
        .send(Method::POST, BULK_PATH, Some(Body::ndjson(body)))
        .await;
    let latency = started.elapsed();
    let outcome = match res {
        Err(e @ (OpenSearchError::Transport { .. } | OpenSearchError::Signing(_))) => {
            permit.outcome = if e.is_timeout() {
                LoadSignal::Overload
            } else {
                LoadSignal::Neutral
            };
            ChunkOutcome::RequestRetry(e.to_string())
        }
        Err(e) => ChunkOutcome::Fatal(e),
        Ok(resp) => classify(&resp, chunk.ops.len(), bytes, latency, &mut permit),
    };
    drop(permit);
    TaskOutput::Done(chunk, outcome)
}

/// Delay before retry number `attempt` (1-based): uniform in `0..min(max, initial * 2^(attempt-1))`.
fn full_jitter(initial: Duration, max: Duration, attempt: u32, rng: &mut impl Rng) -> Duration {
    let exp = attempt.saturating_sub(1).min(30);
    let cap = initial.saturating_mul(1u32 << exp).min(max);
    let cap_ms = cap.as_millis() as u64;
    if cap_ms == 0 {
        return Duration::ZERO;
    }
    Duration::from_millis(rng.random_range(0..=cap_ms))
}

fn truncate(s: &str) -> &str {
    if s.len() <= LOG_REASON_MAX {
        return s;
    }
    let mut end = LOG_REASON_MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_under_the_doubling_cap() {
        let mut rng = rand::rng();
        let init = Duration::from_millis(200);
        let max = Duration::from_secs(30);
        for attempt in 1..40 {
            let cap = init.saturating_mul(1u32 << (attempt - 1).min(30)).min(max);
            for _ in 0..50 {
                assert!(full_jitter(init, max, attempt, &mut rng) <= cap);
            }
        }
    }
}
