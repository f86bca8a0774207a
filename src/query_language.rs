//! Which language a query is taken for: the caller's, or detected with the most accurate
//! detector (queries are short, the hard case) weighed against the languages the index holds and
//! the languages of the documents that hold the query's words, plus close runners-up to search
//! as well. The search API and delete-by-query choose alike,
//! so a delete removes what the same search finds.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, RwLock};

use lru::LruCache;
use serde::Serialize;

use crate::backend::{SearchBackend, SearchError};
use crate::detect::{CorpusPrior, Detection};
use crate::record::Method;
use crate::route::Router;
use crate::search::SearchQuery;

/// Most languages an ambiguous query is analyzed for.
const MAX_QUERY_LANGUAGES: usize = 3;
/// A candidate is searched too when its confidence is at least this share of the best one.
const CLOSE_CANDIDATE_SHARE: f64 = 0.5;

/// How the query language was chosen; shown with every answer so callers can trust or
/// override it.
#[derive(Clone, Debug, Serialize)]
pub struct QueryLanguage {
    /// ISO 639-1 code, or `und`.
    pub lang: &'static str,
    /// `given`, `detected`, or `undetermined`.
    pub chosen_by: &'static str,
    pub confidence: f64,
    /// Other candidates the detector considered, best first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<(&'static str, f64)>,
    /// Languages whose analyzers the query is run through (several when it was ambiguous;
    /// none when undetermined: then only the generic field is searched).
    pub searched: Vec<&'static str>,
    /// The index's language distribution the detection was weighed against, if it had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prior: Option<PriorSummary>,
}

/// What the prior of a detected query language was: the index's documents and languages
/// (only these languages were candidates, each weighted by its share; see
/// `detect::prior`).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct PriorSummary {
    pub documents: u64,
    pub languages: usize,
}

/// The language the caller named, or why it is not one Glossa supports.
pub fn given(router: &Router, code: &str) -> Result<QueryLanguage, String> {
    let lang = router.given_language(code).ok_or_else(|| {
        format!(
            "lang `{code}` is not a supported language; use an ISO 639-1 code such as de, fr, zh (supported: {})",
            router.detector().languages().join(", ")
        )
    })?;
    Ok(QueryLanguage {
        lang,
        chosen_by: "given",
        confidence: 1.0,
        alternatives: Vec::new(),
        searched: vec![lang],
        prior: None,
    })
}

/// No language: a query without words (only filters) searches no language field.
pub fn undetermined() -> QueryLanguage {
    QueryLanguage {
        lang: "und",
        chosen_by: "undetermined",
        confidence: 0.0,
        alternatives: Vec::new(),
        searched: Vec::new(),
        prior: None,
    }
}

/// The answer for a query detected as `detection` under `prior`.
fn detected(detection: Detection, prior: Option<&CorpusPrior>) -> QueryLanguage {
    let undetermined = detection.method == Method::Undetermined || detection.lang == "und";
    let searched = if undetermined {
        Vec::new()
    } else {
        languages_to_search(
            detection.lang,
            detection.confidence,
            &detection.alternatives,
        )
    };
    QueryLanguage {
        lang: detection.lang,
        chosen_by: if undetermined {
            "undetermined"
        } else {
            "detected"
        },
        confidence: detection.confidence,
        alternatives: detection.alternatives,
        searched,
        prior: prior.map(|p| PriorSummary {
            documents: p.documents(),
            languages: p.languages().len(),
        }),
    }
}

/// Query texts whose answer is remembered per prior; queries repeat (popular searches, a
/// search box's successive pages), and detection is most of a search's CPU.
const CACHED_QUERIES: usize = 10_000;
/// Query words whose documents per language are remembered per prior: a few hundred bytes
/// each, 2-3 KB for a word found in 30 languages, so at most about 60 MB.
const CACHED_WORDS: usize = 20_000;
/// Longer texts are not cached: they rarely repeat, and the cache's memory stays bounded
/// (at most `CACHED_QUERIES` x this many bytes of keys).
const MAX_CACHED_QUERY_BYTES: usize = 256;
/// A new document count changes the prior only when some language's share moves by more than
/// this (or a language appears or disappears): answers cached under the old prior stay right.
const SHARE_TOLERANCE: f64 = 0.005;
/// ... or when the index grew by more than this share since the prior was built.
const GROWTH_TOLERANCE: f64 = 0.1;

