//! File source: NDJSON files, plain or gzip (`.gz`), or standard input (`-`).

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use flate2::read::MultiGzDecoder;
use tokio::sync::mpsc;

use crate::pipeline::{Admission, Outcome, PipelineError, PipelineHandle};
use crate::record::{RawRecord, SourcePosition};

/// Why a file could not be ingested.
#[derive(Debug, thiserror::Error)]
pub enum FileSourceError {
    #[error("cannot read {path}: {cause}")]
    Io { path: String, cause: std::io::Error },
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
}

/// Live counters for a progress display.
#[derive(Debug, Default)]
pub struct Progress {
    /// Bytes read from disk (compressed bytes for `.gz`), comparable with [`Progress::total_bytes`].
    pub bytes_read: AtomicU64,
    /// Records read and submitted.
    pub records_read: AtomicU64,
    /// Records acknowledged (indexed or dead-lettered).
    pub records_done: AtomicU64,
    /// Sum of the sizes of all regular input files; 0 when unknown (stdin).
    pub total_bytes: AtomicU64,
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

    let (chunks_tx, mut chunks_rx) = mpsc::channel::<Vec<RawRecord>>(2);
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

    // Acknowledgements are awaited on their own task so reading never waits for a commit.
    let (pending_tx, mut pending_rx) = mpsc::unbounded_channel();
    let ack_progress = progress.clone();
    let acks = tokio::spawn(async move {
        let mut total = Outcome::default();
        while let Some(pending) = pending_rx.recv().await {
            let pending: crate::pipeline::Pending = pending;
            let outcome = pending.outcome().await?;
            ack_progress.records_done.fetch_add(
                outcome.indexed + outcome.rejected.len() as u64,
                Ordering::Relaxed,
            );
            total.merge(outcome);
        }
        Ok::<Outcome, PipelineError>(total)
    });

    while let Some(chunk) = chunks_rx.recv().await {
        let pending = handle.submit(chunk, Admission::Wait).await?;
        if pending_tx.send(pending).is_err() {
            break;
        }
    }
    drop(pending_tx);
    let read = reader.await.map_err(|e| FileSourceError::Io {
        path: "<reader task>".into(),
        cause: std::io::Error::other(e.to_string()),
    });
    let outcome = acks.await.map_err(|_| PipelineError::Closed)??;
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
    out: &mpsc::Sender<Vec<RawRecord>>,
) -> Result<(), FileSourceError> {
    let io_err = |cause| FileSourceError::Io {
        path: path.to_string(),
        cause,
    };
    let source_name = if path == "-" { "stdin" } else { path };
    let mut reader = open(path, progress).map_err(io_err)?;
    // Keep enough of an over-long line for its dead letter to be replayable when it fits there.
    let keep_bytes = max_record_bytes.max(crate::dlq::MAX_RAW_BYTES);
    let mut chunk = Vec::with_capacity(chunk_records);
    let mut line_no = 0u64;
    loop {
        let mut line = Vec::new();
        let read = read_line_bounded(&mut reader, keep_bytes, &mut line).map_err(io_err)?;
        if read == 0 {
            break;
        }
        line_no += 1;
        while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            line.pop();
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        chunk.push(RawRecord {
            position: SourcePosition {
                source: source_name.to_string(),
                line: line_no,
            },
            bytes: line,
        });
        if chunk.len() >= chunk_records {
            progress
                .records_read
                .fetch_add(chunk.len() as u64, Ordering::Relaxed);
            if out.blocking_send(std::mem::take(&mut chunk)).is_err()
                || stop.load(Ordering::Relaxed)
            {
                return Ok(());
            }
        }
    }
    if !chunk.is_empty() {
        progress
            .records_read
            .fetch_add(chunk.len() as u64, Ordering::Relaxed);
        let _ = out.blocking_send(chunk);
    }
    Ok(())
}

/// Reads one line into `line`, keeping at most `limit + 1` bytes of it so an absurdly long line
/// cannot exhaust memory (the decoder then rejects it as too large). Returns bytes consumed.
fn read_line_bounded(
    reader: &mut dyn BufRead,
    limit: usize,
    line: &mut Vec<u8>,
) -> std::io::Result<usize> {
    let mut consumed = 0;
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok(consumed);
        }
        let (part, done) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (&available[..=i], true),
            None => (available, false),
        };
        let room = (limit + 1).saturating_sub(line.len());
        line.extend_from_slice(&part[..part.len().min(room)]);
        let n = part.len();
        reader.consume(n);
        consumed += n;
        if done {
            return Ok(consumed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_but_fully_consumed() {
        let data = format!("{}\nnext\n", "x".repeat(100));
        let mut reader = std::io::Cursor::new(data.into_bytes());
        let mut line = Vec::new();
        let n = read_line_bounded(&mut reader, 10, &mut line).expect("in-memory read");
        assert_eq!(n, 101);
        assert_eq!(line.len(), 11);
        line.clear();
        read_line_bounded(&mut reader, 10, &mut line).expect("in-memory read");
        assert_eq!(line, b"next\n");
    }
}
