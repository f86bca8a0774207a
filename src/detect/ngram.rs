//! The fast document scorer: lingua's own trigram model, evaluated without lingua's overhead.
//!
//! Why: on texts of 120+ characters lingua (even in high-accuracy mode) scores only character
//! trigrams, summing per language the log-probability of each distinct trigram of the text,
//! backing off to the trigram's leading bigram and then its leading letter when the language's
//! model lacks it. The arithmetic is cheap; the time goes into the machinery around it: every
//! lookup walks an FST behind two `DashMap` accesses, once per (trigram, language), plus
//! regex tokenizing, per-call `HashSet`/`HashMap` allocations and rule passes. This module reads
//! the same model files (the `lingua-*-language-model` crates lingua itself depends on), keeps
//! only their 1- to 3-grams in one hash table whose entry per n-gram lists every language that
//! has it, and scores all candidate languages in a single pass: about three table probes per
//! distinct trigram whatever the number of languages. It is built once per process (a second or
//! two, ~40 MB) and shared read-only, so it is `Send + Sync` with no lock on the lookup path.
//!
//! It is only used on text long enough (see `MIN_LETTERS`) for lingua to be in trigram mode
//! itself; shorter text goes to lingua, whose 1- to 5-gram mode is what makes it accurate there.
//! lingua's rule passes (characters unique to a language) are not replicated: on a few hundred
//! characters the trigram evidence decides, and the benchmark measures the difference.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

use fst::Streamer;
use lingua::Language;

/// Fewest letters for which lingua itself scores trigrams only (its high-accuracy mode switches
/// at 120 characters of words); below it the fast scorer would not match lingua.
pub(crate) const MIN_LETTERS: usize = 120;

/// Bits per character in a packed n-gram key (Unicode scalar values fit in 21 bits).
const CHAR_BITS: u32 = 21;
const UNI_MASK: u64 = (1 << CHAR_BITS) - 1;
const BI_MASK: u64 = (1 << (2 * CHAR_BITS)) - 1;

/// Multiplicative hash for the packed keys (the std SipHash would be ~3x the cost of a probe).
#[derive(Default)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(self.0 ^ u64::from(*b));
        }
    }
    fn write_u64(&mut self, k: u64) {
        let h = (k ^ (k >> 31)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = h ^ (h >> 29);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type KeyMap<V> = HashMap<u64, V, BuildHasherDefault<KeyHasher>>;

/// A set of table languages, one bit per table index.
pub(crate) type LangMask = u128;

/// All 1- to 3-grams of the covered languages: key -> range of (language, ln probability).
pub(crate) struct NgramTable {
    langs: Vec<Language>,
    index: KeyMap<(u32, u32)>,
    entry_lang: Vec<u8>,
    entry_prob: Vec<f32>,
}

static TABLE: OnceLock<NgramTable> = OnceLock::new();

/// The process-wide table, built on first use (a `OnceLock`: one atomic load afterwards).
pub(crate) fn table() -> &'static NgramTable {
    TABLE.get_or_init(NgramTable::build)
}

#[inline]
fn pack(a: char, b: char, c: char) -> u64 {
    u64::from(a as u32)
        | (u64::from(b as u32) << CHAR_BITS)
        | (u64::from(c as u32) << (2 * CHAR_BITS))
}

impl NgramTable {
    fn build() -> NgramTable {
        let langs: Vec<Language> = {
            let mut v: Vec<Language> = Language::all()
                .into_iter()
                .filter(|l| ngram_fst(*l).is_some())
                .collect();
            v.sort();
            // One bit per language in a `LangMask` (62 languages are covered).
            v.truncate(LangMask::BITS as usize);
            v
        };
        let mut raw: Vec<(u64, u8, f32)> = Vec::new();
        for (i, lang) in langs.iter().enumerate() {
            let Some(bytes) = ngram_fst(*lang) else {
                continue;
            };
            let Ok(map) = fst::Map::new(bytes) else {
                continue;
            };
            let mut stream = map.stream();
            while let Some((key, value)) = stream.next() {
                // Up to 3 chars of up to 4 bytes; longer keys are 4- and 5-grams.
                if key.len() > 12 {
                    continue;
                }
                let Ok(s) = std::str::from_utf8(key) else {
                    continue;
                };
                let mut chars = s.chars();
                let (Some(a), b, c, None) =
                    (chars.next(), chars.next(), chars.next(), chars.next())
                else {
                    continue;
                };
                let k = pack(a, b.unwrap_or('\0'), c.unwrap_or('\0'));
                raw.push((k, i as u8, f64::from_bits(value) as f32));
            }
        }
        raw.sort_unstable_by_key(|e| (e.0, e.1));
        let mut index: KeyMap<(u32, u32)> = KeyMap::default();
        let mut entry_lang = Vec::with_capacity(raw.len());
        let mut entry_prob = Vec::with_capacity(raw.len());
        let mut start = 0;
        while start < raw.len() {
            let key = raw[start].0;
            let mut end = start;
            while end < raw.len() && raw[end].0 == key {
                entry_lang.push(raw[end].1);
                entry_prob.push(raw[end].2);
                end += 1;
            }
            index.insert(key, (start as u32, (end - start) as u32));
            start = end;
        }
        NgramTable {
            langs,
            index,
            entry_lang,
            entry_prob,
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
        let mut sums = [0f64; 128];
        for &k in &keys {
            let mut remaining = candidates;
            for key in [k, k & BI_MASK, k & UNI_MASK] {
                if let Some(&(start, len)) = self.index.get(&key) {
                    let range = start as usize..(start + len) as usize;
                    for (l, p) in self.entry_lang[range.clone()]
                        .iter()
                        .zip(&self.entry_prob[range])
                    {
                        let bit = 1u128 << l;
                        if remaining & bit != 0 {
                            sums[*l as usize] += f64::from(*p);
                            remaining &= !bit;
                        }
                    }
                }
                if remaining == 0 {
                    break;
                }
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
    let mut keys = Vec::with_capacity(text.len());
    let (mut a, mut b) = ('\0', '\0');
    let mut run = 0usize;
    for c in text.chars() {
        if !is_word_char(c) {
            run = 0;
            continue;
        }
        if c.is_ascii() {
            let l = c.to_ascii_lowercase();
            if run >= 2 {
                keys.push(pack(a, b, l));
            }
            a = b;
            b = l;
            run += 1;
            continue;
        }
        for l in c.to_lowercase() {
            if run >= 2 {
                keys.push(pack(a, b, l));
            }
            a = b;
            b = l;
            run += 1;
        }
    }
    keys
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
