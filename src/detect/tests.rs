use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use super::*;

/// One shared all-languages detector: building it preloads every model (seconds).
fn all() -> &'static Detector {
    static D: OnceLock<Detector> = OnceLock::new();
    D.get_or_init(|| Detector::new(&DetectorConfig::default()).expect("default config is valid"))
}

const DE: &str = "Die Bundesregierung hat am Mittwoch einen Gesetzentwurf beschlossen, der die \
    Genehmigungsverfahren für Windkraftanlagen an Land deutlich beschleunigen soll. Künftig \
    sollen die Behörden innerhalb von drei Monaten entscheiden müssen.";
const FR: &str = "Le gouvernement a présenté mercredi un projet de loi visant à accélérer les \
    procédures d'autorisation des éoliennes terrestres. Les préfectures devront désormais \
    se prononcer dans un délai de trois mois.";
const RU: &str = "Правительство в среду одобрило законопроект, который должен значительно \
    ускорить процедуры согласования строительства ветряных электростанций на суше.";

#[test]
fn script_only_languages_are_decided_by_script() {
    let d = all().detect("ព្រះរាជាណាចក្រកម្ពុជា គឺជាប្រទេសមួយនៅអាស៊ីអាគ្នេយ៍");
    assert_eq!((d.lang, d.method), ("km", Method::Script));
    let d = all().detect_accurate("ພາສາລາວ ເປັນພາສາລາດຊະການ");
    assert_eq!((d.lang, d.method), ("lo", Method::Script));
    assert_eq!(all().detect("ሰላም ለዓለም").lang, "am");
    assert_eq!(all().detect("ދިވެހިރާއްޖެ").lang, "dv");
}

#[test]
fn unambiguous_scripts() {
    let d = all().detect("대한민국의 수도는 서울이며 인구는 약 천만 명이다.");
    assert_eq!((d.lang, d.method), ("ko", Method::Script));
    // Short Japanese shares Han with Chinese, so lingua decides; long text is decided by kana.
    let d = all().detect("東京都の天気は明日から崩れる見込みです。");
    assert_eq!(d.lang, "ja");
    let d = all().detect(&"東京都の天気は明日から崩れる見込みです。".repeat(10));
    assert_eq!((d.lang, d.method), ("ja", Method::Script));
    // Latin product names inside Japanese do not turn it into English.
    assert_eq!(
        all().detect("USB Type-C ケーブル 2m 急速充電対応").lang,
        "ja"
    );
    let d = all().detect_accurate("Η Αθήνα είναι η πρωτεύουσα της Ελλάδας.");
    assert_eq!((d.lang, d.method), ("el", Method::Script));
}

#[test]
fn documents_in_shared_scripts() {
    for (text, lang) in [(DE, "de"), (FR, "fr"), (RU, "ru")] {
        let d = all().detect(text);
        assert_eq!(d.lang, lang, "{d:?}");
        assert!(matches!(d.method, Method::Fast | Method::Lingua), "{d:?}");
        assert!(d.confidence > 0.5, "{d:?}");
        assert_eq!(d.alternatives.first().map(|a| a.0), Some(lang));
        assert_eq!(all().detect_accurate(text).lang, lang);
    }
    // A short Han-only text is a short text: lingua decides (zh), as on the accurate path.
    let d = all().detect("北京市今天发布了新的交通管理规定，自下月起实施。");
    assert_eq!((d.lang, d.method), ("zh", Method::Lingua));
}

#[test]
fn short_texts() {
    assert_eq!(all().detect_accurate("Wie spät ist es?").lang, "de");
    assert_eq!(
        all()
            .detect_accurate("où se trouve la gare la plus proche")
            .lang,
        "fr"
    );
    assert_eq!(all().detect_accurate("погода в москве").lang, "ru");
}

#[test]
fn mixed_scripts_follow_the_main_one() {
    let text = "Новый iPhone 15 Pro Max поступил в продажу в магазинах Apple Store по всей \
        стране, сообщили в компании.";
    assert_eq!(all().detect(text).lang, "ru");
}

#[test]
fn long_documents_are_sampled_not_misread() {
    let long = DE.repeat(40);
    let d = all().detect(&long);
    assert_eq!(d.lang, "de");
}

