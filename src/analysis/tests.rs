use tantivy::tokenizer::{StopWordFilter, TextAnalyzer, Token, TokenizerManager};

use super::*;

fn manager() -> TokenizerManager {
    let manager = TokenizerManager::default();
    register(&manager);
    manager
}

fn analyze(analyzer: &mut TextAnalyzer, text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    analyzer
        .token_stream(text)
        .process(&mut |t| tokens.push(t.clone()));
    tokens
}

fn terms(name: &str, text: &str) -> Vec<String> {
    let mut analyzer = manager()
        .get(name)
        .unwrap_or_else(|| panic!("{name} not registered"));
    analyze(&mut analyzer, text)
        .into_iter()
        .map(|t| t.text)
        .collect()
}

/// Each word analyzes to exactly one term, and all of them to the same one.
fn assert_conflated(name: &str, words: &[&str]) {
    let analyzed: Vec<Vec<String>> = words.iter().map(|w| terms(name, w)).collect();
    assert_eq!(analyzed[0].len(), 1, "{name}: {words:?} -> {analyzed:?}");
    assert!(
        analyzed.iter().all(|t| t == &analyzed[0]),
        "{name}: {words:?} -> {analyzed:?}"
    );
}

#[test]
fn every_language_row_has_a_registered_tokenizer() {
    let manager = manager();
    for spec in crate::languages::all() {
        assert!(
            manager.get(&tokenizer_name(spec.code)).is_some(),
            "{} not registered",
            spec.code
        );
    }
    assert!(manager.get(GENERIC_TOKENIZER).is_some());
    assert_eq!(tokenizer_name("de"), "glossa_de");
}

#[test]
fn german_inflections_share_a_term() {
    assert_conflated("glossa_de", &["Häuser", "Hauses", "Haus", "HAUS"]);
}

#[test]
fn french_inflections_share_a_term() {
    assert_conflated("glossa_fr", &["nationale", "nationales", "national"]);
    assert_conflated("glossa_fr", &["chanteuse", "chanteuses"]);
}

#[test]
fn elided_articles_are_removed() {
    assert_eq!(terms("glossa_fr", "l'homme"), terms("glossa_fr", "homme"));
    assert_eq!(terms("glossa_fr", "d’accord"), terms("glossa_fr", "accord"));
    assert_eq!(terms("glossa_it", "dell'arte"), terms("glossa_it", "arte"));
    assert_eq!(terms("glossa_ca", "l'any"), ["any"]);
    // Not an article: the word stays whole; other languages keep apostrophes.
    assert_eq!(terms("glossa_fr", "aujourd'hui").len(), 1);
    assert_eq!(terms("glossa_en", "don't"), ["don't"]);
}

#[test]
fn the_generic_field_drops_elided_articles_of_every_language() {
    // Found by a search for the bare word whatever language field the query went to.
    assert_eq!(
        terms(GENERIC_TOKENIZER, "dell'applicazione l’homme d'accord"),
        ["applicazione", "homme", "accord"]
    );
    assert_eq!(
        terms(GENERIC_TOKENIZER, "don't o'clock aujourd'hui"),
        ["don't", "o'clock", "aujourd'hui"]
    );
}

#[test]
fn spanish_inflections_share_a_term() {
    assert_conflated("glossa_es", &["canción", "canciones"]);
    assert_conflated("glossa_es", &["corriendo", "correr", "corre"]);
}

#[test]
fn russian_inflections_share_a_term() {
    assert_conflated("glossa_ru", &["книга", "книги", "книгой", "Книгу"]);
}

#[test]
fn english_drops_stop_words_and_stems() {
    assert_eq!(terms("glossa_en", "The running dogs"), ["run", "dog"]);
}

#[test]
fn norwegian_variants_stem() {
    assert_eq!(terms("glossa_nb", "bilene"), terms("glossa_nb", "bil"));
    assert_eq!(terms("glossa_nn", "bilene"), terms("glossa_nn", "bil"));
}

