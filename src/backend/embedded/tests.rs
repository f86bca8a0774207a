//! The embedded index against hostile query text and under commits while cursors page.

use proptest::prelude::*;
use tantivy::DateTime;

use super::*;
use crate::decode::Decoder;
use crate::record::LangMethod;
use crate::search::text::{Syntax, TextQuery};
use crate::search::{TotalRelation, TRACK_TOTAL_HITS};

const DOCS: &[(&str, &str, &str)] = &[
    (
        "de-1",
        "de",
        "Die Kinder spielen in den Gärten der alten Häuser",
    ),
    (
        "de-2",
        "de",
        "Das neue Messgerät XJ-900 wurde in Berlin vorgestellt",
    ),
    ("fr-2", "fr", "Nous avons visité Berlin au printemps"),
    (
        "en-1",
        "en",
        "We were walking along the river when the storm started",
    ),
    ("zh-1", "zh", "北京是中国的首都"),
];

fn document(id: &str, lang: &'static str, body: &str) -> Document {
    let decoder = Decoder::new(vec!["body".into()], 1 << 20);
    let line = serde_json::json!({"id": id, "body": body}).to_string();
    Document {
        record: decoder
            .decode(line.as_bytes())
            .expect("test record decodes"),
        lang,
        confidence: 1.0,
        method: LangMethod::Given,
    }
}

fn index_with(dir: &Path, docs: &[(&str, &'static str, &str)]) -> (EmbeddedIndex, EmbeddedWriter) {
    let index = EmbeddedIndex::open(dir, vec!["body".into()]).expect("index opens");
    let mut writer = index.writer(16 << 20).expect("writer");
    add(&index, &mut writer, docs);
    (index, writer)
}

fn add(index: &EmbeddedIndex, writer: &mut EmbeddedWriter, docs: &[(&str, &'static str, &str)]) {
    for (id, lang, body) in docs {
        writer
            .upsert(&document(id, lang, body), DateTime::from_timestamp_secs(0))
            .expect("upsert");
    }
    writer.commit().expect("commit");
    index.refresh().expect("refresh");
}

/// Owned test documents as `index_with` and `add` take them.
fn borrowed<'a>(
    docs: &'a [(String, &'static str, String)],
) -> Vec<(&'a str, &'static str, &'a str)> {
    docs.iter()
        .map(|(id, lang, body)| (id.as_str(), *lang, body.as_str()))
        .collect()
}

fn request(text: &str, syntax: Syntax, langs: Vec<&'static str>) -> Option<SearchQuery> {
    Some(SearchQuery {
        text: text.to_string(),
        query: TextQuery::parse(text, syntax).ok()?,
        langs,
        lang_confidence: 1.0,
        filters: Vec::new(),
        size: 10,
        cursor: None,
        highlight: true,
        facets: false,
    })
}

fn ids(index: &EmbeddedIndex, text: &str, syntax: Syntax, langs: Vec<&'static str>) -> Vec<String> {
    sorted_ids(index, &request(text, syntax, langs).expect("valid query"))
}

/// The ids of `request`'s hits, sorted.
fn sorted_ids(index: &EmbeddedIndex, request: &SearchQuery) -> Vec<String> {
    let mut ids: Vec<String> = index
        .search(request)
        .expect("search")
        .hits
        .into_iter()
        .map(|h| h.id)
        .collect();
    ids.sort();
    ids
}

#[test]
fn user_text_is_text_and_syntax_only_when_asked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (index, _writer) = index_with(dir.path(), DOCS);
    let natural = Syntax::Natural;
    // ` - ` and `-word` do not exclude; field names and wildcards reach nothing internal.
    assert_eq!(
        ids(&index, "Berlin -Messgerät", natural, vec!["de"]),
        ["de-2", "fr-2"]
    );
    assert_eq!(ids(&index, "Kinder - Berlin", natural, vec!["de"]).len(), 3);
    assert_eq!(
        ids(&index, "lang:de", natural, vec![]),
        Vec::<String>::new()
    );
    assert_eq!(ids(&index, "id:*", natural, vec![]), Vec::<String>::new());
    assert_eq!(ids(&index, "XJ-900", natural, vec!["de"]), ["de-2"]);
    // Phrases are required and ordered.
    assert_eq!(
        ids(&index, "Berlin \"alten Häuser\"", natural, vec!["de"]),
        ["de-1"]
    );
    assert!(ids(&index, "\"Häuser alten\"", natural, vec!["de"]).is_empty());
    // Advanced syntax: + requires, - excludes.
    let advanced = Syntax::Advanced;
    assert_eq!(
        ids(&index, "Berlin -Messgerät", advanced, vec!["de"]),
        ["fr-2"]
    );
    assert_eq!(
        ids(&index, "+Berlin +visité", advanced, vec!["fr"]),
        ["fr-2"]
    );
    assert_eq!(
        ids(&index, "-Berlin", advanced, vec![]).len(),
        DOCS.len() - 2
    );
    // Unspaced scripts: any of the words finds the document.
    assert_eq!(ids(&index, "首都北京", natural, vec!["zh"]), ["zh-1"]);
}

fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        // Heavy on what query languages treat as syntax.
        "[-+\"():*~^\\[\\]{}!?\\\\/ a-zA-Z0-9äß北京]{0,300}",
        // Japanese morphology: kana runs, prolonged sound marks, halfwidth forms, mixed scripts.
        "[ーアイウｱｲｰﾟ漢字のをabc1 。]{0,400}",
        any::<String>(),
        (1usize..3000).prop_map(|n| "(".repeat(n)),
        (1usize..500).prop_map(|n| "\"a b\" ".repeat(n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// No query text, however hostile, makes a search fail other than by a refusal of the text
    /// itself (which the API answers with 400) or panic or overflow the stack.
    #[test]
    fn any_query_text_is_answered(text in hostile_text(), advanced in any::<bool>()) {
        static INDEX: std::sync::OnceLock<(tempfile::TempDir, EmbeddedIndex)> =
            std::sync::OnceLock::new();
        let (_, index) = INDEX.get_or_init(|| {
            let dir = tempfile::tempdir().expect("temp dir");
            let (index, writer) = index_with(dir.path(), DOCS);
            drop(writer);
            (dir, index)
        });
        let syntax = if advanced { Syntax::Advanced } else { Syntax::Natural };
        if let Some(request) = request(&text, syntax, vec!["de", "zh", "ja"]) {
            let answer = index.search(&request);
            prop_assert!(answer.is_ok(), "{text:?}: {answer:?}", answer = answer.err());
        }
    }
}

fn page(
    index: &EmbeddedIndex,
    size: usize,
    cursor: Option<&str>,
) -> Result<SearchResult, EmbeddedError> {
    let mut request = request("*", Syntax::Natural, vec![]).expect("valid query");
    request.size = size;
    request.highlight = false;
    request.cursor = cursor.map(|c| Cursor::decode(c).expect("own cursor"));
    index.search(&request)
}

#[test]
fn cursors_keep_their_snapshot_across_many_commits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (index, mut writer) = index_with(dir.path(), DOCS);
    let first = page(&index, 2, None).expect("page 1");
    // More commits than the old fixed number of kept snapshots (16).
    for n in 0..20 {
        let id = format!("new-{n}");
        add(&index, &mut writer, &[(id.as_str(), "en", "fresh words")]);
    }
    let mut seen: Vec<String> = first.hits.iter().map(|h| h.id.clone()).collect();
    let mut cursor = first.next_cursor.clone();
    while let Some(c) = cursor {
        let next = page(&index, 2, Some(&c)).expect("later page");
        assert_eq!(
            next.total,
            DOCS.len() as u64,
            "a later page read a newer snapshot"
        );
        seen.extend(next.hits.iter().map(|h| h.id.clone()));
        cursor = next.next_cursor;
    }
    seen.sort();
    let mut expected: Vec<String> = DOCS.iter().map(|d| d.0.to_string()).collect();
    expected.sort();
    assert_eq!(seen, expected);
}

