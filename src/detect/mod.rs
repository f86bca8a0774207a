//! Language detection: decides the language of each record (fast path) and of each query
//! (accurate path).
//!
//! Why this is not plain lingua: lingua's high-accuracy mode with all 75 languages scores every
//! character trigram of the text against every language of its script (about 50 for Latin),
//! and each of those lookups walks an FST behind a concurrent map, which costs milliseconds per
//! document. `detect` computes the same model's answer for a fraction of that:
//!
//! 1. **Script.** Letters are counted per Unicode script. A script used by one language decides
//!    it directly (Hangul -> ko, any kana -> ja, Greek, Thai, Hebrew, Armenian, Georgian, the
//!    Indic scripts, and the script-only languages lingua lacks: km, lo, my, am, si, ml, kn, bo,
//!    or, dv). No letters at all -> "und".
//! 2. **Sample.** `detect` scores a bounded sample (400 characters from the start, middle and
//!    end) instead of the whole record, so the cost per record is flat whatever its size.
//! 3. **Fast trigram scorer** (`ngram.rs`). On 120+ letters lingua itself scores trigrams only;
//!    `ngram.rs` evaluates exactly that model (lingua's own model files, same backoff, same
//!    softmax) over every configured language of the script, from one table probed once per
//!    distinct trigram and once per distinct leading bigram and letter. This replaced
//!    "whatlang proposes, lingua scores the proposal's confusion set": whatlang alone cost
//!    more than the whole fast scorer, and scoring all languages of the script removes its
//!    blind spots (languages it lacks).
//! 4. **Rescore close clusters.** When the answer is in a cluster a few hundred characters
//!    often do not separate (id/ms, nb/nn/da, hr/bs/sl/sr, cs/sk, uk/kk/ru/be) and the record is
//!    longer than the sample, only that cluster is rescored on a larger sample (1,000
//!    characters; cheap: 2-4 languages).
//! 5. Shorter text (under 120 letters of its script) goes to lingua high accuracy over the
//!    script's languages: there lingua's 1- to 5-gram mode is what makes it accurate.
//!
//! Thread-safety: `Detector` holds only immutable data; the fast scorer's table is a
//! process-wide `OnceLock`, read-only after construction. lingua's own model maps (used by
//! `detect_accurate` and short text) are process-wide `DashMap`s whose lookups take a shard read
//! lock inside lingua; no lock of ours is on any path.
//!
//! `detect_accurate` skips sampling and the fast scorer: it is lingua restricted to the
//! script's languages, plus the script rules, which are never less accurate than lingua alone.

mod learned;
mod ngram;
mod prior;
mod sample;
pub(crate) mod script;
mod tables;
mod words;

use std::collections::{HashMap, HashSet};

use lingua::{IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder};

use crate::record::Method;
use serde::Serialize;

pub use learned::{configured_prior, source_key, LearnedPrior, SourcePriors};
pub use prior::{CorpusPrior, Explanation, Weighing, WordEvidence};
use script::{Script, ScriptStats};

/// Languages to detect among and the confidence floor; read from the `[detect]` config section.
#[derive(Clone, Debug)]
pub struct DetectorConfig {
    /// ISO 639-1 codes to detect among (lingua's 75 plus the script-only km, lo, my, am, si, ml,
    /// kn, bo, or, dv); `None` means all of them. Narrowing it makes detection faster and keeps
    /// a deployment from returning languages it cannot analyze.
    pub languages: Option<Vec<String>>,
    /// Below this confidence the answer is "und", so downstream analysis falls back to the
    /// language-neutral analyzer instead of indexing with a wrong stemmer.
    pub min_confidence: f64,
}

impl DetectorConfig {
    /// What the `[detect]` section asks for (an empty language list means all).
    pub fn from_settings(settings: &crate::config::DetectSettings) -> DetectorConfig {
        DetectorConfig {
            languages: (!settings.languages.is_empty()).then(|| settings.languages.clone()),
            min_confidence: settings.min_confidence,
        }
    }
}

