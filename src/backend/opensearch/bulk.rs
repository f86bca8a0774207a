//! Bulk indexer: byte-sized `_bulk` requests, adaptive concurrency (AIMD) and item-level retries.
//!
//! Every operation ends as `Indexed` or `Failed` (a permanent, per-document failure for the
//! dead-letter queue), or the whole call returns `Err` when the cluster stayed unreachable or
//! overloaded for longer than `max_retry_time`. Only the failed items of a bulk answer are
//! retried, never the ones already indexed.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::Rng;
use reqwest::Method;
use serde::Deserialize;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use super::client::{describe_error, Body, Client, OpenSearchError, Response};

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

    /// How many times the concurrency limit was lowered (backoff events), for metrics and tests.
    pub fn backoff_events(&self) -> u64 {
        self.shared.limiter.lock().decreases()
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

enum ChunkOutcome {
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

enum ItemClass {
    Indexed,
    Retry { status: u16, reason: String },
    Failed { status: u16, reason: String },
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
                Outcome::Overload
            } else {
                Outcome::Neutral
            };
            ChunkOutcome::RequestRetry(e.to_string())
        }
        Err(e) => ChunkOutcome::Fatal(e),
        Ok(resp) => classify(&resp, chunk.ops.len(), bytes, latency, &mut permit),
    };
    drop(permit);
    TaskOutput::Done(chunk, outcome)
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

fn classify(
    resp: &Response,
    n_ops: usize,
    bytes: usize,
    latency: Duration,
    permit: &mut Permit,
) -> ChunkOutcome {
    match resp.status {
        200..=299 => {}
        429 => {
            permit.outcome = Outcome::Overload;
            return ChunkOutcome::RequestRetry(format!("HTTP 429: {}", resp.error_reason()));
        }
        413 => return ChunkOutcome::TooLarge { bytes },
        400 => return ChunkOutcome::BadRequest(resp.error_reason()),
        s @ (503 | 504) => {
            permit.outcome = Outcome::Overload;
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
        Outcome::Overload
    } else {
        Outcome::Success(latency)
    };
    ChunkOutcome::Items(classes)
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

/// Groups ops, in order, into requests of at most `max` bytes each.
fn chunk_ops(pending: &[usize], sizes: &[usize], max: usize) -> Vec<Vec<usize>> {
    let mut chunks = Vec::new();
    let mut cur = Vec::new();
    let mut cur_bytes = 0usize;
    for &i in pending {
        let size = sizes.get(i).copied().unwrap_or(0);
        if !cur.is_empty() && cur_bytes + size > max {
            chunks.push(std::mem::take(&mut cur));
            cur_bytes = 0;
        }
        cur.push(i);
        cur_bytes += size;
    }
    if !cur.is_empty() {
        chunks.push(cur);
    }
    chunks
}

/// Exact bytes of an op in a bulk body: action line, source line, both newlines.
fn op_size(op: &BulkOp) -> usize {
    match op.delete {
        true => action_line(op).len(),
        false => action_line(op).len() + op.source.len() + 1,
    }
}

fn action_line(op: &BulkOp) -> Vec<u8> {
    let mut out = Vec::with_capacity(op.index.len() + op.id.len() + 80);
    match (op.delete, op.condition) {
        (true, _) => out.extend_from_slice(br#"{"delete":{"_index":"#),
        (false, Some(WriteCondition::Absent)) => out.extend_from_slice(br#"{"create":{"_index":"#),
        (false, _) => out.extend_from_slice(br#"{"index":{"_index":"#),
    }
    push_json_str(&mut out, &op.index);
    out.extend_from_slice(br#","_id":"#);
    push_json_str(&mut out, &op.id);
    if let Some(WriteCondition::Unchanged {
        seq_no,
        primary_term,
    }) = op.condition
    {
        out.extend_from_slice(
            format!(r#","if_seq_no":{seq_no},"if_primary_term":{primary_term}"#).as_bytes(),
        );
    }
    out.extend_from_slice(b"}}\n");
    out
}

/// Appends the action and source lines of `op` to a bulk body.
fn write_op(out: &mut Vec<u8>, op: &BulkOp) {
    out.extend_from_slice(&action_line(op));
    if op.delete {
        return;
    }
    let start = out.len();
    out.extend_from_slice(&op.source);
    for b in &mut out[start..] {
        if *b == b'\n' || *b == b'\r' {
            *b = b' ';
        }
    }
    out.push(b'\n');
}

fn push_json_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &b in s.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 0xf) as usize]);
            }
            _ => out.push(b),
        }
    }
    out.push(b'"');
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

// ------------------------------------------------------------------------ adaptive concurrency

/// An `AdaptiveLimit` behind a mutex, with a `Notify` to wake the callers waiting for a slot.
struct Limiter {
    state: Mutex<AdaptiveLimit>,
    notify: Notify,
}

impl Limiter {
    fn lock(&self) -> MutexGuard<'_, AdaptiveLimit> {
        crate::lock(&self.state)
    }

    /// Waits for a free slot under the current limit. Cancel-safe: a slot is only taken by the
    /// poll that returns it.
    async fn acquire(self: &Arc<Self>) -> Permit {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(ticket) = self.lock().try_acquire() {
                return Permit {
                    limiter: self.clone(),
                    ticket,
                    outcome: Outcome::Neutral,
                };
            }
            notified.await;
        }
    }
}

