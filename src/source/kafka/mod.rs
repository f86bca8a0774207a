//! Kafka source: a consumer group member that feeds the pipeline and commits each partition's
//! offset only up to the last record the backend (or the dead-letter queue) acknowledged, in
//! order, so a crash at any moment loses nothing and a replay only rewrites the same documents
//! (ids come from the record's `id`, or from topic, partition and offset).
//!
//! Backpressure: when the pipeline is full the reader stops taking messages; if that lasts
//! `kafka.pause_after_ms` the assigned partitions are paused (and re-paused after a rebalance)
//! while the consumer keeps polling, so the group does not evict it and memory stays bounded by
//! librdkafka's prefetch limits.
//!
//! Rebalances: before partitions are revoked, their acknowledged offsets are committed and their
//! in-flight records are dropped from tracking: those records may still be indexed, but no offset
//! past them is committed by this worker, so the new owner reads them again (same ids, no loss).

mod consumer;
mod offsets;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::Consumer;
use rdkafka::error::KafkaError;
use rdkafka::Message;
use tokio::sync::{mpsc, watch};

use super::{lock, stop_now, stop_requested, Progress};
use crate::config::KafkaSettings;
use crate::config::KafkaUrl;
use crate::metrics as m;
use crate::pipeline::{PipelineError, PipelineHandle};
use crate::record::{RawRecord, SourcePosition};
use consumer::{
    behind, check_topics, commit, consumer_config, restart_fetch, set_paused, start_group_at,
    GroupConsumer, SourceContext,
};
use offsets::{register, Mark, Tracker};

/// Why a Kafka source stopped.
#[derive(Debug, thiserror::Error)]
pub enum KafkaSourceError {
    #[error("Kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error("cannot reach Kafka at {brokers} (or it refused this client) within {seconds}s: {cause}; check the address and the security settings (kafka.properties)")]
    Unreachable {
        brokers: String,
        seconds: u64,
        cause: KafkaError,
    },
    #[error("Kafka topic `{topic}`: {reason}")]
    Topic { topic: String, reason: String },
    #[error("the records were stored but their offsets could not be committed ({0}); they will be read again (ids are stable: no duplicates)")]
    Commit(String),
    #[error(
        "records were not stored, offsets are committed only up to the last stored record: {0}"
    )]
    Pipeline(#[from] PipelineError),
}

/// Whether the source stops once it has caught up, or keeps consuming.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Stop when every assigned partition has been read to its end and acknowledged.
    UntilCaughtUp,
    /// Consume until told to stop (a service, `ingest --follow`).
    Follow,
}

/// A batch of records on its way to the pipeline, with the marks it commits once acknowledged.
struct Batch {
    records: Vec<RawRecord>,
    /// Last offset read per partition in this batch.
    last: HashMap<(String, i32), i64>,
}

impl Batch {
    fn new() -> Batch {
        Batch {
            records: Vec::new(),
            last: HashMap::new(),
        }
    }
}

/// A partition with records left that delivers none for this long, while this member is not
/// paused, is stuck (see `consumer::restart_fetch`); a live fetch delivers within a fetch wait.
const STALL_AFTER: Duration = Duration::from_secs(5);

/// What has been read and not yet handed to the pipeline: the batch being filled and the full
/// ones waiting, in read order.
struct Reading {
    batch: Batch,
    batch_started: Instant,
    last_message: Instant,
    ready: VecDeque<Batch>,
    chunk_records: usize,
    /// The offset after the last record read, per partition: where a stalled partition's
    /// fetch restarts.
    next: HashMap<(String, i32), i64>,
}

impl Reading {
    fn new(chunk_records: usize) -> Reading {
        Reading {
            batch: Batch::new(),
            batch_started: Instant::now(),
            last_message: Instant::now(),
            ready: VecDeque::new(),
            chunk_records,
            next: HashMap::new(),
        }
    }

    /// Adds a received message to the batch; a full batch joins the waiting ones.
    fn receive(
        &mut self,
        received: Result<rdkafka::message::BorrowedMessage<'_>, KafkaError>,
        progress: &Progress,
    ) -> Result<(), KafkaSourceError> {
        if let Some((raw, topic, partition, offset)) = take(received, progress)? {
            if self.batch.records.is_empty() {
                self.batch_started = Instant::now();
            }
            self.last_message = Instant::now();
            self.next.insert((topic.clone(), partition), offset + 1);
            self.batch.last.insert((topic, partition), offset);
            self.batch.records.push(raw);
            if self.batch.records.len() >= self.chunk_records {
                self.seal();
            }
        }
        Ok(())
    }

    /// Moves the batch being filled, if it holds anything, to the waiting ones.
    fn seal(&mut self) {
        if !self.batch.records.is_empty() {
            self.ready
                .push_back(std::mem::replace(&mut self.batch, Batch::new()));
        }
    }
}

