//! The pipeline: admission -> decode + detect + route (a pool of OS threads, never tokio workers)
//! -> sink (one thread per backend, see [`crate::sink`]) -> acknowledgement.
//!
//! Memory is bounded by a semaphore of in-flight records: a record holds its permit from
//! admission until its acknowledgement. Sources that can wait (files, streams) wait for permits;
//! the HTTP API does not, and answers 429 instead.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, Semaphore};

use crate::batch::{Admitted, CommitPolicy, Drain, Prepared, Reply};
pub use crate::batch::{Outcome, PipelineError};
use crate::decode::Decoder;
use crate::dlq::DeadLetterQueue;
use crate::metrics as m;
use crate::record::{RawRecord, Rejection};
use crate::route::Router;
use crate::sink::Sink;

/// Pipeline sizing, from [`crate::config::PipelineSettings`].
#[derive(Clone, Debug)]
pub struct PipelineOptions {
    pub max_in_flight_records: usize,
    pub chunk_records: usize,
    pub detect_threads: usize,
    pub commit_docs: usize,
    pub commit_interval: Duration,
    /// Holds new work back while the data directory's disk is nearly full.
    pub disk: Option<Arc<crate::disk::DiskGuard>>,
}

/// How long a waiting source sleeps between free-space checks.
const DISK_RECHECK: Duration = Duration::from_secs(5);

/// Whether a submission waits for room in the pipeline or fails fast.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    Wait,
    FailFast,
}

struct Work {
    records: Vec<RawRecord>,
    /// The chunk holds deletes (tombstones, delete markers), not writes.
    deletes: bool,
    reply: Reply,
    permit: Admitted,
}

/// Cheap to clone; what sources and the API use to feed the pipeline.
#[derive(Clone)]
pub struct PipelineHandle {
    input: flume::Sender<Work>,
    admission: Arc<Semaphore>,
    options: Arc<PipelineOptions>,
    drain: flume::Sender<()>,
}

/// A submission's acknowledgements, still to come.
pub struct Pending {
    receivers: Vec<oneshot::Receiver<Result<Outcome, PipelineError>>>,
}

impl Pending {
    /// Waits until every record of the submission is acknowledged.
    pub async fn outcome(self) -> Result<Outcome, PipelineError> {
        let mut total = Outcome::default();
        for receiver in self.receivers {
            total.merge(receiver.await.map_err(|_| PipelineError::Closed)??);
        }
        Ok(total)
    }
}

impl PipelineHandle {
    /// Refuses (fail-fast callers) or holds back (stream sources) new work while the disk is
    /// nearly full; the source keeps its position, so nothing is lost or skipped.
    async fn wait_for_disk(&self, admission: Admission) -> Result<(), PipelineError> {
        let Some(disk) = &self.options.disk else {
            return Ok(());
        };
        let mut warned = false;
        loop {
            let Err(message) = disk.admit() else {
                return Ok(());
            };
            metrics::counter!(m::DISK_REFUSALS).increment(1);
            match admission {
                Admission::FailFast => return Err(PipelineError::DiskFull(message)),
                Admission::Wait => {
                    if !warned {
                        tracing::warn!("{message}; the source waits");
                        warned = true;
                    }
                    tokio::time::sleep(DISK_RECHECK).await;
                }
            }
        }
    }

    /// Whether the data directory's disk is above its floor (`limits.min_free_disk_mb`), or why
    /// not; for readiness checks.
    pub fn disk_state(&self) -> Result<(), String> {
        self.options
            .disk
            .as_ref()
            .map_or(Ok(()), |disk| disk.admit())
    }

