//! Delete by query (`glossa delete`): the documents a search finds, counted first, then deleted
//! through the pipeline like any other delete (in order with writes of the same ids, answered
//! once durable), on either backend. The query is read and its language chosen exactly as the
//! search API does, so a delete removes what the same search shows.

use std::sync::Arc;

use crate::backend::{SearchBackend, SearchError};
use crate::pipeline::{Outcome, PipelineError, PipelineHandle};
use crate::query_language::{self, QueryLanguage, QueryLanguages, Vocabulary};
use crate::record::RawRecord;
use crate::search::{Cursor, Filter, SearchQuery, Syntax, TextQuery};

/// Ids read per search page while collecting the matches.
const PAGE_SIZE: usize = 1000;

/// What to delete: a query as the search API takes it, and filters.
#[derive(Clone, Debug)]
pub struct Selection {
    pub text: String,
    pub syntax: Syntax,
    /// The query's language; detected when `None`.
    pub lang: Option<String>,
    pub filters: Vec<Filter>,
}

/// Why a delete by query did not run or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum DeleteError {
    #[error("{0}")]
    Query(String),
    #[error("give a query, a filter or both: a delete with neither would remove every document")]
    Everything,
    #[error("the search failed: {0}")]
    Search(#[from] SearchError),
    #[error("the deletes were not all acknowledged: {0}")]
    Pipeline(#[from] PipelineError),
    #[error(
        "the index changed while the matches were read (a cursor expired); run the delete again"
    )]
    Changed,
}

/// The documents a selection matches, as counted before anything is deleted.
#[derive(Debug)]
pub struct Plan {
    pub query_language: QueryLanguage,
    pub total: u64,
    query: SearchQuery,
}

impl Plan {
    /// Reads the selection like a search and counts its matches.
    pub async fn new(
        index: &SearchBackend,
        languages: &Arc<QueryLanguages>,
        selection: Selection,
    ) -> Result<Plan, DeleteError> {
        let text = crate::decode::nfc(&selection.text);
        // No query text: every document the filters select.
        let parsed = match text.trim() {
            "" => TextQuery::All,
            _ => TextQuery::parse(&text, selection.syntax)
                .map_err(|e| DeleteError::Query(e.to_string()))?,
        };
        if parsed == TextQuery::All && selection.filters.is_empty() {
            return Err(DeleteError::Everything);
        }
        let query_language = match selection.lang.as_deref().map(str::trim) {
            Some(code) if !code.is_empty() => {
                query_language::given(languages.router(), code).map_err(DeleteError::Query)?
            }
            _ if parsed == TextQuery::All => query_language::undetermined(),
            _ => {
                // The same prior a search would have now.
                languages.refresh(index).await?;
                // An operator's command over the whole index: its vocabulary is theirs to read.
                languages.detect(&text, index, Vocabulary::Read).await
            }
        };
        let query = SearchQuery {
            text,
            query: parsed,
            langs: query_language.searched.clone(),
            lang_confidence: query_language.confidence,
            filters: selection.filters,
            size: 0,
            cursor: None,
            highlight: false,
            // The plan states how many documents go: counted exactly, not up to a bound.
            facets: true,
        };
        let total = index.search(query.clone()).await?.total;
        Ok(Plan {
            query_language,
            total,
            query,
        })
    }

    /// The first `n` matching ids, best first (a dry run's sample).
    pub async fn sample(
        &self,
        index: &SearchBackend,
        n: usize,
    ) -> Result<Vec<String>, DeleteError> {
        let mut query = self.query.clone();
        query.size = n;
        let page = index.search(query).await?;
        Ok(page.hits.into_iter().map(|hit| hit.id).collect())
    }

    /// Every matching id, read page by page from one snapshot; `on_page` hears the running
    /// count.
    pub async fn ids(
        &self,
        index: &SearchBackend,
        mut on_page: impl FnMut(usize),
    ) -> Result<Vec<String>, DeleteError> {
        let mut ids = Vec::new();
        let mut query = self.query.clone();
        query.size = PAGE_SIZE;
        loop {
            let page = match index.search(query.clone()).await {
                Err(SearchError::ExpiredCursor(_)) => return Err(DeleteError::Changed),
                other => other?,
            };
            ids.extend(page.hits.into_iter().map(|hit| hit.id));
            on_page(ids.len());
            let Some(next) = page.next_cursor else {
                return Ok(ids);
            };
            let cursor = Cursor::decode(&next).map_err(|e| DeleteError::Query(e.to_string()))?;
            query.cursor = Some(cursor);
        }
    }
}

/// Deletes `ids` through the pipeline, as `source` (shown in logs and dead letters);
/// `on_acked` hears each acknowledged chunk's count.
pub async fn delete_ids(
    pipeline: &PipelineHandle,
    source: &str,
    ids: Vec<String>,
    mut on_acked: impl FnMut(u64) + Send + 'static,
) -> Result<Outcome, DeleteError> {
    let records = ids
        .into_iter()
        .zip(1..)
        .map(|(id, line)| RawRecord::delete_of(source, line, id))
        .collect();
    Ok(pipeline
        .submit_all(records, move |outcome| on_acked(outcome.deleted))
        .await?)
}
