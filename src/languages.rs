//! The single source of truth for "which language gets which analysis".
//!
//! One row per supported language: its ISO 639-1 code (the key used by detection, routing, field
//! names and tokenizer names), an English name, the analyzer the embedded tantivy backend uses (see
//! [`crate::analysis`]) and the OpenSearch analyzer that `mappings/` are generated from. Keeping
//! both backends in one row is what keeps them from drifting apart.
//!
//! The rows are the 75 languages lingua 1.8 detects plus the script-only languages it lacks but
//! whose script identifies them (km lo my am si ml kn bo or dv), so script detection can route
//! them.

use serde::Serialize;
use tantivy::tokenizer::Language as Stem;

/// How the embedded (tantivy) backend analyzes one language.
///
/// Every variant but [`Analyzer::JapaneseMorphology`] starts from the same Unicode word tokenizer
/// (UAX #29 word boundaries, with dictionary segmentation for the scripts written without
/// spaces); all lowercase and drop overlong tokens, and differ in what comes after that.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Analyzer {
    /// Snowball stemming (plus tantivy's stop-word list when it has one) for the languages tantivy
    /// ships a stemmer for, so inflected forms ("Häuser", "Hauses") find each other. No accent
    /// folding: stemmers expect the real spelling, and the OpenSearch language analyzers of the
    /// same languages do not fold either, so both backends agree.
    Stemmed(Stem),
    /// Dictionary word segmentation for scripts written without spaces (Chinese, Thai, Lao, Khmer,
    /// Burmese); no stemming, which these languages do not need.
    Segmented,
    /// Japanese morphological analysis ([`crate::analysis::JapaneseTokenizer`], IPADIC): base
    /// forms of content words, function words dropped, like OpenSearch's kuromoji.
    JapaneseMorphology,
    /// A light suffix-stripping stemmer ([`crate::analysis::LightStemmer`]) for languages
    /// Snowball does not cover but OpenSearch's language analyzers stem (Bulgarian, Hindi).
    LightStemmed(Light),
    /// Word boundaries, lowercase and accent folding for every language without a stemmer: the
    /// portable choice that still makes "cafe" find "café".
    Folded,
    /// Folded, then each word cut to its first N characters ([`crate::analysis::Truncate`]):
    /// a stemmer's effect for inflecting languages Snowball does not cover.
    Truncated(u8),
}

/// Which light stemmer an [`Analyzer::LightStemmed`] language runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Light {
    Bulgarian,
    Hindi,
}

/// One supported language and how each backend analyzes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LanguageSpec {
    /// ISO 639-1 code, lowercase (`"de"`); the key everywhere else in Glossa.
    pub code: &'static str,
    /// English name, for humans (logs, API listings, docs).
    pub name: &'static str,
    /// The embedded tantivy analysis; registered as [`crate::analysis::tokenizer_name`]`(code)`.
    pub analyzer: Analyzer,
    /// Name of the OpenSearch analyzer for this language's field: a built-in language analyzer
    /// (`"german"`), a plugin analyzer (`"kuromoji"`, `"smartcn"`, `"nori"`, `"polish"`,
    /// `"ukrainian"`) or [`OPENSEARCH_ICU`] for the generic analysis-icu chain.
    pub opensearch_analyzer: &'static str,
}

/// The OpenSearch analyzer value meaning "a custom analyzer of `icu_tokenizer` + `icu_folding`"
/// (analysis-icu plugin): the fallback for languages with no dedicated analyzer. The mappings
/// generator has to define it, since OpenSearch has no built-in analyzer of that name.
pub const OPENSEARCH_ICU: &str = "icu";

impl LanguageSpec {
    /// The OpenSearch plugin this row's analyzer needs, if any, so the mappings generator (and the
    /// deployment docs) can list the plugins a cluster must have installed.
    pub fn opensearch_plugin(&self) -> Option<&'static str> {
        match self.opensearch_analyzer {
            "kuromoji" => Some("analysis-kuromoji"),
            "smartcn" => Some("analysis-smartcn"),
            "nori" => Some("analysis-nori"),
            "polish" => Some("analysis-stempel"),
            "ukrainian" => Some("analysis-ukrainian"),
            OPENSEARCH_ICU => Some("analysis-icu"),
            _ => None,
        }
    }
}

use Analyzer::{Folded, JapaneseMorphology, LightStemmed, Segmented, Stemmed, Truncated};

const fn row(
    code: &'static str,
    name: &'static str,
    analyzer: Analyzer,
    opensearch_analyzer: &'static str,
) -> LanguageSpec {
    LanguageSpec {
        code,
        name,
        analyzer,
        opensearch_analyzer,
    }
}

