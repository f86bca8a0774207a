//! Backend-neutral search request and response types, shared by the HTTP API and every backend.

use std::collections::BTreeMap;

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;

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
    pub text: String,
    /// Languages (ISO 639-1) whose fields the query is analyzed for, best first; empty when the
    /// language is undetermined, then only the generic field is searched. More than one when a
    /// short query is ambiguous between close languages (e.g. ru/uk/bg).
    pub langs: Vec<&'static str>,
    pub filters: Vec<Filter>,
    pub size: usize,
    pub cursor: Option<Cursor>,
    pub highlight: bool,
}

/// Where the previous page ended: hits sort by score, then by id hash, both descending.
#[derive(Clone, Debug, PartialEq)]
pub struct Cursor {
    pub score: f32,
    pub id_hash: u64,
    /// The embedded index snapshot the first page was served from, kept so pages stay consistent.
    pub generation: u64,
    /// The OpenSearch point in time the pages are served from (same purpose).
    pub pit: Option<String>,
}

/// Why a cursor string was refused.
#[derive(Debug, thiserror::Error)]
#[error("invalid cursor: pass back the `next_cursor` value of a previous answer unchanged")]
pub struct BadCursor;

impl Cursor {
    /// Opaque, URL-safe form handed to clients.
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(20);
        bytes.extend_from_slice(&self.score.to_le_bytes());
        bytes.extend_from_slice(&self.id_hash.to_le_bytes());
        bytes.extend_from_slice(&self.generation.to_le_bytes());
        if let Some(pit) = &self.pit {
            bytes.extend_from_slice(pit.as_bytes());
        }
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Parses what [`Cursor::encode`] produced.
    pub fn decode(text: &str) -> Result<Cursor, BadCursor> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| BadCursor)?;
        if bytes.len() < 20 {
            return Err(BadCursor);
        }
        let score = f32::from_le_bytes(bytes[0..4].try_into().map_err(|_| BadCursor)?);
        let id_hash = u64::from_le_bytes(bytes[4..12].try_into().map_err(|_| BadCursor)?);
        let generation = u64::from_le_bytes(bytes[12..20].try_into().map_err(|_| BadCursor)?);
        if !score.is_finite() {
            return Err(BadCursor);
        }
        let pit = match &bytes[20..] {
            [] => None,
            rest => Some(String::from_utf8(rest.to_vec()).map_err(|_| BadCursor)?),
        };
        Ok(Cursor {
            score,
            id_hash,
            generation,
            pit,
        })
    }
}

/// One page of results.
#[derive(Clone, Debug, Serialize)]
pub struct SearchResult {
    /// Number of documents matching the query and filters.
    pub total: u64,
    pub hits: Vec<Hit>,
    /// Matching documents per language.
    pub languages: BTreeMap<String, u64>,
    /// Pass back as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = Cursor {
            score: 1.25,
            id_hash: u64::MAX - 3,
            generation: 7,
            pit: None,
        };
        let decoded = Cursor::decode(&c.encode()).expect("own cursor decodes");
        assert_eq!(decoded, c);
        let with_pit = Cursor {
            pit: Some("o463QQEPZ2xvc3NhLXYxFmZ6".to_string()),
            ..c
        };
        assert_eq!(Cursor::decode(&with_pit.encode()).ok(), Some(with_pit));
        assert!(Cursor::decode("not a cursor!").is_err());
        assert!(Cursor::decode("AAAA").is_err());
    }
}