/// The query-language choice of one service: the index's language distribution (refreshed
/// by `refresh`) and the answers given under it.
pub struct QueryLanguages {
    router: Router,
    current: RwLock<Arc<Choice>>,
}

/// One prior, the answers detected under it and the index words read for them (dropped
/// together when the prior changes).
struct Choice {
    counts: Vec<(String, u64)>,
    prior: Option<CorpusPrior>,
    cache: Mutex<LruCache<String, QueryLanguage>>,
    /// Per query word, its documents per language: new queries mostly reuse words ("library",
    /// "for") whose postings are the longest to read.
    words: Mutex<LruCache<String, BTreeMap<String, u64>>>,
}

impl Choice {
    fn new(counts: Vec<(String, u64)>, prior: Option<CorpusPrior>) -> Choice {
        let capacity = |n| NonZeroUsize::new(n).unwrap_or(NonZeroUsize::MIN);
        Choice {
            counts,
            prior,
            cache: Mutex::new(LruCache::new(capacity(CACHED_QUERIES))),
            words: Mutex::new(LruCache::new(capacity(CACHED_WORDS))),
        }
    }

    /// `terms`' documents per language, from the cache or read from `index` (and cached when
    /// the index could say: an empty answer, a word left out or timed out, is asked again).
    async fn index_words(
        &self,
        terms: Vec<String>,
        index: &SearchBackend,
    ) -> Result<Vec<BTreeMap<String, u64>>, SearchError> {
        let mut known: Vec<Option<BTreeMap<String, u64>>> = {
            let mut words = crate::lock(&self.words);
            terms.iter().map(|t| words.get(t).cloned()).collect()
        };
        let missing: Vec<String> = terms
            .iter()
            .zip(&known)
            .filter(|(_, k)| k.is_none())
            .map(|(t, _)| t.clone())
            .collect();
        metrics::counter!(crate::metrics::QUERY_LANGUAGE_WORD_CACHE, "result" => "hit")
            .increment((terms.len() - missing.len()) as u64);
        metrics::counter!(crate::metrics::QUERY_LANGUAGE_WORD_CACHE, "result" => "miss")
            .increment(missing.len() as u64);
        if !missing.is_empty() {
            let read = index.term_languages(missing.clone(), WORD_SAMPLE).await?;
            let mut words = crate::lock(&self.words);
            let mut read = missing.into_iter().zip(read);
            for slot in known.iter_mut().filter(|k| k.is_none()) {
                let Some((term, counts)) = read.next() else {
                    break;
                };
                if !counts.is_empty() {
                    words.put(term, counts.clone());
                }
                *slot = Some(counts);
            }
        }
        Ok(known.into_iter().map(Option::unwrap_or_default).collect())
    }
}

impl QueryLanguages {
    /// No prior until the first `refresh`: queries are detected among all languages.
    pub fn new(router: Router) -> QueryLanguages {
        QueryLanguages {
            router,
            current: RwLock::new(Arc::new(Choice::new(Vec::new(), None))),
        }
    }