#[test]
fn no_letters_is_und() {
    for text in [
        "",
        "   ",
        "12345 678",
        "😀🎉👍",
        "!!! ??? --- 3.14",
        "٣٤٥ ١٢",
    ] {
        let d = all().detect(text);
        assert_eq!(
            (d.lang, d.method),
            ("und", Method::Undetermined),
            "{text:?}"
        );
        assert_eq!(all().detect_accurate(text).lang, "und");
    }
}

#[test]
fn min_confidence_turns_weak_answers_into_und() {
    // A single ambiguous word: lingua spreads probability over related languages.
    let word = "internet";
    let lax = Detector::new(&DetectorConfig {
        languages: Some(vec!["en".into(), "de".into(), "fr".into(), "nl".into()]),
        min_confidence: 0.0,
    })
    .expect("valid");
    let d = lax.detect_accurate(word);
    assert_ne!(d.lang, "und");
    assert!(d.confidence < 1.0);
    let strict = Detector::new(&DetectorConfig {
        languages: Some(vec!["en".into(), "de".into(), "fr".into(), "nl".into()]),
        min_confidence: d.confidence + 1e-9,
    })
    .expect("valid");
    let s = strict.detect_accurate(word);
    assert_eq!((s.lang, s.method), ("und", Method::Undetermined));
    assert!(
        !s.alternatives.is_empty(),
        "candidates are kept for debugging"
    );
    // Confident documents pass the strict floor.
    assert_eq!(strict.detect(DE).lang, "de");
    // Script decisions are certain and unaffected.
    assert_eq!(all().detect("Η Αθήνα").confidence, 1.0);
}

#[test]
fn unknown_language_is_an_error_naming_it() {
    let err = Detector::new(&DetectorConfig {
        languages: Some(vec!["de".into(), "xx".into()]),
        ..Default::default()
    })
    .err()
    .expect("xx is not a language");
    let msg = err.to_string();
    assert!(msg.contains("\"xx\""), "{msg}");
    assert!(msg.contains("km") && msg.contains("zu"), "{msg}");
    assert!(matches!(
        Detector::new(&DetectorConfig {
            languages: Some(vec![]),
            ..Default::default()
        }),
        Err(DetectError::NoLanguages)
    ));
    assert!(matches!(
        Detector::new(&DetectorConfig {
            languages: None,
            min_confidence: 1.5
        }),
        Err(DetectError::InvalidConfidence(_))
    ));
}

#[test]
fn language_subset_is_honoured() {
    let d = Detector::new(&DetectorConfig {
        languages: Some(vec!["EN".into(), "de".into(), "km".into()]),
        ..Default::default()
    })
    .expect("valid");
    assert_eq!(d.languages(), vec!["de", "en", "km"]);
    assert!(d.supports("km") && d.supports("de") && !d.supports("fr"));
    // French text can only come out as one of the configured languages (or und).
    let r = d.detect(FR);
    assert!(["en", "de", "und"].contains(&r.lang), "{r:?}");
    assert!(r.alternatives.iter().all(|(c, _)| ["en", "de"].contains(c)));
    assert_eq!(d.detect(DE).lang, "de");
    // A script language outside the subset is und, not a guess.
    assert_eq!(d.detect("대한민국의 수도는 서울").lang, "und");
    assert_eq!(d.detect("ព្រះរាជាណាចក្រកម្ពុជា").lang, "km");
    // Russian text with no Cyrillic language configured.
    assert_eq!(d.detect(RU).lang, "und");
}

#[test]
fn every_lingua_language_has_a_static_code() {
    let d = all();
    assert_eq!(d.lingua_code.len(), 75);
    for l in Language::all() {
        let code = d.lingua_code.get(&l).copied();
        assert_eq!(
            code.map(str::to_string),
            Some(l.iso_code_639_1().to_string())
        );
    }
    assert_eq!(d.languages().len(), 85);
    assert!(tables::SCRIPT_ONLY_CODES.iter().all(|c| d.supports(c)));
}

#[test]
fn shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Detector>();
    let d = Arc::new(
        Detector::new(&DetectorConfig {
            languages: Some(vec!["de".into(), "fr".into(), "en".into()]),
            ..Default::default()
        })
        .expect("valid"),
    );
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let d = Arc::clone(&d);
            std::thread::spawn(move || d.detect(if i % 2 == 0 { DE } else { FR }).lang)
        })
        .collect();
    let langs: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().expect("no panic"))
        .collect();
    assert_eq!(langs, vec!["de", "fr", "de", "fr"]);
}