#[test]
fn a_dropped_snapshot_is_rechecked_and_expires_only_when_served_hits_changed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (index, mut writer) = index_with(dir.path(), DOCS);
    let index = index.with_cursor_limits(CursorLimits {
        keep_alive: Duration::from_secs(300),
        max_snapshots: 1,
    });
    // Match-all hits tie on score, so they sort by id hash, descending.
    let first = page(&index, 2, None).expect("page 1");
    let top = schema::id_hash(&first.hits[0].id);
    let last = schema::id_hash(&first.hits[1].id);
    let id_where = |wanted: &dyn Fn(u64) -> bool| {
        (0..10_000)
            .map(|n| format!("probe-{n}"))
            .find(|id| wanted(schema::id_hash(id)))
            .expect("some id hashes that way")
    };
    // A document that sorts below page 1: the served hits are unchanged.
    let below = id_where(&|h| h < last);
    add(&index, &mut writer, &[(below.as_str(), "en", "below")]);
    // A search on the new snapshot takes the only slot, dropping page 1's snapshot.
    let other = page(&index, 1, None).expect("other search");
    assert!(other.next_cursor.is_some());
    let second = page(&index, 2, first.next_cursor.as_deref()).expect("rechecked page 2");
    assert_eq!(second.total, DOCS.len() as u64 + 1);
    let served: Vec<&str> = first.hits.iter().map(|h| h.id.as_str()).collect();
    assert!(second.hits.iter().all(|h| !served.contains(&h.id.as_str())));

    // A document that sorts above page 1's first hit: page 1 would not be what was served.
    let first = page(&index, 2, None).expect("page 1 again");
    let above = id_where(&|h| h > top.max(schema::id_hash(&first.hits[0].id)));
    add(&index, &mut writer, &[(above.as_str(), "en", "above")]);
    page(&index, 1, None).expect("other search");
    match page(&index, 2, first.next_cursor.as_deref()) {
        Err(EmbeddedError::ExpiredCursor(message)) => {
            assert!(message.contains("search again"), "{message}")
        }
        other => panic!("expected an expired cursor, got {other:?}"),
    }
}

/// Body `n` of a corpus built for ties: one of 37 texts holding some of the words of
/// [`TIED_QUERY`], in counts and lengths that spread their scores; each score is shared by many
/// documents, so pages end inside ties that only the id hash orders.
fn tied_body(n: u64) -> String {
    let words = ["river", "storm", "garden", "walking", "house"];
    let text = n % 37;
    let mut body = String::new();
    for (w, word) in words.iter().enumerate() {
        let times = (text / 3u64.pow(w as u32 % 3) + w as u64) % 4;
        for _ in 0..times {
            body.push_str(word);
            body.push(' ');
        }
    }
    body.push_str(&"filler ".repeat((text % 9) as usize));
    body.push_str("end");
    body
}

/// The query [`tied_body`] documents are searched with.
const TIED_QUERY: &str = "rivers storm gardens";

/// Whether a [`tied_body`] matches [`TIED_QUERY`].
fn matches_query(body: &str) -> bool {
    body.split_whitespace()
        .any(|w| ["river", "storm", "garden"].contains(&w))
}

