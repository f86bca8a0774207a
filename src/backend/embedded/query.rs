//! Turns a [`SearchQuery`] into a Tantivy query, built from each field's own analysis of the
//! query text (never from a query parser): per searched field a disjunction of its terms (or a
//! phrase), the query language's field boosted, scores summed across fields; plus metadata
//! filters. See [`crate::search::text`] for what the text may contain.

use serde_json::Value;
use std::ops::Bound;
use tantivy::json_utils::convert_to_fast_value_and_append_to_json_term;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, EmptyQuery, Occur,
    PhraseQuery, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::snippet::SnippetGenerator;
use tantivy::{Searcher, Term};

use super::field_statistics::{language_docs, OwnDocCount};
use super::{EmbeddedError, Fields};
use crate::languages::Analyzer;
use crate::search::text::{self, Part};
use crate::search::{Condition, Filter, RangeBounds, SearchQuery, TextQuery, LANGUAGE_FIELD_BOOST};

/// How much more a match in the query language's own field counts than a generic match, when
/// the language is certain ([`SearchQuery::language_boost`] scales it down with the detector's
/// confidence), by how much that field's analysis adds to the generic field's: stemmed (or
/// truncated) words and Japanese base forms find inflections the generic field misses, so they
/// get the full boost; a segmented or folded field analyzes almost like the generic one, and a
/// boost would only count the same match twice.
fn language_field_boost(code: &str) -> f64 {
    match crate::languages::get(code).map(|spec| spec.analyzer) {
        Some(
            Analyzer::Stemmed(_)
            | Analyzer::LightStemmed(_)
            | Analyzer::Truncated(_)
            | Analyzer::JapaneseMorphology,
        ) => LANGUAGE_FIELD_BOOST,
        _ => 1.0,
    }
}

/// Longest highlighted fragment, in characters.
const FRAGMENT_CHARS: usize = 200;

/// The full query plus the parts highlighting needs.
pub struct Built {
    pub query: Box<dyn Query>,
    /// When `query` is not a flat union of terms (a split compound's alternatives are a
    /// disjunction-max), a flat union of all its terms: it matches the same documents, and
    /// scores each at least as high (a sum of non-negative term scores is at least their
    /// largest), so block-max WAND may prune with it against `query`'s own scores.
    pub bound: Option<Box<dyn Query>>,
    /// The text query without filters, for highlighting (its excluded parts never occur in a
    /// hit, so their terms highlight nothing).
    text_query: Box<dyn Query>,
    language_fields: Vec<Field>,
}

/// One field the text is searched in.
struct Searched {
    field: Field,
    boost: f64,
    /// A language field's document count, which its BM25 statistics use (see
    /// [`super::field_statistics`]); `None` for the generic field, which every document has.
    docs: Option<u64>,
}

impl Searched {
    /// `query` (on this field) with the field's boost and statistics.
    fn scored(&self, query: Box<dyn Query>) -> Box<dyn Query> {
        let query: Box<dyn Query> = match self.docs {
            Some(docs) => Box::new(OwnDocCount { query, docs }),
            None => query,
        };
        if self.boost == 1.0 {
            query
        } else {
            Box::new(BoostQuery::new(query, self.boost as f32))
        }
    }
}

/// Builds the query for `request`, to run on `searcher`.
pub fn build(
    searcher: &Searcher,
    fields: &Fields,
    request: &SearchQuery,
) -> Result<Built, EmbeddedError> {
    // A close candidate searched besides the detected language never outweighs it.
    let primary = request
        .langs
        .first()
        .map_or(1.0, |code| language_field_boost(code));
    let mut searched = Vec::new();
    for code in &request.langs {
        let Some(field) = fields.language(code) else {
            continue;
        };
        let boost = language_field_boost(code).min(primary);
        searched.push(Searched {
            field,
            boost: request.language_boost(boost),
            docs: Some(language_docs(searcher, fields.lang, code)?),
        });
    }
    let language_fields: Vec<Field> = searched.iter().map(|s| s.field).collect();
    searched.push(Searched {
        field: fields.generic,
        boost: 1.0,
        docs: None,
    });
    let (text_query, bound) = text_query(searcher, &searched, &request.query)?;
    // Without filters the text query runs as built: wrapped, a flat union of terms would hide
    // from the block-max WAND pruning that top hits rely on.
    let (query, bound) = if request.filters.is_empty() {
        (text_query.box_clone(), bound)
    } else {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, text_query.box_clone())];
        for filter in &request.filters {
            let query = filter_query(fields, filter)?;
            clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(query, 0.0))));
        }
        (Box::new(BooleanQuery::new(clauses)) as Box<dyn Query>, None)
    };
    Ok(Built {
        query,
        bound,
        text_query,
        language_fields,
    })
}

