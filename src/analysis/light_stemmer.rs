//! Light suffix-stripping stemmers for languages tantivy's Snowball set does not cover but
//! OpenSearch stems (its `bulgarian` and `hindi` analyzers): inflected forms of a word ("книгата",
//! "книги"; "लड़कों", "लड़के") meet at one stem, so a query finds the document's other forms.
//!
//! Written from the published descriptions, not from another implementation's code:
//! - Bulgarian: J. Savoy, "Searching strategies for the Bulgarian language", Information
//!   Retrieval 10 (2007): strip the definite article, then the plural, then a final vowel.
//! - Hindi: A. Ramanathan and D. D. Rao, "A lightweight stemmer for Hindi" (EACL 2003): strip
//!   the longest suffix of the paper's list, after a light normalization of spelling variants.
//!
//! Light stemmers over- and under-stem some words ("работа" and "работата" do not meet); what
//! they buy is the regular inflections, without a dictionary.

use tantivy::tokenizer::{Token, TokenFilter, TokenStream, Tokenizer};

use crate::languages::Light;

/// Replaces every token by its stem.
#[derive(Clone, Copy, Debug)]
pub struct LightStemmer(pub Light);

impl TokenFilter for LightStemmer {
    type Tokenizer<T: Tokenizer> = LightStemmerWrapper<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> LightStemmerWrapper<T> {
        LightStemmerWrapper {
            tokenizer,
            light: self.0,
        }
    }
}

/// The [`Tokenizer`] produced by [`LightStemmer`].
#[derive(Clone)]
pub struct LightStemmerWrapper<T> {
    tokenizer: T,
    light: Light,
}

impl<T: Tokenizer> Tokenizer for LightStemmerWrapper<T> {
    type TokenStream<'a> = LightStemmerStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        LightStemmerStream {
            tail: self.tokenizer.token_stream(text),
            light: self.light,
        }
    }
}

/// The [`TokenStream`] produced by [`LightStemmerWrapper`].
pub struct LightStemmerStream<S> {
    tail: S,
    light: Light,
}

impl<S: TokenStream> TokenStream for LightStemmerStream<S> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        let stem = match self.light {
            Light::Bulgarian => bulgarian(&token.text),
            Light::Hindi => hindi(&token.text),
        };
        if stem != token.text {
            token.text = stem;
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

/// `word` without `suffix` when it ends with it and at least `keep` characters stay.
fn strip<'a>(word: &'a str, suffix: &str, keep: usize) -> Option<&'a str> {
    let stem = word.strip_suffix(suffix)?;
    (stem.chars().count() >= keep).then_some(stem)
}

/// Bulgarian: definite article, then plural, then one final vowel; stems keep at least three
/// letters.
pub fn bulgarian(word: &str) -> String {
    let mut stem = word;
    // The article: "-ът"/"-ят" (masculine), "-та" (feminine, plural in -а), "-то" (neuter),
    // "-те" (plural); "-ия" ends the long form of masculine adjectives ("новия").
    for article in ["ият", "ът", "ят", "та", "то", "те", "ия"] {
        if let Some(rest) = strip(stem, article, 3) {
            stem = rest;
            break;
        }
    }
    // The plural: "-ове"/"-еве" (градове), "-ища" (пътища), "-овци", else a final "-и"
    // below (книги). Kept apart from the vowel step so "градовете" reaches "град".
    for plural in ["овци", "ища", "ове", "еве"] {
        if let Some(rest) = strip(stem, plural, 3) {
            stem = rest;
            break;
        }
    }
    // One final vowel (or "й"): книга, книги, село, села -> книг, сел.
    if let Some(last) = stem.chars().last() {
        if matches!(last, 'а' | 'я' | 'о' | 'е' | 'и' | 'ъ' | 'й' | 'у' | 'ю') {
            if let Some(rest) = strip(stem, last.encode_utf8(&mut [0; 4]), 3) {
                stem = rest;
            }
        }
    }
    stem.to_string()
}

