//! Reindex jobs on the embedded backend: the live index directory (`index`, or the one the
//! `index-live` pointer names) is copied from its stored records into `index-v{n+1}`, verified,
//! and made live by rewriting the pointer atomically. The job holds the live index's writer lock
//! while it copies and swaps, so no `glossa serve` or `ingest` can write meanwhile (they say the
//! data directory is in use); a single machine has no live writes to catch up with.
//!
//! Checkpoints are per segment (segments are immutable): a killed job resumes with the segments
//! it had not finished. If a server wrote to the live index between a `--no-swap` verification
//! and the swap, the swap copies the new segments first.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use rayon::prelude::*;
use serde_json::{json, Value};
use tantivy::directory::{Directory, DirectoryLock, MmapDirectory, INDEX_WRITER_LOCK};
use tantivy::query::TermQuery;
use tantivy::schema::{IndexRecordOption, Value as _};
use tantivy::{DocAddress, Index, TantivyDocument, Term};
use time::format_description::well_known::Rfc3339;

use super::copy::CopyProgress;
use super::job::{Job, Phase};
use super::transform::rebuild_document;
use super::verify::{QueryCheck, Verification};
use super::{ReindexError, StartOptions};
use crate::backend::embedded::schema::ID_HASH_FIELD;
use crate::backend::embedded::{live_index_dir, set_live_index_dir, EmbeddedIndex};
use crate::config::Config;
use crate::decode::Decoder;
use crate::detect::{Detector, DetectorConfig};
use crate::dlq::{now_rfc3339, DeadLetterQueue};
use crate::record::SourcePosition;
use crate::route::Router;

/// Documents rebuilt in parallel between two rate-limit waits.
const CHUNK: usize = 1000;

/// Runs reindex commands on one data directory.
pub struct EmbeddedReindexer {
    config: Config,
    router: Router,
    /// Copy progress, for the progress bar.
    pub progress: Arc<CopyProgress>,
    stop: tokio::sync::watch::Receiver<bool>,
}