/// One slot of the limit; released (with its outcome) when dropped, also on cancellation.
struct Permit {
    limiter: Arc<Limiter>,
    ticket: Ticket,
    outcome: Outcome,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let decision = self.limiter.lock().release(self.ticket, self.outcome);
        match decision {
            Decision::Unchanged => {}
            Decision::Increased { limit } => debug!(limit, "bulk concurrency limit raised"),
            Decision::Decreased { limit, reason } => {
                info!(limit, ?reason, "bulk concurrency limit lowered")
            }
        }
        self.limiter.notify.notify_waiters();
    }
}

/// Latency above this multiple of the baseline lowers the limit.
const LATENCY_DECREASE_RATIO: f64 = 2.0;
/// Latency up to this multiple of the baseline allows raising the limit.
const LATENCY_INCREASE_RATIO: f64 = 1.5;
/// Latency differences below this (seconds) are noise, never a reason to lower the limit.
const LATENCY_SLACK_SECS: f64 = 0.05;
/// Weight of a new window in the latency baseline (EWMA).
const BASELINE_ALPHA: f64 = 0.2;
/// Fewest successful requests in a window.
const MIN_WINDOW: usize = 3;

/// AIMD concurrency limit (like Vector's adaptive request concurrency), as a pure state machine
/// so its decisions can be unit tested: +1 after a window of fast successful requests that used
/// the whole limit, ×0.5 (at least 1) on overload (429) or when latency rises well above the
/// baseline.
#[derive(Debug, Clone)]
pub struct AdaptiveLimit {
    limit: usize,
    max: usize,
    in_flight: usize,
    /// Bumped on every decrease: outcomes of requests started before it are not acted on
    /// again (one burst of 429s halves the limit once, not once per request).
    epoch: u64,
    /// EWMA of the windows' mean latency, in seconds.
    baseline: Option<f64>,
    win_count: usize,
    win_sum: f64,
    win_saturated: bool,
    decreases: u64,
    increases: u64,
}

/// Handed out with a slot; given back with the request's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    epoch: u64,
    /// The limit was fully used when this slot was taken.
    saturated: bool,
}

/// What a request says about the cluster's load.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    /// Answered (items processed without 429) in this time.
    Success(Duration),
    /// 429 (request or item), 503/504 or a timeout: the cluster is overloaded.
    Overload,
    /// Says nothing about load (400s, connection refused, ...).
    Neutral,
}

