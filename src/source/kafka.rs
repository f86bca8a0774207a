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

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::KafkaError;
use rdkafka::statistics::Statistics;
use rdkafka::{ClientConfig, ClientContext, Message, Offset, TopicPartitionList};
use tokio::sync::{mpsc, watch};

use super::{lock, stop_now, stop_requested, Progress};
use crate::config::KafkaSettings;
use crate::metrics as m;
use crate::pipeline::{Admission, Pending, PipelineError, PipelineHandle};
use crate::record::{RawRecord, SourcePosition};

/// Why a Kafka source stopped.
#[derive(Debug, thiserror::Error)]
pub enum KafkaSourceError {
    #[error("invalid Kafka source URL `{url}`: {reason} (expected kafka://HOST:PORT[,HOST:PORT]/TOPIC[,TOPIC]?group=GROUP)")]
    Url { url: String, reason: String },
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

/// A parsed `kafka://` source URL.
#[derive(Clone, Debug, PartialEq)]
pub struct KafkaUrl {
    pub brokers: String,
    pub topics: Vec<String>,
    pub group: String,
    /// librdkafka properties from the query string (keys with a dot), plus `from`.
    pub properties: BTreeMap<String, String>,
    pub start_from: Option<String>,
    /// `from=TIMESTAMP` (RFC 3339, or milliseconds since the epoch): a group without committed
    /// offsets starts each partition at its first record from that time.
    pub start_at_ms: Option<i64>,
}

impl KafkaUrl {
    /// Parses `kafka://HOST:PORT[,HOST:PORT]/TOPIC[,TOPIC]?group=G[&from=earliest|latest|TIMESTAMP][&prop.name=value]`.
    pub fn parse(text: &str) -> Result<KafkaUrl, KafkaSourceError> {
        let bad = |reason: &str| KafkaSourceError::Url {
            url: text.to_string(),
            reason: reason.to_string(),
        };
        let rest = text
            .strip_prefix("kafka://")
            .ok_or_else(|| bad("it must start with kafka://"))?;
        let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (brokers, topics) = location
            .split_once('/')
            .ok_or_else(|| bad("no topic after the brokers"))?;
        if brokers.is_empty() {
            return Err(bad("no broker address"));
        }
        let topics: Vec<String> = topics
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect();
        if topics.is_empty() {
            return Err(bad("no topic"));
        }
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query).map_err(|e| bad(&e.to_string()))?;
        let mut group = None;
        let mut start_from = None;
        let mut properties = BTreeMap::new();
        for (key, value) in pairs {
            match key.as_str() {
                "group" => group = Some(value),
                "from" => start_from = Some(value),
                k if k.contains('.') => {
                    properties.insert(key, value);
                }
                other => return Err(bad(&format!("unknown parameter `{other}`"))),
            }
        }
        let mut start_at_ms = None;
        if let Some(from) = start_from.clone() {
            if from != "earliest" && from != "latest" {
                let millis = from.parse::<i64>().ok().or_else(|| {
                    let time = time::OffsetDateTime::parse(
                        &from,
                        &time::format_description::well_known::Rfc3339,
                    )
                    .ok()?;
                    i64::try_from(time.unix_timestamp_nanos() / 1_000_000).ok()
                });
                match millis {
                    Some(millis) if millis >= 0 => start_at_ms = Some(millis),
                    _ => return Err(bad(
                        "`from` must be earliest, latest, an RFC 3339 time or epoch milliseconds",
                    )),
                }
                // Partitions with nothing from that time on start at their end.
                start_from = Some("latest".to_string());
            }
        }
        Ok(KafkaUrl {
            brokers: brokers.to_string(),
            topics,
            group: group.ok_or_else(|| bad("no consumer group (?group=NAME)"))?,
            properties,
            start_from,
            start_at_ms,
        })
    }
}

