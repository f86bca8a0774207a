//! `/v1/search` over OpenSearch, with the embedded backend's behaviour: the query text's parts
//! analyzed by each searched field's own analyzer (`multi_match`, `match_phrase`: plain text,
//! never a query language), the query language's field boosted, metadata filters, language
//! facets, highlights keyed by record field, and cursor pagination sorted by (score, id hash)
//! descending.
//!
//! Cursors and points in time: a first page is searched on the read alias and pins nothing, so
//! first pages cost no search context whatever the rate (a point in time per search would hit
//! the node's `search.max_open_pit_context`, 300 by default, at one search a second). When a
//! second page is first asked for, a point in time is opened, the query re-run on it from the
//! top, and the first page's hits compared with what was served (see [`crate::search::cursor`]):
//! the same, and every later page is read from that point in time; different, and the answer is
//! 410. Each worker holds at most `search.max_open_cursors` points in time; beyond that a second
//! page answers 503 with `Retry-After`. The last page closes its point in time.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Map, Value};

use super::client::{Client, OpenSearchError};
use crate::backend::SearchError;
use crate::route::{language_field, GENERIC_FIELD};
use crate::search::cursor::{digest_all, Cursor, Snapshot, FOREIGN_CURSOR, MAX_RECHECK_HITS};
use crate::search::text::{Occur, Part};
use crate::search::{
    Condition, Filter, Hit, SearchQuery, SearchResult, StoredDocument, TextQuery, TotalRelation,
    LANGUAGE_FIELD_BOOST, TRACK_TOTAL_HITS,
};

/// Longest highlighted fragment, in characters.
const FRAGMENT_CHARS: u32 = 200;
/// How long the cluster may count a query word's documents per language (`term_languages`):
/// a word held by millions of documents is left out rather than delaying the search.
const VOCABULARY_TIMEOUT: &str = "100ms";
/// Highlighting analyzes at most this many characters of a field.
const MAX_ANALYZER_OFFSET: u32 = 500_000;

/// Searches the read alias of one Glossa index.
pub struct OpenSearchSearch {
    client: Client,
    read_alias: String,
    keep_alive: Duration,
    /// Declared metadata fields: only these are indexed, so only these can be filtered on.
    filterable: BTreeSet<String>,
    pits: OpenPits,
}

/// The points in time this worker opened and has not closed, with when each expires unless a
/// page reads it again: the bound on the search contexts one worker holds on the cluster.
struct OpenPits {
    max: usize,
    open: Mutex<HashMap<String, Instant>>,
    next_reservation: std::sync::atomic::AtomicU64,
}

impl OpenPits {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        // Every change is a single map operation, so a panicking holder leaves it consistent.
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes a slot for a point in time about to be opened, or says when one frees up.
    fn reserve(&self, keep_alive: Duration) -> Result<String, SearchError> {
        let now = Instant::now();
        let mut open = self.lock();
        open.retain(|_, expires| *expires > now);
        if open.len() >= self.max {
            let soonest = open.values().min().copied().unwrap_or(now);
            return Err(SearchError::Busy {
                message: format!(
                    "this worker holds search.max_open_cursors = {} open cursors; page 2 of a search can be asked for again shortly",
                    self.max
                ),
                retry_after: soonest.saturating_duration_since(now).as_secs().max(1),
            });
        }
        let n = self
            .next_reservation
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let key = format!("reserved-{n}");
        open.insert(key.clone(), now + keep_alive);
        Ok(key)
    }

    /// Replaces a reservation by the point in time it became (or frees it: `pit` is `None`).
    fn settle(&self, reservation: &str, pit: Option<&str>, keep_alive: Duration) {
        let mut open = self.lock();
        open.remove(reservation);
        if let Some(pit) = pit {
            open.insert(pit.to_string(), Instant::now() + keep_alive);
        }
    }

    /// A page read `pit`: it stays open `keep_alive` longer (if this worker opened it).
    fn touch(&self, pit: &str, keep_alive: Duration) {
        if let Some(expires) = self.lock().get_mut(pit) {
            *expires = Instant::now() + keep_alive;
        }
    }

    fn forget(&self, pit: &str) {
        self.lock().remove(pit);
    }
}

