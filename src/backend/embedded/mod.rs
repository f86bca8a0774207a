//! The embedded backend: a Tantivy index on local disk. No external service, the default way to run.

mod collect;
mod field_statistics;
mod query;
pub mod schema;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tantivy::collector::TopDocs;
use tantivy::directory::MmapDirectory;
use tantivy::indexer::LogMergePolicy;
use tantivy::query::TermQuery;
use tantivy::schema::{IndexRecordOption, Value as _};
use tantivy::{
    DateTime, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term,
};

use crate::record::Document;
use crate::search::cursor::{digest_all, Cursor, Snapshot, FOREIGN_CURSOR};
use crate::search::{Hit, SearchQuery, SearchResult, StoredDocument, TotalRelation};

pub use schema::Fields;

/// Failures of the embedded index; `InvalidQuery` is the caller's fault, the rest are ours.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error("cannot open the index directory {path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error("index error: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("{0}")]
    InvalidQuery(String),
    /// A cursor whose pages can no longer be served consistently (410: search again).
    #[error("{0}")]
    ExpiredCursor(String),
}

fn expired(cursor: &Cursor) -> EmbeddedError {
    EmbeddedError::ExpiredCursor(format!(
        "cursor expired: the index snapshot its pages were read from is no longer kept (search.cursor_keep_alive_seconds, search.max_open_cursors), and the current one no longer orders the {} hits already served the same way (or they are deeper than it re-checks); search again without a cursor",
        cursor.served
    ))
}

/// Segments with more documents than this are not merged again (Tantivy's default is 10
/// million): a merge of eight such segments writes at most about 2 million documents, so the
/// merge work per indexed document and the memory a merge holds stop growing with the index.
/// Measured on real text to 10 million documents: docs/benchmarks/scale.md.
pub const MAX_DOCS_BEFORE_MERGE: usize = 250_000;

/// Indexing memory of the writer `compact` opens: it adds nothing, it only merges.
const COMPACT_MEMORY_BYTES: usize = 50_000_000;

/// Segments before and after [`EmbeddedIndex::compact`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compaction {
    pub before: usize,
    pub after: usize,
}

/// `segments` (id, documents) in at most `groups` groups of about equal documents: the largest
/// first, each into the group holding the fewest so far.
fn balanced_groups(
    mut segments: Vec<(tantivy::index::SegmentId, u32)>,
    groups: usize,
) -> Vec<Vec<tantivy::index::SegmentId>> {
    segments.sort_by_key(|(_, docs)| std::cmp::Reverse(*docs));
    let mut out: Vec<(u64, Vec<tantivy::index::SegmentId>)> = Vec::new();
    for (id, docs) in segments {
        if out.len() < groups {
            out.push((u64::from(docs), vec![id]));
        } else if let Some(smallest) = out.iter_mut().min_by_key(|(total, _)| *total) {
            smallest.0 += u64::from(docs);
            smallest.1.push(id);
        }
    }
    out.into_iter().map(|(_, ids)| ids).collect()
}

/// What idle-time compaction merges (`crate::sink`): groups of segments, each to become one
/// segment; empty while the index has at most `2 * target` segments. A segment holding at least
/// half of a target share (documents / `target`) is left alone, so a compacted index that gains
/// a few documents merges only its new small segments, not its large ones again: that leaves at
/// most `2 * target` large segments, and every document is rewritten a bounded number of times.
/// The small ones are grouped into as few groups of about a share as hold them.
pub(crate) fn idle_compaction_plan(
    segments: Vec<(tantivy::index::SegmentId, u32)>,
    target: usize,
) -> Vec<Vec<tantivy::index::SegmentId>> {
    let target = target.max(1);
    if segments.len() <= 2 * target {
        return Vec::new();
    }
    let total: u64 = segments.iter().map(|(_, docs)| u64::from(*docs)).sum();
    let share = total.div_ceil(target as u64).max(1);
    let small: Vec<_> = segments
        .into_iter()
        .filter(|(_, docs)| u64::from(*docs) * 2 < share)
        .collect();
    let small_total: u64 = small.iter().map(|(_, docs)| u64::from(*docs)).sum();
    let groups = small_total.div_ceil(share).max(1) as usize;
    balanced_groups(small, groups)
        .into_iter()
        .filter(|group| group.len() > 1)
        .collect()
}