#[test]
fn serializes_method_snake_case() {
    let d = all().detect("Η Αθήνα είναι η πρωτεύουσα");
    let json = serde_json::to_value(&d).expect("serializable");
    assert_eq!(json["method"], "script");
    assert_eq!(json["lang"], "el");
}

/// Counts as the search API reads them from an index.
fn counts(pairs: &[(&str, u64)]) -> Vec<(String, u64)> {
    pairs.iter().map(|(l, n)| (l.to_string(), *n)).collect()
}

#[test]
fn a_query_prior_keeps_lingua_among_the_index_languages() {
    let text = "Development files for libqrtr-glib";
    let unaware = all().detect_accurate(text);
    assert_ne!(unaware.lang, "en", "the case the prior is for: {unaware:?}");
    let prior = all()
        .corpus_prior(&counts(&[
            ("en", 5000),
            ("de", 3000),
            ("fr", 2000),
            ("und", 40),
        ]))
        .expect("10,000 documents make a prior");
    assert_eq!(prior.documents(), 10_000, "und is not a language");
    assert_eq!(prior.languages(), vec!["en", "de", "fr"]);
    let d = all().detect_accurate_with_prior(text, Some(&prior));
    assert_eq!(d.lang, "en", "{d:?}");
    assert!(d
        .alternatives
        .iter()
        .all(|(l, _)| ["en", "de", "fr"].contains(l)));
    let sum: f64 = d.alternatives.iter().map(|(_, p)| p).sum();
    assert!(sum <= 1.0 + 1e-9 && d.confidence > 0.0, "{d:?}");
}

#[test]
fn a_query_prior_weighs_close_calls_toward_the_larger_language() {
    // Two words both Italian and Portuguese: the index's share decides.
    let text = "casa nova";
    let pt_heavy = all()
        .corpus_prior(&counts(&[("pt", 9_000), ("it", 100), ("en", 900)]))
        .expect("prior");
    let it_heavy = all()
        .corpus_prior(&counts(&[("it", 9_000), ("pt", 100), ("en", 900)]))
        .expect("prior");
    assert_eq!(
        all().detect_accurate_with_prior(text, Some(&pt_heavy)).lang,
        "pt"
    );
    assert_eq!(
        all().detect_accurate_with_prior(text, Some(&it_heavy)).lang,
        "it"
    );
}

#[test]
fn a_query_prior_never_hides_strong_evidence() {
    let latin_only = all()
        .corpus_prior(&counts(&[("en", 600), ("de", 400)]))
        .expect("prior");
    // A script of one language, and a script no index language is written in.
    assert_eq!(
        all()
            .detect_accurate_with_prior("서울 날씨", Some(&latin_only))
            .lang,
        "ko"
    );
    assert_eq!(
        all().detect_accurate_with_prior(RU, Some(&latin_only)).lang,
        "ru"
    );
    // Too few documents to say anything: no prior at all.
    assert!(all().corpus_prior(&counts(&[("en", 99)])).is_none());
    // One lingua language: lingua cannot choose among one, the whole detector decides.
    let one = all().corpus_prior(&counts(&[("fr", 500)])).expect("prior");
    assert_eq!(all().detect_accurate_with_prior(DE, Some(&one)).lang, "de");
}

#[test]
fn a_learned_prior_starts_after_enough_confident_decisions_and_only_counts_those() {
    let detector = Arc::new(Detector::new(&DetectorConfig::default()).expect("detector"));
    let learned = LearnedPrior::learning(detector.clone());
    for _ in 0..99 {
        learned.observe("da");
    }
    assert!(
        learned.current().is_none(),
        "cold start: no prior before 100 decisions"
    );
    learned.observe("en");
    let prior = learned.current().expect("a prior at 100 decisions");
    assert_eq!(prior.documents(), 100);
    assert_eq!(prior.languages(), vec!["da", "en"]);
    learned.observe("xx");
    learned.observe("und");
    assert_eq!(
        learned.current().map(|p| p.documents()),
        Some(100),
        "unknown codes are not counted, and the prior waits for the count to double"
    );
    // A stream of Danish and English: a short Danish record lingua alone takes for another
    // language stays Danish under the stream's prior.
    let short = "Skal vi gå en tur";
    let alone = detector.detect_accurate(short);
    assert_ne!(alone.lang, "da", "the case the prior is for: {alone:?}");
    let weighed = detector.detect_with_prior(short, Some(&prior));
    assert_eq!(weighed.lang, "da", "alone: {alone:?}, weighed: {weighed:?}");
}

