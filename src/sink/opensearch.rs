//! The OpenSearch sink: groups prepared chunks into bulk batches (by bytes, or when the oldest
//! has waited `flush_interval`), indexes each batch through the adaptive [`BulkIndexer`], sends
//! the documents the cluster refused for good to the dead-letter queue with its reason, and only
//! then acknowledges the chunks.
//!
//! Backpressure: at most `max_outstanding` batches are in flight; while they are, this sink stops
//! reading its input, the pipeline's bounded queues fill, and admission makes sources wait (or
//! the HTTP API answer 429). A batch the cluster would not take within the indexer's retry time
//! is not acknowledged: its sources see an error and keep the records (HTTP 503, files report
//! them, streams do not commit their offsets).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use super::acknowledge;
use crate::backend::opensearch::bulk::{BulkIndexer, BulkOp, ItemResult};
use crate::backend::opensearch::document;
use crate::batch::{Drain, Outcome, PipelineError, Prepared};
use crate::dlq::DeadLetterQueue;
use crate::metrics as m;
use crate::record::Rejection;

/// Reason label of a document the cluster refused (mapping conflict, malformed value, ...).
pub const REASON_BACKEND_REJECTED: &str = "backend_rejected";

/// What the OpenSearch sink needs; built by the service from the configuration.
pub struct OpenSearchSink {
    indexer: BulkIndexer,
    write_alias: String,
    /// Where deletes are sent as well (`<name>-deletes`): while a reindex job runs, the
    /// version the write alias does not point at, so a deleted document is not copied back.
    deletes_alias: Option<String>,
    batch_bytes: usize,
    flush_interval: Duration,
    max_outstanding: usize,
}

impl OpenSearchSink {
    /// `batch_bytes` is the bulk request size target; `max_outstanding` bounds the batches in
    /// flight (and so the memory held beyond the pipeline's own queues).
    pub fn new(
        indexer: BulkIndexer,
        write_alias: String,
        batch_bytes: usize,
        flush_interval: Duration,
        max_outstanding: usize,
    ) -> Self {
        OpenSearchSink {
            indexer,
            write_alias,
            deletes_alias: None,
            batch_bytes,
            flush_interval,
            max_outstanding: max_outstanding.max(1),
        }
    }

    /// Sends every delete to `alias` too (a missing alias, outside reindex jobs, answers 404,
    /// which counts as done).
    pub fn mirror_deletes_to(mut self, alias: String) -> Self {
        self.deletes_alias = Some(alias);
        self
    }

    /// Runs on the pipeline's sink thread, with its own small async runtime for the HTTP calls.
    pub(crate) fn run(self, input: flume::Receiver<Prepared>, drain: Drain, dlq: DeadLetterQueue) {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(error) => {
                tracing::error!(%error, "cannot start the OpenSearch sink's runtime");
                while let Ok(prepared) = input.recv() {
                    let _ = prepared
                        .reply
                        .send(Err(PipelineError::Backend(error.to_string())));
                }
                return;
            }
        };
        runtime.block_on(self.run_async(input, drain, dlq));
    }

    async fn run_async(
        self,
        input: flume::Receiver<Prepared>,
        mut drain: Drain,
        dlq: DeadLetterQueue,
    ) {
        let dlq = Arc::new(Mutex::new(dlq));
        let mut in_flight = InFlight::default();
        let mut batch = Batch::default();
        loop {
            let deadline = batch.deadline;
            let event = tokio::select! {
                received = input.recv_async() => Event::Input(received),
                _ = drain.requests().recv_async() => Event::DrainRequested,
                _ = sleep_until(deadline) => Event::Deadline,
            };
            match event {
                Event::Input(Ok(prepared)) => {
                    batch.add(prepared, &self.write_alias, self.deletes_alias.as_deref());
                    batch
                        .deadline
                        .get_or_insert(Instant::now() + self.flush_interval);
                    if batch.bytes >= self.batch_bytes {
                        self.flush(&mut batch, &mut in_flight, &dlq).await;
                    }
                }
                Event::Input(Err(_disconnected)) => break,
                Event::DrainRequested => drain.requested(),
                Event::Deadline => self.flush(&mut batch, &mut in_flight, &dlq).await,
            }
            in_flight.reap();
            if drain.due(batch.records + in_flight.records) {
                self.flush(&mut batch, &mut in_flight, &dlq).await;
                drain.done();
            }
        }
        self.flush(&mut batch, &mut in_flight, &dlq).await;
        while in_flight.tasks.join_next().await.is_some() {}
        let stats = self.indexer.stats();
        tracing::info!(
            requests = stats.requests,
            request_retries = stats.request_retries,
            item_retries = stats.item_retries,
            backoffs = stats.limit_decreases,
            concurrency = stats.limit,
            "OpenSearch sink stopped"
        );
    }

    /// Sends the batch off, waiting first while `max_outstanding` batches are in flight, or while
    /// one in flight holds a document of the same id: two writes of one id (an update, a delete)
    /// must not race in concurrent bulk calls, whose retries could land the older one last.
    async fn flush(
        &self,
        batch: &mut Batch,
        in_flight: &mut InFlight,
        dlq: &Arc<Mutex<DeadLetterQueue>>,
    ) {
        let batch = std::mem::take(batch);
        if batch.chunks.is_empty() {
            return;
        }
        let ids: HashSet<String> = batch.ops.iter().map(|op| op.id.clone()).collect();
        while in_flight.tasks.len() >= self.max_outstanding || in_flight.overlaps(&ids) {
            match in_flight.tasks.join_next_with_id().await {
                Some(Ok((task, ()))) => in_flight.finished(task),
                Some(Err(error)) => in_flight.finished(error.id()),
                None => break,
            }
        }
        let records = batch.records;
        in_flight.records += records;
        let (indexer, dlq) = (self.indexer.clone(), dlq.clone());
        let task = in_flight
            .tasks
            .spawn(async move { index_batch(indexer, batch, dlq).await });
        in_flight.batches.insert(task.id(), (records, ids));
    }
}