#[test]
fn cached_stemmer_matches_tantivy_stemmer() {
    use tantivy::tokenizer::{Language, RawTokenizer, Stemmer};
    let mut plain = TextAnalyzer::builder(RawTokenizer::default())
        .filter(Stemmer::new(Language::German))
        .build();
    let mut cached = TextAnalyzer::builder(RawTokenizer::default())
        .filter(CachedStemmer::new(Language::German))
        .build();
    // Repeats hit the memo; more distinct words than its capacity force a reset.
    let words = ["häuser", "hauses", "haus", "häuser", "bücher", "häuser"]
        .into_iter()
        .map(str::to_string)
        .chain((0..super::cached_stemmer::STEM_CACHE_ENTRIES + 100).map(|i| format!("wörtern{i}")))
        .chain(["häuser", "bücher"].into_iter().map(str::to_string));
    for word in words {
        assert_eq!(
            analyze(&mut cached, &word),
            analyze(&mut plain, &word),
            "{word}"
        );
    }
}

#[test]
fn chinese_is_segmented_into_words() {
    let words = terms("glossa_zh", "中华人民共和国成立了");
    assert!(words.len() >= 2, "{words:?}");
    assert!(
        words.iter().filter(|w| w.chars().count() >= 2).count() >= 2,
        "expected multi-character words: {words:?}"
    );
}

#[test]
fn japanese_keeps_content_words_in_base_form() {
    // 住んで (inflected) -> 住む; に, で, い(る), ます are particles and auxiliaries.
    assert_eq!(
        terms("glossa_ja", "東京都に住んでいます"),
        ["東京", "都", "住む", "いる"]
    );
    // The same verb, however inflected, is one term.
    assert_conflated("glossa_ja", &["行きました", "行く", "行かない"]);
    // Latin and digits inside Japanese text stay searchable, lowercased and folded.
    assert_eq!(
        terms("glossa_ja", "Vim用のＳｏｌａｒｉｚｅｄカラースキーム"),
        ["vim", "用", "solarized", "カラー", "スキーム"]
    );
}

#[test]
fn japanese_katakana_spellings_meet() {
    // Halfwidth katakana is widened; a final prolonged sound mark is dropped from long words.
    assert_conflated("glossa_ja", &["コンピューター", "コンピュータ", "ｺﾝﾋﾟｭｰﾀｰ"]);
    assert_eq!(terms("glossa_ja", "ビール"), ["ビール"]);
}

#[test]
fn japanese_loanword_compounds_split_into_their_words() {
    assert_eq!(
        terms("glossa_ja", "プロセススケジューリングデーモン"),
        ["プロセス", "スケジューリング", "デーモン"]
    );
    assert_eq!(
        terms("glossa_ja", "リアルタイムユーザログイン監視ツール"),
        ["リアルタイム", "ユーザ", "ログイン", "監視", "ツール"]
    );
}

#[test]
fn japanese_phrases_keep_the_gaps_of_dropped_words() {
    let mut analyzer = manager().get("glossa_ja").expect("glossa_ja registered");
    let tokens = analyze(&mut analyzer, "東京の空");
    let positions: Vec<(String, usize)> =
        tokens.into_iter().map(|t| (t.text, t.position)).collect();
    assert_eq!(positions, [("東京".to_string(), 0), ("空".to_string(), 2)]);
}

#[test]
fn japanese_long_texts_are_analyzed_in_pieces_without_losing_words() {
    // No sentence end for far more than one piece: cut at a character boundary, every word kept.
    let text = "東京".repeat(10_000);
    let words = terms("glossa_ja", &text);
    assert!(words.len() >= 10_000 / 2, "{}", words.len());
    assert!(
        words.iter().all(|w| "東京".contains(w.as_str())),
        "{:?}",
        &words[..5]
    );
    let sentences = "ファイルを読みました。".repeat(2_000);
    assert_eq!(
        terms("glossa_ja", &sentences)
            .iter()
            .filter(|w| *w == "読む")
            .count(),
        2_000
    );
}

#[test]
fn thai_is_segmented_into_words() {
    let words = terms("glossa_th", "ฉันรักภาษาไทย");
    assert!(words.iter().any(|w| w == "ภาษา"), "{words:?}");
    assert!(words.iter().any(|w| w == "ไทย"), "{words:?}");
}

