//! Snowball stemming with a per-analyzer memo of recent stems.

use std::collections::HashMap;

use tantivy::tokenizer::{
    Language, RawTokenizer, Stemmer, TextAnalyzer, Token, TokenFilter, TokenStream, Tokenizer,
};

/// Entries kept before the memo is cleared. Word frequencies are Zipfian, so a few thousand entries
/// already cover most tokens of running text; the bound keeps memory at ~1 MB per analyzer clone
/// (tantivy keeps one clone per field per indexing segment).
pub const STEM_CACHE_ENTRIES: usize = 8_192;

/// Tantivy's Snowball [`Stemmer`] behind a memo of word -> stem.
///
/// Why: the Snowball implementation tantivy uses rebuilds strings on every suffix rewrite and costs
/// about a microsecond per token (German is the slowest), which made stemming, not segmentation,
/// the largest cost of analysis. Running text repeats the same words constantly, so remembering
/// recent stems makes a repeated word cost one hash lookup and no allocation. The stems are exactly
/// tantivy's (a miss runs the real `Stemmer`), so index and query sides agree with or without the
/// memo.
#[derive(Clone, Copy, Debug)]
pub struct CachedStemmer {
    language: Language,
}

impl CachedStemmer {
    /// A stemming filter for `language`; tokens must already be lowercased.
    pub fn new(language: Language) -> Self {
        Self { language }
    }
}

impl TokenFilter for CachedStemmer {
    type Tokenizer<T: Tokenizer> = CachedStemmerFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> CachedStemmerFilter<T> {
        CachedStemmerFilter {
            inner: tokenizer,
            language: self.language,
            stemmer: stemmer_analyzer(self.language),
            cache: HashMap::new(),
        }
    }
}

/// Stems one whole word: the raw tokenizer passes the word through unchanged, so the analyzer's
/// output is tantivy's `Stemmer` applied to exactly that word.
fn stemmer_analyzer(language: Language) -> TextAnalyzer {
    TextAnalyzer::builder(RawTokenizer::default())
        .filter(Stemmer::new(language))
        .build()
}

/// The [`Tokenizer`] produced by [`CachedStemmer`]. Cloning starts an empty memo: clones go to
/// other threads and segments, and copying a full memo would cost more than refilling it.
pub struct CachedStemmerFilter<T> {
    inner: T,
    language: Language,
    stemmer: TextAnalyzer,
    cache: HashMap<String, String>,
}

impl<T: Clone> Clone for CachedStemmerFilter<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            language: self.language,
            stemmer: stemmer_analyzer(self.language),
            cache: HashMap::new(),
        }
    }
}

impl<T: Tokenizer> Tokenizer for CachedStemmerFilter<T> {
    type TokenStream<'a> = CachedStemmerStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        CachedStemmerStream {
            tail: self.inner.token_stream(text),
            stemmer: &mut self.stemmer,
            cache: &mut self.cache,
        }
    }
}

/// The [`TokenStream`] produced by [`CachedStemmer`].
pub struct CachedStemmerStream<'a, T> {
    tail: T,
    stemmer: &'a mut TextAnalyzer,
    cache: &'a mut HashMap<String, String>,
}

impl<T: TokenStream> TokenStream for CachedStemmerStream<'_, T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token: &mut Token = self.tail.token_mut();
        if let Some(stem) = self.cache.get(token.text.as_str()) {
            token.text.clear();
            token.text.push_str(stem);
            return true;
        }
        let stem = self
            .stemmer
            .token_stream(&token.text)
            .next()
            .map(|t| t.text.clone());
        if let Some(stem) = stem {
            if self.cache.len() >= STEM_CACHE_ENTRIES {
                self.cache.clear();
            }
            let word = std::mem::replace(&mut token.text, stem);
            self.cache.insert(word, token.text.clone());
        }
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}