impl Default for DetectorConfig {
    /// All languages, [`crate::config::DEFAULT_MIN_CONFIDENCE`].
    fn default() -> Self {
        DetectorConfig {
            languages: None,
            min_confidence: crate::config::DEFAULT_MIN_CONFIDENCE,
        }
    }
}

/// Why a `Detector` could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// A configured language code is not one the detector can return.
    #[error("unknown language code {code:?} in detect.languages; valid ISO 639-1 codes: {valid}")]
    UnknownLanguage {
        /// The offending code, as configured.
        code: String,
        /// Every valid code, comma-separated.
        valid: String,
    },
    /// `detect.languages` was given but empty, which would make every record "und".
    #[error("detect.languages is empty; omit it to detect all languages")]
    NoLanguages,
    /// `min_confidence` outside 0..=1.
    #[error("min_confidence must be between 0 and 1, got {0}")]
    InvalidConfidence(f64),
}

/// The decided language of one text, with enough detail to debug a wrong decision.
#[derive(Clone, Debug, Serialize)]
pub struct Detection {
    /// ISO 639-1 code, or "und" when undetermined.
    pub lang: &'static str,
    /// 0..=1; 1.0 for script decisions, lingua's confidence otherwise.
    pub confidence: f64,
    /// Which stage decided.
    pub method: Method,
    /// Top candidates (at most 3) with their confidence, best first; empty for "und" without
    /// candidates.
    pub alternatives: Vec<(&'static str, f64)>,
}

/// Tuning knobs, fixed at their measured best; hidden, exposed only so the bench and the tuning
/// tools can compare variants without recompiling.
#[doc(hidden)]
#[derive(Clone, Debug)]
pub struct Tuning {
    /// Max characters `detect` scores.
    pub sample_chars: usize,
    /// Number of places the sample is taken from.
    pub windows: usize,
    /// Use whatlang to narrow the candidates (the previous design; measured slower and no more
    /// accurate than scoring the whole script group with the fast scorer).
    pub narrow: bool,
    /// Minimum letters in the sample before narrowing is trusted.
    pub narrow_min_letters: u32,
    /// `detect_accurate` is lingua over all configured languages wherever lingua knows the
    /// script (measured: restricting lingua to the script's languages lost 1-3 texts in 3,600
    /// to near-ties), script rules elsewhere.
    pub accurate_all: bool,
    /// Characters of the larger sample used to rescore close-language clusters (0 = off).
    pub rescore_chars: usize,
    /// Score samples of `ngram::MIN_LETTERS`+ letters with the fast trigram scorer (`ngram.rs`)
    /// instead of lingua.
    pub fast_scorer: bool,
    /// Rescore close clusters with lingua instead of the fast scorer.
    pub rescore_lingua: bool,
    /// Weigh close languages by the frequency of the text's words in each (`words.rs`).
    pub close_words: bool,
    /// On the accurate path, lingua chooses among this many languages: the ones the fast
    /// scorer ranks best in the text's script (0 = all configured languages). lingua's cost
    /// grows with its candidates, and on short records it is most of ingest's CPU.
    pub shortlist: usize,
    /// Texts with fewer letters than this skip the shortlist: on a few words the fast
    /// scorer's ranking is unreliable, and lingua over every language is cheap there anyway.
    pub shortlist_min_letters: u32,
    /// Nats a close language loses per marker word of the text it does not write
    /// (`words::reweigh_markers`: bs/hr/sr, nb/nn; 0 = off).
    pub marker_weight: f64,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            sample_chars: 400,
            windows: 3,
            narrow: false,
            narrow_min_letters: 100,
            accurate_all: true,
            rescore_chars: 1000,
            fast_scorer: true,
            rescore_lingua: false,
            close_words: true,
            shortlist: 8,
            shortlist_min_letters: 40,
            marker_weight: words::MARKER_WEIGHT,
        }
    }
}