/// Why the limit was lowered, for logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecreaseReason {
    /// A 429 or similar overload signal.
    Overload,
    /// Mean latency of a window rose above `LATENCY_DECREASE_RATIO` × baseline.
    Latency,
}

/// A change of the limit made by `AdaptiveLimit::release`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// No change.
    Unchanged,
    /// Raised by one to `limit`.
    Increased {
        /// The new limit.
        limit: usize,
    },
    /// Halved to `limit`.
    Decreased {
        /// The new limit.
        limit: usize,
        /// Why.
        reason: DecreaseReason,
    },
}

impl AdaptiveLimit {
    /// A limit starting at `initial` (clamped to 1..=max) that never exceeds `max`.
    pub fn new(initial: usize, max: usize) -> Self {
        let max = max.max(1);
        AdaptiveLimit {
            limit: initial.clamp(1, max),
            max,
            in_flight: 0,
            epoch: 0,
            baseline: None,
            win_count: 0,
            win_sum: 0.0,
            win_saturated: false,
            decreases: 0,
            increases: 0,
        }
    }

    /// Current limit.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Slots in use.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Times the limit went down.
    pub fn decreases(&self) -> u64 {
        self.decreases
    }

    /// Times the limit went up.
    pub fn increases(&self) -> u64 {
        self.increases
    }

    /// Takes a slot if one is free under the limit.
    pub fn try_acquire(&mut self) -> Option<Ticket> {
        if self.in_flight >= self.limit {
            self.win_saturated = true;
            return None;
        }
        self.in_flight += 1;
        Some(Ticket {
            epoch: self.epoch,
            saturated: self.in_flight >= self.limit,
        })
    }

    /// Gives a slot back with what its request showed, and adapts the limit.
    pub fn release(&mut self, ticket: Ticket, outcome: Outcome) -> Decision {
        self.in_flight = self.in_flight.saturating_sub(1);
        if ticket.epoch != self.epoch {
            // started before the last decrease: already reacted to
            return Decision::Unchanged;
        }
        match outcome {
            Outcome::Neutral => Decision::Unchanged,
            Outcome::Overload => self.decrease(DecreaseReason::Overload),
            Outcome::Success(latency) => {
                self.win_count += 1;
                self.win_sum += latency.as_secs_f64();
                self.win_saturated |= ticket.saturated;
                if self.win_count < self.limit.max(MIN_WINDOW) {
                    return Decision::Unchanged;
                }
                let mean = self.win_sum / self.win_count as f64;
                let saturated = self.win_saturated;
                self.reset_window();
                let decision = match self.baseline {
                    Some(b)
                        if mean > b * LATENCY_DECREASE_RATIO && mean > b + LATENCY_SLACK_SECS =>
                    {
                        self.decrease(DecreaseReason::Latency)
                    }
                    Some(b) if mean > (b * LATENCY_INCREASE_RATIO).max(b + LATENCY_SLACK_SECS) => {
                        Decision::Unchanged
                    }
                    _ if saturated && self.limit < self.max => {
                        self.limit += 1;
                        self.increases += 1;
                        Decision::Increased { limit: self.limit }
                    }
                    _ => Decision::Unchanged,
                };
                self.baseline = Some(match self.baseline {
                    None => mean,
                    Some(b) => b + BASELINE_ALPHA * (mean - b),
                });
                decision
            }
        }
    }

    fn decrease(&mut self, reason: DecreaseReason) -> Decision {
        self.epoch += 1;
        self.reset_window();
        let new = (self.limit / 2).max(1);
        if new == self.limit {
            return Decision::Unchanged;
        }
        self.limit = new;
        self.decreases += 1;
        Decision::Decreased { limit: new, reason }
    }

