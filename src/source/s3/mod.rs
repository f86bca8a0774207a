//! S3 source: NDJSON objects (plain or gzip) under a prefix of any S3-compatible store.
//!
//! - Streaming: the listing is read page by page as objects are processed (never collected), each
//!   object is read as a byte stream, and a few objects are read in parallel.
//! - Resumable: a checkpoint under the data directory records the objects done and the position
//!   inside each object in progress, saved as the pipeline acknowledges records; a restarted job
//!   skips what is done and resumes inside a large object (a ranged read for plain objects,
//!   skipping lines for gzip). A re-run of a finished prefix reads nothing unless forced.
//! - Several workers on one prefix: each takes the objects whose key hashes to its index modulo
//!   the worker count (`s3.worker_index` / `s3.worker_count`), so no object is read twice and no
//!   coordination service is needed.
//! - Ids: records without an `id` get one derived from bucket, key and line.

mod checkpoint;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::stream::{FuturesUnordered, StreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectMeta, ObjectStore};
use tokio::sync::{mpsc, watch};

use self::checkpoint::Partial;
use super::lines::NdjsonReader;
use super::{lock, stop_now, stop_requested, Progress};
use crate::config::{S3Settings, S3Url};
use crate::metrics as m;
use crate::pipeline::{PipelineError, PipelineHandle};
use crate::record::RawRecord;

/// Why an S3 job stopped.
#[derive(Debug, thiserror::Error)]
pub enum S3SourceError {
    #[error("S3: {0}")]
    Store(#[from] object_store::Error),
    #[error("reading s3://{bucket}/{key}: {cause}")]
    Read {
        bucket: String,
        key: String,
        cause: std::io::Error,
    },
    #[error("S3 checkpoint: {0}")]
    Checkpoint(std::io::Error),
    #[error("an S3 object reader failed: {0}")]
    Task(String),
    #[error("records were not stored; the checkpoint keeps the last stored position: {0}")]
    Pipeline(#[from] PipelineError),
}

/// One pass over the prefix, or a pass and then polling for new objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Once,
    Follow,
}

/// What a job (or a follow loop until stopped) did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    /// Objects read to their end in this run.
    pub objects_read: u64,
    /// Objects skipped because an earlier run finished them.
    pub objects_already_done: u64,
}

/// Job options beyond the shared [`S3Settings`].
#[derive(Clone, Debug)]
pub struct JobOptions {
    pub mode: Mode,
    /// Forget the checkpoint and read everything again.
    pub force: bool,
    pub chunk_records: usize,
    pub max_record_bytes: usize,
    pub data_dir: PathBuf,
}

/// Most objects started ahead of the oldest unfinished one: bounds the checkpoint's size.
const MAX_WINDOW: usize = 1000;

/// Builds a client for `bucket`: credentials and region from the standard AWS environment
/// (and instance or container credentials), endpoint and region overridable in settings.
pub fn open_store(bucket: &str, settings: &S3Settings) -> Result<AmazonS3, S3SourceError> {
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    if let Some(endpoint) = &settings.endpoint {
        builder = builder
            .with_endpoint(endpoint)
            .with_allow_http(endpoint.starts_with("http://"))
            .with_virtual_hosted_style_request(false);
    }
    if let Some(region) = &settings.region {
        builder = builder.with_region(region);
    }
    Ok(builder.build()?)
}

/// Whether this worker reads `key` (hash partitioning of the prefix among workers).
pub fn is_mine(key: &str, worker_index: u32, worker_count: u32) -> bool {
    if worker_count <= 1 {
        return true;
    }
    let hash = blake3::hash(key.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash.as_bytes()[..8]);
    u64::from_le_bytes(first) % u64::from(worker_count) == u64::from(worker_index)
}

struct Job {
    store: Arc<AmazonS3>,
    url: S3Url,
    handle: PipelineHandle,
    options: JobOptions,
    progress: Arc<Progress>,
    checkpoint: Mutex<checkpoint::CheckpointFile>,
    stop: watch::Receiver<bool>,
    last_save: Mutex<Instant>,
}

/// Reads every object under the prefix (this worker's share), then stops or, in follow mode,
/// polls for new objects until `stop` is set.
pub async fn run(
    url: &S3Url,
    settings: &S3Settings,
    handle: PipelineHandle,
    options: JobOptions,
    progress: Arc<Progress>,
    stop: watch::Receiver<bool>,
) -> Result<Summary, S3SourceError> {
    let store = Arc::new(open_store(&url.bucket, settings)?);
    let path = checkpoint::path_for(
        &options.data_dir,
        &url.to_string(),
        settings.worker_index,
        settings.worker_count,
    );
    if options.force {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(S3SourceError::Checkpoint(e)),
        }
    }
    let checkpoint = checkpoint::CheckpointFile::load(path, &url.to_string())
        .map_err(S3SourceError::Checkpoint)?;
    let job = Arc::new(Job {
        store,
        url: url.clone(),
        handle,
        options,
        progress,
        checkpoint: Mutex::new(checkpoint),
        stop,
        last_save: Mutex::new(Instant::now()),
    });
    tracing::info!(source = %url, worker = settings.worker_index, workers = settings.worker_count, "reading from S3");
    let mut summary = Summary::default();
    loop {
        pass(&job, settings, &mut summary).await?;
        if job.options.mode == Mode::Once || stop_now(&job.stop) {
            return Ok(summary);
        }
        let mut stop = job.stop.clone();
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(settings.poll_seconds.max(1))) => {}
            _ = stop_requested(&mut stop) => return Ok(summary),
        }
    }
}

