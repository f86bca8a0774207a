//! Reindex jobs: build the next index version from the live one (with new mappings, analyzers,
//! language set or detector), catch up with the writes that arrived meanwhile, verify, move the
//! aliases (OpenSearch) or the live-index pointer (embedded, see [`embedded`]), and roll back.
//!
//! On OpenSearch, live writes are caught up by ingest timestamp, not dual-written: workers keep writing to the
//! old version through the write alias while the copy runs; catch-up passes copy again what was
//! ingested since a pass began (less a margin for clock skew and bulk retries); after the aliases
//! move, a final conditional pass copies what was still in flight to the old version without
//! overwriting anything newer.

pub mod cluster;
pub mod copy;
pub mod embedded;
pub mod job;
pub(crate) mod transform;
pub(crate) mod verify;

use std::num::NonZeroU32;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::watch;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::backend::opensearch::bootstrap::BootstrapError;
use crate::backend::opensearch::client::OpenSearchError;
use crate::config::Config;
use crate::config::StreamUrl;
use crate::service::{Service, WriteTarget};
use crate::source::{run_stream, StreamOptions};

/// Why a reindex command failed.
#[derive(Debug, thiserror::Error)]
pub enum ReindexError {
    #[error("OpenSearch: {0}")]
    Cluster(#[from] OpenSearchError),
    #[error(transparent)]
    Bootstrap(Box<BootstrapError>),
    #[error(transparent)]
    Detect(#[from] crate::detect::DetectError),
    #[error("dead-letter queue: {0}")]
    Dlq(#[from] crate::dlq::DlqError),
    #[error("{0}")]
    State(String),
    #[error("cannot use the mappings file {path}: {message}")]
    Mappings { path: String, message: String },
    #[error("embedded index: {0}")]
    Tantivy(Box<tantivy::TantivyError>),
    #[error(transparent)]
    Embedded(Box<crate::backend::embedded::EmbeddedError>),
    #[error("replaying the source: {0}")]
    Replay(String),
    #[error("stopped before the end; continue with `glossa reindex resume`")]
    Interrupted,
}

impl From<tantivy::TantivyError> for ReindexError {
    fn from(error: tantivy::TantivyError) -> Self {
        ReindexError::Tantivy(Box::new(error))
    }
}

impl From<crate::backend::embedded::EmbeddedError> for ReindexError {
    fn from(error: crate::backend::embedded::EmbeddedError) -> Self {
        ReindexError::Embedded(Box::new(error))
    }
}

impl From<BootstrapError> for ReindexError {
    fn from(error: BootstrapError) -> Self {
        ReindexError::Bootstrap(Box::new(error))
    }
}

/// How `glossa reindex start` builds the new version.
#[derive(Clone, Debug, Default)]
pub struct StartOptions {
    /// Detect every document's language again (after a detector or language-set change).
    pub redetect: bool,
    /// A create-index body (settings and mappings) to use instead of the generated one.
    pub mappings: Option<std::path::PathBuf>,
    /// Copy at most this many documents per second.
    pub rate: Option<u32>,
    /// Parallel copy streams (default `reindex.slices`).
    pub slices: Option<u32>,
    /// Move the aliases as soon as verification passes.
    pub swap: bool,
    /// Saved queries to check on both versions, besides `reindex.verify_queries`.
    pub queries: Vec<String>,
    /// Rebuild from this source (`kafka://...`, `s3://...`) instead of copying the live version.
    pub from: Option<String>,
}

/// Refuses a new job while `unfinished` (the newest job not finished) exists.
pub fn refuse_second_job(unfinished: Option<&job::Job>) -> Result<(), ReindexError> {
    match unfinished {
        None => Ok(()),
        Some(job) => Err(ReindexError::State(format!(
            "the reindex into {} is unfinished ({:?}); run `glossa reindex resume`, or `glossa reindex rollback` to give it up",
            job.target, job.phase
        ))),
    }
}

/// Whether `job` may be swapped in (`force`: even after a failed verification).
pub fn check_swappable(job: &job::Job, force: bool) -> Result<(), ReindexError> {
    match job.phase {
        job::Phase::Verified | job::Phase::Swapping => Ok(()),
        job::Phase::VerifyFailed if force => Ok(()),
        job::Phase::VerifyFailed => Err(ReindexError::State(format!(
            "the verification of {} failed; look at `glossa reindex status`, then swap with --force or roll back",
            job.target
        ))),
        phase => Err(ReindexError::State(format!(
            "the reindex into {} is not verified yet ({phase:?}); run `glossa reindex resume`",
            job.target
        ))),
    }
}

/// Refuses to roll back a job that already was.
pub fn check_rollbackable(job: &job::Job) -> Result<(), ReindexError> {
    match job.phase {
        job::Phase::RolledBack | job::Phase::Abandoned => Err(ReindexError::State(format!(
            "the newest reindex job ({}) is already {:?}",
            job.target, job.phase
        ))),
        _ => Ok(()),
    }
}

/// Reads the stream `url` to its end into the index version `target`, through the whole
/// pipeline (decode, detect, route), as `glossa ingest --from` would: the replay mode of a job.
/// Kafka resumes from the URL's group's commits; S3 reads every object again. Returns the
/// records indexed and rejected (those are in the dead-letter queue).
pub async fn replay(
    config: &Config,
    url: &str,
    target: &str,
    progress: Arc<copy::CopyProgress>,
    stop: watch::Receiver<bool>,
) -> Result<(u64, u64), ReindexError> {
    let failed = |e: &dyn std::fmt::Display| ReindexError::Replay(e.to_string());
    let url = StreamUrl::parse(url).map_err(|e| failed(&e))?;
    let service_config = config.clone();
    let target = WriteTarget::Version(target.to_string());
    let service = tokio::task::spawn_blocking(move || Service::start_into(service_config, target))
        .await
        .map_err(|e| failed(&e))?
        .map_err(|e| failed(&e))?;
    let read = Arc::new(crate::source::Progress::default());
    let mirror = {
        let read = read.clone();
        tokio::spawn(async move {
            loop {
                let done = read.records_done.load(Ordering::Relaxed);
                let rejected = read.records_rejected.load(Ordering::Relaxed);
                progress
                    .copied
                    .store(done - rejected.min(done), Ordering::Relaxed);
                progress.failed.store(rejected, Ordering::Relaxed);
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        })
    };
    let options = StreamOptions {
        follow: false,
        force: true,
    };
    let result = run_stream(
        &url,
        config,
        service.state.pipeline.clone(),
        options,
        read.clone(),
        stop,
    )
    .await;
    mirror.abort();
    let stopped = service.stop().await;
    result.map_err(|e| failed(&e))?;
    stopped.map_err(|e| failed(&e))?;
    let done = read.records_done.load(Ordering::Relaxed);
    let rejected = read.records_rejected.load(Ordering::Relaxed);
    Ok((done - rejected.min(done), rejected))
}

/// Documents per page (or chunk) under a rate limit: a tenth of a second's worth, so the
/// limiter's burst (one page) stays small against the rate; `max` without a limit.
pub fn rate_limited_batch(max: u32, rate: Option<u32>) -> u32 {
    match rate {
        Some(rate) => (rate / 10).clamp(1, max.max(1)),
        None => max.max(1),
    }
}

/// The copy's rate limiter: `rate` documents per second, at most one `batch` at once.
pub fn rate_limiter(rate: Option<u32>, batch: u32) -> Option<governor::DefaultDirectRateLimiter> {
    let rate = NonZeroU32::new(rate?)?;
    let burst = NonZeroU32::new(batch).unwrap_or(NonZeroU32::MIN);
    Some(governor::RateLimiter::direct(
        governor::Quota::per_second(rate).allow_burst(burst),
    ))
}

/// True when RFC 3339 time `a` is strictly before `b` (unparsable times compare as text).
pub fn is_older(a: &str, b: &str) -> bool {
    match (
        OffsetDateTime::parse(a, &Rfc3339),
        OffsetDateTime::parse(b, &Rfc3339),
    ) {
        (Ok(a), Ok(b)) => a < b,
        _ => a < b,
    }
}

/// `time` minus `seconds`, in RFC 3339 with milliseconds (the index's date precision).
pub fn seconds_before(time: &str, seconds: u64) -> String {
    let parsed = OffsetDateTime::parse(time, &Rfc3339).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let earlier = parsed - time::Duration::seconds(seconds.min(i64::MAX as u64) as i64);
    let millis = earlier.replace_nanosecond(earlier.millisecond() as u32 * 1_000_000);
    millis
        .unwrap_or(earlier)
        .format(&Rfc3339)
        .unwrap_or_else(|_| time.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_compare_as_times_not_text() {
        // As text, "05Z" sorts after "05.1Z"; as times it is earlier.
        assert!(is_older("2026-01-01T00:00:05Z", "2026-01-01T00:00:05.1Z"));
        assert!(is_older(
            "2026-01-01T00:00:05.5Z",
            "2026-01-01T00:00:05.50001Z"
        ));
        assert!(!is_older(
            "2026-01-01T00:00:05.5Z",
            "2026-01-01T00:00:05.5Z"
        ));
        assert!(!is_older(
            "2026-01-01T01:00:00+01:00",
            "2026-01-01T00:00:00Z"
        ));
    }

    #[test]
    fn rate_limited_pages_hold_a_tenth_of_a_second() {
        assert_eq!(rate_limited_batch(1000, None), 1000);
        assert_eq!(rate_limited_batch(1000, Some(400)), 40);
        assert_eq!(rate_limited_batch(1000, Some(5)), 1);
        assert_eq!(rate_limited_batch(1000, Some(1_000_000)), 1000);
    }

    #[test]
    fn margins_go_back_in_time() {
        assert_eq!(
            seconds_before("2026-01-01T00:01:00.123456789Z", 90),
            "2025-12-31T23:59:30.123Z"
        );
    }
}