/// Whether the source stops once it has caught up, or keeps consuming.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Stop when every assigned partition has been read to its end and acknowledged.
    UntilCaughtUp,
    /// Consume until told to stop (a service, `ingest --follow`).
    Follow,
}

/// Acknowledgement bookkeeping for one assigned partition.
#[derive(Debug)]
struct PartitionState {
    /// Distinguishes this assignment from an earlier one of the same partition.
    epoch: u64,
    /// Last offset of each submitted part, in read order, and whether it is acknowledged.
    in_flight: BTreeMap<i64, bool>,
    /// Next offset to commit: everything before it is acknowledged.
    committable: Option<i64>,
    /// Offset last committed by this worker.
    committed: Option<i64>,
}

#[derive(Debug, Default)]
struct Tracker {
    next_epoch: u64,
    partitions: HashMap<(String, i32), PartitionState>,
}

impl Tracker {
    fn assign(&mut self, topic: &str, partition: i32) {
        self.next_epoch += 1;
        self.partitions.insert(
            (topic.to_string(), partition),
            PartitionState {
                epoch: self.next_epoch,
                in_flight: BTreeMap::new(),
                committable: None,
                committed: None,
            },
        );
    }

    /// Notes that records up to `last_offset` were submitted; `None` when the partition is no
    /// longer assigned here (its records are then never committed by this worker).
    fn submitted(&mut self, topic: &str, partition: i32, last_offset: i64) -> Option<u64> {
        let state = self.partitions.get_mut(&(topic.to_string(), partition))?;
        state.in_flight.insert(last_offset, false);
        Some(state.epoch)
    }

    fn acknowledged(&mut self, mark: &Mark) {
        let Some(state) = self
            .partitions
            .get_mut(&(mark.topic.clone(), mark.partition))
        else {
            return;
        };
        if state.epoch != mark.epoch {
            return;
        }
        if let Some(done) = state.in_flight.get_mut(&mark.last_offset) {
            *done = true;
        }
        while let Some(entry) = state.in_flight.first_entry() {
            if !*entry.get() {
                break;
            }
            let (offset, _) = entry.remove_entry();
            state.committable = Some(offset + 1);
        }
    }

    /// Offsets acknowledged since the last commit, for `partitions` (all when `None`).
    fn to_commit(&self, only: Option<&TopicPartitionList>) -> TopicPartitionList {
        let mut list = TopicPartitionList::new();
        for ((topic, partition), state) in &self.partitions {
            if let Some(only) = only {
                if only.find_partition(topic, *partition).is_none() {
                    continue;
                }
            }
            if let Some(next) = state.committable {
                if state.committed != Some(next) {
                    let _ = list.add_partition_offset(topic, *partition, Offset::Offset(next));
                }
            }
        }
        list
    }

    fn committed(&mut self, list: &TopicPartitionList) {
        for elem in list.elements() {
            if let (Some(state), Offset::Offset(offset)) = (
                self.partitions
                    .get_mut(&(elem.topic().to_string(), elem.partition())),
                elem.offset(),
            ) {
                state.committed = Some(offset);
            }
        }
    }

    fn idle(&self) -> bool {
        self.partitions.values().all(|s| s.in_flight.is_empty())
    }
}

/// What an acknowledged part of a submission lets this worker commit.
#[derive(Clone, Debug)]
struct Mark {
    topic: String,
    partition: i32,
    last_offset: i64,
    epoch: u64,
}

/// librdkafka callbacks: rebalances (commit, track, re-pause) and statistics (lag metric).
struct SourceContext {
    tracker: Arc<Mutex<Tracker>>,
    paused: Arc<AtomicBool>,
    progress: Arc<Progress>,
}

impl ClientContext for SourceContext {
    fn stats(&self, statistics: Statistics) {
        for (topic, stats) in &statistics.topics {
            for (partition, p) in &stats.partitions {
                if *partition < 0 || !p.desired || p.consumer_lag < 0 {
                    continue;
                }
                metrics::gauge!(m::KAFKA_CONSUMER_LAG, "topic" => topic.clone(), "partition" => partition.to_string())
                    .set(p.consumer_lag as f64);
            }
        }
    }
}

