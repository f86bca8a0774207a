//! A token filter that removes combining diacritical marks.

use tantivy::tokenizer::{Token, TokenFilter, TokenStream, Tokenizer};

/// Removes combining *diacritical* marks (the U+0300 Combining Diacritical Marks block and its
/// supplements) from tokens.
///
/// Why: text in decomposed form (NFD, common from macOS and some PDF extractors) spells "café" as
/// `cafe` + U+0301; tantivy's `AsciiFoldingFilter` only maps precomposed letters, so without this
/// the decomposed and the precomposed spelling would never match in folded fields. Only the
/// diacritic blocks are removed: the vowel signs and viramas of Indic and Southeast Asian scripts
/// are also combining marks but carry meaning, so they stay.
#[derive(Clone, Copy, Debug, Default)]
pub struct StripDiacritics;

fn is_combining_diacritic(c: char) -> bool {
    matches!(
        c,
        '\u{0300}'..='\u{036F}'
            | '\u{1AB0}'..='\u{1AFF}'
            | '\u{1DC0}'..='\u{1DFF}'
            | '\u{20D0}'..='\u{20FF}'
            | '\u{FE20}'..='\u{FE2F}'
    )
}

impl TokenFilter for StripDiacritics {
    type Tokenizer<T: Tokenizer> = StripDiacriticsWrapper<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> StripDiacriticsWrapper<T> {
        StripDiacriticsWrapper { tokenizer }
    }
}

/// The [`Tokenizer`] produced by [`StripDiacritics`].
#[derive(Clone)]
pub struct StripDiacriticsWrapper<T> {
    tokenizer: T,
}

impl<T: Tokenizer> Tokenizer for StripDiacriticsWrapper<T> {
    type TokenStream<'a> = StripDiacriticsStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        StripDiacriticsStream {
            tail: self.tokenizer.token_stream(text),
        }
    }
}

/// The [`TokenStream`] produced by [`StripDiacritics`]; ASCII tokens pass untouched.
pub struct StripDiacriticsStream<T> {
    tail: T,
}

impl<T: TokenStream> TokenStream for StripDiacriticsStream<T> {
    fn advance(&mut self) -> bool {
        while self.tail.advance() {
            let text = &mut self.tail.token_mut().text;
            if !text.is_ascii() && text.chars().any(is_combining_diacritic) {
                text.retain(|c| !is_combining_diacritic(c));
            }
            // A token made only of marks (rare, stray input) would become empty: drop it.
            if !text.is_empty() {
                return true;
            }
        }
        false
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}
