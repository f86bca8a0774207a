//! Relevance benchmark: Glossa (embedded, and OpenSearch when a cluster is given) against a
//! single-field BM25 baseline with standard-analyzer-like tokens, on the same known-item
//! queries in the same run; MRR@10 per language.
//!
//! `loadtest/relevance.sh` builds the corpus and runs this; directly:
//! `GLOSSA_RELEVANCE_DIR=DIR cargo bench --bench relevance`. Environment:
//! - `GLOSSA_RELEVANCE_DIR`: holds `corpus.ndjson` and `queries.tsv`
//!   (`scripts/make-relevance-corpus.py`); default the small CI fixture.
//! - `GLOSSA_RELEVANCE_OPENSEARCH_URLS`: comma-separated node URLs; also measure the OpenSearch
//!   backend (a scratch index, deleted afterwards).
//! - `GLOSSA_RELEVANCE_OUT`: also write the table there (Markdown).
//! - `GLOSSA_RELEVANCE_RANKS`: write each query's rank per system there (TSV, 0 = not in the top
//!   10) and the language each Glossa backend took it for, for looking at failures.
//!
//! Glossa is measured end to end: records go through `POST /v1/documents` without a language
//! (detected), queries through `GET /v1/search` without one (detected), exactly as a user's.
//! The baseline: one field, lowercased Unicode letter/digit runs, one token per Han/kana
//! character (like Lucene's standard analyzer), the query's tokens OR-ed, BM25, top 10.

#[path = "../tests/e2e/relevance.rs"]
mod relevance;

use std::collections::BTreeMap;
use std::path::PathBuf;

use glossa::config::{BackendKind, Config};
use glossa::service::Service;
use relevance::{mrr_by_language, Query, Suite};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, TermQuery};
use tantivy::schema::{IndexRecordOption, Schema, Value as _, STORED, STRING, TEXT};
use tantivy::{doc, Index, TantivyDocument, Term};

/// Standard-analyzer-like tokens: lowercased runs of letters and digits; each Han, Hiragana or
/// Katakana character is a token of its own.
fn baseline_tokens(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        let per_char = matches!(c as u32,
            0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF);
        if per_char || !c.is_alphanumeric() {
            if !word.is_empty() {
                tokens.push(std::mem::take(&mut word));
            }
            if per_char {
                tokens.push(c.to_string());
            }
        } else {
            word.extend(c.to_lowercase());
        }
    }
    if !word.is_empty() {
        tokens.push(word);
    }
    tokens
}