    /// Admits `records` and queues them; the returned [`Pending`] resolves at acknowledgement.
    pub async fn submit(
        &self,
        records: Vec<RawRecord>,
        admission: Admission,
    ) -> Result<Pending, PipelineError> {
        let limit = self.options.max_in_flight_records;
        if records.len() > limit {
            return Err(PipelineError::TooMany {
                records: records.len(),
                limit,
            });
        }
        let count = u32::try_from(records.len()).map_err(|_| PipelineError::TooMany {
            records: records.len(),
            limit,
        })?;
        self.wait_for_disk(admission).await?;
        m::counter_add(m::RECORDS_IN, records.len() as u64);
        let mut permit = match admission {
            Admission::Wait => self
                .admission
                .clone()
                .acquire_many_owned(count)
                .await
                .map_err(|_| PipelineError::Closed)?,
            Admission::FailFast => self
                .admission
                .clone()
                .try_acquire_many_owned(count)
                .map_err(|_| PipelineError::Busy { limit })?,
        };
        metrics::gauge!(m::IN_FLIGHT_RECORDS).increment(records.len() as f64);
        let mut receivers = Vec::new();
        let mut records = records.into_iter().map(|r| (is_delete(&r), r)).peekable();
        while records.peek().is_some() {
            // A chunk ends where writes turn into deletes or back.
            let mut chunk: Vec<RawRecord> = Vec::new();
            let mut kind = None;
            while let Some((deletes, next)) = records.next_if(|(deletes, _)| {
                chunk.len() < self.options.chunk_records && kind.is_none_or(|k| k == *deletes)
            }) {
                kind = Some(deletes);
                chunk.push(next);
            }
            let chunk_permit = permit.split(chunk.len()).ok_or(PipelineError::Closed)?;
            let (reply, receiver) = oneshot::channel();
            let work = Work {
                records: chunk,
                deletes: kind == Some(true),
                reply,
                permit: Admitted(chunk_permit),
            };
            self.input
                .send_async(work)
                .await
                .map_err(|_| PipelineError::Closed)?;
            receivers.push(receiver);
        }
        metrics::gauge!(m::QUEUE_DEPTH, "stage" => "detect").set(self.input.len() as f64);
        Ok(Pending { receivers })
    }

    /// Submits every record of a one-shot job (dead-letter replay, delete by query), a chunk at
    /// a time as room allows, and waits for all of them (see [`PipelineHandle::submit_in_order`]);
    /// `on_acked` hears each chunk's outcome (for progress bars).
    pub async fn submit_all(
        &self,
        records: Vec<RawRecord>,
        mut on_acked: impl FnMut(&Outcome) + Send + 'static,
    ) -> Result<Outcome, PipelineError> {
        let chunk = self.options.chunk_records.max(1);
        let (chunks_tx, chunks_rx) = tokio::sync::mpsc::channel(2);
        let feeder = tokio::spawn(async move {
            let mut records = records.into_iter().peekable();
            while records.peek().is_some() {
                let batch: Vec<RawRecord> = records.by_ref().take(chunk).collect();
                if chunks_tx.send((batch, ())).await.is_err() {
                    break;
                }
            }
        });
        let outcome = self
            .submit_in_order(chunks_rx, true, move |outcome, ()| {
                on_acked(outcome);
                Ok::<(), PipelineError>(())
            })
            .await;
        feeder.abort();
        outcome
    }

    /// Submit in order, then acknowledge in order: the loop every source shares. Submits each
    /// chunk `chunks` yields (waiting for room), and hands each chunk's outcome with its `tag`
    /// (a checkpoint, progress) to `on_ack` in submission order, on a task of its own so
    /// submitting never waits for a commit. Ends when `chunks` ends or a submission fails;
    /// `drain_at_end` asks the sink to write out at once when input ends (a one-shot job, the
    /// end of a file) instead of at its interval. Returns the merged outcome once every
    /// submitted chunk is acknowledged, or the first error: a submission's, else an
    /// acknowledgement's or `on_ack`'s.
    pub async fn submit_in_order<T, E>(
        &self,
        mut chunks: tokio::sync::mpsc::Receiver<(Vec<RawRecord>, T)>,
        drain_at_end: bool,
        mut on_ack: impl FnMut(&Outcome, T) -> Result<(), E> + Send + 'static,
    ) -> Result<Outcome, E>
    where
        T: Send + 'static,
        E: From<PipelineError> + Send + 'static,
    {
        let (pending_tx, mut pending_rx) = tokio::sync::mpsc::unbounded_channel::<(Pending, T)>();
        let mut acks = tokio::spawn(async move {
            let mut total = Outcome::default();
            while let Some((pending, tag)) = pending_rx.recv().await {
                let outcome = pending.outcome().await?;
                on_ack(&outcome, tag)?;
                total.merge(outcome);
            }
            Ok::<Outcome, E>(total)
        });
        let mut submit_error = None;
        // The acknowledgements end early only on an error: then stop at once, even while no
        // chunk comes (a quiet stream), so the caller hears of it and can start again from
        // what was acknowledged.
        let mut acks_ended = None;
        loop {
            let next = tokio::select! {
                ended = &mut acks => {
                    acks_ended = Some(ended);
                    break;
                }
                next = chunks.recv() => next,
            };
            let Some((records, tag)) = next else { break };
            match self.submit(records, Admission::Wait).await {
                Ok(pending) => {
                    if pending_tx.send((pending, tag)).is_err() {
                        break;
                    }
                }
                Err(error) => {
                    submit_error = Some(error);
                    break;
                }
            }
        }
        // The producer sees the end of the channel and stops reading.
        drop(chunks);
        if drain_at_end && submit_error.is_none() && acks_ended.is_none() {
            self.drain();
        }
        drop(pending_tx);
        let ended = match acks_ended {
            Some(ended) => ended,
            None => acks.await,
        };
        let acked = ended
            .map_err(|_| E::from(PipelineError::Closed))
            .and_then(|acked| acked);
        match submit_error {
            Some(error) => Err(error.into()),
            None => acked,
        }
    }