/// A lingua detector for a candidate set, or the set's only language.
enum Candidates {
    One(&'static str),
    Many(LanguageDetector),
}

/// The language detector. Immutable after construction: `Send + Sync`, share it through `Arc`
/// and call it from any number of threads (lingua's model maps are read-mostly after preload).
pub struct Detector {
    min_confidence: f64,
    /// Every code the detector can return.
    codes: Vec<&'static str>,
    allowed: HashSet<&'static str>,
    lingua_code: HashMap<Language, &'static str>,
    /// Detectors for the multi-language scripts, restricted to the configured languages.
    latin: Option<Candidates>,
    cyrillic: Option<Candidates>,
    arabic: Option<Candidates>,
    devanagari: Option<Candidates>,
    /// Candidates by whatlang answer (see `tables::NARROW`).
    narrow: HashMap<whatlang::Lang, Candidates>,
    /// lingua over all configured lingua languages (used by `detect_accurate` if tuned so).
    all: Option<Candidates>,
    /// Close-language cluster detectors (`tables::CLOSE`), by member code.
    close: HashMap<&'static str, std::sync::Arc<Candidates>>,
    /// The fast scorer and its candidate masks (0 = not covered, use lingua): per script
    /// group, per close cluster member, per whatlang answer.
    table: Option<&'static ngram::NgramTable>,
    fast_group: HashMap<Script, ngram::LangMask>,
    fast_close: HashMap<&'static str, ngram::LangMask>,
    fast_narrow: HashMap<whatlang::Lang, ngram::LangMask>,
    tuning: Tuning,
}

impl Detector {
    /// Builds the detector, loading every needed lingua model up front (a few seconds, once per
    /// process) so no request pays for it.
    pub fn new(cfg: &DetectorConfig) -> Result<Self, DetectError> {
        Self::with_tuning(cfg, Tuning::default())
    }

    /// `new` with explicit tuning; for benchmarks and tuning tools.
    #[doc(hidden)]
    pub fn with_tuning(cfg: &DetectorConfig, tuning: Tuning) -> Result<Self, DetectError> {
        if !(0.0..=1.0).contains(&cfg.min_confidence) {
            return Err(DetectError::InvalidConfidence(cfg.min_confidence));
        }
        let known: Vec<&'static str> = tables::LINGUA_CODES
            .iter()
            .chain(tables::SCRIPT_ONLY_CODES.iter())
            .copied()
            .collect();
        let allowed: HashSet<&'static str> = match &cfg.languages {
            None => known.iter().copied().collect(),
            Some(list) => {
                if list.is_empty() {
                    return Err(DetectError::NoLanguages);
                }
                let mut set = HashSet::new();
                for raw in list {
                    let code = raw.trim().to_ascii_lowercase();
                    match known.iter().find(|k| **k == code) {
                        Some(k) => {
                            set.insert(*k);
                        }
                        None => {
                            let mut valid = known.clone();
                            valid.sort_unstable();
                            return Err(DetectError::UnknownLanguage {
                                code: raw.clone(),
                                valid: valid.join(", "),
                            });
                        }
                    }
                }
                set
            }
        };
        let mut codes: Vec<&'static str> = known
            .iter()
            .copied()
            .filter(|c| allowed.contains(c))
            .collect();
        codes.sort_unstable();

