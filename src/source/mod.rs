//! Sources: where records come from. Each source reads raw records, submits them to the pipeline
//! with [`crate::pipeline::Admission::Wait`] (so a slow index slows reading, not memory), and
//! learns from each acknowledgement what is safe to consider done.

pub mod file;
pub(crate) mod kafka;
pub(crate) mod lines;
pub mod s3;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::config::{Config, StreamUrl};
use crate::pipeline::PipelineHandle;

/// Live counters for a progress display.
#[derive(Debug, Default)]
pub struct Progress {
    /// Bytes read (compressed bytes for gzip), comparable with [`Progress::total_bytes`].
    pub bytes_read: AtomicU64,
    /// Records read and submitted.
    pub records_read: AtomicU64,
    /// Records acknowledged (indexed or dead-lettered).
    pub records_done: AtomicU64,
    /// Of [`Progress::records_done`], those dead-lettered.
    pub records_rejected: AtomicU64,
    /// Sum of the sizes of all inputs; 0 when unknown (stdin, a listing still going on).
    pub total_bytes: AtomicU64,
    /// The source reached its input: joined its consumer group (Kafka; even with no partition
    /// to read, which is normal with more workers than partitions) or listed its prefix (S3).
    pub connected: AtomicBool,
}

impl Progress {
    /// Counts an acknowledged submission.
    pub fn acknowledged(&self, outcome: &crate::pipeline::Outcome) {
        let rejected = outcome.rejected.len() as u64;
        self.records_done
            .fetch_add(outcome.indexed + rejected, Ordering::Relaxed);
        self.records_rejected.fetch_add(rejected, Ordering::Relaxed);
    }
}

/// A long-running source of `glossa serve`, as `/readyz` reports it.
#[derive(Debug)]
pub struct SourceHealth {
    /// `kafka #1`, `s3 #2`: never the URL, which may carry credentials.
    pub name: String,
    run: Mutex<Arc<Progress>>,
    failed: AtomicBool,
}

impl SourceHealth {
    pub fn new(name: String) -> SourceHealth {
        SourceHealth {
            name,
            run: Mutex::new(Arc::default()),
            failed: AtomicBool::new(false),
        }
    }

    /// A new run of the source starts, reporting through `progress`.
    pub fn started(&self, progress: Arc<Progress>) {
        *lock(&self.run) = progress;
    }

    /// The current run failed; a new one starts after a backoff.
    pub fn failed(&self) {
        self.failed.store(true, Ordering::Relaxed);
    }

    /// Whether the source is reading, and if not, what it waits for.
    pub fn state(&self) -> Result<(), &'static str> {
        if lock(&self.run).connected.load(Ordering::Relaxed) {
            return Ok(());
        }
        if self.failed.load(Ordering::Relaxed) {
            return Err("failed; starting again from its last committed position (see the logs)");
        }
        Err("connecting (waiting for its consumer group or first listing)")
    }
}

/// Resolves once a stop is asked for (or whoever could ask is gone).
pub(crate) async fn stop_requested(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// True once a stop is asked for (or whoever could ask is gone).
pub(crate) fn stop_now(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow() || stop.has_changed().is_err()
}

pub(crate) use crate::lock;

/// Why a streaming source could not start or stopped early.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Kafka(#[from] kafka::KafkaSourceError),
    #[error(transparent)]
    S3(#[from] s3::S3SourceError),
}

/// How a streaming source runs.
#[derive(Clone, Copy, Debug)]
pub struct StreamOptions {
    /// Keep reading new data (Kafka: keep consuming; S3: poll the prefix) until stopped,
    /// instead of stopping once caught up.
    pub follow: bool,
    /// S3: forget the checkpoint and read every object again.
    pub force: bool,
}

/// Runs one streaming source into the pipeline until it is caught up (or, following, until
/// `stop` is set), with every record it read acknowledged and its position saved.
pub async fn run_stream(
    url: &StreamUrl,
    config: &Config,
    handle: PipelineHandle,
    options: StreamOptions,
    progress: Arc<Progress>,
    stop: watch::Receiver<bool>,
) -> Result<(), SourceError> {
    let chunk_records = config.pipeline.chunk_records;
    match url {
        StreamUrl::Kafka(url) => {
            let mode = match options.follow {
                true => kafka::Mode::Follow,
                false => kafka::Mode::UntilCaughtUp,
            };
            kafka::run(
                url,
                &config.kafka,
                handle,
                chunk_records,
                mode,
                progress,
                stop,
            )
            .await?;
        }
        StreamUrl::S3(url) => {
            let job = s3::JobOptions {
                mode: match options.follow {
                    true => s3::Mode::Follow,
                    false => s3::Mode::Once,
                },
                force: options.force,
                chunk_records,
                max_record_bytes: config.limits.max_record_bytes,
                data_dir: config.data_dir.clone(),
            };
            let summary = s3::run(url, &config.s3, handle, job, progress, stop).await?;
            tracing::info!(
                objects_read = summary.objects_read,
                objects_already_done = summary.objects_already_done,
                "S3 pass finished"
            );
        }
    }
    Ok(())
}
