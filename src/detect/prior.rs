//! Query detection that knows the index: lingua over the languages the index holds, each
//! weighted by its share of the documents.
//!
//! Why: a query is a few words, and lingua over all 75 languages often prefers a language the
//! index has no document in (a package name taken for Sesotho, Italian for Esperanto), which
//! then searches an empty field instead of the right one. Restricting lingua to the index's
//! languages also makes it several times cheaper: its cost grows with the number of candidates.
//!
//! Decision rule (a tempered Bayes rule): posterior(l) ∝ lingua(l) · share(l)^`PRIOR_WEIGHT`,
//! where share(l) = (documents(l) + 1) / (total + candidates). A language with no documents
//! is not a candidate of lingua's statistical step, since its field cannot match anything; it
//! is still chosen on the strongest evidence there is, its script (Hangul, Greek, kana...) or
//! when no language the index holds is written in the query's script.

use std::collections::HashMap;

use lingua::{Language, LanguageDetector, LanguageDetectorBuilder};

use super::{Detection, Detector};

/// Exponent on a language's share: 1 would be Bayes' rule if lingua's confidences were
/// likelihoods; they are a softmax over few-word evidence, so the prior is tempered to shift
/// close calls toward the index's languages without overruling clear ones.
pub const PRIOR_WEIGHT: f64 = 0.5;

/// Below this many documents the index says too little about its languages; queries are
/// detected among all languages, as without a prior.
pub const MIN_DOCUMENTS: u64 = 100;

/// What the index holds, turned into a cheaper and better-informed query detector.
pub struct CorpusPrior {
    /// Documents per language code the detector knows, and their sum.
    documents: HashMap<&'static str, u64>,
    total: u64,
    /// lingua over the lingua languages with documents (`None` with fewer than two: lingua
    /// needs two to choose between, and the whole detector decides instead).
    lingua: Option<LanguageDetector>,
    /// share(l)^PRIOR_WEIGHT per candidate.
    weight: HashMap<Language, f64>,
}

impl CorpusPrior {
    /// Documents the counts cover.
    pub fn documents(&self) -> u64 {
        self.total
    }

    /// Languages with documents, most documents first.
    pub fn languages(&self) -> Vec<&'static str> {
        let mut langs: Vec<(&'static str, u64)> =
            self.documents.iter().map(|(l, n)| (*l, *n)).collect();
        langs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        langs.into_iter().map(|(l, _)| l).collect()
    }
}

impl Detector {
    /// The prior for an index with `counts` documents per language code (codes the detector
    /// does not know, such as `und`, are ignored); `None` when the index holds fewer than
    /// [`MIN_DOCUMENTS`]. Builds a lingua detector over the index's languages from the
    /// models already loaded: cheap, but call it from a blocking thread.
    pub fn corpus_prior(&self, counts: &[(String, u64)]) -> Option<CorpusPrior> {
        let mut documents = HashMap::new();
        for (code, n) in counts {
            if let Some(known) = self.codes.iter().find(|c| **c == code.as_str()) {
                if *n > 0 {
                    *documents.entry(*known).or_insert(0) += *n;
                }
            }
        }
        let total: u64 = documents.values().sum();
        if total < MIN_DOCUMENTS {
            return None;
        }
        let candidates: Vec<(Language, u64)> = self
            .lingua_code
            .iter()
            .filter_map(|(lang, code)| documents.get(code).map(|n| (*lang, *n)))
            .collect();
        let denominator = (total + candidates.len() as u64) as f64;
        let weight = candidates
            .iter()
            .map(|(lang, n)| (*lang, ((*n + 1) as f64 / denominator).powf(PRIOR_WEIGHT)))
            .collect();
        let mut langs: Vec<Language> = candidates.iter().map(|(l, _)| *l).collect();
        langs.sort();
        let lingua = (langs.len() >= 2).then(|| {
            LanguageDetectorBuilder::from_languages(&langs)
                .with_preloaded_language_models()
                .build()
        });
        Some(CorpusPrior {
            documents,
            total,
            lingua,
            weight,
        })
    }

    /// A query's language given what the index holds (see the module comment); without a
    /// prior, exactly [`Detector::detect_accurate`].
    pub fn detect_query(&self, text: &str, prior: Option<&CorpusPrior>) -> Detection {
        let Some((prior, lingua)) = prior.and_then(|p| Some((p, p.lingua.as_ref()?))) else {
            return self.detect_accurate(text);
        };
        let sample = super::sample::sample(text, super::ACCURATE_MAX_CHARS, 4);
        let stats = super::script::ScriptStats::of(&sample);
        // Single-language scripts (and text without letters) are decided by the script rules.
        match super::choose_script(&stats) {
            Some(script) if script.unique_language().is_none() => {}
            _ => return self.detect_accurate(text),
        }
        let mut values: Vec<(Language, f64)> = lingua
            .compute_language_confidence_values(&*sample)
            .into_iter()
            .map(|(lang, p)| (lang, p * prior.weight.get(&lang).copied().unwrap_or(0.0)))
            .collect();
        let sum: f64 = values.iter().map(|(_, p)| p).sum();
        if sum <= 0.0 {
            // No language the index holds is written in this script: decide without the prior.
            return self.detect_accurate(text);
        }
        values.iter_mut().for_each(|(_, p)| *p /= sum);
        values.sort_by(|a, b| b.1.total_cmp(&a.1));
        self.decide(&values, super::Method::Lingua)
    }
}
