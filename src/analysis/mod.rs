//! Tantivy analyzers for the embedded backend, one per row of [`crate::languages`], plus the
//! generic multilingual analyzer.
//!
//! Chains (all but Japanese start with [`WordTokenizer`], which lowercases, then drop tokens of
//! [`MAX_TOKEN_BYTES`] or more; French, Italian and Catalan then remove elided articles, see
//! [`Elision`]):
//! - `Stemmed(lang)`: (German, Danish, Finnish: + compound parts, [`Decompound`]) + tantivy's
//!   stop words for `lang` (when it has a list) + Snowball stemmer
//!   ([`CachedStemmer`]: tantivy's `Stemmer` with a memo, for speed).
//!   No accent folding, neither before nor after stemming. Before: Snowball's suffix rules read
//!   the accents (French "créées" stems to "cré", unaccented "creees" to "cree", so folding first
//!   would not even make them match). After: it would merge words the language keeps apart
//!   (Spanish "año"/"ano"), and where folding is harmless the stemmer already does it (Snowball
//!   German stems "Häuser" and "hauser" both to "haus"). The OpenSearch language analyzers these
//!   rows map to do not fold either, so both backends match the same documents.
//!   Accent-insensitive matching is still available through the generic field, which folds.
//! - `LightStemmed(light)`: + a light suffix-stripping stemmer ([`LightStemmer`]: Bulgarian,
//!   Hindi), no folding, as for Snowball.
//! - `JapaneseMorphology`: [`JapaneseTokenizer`] instead of the word tokenizer (morphemes in
//!   base form, function words dropped), then the same filters as `Segmented`.
//! - `Segmented`: + diacritic stripping and ASCII folding (for Latin words embedded in CJK/SEA
//!   text, and fullwidth forms). The segmentation itself happens in the tokenizer.
//! - `Folded`: + diacritic stripping ([`StripDiacritics`], for decomposed text) and ASCII folding:
//!   no stemmer exists, so the most useful normalization left is making "cafe" match "café" (like
//!   `icu_folding` on the OpenSearch side).
//! - generic: + diacritic stripping and ASCII folding; no stop words and no stemming, because the
//!   language is unknown and stemming with the wrong language does more harm than good.

mod cached_stemmer;
mod decompound;
mod diacritics;
mod elision;
mod japanese;
mod light_stemmer;
mod simple_words;
mod truncate;
mod word_tokenizer;

use tantivy::tokenizer::{
    AsciiFoldingFilter, RemoveLongFilter, StopWordFilter, TextAnalyzer, TokenizerManager,
};

use crate::languages::{self, Analyzer, LanguageSpec};

pub use cached_stemmer::CachedStemmer;
pub use decompound::Decompound;
pub use diacritics::StripDiacritics;
pub use elision::{elided_articles, Elision};
pub use japanese::JapaneseTokenizer;
pub use light_stemmer::LightStemmer;
pub use truncate::Truncate;
pub use word_tokenizer::WordTokenizer;

/// Tokenizer name of the generic multilingual analyzer: used for the catch-all field that every
/// document's text goes to, and for text whose language is undetermined or unsupported.
pub const GENERIC_TOKENIZER: &str = "glossa_generic";

/// Tokens this long (in UTF-8 bytes) or longer are dropped. They are almost always junk (base64,
/// URLs, hashes glued to words) that bloats the term dictionary. 64 bytes is still 21 characters in
/// three-byte scripts (CJK, Indic), longer than real words there.
pub const MAX_TOKEN_BYTES: usize = 64;

/// Name under which [`register`] installs the analyzer for a language code ("de" ->
/// "glossa_de"); schema building uses it so fields and analyzers cannot disagree.
pub fn tokenizer_name(code: &str) -> String {
    format!("glossa_{code}")
}

/// Installs every Glossa analyzer into `manager` (usually `index.tokenizers()`): one per
/// [`languages::all`] row under [`tokenizer_name`], plus [`GENERIC_TOKENIZER`]. Must run before
/// indexing or querying, on every index opened.
pub fn register(manager: &TokenizerManager) {
    for spec in languages::all() {
        manager.register(&tokenizer_name(spec.code), analyzer_for(spec));
    }
    manager.register(GENERIC_TOKENIZER, generic_analyzer());
}

/// Builds the tantivy analyzer for one language row; public so callers (tests, tools) can analyze
/// text without a [`TokenizerManager`].
pub fn analyzer_for(spec: &LanguageSpec) -> TextAnalyzer {
    if spec.analyzer == Analyzer::JapaneseMorphology {
        return TextAnalyzer::builder(JapaneseTokenizer::default())
            .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
            .filter(StripDiacritics)
            .filter(AsciiFoldingFilter)
            .build();
    }
    let base = TextAnalyzer::builder(WordTokenizer::new())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(Elision::new(elided_articles(spec.code)));
    match spec.analyzer {
        Analyzer::Stemmed(language) => {
            let base = base.filter(Decompound::for_language(spec.code));
            match StopWordFilter::new(language) {
                Some(stop_words) => base
                    .filter(stop_words)
                    .filter(CachedStemmer::new(language))
                    .build(),
                None => base.filter(CachedStemmer::new(language)).build(),
            }
        }
        Analyzer::Segmented | Analyzer::Folded | Analyzer::JapaneseMorphology => base
            .filter(StripDiacritics)
            .filter(AsciiFoldingFilter)
            .build(),
        Analyzer::LightStemmed(light) => base.filter(LightStemmer(light)).build(),
        Analyzer::Truncated(chars) => base
            .filter(StripDiacritics)
            .filter(AsciiFoldingFilter)
            .filter(Truncate {
                chars: chars.into(),
            })
            .build(),
    }
}

/// The language-agnostic analyzer: word boundaries for every script (CJK/SEA segmented),
/// lowercase, elided articles of every language removed, ASCII folding; no stop words, no
/// stemming.
pub fn generic_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(WordTokenizer::new())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(Elision::new(elision::ELIDED_IN_ANY_LANGUAGE))
        .filter(StripDiacritics)
        .filter(AsciiFoldingFilter)
        .build()
}

#[cfg(test)]
mod tests;
