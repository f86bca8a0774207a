//! `/v1/search` over OpenSearch, with the embedded backend's behaviour: the query analyzed per
//! language on that language's field (boosted) plus the generic field, metadata filters,
//! language facets, highlights keyed by record field, and cursor pagination sorted by
//! (score, id hash) descending.
//!
//! Cursors and points in time: a first page is searched on the read alias directly; only when
//! it is full (a next page may exist) is a point in time opened, and every later page is served
//! from it with `search_after`, so pages 2.. see one snapshot. A PIT per search would exhaust the
//! cluster's open-PIT limit under load (300 by default). The cost: a document indexed between
//! the first page and the PIT's opening can shift scores slightly across that one boundary.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Map, Value};

use super::client::{Client, OpenSearchError};
use crate::backend::SearchError;
use crate::route::{language_field, GENERIC_FIELD};
use crate::search::{Condition, Cursor, Filter, Hit, SearchQuery, SearchResult};

/// How much more a match in the query language's own field counts than a generic match (the
/// embedded backend uses the same).
const LANGUAGE_FIELD_BOOST: u32 = 2;
/// Longest highlighted fragment, in characters.
const FRAGMENT_CHARS: u32 = 200;
/// Highlighting analyzes at most this many characters of a field.
const MAX_ANALYZER_OFFSET: u32 = 500_000;

/// Searches the read alias of one Glossa index.
pub struct OpenSearchSearch {
    client: Client,
    read_alias: String,
    keep_alive: Duration,
    /// Declared metadata fields: only these are indexed, so only these can be filtered on.
    filterable: BTreeSet<String>,
}

impl From<OpenSearchError> for SearchError {
    fn from(error: OpenSearchError) -> Self {
        match error {
            OpenSearchError::Status { status, reason }
                if status == 404 && reason.contains("search_context_missing")
                    || reason.contains("No search context found") =>
            {
                SearchError::ExpiredCursor(
                    "the cursor's snapshot has expired; search again without a cursor".into(),
                )
            }
            OpenSearchError::Status { status, reason } if (400..500).contains(&status) => {
                SearchError::InvalidQuery(format!("the cluster refused the query: {reason}"))
            }
            other => SearchError::Unavailable(other.to_string()),
        }
    }
}

impl OpenSearchSearch {
    /// `keep_alive` is how long a cursor stays usable between two pages; `filterable` are the
    /// metadata fields the mapping declares.
    pub fn new(
        client: Client,
        read_alias: String,
        keep_alive: Duration,
        filterable: BTreeSet<String>,
    ) -> Self {
        OpenSearchSearch {
            client,
            read_alias,
            keep_alive,
            filterable,
        }
    }

    /// Searchable documents behind the read alias.
    pub async fn count(&self) -> Result<u64, OpenSearchError> {
        let answer = self
            .client
            .json(Method::GET, &format!("{}/_count", self.read_alias), None)
            .await?;
        Ok(answer["count"].as_u64().unwrap_or(0))
    }