/// File in the data directory naming the live index directory (written by reindex swaps);
/// without it the live index is `index`.
const LIVE_POINTER: &str = "index-live";

/// The directory of the live index version under `data_dir`.
pub fn live_index_dir(data_dir: &Path) -> PathBuf {
    match std::fs::read_to_string(data_dir.join(LIVE_POINTER)) {
        Ok(name) if !name.trim().is_empty() => data_dir.join(name.trim()),
        _ => data_dir.join("index"),
    }
}

/// Makes `name` (a directory under `data_dir`) the live index, atomically: the pointer is
/// written aside, synced, and renamed over the old one.
pub fn set_live_index_dir(data_dir: &Path, name: &str) -> std::io::Result<()> {
    let pointer = data_dir.join(LIVE_POINTER);
    let aside = data_dir.join(format!("{LIVE_POINTER}.new"));
    {
        let mut file = std::fs::File::create(&aside)?;
        std::io::Write::write_all(&mut file, name.as_bytes())?;
        file.sync_all()?;
    }
    std::fs::rename(&aside, &pointer)?;
    std::fs::File::open(data_dir)?.sync_all()
}

/// How long and how many index snapshots cursors may keep.
#[derive(Clone, Copy, Debug)]
pub struct CursorLimits {
    /// A snapshot no cursor has read for this long is dropped.
    pub keep_alive: Duration,
    /// Most snapshots kept at once; the least recently read one is dropped first.
    pub max_snapshots: usize,
}

impl Default for CursorLimits {
    fn default() -> Self {
        CursorLimits {
            keep_alive: Duration::from_secs(300),
            max_snapshots: 64,
        }
    }
}

/// Index snapshots (searchers) that issued cursors, by generation, with when a cursor last read
/// each. A kept searcher keeps its segment files on disk, so the count and age are bounded.
struct Snapshots {
    limits: CursorLimits,
    kept: HashMap<u64, (Searcher, Instant)>,
}

impl Snapshots {
    fn expire(&mut self, now: Instant) {
        let keep_alive = self.limits.keep_alive;
        self.kept
            .retain(|_, (_, used)| now.duration_since(*used) <= keep_alive);
    }

    /// The snapshot of `generation`, if kept; reading it counts as a use.
    fn get(&mut self, generation: u64) -> Option<Searcher> {
        let now = Instant::now();
        self.expire(now);
        let (searcher, used) = self.kept.get_mut(&generation)?;
        *used = now;
        Some(searcher.clone())
    }

    /// Keeps `searcher` for the cursors issued on it, dropping the least recently read
    /// snapshot when full (cursors on it are then re-checked, see [`crate::search::cursor`]).
    fn keep(&mut self, searcher: &Searcher) {
        let now = Instant::now();
        self.expire(now);
        let generation = searcher.generation().generation_id();
        if let Some((_, used)) = self.kept.get_mut(&generation) {
            *used = now;
            return;
        }
        while self.kept.len() >= self.limits.max_snapshots.max(1) {
            let Some(oldest) = self
                .kept
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(generation, _)| *generation)
            else {
                break;
            };
            self.kept.remove(&oldest);
        }
        self.kept.insert(generation, (searcher.clone(), now));
    }
}

/// Longest postings list `term_languages` walks for one term: about 2 ms.
const MAX_WORD_POSTINGS: u64 = 2_000_000;

/// An open embedded index: schema, reader and the snapshots cursors page through.
pub struct EmbeddedIndex {
    dir: PathBuf,
    index: Index,
    reader: IndexReader,
    fields: Fields,
    text_fields: Vec<String>,
    snapshots: Mutex<Snapshots>,
}

