//! A fast path for word segmentation of plain running text in space-separated scripts.
//!
//! Why: ICU's word segmenter costs ~70 instructions per character of rule-based text, and was
//! the largest single cost of indexing (~15% of ingest instructions), although most of what it
//! segments is letters between spaces and sentence punctuation, where UAX #29 simply ends a
//! word at the space or the punctuation. (On the generated benchmark corpus most of what is
//! left to ICU is the dictionary scripts: Chinese, Japanese, Thai, Khmer.) This module handles
//! exactly those whitespace-separated runs: letters of the scripts where every letter is an
//! ordinary word letter (Latin, Cyrillic, Greek, Armenian, Georgian, Hebrew, Arabic, Hangul and
//! the Indic scripts ICU does not segment with a dictionary), ASCII digits, combining marks
//! inside a word, and a few punctuation marks that never join anything. Anything else in a run (apostrophes, quotes, a full stop or comma
//! between two word characters, symbols, emoji, format characters, CJK, Thai...) sends that run
//! to ICU, so the answer is ICU's wherever this module is unsure. Tests compare the two on every
//! character of the classes and on the benchmark corpora.

use std::sync::OnceLock;

use crate::detect::script::{self, Script};

/// What a character can be in a simple run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Whitespace: always ends a word.
    Space,
    /// A letter of a simple script, or an ASCII digit: can start or continue a word.
    Letter,
    /// A combining mark: continues a word (UAX #29 WB4), cannot start one.
    Mark,
    /// Punctuation that ends a word and never joins two (UAX #29 "Other").
    Break,
    /// `,` `.` `;` `:` `’` and the Arabic comma: end a word when no word character follows;
    /// between two word characters UAX #29 may join them ("3.14", "e.g", "l’homme"), so then
    /// the run goes to ICU.
    Edge,
    /// Anything else: the run goes to ICU.
    Unsure,
}

/// Scripts whose letters are all UAX #29 word letters and which ICU segments by rules alone.
const SIMPLE_SCRIPTS: [Script; 14] = [
    Script::Latin,
    Script::Cyrillic,
    Script::Greek,
    Script::Armenian,
    Script::Georgian,
    Script::Hebrew,
    Script::Arabic,
    Script::Hangul,
    Script::Devanagari,
    Script::Bengali,
    Script::Gurmukhi,
    Script::Gujarati,
    Script::Tamil,
    Script::Telugu,
];

/// Punctuation of UAX #29 class "Other" common in running text.
const BREAKS: &[char] = &[
    '!', '?', '(', ')', '[', ']', '«', '»', '“', '”', '„', '—', '–', '-', '/', '¿', '¡',
];

fn class_of(c: char) -> Class {
    // U+202F (narrow no-break space) is whitespace that UAX #29 counts as a word joiner
    // (ExtendNumLet, for Mongolian).
    if c.is_whitespace() && c != '\u{202f}' {
        Class::Space
    } else if unicode_normalization::char::is_combining_mark(c)
        // Soft hyphen, zero-width (non-)joiner, word joiner: UAX #29 Format/Extend/ZWJ, which
        // continue a word like marks do.
        || matches!(c, '\u{ad}' | '\u{200c}' | '\u{200d}' | '\u{2060}')
    {
        // Marks of the scripts ICU treats as complex context (Thai, Lao, Myanmar...) and
        // marks newer than ICU's data are not word extenders to ICU: asked once per mark.
        if icu_keeps_together(&format!("a{c}b")) {
            Class::Mark
        } else {
            Class::Unsure
        }
    } else if c.is_ascii_digit() || script::classify(c).is_some_and(|s| SIMPLE_SCRIPTS.contains(&s))
    {
        Class::Letter
    } else if BREAKS.contains(&c) {
        Class::Break
    } else if matches!(c, ',' | '.' | ';' | ':' | '’' | '،') {
        Class::Edge
    } else {
        Class::Unsure
    }
}

/// Whether ICU's word segmenter takes all of `text` as one segment.
fn icu_keeps_together(text: &str) -> bool {
    let segmenter = icu_segmenter::WordSegmenter::new_dictionary(
        icu_segmenter::options::WordBreakInvariantOptions::default(),
    );
    segmenter.segment_str(text).collect::<Vec<_>>() == [0, text.len()]
}

/// `class_of` for every character of the Basic Multilingual Plane, computed once.
fn classes() -> &'static [Class] {
    static TABLE: OnceLock<Box<[Class]>> = OnceLock::new();
    TABLE.get_or_init(|| crate::letters::bmp_table(class_of, Class::Unsure))
}

/// `class_of(c)` from the table; beyond the BMP, `Unsure`.
#[inline]
fn class_in(table: &[Class], c: char) -> Class {
    table.get(c as usize).copied().unwrap_or(Class::Unsure)
}

#[cfg(test)]
fn class(c: char) -> Class {
    class_in(classes(), c)
}

/// The word ranges of `text`: each whitespace-separated run segmented here when it is simple,
/// else by `icu(run, offset of the run, words)`; or all of `text` by `icu` when a run starts
/// with a character that may attach to the whitespace before it (then runs are not
/// independent).
pub(crate) fn segment(
    text: &str,
    mut icu: impl FnMut(&str, usize, &mut Vec<(usize, usize)>),
) -> Vec<(usize, usize)> {
    let table = classes();
    let mut words = Vec::new();
    let mut run: Option<Run> = None;
    for (i, c) in text.char_indices() {
        let class = class_in(table, c);
        if class == Class::Space {
            if let Some(run) = run.take() {
                run.finish(text, i, &mut words, &mut icu);
            }
            continue;
        }
        let current = match &mut run {
            Some(current) => current,
            None => {
                if class == Class::Mark || may_attach_to_space(c) {
                    words.clear();
                    icu(text, 0, &mut words);
                    return words;
                }
                run.insert(Run::new(i, words.len()))
            }
        };
        current.step(class, i, &mut words);
    }
    if let Some(run) = run {
        run.finish(text, text.len(), &mut words, &mut icu);
    }
    words
}

