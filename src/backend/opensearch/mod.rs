//! The OpenSearch cluster backend: a multi-node HTTP client, a bulk indexer with adaptive
//! concurrency, the index layout (mappings generated from the language table), index bootstrap
//! behind aliases, and search.

pub mod bootstrap;
pub(crate) mod bulk;
pub mod bulk_load;
pub mod client;
pub(crate) mod document;
pub(crate) mod mappings;
pub(crate) mod search;

use std::time::Duration;

use crate::config::{Config, OpenSearchSettings};
use bulk::{BulkConfig, BulkIndexer};
use client::{Client, ClientConfig, OpenSearchError, SigV4};
use mappings::MappingOptions;

/// A client for the configured nodes and credentials.
pub fn connect(settings: &OpenSearchSettings) -> Result<Client, OpenSearchError> {
    let urls = settings
        .urls
        .iter()
        .map(|url| {
            url::Url::parse(url).map_err(|e| {
                OpenSearchError::Config(format!("opensearch.urls: {url:?} is not a URL: {e}"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut client = ClientConfig::new(urls);
    client.username = settings.username.clone();
    client.password = settings.password.clone();
    client.ca_cert = settings.ca_cert.clone();
    client.insecure_skip_verify = settings.insecure_skip_verify;
    client.request_timeout = Duration::from_millis(settings.request_timeout_ms.max(1));
    client.sigv4 = settings.aws_region.as_ref().map(|region| SigV4 {
        region: region.clone(),
        service: settings.aws_service.clone(),
    });
    Client::new(client)
}

/// The mapping of a new index version: a field for every language the detector can return
/// (`languages`), the configured metadata fields, shards and replicas.
pub fn mapping_options(config: &Config, languages: &[&'static str]) -> MappingOptions {
    let settings = &config.opensearch;
    MappingOptions {
        languages: languages
            .iter()
            .filter_map(|code| crate::languages::get(code))
            .collect(),
        shards: settings.shards,
        replicas: settings.replicas,
        metadata_fields: config.filterable_metadata(),
        unknown_metadata: settings.unknown_metadata,
        icu_fallback: settings.icu_fallback,
        icu_instead: Default::default(),
    }
}

/// A bulk indexer for the configured cluster, and the largest request it builds: the configured
/// `bulk_max_bytes`, lowered below 90% of the cluster's `http.max_content_length` so no request
/// is refused as too large (413).
pub async fn bulk_indexer(client: &Client, settings: &OpenSearchSettings) -> (BulkIndexer, usize) {
    let mut bulk_bytes = settings.bulk_max_bytes;
    if let Some(limit) = bootstrap::max_content_length(client).await {
        let usable = limit / 10 * 9;
        if bulk_bytes > usable {
            tracing::warn!(
                configured = bulk_bytes,
                cluster_limit = limit,
                "opensearch.bulk_max_bytes is over 90% of the cluster's http.max_content_length; using {usable}"
            );
            bulk_bytes = usable;
        }
    }
    let indexer = BulkIndexer::new(
        client.clone(),
        BulkConfig {
            max_request_bytes: bulk_bytes,
            max_concurrency: settings.bulk_max_concurrency,
            max_retry_time: Duration::from_secs(settings.max_retry_seconds),
            ..BulkConfig::default()
        },
    );
    (indexer, bulk_bytes)
}
