//! BM25 statistics of a language field counted over the documents that have the field, as
//! Lucene (so the OpenSearch backend) counts them. Tantivy divides every field's tokens by all
//! the index's documents: a language field that 1 document in 16 has would seem 16 times
//! shorter on average than it is, so its length normalization would punish every document of
//! that language as if it were very long, and its terms would all look rare.

use tantivy::query::{Bm25StatisticsProvider, EnableScoring, Query, Weight};
use tantivy::schema::Field;
use tantivy::{Searcher, Term};

/// A query on one language field, scored with that field's own document count (`docs`, the
/// documents of its language: only they are routed into it). Its weight is the inner query's,
/// so a union of such term queries keeps Tantivy's block-max pruning.
#[derive(Debug)]
pub struct OwnDocCount {
    pub query: Box<dyn Query>,
    pub docs: u64,
}

impl Clone for OwnDocCount {
    fn clone(&self) -> Self {
        OwnDocCount {
            query: self.query.box_clone(),
            docs: self.docs,
        }
    }
}

impl Query for OwnDocCount {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        match scoring {
            EnableScoring::Enabled {
                searcher,
                statistics_provider,
            } => {
                let own = FieldDocs {
                    index: statistics_provider,
                    docs: self.docs,
                };
                self.query
                    .weight(EnableScoring::enabled_from_statistics_provider(
                        &own, searcher,
                    ))
            }
            disabled @ EnableScoring::Disabled { .. } => self.query.weight(disabled),
        }
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.query.query_terms(visitor);
    }
}

/// The index's statistics with the document count of one field.
struct FieldDocs<'a> {
    index: &'a dyn Bm25StatisticsProvider,
    docs: u64,
}

impl Bm25StatisticsProvider for FieldDocs<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        self.index.total_num_tokens(field)
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        // Never 0: the average length divides by it.
        Ok(self.docs.max(1))
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        // Never above the count (BM25's idf asserts it), whatever a document's routing was.
        Ok(self.index.doc_freq(term)?.min(self.docs.max(1)))
    }
}

/// How many documents (deleted ones included, like the token and term counts) are in
/// `language`: the documents its field holds.
pub fn language_docs(
    searcher: &Searcher,
    lang_field: Field,
    language: &str,
) -> tantivy::Result<u64> {
    searcher.doc_freq(&Term::from_field_text(lang_field, language))
}