/// What woke the sink.
enum Event {
    Input(Result<Prepared, flume::RecvError>),
    DrainRequested,
    Deadline,
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Bulk calls under way, with the records and document ids each one holds.
#[derive(Default)]
struct InFlight {
    tasks: JoinSet<()>,
    batches: HashMap<tokio::task::Id, (usize, HashSet<String>)>,
    /// Records of the calls not yet reaped.
    records: usize,
}

impl InFlight {
    /// Forgets the calls that have finished.
    fn reap(&mut self) {
        while let Some(done) = self.tasks.try_join_next_with_id() {
            match done {
                Ok((task, ())) => self.finished(task),
                Err(error) => self.finished(error.id()),
            }
        }
    }

    fn finished(&mut self, task: tokio::task::Id) {
        if let Some((records, _)) = self.batches.remove(&task) {
            self.records -= records;
        }
    }

    /// Whether a call under way holds one of `ids`.
    fn overlaps(&self, ids: &HashSet<String>) -> bool {
        self.batches
            .values()
            .any(|(_, held)| held.iter().any(|id| ids.contains(id)))
    }
}

/// Chunks waiting to go out as one bulk call.
#[derive(Default)]
struct Batch {
    chunks: Vec<Prepared>,
    ops: Vec<BulkOp>,
    bytes: usize,
    /// Records in `chunks`, documents and rejections.
    records: usize,
    /// Bulk operations per delete: 2 when deletes are mirrored to the deletes alias.
    ops_per_delete: usize,
    deadline: Option<Instant>,
}

impl Batch {
    fn add(&mut self, prepared: Prepared, write_alias: &str, deletes_alias: Option<&str>) {
        let now = crate::dlq::now_rfc3339();
        for doc in &prepared.docs {
            let source = document::to_source(doc, &now);
            self.bytes += source.len() + doc.record.id.len() + write_alias.len() + 40;
            self.ops.push(BulkOp {
                index: write_alias.to_string(),
                id: doc.record.id.clone(),
                source: source.into(),
                condition: None,
                delete: false,
            });
        }
        let targets: Vec<&str> = std::iter::once(write_alias).chain(deletes_alias).collect();
        self.ops_per_delete = targets.len();
        for id in &prepared.deletes {
            for target in &targets {
                self.bytes += id.len() + target.len() + 40;
                self.ops.push(BulkOp {
                    index: target.to_string(),
                    id: id.clone(),
                    source: Default::default(),
                    condition: None,
                    delete: true,
                });
            }
        }
        self.records += prepared.docs.len() + prepared.deletes.len() + prepared.rejected.len();
        self.chunks.push(prepared);
    }
}

/// Publishes the indexer's counters (absolute values: the indexer keeps the totals).
fn record_stats(indexer: &BulkIndexer, took: Duration) {
    let stats = indexer.stats();
    metrics::histogram!(m::BULK_BATCH_SECONDS).record(took.as_secs_f64());
    metrics::gauge!(m::BULK_CONCURRENCY).set(stats.limit as f64);
    metrics::counter!(m::BULK_REQUESTS).absolute(stats.requests);
    metrics::counter!(m::BULK_REQUEST_RETRIES).absolute(stats.request_retries);
    metrics::counter!(m::BULK_ITEM_RETRIES).absolute(stats.item_retries);
    metrics::counter!(m::BULK_BACKOFFS).absolute(stats.limit_decreases);
}

/// Indexes one batch, dead-letters what the cluster refused, then acknowledges every chunk.
async fn index_batch(indexer: BulkIndexer, batch: Batch, dlq: Arc<Mutex<DeadLetterQueue>>) {
    let started = std::time::Instant::now();
    let results = indexer.index(batch.ops).await;
    record_stats(&indexer, started.elapsed());
    let results = match results {
        Ok(results) => results,
        Err(error) => {
            tracing::error!(%error, chunks = batch.chunks.len(), "bulk indexing failed; the records are not acknowledged");
            for prepared in batch.chunks {
                let _ = prepared
                    .reply
                    .send(Err(PipelineError::Backend(error.to_string())));
            }
            return;
        }
    };
    let mut results = results.into_iter();
    let mut outcomes = Vec::with_capacity(batch.chunks.len());
    let mut deleted = Vec::new();
    for prepared in batch.chunks {
        let mut outcome = Outcome::default();
        for (doc, position) in prepared.docs.iter().zip(&prepared.positions) {
            match results.next() {
                Some(ItemResult::Indexed) => {
                    outcome.indexed += 1;
                    *outcome.languages.entry(doc.lang.to_string()).or_insert(0) += 1;
                }
                Some(ItemResult::Failed { status, reason }) => {
                    outcome.rejected.push(Rejection {
                        position: position.clone(),
                        reason: REASON_BACKEND_REJECTED.to_string(),
                        message: format!(
                            "the cluster refused the document (HTTP {status}): {reason}"
                        ),
                        raw: serde_json::Value::Object(doc.record.source.clone()).to_string(),
                        truncated: false,
                    });
                }
                None => {
                    // The indexer returns one result per op; anything else is a bug, and the
                    // safe answer is to not acknowledge.
                    let _ = prepared.reply.send(Err(PipelineError::Backend(
                        "bulk indexer returned fewer results than documents".into(),
                    )));
                    return;
                }
            }
        }
        let mut refused = None;
        for id in &prepared.deletes {
            // Done only when every copy is (the live version and a reindex job's other one).
            let mut done = true;
            for _ in 0..batch.ops_per_delete {
                match results.next() {
                    Some(ItemResult::Indexed) => {}
                    Some(ItemResult::Failed { status, reason }) => {
                        done = false;
                        refused.get_or_insert(format!(
                            "the cluster refused to delete `{id}` (HTTP {status}): {reason}"
                        ));
                    }
                    None => {
                        done = false;
                        refused.get_or_insert(
                            "bulk indexer returned fewer results than deletes".into(),
                        );
                    }
                }
            }
            outcome.deleted += u64::from(done);
        }
        if let Some(message) = refused {
            // A delete the cluster refused is not done: the caller hears so and can retry.
            let _ = prepared.reply.send(Err(PipelineError::Backend(message)));
            continue;
        }
        outcome.rejected.extend(prepared.rejected);
        deleted.extend(prepared.deletes);
        outcomes.push((prepared.reply, outcome, prepared.permit));
    }
    let letters: Vec<Rejection> = outcomes
        .iter()
        .flat_map(|(_, outcome, _)| outcome.rejected.iter().cloned())
        .collect();
    let stored = if letters.is_empty() && deleted.is_empty() {
        Ok(())
    } else {
        let dlq = dlq.clone();
        tokio::task::spawn_blocking(move || {
            let mut dlq = crate::lock(&dlq);
            letters
                .iter()
                .try_for_each(|letter| dlq.push(letter))
                .and_then(|_| dlq.record_deletes(&deleted))
                .and_then(|_| dlq.sync())
                .map_err(|e| e.to_string())
        })
        .await
        .unwrap_or_else(|e| Err(e.to_string()))
    };
    for (reply, outcome, permit) in outcomes {
        match &stored {
            Ok(()) => acknowledge(reply, outcome),
            Err(error) => {
                let _ = reply.send(Err(PipelineError::Commit(error.clone())));
            }
        }
        drop(permit);
    }
}