/// A whitespace-separated run being segmented.
struct Run {
    start: usize,
    /// `words.len()` when the run began: its words are the ones after.
    words_before: usize,
    word_start: Option<usize>,
    /// An `Edge` character just ended a word: a word character now would make it a join.
    edge_after_word: bool,
    /// Still simple; once false, the run goes to ICU at its end.
    simple: bool,
}

impl Run {
    fn new(start: usize, words_before: usize) -> Run {
        Run {
            start,
            words_before,
            word_start: None,
            edge_after_word: false,
            simple: true,
        }
    }

    #[inline]
    fn step(&mut self, class: Class, i: usize, words: &mut Vec<(usize, usize)>) {
        if !self.simple {
            return;
        }
        match class {
            Class::Letter if !self.edge_after_word => {
                self.word_start.get_or_insert(i);
            }
            Class::Mark if self.word_start.is_some() => {}
            Class::Break => {
                if let Some(start) = self.word_start.take() {
                    words.push((start, i));
                }
                self.edge_after_word = false;
            }
            Class::Edge => {
                if let Some(start) = self.word_start.take() {
                    words.push((start, i));
                    self.edge_after_word = true;
                }
            }
            _ => self.simple = false,
        }
    }

    fn finish(
        self,
        text: &str,
        end: usize,
        words: &mut Vec<(usize, usize)>,
        icu: &mut impl FnMut(&str, usize, &mut Vec<(usize, usize)>),
    ) {
        if self.simple {
            if let Some(start) = self.word_start {
                words.push((start, end));
            }
            return;
        }
        words.truncate(self.words_before);
        if let Some(run) = text.get(self.start..end) {
            icu(run, self.start, words);
        }
    }
}

/// Whether `c`, first in a run, might attach to the whitespace before it (UAX #29 WB4: marks,
/// format characters, and anything beyond the BMP such as emoji modifiers): then segmenting the
/// run alone would not match segmenting the whole text.
fn may_attach_to_space(c: char) -> bool {
    c as u32 > 0xFFFF
        || matches!(
            c,
            '\u{600}'..='\u{605}'
                | '\u{61c}'
                | '\u{6dd}'
                | '\u{70f}'
                | '\u{8e2}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::WordTokenizer;

    fn icu(text: &str) -> Vec<(usize, usize)> {
        let mut words = Vec::new();
        WordTokenizer::new().icu_words(text, 0, &mut words);
        words
    }

    /// Every character of each class behaves, in the contexts the fast path relies on, as ICU
    /// says.
    #[test]
    fn every_classified_character_segments_as_icu_does() {
        let tokenizer = WordTokenizer::new();
        let mut checked = 0;
        let mut failures = Vec::new();
        for cp in 0..0x1_0000u32 {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            let texts = match class(c) {
                Class::Letter => vec![format!("x{c}y z"), format!("{c} {c}{c}.")],
                Class::Mark => vec![format!("ab{c}cd ef"), format!("a{c}, b")],
                Class::Break => vec![format!("ab{c}cd"), format!("{c}ab{c}"), format!("1{c}2")],
                Class::Edge => vec![format!("ab{c} cd"), format!("{c}ab"), format!("ab{c}{c}")],
                Class::Space => vec![format!("ab{c}cd")],
                Class::Unsure => continue,
            };
            for text in texts {
                if tokenizer.words(&text) != icu(&text) {
                    failures.push(format!("U+{cp:04X} in {text:?}"));
                }
                checked += 1;
            }
        }
        assert!(
            failures.is_empty(),
            "{} failures: {failures:?}",
            failures.len()
        );
        assert!(checked > 10_000, "{checked}");
    }

    /// Real text in every language of the benchmark corpora, the bundled sample and the test
    /// fixtures: the same words as ICU, and most of it through the fast path.
    #[test]
    fn corpora_segment_as_icu_does() {
        let root = env!("CARGO_MANIFEST_DIR");
        let tokenizer = WordTokenizer::new();
        let mut texts = 0;
        let mut fast_runs = 0;
        let mut all_runs = 0;
        for file in [
            "benches/data/langid-long.ndjson",
            "benches/data/langid-short.ndjson",
            "data/sample/udhr.ndjson",
            "tests/fixtures/every-language.ndjson",
            "tests/fixtures/multilingual.ndjson",
        ] {
            let content = std::fs::read_to_string(format!("{root}/{file}")).expect("corpus file");
            for line in content.lines() {
                let value: serde_json::Value = serde_json::from_str(line).expect("json line");
                for field in ["text", "title", "body"] {
                    let Some(text) = value.get(field).and_then(|v| v.as_str()) else {
                        continue;
                    };
                    assert_eq!(tokenizer.words(text), icu(text), "{file}: {text:?}");
                    texts += 1;
                    for run in text.split(char::is_whitespace).filter(|r| !r.is_empty()) {
                        all_runs += 1;
                        let mut simple = true;
                        segment(run, |_, _, _| simple = false);
                        if simple {
                            fast_runs += 1;
                        }
                    }
                }
            }
        }
        assert!(texts > 7_000, "{texts}");
        // The point of the fast path: most runs of real text take it.
        assert!(fast_runs * 10 > all_runs * 7, "{fast_runs} of {all_runs}");
    }
}