/// One listing pass from the watermark: objects are started in key order, at most
/// `parallel_objects` at a time, and folded into the checkpoint as they finish.
async fn pass(
    job: &Arc<Job>,
    settings: &S3Settings,
    summary: &mut Summary,
) -> Result<(), S3SourceError> {
    let prefix = (!job.url.prefix.is_empty()).then(|| ObjectPath::from(job.url.prefix.as_str()));
    let done_through = lock(&job.checkpoint).state.done_through.clone();
    let mut listing = match &done_through {
        Some(key) => job
            .store
            .list_with_offset(prefix.as_ref(), &ObjectPath::from(key.as_str())),
        None => job.store.list(prefix.as_ref()),
    };
    let mut running = FuturesUnordered::new();
    let mut listing_done = false;
    let mut failure = None;
    loop {
        while !listing_done
            && failure.is_none()
            && !stop_now(&job.stop)
            && running.len() < settings.parallel_objects
            && lock(&job.checkpoint).window_len() < MAX_WINDOW
        {
            let Some(meta) = listing.next().await else {
                // An empty listing reached the store as well as a full one.
                job.progress.connected.store(true, Ordering::Relaxed);
                listing_done = true;
                break;
            };
            let meta = match meta {
                Ok(meta) => {
                    job.progress.connected.store(true, Ordering::Relaxed);
                    meta
                }
                Err(error) => {
                    // Let the objects in progress finish and checkpoint before failing.
                    failure.get_or_insert(error.into());
                    break;
                }
            };
            let key = meta.location.to_string();
            if !is_mine(&key, settings.worker_index, settings.worker_count) {
                continue;
            }
            let resume = {
                let mut checkpoint = lock(&job.checkpoint);
                if checkpoint.is_done(&key) {
                    summary.objects_already_done += 1;
                    continue;
                }
                checkpoint.started(&key);
                checkpoint.state.partial.get(&key).cloned()
            };
            let object_job = job.clone();
            running.push(tokio::spawn(async move {
                let key = meta.location.to_string();
                let result = read_object(&object_job, meta, resume).await;
                (key, result)
            }));
        }
        let Some(joined) = running.next().await else {
            break;
        };
        match joined {
            Ok((key, Ok(true))) => {
                summary.objects_read += 1;
                m::counter_add(m::S3_OBJECTS_DONE, 1);
                let mut checkpoint = lock(&job.checkpoint);
                checkpoint.finished(&key);
                if let Err(error) = checkpoint.save() {
                    // Stop starting objects; those running finish before the error is returned.
                    failure.get_or_insert(S3SourceError::Checkpoint(error));
                }
            }
            // Stopped part-way: its position is in the checkpoint.
            Ok((_, Ok(false))) => {}
            Ok((_, Err(error))) => {
                failure.get_or_insert(error);
            }
            Err(join) => {
                failure.get_or_insert(S3SourceError::Task(join.to_string()));
            }
        }
    }
    lock(&job.checkpoint)
        .save()
        .map_err(S3SourceError::Checkpoint)?;
    match failure {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// Reads one object from its resume position to its end; `Ok(false)` when stopped part-way.
async fn read_object(
    job: &Arc<Job>,
    meta: ObjectMeta,
    resume: Option<Partial>,
) -> Result<bool, S3SourceError> {
    let key = meta.location.to_string();
    let read_err = |cause: std::io::Error| S3SourceError::Read {
        bucket: job.url.bucket.clone(),
        key: key.clone(),
        cause,
    };
    // A position is only valid for the object version it was taken on.
    let changed = resume
        .as_ref()
        .is_some_and(|p| p.e_tag != meta.e_tag || p.size != meta.size);
    if changed {
        tracing::warn!(object = %key, "object changed since it was partly read; reading it again from its start");
    }
    let resume = resume.filter(|_| !changed);
    if let Some(p) = &resume {
        tracing::info!(object = %key, line = p.line, gzip = p.gzip, "resuming after line {}", p.line);
    }
    if meta.size == 0
        || resume
            .as_ref()
            .is_some_and(|p| !p.gzip && p.offset >= meta.size)
    {
        return Ok(true);
    }
    let ranged = resume.as_ref().filter(|p| !p.gzip && p.offset > 0);
    let get = GetOptions {
        range: ranged.map(|p| GetRange::Offset(p.offset)),
        ..GetOptions::default()
    };
    let mut stream = job.store.get_opts(&meta.location, get).await?.into_stream();
    // Peek the first bytes: gzip is recognised by its magic number, whatever the key or
    // content type says (and a resumed plain read starts mid-object, so it keeps its flag).
    let first = match stream.next().await {
        Some(chunk) => chunk?,
        None => Bytes::new(),
    };
    let gzip = match &resume {
        Some(p) => p.gzip,
        None => first.starts_with(&[0x1f, 0x8b]),
    };
    let (start_line, start_offset) = match &resume {
        Some(p) if !p.gzip => (p.line, p.offset),
        _ => (0, 0),
    };
    let skip_to = resume.as_ref().filter(|p| p.gzip).map_or(0, |p| p.line);

    // The byte stream is pumped into a bounded channel read by a blocking thread (decompression
    // and line splitting are CPU work), which hands record chunks back through another.
    let (bytes_tx, bytes_rx) = mpsc::channel::<std::io::Result<Bytes>>(4);
    let progress = job.progress.clone();
    let pump = tokio::spawn(async move {
        progress
            .bytes_read
            .fetch_add(first.len() as u64, Ordering::Relaxed);
        if !first.is_empty() && bytes_tx.send(Ok(first)).await.is_err() {
            return;
        }
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(std::io::Error::other);
            if let Ok(bytes) = &chunk {
                progress
                    .bytes_read
                    .fetch_add(bytes.len() as u64, Ordering::Relaxed);
            }
            if bytes_tx.send(chunk).await.is_err() {
                return;
            }
        }
    });
    // Each chunk travels with where it ends in the object: its checkpoint once stored.
    let (chunks_tx, chunks_rx) = mpsc::channel::<(Vec<RawRecord>, (u64, u64))>(2);
    let read_progress = job.progress.clone();
    let source = format!("s3://{}/{}", job.url.bucket, key);
    let chunk_records = job.options.chunk_records;
    let max_record_bytes = job.options.max_record_bytes;
    let stop = job.stop.clone();
    let reader = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let input = ChannelReader {
            rx: bytes_rx,
            current: Bytes::new(),
        };
        let buffered: Box<dyn std::io::BufRead> = if gzip {
            Box::new(std::io::BufReader::with_capacity(
                256 * 1024,
                flate2::read::MultiGzDecoder::new(std::io::BufReader::new(input)),
            ))
        } else {
            Box::new(std::io::BufReader::with_capacity(256 * 1024, input))
        };
        let mut lines = NdjsonReader::new(
            buffered,
            source,
            start_line,
            start_offset,
            max_record_bytes,
            true,
        );
        lines.skip_to_line(skip_to)?;
        while let Some(chunk) = lines.next_chunk(chunk_records)? {
            let count = chunk.records.len() as u64;
            let end = (chunk.last_line, chunk.end_offset);
            if stop_now(&stop) || chunks_tx.blocking_send((chunk.records, end)).is_err() {
                return Ok(());
            }
            read_progress
                .records_read
                .fetch_add(count, Ordering::Relaxed);
            m::counter_add(m::S3_RECORDS_READ, count);
        }
        Ok(())
    });

    // Submit in order, acknowledge in order: the checkpoint only ever moves over a stored
    // prefix of the object.
    let ack_job = job.clone();
    let ack_key = key.clone();
    let (e_tag, size) = (meta.e_tag.clone(), meta.size);
    let stored = job
        .handle
        .submit_in_order(chunks_rx, false, move |outcome, (line, offset)| {
            ack_job.progress.acknowledged(outcome);
            let position = Partial {
                e_tag: e_tag.clone(),
                size,
                gzip,
                line,
                offset,
            };
            lock(&ack_job.checkpoint).advanced(&ack_key, position);
            ack_job.save_now_and_then()
        })
        .await;
    pump.abort();
    let read = reader
        .await
        .map_err(|e| S3SourceError::Task(e.to_string()))?;
    stored?;
    read.map_err(read_err)?;
    Ok(!stop_now(&job.stop))
}

