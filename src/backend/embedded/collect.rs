//! Collectors: a top-N that starts after a cursor (cheap deep pagination) and prunes once the
//! total is counted far enough, and language facets.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering as AtomicOrdering};
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::query::{Scorer, Weight};
use tantivy::{DocAddress, DocId, DocSet, Score, SegmentOrdinal, SegmentReader};

use crate::search::{Cursor, TRACK_TOTAL_HITS};

/// Sort key of a hit: score, then id hash, both descending.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Key(Score, u64);

impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

/// One collected hit.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    pub address: DocAddress,
    pub score: Score,
    pub id_hash: u64,
}

/// How far apart, relative to the score, two summations of the same document's term scores may
/// land: pruning adds them in an order that depends on what it skipped, so scores near a
/// decision are recomputed in one fixed order before they are compared.
const SCORE_SLACK: f32 = 1e-4;

/// Keeps the best `size` hits that sort after the cursor: memory O(size) however deep the page,
/// and, once [`TRACK_TOTAL_HITS`] matches are counted, only the documents that can still make
/// the page are scored.
pub struct TopAfter {
    size: usize,
    after: Option<Key>,
    id_hash_field: String,
    shared: Arc<Shared>,
    /// The query the page is ranked by, when the searched one is only its bound (see
    /// [`super::query::Built::bound`]): the searched query's scores then only decide what to
    /// skip, and every hit is scored by this one.
    ranked_by: Option<Arc<dyn Weight>>,
}

/// What the segments of one search, collected in parallel, tell each other.
#[derive(Default)]
struct Shared {
    /// Matches counted so far, up to [`TRACK_TOTAL_HITS`] (a few over when segments race).
    counted: AtomicU64,
    /// The highest lowest score of any segment's full page, as f32 bits (scores are never
    /// negative, so the bits order as the numbers): the whole page's lowest score can only be
    /// higher, so every segment may skip what scores below it.
    floor: AtomicU32,
}

impl Shared {
    fn floor(&self) -> Score {
        Score::from_bits(self.floor.load(AtomicOrdering::Relaxed))
    }

    fn raise_floor(&self, score: Score) {
        if score > 0.0 {
            self.floor
                .fetch_max(score.to_bits(), AtomicOrdering::Relaxed);
        }
    }
}

impl TopAfter {
    /// `id_hash_field` names the u64 fast field that breaks score ties.
    pub fn new(size: usize, cursor: Option<&Cursor>, id_hash_field: &str) -> Self {
        TopAfter {
            size,
            after: cursor.map(|c| Key(c.score, c.id_hash)),
            id_hash_field: id_hash_field.to_string(),
            shared: Arc::default(),
            ranked_by: None,
        }
    }

    /// Ranks the page by `weight`'s scores, the searched query's being an upper bound of them.
    pub fn ranked_by(mut self, weight: Box<dyn Weight>) -> Self {
        self.ranked_by = Some(Arc::from(weight));
        self
    }

    /// After a search: the matches counted, and whether that is all of them (`false` once the
    /// count reached [`TRACK_TOTAL_HITS`]).
    pub fn total(&self) -> (u64, bool) {
        let counted = self.shared.counted.load(AtomicOrdering::Relaxed);
        if counted >= TRACK_TOTAL_HITS {
            (TRACK_TOTAL_HITS, false)
        } else {
            (counted, true)
        }
    }
}

pub struct TopAfterSegment {
    segment: SegmentOrdinal,
    id_hashes: Column<u64>,
    size: usize,
    after: Option<Key>,
    /// Whether offered scores are upper bounds (the exact score can be lower).
    bounds: bool,
    heap: BinaryHeap<Reverse<(Key, DocId)>>,
    shared: Arc<Shared>,
}

/// The slack around `score` within which a pruned sum may differ from the fixed-order one.
fn slack(score: Score) -> Score {
    score.abs() * SCORE_SLACK + f32::EPSILON
}

impl TopAfterSegment {
    /// The score a hit needs to make the page: this segment's lowest once its page is full,
    /// or another segment's if higher.
    fn lowest(&self) -> Option<Score> {
        let own = if self.heap.len() < self.size {
            None
        } else {
            self.heap.peek().map(|Reverse((min, _))| min.0)
        };
        let floor = self.shared.floor();
        match own {
            Some(own) => Some(own.max(floor)),
            None => (floor > 0.0).then_some(floor),
        }
    }

    /// The score under which pruning may skip a document: below the full page's lowest by more
    /// than the slack, or anything while every match is still being counted.
    fn threshold(&self, counting: bool) -> Score {
        if counting {
            return Score::MIN;
        }
        if self.size == 0 {
            return Score::MAX;
        }
        self.lowest()
            .map_or(Score::MIN, |lowest| lowest - slack(lowest))
    }

    /// Considers `doc`, whose pruned score (an upper bound, with `bounds`) is `rough`; `exact`
    /// gives its fixed-order score.
    fn offer(&mut self, doc: DocId, rough: Score, exact: &mut dyn FnMut(DocId) -> Option<Score>) {
        if self.size == 0 {
            return;
        }
        // Most documents of a broad query score below a full page's lowest, or above where the
        // cursor's page ended: skip them before the exact score and the id hash.
        if self
            .lowest()
            .is_some_and(|lowest| rough < lowest - slack(lowest))
        {
            return;
        }
        if !self.bounds
            && self
                .after
                .is_some_and(|after| rough > after.0 + slack(after.0))
        {
            return;
        }
        let score = exact(doc).unwrap_or(rough);
        let key = Key(score, self.id_hashes.first(doc).unwrap_or(0));
        if self.after.is_some_and(|after| key >= after) {
            return;
        }
        if self.heap.len() < self.size {
            self.heap.push(Reverse((key, doc)));
        } else if self.heap.peek().is_some_and(|Reverse((min, _))| key > *min) {
            self.heap.pop();
            self.heap.push(Reverse((key, doc)));
        } else {
            return;
        }
        if self.heap.len() == self.size {
            if let Some(Reverse((min, _))) = self.heap.peek() {
                self.shared.raise_floor(min.0);
            }
        }
    }
}

