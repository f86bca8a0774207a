//! The batch: what the pipeline hands its sink (a chunk of routed documents, in order), and what
//! flows back to whoever submitted it (the outcome, or why there is none). Shared by
//! [`crate::pipeline`] and [`crate::sink`], so neither has to know the other's insides.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

use crate::metrics as m;
use crate::record::{Document, Rejection, SourcePosition};

/// Why a submission was not (or not yet) acknowledged.
#[derive(Clone, Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("the ingest pipeline is full ({limit} records in flight, limit pipeline.max_in_flight_records); retry later")]
    Busy { limit: usize },
    #[error("{records} records in one submission is over the limit pipeline.max_in_flight_records = {limit}; split it")]
    TooMany { records: usize, limit: usize },
    #[error("the ingest pipeline has shut down")]
    Closed,
    #[error("the index could not commit, records were not stored: {0}")]
    Commit(String),
    #[error("the index backend did not take the records, they were not stored: {0}")]
    Backend(String),
    /// The disk is under `limits.min_free_disk_mb` (the message says so).
    #[error("{0}")]
    DiskFull(String),
}

/// What happened to a submission once it was acknowledged (durably indexed or dead-lettered).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Outcome {
    pub indexed: u64,
    /// Documents removed by delete operations (an id the index did not hold counts too).
    pub deleted: u64,
    pub rejected: Vec<Rejection>,
    /// Indexed documents per language.
    pub languages: BTreeMap<String, u64>,
}

impl Outcome {
    /// Adds another chunk's outcome to this one.
    pub fn merge(&mut self, other: Outcome) {
        self.indexed += other.indexed;
        self.deleted += other.deleted;
        self.rejected.extend(other.rejected);
        for (lang, count) in other.languages {
            *self.languages.entry(lang).or_insert(0) += count;
        }
    }
}

/// Room for some records in the pipeline; dropping it frees the room and updates the gauge.
pub(crate) struct Admitted(pub(crate) OwnedSemaphorePermit);

impl Drop for Admitted {
    fn drop(&mut self) {
        metrics::gauge!(m::IN_FLIGHT_RECORDS).decrement(self.0.num_permits() as f64);
    }
}

/// Where a chunk's outcome goes: the submitter waiting on it.
pub(crate) type Reply = oneshot::Sender<Result<Outcome, PipelineError>>;

/// When a sink writes out (commits) what it holds; from the pipeline's settings.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CommitPolicy {
    /// Write out once this many documents are pending.
    pub(crate) docs: usize,
    /// Write out at least this often while documents are pending.
    pub(crate) interval: Duration,
    /// The pipeline's in-flight bound: a sink holding half of it writes out early, or the
    /// sources would wait on room that only its commit frees.
    pub(crate) max_in_flight_records: usize,
}

/// A chunk of work after decode, detect and route: what a sink receives, in the order the chunks
/// entered the pipeline.
pub(crate) struct Prepared {
    /// Position of the chunk in the order the pipeline received chunks.
    pub(crate) seq: u64,
    pub(crate) docs: Vec<Document>,
    /// Where each of `docs` came from (same order), for dead letters the backend causes.
    pub(crate) positions: Vec<SourcePosition>,
    pub(crate) rejected: Vec<Rejection>,
    /// Ids to remove. A chunk holds writes or deletes, never both, so its operations keep
    /// their order with the chunk's.
    pub(crate) deletes: Vec<String>,
    pub(crate) reply: Reply,
    pub(crate) permit: Admitted,
}

/// The sink's side of [`crate::pipeline::PipelineHandle::drain`].
pub(crate) struct Drain {
    requests: flume::Receiver<()>,
    /// Keeps `requests` connected after the last handle is gone, so a sink waiting on it does
    /// not wake over and over while the pipeline shuts down.
    _keep_open: flume::Sender<()>,
    admission: Arc<Semaphore>,
    capacity: usize,
    requested: bool,
}

impl Drain {
    /// A drain over the pipeline's admission semaphore (`capacity` permits), and the sender
    /// that requests one.
    pub(crate) fn new(admission: Arc<Semaphore>, capacity: usize) -> (Drain, flume::Sender<()>) {
        let (requests_tx, requests) = flume::bounded(1);
        let drain = Drain {
            requests,
            _keep_open: requests_tx.clone(),
            admission,
            capacity,
            requested: false,
        };
        (drain, requests_tx)
    }

    /// The channel a sink waits on (besides its input) to hear of a request; pass what it
    /// receives to [`Drain::requested`].
    pub(crate) fn requests(&self) -> &flume::Receiver<()> {
        &self.requests
    }

    /// A request was received from [`Drain::requests`].
    pub(crate) fn requested(&mut self) {
        self.requested = true;
    }

    /// Whether a drain was asked for and every admitted record has reached the sink, which
    /// holds `held` of them not yet acknowledged: then there is nothing left to wait for.
    pub(crate) fn due(&mut self, held: usize) -> bool {
        while self.requests.try_recv().is_ok() {
            self.requested = true;
        }
        let in_flight = self
            .capacity
            .saturating_sub(self.admission.available_permits());
        self.requested && in_flight <= held
    }

    /// The sink wrote out everything it held: the request is answered.
    pub(crate) fn done(&mut self) {
        self.requested = false;
    }
}
