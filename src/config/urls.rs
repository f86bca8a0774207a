//! The URLs a configuration names: the stream sources (`kafka://`, `s3://`) and the dead-letter
//! target. Parsed once, as the configuration is read, so every stage gets a typed value and a
//! bad URL fails at start-up with the setting to fix.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A `kafka://` URL that cannot be used, and why.
#[derive(Debug, thiserror::Error)]
#[error("invalid Kafka source URL `{url}`: {reason} (expected kafka://HOST:PORT[,HOST:PORT]/TOPIC[,TOPIC]?group=GROUP)")]
pub struct KafkaUrlError {
    pub url: String,
    pub reason: String,
}

/// A parsed `kafka://` URL, for the Kafka source and the Kafka dead-letter queue alike. Its
/// `Debug` names the properties without their values (a SASL password may be one).
#[derive(Clone, PartialEq)]
pub struct KafkaUrl {
    /// The URL as written, properties included: what the configuration writes back (never
    /// shown: `Display` leaves the properties out).
    text: String,
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
    pub fn parse(text: &str) -> Result<KafkaUrl, KafkaUrlError> {
        let bad = |reason: &str| KafkaUrlError {
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
            text: text.to_string(),
            brokers: brokers.to_string(),
            topics,
            group: group.ok_or_else(|| bad("no consumer group (?group=NAME)"))?,
            properties,
            start_from,
            start_at_ms,
        })
    }
}

impl std::fmt::Debug for KafkaUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaUrl")
            .field("brokers", &self.brokers)
            .field("topics", &self.topics)
            .field("group", &self.group)
            .field("properties", &self.properties.keys().collect::<Vec<_>>())
            .field("start_from", &self.start_from)
            .field("start_at_ms", &self.start_at_ms)
            .finish()
    }
}

/// `kafka://BROKERS/TOPICS?group=GROUP`: what logs and summaries show, without the properties
/// (a SASL password may be one).
impl std::fmt::Display for KafkaUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "kafka://{}/{}?group={}",
            self.brokers,
            self.topics.join(","),
            self.group
        )
    }
}

/// An `s3://` URL that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("invalid S3 source URL `{0}` (expected s3://BUCKET[/PREFIX])")]
pub struct S3UrlError(pub String);

/// A parsed `s3://BUCKET/PREFIX` URL.
#[derive(Clone, Debug, PartialEq)]
pub struct S3Url {
    pub bucket: String,
    /// Folder-like prefix without surrounding slashes (empty: the whole bucket).
    pub prefix: String,
}

impl S3Url {
    /// Parses `s3://BUCKET[/PREFIX]`.
    pub fn parse(text: &str) -> Result<S3Url, S3UrlError> {
        let rest = text
            .strip_prefix("s3://")
            .ok_or_else(|| S3UrlError(text.to_string()))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() || rest.contains('?') {
            return Err(S3UrlError(text.to_string()));
        }
        Ok(S3Url {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        })
    }
}

impl std::fmt::Display for S3Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// A stream source URL that cannot be used, and why.
#[derive(Debug, thiserror::Error)]
pub enum StreamUrlError {
    #[error("unknown source `{0}`: use kafka://HOST:PORT/TOPIC?group=NAME or s3://BUCKET/PREFIX")]
    Unknown(String),
    #[error(transparent)]
    Kafka(#[from] KafkaUrlError),
    #[error(transparent)]
    S3(#[from] S3UrlError),
}

/// A streaming source named by URL: `kafka://...` or `s3://...` (the `sources` setting, and
/// `glossa ingest --from`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum StreamUrl {
    Kafka(KafkaUrl),
    S3(S3Url),
}

impl StreamUrl {
    /// Parses a source URL by its scheme.
    pub fn parse(text: &str) -> Result<StreamUrl, StreamUrlError> {
        if text.starts_with("kafka://") {
            Ok(StreamUrl::Kafka(KafkaUrl::parse(text)?))
        } else if text.starts_with("s3://") {
            Ok(StreamUrl::S3(S3Url::parse(text)?))
        } else {
            Err(StreamUrlError::Unknown(text.to_string()))
        }
    }
}

impl std::fmt::Display for StreamUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamUrl::Kafka(url) => url.fmt(f),
            StreamUrl::S3(url) => url.fmt(f),
        }
    }
}

impl TryFrom<String> for StreamUrl {
    type Error = StreamUrlError;
    fn try_from(text: String) -> Result<StreamUrl, StreamUrlError> {
        StreamUrl::parse(&text)
    }
}

impl From<StreamUrl> for String {
    fn from(url: StreamUrl) -> String {
        match url {
            StreamUrl::Kafka(url) => url.text,
            StreamUrl::S3(url) => url.to_string(),
        }
    }
}