/// Consumes `url` into the pipeline until stopped (`stop` set to true), until caught up
/// ([`Mode::UntilCaughtUp`]), or until the pipeline fails; commits what was acknowledged.
pub async fn run(
    url: &KafkaUrl,
    settings: &KafkaSettings,
    handle: PipelineHandle,
    chunk_records: usize,
    mode: Mode,
    progress: Arc<Progress>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), KafkaSourceError> {
    let tracker = Arc::new(Mutex::new(Tracker::default()));
    let paused = Arc::new(AtomicBool::new(false));
    let consumer: Arc<GroupConsumer> = Arc::new(
        consumer_config(url, settings, chunk_records).create_with_context(SourceContext {
            tracker: tracker.clone(),
            paused: paused.clone(),
            progress: progress.clone(),
        })?,
    );
    check_topics(
        &consumer,
        url,
        Duration::from_millis(settings.connect_timeout_ms),
    )
    .await?;
    if let Some(millis) = url.start_at_ms {
        start_group_at(
            &consumer,
            url,
            millis,
            Duration::from_millis(settings.connect_timeout_ms),
        )
        .await?;
    }
    let topics: Vec<&str> = url.topics.iter().map(String::as_str).collect();
    consumer.subscribe(&topics)?;
    tracing::info!(brokers = %url.brokers, topics = %url.topics.join(","), group = %url.group, "consuming from Kafka");

    // Submissions go through a channel of one batch: when it is full, the pipeline is. Each
    // batch's acknowledgement marks its offsets committable, in order.
    let (submit_tx, submit_rx) = mpsc::channel::<(Vec<RawRecord>, Vec<Mark>)>(1);
    let failure: Arc<Mutex<Option<PipelineError>>> = Arc::default();
    let submitting = {
        let tracker = tracker.clone();
        let failure = failure.clone();
        let progress = progress.clone();
        tokio::spawn(async move {
            let acknowledged = handle
                .submit_in_order(submit_rx, false, move |outcome, marks: Vec<Mark>| {
                    progress.acknowledged(outcome);
                    let mut tracker = lock(&tracker);
                    for mark in &marks {
                        tracker.acknowledged(mark);
                    }
                    Ok::<(), PipelineError>(())
                })
                .await;
            // After a failed acknowledgement nothing past it is committed: the tracker keeps
            // that part unacknowledged, and the next reader gets it again.
            if let Err(error) = acknowledged {
                *lock(&failure) = Some(error);
            }
        })
    };

    let linger = Duration::from_millis(settings.linger_ms.max(1));
    let pause_after = Duration::from_millis(settings.pause_after_ms);
    let commit_every = Duration::from_millis(settings.commit_interval_ms.max(10));
    let mut commit_tick = tokio::time::interval(commit_every);
    commit_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut reading = Reading::new(chunk_records);
    let mut last_stall_check = Instant::now();
    let reader_result: Result<(), KafkaSourceError> = 'read: loop {
        if failure_set(&failure) {
            break Ok(());
        }
        if reading.batch_started.elapsed() >= linger {
            reading.seal();
        }
        // Hand ready batches over; while the pipeline is full, keep polling (paused) so the group
        // keeps this member.
        while let Some(next) = reading.ready.pop_front() {
            let marks = register(&tracker, &next);
            let permit = match tokio::time::timeout(pause_after, submit_tx.reserve()).await {
                Ok(Ok(permit)) => permit,
                Ok(Err(_)) => break 'read Ok(()),
                Err(_) => {
                    set_paused(&consumer, &paused, true, "the pipeline is full");
                    let permit = loop {
                        tokio::select! {
                            permit = submit_tx.reserve() => match permit {
                                Ok(permit) => break permit,
                                Err(_) => break 'read Ok(()),
                            },
                            _ = stop_requested(&mut stop) => {
                                reading.ready.push_front(next);
                                break 'read Ok(());
                            }
                            _ = commit_tick.tick() => {
                                let _ = commit(&consumer, &tracker).await;
                            }
                            // Messages already fetched before the pause keep their order, in
                            // chunks the pipeline accepts.
                            received = tokio::time::timeout(Duration::from_millis(200), consumer.recv()) => {
                                if let Ok(received) = received {
                                    if let Err(error) = reading.receive(received, &progress) {
                                        break 'read Err(error);
                                    }
                                }
                            }
                        }
                    };
                    set_paused(&consumer, &paused, false, "the pipeline has room again");
                    permit
                }
            };
            permit.send((next.records, marks));
        }
        if stop_now(&stop) {
            break Ok(());
        }
        let wait = if reading.batch.records.is_empty() {
            linger.max(Duration::from_millis(200))
        } else {
            linger.saturating_sub(reading.batch_started.elapsed())
        };
        tokio::select! {
            _ = stop_requested(&mut stop) => {}
            _ = commit_tick.tick() => {
                let _ = commit(&consumer, &tracker).await;
                let quiet = reading.batch.records.is_empty()
                    && reading.last_message.elapsed() >= linger;
                let stalled = reading.last_message.elapsed() >= STALL_AFTER
                    && last_stall_check.elapsed() >= STALL_AFTER;
                if quiet && (mode == Mode::UntilCaughtUp || stalled) {
                    if stalled {
                        last_stall_check = Instant::now();
                    }
                    match behind(&consumer).await {
                        Some(left) if left.is_empty() && mode == Mode::UntilCaughtUp => {
                            break Ok(());
                        }
                        // Records left, none delivered for STALL_AFTER, not paused: stuck.
                        Some(left) if !left.is_empty() && stalled => {
                            restart_fetch(&consumer, left, &reading.next).await
                        }
                        _ => {}
                    }
                }
            }
            received = tokio::time::timeout(wait, consumer.recv()) => {
                if let Ok(received) = received {
                    if let Err(error) = reading.receive(received, &progress) {
                        break 'read Err(error);
                    }
                }
            }
        }
    };
    // Whatever stopped reading, what was read still goes in and is committed as it is stored.
    // Meanwhile the partitions stay paused and the consumer keeps polling, so the group keeps
    // this member however long the drain takes (messages fetched before the pause are dropped:
    // nothing past them is committed, the next reader gets them).
    set_paused(
        &consumer,
        &paused,
        true,
        "reading is done, the records in flight are being stored",
    );
    reading.seal();
    let ready = reading.ready;
    let submit_failed = failure.clone();
    let drain_tracker = tracker.clone();
    let mut drained = std::pin::pin!(async move {
        if !failure_set(&submit_failed) {
            for next in ready {
                let marks = register(&drain_tracker, &next);
                if submit_tx.send((next.records, marks)).await.is_err() {
                    break;
                }
            }
        }
        drop(submit_tx);
        let _ = submitting.await;
    });
    loop {
        tokio::select! {
            _ = &mut drained => break,
            _ = commit_tick.tick() => {
                let _ = commit(&consumer, &tracker).await;
            }
            _ = tokio::time::timeout(Duration::from_millis(200), consumer.recv()) => {}
        }
    }
    let committed = commit(&consumer, &tracker).await;
    if !lock(&tracker).idle() {
        tracing::warn!("some records were not acknowledged; their offsets are not committed and they will be read again");
    }
    reader_result?;
    if let Err(error) = committed {
        return Err(KafkaSourceError::Commit(error));
    }
    if let Some(error) = lock(&failure).take() {
        return Err(error.into());
    }
    Ok(())
}

