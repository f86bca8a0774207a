//! A token filter that adds a compound word's parts after it, at its position:
//! "druckertreiber" -> "druckertreiber", "drucker", "treiber". A query for "Treiber" then finds
//! the "Druckertreiber" document and the other way round; the query side scores a word and its
//! parts as alternatives of one word (`backend/embedded/query.rs`), as Lucene scores tokens at
//! one position.
//!
//! German, Danish and Finnish only: on the relevance suite it took de 0.853 -> 0.873, da
//! 0.812 -> 0.851, fi 0.709 -> 0.761 (docs/benchmarks/relevance.md). The parts come from
//! wordfreq's lists (`data/compound-parts.tsv.gz`, CC BY-SA 4.0, made by
//! `scripts/make-compound-parts.py`); a word is split only when such words cover it
//! completely, joined directly or by a linking element ("arbeit-s-speicher"). Some plain
//! words split too ("verstanden" -> "verst", "anden"); the query side counting a word and its
//! parts once keeps that cheap.

use std::io::Read;
use std::sync::OnceLock;

use rustc_hash::{FxHashMap, FxHashSet};
use tantivy::tokenizer::{Token, TokenFilter, TokenStream, Tokenizer};

/// Words shorter than this (in characters) are not split.
const MIN_COMPOUND_CHARS: usize = 8;
/// Parts are this long at least (the table holds no shorter words)...
const MIN_PART_CHARS: usize = 4;
/// ...and this long at most: a bound on the lookups per word.
const MAX_PART_CHARS: usize = 24;

/// The table, gzip-compressed (about 0.7 MB; 219k words).
const DATA: &[u8] = include_bytes!("data/compound-parts.tsv.gz");

/// One language's parts, read from [`DATA`] on the first compound-length word of that language.
pub struct Parts {
    code: &'static str,
    linkers: &'static [&'static str],
    words: OnceLock<FxHashSet<Box<str>>>,
}

static LANGUAGES: [Parts; 3] = [
    Parts::new("da", &["s", "e"]),
    Parts::new("de", &["s", "es", "n", "en", "e", "er"]),
    Parts::new("fi", &[]),
];

/// The parts of `code`'s compounds, if Glossa splits that language's compounds.
fn parts_for(code: &str) -> Option<&'static Parts> {
    LANGUAGES.iter().find(|parts| parts.code == code)
}

impl Parts {
    const fn new(code: &'static str, linkers: &'static [&'static str]) -> Parts {
        Parts {
            code,
            linkers,
            words: OnceLock::new(),
        }
    }

    fn words(&self) -> &FxHashSet<Box<str>> {
        self.words.get_or_init(|| {
            let mut text = String::new();
            // The table is compiled in and checked by a test: unreadable, it splits nothing.
            if flate2::read::GzDecoder::new(DATA)
                .read_to_string(&mut text)
                .is_err()
            {
                return FxHashSet::default();
            }
            text.lines()
                .filter_map(|line| line.split_once('\t'))
                .filter(|(code, _)| *code == self.code)
                .map(|(_, word)| Box::from(word))
                .collect()
        })
    }

    /// The parts of `word` when the table's words cover it completely in two or more pieces,
    /// joined directly or by one of the language's linking elements; the fewest pieces win.
    /// Empty when it is not such a compound.
    pub fn split<'a>(&self, word: &'a str) -> Vec<&'a str> {
        let bounds: Vec<usize> = word
            .char_indices()
            .map(|(i, _)| i)
            .chain([word.len()])
            .collect();
        let n = bounds.len() - 1;
        if n < MIN_COMPOUND_CHARS {
            return Vec::new();
        }
        let words = self.words();
        // cover[i]: the fewest parts covering the first i characters, with where the last
        // part starts and where the cover before it ended (before any linking element).
        let mut cover: Vec<Option<(usize, usize, usize)>> = vec![None; n + 1];
        cover[0] = Some((0, 0, 0));
        for start in 0..n {
            // A part may start here if a cover ends here, or ends just before a linker here.
            let previous = if cover[start].is_some() {
                Some(start)
            } else {
                self.linkers.iter().find_map(|linker| {
                    let chars = linker.chars().count();
                    let before = start.checked_sub(chars).filter(|&b| b > 0)?;
                    (cover[before].is_some() && &word[bounds[before]..bounds[start]] == *linker)
                        .then_some(before)
                })
            };
            let Some(previous) = previous else {
                continue;
            };
            let Some((count, _, _)) = cover[previous] else {
                continue;
            };
            let longest = (start + MAX_PART_CHARS).min(n);
            for end in start + MIN_PART_CHARS..=longest {
                if start == 0 && end == n {
                    continue;
                }
                if !words.contains(&word[bounds[start]..bounds[end]]) {
                    continue;
                }
                if cover[end].is_none_or(|(best, _, _)| count + 1 < best) {
                    cover[end] = Some((count + 1, start, previous));
                }
            }
        }
        let mut parts = Vec::new();
        let mut end = n;
        while end > 0 {
            let Some((_, start, previous)) = cover[end] else {
                return Vec::new();
            };
            parts.push(&word[bounds[start]..bounds[end]]);
            end = previous;
        }
        parts.reverse();
        parts
    }
}

