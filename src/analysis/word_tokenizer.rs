//! The base tokenizer every Glossa analyzer starts from: Unicode word boundaries for all scripts.

use std::cell::RefCell;

use icu_segmenter::options::WordBreakInvariantOptions;
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
/// or lock between tantivy's indexing threads; the token text buffer is reused across tokens,
/// and each thread remembers the boundaries of its last few texts (see `RecentTexts`).
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

    /// Byte ranges of the word-like segments of `text`, segmented afresh.
    pub(crate) fn words(&self, text: &str) -> Vec<(usize, usize)> {
        let mut words = Vec::new();
        let mut start = 0;
        for end in self.segmenter.segment_str(text) {
            let segment_start = std::mem::replace(&mut start, end);
            // Boundaries are char boundaries of `text`; `get` keeps this panic-free regardless.
            let Some(segment) = text.get(segment_start..end) else {
                continue;
            };
            // Word-like = contains a letter or digit. Not ICU's `word_type()`: icu_segmenter 2.x
            // reports `None` for a word ending in a combining mark when text follows
            // (unicode-org/icu4x#8321), which would drop most Hindi, Tamil or NFD-accented words.
            if segment.chars().any(crate::letters::is_alphanumeric) {
                words.push((segment_start, end));
            }
        }
        words
    }
}

impl Default for WordTokenizer {
    fn default() -> Self {
        Self::new()
    }
}

/// Texts at most this long (bytes) are remembered by [`RecentTexts`].
const MAX_REMEMBERED_TEXT: usize = 16 * 1024;
/// How many recent texts each thread remembers: a document's title and body, twice over.
const REMEMBERED_TEXTS: usize = 4;

/// The word boundaries of the last few texts this thread segmented.
///
/// Why: every text is indexed twice, into its language's field and into the generic field, and
/// Tantivy indexes a document's fields one after the other on one thread. Both analyzers start
/// from this tokenizer, so the second pass can reuse the first one's boundaries instead of running
/// ICU's segmenter again (ICU was ~10% of ingest CPU, half of it repeated work). Comparing a
/// ~500-byte text is far cheaper than segmenting it.
#[derive(Default)]
struct RecentTexts {
    entries: Vec<(String, Vec<(usize, usize)>)>,
    next: usize,
}

impl RecentTexts {
    fn get(&self, text: &str) -> Option<&[(usize, usize)]> {
        self.entries
            .iter()
            .find(|(remembered, _)| remembered == text)
            .map(|(_, words)| words.as_slice())
    }

    fn remember(&mut self, text: &str, words: &[(usize, usize)]) {
        if text.len() > MAX_REMEMBERED_TEXT {
            return;
        }
        if self.entries.len() < REMEMBERED_TEXTS {
            self.entries.push((text.to_owned(), words.to_vec()));
        } else {
            let (remembered, remembered_words) = &mut self.entries[self.next];
            remembered.clear();
            remembered.push_str(text);
            remembered_words.clear();
            remembered_words.extend_from_slice(words);
            self.next = (self.next + 1) % REMEMBERED_TEXTS;
        }
    }
}

thread_local! {
    static RECENT: RefCell<RecentTexts> = RefCell::new(RecentTexts::default());
}

impl Tokenizer for WordTokenizer {
    type TokenStream<'a> = WordTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordTokenStream<'a> {
        self.token.reset();
        let words = RECENT.with_borrow_mut(|recent| {
            if let Some(words) = recent.get(text) {
                return words.to_vec();
            }
            let words = self.words(text);
            recent.remember(text, &words);
            words
        });
        WordTokenStream {
            text,
            words: words.into_iter(),
            token: &mut self.token,
        }
    }
}

/// The [`TokenStream`] of a [`WordTokenizer`]: the word-like segments, in order.
pub struct WordTokenStream<'a> {
    text: &'a str,
    words: std::vec::IntoIter<(usize, usize)>,
    token: &'a mut Token,
}

impl TokenStream for WordTokenStream<'_> {
    fn advance(&mut self) -> bool {
        for (start, end) in self.words.by_ref() {
            let Some(word) = self.text.get(start..end) else {
                continue;
            };
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