impl EmbeddedReindexer {
    /// Loads the detector (seconds of CPU: call from a blocking thread).
    pub fn open(
        config: Config,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> Result<EmbeddedReindexer, ReindexError> {
        config
            .validate()
            .map_err(|e| ReindexError::State(e.to_string()))?;
        let detector = Detector::new(&DetectorConfig::from_settings(&config.detect))?;
        Ok(EmbeddedReindexer {
            router: Router::new(Arc::new(detector)),
            config,
            progress: Arc::new(CopyProgress::default()),
            stop,
        })
    }

    fn data_dir(&self) -> &Path {
        &self.config.data_dir
    }

    /// Copies the live index into the next version, verifies it, and swaps unless told not to.
    /// Blocking (CPU and disk): run on a blocking thread.
    pub fn start(&self, options: StartOptions) -> Result<Job, ReindexError> {
        if options.mappings.is_some() {
            return Err(ReindexError::State(
                "--mappings applies to OpenSearch: the embedded index's analysis is built into Glossa".into(),
            ));
        }
        let mut jobs = self.jobs()?;
        super::refuse_second_job(jobs.iter().find(|j| !j.phase.is_finished()))?;
        let live = live_index_dir(self.data_dir());
        let _lock = lock(&live)?;
        let source = dir_name(&live);
        let next = self.versions()?.into_iter().max().unwrap_or(1) + 1;
        let total = Index::open_in_dir(&live)?.reader()?.searcher().num_docs();
        let job = Job::new(
            self.data_dir().display().to_string(),
            (source, format!("index-v{next}")),
            total,
            Vec::new(),
            options,
            &self.config.reindex.verify_queries,
        );
        jobs.insert(0, job.clone());
        self.save_jobs(&jobs)?;
        self.run(job)
    }

    /// Continues the newest unfinished job.
    pub fn resume(&self) -> Result<Job, ReindexError> {
        let mut job = self.unfinished()?;
        if job.phase == Phase::VerifyFailed {
            job.phase = Phase::Verifying;
        }
        let _lock = lock(&self.data_dir().join(&job.source))?;
        self.run(job)
    }

    /// Makes a verified job's version live (`force`: even if verification failed).
    pub fn swap(&self, force: bool) -> Result<Job, ReindexError> {
        let mut job = self.unfinished()?;
        super::check_swappable(&job, force)?;
        let _lock = lock(&self.data_dir().join(&job.source))?;
        job.auto_swap = true;
        job.phase = Phase::Swapping;
        self.run(job)
    }

    /// Makes the version the newest job copied from live again, or gives up an unfinished job.
    pub fn rollback(&self) -> Result<Job, ReindexError> {
        let mut jobs = self.jobs()?;
        let Some(job) = jobs.first_mut() else {
            return Err(ReindexError::State("no reindex job to roll back".into()));
        };
        super::check_rollbackable(job)?;
        match job.phase {
            Phase::Swapped => {
                let live = live_index_dir(&self.config.data_dir);
                let _lock = lock(&live)?;
                if dir_name(&live) == job.target {
                    set_live_index_dir(&self.config.data_dir, &job.source)
                        .map_err(|e| io_error("cannot move the live pointer back", e))?;
                }
                job.phase = Phase::RolledBack;
            }
            _ => job.phase = Phase::Abandoned,
        }
        job.updated_at = now_rfc3339();
        let job = job.clone();
        self.save_jobs(&jobs)?;
        Ok(job)
    }

    /// The live version, the versions on disk and every job.
    pub fn status(&self) -> Result<String, ReindexError> {
        let mut versions = self.versions()?;
        versions.sort_unstable();
        let mut out = format!(
            "live index: {}\nversions: {}\n",
            live_index_dir(self.data_dir()).display(),
            versions
                .iter()
                .map(|v| version_name(*v))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let jobs = self.jobs()?;
        if jobs.is_empty() {
            out.push_str("no reindex jobs\n");
        }
        for job in jobs {
            out.push_str(&super::job::job_summary(&job));
        }
        Ok(out)
    }

    /// Deletes old version directories, keeping the live one, those of an unfinished job, and
    /// the `keep` newest others.
    pub fn cleanup(&self, keep: usize) -> Result<Vec<String>, ReindexError> {
        let mut protected = vec![dir_name(&live_index_dir(self.data_dir()))];
        if let Some(job) = self.jobs()?.into_iter().find(|j| !j.phase.is_finished()) {
            protected.extend([job.source, job.target]);
        }
        let mut versions = self.versions()?;
        versions.sort_unstable_by(|a, b| b.cmp(a));
        let mut deleted = Vec::new();
        for name in versions
            .into_iter()
            .map(version_name)
            .filter(|name| !protected.contains(name))
            .skip(keep)
        {
            let dir = self.data_dir().join(&name);
            let _lock = lock(&dir)?;
            std::fs::remove_dir_all(&dir)
                .map_err(|e| io_error(&format!("cannot delete {}", dir.display()), e))?;
            deleted.push(name);
        }
        Ok(deleted)
    }

    fn run(&self, mut job: Job) -> Result<Job, ReindexError> {
        metrics::gauge!(crate::metrics::REINDEX_TOTAL).set(job.total as f64);
        self.progress.total.store(job.total, Ordering::Relaxed);
        self.progress.copied.store(job.copied, Ordering::Relaxed);
        loop {
            let result = match job.phase {
                Phase::Replaying => self.replay(&mut job).map(|_| Phase::Verifying),
                Phase::Copying | Phase::CatchingUp => self.copy(&mut job).map(|_| Phase::Verifying),
                Phase::Verifying => self.verify(&mut job),
                Phase::Verified if job.auto_swap => Ok(Phase::Swapping),
                Phase::Swapping => self.finish_swap(&mut job),
                _ => return Ok(job),
            };
            match result {
                Ok(next) => {
                    job.phase = next;
                    job.message = None;
                    self.save_job(&job)?;
                }
                Err(error) => {
                    job.message = Some(error.to_string());
                    if let Err(save) = self.save_job(&job) {
                        tracing::error!(%save, "cannot save the reindex job's state");
                    }
                    return Err(error);
                }
            }
        }
    }

    /// Rebuilds the new version from the job's source, through the pipeline (on this blocking
    /// thread, driving the async source on the caller's runtime).
    fn replay(&self, job: &mut Job) -> Result<(), ReindexError> {
        self.progress.set_phase("replaying");
        let from = job.replay_from.clone().unwrap_or_default();
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| ReindexError::State("a replay needs a tokio runtime".into()))?;
        let started = std::time::Instant::now();
        let (indexed, rejected) = runtime.block_on(super::replay(
            &self.config,
            &from,
            &job.target,
            self.progress.clone(),
            self.stop.clone(),
        ))?;
        job.copied = indexed;
        job.failed = rejected;
        job.copy_seconds += started.elapsed().as_secs_f64();
        Ok(())
    }

    /// Copies every live segment not copied yet, committing and checkpointing after each.
    fn copy(&self, job: &mut Job) -> Result<(), ReindexError> {
        self.progress.set_phase("copying");
        let started = std::time::Instant::now();
        let copy_seconds = job.copy_seconds;
        let source = Index::open_in_dir(self.data_dir().join(&job.source))?;
        let searcher = source.reader()?.searcher();
        let schema = source.schema();
        let target = EmbeddedIndex::open(
            &self.data_dir().join(&job.target),
            self.config.text_fields.clone(),
        )?;
        let mut writer = target.writer(self.config.pipeline.writer_memory_mb * 1024 * 1024)?;
        let decoder = Decoder::new(
            self.config.text_fields.clone(),
            self.config.limits.max_record_bytes,
        );
        let chunk = super::rate_limited_batch(CHUNK as u32, job.rate);
        let limiter = super::rate_limiter(job.rate, chunk);
        let chunk = chunk as usize;
        let position = SourcePosition {
            source: format!("reindex:{}", job.source),
            line: 0,
        };
        let mut dlq = DeadLetterQueue::open(&self.config)?;
        for (ordinal, segment) in searcher.segment_readers().iter().enumerate() {
            let segment_id = segment.segment_id().uuid_string();
            if job.segments_done.contains(&segment_id) {
                continue;
            }
            let alive: Vec<u32> = segment.doc_ids_alive().collect();
            for ids in alive.chunks(chunk) {
                if *self.stop.borrow() {
                    return Err(ReindexError::Interrupted);
                }
                if let Some(limiter) = &limiter {
                    let n = NonZeroU32::new(ids.len() as u32).unwrap_or(NonZeroU32::MIN);
                    let _ = futures::executor::block_on(limiter.until_n_ready(n));
                }
                let stored = ids
                    .iter()
                    .map(|id| {
                        let doc: TantivyDocument =
                            searcher.doc(DocAddress::new(ordinal as u32, *id))?;
                        Ok(stored_json(&schema, &doc))
                    })
                    .collect::<Result<Vec<Value>, tantivy::TantivyError>>()?;
                let rebuilt: Vec<_> = stored
                    .par_iter()
                    .map(|doc| {
                        let time = doc["ingested_at"].as_str().unwrap_or_default();
                        let ingested_at = time::OffsetDateTime::parse(time, &Rfc3339)
                            .map(tantivy::DateTime::from_utc)
                            .unwrap_or_else(|_| {
                                tantivy::DateTime::from_utc(time::OffsetDateTime::now_utc())
                            });
                        rebuild_document(&decoder, &self.router, job.redetect, doc, &position)
                            .map(|d| (d, ingested_at))
                    })
                    .collect();
                for result in rebuilt {
                    match result {
                        Ok((doc, ingested_at)) => {
                            writer.upsert(&doc, ingested_at)?;
                            job.copied += 1;
                            crate::metrics::counter_add(crate::metrics::REINDEX_COPIED, 1);
                        }
                        Err(rejection) => {
                            tracing::warn!(reason = %rejection.reason, message = %rejection.message, "document not copied; it is in the dead-letter queue");
                            dlq.push(&rejection)?;
                            job.failed += 1;
                            crate::metrics::counter_add(crate::metrics::REINDEX_FAILED, 1);
                        }
                    }
                }
                self.progress.copied.store(job.copied, Ordering::Relaxed);
                self.progress.failed.store(job.failed, Ordering::Relaxed);
            }
            dlq.sync()?;
            writer.commit()?;
            job.segments_done.push(segment_id);
            job.copy_seconds = copy_seconds + started.elapsed().as_secs_f64();
            self.save_job(job)?;
        }
        let pruned = self.prune(job, &searcher, &mut writer)?;
        if pruned > 0 {
            writer.commit()?;
            tracing::info!(
                pruned,
                "removed from the new version what was deleted from the live one after its copy"
            );
        }
        writer.close()?;
        Ok(())
    }

    /// Deletes from the new version every document the live one (`live`) no longer holds: a
    /// document a server deleted while the job was paused, after its segment was copied, must
    /// not come back with the swap. Compared by id hash (a fast field), then deleted by id.
    fn prune(
        &self,
        job: &Job,
        live: &tantivy::Searcher,
        writer: &mut crate::backend::embedded::EmbeddedWriter,
    ) -> Result<u64, ReindexError> {
        let hashes = |searcher: &tantivy::Searcher| -> Result<Vec<(u32, u32, u64)>, ReindexError> {
            let mut found = Vec::new();
            for (ordinal, segment) in searcher.segment_readers().iter().enumerate() {
                let column = segment.fast_fields().u64(ID_HASH_FIELD)?;
                for doc in segment.doc_ids_alive() {
                    if let Some(hash) = column.first(doc) {
                        found.push((ordinal as u32, doc, hash));
                    }
                }
            }
            Ok(found)
        };
        let alive: std::collections::HashSet<u64> =
            hashes(live)?.into_iter().map(|(_, _, hash)| hash).collect();
        let new = Index::open_in_dir(self.data_dir().join(&job.target))?;
        let searcher = new.reader()?.searcher();
        let id_field = new.schema().get_field("id")?;
        let mut pruned = 0;
        for (ordinal, doc, hash) in hashes(&searcher)? {
            if alive.contains(&hash) {
                continue;
            }
            let stored: TantivyDocument = searcher.doc(DocAddress::new(ordinal, doc))?;
            if let Some(id) = stored.get_first(id_field).and_then(|v| v.as_str()) {
                writer.delete(id);
                pruned += 1;
            }
        }
        Ok(pruned)
    }

    fn verify(&self, job: &mut Job) -> Result<Phase, ReindexError> {
        self.progress.set_phase("verifying");
        let old = Index::open_in_dir(self.data_dir().join(&job.source))?;
        let new = Index::open_in_dir(self.data_dir().join(&job.target))?;
        let (old_searcher, new_searcher) = (old.reader()?.searcher(), new.reader()?.searcher());
        let old_count = old_searcher.num_docs();
        let new_count = new_searcher.num_docs();
        // Nothing else writes while the job holds the lock: every document must be there.
        let counts_ok = new_count + job.failed == old_count;
        let sample = sample(
            &old_searcher,
            &old.schema(),
            self.config.reindex.sample_size,
        )?;
        let new_schema = new.schema();
        let id_field = new_schema
            .get_field("id")
            .map_err(|e| ReindexError::State(e.to_string()))?;
        let mut mismatches = Vec::new();
        for doc in &sample {
            let id = doc["id"].as_str().unwrap_or_default();
            let query = TermQuery::new(
                Term::from_field_text(id_field, id),
                IndexRecordOption::Basic,
            );
            let top = new_searcher.search(
                &query,
                &tantivy::collector::TopDocs::with_limit(1).order_by_score(),
            )?;
            let Some((_, address)) = top.first() else {
                mismatches.push(format!("{id}: missing from the new version"));
                continue;
            };
            let copy = stored_json(&new_schema, &new_searcher.doc::<TantivyDocument>(*address)?);
            let mut differs = Vec::new();
            for field in ["source", "ingested_at"] {
                let replayed = job.replay_from.is_some() && field == "ingested_at";
                if doc[field] != copy[field] && !replayed {
                    differs.push(field);
                }
            }
            if !job.redetect && doc["lang"] != copy["lang"] {
                differs.push("lang");
            }
            if !differs.is_empty() {
                mismatches.push(format!("{id}: differs in {}", differs.join(", ")));
            }
        }
        mismatches.truncate(20);
        let texts = sample.iter().map(|doc| {
            self.config
                .text_fields
                .iter()
                .filter_map(|f| doc["source"][f].as_str())
                .collect::<Vec<_>>()
        });
        let queries = super::verify::with_derived_queries(&job.queries, texts);
        let checks = self.check_queries(job, &queries)?;
        let passed = counts_ok && mismatches.is_empty() && checks.iter().all(|c| c.ok);
        job.source_opstamp = Some(old.load_metas()?.opstamp);
        job.verification = Some(Verification {
            passed,
            old_count,
            new_count,
            arrived_meanwhile: 0,
            failed_copies: job.failed,
            sampled: sample.len() as u64,
            changed_meanwhile: 0,
            mismatches,
            queries: checks,
        });
        Ok(if passed {
            Phase::Verified
        } else {
            Phase::VerifyFailed
        })
    }

    fn check_queries(
        &self,
        job: &Job,
        queries: &[String],
    ) -> Result<Vec<QueryCheck>, ReindexError> {
        let fields = self.config.text_fields.clone();
        let old = EmbeddedIndex::open(&self.data_dir().join(&job.source), fields.clone())?;
        let new = EmbeddedIndex::open(&self.data_dir().join(&job.target), fields)?;
        let mut checks = Vec::new();
        for query in queries {
            let detection = self.router.detector().detect_accurate(query);
            let request = super::verify::saved_query(query, detection.lang)?;
            let hits = |index: &EmbeddedIndex, name: &str| {
                index.search(&request).map(|r| r.total).map_err(|e| {
                    ReindexError::State(format!("saved query {query:?} on {name}: {e}"))
                })
            };
            let old_hits = hits(&old, &job.source)?;
            let new_hits = hits(&new, &job.target)?;
            checks.push(QueryCheck {
                query: query.clone(),
                old_hits,
                new_hits,
                ok: old_hits == 0 || new_hits > 0,
            });
        }
        Ok(checks)
    }

    /// Copies what a server wrote since verification (if anything), then moves the pointer.
    fn finish_swap(&self, job: &mut Job) -> Result<Phase, ReindexError> {
        let source = Index::open_in_dir(self.data_dir().join(&job.source))?;
        if job.source_opstamp != Some(source.load_metas()?.opstamp) {
            tracing::info!(
                "the live index changed since verification; copying its new segments first"
            );
            self.copy(job)?;
            if self.verify(job)? != Phase::Verified && !job.auto_swap {
                return Ok(Phase::VerifyFailed);
            }
        }
        self.progress.set_phase("swapping");
        set_live_index_dir(self.data_dir(), &job.target)
            .map_err(|e| io_error("cannot write the live index pointer", e))?;
        job.aliases_moved_at = Some(now_rfc3339());
        tracing::info!(live = %job.target, "the new version is live");
        Ok(Phase::Swapped)
    }

    fn unfinished(&self) -> Result<Job, ReindexError> {
        self.jobs()?
            .into_iter()
            .find(|j| !j.phase.is_finished())
            .ok_or_else(|| ReindexError::State("no unfinished reindex job".into()))
    }

    fn jobs_path(&self) -> PathBuf {
        jobs_path(self.data_dir())
    }

    /// Every job, newest first.
    fn jobs(&self) -> Result<Vec<Job>, ReindexError> {
        read_jobs(self.data_dir())
    }

    fn save_job(&self, job: &Job) -> Result<(), ReindexError> {
        let mut jobs = self.jobs()?;
        let mut job = job.clone();
        job.updated_at = now_rfc3339();
        match jobs.iter_mut().find(|j| j.target == job.target) {
            Some(slot) => *slot = job,
            None => jobs.insert(0, job),
        }
        self.save_jobs(&jobs)
    }

    /// Writes the job list atomically (aside, synced, renamed).
    fn save_jobs(&self, jobs: &[Job]) -> Result<(), ReindexError> {
        let path = self.jobs_path();
        let aside = path.with_extension("json.new");
        let text = serde_json::to_string_pretty(jobs)
            .map_err(|e| ReindexError::State(format!("cannot serialize the jobs: {e}")))?;
        std::fs::write(&aside, text)
            .and_then(|_| std::fs::File::open(&aside)?.sync_all())
            .and_then(|_| std::fs::rename(&aside, &path))
            .map_err(|e| io_error("cannot save the reindex jobs", e))
    }

    /// Version numbers of the index directories (`index` is version 1).
    fn versions(&self) -> Result<Vec<u32>, ReindexError> {
        let entries = std::fs::read_dir(self.data_dir())
            .map_err(|e| io_error("cannot list the data directory", e))?;
        Ok(entries
            .filter_map(Result::ok)
            .filter(|e| e.path().is_dir())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().to_string();
                match name.as_str() {
                    "index" => Some(1),
                    _ => name.strip_prefix("index-v")?.parse().ok(),
                }
            })
            .collect())
    }
}