/// Words whose split is remembered per analyzer before the memo is cleared (running text
/// repeats its words, as for [`super::CachedStemmer`]).
const SPLIT_CACHE_ENTRIES: usize = 8_192;

/// Adds the parts of compound words (see [`Parts::split`]) after them; passes tokens through
/// unchanged for a language without a table, so every stemmed language shares one statically
/// typed analyzer chain (boxed filters cost 4% of English and 8% of German analysis).
#[derive(Clone, Copy)]
pub struct Decompound(Option<&'static Parts>);

impl Decompound {
    /// The filter for `code`'s text: splitting when [`parts_for`] has its table.
    pub fn for_language(code: &str) -> Decompound {
        Decompound(parts_for(code))
    }
}

impl TokenFilter for Decompound {
    type Tokenizer<T: Tokenizer> = DecompoundWrapper<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> DecompoundWrapper<T> {
        DecompoundWrapper {
            tokenizer,
            parts: self.0,
            splits: FxHashMap::default(),
        }
    }
}

/// The [`Tokenizer`] produced by [`Decompound`].
pub struct DecompoundWrapper<T> {
    tokenizer: T,
    parts: Option<&'static Parts>,
    /// Word -> its parts (empty: not a compound).
    splits: FxHashMap<String, Vec<String>>,
}

impl<T: Clone> Clone for DecompoundWrapper<T> {
    fn clone(&self) -> Self {
        // A fresh memo per clone: tantivy clones analyzers per field and segment.
        DecompoundWrapper {
            tokenizer: self.tokenizer.clone(),
            parts: self.parts,
            splits: FxHashMap::default(),
        }
    }
}

impl<T: Tokenizer> Tokenizer for DecompoundWrapper<T> {
    type TokenStream<'a> = DecompoundStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        DecompoundStream {
            tail: self.tokenizer.token_stream(text),
            parts: self.parts,
            splits: &mut self.splits,
            pending: Vec::new(),
            part: Token::default(),
            emitting: false,
        }
    }
}

/// The [`TokenStream`] produced by [`DecompoundWrapper`].
pub struct DecompoundStream<'a, S> {
    tail: S,
    parts: Option<&'static Parts>,
    splits: &'a mut FxHashMap<String, Vec<String>>,
    /// Parts still to emit, last first.
    pending: Vec<String>,
    /// The part being emitted (a copy of the compound's token with the part's text), when
    /// `emitting`; otherwise the tail's token is the current one, uncopied.
    part: Token,
    emitting: bool,
}

impl<S: TokenStream> TokenStream for DecompoundStream<'_, S> {
    fn advance(&mut self) -> bool {
        if let Some(text) = self.pending.pop() {
            if !self.emitting {
                self.part.clone_from(self.tail.token());
                self.emitting = true;
            }
            self.part.text = text;
            return true;
        }
        self.emitting = false;
        if !self.tail.advance() {
            return false;
        }
        let Some(table) = self.parts else {
            return true;
        };
        let word = &self.tail.token().text;
        // Fewer bytes than characters needed: not a compound, no lookup.
        if word.len() < MIN_COMPOUND_CHARS {
            return true;
        }
        if let Some(parts) = self.splits.get(word) {
            self.pending.extend(parts.iter().rev().cloned());
            return true;
        }
        let parts: Vec<String> = table.split(word).into_iter().map(String::from).collect();
        self.pending.extend(parts.iter().rev().cloned());
        if self.splits.len() >= SPLIT_CACHE_ENTRIES {
            self.splits.clear();
        }
        self.splits.insert(word.clone(), parts);
        true
    }

    fn token(&self) -> &Token {
        if self.emitting {
            &self.part
        } else {
            self.tail.token()
        }
    }

    fn token_mut(&mut self) -> &mut Token {
        if self.emitting {
            &mut self.part
        } else {
            self.tail.token_mut()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(code: &str, word: &str) -> Vec<String> {
        let parts = parts_for(code).expect("a splitting language");
        parts.split(word).into_iter().map(String::from).collect()
    }

    /// Compounds split into their words, with or without linking elements; words that are
    /// not covered by the table's words stay whole. wordfreq lists some first parts with
    /// their linking "s" ("arbeits", from "Arbeits-"): either way the stemmer then drops it.
    #[test]
    fn compounds_split_into_covering_words() {
        let two = |code: &str, word: &str, first: &str, second: &str| {
            let parts = split(code, word);
            assert!(
                parts.len() == 2 && parts[0].starts_with(first) && parts[1] == second,
                "{word}: {parts:?}"
            );
        };
        two("de", "druckertreiber", "drucker", "treiber");
        two("de", "arbeitsspeicher", "arbeit", "speicher");
        two("de", "entwicklungsdateien", "entwicklung", "dateien");
        two("de", "netzwerkschnittstelle", "netzwerk", "schnittstelle");
        two("da", "udviklingsfiler", "udvikling", "filer");
        two("fi", "tietokoneohjelma", "tietokone", "ohjelma");
        // Not compounds: too short, or no cover by the table's words.
        assert!(split("de", "drucker").is_empty());
        assert!(split("de", "xqzwvbnmlk").is_empty());
        assert!(parts_for("en").is_none());
    }
}
