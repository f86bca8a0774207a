//! The sink stage: takes prepared documents to an index backend, and acknowledges each chunk
//! only once the backend (or, for what it refused, the dead-letter queue) holds it durably.

mod embedded;
mod idle_compaction;
mod opensearch;

use std::sync::Arc;

use crate::backend::embedded::{EmbeddedIndex, EmbeddedWriter};
use crate::batch::{CommitPolicy, Drain, Outcome, Prepared, Reply};
use crate::dlq::DeadLetterQueue;
use crate::metrics as m;

pub use idle_compaction::CompactionPolicy;
pub use opensearch::{OpenSearchSink, REASON_BACKEND_REJECTED};

/// Where the pipeline's documents go: one variant per backend.
pub enum Sink {
    /// The local Tantivy index, through its single writer.
    Embedded {
        index: Arc<EmbeddedIndex>,
        writer: Box<EmbeddedWriter>,
        compaction: CompactionPolicy,
    },
    /// An OpenSearch cluster, through bulk requests to its write alias.
    OpenSearch(OpenSearchSink),
}

impl Sink {
    /// Runs on the pipeline's sink thread until every sender of `input` is gone and all it
    /// received is acknowledged.
    pub(crate) fn run(
        self,
        input: flume::Receiver<Prepared>,
        drain: Drain,
        dlq: DeadLetterQueue,
        commit: CommitPolicy,
    ) {
        match self {
            Sink::Embedded {
                index,
                writer,
                compaction,
            } => embedded::EmbeddedSink::new(index, *writer, dlq, commit, compaction)
                .run(input, drain),
            Sink::OpenSearch(sink) => sink.run(input, drain, dlq),
        }
    }
}

/// Records the metrics of a durable outcome and hands it to whoever submitted the records.
fn acknowledge(reply: Reply, outcome: Outcome) {
    m::counter_add(m::RECORDS_INDEXED, outcome.indexed);
    for rejection in &outcome.rejected {
        metrics::counter!(m::RECORDS_REJECTED, "reason" => rejection.reason.clone()).increment(1);
    }
    for (lang, count) in &outcome.languages {
        metrics::counter!(m::DOCUMENTS_BY_LANGUAGE, "lang" => lang.clone()).increment(*count);
    }
    let _ = reply.send(Ok(outcome));
}
