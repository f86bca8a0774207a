//! File source: NDJSON files, plain or gzip (`.gz`), or standard input (`-`).

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use flate2::read::MultiGzDecoder;
use tokio::sync::mpsc;

use super::lines::NdjsonReader;
use super::Progress;
use crate::pipeline::{Outcome, PipelineError, PipelineHandle};
use crate::record::RawRecord;

/// Why a file could not be ingested.
#[derive(Debug, thiserror::Error)]
pub enum FileSourceError {
    #[error("cannot read {path}: {cause}")]
    Io { path: String, cause: std::io::Error },
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
}

/// Reads every path in order and feeds the pipeline; returns the merged outcome once every record
/// is acknowledged. Setting `stop` ends reading early; what was read is still indexed.
pub async fn ingest(
    paths: Vec<String>,
    handle: PipelineHandle,
    chunk_records: usize,
    max_record_bytes: usize,
    progress: Arc<Progress>,
    stop: Arc<AtomicBool>,
) -> Result<Outcome, FileSourceError> {
    let total: u64 = paths
        .iter()
        .filter(|p| p.as_str() != "-")
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    progress.total_bytes.store(total, Ordering::Relaxed);

    let (chunks_tx, chunks_rx) = mpsc::channel::<(Vec<RawRecord>, ())>(2);
    let reader_progress = progress.clone();
    let reader = tokio::task::spawn_blocking(move || {
        for path in &paths {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            read_ndjson(
                path,
                chunk_records,
                max_record_bytes,
                &reader_progress,
                &stop,
                &chunks_tx,
            )?;
        }
        Ok::<(), FileSourceError>(())
    });

    // Nothing more to read at the end: have the last records committed now, not at the next
    // interval.
    let ack_progress = progress.clone();
    let outcome = handle
        .submit_in_order(chunks_rx, true, move |outcome, ()| {
            ack_progress.acknowledged(outcome);
            Ok::<(), PipelineError>(())
        })
        .await?;
    // Input ended, so the reader is done (after a failure it stops at its next chunk, unwaited:
    // it may be blocked on standard input).
    let read = reader.await.map_err(|e| FileSourceError::Io {
        path: "<reader task>".into(),
        cause: std::io::Error::other(e.to_string()),
    });
    read??;
    Ok(outcome)
}

/// Counts bytes as they are read, for progress on compressed input.
struct Counting<R> {
    inner: R,
    progress: Arc<Progress>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress
            .bytes_read
            .fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

fn open(path: &str, progress: &Arc<Progress>) -> std::io::Result<Box<dyn BufRead + Send>> {
    let raw: Box<dyn Read + Send> = if path == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(File::open(path)?)
    };
    let counted = Counting {
        inner: raw,
        progress: progress.clone(),
    };
    let is_gzip = Path::new(path)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    Ok(if is_gzip {
        Box::new(BufReader::with_capacity(
            256 * 1024,
            MultiGzDecoder::new(BufReader::new(counted)),
        ))
    } else {
        Box::new(BufReader::with_capacity(256 * 1024, counted))
    })
}

fn read_ndjson(
    path: &str,
    chunk_records: usize,
    max_record_bytes: usize,
    progress: &Arc<Progress>,
    stop: &AtomicBool,
    out: &mpsc::Sender<(Vec<RawRecord>, ())>,
) -> Result<(), FileSourceError> {
    let io_err = |cause| FileSourceError::Io {
        path: path.to_string(),
        cause,
    };
    let source_name = if path == "-" { "stdin" } else { path };
    let reader = open(path, progress).map_err(io_err)?;
    let mut lines = NdjsonReader::new(
        reader,
        source_name.to_string(),
        0,
        0,
        max_record_bytes,
        false,
    );
    while let Some(chunk) = lines.next_chunk(chunk_records).map_err(io_err)? {
        progress
            .records_read
            .fetch_add(chunk.records.len() as u64, Ordering::Relaxed);
        if out.blocking_send((chunk.records, ())).is_err() || stop.load(Ordering::Relaxed) {
            return Ok(());
        }
    }
    Ok(())
}
