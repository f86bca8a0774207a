//! The embedded backend: a Tantivy index on local disk. No external service, the default way to run.

mod collect;
mod query;
pub mod schema;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tantivy::directory::MmapDirectory;
use tantivy::schema::Value as _;
use tantivy::{
    DateTime, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term,
};

use crate::record::Document;
use crate::search::{Cursor, Hit, SearchQuery, SearchResult};

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

/// How long a search snapshot stays available to cursors after it stopped being the newest.
const SNAPSHOT_KEEP_ALIVE: Duration = Duration::from_secs(300);
/// How many past snapshots cursors can still page through.
const SNAPSHOTS_KEPT: usize = 16;

/// An open embedded index: schema, reader and recent snapshots for cursor pagination.
pub struct EmbeddedIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    text_fields: Vec<String>,
    snapshots: Mutex<VecDeque<(Instant, Searcher)>>,
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
        let index = Index::open_or_create(directory, schema).map_err(|e| {
            open_err(format!(
                "{e} (was it written by an incompatible Glossa version? reindex into a new data directory)"
            ))
        })?;
        crate::analysis::register(index.tokenizers());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(EmbeddedIndex {
            index,
            reader,
            fields,
            text_fields,
            snapshots: Mutex::new(VecDeque::new()),
        })
    }

    /// A writer; only one may exist per index (Tantivy holds a lock file).
    pub fn writer(&self, memory_budget_bytes: usize) -> Result<EmbeddedWriter, EmbeddedError> {
        let writer = self.index.writer(memory_budget_bytes)?;
        Ok(EmbeddedWriter {
            writer,
            fields: self.fields.clone(),
        })
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

    /// The newest snapshot, or the one a cursor was issued on if it is still kept.
    fn searcher_for(&self, cursor: Option<&Cursor>) -> Searcher {
        let current = self.reader.searcher();
        let Ok(mut snapshots) = self.snapshots.lock() else {
            return current;
        };
        let now = Instant::now();
        let current_generation = current.generation().generation_id();
        if snapshots
            .back()
            .is_none_or(|(_, s)| s.generation().generation_id() != current_generation)
        {
            snapshots.push_back((now, current.clone()));
        } else if let Some(back) = snapshots.back_mut() {
            back.0 = now;
        }
        while snapshots.len() > SNAPSHOTS_KEPT
            || snapshots
                .front()
                .is_some_and(|(used, _)| now.duration_since(*used) > SNAPSHOT_KEEP_ALIVE)
        {
            snapshots.pop_front();
        }
        if let Some(cursor) = cursor {
            if let Some((used, searcher)) = snapshots
                .iter_mut()
                .find(|(_, s)| s.generation().generation_id() == cursor.generation)
            {
                *used = now;
                return searcher.clone();
            }
        }
        current
    }

    /// Runs a search. CPU-bound: call from a blocking thread.
    pub fn search(&self, request: &SearchQuery) -> Result<SearchResult, EmbeddedError> {
        let searcher = self.searcher_for(request.cursor.as_ref());
        let built = query::build(&self.index, &self.fields, request)?;
        let top =
            collect::TopAfter::new(request.size, request.cursor.clone(), schema::ID_HASH_FIELD);
        let facets = collect::LanguageFacets::new(schema::LANG_FIELD);
        let (total, (languages, page)) =
            searcher.search(&built.query, &(tantivy::collector::Count, (facets, top)))?;
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
            Some(last) if page.len() == request.size => Some(
                Cursor {
                    score: last.score,
                    id_hash: last.id_hash,
                    generation: searcher.generation().generation_id(),
                    pit: None,
                }
                .encode(),
            ),
            _ => None,
        };
        Ok(SearchResult {
            total: total as u64,
            hits,
            languages,
            next_cursor,
        })
    }

    fn hit(
        &self,
        doc: &TantivyDocument,
        score: f32,
        highlighter: Option<&query::Highlighter>,
    ) -> Hit {
        let text = |field| {
            doc.get_first(field)
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        };
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
            lang_confidence: doc
                .get_first(self.fields.confidence)
                .and_then(|v| v.as_f64())
                .unwrap_or(0.0),
            score,
            highlights,
            source,
        }
    }
}

/// The single writer of an embedded index.
pub struct EmbeddedWriter {
    writer: IndexWriter,
    fields: Fields,
}

impl EmbeddedWriter {
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

    /// Finishes background merges before exit, so the next start finds a tidy index.
    pub fn close(self) -> Result<(), EmbeddedError> {
        self.writer.wait_merging_threads()?;
        Ok(())
    }
}