        let mut lingua_code = HashMap::new();
        let mut code_lingua = HashMap::new();
        for code in tables::LINGUA_CODES {
            if let Ok(iso) = code.parse::<IsoCode639_1>() {
                let lang = Language::from_iso_code_639_1(&iso);
                lingua_code.insert(lang, code);
                code_lingua.insert(code, lang);
            }
        }
        let enabled = |langs: HashSet<Language>| -> Vec<Language> {
            let mut v: Vec<Language> = langs
                .into_iter()
                .filter(|l| lingua_code.get(l).is_some_and(|c| allowed.contains(c)))
                .collect();
            v.sort();
            v
        };
        let build = |langs: &[Language]| -> Option<Candidates> {
            match langs {
                [] => None,
                [one] => lingua_code.get(one).map(|c| Candidates::One(c)),
                many => Some(Candidates::Many(
                    LanguageDetectorBuilder::from_languages(many)
                        .with_preloaded_language_models()
                        .build(),
                )),
            }
        };
        let latin_langs = enabled(Language::all_with_latin_script());
        let cyrillic_langs = enabled(Language::all_with_cyrillic_script());
        let latin = build(&latin_langs);
        let cyrillic = build(&cyrillic_langs);
        let arabic = build(&enabled(Language::all_with_arabic_script()));
        let devanagari = build(&enabled(Language::all_with_devanagari_script()));
        let all = if tuning.accurate_all {
            build(&enabled(Language::all()))
        } else {
            None
        };
        if tuning.close_words {
            // Parsed here, once per process, so no request pays for it.
            words::CloseWords::get();
        }
        let table = tuning.fast_scorer.then(ngram::table);
        let mut fast_group = HashMap::new();
        let mut fast_close = HashMap::new();
        let mut fast_narrow = HashMap::new();
        let fast_mask = |langs: &[Language]| -> Option<ngram::LangMask> {
            let t = table?;
            (langs.len() >= 2 && t.covers(langs)).then(|| t.mask(langs))
        };
        for (script, langs) in [
            (Script::Latin, &latin_langs),
            (Script::Cyrillic, &cyrillic_langs),
            (Script::Arabic, &enabled(Language::all_with_arabic_script())),
            (
                Script::Devanagari,
                &enabled(Language::all_with_devanagari_script()),
            ),
        ] {
            if let Some(m) = fast_mask(langs) {
                fast_group.insert(script, m);
            }
        }
        let mut narrow = HashMap::new();
        for (wl, set) in tables::NARROW {
            let Some(wl_lang) = whatlang::Lang::from_code(*wl) else {
                continue;
            };
            let mut langs: Vec<Language> = set
                .iter()
                .filter(|c| allowed.contains(*c))
                .filter_map(|c| code_lingua.get(c).copied())
                .filter(|l| latin_langs.contains(l) || cyrillic_langs.contains(l))
                .collect();
            langs.sort();
            if let Some(m) = fast_mask(&langs) {
                fast_narrow.insert(wl_lang, m);
            }
            // lingua detectors for the previous design, only when tuned to use it.
            if tuning.narrow && !tuning.fast_scorer {
                if let Some(c) = build(&langs) {
                    narrow.insert(wl_lang, c);
                }
            }
        }
        let mut close = HashMap::new();
        for cluster in tables::CLOSE {
            let mut langs: Vec<Language> = cluster
                .iter()
                .filter(|c| allowed.contains(*c))
                .filter_map(|c| code_lingua.get(c).copied())
                .collect();
            langs.sort();
            if langs.len() < 2 {
                continue;
            }
            if let Some(m) = fast_mask(&langs) {
                for l in &langs {
                    if let Some(code) = lingua_code.get(l) {
                        fast_close.entry(*code).or_insert(m);
                    }
                }
            }
            if let Some(c) = build(&langs) {
                let c = std::sync::Arc::new(c);
                for l in &langs {
                    if let Some(code) = lingua_code.get(l) {
                        close
                            .entry(*code)
                            .or_insert_with(|| std::sync::Arc::clone(&c));
                    }
                }
            }
        }
        Ok(Detector {
            close,
            min_confidence: cfg.min_confidence,
            codes,
            allowed,
            lingua_code,
            latin,
            cyrillic,
            arabic,
            devanagari,
            narrow,
            all,
            table,
            fast_group,
            fast_close,
            fast_narrow,
            tuning,
        })
    }

    /// Documents: the fast path (this is what ingest runs on every record). Bounded cost per
    /// record whatever its size.
    pub fn detect(&self, text: &str) -> Detection {
        self.detect_with_prior(text, None)
    }