impl From<OpenSearchError> for SearchError {
    fn from(error: OpenSearchError) -> Self {
        match error {
            OpenSearchError::Status { status, reason }
                if status == 404 && reason.contains("search_context_missing")
                    || reason.contains("No search context found") =>
            {
                SearchError::ExpiredCursor(
                    "cursor expired: its point in time is closed (search.cursor_keep_alive_seconds passed since its last page); search again without a cursor".into(),
                )
            }
            // Overload and context exhaustion are the cluster's state, not the caller's mistake.
            OpenSearchError::Status { status, reason }
                if status == 429
                    || reason.contains("too many Point In Time")
                    || reason.contains("rejected_execution") =>
            {
                SearchError::Busy {
                    message: format!("the cluster is overloaded: {reason}"),
                    retry_after: 1,
                }
            }
            OpenSearchError::Status { status, reason } if (400..500).contains(&status) => {
                SearchError::InvalidQuery(format!("the cluster refused the query: {reason}"))
            }
            other => SearchError::Unavailable(other.to_string()),
        }
    }
}

/// Where a page starts, and on what.
enum Start<'a> {
    Top,
    /// On the cursor's point in time, after its position.
    After(&'a Cursor, &'a str),
    /// First page 2: open a point in time and re-check the served hits on it.
    Recheck(&'a Cursor),
}

