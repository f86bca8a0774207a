//! Wiring: opens the index, the dead-letter queue and the detector, starts the pipeline and the
//! work beside it (stream sources, the query-language prior); [`crate::api::serve`] puts the
//! HTTP API in front. Shared by `serve`, `demo`, `ingest`, reindex replays and the tests.

use std::sync::Arc;
use std::time::Duration;

use crate::backend::embedded::{CursorLimits, EmbeddedError, EmbeddedIndex};
use crate::backend::opensearch::bootstrap::{self, IndexNames};
use crate::backend::opensearch::search::OpenSearchSearch;
use crate::backend::{opensearch, SearchBackend};
use crate::config::{BackendKind, Config, ShortTextPrior, StreamUrl};
use crate::decode::Decoder;
use crate::detect::{DetectError, Detector, DetectorConfig, SourcePriors};
use crate::dlq::{DeadLetterQueue, DlqError};
use crate::pipeline::{Pipeline, PipelineHandle, PipelineOptions};
use crate::query_language::QueryLanguages;
use crate::route::Router;
use crate::sink::{CompactionPolicy, OpenSearchSink, Sink};
use crate::source::{run_stream, Progress, SourceHealth, StreamOptions};
use tokio::sync::watch;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Detect(#[from] DetectError),
    #[error(transparent)]
    Index(#[from] EmbeddedError),
    #[error("the data directory {0} is in use by another Glossa process; stop it, or send records to its POST /v1/documents instead")]
    Locked(String),
    #[error(transparent)]
    Dlq(#[from] DlqError),
    #[error("cannot start pipeline threads: {0}")]
    Threads(#[from] std::io::Error),
    #[error("OpenSearch backend: {0}")]
    Cluster(String),
    #[error("detect.prior names {0:?}, which is not a language the detector returns (see detect.languages)")]
    PriorLanguage(String),
}

/// What every API handler needs; built with the pipeline, so the API and the streams share it.
#[derive(Clone)]
pub struct AppState {
    pub pipeline: PipelineHandle,
    pub index: SearchBackend,
    /// How query languages are chosen (the index's language prior, cached answers).
    pub query_languages: Arc<QueryLanguages>,
    pub config: Arc<Config>,
    /// The stream sources `serve` consumes, for `/readyz`.
    pub sources: Arc<Vec<Arc<SourceHealth>>>,
}

/// A started Glossa: the pipeline plus everything the API needs.
pub struct Service {
    pub pipeline: Pipeline,
    pub state: AppState,
}

impl Service {
    /// Opens the index (embedded under `config.data_dir`, or the OpenSearch cluster), the
    /// dead-letter queue and the detector, and starts the pipeline threads. Blocking: call it
    /// from a blocking thread (`spawn_blocking`), since the cluster bootstrap runs on the
    /// caller's tokio runtime.
    pub fn start(config: Config) -> Result<Service, StartError> {
        Service::start_into(config, WriteTarget::Live)
    }

    /// [`Service::start`], with the pipeline writing to `target` (a reindex job replaying a
    /// source into its new version).
    pub fn start_into(config: Config, target: WriteTarget) -> Result<Service, StartError> {
        config.validate()?;
        let detector = Arc::new(Detector::new(&DetectorConfig::from_settings(
            &config.detect,
        ))?);
        let (sink, index) = match config.backend {
            BackendKind::Embedded => embedded_backend(&config, &target)?,
            BackendKind::OpenSearch => opensearch_backend(&config, &detector.languages(), &target)?,
        };
        let dlq = DeadLetterQueue::open(&config)?;
        let router = router(&config, detector)?;
        let options = PipelineOptions {
            max_in_flight_records: config.pipeline.max_in_flight_records,
            chunk_records: config.pipeline.chunk_records,
            detect_threads: config.detect_threads(),
            commit_docs: config.pipeline.commit_docs,
            commit_interval: Duration::from_millis(config.pipeline.commit_interval_ms),
            disk: Some(Arc::new(crate::disk::DiskGuard::new(
                config.data_dir.clone(),
                config.limits.min_free_disk_mb,
            ))),
        };
        let decoder = Decoder::new(config.text_fields.clone(), config.limits.max_record_bytes);
        let pipeline = Pipeline::start(options, decoder, router.clone(), sink, dlq)?;
        crate::metrics::install();
        let state = AppState {
            pipeline: pipeline.handle(),
            index,
            query_languages: Arc::new(QueryLanguages::new(router)),
            config: Arc::new(config),
            sources: Arc::default(),
        };
        Ok(Service { pipeline, state })
    }

    /// Starts what runs beside the API until `stop` turns true: the configured stream sources
    /// (each restarted after a failure from its last committed position, their health in
    /// `state.sources`) and the refresher of the query-language prior.
    pub(crate) fn start_background(
        &mut self,
        stop: watch::Receiver<bool>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let config = self.state.config.clone();
        let mut tasks = Vec::new();
        let mut health = Vec::new();
        for (i, url) in config.sources.iter().enumerate() {
            let kind = match url {
                StreamUrl::Kafka(_) => "kafka",
                StreamUrl::S3(_) => "s3",
            };
            let source = Arc::new(SourceHealth::new(format!("{kind} #{}", i + 1)));
            health.push(source.clone());
            tasks.push(tokio::spawn(keep_consuming(
                url.clone(),
                config.clone(),
                self.state.pipeline.clone(),
                source,
                stop.clone(),
            )));
        }
        self.state.sources = Arc::new(health);
        tasks.push(tokio::spawn(keep_language_prior_fresh(
            self.state.query_languages.clone(),
            self.state.index.clone(),
            Duration::from_secs(config.search.language_prior_refresh_seconds),
            stop,
        )));
        tasks
    }

    /// Drains and commits everything submitted, then stops the pipeline threads.
    pub async fn stop(self) -> std::io::Result<()> {
        let Service { pipeline, state } = self;
        // The state holds a pipeline handle; it must go before the pipeline can drain.
        drop(state);
        stop_pipeline(pipeline).await
    }
}

/// The route stage's router, with the short-record prior the configuration asks for.
fn router(config: &Config, detector: Arc<Detector>) -> Result<Router, StartError> {
    let settings = &config.detect;
    if !settings.prior.is_empty() {
        if let Some(code) = settings.prior.keys().find(|c| !detector.supports(c)) {
            return Err(StartError::PriorLanguage(code.clone()));
        }
        let counts: Vec<(String, u64)> = settings
            .prior
            .iter()
            .map(|(code, n)| (code.clone(), *n))
            .collect();
        let prior = SourcePriors::configured(detector.clone(), &counts);
        return Ok(Router::with_prior(detector, prior));
    }
    Ok(match settings.short_text_prior {
        ShortTextPrior::Learned => {
            Router::with_prior(detector.clone(), SourcePriors::learning(detector))
        }
        ShortTextPrior::Off => Router::new(detector),
    })
}

/// Reads the index's language distribution at start and every `every` after (0: at start
/// only), so query detection weighs the languages the index holds; a failed read keeps the
/// last prior and is logged.
async fn keep_language_prior_fresh(
    languages: Arc<QueryLanguages>,
    index: SearchBackend,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if let Err(error) = languages.refresh(&index).await {
            tracing::warn!(%error, "cannot read the index's languages for query detection; keeping the last ones");
        }
        if every.is_zero() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Where a service's pipeline writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteTarget {
    /// The live index: the embedded live version, or the OpenSearch write alias.
    Live,
    /// A reindex job's new version: a directory name under the data directory (embedded) or
    /// a physical index (OpenSearch).
    Version(String),
}

fn embedded_backend(
    config: &Config,
    target: &WriteTarget,
) -> Result<(Sink, SearchBackend), StartError> {
    let dir = match target {
        WriteTarget::Live => crate::backend::embedded::live_index_dir(&config.data_dir),
        WriteTarget::Version(name) => config.data_dir.join(name),
    };
    let index = Arc::new(
        EmbeddedIndex::open(&dir, config.text_fields.clone())?.with_cursor_limits(CursorLimits {
            keep_alive: Duration::from_secs(config.search.cursor_keep_alive_seconds),
            max_snapshots: config.search.max_open_cursors,
        }),
    );
    let memory = config.pipeline.writer_memory_mb * 1024 * 1024;
    let writer = index.writer(memory).map_err(|e| match e {
        EmbeddedError::Tantivy(tantivy::TantivyError::LockFailure(..)) => {
            StartError::Locked(config.data_dir.display().to_string())
        }
        other => StartError::Index(other),
    })?;
    let sink = Sink::Embedded {
        index: index.clone(),
        writer: Box::new(writer),
        compaction: CompactionPolicy {
            idle: (config.pipeline.compact_idle_seconds > 0)
                .then(|| Duration::from_secs(config.pipeline.compact_idle_seconds)),
            target_segments: config.pipeline.compact_target(),
            min_free_bytes: config.limits.min_free_disk_mb.saturating_mul(1024 * 1024),
        },
    };
    Ok((sink, SearchBackend::Embedded(index)))
}

fn opensearch_backend(
    config: &Config,
    languages: &[&'static str],
    target: &WriteTarget,
) -> Result<(Sink, SearchBackend), StartError> {
    let settings = &config.opensearch;
    let client = opensearch::connect(settings).map_err(|e| StartError::Cluster(e.to_string()))?;
    let names = IndexNames::new(&settings.index);
    let options = opensearch::mapping_options(config, languages);
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
        StartError::Cluster(
            "Service::start must be called from a tokio runtime's blocking thread".into(),
        )
    })?;
    let names = runtime
        .block_on(bootstrap::prepare(&client, &names, options))
        .map_err(|e| StartError::Cluster(e.to_string()))?;
    let (indexer, bulk_bytes) = runtime.block_on(opensearch::bulk_indexer(&client, settings));
    let sink = OpenSearchSink::new(
        indexer,
        match target {
            WriteTarget::Live => names.write_alias.clone(),
            WriteTarget::Version(index) => index.clone(),
        },
        bulk_bytes,
        Duration::from_millis(settings.bulk_flush_ms),
        settings.bulk_max_concurrency,
    );
    let sink = Sink::OpenSearch(match target {
        WriteTarget::Live => sink.mirror_deletes_to(names.deletes_alias.clone()),
        WriteTarget::Version(_) => sink,
    });
    let search = OpenSearchSearch::new(
        client,
        names.read_alias,
        Duration::from_secs(config.search.cursor_keep_alive_seconds),
        config.search.max_open_cursors,
        config.filterable_metadata().into_keys().collect(),
    );
    Ok((sink, SearchBackend::OpenSearch(Arc::new(search))))
}

/// Runs a stream source for the life of the service: after a failure (cluster or broker down,
/// records not stored) it starts again from its last committed position, with backoff.
async fn keep_consuming(
    url: StreamUrl,
    config: Arc<Config>,
    handle: crate::pipeline::PipelineHandle,
    health: Arc<SourceHealth>,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_secs(1);
    let options = StreamOptions {
        follow: true,
        force: false,
    };
    loop {
        let progress = Arc::new(Progress::default());
        health.started(progress.clone());
        let result = run_stream(
            &url,
            &config,
            handle.clone(),
            options,
            progress,
            stop.clone(),
        )
        .await;
        if *stop.borrow() {
            return;
        }
        health.failed();
        match result {
            Ok(()) => {
                tracing::warn!(source = %health.name, "stream source ended; starting it again")
            }
            Err(error) => {
                tracing::error!(source = %health.name, %error, retry_in = ?backoff, "stream source failed; starting it again from its last committed position")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(60));
    }
}

/// Drains, commits and stops the pipeline threads, off the async workers.
pub(crate) async fn stop_pipeline(pipeline: Pipeline) -> std::io::Result<()> {
    tokio::task::spawn_blocking(move || pipeline.shutdown())
        .await
        .map_err(std::io::Error::other)
}
