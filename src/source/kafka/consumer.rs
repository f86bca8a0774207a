//! The consumer group member: its settings, its rebalance and statistics callbacks, the checks
//! before it starts, pausing, committing and knowing when it has caught up. Blocking librdkafka
//! calls run on blocking threads.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::KafkaError;
use rdkafka::statistics::Statistics;
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};

use super::offsets::Tracker;
use super::KafkaSourceError;
use crate::config::KafkaSettings;
use crate::config::KafkaUrl;
use crate::kafka::committed_offsets;
use crate::metrics as m;
use crate::source::{lock, Progress};

/// The group member's settings: manual commits of acknowledged offsets only, prefetch bounded
/// by `kafka.max_prefetch_kbytes`, statistics for the lag metric.
pub(super) fn consumer_config(
    url: &KafkaUrl,
    settings: &KafkaSettings,
    chunk_records: usize,
) -> ClientConfig {
    let start_from = url.start_from.as_deref().unwrap_or(&settings.start_from);
    crate::kafka::client_config(
        url,
        settings,
        &[
            ("group.id", url.group.clone()),
            ("client.id", "glossa".into()),
            // Offsets are committed by this source, only for acknowledged records.
            ("enable.auto.commit", "false".into()),
            ("enable.auto.offset.store", "false".into()),
            ("auto.offset.reset", start_from.to_string()),
            (
                "queued.max.messages.kbytes",
                settings.max_prefetch_kbytes.max(1).to_string(),
            ),
            (
                "queued.min.messages",
                (chunk_records * 4).max(1000).to_string(),
            ),
            (
                "statistics.interval.ms",
                settings.stats_interval_ms.to_string(),
            ),
        ],
    )
}

/// librdkafka callbacks: rebalances (commit, track, re-pause) and statistics (lag metric).
pub(super) struct SourceContext {
    pub(super) tracker: Arc<Mutex<Tracker>>,
    pub(super) paused: Arc<AtomicBool>,
    pub(super) progress: Arc<Progress>,
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

/// This source's consumer, with its callbacks.
pub(super) type GroupConsumer = StreamConsumer<SourceContext>;

/// Fails fast, with the reason, when the brokers cannot be reached or refuse this client, or a
/// topic does not exist: a batch job must not wait forever for an assignment that cannot come.
pub(super) async fn check_topics(
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
pub(super) async fn start_group_at(
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

/// Pauses or resumes every assigned partition (once per change of state), with the reason
/// in the log and the `glossa_kafka_paused` gauge.
pub(super) fn set_paused(consumer: &GroupConsumer, paused: &AtomicBool, pause: bool, why: &str) {
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
pub(super) async fn commit(
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

/// An assigned partition this member has not read to its end.
#[derive(Debug)]
pub(super) struct Behind {
    pub(super) topic: String,
    pub(super) partition: i32,
    /// The next offset this member will read (its position, else its group's committed offset,
    /// else the partition's first offset).
    pub(super) at: i64,
    /// The partition's high watermark.
    pub(super) high: i64,
}

/// The assigned partitions not yet read to their high watermark: empty when this member has
/// read everything it was assigned; `None` with no assignment or when the brokers do not
/// answer (nothing can be concluded).
pub(super) async fn behind(consumer: &Arc<GroupConsumer>) -> Option<Vec<Behind>> {
    let consumer = consumer.clone();
    tokio::task::spawn_blocking(move || {
        let timeout = Duration::from_secs(5);
        let assignment = consumer.assignment().ok()?;
        if assignment.count() == 0 {
            return None;
        }
        let positions = consumer.position().ok()?;
        let committed = consumer.committed(timeout).ok();
        let mut behind = Vec::new();
        for elem in assignment.elements() {
            let (topic, partition) = (elem.topic(), elem.partition());
            let (low, high) = consumer.fetch_watermarks(topic, partition, timeout).ok()?;
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
                behind.push(Behind {
                    topic: topic.to_string(),
                    partition,
                    at,
                    high,
                });
            }
        }
        Some(behind)
    })
    .await
    .ok()
    .flatten()
}

/// Restarts fetching of partitions that have records left but deliver none although they are
/// not paused: pauses and resumes each again, then seeks it to `next` (the offset after the
/// last record read from it) or to where the consumer stands. Why: librdkafka can leave a
/// partition paused after quick pause/resume cycles (librdkafka issues 5591 and 2190; seen
/// here under a full pipeline), and a consumer that waits for it would wait forever.
/// Re-reading a record is harmless (stable ids); skipping one cannot happen, since `next`
/// follows the last record read.
pub(super) async fn restart_fetch(
    consumer: &Arc<GroupConsumer>,
    stalled: Vec<Behind>,
    next: &std::collections::HashMap<(String, i32), i64>,
) {
    let consumer = consumer.clone();
    let targets: Vec<(Behind, i64)> = stalled
        .into_iter()
        .map(|b| {
            let from = next
                .get(&(b.topic.clone(), b.partition))
                .copied()
                .unwrap_or(b.at);
            (b, from)
        })
        .collect();
    let _ = tokio::task::spawn_blocking(move || {
        for (b, from) in targets {
            tracing::warn!(
                topic = %b.topic,
                partition = b.partition,
                next = from,
                end = b.high,
                "a Kafka partition with records left delivered none while not paused; restarting its fetch"
            );
            metrics::counter!(m::KAFKA_FETCH_RESTARTS).increment(1);
            let mut list = TopicPartitionList::new();
            list.add_partition(&b.topic, b.partition);
            let restarted = consumer
                .pause(&list)
                .and_then(|()| consumer.resume(&list))
                .and_then(|()| {
                    consumer.seek(
                        &b.topic,
                        b.partition,
                        Offset::Offset(from),
                        Duration::from_secs(5),
                    )
                });
            if let Err(error) = restarted {
                tracing::warn!(%error, topic = %b.topic, partition = b.partition, "cannot restart the partition's fetch; trying again later");
            }
        }
    })
    .await;
}
