//! `GET|POST /v1/search`: language-aware search. The query's language is the caller's `lang`, or
//! detected with the most accurate detector (queries are short, the hard case).

use std::time::Instant;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::gate::Caller;
use super::{ApiError, AppState};
use crate::auth::Tenant;
use crate::backend::SearchError;
use crate::metrics as m;
use crate::query_language::{self, QueryLanguage, Vocabulary};
use crate::search::{Cursor, SearchQuery, SearchResult, Syntax, TextQuery};

/// A slow-search log line shows at most this much of the query text.
const SLOW_LOG_QUERY_CHARS: usize = 200;
/// Page size when the caller gives none.
const DEFAULT_SIZE: usize = 10;
/// Largest `POST /v1/search` body; a search never needs more, and memory stays bounded.
const MAX_SEARCH_BODY_BYTES: usize = 1024 * 1024;

/// The JSON body of `POST /v1/search` (GET takes the same names as query parameters, with
/// filters as `filter.FIELD=VALUE` or `filter.FIELD.gte=VALUE`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchBody {
    q: Option<String>,
    /// `natural` (the default) or `advanced`; see [`crate::search::text`].
    syntax: Option<String>,
    lang: Option<String>,
    size: Option<usize>,
    cursor: Option<String>,
    highlight: Option<bool>,
    /// Also count the matches per language (`languages`) and `total` exactly; without it a
    /// search counts up to 10,000 matches and skips what cannot make its page.
    facets: Option<bool>,
    #[serde(default)]
    filters: serde_json::Map<String, Value>,
}

/// The search answer.
#[derive(Debug, Serialize)]
pub struct SearchAnswer {
    took_ms: f64,
    query_language: QueryLanguage,
    #[serde(flatten)]
    result: SearchResult,
}

pub async fn get_search(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<SearchAnswer>, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("invalid query string: {e}")))?;
    let mut body = SearchBody::default();
    for (key, value) in pairs {
        match key.as_str() {
            "q" => body.q = Some(value),
            "syntax" => body.syntax = Some(value),
            "lang" => body.lang = Some(value),
            "cursor" => body.cursor = Some(value),
            "size" => {
                body.size = Some(value.parse().map_err(|_| {
                    ApiError::bad_request(format!("size must be a whole number, got `{value}`"))
                })?)
            }
            "highlight" => body.highlight = Some(flag(&value)),
            "facets" => body.facets = Some(flag(&value)),
            _ => match key.strip_prefix("filter.") {
                Some(field) => crate::search::filter::add_text_filter(&mut body.filters, field, value)
                    .map_err(|e| ApiError::bad_request(e.to_string()))?,
                None => {
                    return Err(ApiError::bad_request(format!(
                        "unknown parameter `{key}`; known: q, syntax, lang, size, cursor, highlight, facets, filter.FIELD[.gte|.gt|.lte|.lt]"
                    )))
                }
            },
        }
    }
    search(state, tenant_of(caller), body).await
}

/// A GET flag: present empty, `true`, `1` or `yes` turn it on.
fn flag(value: &str) -> bool {
    matches!(value, "" | "true" | "1" | "yes")
}

/// The tenant a caller's searches are confined to.
fn tenant_of(caller: Option<Extension<Caller>>) -> Option<Tenant> {
    caller.and_then(|Extension(caller)| caller.tenant)
}

pub async fn post_search(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    body: Body,
) -> Result<Json<SearchAnswer>, ApiError> {
    let bytes = super::read_body(body, MAX_SEARCH_BODY_BYTES, &state.config, || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("search body is over the limit of {MAX_SEARCH_BODY_BYTES} bytes"),
        )
    })
    .await?;
    let body: SearchBody = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("invalid search body: {e}")))?;
    search(state, tenant_of(caller), body).await
}

async fn search(
    state: AppState,
    tenant: Option<Tenant>,
    body: SearchBody,
) -> Result<Json<SearchAnswer>, ApiError> {
    let started = Instant::now();
    let result = run(state, tenant, body, started).await;
    let status = match &result {
        Ok(_) => "ok",
        Err(e) if e.status.is_client_error() => "client_error",
        Err(_) => "server_error",
    };
    metrics::histogram!(m::SEARCH_SECONDS).record(started.elapsed().as_secs_f64());
    metrics::counter!(m::SEARCHES, "status" => status).increment(1);
    result
}

