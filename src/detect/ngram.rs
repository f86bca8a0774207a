//! The fast document scorer: lingua's own trigram model, evaluated without lingua's overhead.
//!
//! Why: on texts of 120+ characters lingua (even in high-accuracy mode) scores only character
//! trigrams, summing per language the log-probability of each distinct trigram of the text,
//! backing off to the trigram's leading bigram and then its leading letter when the language's
//! model lacks it. The arithmetic is cheap; the time goes into the machinery around it: every
//! lookup walks an FST behind two `DashMap` accesses, once per (trigram, language), plus
//! regex tokenizing, per-call `HashSet`/`HashMap` allocations and rule passes. This module reads
//! the same model files (the `lingua-*-language-model` crates lingua itself depends on), keeps
//! only their 1- to 3-grams in one table whose entry per n-gram lists every language that has
//! it, and scores all candidate languages at once: one probe per distinct trigram and per
//! distinct leading bigram and letter, whatever the number of languages. It is built once per
//! process (a fraction of a second, ~12 MB) and shared read-only, so it is `Send + Sync` with no
//! lock on the lookup path.
//!
//! It is only used on text long enough (see `MIN_LETTERS`) for lingua to be in trigram mode
//! itself; shorter text goes to lingua, whose 1- to 5-gram mode is what makes it accurate there.
//! lingua's rule passes (characters unique to a language) are not replicated: on a few hundred
//! characters the trigram evidence decides, and the benchmark measures the difference.

use std::sync::OnceLock;

use lingua::Language;

/// Fewest letters for which lingua itself scores trigrams only (its high-accuracy mode switches
/// at 120 characters of words); below it the fast scorer would not match lingua.
pub(crate) const MIN_LETTERS: usize = 120;

/// Bits per character in a packed n-gram key (Unicode scalar values fit in 21 bits).
const CHAR_BITS: u32 = 21;
const CHAR_MASK: u64 = (1 << CHAR_BITS) - 1;
/// The part of a packed trigram that is its leading letter, and its leading bigram: a 1- or
/// 2-gram is packed like a trigram whose missing letters are 0.
const UNI_PART: u64 = CHAR_MASK << (2 * CHAR_BITS);
const BI_PART: u64 = UNI_PART | (CHAR_MASK << CHAR_BITS);

/// A set of table languages, one bit per table index.
pub(crate) type LangMask = u128;

/// One language's share of an n-gram: what the n-gram adds to the language's sum over what
/// lingua's backoff would have counted without it (see `NgramTable`). Packed into 32 bits, the
/// table index of the language in the low `LANG_BITS` and the difference, an `f32` whose lowest
/// mantissa bits are given up for it (a relative error under 1e-5), in the rest: half the size
/// of a separate `f32` and `u8`, and the table's size is what scoring waits on.
#[derive(Clone, Copy)]
struct Entry(u32);

/// Bits of an `Entry` holding the language.
const LANG_BITS: u32 = 6;
const LANG_MASK: u32 = (1 << LANG_BITS) - 1;

impl Entry {
    fn new(lang: u8, delta: f32) -> Entry {
        Entry((delta.to_bits() & !LANG_MASK) | (u32::from(lang) & LANG_MASK))
    }

    #[inline]
    fn lang(self) -> usize {
        (self.0 & LANG_MASK) as usize
    }

    #[inline]
    fn delta(self) -> f32 {
        f32::from_bits(self.0 & !LANG_MASK)
    }
}

/// All 1- to 3-grams of the covered languages: key -> range of entries, one per language that
/// has the n-gram.
///
/// lingua counts each distinct trigram of a text once per language, as the trigram's ln
/// probability, else its leading bigram's, else its leading letter's, else nothing. The entries
/// store that backoff as differences: a letter's entry is its probability, a bigram's is its
/// probability minus its letter's, a trigram's is its probability minus its bigram's (or
/// letter's). The sum for a language is then the letters' entries times the number of distinct
/// trigrams starting with that letter, plus the bigrams' entries times theirs, plus the
/// trigrams' own: the same total with no per-language branch, and with each letter and bigram
/// probed once per text instead of once per trigram.
///
/// The table (~12 MB) does not fit in a core's cache, so scoring is bound by memory latency,
/// not arithmetic: a text's few hundred trigrams are mostly cache misses. `score` therefore
/// looks its n-grams up in passes of independent loads (slots, then entries), which the CPU
/// overlaps, instead of one chain of dependent, branchy probes per n-gram.
pub(crate) struct NgramTable {
    langs: Vec<Language>,
    /// Open addressing with linear probing, a power of two long; key 0 marks an empty slot
    /// (no n-gram packs to 0).
    slots: Vec<Slot>,
    entries: Vec<Entry>,
}

