//! The base tokenizer every Glossa analyzer starts from: Unicode word boundaries for all scripts.

use icu_segmenter::iterators::WordBreakIterator;
use icu_segmenter::options::WordBreakInvariantOptions;
use icu_segmenter::scaffold::Utf8;
use icu_segmenter::{WordSegmenter, WordSegmenterBorrowed};
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// A tantivy [`Tokenizer`] that emits the word-like segments (those containing a letter, ideograph
/// or digit) of ICU4X's word segmenter, skipping whitespace, punctuation, symbols and emoji.
///
/// Why ICU: UAX #29 keeps combining marks inside words (Devanagari, Tamil, Thai vowel signs),
/// keeps "3.14" and "can't" whole, and adds dictionary segmentation for the scripts written
/// without spaces (Chinese, Japanese, Thai, Lao, Khmer, Burmese), which whitespace/alphanumeric
/// splitting cannot do at all. One tokenizer therefore serves every language, including
/// mixed-script text in the generic field.
///
/// Dictionaries everywhere, not ICU's `auto` mode: `auto` uses LSTM models for Thai, Lao, Khmer
/// and Burmese, which measured ~180x slower than the dictionaries (~390 vs ~69,000 500-byte Thai
/// documents/s on one core) with no better segmentation on our samples; at LSTM speed one Thai
/// document stream would stall the whole ingest.
///
/// Cost: the segmenter is built from data compiled into the binary (`new_dictionary` returns a
/// `'static`, `Copy` handle), so construction and cloning are free and there is nothing to share
/// or lock between tantivy's indexing threads; the token text buffer is reused across tokens.
#[derive(Clone)]
pub struct WordTokenizer {
    segmenter: WordSegmenterBorrowed<'static>,
    token: Token,
}

impl WordTokenizer {
    /// A tokenizer with the invariant (locale-independent) rules and the complex-script
    /// dictionaries; the language of a field does not change its segmentation.
    pub fn new() -> Self {
        Self {
            segmenter: WordSegmenter::new_dictionary(WordBreakInvariantOptions::default()),
            token: Token::default(),
        }
    }
}

impl Default for WordTokenizer {
    fn default() -> Self {
        Self::new()
    }
}

impl Tokenizer for WordTokenizer {
    type TokenStream<'a> = WordTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordTokenStream<'a> {
        self.token.reset();
        WordTokenStream {
            text,
            boundaries: self.segmenter.segment_str(text),
            segment_start: 0,
            token: &mut self.token,
        }
    }
}

/// The [`TokenStream`] of a [`WordTokenizer`]: walks the boundaries lazily, so tokenizing costs
/// no allocation beyond the segmenter's own.
pub struct WordTokenStream<'a> {
    text: &'a str,
    boundaries: WordBreakIterator<'static, 'a, Utf8>,
    segment_start: usize,
    token: &'a mut Token,
}

impl TokenStream for WordTokenStream<'_> {
    fn advance(&mut self) -> bool {
        for end in self.boundaries.by_ref() {
            let start = std::mem::replace(&mut self.segment_start, end);
            // Boundaries are char boundaries of `text`; `get` keeps this panic-free regardless.
            let Some(segment) = self.text.get(start..end) else {
                continue;
            };
            // Word-like = contains a letter or digit. Not ICU's `word_type()`: icu_segmenter 2.x
            // reports `None` for a word ending in a combining mark when text follows
            // (unicode-org/icu4x#8321), which would drop most Hindi, Tamil or NFD-accented words.
            if !segment.chars().any(char::is_alphanumeric) {
                continue;
            }
            let word = segment;
            self.token.text.clear();
            self.token.text.push_str(word);
            self.token.offset_from = start;
            self.token.offset_to = end;
            self.token.position = self.token.position.wrapping_add(1);
            return true;
        }
        false
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}
