//! Reindex jobs on an OpenSearch cluster: `<name>-v{n+1}` is built from the live version and
//! swapped in behind the read alias `<name>` and the write alias `<name>-write`.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use tokio::sync::watch;

use super::copy::{Copier, CopyProgress, PageOutcome, Range};
use super::job::{self, Job, JobStore, Phase};
use super::transform::Transform;
use super::verify::Versions;
use super::{seconds_before, ReindexError, StartOptions};
use crate::backend::opensearch::bootstrap::{self, IndexNames};
use crate::backend::opensearch::bulk::BulkIndexer;
use crate::backend::opensearch::bulk_load::{self, BulkLoad};
use crate::backend::opensearch::client::{Client, OpenSearchError};
use crate::backend::opensearch::{self, mapping_options};
use crate::config::Config;
use crate::decode::Decoder;
use crate::detect::{Detector, DetectorConfig};
use crate::dlq::{now_rfc3339, DeadLetterQueue};
use crate::route::Router;

/// How often a running copy writes its checkpoint.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(2);

/// Runs reindex commands for one base index name.
pub struct Reindexer {
    config: Config,
    client: Client,
    names: IndexNames,
    store: JobStore,
    router: Router,
    indexer: BulkIndexer,
    dlq: Arc<Mutex<DeadLetterQueue>>,
    /// Copy progress, for the progress bar.
    pub progress: Arc<CopyProgress>,
    stop: watch::Receiver<bool>,
}