fn failure_set(failure: &Mutex<Option<PipelineError>>) -> bool {
    lock(failure).is_some()
}

/// Copies a received message into a raw record; consumer errors other than fatal ones are
/// logged and skipped (librdkafka retries by itself).
fn take(
    received: Result<rdkafka::message::BorrowedMessage<'_>, KafkaError>,
    progress: &Progress,
) -> Result<Option<(RawRecord, String, i32, i64)>, KafkaSourceError> {
    let message = match received {
        Ok(message) => message,
        Err(KafkaError::PartitionEOF(_)) => return Ok(None),
        Err(error) => {
            if let Some(code) = error.rdkafka_error_code() {
                if code == rdkafka::types::RDKafkaErrorCode::Fatal {
                    return Err(error.into());
                }
            }
            tracing::warn!(%error, "Kafka consumer error (retrying)");
            return Ok(None);
        }
    };
    progress.records_read.fetch_add(1, Ordering::Relaxed);
    m::counter_add(m::KAFKA_RECORDS_READ, 1);
    let topic = message.topic().to_string();
    let partition = message.partition();
    let offset = message.offset();
    // A tombstone (a key without a value) deletes the document whose id is the key.
    let (bytes, delete) = match message.payload() {
        Some(payload) => (payload.to_vec(), false),
        None => (message.key().map(<[u8]>::to_vec).unwrap_or_default(), true),
    };
    progress
        .bytes_read
        .fetch_add(bytes.len() as u64, Ordering::Relaxed);
    let raw = RawRecord {
        position: SourcePosition {
            source: position_source(&topic, partition),
            line: u64::try_from(offset).unwrap_or(0),
        },
        bytes,
        id_from_position: true,
        delete,
    };
    Ok(Some((raw, topic, partition, offset)))
}

/// The source name of a Kafka record's position (`kafka:TOPIC/PARTITION`; the line is the offset).
pub fn position_source(topic: &str, partition: i32) -> String {
    format!("kafka:{topic}/{partition}")
}
