//! Query detection that knows the index: lingua over the languages the index holds, each
//! weighted by its share of the documents.
//!
//! Why: a query is a few words, and lingua over all 75 languages often prefers a language the
//! index has no document in (a package name taken for Sesotho, Italian for Esperanto), which
//! then searches an empty field instead of the right one. Restricting lingua to the index's
//! languages also makes it several times cheaper: its cost grows with the number of candidates.
//!
//! Decision rule (a tempered Bayes rule): posterior(l) ∝ lingua(l) · share(l)^`PRIOR_WEIGHT`,
//! where share(l) = (documents(l) + 1) / (total + candidates). For an index, a language with no
//! documents is not a candidate of lingua's statistical step, since its field cannot match
//! anything; it is still chosen on the strongest evidence there is, its script (Hangul, Greek,
//! kana...) or when no language the index holds is written in the query's script. For a stream
//! (`learned.rs`) every language stays a candidate, an unseen one at the weight of no
//! documents: the stream's next record may be in a language it has not shown yet.

use std::collections::{BTreeMap, HashMap};

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
    /// Whom lingua chooses among.
    lingua: Candidates,
    /// share(l)^PRIOR_WEIGHT per candidate.
    weight: HashMap<Language, f64>,
}

/// The languages a prior lets lingua choose among.
enum Candidates {
    /// Only the languages with documents (an index: another language's field is empty), by
    /// a lingua detector over them; `None` with fewer than two (lingua needs two to choose
    /// between), and the whole detector decides instead.
    Held(Option<LanguageDetector>),
    /// Every configured language, unseen ones at the smoothed weight of no documents (a
    /// stream: its next record may be in a language it has not shown yet, which then wins on
    /// strong evidence only).
    All,
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
    /// does not know, such as `und`, are ignored): lingua chooses among the languages with
    /// documents only. `None` when the index holds fewer than [`MIN_DOCUMENTS`]. Builds a
    /// lingua detector over them from the models already loaded: cheap, but call it from a
    /// blocking thread.
    pub fn corpus_prior(&self, counts: &[(String, u64)]) -> Option<CorpusPrior> {
        self.prior(counts, false)
    }

    /// The prior for a stream that has shown `counts` confident decisions per language: every
    /// configured language stays a candidate, weighted by its smoothed share (see
    /// `LearnedPrior`). `None` below [`MIN_DOCUMENTS`].
    pub fn stream_prior(&self, counts: &[(String, u64)]) -> Option<CorpusPrior> {
        self.prior(counts, true)
    }

    fn prior(&self, counts: &[(String, u64)], all: bool) -> Option<CorpusPrior> {
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
            .filter(|(_, code)| self.allowed.contains(*code))
            .filter_map(|(lang, code)| match documents.get(code) {
                Some(n) => Some((*lang, *n)),
                None => all.then_some((*lang, 0)),
            })
            .collect();
        let denominator = (total + candidates.len() as u64) as f64;
        let weight = candidates
            .iter()
            .map(|(lang, n)| (*lang, ((*n + 1) as f64 / denominator).powf(PRIOR_WEIGHT)))
            .collect();
        let lingua = if all {
            Candidates::All
        } else {
            let mut langs: Vec<Language> = candidates.iter().map(|(l, _)| *l).collect();
            langs.sort();
            Candidates::Held((langs.len() >= 2).then(|| {
                LanguageDetectorBuilder::from_languages(&langs)
                    .with_preloaded_language_models()
                    .build()
            }))
        };
        Some(CorpusPrior {
            documents,
            total,
            lingua,
            weight,
        })
    }

    /// A query's (or short record's) language given what the index (or stream) holds (see the
    /// module comment); without a prior, exactly [`Detector::detect_accurate`].
    pub fn detect_accurate_with_prior(&self, text: &str, prior: Option<&CorpusPrior>) -> Detection {
        self.decide_weighed(text, self.weigh(text, prior).as_deref(), prior)
    }