    /// Asks the sink to write out (commit, or send in bulk) as soon as every record admitted so
    /// far has reached it, instead of at its next interval. For a source with nothing more to
    /// submit (the end of its files): its last acknowledgements would otherwise wait out the
    /// interval with the machine idle.
    pub fn drain(&self) {
        let _ = self.drain.try_send(());
    }
}

/// The running pipeline's threads.
pub struct Pipeline {
    handle: PipelineHandle,
    workers: Vec<JoinHandle<()>>,
    order: JoinHandle<()>,
    sink: JoinHandle<()>,
}

impl Pipeline {
    /// Starts the detection threads and the sink thread.
    pub fn start(
        options: PipelineOptions,
        decoder: Decoder,
        router: Router,
        sink: Sink,
        dlq: DeadLetterQueue,
    ) -> std::io::Result<Pipeline> {
        let chunk_capacity = options
            .max_in_flight_records
            .div_ceil(options.chunk_records)
            + 1;
        let (input, input_rx) = flume::bounded::<Work>(chunk_capacity);
        let (prepared_tx, prepared_rx) = flume::bounded::<Prepared>(chunk_capacity);
        let mut workers = Vec::new();
        let received = Arc::new(std::sync::Mutex::new(0u64));
        for n in 0..options.detect_threads.max(1) {
            let input_rx = input_rx.clone();
            let prepared_tx = prepared_tx.clone();
            let decoder = decoder.clone();
            let router = router.clone();
            let received = received.clone();
            workers.push(
                std::thread::Builder::new()
                    .name(format!("glossa-detect-{n}"))
                    .spawn(move || {
                        detect_worker(input_rx, prepared_tx, decoder, router, &received)
                    })?,
            );
        }
        drop(prepared_tx);
        let admission = Arc::new(Semaphore::new(options.max_in_flight_records));
        let (drain, drain_tx) = Drain::new(admission.clone(), options.max_in_flight_records);
        let (ordered_tx, ordered_rx) = flume::bounded::<Prepared>(chunk_capacity);
        let order = std::thread::Builder::new()
            .name("glossa-order".into())
            .spawn(move || put_in_order(prepared_rx, ordered_tx))?;
        let commit = CommitPolicy {
            docs: options.commit_docs,
            interval: options.commit_interval,
            max_in_flight_records: options.max_in_flight_records,
        };
        let sink = std::thread::Builder::new()
            .name("glossa-sink".into())
            .spawn(move || sink.run(ordered_rx, drain, dlq, commit))?;
        Ok(Pipeline {
            handle: PipelineHandle {
                input,
                admission,
                options: Arc::new(options),
                drain: drain_tx,
            },
            workers,
            order,
            sink,
        })
    }

    /// A handle for submitting records.
    pub fn handle(&self) -> PipelineHandle {
        self.handle.clone()
    }

