//! `kafka://` URLs: parsed once, for the Kafka source and the Kafka dead-letter queue alike.

use std::collections::BTreeMap;

/// A `kafka://` URL that cannot be used, and why.
#[derive(Debug, thiserror::Error)]
#[error("invalid Kafka source URL `{url}`: {reason} (expected kafka://HOST:PORT[,HOST:PORT]/TOPIC[,TOPIC]?group=GROUP)")]
pub struct KafkaUrlError {
    pub url: String,
    pub reason: String,
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
            brokers: brokers.to_string(),
            topics,
            group: group.ok_or_else(|| bad("no consumer group (?group=NAME)"))?,
            properties,
            start_from,
            start_at_ms,
        })
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
}