#[test]
fn khmer_lao_burmese_are_segmented() {
    for (name, text) in [
        ("glossa_km", "ខ្ញុំស្រឡាញ់ភាសាខ្មែរ"),
        ("glossa_lo", "ຂ້ອຍຮັກພາສາລາວ"),
        ("glossa_my", "ကျွန်တော်မြန်မာစကားပြောတတ်တယ်"),
    ] {
        let words = terms(name, text);
        assert!(words.len() >= 3, "{name}: {words:?}");
    }
}

#[test]
fn combining_marks_stay_inside_words() {
    assert_eq!(terms(GENERIC_TOKENIZER, "हिन्दी भाषा"), ["हिन्दी", "भाषा"]);
    // The Hindi field then strips inflection suffixes, vowel signs included.
    assert_eq!(terms("glossa_hi", "हिन्दी भाषा"), ["हिन्द", "भाष"]);
    assert_eq!(terms("glossa_ta", "தமிழ் மொழி").len(), 2);
    // NFD "café" (e + U+0301) followed by more text.
    assert_eq!(
        terms(GENERIC_TOKENIZER, "cafe\u{301} menu"),
        ["cafe", "menu"]
    );
}

#[test]
fn folded_languages_fold_accents() {
    assert_eq!(terms("glossa_cs", "Příliš"), terms("glossa_cs", "prilis"));
    assert_eq!(terms("glossa_vi", "Tiếng Việt"), ["tieng", "viet"]);
}

#[test]
fn generic_lowercases_and_folds() {
    assert_eq!(terms(GENERIC_TOKENIZER, "Ångström"), ["angstrom"]);
    assert_eq!(terms(GENERIC_TOKENIZER, "angstrom"), ["angstrom"]);
    assert_eq!(terms(GENERIC_TOKENIZER, "Straße CAFÉ"), ["strasse", "cafe"]);
}

#[test]
fn generic_keeps_numbers_and_product_codes_adjacent() {
    let mut analyzer = generic_analyzer();
    let tokens = analyze(&mut analyzer, "Order XJ-900, 3.14 kg");
    let texts: Vec<&str> = tokens.iter().map(|t| t.text.as_str()).collect();
    assert_eq!(texts, ["order", "xj", "900", "3.14", "kg"]);
    // "xj" and "900" are adjacent, so the query "XJ-900" (a phrase after analysis) matches.
    assert_eq!(tokens[2].position, tokens[1].position + 1);
}

#[test]
fn generic_segments_cjk_and_thai_inside_mixed_text() {
    let words = terms(GENERIC_TOKENIZER, "Glossa 東京都に住んでいます ภาษาไทย");
    assert_eq!(words.first().map(String::as_str), Some("glossa"));
    assert!(
        words.iter().any(|w| w == "東京" || w == "東京都"),
        "{words:?}"
    );
    assert!(words.iter().any(|w| w == "ไทย"), "{words:?}");
}

#[test]
fn long_tokens_are_dropped() {
    let long = "a".repeat(MAX_TOKEN_BYTES);
    let text = format!("short {long} end");
    assert_eq!(terms(GENERIC_TOKENIZER, &text), ["short", "end"]);
}

#[test]
fn offsets_slice_back_and_positions_increase() {
    let text = "  Die Häuser, the XJ-900! 中华人民共和国成立了。東京都に住んでいます ฉันรักภาษาไทย \
                ខ្ញុំស្រឡាញ់ភាសាខ្មែរ हिन्दी «Ångström» 3.14 ";
    let manager = manager();
    let names = crate::languages::all()
        .iter()
        .map(|s| tokenizer_name(s.code))
        .chain([GENERIC_TOKENIZER.to_string()]);
    for name in names {
        let Some(mut analyzer) = manager.get(&name) else {
            panic!("{name} not registered");
        };
        let tokens = analyze(&mut analyzer, text);
        assert!(!tokens.is_empty(), "{name}");
        let mut last_position = None;
        let mut last_end = 0;
        for token in &tokens {
            let slice = text
                .get(token.offset_from..token.offset_to)
                .unwrap_or_else(|| panic!("{name}: bad offsets {token:?}"));
            assert!(!slice.trim().is_empty(), "{name}: {token:?}");
            assert!(token.offset_from >= last_end, "{name}: {token:?}");
            assert!(last_position.is_none_or(|p| token.position > p), "{name}");
            last_end = token.offset_to;
            last_position = Some(token.position);
        }
    }
    // Raw tokenizer output is the source slice, lowercased.
    let mut tokenizer = WordTokenizer::new();
    let mut stream = tantivy::tokenizer::Tokenizer::token_stream(&mut tokenizer, text);
    let mut count = 0;
    while let Some(token) = tantivy::tokenizer::TokenStream::next(&mut stream) {
        let source = text.get(token.offset_from..token.offset_to);
        assert_eq!(
            source.map(|s| s.chars().flat_map(char::to_lowercase).collect::<String>()),
            Some(token.text.clone())
        );
        assert_eq!(token.position, count);
        count += 1;
    }
    assert!(count > 15);
}