    /// [`Detector::detect`], with short texts weighed against `prior` (the stream's languages
    /// so far, see `LearnedPrior`); longer texts carry enough evidence of their own.
    pub fn detect_with_prior(&self, text: &str, prior: Option<&CorpusPrior>) -> Detection {
        let sample = sample::sample(text, self.tuning.sample_chars, self.tuning.windows);
        // Too short for the fast scorer: a short document is a short text, take the accurate path.
        if ScriptStats::of(&sample).letters < ngram::MIN_LETTERS as u32 {
            return self.detect_accurate_with_prior(text, prior);
        }
        let d = self.run(&sample, true);
        // A close-language answer on a text longer than the sample: rescore the cluster alone
        // on more text (few languages, so cheap), where the sample alone errs most.
        if self.tuning.rescore_chars > 0 && sample.len() < text.len() {
            if let (Some(cluster), Method::Fast | Method::Lingua) =
                (self.close.get(d.lang), d.method)
            {
                let more = sample::sample(text, self.tuning.rescore_chars, 4);
                let stats = ScriptStats::of(&more);
                if let Some(script) = choose_script(&stats) {
                    let more = script_words(&more, &stats, script);
                    let more = more.as_ref();
                    let r = match self.fast_close.get(d.lang) {
                        Some(m) if !self.tuning.rescore_lingua => {
                            self.score_fast(*m, more, d.method)
                        }
                        _ => self.score(cluster, more, d.method),
                    };
                    if r.lang != "und" {
                        return r;
                    }
                }
            }
        }
        d
    }

    /// Queries and short texts: the most accurate path, speed secondary. Texts beyond a few
    /// thousand characters are still sampled, so a huge query cannot stall a thread.
    pub fn detect_accurate(&self, text: &str) -> Detection {
        let sample = sample::sample(text, ACCURATE_MAX_CHARS, 4);
        self.lingua_all(&sample)
            .unwrap_or_else(|| self.run(&sample, false))
    }

    /// Exactly lingua (all configured languages) for text in a shared script, so the accurate
    /// path is never less accurate than lingua itself; `None` for single-language scripts or
    /// when lingua is undecided, and the script rules take over.
    fn lingua_all(&self, text: &str) -> Option<Detection> {
        let all = self.all.as_ref()?;
        let stats = ScriptStats::of(text);
        let script = choose_script(&stats)?;
        // A script with one language (Hangul, Greek, Thai, Khmer...) is decided by the script
        // rules, which say what lingua's own rules say there, and also cover the scripts lingua
        // lacks; only shared scripts (Latin, Cyrillic, Arabic, Devanagari, Han) need lingua.
        if script.unique_language().is_some() {
            return None;
        }
        let Candidates::Many(all) = all else {
            let detection = self.score(all, text, Method::Lingua);
            return (detection.lang != "und").then_some(detection);
        };
        let values = self.accurate_values(all, text, &stats, script);
        let detection = self.decide(&values, Method::Lingua, text);
        (detection.lang != "und").then_some(detection)
    }

    /// lingua's confidences for `text` (`stats`, mostly `script`) among the languages of its
    /// shortlist (see [`Tuning::shortlist`]), or among all of `all`'s where there is none.
    fn accurate_values(
        &self,
        all: &LanguageDetector,
        text: &str,
        stats: &ScriptStats,
        script: Script,
    ) -> Vec<(Language, f64)> {
        match self.shortlist(text, stats, script, &|_| true) {
            Some(langs) => LanguageDetectorBuilder::from_languages(&langs)
                .build()
                .compute_language_confidence_values(text),
            None => all.compute_language_confidence_values(text),
        }
    }

    /// The `shortlist` languages the fast scorer ranks best for `text` among its script's that
    /// are `allowed`, `None` where it cannot rank them (tuned off, a script it does not cover,
    /// or fewer than two with evidence).
    fn shortlist(
        &self,
        text: &str,
        stats: &ScriptStats,
        script: Script,
        allowed: &dyn Fn(Language) -> bool,
    ) -> Option<Vec<Language>> {
        if self.tuning.shortlist == 0 || stats.letters < self.tuning.shortlist_min_letters {
            return None;
        }
        let (table, mask) = (self.table?, *self.fast_group.get(&script)?);
        let ranked: Vec<Language> = table
            .score(&script_words(text, stats, script), mask)
            .into_iter()
            .map(|(lang, _)| lang)
            .filter(|lang| allowed(*lang))
            .take(self.tuning.shortlist)
            .collect();
        (ranked.len() >= 2).then_some(ranked)
    }