    /// The language router, for languages the caller names.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// The language of a query text, detected on a blocking thread; once the index has a
    /// prior, the documents of `index` that hold the query's words weigh in too, unless
    /// `Vocabulary::Withheld`.
    pub async fn detect(
        self: &Arc<Self>,
        text: &str,
        index: &SearchBackend,
        vocabulary: Vocabulary,
    ) -> QueryLanguage {
        let choice = self.choice();
        let cacheable = text.len() <= MAX_CACHED_QUERY_BYTES;
        // Answers with and without the vocabulary are cached apart: one read from other
        // tenants' documents must never answer a tenant's query.
        let key = match vocabulary {
            Vocabulary::Read => text.to_owned(),
            Vocabulary::Withheld => format!("\u{0}{text}"),
        };
        if cacheable {
            if let Some(hit) = crate::lock(&choice.cache).get(&key) {
                metrics::counter!(crate::metrics::QUERY_LANGUAGE_CACHE, "result" => "hit")
                    .increment(1);
                return hit.clone();
            }
        }
        metrics::counter!(crate::metrics::QUERY_LANGUAGE_CACHE, "result" => "miss").increment(1);
        // Lingua and the prior first: when they are sure, the index's words are not read (a
        // lookup per word is work for the index, an `_msearch` round trip on OpenSearch).
        let (this, owned, decided) = (Arc::clone(self), text.to_owned(), Arc::clone(&choice));
        let Some((weighing, detection)) = blocking(move || {
            let detector = this.router.detector();
            let weighing = detector.weigh_query(&owned, decided.prior.as_ref());
            let detection = detector.decide_query(&owned, &weighing, decided.prior.as_ref(), &[]);
            (weighing, detection)
        })
        .await
        else {
            return undetermined();
        };
        let mut answer = detected(detection, choice.prior.as_ref());
        if weighing.weighable() && vocabulary == Vocabulary::Read {
            let sure = answer.confidence >= SURE_WITHOUT_WORDS;
            let result = if sure { "sure" } else { "read" };
            metrics::counter!(crate::metrics::QUERY_LANGUAGE_WORDS, "result" => result)
                .increment(1);
            let words = if sure {
                Vec::new()
            } else {
                index_words(text, &choice, index).await
            };
            if !words.is_empty() {
                // Lingua's scores reweighed by the words: lingua does not run again.
                let (this, owned, decided) =
                    (Arc::clone(self), text.to_owned(), Arc::clone(&choice));
                let Some(detection) = blocking(move || {
                    let prior = decided.prior.as_ref();
                    this.router
                        .detector()
                        .decide_query(&owned, &weighing, prior, &words)
                })
                .await
                else {
                    return undetermined();
                };
                answer = detected(detection, choice.prior.as_ref());
            }
        }
        if cacheable {
            crate::lock(&choice.cache).put(key, answer.clone());
        }
        answer
    }

    fn choice(&self) -> Arc<Choice> {
        crate::read_lock(&self.current).clone()
    }

    /// Reads the index's documents per language (one match-all count, no hits) and, when the
    /// distribution moved, builds the prior anew. Cheap enough to run every few seconds.
    pub async fn refresh(self: &Arc<Self>, index: &SearchBackend) -> Result<(), SearchError> {
        let query = SearchQuery::count_all();
        let counts: Vec<(String, u64)> = index
            .search(query)
            .await?
            .languages
            .unwrap_or_default()
            .into_iter()
            .collect();
        if same_distribution(&self.choice().counts, &counts) {
            return Ok(());
        }
        let this = Arc::clone(self);
        let _ = tokio::task::spawn_blocking(move || {
            let prior = this.router.detector().corpus_prior(&counts);
            let fresh = Arc::new(Choice::new(counts, prior));
            *crate::write_lock(&this.current) = fresh;
        })
        .await;
        Ok(())
    }
}

/// `work` (detection, CPU-heavy) on a blocking thread; `None` (logged) if it panicked.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    match tokio::task::spawn_blocking(work).await {
        Ok(done) => Some(done),
        Err(error) => {
            tracing::error!(%error, "query language detection failed; searching the generic field only");
            None
        }
    }
}

/// Whether a query's detection may read which languages the index's documents holding its
/// words are in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vocabulary {
    Read,
    /// For a caller confined to one tenant's documents: the counts would span every tenant's,
    /// and the answer's confidence would tell whether other tenants' documents hold a word.
    Withheld,
}

/// A detection this confident from lingua and the prior alone is not weighed by the index's
/// words, which spares the index a lookup per word. High, because lingua can be sure and wrong
/// on a query of names: "colorscheme Solarized per Vim" is English at 0.90 over an index of
/// English and Italian documents, Italian once the index says who uses "per".
const SURE_WITHOUT_WORDS: f64 = 0.99;

/// Documents whose language is read per query word for the vocabulary evidence on the
/// embedded backend: enough to tell a language's word from a shared name.
const WORD_SAMPLE: usize = 500;
/// Query words looked up, at most (the first ones).
const MAX_LOOKED_UP_WORDS: usize = 8;