/// Hindi suffixes from Ramanathan and Rao's list, longest first: a word loses the longest one
/// that leaves at least two characters.
const HINDI_SUFFIXES: &[&str] = &[
    // 5
    "ाएंगी",
    "ाएंगे",
    "ाऊंगी",
    "ाऊंगा",
    "ाइयाँ",
    "ाइयों",
    "ाइयां",
    // 4
    "ाएगी",
    "ाएगा",
    "ाओगी",
    "ाओगे",
    "एंगी",
    "ेंगी",
    "एंगे",
    "ेंगे",
    "ूंगी",
    "ूंगा",
    "ातीं",
    "नाओं",
    "नाएं",
    "ताओं",
    "ताएं",
    "ियाँ",
    "ियों",
    "ियां",
    // 3
    "ाकर",
    "ाइए",
    "ाईं",
    "ाया",
    "ेगी",
    "ेगा",
    "ोगी",
    "ोगे",
    "ाने",
    "ाना",
    "ाते",
    "ाती",
    "ाता",
    "तीं",
    "ाओं",
    "ाएं",
    "ुओं",
    "ुएं",
    "ुआं",
    // 2
    "कर",
    "ाओ",
    "िए",
    "ाई",
    "ाए",
    "ने",
    "नी",
    "ना",
    "ते",
    "ीं",
    "ती",
    "ता",
    "ाँ",
    "ां",
    "ों",
    "ें",
    // 1
    "ो",
    "े",
    "ू",
    "ु",
    "ी",
    "ि",
    "ा",
];

/// Hindi: spelling variants made one (nukta dropped, chandrabindu as anusvara, no zero-width
/// joiners), then the longest listed suffix stripped.
pub fn hindi(word: &str) -> String {
    let normalized: String = word
        .chars()
        .filter(|c| !matches!(c, '\u{093C}' | '\u{200C}' | '\u{200D}'))
        .map(|c| if c == '\u{0901}' { '\u{0902}' } else { c })
        .collect();
    let longest = HINDI_SUFFIXES
        .iter()
        .filter_map(|suffix| strip(&normalized, suffix, 2))
        .min_by_key(|stem| stem.len());
    match longest {
        Some(stem) => stem.to_string(),
        None => normalized,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meet(stem: fn(&str) -> String, forms: &[&str]) {
        let stems: Vec<String> = forms.iter().map(|w| stem(w)).collect();
        assert!(
            stems.windows(2).all(|pair| pair[0] == pair[1]),
            "{forms:?} -> {stems:?}"
        );
    }

    /// Articles, plurals and vowel endings of regular Bulgarian nouns and adjectives meet.
    #[test]
    fn bulgarian_inflections_meet() {
        meet(bulgarian, &["книга", "книгата", "книги", "книгите"]);
        meet(
            bulgarian,
            &["град", "градът", "града", "градове", "градовете"],
        );
        meet(
            bulgarian,
            &["учител", "учителят", "учителя", "учители", "учителите"],
        );
        meet(bulgarian, &["село", "селото", "села", "селата"]);
        meet(
            bulgarian,
            &["нов", "новия", "новият", "нова", "новата", "нови"],
        );
        meet(bulgarian, &["път", "пътят", "пътища", "пътищата"]);
        // Different words stay apart, and short words are left alone.
        assert_ne!(bulgarian("книга"), bulgarian("град"));
        assert_eq!(bulgarian("та"), "та");
        assert_eq!(bulgarian("и"), "и");
    }

    /// Gender, number and case endings of Hindi nouns and verb forms meet; spelling variants
    /// (nukta, chandrabindu) meet too.
    #[test]
    fn hindi_inflections_meet() {
        meet(hindi, &["लड़का", "लड़के", "लड़कों"]);
        meet(hindi, &["किताब", "किताबें", "किताबों"]);
        meet(hindi, &["पढ़ना", "पढ़ता", "पढ़ती", "पढ़ते", "पढ़ेगा", "पढ़ेगी"]);
        meet(hindi, &["लड़की", "लडकी", "लड़कियाँ", "लड़कियों"]);
        meet(hindi, &["हँसना", "हंसना"]);
        assert_ne!(hindi("किताब"), hindi("लड़का"));
        // A suffix never takes the whole word: at least two characters stay.
        assert_eq!(hindi("का"), "का");
    }
}