#[test]
fn past_the_counted_total_pruned_pages_still_serve_every_match_once_in_score_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let index = EmbeddedIndex::open(dir.path(), vec!["body".into()]).expect("index opens");
    let mut writer = index.writer(16 << 20).expect("writer");
    // 50,000 documents in five segments, of 37 texts that all hold some of the query's words,
    // in counts and lengths that spread their scores. Each score is shared by over a thousand
    // documents, so every page ends inside a tie that only the id hash orders, and identical
    // documents must score identically however pruning summed them.
    let docs: Vec<(String, String)> = (0..50_000u64)
        .map(|n| (format!("doc-{n}"), tied_body(n)))
        .collect();
    let matching = docs.iter().filter(|(_, body)| matches_query(body)).count() as u64;
    for chunk in docs.chunks(10_000) {
        let chunk: Vec<(&str, &'static str, &str)> = chunk
            .iter()
            .map(|(id, body)| (id.as_str(), "en", body.as_str()))
            .collect();
        add(&index, &mut writer, &chunk);
    }
    assert!(matching > TRACK_TOTAL_HITS, "the test needs more matches");
    let search = |size: usize, cursor: Option<String>, facets: bool| {
        let mut request = request(TIED_QUERY, Syntax::Natural, vec!["en"]).expect("valid query");
        request.size = size;
        request.highlight = false;
        request.facets = facets;
        request.cursor = cursor.map(|c| Cursor::decode(&c).expect("own cursor"));
        index.search(&request).expect("search")
    };

    let first = search(10, None, false);
    assert_eq!(
        (first.total, first.total_relation),
        (TRACK_TOTAL_HITS, TotalRelation::Gte)
    );
    assert!(first.languages.is_none(), "facets were not asked for");
    let counted = search(10, None, true);
    assert_eq!(
        (counted.total, counted.total_relation),
        (matching, TotalRelation::Eq)
    );
    assert_eq!(
        counted.languages,
        Some([("en".to_string(), matching)].into())
    );
    let first_ids: Vec<&str> = first.hits.iter().map(|h| h.id.as_str()).collect();
    let counted_ids: Vec<&str> = counted.hits.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(first_ids, counted_ids);

    let mut served: Vec<(f32, u64, String)> = Vec::new();
    let mut cursor = None;
    loop {
        let page = search(500, cursor, false);
        served.extend(
            page.hits
                .iter()
                .map(|h| (h.score, schema::id_hash(&h.id), h.id.clone())),
        );
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(served.len() as u64, matching, "every match, once");
    let distinct: std::collections::BTreeSet<&str> =
        served.iter().map(|(_, _, id)| id.as_str()).collect();
    assert_eq!(distinct.len(), served.len(), "no match served twice");
    assert!(
        served
            .windows(2)
            .all(|w| (w[0].0, w[0].1) > (w[1].0, w[1].1)),
        "pages sort by score, then id hash, descending"
    );
    let paged_ids: Vec<&str> = served
        .iter()
        .take(10)
        .map(|(_, _, id)| id.as_str())
        .collect();
    assert_eq!(
        paged_ids, first_ids,
        "a page of 500 starts as the page of 10"
    );
}

#[test]
fn filtered_pages_serve_exactly_the_filtered_matches_in_the_unfiltered_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let index = EmbeddedIndex::open(dir.path(), vec!["body".into()]).expect("index opens");
    let mut writer = index.writer(16 << 20).expect("writer");
    // 30,000 tied documents in three segments, every other one French. The search is for
    // English with the French half as its filter (a tenant key's filter works alike): past the
    // counted total, filtered pages must hold the French matches of the unfiltered pages, in
    // their order, once each.
    let docs: Vec<(String, &'static str, String)> = (0..30_000u64)
        .map(|n| {
            let lang = if n % 2 == 0 { "en" } else { "fr" };
            (format!("doc-{n}"), lang, tied_body(n))
        })
        .collect();
    let french = docs
        .iter()
        .filter(|(_, lang, body)| *lang == "fr" && matches_query(body))
        .count() as u64;
    assert!(french > TRACK_TOTAL_HITS, "the test needs more matches");
    for chunk in docs.chunks(10_000) {
        add(&index, &mut writer, &borrowed(chunk));
    }
    let search = |cursor: Option<String>, filtered: bool, facets: bool| {
        // Unstemmed words: French documents match through the generic field alone.
        let mut request =
            request("river storm garden", Syntax::Natural, vec!["en"]).expect("valid query");
        request.size = 500;
        request.highlight = false;
        request.facets = facets;
        if filtered {
            request.filters = vec![crate::search::Filter {
                field: "lang".into(),
                condition: crate::search::Condition::Equals(serde_json::json!("fr")),
            }];
        }
        request.cursor = cursor.map(|c| Cursor::decode(&c).expect("own cursor"));
        index.search(&request).expect("search")
    };
    let all_pages = |filtered: bool| {
        let mut served: Vec<String> = Vec::new();
        let mut cursor = None;
        loop {
            let page = search(cursor, filtered, false);
            served.extend(page.hits.into_iter().map(|h| h.id));
            cursor = page.next_cursor;
            if cursor.is_none() {
                return served;
            }
        }
    };
    let first = search(None, true, false);
    assert_eq!(
        (first.total, first.total_relation),
        (TRACK_TOTAL_HITS, TotalRelation::Gte)
    );
    let counted = search(None, true, true);
    assert_eq!(
        (counted.total, counted.languages),
        (french, Some([("fr".to_string(), french)].into()))
    );
    let lang_of: std::collections::HashMap<&str, &str> = docs
        .iter()
        .map(|(id, lang, _)| (id.as_str(), *lang))
        .collect();
    let expected: Vec<String> = all_pages(false)
        .into_iter()
        .filter(|id| lang_of[id.as_str()] == "fr")
        .collect();
    assert_eq!(expected.len() as u64, french);
    let filtered = all_pages(true);
    assert_eq!(filtered.len(), expected.len(), "every French match, once");
    assert!(
        filtered == expected,
        "the unfiltered order, French hits only"
    );
}

/// The index's vocabulary as query-language evidence: per word, documents per language among a
/// bounded sample spread over the whole postings list, deleted and replaced documents not
/// counted.
#[test]
fn term_languages_count_live_documents_per_language_in_an_even_sample() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut docs: Vec<(String, &'static str, String)> = Vec::new();
    for i in 0..30 {
        docs.push((format!("it-{i}"), "it", format!("modulo {i} per PHP")));
    }
    for i in 0..10 {
        docs.push((format!("en-{i}"), "en", format!("module {i} for PHP")));
    }
    let (index, mut writer) = index_with(dir.path(), &borrowed(&docs));
    let terms = ["per", "php", "absent"].map(String::from);
    let counts = index.term_languages(&terms, 1000).expect("term languages");
    let expected = |pairs: &[(&str, u64)]| -> BTreeMap<String, u64> {
        pairs.iter().map(|(l, n)| (l.to_string(), *n)).collect()
    };
    assert_eq!(counts[0], expected(&[("it", 30)]));
    assert_eq!(counts[1], expected(&[("en", 10), ("it", 30)]));
    assert!(counts[2].is_empty());
    // A bounded sample, taken along the whole postings list: never more documents than asked
    // for, and the English documents (indexed after the 30 Italian ones) are in it.
    let sampled = index.term_languages(&terms[1..2], 15).expect("sample");
    let sampled = &sampled[0];
    assert!(sampled.values().sum::<u64>() <= 15, "{sampled:?}");
    assert!(sampled.get("en").copied().unwrap_or(0) >= 3, "{sampled:?}");
    assert!(sampled.get("it").copied().unwrap_or(0) >= 9, "{sampled:?}");
    // Deleted documents, and the old versions of replaced ones, are not counted.
    for i in 0..20 {
        writer.delete(&format!("it-{i}"));
    }
    add(&index, &mut writer, &[("en-0", "en", "module 0 per PHP")]);
    let counts = index
        .term_languages(&terms[..1], 1000)
        .expect("after deletes");
    assert_eq!(counts[0], expected(&[("en", 1), ("it", 10)]));
}

/// Past one block of postings (128 documents), the sample is still exactly every k-th document
/// of the list: 1,000 documents, every third English, sampled every 10th (positions 0, 10, ...,
/// 990), of which those at a multiple of 30 are English.
#[test]
fn term_languages_stride_across_postings_blocks() {
    let dir = tempfile::tempdir().expect("temp dir");
    let docs: Vec<(String, &'static str, String)> = (0..1000)
        .map(|i| {
            let lang = if i % 3 == 0 { "en" } else { "it" };
            (format!("d-{i:04}"), lang, format!("shared word {i}"))
        })
        .collect();
    let (index, _writer) = index_with(dir.path(), &borrowed(&docs));
    let counts = index
        .term_languages(&["shared".to_string()], 100)
        .expect("term languages");
    let expected: BTreeMap<String, u64> = [("en".to_string(), 34), ("it".to_string(), 66)]
        .into_iter()
        .collect();
    assert_eq!(counts[0], expected);
}

/// A language field is scored over its own language's documents, as on OpenSearch: a German
/// query's match in the German field scores the same however many documents of other languages
/// the index holds (Tantivy's own statistics divide the field's length by every document, which
/// punished the longer documents of every language but the largest).
#[test]
fn a_language_fields_scores_ignore_other_languages_documents() {
    let german: &[(&str, &'static str, &str)] = &[
        ("de-short", "de", "Neue Treiber"),
        (
            "de-long",
            "de",
            "Dieses Paket enthält die Treiber für ältere Drucker und Scanner, \
             dazu Werkzeuge zum Einrichten der Geräte und eine ausführliche Anleitung",
        ),
        ("de-other", "de", "Werkzeuge für die Bildbearbeitung"),
    ];
    // Matches through the German stemmer only ("treib"): the generic field holds "treiber".
    let scores = |index: &EmbeddedIndex| -> Vec<(String, f32)> {
        let request = request("Treibern", Syntax::Natural, vec!["de"]).expect("valid query");
        let hits = index.search(&request).expect("search").hits;
        hits.into_iter().map(|h| (h.id, h.score)).collect()
    };
    let alone = tempfile::tempdir().expect("temp dir");
    let (alone, _writer) = index_with(alone.path(), german);
    let expected = scores(&alone);
    assert_eq!(expected.len(), 2, "{expected:?}");

    let mixed = tempfile::tempdir().expect("temp dir");
    let (mixed, mut writer) = index_with(mixed.path(), german);
    let english: Vec<(String, &'static str, String)> = (0..60)
        .map(|i| (format!("en-{i}"), "en", format!("printer tools {i}")))
        .collect();
    add(&mixed, &mut writer, &borrowed(&english));
    let found = scores(&mixed);
    assert_eq!(
        found.iter().map(|(id, _)| id).collect::<Vec<_>>(),
        expected.iter().map(|(id, _)| id).collect::<Vec<_>>()
    );
    for ((id, score), (_, alone)) in found.iter().zip(&expected) {
        assert!(
            (score - alone).abs() <= 1e-5 * alone,
            "{id}: {score} with English documents beside it, {alone} without"
        );
    }
}

/// Bulgarian and Hindi fields stem like OpenSearch's `bulgarian` and `hindi` analyzers: a
/// query's inflected form finds the document's other form.
#[test]
fn bulgarian_and_hindi_queries_find_other_inflections() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (index, _writer) = index_with(
        dir.path(),
        &[
            ("bg-1", "bg", "Нова книга за децата"),
            ("hi-1", "hi", "बच्चों के लिए नई किताबें"),
        ],
    );
    assert_eq!(
        ids(&index, "книгите", Syntax::Natural, vec!["bg"]),
        ["bg-1"]
    );
    assert_eq!(ids(&index, "किताबों", Syntax::Natural, vec!["hi"]), ["hi-1"]);
    // The generic field alone does not conflate them.
    assert!(ids(&index, "книгите", Syntax::Natural, vec![]).is_empty());
}

/// German, Danish and Finnish compounds are found by their parts and find documents holding
/// their parts as separate words.
#[test]
fn compounds_and_their_parts_find_each_other() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (index, _writer) = index_with(
        dir.path(),
        &[
            ("de-compound", "de", "Neue Druckertreiber für ältere Geräte"),
            (
                "de-parts",
                "de",
                "Ein Treiber für jeden Drucker im Netzwerk",
            ),
            ("fi-compound", "fi", "Uusi tietokoneohjelma kouluille"),
        ],
    );
    let found = |text: &str, lang: &'static str| ids(&index, text, Syntax::Natural, vec![lang]);
    assert_eq!(found("Treiber", "de"), ["de-compound", "de-parts"]);
    assert_eq!(found("Druckertreiber", "de"), ["de-compound", "de-parts"]);
    assert_eq!(found("ohjelma", "fi"), ["fi-compound"]);
}

/// Body `n` of a German corpus of compounds and their parts in varied counts and lengths.
fn compound_body(n: u64) -> String {
    let words = [
        "Netzwerkdrucker",
        "Drucker",
        "Treiber",
        "Netzwerk",
        "Druckertreiber",
    ];
    let mut body = String::new();
    for (w, word) in words.iter().enumerate() {
        for _ in 0..(n / 7u64.pow(w as u32 % 4) + w as u64) % 3 {
            body.push_str(word);
            body.push(' ');
        }
    }
    body.push_str(&"Gerät ".repeat((n % 11) as usize));
    body.push_str("Ende");
    body
}

/// A query holding a split compound is searched through its flat bound (block-max WAND) but
/// ranked by its own disjunction-max scores: the pruned page holds the best documents with the
/// scores an unpruned search gives them, and cursor pages still serve every match once, in
/// order.
#[test]
fn compound_queries_are_pruned_by_their_bound_and_ranked_by_their_own_scores() {
    let dir = tempfile::tempdir().expect("temp dir");
    let index = EmbeddedIndex::open(dir.path(), vec!["body".into()]).expect("index opens");
    let mut writer = index.writer(16 << 20).expect("writer");
    let docs: Vec<(String, String)> = (0..12_000u64)
        .map(|n| (format!("doc-{n}"), compound_body(n)))
        .collect();
    for chunk in docs.chunks(4_000) {
        let chunk: Vec<(&str, &'static str, &str)> = chunk
            .iter()
            .map(|(id, body)| (id.as_str(), "de", body.as_str()))
            .collect();
        add(&index, &mut writer, &chunk);
    }
    let mut request =
        request("Netzwerkdrucker Treiber", Syntax::Natural, vec!["de"]).expect("valid query");
    request.highlight = false;
    let searcher = index.reader.searcher();
    let built = query::build(&searcher, &index.fields, &request).expect("query");
    assert!(
        built.bound.is_some(),
        "the compound is split into alternatives"
    );
    // Unpruned: a disjunction-max clause keeps Tantivy from skipping anything.
    let unpruned = searcher
        .search(&*built.query, &TopDocs::with_limit(12_000).order_by_score())
        .expect("unpruned search");
    let score_of: HashMap<String, f32> = unpruned
        .iter()
        .map(|(score, address)| {
            let doc: TantivyDocument = searcher.doc(*address).expect("stored");
            (stored_text(&doc, index.fields.id), *score)
        })
        .collect();
    let best = unpruned.first().map(|(score, _)| *score).expect("matches");

    let page = index.search(&request).expect("search");
    assert_eq!(page.hits.len(), 10);
    assert!(
        (page.hits[0].score - best).abs() <= best * 1e-4,
        "{} vs {best}",
        page.hits[0].score
    );
    for hit in &page.hits {
        let exact = score_of[&hit.id];
        assert!(
            (hit.score - exact).abs() <= exact * 1e-4,
            "{}: {} vs {exact}",
            hit.id,
            hit.score
        );
    }

    let mut served: Vec<(f32, u64, String)> = Vec::new();
    let mut cursor = None;
    loop {
        request.size = 700;
        request.cursor = cursor.map(|c: String| Cursor::decode(&c).expect("own cursor"));
        let page = index.search(&request).expect("search");
        served.extend(
            page.hits
                .iter()
                .map(|h| (h.score, schema::id_hash(&h.id), h.id.clone())),
        );
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(served.len(), score_of.len(), "every match, once");
    assert!(
        served
            .windows(2)
            .all(|w| (w[0].0, w[0].1) > (w[1].0, w[1].1)),
        "pages sort by score, then id hash, descending"
    );
    for (score, _, id) in &served {
        let exact = score_of[id];
        assert!(
            (score - exact).abs() <= exact * 1e-4,
            "{id}: {score} vs {exact}"
        );
    }
}

/// Compaction merges the segments into at most the number asked, of about equal size, drops
/// deleted documents and keeps every live one findable.
#[test]
fn compact_merges_segments_and_keeps_every_live_document() {
    let dir = tempfile::tempdir().expect("temp dir");
    let index = EmbeddedIndex::open(dir.path(), vec!["body".into()]).expect("index opens");
    let mut writer = index.writer(16 << 20).expect("writer");
    for batch in 0..6 {
        let docs: Vec<(String, &'static str, String)> = (0..200)
            .map(|i| {
                (
                    format!("d-{batch}-{i}"),
                    "en",
                    format!("river number {i} of batch {batch}"),
                )
            })
            .collect();
        add(&index, &mut writer, &borrowed(&docs));
    }
    for i in 0..50 {
        writer.delete(&format!("d-0-{i}"));
    }
    writer.commit().expect("commit");
    index.refresh().expect("refresh");
    let segments = || index.reader.searcher().segment_readers().len();
    assert!(segments() >= 6, "{} segments", segments());
    let all_ids = || {
        let mut request = request("river", Syntax::Natural, vec!["en"]).expect("valid query");
        request.size = 2_000;
        request.highlight = false;
        sorted_ids(&index, &request)
    };
    let before = all_ids();
    assert_eq!(before.len(), 1_150);
    drop(writer);

    let done = index.compact(2).expect("compact");
    assert_eq!(done.after, 2, "{done:?}");
    assert!(done.before >= 6, "{done:?}");
    assert_eq!(segments(), 2);
    let sizes: Vec<u32> = index
        .reader
        .searcher()
        .segment_readers()
        .iter()
        .map(|s| s.max_doc())
        .collect();
    assert_eq!(
        sizes.iter().sum::<u32>(),
        1_150,
        "deleted documents dropped: {sizes:?}"
    );
    assert!(
        sizes.iter().all(|n| (400..=750).contains(n)),
        "about equal: {sizes:?}"
    );
    assert_eq!(all_ids(), before);
    let postings_files = std::fs::read_dir(dir.path())
        .expect("index dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "idx"))
        .count();
    assert_eq!(postings_files, 2, "the merged segments' files are deleted");

    // A merge needs room for the segments it writes again, beside the free space kept.
    let ids: Vec<_> = index
        .segment_docs()
        .expect("segments")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert!(index.room_to_merge(&ids, 0).is_ok());
    let refused = index
        .room_to_merge(&ids, u64::MAX / 2)
        .expect_err("no disk is that large");
    assert!(refused.contains("limits.min_free_disk_mb"), "{refused}");
    // Two segments asked of two: nothing to merge.
    assert_eq!(
        index.compact(2).expect("again"),
        Compaction {
            before: 2,
            after: 2
        }
    );
}

/// Compaction refuses to run beside another writer (a running `glossa serve` or ingest).
#[test]
fn compact_refuses_while_another_writer_holds_the_index() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (index, _writer) = index_with(dir.path(), DOCS);
    assert!(matches!(
        index.compact(1),
        Err(EmbeddedError::Tantivy(tantivy::TantivyError::LockFailure(
            ..
        )))
    ));
}

#[test]
fn idle_compaction_merges_small_segments_and_leaves_large_ones() {
    use tantivy::index::SegmentId;
    let docs_of = |plan: &[Vec<SegmentId>], segments: &[(SegmentId, u32)]| -> Vec<u64> {
        let mut sums: Vec<u64> = plan
            .iter()
            .map(|group| {
                group
                    .iter()
                    .map(|id| {
                        segments
                            .iter()
                            .find(|(s, _)| s == id)
                            .map_or(0, |(_, docs)| u64::from(*docs))
                    })
                    .sum()
            })
            .collect();
        sums.sort_unstable();
        sums
    };
    // As ingested to 10M: 33 segments of about 300,000 documents become 2 of about 5M.
    let ingested: Vec<_> = (0..33)
        .map(|i| (SegmentId::generate_random(), 290_000 + i * 1_000))
        .collect();
    let plan = idle_compaction_plan(ingested.clone(), 2);
    assert_eq!(plan.iter().map(Vec::len).sum::<usize>(), 33, "{plan:?}");
    let sums = docs_of(&plan, &ingested);
    assert_eq!(sums.len(), 2, "{sums:?}");
    assert!(sums[1] - sums[0] <= 322_000, "unbalanced: {sums:?}");

    // Compacted, then a few new writes: only the new small segments are merged.
    let large = [
        (SegmentId::generate_random(), 5_000_000),
        (SegmentId::generate_random(), 5_000_000),
    ];
    let small: Vec<_> = (0..5)
        .map(|_| (SegmentId::generate_random(), 50_000))
        .collect();
    let mut grown = large.to_vec();
    grown.extend(small.iter().copied());
    let plan = idle_compaction_plan(grown, 2);
    assert_eq!(plan.len(), 1, "{plan:?}");
    let mut merged = plan[0].clone();
    merged.sort();
    let mut expected: Vec<_> = small.iter().map(|(id, _)| *id).collect();
    expected.sort();
    assert_eq!(merged, expected);

    // At most twice the target: nothing to do.
    assert!(idle_compaction_plan(small[..4].to_vec(), 2).is_empty());
    // Target 1: a segment with half the documents or more stays, the rest become one.
    let three = [
        (SegmentId::generate_random(), 60),
        (SegmentId::generate_random(), 20),
        (SegmentId::generate_random(), 20),
    ];
    let plan = idle_compaction_plan(three.to_vec(), 1);
    assert_eq!(plan.len(), 1, "{plan:?}");
    assert!(
        !plan[0].contains(&three[0].0) && plan[0].len() == 2,
        "{plan:?}"
    );
}