/// A query and, when block-max WAND cannot prune it, its bound (see [`Built::bound`]).
type WithBound = (Box<dyn Query>, Option<Box<dyn Query>>);

/// The query for the text alone: each part analyzed by every searched field's analyzer; and
/// its pruning bound (see [`Built::bound`]), if it needs one.
fn text_query(
    searcher: &Searcher,
    searched: &[Searched],
    query: &TextQuery,
) -> Result<WithBound, EmbeddedError> {
    let parts = match query {
        TextQuery::All => return Ok((Box::new(AllQuery), None)),
        TextQuery::Parts(parts) => parts,
    };
    let mut analyzed = Vec::with_capacity(searched.len());
    for field in searched {
        analyzed.push((field, searcher.index().tokenizer_for_field(field.field)?));
    }
    if parts
        .iter()
        .all(|part| part.occur == text::Occur::Should && !part.phrase)
    {
        return Ok(term_union(&mut analyzed, parts));
    }
    let query = parts_query(&mut analyzed, parts);
    Ok((query, None))
}

/// Parts with phrases or `+`/`-`: per part, a disjunction over the fields; parts combined by
/// their occurrence.
fn parts_query(
    analyzed: &mut [(&Searched, tantivy::tokenizer::TextAnalyzer)],
    parts: &[Part],
) -> Box<dyn Query> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for part in parts {
        let mut per_field: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (searched, analyzer) in analyzed.iter_mut() {
            if let Some(query) = field_query(searched.field, analyzer, part) {
                per_field.push((Occur::Should, searched.scored(query)));
            }
        }
        // A part no field can match: required, it matches nothing; otherwise it is moot.
        let part_query: Box<dyn Query> = if per_field.is_empty() {
            Box::new(EmptyQuery)
        } else {
            Box::new(BooleanQuery::new(per_field))
        };
        let occur = match part.occur {
            text::Occur::Should => Occur::Should,
            text::Occur::Must => Occur::Must,
            text::Occur::MustNot => Occur::MustNot,
        };
        clauses.push((occur, part_query));
    }
    let required = clauses.iter().any(|(o, _)| *o == Occur::Must);
    let optional = clauses.iter().any(|(o, _)| *o == Occur::Should);
    if !required && !optional {
        if clauses.is_empty() {
            // Nothing but punctuation: a valid query that matches nothing.
            return Box::new(EmptyQuery);
        }
        // Only exclusions: every document but those.
        clauses.push((Occur::Must, Box::new(AllQuery)));
    }
    // Without a required part, a document must match at least one optional one (an excluded
    // part does not count, unlike Tantivy's default for Should + MustNot).
    let minimum = usize::from(!required && optional);
    Box::new(BooleanQuery::with_minimum_required_clauses(
        clauses, minimum,
    ))
}

/// Optional words only (the natural-language default): every field's analyzed terms as one
/// flat disjunction of (boosted) term queries. It matches and scores exactly as the per-part,
/// per-field nesting (scores add up either way), and a flat union of terms is the shape
/// Tantivy's block-max WAND prunes: a top-10 skips the blocks of documents that cannot reach
/// it instead of scoring every match. A split compound's alternatives make it a union with
/// disjunction-max clauses, which WAND cannot take: the flat union of every term is returned
/// beside it as its bound.
fn term_union(
    analyzed: &mut [(&Searched, tantivy::tokenizer::TextAnalyzer)],
    parts: &[Part],
) -> WithBound {
    let mut groups: Vec<(&Searched, Vec<Term>)> = Vec::new();
    for part in parts {
        for (searched, analyzer) in analyzed.iter_mut() {
            for group in part_terms(searched.field, analyzer, &part.text) {
                groups.push((*searched, group));
            }
        }
    }
    if groups.is_empty() {
        // Nothing but punctuation or stop words: a valid query that matches nothing.
        return (Box::new(EmptyQuery), None);
    }
    let union = |clauses| -> Box<dyn Query> {
        Box::new(BooleanQuery::with_minimum_required_clauses(clauses, 1))
    };
    let bound = groups.iter().any(|(_, group)| group.len() > 1).then(|| {
        union(
            groups
                .iter()
                .flat_map(|(searched, group)| {
                    group
                        .iter()
                        .map(|term| (Occur::Should, searched.scored(term_query(term.clone()))))
                })
                .collect(),
        )
    });
    let clauses = groups
        .into_iter()
        .map(|(searched, group)| (Occur::Should, searched.scored(alternatives(group))))
        .collect();
    (union(clauses), bound)
}