    /// ISO codes this detector can return (besides "und"), sorted; for validating `lang` hints.
    pub fn languages(&self) -> Vec<&'static str> {
        self.codes.clone()
    }

    /// Whether `code` (ISO 639-1, lowercase) is one this detector can return.
    pub fn supports(&self, code: &str) -> bool {
        self.allowed.contains(code)
    }

    fn run(&self, text: &str, fast: bool) -> Detection {
        let stats = ScriptStats::of(text);
        let Some(script) = choose_script(&stats) else {
            return undetermined(0.0, Vec::new());
        };
        let group = match script {
            Script::Latin => &self.latin,
            Script::Cyrillic => &self.cyrillic,
            Script::Arabic => &self.arabic,
            Script::Devanagari => &self.devanagari,
            Script::Han => return self.by_script(self.han_language(&stats)),
            Script::Other => return undetermined(0.0, Vec::new()),
            s => return self.by_script(s.unique_language()),
        };
        let Some(group) = group else {
            return undetermined(0.0, Vec::new());
        };
        let text = script_words(text, &stats, script);
        let text = text.as_ref();
        if !fast && self.tuning.accurate_all {
            if let Some(all) = &self.all {
                return self.score(all, text, Method::Lingua);
            }
        }
        if fast && stats.count(script) as usize >= ngram::MIN_LETTERS {
            if let Some(&group_mask) = self.fast_group.get(&script) {
                let mut mask = group_mask;
                if self.tuning.narrow && stats.count(script) >= self.tuning.narrow_min_letters {
                    if let Some(m) =
                        whatlang::detect(text).and_then(|info| self.fast_narrow.get(&info.lang()))
                    {
                        mask = *m;
                    }
                }
                return self.score_fast(mask, text, Method::Fast);
            }
        }
        if fast
            && self.tuning.narrow
            && matches!(script, Script::Latin | Script::Cyrillic)
            && stats.count(script) >= self.tuning.narrow_min_letters
        {
            if let Some(info) = whatlang::detect(text) {
                if let Some(c) = self.narrow.get(&info.lang()) {
                    return self.score(c, text, Method::Fast);
                }
            }
        }
        self.score(group, text, Method::Lingua)
    }

    fn by_script(&self, code: Option<&'static str>) -> Detection {
        match code {
            Some(c) if self.allowed.contains(c) => Detection {
                lang: c,
                confidence: 1.0,
                method: Method::Script,
                alternatives: vec![(c, 1.0)],
            },
            _ => undetermined(0.0, Vec::new()),
        }
    }

    /// Han-dominant text: Japanese if kana make up a real share of it, else Chinese (lingua's
    /// own rule for Han-only text; kanji-only Japanese is rare outside headings).
    fn han_language(&self, stats: &ScriptStats) -> Option<&'static str> {
        let kana = stats.count(Script::Kana);
        let cjk = kana + stats.count(Script::Han);
        let ja = kana > 0 && kana * 10 >= cjk;
        let (first, second) = if ja { ("ja", "zh") } else { ("zh", "ja") };
        if self.allowed.contains(first) {
            Some(first)
        } else if !ja && self.allowed.contains(second) {
            // Han-only text with Chinese disabled: Japanese is the only other Han language.
            Some(second)
        } else {
            None
        }
    }

    /// `score` through the fast trigram scorer over the languages in `mask`.
    fn score_fast(&self, mask: ngram::LangMask, text: &str, method: Method) -> Detection {
        let Some(table) = self.table else {
            return undetermined(0.0, Vec::new());
        };
        let values = table.score(text, mask);
        self.decide(&values, method, text)
    }

    fn score(&self, c: &Candidates, text: &str, method: Method) -> Detection {
        let lingua = match c {
            Candidates::One(code) => {
                return Detection {
                    lang: code,
                    confidence: 1.0,
                    method: Method::Script,
                    alternatives: vec![(code, 1.0)],
                };
            }
            Candidates::Many(d) => d,
        };
        let values = lingua.compute_language_confidence_values(text);
        self.decide(&values, method, text)
    }

    /// Top candidates of a confidence list (best first) for `text`, after close languages are
    /// weighed by its words, and the floor applied to the best.
    fn decide(&self, values: &[(Language, f64)], method: Method, text: &str) -> Detection {
        self.decide_among(values, method, text, &|code| self.allowed.contains(code))
    }

    /// [`Self::decide`], where a close language lingua left out may enter the candidates on
    /// its marker words only if `may_enter` (for a query, only a language the index holds).
    fn decide_among(
        &self,
        values: &[(Language, f64)],
        method: Method,
        text: &str,
        may_enter: &dyn Fn(&str) -> bool,
    ) -> Detection {
        let mut coded: Vec<(&'static str, f64)> = values
            .iter()
            .filter(|(_, p)| *p > 0.0)
            .filter_map(|(l, p)| self.lingua_code.get(l).map(|c| (*c, *p)))
            .collect();
        if self.tuning.close_words {
            words::reweigh(&mut coded, text);
        }
        if self.tuning.marker_weight > 0.0 {
            words::reweigh_markers(&mut coded, text, may_enter, self.tuning.marker_weight);
        }
        coded.truncate(3);
        let alternatives = coded;
        match alternatives.first() {
            Some(&(lang, confidence)) if confidence >= self.min_confidence => Detection {
                lang,
                confidence,
                method,
                alternatives,
            },
            Some(&(_, confidence)) => undetermined(confidence, alternatives),
            None => undetermined(0.0, alternatives),
        }
    }
}

