//! The languages a stream has shown so far, as the prior its short records are weighed against.
//!
//! Why: a record of a few words carries little evidence, and lingua over all 75 languages
//! labels such records with languages the stream does not contain (a real 248,512-record
//! ingest of about 25 languages had short records labelled Latin 855 times, Nynorsk 571,
//! Esperanto 148). The stream's own long documents say which languages it holds: their
//! decisions (the fast scorer or a script, 99.6% right on 300+ bytes) and callers' language
//! hints are counted, never the short records' own guesses, so the prior cannot feed itself.
//! Every language stays a candidate (an unseen one at the smoothed weight of no decisions), so
//! a stream sorted by language still labels the short records of a language it reaches late,
//! when their evidence is strong.
//!
//! Cold start: no prior until [`super::prior::MIN_DOCUMENTS`] decisions are counted (short
//! records are detected as without one until then); it is rebuilt when the count doubles, then
//! every [`REBUILD_EVERY`] decisions. Or a configured distribution is used from the start
//! (`detect.prior`). One per worker process, shared by its detection threads.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use super::{CorpusPrior, Detector};

/// Counted decisions between rebuilds of a learned prior, once it has doubled up to this. A
/// rebuild only recomputes the weights (lingua's all-language detector is shared), so it is
/// cheap; rebuilding often keeps up with streams sorted by language.
pub const REBUILD_EVERY: u64 = 1_000;

/// A stream's language distribution, learned or configured.
pub struct LearnedPrior {
    detector: Arc<Detector>,
    /// Decisions per detector language (`Detector::languages` order).
    codes: Vec<&'static str>,
    counts: Vec<AtomicU64>,
    seen: AtomicU64,
    /// `seen` at which the prior is next rebuilt (`u64::MAX` when configured).
    next_build: AtomicU64,
    current: RwLock<Option<Arc<CorpusPrior>>>,
    building: Mutex<()>,
}

impl LearnedPrior {
    /// A prior learned from the stream's confident decisions.
    pub fn learning(detector: Arc<Detector>) -> LearnedPrior {
        let codes = detector.languages();
        let counts = codes.iter().map(|_| AtomicU64::new(0)).collect();
        LearnedPrior {
            detector,
            codes,
            counts,
            seen: AtomicU64::new(0),
            next_build: AtomicU64::new(super::prior::MIN_DOCUMENTS),
            current: RwLock::new(None),
            building: Mutex::new(()),
        }
    }

    /// A fixed prior from configured documents (or any relative weights) per language; never
    /// learns.
    pub fn configured(detector: Arc<Detector>, counts: &[(String, u64)]) -> LearnedPrior {
        let prior = configured_prior(&detector, counts).map(Arc::new);
        let learned = LearnedPrior::learning(detector);
        learned.next_build.store(u64::MAX, Ordering::Relaxed);
        *crate::write_lock(&learned.current) = prior;
        learned
    }

    /// The prior now, if there is one yet.
    pub fn current(&self) -> Option<Arc<CorpusPrior>> {
        crate::read_lock(&self.current).clone()
    }

    /// Counts one confident decision for `lang` (a long document's, or a caller's hint);
    /// rebuilds the prior when it is due (on this thread, a few milliseconds at most).
    pub fn observe(&self, lang: &str) {
        let Ok(i) = self.codes.binary_search_by(|code| (*code).cmp(lang)) else {
            return;
        };
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        let seen = self.seen.fetch_add(1, Ordering::Relaxed) + 1;
        if seen < self.next_build.load(Ordering::Relaxed) {
            return;
        }
        // One thread rebuilds; the others go on with the current prior.
        let Ok(_building) = self.building.try_lock() else {
            return;
        };
        if seen < self.next_build.load(Ordering::Relaxed) {
            return;
        }
        self.next_build
            .store(seen + seen.min(REBUILD_EVERY), Ordering::Relaxed);
        let counts: Vec<(String, u64)> = self
            .codes
            .iter()
            .zip(&self.counts)
            .map(|(code, n)| (code.to_string(), n.load(Ordering::Relaxed)))
            .filter(|(_, n)| *n > 0)
            .collect();
        let prior = self.detector.stream_prior(&counts).map(Arc::new);
        *crate::write_lock(&self.current) = prior;
    }
}