/// A `dlq.target` that names no store.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting dlq.target `{0}`: use `file`, `opensearch[:INDEX]` or kafka://HOST:PORT/TOPIC[?group=REPLAY_GROUP]")]
pub struct DlqTargetError(pub String);

/// Where dead letters are kept (`dlq.target`): one variant per store.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DlqTarget {
    /// `file`: segments in the data directory.
    File,
    /// A Kafka topic every worker shares; its `group` (default `glossa-dlq-replay`) replays it.
    Kafka(KafkaUrl),
    /// An index on the configured cluster (`None`: `<opensearch.index>-dead-letters`).
    OpenSearch(Option<String>),
}

impl DlqTarget {
    /// Reads `file`, `opensearch[:INDEX]` or `kafka://HOST:PORT/TOPIC[?group=REPLAY_GROUP]`.
    pub fn parse(text: &str) -> Result<DlqTarget, DlqTargetError> {
        if text == "file" {
            return Ok(DlqTarget::File);
        }
        if text == "opensearch" {
            return Ok(DlqTarget::OpenSearch(None));
        }
        if let Some(index) = text.strip_prefix("opensearch:") {
            let valid = !index.is_empty()
                && index == index.to_lowercase()
                && !index.starts_with(['_', '-', '+'])
                && !index.contains(['/', '\\', '*', '?', '"', '<', '>', '|', ' ', ',', '#']);
            return match valid {
                true => Ok(DlqTarget::OpenSearch(Some(index.to_string()))),
                false => Err(DlqTargetError(text.to_string())),
            };
        }
        let with_group = match text.contains("group=") {
            true => text.to_string(),
            false if text.contains('?') => format!("{text}&group=glossa-dlq-replay"),
            false => format!("{text}?group=glossa-dlq-replay"),
        };
        match KafkaUrl::parse(&with_group) {
            Ok(url) if url.topics.len() == 1 => Ok(DlqTarget::Kafka(url)),
            _ => Err(DlqTargetError(text.to_string())),
        }
    }
}

impl std::fmt::Display for DlqTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DlqTarget::File => f.write_str("file"),
            DlqTarget::Kafka(url) => url.fmt(f),
            DlqTarget::OpenSearch(None) => f.write_str("opensearch"),
            DlqTarget::OpenSearch(Some(index)) => write!(f, "opensearch:{index}"),
        }
    }
}

impl TryFrom<String> for DlqTarget {
    type Error = DlqTargetError;
    fn try_from(text: String) -> Result<DlqTarget, DlqTargetError> {
        DlqTarget::parse(&text)
    }
}

impl From<DlqTarget> for String {
    fn from(target: DlqTarget) -> String {
        match target {
            DlqTarget::Kafka(url) => url.text,
            other => other.to_string(),
        }
    }
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
        let debug = format!("{:?}", StreamUrl::Kafka(url.clone()));
        assert!(
            debug.contains("security.protocol") && !debug.contains("SASL_SSL"),
            "property values stay out of logs: {debug}"
        );
        let shown = StreamUrl::Kafka(url.clone()).to_string();
        assert_eq!(shown, "kafka://a:9092,b:9092/docs,more?group=g1");
        let written = String::from(StreamUrl::Kafka(url.clone()));
        assert!(written.contains("security.protocol=SASL_SSL"), "{written}");
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
    fn s3_urls_name_a_bucket_and_a_prefix() {
        let url = S3Url::parse("s3://bucket/logs/2026/").expect("valid");
        assert_eq!(
            (url.bucket.as_str(), url.prefix.as_str()),
            ("bucket", "logs/2026")
        );
        assert_eq!(S3Url::parse("s3://bucket").expect("valid").prefix, "");
        assert!(S3Url::parse("s3:///x").is_err());
        assert!(S3Url::parse("http://bucket/x").is_err());
    }

    #[test]
    fn dlq_targets_name_a_file_an_index_or_a_topic() {
        assert_eq!(DlqTarget::parse("file").ok(), Some(DlqTarget::File));
        assert_eq!(
            DlqTarget::parse("opensearch").ok(),
            Some(DlqTarget::OpenSearch(None))
        );
        assert_eq!(
            DlqTarget::parse("opensearch:glossa-dead").ok(),
            Some(DlqTarget::OpenSearch(Some("glossa-dead".into())))
        );
        for bad in [
            "opensearch:",
            "opensearch:Upper",
            "opensearch:_x",
            "opensearch:a b",
            "s3://x",
        ] {
            assert!(DlqTarget::parse(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            DlqTarget::parse("kafka://127.0.0.1:9092/dead"),
            Ok(DlqTarget::Kafka(url)) if url.group == "glossa-dlq-replay"
        ));
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
}
