//! Prometheus metrics: the names every stage reports under, and the recorder behind `/metrics`.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Records offered to the pipeline by any source.
pub const RECORDS_IN: &str = "glossa_records_in_total";
/// Documents committed to the index.
pub const RECORDS_INDEXED: &str = "glossa_records_indexed_total";
/// Records rejected, labelled by `reason`.
pub const RECORDS_REJECTED: &str = "glossa_records_rejected_total";
/// Documents indexed per `lang`.
pub const DOCUMENTS_BY_LANGUAGE: &str = "glossa_documents_by_language_total";
/// Time to detect and route one chunk of records, in seconds.
pub const DETECT_SECONDS: &str = "glossa_detect_chunk_seconds";
/// Time of one index commit, in seconds.
pub const COMMIT_SECONDS: &str = "glossa_commit_seconds";
/// Segments of the embedded index that searches read (each query term is looked up in each).
pub const INDEX_SEGMENTS: &str = "glossa_index_segments";
/// Idle-time compactions of the embedded index completed.
pub const INDEX_COMPACTIONS: &str = "glossa_index_compactions_total";
/// Chunks waiting in front of a `stage`.
pub const QUEUE_DEPTH: &str = "glossa_queue_depth";
/// Records admitted and not yet acknowledged.
pub const IN_FLIGHT_RECORDS: &str = "glossa_in_flight_records";
/// HTTP ingest requests refused with 429 because the pipeline was full.
pub const INGEST_THROTTLED: &str = "glossa_ingest_throttled_total";
/// Search latency, in seconds.
pub const SEARCH_SECONDS: &str = "glossa_search_seconds";
/// Time of one phase of a search, in seconds: `phase` = `detect` (the query's language) or
/// `backend` (the index's own search, labelled by `backend`: `embedded` or `opensearch`).
pub const SEARCH_PHASE_SECONDS: &str = "glossa_search_phase_seconds";
/// Detected query languages by `result`: `hit` (the same text's answer under the same prior,
/// cached) or `miss` (detected).
pub const QUERY_LANGUAGE_CACHE: &str = "glossa_query_language_cache_total";
/// Detected query languages (cache misses whose candidates lingua weighed against the index's
/// prior) by whether the index's words were read: `read`, or `sure` (lingua and the prior were
/// confident enough without them).
pub const QUERY_LANGUAGE_WORDS: &str = "glossa_query_language_words_total";
/// Query words whose documents per language were wanted, by `result`: `hit` (remembered under
/// the same prior) or `miss` (read from the index).
pub const QUERY_LANGUAGE_WORD_CACHE: &str = "glossa_query_language_word_cache_total";
/// Searches answered, labelled by `status`.
pub const SEARCHES: &str = "glossa_searches_total";
/// Requests at the front door, by `key` (its name; `-` without one) and `outcome`: `allowed`,
/// `unauthenticated`, `revoked`, `forbidden`, `rate_limited`, `records_rate_limited`,
/// `address_rate_limited`, `origin_refused`.
pub const API_REQUESTS: &str = "glossa_api_requests_total";
/// Connections refused because `server.max_connections` were open.
pub const CONNECTIONS_REFUSED: &str = "glossa_connections_refused_total";
/// Open HTTP connections.
pub const CONNECTIONS_OPEN: &str = "glossa_connections_open";
/// Bytes held by the file dead-letter queue (every segment).
pub const DLQ_BYTES: &str = "glossa_dlq_bytes";
/// Work refused because the data directory's disk is under `limits.min_free_disk_mb`.
pub const DISK_REFUSALS: &str = "glossa_disk_full_refusals_total";