    /// Lingua's scores for a query weighed by `prior`: the expensive half of
    /// [`Self::detect_accurate_with_prior`], kept so that [`Self::decide_query`] can weigh them
    /// by the index's words afterwards without running lingua again.
    pub fn weigh_query(&self, text: &str, prior: Option<&CorpusPrior>) -> Weighing {
        Weighing {
            scores: self.weigh(text, prior),
        }
    }

    /// The decision from `weighing` (of `text`, by `weigh_query` with the same `prior`), with
    /// the index's vocabulary as further evidence: for each of the query's words, how the
    /// index's documents holding it divide among languages (see [`vocabulary_factor`]). With
    /// no words, exactly [`Self::detect_accurate_with_prior`].
    pub fn decide_query(
        &self,
        text: &str,
        weighing: &Weighing,
        prior: Option<&CorpusPrior>,
        words: &[BTreeMap<String, u64>],
    ) -> Detection {
        match (&weighing.scores, prior) {
            (Some(scores), Some(prior)) if !words.is_empty() => {
                let reweighed = self.with_vocabulary(scores, prior, words);
                self.decide_weighed(text, Some(&reweighed), Some(prior))
            }
            (scores, prior) => self.decide_weighed(text, scores.as_deref(), prior),
        }
    }

    /// `scores` with each posterior multiplied by its language's [`vocabulary_factor`],
    /// normalized again, best first.
    fn with_vocabulary(
        &self,
        scores: &[Weighed],
        prior: &CorpusPrior,
        words: &[BTreeMap<String, u64>],
    ) -> Vec<Weighed> {
        let mut reweighed: Vec<Weighed> = scores
            .iter()
            .map(|score| {
                let factor = self
                    .lingua_code
                    .get(&score.lang)
                    .map_or(1.0, |code| vocabulary_factor(prior, code, words));
                Weighed {
                    posterior: score.posterior * factor,
                    ..*score
                }
            })
            .collect();
        let sum: f64 = reweighed.iter().map(|s| s.posterior).sum();
        if sum > 0.0 {
            reweighed.iter_mut().for_each(|s| s.posterior /= sum);
        }
        reweighed.sort_by(|a, b| b.posterior.total_cmp(&a.posterior));
        reweighed
    }

    /// The decision from `weigh`'s scores (under `prior`), or without a prior where it did not
    /// apply.
    fn decide_weighed(
        &self,
        text: &str,
        weighed: Option<&[Weighed]>,
        prior: Option<&CorpusPrior>,
    ) -> Detection {
        match weighed {
            Some(scores) => {
                let values: Vec<(Language, f64)> =
                    scores.iter().map(|s| (s.lang, s.posterior)).collect();
                // An index's field of a language it holds no document in matches nothing.
                let may_enter = |code: &str| match prior {
                    Some(p) if matches!(p.lingua, Candidates::Held(_)) => {
                        p.documents.contains_key(code)
                    }
                    _ => self.supports(code),
                };
                self.decide_among(&values, super::Method::Lingua, text, &may_enter)
            }
            None => self.detect_accurate(text),
        }
    }

    /// What `detect_accurate_with_prior` decided from, for `glossa detect --explain`.
    pub fn explain(&self, text: &str, prior: Option<&CorpusPrior>) -> Explanation {
        let sample = super::sample::sample(text, super::ACCURATE_MAX_CHARS, 4);
        let stats = super::script::ScriptStats::of(&sample);
        let script = super::choose_script(&stats);
        let weighed = self.weigh(text, prior);
        let shortlisted =
            script.is_some_and(|s| self.shortlist(&sample, &stats, s, &|_| true).is_some());
        let held_shortlist = match (prior, script) {
            (Some(prior), Some(s)) if matches!(prior.lingua, Candidates::Held(_)) => self
                .shortlist(&sample, &stats, s, &|l| prior.weight.contains_key(&l))
                .is_some(),
            _ => false,
        };
        let path = match (&weighed, script) {
            (Some(_), _) if held_shortlist => {
                "lingua over the index's languages the fast scorer ranks best, weighted by the prior's shares"
            }
            (Some(_), _) => "lingua weighted by the prior's shares",
            (None, None) => "no letters: undetermined",
            (None, Some(s)) if s.unique_language().is_some() => "script: one language writes it",
            (None, Some(_)) if prior.is_some() => {
                "lingua over all languages: the prior does not apply to this text"
            }
            (None, Some(_)) if shortlisted => {
                "lingua over the languages the fast scorer ranks best (no prior)"
            }
            (None, Some(_)) => "lingua over all languages (no prior)",
        };
        let detection = self.decide_weighed(text, weighed.as_deref(), prior);
        let word_evidence = self.word_evidence(text, detection.lang);
        let marker_evidence = self.marker_evidence(text, detection.lang);
        let scores = weighed
            .unwrap_or_default()
            .into_iter()
            .take(5)
            .filter_map(|s| {
                Some(ExplainedScore {
                    lang: self.lingua_code.get(&s.lang).copied()?,
                    lingua: s.lingua,
                    weight: s.weight,
                    posterior: s.posterior,
                })
            })
            .collect();
        Explanation {
            script: script.map(|s| format!("{s:?}")),
            letters: stats.letters,
            path,
            prior_languages: prior.map(CorpusPrior::languages).unwrap_or_default(),
            scores,
            word_evidence,
            marker_evidence,
            detection,
        }
    }

