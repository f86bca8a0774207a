//! Idle-time compaction of the embedded index. Ingest stops merging at segments of
//! `MAX_DOCS_BEFORE_MERGE` documents to keep its rate flat, which leaves 33 segments at 10
//! million documents; every search looks each query term up in each of them (p50 15-16 ms there,
//! 7-10 ms in 2 segments: docs/benchmarks/scale.md). Once writes have stopped for a while, the
//! sink merges them into a few, on Tantivy's merge threads: writes go on meanwhile, searches read
//! the old segments until the merged ones are committed.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::backend::embedded::{idle_compaction_plan, EmbeddedIndex, EmbeddedWriter};
use crate::metrics as m;

/// When the sink compacts; from `pipeline.compact_idle_seconds` and `pipeline.compact_segments`.
#[derive(Clone, Copy, Debug)]
pub struct CompactionPolicy {
    /// How long writes must have stopped; `None` never compacts.
    pub idle: Option<Duration>,
    /// Segments to merge into (the plan leaves up to twice as many).
    pub target_segments: usize,
    /// Free disk a compaction must leave (`limits.min_free_disk_mb`): it writes the merged
    /// segments before their old files go.
    pub min_free_bytes: u64,
}

/// How often the sink looks at a running compaction.
const POLL: Duration = Duration::from_secs(2);

/// The sink's compaction state: when to look next, and the compaction running, if any.
pub(crate) struct IdleCompaction {
    policy: CompactionPolicy,
    /// When writes will have stopped long enough; `None` until the next write (nothing new to
    /// compact) or while a compaction runs.
    due: Option<Instant>,
    running: Option<JoinHandle<Result<(), String>>>,
}

impl IdleCompaction {
    /// The first look comes one idle period after start: an index left in many segments by an
    /// earlier `glossa ingest` is compacted by the server that opens it.
    pub(crate) fn new(policy: CompactionPolicy) -> Self {
        IdleCompaction {
            policy,
            due: policy.idle.map(|idle| Instant::now() + idle),
            running: None,
        }
    }

    /// Writes were applied: wait for another idle period.
    pub(crate) fn wrote(&mut self) {
        if let Some(idle) = self.policy.idle {
            self.due = Some(Instant::now() + idle);
        }
    }

    /// How long the sink may sleep before [`IdleCompaction::tick`] has work.
    pub(crate) fn wait(&self) -> Option<Duration> {
        if self.running.is_some() {
            return Some(POLL);
        }
        self.due
            .map(|due| due.saturating_duration_since(Instant::now()))
    }

    /// Called when the sink holds no pending writes: collects a finished compaction, or starts
    /// one once writes have stopped for the idle period and the index has too many segments.
    pub(crate) fn tick(&mut self, index: &Arc<EmbeddedIndex>, writer: &mut EmbeddedWriter) {
        if let Some(running) = self.running.take_if(|handle| handle.is_finished()) {
            let failed = match running.join() {
                Ok(result) => result.err(),
                Err(_) => Some("the compaction thread panicked".to_string()),
            };
            if let Some(error) = failed {
                tracing::warn!(%error, "idle compaction did not complete; it is tried again after another idle period");
                self.wrote();
            }
        }
        if self.running.is_some() || self.due.is_none_or(|due| due > Instant::now()) {
            return;
        }
        self.due = None;
        let plan = match index.segment_docs() {
            Ok(segments) => idle_compaction_plan(segments, self.policy.target_segments),
            Err(error) => {
                tracing::warn!(%error, "cannot list the index's segments for compaction");
                return;
            }
        };
        if plan.is_empty() {
            return;
        }
        let merged: Vec<_> = plan.iter().flatten().copied().collect();
        if let Err(reason) = index.room_to_merge(&merged, self.policy.min_free_bytes) {
            tracing::warn!(%reason, "not compacting the index; it is tried again after the next writes");
            return;
        }
        let before = index.segment_count();
        tracing::info!(
            segments = before,
            merging = merged.len(),
            into = plan.len(),
            "writes have stopped: compacting the index"
        );
        let merges: Vec<_> = plan.iter().map(|group| writer.merge(group)).collect();
        let index = index.clone();
        let spawned = std::thread::Builder::new()
            .name("glossa-compact".into())
            .spawn(move || {
                let started = Instant::now();
                let mut result = Ok(());
                for merge in merges {
                    if let Err(error) = merge.wait() {
                        result = Err(error.to_string());
                    }
                }
                // Searches move to the merged segments, and the merged-away files can go.
                if let Err(error) = index.refresh() {
                    result = Err(error.to_string());
                }
                let after = index.segment_count();
                metrics::gauge!(m::INDEX_SEGMENTS).set(after as f64);
                if result.is_ok() {
                    metrics::counter!(m::INDEX_COMPACTIONS).increment(1);
                    tracing::info!(
                        before,
                        after,
                        seconds = started.elapsed().as_secs_f64(),
                        "index compacted"
                    );
                }
                result
            });
        match spawned {
            Ok(handle) => self.running = Some(handle),
            Err(error) => tracing::warn!(%error, "cannot start the compaction thread"),
        }
    }

    /// Whether a compaction is still merging: the sink then closes its writer without waiting
    /// for it at shutdown (the merge is dropped, the index stays as it was, and the next idle
    /// period starts it again).
    pub(crate) fn is_running(&self) -> bool {
        self.running
            .as_ref()
            .is_some_and(|handle| !handle.is_finished())
    }
}
