//! A token filter that removes elided articles and pronouns ("l'", "dell'", "d'").

use tantivy::tokenizer::{Token, TokenFilter, TokenStream, Tokenizer};

/// Elided words per language code, lowercase (the lists of Lucene's French, Italian and Catalan
/// analyzers). Empty for languages without elision.
pub fn elided_articles(code: &str) -> &'static [&'static str] {
    match code {
        "fr" => &[
            "l", "m", "t", "qu", "n", "s", "j", "d", "c", "jusqu", "quoiqu", "lorsqu", "puisqu",
        ],
        "it" => &[
            "c", "l", "all", "dall", "dell", "nell", "sull", "coll", "pell", "gl", "agl", "dagl",
            "degl", "negl", "sugl", "un", "m", "t", "s", "v", "d",
        ],
        "ca" => &["d", "l", "m", "n", "s", "t"],
        _ => &[],
    }
}

/// Every language's elided words at once, for the generic field: a text of any language is
/// analyzed there, and an Italian "dell'applicazione" that stays one term is found by no query
/// whose language field was not Italian's. None of these is a word that English or another
/// language writes before an apostrophe inside a word ("don't", "o'clock", "O'Brien" stay
/// whole).
pub const ELIDED_IN_ANY_LANGUAGE: &[&str] = &[
    "agl", "all", "c", "coll", "d", "dagl", "dall", "degl", "dell", "gl", "j", "jusqu", "l",
    "lorsqu", "m", "n", "negl", "nell", "pell", "puisqu", "qu", "quoiqu", "s", "sugl", "sull", "t",
    "un", "v",
];

/// Strips an elided article from the front of a token: "l'homme" -> "homme".
///
/// Why: UAX #29 keeps an apostrophe between letters inside the word, so without this French
/// "l'homme" and "d'accord" or Italian "dell'arte" would be single terms that a search for
/// "homme" never finds. The OpenSearch French/Italian/Catalan analyzers do the same (elision).
/// Expects lowercased tokens; offsets still cover the whole source word, which is what a
/// highlight should show.
#[derive(Clone, Copy, Debug)]
pub struct Elision {
    articles: &'static [&'static str],
}

impl Elision {
    /// A filter removing any of `articles` (lowercase, without the apostrophe) when followed by
    /// `'` or `’`.
    pub fn new(articles: &'static [&'static str]) -> Self {
        Self { articles }
    }
}

impl TokenFilter for Elision {
    type Tokenizer<T: Tokenizer> = ElisionWrapper<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> ElisionWrapper<T> {
        ElisionWrapper {
            tokenizer,
            articles: self.articles,
        }
    }
}

/// The [`Tokenizer`] produced by [`Elision`].
#[derive(Clone)]
pub struct ElisionWrapper<T> {
    tokenizer: T,
    articles: &'static [&'static str],
}

impl<T: Tokenizer> Tokenizer for ElisionWrapper<T> {
    type TokenStream<'a> = ElisionStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        ElisionStream {
            tail: self.tokenizer.token_stream(text),
            articles: self.articles,
        }
    }
}

/// The [`TokenStream`] produced by [`Elision`].
pub struct ElisionStream<T> {
    tail: T,
    articles: &'static [&'static str],
}

impl<T: TokenStream> TokenStream for ElisionStream<T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        if self.articles.is_empty() {
            return true;
        }
        let text = &mut self.tail.token_mut().text;
        if let Some((index, apostrophe)) = text.char_indices().find(|&(_, c)| c == '\'' || c == '’')
        {
            let rest = index + apostrophe.len_utf8();
            let elided = text
                .get(..index)
                .is_some_and(|a| self.articles.contains(&a));
            if elided && rest < text.len() {
                text.drain(..rest);
            }
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
