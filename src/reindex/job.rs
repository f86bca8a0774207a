//! A reindex job's state, kept in the cluster (index `<name>-reindex-jobs`, one document per
//! job, keyed by the new version's index name) so that any machine can resume, swap, roll back or
//! list it, and a killed job loses at most the pages copied since its last checkpoint (which are
//! copied again: same ids, so nothing is duplicated).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::verify::Verification;
use crate::backend::opensearch::client::{Client, OpenSearchError};

/// Where a job is. Each phase can be re-run from its start after a crash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Reading the original source (`--from`) into the new version.
    Replaying,
    /// Copying every document of the live version, slice by slice, from checkpoints.
    Copying,
    /// Copying again what was ingested since the copy began (live writes).
    CatchingUp,
    /// Comparing the two versions.
    Verifying,
    /// Verified; waiting for `glossa reindex swap` (started with `--no-swap`).
    Verified,
    /// Verification found differences; `swap --force` or `rollback`.
    VerifyFailed,
    /// Moving the aliases and copying what was still in flight.
    Swapping,
    /// The new version is live behind both aliases.
    Swapped,
    /// The aliases were moved back to the old version (`rollback` after a swap).
    RolledBack,
    /// Given up before a swap (`rollback` of an unfinished job); the aliases never moved.
    Abandoned,
}

impl Phase {
    /// Nothing left to do for this job.
    pub fn is_finished(self) -> bool {
        matches!(self, Phase::Swapped | Phase::RolledBack | Phase::Abandoned)
    }
}

/// One copy stream: the documents whose `id_hash` is in `lo..=hi`, read in `(id_hash, id)`
/// order, resumed after `after`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slice {
    pub lo: i64,
    pub hi: i64,
    /// Sort key of the last document copied and acknowledged by the new version.
    pub after: Option<(i64, String)>,
    pub done: bool,
    pub copied: u64,
}

/// `n` slices covering every `id_hash`.
pub fn slices(n: u32) -> Vec<Slice> {
    let n = i128::from(n.max(1));
    let span = (i128::from(i64::MAX) - i128::from(i64::MIN) + 1) / n;
    (0..n)
        .map(|i| {
            let lo = i128::from(i64::MIN) + i * span;
            let hi = if i == n - 1 {
                i128::from(i64::MAX)
            } else {
                lo + span - 1
            };
            Slice {
                lo: lo as i64,
                hi: hi as i64,
                after: None,
                done: false,
                copied: 0,
            }
        })
        .collect()
}

/// Everything a job needs to go on after a crash, and what `status` shows.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Job {
    /// Base name (the read alias).
    pub name: String,
    /// The version copied from (live when the job started).
    pub source: String,
    /// The version being built.
    pub target: String,
    pub phase: Phase,
    /// Detect languages again instead of keeping the stored ones.
    pub redetect: bool,
    /// Copy rate limit, documents per second.
    pub rate: Option<u32>,
    /// Swap automatically once verification passes.
    pub auto_swap: bool,
    /// Saved queries checked on both versions.
    pub queries: Vec<String>,
    pub started_at: String,
    pub updated_at: String,
    /// Documents in the old version when the job started (the progress bar's total).
    pub total: u64,
    /// Documents written to the new version (catch-up passes included).
    pub copied: u64,
    /// Documents the new version refused or that no longer decode: in the dead-letter queue.
    pub failed: u64,
    /// Seconds spent in the copy phase (for the measured rate).
    pub copy_seconds: f64,
    pub slices: Vec<Slice>,
    /// Start of the last catch-up pass on the old version: everything ingested before it (less
    /// the margin) is in the new version.
    pub caught_up_at: Option<String>,
    /// When both aliases moved to the new version.
    pub aliases_moved_at: Option<String>,
    pub verification: Option<Verification>,
    /// Why the job last stopped early, if it did.
    pub message: Option<String>,
    /// The source replayed instead of copying (`--from`).
    #[serde(default)]
    pub replay_from: Option<String>,
    /// Embedded: the live index's segments already copied (checkpoints).
    #[serde(default)]
    pub segments_done: Vec<String>,
    /// Embedded: the live index's commit when verified (a later commit means new writes).
    #[serde(default)]
    pub source_opstamp: Option<u64>,
}

impl Job {
    /// A new job copying (or replaying `options.from`) `source` into `target`, which holds
    /// `total` documents, with the configured saved queries plus the job's own.
    pub fn new(
        name: String,
        (source, target): (String, String),
        total: u64,
        slices: Vec<Slice>,
        options: super::StartOptions,
        saved_queries: &[String],
    ) -> Job {
        let now = crate::dlq::now_rfc3339();
        let mut queries = saved_queries.to_vec();
        queries.extend(options.queries);
        Job {
            name,
            source,
            target,
            phase: match options.from {
                Some(_) => Phase::Replaying,
                None => Phase::Copying,
            },
            // A replay runs the pipeline, which always detects.
            redetect: options.redetect || options.from.is_some(),
            rate: options.rate,
            auto_swap: options.swap,
            queries,
            started_at: now.clone(),
            updated_at: now,
            total,
            copied: 0,
            failed: 0,
            copy_seconds: 0.0,
            slices,
            caught_up_at: None,
            aliases_moved_at: None,
            verification: None,
            message: None,
            replay_from: options.from,
            segments_done: Vec::new(),
            source_opstamp: None,
        }
    }