fn version_name(version: u32) -> String {
    match version {
        1 => "index".to_string(),
        n => format!("index-v{n}"),
    }
}

fn dir_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "index".to_string())
}

fn io_error(what: &str, error: std::io::Error) -> ReindexError {
    ReindexError::State(format!("{what}: {error}"))
}

/// Holds the index's writer lock, so no other process writes to it while the job runs.
fn lock(dir: &Path) -> Result<DirectoryLock, ReindexError> {
    let directory = MmapDirectory::open(dir)
        .map_err(|e| ReindexError::State(format!("cannot open {}: {e}", dir.display())))?;
    directory.acquire_lock(&INDEX_WRITER_LOCK).map_err(|_| {
        ReindexError::State(format!(
            "{} is in use by another Glossa process (serve or ingest); stop it first: an embedded reindex needs the data directory to itself",
            dir.display()
        ))
    })
}

/// A stored embedded document in the cluster's `_source` layout (the record is whole under
/// `source`), so one rebuild path serves both backends.
fn stored_json(schema: &tantivy::schema::Schema, doc: &TantivyDocument) -> Value {
    let text = |name: &str| {
        schema
            .get_field(name)
            .ok()
            .and_then(|f| doc.get_first(f))
            .and_then(|v| v.as_str().map(str::to_string))
    };
    let ingested_at = schema
        .get_field("ingested_at")
        .ok()
        .and_then(|f| doc.get_first(f))
        .and_then(|v| v.as_datetime())
        .and_then(|d| d.into_utc().format(&Rfc3339).ok());
    let confidence = schema
        .get_field("confidence")
        .ok()
        .and_then(|f| doc.get_first(f))
        .and_then(|v| v.as_f64());
    let source: Value = text("source")
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null);
    json!({
        "id": text("id"),
        "lang": text("lang"),
        "lang_confidence": confidence,
        "lang_method": text("lang_method"),
        "ingested_at": ingested_at,
        "source": source,
    })
}

