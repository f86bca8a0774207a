//! Turns a [`SearchQuery`] into a Tantivy query: the query text analyzed per language, boosted on
//! the query language's field and matched on the generic field too, plus metadata filters.

use serde_json::Value;
use std::ops::Bound;
use tantivy::json_utils::convert_to_fast_value_and_append_to_json_term;
use tantivy::query::{
    BooleanQuery, ConstScoreQuery, Occur, Query, QueryParser, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::snippet::SnippetGenerator;
use tantivy::{Index, Searcher, Term};

use super::{EmbeddedError, Fields};
use crate::search::{Condition, Filter, RangeBounds, SearchQuery};

/// How much more a match in the query language's own field counts than a generic match.
const LANGUAGE_FIELD_BOOST: f32 = 2.0;
/// Longest highlighted fragment, in characters.
const FRAGMENT_CHARS: usize = 200;

/// The full query plus the parts highlighting needs.
pub struct Built {
    pub query: Box<dyn Query>,
    text_query: Box<dyn Query>,
    language_fields: Vec<Field>,
}

/// Builds the query for `request`.
pub fn build(
    index: &Index,
    fields: &Fields,
    request: &SearchQuery,
) -> Result<Built, EmbeddedError> {
    let language_fields: Vec<Field> = request
        .langs
        .iter()
        .filter_map(|code| fields.language(code))
        .collect();
    let mut default_fields = vec![fields.generic];
    default_fields.extend(&language_fields);
    let mut parser = QueryParser::for_index(index, default_fields);
    for field in &language_fields {
        parser.set_field_boost(*field, LANGUAGE_FIELD_BOOST);
    }
    // Lenient: a stray quote or colon in user input must not turn into an error.
    let (text_query, _ignored) = parser.parse_query_lenient(&split_unspaced_terms(&request.text));
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, text_query.box_clone())];
    for filter in &request.filters {
        let query = filter_query(fields, filter)?;
        clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(query, 0.0))));
    }
    Ok(Built {
        query: Box::new(BooleanQuery::new(clauses)),
        text_query,
        language_fields,
    })
}

