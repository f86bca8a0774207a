//! Verification before a swap: counts, a random sample compared field by field, and saved
//! queries answered by both versions. The report is stored with the job and printed.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::copy::with_retries;
use super::{is_older, ReindexError};
use crate::backend::opensearch::client::Client;
use crate::backend::opensearch::document::{original_record, stored_texts};
use crate::backend::opensearch::search::OpenSearchSearch;
use crate::route::Router;
use crate::search::{SearchQuery, Syntax, TextQuery};

/// Most mismatches kept in a report.
const MISMATCHES_KEPT: usize = 20;
/// Queries taken from sampled documents when fewer are configured.
const DERIVED_QUERIES: usize = 5;

/// What verification found.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Verification {
    pub passed: bool,
    pub old_count: u64,
    pub new_count: u64,
    /// Documents the old version received since the last catch-up pass began (less the margin):
    /// the new version may lack these until the swap's final pass.
    pub arrived_meanwhile: u64,
    /// Documents the copy could not write (in the dead-letter queue).
    pub failed_copies: u64,
    pub sampled: u64,
    /// Sampled documents updated after their copy (the swap's final pass copies them).
    pub changed_meanwhile: u64,
    pub mismatches: Vec<String>,
    pub queries: Vec<QueryCheck>,
}

/// One saved query on both versions.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct QueryCheck {
    pub query: String,
    pub old_hits: u64,
    pub new_hits: u64,
    pub ok: bool,
}

impl Verification {
    /// A few lines for the operator.
    pub fn report(&self) -> String {
        let mut out = format!(
            "verification {}: old version {} documents, new version {} ({} arrived meanwhile, {} could not be copied)\n\
             sample: {} documents compared field by field ({} changed since their copy), {} mismatches\n",
            if self.passed { "PASSED" } else { "FAILED" },
            self.old_count,
            self.new_count,
            self.arrived_meanwhile,
            self.failed_copies,
            self.sampled,
            self.changed_meanwhile,
            self.mismatches.len()
        );
        for mismatch in &self.mismatches {
            out.push_str(&format!("  mismatch: {mismatch}\n"));
        }
        for check in &self.queries {
            out.push_str(&format!(
                "  query {:?}: {} hits on the old version, {} on the new{}\n",
                check.query,
                check.old_hits,
                check.new_hits,
                if check.ok {
                    ""
                } else {
                    "  <- finds nothing now"
                }
            ));
        }
        out
    }
}

/// Everything verification compares.
pub struct Versions<'a> {
    pub client: &'a Client,
    pub old: &'a str,
    pub new: &'a str,
    /// Documents ingested before this were read by the last catch-up pass (RFC 3339).
    pub stable_before: &'a str,
    pub redetect: bool,
    /// The new version was rebuilt from the source: its documents have their own ingest times.
    pub replayed: bool,
    pub failed_copies: u64,
    pub filterable: BTreeSet<String>,
}