/// One n-gram's place in `NgramTable::entries`.
#[derive(Clone, Copy, Default)]
struct Slot {
    key: u64,
    start: u32,
    len: u32,
}

static TABLE: OnceLock<NgramTable> = OnceLock::new();

/// The process-wide table, built on first use (a `OnceLock`: one atomic load afterwards).
pub(crate) fn table() -> &'static NgramTable {
    TABLE.get_or_init(NgramTable::build)
}

/// A packed n-gram key: first letter in the high bits, so sorted trigrams are grouped by their
/// leading letter and then by their leading bigram.
#[inline]
fn pack(a: char, b: char, c: char) -> u64 {
    (u64::from(a as u32) << (2 * CHAR_BITS))
        | (u64::from(b as u32) << CHAR_BITS)
        | u64::from(c as u32)
}

impl NgramTable {
    fn build() -> NgramTable {
        let langs: Vec<Language> = {
            let mut v: Vec<Language> = Language::all()
                .into_iter()
                .filter(|l| ngram_fst(*l).is_some())
                .collect();
            v.sort();
            // One bit per language in a `LangMask`, and an index that fits an `Entry` (62
            // languages are covered).
            v.truncate(1 << LANG_BITS);
            v
        };
        // Languages are read in parallel: the models are independent and reading them is
        // most of the build (and of a short-lived process's CPU).
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(langs.len().max(1));
        let mut raw: Vec<(u64, u8, f32)> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|t| {
                    let langs = &langs;
                    scope.spawn(move || {
                        let mut out = Vec::new();
                        for (i, lang) in langs.iter().enumerate().skip(t).step_by(threads) {
                            out.extend(language_entries(*lang).map(|(k, d)| (k, i as u8, d)));
                        }
                        out
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| {
                    w.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        });
        raw.sort_unstable_by_key(|e| (e.0, e.1));
        let groups: Vec<&[(u64, u8, f32)]> = raw.chunk_by(|x, y| x.0 == y.0).collect();
        // At most half full, so probes rarely go past the home slot.
        let mut slots = vec![Slot::default(); (groups.len() * 2).next_power_of_two().max(2)];
        let mask = slots.len() - 1;
        let mut entries = Vec::with_capacity(raw.len());
        for group in groups {
            let key = group[0].0;
            let mut i = home(key, mask);
            while slots[i].key != 0 {
                i = (i + 1) & mask;
            }
            slots[i] = Slot {
                key,
                start: entries.len() as u32,
                len: group.len() as u32,
            };
            entries.extend(
                group
                    .iter()
                    .map(|&(_, lang, delta)| Entry::new(lang, delta)),
            );
        }
        NgramTable {
            langs,
            slots,
            entries,
        }
    }

    /// The mask of the given languages that the table covers.
    pub(crate) fn mask(&self, langs: &[Language]) -> LangMask {
        langs
            .iter()
            .filter_map(|l| self.langs.iter().position(|t| t == l))
            .fold(0, |m, i| m | (1u128 << i))
    }

    /// Whether every one of `langs` is covered.
    pub(crate) fn covers(&self, langs: &[Language]) -> bool {
        langs.iter().all(|l| self.langs.contains(l))
    }

    /// lingua's trigram-mode scores of `text` over the languages in `candidates`: softmax
    /// confidences, best first; languages with no evidence at all are left out (as lingua does).
    pub(crate) fn score(&self, text: &str, candidates: LangMask) -> Vec<(Language, f64)> {
        let mut keys = trigram_keys(text);
        keys.sort_unstable();
        keys.dedup();
        // What to look up, with how many times each counts: every distinct trigram once, each
        // leading bigram and letter once per distinct trigram it leads (keys are sorted, so
        // those come in runs).
        let mut probes: Vec<(u64, u32)> = Vec::with_capacity(keys.len() * 2);
        for part in [BI_PART, UNI_PART] {
            for run in keys.chunk_by(|x, y| x & part == y & part) {
                probes.push((run[0] & part, run.len() as u32));
            }
        }
        probes.extend(keys.iter().map(|&k| (k, 1)));
        let mask = self.slots.len() - 1;
        // Pass 1: independent loads of every home slot, so their cache misses overlap.
        let mut touched = 0u64;
        for &(key, _) in &probes {
            touched ^= self.slots[home(key, mask)].key;
        }
        // Pass 2: resolve each probe to its entries (now cached), touching their first line.
        let mut spans: Vec<(u32, u32, u32)> = Vec::with_capacity(probes.len());
        for &(key, count) in &probes {
            if let Some(slot) = self.find(key, mask) {
                touched ^= u64::from(self.entries[slot.start as usize].0);
                spans.push((slot.start, slot.len, count));
            }
        }
        std::hint::black_box(touched);
        // Pass 3: the sums. Every language is summed (a branch per entry costs more than the
        // adds); only the candidates are read out. One slot per possible `Entry::lang`, so the
        // index needs no bounds check.
        let mut sums = [0f64; 1 << LANG_BITS];
        for (start, len, count) in spans {
            let n = f64::from(count);
            for e in &self.entries[start as usize..(start + len) as usize] {
                sums[e.lang()] += n * f64::from(e.delta());
            }
        }
        let mut out: Vec<(Language, f64)> = (0..self.langs.len())
            .filter(|i| candidates & (1u128 << i) != 0 && sums[*i] < 0.0)
            .map(|i| (self.langs[i], sums[i]))
            .collect();
        let max = out.iter().map(|e| e.1).fold(f64::NEG_INFINITY, f64::max);
        let total: f64 = out.iter().map(|e| (e.1 - max).exp()).sum();
        for e in &mut out {
            e.1 = (e.1 - max).exp() / total;
        }
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }

    /// The slot of n-gram `key`, if the table has it.
    #[inline]
    fn find(&self, key: u64, mask: usize) -> Option<Slot> {
        let mut i = home(key, mask);
        loop {
            let slot = self.slots[i];
            if slot.key == key {
                return Some(slot);
            }
            if slot.key == 0 {
                return None;
            }
            i = (i + 1) & mask;
        }
    }
}

/// The first slot probed for `key` in a table of `mask + 1` slots (a multiplicative hash: the
/// packed keys are far from uniform).
#[inline]
fn home(key: u64, mask: usize) -> usize {
    let h = (key ^ (key >> 31)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ((h ^ (h >> 29)) >> 16) as usize & mask
}

/// The 1- to 3-grams of `lang`'s model as (packed key, backoff delta; see `NgramTable`).
fn language_entries(lang: Language) -> impl Iterator<Item = (u64, f32)> {
    let grams = ngram_fst(lang)
        .and_then(|bytes| fst::raw::Fst::new(bytes).ok())
        .map(|fst| {
            let mut out = Vec::new();
            let mut key = Vec::with_capacity(12);
            collect_short_keys(
                &fst,
                fst.root(),
                0,
                fst::raw::Output::zero(),
                &mut key,
                &mut out,
            );
            out
        })
        .unwrap_or_default();
    let prob: rustc_hash::FxHashMap<u64, f64> = grams
        .iter()
        .filter(|(k, _)| k & !BI_PART == 0)
        .copied()
        .collect();
    grams.into_iter().map(move |(k, p)| {
        let below = if k & !BI_PART != 0 {
            prob.get(&(k & BI_PART))
                .or_else(|| prob.get(&(k & UNI_PART)))
        } else if k & !UNI_PART != 0 {
            prob.get(&(k & UNI_PART))
        } else {
            None
        };
        (k, (p - below.copied().unwrap_or(0.0)) as f32)
    })
}

/// Walks `fst` from `node` and collects its keys of 1 to 3 characters as (packed key, ln
/// probability). Only those prefixes are visited: the 4- and 5-grams, most of the model, are
/// never read (streaming every key and skipping them was most of the table's build time).
fn collect_short_keys(
    fst: &fst::raw::Fst<&[u8]>,
    node: fst::raw::Node<'_>,
    chars: usize,
    output: fst::raw::Output,
    key: &mut Vec<u8>,
    out: &mut Vec<(u64, f64)>,
) {
    if node.is_final() && chars > 0 {
        if let Ok(s) = std::str::from_utf8(key) {
            let mut it = s.chars();
            if let (Some(a), b, c) = (it.next(), it.next(), it.next()) {
                let value = output.cat(node.final_output()).value();
                out.push((
                    pack(a, b.unwrap_or('\0'), c.unwrap_or('\0')),
                    f64::from_bits(value),
                ));
            }
        }
    }
    for t in node.transitions() {
        // A byte that is not a UTF-8 continuation byte starts another character.
        let starts_char = t.inp & 0xC0 != 0x80;
        if starts_char && chars == 3 {
            continue;
        }
        key.push(t.inp);
        collect_short_keys(
            fst,
            fst.node(t.addr),
            chars + usize::from(starts_char),
            output.cat(t.out),
            key,
            out,
        );
        key.pop();
    }
}

/// lingua's word characters: `\p{Devanagari}+` runs (vowel signs and virama included) or
/// letters. `is_alphabetic` also admits a few combining marks lingua's `\p{L}` does not (e.g.
/// Arabic vowel points), which are rare in running text.
#[inline]
fn is_word_char(c: char) -> bool {
    match c {
        'a'..='z' | 'A'..='Z' => true,
        '\0'..='\u{7f}' => false,
        // Fast paths for the letters of Latin-1 Supplement, Latin Extended-A/B and Cyrillic
        // (std's general lookup showed up at ~8% of detection time).
        '\u{c0}'..='\u{24f}' => !matches!(c, '\u{d7}' | '\u{f7}'),
        '\u{400}'..='\u{481}' | '\u{48a}'..='\u{52f}' => true,
        '\u{0900}'..='\u{097F}' => !matches!(c, '\u{0964}' | '\u{0965}'),
        _ => crate::letters::is_alphabetic(c),
    }
}

/// Packed trigrams of the lowercased letter runs of `text` (lingua's words are `\p{L}+` runs of
/// the lowercased text), in text order, with repeats.
fn trigram_keys(text: &str) -> Vec<u64> {
    let mut runs = LetterRuns {
        keys: Vec::with_capacity(text.len()),
        last_two: ('\0', '\0'),
        run: 0,
    };
    for c in text.chars() {
        if !is_word_char(c) {
            runs.run = 0;
        } else if c.is_ascii() {
            runs.push(c.to_ascii_lowercase());
        } else if !crate::letters::changes_when_lowercased(c) {
            runs.push(c);
        } else {
            c.to_lowercase().for_each(|l| runs.push(l));
        }
    }
    runs.keys
}

/// The trigrams of letter runs, as the letters come.
struct LetterRuns {
    keys: Vec<u64>,
    last_two: (char, char),
    /// Letters in the current run.
    run: usize,
}

impl LetterRuns {
    #[inline]
    fn push(&mut self, letter: char) {
        let (a, b) = self.last_two;
        if self.run >= 2 {
            self.keys.push(pack(a, b, letter));
        }
        self.last_two = (b, letter);
        self.run += 1;
    }
}

/// The n-gram probability model lingua ships for `lang` (its own model crates), if covered.
fn ngram_fst(lang: Language) -> Option<&'static [u8]> {
    let dir = match lang {
        Language::Afrikaans => lingua_afrikaans_language_model::AFRIKAANS_MODELS_DIRECTORY,
        Language::Albanian => lingua_albanian_language_model::ALBANIAN_MODELS_DIRECTORY,
        Language::Azerbaijani => lingua_azerbaijani_language_model::AZERBAIJANI_MODELS_DIRECTORY,
        Language::Basque => lingua_basque_language_model::BASQUE_MODELS_DIRECTORY,
        Language::Bokmal => lingua_bokmal_language_model::BOKMAL_MODELS_DIRECTORY,
        Language::Bosnian => lingua_bosnian_language_model::BOSNIAN_MODELS_DIRECTORY,
        Language::Catalan => lingua_catalan_language_model::CATALAN_MODELS_DIRECTORY,
        Language::Croatian => lingua_croatian_language_model::CROATIAN_MODELS_DIRECTORY,
        Language::Czech => lingua_czech_language_model::CZECH_MODELS_DIRECTORY,
        Language::Danish => lingua_danish_language_model::DANISH_MODELS_DIRECTORY,
        Language::Dutch => lingua_dutch_language_model::DUTCH_MODELS_DIRECTORY,
        Language::English => lingua_english_language_model::ENGLISH_MODELS_DIRECTORY,
        Language::Esperanto => lingua_esperanto_language_model::ESPERANTO_MODELS_DIRECTORY,
        Language::Estonian => lingua_estonian_language_model::ESTONIAN_MODELS_DIRECTORY,
        Language::Finnish => lingua_finnish_language_model::FINNISH_MODELS_DIRECTORY,
        Language::French => lingua_french_language_model::FRENCH_MODELS_DIRECTORY,
        Language::Ganda => lingua_ganda_language_model::GANDA_MODELS_DIRECTORY,
        Language::German => lingua_german_language_model::GERMAN_MODELS_DIRECTORY,
        Language::Hungarian => lingua_hungarian_language_model::HUNGARIAN_MODELS_DIRECTORY,
        Language::Icelandic => lingua_icelandic_language_model::ICELANDIC_MODELS_DIRECTORY,
        Language::Indonesian => lingua_indonesian_language_model::INDONESIAN_MODELS_DIRECTORY,
        Language::Irish => lingua_irish_language_model::IRISH_MODELS_DIRECTORY,
        Language::Italian => lingua_italian_language_model::ITALIAN_MODELS_DIRECTORY,
        Language::Latin => lingua_latin_language_model::LATIN_MODELS_DIRECTORY,
        Language::Latvian => lingua_latvian_language_model::LATVIAN_MODELS_DIRECTORY,
        Language::Lithuanian => lingua_lithuanian_language_model::LITHUANIAN_MODELS_DIRECTORY,
        Language::Malay => lingua_malay_language_model::MALAY_MODELS_DIRECTORY,
        Language::Maori => lingua_maori_language_model::MAORI_MODELS_DIRECTORY,
        Language::Nynorsk => lingua_nynorsk_language_model::NYNORSK_MODELS_DIRECTORY,
        Language::Polish => lingua_polish_language_model::POLISH_MODELS_DIRECTORY,
        Language::Portuguese => lingua_portuguese_language_model::PORTUGUESE_MODELS_DIRECTORY,
        Language::Romanian => lingua_romanian_language_model::ROMANIAN_MODELS_DIRECTORY,
        Language::Shona => lingua_shona_language_model::SHONA_MODELS_DIRECTORY,
        Language::Slovak => lingua_slovak_language_model::SLOVAK_MODELS_DIRECTORY,
        Language::Slovene => lingua_slovene_language_model::SLOVENE_MODELS_DIRECTORY,
        Language::Somali => lingua_somali_language_model::SOMALI_MODELS_DIRECTORY,
        Language::Sotho => lingua_sotho_language_model::SOTHO_MODELS_DIRECTORY,
        Language::Spanish => lingua_spanish_language_model::SPANISH_MODELS_DIRECTORY,
        Language::Swahili => lingua_swahili_language_model::SWAHILI_MODELS_DIRECTORY,
        Language::Swedish => lingua_swedish_language_model::SWEDISH_MODELS_DIRECTORY,
        Language::Tagalog => lingua_tagalog_language_model::TAGALOG_MODELS_DIRECTORY,
        Language::Tsonga => lingua_tsonga_language_model::TSONGA_MODELS_DIRECTORY,
        Language::Tswana => lingua_tswana_language_model::TSWANA_MODELS_DIRECTORY,
        Language::Turkish => lingua_turkish_language_model::TURKISH_MODELS_DIRECTORY,
        Language::Vietnamese => lingua_vietnamese_language_model::VIETNAMESE_MODELS_DIRECTORY,
        Language::Welsh => lingua_welsh_language_model::WELSH_MODELS_DIRECTORY,
        Language::Xhosa => lingua_xhosa_language_model::XHOSA_MODELS_DIRECTORY,
        Language::Yoruba => lingua_yoruba_language_model::YORUBA_MODELS_DIRECTORY,
        Language::Zulu => lingua_zulu_language_model::ZULU_MODELS_DIRECTORY,
        Language::Belarusian => lingua_belarusian_language_model::BELARUSIAN_MODELS_DIRECTORY,
        Language::Bulgarian => lingua_bulgarian_language_model::BULGARIAN_MODELS_DIRECTORY,
        Language::Kazakh => lingua_kazakh_language_model::KAZAKH_MODELS_DIRECTORY,
        Language::Macedonian => lingua_macedonian_language_model::MACEDONIAN_MODELS_DIRECTORY,
        Language::Mongolian => lingua_mongolian_language_model::MONGOLIAN_MODELS_DIRECTORY,
        Language::Russian => lingua_russian_language_model::RUSSIAN_MODELS_DIRECTORY,
        Language::Serbian => lingua_serbian_language_model::SERBIAN_MODELS_DIRECTORY,
        Language::Ukrainian => lingua_ukrainian_language_model::UKRAINIAN_MODELS_DIRECTORY,
        Language::Arabic => lingua_arabic_language_model::ARABIC_MODELS_DIRECTORY,
        Language::Persian => lingua_persian_language_model::PERSIAN_MODELS_DIRECTORY,
        Language::Urdu => lingua_urdu_language_model::URDU_MODELS_DIRECTORY,
        Language::Hindi => lingua_hindi_language_model::HINDI_MODELS_DIRECTORY,
        Language::Marathi => lingua_marathi_language_model::MARATHI_MODELS_DIRECTORY,
        _ => return None,
    };
    dir.get_file("ngrams.fst").map(|f| f.contents())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lingua::LanguageDetectorBuilder;

    /// Text of >= 250 characters (lingua in trigram mode) from lingua's own test sentences of `lang`, starting at sentence `skip`.
    fn doc(lang: Language, skip: usize) -> Option<String> {
        let dir = match lang {
            Language::German => lingua_german_language_model::GERMAN_TESTDATA_DIRECTORY,
            Language::Bokmal => lingua_bokmal_language_model::BOKMAL_TESTDATA_DIRECTORY,
            Language::Croatian => lingua_croatian_language_model::CROATIAN_TESTDATA_DIRECTORY,
            Language::Yoruba => lingua_yoruba_language_model::YORUBA_TESTDATA_DIRECTORY,
            Language::Ukrainian => lingua_ukrainian_language_model::UKRAINIAN_TESTDATA_DIRECTORY,
            Language::Persian => lingua_persian_language_model::PERSIAN_TESTDATA_DIRECTORY,
            Language::Marathi => lingua_marathi_language_model::MARATHI_TESTDATA_DIRECTORY,
            Language::Vietnamese => lingua_vietnamese_language_model::VIETNAMESE_TESTDATA_DIRECTORY,
            _ => return None,
        };
        let text = dir.get_file("sentences.txt")?.contents_utf8()?;
        let mut out = String::new();
        for line in text.lines().skip(skip) {
            out.push_str(line.trim());
            out.push(' ');
            if out.chars().count() >= 250 {
                return Some(out);
            }
        }
        None
    }

    #[test]
    fn table_covers_the_multi_language_scripts() {
        let t = table();
        for group in [
            Language::all_with_latin_script(),
            Language::all_with_cyrillic_script(),
            Language::all_with_arabic_script(),
            Language::all_with_devanagari_script(),
        ] {
            let langs: Vec<Language> = group.into_iter().collect();
            assert!(t.covers(&langs), "{langs:?}");
            assert_eq!(t.mask(&langs).count_ones() as usize, langs.len());
        }
        assert!(!t.covers(&[Language::Japanese]));
    }

    /// The fast scorer is lingua's trigram mode: same winner, nearly the same confidences.
    #[test]
    fn agrees_with_lingua_trigram_mode() {
        let t = table();
        let mut checked = 0;
        for lang in [
            Language::German,
            Language::Bokmal,
            Language::Croatian,
            Language::Yoruba,
            Language::Ukrainian,
            Language::Persian,
            Language::Marathi,
            Language::Vietnamese,
        ] {
            let group: Vec<Language> = Language::all()
                .into_iter()
                .filter(|l| {
                    [
                        Language::all_with_latin_script(),
                        Language::all_with_cyrillic_script(),
                        Language::all_with_arabic_script(),
                        Language::all_with_devanagari_script(),
                    ]
                    .iter()
                    .any(|g| g.contains(l) && g.contains(&lang))
                })
                .collect();
            let lingua = LanguageDetectorBuilder::from_languages(&group)
                .with_preloaded_language_models()
                .build();
            for skip in [0, 40, 80] {
                let text = doc(lang, skip).expect("test data");
                let ours = t.score(&text, t.mask(&group));
                let theirs = lingua.compute_language_confidence_values(text.as_str());
                assert_eq!(ours[0].0, theirs[0].0, "{lang:?} {text}");
                assert!(
                    (ours[0].1 - theirs[0].1).abs() < 0.05,
                    "{ours:?} {theirs:?}"
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 24);
    }

    #[test]
    fn word_char_fast_paths_match_std() {
        for c in ('\u{0}'..='\u{52f}').chain('\u{0900}'..='\u{097f}') {
            let std = c.is_alphabetic()
                || (('\u{0900}'..='\u{097F}').contains(&c)
                    && !matches!(c, '\u{0964}' | '\u{0965}'));
            assert_eq!(is_word_char(c), std, "{c:?} U+{:04X}", c as u32);
        }
    }

    #[test]
    fn trigrams_are_lowercased_letter_runs() {
        let keys = trigram_keys("Ab-cde F");
        assert_eq!(keys, vec![pack('c', 'd', 'e')]);
        assert!(table().score("", u128::MAX).is_empty());
    }
}