/// Puts spaces between the words of query terms written without them (Thai, Lao, Khmer,
/// Burmese, Chinese, Japanese, Amharic with its `፡`...).
///
/// Why: the query parser turns a whitespace-delimited term that analyzes to several tokens into
/// a phrase query, so `อาหารไทย` would only match those two words adjacent and in that order,
/// and a query starting mid-word would match nothing; OpenSearch's `simple_query_string` ORs
/// them. A term containing ASCII (Latin words, `+must`, `field:value`, quotes) is left alone.
fn split_unspaced_terms(text: &str) -> String {
    let tokenizer = crate::analysis::WordTokenizer::new();
    text.split_whitespace()
        .map(|term| {
            if term.is_ascii() || term.chars().any(|c| c.is_ascii()) {
                return term.to_string();
            }
            let words: Vec<&str> = tokenizer
                .words(term)
                .into_iter()
                .filter_map(|(start, end)| term.get(start..end))
                .collect();
            if words.is_empty() {
                term.to_string()
            } else {
                words.join(" ")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn invalid(message: String) -> EmbeddedError {
    EmbeddedError::InvalidQuery(message)
}

fn filter_query(fields: &Fields, filter: &Filter) -> Result<Box<dyn Query>, EmbeddedError> {
    if filter.field == "lang" {
        return match &filter.condition {
            Condition::Equals(Value::String(code)) => Ok(Box::new(TermQuery::new(
                Term::from_field_text(fields.lang, code),
                IndexRecordOption::Basic,
            ))),
            _ => Err(invalid(
                "filter `lang` takes a language code such as \"de\"".into(),
            )),
        };
    }
    let path = Term::from_field_json_path(fields.meta, &filter.field, false);
    match &filter.condition {
        Condition::Equals(value) => {
            let terms = equality_terms(&path, value).ok_or_else(|| {
                invalid(format!(
                    "filter `{}`: value must be a string, number, boolean or date",
                    filter.field
                ))
            })?;
            let clauses = terms
                .into_iter()
                .map(|t| {
                    let q: Box<dyn Query> = Box::new(TermQuery::new(t, IndexRecordOption::Basic));
                    (Occur::Should, q)
                })
                .collect();
            Ok(Box::new(BooleanQuery::new(clauses)))
        }
        Condition::Range(bounds) => range_query(&path, &filter.field, bounds),
    }
}

/// A string matches itself, and also the number, boolean or date it spells (GET filters are text).
fn equality_terms(path: &Term, value: &Value) -> Option<Vec<Term>> {
    let mut terms = Vec::new();
    match value {
        Value::String(text) => {
            let mut term = path.clone();
            term.append_type_and_str(text);
            terms.push(term);
            terms.extend(convert_to_fast_value_and_append_to_json_term(
                path, text, false,
            ));
        }
        Value::Number(_) | Value::Bool(_) => {
            let text = value.to_string();
            terms.extend(convert_to_fast_value_and_append_to_json_term(
                path, &text, false,
            ));
            let mut term = path.clone();
            term.append_type_and_str(&text);
            terms.push(term);
        }
        _ => return None,
    }
    Some(terms)
}

fn range_query(
    path: &Term,
    name: &str,
    bounds: &RangeBounds,
) -> Result<Box<dyn Query>, EmbeddedError> {
    let bound_term = |value: &Value| -> Result<Term, EmbeddedError> {
        let text = match value {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.clone(),
            _ => String::new(),
        };
        convert_to_fast_value_and_append_to_json_term(path, &text, false)
            .filter(|_| !matches!(value, Value::Bool(_)))
            .ok_or_else(|| {
                invalid(format!(
                    "filter `{name}`: range bounds must be numbers or RFC 3339 dates, got {value}"
                ))
            })
    };
    let lower = match (&bounds.gte, &bounds.gt) {
        (Some(v), None) => Bound::Included(bound_term(v)?),
        (None, Some(v)) => Bound::Excluded(bound_term(v)?),
        (None, None) => Bound::Unbounded,
        (Some(_), Some(_)) => {
            return Err(invalid(format!(
                "filter `{name}`: give gte or gt, not both"
            )))
        }
    };
    let upper = match (&bounds.lte, &bounds.lt) {
        (Some(v), None) => Bound::Included(bound_term(v)?),
        (None, Some(v)) => Bound::Excluded(bound_term(v)?),
        (None, None) => Bound::Unbounded,
        (Some(_), Some(_)) => {
            return Err(invalid(format!(
                "filter `{name}`: give lte or lt, not both"
            )))
        }
    };
    if matches!((&lower, &upper), (Bound::Unbounded, Bound::Unbounded)) {
        return Err(invalid(format!(
            "filter `{name}`: a range needs at least one of gte, gt, lte, lt"
        )));
    }
    Ok(Box::new(RangeQuery::new(lower, upper)))
}

/// Marks query matches in stored text, using the analyzer of the field the match came from.
pub struct Highlighter {
    languages: Vec<SnippetGenerator>,
    generic: SnippetGenerator,
}

impl Highlighter {
    pub fn new(searcher: &Searcher, built: &Built, fields: &Fields) -> Result<Self, EmbeddedError> {
        let make = |field| -> Result<SnippetGenerator, EmbeddedError> {
            let mut generator = SnippetGenerator::create(searcher, &*built.text_query, field)?;
            generator.set_max_num_chars(FRAGMENT_CHARS);
            Ok(generator)
        };
        Ok(Highlighter {
            languages: built
                .language_fields
                .iter()
                .map(|f| make(*f))
                .collect::<Result<_, _>>()?,
            generic: make(fields.generic)?,
        })
    }

    /// An HTML fragment of `text` with matches in `<b>`, or `None` when nothing in it matched.
    pub fn fragment(&self, text: &str) -> Option<String> {
        self.languages
            .iter()
            .chain(std::iter::once(&self.generic))
            .map(|generator| generator.snippet(text))
            .find(|snippet| !snippet.highlighted().is_empty())
            .map(|snippet| snippet.to_html())
    }
}

#[cfg(test)]
mod tests {
    use super::split_unspaced_terms;

    #[test]
    fn unspaced_terms_become_words_and_everything_else_stays() {
        assert_eq!(split_unspaced_terms("อาหารไทย"), "อาหาร ไทย");
        assert_eq!(split_unspaced_terms("北京大学的学生"), "北京 大学 的 学生");
        assert_eq!(split_unspaced_terms("ሰላም፡ለሁሉ"), "ሰላም ለሁሉ");
        // Latin words, query syntax and single words are untouched.
        assert_eq!(
            split_unspaced_terms("+Haus -Garten \"alte Stadt\""),
            "+Haus -Garten \"alte Stadt\""
        );
        assert_eq!(split_unspaced_terms("книга été"), "книга été");
    }
}