/// Where a page starts.
enum Start<'a> {
    Top,
    /// After the cursor's position, on the cursor's own snapshot.
    After(&'a Cursor),
    /// The cursor's snapshot is gone: re-run from the top on the newest one, check the hits
    /// already served are the same, and continue after them.
    Recheck(&'a Cursor),
}

impl EmbeddedIndex {
    /// Opens the index under `dir`, creating it on first use.
    pub fn open(dir: &Path, text_fields: Vec<String>) -> Result<EmbeddedIndex, EmbeddedError> {
        let open_err = |message: String| EmbeddedError::Open {
            path: dir.to_path_buf(),
            message,
        };
        std::fs::create_dir_all(dir).map_err(|e| open_err(e.to_string()))?;
        let directory = MmapDirectory::open(dir).map_err(|e| open_err(e.to_string()))?;
        let (schema, fields) = schema::build();
        let mut index = Index::open_or_create(directory, schema).map_err(|e| {
            open_err(format!(
                "{e} (was it written by an incompatible Glossa version? reindex into a new data directory)"
            ))
        })?;
        // One search reads its segments on every core: a large index has many segments (see
        // MAX_DOCS_BEFORE_MERGE), and one query's latency is then the slowest segment's.
        index
            .set_default_multithread_executor()
            .map_err(|e| open_err(format!("cannot start the search threads: {e}")))?;
        crate::analysis::register(index.tokenizers());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(EmbeddedIndex {
            dir: dir.to_path_buf(),
            index,
            reader,
            fields,
            text_fields,
            snapshots: Mutex::new(Snapshots {
                limits: CursorLimits::default(),
                kept: HashMap::new(),
            }),
        })
    }

    /// Sets how long and how many snapshots cursors may keep (the defaults otherwise).
    pub fn with_cursor_limits(self, limits: CursorLimits) -> Self {
        self.snapshots().limits = limits;
        self
    }

    /// A writer; only one may exist per index (Tantivy holds a lock file). Its merges leave
    /// segments of more than [`MAX_DOCS_BEFORE_MERGE`] documents alone.
    pub fn writer(&self, memory_budget_bytes: usize) -> Result<EmbeddedWriter, EmbeddedError> {
        let writer = self.index.writer(memory_budget_bytes)?;
        let mut policy = LogMergePolicy::default();
        policy.set_max_docs_before_merge(MAX_DOCS_BEFORE_MERGE);
        writer.set_merge_policy(Box::new(policy));
        Ok(EmbeddedWriter {
            writer,
            fields: self.fields.clone(),
        })
    }

    /// Merges the index's segments into at most `max_segments` of about equal size, dropping
    /// deleted documents: for a read-mostly index after a bulk load, since each search looks
    /// every query term up in every segment, and ingest's merges stop at segments of
    /// [`MAX_DOCS_BEFORE_MERGE`] documents (31 segments at 10 million documents, searched
    /// 1.5-2x slower than 2 or 4: docs/benchmarks/scale.md). Takes the index's writer lock, so
    /// fails while another process (`glossa serve`, `glossa ingest`) writes to it.
    pub fn compact(&self, max_segments: usize) -> Result<Compaction, EmbeddedError> {
        let mut writer: IndexWriter = self.index.writer(COMPACT_MEMORY_BYTES)?;
        writer.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
        let segments = self.segment_docs()?;
        let before = segments.len();
        let groups = balanced_groups(segments, max_segments.max(1));
        let merges: Vec<_> = groups
            .iter()
            .filter(|group| group.len() > 1)
            .map(|group| writer.merge(group))
            .collect();
        for merge in merges {
            merge.wait()?;
        }
        // The reader lets go of the merged segments; only then can their files be deleted.
        self.refresh()?;
        writer.garbage_collect_files().wait()?;
        writer.wait_merging_threads()?;
        Ok(Compaction {
            before,
            after: self.index.searchable_segment_ids()?.len(),
        })
    }

    /// The searchable segments and their documents (deleted ones not counted). Their metas are
    /// dropped at once: a live one keeps its segment's files from collection after a merge.
    pub(crate) fn segment_docs(
        &self,
    ) -> Result<Vec<(tantivy::index::SegmentId, u32)>, EmbeddedError> {
        Ok(self
            .index
            .searchable_segment_metas()?
            .iter()
            .map(|m| (m.id(), m.num_docs()))
            .collect())
    }

    /// `Ok` when the disk can hold a merge of these segments (it writes them again before their
    /// files go) and still keep `min_free_bytes`; else what is needed and what is free. A disk
    /// whose free space cannot be read does not stop the merge (the merge would report it).
    pub(crate) fn room_to_merge(
        &self,
        segments: &[tantivy::index::SegmentId],
        min_free_bytes: u64,
    ) -> Result<(), String> {
        let names: std::collections::HashSet<String> =
            segments.iter().map(|id| id.uuid_string()).collect();
        let bytes: u64 = std::fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|entry| {
                        let name = entry.file_name();
                        let name = name.to_string_lossy();
                        name.split('.').next().is_some_and(|id| names.contains(id))
                    })
                    .filter_map(|entry| entry.metadata().ok())
                    .map(|meta| meta.len())
                    .sum()
            })
            .unwrap_or(0);
        let needed = bytes.saturating_add(min_free_bytes);
        match fs4::available_space(&self.dir) {
            Ok(free) if free < needed => Err(format!(
                "merging {} MiB of segments needs {} MiB free on the disk of {} (with limits.min_free_disk_mb), and {} MiB are",
                bytes >> 20,
                needed >> 20,
                self.dir.display(),
                free >> 20
            )),
            _ => Ok(()),
        }
    }

    /// Segments searches read now: each search looks every term up in each of them.
    pub fn segment_count(&self) -> usize {
        self.reader.searcher().segment_readers().len()
    }

    /// Makes committed documents visible to searches.
    pub fn refresh(&self) -> Result<(), EmbeddedError> {
        self.reader.reload()?;
        Ok(())
    }

    /// Number of searchable documents.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// For each term of the generic field, how many documents of each language hold it: all of
    /// them when at most `sample` do, else about `sample` of them taken evenly along its
    /// postings (every k-th), so the sample is not the oldest documents' languages. The
    /// index's own vocabulary as evidence of a query's language (`query_language`). Reads the
    /// language of at most `sample` documents per term, but decodes its whole postings list
    /// (about 1 ns a document, block by block): a term listed in more than
    /// [`MAX_WORD_POSTINGS`] documents is left out (empty), as OpenSearch leaves out a term it
    /// cannot count in time.
    /// CPU-bound: call from a blocking thread.
    pub fn term_languages(
        &self,
        terms: &[String],
        sample: usize,
    ) -> Result<Vec<BTreeMap<String, u64>>, EmbeddedError> {
        let searcher = self.reader.searcher();
        let mut answers = Vec::with_capacity(terms.len());
        for text in terms {
            let term = tantivy::Term::from_field_text(self.fields.generic, text);
            // Deleted documents included: they are skipped where the stride lands on them.
            let listed = searcher.doc_freq(&term)?;
            if listed > MAX_WORD_POSTINGS {
                answers.push(BTreeMap::new());
                continue;
            }
            let step = listed.div_ceil(sample.max(1) as u64).max(1);
            let mut counts = BTreeMap::new();
            let mut position = 0u64;
            for segment in searcher.segment_readers() {
                let Some(mut blocks) = segment
                    .inverted_index(self.fields.generic)?
                    .read_block_postings(&term, IndexRecordOption::Basic)
                    .map_err(tantivy::TantivyError::from)?
                else {
                    continue;
                };
                let Some(column) = segment.fast_fields().str(schema::LANG_FIELD)? else {
                    continue;
                };
                let alive = segment.alive_bitset();
                let mut per_ord: HashMap<u64, u64> = HashMap::new();
                // Whole blocks of 128 decoded at once: a third of a doc-at-a-time walk's time.
                while !blocks.docs().is_empty() {
                    let docs = blocks.docs();
                    let end = position + docs.len() as u64;
                    // The first position at or after this block's start that the stride takes.
                    let mut taken = position.div_ceil(step) * step;
                    while taken < end {
                        let doc = docs[(taken - position) as usize];
                        if alive.is_none_or(|alive| alive.is_alive(doc)) {
                            for ord in column.term_ords(doc) {
                                *per_ord.entry(ord).or_insert(0) += 1;
                            }
                        }
                        taken += step;
                    }
                    position = end;
                    blocks.advance();
                }
                let mut lang = String::new();
                for (ord, n) in per_ord {
                    lang.clear();
                    if column
                        .ord_to_str(ord, &mut lang)
                        .map_err(tantivy::TantivyError::from)?
                    {
                        *counts.entry(lang.clone()).or_insert(0) += n;
                    }
                }
            }
            answers.push(counts);
        }
        Ok(answers)
    }

    /// Bytes on disk of each field (terms, postings, positions, norms, fast columns) and of
    /// the document store (under `_store`), in the current snapshot: what `glossa plan`
    /// attributes to each language (its `text_xx` field is its own).
    pub fn space_by_field(&self) -> Result<BTreeMap<String, u64>, EmbeddedError> {
        let usage = self
            .reader
            .searcher()
            .space_usage()
            .map_err(|e| EmbeddedError::Tantivy(e.into()))?;
        let mut bytes = BTreeMap::new();
        for segment in usage.segments() {
            for part in [
                segment.termdict(),
                segment.postings(),
                segment.positions(),
                segment.fieldnorms(),
                segment.fast_fields(),
            ] {
                for field in part.fields() {
                    *bytes.entry(field.field_name().to_string()).or_insert(0) +=
                        field.total().get_bytes();
                }
            }
            *bytes.entry("_store".to_string()).or_insert(0) += segment.store().total().get_bytes();
        }
        Ok(bytes)
    }

    fn snapshots(&self) -> std::sync::MutexGuard<'_, Snapshots> {
        // The map stays consistent whatever a panicking holder did: every change is one call.
        self.snapshots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs a search. CPU-bound: call from a blocking thread.
    pub fn search(&self, request: &SearchQuery) -> Result<SearchResult, EmbeddedError> {
        let (searcher, start) = match &request.cursor {
            None => (self.reader.searcher(), Start::Top),
            Some(cursor) => match cursor.snapshot {
                Snapshot::Generation(generation) => match self.snapshots().get(generation) {
                    Some(searcher) => (searcher, Start::After(cursor)),
                    None => (self.reader.searcher(), Start::Recheck(cursor)),
                },
                _ => return Err(EmbeddedError::InvalidQuery(FOREIGN_CURSOR.into())),
            },
        };
        let built = query::build(&searcher, &self.fields, request)?;
        let started = std::time::Instant::now();
        let (skip, top) = match start {
            Start::Top => (
                0,
                collect::TopAfter::new(request.size, None, schema::ID_HASH_FIELD),
            ),
            Start::After(cursor) => (
                0,
                collect::TopAfter::new(request.size, Some(cursor), schema::ID_HASH_FIELD),
            ),
            Start::Recheck(cursor) => {
                if !cursor.recheckable(request.size) {
                    return Err(expired(cursor));
                }
                let served = cursor.served as usize;
                (
                    served,
                    collect::TopAfter::new(served + request.size, None, schema::ID_HASH_FIELD),
                )
            }
        };
        // A query WAND cannot prune is searched through its bound and ranked by itself.
        let (searched, top) = match &built.bound {
            Some(bound) => {
                let scoring = tantivy::query::EnableScoring::enabled_from_searcher(&searcher);
                (bound, top.ranked_by(built.query.weight(scoring)?))
            }
            None => (&built.query, top),
        };
        let mut page = searcher.search(searched.as_ref(), &top)?;
        let (mut total, mut total_exact) = top.total();
        let mut languages = None;
        if request.facets {
            // Every match once more, unscored: the exact total and the per-language counts.
            let facets = collect::LanguageFacets::new(schema::LANG_FIELD);
            let (count, counted) =
                searcher.search(&built.query, &(tantivy::collector::Count, facets))?;
            (total, total_exact) = (count as u64, true);
            languages = Some(counted);
        }
        let (served, digest) = match start {
            Start::Top => (0, 0),
            Start::After(cursor) => (cursor.served, cursor.digest),
            Start::Recheck(cursor) => {
                if !cursor.served_the_same(page.iter().map(|e| e.id_hash)) {
                    return Err(expired(cursor));
                }
                page.drain(..skip);
                (cursor.served, cursor.digest)
            }
        };
        let highlighter = if request.highlight {
            Some(query::Highlighter::new(&searcher, &built, &self.fields)?)
        } else {
            None
        };
        let mut hits = Vec::with_capacity(page.len());
        for entry in &page {
            let doc: TantivyDocument = searcher.doc(entry.address)?;
            hits.push(self.hit(&doc, entry.score, highlighter.as_ref()));
        }
        let next_cursor = match page.last() {
            Some(last) if page.len() == request.size => {
                self.snapshots().keep(&searcher);
                Some(
                    Cursor {
                        score: last.score,
                        id_hash: last.id_hash,
                        served: served.saturating_add(page.len() as u32),
                        digest: digest_all(digest, page.iter().map(|e| e.id_hash)),
                        snapshot: Snapshot::Generation(searcher.generation().generation_id()),
                    }
                    .encode(),
                )
            }
            _ => None,
        };
        Ok(SearchResult {
            total,
            total_relation: TotalRelation::exact_if(total_exact),
            hits,
            languages,
            next_cursor,
            backend_took_ms: started.elapsed().as_secs_f64() * 1000.0,
        })
    }

    /// The stored language confidence of a document (0 when absent).
    fn confidence(&self, doc: &TantivyDocument) -> f64 {
        doc.get_first(self.fields.confidence)
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0)
    }

    /// The document with this id in the newest snapshot.
    pub fn get(&self, id: &str) -> Result<Option<StoredDocument>, EmbeddedError> {
        let searcher = self.reader.searcher();
        let query = TermQuery::new(
            Term::from_field_text(self.fields.id, id),
            IndexRecordOption::Basic,
        );
        let found = searcher.search(&query, &TopDocs::with_limit(1).order_by_score())?;
        let Some((_, address)) = found.first() else {
            return Ok(None);
        };
        let doc: TantivyDocument = searcher.doc(*address)?;
        let text = |field| stored_text(&doc, field);
        let ingested_at = doc
            .get_first(self.fields.ingested_at)
            .and_then(|v| v.as_datetime())
            .and_then(|at| {
                at.into_utc()
                    .format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default();
        Ok(Some(StoredDocument {
            id: text(self.fields.id),
            lang: text(self.fields.lang),
            lang_confidence: self.confidence(&doc),
            lang_method: text(self.fields.lang_method),
            ingested_at,
            source: serde_json::from_str(&text(self.fields.source))
                .unwrap_or(serde_json::Value::Null),
        }))
    }

    fn hit(
        &self,
        doc: &TantivyDocument,
        score: f32,
        highlighter: Option<&query::Highlighter>,
    ) -> Hit {
        let text = |field| stored_text(doc, field);
        let source: serde_json::Value =
            serde_json::from_str(&text(self.fields.source)).unwrap_or(serde_json::Value::Null);
        let mut highlights = std::collections::BTreeMap::new();
        if let Some(highlighter) = highlighter {
            for name in &self.text_fields {
                let values: Vec<&str> = match source.get(name) {
                    Some(serde_json::Value::String(s)) => vec![s.as_str()],
                    Some(serde_json::Value::Array(items)) => {
                        items.iter().filter_map(|v| v.as_str()).collect()
                    }
                    _ => Vec::new(),
                };
                if let Some(fragment) = values.iter().find_map(|v| highlighter.fragment(v)) {
                    highlights.insert(name.clone(), fragment);
                }
            }
        }
        Hit {
            id: text(self.fields.id),
            lang: text(self.fields.lang),
            lang_confidence: self.confidence(doc),
            score,
            highlights,
            source,
        }
    }
}

/// A stored text field's first value, or empty.
fn stored_text(doc: &TantivyDocument, field: tantivy::schema::Field) -> String {
    doc.get_first(field)
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The single writer of an embedded index.
pub struct EmbeddedWriter {
    writer: IndexWriter,
    fields: Fields,
}

impl EmbeddedWriter {
    /// Removes the document with this id, if there is one.
    pub fn delete(&mut self, id: &str) {
        self.writer
            .delete_term(Term::from_field_text(self.fields.id, id));
    }

    /// Adds or replaces the document with the same id, so replays never duplicate.
    pub fn upsert(&mut self, doc: &Document, now: DateTime) -> Result<(), EmbeddedError> {
        let id = Term::from_field_text(self.fields.id, &doc.record.id);
        self.writer.delete_term(id);
        self.writer
            .add_document(schema::to_tantivy(&self.fields, doc, now))?;
        Ok(())
    }

    /// Makes everything added so far durable; only then may records be acknowledged.
    pub fn commit(&mut self) -> Result<(), EmbeddedError> {
        self.writer.commit()?;
        Ok(())
    }

    /// Discards everything added since the last commit, after a failed commit.
    pub fn rollback(&mut self) -> Result<(), EmbeddedError> {
        self.writer.rollback()?;
        Ok(())
    }

    /// Starts merging these committed segments into one on the writer's merge threads; the
    /// answer resolves when the merged segment is committed (or the merge failed: its segments
    /// changed meanwhile, or the disk is full), and the index is unchanged until then.
    pub(crate) fn merge(
        &mut self,
        segments: &[tantivy::index::SegmentId],
    ) -> tantivy::FutureResult<Option<tantivy::index::SegmentMeta>> {
        self.writer.merge(segments)
    }

    /// Finishes background merges before exit, so the next start finds a tidy index.
    pub fn close(self) -> Result<(), EmbeddedError> {
        self.writer.wait_merging_threads()?;
        Ok(())
    }
}