impl Versions<'_> {
    /// Runs every check.
    pub async fn verify(
        &self,
        router: &Router,
        sample_size: u32,
        queries: &[String],
    ) -> Result<Verification, ReindexError> {
        for index in [self.old, self.new] {
            self.client
                .json(Method::POST, &format!("{index}/_refresh"), None)
                .await?;
        }
        let old_count = self.count(self.old, None).await?;
        let new_count = self.count(self.new, None).await?;
        let arrived_meanwhile = self.count(self.old, Some(self.stable_before)).await?;
        let counts_ok = new_count <= old_count
            && old_count - new_count <= arrived_meanwhile + self.failed_copies;
        let sample = self.sample(sample_size).await?;
        let (mismatches, changed_meanwhile) = self.compare(&sample).await?;
        let texts = sample.iter().map(|doc| {
            stored_texts(doc)
                .into_iter()
                .filter_map(|(_, text)| text.as_str())
                .collect::<Vec<_>>()
        });
        let all_queries = with_derived_queries(queries, texts);
        let mut checks = Vec::new();
        for query in all_queries {
            checks.push(self.check_query(router, &query).await?);
        }
        Ok(Verification {
            passed: counts_ok && mismatches.is_empty() && checks.iter().all(|c| c.ok),
            old_count,
            new_count,
            arrived_meanwhile,
            failed_copies: self.failed_copies,
            sampled: sample.len() as u64,
            changed_meanwhile,
            mismatches,
            queries: checks,
        })
    }

    async fn count(&self, index: &str, since: Option<&str>) -> Result<u64, ReindexError> {
        let body = match since {
            Some(since) => json!({"query": {"range": {"ingested_at": {"gte": since}}}}),
            None => json!({"query": {"match_all": {}}}),
        };
        let path = format!("{index}/_count");
        let answer = with_retries(|| self.client.json(Method::POST, &path, Some(&body))).await?;
        Ok(answer["count"].as_u64().unwrap_or(0))
    }

    /// A random sample of the old version's documents.
    async fn sample(&self, size: u32) -> Result<Vec<Value>, ReindexError> {
        let seed = time::OffsetDateTime::now_utc().unix_timestamp();
        let body = json!({
            "size": size,
            "query": {"function_score": {
                "query": {"match_all": {}},
                "random_score": {"seed": seed, "field": "_seq_no"},
            }},
        });
        let path = format!("{}/_search?filter_path=hits.hits._source", self.old);
        let answer = with_retries(|| self.client.json(Method::POST, &path, Some(&body))).await?;
        Ok(answer["hits"]["hits"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|hit| hit["_source"].clone())
            .collect())
    }

    /// Differences between the sampled documents and their copies, and how many sampled
    /// documents changed after the last catch-up pass read them (not differences: the swap's
    /// final pass copies them).
    async fn compare(&self, sample: &[Value]) -> Result<(Vec<String>, u64), ReindexError> {
        let ids: Vec<&str> = sample.iter().filter_map(|d| d["id"].as_str()).collect();
        if ids.is_empty() {
            return Ok((Vec::new(), 0));
        }
        let body = json!({"ids": ids});
        let path = format!("{}/_mget", self.new);
        let answer = with_retries(|| self.client.json(Method::POST, &path, Some(&body))).await?;
        let copies = answer["docs"].as_array().cloned().unwrap_or_default();
        let mut mismatches = Vec::new();
        let mut changed = 0;
        for (old, copy) in sample.iter().zip(&copies) {
            let id = old["id"].as_str().unwrap_or_default();
            let old_time = old["ingested_at"].as_str().unwrap_or_default();
            let recent = !is_older(old_time, self.stable_before);
            let new = &copy["_source"];
            let stale = copy["found"] != true
                || is_older(new["ingested_at"].as_str().unwrap_or_default(), old_time);
            let problem = if stale && recent {
                changed += 1;
                None
            } else if copy["found"] != true {
                Some("missing from the new version".to_string())
            } else {
                let mut differs = Vec::new();
                if original_record(old) != original_record(new) {
                    differs.push("record");
                }
                for field in ["id", "meta", "ingested_at"] {
                    if old[field] != new[field] && !(self.replayed && field == "ingested_at") {
                        differs.push(field);
                    }
                }
                if !self.redetect && old["lang"] != new["lang"] {
                    differs.push("lang");
                }
                (!differs.is_empty()).then(|| format!("differs in {}", differs.join(", ")))
            };
            if let Some(problem) = problem {
                mismatches.push(format!("{id}: {problem}"));
            }
        }
        mismatches.truncate(MISMATCHES_KEPT);
        Ok((mismatches, changed))
    }

    async fn check_query(&self, router: &Router, query: &str) -> Result<QueryCheck, ReindexError> {
        let detector = router.detector().clone();
        let text = query.to_string();
        let detection = tokio::task::spawn_blocking(move || detector.detect_accurate(&text))
            .await
            .map_err(|e| ReindexError::State(format!("query detection failed: {e}")))?;
        let request = saved_query(query, detection.lang)?;
        let mut totals = [0u64; 2];
        for (total, index) in totals.iter_mut().zip([self.old, self.new]) {
            let search = OpenSearchSearch::new(
                self.client.clone(),
                index.to_string(),
                Duration::from_secs(60),
                1,
                self.filterable.clone(),
            );
            *total = search
                .search(&request)
                .await
                .map_err(|e| ReindexError::State(format!("saved query {query:?} on {index}: {e}")))?
                .total;
        }
        Ok(QueryCheck {
            query: query.to_string(),
            old_hits: totals[0],
            new_hits: totals[1],
            ok: totals[0] == 0 || totals[1] > 0,
        })
    }
}

/// The search a saved query makes: the first hit, in the query's detected language, read as
/// natural text like a user's search.
pub fn saved_query(text: &str, lang: &'static str) -> Result<SearchQuery, ReindexError> {
    let query = TextQuery::parse(text, Syntax::Natural)
        .map_err(|e| ReindexError::State(format!("saved query {text:?}: {e}")))?;
    Ok(SearchQuery {
        text: text.to_string(),
        query,
        lang_confidence: 1.0,
        langs: if lang == "und" {
            Vec::new()
        } else {
            vec![lang]
        },
        filters: Vec::new(),
        size: 1,
        cursor: None,
        highlight: false,
        facets: false,
    })
}

/// The saved queries, then (up to [`DERIVED_QUERIES`] in all) a word of four letters or more
/// from each sampled document's texts, without repeats: every verification runs some queries.
pub fn with_derived_queries<'a>(
    saved: &[String],
    texts: impl Iterator<Item = Vec<&'a str>>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for query in saved {
        if !out.contains(query) {
            out.push(query.clone());
        }
    }
    for doc in texts {
        if out.len() >= DERIVED_QUERIES.max(saved.len()) {
            break;
        }
        let word = doc
            .into_iter()
            .flat_map(str::split_whitespace)
            .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
            .find(|w| w.chars().count() >= 4 && w.chars().all(char::is_alphabetic));
        if let Some(word) = word {
            if !out.iter().any(|q| q == word) {
                out.push(word.to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_queries_come_first_then_words_of_the_documents() {
        let docs = [
            vec!["Die Häuser, alt"],
            vec!["42 x ok — Straße"],
            vec!["Die Häuser"],
            vec!["Kinder"],
        ];
        let queries = with_derived_queries(
            &["Kinder".to_string(), "Kinder".to_string()],
            docs.iter().cloned(),
        );
        assert_eq!(queries, vec!["Kinder", "Häuser", "Straße"]);
    }
}