    fn reset_window(&mut self) {
        self.win_count = 0;
        self.win_sum = 0.0;
        self.win_saturated = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: Duration = Duration::from_millis(20);

    fn run_window(l: &mut AdaptiveLimit, latency: Duration) -> Vec<Decision> {
        // fill the limit (saturated), then release all
        let tickets: Vec<Ticket> = std::iter::from_fn(|| l.try_acquire()).collect();
        tickets
            .into_iter()
            .map(|t| l.release(t, Outcome::Success(latency)))
            .collect()
    }

    fn run_until_decision(l: &mut AdaptiveLimit, latency: Duration) -> Decision {
        for _ in 0..10 {
            if let Some(d) = run_window(l, latency)
                .into_iter()
                .find(|d| *d != Decision::Unchanged)
            {
                return d;
            }
        }
        Decision::Unchanged
    }

    #[test]
    fn starts_clamped_and_respects_the_limit() {
        assert_eq!(AdaptiveLimit::new(0, 8).limit(), 1);
        assert_eq!(AdaptiveLimit::new(20, 8).limit(), 8);
        assert_eq!(AdaptiveLimit::new(3, 0).limit(), 1);
        let mut l = AdaptiveLimit::new(2, 8);
        assert!(l.try_acquire().is_some());
        assert!(l.try_acquire().is_some());
        assert!(l.try_acquire().is_none());
        assert_eq!(l.in_flight(), 2);
    }

    #[test]
    fn fast_saturated_windows_raise_the_limit_by_one_up_to_max() {
        let mut l = AdaptiveLimit::new(1, 4);
        assert_eq!(
            run_until_decision(&mut l, FAST),
            Decision::Increased { limit: 2 }
        );
        assert_eq!(
            run_until_decision(&mut l, FAST),
            Decision::Increased { limit: 3 }
        );
        assert_eq!(
            run_until_decision(&mut l, FAST),
            Decision::Increased { limit: 4 }
        );
        assert_eq!(run_until_decision(&mut l, FAST), Decision::Unchanged);
        assert_eq!(l.limit(), 4);
        assert_eq!(l.increases(), 3);
    }

    #[test]
    fn unsaturated_use_does_not_raise_the_limit() {
        let mut l = AdaptiveLimit::new(4, 8);
        for _ in 0..20 {
            let t = l.try_acquire().unwrap();
            assert_eq!(l.release(t, Outcome::Success(FAST)), Decision::Unchanged);
        }
        assert_eq!(l.limit(), 4);
    }

    #[test]
    fn overload_halves_once_per_burst_and_never_below_one() {
        let mut l = AdaptiveLimit::new(8, 8);
        let tickets: Vec<Ticket> = std::iter::from_fn(|| l.try_acquire()).collect();
        assert_eq!(tickets.len(), 8);
        let decisions: Vec<Decision> = tickets
            .into_iter()
            .map(|t| l.release(t, Outcome::Overload))
            .collect();
        // the 8 requests of one burst halve the limit once
        assert_eq!(
            decisions[0],
            Decision::Decreased {
                limit: 4,
                reason: DecreaseReason::Overload
            }
        );
        assert!(decisions[1..].iter().all(|d| *d == Decision::Unchanged));
        assert_eq!(l.limit(), 4);
        for expected in [2, 1] {
            let t = l.try_acquire().unwrap();
            assert_eq!(
                l.release(t, Outcome::Overload),
                Decision::Decreased {
                    limit: expected,
                    reason: DecreaseReason::Overload
                }
            );
        }
        let t = l.try_acquire().unwrap();
        assert_eq!(l.release(t, Outcome::Overload), Decision::Unchanged);
        assert_eq!(l.limit(), 1);
        assert_eq!(l.decreases(), 3);
        assert_eq!(l.in_flight(), 0);
    }

    #[test]
    fn latency_well_above_baseline_halves_the_limit() {
        let mut l = AdaptiveLimit::new(4, 4);
        // establish the baseline at 20 ms
        for _ in 0..3 {
            run_window(&mut l, FAST);
        }
        assert_eq!(l.limit(), 4);
        let d = run_until_decision(&mut l, Duration::from_millis(400));
        assert_eq!(
            d,
            Decision::Decreased {
                limit: 2,
                reason: DecreaseReason::Latency
            }
        );
    }

    #[test]
    fn moderate_latency_rise_holds_the_limit() {
        let mut l = AdaptiveLimit::new(2, 8);
        for _ in 0..3 {
            run_window(&mut l, Duration::from_millis(200));
        }
        let before = l.limit();
        // 1.8x the baseline: neither raise nor lower
        let ds = run_window(&mut l, Duration::from_millis(360));
        assert!(ds.iter().all(|d| *d == Decision::Unchanged), "{ds:?}");
        assert_eq!(l.limit(), before);
    }

    #[test]
    fn neutral_outcomes_change_nothing() {
        let mut l = AdaptiveLimit::new(2, 8);
        for _ in 0..10 {
            let t = l.try_acquire().unwrap();
            assert_eq!(l.release(t, Outcome::Neutral), Decision::Unchanged);
        }
        assert_eq!(l.limit(), 2);
    }

    #[test]
    fn conditional_writes_say_create_or_carry_the_expected_version() {
        let mut op = BulkOp {
            index: "idx".into(),
            id: "d1".into(),
            source: Bytes::from_static(b"{}"),
            condition: Some(WriteCondition::Absent),
            delete: false,
        };
        let line: serde_json::Value = serde_json::from_slice(&action_line(&op)).unwrap();
        assert_eq!(
            line,
            serde_json::json!({"create": {"_index": "idx", "_id": "d1"}})
        );
        op.condition = Some(WriteCondition::Unchanged {
            seq_no: 7,
            primary_term: 2,
        });
        let line: serde_json::Value = serde_json::from_slice(&action_line(&op)).unwrap();
        assert_eq!(
            line,
            serde_json::json!({"index": {"_index": "idx", "_id": "d1", "if_seq_no": 7, "if_primary_term": 2}})
        );
    }

    #[test]
    fn deletes_are_one_action_line() {
        let op = BulkOp {
            index: "idx".into(),
            id: "d1".into(),
            source: Bytes::new(),
            condition: None,
            delete: true,
        };
        let mut body = Vec::new();
        write_op(&mut body, &op);
        assert_eq!(op_size(&op), body.len());
        let text = String::from_utf8(body).unwrap();
        assert_eq!(text.lines().count(), 1, "{text:?}");
        let action: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(
            action,
            serde_json::json!({"delete": {"_index": "idx", "_id": "d1"}})
        );
    }

    #[test]
    fn body_lines_are_exact_and_escaped() {
        let op = BulkOp {
            index: "idx".into(),
            id: "a\"b\\c\nd\u{1}é".into(),
            source: Bytes::from_static(b"{\"t\":\n1}\r\n"),
            condition: None,
            delete: false,
        };
        let mut body = Vec::new();
        write_op(&mut body, &op);
        assert_eq!(op_size(&op), body.len());
        let text = String::from_utf8(body).unwrap();
        let lines: Vec<&str> = text.split_terminator('\n').collect();
        assert_eq!(lines.len(), 2, "{text:?}");
        let action: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(action["index"]["_id"], "a\"b\\c\nd\u{1}é");
        let source: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(source["t"], 1);
    }

    #[test]
    fn chunks_never_exceed_the_byte_limit() {
        let sizes = vec![40, 40, 30, 100, 1, 60, 60];
        let pending: Vec<usize> = (0..sizes.len()).collect();
        let chunks = chunk_ops(&pending, &sizes, 100);
        assert_eq!(
            chunks,
            vec![vec![0, 1], vec![2], vec![3], vec![4, 5], vec![6]]
        );
        for c in &chunks {
            assert!(c.iter().map(|&i| sizes[i]).sum::<usize>() <= 100);
        }
    }

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