#[test]
fn empty_and_punctuation_only_text_yield_nothing() {
    assert!(terms(GENERIC_TOKENIZER, "").is_empty());
    assert!(terms(GENERIC_TOKENIZER, " ,.!? — «» ").is_empty());
}

/// End to end through a real index: what a search user types finds the document.
#[test]
fn search_through_an_index() -> tantivy::Result<()> {
    use tantivy::collector::Count;
    use tantivy::query::QueryParser;
    use tantivy::schema::{IndexRecordOption, Schema, TextFieldIndexing, TextOptions};
    use tantivy::{doc, Index};

    let field_options = |tokenizer: &str| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
    };
    let mut builder = Schema::builder();
    let all = builder.add_text_field("all", field_options(GENERIC_TOKENIZER));
    let de = builder.add_text_field("de", field_options(&tokenizer_name("de")));
    let index = Index::create_in_ram(builder.build());
    register(index.tokenizers());
    let mut writer = index.writer_with_num_threads(1, 15_000_000)?;
    let text = "Die Häuser des Herstellers: Modell XJ-900 von Ångström AG";
    writer.add_document(doc!(all => text, de => text))?;
    writer.commit()?;
    let searcher = index.reader()?.searcher();
    let hits = |field, query: &str| -> tantivy::Result<usize> {
        let parsed = QueryParser::for_index(&index, vec![field]).parse_query(query)?;
        searcher.search(&parsed, &Count)
    };
    assert_eq!(hits(all, "angstrom")?, 1);
    assert_eq!(hits(all, "XJ-900")?, 1);
    assert_eq!(hits(all, "xj 900")?, 1);
    assert_eq!(hits(all, "XJ-901")?, 0);
    assert_eq!(hits(de, "Haus")?, 1);
    assert_eq!(hits(de, "Hauses")?, 1);
    Ok(())
}

