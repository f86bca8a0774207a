//! The base tokenizer every Glossa analyzer starts from: Unicode word boundaries for all scripts,
//! lowercased.

use std::cell::RefCell;
use std::rc::Rc;

use icu_segmenter::options::WordBreakInvariantOptions;
use icu_segmenter::{WordSegmenter, WordSegmenterBorrowed};
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

use super::simple_words;

/// A tantivy [`Tokenizer`] that emits the word-like segments (those containing a letter, ideograph
/// or digit) of ICU4X's word segmenter, lowercased, skipping whitespace, punctuation, symbols and
/// emoji. Token offsets are those of the original text.
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
/// and each thread remembers the words of its last few texts (see `RecentTexts`).
///
/// Why lowercase here rather than in a `LowerCaser` filter: every text goes through two
/// analyzers (its language's and the generic one), and lowercasing was ~10% of ingest CPU, half
/// of it the second analyzer redoing the first one's work. Remembered with the boundaries, it is
/// done once per text.
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

    /// Byte ranges of the word-like segments of `text`, segmented afresh: each whitespace-
    /// separated run by the fast path of `simple_words` when it can, else by ICU.
    pub(crate) fn words(&self, text: &str) -> Vec<(usize, usize)> {
        simple_words::segment(text, |run, offset, words| {
            self.icu_words(run, offset, words)
        })
    }

    /// ICU's word-like segments of `text`, shifted by `offset`.
    pub(crate) fn icu_words(&self, text: &str, offset: usize, words: &mut Vec<(usize, usize)>) {
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
                words.push((offset + segment_start, offset + end));
            }
        }
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

/// One text's words: where each is in the text, and all of them lowercased end to end.
struct Words {
    /// (start, end) in the text, and the end of the word's lowercase form in `lowercase`.
    spans: Vec<(usize, usize, usize)>,
    lowercase: String,
}

impl Words {
    fn of(tokenizer: &WordTokenizer, text: &str) -> Words {
        let mut spans = Vec::new();
        let mut lowercase = String::with_capacity(text.len());
        for (start, end) in tokenizer.words(text) {
            let Some(word) = text.get(start..end) else {
                continue;
            };
            crate::letters::push_lowercase(word, &mut lowercase);
            spans.push((start, end, lowercase.len()));
        }
        Words { spans, lowercase }
    }
}

/// The words of the last few texts this thread tokenized.
///
/// Why: every text is indexed twice, into its language's field and into the generic field, and
/// Tantivy indexes a document's fields one after the other on one thread. Both analyzers start
/// from this tokenizer, so the second pass can reuse the first one's words instead of running
/// ICU's segmenter and the lowercasing again (ICU was ~10% of ingest CPU, half of it repeated
/// work). Comparing a ~500-byte text is far cheaper than segmenting it.
#[derive(Default)]
struct RecentTexts {
    entries: Vec<(String, Rc<Words>)>,
    next: usize,
}

impl RecentTexts {
    fn get(&self, text: &str) -> Option<Rc<Words>> {
        self.entries
            .iter()
            .find(|(remembered, _)| remembered == text)
            .map(|(_, words)| Rc::clone(words))
    }

    fn remember(&mut self, text: &str, words: &Rc<Words>) {
        if text.len() > MAX_REMEMBERED_TEXT {
            return;
        }
        if self.entries.len() < REMEMBERED_TEXTS {
            self.entries.push((text.to_owned(), Rc::clone(words)));
        } else {
            let (remembered, remembered_words) = &mut self.entries[self.next];
            remembered.clear();
            remembered.push_str(text);
            *remembered_words = Rc::clone(words);
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
                return words;
            }
            let words = Rc::new(Words::of(self, text));
            recent.remember(text, &words);
            words
        });
        WordTokenStream {
            words,
            next: 0,
            token: &mut self.token,
        }
    }
}

/// The [`TokenStream`] of a [`WordTokenizer`]: the word-like segments, lowercased, in order.
pub struct WordTokenStream<'a> {
    words: Rc<Words>,
    next: usize,
    token: &'a mut Token,
}

impl TokenStream for WordTokenStream<'_> {
    fn advance(&mut self) -> bool {
        let Some(&(start, end, lower_end)) = self.words.spans.get(self.next) else {
            return false;
        };
        let lower_start = match self.next {
            0 => 0,
            n => self.words.spans[n - 1].2,
        };
        self.next += 1;
        self.token.text.clear();
        self.token
            .text
            .push_str(&self.words.lowercase[lower_start..lower_end]);
        self.token.offset_from = start;
        self.token.offset_to = end;
        self.token.position = self.token.position.wrapping_add(1);
        true
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}