/// The baseline's rank of each query's target.
fn baseline_ranks(suite: &Suite) -> Vec<Option<usize>> {
    let mut builder = Schema::builder();
    let id = builder.add_text_field("id", STRING | STORED);
    let mut text_options = TEXT;
    text_options = text_options.set_indexing_options(
        tantivy::schema::TextFieldIndexing::default()
            .set_tokenizer("whitespace")
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let text = builder.add_text_field("text", text_options);
    let index = Index::create_in_ram(builder.build());
    let mut writer = index.writer(200 << 20).expect("baseline writer");
    for line in suite.corpus.lines() {
        let record: serde_json::Value = serde_json::from_str(line).expect("corpus line");
        let body = record["body"].as_str().unwrap_or_default();
        writer
            .add_document(doc!(
                id => record["id"].as_str().unwrap_or_default(),
                text => baseline_tokens(body).join(" "),
            ))
            .expect("baseline add");
    }
    writer.commit().expect("baseline commit");
    let searcher = index.reader().expect("reader").searcher();
    suite
        .queries
        .iter()
        .map(|query| {
            let mut tokens = baseline_tokens(&query.text);
            tokens.sort();
            tokens.dedup();
            let clauses = tokens
                .iter()
                .map(|t| {
                    let q: Box<dyn tantivy::query::Query> = Box::new(TermQuery::new(
                        Term::from_field_text(text, t),
                        IndexRecordOption::WithFreqs,
                    ));
                    (Occur::Should, q)
                })
                .collect();
            let top = searcher
                .search(
                    &BooleanQuery::new(clauses),
                    &TopDocs::with_limit(10).order_by_score(),
                )
                .expect("baseline search");
            top.iter()
                .position(|(_, address)| {
                    searcher
                        .doc::<TantivyDocument>(*address)
                        .ok()
                        .and_then(|d| d.get_first(id).and_then(|v| v.as_str().map(str::to_string)))
                        .as_deref()
                        == Some(query.target.as_str())
                })
                .map(|r| r + 1)
        })
        .collect()
}

/// Glossa's ranks and query languages: a fresh in-process service on `config`, the corpus
/// ingested over HTTP.
async fn glossa_ranks(
    config: Config,
    suite: &Suite,
    refresh: Option<String>,
) -> (Vec<Option<usize>>, Vec<String>) {
    let service = tokio::task::spawn_blocking(move || Service::start(config))
        .await
        .expect("start task")
        .expect("Glossa starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(glossa::api::serve(service, listener, async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let started = std::time::Instant::now();
    relevance::ingest(&client, &base, &suite.corpus).await;
    if let Some(url) = refresh {
        client.post(url).send().await.expect("refresh");
    }
    relevance::wait_for_language_prior(&client, &base, suite.corpus.lines().count()).await;
    eprintln!("  ingested in {:.1} s", started.elapsed().as_secs_f64());
    let started = std::time::Instant::now();
    let answers = relevance::answers(&client, &base, &suite.queries).await;
    eprintln!(
        "  {} queries in {:.1} s",
        suite.queries.len(),
        started.elapsed().as_secs_f64()
    );
    let _ = stop.send(());
    let _ = server.await;
    answers.into_iter().unzip()
}

/// Share of each language's queries that Glossa took for their own language.
fn language_table(queries: &[Query], columns: &[(&str, Vec<String>)]) -> String {
    let mut out = String::from("| lang | queries |");
    for (name, _) in columns {
        out.push_str(&format!(" {name} query language right |"));
    }
    out.push_str("\n|---|---:|");
    out.push_str(&"---:|".repeat(columns.len()));
    out.push('\n');
    let mut langs: Vec<&str> = queries.iter().map(|q| q.lang.as_str()).collect();
    langs.sort();
    langs.dedup();
    langs.push("all");
    for lang in langs {
        let mine = |q: &&Query| lang == "all" || q.lang == lang;
        let n = queries.iter().filter(mine).count();
        out.push_str(&format!("| {lang} | {n} |"));
        for (_, detected) in columns {
            let right = queries
                .iter()
                .zip(detected)
                .filter(|(q, d)| mine(q) && q.lang == **d)
                .count();
            out.push_str(&format!(
                " {:.1}% |",
                100.0 * right as f64 / n.max(1) as f64
            ));
        }
        out.push('\n');
    }
    out
}

fn table(queries: &[Query], columns: &[(&str, Vec<Option<usize>>)]) -> String {
    let scores: Vec<BTreeMap<String, (usize, f64)>> = columns
        .iter()
        .map(|(_, ranks)| mrr_by_language(queries, ranks))
        .collect();
    let mut out = String::from("| lang | queries |");
    for (name, _) in columns {
        out.push_str(&format!(" {name} |"));
    }
    for (name, _) in &columns[1..] {
        out.push_str(&format!(" {name} - baseline |"));
    }
    out.push_str("\n|---|---:|");
    out.push_str(&"---:|".repeat(2 * columns.len() - 1));
    out.push('\n');
    let mut langs: Vec<&String> = scores[0].keys().filter(|l| *l != "all").collect();
    let all = "all".to_string();
    langs.push(&all);
    for lang in langs {
        let (n, base) = scores[0][lang];
        out.push_str(&format!("| {lang} | {n} |"));
        for score in &scores {
            out.push_str(&format!(" {:.3} |", score[lang].1));
        }
        for score in &scores[1..] {
            out.push_str(&format!(" {:+.3} |", score[lang].1 - base));
        }
        out.push('\n');
    }
    out
}

fn main() {
    let dir = std::env::var("GLOSSA_RELEVANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("tests/fixtures/relevance"));
    let suite = relevance::load(&dir);
    eprintln!(
        "relevance: {} documents, {} queries from {}",
        suite.corpus.lines().count(),
        suite.queries.len(),
        dir.display()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    eprintln!("baseline (single-field BM25)");
    let mut columns = vec![("baseline", baseline_ranks(&suite))];
    let data = tempfile::tempdir().expect("temp dir");
    let mut config = Config {
        data_dir: data.path().join("embedded"),
        ..Config::default()
    };
    config.pipeline.commit_interval_ms = 200;
    config.search.language_prior_refresh_seconds = 1;
    eprintln!("Glossa embedded");
    let mut detected = Vec::new();
    let (ranks, langs) = runtime.block_on(glossa_ranks(config.clone(), &suite, None));
    columns.push(("embedded", ranks));
    detected.push(("embedded", langs));
    if let Ok(urls) = std::env::var("GLOSSA_RELEVANCE_OPENSEARCH_URLS") {
        let urls: Vec<String> = urls.split(',').map(str::to_string).collect();
        let index = format!("relevance-{}", std::process::id());
        let mut config = config.clone();
        config.data_dir = data.path().join("opensearch");
        config.backend = BackendKind::OpenSearch;
        config.opensearch.urls = urls.clone();
        config.opensearch.index = index.clone();
        config.opensearch.replicas = 0;
        config.opensearch.bulk_flush_ms = 100;
        eprintln!("Glossa on OpenSearch ({index})");
        let refresh = format!("{}/{index}/_refresh", urls[0]);
        let (ranks, langs) = runtime.block_on(glossa_ranks(config, &suite, Some(refresh)));
        columns.push(("opensearch", ranks));
        detected.push(("opensearch", langs));
        runtime.block_on(async {
            let client = reqwest::Client::new();
            for name in [format!("{index}-v1"), format!("{index}-dlq")] {
                let _ = client.delete(format!("{}/{name}", urls[0])).send().await;
            }
        });
    }
    if let Ok(path) = std::env::var("GLOSSA_RELEVANCE_RANKS") {
        let mut out = String::from("lang\ttarget");
        for (name, _) in &columns {
            out.push_str(&format!("\t{name}"));
        }
        for (name, _) in &detected {
            out.push_str(&format!("\t{name} language"));
        }
        out.push_str("\tquery\n");
        for (i, query) in suite.queries.iter().enumerate() {
            out.push_str(&format!("{}\t{}", query.lang, query.target));
            for (_, ranks) in &columns {
                out.push_str(&format!("\t{}", ranks[i].map_or(0, |r| r)));
            }
            for (_, langs) in &detected {
                out.push_str(&format!("\t{}", langs[i]));
            }
            out.push_str(&format!("\t{}\n", query.text));
        }
        std::fs::write(&path, out).unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
    }
    let table = format!(
        "{}\n{}",
        table(&suite.queries, &columns),
        language_table(&suite.queries, &detected)
    );
    println!("{table}");
    if let Ok(path) = std::env::var("GLOSSA_RELEVANCE_OUT") {
        std::fs::write(&path, &table).unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
    }
}
