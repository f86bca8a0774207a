//! Japanese morphology for the `ja` field: the embedded backend's counterpart of OpenSearch's
//! `kuromoji` analyzer.
//!
//! Why: Japanese is written without spaces and inflects; ICU's dictionary segmentation finds word
//! boundaries but not that 行きました and 行く are one verb, and it keeps particles and auxiliary
//! verbs (の, を, ます) as words that match nearly every document. A MeCab-style lattice over
//! IPADIC (the dictionary kuromoji is built from) gives each morpheme its part of speech and base
//! form, so this tokenizer, like kuromoji, indexes base forms and drops function words.
//!
//! What it emits, per morpheme of the best path:
//! - nothing for particles, auxiliary verbs, conjunctions, symbols, fillers and other non-content
//!   parts of speech ([`is_content`], kuromoji's default stop tags), nor for tokens without a
//!   letter or digit; their positions are kept as gaps, so phrases match only adjacent words;
//! - else the base form when the dictionary has one (行き -> 行く), the surface otherwise
//!   (unknown words, Latin or digits), lowercased; halfwidth katakana widened (NFKC) and a final
//!   prolonged sound mark dropped from katakana words of four or more characters (コンピューター
//!   -> コンピュータ), as kuromoji's `cjk_width` and `kuromoji_stemmer` do.
//!
//! Runs of katakana the dictionary does not know as a whole are split into known words and pieces
//! of up to 7 characters (プロセススケジューリングデーモン -> プロセス, スケジューリング, デーモン),
//! as kuromoji's search mode does, so a loanword compound is found by its parts.
//!
//! The dictionary (`data/ipadic.dic.zst`, built by `scripts/make-ja-dictionary.sh` from Debian's
//! `mecab-ipadic`) is compiled into the binary and loaded on first use: about 70 ms and 40 MB, paid
//! only by processes that meet Japanese text.

use std::cell::RefCell;
use std::sync::OnceLock;

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};
use unicode_normalization::UnicodeNormalization;
use vibrato::tokenizer::worker::Worker;

/// IPADIC, compiled by vibrato and zstd-compressed.
const DICTIONARY: &[u8] = include_bytes!("data/ipadic.dic.zst");

/// Texts are tokenized in pieces of at most this many bytes, cut after sentence ends or line
/// breaks when there is one: the lattice grows with the text, and sentences do not span them.
const MAX_PIECE_BYTES: usize = 4 * 1024;

/// The loaded dictionary, shared by every thread.
fn shared() -> &'static vibrato::Tokenizer {
    static TOKENIZER: OnceLock<vibrato::Tokenizer> = OnceLock::new();
    TOKENIZER.get_or_init(|| {
        // The bytes are part of the binary, checked by the unit tests: a failure here is a broken
        // build, not bad input.
        let compiled = zstd::decode_all(DICTIONARY).expect("embedded Japanese dictionary is zstd");
        let dictionary = vibrato::Dictionary::read(compiled.as_slice())
            .expect("embedded Japanese dictionary is a vibrato 0.5.3 dictionary");
        vibrato::Tokenizer::new(dictionary)
    })
}

thread_local! {
    /// Each thread's lattice, reused between texts.
    static WORKER: RefCell<Worker<'static>> = RefCell::new(shared().new_worker());
}

/// A tantivy [`Tokenizer`] for Japanese text: content morphemes in base form (see the module
/// docs). Offsets are those of the original text.
#[derive(Clone, Default)]
pub struct JapaneseTokenizer {
    tokens: Vec<Token>,
}

impl Tokenizer for JapaneseTokenizer {
    type TokenStream<'a> = JapaneseTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> JapaneseTokenStream<'a> {
        self.tokens.clear();
        let mut position = 0;
        for (offset, piece) in pieces(text) {
            WORKER.with_borrow_mut(|worker| {
                worker.reset_sentence(piece);
                worker.tokenize();
                for i in 0..worker.num_tokens() {
                    let morpheme = worker.token(i);
                    if let Some(text) = index_form(morpheme.surface(), morpheme.feature()) {
                        let range = morpheme.range_byte();
                        self.tokens.push(Token {
                            offset_from: offset + range.start,
                            offset_to: offset + range.end,
                            position,
                            text,
                            position_length: 1,
                        });
                    }
                    position += 1;
                }
            });
        }
        JapaneseTokenStream {
            tokens: &mut self.tokens,
            next: 0,
        }
    }
}

/// `text` cut into pieces of at most [`MAX_PIECE_BYTES`], each ending after its last sentence end
/// or line break (at a character boundary when it has none), with each piece's byte offset.
fn pieces(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut start = 0;
    std::iter::from_fn(move || {
        let rest = text.get(start..).filter(|rest| !rest.is_empty())?;
        let mut end = rest.len();
        if end > MAX_PIECE_BYTES {
            let mut limit = MAX_PIECE_BYTES;
            while !rest.is_char_boundary(limit) {
                limit -= 1;
            }
            end = rest[..limit]
                .rfind(['。', '！', '？', '\n', '.', '!', '?'])
                .map(|at| at + rest[at..].chars().next().map_or(1, char::len_utf8))
                .unwrap_or(limit);
        }
        let piece = (start, &rest[..end]);
        start += end;
        Some(piece)
    })
}

/// The term a morpheme is indexed as, or `None` when it is not indexed. `feature` is "pos" or
/// "pos,base form" when the base form differs from the surface (see
/// `scripts/make-ja-dictionary.sh`).
fn index_form(surface: &str, feature: &str) -> Option<String> {
    let (pos, base) = match feature.split_once(',') {
        Some((pos, base)) => (pos, Some(base)),
        None => (feature, None),
    };
    if !is_content(pos) || !surface.chars().any(crate::letters::is_alphanumeric) {
        return None;
    }
    let word = base.unwrap_or(surface);
    let mut text = String::with_capacity(word.len());
    if word.chars().any(is_halfwidth_katakana) {
        crate::letters::push_lowercase(&word.nfkc().collect::<String>(), &mut text);
    } else {
        crate::letters::push_lowercase(word, &mut text);
    }
    strip_prolonged_sound_mark(&mut text);
    // A prolonged sound mark alone is the tail of a katakana run cut into pieces, not a word.
    (!text.chars().all(|c| c == 'ー')).then_some(text)
}

/// Whether a morpheme of this part of speech carries content. Dropped, as by kuromoji's default
/// stop tags: particles (助詞), auxiliary verbs (助動詞), conjunctions (接続詞), symbols (記号),
/// fillers (フィラー) and "other" (その他: interjection-like sounds).
fn is_content(pos: &str) -> bool {
    !matches!(
        pos,
        "助詞" | "助動詞" | "接続詞" | "記号" | "フィラー" | "その他"
    )
}

fn is_halfwidth_katakana(c: char) -> bool {
    ('\u{FF61}'..='\u{FF9F}').contains(&c)
}

/// Drops the final ー of an all-katakana word of four or more characters, so コンピューター and
/// コンピュータ (both common spellings) are one term; kuromoji_stemmer's rule.
fn strip_prolonged_sound_mark(word: &mut String) {
    let katakana = |c: char| ('\u{30A1}'..='\u{30FC}').contains(&c);
    if word.ends_with('ー') && word.chars().count() >= 4 && word.chars().all(katakana) {
        word.pop();
    }
}

/// The [`TokenStream`] of a [`JapaneseTokenizer`].
pub struct JapaneseTokenStream<'a> {
    tokens: &'a mut Vec<Token>,
    next: usize,
}

impl TokenStream for JapaneseTokenStream<'_> {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}