/// Throughput on ~500-byte documents; run with
/// `cargo test --release -- --ignored --nocapture analysis_throughput`.
#[test]
#[ignore]
fn analysis_throughput() {
    let de = "Die Bundesregierung hat am Mittwoch neue Regeln für den Ausbau der erneuerbaren \
              Energien beschlossen. Nach Angaben des Wirtschaftsministeriums sollen Genehmigungen \
              für Windräder und Solaranlagen künftig deutlich schneller erteilt werden. Kommunen \
              erhalten mehr Spielraum bei der Ausweisung von Flächen, und Bürger sollen stärker \
              an den Erträgen beteiligt werden. Kritiker bemängeln jedoch, dass der Netzausbau \
              weiterhin hinterherhinke und die Speicherkapazitäten nicht ausreichten. Modell \
              XJ-900, Preis 1.299,00 Euro.";
    let en = "The city council approved a new plan on Wednesday to expand the public transit \
              network over the next decade. Officials said the first phase would add three bus \
              rapid transit lines and extend the light rail to the airport, with construction \
              expected to begin next spring. Residents raised concerns about noise and the cost \
              of the project, which is estimated at 2.4 billion dollars. The mayor said federal \
              grants would cover about half of the cost, and the remainder would come from bonds.";
    let ru = "Правительство в среду утвердило новые правила развития возобновляемой энергетики. \
              По данным министерства, разрешения на строительство ветряных и солнечных станций \
              будут выдаваться значительно быстрее. Муниципалитеты получат больше свободы при \
              выделении участков, а жители смогут участвовать в доходах.";
    let ja = "東京都は水曜日、再生可能エネルギーの拡大に向けた新しい規則を決定した。経済産業省によると、\
              風力発電所と太陽光発電所の許可は今後大幅に迅速化される。自治体には土地の指定でより大きな\
              裁量が与えられ、住民は収益に参加できるようになる。";
    let th = "รัฐบาลได้อนุมัติกฎใหม่สำหรับการขยายพลังงานหมุนเวียนเมื่อวันพุธ ตามข้อมูลของกระทรวง \
              การอนุญาตสำหรับกังหันลมและแผงโซลาร์เซลล์จะได้รับเร็วขึ้นมาก ชุมชนจะได้รับอิสระมากขึ้น";
    let uncached_de = TextAnalyzer::builder(WordTokenizer::new())
        .filter(tantivy::tokenizer::RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(tantivy::tokenizer::LowerCaser)
        .filter(
            StopWordFilter::new(tantivy::tokenizer::Language::German)
                .unwrap_or_else(|| StopWordFilter::remove(Vec::new())),
        )
        .filter(tantivy::tokenizer::Stemmer::new(
            tantivy::tokenizer::Language::German,
        ))
        .build();
    let manager = manager();
    manager.register("de_without_memo", uncached_de);
    let cases = [
        ("glossa_generic", en),
        ("glossa_generic", de),
        ("glossa_de", de),
        ("de_without_memo", de),
        ("glossa_en", en),
        ("glossa_ru", ru),
        ("glossa_generic", ja),
        ("glossa_ja", ja),
        ("glossa_th", th),
    ];
    for (name, text) in cases {
        let Some(mut analyzer) = manager.get(name) else {
            panic!("{name} not registered");
        };
        let mut tokens_per_doc = 0usize;
        analyzer
            .token_stream(text)
            .process(&mut |_| tokens_per_doc += 1);
        let iterations = 20_000usize;
        let start = std::time::Instant::now();
        let mut tokens = 0usize;
        for _ in 0..iterations {
            analyzer.token_stream(text).process(&mut |_| tokens += 1);
        }
        let seconds = start.elapsed().as_secs_f64();
        let mb = (text.len() * iterations) as f64 / 1e6;
        println!(
            "{name:>15} {bytes:>4} B/doc {tokens_per_doc:>3} tok/doc: {docs:>8.0} docs/s \
             {toks:>9.0} tokens/s {mbs:>6.1} MB/s (1 core)",
            bytes = text.len(),
            docs = iterations as f64 / seconds,
            toks = tokens as f64 / seconds,
            mbs = mb / seconds,
        );
    }
}

#[test]
fn remembered_boundaries_give_the_same_tokens_as_a_fresh_segmentation() {
    // Interleaved texts (as Tantivy interleaves a document's fields), repeats, and a text too long
    // to be remembered: every pass must give exactly the words of a fresh segmentation.
    let long = "Häuser und Gärten. 東京都に住んでいます。".repeat(1000);
    let texts = [
        "Die Häuser am Fluss",
        "北京大学的学生",
        "Die Häuser am Fluss",
        "ภาษาไทยง่ายนิดเดียว",
        long.as_str(),
        "北京大学的学生",
        long.as_str(),
    ];
    let offsets = |tokens: Vec<Token>| -> Vec<(usize, usize)> {
        tokens
            .iter()
            .map(|t| (t.offset_from, t.offset_to))
            .collect()
    };
    let mut generic = generic_analyzer();
    let mut german = analyzer_for(crate::languages::get("de").expect("de row"));
    for text in texts {
        let fresh = WordTokenizer::new().words(text);
        assert!(!fresh.is_empty());
        assert_eq!(offsets(analyze(&mut generic, text)), fresh, "{text:.40}");
        // The German chain drops stop words ("und", "die"), never invents or moves a token.
        let german_offsets = offsets(analyze(&mut german, text));
        assert!(
            german_offsets.iter().all(|o| fresh.contains(o)),
            "{text:.40}"
        );
        assert_eq!(offsets(analyze(&mut generic, text)), fresh, "{text:.40}");
    }
}