const ICU: &str = OPENSEARCH_ICU;

/// Sorted by code so [`get`] can binary-search; a unit test keeps it sorted and unique.
static LANGUAGES: &[LanguageSpec] = &[
    row("af", "Afrikaans", Folded, ICU),
    row("am", "Amharic", Folded, ICU),
    row("ar", "Arabic", Stemmed(Stem::Arabic), "arabic"),
    row("az", "Azerbaijani", Folded, ICU),
    row("be", "Belarusian", Folded, ICU),
    row(
        "bg",
        "Bulgarian",
        LightStemmed(Light::Bulgarian),
        "bulgarian",
    ),
    row("bn", "Bengali", Folded, "bengali"),
    row("bo", "Tibetan", Folded, ICU),
    row("bs", "Bosnian", Folded, ICU),
    row("ca", "Catalan", Folded, "catalan"),
    row("cs", "Czech", Truncated(5), "czech"),
    row("cy", "Welsh", Folded, ICU),
    row("da", "Danish", Stemmed(Stem::Danish), "danish"),
    row("de", "German", Stemmed(Stem::German), "german"),
    row("dv", "Dhivehi", Folded, ICU),
    row("el", "Greek", Stemmed(Stem::Greek), "greek"),
    row("en", "English", Stemmed(Stem::English), "english"),
    row("eo", "Esperanto", Folded, ICU),
    row("es", "Spanish", Stemmed(Stem::Spanish), "spanish"),
    row("et", "Estonian", Folded, "estonian"),
    row("eu", "Basque", Folded, "basque"),
    row("fa", "Persian", Folded, "persian"),
    row("fi", "Finnish", Stemmed(Stem::Finnish), "finnish"),
    row("fr", "French", Stemmed(Stem::French), "french"),
    row("ga", "Irish", Folded, "irish"),
    row("gu", "Gujarati", Folded, ICU),
    row("he", "Hebrew", Folded, ICU),
    row("hi", "Hindi", LightStemmed(Light::Hindi), "hindi"),
    row("hr", "Croatian", Folded, ICU),
    row("hu", "Hungarian", Stemmed(Stem::Hungarian), "hungarian"),
    row("hy", "Armenian", Folded, "armenian"),
    row("id", "Indonesian", Folded, "indonesian"),
    row("is", "Icelandic", Folded, ICU),
    row("it", "Italian", Stemmed(Stem::Italian), "italian"),
    row("ja", "Japanese", JapaneseMorphology, "kuromoji"),
    row("ka", "Georgian", Folded, ICU),
    row("kk", "Kazakh", Folded, ICU),
    row("km", "Khmer", Segmented, ICU),
    row("kn", "Kannada", Folded, ICU),
    row("ko", "Korean", Truncated(2), "nori"),
    row("la", "Latin", Folded, ICU),
    row("lg", "Ganda", Folded, ICU),
    row("lo", "Lao", Segmented, ICU),
    row("lt", "Lithuanian", Folded, "lithuanian"),
    row("lv", "Latvian", Folded, "latvian"),
    row("mi", "Maori", Folded, ICU),
    row("mk", "Macedonian", Folded, ICU),
    row("ml", "Malayalam", Folded, ICU),
    row("mn", "Mongolian", Folded, ICU),
    row("mr", "Marathi", Folded, ICU),
    row("ms", "Malay", Folded, ICU),
    row("my", "Burmese", Segmented, ICU),
    row(
        "nb",
        "Norwegian Bokmål",
        Stemmed(Stem::Norwegian),
        "norwegian",
    ),
    row("nl", "Dutch", Stemmed(Stem::Dutch), "dutch"),
    row(
        "nn",
        "Norwegian Nynorsk",
        Stemmed(Stem::Norwegian),
        "norwegian",
    ),
    row("or", "Odia", Folded, ICU),
    row("pa", "Punjabi", Folded, ICU),
    row("pl", "Polish", Truncated(5), "polish"),
    row("pt", "Portuguese", Stemmed(Stem::Portuguese), "portuguese"),
    row("ro", "Romanian", Stemmed(Stem::Romanian), "romanian"),
    row("ru", "Russian", Stemmed(Stem::Russian), "russian"),
    row("si", "Sinhala", Folded, ICU),
    row("sk", "Slovak", Truncated(5), ICU),
    row("sl", "Slovene", Folded, ICU),
    row("sn", "Shona", Folded, ICU),
    row("so", "Somali", Folded, ICU),
    row("sq", "Albanian", Folded, ICU),
    row("sr", "Serbian", Folded, ICU),
    row("st", "Sotho", Folded, ICU),
    row("sv", "Swedish", Stemmed(Stem::Swedish), "swedish"),
    row("sw", "Swahili", Folded, ICU),
    row("ta", "Tamil", Stemmed(Stem::Tamil), ICU),
    row("te", "Telugu", Folded, ICU),
    row("th", "Thai", Segmented, "thai"),
    row("tl", "Tagalog", Folded, ICU),
    row("tn", "Tswana", Folded, ICU),
    row("tr", "Turkish", Stemmed(Stem::Turkish), "turkish"),
    row("ts", "Tsonga", Folded, ICU),
    row("uk", "Ukrainian", Truncated(5), "ukrainian"),
    row("ur", "Urdu", Folded, ICU),
    row("vi", "Vietnamese", Folded, ICU),
    row("xh", "Xhosa", Folded, ICU),
    row("yo", "Yoruba", Folded, ICU),
    row("zh", "Chinese", Segmented, "smartcn"),
    row("zu", "Zulu", Folded, ICU),
];