    /// One page of results.
    pub async fn search(&self, query: &SearchQuery) -> Result<SearchResult, SearchError> {
        let keep_alive = format!("{}s", self.keep_alive.as_secs().max(1));
        let mut body = request_body(query, &self.filterable)?;
        let path = match &query.cursor {
            Some(cursor) => {
                let pit = cursor.pit.clone().ok_or_else(|| {
                    SearchError::InvalidQuery(
                        "invalid cursor: it was not issued by this index; search again without it"
                            .into(),
                    )
                })?;
                body["pit"] = json!({"id": pit, "keep_alive": keep_alive});
                body["search_after"] = json!([cursor.score, cursor.id_hash as i64]);
                "_search".to_string()
            }
            None => format!("{}/_search", self.read_alias),
        };
        let answer = self.client.json(Method::POST, &path, Some(&body)).await?;
        let hits = answer["hits"]["hits"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let next_cursor = match (query.size, hits.last()) {
            (size, Some(last)) if size > 0 && hits.len() == size => {
                let pit = match answer["pit_id"].as_str() {
                    Some(pit) => pit.to_string(),
                    None => self.open_pit(&keep_alive).await?,
                };
                let sort = &last["sort"];
                Some(
                    Cursor {
                        score: sort[0].as_f64().unwrap_or(0.0) as f32,
                        id_hash: sort[1].as_i64().unwrap_or(0) as u64,
                        generation: 0,
                        pit: Some(pit),
                    }
                    .encode(),
                )
            }
            _ => None,
        };
        let languages = answer["aggregations"]["languages"]["buckets"]
            .as_array()
            .map(|buckets| {
                buckets
                    .iter()
                    .filter_map(|b| {
                        Some((b["key"].as_str()?.to_string(), b["doc_count"].as_u64()?))
                    })
                    .collect::<BTreeMap<_, _>>()
            })
            .unwrap_or_default();
        Ok(SearchResult {
            total: answer["hits"]["total"]["value"].as_u64().unwrap_or(0),
            hits: hits.iter().map(hit).collect(),
            languages,
            next_cursor,
        })
    }

    async fn open_pit(&self, keep_alive: &str) -> Result<String, SearchError> {
        let answer = self
            .client
            .json(
                Method::POST,
                &format!(
                    "{}/_search/point_in_time?keep_alive={keep_alive}",
                    self.read_alias
                ),
                None,
            )
            .await?;
        answer["pit_id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| SearchError::Unavailable("the cluster returned no pit_id".into()))
    }
}

/// The search body of `query`, without PIT or `search_after`.
fn request_body(query: &SearchQuery, filterable: &BTreeSet<String>) -> Result<Value, SearchError> {
    let language_fields: Vec<String> = query
        .langs
        .iter()
        .filter_map(|code| language_field(code))
        .collect();
    let text_query = if query.text.trim() == "*" {
        json!({"match_all": {}})
    } else {
        let mut fields: Vec<String> = language_fields
            .iter()
            .map(|f| format!("{f}^{LANGUAGE_FIELD_BOOST}"))
            .collect();
        fields.push(GENERIC_FIELD.to_string());
        // No NOT operator: with OR as the default, `-word` would match nearly every document
        // (tantivy's parser, on the embedded side, has the same leniency without that trap).
        json!({"simple_query_string": {
            "query": query.text,
            "fields": fields,
            "default_operator": "or",
            "lenient": true,
            "flags": "AND|OR|PHRASE|PREFIX|PRECEDENCE|ESCAPE|WHITESPACE|FUZZY|NEAR|SLOP",
        }})
    };
    let filters = query
        .filters
        .iter()
        .map(|filter| filter_clause(filter, filterable))
        .collect::<Result<Vec<_>, _>>()?;
    let mut body = json!({
        "size": query.size,
        "track_total_hits": true,
        "query": {"bool": {"must": [text_query], "filter": filters}},
        "sort": [{"_score": "desc"}, {"id_hash": "desc"}],
        "aggs": {"languages": {"terms": {"field": "lang", "size": 200}}},
    });
    if query.highlight {
        let mut fields = Map::new();
        for field in language_fields
            .iter()
            .map(String::as_str)
            .chain([GENERIC_FIELD])
        {
            fields.insert(field.to_string(), json!({}));
        }
        body["highlight"] = json!({
            "fields": fields,
            "pre_tags": ["<b>"],
            "post_tags": ["</b>"],
            "encoder": "html",
            "fragment_size": FRAGMENT_CHARS,
            "number_of_fragments": 3,
            "require_field_match": false,
            // Without it, one field over 1,000,000 characters (records may be 1 MiB) fails the
            // whole search with a 400; beyond the offset the text is just not highlighted.
            "max_analyzer_offset": MAX_ANALYZER_OFFSET,
        });
    }
    Ok(body)
}

fn filter_clause(filter: &Filter, filterable: &BTreeSet<String>) -> Result<Value, SearchError> {
    if filter.field == "lang" {
        return match &filter.condition {
            Condition::Equals(Value::String(code)) => Ok(json!({"term": {"lang": code}})),
            _ => Err(SearchError::InvalidQuery(
                "filter `lang` takes a language code such as \"de\"".into(),
            )),
        };
    }
    if !filterable.contains(&filter.field) {
        let known: Vec<&str> = filterable.iter().map(String::as_str).collect();
        return Err(SearchError::InvalidQuery(format!(
            "cannot filter on `{}`: it is not a declared metadata field (opensearch.metadata_fields); filterable: lang{}{}",
            filter.field,
            if known.is_empty() { "" } else { ", " },
            known.join(", ")
        )));
    }
    let field = format!("meta.{}", filter.field);
    Ok(match &filter.condition {
        Condition::Equals(value) => json!({"term": {field: value}}),
        Condition::Range(bounds) => {
            let mut range = Map::new();
            for (key, bound) in [
                ("gte", &bounds.gte),
                ("gt", &bounds.gt),
                ("lte", &bounds.lte),
                ("lt", &bounds.lt),
            ] {
                if let Some(value) = bound {
                    range.insert(key.to_string(), value.clone());
                }
            }
            json!({"range": {field: range}})
        }
    })
}

/// One hit: the stored document turned back into the original record, and highlights keyed by
/// the record's text field names.
fn hit(raw: &Value) -> Hit {
    let source = &raw["_source"];
    let lang = source["lang"].as_str().unwrap_or("und").to_string();
    let texts = super::document::stored_texts(source);
    let mut highlights = BTreeMap::new();
    if let Some(fields) = raw["highlight"].as_object() {
        for (field, fragments) in fields {
            for fragment in fragments.as_array().into_iter().flatten() {
                let Some(fragment) = fragment.as_str() else {
                    continue;
                };
                let plain = unescape_html(&fragment.replace("<b>", "").replace("</b>", ""));
                let name = texts
                    .iter()
                    .find(|(_, text)| text.as_str().is_some_and(|t| t.contains(plain.trim())))
                    .map(|(name, _)| name.to_string())
                    .unwrap_or_else(|| field.clone());
                highlights
                    .entry(name)
                    .or_insert_with(|| fragment.to_string());
            }
        }
    }
    Hit {
        id: source["id"].as_str().unwrap_or_default().to_string(),
        lang,
        lang_confidence: source["lang_confidence"].as_f64().unwrap_or(0.0),
        score: raw["_score"].as_f64().unwrap_or(0.0) as f32,
        highlights,
        source: super::document::original_record(source),
    }
}

fn unescape_html(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}