    /// The marker words each language of the decided language's marker group does not write
    /// (`words::reweigh_markers`), when the text holds any; else empty.
    fn marker_evidence(&self, text: &str, decided: &str) -> Vec<MarkerEvidence> {
        let Some(group) = super::words::Markers::get().group_of(decided) else {
            return Vec::new();
        };
        if self.tuning.marker_weight <= 0.0 {
            return Vec::new();
        }
        group
            .misses(text)
            .map(|misses| {
                group
                    .langs
                    .iter()
                    .zip(misses)
                    .map(|(lang, misses)| MarkerEvidence { lang, misses })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The close group's word log-likelihoods when the decided language is in a group the
    /// word table covers (a decision moves only inside its group, so this is what weighed
    /// it), else empty.
    fn word_evidence(&self, text: &str, decided: &str) -> Vec<WordEvidence> {
        let Some(group) = super::words::CloseWords::get().group_of(decided) else {
            return Vec::new();
        };
        if !self.tuning.close_words {
            return Vec::new();
        }
        group
            .log_likelihoods(text)
            .map(|values| {
                group
                    .langs
                    .iter()
                    .zip(values)
                    .map(|(lang, log_likelihood)| WordEvidence {
                        lang,
                        log_likelihood,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// lingua's values over the prior's languages, each times its weight, normalized, best
    /// first; `None` where the prior does not apply (no prior or fewer than two lingua
    /// languages in it, a single-language script, no letters, or a script none of the
    /// prior's languages is written in).
    fn weigh(&self, text: &str, prior: Option<&CorpusPrior>) -> Option<Vec<Weighed>> {
        let prior = prior?;
        let sample = super::sample::sample(text, super::ACCURATE_MAX_CHARS, 4);
        let stats = super::script::ScriptStats::of(&sample);
        // Single-language scripts (and text without letters) are decided by the script rules.
        let script = super::choose_script(&stats).filter(|s| s.unique_language().is_none())?;
        let values = match (&prior.lingua, &self.all) {
            (Candidates::Held(held), _) => {
                let held = held.as_ref()?;
                // A longer query, like a short record, goes to lingua among the held languages
                // the fast scorer ranks best: lingua's cost grows with its candidates.
                let ranked = |lang| prior.weight.contains_key(&lang);
                match self.shortlist(&sample, &stats, script, &ranked) {
                    Some(langs) => LanguageDetectorBuilder::from_languages(&langs)
                        .build()
                        .compute_language_confidence_values(&*sample),
                    None => held.compute_language_confidence_values(&*sample),
                }
            }
            (Candidates::All, Some(super::Candidates::Many(all))) => {
                self.accurate_values(all, &sample, &stats, script)
            }
            (Candidates::All, _) => return None,
        };
        let mut scores: Vec<Weighed> = values
            .into_iter()
            .map(|(lang, p)| {
                let weight = prior.weight.get(&lang).copied().unwrap_or(0.0);
                Weighed {
                    lang,
                    lingua: p,
                    weight,
                    posterior: p * weight,
                }
            })
            .collect();
        let sum: f64 = scores.iter().map(|s| s.posterior).sum();
        if sum <= 0.0 {
            return None;
        }
        scores.iter_mut().for_each(|s| s.posterior /= sum);
        scores.sort_by(|a, b| b.posterior.total_cmp(&a.posterior));
        Some(scores)
    }
}

/// Pseudo-documents added to each word's sample, spread by the languages' shares: a word held
/// by few documents moves the decision a little, one held by hundreds of one language's
/// documents a lot. Tuned on the relevance suite (`docs/benchmarks/relevance.md`).
const VOCABULARY_SMOOTHING: f64 = 10.0;

/// How much more often the index's documents holding the query's words are in `code` than its
/// share of the index predicts: the product over words of P(code | word) / P(code), with
/// P(code | word) = (documents of `code` holding the word + smoothing x share) / (documents
/// holding it + smoothing). A name found in every language's documents ("Vim") weighs 1; a
/// word the index uses in one language ("per" in Italian descriptions) weighs that language up.
/// Words the index does not hold weigh 1: lingua alone speaks for them.
fn vocabulary_factor(prior: &CorpusPrior, code: &str, words: &[BTreeMap<String, u64>]) -> f64 {
    let held = prior.documents.get(code).copied().unwrap_or(0);
    let share = (held + 1) as f64 / (prior.total + prior.documents.len() as u64) as f64;
    words
        .iter()
        .map(|counts| {
            let sampled: u64 = counts.values().sum();
            if sampled == 0 {
                return 1.0;
            }
            let in_language = counts.get(code).copied().unwrap_or(0) as f64;
            let given_word = (in_language + VOCABULARY_SMOOTHING * share)
                / (sampled as f64 + VOCABULARY_SMOOTHING);
            given_word / share
        })
        .product()
}

/// A query's candidates as lingua and the prior scored them (`None`: the prior did not apply,
/// and the decision is the detector's own).
pub struct Weighing {
    scores: Option<Vec<Weighed>>,
}

impl Weighing {
    /// Whether the index's words could change the decision: only lingua's weighed candidates
    /// are reweighed, never a decision by script.
    pub fn weighable(&self) -> bool {
        self.scores.is_some()
    }
}

/// One candidate's lingua value, prior weight and posterior.
#[derive(Clone, Copy)]
struct Weighed {
    lang: Language,
    lingua: f64,
    weight: f64,
    posterior: f64,
}

/// How a text's language was decided on the accurate path.
#[derive(Debug, serde::Serialize)]
pub struct Explanation {
    /// The script that chose the path (`Latin`, `Hangul`...).
    pub script: Option<String>,
    pub letters: u32,
    pub path: &'static str,
    /// The languages the prior weighs, most documents first (empty without a prior).
    pub prior_languages: Vec<&'static str>,
    /// The best candidates with lingua's value, the prior's weight and the posterior.
    pub scores: Vec<ExplainedScore>,
    /// How the text's words weigh the close languages of the best candidate's group
    /// (`words.rs`): the decision's confidences include this.
    pub word_evidence: Vec<WordEvidence>,
    /// How many of the text's marker words each language of the decided language's marker
    /// group (bs/hr/sr, nb/nn) does not write: the decision's confidences include this.
    pub marker_evidence: Vec<MarkerEvidence>,
    pub detection: Detection,
}

/// One line of an [`Explanation`].
#[derive(Debug, serde::Serialize)]
pub struct ExplainedScore {
    pub lang: &'static str,
    pub lingua: f64,
    pub weight: f64,
    pub posterior: f64,
}

/// One close language's word log-likelihood in an [`Explanation`].
#[derive(Debug, serde::Serialize)]
pub struct WordEvidence {
    pub lang: &'static str,
    /// Natural log of the text's listed words under this language's frequencies.
    pub log_likelihood: f64,
}

/// One close language's marker count in an [`Explanation`].
#[derive(Debug, serde::Serialize)]
pub struct MarkerEvidence {
    pub lang: &'static str,
    /// Marker words of the text this language does not write.
    pub misses: u32,
}