/// A term's query, scored with its frequencies (BM25).
fn term_query(term: Term) -> Box<dyn Query> {
    Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs))
}

/// The terms a field's analyzer makes of `text`, grouped by position: a word and the parts
/// a compound splitter adds at its position are alternatives of one word. Groups distinct.
fn part_terms(
    field: Field,
    analyzer: &mut tantivy::tokenizer::TextAnalyzer,
    text: &str,
) -> Vec<Vec<Term>> {
    let mut groups: Vec<(usize, Vec<Term>)> = Vec::new();
    let mut stream = analyzer.token_stream(text);
    stream.process(&mut |token| {
        let term = Term::from_field_text(field, &token.text);
        match groups.last_mut() {
            Some((position, terms)) if *position == token.position => {
                if !terms.contains(&term) {
                    terms.push(term);
                }
            }
            _ => groups.push((token.position, vec![term])),
        }
    });
    let mut distinct: Vec<Vec<Term>> = Vec::with_capacity(groups.len());
    for (_, mut terms) in groups {
        terms.sort();
        if !distinct.contains(&terms) {
            distinct.push(terms);
        }
    }
    distinct
}

/// One word's query: its term, or (a compound and its parts) the best-scoring of its terms,
/// so a split word counts about once, as Lucene scores tokens at one position as synonyms.
fn alternatives(mut group: Vec<Term>) -> Box<dyn Query> {
    if group.len() == 1 {
        if let Some(term) = group.pop() {
            return term_query(term);
        }
    }
    Box::new(DisjunctionMaxQuery::new(
        group.into_iter().map(term_query).collect(),
    ))
}

/// One part on one field: its analyzed terms OR-ed (AND-ed when required), or a phrase.
/// `None` when the field's analyzer keeps nothing of the text (stop words, punctuation).
fn field_query(
    field: Field,
    analyzer: &mut tantivy::tokenizer::TextAnalyzer,
    part: &Part,
) -> Option<Box<dyn Query>> {
    if part.phrase {
        let mut tokens: Vec<(usize, Term)> = Vec::new();
        let mut stream = analyzer.token_stream(&part.text);
        stream.process(&mut |token| {
            tokens.push((token.position, Term::from_field_text(field, &token.text)));
        });
        let first = tokens.first()?.0;
        if tokens.len() == 1 {
            return tokens.pop().map(|(_, term)| term_query(term));
        }
        let offsets = tokens
            .into_iter()
            .map(|(position, term)| (position.saturating_sub(first), term))
            .collect();
        return Some(Box::new(PhraseQuery::new_with_offset(offsets)));
    }
    let mut groups = part_terms(field, analyzer, &part.text);
    let occur = if part.occur == text::Occur::Must {
        Occur::Must
    } else {
        Occur::Should
    };
    match groups.len() {
        0 => None,
        1 => groups.pop().map(alternatives),
        _ => Some(Box::new(BooleanQuery::new(
            groups
                .into_iter()
                .map(|g| (occur, alternatives(g)))
                .collect(),
        ))),
    }
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
    // `a.b` names a nested field ({"a": {"b": ..}}) or a key with a dot in it ({"a.b": ..});
    // records come both ways, so both are searched.
    let mut paths = vec![Term::from_field_json_path(
        fields.meta,
        &filter.field,
        false,
    )];
    if filter.field.contains('.') {
        let literal = filter.field.replace('.', "\\.");
        paths.push(Term::from_field_json_path(fields.meta, &literal, false));
    }
    let mut either = Vec::new();
    for path in &paths {
        either.push((Occur::Should, condition_query(path, filter)?));
    }
    Ok(match either.len() {
        1 => either.remove(0).1,
        _ => Box::new(BooleanQuery::new(either)),
    })
}

fn condition_query(path: &Term, filter: &Filter) -> Result<Box<dyn Query>, EmbeddedError> {
    let path = path.clone();
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