#[test]
fn a_configured_prior_is_a_distribution_from_the_start() {
    let detector = Arc::new(Detector::new(&DetectorConfig::default()).expect("detector"));
    let fixed = LearnedPrior::configured(
        detector.clone(),
        &[("pt".to_string(), 7), ("it".to_string(), 3)],
    );
    let prior = fixed
        .current()
        .expect("shares as small as 7 and 3 make a prior");
    assert_eq!(prior.languages(), vec!["pt", "it"]);
    for _ in 0..1000 {
        fixed.observe("en");
    }
    assert_eq!(
        fixed.current().map(|p| p.languages()),
        Some(vec!["pt", "it"])
    );
    let why = detector.explain("casa nova", Some(&prior));
    assert!(why.path.contains("prior"), "{why:?}");
    assert_eq!(why.detection.lang, "pt");
    assert_eq!(why.scores.first().map(|s| s.lang), Some("pt"));
    assert!(why
        .scores
        .iter()
        .all(|s| s.posterior <= 1.0 && s.weight > 0.0));
    // Hangul is decided by its script, whatever the prior says.
    let why = detector.explain("서울 날씨", Some(&prior));
    assert_eq!((why.detection.lang, why.scores.len()), ("ko", 0), "{why:?}");
}

#[test]
fn words_tell_close_languages_apart_where_lingua_cannot() {
    let without = Detector::with_tuning(
        &DetectorConfig::default(),
        Tuning {
            close_words: false,
            ..Tuning::default()
        },
    )
    .expect("default config is valid");
    // UDHR articles 13.2 and 23.4 in Indonesian, which lingua's web-trained models call Malay.
    for text in [
        "Setiap orang berhak meninggalkan sesuatu negeri, termasuk negerinya sendiri, dan berhak \
         kembali ke negerinya.",
        "Setiap orang berhak mendirikan dan memasuki serikat-serikat pekerja untuk melindungi \
         kepentingannya.",
    ] {
        assert_eq!(without.detect_accurate(text).lang, "ms", "{text}");
        assert_eq!(all().detect_accurate(text).lang, "id", "{text}");
        assert_eq!(all().detect(text).lang, "id", "{text}");
        let why = all().explain(text, None);
        let evidence: Vec<&str> = why.word_evidence.iter().map(|w| w.lang).collect();
        assert_eq!(
            evidence,
            ["id", "ms"],
            "the explanation shows the words' part"
        );
        assert!(why.word_evidence[0].log_likelihood > why.word_evidence[1].log_likelihood);
    }
    // Malay stays Malay (UDHR article 1 in Malay).
    let ms = "Semua manusia dilahirkan bebas dan samarata dari segi kemuliaan dan hak-hak. Mereka \
              mempunyai pemikiran dan perasaan hati dan hendaklah bertindak di antara satu sama \
              lain dengan semangat persaudaraan.";
    assert_eq!(all().detect_accurate(ms).lang, "ms");
}

/// Marker words decide Bokmål sentences lingua calls Nynorsk (lingua's own test sentences),
/// and let Serbian in Latin script, which lingua never answers, be Serbian.
#[test]
fn marker_words_tell_bokmal_from_nynorsk_and_find_latin_serbian() {
    let without = Detector::with_tuning(
        &DetectorConfig::default(),
        Tuning {
            marker_weight: 0.0,
            ..Tuning::default()
        },
    )
    .expect("default config is valid");
    for text in [
        "Jeg fikk kattekalender også, og Terje fikk et matura-bilde av mamma.",
        "Hvem bør få enteral ernæring?",
    ] {
        assert_eq!(without.detect_accurate(text).lang, "nn", "{text}");
        assert_eq!(all().detect_accurate(text).lang, "nb", "{text}");
        assert_eq!(all().detect(text).lang, "nb", "{text}");
    }
    let serbian = "Svako ima pravo na život, slobodu i bezbednost ličnosti. Posle toga je rekao \
                   da će doći u sredu.";
    assert_ne!(without.detect_accurate(serbian).lang, "sr");
    assert_eq!(all().detect_accurate(serbian).lang, "sr");
    let why = all().explain(serbian, None);
    let misses: Vec<(&str, u32)> = why
        .marker_evidence
        .iter()
        .map(|m| (m.lang, m.misses))
        .collect();
    assert_eq!(
        misses,
        [("bs", 2), ("hr", 2), ("sr", 0)],
        "the explanation shows the markers"
    );
    // A query over an index without Serbian documents is not sent to its empty field.
    let without_serbian = all()
        .corpus_prior(&[("bs".to_string(), 500), ("hr".to_string(), 500)])
        .expect("prior");
    let query = all().detect_accurate_with_prior(serbian, Some(&without_serbian));
    assert!(["bs", "hr"].contains(&query.lang), "{query:?}");
    let with_serbian = all()
        .corpus_prior(&[
            ("bs".to_string(), 500),
            ("hr".to_string(), 500),
            ("sr".to_string(), 500),
        ])
        .expect("prior");
    let query = all().detect_accurate_with_prior(serbian, Some(&with_serbian));
    assert_eq!(query.lang, "sr", "{query:?}");
}

