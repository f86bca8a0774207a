//! Backend-neutral search request and response types, shared by the HTTP API and every backend:
//! the query text as read ([`text`]) and the cursors that page through results ([`cursor`]).

pub(crate) mod cursor;
pub mod filter;
pub(crate) mod text;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use cursor::{BadCursor, Cursor, Snapshot};
pub use filter::{parse_filters, FilterError};
pub use text::{Syntax, TextQuery};

/// Matches a search without `facets` counts exactly; past it, the count stops (`total` becomes
/// a lower bound) and a top page skips the documents that cannot reach it (block-max WAND on
/// the embedded index). OpenSearch's default `track_total_hits` is the same number.
pub const TRACK_TOTAL_HITS: u64 = 10_000;

/// A metadata filter; `field` is a metadata key (dots reach into nested objects) or `lang`.
#[derive(Clone, Debug, PartialEq)]
pub struct Filter {
    pub field: String,
    pub condition: Condition,
}

/// What a filter requires of its field.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    /// Exact value: keyword, number, boolean or RFC 3339 date.
    Equals(Value),
    /// Numeric or date range; at least one bound is set.
    Range(RangeBounds),
}

/// Bounds of a range filter, as JSON numbers or RFC 3339 date strings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeBounds {
    pub gte: Option<Value>,
    pub gt: Option<Value>,
    pub lte: Option<Value>,
    pub lt: Option<Value>,
}

/// A resolved search: the API has already validated it and chosen the query language.
#[derive(Clone, Debug)]
pub struct SearchQuery {
    /// The query text as the user typed it (after NFC), for detection and logs.
    pub text: String,
    /// The same text, read: what the backends build their queries from.
    pub query: TextQuery,
    /// Languages (ISO 639-1) whose fields the query is analyzed for, best first; empty when the
    /// language is undetermined, then only the generic field is searched. More than one when a
    /// short query is ambiguous between close languages (e.g. ru/uk/bg).
    pub langs: Vec<&'static str>,
    /// How sure the choice of `langs` is: 1 when the caller gave the language, the detector's
    /// confidence otherwise. The language fields' boost over the generic field is scaled by it,
    /// so a short query detected as the wrong language does not bury the right documents.
    pub lang_confidence: f64,
    pub filters: Vec<Filter>,
    pub size: usize,
    pub cursor: Option<Cursor>,
    pub highlight: bool,
    /// Count every match per language, and `total` exactly: a pass over all matches, where a
    /// plain search stops counting at 10,000 and skips what cannot make its page.
    pub facets: bool,
}

impl SearchQuery {
    /// Every document, no hits: its answer's `total` and per-language counts are what the
    /// query-language prior and the operator view read.
    pub fn count_all() -> SearchQuery {
        SearchQuery {
            text: "*".to_owned(),
            query: TextQuery::All,
            langs: Vec::new(),
            lang_confidence: 0.0,
            filters: Vec::new(),
            size: 0,
            cursor: None,
            highlight: false,
            facets: true,
        }
    }

    /// A language field's boost over the generic field: `full` (at most
    /// [`LANGUAGE_FIELD_BOOST`]) when the language is certain,
    /// scaled down toward 1 (no boost) with `lang_confidence`. Both backends use it.
    pub fn language_boost(&self, full: f64) -> f64 {
        1.0 + (full - 1.0) * self.lang_confidence.clamp(0.0, 1.0)
    }
}

/// How much more a match in the query language's own field counts than a generic match, when
/// the language is certain and the field's analysis adds to the generic field's (stemming,
/// morphology). Both backends; tuned on the relevance suite (`docs/benchmarks/relevance.md`:
/// embedded 2, 4, 6 gave 0.851, 0.855, 0.854; OpenSearch 2, 3, 4 gave 0.842, 0.845, 0.845).
pub const LANGUAGE_FIELD_BOOST: f64 = 4.0;

/// One page of results.
#[derive(Clone, Debug, Serialize)]
pub struct SearchResult {
    /// Number of documents matching the query and filters: exact when `total_relation` is
    /// `eq`, a lower bound when `gte` (a search without `facets` stops counting at 10,000).
    pub total: u64,
    pub total_relation: TotalRelation,
    pub hits: Vec<Hit>,
    /// Matching documents per language; only when the search asked for `facets`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub languages: Option<BTreeMap<String, u64>>,
    /// Pass back as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// The backend's own share of `took_ms`, so callers and benchmarks see Glossa's overhead:
    /// OpenSearch's `took` (the last request's, on a page that needed two); embedded, the
    /// built query run on Tantivy with its stored documents and snippets.
    pub backend_took_ms: f64,
}

/// Whether a result's `total` counts every match (`eq`) or is a lower bound (`gte`), named as
/// OpenSearch's `hits.total.relation`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TotalRelation {
    Eq,
    Gte,
}

impl TotalRelation {
    /// `Eq` when the count is exact, `Gte` otherwise.
    pub fn exact_if(exact: bool) -> TotalRelation {
        if exact {
            TotalRelation::Eq
        } else {
            TotalRelation::Gte
        }
    }
}

/// One matching document.
#[derive(Clone, Debug, Serialize)]
pub struct Hit {
    pub id: String,
    pub lang: String,
    pub lang_confidence: f64,
    pub score: f32,
    /// Text field -> fragment with matches wrapped in `<b>` (HTML-escaped).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub highlights: BTreeMap<String, String>,
    /// The record as it was ingested.
    pub source: Value,
}

/// One document fetched by id: the record as ingested and what Glossa decided about it.
#[derive(Clone, Debug, Serialize)]
pub struct StoredDocument {
    pub id: String,
    pub lang: String,
    pub lang_confidence: f64,
    /// How the language was decided (`fast`, `accurate`, `hint`, `script`, ...).
    pub lang_method: String,
    /// RFC 3339 time the document was indexed.
    pub ingested_at: String,
    /// The record as it was ingested.
    pub source: Value,
}