/// OpenSearch: the bulk indexer's adaptive concurrency limit (requests in flight allowed).
pub const BULK_CONCURRENCY: &str = "glossa_opensearch_bulk_concurrency";
/// OpenSearch: `_bulk` requests sent, each attempt counted.
pub const BULK_REQUESTS: &str = "glossa_opensearch_bulk_requests_total";
/// OpenSearch: whole bulk requests retried (429, 5xx, connection errors).
pub const BULK_REQUEST_RETRIES: &str = "glossa_opensearch_bulk_request_retries_total";
/// OpenSearch: documents retried after an item-level 429/5xx inside a 200 answer.
pub const BULK_ITEM_RETRIES: &str = "glossa_opensearch_bulk_item_retries_total";
/// OpenSearch: times the concurrency limit was lowered (backpressure from the cluster).
pub const BULK_BACKOFFS: &str = "glossa_opensearch_bulk_backoffs_total";
/// OpenSearch: time of one sink batch (bulk requests and retries), in seconds.
pub const BULK_BATCH_SECONDS: &str = "glossa_opensearch_bulk_batch_seconds";

/// Kafka: records received from the brokers.
pub const KAFKA_RECORDS_READ: &str = "glossa_kafka_records_read_total";
/// Kafka: messages between the committed offset and the end of a `topic`/`partition`.
pub const KAFKA_CONSUMER_LAG: &str = "glossa_kafka_consumer_lag";
/// Kafka: 1 while partitions are paused because the pipeline is full.
pub const KAFKA_PAUSED: &str = "glossa_kafka_paused";
/// Kafka: partitions whose fetching was restarted after they stalled with records left.
pub const KAFKA_FETCH_RESTARTS: &str = "glossa_kafka_fetch_restarts_total";
/// S3: objects read to their end (and acknowledged).
pub const S3_OBJECTS_DONE: &str = "glossa_s3_objects_done_total";
/// S3: records read from objects.
pub const S3_RECORDS_READ: &str = "glossa_s3_records_read_total";

/// Reindex: documents in the version being copied when the job started.
pub const REINDEX_TOTAL: &str = "glossa_reindex_documents";
/// Reindex: documents written to the new index version (catch-up passes included).
pub const REINDEX_COPIED: &str = "glossa_reindex_documents_copied_total";
/// Reindex: documents that could not be copied (in the dead-letter queue).
pub const REINDEX_FAILED: &str = "glossa_reindex_documents_failed_total";

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder once; later calls return the same handle.
pub fn install() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    10.0,
                ])
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .clone()
}

/// The Prometheus text exposition of every metric.
pub fn render() -> String {
    match install() {
        Some(handle) => {
            handle.run_upkeep();
            handle.render()
        }
        None => String::new(),
    }
}

/// The sum over every label set of the metric `name` in a Prometheus text exposition (what
/// [`render`] returns), for JSON views of the counters; 0 when it has no sample yet.
pub fn sum_of(exposition: &str, name: &str) -> f64 {
    exposition
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(name)?;
            let value = match rest.as_bytes().first()? {
                b' ' => rest,
                b'{' => rest.rsplit_once('}')?.1,
                _ => return None,
            };
            value.split_whitespace().next()?.parse::<f64>().ok()
        })
        .filter(|value| value.is_finite())
        .sum()
}

/// Adds to a counter by name (shorthand for the macro with a dynamic value).
pub fn counter_add(name: &'static str, value: u64) {
    metrics::counter!(name).increment(value);
}

#[cfg(test)]
mod tests {
    #[test]
    fn sums_a_metric_over_its_label_sets_only() {
        let text = "# TYPE glossa_records_in_total counter\n\
            glossa_records_in_total 7\n\
            glossa_records_rejected_total{reason=\"not_json\"} 2\n\
            glossa_records_rejected_total{reason=\"no_text\"} 3\n\
            glossa_records_rejected_total_other 100\n";
        assert_eq!(super::sum_of(text, "glossa_records_in_total"), 7.0);
        assert_eq!(super::sum_of(text, "glossa_records_rejected_total"), 5.0);
        assert_eq!(super::sum_of(text, "glossa_records_indexed_total"), 0.0);
    }
}