#[test]
fn each_source_learns_its_own_languages() {
    let detector = Arc::new(Detector::new(&DetectorConfig::default()).expect("detector"));
    let priors = SourcePriors::learning(detector.clone());
    for _ in 0..75 {
        priors.observe("kafka:danish/0", "da");
        priors.observe("kafka:danish/1", "en");
    }
    for _ in 0..150 {
        priors.observe("kafka:nynorsk/2", "nn");
    }
    // The same short record is weighed by its own topic's languages, whatever the partition.
    let short = "Skal vi gå en tur";
    let danish = priors.current("kafka:danish/5").expect("the topic's prior");
    assert_eq!(danish.languages(), vec!["da", "en"]);
    assert_eq!(detector.detect_with_prior(short, Some(&danish)).lang, "da");
    let nynorsk = priors
        .current("kafka:nynorsk/0")
        .expect("the topic's prior");
    assert_eq!(nynorsk.languages(), vec!["nn"]);
    assert_eq!(detector.detect_with_prior(short, Some(&nynorsk)).lang, "nn");
    // A source without enough decisions of its own is weighed by the worker's prior.
    priors.observe("/data/new.ndjson", "da");
    let worker = priors
        .current("/data/new.ndjson")
        .expect("the worker's prior");
    let mut languages = worker.languages();
    languages.sort_unstable();
    assert_eq!(languages, vec!["da", "en", "nn"]);
    // A configured prior is every source's.
    let fixed = SourcePriors::configured(detector.clone(), &counts(&[("de", 7), ("fr", 3)]));
    for source in ["kafka:danish/0", "http:1"] {
        let prior = fixed.current(source).expect("configured");
        assert_eq!(prior.languages(), vec!["de", "fr"]);
    }
}

/// A detector whose lingua sees every candidate language (no fast-scorer shortlist), to
/// compare the shortlist's decisions with.
fn without_shortlist() -> Detector {
    Detector::with_tuning(
        &DetectorConfig::default(),
        Tuning {
            shortlist: 0,
            ..Tuning::default()
        },
    )
    .expect("valid")
}

/// Records of 40-120 letters, where the shortlist applies, with their language.
const SHORTLISTED: [(&str, &str); 6] = [
    (
        "de",
        "Werkzeuge zum Bearbeiten von Bilddateien auf der Kommandozeile",
    ),
    (
        "it",
        "Strumenti per la gestione dei pacchetti del sistema operativo",
    ),
    (
        "da",
        "Værktøjer til at håndtere pakker fra kommandolinjen i systemet",
    ),
    (
        "pl",
        "Narzędzia do zarządzania pakietami z poziomu wiersza poleceń",
    ),
    (
        "uk",
        "Інструменти для керування пакунками з командного рядка системи",
    ),
    (
        "pt",
        "Ferramentas para gerenciar pacotes a partir da linha de comando",
    ),
];

