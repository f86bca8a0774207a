//! What the Kafka source and the Kafka dead-letter queue share: the client settings every
//! connection gets, and reading a group's committed offsets (their `kafka://` URLs are parsed
//! with the configuration, [`crate::config::KafkaUrl`]). A leaf: it knows nothing of the
//! pipeline or of either user.

use std::time::{Duration, Instant};

use rdkafka::consumer::{Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::{ClientConfig, TopicPartitionList};

use crate::config::{KafkaSettings, KafkaUrl};

/// A client configuration for `url`'s brokers: `own` settings (what the caller needs, such as
/// a consumer's manual commits), then the operator's `kafka.properties` and the URL's own
/// properties, which win over everything (security settings, tuning).
pub(crate) fn client_config(
    url: &KafkaUrl,
    settings: &KafkaSettings,
    own: &[(&str, String)],
) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &url.brokers);
    for (key, value) in own {
        config.set(*key, value);
    }
    for (key, value) in settings.properties.iter().chain(url.properties.iter()) {
        config.set(key, value);
    }
    config
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
