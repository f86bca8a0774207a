//! The embedded sink: one thread owning the Tantivy writer, applying documents as they come and
//! committing in groups (by count, by age), then acknowledging everything the commit made durable.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::acknowledge;
use super::idle_compaction::{CompactionPolicy, IdleCompaction};
use crate::backend::embedded::{EmbeddedIndex, EmbeddedWriter};
use crate::batch::{Admitted, CommitPolicy, Drain, Outcome, PipelineError, Prepared, Reply};
use crate::dlq::DeadLetterQueue;
use crate::metrics as m;

/// Applied but not yet committed work, waiting to be acknowledged.
struct Unacked {
    reply: Reply,
    outcome: Outcome,
    /// Released (freeing pipeline room) only once the work is acknowledged.
    _permit: Admitted,
}

/// What woke the sink.
enum Event {
    Input(Result<Prepared, flume::RecvError>),
    DrainRequested,
}

pub(crate) struct EmbeddedSink {
    index: Arc<EmbeddedIndex>,
    writer: EmbeddedWriter,
    dlq: DeadLetterQueue,
    commit: CommitPolicy,
    unacked: Vec<Unacked>,
    pending_docs: usize,
    oldest: Option<Instant>,
    commits: u64,
    commit_time: Duration,
    compaction: IdleCompaction,
}

impl EmbeddedSink {
    pub(crate) fn new(
        index: Arc<EmbeddedIndex>,
        writer: EmbeddedWriter,
        dlq: DeadLetterQueue,
        commit: CommitPolicy,
        compaction: CompactionPolicy,
    ) -> Self {
        metrics::gauge!(m::INDEX_SEGMENTS).set(index.segment_count() as f64);
        EmbeddedSink {
            index,
            writer,
            dlq,
            commit,
            unacked: Vec::new(),
            pending_docs: 0,
            oldest: None,
            commits: 0,
            commit_time: Duration::ZERO,
            compaction: IdleCompaction::new(compaction),
        }
    }

    pub(crate) fn run(mut self, input: flume::Receiver<Prepared>, mut drain: Drain) {
        loop {
            let wait = match self.oldest {
                Some(oldest) => {
                    (oldest + self.commit.interval).saturating_duration_since(Instant::now())
                }
                None => self.compaction.wait().unwrap_or(Duration::from_secs(3600)),
            };
            let event = flume::Selector::new()
                .recv(&input, Event::Input)
                .recv(drain.requests(), |_| Event::DrainRequested)
                .wait_timeout(wait);
            match event {
                Ok(Event::Input(Ok(prepared))) => {
                    self.apply(prepared);
                    // Under continuous load the timeout never fires: check the age here too.
                    let overdue = self
                        .oldest
                        .is_some_and(|oldest| oldest.elapsed() >= self.commit.interval);
                    // Half the pipeline's room waiting on a commit: commit now, or the sources
                    // would stall until the interval ran out.
                    let crowded = self.pending_docs * 2 >= self.commit.max_in_flight_records;
                    if overdue || crowded || self.pending_docs >= self.commit.docs {
                        self.commit();
                    }
                }
                Ok(Event::Input(Err(flume::RecvError::Disconnected))) => break,
                Ok(Event::DrainRequested) => drain.requested(),
                Err(flume::select::SelectError::Timeout) => {
                    self.commit();
                    self.compaction.tick(&self.index, &mut self.writer);
                }
            }
            if drain.due(self.pending_docs) {
                self.commit();
                drain.done();
            }
        }
        self.commit();
        if self.compaction.is_running() {
            tracing::info!("stopping in the middle of an idle compaction: the index stays as it was, and the compaction runs again when next idle");
            drop(self.writer);
        } else if let Err(error) = self.writer.close() {
            tracing::warn!(%error, "index writer did not close cleanly");
        }
        tracing::info!(
            commits = self.commits,
            commit_seconds = self.commit_time.as_secs_f64(),
            "pipeline stopped"
        );
    }

    fn apply(&mut self, prepared: Prepared) {
        let now = tantivy::DateTime::from_utc(time::OffsetDateTime::now_utc());
        let mut outcome = Outcome::default();
        for doc in &prepared.docs {
            if let Err(error) = self.writer.upsert(doc, now) {
                let _ = prepared
                    .reply
                    .send(Err(PipelineError::Commit(error.to_string())));
                return;
            }
            outcome.indexed += 1;
            *outcome.languages.entry(doc.lang.to_string()).or_insert(0) += 1;
        }
        for id in &prepared.deletes {
            self.writer.delete(id);
            outcome.deleted += 1;
        }
        if let Err(error) = self.dlq.record_deletes(&prepared.deletes) {
            let _ = prepared
                .reply
                .send(Err(PipelineError::Commit(error.to_string())));
            return;
        }
        for rejection in &prepared.rejected {
            if let Err(error) = self.dlq.push(rejection) {
                let _ = prepared
                    .reply
                    .send(Err(PipelineError::Commit(error.to_string())));
                return;
            }
        }
        outcome.rejected = prepared.rejected;
        self.pending_docs += prepared.docs.len() + prepared.deletes.len() + outcome.rejected.len();
        self.oldest.get_or_insert_with(Instant::now);
        self.compaction.wrote();
        self.unacked.push(Unacked {
            reply: prepared.reply,
            outcome,
            _permit: prepared.permit,
        });
    }

    /// Makes applied work durable (dead letters first, then the index), then acknowledges it.
    fn commit(&mut self) {
        if self.unacked.is_empty() {
            self.oldest = None;
            return;
        }
        let started = Instant::now();
        let result = self
            .dlq
            .sync()
            .map_err(|e| e.to_string())
            .and_then(|_| self.writer.commit().map_err(|e| e.to_string()))
            .and_then(|_| self.index.refresh().map_err(|e| e.to_string()));
        let took = started.elapsed();
        metrics::gauge!(m::INDEX_SEGMENTS).set(self.index.segment_count() as f64);
        metrics::histogram!(m::COMMIT_SECONDS).record(took.as_secs_f64());
        self.commits += 1;
        self.commit_time += took;
        if let Err(error) = &result {
            tracing::error!(%error, "commit failed; unacknowledged records will be retried by their sources");
            if let Err(rollback) = self.writer.rollback() {
                tracing::error!(error = %rollback, "rollback after failed commit also failed");
            }
        }
        for unacked in self.unacked.drain(..) {
            match &result {
                Ok(()) => acknowledge(unacked.reply, unacked.outcome),
                Err(error) => {
                    let _ = unacked
                        .reply
                        .send(Err(PipelineError::Commit(error.clone())));
                }
            }
        }
        self.pending_docs = 0;
        self.oldest = None;
    }
}