impl Job {
    /// Saves the checkpoint at most about once a second while objects are in progress (the
    /// position only moves forward, so a lost save costs a little re-reading, never data).
    fn save_now_and_then(&self) -> Result<(), S3SourceError> {
        let mut last = lock(&self.last_save);
        if last.elapsed() < Duration::from_secs(1) {
            return Ok(());
        }
        *last = Instant::now();
        drop(last);
        lock(&self.checkpoint)
            .save()
            .map_err(S3SourceError::Checkpoint)
    }
}

/// A blocking `Read` over byte chunks arriving on a channel from an async stream.
struct ChannelReader {
    rx: mpsc::Receiver<std::io::Result<Bytes>>,
    current: Bytes,
}

impl std::io::Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(chunk) => self.current = chunk?,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_split_keys_without_overlap_or_gaps() {
        let keys: Vec<String> = (0..300).map(|i| format!("p/part-{i:05}.ndjson")).collect();
        let mut shares = [0usize; 3];
        for key in &keys {
            let owners: Vec<u32> = (0..3).filter(|w| is_mine(key, *w, 3)).collect();
            assert_eq!(owners.len(), 1, "{key} must have exactly one owner");
            shares[owners[0] as usize] += 1;
        }
        assert!(shares.iter().all(|s| *s > 50), "uneven split {shares:?}");
        assert!(keys.iter().all(|k| is_mine(k, 0, 1)));
    }
}