impl Reindexer {
    /// Connects to the cluster and loads the detector (seconds of CPU: call from a blocking
    /// thread inside the runtime). `stop` ends a running copy between pages.
    pub fn open(config: Config, stop: watch::Receiver<bool>) -> Result<Reindexer, ReindexError> {
        config
            .validate()
            .map_err(|e| ReindexError::State(e.to_string()))?;
        let client = opensearch::connect(&config.opensearch)?;
        let detector = Detector::new(&DetectorConfig::from_settings(&config.detect))?;
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| ReindexError::State("Reindexer::open needs a tokio runtime".into()))?;
        let (indexer, _) = runtime.block_on(opensearch::bulk_indexer(&client, &config.opensearch));
        let dlq = DeadLetterQueue::open(&config)?;
        Ok(Reindexer {
            names: IndexNames::new(&config.opensearch.index),
            store: JobStore::new(client.clone(), &config.opensearch.index),
            router: Router::new(Arc::new(detector)),
            client,
            indexer,
            dlq: Arc::new(Mutex::new(dlq)),
            progress: Arc::new(CopyProgress::default()),
            stop,
            config,
        })
    }

    /// How far back catch-up passes reach before their start.
    fn margin(&self) -> u64 {
        match self.config.reindex.catch_up_margin_seconds {
            0 => self.config.opensearch.max_retry_seconds + 60,
            seconds => seconds,
        }
    }

    /// Creates the next version and runs the job through copy, catch-up and verification, then
    /// the swap when asked.
    pub async fn start(&self, options: StartOptions) -> Result<Job, ReindexError> {
        super::refuse_second_job(self.store.unfinished().await?.as_ref())?;
        let aliases = self.alias_targets().await?;
        let (Some(read), Some(write)) = (&aliases.0, &aliases.1) else {
            return Err(ReindexError::State(format!(
                "the aliases {} and {} do not both exist: start Glossa once on this cluster (it creates {})",
                self.names.read_alias,
                self.names.write_alias,
                self.names.version(1)
            )));
        };
        if read != write {
            return Err(ReindexError::State(format!(
                "the read alias points at {read} and the write alias at {write}; point both at the live version first"
            )));
        }
        let next = self.versions().await?.into_iter().max().unwrap_or(1) + 1;
        let target = self.names.version(next);
        let body = match &options.mappings {
            Some(path) => read_mappings(path)?,
            None => {
                let languages = self.router.detector().languages();
                bootstrap::checked_index_body(
                    &self.client,
                    mapping_options(&self.config, &languages),
                )
                .await?
            }
        };
        self.client
            .json(
                Method::PUT,
                &format!("{target}?wait_for_active_shards=1"),
                Some(&body),
            )
            .await?;
        // From now on every live delete reaches the new version too: a document deleted after
        // the copier took it is not brought back by the job.
        self.point_deletes_alias_at(&target).await?;
        let total = self.count(write).await?;
        let slices = job::slices(options.slices.unwrap_or(self.config.reindex.slices));
        let mut job = Job::new(
            self.names.read_alias.clone(),
            (write.clone(), target),
            total,
            slices,
            options,
            &self.config.reindex.verify_queries,
        );
        self.store.save(&mut job).await?;
        tracing::info!(source = %job.source, target = %job.target, total, "reindex started");
        self.run(job).await
    }

    /// Continues the newest unfinished job from its checkpoint.
    pub async fn resume(&self) -> Result<Job, ReindexError> {
        let Some(mut job) = self.store.unfinished().await? else {
            return Err(ReindexError::State(
                "no unfinished reindex job to resume".into(),
            ));
        };
        if job.phase == Phase::VerifyFailed {
            job.phase = Phase::Verifying;
        }
        tracing::info!(target = %job.target, phase = ?job.phase, "resuming the reindex");
        self.run(job).await
    }

    /// Moves the aliases to a verified job's version (`force`: even if verification failed).
    pub async fn swap(&self, force: bool) -> Result<Job, ReindexError> {
        let Some(mut job) = self.store.unfinished().await? else {
            return Err(ReindexError::State(
                "no reindex job waiting for a swap".into(),
            ));
        };
        super::check_swappable(&job, force)?;
        job.phase = Phase::Swapping;
        job.auto_swap = true;
        self.store.save(&mut job).await?;
        self.run(job).await
    }

    /// Puts the aliases back on the version the newest job copied from, copying back what was
    /// written to the new version since the swap; an unfinished job is given up instead.
    pub async fn rollback(&self) -> Result<Job, ReindexError> {
        let Some(mut job) = self.store.list().await?.into_iter().next() else {
            return Err(ReindexError::State("no reindex job to roll back".into()));
        };
        super::check_rollbackable(&job)?;
        match job.phase {
            Phase::Swapped | Phase::Swapping => {
                let (read, _) = self.alias_targets().await?;
                if read.as_deref() == Some(job.target.as_str()) {
                    self.move_aliases(&job.target, &job.source).await?;
                }
                tracing::info!(old = %job.source, "aliases moved back; copying back what was written since the swap");
                tokio::time::sleep(Duration::from_secs(self.config.reindex.settle_seconds)).await;
                let since = seconds_before(
                    job.aliases_moved_at.as_deref().unwrap_or(&job.started_at),
                    self.margin(),
                );
                let copier = self.copier(&job.target, &job.source, Transform::AsStored, None);
                self.refresh(&job.target).await?;
                copier
                    .copy(full_range(Some(since)), true, &self.stop, |_, _| {})
                    .await?;
                job.phase = Phase::RolledBack;
            }
            _ => {
                bulk_load::finish_on_index(&self.client, &job.target).await?;
                job.phase = Phase::Abandoned;
            }
        }
        self.store.save(&mut job).await?;
        Ok(job)
    }

    /// Aliases, versions and every job, for `glossa reindex status`.
    pub async fn status(&self) -> Result<String, ReindexError> {
        let (read, write) = self.alias_targets().await?;
        let mut versions = self.versions().await?;
        versions.sort_unstable();
        let mut out = format!(
            "{} -> {}\n{} -> {}\nversions: {}\n",
            self.names.read_alias,
            read.as_deref().unwrap_or("(missing)"),
            self.names.write_alias,
            write.as_deref().unwrap_or("(missing)"),
            versions
                .iter()
                .map(|v| self.names.version(*v))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let jobs = self.store.list().await?;
        if jobs.is_empty() {
            out.push_str("no reindex jobs\n");
        }
        for job in jobs {
            out.push_str(&job::job_summary(&job));
        }
        Ok(out)
    }

    /// Deletes old versions, keeping the live one, those an unfinished job uses, and the `keep`
    /// newest others. Returns the deleted indices.
    pub async fn cleanup(&self, keep: usize) -> Result<Vec<String>, ReindexError> {
        let (read, write) = self.alias_targets().await?;
        let mut protected: Vec<String> = [read, write].into_iter().flatten().collect();
        if let Some(job) = self.store.unfinished().await? {
            protected.extend([job.source, job.target]);
        }
        let mut versions = self.versions().await?;
        versions.sort_unstable_by(|a, b| b.cmp(a));
        let mut deleted = Vec::new();
        for index in versions
            .into_iter()
            .map(|v| self.names.version(v))
            .filter(|index| !protected.contains(index))
            .skip(keep)
        {
            self.client.json(Method::DELETE, &index, None).await?;
            tracing::info!(%index, "deleted an old index version");
            deleted.push(index);
        }
        Ok(deleted)
    }

    /// Drives a job from its phase to the end (or to where an operator must decide).
    async fn run(&self, mut job: Job) -> Result<Job, ReindexError> {
        metrics::gauge!(crate::metrics::REINDEX_TOTAL).set(job.total as f64);
        self.progress
            .total
            .store(job.total, std::sync::atomic::Ordering::Relaxed);
        self.progress
            .copied
            .store(job.copied, std::sync::atomic::Ordering::Relaxed);
        loop {
            let result = match job.phase {
                Phase::Replaying => self.replay(&mut job).await.map(|_| Phase::CatchingUp),
                Phase::Copying => self.copy_all(&mut job).await.map(|_| Phase::CatchingUp),
                Phase::CatchingUp => self.catch_up(&mut job).await.map(|_| Phase::Verifying),
                Phase::Verifying => self.verify(&mut job).await,
                Phase::Verified if job.auto_swap => Ok(Phase::Swapping),
                Phase::Swapping => self.finish_swap(&mut job).await.map(|_| Phase::Swapped),
                _ => return Ok(job),
            };
            match result {
                Ok(next) => {
                    job.phase = next;
                    job.message = None;
                    self.store.save(&mut job).await?;
                    tracing::info!(target = %job.target, phase = ?job.phase, "reindex phase done");
                }
                Err(error) => {
                    job.message = Some(error.to_string());
                    if let Err(save) = self.store.save(&mut job).await {
                        tracing::error!(%save, "cannot save the reindex job's state");
                    }
                    return Err(error);
                }
            }
        }
    }

    /// Copies every slice, in parallel, checkpointing as pages are acknowledged.
    async fn copy_all(&self, job: &mut Job) -> Result<(), ReindexError> {
        self.progress.set_phase("copying");
        BulkLoad::start_on_index(&self.client, job.target.clone()).await?;
        let copier = self.copier(
            &job.source,
            &job.target,
            self.rebuild(job.redetect),
            job.rate,
        );
        let state = Arc::new(Mutex::new(job.clone()));
        let started = Instant::now();
        let copy_seconds = job.copy_seconds;
        let slices = job.slices.iter().enumerate().filter(|(_, s)| !s.done);
        let tasks = slices.map(|(i, slice)| {
            let state = state.clone();
            let copier = &copier;
            let range = Range {
                lo: slice.lo,
                hi: slice.hi,
                after: slice.after.clone(),
                since: None,
            };
            async move {
                copier
                    .copy(range, false, &self.stop, |last, outcome: PageOutcome| {
                        if let Ok(mut job) = state.lock() {
                            job.slices[i].after = Some(last.clone());
                            job.slices[i].copied += outcome.written;
                            job.copied += outcome.written;
                            job.failed += outcome.failed;
                        }
                    })
                    .await?;
                if let Ok(mut job) = state.lock() {
                    job.slices[i].done = true;
                }
                Ok::<(), ReindexError>(())
            }
        });
        let copying = futures::future::try_join_all(tasks);
        tokio::pin!(copying);
        let mut checkpoint = tokio::time::interval(CHECKPOINT_EVERY);
        let result = loop {
            tokio::select! {
                result = &mut copying => break result,
                _ = checkpoint.tick() => {
                    let mut snapshot = snapshot(&state, copy_seconds, started);
                    if let Err(error) = self.store.save(&mut snapshot).await {
                        tracing::warn!(%error, "cannot save a reindex checkpoint; retrying at the next one");
                    }
                }
            }
        };
        *job = snapshot(&state, copy_seconds, started);
        result.map(|_| ())
    }

    /// Rebuilds the new version from the job's source. Workers keep writing to the old version
    /// meanwhile; the catch-up passes that follow copy what they wrote.
    async fn replay(&self, job: &mut Job) -> Result<(), ReindexError> {
        self.progress.set_phase("replaying");
        let from = job.replay_from.clone().unwrap_or_default();
        BulkLoad::start_on_index(&self.client, job.target.clone()).await?;
        let started = Instant::now();
        let (indexed, rejected) = super::replay(
            &self.config,
            &from,
            &job.target,
            self.progress.clone(),
            self.stop.clone(),
        )
        .await?;
        job.copied = indexed;
        job.failed = rejected;
        job.copy_seconds += started.elapsed().as_secs_f64();
        tracing::info!(%from, indexed, rejected, "replay done");
        Ok(())
    }

    /// Copies again what the old version received since the previous pass (or the job) began.
    async fn catch_up(&self, job: &mut Job) -> Result<(), ReindexError> {
        self.progress.set_phase("catching up");
        let since = seconds_before(
            job.caught_up_at.as_deref().unwrap_or(&job.started_at),
            self.margin(),
        );
        let pass_started = now_rfc3339();
        self.refresh(&job.source).await?;
        let copier = self.copier(
            &job.source,
            &job.target,
            self.rebuild(job.redetect),
            job.rate,
        );
        // After a replay the new version holds newer copies of most documents: only what
        // changed in the old version after the replay read it may replace them.
        let conditional = job.replay_from.is_some();
        let outcome = copier
            .copy(
                full_range(Some(since.clone())),
                conditional,
                &self.stop,
                |_, _| {},
            )
            .await?;
        job.copied += outcome.written;
        job.failed += outcome.failed;
        job.caught_up_at = Some(pass_started);
        // Before the aliases move, so every document only the new version holds is one the
        // old version deleted while the copier held it. (Checked on the cluster too: a job
        // killed right after moving them has not recorded it.)
        let (read, _) = self.alias_targets().await?;
        if job.aliases_moved_at.is_none() && read.as_deref() != Some(job.target.as_str()) {
            self.refresh(&job.target).await?;
            let pruned = copier.prune(&self.stop).await?;
            if pruned > 0 {
                tracing::info!(
                    pruned,
                    "removed from the new version what was deleted during its copy"
                );
            }
        }
        bulk_load::finish_on_index(&self.client, &job.target).await?;
        tracing::info!(since = %since, copied = outcome.written, "catch-up pass done");
        Ok(())
    }

    async fn verify(&self, job: &mut Job) -> Result<Phase, ReindexError> {
        self.progress.set_phase("verifying");
        let stable_before = seconds_before(
            job.caught_up_at.as_deref().unwrap_or(&job.started_at),
            self.margin(),
        );
        let versions = Versions {
            client: &self.client,
            old: &job.source,
            new: &job.target,
            stable_before: &stable_before,
            redetect: job.redetect,
            replayed: job.replay_from.is_some(),
            failed_copies: job.failed,
            filterable: self.config.filterable_metadata().into_keys().collect(),
        };
        let verification = versions
            .verify(&self.router, self.config.reindex.sample_size, &job.queries)
            .await?;
        let passed = verification.passed;
        job.verification = Some(verification);
        Ok(if passed {
            Phase::Verified
        } else {
            Phase::VerifyFailed
        })
    }

    /// A last catch-up while writes still go to the old version, one atomic move of both
    /// aliases, then a conditional pass over what was in flight to the old version.
    async fn finish_swap(&self, job: &mut Job) -> Result<(), ReindexError> {
        if job.aliases_moved_at.is_none() {
            self.catch_up(job).await?;
            self.store.save(job).await?;
            self.progress.set_phase("swapping");
            let (read, _) = self.alias_targets().await?;
            if read.as_deref() != Some(job.target.as_str()) {
                self.move_aliases(&job.source, &job.target).await?;
            }
            job.aliases_moved_at = Some(now_rfc3339());
            self.store.save(job).await?;
            tracing::info!(new = %job.target, old = %job.source, "both aliases moved to the new version");
        }
        self.progress.set_phase("final catch-up");
        tokio::time::sleep(Duration::from_secs(self.config.reindex.settle_seconds)).await;
        self.refresh(&job.source).await?;
        let since = seconds_before(
            job.caught_up_at.as_deref().unwrap_or(&job.started_at),
            self.margin(),
        );
        let copier = self.copier(
            &job.source,
            &job.target,
            self.rebuild(job.redetect),
            job.rate,
        );
        let outcome = copier
            .copy(full_range(Some(since)), true, &self.stop, |_, _| {})
            .await?;
        job.copied += outcome.written;
        job.failed += outcome.failed;
        tracing::info!(
            copied = outcome.written,
            kept_newer = outcome.kept_newer,
            "final catch-up done"
        );
        Ok(())
    }

    /// Moves the read and write aliases from `from` to `to`, and in the same step the deletes
    /// alias to `from`: deletes then reach the version a final pass or a rollback copies from.
    async fn move_aliases(&self, from: &str, to: &str) -> Result<(), ReindexError> {
        let actions = json!({ "actions": [
            { "remove": { "index": from, "alias": self.names.read_alias } },
            { "remove": { "index": from, "alias": self.names.write_alias } },
            { "add": { "index": to, "alias": self.names.read_alias } },
            { "add": { "index": to, "alias": self.names.write_alias, "is_write_index": true } },
            { "remove": { "index": self.names.version_pattern(), "alias": self.names.deletes_alias, "must_exist": false } },
            { "add": { "index": from, "alias": self.names.deletes_alias } },
        ]});
        self.client
            .json(Method::POST, "_aliases", Some(&actions))
            .await?;
        Ok(())
    }

    /// Points the deletes alias at `index` alone (an alias on two indices would refuse every
    /// delete sent to it).
    async fn point_deletes_alias_at(&self, index: &str) -> Result<(), ReindexError> {
        let actions = json!({ "actions": [
            { "remove": { "index": self.names.version_pattern(), "alias": self.names.deletes_alias, "must_exist": false } },
            { "add": { "index": index, "alias": self.names.deletes_alias } },
        ]});
        self.client
            .json(Method::POST, "_aliases", Some(&actions))
            .await?;
        Ok(())
    }

    fn rebuild(&self, redetect: bool) -> Transform {
        Transform::Rebuild {
            decoder: Decoder::new(
                self.config.text_fields.clone(),
                self.config.limits.max_record_bytes,
            ),
            router: self.router.clone(),
            redetect,
        }
    }

    fn copier(&self, from: &str, to: &str, transform: Transform, rate: Option<u32>) -> Copier {
        let page_size = super::rate_limited_batch(self.config.reindex.page_size, rate);
        let limiter = super::rate_limiter(rate, page_size).map(Arc::new);
        Copier {
            client: self.client.clone(),
            indexer: self.indexer.clone(),
            transform,
            source: from.to_string(),
            target: to.to_string(),
            page_size,
            limiter,
            dlq: self.dlq.clone(),
            progress: self.progress.clone(),
        }
    }

    async fn refresh(&self, index: &str) -> Result<(), OpenSearchError> {
        self.client
            .json(Method::POST, &format!("{index}/_refresh"), None)
            .await
            .map(|_| ())
    }

    async fn count(&self, index: &str) -> Result<u64, OpenSearchError> {
        self.refresh(index).await?;
        let answer = self
            .client
            .json(Method::GET, &format!("{index}/_count"), None)
            .await?;
        Ok(answer["count"].as_u64().unwrap_or(0))
    }

    /// The indices behind the read and the write alias.
    async fn alias_targets(&self) -> Result<(Option<String>, Option<String>), OpenSearchError> {
        let read = self.alias_index(&self.names.read_alias).await?;
        let write = match self.alias_index(&self.names.write_alias).await? {
            Some(_) => Some(bulk_load::write_index(&self.client, &self.names.write_alias).await?),
            None => None,
        };
        Ok((read, write))
    }

    async fn alias_index(&self, alias: &str) -> Result<Option<String>, OpenSearchError> {
        let response = self
            .client
            .send(Method::GET, &format!("_alias/{alias}"), None)
            .await?;
        if response.status == 404 {
            return Ok(None);
        }
        if !response.is_success() {
            return Err(OpenSearchError::Status {
                status: response.status,
                reason: response.error_reason(),
            });
        }
        let answer: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        Ok(answer
            .as_object()
            .and_then(|indices| indices.keys().next().cloned()))
    }

    /// Version numbers of the existing `<name>-v<n>` indices.
    async fn versions(&self) -> Result<Vec<u32>, OpenSearchError> {
        let prefix = format!("{}-v", self.names.read_alias);
        let answer = self
            .client
            .json(
                Method::GET,
                &format!("_cat/indices/{prefix}*?format=json&h=index"),
                None,
            )
            .await?;
        Ok(answer
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|row| row["index"].as_str()?.strip_prefix(&prefix)?.parse().ok())
            .collect())
    }
}

/// The job as the slices left it, with the copy time so far.
fn snapshot(state: &Mutex<Job>, copy_seconds: f64, started: Instant) -> Job {
    let mut job = crate::lock(state).clone();
    job.copy_seconds = copy_seconds + started.elapsed().as_secs_f64();
    job
}

fn full_range(since: Option<String>) -> Range {
    Range {
        lo: i64::MIN,
        hi: i64::MAX,
        after: None,
        since,
    }
}

/// A create-index body from `path` (a JSON file, or a directory holding `glossa-index.json`).
fn read_mappings(path: &Path) -> Result<Value, ReindexError> {
    let file = if path.is_dir() {
        path.join("glossa-index.json")
    } else {
        path.to_path_buf()
    };
    let error = |message: String| ReindexError::Mappings {
        path: file.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(&file).map_err(|e| error(e.to_string()))?;
    let body: Value = serde_json::from_str(&text).map_err(|e| error(e.to_string()))?;
    if !body["mappings"]["properties"].is_object() {
        return Err(error(
            "not a create-index body: it has no mappings.properties (see mappings/glossa-index.json)"
                .into(),
        ));
    }
    Ok(body)
}
