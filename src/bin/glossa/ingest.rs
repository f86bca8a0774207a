//! `glossa ingest`: files (with progress bar and summary) and streams (Kafka, S3).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use glossa::backend::SearchBackend;
use glossa::config::{BackendKind, Config, StreamUrl};
use glossa::pipeline::{Outcome, PipelineHandle};
use glossa::service::Service;
use glossa::source::{file, Progress, StreamOptions};
use indicatif::{ProgressBar, ProgressStyle};

use crate::serve::shutdown_signal;

pub(crate) async fn ingest(config: Config, paths: Vec<String>, bulk_load: bool) -> Result<()> {
    // Fail on a missing input before touching the data directory.
    for path in paths.iter().filter(|p| p.as_str() != "-") {
        std::fs::metadata(path).with_context(|| format!("cannot read {path}"))?;
    }
    let chunk = config.pipeline.chunk_records;
    let max_record = config.limits.max_record_bytes;
    let data_dir = config.data_dir.clone();
    let compaction = (
        config.pipeline.compact_target(),
        config.pipeline.compact_idle_seconds,
    );
    let job = run_job(config, bulk_load, move |pipeline, progress| {
        let stop = Arc::new(AtomicBool::new(false));
        let stopper = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                tracing::warn!("interrupted: stopping reading; what was read is still indexed");
                stopper.store(true, Ordering::Relaxed);
            }
        });
        async move { Ok(file::ingest(paths, pipeline, chunk, max_record, progress, stop).await?) }
    })
    .await?;
    print_summary(
        &job.result,
        job.elapsed,
        job.progress.bytes_read.load(Ordering::Relaxed),
    );
    println!("data directory: {}", data_dir.display());
    suggest_compaction(job.segments, compaction);
    Ok(())
}

/// After a bulk load that left the embedded index in more segments than an idle compaction
/// leaves (ingest stops merging at large ones), says how to make its searches faster.
/// `(target, idle_seconds)`: `pipeline.compact_target()` and `pipeline.compact_idle_seconds`.
fn suggest_compaction(segments: Option<usize>, (target, idle_seconds): (usize, u64)) {
    let Some(segments) = segments.filter(|n| *n > 2 * target) else {
        return;
    };
    let serve = match idle_seconds {
        0 => String::new(),
        s => format!(", or `glossa serve` does it after {s} s without writes"),
    };
    println!("the index is in {segments} segments: `glossa compact` merges them for faster searches{serve}");
}

/// What an ingest job returns: what `read` returned, and its counters and duration.
struct Job<T> {
    result: T,
    progress: Arc<Progress>,
    elapsed: Duration,
    /// Segments of the embedded index at the end (none on OpenSearch).
    segments: Option<usize>,
}

/// One ingest job's life, the same for files and streams: `--bulk-load` checked, the service
/// started with bulk-load mode around it, a progress bar while `read` feeds the pipeline, then
/// the service stopped (everything read is stored and acknowledged) and bulk-load mode ended,
/// whatever `read` returned.
async fn run_job<T, F, Fut>(config: Config, bulk_load: bool, read: F) -> Result<Job<T>>
where
    F: FnOnce(PipelineHandle, Arc<Progress>) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    if bulk_load && config.backend != BackendKind::OpenSearch {
        anyhow::bail!("--bulk-load applies to the OpenSearch backend only (--backend opensearch)");
    }
    let cluster = config.opensearch.clone();
    let service = tokio::task::spawn_blocking(move || Service::start(config)).await??;
    let bulk_load = begin_bulk_load(&cluster, bulk_load).await?;
    let started = Instant::now();
    let progress = Arc::new(Progress::default());
    let bar = progress_bar(progress.clone());
    let embedded = match &service.state.index {
        SearchBackend::Embedded(index) => Some(index.clone()),
        SearchBackend::OpenSearch(_) => None,
    };
    let result = read(service.state.pipeline.clone(), progress.clone()).await;
    bar.finish_and_clear();
    let stopped = service.stop().await;
    end_bulk_load(bulk_load).await?;
    stopped?;
    Ok(Job {
        result: result?,
        progress,
        elapsed: started.elapsed(),
        segments: embedded.map(|index| index.segment_count()),
    })
}

