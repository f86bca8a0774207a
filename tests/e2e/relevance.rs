//! The known-item relevance suite's shared parts (also compiled into `benches/relevance.rs`):
//! loading a corpus, asking a running Glossa for each query's top 10, and MRR@10 per language.
//!
//! A query is a package's translated short description; its target is the same package's long
//! description in the same language, among every language's documents (Debian's DDTP
//! translations, see `scripts/make-relevance-corpus.py`).

use std::collections::BTreeMap;
use std::path::Path;

/// One known-item query.
#[derive(Clone, Debug)]
pub struct Query {
    pub lang: String,
    pub target: String,
    pub text: String,
}

/// A corpus (NDJSON records without `lang`) and its queries.
pub struct Suite {
    pub corpus: String,
    pub queries: Vec<Query>,
}

/// Reads `corpus.ndjson` and `queries.tsv` from `dir`.
pub fn load(dir: &Path) -> Suite {
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.join(name).display()))
    };
    let queries = read("queries.tsv")
        .lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, '\t');
            Some(Query {
                lang: fields.next()?.to_string(),
                target: fields.next()?.to_string(),
                text: fields.next()?.to_string(),
            })
        })
        .collect();
    Suite {
        corpus: read("corpus.ndjson"),
        queries,
    }
}

/// Sends the corpus to Glossa's ingest API in chunks; panics unless every record is accepted.
pub async fn ingest(client: &reqwest::Client, base: &str, corpus: &str) {
    let lines: Vec<&str> = corpus.lines().collect();
    for chunk in lines.chunks(2000) {
        let response = client
            .post(format!("{base}/v1/documents"))
            .header("content-type", "application/x-ndjson")
            .body(chunk.join("\n"))
            .send()
            .await
            .expect("ingest request");
        let status = response.status();
        let answer: serde_json::Value = response.json().await.expect("JSON answer");
        assert!(status.is_success(), "ingest failed: {answer}");
        assert_eq!(answer["accepted"], chunk.len(), "{answer}");
    }
}

/// Waits (at most 60 s) until query detection weighs the `documents` just ingested (85% of
/// them: some may be undetermined, `und` is no language, and the prior is rebuilt when the
/// index grows by 10%), so every query of a run is detected under one prior.
pub async fn wait_for_language_prior(client: &reqwest::Client, base: &str, documents: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let answer: serde_json::Value = client
            .get(format!("{base}/v1/search"))
            .query(&[("q", "prior"), ("size", "0")])
            .send()
            .await
            .expect("search request")
            .json()
            .await
            .expect("JSON answer");
        let seen = answer["query_language"]["prior"]["documents"]
            .as_u64()
            .unwrap_or(0);
        if seen * 100 >= documents as u64 * 85 {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "after 60 s query detection weighs {seen} documents, not {documents}: {answer}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Each query's rank of its target (1-based, `None` outside the top 10) and the language the
/// search took it for.
pub async fn answers(
    client: &reqwest::Client,
    base: &str,
    queries: &[Query],
) -> Vec<(Option<usize>, String)> {
    let mut ranks = Vec::with_capacity(queries.len());
    for query in queries {
        let response = client
            .get(format!("{base}/v1/search"))
            .query(&[
                ("q", query.text.as_str()),
                ("size", "10"),
                ("highlight", "false"),
            ])
            .send()
            .await
            .expect("search request");
        let status = response.status();
        let answer: serde_json::Value = response.json().await.expect("JSON answer");
        assert!(status.is_success(), "q={:?}: {answer}", query.text);
        let rank = answer["hits"]
            .as_array()
            .and_then(|hits| hits.iter().position(|h| h["id"] == query.target.as_str()));
        let lang = answer["query_language"]["lang"].as_str().unwrap_or("und");
        ranks.push((rank.map(|r| r + 1), lang.to_string()));
    }
    ranks
}

/// MRR@10 per language, plus `"all"` over every query: (queries, MRR).
pub fn mrr_by_language(
    queries: &[Query],
    ranks: &[Option<usize>],
) -> BTreeMap<String, (usize, f64)> {
    let mut sums: BTreeMap<String, (usize, f64)> = BTreeMap::new();
    for (query, rank) in queries.iter().zip(ranks) {
        let reciprocal = rank.filter(|r| *r <= 10).map_or(0.0, |r| 1.0 / r as f64);
        for key in [query.lang.as_str(), "all"] {
            let entry = sums.entry(key.to_string()).or_insert((0, 0.0));
            entry.0 += 1;
            entry.1 += reciprocal;
        }
    }
    sums.into_iter()
        .map(|(lang, (n, sum))| (lang, (n, sum / n as f64)))
        .collect()
}
