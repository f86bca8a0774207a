//! Index backends: where documents are stored and searched. The embedded Tantivy index is the
//! default; the OpenSearch cluster backend sits beside it behind the same pipeline and API.

pub mod embedded;
pub mod opensearch;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::search::{SearchQuery, SearchResult, StoredDocument};

/// The index the API searches: one variant per backend, so handlers stay backend-neutral.
#[derive(Clone)]
pub enum SearchBackend {
    Embedded(Arc<embedded::EmbeddedIndex>),
    OpenSearch(Arc<opensearch::search::OpenSearchSearch>),
}

/// Why a search failed: the caller's mistake (400), a cursor that cannot go on (410: search
/// again), a backend out of capacity for now (503 with `Retry-After`), or a backend that is
/// unreachable or failing (503).
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("{0}")]
    InvalidQuery(String),
    #[error("{0}")]
    ExpiredCursor(String),
    #[error("{message}")]
    Busy { message: String, retry_after: u64 },
    #[error("the index is unavailable: {0}")]
    Unavailable(String),
}

impl SearchBackend {
    /// Runs one search; CPU-bound embedded searches run on the blocking pool.
    pub async fn search(&self, query: SearchQuery) -> Result<SearchResult, SearchError> {
        match self {
            SearchBackend::Embedded(index) => {
                let index = index.clone();
                tokio::task::spawn_blocking(move || index.search(&query))
                    .await
                    .map_err(|e| SearchError::Unavailable(e.to_string()))?
                    .map_err(|e| match e {
                        embedded::EmbeddedError::InvalidQuery(message) => {
                            SearchError::InvalidQuery(message)
                        }
                        embedded::EmbeddedError::ExpiredCursor(message) => {
                            SearchError::ExpiredCursor(message)
                        }
                        other => SearchError::Unavailable(other.to_string()),
                    })
            }
            SearchBackend::OpenSearch(search) => search.search(&query).await,
        }
    }

    /// For each generic-field term, documents per language among those holding it (embedded:
    /// at most `sample`, spread evenly along the term's postings; OpenSearch: all of them,
    /// within a time limit): the index's vocabulary as evidence of a query's language.
    pub async fn term_languages(
        &self,
        terms: Vec<String>,
        sample: usize,
    ) -> Result<Vec<BTreeMap<String, u64>>, SearchError> {
        match self {
            SearchBackend::Embedded(index) => {
                let index = index.clone();
                tokio::task::spawn_blocking(move || index.term_languages(&terms, sample))
                    .await
                    .map_err(|e| SearchError::Unavailable(e.to_string()))?
                    .map_err(|e| SearchError::Unavailable(e.to_string()))
            }
            SearchBackend::OpenSearch(search) => search.term_languages(&terms).await,
        }
    }

    /// The document with this id, if the index holds it.
    pub async fn get(&self, id: &str) -> Result<Option<StoredDocument>, SearchError> {
        match self {
            SearchBackend::Embedded(index) => {
                let (index, id) = (index.clone(), id.to_string());
                tokio::task::spawn_blocking(move || index.get(&id))
                    .await
                    .map_err(|e| SearchError::Unavailable(e.to_string()))?
                    .map_err(|e| SearchError::Unavailable(e.to_string()))
            }
            SearchBackend::OpenSearch(search) => search.get(id).await,
        }
    }

    /// The backend's name, for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            SearchBackend::Embedded(_) => "embedded",
            SearchBackend::OpenSearch(_) => "opensearch",
        }
    }

    /// Documents in the index (searchable ones), for health checks and logs.
    pub async fn num_docs(&self) -> Result<u64, SearchError> {
        match self {
            SearchBackend::Embedded(index) => Ok(index.num_docs()),
            SearchBackend::OpenSearch(search) => search
                .count()
                .await
                .map_err(|e| SearchError::Unavailable(e.to_string())),
        }
    }
}