/// For the first words of `text` (as the generic field analyzes them), how the index's
/// documents holding each divide among languages. Empty when the index cannot say: the
/// decision is then lingua's and the prior's alone.
async fn index_words(
    text: &str,
    choice: &Choice,
    index: &SearchBackend,
) -> Vec<BTreeMap<String, u64>> {
    let mut terms: Vec<String> = Vec::new();
    {
        // Scoped: the token stream is not `Send`, and must be gone before the await.
        let mut analyzer = crate::analysis::generic_analyzer();
        let mut stream = analyzer.token_stream(text);
        while terms.len() < MAX_LOOKED_UP_WORDS && stream.advance() {
            let term = &stream.token().text;
            if !terms.contains(term) {
                terms.push(term.clone());
            }
        }
    }
    if terms.is_empty() {
        return Vec::new();
    }
    match choice.index_words(terms, index).await {
        Ok(words) => words,
        Err(error) => {
            tracing::debug!(%error, "cannot read the index's words for query detection");
            Vec::new()
        }
    }
}

/// Whether two per-language counts give the same prior: the same languages, every share
/// within `SHARE_TOLERANCE`, and fewer than `GROWTH_TOLERANCE` more documents (so an index that
/// grows past `MIN_DOCUMENTS` gets its first prior, and the answer's `prior.documents` keeps up).
fn same_distribution(old: &[(String, u64)], new: &[(String, u64)]) -> bool {
    let total = |counts: &[(String, u64)]| counts.iter().map(|(_, n)| *n).sum::<u64>();
    let (old_total, new_total) = (total(old), total(new));
    if new_total as f64 > old_total as f64 * (1.0 + GROWTH_TOLERANCE) {
        return false;
    }
    let langs = |counts: &[(String, u64)]| {
        counts
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(l, _)| l.clone())
            .collect::<std::collections::BTreeSet<_>>()
    };
    if langs(old) != langs(new) {
        return false;
    }
    let (old_total, new_total) = (old_total.max(1) as f64, new_total.max(1) as f64);
    old.iter().all(|(lang, n)| {
        let now = new.iter().find(|(l, _)| l == lang).map_or(0, |(_, m)| *m);
        (*n as f64 / old_total - now as f64 / new_total).abs() <= SHARE_TOLERANCE
    })
}

/// The detected language plus close runners-up: a one-word query such as "свобода" is often
/// ambiguous between related languages, and searching each one's field costs little.
fn languages_to_search(
    best: &'static str,
    confidence: f64,
    alternatives: &[(&'static str, f64)],
) -> Vec<&'static str> {
    let mut langs = vec![best];
    for (lang, candidate) in alternatives {
        if langs.len() >= MAX_QUERY_LANGUAGES {
            break;
        }
        if *lang != "und"
            && !langs.contains(lang)
            && *candidate >= confidence * CLOSE_CANDIDATE_SHARE
        {
            langs.push(lang);
        }
    }
    langs
}

#[cfg(test)]
mod tests {
    use super::same_distribution;

    fn counts(pairs: &[(&str, u64)]) -> Vec<(String, u64)> {
        pairs.iter().map(|(l, n)| (l.to_string(), *n)).collect()
    }

    #[test]
    fn the_prior_is_rebuilt_only_when_the_distribution_moves() {
        let before = counts(&[("en", 1000), ("de", 1000)]);
        // Both grew a little, same shares: cached answers stay right.
        assert!(same_distribution(
            &before,
            &counts(&[("en", 1050), ("de", 1050)])
        ));
        // Grown by half, same shares: rebuilt, so an index that passes 100 documents gets
        // its first prior and answers say how many documents they were weighed against.
        assert!(!same_distribution(
            &before,
            &counts(&[("en", 1500), ("de", 1500)])
        ));
        assert!(!same_distribution(
            &counts(&[("en", 30), ("de", 30)]),
            &counts(&[("en", 300), ("de", 300)])
        ));
        // One share moved by 1.2 points.
        assert!(!same_distribution(
            &before,
            &counts(&[("en", 1050), ("de", 1000)])
        ));
        // A new language appeared, however few its documents.
        assert!(!same_distribution(
            &before,
            &counts(&[("en", 1000), ("de", 1000), ("fr", 1)])
        ));
        // The first read after start (nothing known yet) always builds one.
        assert!(!same_distribution(&[], &before));
    }
}
