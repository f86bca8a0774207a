//! Collectors: a top-N that starts after a cursor (cheap deep pagination), and language facets.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader};

use crate::search::Cursor;

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

/// Keeps the best `size` hits that sort after the cursor: memory O(size) however deep the page.
pub struct TopAfter {
    size: usize,
    after: Option<Key>,
    id_hash_field: String,
}

impl TopAfter {
    /// `id_hash_field` names the u64 fast field that breaks score ties.
    pub fn new(size: usize, cursor: Option<&Cursor>, id_hash_field: &str) -> Self {
        TopAfter {
            size,
            after: cursor.map(|c| Key(c.score, c.id_hash)),
            id_hash_field: id_hash_field.to_string(),
        }
    }
}

pub struct TopAfterSegment {
    segment: SegmentOrdinal,
    id_hashes: Column<u64>,
    size: usize,
    after: Option<Key>,
    heap: BinaryHeap<Reverse<(Key, DocId)>>,
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
            heap: BinaryHeap::with_capacity(self.size + 1),
        })
    }

    fn requires_scoring(&self) -> bool {
        true
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

    fn collect(&mut self, doc: DocId, score: Score) {
        if self.size == 0 {
            return;
        }
        // Most documents of a broad query score below a full page's lowest, or above where the
        // cursor's page ended: skip them before reading their id hash.
        if self.heap.len() >= self.size
            && self
                .heap
                .peek()
                .is_some_and(|Reverse((min, _))| score < min.0)
        {
            return;
        }
        if self.after.is_some_and(|after| score > after.0) {
            return;
        }
        let key = Key(score, self.id_hashes.first(doc).unwrap_or(0));
        if self.after.is_some_and(|after| key >= after) {
            return;
        }
        if self.heap.len() < self.size {
            self.heap.push(Reverse((key, doc)));
        } else if self.heap.peek().is_some_and(|Reverse((min, _))| key > *min) {
            self.heap.pop();
            self.heap.push(Reverse((key, doc)));
        }
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