/// Every supported language, sorted by code: what registration, mapping generation and the
/// language listing iterate over.
pub fn all() -> &'static [LanguageSpec] {
    LANGUAGES
}

/// Looks a language up by ISO 639-1 code (exact, lowercase); `None` means "unsupported", which
/// callers route to the generic analyzer.
pub fn get(code: &str) -> Option<&'static LanguageSpec> {
    LANGUAGES
        .binary_search_by(|spec| spec.code.cmp(code))
        .ok()
        .and_then(|index| LANGUAGES.get(index))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// lingua 1.8's 75 languages, by ISO 639-1 code.
    const LINGUA: [&str; 75] = [
        "af", "sq", "ar", "hy", "az", "eu", "be", "bn", "nb", "bs", "bg", "ca", "zh", "hr", "cs",
        "da", "nl", "en", "eo", "et", "fi", "fr", "lg", "ka", "de", "el", "gu", "he", "hi", "hu",
        "is", "id", "ga", "it", "ja", "kk", "ko", "la", "lv", "lt", "mk", "ms", "mi", "mr", "mn",
        "nn", "fa", "pl", "pt", "pa", "ro", "ru", "sr", "sn", "sk", "sl", "so", "st", "es", "sw",
        "sv", "tl", "ta", "te", "th", "tn", "ts", "tr", "uk", "ur", "vi", "cy", "xh", "yo", "zu",
    ];
    const SCRIPT_ONLY: [&str; 10] = ["km", "lo", "my", "am", "si", "ml", "kn", "bo", "or", "dv"];

    #[test]
    fn table_is_sorted_unique_and_complete() {
        assert!(all().windows(2).all(|w| w[0].code < w[1].code));
        assert_eq!(all().len(), LINGUA.len() + SCRIPT_ONLY.len());
        for code in LINGUA.iter().chain(SCRIPT_ONLY.iter()) {
            let spec = get(code).unwrap_or_else(|| panic!("{code} missing"));
            assert_eq!(spec.code, *code);
        }
    }

    #[test]
    fn unknown_codes_are_none() {
        assert!(get("xx").is_none());
        assert!(get("").is_none());
        assert!(get("DE").is_none());
    }

    #[test]
    fn norwegian_variants_share_the_stemmer() {
        assert_eq!(
            get("nb").map(|s| s.analyzer),
            Some(Stemmed(Stem::Norwegian))
        );
        assert_eq!(
            get("nn").map(|s| s.analyzer),
            Some(Stemmed(Stem::Norwegian))
        );
    }

    #[test]
    fn segmented_languages_are_the_unspaced_scripts() {
        let segmented: Vec<&str> = all()
            .iter()
            .filter(|s| s.analyzer == Segmented)
            .map(|s| s.code)
            .collect();
        // Japanese, the other unspaced script, has its own morphology.
        assert_eq!(segmented, ["km", "lo", "my", "th", "zh"]);
        assert_eq!(get("ja").map(|s| s.analyzer), Some(JapaneseMorphology));
    }

    #[test]
    fn plugins_are_named() {
        assert_eq!(
            get("ja").and_then(|s| s.opensearch_plugin()),
            Some("analysis-kuromoji")
        );
        assert_eq!(
            get("pl").and_then(|s| s.opensearch_plugin()),
            Some("analysis-stempel")
        );
        assert_eq!(get("de").and_then(|s| s.opensearch_plugin()), None);
        assert_eq!(
            get("sw").and_then(|s| s.opensearch_plugin()),
            Some("analysis-icu")
        );
    }
}