/// Up to `size` documents spread evenly over the index.
fn sample(
    searcher: &tantivy::Searcher,
    schema: &tantivy::schema::Schema,
    size: u32,
) -> Result<Vec<Value>, ReindexError> {
    let total = searcher.num_docs().max(1);
    let stride = (total / u64::from(size.max(1))).max(1);
    let mut out = Vec::new();
    let mut seen = 0u64;
    for (ordinal, segment) in searcher.segment_readers().iter().enumerate() {
        for id in segment.doc_ids_alive() {
            if seen.is_multiple_of(stride) && out.len() < size as usize {
                let doc: TantivyDocument = searcher.doc(DocAddress::new(ordinal as u32, id))?;
                out.push(stored_json(schema, &doc));
            }
            seen += 1;
        }
    }
    Ok(out)
}

fn jobs_path(data_dir: &Path) -> PathBuf {
    data_dir.join("reindex-jobs.json")
}

/// Every reindex job of the embedded index in `data_dir`, newest first; none when no job ever
/// ran. Read-only, so a running server can show them (the operator view).
pub fn read_jobs(data_dir: &Path) -> Result<Vec<Job>, ReindexError> {
    let path = jobs_path(data_dir);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .map_err(|e| ReindexError::State(format!("{} does not parse: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io_error("cannot read the reindex jobs", e)),
    }
}