/// Turns bulk-load mode on for the cluster index when asked (`--bulk-load`).
pub(crate) async fn begin_bulk_load(
    cluster: &glossa::config::OpenSearchSettings,
    wanted: bool,
) -> Result<Option<glossa::backend::opensearch::bulk_load::BulkLoad>> {
    if !wanted {
        return Ok(None);
    }
    let client = glossa::backend::opensearch::connect(cluster)?;
    let alias = glossa::backend::opensearch::bootstrap::IndexNames::new(&cluster.index).write_alias;
    Ok(Some(
        glossa::backend::opensearch::bulk_load::BulkLoad::start(&client, &alias).await?,
    ))
}

/// Restores the index settings whatever happened to the load.
pub(crate) async fn end_bulk_load(
    load: Option<glossa::backend::opensearch::bulk_load::BulkLoad>,
) -> Result<()> {
    if let Some(load) = load {
        load.finish().await.context(
            "cannot restore the index settings after the bulk load; the next Glossa start retries",
        )?;
    }
    Ok(())
}

pub(crate) async fn ingest_stream(
    config: Config,
    url: StreamUrl,
    options: StreamOptions,
    bulk_load: bool,
) -> Result<()> {
    let data_dir = config.data_dir.clone();
    let compaction = (
        config.pipeline.compact_target(),
        config.pipeline.compact_idle_seconds,
    );
    let source_config = config.clone();
    let shown = url.to_string();
    let job = run_job(config, bulk_load, move |pipeline, progress| {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown_signal().await;
            tracing::warn!("stopping: what was read is still indexed and its position committed");
            let _ = stop_tx.send(true);
        });
        async move {
            let read = glossa::source::run_stream(
                &url,
                &source_config,
                pipeline,
                options,
                progress,
                stop_rx,
            );
            Ok(read.await?)
        }
    })
    .await?;
    let done = job.progress.records_done.load(Ordering::Relaxed);
    let rejected = job.progress.records_rejected.load(Ordering::Relaxed);
    let seconds = job.elapsed.as_secs_f64().max(0.001);
    println!(
        "indexed {} records, rejected {rejected}, in {seconds:.1}s ({:.0} records/s, {:.1} MB/s) from {shown}",
        done - rejected,
        done as f64 / seconds,
        job.progress.bytes_read.load(Ordering::Relaxed) as f64 / 1e6 / seconds
    );
    if rejected > 0 {
        println!("  rejected records are in the dead-letter queue (see `glossa dlq list`)");
    }
    println!("data directory: {}", data_dir.display());
    suggest_compaction(job.segments, compaction);
    Ok(())
}

pub(crate) fn progress_bar(progress: Arc<Progress>) -> ProgressBar {
    let total = progress.total_bytes.load(Ordering::Relaxed);
    let bar = ProgressBar::new(total);
    let template = "{spinner} {elapsed_precise} [{wide_bar}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta} | {msg}";
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    let ticker = bar.clone();
    let started = Instant::now();
    tokio::spawn(async move {
        while !ticker.is_finished() {
            let total = progress.total_bytes.load(Ordering::Relaxed);
            if total > 0 {
                ticker.set_length(total);
            }
            ticker.set_position(progress.bytes_read.load(Ordering::Relaxed));
            let done = progress.records_done.load(Ordering::Relaxed);
            let rate = done as f64 / started.elapsed().as_secs_f64().max(0.001);
            ticker.set_message(format!("{done} records indexed, {rate:.0}/s"));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    bar
}

pub(crate) fn print_summary(outcome: &Outcome, elapsed: Duration, bytes: u64) {
    let seconds = elapsed.as_secs_f64().max(0.001);
    let records = outcome.indexed + outcome.deleted + outcome.rejected.len() as u64;
    let deleted = match outcome.deleted {
        0 => String::new(),
        n => format!(", deleted {n}"),
    };
    println!(
        "indexed {} records{deleted}, rejected {}, in {:.1}s ({:.0} records/s, {:.1} MB/s)",
        outcome.indexed,
        outcome.rejected.len(),
        seconds,
        records as f64 / seconds,
        bytes as f64 / 1e6 / seconds
    );
    let mut reasons = std::collections::BTreeMap::new();
    for r in &outcome.rejected {
        *reasons.entry(r.reason.as_str()).or_insert(0u64) += 1;
    }
    for (reason, count) in reasons {
        println!("  rejected {reason}: {count} (see `glossa dlq list`)");
    }
    let mut languages: Vec<_> = outcome.languages.iter().collect();
    languages.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let listed: Vec<String> = languages.iter().map(|(l, c)| format!("{l} {c}")).collect();
    println!("languages: {}", listed.join(", "));
}
