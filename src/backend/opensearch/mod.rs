//! The OpenSearch cluster backend: a multi-node HTTP client, a bulk indexer with adaptive
//! concurrency, the index layout (mappings generated from the language table), index bootstrap
//! behind aliases, and search.

pub mod bootstrap;
pub mod bulk;
pub mod bulk_load;
pub mod client;
pub mod document;
pub mod mappings;
pub mod search;

use std::time::Duration;

use crate::config::{Config, OpenSearchSettings};
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
        metadata_fields: settings.metadata_fields.clone(),
        unknown_metadata: settings.unknown_metadata,
        icu_fallback: settings.icu_fallback,
        icu_instead: Default::default(),
    }
}