/// Upper bound on what `detect_accurate` scores (queries are far shorter; this only guards
/// against a document sent to the query path).
const ACCURATE_MAX_CHARS: usize = 4000;

fn undetermined(confidence: f64, alternatives: Vec<(&'static str, f64)>) -> Detection {
    Detection {
        lang: "und",
        confidence,
        method: Method::Undetermined,
        alternatives,
    }
}

/// The script that decides the path. Latin is demoted when another script has at least half
/// as many letters: Latin brand names and units inside CJK, Thai or Cyrillic text are common,
/// while long foreign-script passages inside Latin text are not, and a CJK or Brahmic letter
/// carries a syllable where a Latin one carries a phoneme.
fn choose_script(stats: &ScriptStats) -> Option<Script> {
    let dominant = stats.dominant()?;
    if dominant != Script::Latin {
        return Some(dominant);
    }
    let latin = stats.count(Script::Latin);
    let mut runner_up = None;
    let mut best = 0;
    let others = script::ALL
        .into_iter()
        .filter(|s| !matches!(s, Script::Latin | Script::Kana | Script::Other));
    for s in others {
        let n = match s {
            Script::Han => stats.count(Script::Han) + stats.count(Script::Kana),
            _ => stats.count(s),
        };
        if n > best {
            best = n;
            runner_up = Some(s);
        }
    }
    match runner_up {
        Some(s) if best * 2 >= latin => Some(s),
        _ => Some(Script::Latin),
    }
}

/// Keeps the whitespace-separated words that contain no letter of another script.
/// `text` (whose `stats` they are) without the words written in another script than `script`,
/// borrowed when it has none: words in other scripts (a Latin product name in Russian text)
/// only add noise to the scoring.
fn script_words<'a>(
    text: &'a str,
    stats: &ScriptStats,
    script: Script,
) -> std::borrow::Cow<'a, str> {
    if stats.count(script) < stats.letters {
        std::borrow::Cow::Owned(keep_script_words(text, script))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

fn keep_script_words(text: &str, script: Script) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if word
            .chars()
            .all(|c| script::classify(c).is_none_or(|s| s == script))
        {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
        }
    }
    out
}

#[cfg(test)]
mod tests;