impl OpenSearchSearch {
    /// The cluster client, for operator reads beside searches (reindex jobs).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// `keep_alive` is how long a cursor stays usable between two pages; `max_open_cursors`
    /// bounds the points in time this worker holds; `filterable` are the metadata fields the
    /// mapping declares.
    pub fn new(
        client: Client,
        read_alias: String,
        keep_alive: Duration,
        max_open_cursors: usize,
        filterable: BTreeSet<String>,
    ) -> Self {
        OpenSearchSearch {
            client,
            read_alias,
            keep_alive,
            filterable,
            pits: OpenPits {
                max: max_open_cursors.max(1),
                open: Mutex::new(HashMap::new()),
                next_reservation: Default::default(),
            },
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

    /// For each term of the generic field, how many documents of each language hold it: every
    /// one, counted by the cluster in one `_msearch`, within [`VOCABULARY_TIMEOUT`]. A term
    /// whose count timed out is left out (empty): partial counts come from the oldest
    /// documents first, so their languages would mislead. No sampling here: OpenSearch cannot
    /// sample postings evenly, and `terminate_after` would count the oldest documents only.
    pub async fn term_languages(
        &self,
        terms: &[String],
    ) -> Result<Vec<BTreeMap<String, u64>>, SearchError> {
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let mut body = String::new();
        for term in terms {
            let search = json!({
                "size": 0,
                "track_total_hits": false,
                "timeout": VOCABULARY_TIMEOUT,
                "query": {"term": {GENERIC_FIELD: term}},
                "aggs": {"languages": {"terms": {"field": "lang", "size": 200}}},
            });
            body.push_str("{}\n");
            body.push_str(&search.to_string());
            body.push('\n');
        }
        let path = format!("{}/_msearch", self.read_alias);
        let answer = self
            .client
            .ndjson_once(Method::POST, &path, body)
            .await
            .map_err(SearchError::from)?;
        let responses = answer["responses"].as_array().cloned().unwrap_or_default();
        Ok((0..terms.len())
            .map(|i| {
                let response = responses.get(i).unwrap_or(&Value::Null);
                if response["timed_out"].as_bool() != Some(false) {
                    return BTreeMap::new();
                }
                response["aggregations"]["languages"]["buckets"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|b| {
                        Some((b["key"].as_str()?.to_string(), b["doc_count"].as_u64()?))
                    })
                    .collect()
            })
            .collect())
    }

    /// The document with this id, through the read alias (an `ids` search, which works
    /// whichever index version the alias points at).
    pub async fn get(&self, id: &str) -> Result<Option<StoredDocument>, SearchError> {
        let body = json!({"query": {"ids": {"values": [id]}}, "size": 1});
        let path = format!("{}/_search", self.read_alias);
        let answer = self
            .client
            .json_once(Method::POST, &path, Some(&body))
            .await
            .map_err(SearchError::from)?;
        Ok(answer["hits"]["hits"].get(0).map(stored))
    }

    /// One page of results.
    pub async fn search(&self, query: &SearchQuery) -> Result<SearchResult, SearchError> {
        let start = match &query.cursor {
            None => Start::Top,
            Some(cursor) => match &cursor.snapshot {
                Snapshot::Live => Start::Recheck(cursor),
                Snapshot::Pit(pit) => Start::After(cursor, pit),
                Snapshot::Generation(_) => {
                    return Err(SearchError::InvalidQuery(FOREIGN_CURSOR.into()))
                }
            },
        };
        let keep_alive = format!("{}s", self.keep_alive.as_secs().max(1));
        let mut body = request_body(query, &self.filterable)?;
        let (path, pit, skip) = match start {
            Start::Top => (format!("{}/_search", self.read_alias), None, 0),
            Start::After(cursor, pit) => {
                body["pit"] = json!({"id": pit, "keep_alive": keep_alive});
                body["search_after"] = json!([cursor.score, cursor.id_hash as i64]);
                self.pits.touch(pit, self.keep_alive);
                ("_search".to_string(), Some(pit.to_string()), 0)
            }
            Start::Recheck(cursor) => {
                if !cursor.recheckable(query.size) {
                    return Err(SearchError::ExpiredCursor(format!(
                        "cursor expired: a cursor that pinned no snapshot can be continued only within the first {MAX_RECHECK_HITS} hits; search again without a cursor"
                    )));
                }
                let served = cursor.served as usize;
                let pit = self.open_pit(&keep_alive).await?;
                body["pit"] = json!({"id": pit, "keep_alive": keep_alive});
                body["size"] = json!(served + query.size);
                ("_search".to_string(), Some(pit), served)
            }
        };
        let answer = match self
            .client
            .json_once(Method::POST, &path, Some(&body))
            .await
        {
            Ok(answer) => answer,
            Err(e) => {
                if let (Some(pit), 1..) = (&pit, skip) {
                    self.close_pit(pit);
                }
                return Err(e.into());
            }
        };
        let mut hits = answer["hits"]["hits"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        // A cursor carries a point-in-time id the client could have forged: never answer with
        // documents of an index that is not this one.
        if let Some(foreign) = hits.iter().find(|h| !self.is_own_index(&h["_index"])) {
            return Err(SearchError::InvalidQuery(format!(
                "invalid cursor: it reads index {}, not {}; search again without it",
                foreign["_index"], self.read_alias
            )));
        }
        let (served, digest) = match (&query.cursor, skip) {
            (None, _) => (0, 0),
            (Some(cursor), 0) => (cursor.served, cursor.digest),
            (Some(cursor), skip) => {
                if !cursor.served_the_same(hits.iter().map(sort_id_hash)) {
                    if let Some(pit) = &pit {
                        self.close_pit(pit);
                    }
                    return Err(SearchError::ExpiredCursor(format!(
                        "the index changed since this search's first page: the {} hits already served are no longer ordered the same way; search again without a cursor",
                        cursor.served
                    )));
                }
                hits.drain(..skip);
                (cursor.served, cursor.digest)
            }
        };
        let full = query.size > 0 && hits.len() == query.size;
        let next_cursor = match hits.last() {
            Some(last) if full => {
                let snapshot = match answer["pit_id"].as_str().or(pit.as_deref()) {
                    Some(pit) => Snapshot::Pit(pit.to_string()),
                    None => Snapshot::Live,
                };
                let sort = &last["sort"];
                Some(
                    Cursor {
                        score: sort[0].as_f64().unwrap_or(0.0) as f32,
                        id_hash: sort_id_hash(last),
                        served: served.saturating_add(hits.len() as u32),
                        digest: digest_all(digest, hits.iter().map(sort_id_hash)),
                        snapshot,
                    }
                    .encode(),
                )
            }
            _ => {
                // The last page: nothing will read this point in time again.
                if let Some(pit) = &pit {
                    self.close_pit(pit);
                }
                None
            }
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
            });
        let total = &answer["hits"]["total"];
        Ok(SearchResult {
            total: total["value"].as_u64().unwrap_or(0),
            total_relation: TotalRelation::exact_if(total["relation"] != "gte"),
            hits: hits.iter().map(hit).collect(),
            languages,
            next_cursor,
            backend_took_ms: answer["took"].as_f64().unwrap_or(0.0),
        })
    }

    /// True for the read alias's own versions (`NAME` or `NAME-vN`).
    fn is_own_index(&self, index: &Value) -> bool {
        index.as_str().is_some_and(|name| {
            name == self.read_alias
                || name
                    .strip_prefix(&self.read_alias)
                    .and_then(|rest| rest.strip_prefix("-v"))
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
    }

    async fn open_pit(&self, keep_alive: &str) -> Result<String, SearchError> {
        let reservation = self.pits.reserve(self.keep_alive)?;
        let opened = self
            .client
            .json_once(
                Method::POST,
                &format!(
                    "{}/_search/point_in_time?keep_alive={keep_alive}",
                    self.read_alias
                ),
                None,
            )
            .await;
        let pit = opened.map_err(SearchError::from).and_then(|answer| {
            answer["pit_id"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| SearchError::Unavailable("the cluster returned no pit_id".into()))
        });
        self.pits
            .settle(&reservation, pit.as_deref().ok(), self.keep_alive);
        pit
    }

    /// Closes `pit` in the background (best effort: it expires on its own otherwise).
    fn close_pit(&self, pit: &str) {
        self.pits.forget(pit);
        let client = self.client.clone();
        let body = json!({"pit_id": [pit]});
        tokio::spawn(async move {
            if let Err(e) = client
                .json(Method::DELETE, "_search/point_in_time", Some(&body))
                .await
            {
                tracing::debug!(error = %e, "closing a point in time failed; it will expire");
            }
        });
    }
}

/// The id hash a hit sorted by (its second sort value; a signed long on the cluster).
fn sort_id_hash(hit: &Value) -> u64 {
    hit["sort"][1].as_i64().unwrap_or(0) as u64
}

/// The search body of `query`, without PIT or `search_after`.
fn request_body(query: &SearchQuery, filterable: &BTreeSet<String>) -> Result<Value, SearchError> {
    let language_fields: Vec<String> = query
        .langs
        .iter()
        .filter_map(|code| language_field(code))
        .collect();
    // Every language field on the cluster is analyzed by a dedicated analyzer (stemmer,
    // kuromoji, nori, smartcn): all get the full boost, scaled down with the detector's
    // confidence.
    let boost = query.language_boost(LANGUAGE_FIELD_BOOST);
    let mut fields: Vec<(&str, f64)> = language_fields
        .iter()
        .map(|f| (f.as_str(), boost))
        .collect();
    fields.push((GENERIC_FIELD, 1.0));
    let text_query = text_query(&query.query, &fields);
    let filters = query
        .filters
        .iter()
        .map(|filter| filter_clause(filter, filterable))
        .collect::<Result<Vec<_>, _>>()?;
    let mut body = json!({
        "size": query.size,
        "query": {"bool": {"must": [text_query], "filter": filters}},
        "sort": [{"_score": "desc"}, {"id_hash": "desc"}],
    });
    if query.facets {
        body["track_total_hits"] = json!(true);
        body["aggs"] = json!({"languages": {"terms": {"field": "lang", "size": 200}}});
    } else {
        // The embedded backend's bound too: the same `total` and `total_relation` from both.
        body["track_total_hits"] = json!(TRACK_TOTAL_HITS);
    }
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

/// The query for the text alone, with the embedded backend's semantics: each part analyzed by
/// every field's own search analyzer, scores summed across fields.
fn text_query(query: &TextQuery, fields: &[(&str, f64)]) -> Value {
    let parts = match query {
        TextQuery::All => return json!({"match_all": {}}),
        TextQuery::Parts(parts) => parts,
    };
    let (mut should, mut must, mut must_not) = (Vec::new(), Vec::new(), Vec::new());
    for part in parts {
        let clause = part_query(part, fields);
        match part.occur {
            Occur::Should => should.push(clause),
            Occur::Must => must.push(clause),
            Occur::MustNot => must_not.push(clause),
        }
    }
    if should.is_empty() && must.is_empty() {
        if must_not.is_empty() {
            // Nothing but punctuation: a valid query that matches nothing.
            return json!({"match_none": {}});
        }
        must.push(json!({"match_all": {}}));
    }
    let minimum = usize::from(must.is_empty() && !should.is_empty());
    json!({"bool": {
        "should": should,
        "must": must,
        "must_not": must_not,
        "minimum_should_match": minimum,
    }})
}

/// One part on every field: its terms OR-ed (AND-ed when required) per field, or a phrase.
fn part_query(part: &Part, fields: &[(&str, f64)]) -> Value {
    if part.phrase {
        let per_field: Vec<Value> = fields
            .iter()
            .map(|(field, boost)| {
                json!({"match_phrase": {*field: {"query": part.text, "boost": boost}}})
            })
            .collect();
        return json!({"bool": {"should": per_field, "minimum_should_match": 1}});
    }
    let operator = if part.occur == Occur::Must {
        "and"
    } else {
        "or"
    };
    let fields: Vec<String> = fields
        .iter()
        .map(|(field, boost)| format!("{field}^{boost:.3}"))
        .collect();
    json!({"multi_match": {
        "query": part.text,
        "type": "most_fields",
        "fields": fields,
        "operator": operator,
    }})
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

/// The stored document of a search hit (an `ids` search's, or a query's).
fn stored(raw: &Value) -> StoredDocument {
    let source = &raw["_source"];
    StoredDocument {
        id: source["id"].as_str().unwrap_or_default().to_string(),
        lang: source["lang"].as_str().unwrap_or("und").to_string(),
        lang_confidence: source["lang_confidence"].as_f64().unwrap_or(0.0),
        lang_method: source["lang_method"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        ingested_at: source["ingested_at"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        source: super::document::original_record(source),
    }
}

/// One hit: the stored document turned back into the original record, and highlights keyed by
/// the record's text field names.
fn hit(raw: &Value) -> Hit {
    let source = &raw["_source"];
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
    let stored = stored(raw);
    Hit {
        id: stored.id,
        lang: stored.lang,
        lang_confidence: stored.lang_confidence,
        score: raw["_score"].as_f64().unwrap_or(0.0) as f32,
        highlights,
        source: stored.source,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, reason: &str) -> SearchError {
        OpenSearchError::Status {
            status,
            reason: reason.to_string(),
        }
        .into()
    }

    #[test]
    fn cluster_errors_blame_the_right_side() {
        // The cluster's state: 503 with Retry-After, never the caller's fault.
        assert!(matches!(
            status(
                429,
                "rejected_execution_exception: rejected execution of search"
            ),
            SearchError::Busy { .. }
        ));
        assert!(matches!(
            status(400, "illegal_argument_exception: Trying to create too many Point In Time contexts. Must be less than or equal to: [300]"),
            SearchError::Busy { .. }
        ));
        assert!(matches!(
            status(503, "search_phase_execution_exception: all shards failed"),
            SearchError::Unavailable(_)
        ));
        // A point in time that expired: 410, search again.
        assert!(matches!(
            status(
                404,
                "search_context_missing_exception: No search context found for id [1]"
            ),
            SearchError::ExpiredCursor(_)
        ));
        // The caller's own mistakes stay 4xx.
        assert!(matches!(
            status(
                400,
                "parse_exception: failed to parse date field [yesterday]"
            ),
            SearchError::InvalidQuery(_)
        ));
    }

    #[test]
    fn only_own_index_versions_are_accepted_from_a_cursor() {
        let client =
            super::super::connect(&Default::default()).expect("a client for the default URL");
        let search = OpenSearchSearch::new(
            client,
            "glossa".into(),
            Duration::from_secs(1),
            1,
            BTreeSet::new(),
        );
        for own in ["glossa", "glossa-v1", "glossa-v12"] {
            assert!(search.is_own_index(&json!(own)), "{own}");
        }
        for other in [
            "glossa-write",
            "glossa-v",
            "glossa-v1x",
            "other-v1",
            "glossa2-v1",
        ] {
            assert!(!search.is_own_index(&json!(other)), "{other}");
        }
    }
}