impl ConsumerContext for SourceContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(revoked) = rebalance {
            let mut tracker = lock(&self.tracker);
            let list = tracker.to_commit(Some(revoked));
            if list.count() > 0 {
                match consumer.commit(&list, CommitMode::Sync) {
                    Ok(()) => tracker.committed(&list),
                    Err(error) => {
                        tracing::warn!(%error, "cannot commit offsets of revoked partitions; their new owner re-reads (ids are stable, nothing is lost)")
                    }
                }
            }
            for elem in revoked.elements() {
                tracker
                    .partitions
                    .remove(&(elem.topic().to_string(), elem.partition()));
            }
            tracing::info!(partitions = revoked.count(), "Kafka partitions revoked");
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(assigned) = rebalance {
            self.progress.connected.store(true, Ordering::Relaxed);
            let mut tracker = lock(&self.tracker);
            for elem in assigned.elements() {
                tracker.assign(elem.topic(), elem.partition());
            }
            drop(tracker);
            if self.paused.load(Ordering::SeqCst) {
                if let Err(error) = consumer.pause(assigned) {
                    tracing::warn!(%error, "cannot pause newly assigned partitions");
                }
            }
            let names: Vec<String> = assigned
                .elements()
                .iter()
                .map(|e| format!("{}/{}", e.topic(), e.partition()))
                .collect();
            tracing::info!(partitions = %names.join(","), "Kafka partitions assigned");
        }
    }
}

