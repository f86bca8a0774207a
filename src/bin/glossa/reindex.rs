//! `glossa reindex`: start, resume, swap, roll back, status and cleanup of index versions.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use glossa::config::{BackendKind, Config};
use indicatif::{ProgressBar, ProgressStyle};

use crate::args::*;
use crate::serve::shutdown_signal;

pub(crate) async fn reindex(
    config: Config,
    command: ReindexCommand,
    metrics_listen: Option<SocketAddr>,
) -> Result<()> {
    use glossa::reindex::job::Phase;
    if let Some(addr) = metrics_listen {
        glossa::metrics::install();
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} for metrics"))?;
        let app = axum::Router::new().route("/metrics", axum::routing::get(glossa::api::metrics));
        tokio::spawn(async move { axum::serve(listener, app).await });
        tracing::info!(%addr, "serving reindex metrics on /metrics");
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::warn!(
            "stopping the reindex after the pages in flight; `glossa reindex resume` continues it"
        );
        let _ = stop_tx.send(true);
    });
    let outcome = match config.backend {
        BackendKind::OpenSearch => reindex_cluster(config, command, stop_rx).await?,
        BackendKind::Embedded => reindex_embedded(config, command, stop_rx).await?,
    };
    let job = match outcome {
        ReindexOutcome::Printed(text) => {
            print!("{text}");
            return Ok(());
        }
        ReindexOutcome::Job(job) => job,
    };
    if let Some(verification) = &job.verification {
        print!("{}", verification.report());
    }
    println!(
        "{} <- {}: {:?}; {} documents copied ({} failed, in the dead-letter queue), {:.0} documents/s",
        job.target,
        job.source,
        job.phase,
        job.copied,
        job.failed,
        job.copy_rate()
    );
    match job.phase {
        Phase::VerifyFailed => anyhow::bail!(
            "verification failed; see the report above, then `glossa reindex swap --force` or `glossa reindex rollback`"
        ),
        Phase::Verified => println!("verified; swap with `glossa reindex swap`"),
        Phase::Swapped => println!(
            "{} is live; restart servers and workers with the new configuration",
            job.target
        ),
        Phase::RolledBack => println!("{} is live again", job.source),
        _ => {}
    }
    Ok(())
}

/// What a reindex command leaves to print: a job, or a text (status, cleanup).
pub(crate) enum ReindexOutcome {
    Job(Box<glossa::reindex::job::Job>),
    Printed(String),
}

pub(crate) fn cleanup_text(deleted: Vec<String>) -> String {
    if deleted.is_empty() {
        return "nothing to delete\n".to_string();
    }
    deleted.iter().map(|d| format!("deleted {d}\n")).collect()
}

pub(crate) fn start_options(command: ReindexCommand) -> glossa::reindex::StartOptions {
    match command {
        ReindexCommand::Start {
            redetect,
            mappings,
            rate,
            slices,
            no_swap,
            queries,
            from,
        } => glossa::reindex::StartOptions {
            redetect,
            mappings,
            rate,
            slices,
            swap: !no_swap,
            queries,
            from,
        },
        _ => glossa::reindex::StartOptions::default(),
    }
}

pub(crate) async fn reindex_cluster(
    config: Config,
    command: ReindexCommand,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Result<ReindexOutcome> {
    let reindexer = tokio::task::spawn_blocking(move || {
        glossa::reindex::cluster::Reindexer::open(config, stop)
    })
    .await??;
    let bar = reindex_progress_bar(reindexer.progress.clone());
    let outcome = match command {
        ReindexCommand::Status => reindexer.status().await.map(ReindexOutcome::Printed),
        ReindexCommand::Cleanup { keep } => reindexer
            .cleanup(keep)
            .await
            .map(|d| ReindexOutcome::Printed(cleanup_text(d))),
        ReindexCommand::Rollback => reindexer.rollback().await.map(job_outcome),
        ReindexCommand::Swap { force } => reindexer.swap(force).await.map(job_outcome),
        ReindexCommand::Resume => reindexer.resume().await.map(job_outcome),
        start @ ReindexCommand::Start { .. } => {
            reindexer.start(start_options(start)).await.map(job_outcome)
        }
    };
    bar.finish_and_clear();
    Ok(outcome?)
}

pub(crate) fn job_outcome(job: glossa::reindex::job::Job) -> ReindexOutcome {
    ReindexOutcome::Job(Box::new(job))
}

pub(crate) async fn reindex_embedded(
    config: Config,
    command: ReindexCommand,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Result<ReindexOutcome> {
    let reindexer = Arc::new(
        tokio::task::spawn_blocking(move || {
            glossa::reindex::embedded::EmbeddedReindexer::open(config, stop)
        })
        .await??,
    );
    let bar = reindex_progress_bar(reindexer.progress.clone());
    let worker = reindexer.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let job = match command {
            ReindexCommand::Status => return worker.status().map(ReindexOutcome::Printed),
            ReindexCommand::Cleanup { keep } => {
                return worker
                    .cleanup(keep)
                    .map(|d| ReindexOutcome::Printed(cleanup_text(d)))
            }
            ReindexCommand::Rollback => worker.rollback(),
            ReindexCommand::Swap { force } => worker.swap(force),
            ReindexCommand::Resume => worker.resume(),
            start @ ReindexCommand::Start { .. } => worker.start(start_options(start)),
        };
        job.map(job_outcome)
    })
    .await?;
    bar.finish_and_clear();
    Ok(outcome?)
}

pub(crate) fn reindex_progress_bar(
    progress: Arc<glossa::reindex::copy::CopyProgress>,
) -> ProgressBar {
    let bar = ProgressBar::new(0);
    let template = "{spinner} {elapsed_precise} [{wide_bar}] {pos}/{len} documents {per_sec} eta {eta} | {msg}";
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    let ticker = bar.clone();
    tokio::spawn(async move {
        while !ticker.is_finished() {
            ticker.set_length(progress.total.load(Ordering::Relaxed));
            ticker.set_position(progress.copied.load(Ordering::Relaxed));
            let phase = progress.phase.lock().map(|p| p.clone()).unwrap_or_default();
            let failed = progress.failed.load(Ordering::Relaxed);
            ticker.set_message(format!("{phase}, {failed} failed"));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    bar
}
