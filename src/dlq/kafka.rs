//! Dead letters in a Kafka topic: shared by every worker of a cluster deployment, durable once
//! acknowledged by the in-sync replicas (the producer is idempotent, `acks=all`). A replay reads
//! the topic from its replay group's committed offsets to the end and commits them once every
//! letter was acknowledged again; letters that fail again are produced anew.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};

use super::{now_rfc3339, DeadLetter, DlqError};
use crate::config::KafkaSettings;
use crate::config::KafkaUrl;
use crate::kafka::{client_config, committed_offsets};
use crate::record::Rejection;

/// Longest wait for the brokers to acknowledge queued letters.
const SYNC_TIMEOUT: Duration = Duration::from_secs(60);

/// Counts deliveries that failed, so a sync can refuse to acknowledge their records.
#[derive(Default)]
struct Deliveries {
    failed: Arc<AtomicU64>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _opaque: ()) {
        if let Err((error, _)) = result {
            tracing::error!(%error, "a dead letter was not delivered to Kafka");
            self.failed.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn kafka_err(topic: &str) -> impl Fn(rdkafka::error::KafkaError) -> DlqError + '_ {
    move |e| DlqError::Kafka {
        topic: topic.to_string(),
        message: e.to_string(),
    }
}

/// Produces dead letters to one topic.
pub struct KafkaQueue {
    producer: BaseProducer<Deliveries>,
    topic: String,
    failed: Arc<AtomicU64>,
}

impl KafkaQueue {
    /// Connects a producer (lazily: brokers are first contacted at the first letter).
    pub fn open(url: &KafkaUrl, settings: &KafkaSettings) -> Result<KafkaQueue, DlqError> {
        let topic = url.topics[0].clone();
        let deliveries = Deliveries::default();
        let failed = deliveries.failed.clone();
        let producer = client_config(url, settings, &[])
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("linger.ms", "5")
            .create_with_context(deliveries)
            .map_err(kafka_err(&topic))?;
        Ok(KafkaQueue {
            producer,
            topic,
            failed,
        })
    }

    /// Queues one letter (keyed by its source position).
    pub fn push(&mut self, rejection: &Rejection) -> Result<(), DlqError> {
        let letter = DeadLetter {
            time: now_rfc3339(),
            rejection: rejection.clone(),
        };
        let payload = serde_json::to_vec(&letter).unwrap_or_default();
        let key = rejection.position.to_string();
        let deadline = Instant::now() + SYNC_TIMEOUT;
        loop {
            let record = BaseRecord::to(&self.topic).key(&key).payload(&payload);
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((rdkafka::error::KafkaError::MessageProduction(code), _))
                    if code == rdkafka::types::RDKafkaErrorCode::QueueFull
                        && Instant::now() < deadline =>
                {
                    self.producer.poll(Duration::from_millis(100));
                }
                Err((error, _)) => return Err(kafka_err(&self.topic)(error)),
            }
        }
    }

    /// Waits until every queued letter is acknowledged; fails if any was not delivered.
    pub fn sync(&mut self) -> Result<(), DlqError> {
        self.producer
            .flush(SYNC_TIMEOUT)
            .map_err(kafka_err(&self.topic))?;
        let failed = self.failed.swap(0, Ordering::SeqCst);
        if failed > 0 {
            return Err(DlqError::Kafka {
                topic: self.topic.clone(),
                message: format!("{failed} dead letters were not delivered"),
            });
        }
        Ok(())
    }
}

/// The letters not yet replayed, with the offsets that mark them replayed.
pub struct KafkaReplay {
    pub letters: Vec<DeadLetter>,
    consumer: BaseConsumer,
    done: TopicPartitionList,
    topic: String,
}

impl KafkaReplay {
    /// Reads the topic from the replay group's committed offsets (its start when none) to the
    /// end as it is now.
    pub fn take(url: &KafkaUrl, settings: &KafkaSettings) -> Result<KafkaReplay, DlqError> {
        let topic = url.topics[0].clone();
        let err = kafka_err(&topic);
        let consumer: BaseConsumer = client_config(url, settings, &[])
            .set("group.id", &url.group)
            .set("enable.auto.commit", "false")
            .create()
            .map_err(&err)?;
        let timeout = Duration::from_millis(settings.connect_timeout_ms);
        let metadata = consumer
            .fetch_metadata(Some(&topic), timeout)
            .map_err(&err)?;
        let partitions: Vec<i32> = metadata
            .topics()
            .iter()
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        let mut wanted = TopicPartitionList::new();
        for partition in &partitions {
            wanted.add_partition(&topic, *partition);
        }
        let committed = committed_offsets(&consumer, &wanted, timeout).map_err(&err)?;
        let mut assignment = TopicPartitionList::new();
        let mut ends = Vec::new();
        for partition in &partitions {
            let (low, high) = consumer
                .fetch_watermarks(&topic, *partition, timeout)
                .map_err(&err)?;
            let start = match committed
                .find_partition(&topic, *partition)
                .map(|e| e.offset())
            {
                Some(Offset::Offset(n)) => n.max(low),
                _ => low,
            };
            if start < high {
                assignment
                    .add_partition_offset(&topic, *partition, Offset::Offset(start))
                    .map_err(&err)?;
                ends.push((*partition, high));
            }
        }
        let mut letters = Vec::new();
        let mut done = TopicPartitionList::new();
        if assignment.count() > 0 {
            consumer.assign(&assignment).map_err(&err)?;
            let mut remaining: std::collections::HashMap<i32, i64> = ends.iter().copied().collect();
            let deadline = Instant::now() + timeout.max(Duration::from_secs(10));
            while !remaining.is_empty() {
                if Instant::now() > deadline {
                    return Err(DlqError::Kafka {
                        topic: topic.clone(),
                        message: "timed out reading the dead letters".into(),
                    });
                }
                let Some(message) = consumer.poll(Duration::from_millis(500)) else {
                    continue;
                };
                let message = message.map_err(&err)?;
                if let Some(letter) = message
                    .payload()
                    .and_then(|p| serde_json::from_slice::<DeadLetter>(p).ok())
                {
                    letters.push(letter);
                }
                if let Some(end) = remaining.get(&message.partition()) {
                    if message.offset() + 1 >= *end {
                        remaining.remove(&message.partition());
                    }
                }
            }
        }
        for (partition, high) in ends {
            done.add_partition_offset(&topic, partition, Offset::Offset(high))
                .map_err(&err)?;
        }
        Ok(KafkaReplay {
            letters,
            consumer,
            done,
            topic: topic.clone(),
        })
    }

    /// Marks the letters read as replayed.
    pub fn finish(self) -> Result<(), DlqError> {
        if self.done.count() == 0 {
            return Ok(());
        }
        self.consumer
            .commit(&self.done, CommitMode::Sync)
            .map_err(kafka_err(&self.topic))
    }
}