    /// The measured copy rate, documents per second.
    pub fn copy_rate(&self) -> f64 {
        let copied: u64 = match self.slices.is_empty() {
            true => self.copied,
            false => self.slices.iter().map(|s| s.copied).sum(),
        };
        copied as f64 / self.copy_seconds.max(0.001)
    }
}

/// A few lines about a job for `glossa reindex status`.
pub fn job_summary(job: &Job) -> String {
    let mut out = format!(
        "\n{} <- {}: {:?}\n  started {}, updated {}\n  copied {} of {} ({} failed, {:.0} documents/s){}{}\n",
        job.target,
        job.source,
        job.phase,
        job.started_at,
        job.updated_at,
        job.copied,
        job.total,
        job.failed,
        job.copy_rate(),
        if job.redetect { ", languages detected again" } else { "" },
        job.rate.map(|r| format!(", limited to {r}/s")).unwrap_or_default(),
    );
    if let Some(from) = &job.replay_from {
        out.push_str(&format!("  replayed from {from}\n"));
    }
    if let Some(message) = &job.message {
        out.push_str(&format!("  stopped: {message}\n"));
    }
    if let Some(verification) = &job.verification {
        for line in verification.report().lines() {
            out.push_str(&format!("  {line}\n"));
        }
    }
    out
}

/// The jobs of one base name, in the cluster.
#[derive(Clone, Debug)]
pub struct JobStore {
    client: Client,
    index: String,
    created: Arc<AtomicBool>,
}

impl JobStore {
    pub fn new(client: Client, name: &str) -> JobStore {
        JobStore {
            client,
            index: format!("{name}-reindex-jobs"),
            created: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Writes `job` (creating the jobs index on first use).
    pub async fn save(&self, job: &mut Job) -> Result<(), OpenSearchError> {
        job.updated_at = crate::dlq::now_rfc3339();
        let body = serde_json::to_value(&*job)
            .map_err(|e| OpenSearchError::Internal(format!("cannot serialize a job: {e}")))?;
        // Created explicitly, not by the first write: dynamic mapping would guess types for
        // the job's fields (and refuse the next checkpoint when a guess does not fit).
        if !self.created.load(Ordering::Relaxed) {
            self.create_index().await?;
            self.created.store(true, Ordering::Relaxed);
        }
        let path = format!("{}/_doc/{}?refresh=true", self.index, job.target);
        self.client.json(Method::PUT, &path, Some(&body)).await?;
        Ok(())
    }

    async fn create_index(&self) -> Result<(), OpenSearchError> {
        let body = json!({
            "settings": {"number_of_shards": 1, "auto_expand_replicas": "0-1"},
            "mappings": {"dynamic": false, "properties": {
                "started_at": {"type": "date"},
                "phase": {"type": "keyword"},
            }},
        });
        match self
            .client
            .json(Method::PUT, &self.index, Some(&body))
            .await
        {
            Err(OpenSearchError::Status { reason, .. })
                if reason.starts_with("resource_already_exists_exception") =>
            {
                Ok(())
            }
            other => other.map(|_| ()),
        }
    }

    /// Every job, newest first.
    pub async fn list(&self) -> Result<Vec<Job>, OpenSearchError> {
        let body = json!({"size": 1000, "sort": [{"started_at": "desc"}]});
        let answer = match self
            .client
            .json(
                Method::POST,
                &format!("{}/_search", self.index),
                Some(&body),
            )
            .await
        {
            Err(OpenSearchError::Status { status: 404, .. }) => return Ok(Vec::new()),
            other => other?,
        };
        let hits = answer["hits"]["hits"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        hits.into_iter()
            .map(|hit| {
                serde_json::from_value(hit["_source"].clone()).map_err(|e| {
                    OpenSearchError::Decode(format!("a job in {} does not parse: {e}", self.index))
                })
            })
            .collect()
    }

    /// The newest job that is not finished.
    pub async fn unfinished(&self) -> Result<Option<Job>, OpenSearchError> {
        Ok(self
            .list()
            .await?
            .into_iter()
            .find(|job| !job.phase.is_finished()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_cover_every_hash_once() {
        for n in [1, 2, 3, 4, 7, 16] {
            let s = slices(n);
            assert_eq!(s.len(), n as usize);
            assert_eq!(s[0].lo, i64::MIN);
            assert_eq!(s[s.len() - 1].hi, i64::MAX);
            for pair in s.windows(2) {
                assert_eq!(pair[0].hi + 1, pair[1].lo, "{n} slices");
            }
        }
    }
}
