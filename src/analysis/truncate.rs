//! A token filter that keeps the first characters of each word: "truncation stemming".
//!
//! Why: tantivy's Snowball stemmers do not cover Polish, Czech, Slovak or Ukrainian, whose nouns
//! and adjectives inflect by suffix ("knihovna", "knihovny", "knihovně"). Cutting words to a
//! fixed prefix conflates most inflections of a word at the cost of some unrelated words
//! sharing a prefix; for Slavic languages it recovers much of what a stemmer gives (measured in
//! `docs/benchmarks/relevance.md`), with no dictionary to ship.

use tantivy::tokenizer::{Token, TokenFilter, TokenStream, Tokenizer};

/// Cuts every token to at most `chars` characters.
#[derive(Clone, Copy, Debug)]
pub struct Truncate {
    pub chars: usize,
}

impl TokenFilter for Truncate {
    type Tokenizer<T: Tokenizer> = TruncateWrapper<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> TruncateWrapper<T> {
        TruncateWrapper {
            tokenizer,
            chars: self.chars,
        }
    }
}

/// The [`Tokenizer`] produced by [`Truncate`].
#[derive(Clone)]
pub struct TruncateWrapper<T> {
    tokenizer: T,
    chars: usize,
}

impl<T: Tokenizer> Tokenizer for TruncateWrapper<T> {
    type TokenStream<'a> = TruncateStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        TruncateStream {
            tail: self.tokenizer.token_stream(text),
            chars: self.chars,
        }
    }
}

/// The [`TokenStream`] produced by [`Truncate`].
pub struct TruncateStream<T> {
    tail: T,
    chars: usize,
}

impl<T: TokenStream> TokenStream for TruncateStream<T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let text = &mut self.tail.token_mut().text;
        if let Some((cut, _)) = text.char_indices().nth(self.chars) {
            text.truncate(cut);
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

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::tokenizer::{SimpleTokenizer, TextAnalyzer};

    #[test]
    fn words_keep_their_first_characters() {
        let mut analyzer = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(Truncate { chars: 5 })
            .build();
        let mut tokens = Vec::new();
        analyzer
            .token_stream("knihovna knihovně dům žluťoučký")
            .process(&mut |t| tokens.push(t.text.clone()));
        assert_eq!(tokens, ["kniho", "kniho", "dům", "žluťo"]);
    }
}