async fn run(
    state: AppState,
    tenant: Option<Tenant>,
    body: SearchBody,
    started: Instant,
) -> Result<Json<SearchAnswer>, ApiError> {
    let q = body.q.unwrap_or_default();
    // Checked before NFC too, so normalization never works on an unbounded string.
    if q.len() > crate::search::text::MAX_QUERY_BYTES {
        return Err(ApiError::bad_request(
            crate::search::text::QueryTextError::TooLong(q.len()).to_string(),
        ));
    }
    let text = crate::decode::nfc(&q);
    let syntax = match body.syntax.as_deref() {
        None | Some("") => Syntax::default(),
        Some(value) => Syntax::from_param(value).ok_or_else(|| {
            ApiError::bad_request(format!(
                "syntax `{value}` is not known; use `natural` (the default) or `advanced`"
            ))
        })?,
    };
    let parsed =
        TextQuery::parse(&text, syntax).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let max = state.config.limits.max_search_size;
    let size = body.size.unwrap_or(DEFAULT_SIZE);
    if size > max {
        return Err(ApiError::bad_request(format!(
            "size {size} is over the limit limits.max_search_size = {max}; page with `cursor` instead"
        )));
    }
    let cursor = body
        .cursor
        .as_deref()
        .map(Cursor::decode)
        .transpose()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let mut filters = crate::search::parse_filters(body.filters)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    if let Some(tenant) = &tenant {
        filters.push(tenant.filter());
    }
    let query_language = match body.lang.as_deref().map(str::trim) {
        Some(code) if !code.is_empty() => {
            query_language::given(state.query_languages.router(), code)
                .map_err(ApiError::bad_request)?
        }
        _ => {
            let detect_started = Instant::now();
            let vocabulary = match tenant {
                Some(_) => Vocabulary::Withheld,
                None => Vocabulary::Read,
            };
            let mut chosen = state
                .query_languages
                .detect(&text, &state.index, vocabulary)
                .await;
            if vocabulary == Vocabulary::Withheld {
                // The whole index's size is not a tenant's to read.
                chosen.prior = None;
            }
            metrics::histogram!(m::SEARCH_PHASE_SECONDS, "phase" => "detect")
                .record(detect_started.elapsed().as_secs_f64());
            chosen
        }
    };
    let query = SearchQuery {
        text,
        query: parsed,
        langs: query_language.searched.clone(),
        lang_confidence: query_language.confidence,
        filters,
        size,
        cursor,
        highlight: body.highlight.unwrap_or(true),
        facets: body.facets.unwrap_or(false),
    };
    let backend_started = Instant::now();
    let slow_query_ms = state.config.search.slow_query_ms;
    let slow_log_text = (slow_query_ms > 0).then(|| query.text.clone());
    let result = state.index.search(query).await;
    let backend_seconds = backend_started.elapsed().as_secs_f64();
    metrics::histogram!(m::SEARCH_PHASE_SECONDS, "phase" => "backend", "backend" => state.index.kind())
        .record(backend_seconds);
    let took_ms = started.elapsed().as_secs_f64() * 1000.0;
    if let Some(text) = slow_log_text {
        if took_ms >= slow_query_ms as f64 {
            let shown: String = text.chars().take(SLOW_LOG_QUERY_CHARS).collect();
            tracing::warn!(
                took_ms,
                backend_ms = backend_seconds * 1000.0,
                backend = state.index.kind(),
                query_language = query_language.lang,
                ok = result.is_ok(),
                q = %shown,
                "slow search (over search.slow_query_ms = {slow_query_ms})"
            );
        }
    }
    let mut result = result.map_err(|e| match e {
        SearchError::InvalidQuery(message) => ApiError::bad_request(message),
        SearchError::ExpiredCursor(message) => ApiError::new(StatusCode::GONE, message),
        SearchError::Busy {
            message,
            retry_after,
        } => ApiError {
            retry_after: Some(u32::try_from(retry_after).unwrap_or(u32::MAX)),
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message)
        },
        SearchError::Unavailable(_) => ApiError {
            retry_after: Some(1),
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        },
    })?;
    if let Some(tenant) = &tenant {
        result
            .hits
            .iter_mut()
            .for_each(|hit| tenant.present_hit(hit));
    }
    Ok(Json(SearchAnswer {
        took_ms,
        query_language,
        result,
    }))
}

/// `GET /v1/search/options`: what a search form can offer, so the search page builds its
/// filters from the configuration instead of guessing: the declared (filterable) metadata
/// fields with their types (`opensearch.metadata_fields`), the text fields, the languages a
/// query may be given in (`lang`), and the largest page. The tenant field is not offered: a tenant-scoped caller's searches are always filtered
/// on it.
pub async fn get_search_options(State(state): State<AppState>) -> Json<Value> {
    let mut filters = state.config.opensearch.metadata_fields.clone();
    filters.remove(&state.config.auth.tenant_field);
    Json(serde_json::json!({
        "filters": filters,
        "text_fields": state.config.text_fields,
        "languages": state.query_languages.router().detector().languages(),
        "max_size": state.config.limits.max_search_size,
    }))
}