/// The prior of a configured distribution (`detect.prior`): documents or any relative weights
/// per language, since weights as small as `en = 7, de = 3` are shares, not too few documents.
pub fn configured_prior(detector: &Detector, counts: &[(String, u64)]) -> Option<CorpusPrior> {
    let total: u64 = counts.iter().map(|(_, n)| *n).sum::<u64>().max(1);
    let scaled: Vec<(String, u64)> = counts
        .iter()
        .map(|(code, n)| (code.clone(), n.saturating_mul(1_000_000) / total))
        .collect();
    detector.stream_prior(&scaled)
}

/// At most this many sources learn a prior of their own; records of further sources are
/// weighed by the worker's prior only (a directory of many small files, say).
pub const MAX_SOURCES: usize = 256;

/// Learned priors per source, beside the worker's: a source that has shown enough confident
/// decisions weighs its short records by its own languages (a Kafka topic of Danish news, an S3
/// prefix of Czech tickets), a source that has not yet by the worker's. A configured prior is
/// the same for every source.
pub struct SourcePriors {
    detector: Arc<Detector>,
    worker: LearnedPrior,
    /// `None` for a configured prior (no per-source learning).
    sources: Option<std::sync::RwLock<std::collections::HashMap<String, Arc<LearnedPrior>>>>,
}

impl SourcePriors {
    /// Priors learned from the stream, per source and for the worker.
    pub fn learning(detector: Arc<Detector>) -> SourcePriors {
        SourcePriors {
            worker: LearnedPrior::learning(detector.clone()),
            detector,
            sources: Some(Default::default()),
        }
    }

    /// A fixed prior for every source (`detect.prior`).
    pub fn configured(detector: Arc<Detector>, counts: &[(String, u64)]) -> SourcePriors {
        SourcePriors {
            worker: LearnedPrior::configured(detector.clone(), counts),
            detector,
            sources: None,
        }
    }

    /// The prior for a record from `position_source` (a record position's source): its
    /// source's own once learned, else the worker's.
    pub fn current(&self, position_source: &str) -> Option<Arc<CorpusPrior>> {
        self.source(position_source, false)
            .and_then(|prior| prior.current())
            .or_else(|| self.worker.current())
    }

    /// Counts one confident decision of a record from `position_source`, for its source and
    /// for the worker.
    pub fn observe(&self, position_source: &str, lang: &str) {
        self.worker.observe(lang);
        if let Some(prior) = self.source(position_source, true) {
            prior.observe(lang);
        }
    }

    /// The source's prior; created when `create` and there is room under [`MAX_SOURCES`].
    fn source(&self, position_source: &str, create: bool) -> Option<Arc<LearnedPrior>> {
        let sources = self.sources.as_ref()?;
        let key = source_key(position_source);
        if let Some(prior) = crate::read_lock(sources).get(key) {
            return Some(prior.clone());
        }
        if !create {
            return None;
        }
        let mut sources = crate::write_lock(sources);
        if sources.len() >= MAX_SOURCES && !sources.contains_key(key) {
            return None;
        }
        Some(
            sources
                .entry(key.to_string())
                .or_insert_with(|| Arc::new(LearnedPrior::learning(self.detector.clone())))
                .clone(),
        )
    }
}

/// What a prior is learned per, from a record position's source: a Kafka topic (all its
/// partitions), an S3 bucket, every HTTP push alike, and each file (or stdin).
pub fn source_key(position_source: &str) -> &str {
    if let Some(rest) = position_source.strip_prefix("kafka:") {
        let topic_len = rest.rfind('/').unwrap_or(rest.len());
        return &position_source[..6 + topic_len];
    }
    if let Some(rest) = position_source.strip_prefix("s3://") {
        let bucket_len = rest.find('/').unwrap_or(rest.len());
        return &position_source[..5 + bucket_len];
    }
    if position_source.starts_with("http:") {
        return "http";
    }
    position_source
}

#[cfg(test)]
mod tests {
    use super::source_key;

    #[test]
    fn sources_are_topics_buckets_http_and_files() {
        assert_eq!(source_key("kafka:news-da/3"), "kafka:news-da");
        assert_eq!(source_key("kafka:a/b/0"), "kafka:a/b");
        assert_eq!(
            source_key("s3://tickets/2026/12/part-1.ndjson"),
            "s3://tickets"
        );
        assert_eq!(source_key("s3://tickets"), "s3://tickets");
        assert_eq!(source_key("http:17"), "http");
        assert_eq!(source_key("/data/in.ndjson"), "/data/in.ndjson");
        assert_eq!(source_key("stdin"), "stdin");
    }
}