#[test]
fn short_records_are_decided_among_the_fast_scorers_shortlist_as_lingua_over_all_would() {
    let over_all = without_shortlist();
    // 40-120 letters: the shortlist applies (fewer letters and it does not).
    let records = SHORTLISTED;
    for (lang, text) in records {
        let stats = ScriptStats::of(text);
        assert!(
            (40..120).contains(&stats.letters),
            "{text:?} has {} letters",
            stats.letters
        );
        let script = choose_script(&stats).expect("letters");
        let shortlist = all()
            .shortlist(text, &stats, script, &|_| true)
            .expect("ranked");
        assert_eq!(shortlist.len(), Tuning::default().shortlist, "{text:?}");
        let d = all().detect(text);
        assert_eq!((d.lang, d.method), (lang, Method::Lingua), "{text:?}");
        assert_eq!(d.lang, over_all.detect(text).lang, "{text:?}");
        assert!(
            all().explain(text, None).path.contains("ranks best"),
            "{text:?}"
        );
    }
    // A few words: lingua over every language, as without the shortlist.
    let stats = ScriptStats::of("Bilddateien bearbeiten");
    assert!(all()
        .shortlist("Bilddateien bearbeiten", &stats, Script::Latin, &|_| true)
        .is_none());
    assert!(all()
        .explain("Bilddateien bearbeiten", None)
        .path
        .contains("over all languages"));
}

/// A query of 40+ letters goes to lingua among the index's languages the fast scorer ranks
/// best, and is decided as lingua over all the index's languages decides it; a shorter one is
/// weighed over every language the index holds.
#[test]
fn long_queries_are_weighed_among_the_shortlist_of_the_indexs_languages() {
    let held = [
        "en", "de", "fr", "it", "es", "pt", "nl", "da", "sv", "pl", "cs", "fi",
    ];
    let pairs: Vec<(&str, u64)> = held.iter().map(|code| (*code, 1_000)).collect();
    let over_all = without_shortlist();
    let prior = all().corpus_prior(&counts(&pairs)).expect("prior");
    let prior_all = over_all.corpus_prior(&counts(&pairs)).expect("prior");
    let long = &SHORTLISTED[..3];
    for &(lang, text) in long {
        let explained = all().explain(text, Some(&prior));
        assert!(
            explained.path.contains("ranks best"),
            "{text:?}: {}",
            explained.path
        );
        let chosen = all().detect_accurate_with_prior(text, Some(&prior));
        let over_held = over_all.detect_accurate_with_prior(text, Some(&prior_all));
        assert_eq!((chosen.lang, over_held.lang), (lang, lang), "{text:?}");
    }
    let short = all().explain("Bilddateien bearbeiten", Some(&prior));
    assert_eq!(short.path, "lingua weighted by the prior's shares");
}

/// A query of product names and one Italian preposition: lingua alone takes it for English;
/// the index's documents holding "per" are nearly all Italian, the names are in every
/// language's, so the index's vocabulary makes it Italian.
#[test]
fn the_index_vocabulary_outweighs_names_that_look_english() {
    let text = "colorscheme Solarized per Vim";
    let prior = all()
        .corpus_prior(&counts(&[("en", 500), ("it", 500), ("da", 500)]))
        .expect("prior");
    // One weighing by lingua and the prior, decided with and without the index's words.
    let weighing = all().weigh_query(text, Some(&prior));
    let decide =
        |words: &[BTreeMap<String, u64>]| all().decide_query(text, &weighing, Some(&prior), words);
    let unaware = decide(&[]);
    assert_eq!(unaware.lang, "en", "the case this is for: {unaware:?}");
    // Without words, the prior's own decision (lingua's sums can differ in the last bit from
    // run to run).
    let prior_only = all().detect_accurate_with_prior(text, Some(&prior));
    assert_eq!(unaware.lang, prior_only.lang);
    assert!(
        (unaware.confidence - prior_only.confidence).abs() < 1e-9,
        "{unaware:?} vs {prior_only:?}"
    );
    let words =
        |pairs: &[(&str, u64)]| -> BTreeMap<String, u64> { counts(pairs).into_iter().collect() };
    let index_words = [
        words(&[("en", 4), ("it", 3), ("da", 2)]),
        words(&[("en", 3), ("it", 3), ("da", 3)]),
        words(&[("it", 420), ("en", 12), ("da", 1)]),
        words(&[("en", 20), ("it", 18), ("da", 19)]),
    ];
    let aware = decide(&index_words);
    assert_eq!(aware.lang, "it", "{aware:?}");
    // Words every language's documents share leave lingua's decision as it was.
    let shared = vec![words(&[("en", 50), ("it", 50), ("da", 50)]); 4];
    let neutral = decide(&shared);
    assert_eq!(neutral.lang, "en", "{neutral:?}");
    assert!(
        (neutral.confidence - unaware.confidence).abs() < 0.02,
        "{neutral:?} vs {unaware:?}"
    );
}
