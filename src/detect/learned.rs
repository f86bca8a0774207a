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