impl Collector for TopAfter {
    type Fruit = Vec<Entry>;
    type Child = TopAfterSegment;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<TopAfterSegment> {
        Ok(TopAfterSegment {
            segment,
            id_hashes: reader.fast_fields().u64(&self.id_hash_field)?,
            size: self.size,
            after: self.after,
            bounds: self.ranked_by.is_some(),
            heap: BinaryHeap::with_capacity(self.size + 1),
            shared: Arc::clone(&self.shared),
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    /// Counts every match until [`TRACK_TOTAL_HITS`] are counted (across segments searched in
    /// parallel), then lets the query skip what cannot make the page. A score that decides
    /// anything is recomputed by a second scorer that adds the terms in a fixed order, so the
    /// same document scores the same on every page of a cursor.
    fn collect_segment(
        &self,
        weight: &dyn Weight,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Vec<Entry>> {
        let mut page = self.for_segment(segment, reader)?;
        let alive = reader.alive_bitset();
        let mut fixed_order: Option<Box<dyn Scorer>> = None;
        let mut failed = None;
        let ranking = self.ranked_by.as_deref().unwrap_or(weight);
        let mut exact = |doc: DocId| -> Option<Score> {
            if fixed_order.is_none() {
                match ranking.scorer(reader, 1.0) {
                    Ok(scorer) => fixed_order = Some(scorer),
                    Err(e) => {
                        failed = Some(e);
                        return None;
                    }
                }
            }
            let scorer = fixed_order.as_mut()?;
            // Offered documents only ever ascend within a segment, as seek requires.
            (scorer.seek(doc) == doc).then(|| scorer.score())
        };
        let mut counting = self.shared.counted.load(AtomicOrdering::Relaxed) < TRACK_TOTAL_HITS;
        weight.for_each_pruning(Score::MIN, reader, &mut |doc, score| {
            if alive.is_some_and(|alive| alive.is_deleted(doc)) {
                return page.threshold(counting);
            }
            if counting {
                counting = self.shared.counted.fetch_add(1, AtomicOrdering::Relaxed) + 1
                    < TRACK_TOTAL_HITS;
            }
            page.offer(doc, score, &mut exact);
            page.threshold(counting)
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        Ok(page.harvest())
    }

    fn merge_fruits(&self, fruits: Vec<Vec<Entry>>) -> tantivy::Result<Vec<Entry>> {
        let mut all: Vec<Entry> = fruits.into_iter().flatten().collect();
        all.sort_by_key(|e| Reverse(Key(e.score, e.id_hash)));
        all.truncate(self.size);
        Ok(all)
    }
}

impl SegmentCollector for TopAfterSegment {
    type Fruit = Vec<Entry>;

    /// Only reached when this collector is combined with others (its own `collect_segment`
    /// prunes): every match is scored in one order then. Never with `ranked_by`, whose
    /// searches run this collector alone.
    fn collect(&mut self, doc: DocId, score: Score) {
        self.offer(doc, score, &mut |_| None);
    }

    fn harvest(self) -> Vec<Entry> {
        let segment = self.segment;
        self.heap
            .into_iter()
            .map(|Reverse((Key(score, id_hash), doc))| Entry {
                address: DocAddress::new(segment, doc),
                score,
                id_hash,
            })
            .collect()
    }
}

/// Counts matching documents per language.
pub struct LanguageFacets {
    field: String,
}

impl LanguageFacets {
    pub fn new(field: &str) -> Self {
        LanguageFacets {
            field: field.to_string(),
        }
    }
}

pub struct LanguageFacetsSegment {
    column: Option<StrColumn>,
    counts: Vec<u64>,
}

impl Collector for LanguageFacets {
    type Fruit = BTreeMap<String, u64>;
    type Child = LanguageFacetsSegment;

    fn for_segment(
        &self,
        _segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<LanguageFacetsSegment> {
        let column = reader.fast_fields().str(&self.field)?;
        let terms = column.as_ref().map_or(0, |c| c.num_terms());
        Ok(LanguageFacetsSegment {
            column,
            counts: vec![0; terms],
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(
        &self,
        fruits: Vec<BTreeMap<String, u64>>,
    ) -> tantivy::Result<BTreeMap<String, u64>> {
        let mut merged = BTreeMap::new();
        for fruit in fruits {
            for (lang, count) in fruit {
                *merged.entry(lang).or_insert(0) += count;
            }
        }
        Ok(merged)
    }
}

impl SegmentCollector for LanguageFacetsSegment {
    type Fruit = BTreeMap<String, u64>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        if let Some(column) = &self.column {
            for ord in column.term_ords(doc) {
                if let Some(count) = self.counts.get_mut(ord as usize) {
                    *count += 1;
                }
            }
        }
    }

    fn harvest(self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        let Some(column) = self.column else {
            return out;
        };
        let mut bytes = Vec::new();
        for (ord, count) in self.counts.into_iter().enumerate() {
            if count == 0 {
                continue;
            }
            bytes.clear();
            if column.ord_to_bytes(ord as u64, &mut bytes).unwrap_or(false) {
                out.insert(String::from_utf8_lossy(&bytes).into_owned(), count);
            }
        }
        out
    }
}
