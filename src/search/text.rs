//! What a user types in the search box, read as text and never as a query language.
//!
//! Why: passing user text to a query parser lets ` - ` exclude documents, `INN:n` target fields,
//! `id:*` reach internal fields, and deep nesting overflow a thread's stack. Here the text is
//! split into a flat list of [`Part`]s without recursion; each backend analyzes every part with
//! each searched field's own analyzer and builds its query from those terms.
//!
//! - **Natural** (the default): every word is optional and scored; a `"quoted phrase"` is the only
//!   syntax, and it is required. An unbalanced quote is ordinary text.
//! - **Advanced** (`syntax=advanced`, an explicit opt-in): besides phrases, `+word` or
//!   `+"a phrase"` is required and `-word` or `-"a phrase"` excludes. There are no field names,
//!   wildcards, ranges or parentheses; metadata is filtered with `filter.FIELD`.
//!
//! `*` alone matches every document.

/// Longest query text, in bytes (UTF-8, after NFC).
pub const MAX_QUERY_BYTES: usize = 4096;
/// Most words a query may have, counted by the multilingual word tokenizer.
pub const MAX_QUERY_WORDS: usize = 128;
/// Most quoted phrases, required and excluded parts (each is a clause of its own).
pub const MAX_QUERY_CLAUSES: usize = 16;

/// How the query text is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Syntax {
    #[default]
    Natural,
    Advanced,
}

impl Syntax {
    /// Parses the `syntax` request parameter.
    pub fn from_param(value: &str) -> Option<Syntax> {
        match value {
            "natural" => Some(Syntax::Natural),
            "advanced" => Some(Syntax::Advanced),
            _ => None,
        }
    }
}

/// Whether a part must, may or must not match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Occur {
    /// Scored when present; a document needs at least one optional part when no part is required.
    Should,
    Must,
    MustNot,
}

/// One piece of the query: a run of words, or a phrase whose words must be adjacent and in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    pub occur: Occur,
    pub text: String,
    pub phrase: bool,
}

/// The query text, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TextQuery {
    /// `*`: every document, unscored.
    All,
    /// Parts analyzed per field by the backend. Optional words are merged into one part.
    Parts(Vec<Part>),
}

/// Why a query text was refused; each message names the limit or what to change.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QueryTextError {
    #[error("parameter `q` is required and must not be empty")]
    Empty,
    #[error("`q` is {0} bytes, over the limit of {MAX_QUERY_BYTES} bytes")]
    TooLong(usize),
    #[error("`q` has {0} words, over the limit of {MAX_QUERY_WORDS} words")]
    TooManyWords(usize),
    #[error(
        "`q` has {0} phrases, required and excluded parts, over the limit of {MAX_QUERY_CLAUSES}"
    )]
    TooManyClauses(usize),
}