    /// Drains everything queued, commits it and stops. Every other handle must be dropped first.
    pub fn shutdown(self) {
        drop(self.handle);
        for worker in self.workers {
            let _ = worker.join();
        }
        let _ = self.order.join();
        let _ = self.sink.join();
    }
}

/// Hands chunks to the sink in the order they entered the pipeline, whatever order the detection
/// threads finish them in: two writes of one id (an update, a later delete) must reach the index
/// in the order they were sent. Holds finished chunks until the ones before them arrive; the
/// admission bound caps how many that can be.
fn put_in_order(input: flume::Receiver<Prepared>, output: flume::Sender<Prepared>) {
    let mut next = 0u64;
    let mut waiting: BTreeMap<u64, Prepared> = BTreeMap::new();
    while let Ok(prepared) = input.recv() {
        waiting.insert(prepared.seq, prepared);
        while let Some(ready) = waiting.remove(&next) {
            next += 1;
            if output.send(ready).is_err() {
                return;
            }
        }
    }
    // The detection threads are gone: a gap can only be a chunk lost with a panicked thread
    // (its submitter was told); the rest still goes to the sink.
    for (_, prepared) in waiting {
        if output.send(prepared).is_err() {
            return;
        }
    }
}

/// Whether a record deletes: a tombstone from its source, or a delete marker record.
fn is_delete(raw: &RawRecord) -> bool {
    raw.delete || crate::decode::delete_marker(&raw.bytes).is_some()
}

/// The id a delete names (the same rules as a record's `id`), or why it names none.
fn delete_id(raw: &RawRecord) -> Result<String, String> {
    if !raw.delete {
        // A delete marker record: a chunk of deletes holds nothing else.
        return crate::decode::delete_marker(&raw.bytes)
            .unwrap_or_else(|| Err("not a delete record".into()));
    }
    match std::str::from_utf8(&raw.bytes) {
        Ok(id) if !id.is_empty() && id.len() <= crate::decode::MAX_ID_BYTES => Ok(id.to_string()),
        _ => Err(format!(
            "a delete (a Kafka tombstone) needs the id as its key: 1 to {} bytes of UTF-8",
            crate::decode::MAX_ID_BYTES
        )),
    }
}

fn detect_worker(
    input: flume::Receiver<Work>,
    output: flume::Sender<Prepared>,
    decoder: Decoder,
    router: Router,
    received: &std::sync::Mutex<u64>,
) {
    loop {
        // Numbered as received, under one lock: the numbers are the channel's order. (Numbering
        // at submission could leave a gap forever when a submitter is cancelled mid-send.)
        let (seq, work) = {
            let mut next = crate::lock(received);
            let Ok(work) = input.recv() else {
                return;
            };
            *next += 1;
            (*next - 1, work)
        };
        let started = Instant::now();
        let mut docs = Vec::with_capacity(work.records.len());
        let mut positions = Vec::with_capacity(work.records.len());
        let mut rejected = Vec::new();
        let mut deletes = Vec::new();
        // Whether a record deletes was decided once, when the chunk was cut.
        let chunk_deletes = work.deletes;
        for raw in work.records {
            if chunk_deletes {
                match delete_id(&raw) {
                    Ok(id) => deletes.push(id),
                    Err(message) => rejected.push(Rejection {
                        position: raw.position,
                        reason: "bad_delete".into(),
                        message,
                        raw: String::from_utf8_lossy(&raw.bytes).into_owned(),
                        truncated: false,
                    }),
                }
                continue;
            }
            match decoder.decode_raw(&raw) {
                Ok(record) => {
                    docs.push(router.route(record, &raw.position.source));
                    positions.push(raw.position);
                }
                Err(error) => rejected.push(error.into_rejection(&raw)),
            }
        }
        metrics::histogram!(m::DETECT_SECONDS).record(started.elapsed().as_secs_f64());
        metrics::gauge!(m::QUEUE_DEPTH, "stage" => "detect").set(input.len() as f64);
        let prepared = Prepared {
            seq,
            docs,
            positions,
            rejected,
            deletes,
            reply: work.reply,
            permit: work.permit,
        };
        if output.send(prepared).is_err() {
            return;
        }
        metrics::gauge!(m::QUEUE_DEPTH, "stage" => "sink").set(output.len() as f64);
    }
}