type GroupConsumer = StreamConsumer<SourceContext>;

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
        client_config(url, settings, chunk_records).create_with_context(SourceContext {
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

    // Submissions go through a channel of one batch: when it is full, the pipeline is.
    let (submit_tx, mut submit_rx) = mpsc::channel::<(Batch, Vec<Mark>)>(1);
    let (acks_tx, mut acks_rx) = mpsc::unbounded_channel::<(Pending, Vec<Mark>)>();
    let failure: Arc<Mutex<Option<PipelineError>>> = Arc::default();
    let submitter = {
        let failure = failure.clone();
        tokio::spawn(async move {
            while let Some((batch, marks)) = submit_rx.recv().await {
                match handle.submit(batch.records, Admission::Wait).await {
                    Ok(pending) => {
                        if acks_tx.send((pending, marks)).is_err() {
                            break;
                        }
                    }
                    Err(error) => {
                        *lock(&failure) = Some(error);
                        break;
                    }
                }
            }
        })
    };
    let acknowledger = {
        let tracker = tracker.clone();
        let failure = failure.clone();
        let progress = progress.clone();
        tokio::spawn(async move {
            while let Some((pending, marks)) = acks_rx.recv().await {
                match pending.outcome().await {
                    Ok(outcome) => {
                        progress.acknowledged(&outcome);
                        let mut tracker = lock(&tracker);
                        for mark in &marks {
                            tracker.acknowledged(mark);
                        }
                    }
                    Err(error) => {
                        *lock(&failure) = Some(error);
                        // Later submissions may be acknowledged, but nothing past this one is
                        // committed: the tracker keeps this part unacknowledged.
                    }
                }
            }
        })
    };

    let linger = Duration::from_millis(settings.linger_ms.max(1));
    let pause_after = Duration::from_millis(settings.pause_after_ms);
    let commit_every = Duration::from_millis(settings.commit_interval_ms.max(10));
    let mut commit_tick = tokio::time::interval(commit_every);
    commit_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut batch = Batch::new();
    let mut batch_started = Instant::now();
    let mut ready: VecDeque<Batch> = VecDeque::new();
    let mut last_message = Instant::now();
    let reader_result: Result<(), KafkaSourceError> = 'read: loop {
        if failure_set(&failure) {
            break Ok(());
        }
        if !batch.records.is_empty()
            && (batch.records.len() >= chunk_records || batch_started.elapsed() >= linger)
        {
            ready.push_back(std::mem::replace(&mut batch, Batch::new()));
        }
        // Hand ready batches over; while the pipeline is full, keep polling (paused) so the group
        // keeps this member.
        while let Some(next) = ready.pop_front() {
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
                                ready.push_front(next);
                                break 'read Ok(());
                            }
                            _ = commit_tick.tick() => {
                                let _ = commit(&consumer, &tracker).await;
                            }
                            received = tokio::time::timeout(Duration::from_millis(200), consumer.recv()) => {
                                if let Ok(received) = received {
                                    match take(received, &progress) {
                                        Ok(Some(record)) => {
                                            push(&mut batch, record);
                                            // Messages already fetched before the pause keep
                                            // their order, in chunks the pipeline accepts.
                                            if batch.records.len() >= chunk_records {
                                                ready.push_back(std::mem::replace(&mut batch, Batch::new()));
                                            }
                                        }
                                        Ok(None) => {}
                                        Err(error) => break 'read Err(error),
                                    }
                                }
                            }
                        }
                    };
                    set_paused(&consumer, &paused, false, "the pipeline has room again");
                    permit
                }
            };
            permit.send((next, marks));
            if !batch.records.is_empty() && batch.records.len() >= chunk_records {
                ready.push_back(std::mem::replace(&mut batch, Batch::new()));
            }
        }
        if stop_now(&stop) {
            break Ok(());
        }
        let wait = if batch.records.is_empty() {
            linger.max(Duration::from_millis(200))
        } else {
            linger.saturating_sub(batch_started.elapsed())
        };
        tokio::select! {
            _ = stop_requested(&mut stop) => {}
            _ = commit_tick.tick() => {
                let _ = commit(&consumer, &tracker).await;
                if mode == Mode::UntilCaughtUp
                    && batch.records.is_empty()
                    && last_message.elapsed() >= linger
                    && caught_up(&consumer).await
                {
                    break Ok(());
                }
            }
            received = tokio::time::timeout(wait, consumer.recv()) => {
                if let Ok(received) = received {
                    match take(received, &progress) {
                        Ok(Some(record)) => {
                            if batch.records.is_empty() {
                                batch_started = Instant::now();
                            }
                            last_message = Instant::now();
                            push(&mut batch, record);
                        }
                        Ok(None) => {}
                        Err(error) => break 'read Err(error),
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
    if !batch.records.is_empty() {
        ready.push_back(batch);
    }
    let submit_failed = failure.clone();
    let drain_tracker = tracker.clone();
    let mut drained = std::pin::pin!(async move {
        if !failure_set(&submit_failed) {
            for next in ready {
                let marks = register(&drain_tracker, &next);
                if submit_tx.send((next, marks)).await.is_err() {
                    break;
                }
            }
        }
        drop(submit_tx);
        let _ = submitter.await;
        let _ = acknowledger.await;
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

/// Fails fast, with the reason, when the brokers cannot be reached or refuse this client, or a
/// topic does not exist: a batch job must not wait forever for an assignment that cannot come.
async fn check_topics(
    consumer: &Arc<GroupConsumer>,
    url: &KafkaUrl,
    timeout: Duration,
) -> Result<(), KafkaSourceError> {
    let consumer = consumer.clone();
    let topics = url.topics.join(",");
    let url = url.clone();
    tokio::task::spawn_blocking(move || {
        for topic in &url.topics {
            let metadata = consumer
                .fetch_metadata(Some(topic), timeout)
                .map_err(|cause| KafkaSourceError::Unreachable {
                    brokers: url.brokers.clone(),
                    seconds: timeout.as_secs(),
                    cause,
                })?;
            for found in metadata.topics() {
                if let Some(error) = found.error() {
                    return Err(KafkaSourceError::Topic {
                        topic: topic.clone(),
                        reason: rdkafka::types::RDKafkaErrorCode::from(error).to_string(),
                    });
                }
                if found.partitions().is_empty() {
                    return Err(KafkaSourceError::Topic {
                        topic: topic.clone(),
                        reason: "the topic has no partitions".into(),
                    });
                }
            }
        }
        Ok(())
    })
    .await
    .map_err(|e| KafkaSourceError::Topic {
        topic: topics,
        reason: e.to_string(),
    })?
}

/// `from=TIMESTAMP`: when the group has committed nothing on the topics yet, commits for it, on
/// every partition, the offset of the first record at or after `millis` (the end where there is
/// none), so the group starts there. A group with commits resumes from them instead.
async fn start_group_at(
    consumer: &Arc<GroupConsumer>,
    url: &KafkaUrl,
    millis: i64,
    timeout: Duration,
) -> Result<(), KafkaSourceError> {
    let consumer = consumer.clone();
    let topics = url.topics.clone();
    let positioned = tokio::task::spawn_blocking(move || -> Result<bool, KafkaError> {
        let mut wanted = TopicPartitionList::new();
        for topic in &topics {
            let metadata = consumer.fetch_metadata(Some(topic), timeout)?;
            for found in metadata.topics() {
                for partition in found.partitions() {
                    wanted.add_partition_offset(topic, partition.id(), Offset::Offset(millis))?;
                }
            }
        }
        let committed = committed_offsets(consumer.as_ref(), &wanted, timeout)?;
        if committed
            .elements()
            .iter()
            .any(|e| matches!(e.offset(), Offset::Offset(_)))
        {
            return Ok(false);
        }
        let mut start = consumer.offsets_for_times(wanted, timeout)?;
        let ends: Vec<(String, i32)> = start
            .elements()
            .iter()
            .filter(|e| !matches!(e.offset(), Offset::Offset(_)))
            .map(|e| (e.topic().to_string(), e.partition()))
            .collect();
        for (topic, partition) in ends {
            let (_, high) = consumer.fetch_watermarks(&topic, partition, timeout)?;
            start.set_partition_offset(&topic, partition, Offset::Offset(high))?;
        }
        consumer.commit(&start, CommitMode::Sync)?;
        Ok(true)
    })
    .await
    .map_err(|e| KafkaSourceError::Topic {
        topic: url.topics.join(","),
        reason: e.to_string(),
    })??;
    if positioned {
        tracing::info!(group = %url.group, millis, "group positioned at the first records from the given time");
    } else {
        tracing::info!(group = %url.group, "the group has committed offsets: resuming from them, not from the given time");
    }
    Ok(())
}

/// The group's committed offsets of `wanted`, retried while the group coordinator is briefly
/// unavailable (a fresh broker answers NotCoordinator for a moment).
pub(crate) fn committed_offsets<C: ConsumerContext, K: Consumer<C>>(
    consumer: &K,
    wanted: &TopicPartitionList,
    timeout: Duration,
) -> Result<TopicPartitionList, KafkaError> {
    use rdkafka::types::RDKafkaErrorCode::{
        CoordinatorLoadInProgress, CoordinatorNotAvailable, NotCoordinator,
    };
    let deadline = Instant::now() + timeout;
    loop {
        match consumer.committed_offsets(wanted.clone(), timeout) {
            Err(error)
                if matches!(
                    error.rdkafka_error_code(),
                    Some(NotCoordinator | CoordinatorNotAvailable | CoordinatorLoadInProgress)
                ) && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(200));
            }
            result => return result,
        }
    }
}

fn client_config(url: &KafkaUrl, settings: &KafkaSettings, chunk_records: usize) -> ClientConfig {
    let mut config = ClientConfig::new();
    let start_from = url.start_from.as_deref().unwrap_or(&settings.start_from);
    config
        .set("bootstrap.servers", &url.brokers)
        .set("group.id", &url.group)
        .set("client.id", "glossa")
        // Offsets are committed by this source, only for acknowledged records.
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", start_from)
        .set(
            "queued.max.messages.kbytes",
            settings.max_prefetch_kbytes.max(1).to_string(),
        )
        .set(
            "queued.min.messages",
            (chunk_records * 4).max(1000).to_string(),
        )
        .set(
            "statistics.interval.ms",
            settings.stats_interval_ms.to_string(),
        );
    for (key, value) in settings.properties.iter().chain(url.properties.iter()) {
        config.set(key, value);
    }
    config
}

fn failure_set(failure: &Mutex<Option<PipelineError>>) -> bool {
    lock(failure).is_some()
}

fn register(tracker: &Mutex<Tracker>, batch: &Batch) -> Vec<Mark> {
    let mut tracker = lock(tracker);
    batch
        .last
        .iter()
        .filter_map(|((topic, partition), last)| {
            let epoch = tracker.submitted(topic, *partition, *last)?;
            Some(Mark {
                topic: topic.clone(),
                partition: *partition,
                last_offset: *last,
                epoch,
            })
        })
        .collect()
}

fn push(batch: &mut Batch, record: (RawRecord, String, i32, i64)) {
    let (raw, topic, partition, offset) = record;
    batch.last.insert((topic, partition), offset);
    batch.records.push(raw);
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

fn set_paused(consumer: &GroupConsumer, paused: &AtomicBool, pause: bool, why: &str) {
    if paused.swap(pause, Ordering::SeqCst) == pause {
        return;
    }
    let assignment = match consumer.assignment() {
        Ok(assignment) => assignment,
        Err(error) => {
            tracing::warn!(%error, "cannot read the partition assignment");
            return;
        }
    };
    let result = if pause {
        consumer.pause(&assignment)
    } else {
        consumer.resume(&assignment)
    };
    match result {
        Ok(()) => {
            metrics::gauge!(m::KAFKA_PAUSED).set(if pause { 1.0 } else { 0.0 });
            tracing::info!(
                partitions = assignment.count(),
                "{} Kafka partitions: {why}",
                if pause { "paused" } else { "resumed" },
            );
        }
        Err(error) => tracing::warn!(%error, "cannot pause or resume partitions"),
    }
}

/// Commits acknowledged offsets (a blocking call, kept off the async workers).
async fn commit(
    consumer: &Arc<GroupConsumer>,
    tracker: &Arc<Mutex<Tracker>>,
) -> Result<(), String> {
    let list = lock(tracker).to_commit(None);
    if list.count() == 0 {
        return Ok(());
    }
    let blocking_consumer = consumer.clone();
    let result = tokio::task::spawn_blocking(move || {
        let result = blocking_consumer.commit(&list, CommitMode::Sync);
        (list, result)
    })
    .await;
    let error = match result {
        Ok((list, Ok(()))) => {
            lock(tracker).committed(&list);
            return Ok(());
        }
        Ok((_, Err(error))) => error.to_string(),
        Err(error) => error.to_string(),
    };
    tracing::warn!(%error, "cannot commit Kafka offsets; retrying at the next interval");
    Err(error)
}

/// True when this member has partitions and has read each of them to its high watermark.
async fn caught_up(consumer: &Arc<GroupConsumer>) -> bool {
    let consumer = consumer.clone();
    tokio::task::spawn_blocking(move || {
        let timeout = Duration::from_secs(5);
        let Ok(assignment) = consumer.assignment() else {
            return false;
        };
        if assignment.count() == 0 {
            return false;
        }
        let Ok(positions) = consumer.position() else {
            return false;
        };
        let committed = consumer.committed(timeout).ok();
        for elem in assignment.elements() {
            let (topic, partition) = (elem.topic(), elem.partition());
            let Ok((low, high)) = consumer.fetch_watermarks(topic, partition, timeout) else {
                return false;
            };
            let offset_of = |list: &TopicPartitionList| match list
                .find_partition(topic, partition)
                .map(|e| e.offset())
            {
                Some(Offset::Offset(n)) => Some(n),
                _ => None,
            };
            let at = offset_of(&positions)
                .or_else(|| committed.as_ref().and_then(offset_of))
                .unwrap_or(low);
            if at < high {
                return false;
            }
        }
        true
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_source_urls() {
        let url = KafkaUrl::parse(
            "kafka://a:9092,b:9092/docs,more?group=g1&from=latest&security.protocol=SASL_SSL",
        )
        .expect("valid");
        assert_eq!(url.brokers, "a:9092,b:9092");
        assert_eq!(url.topics, ["docs", "more"]);
        assert_eq!(url.group, "g1");
        assert_eq!(url.start_from.as_deref(), Some("latest"));
        assert_eq!(url.properties["security.protocol"], "SASL_SSL");
        for bad in [
            "kafka://a:9092/docs",
            "kafka://a:9092?group=g",
            "http://a/docs?group=g",
            "kafka://a:9092/docs?group=g&from=yesterday",
            "kafka://a:9092/docs?group=g&from=-5",
            "kafka://a:9092/docs?group=g&bogus=1",
        ] {
            assert!(KafkaUrl::parse(bad).is_err(), "{bad} must be refused");
        }
        assert_eq!(url.start_at_ms, None);
    }

    #[test]
    fn a_start_time_is_an_rfc3339_time_or_epoch_milliseconds() {
        for (from, millis) in [
            ("2026-01-02T03:04:05.678Z", 1_767_323_045_678),
            ("2026-01-02T04:04:05.678%2B01:00", 1_767_323_045_678),
            ("1767323045678", 1_767_323_045_678),
        ] {
            let url = KafkaUrl::parse(&format!("kafka://a:9092/docs?group=g&from={from}"))
                .expect("valid");
            assert_eq!(url.start_at_ms, Some(millis), "{from}");
            // Partitions with nothing from that time on start at their end.
            assert_eq!(url.start_from.as_deref(), Some("latest"), "{from}");
        }
    }

    fn mark(tracker: &mut Tracker, partition: i32, last: i64) -> Mark {
        let epoch = tracker.submitted("t", partition, last).expect("assigned");
        Mark {
            topic: "t".into(),
            partition,
            last_offset: last,
            epoch,
        }
    }

    #[test]
    fn commits_only_the_acknowledged_prefix_of_each_partition() {
        let mut tracker = Tracker::default();
        tracker.assign("t", 0);
        let first = mark(&mut tracker, 0, 9);
        let second = mark(&mut tracker, 0, 19);
        // Out-of-order acknowledgement: nothing is committable until the first part is in.
        tracker.acknowledged(&second);
        assert_eq!(tracker.to_commit(None).count(), 0);
        tracker.acknowledged(&first);
        let list = tracker.to_commit(None);
        let elem = list.find_partition("t", 0).expect("partition listed");
        assert_eq!(elem.offset(), Offset::Offset(20));
        tracker.committed(&list);
        assert_eq!(tracker.to_commit(None).count(), 0);
        assert!(tracker.idle());
    }

    #[test]
    fn acknowledgements_from_an_earlier_assignment_commit_nothing() {
        let mut tracker = Tracker::default();
        tracker.assign("t", 0);
        let stale = mark(&mut tracker, 0, 9);
        // Revoked and assigned again: the old in-flight part must not advance the new one.
        tracker.partitions.clear();
        tracker.assign("t", 0);
        let fresh = mark(&mut tracker, 0, 4);
        tracker.acknowledged(&stale);
        assert_eq!(tracker.to_commit(None).count(), 0);
        tracker.acknowledged(&fresh);
        let list = tracker.to_commit(None);
        assert_eq!(
            list.find_partition("t", 0).map(|e| e.offset()),
            Some(Offset::Offset(5))
        );
        // A partition not assigned here takes no submissions.
        assert!(tracker.submitted("t", 7, 1).is_none());
    }
}