impl TextQuery {
    /// Reads `text` under `syntax`, enforcing the byte, word and clause limits.
    pub fn parse(text: &str, syntax: Syntax) -> Result<TextQuery, QueryTextError> {
        if text.len() > MAX_QUERY_BYTES {
            return Err(QueryTextError::TooLong(text.len()));
        }
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(QueryTextError::Empty);
        }
        if trimmed == "*" {
            return Ok(TextQuery::All);
        }
        let words = crate::analysis::WordTokenizer::new().words(text).len();
        if words > MAX_QUERY_WORDS {
            return Err(QueryTextError::TooManyWords(words));
        }
        let parts = match syntax {
            Syntax::Natural => natural(trimmed),
            Syntax::Advanced => advanced(trimmed),
        };
        let clauses = parts.iter().filter(|p| p.occur != Occur::Should).count();
        if clauses > MAX_QUERY_CLAUSES {
            return Err(QueryTextError::TooManyClauses(clauses));
        }
        Ok(TextQuery::Parts(parts))
    }

    /// The text a backend highlights and counts words of: every part that is not excluded.
    pub fn positive_text(&self) -> String {
        match self {
            TextQuery::All => String::new(),
            TextQuery::Parts(parts) => parts
                .iter()
                .filter(|p| p.occur != Occur::MustNot)
                .map(|p| p.text.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

/// True when `text` has something a word tokenizer could keep (a letter or digit): a part of
/// punctuation only would analyze to nothing in every field.
fn has_word_characters(text: &str) -> bool {
    text.chars().any(char::is_alphanumeric)
}

/// Natural text: phrases in balanced quotes are required, every other word is optional.
fn natural(text: &str) -> Vec<Part> {
    let mut free = String::new();
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('"') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('"') else {
            break;
        };
        free.push_str(&rest[..open]);
        free.push(' ');
        push_part(&mut parts, Occur::Must, &after[..close], true);
        rest = &after[close + 1..];
    }
    // What is left has no balanced quote: an unbalanced one is text (the analyzers drop it).
    free.push_str(rest);
    let mut all = Vec::with_capacity(parts.len() + 1);
    push_part(&mut all, Occur::Should, &free, false);
    all.extend(parts);
    all
}

/// Advanced text: whitespace-separated words and quoted phrases, each optionally prefixed by `+`
/// (required) or `-` (excluded). A prefix with nothing after it is ignored.
fn advanced(text: &str) -> Vec<Part> {
    let mut free = String::new();
    let mut parts = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let (occur, body) = match rest.chars().next() {
            Some('+') => (Occur::Must, &rest[1..]),
            Some('-') => (Occur::MustNot, &rest[1..]),
            _ => (Occur::Should, rest),
        };
        let (piece, phrase, next) = match body.strip_prefix('"') {
            Some(quoted) => match quoted.find('"') {
                Some(close) => (&quoted[..close], true, &quoted[close + 1..]),
                // Unbalanced: the quote is text and the word runs to the next space.
                None => split_word(quoted),
            },
            None => split_word(body),
        };
        if occur == Occur::Should && !phrase {
            free.push_str(piece);
            free.push(' ');
        } else {
            let occur = if phrase && occur == Occur::Should {
                Occur::Must
            } else {
                occur
            };
            push_part(&mut parts, occur, piece, phrase);
        }
        rest = next.trim_start();
    }
    let mut all = Vec::with_capacity(parts.len() + 1);
    push_part(&mut all, Occur::Should, &free, false);
    all.extend(parts);
    all
}

/// The word at the start of `text` (up to whitespace), not a phrase, and what follows it.
fn split_word(text: &str) -> (&str, bool, &str) {
    let end = text.find(char::is_whitespace).unwrap_or(text.len());
    (&text[..end], false, &text[end..])
}

fn push_part(parts: &mut Vec<Part>, occur: Occur, text: &str, phrase: bool) {
    let text = text.trim();
    if has_word_characters(text) {
        parts.push(Part {
            occur,
            text: text.to_string(),
            phrase,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(occur: Occur, text: &str, phrase: bool) -> Part {
        Part {
            occur,
            text: text.to_string(),
            phrase,
        }
    }

    fn parts(text: &str, syntax: Syntax) -> Vec<Part> {
        match TextQuery::parse(text, syntax) {
            Ok(TextQuery::Parts(parts)) => parts,
            other => panic!("{text:?}: {other:?}"),
        }
    }

    #[test]
    fn natural_text_is_words_and_phrases_only() {
        use Occur::*;
        // Operators, field names, ranges and parentheses are just text.
        assert_eq!(
            parts(
                "Patch-Dateien - INN:n id:* (a OR b) text:[a TO z]",
                Syntax::Natural
            ),
            vec![part(
                Should,
                "Patch-Dateien - INN:n id:* (a OR b) text:[a TO z]",
                false
            )]
        );
        assert_eq!(
            parts("pizza \"New York\" -beer", Syntax::Natural),
            vec![
                part(Should, "pizza   -beer", false),
                part(Must, "New York", true)
            ]
        );
        // An unbalanced quote is text; an empty phrase is nothing.
        assert_eq!(
            parts("\"unbalanced (quote:", Syntax::Natural),
            vec![part(Should, "\"unbalanced (quote:", false)]
        );
        assert_eq!(
            parts("a \"\" b", Syntax::Natural),
            vec![part(Should, "a   b", false)]
        );
        assert_eq!(TextQuery::parse(" * ", Syntax::Natural), Ok(TextQuery::All));
        assert_eq!(
            TextQuery::parse("  ", Syntax::Natural),
            Err(QueryTextError::Empty)
        );
        // Punctuation alone is a valid query that can match nothing.
        assert_eq!(parts("?!", Syntax::Natural), vec![]);
    }

    #[test]
    fn advanced_text_adds_required_and_excluded_parts() {
        use Occur::*;
        assert_eq!(
            parts("haus +garten -\"alte stadt\" - x +", Syntax::Advanced),
            vec![
                part(Should, "haus x", false),
                part(Must, "garten", false),
                part(MustNot, "alte stadt", true),
            ]
        );
        assert_eq!(
            parts("\"a b\" c:d", Syntax::Advanced),
            vec![part(Should, "c:d", false), part(Must, "a b", true)]
        );
        assert_eq!(
            parts("-\"open", Syntax::Advanced),
            vec![part(MustNot, "open", false)]
        );
    }

    #[test]
    fn limits_are_named() {
        let long = "a".repeat(MAX_QUERY_BYTES + 1);
        assert_eq!(
            TextQuery::parse(&long, Syntax::Natural),
            Err(QueryTextError::TooLong(MAX_QUERY_BYTES + 1))
        );
        let many = "wort ".repeat(MAX_QUERY_WORDS + 1);
        assert_eq!(
            TextQuery::parse(&many, Syntax::Natural),
            Err(QueryTextError::TooManyWords(MAX_QUERY_WORDS + 1))
        );
        let phrases = "\"a b\" ".repeat(MAX_QUERY_CLAUSES + 1);
        assert_eq!(
            TextQuery::parse(&phrases, Syntax::Natural),
            Err(QueryTextError::TooManyClauses(MAX_QUERY_CLAUSES + 1))
        );
        let message = QueryTextError::TooManyWords(200).to_string();
        assert!(message.contains("limit of 128 words"), "{message}");
    }
}
