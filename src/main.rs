//! The `glossa` command: serve, ingest, detect, demo, and the dead-letter queue.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use glossa::config::{BackendKind, Config};
use glossa::detect::{Detector, DetectorConfig};
use glossa::pipeline::Outcome;
use glossa::record::RawRecord;
use glossa::service::Service;
use glossa::source::file;
use glossa::source::{Progress, StreamOptions, StreamUrl};
use indicatif::{ProgressBar, ProgressStyle};

/// mimalloc instead of glibc malloc: glibc keeps a heap arena per contended thread and returns
/// little of it, so resident memory under load grew by more than a whole Kafka backlog.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The bundled multilingual sample the demo loads (see data/sample/README.md).
const SAMPLE: &[u8] = include_bytes!("../data/sample/udhr.ndjson");

#[derive(Parser)]
#[command(
    name = "glossa",
    version,
    about = "Multilingual search ingestion: detect each record's language, analyze it per language, index and search it.",
    long_about = "Glossa reads free-text JSON records, detects each record's language, indexes its text \
                  with that language's analyzer (plus a generic multilingual field), and serves \
                  language-aware search over HTTP. Settings come from defaults, then --config FILE \
                  (TOML), then GLOSSA_* environment variables, then flags."
)]
struct Cli {
    /// TOML config file (keys as in README: data_dir, listen, text_fields, [detect], [limits], [pipeline]).
    #[arg(long, global = true, env = "GLOSSA_CONFIG")]
    config: Option<PathBuf>,
    /// Directory holding the index and the dead-letter queue.
    #[arg(long, global = true, env = "GLOSSA_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Record fields that hold free text, comma-separated (default: title,body).
    #[arg(long, global = true, env = "GLOSSA_TEXT_FIELDS", value_delimiter = ',')]
    text_fields: Option<Vec<String>>,
    /// Languages to detect among, ISO 639-1 codes comma-separated (default: all supported).
    #[arg(long, global = true, env = "GLOSSA_LANGUAGES", value_delimiter = ',')]
    languages: Option<Vec<String>>,
    /// Index backend: embedded (local Tantivy index under --data-dir) or opensearch (a cluster).
    #[arg(long, global = true, env = "GLOSSA_BACKEND")]
    backend: Option<BackendArg>,
    /// OpenSearch node URLs, comma-separated (with --backend opensearch).
    #[arg(
        long,
        global = true,
        env = "GLOSSA_OPENSEARCH_URLS",
        value_delimiter = ','
    )]
    opensearch_urls: Option<Vec<String>>,
    /// OpenSearch base index name: indices NAME-v1, NAME-v2..., aliases NAME and NAME-write.
    #[arg(long, global = true, env = "GLOSSA_OPENSEARCH_INDEX")]
    opensearch_index: Option<String>,
    /// OpenSearch basic-auth password (prefer the environment variable to the flag).
    #[arg(
        long,
        global = true,
        env = "GLOSSA_OPENSEARCH_PASSWORD",
        hide_env_values = true
    )]
    opensearch_password: Option<String>,
    /// S3-compatible endpoint for s3:// sources (MinIO, Ceph...; path-style). Unset: AWS.
    #[arg(long, global = true, env = "GLOSSA_S3_ENDPOINT")]
    s3_endpoint: Option<String>,
    /// This worker's share of an S3 prefix shared by N workers: INDEX/COUNT, e.g. 0/4.
    #[arg(long, global = true, env = "GLOSSA_S3_WORKER", value_parser = parse_worker)]
    s3_worker: Option<(u32, u32)>,
    /// Log format on stderr.
    #[arg(long, global = true, env = "GLOSSA_LOG_FORMAT", default_value = "text")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum BackendArg {
    Embedded,
    Opensearch,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (ingest, search, health, metrics) on an existing or new data directory.
    Serve {
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long, env = "GLOSSA_LISTEN")]
        listen: Option<SocketAddr>,
        /// A stream to consume while serving: kafka://... or s3://... (repeatable; the environment
        /// variable takes space-separated URLs; added to `sources` in the config file).
        #[arg(long = "source", env = "GLOSSA_SOURCES", value_delimiter = ' ')]
        sources: Vec<String>,
        #[command(flatten)]
        front_door: FrontDoorArgs,
    },
    /// Create, list and revoke the API keys that callers of `serve` need
    /// (`Authorization: Bearer KEY`).
    #[command(
        after_help = "Without any key, `serve` answers loopback clients only, and refuses \
        to listen on another address unless given --insecure-no-auth. Once a key exists, every \
        route but /healthz needs one. Keys live in DATA_DIR/api-keys.json (embedded) or the \
        NAME-keys index of the cluster, which every worker reads; running servers pick up new \
        and revoked keys within auth.refresh_seconds (5 s). Only a hash of each key is stored."
    )]
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Load NDJSON files (plain or .gz; `-` reads stdin), a Kafka topic or an S3 prefix.
    #[command(after_help = "Streams:\n  \
        --from 'kafka://HOST:PORT/TOPIC[,TOPIC]?group=NAME' joins the consumer group and commits \
        offsets only for stored records; it stops once every assigned partition is read to its \
        end (or keeps consuming with --follow). Extra librdkafka settings go in [kafka.properties] \
        or as URL parameters (e.g. &security.protocol=SASL_SSL).\n  \
        --from s3://BUCKET/PREFIX reads every NDJSON object (plain or gzip) under the prefix, \
        checkpointing under DATA_DIR/checkpoints so a restarted job resumes; --follow polls for \
        new objects. Endpoint, region and worker share in [s3]; credentials from the AWS \
        environment.")]
    Ingest {
        /// Files to load, in order.
        #[arg(required_unless_present = "from", conflicts_with = "from")]
        paths: Vec<String>,
        /// A stream to read instead of files: kafka://... or s3://... (see below).
        #[arg(long)]
        from: Option<String>,
        /// Keep reading new data until interrupted instead of stopping once caught up.
        #[arg(long, requires = "from")]
        follow: bool,
        /// S3: forget the checkpoint and read every object again.
        #[arg(long, requires = "from")]
        force: bool,
        /// OpenSearch backfills: turn refresh off and replicas to 0 on the index while loading,
        /// then restore them and refresh (also restored at the next start if the job is killed).
        #[arg(long)]
        bulk_load: bool,
    },
    /// Print the detected language of TEXT with confidence values.
    Detect {
        /// The text to identify.
        text: String,
        /// Use the document (fast) path instead of the most accurate one.
        #[arg(long)]
        fast: bool,
    },
    /// Load the bundled multilingual sample and serve it, printing example queries.
    Demo {
        /// Address to listen on (default 127.0.0.1:8080; port 0 picks a free one).
        #[arg(long, env = "GLOSSA_LISTEN")]
        listen: Option<SocketAddr>,
        #[command(flatten)]
        front_door: FrontDoorArgs,
    },
    /// Inspect or replay the dead-letter queue: records that could not be indexed, with reasons.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
    /// Delete every document a search finds: counted first, then deleted through the pipeline
    /// (in order with writes, durable when done), on either backend.
    #[command(
        after_help = "The query is read and its language chosen as GET /v1/search does \
        (natural text; --syntax advanced for + and -), so `glossa delete` removes what the same \
        search shows. Filters are FIELD=VALUE or FIELD.gte|gt|lte|lt=VALUE, like filter.FIELD \
        parameters; a delete needs a query, a filter or both. Without --yes it asks on a \
        terminal and refuses otherwise. Examples:\n  \
        glossa delete --filter tenant=acme --dry-run\n  \
        glossa delete --query 'discontinued model' --filter category=phones --yes"
    )]
    Delete {
        /// Query text, as `q` of the search API.
        #[arg(long)]
        query: Option<String>,
        /// FIELD=VALUE or FIELD.gte=VALUE (repeatable; all must hold).
        #[arg(long = "filter")]
        filters: Vec<String>,
        /// The query's language (ISO 639-1); detected when absent.
        #[arg(long)]
        lang: Option<String>,
        /// `natural` (default) or `advanced` query syntax.
        #[arg(long, default_value = "natural")]
        syntax: String,
        /// Count and show a sample of what would be deleted; delete nothing.
        #[arg(long)]
        dry_run: bool,
        /// Delete without asking.
        #[arg(long)]
        yes: bool,
    },
    /// Rebuild the index as a new version (new mappings, analyzers, languages or detector),
    /// verify it, and swap it in; roll back if needed.
    #[command(
        after_help = "OpenSearch: a job copies NAME-vN into NAME-v(N+1) in bulk-load mode, in \
        parallel slices with checkpoints (a killed job continues with `reindex resume`), copies \
        again what was ingested meanwhile (by ingest time, less reindex.catch_up_margin_seconds), \
        verifies (counts, a sample compared field by field, saved queries), and moves both \
        aliases at once; a final conditional pass copies what was still in flight without \
        overwriting newer documents. Workers keep ingesting through the write alias throughout.\n\
        Embedded: the live index is copied into DATA_DIR/index-vN and made live through \
        DATA_DIR/index-live; stop `glossa serve` first.\n\
        Restart servers and workers with the new configuration once the swap is done."
    )]
    Reindex {
        /// Serve Prometheus metrics on this address while the job runs (GET /metrics):
        /// documents to copy, copied and failed.
        #[arg(long, env = "GLOSSA_METRICS_LISTEN")]
        metrics_listen: Option<SocketAddr>,
        #[command(subcommand)]
        command: ReindexCommand,
    },
}

#[derive(Subcommand)]
enum ReindexCommand {
    /// Build the next version from the live one and swap it in once verified.
    Start {
        /// Detect every document's language again (after changing the detector or languages).
        #[arg(long)]
        redetect: bool,
        /// A create-index body to use (a JSON file, or a directory with glossa-index.json)
        /// instead of the one generated from the current configuration.
        #[arg(long)]
        mappings: Option<PathBuf>,
        /// Copy at most this many documents per second.
        #[arg(long)]
        rate: Option<u32>,
        /// Parallel copy streams (default: reindex.slices, 4).
        #[arg(long)]
        slices: Option<u32>,
        /// Stop after verification; swap later with `glossa reindex swap`.
        #[arg(long)]
        no_swap: bool,
        /// A query that must still find documents on the new version (repeatable).
        #[arg(long = "query")]
        queries: Vec<String>,
        /// Rebuild from the original source instead of copying the live version:
        /// kafka://HOST:PORT/TOPIC?group=NEW_GROUP&from=earliest|TIMESTAMP, or s3://BUCKET/PREFIX.
        #[arg(long, conflicts_with_all = ["rate", "slices"])]
        from: Option<String>,
    },
    /// Continue an unfinished job from its checkpoint.
    Resume,
    /// Move the aliases to a verified new version.
    Swap {
        /// Swap even though verification failed.
        #[arg(long)]
        force: bool,
    },
    /// Move the aliases back to the previous version (copying back what was written since the
    /// swap), or give up an unfinished job.
    Rollback,
    /// Show the aliases, the versions and every job with its verification report.
    Status,
    /// Delete old versions, keeping the live one and the KEEP newest others.
    Cleanup {
        #[arg(long, default_value_t = 1)]
        keep: usize,
    },
}

/// How `serve` and `demo` face the network (also `[server]` and `[auth]` in the config file).
#[derive(Args)]
struct FrontDoorArgs {
    /// Serve without API keys on any address. Anyone who can reach the port can read and
    /// overwrite every document: only for a trusted network.
    #[arg(long, env = "GLOSSA_INSECURE_NO_AUTH")]
    insecure_no_auth: bool,
    /// PEM certificate chain: serve HTTPS only (with --tls-key).
    #[arg(long, env = "GLOSSA_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "GLOSSA_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// An API key you chose (glossa_<12 hex>_<32+ character secret>), stored at start with the
    /// ingest, search and metrics scopes; for containers. Prefer the environment variable.
    #[arg(long, env = "GLOSSA_BOOTSTRAP_KEY", hide_env_values = true)]
    bootstrap_key: Option<String>,
}

impl FrontDoorArgs {
    fn apply(self, config: &mut Config) {
        if self.insecure_no_auth {
            config.auth.insecure_no_auth = true;
        }
        if self.bootstrap_key.is_some() {
            config.auth.bootstrap_key = self.bootstrap_key;
        }
        if let (Some(cert), Some(key)) = (self.tls_cert, self.tls_key) {
            config.server.tls_cert = Some(cert);
            config.server.tls_key = Some(key);
        }
    }
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Make a key and print it once on stdout (only its hash is stored).
    Create {
        /// What the key may do, comma-separated: ingest, search, metrics, admin (all).
        #[arg(long, value_delimiter = ',', required = true)]
        scope: Vec<String>,
        /// Who or what holds the key; shown in `keys list`, logs and metrics.
        #[arg(long)]
        name: Option<String>,
        /// Requests per second at most (default: auth.default_rate_per_second, 0 = unlimited).
        #[arg(long)]
        rate: Option<u32>,
        /// Records per second at most through ingest (default: auth.default_records_per_second).
        #[arg(long)]
        records_rate: Option<u32>,
        /// Confine the key to one tenant: what it writes is stamped with auth.tenant_field =
        /// TENANT (its ids namespaced), and it searches, fetches and deletes only such documents.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Print every key (id, name, scopes, limits, created, revoked); never the secret.
    List,
    /// Revoke a key by id (or by name, when only one key has it).
    Revoke { id_or_name: String },
}

#[derive(Subcommand)]
enum DlqCommand {
    /// Print every dead letter as NDJSON (time, source, line, reason, message, raw record).
    List,
    /// Send every dead letter through the pipeline again, once its cause is fixed (a raised
    /// limit, a new text field...). Records that still fail go back to the queue. A letter of
    /// a document deleted after the letter was written is dropped, not replayed (a replay
    /// would bring the document back), unless --include-deleted.
    Replay {
        /// Replay letters of documents deleted since, bringing them back.
        #[arg(long)]
        include_deleted: bool,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // One line with the whole cause chain, whatever RUST_BACKTRACE says.
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let mut config = match &cli.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    if let Some(dir) = &cli.data_dir {
        config.data_dir = dir.clone();
    }
    if let Some(fields) = &cli.text_fields {
        config.text_fields = fields.clone();
    }
    if let Some(languages) = &cli.languages {
        config.detect.languages = languages.clone();
    }
    match cli.backend {
        Some(BackendArg::Embedded) => config.backend = BackendKind::Embedded,
        Some(BackendArg::Opensearch) => config.backend = BackendKind::OpenSearch,
        None => {}
    }
    if let Some(urls) = &cli.opensearch_urls {
        config.opensearch.urls = urls.clone();
    }
    if let Some(index) = &cli.opensearch_index {
        config.opensearch.index = index.clone();
    }
    if let Some(password) = &cli.opensearch_password {
        config.opensearch.password = Some(password.clone());
    }
    if let Some(endpoint) = &cli.s3_endpoint {
        config.s3.endpoint = Some(endpoint.clone());
    }
    if let Some((index, count)) = cli.s3_worker {
        config.s3.worker_index = index;
        config.s3.worker_count = count;
    }
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    match cli.command {
        Command::Serve {
            listen,
            sources,
            front_door,
        } => {
            if let Some(listen) = listen {
                config.listen = listen;
            }
            front_door.apply(&mut config);
            config.sources.extend(sources);
            runtime.block_on(serve(config, None))
        }
        Command::Ingest {
            from: Some(from),
            follow,
            force,
            bulk_load,
            ..
        } => runtime.block_on(ingest_stream(
            config,
            &from,
            StreamOptions { follow, force },
            bulk_load,
        )),
        Command::Ingest {
            paths, bulk_load, ..
        } => runtime.block_on(ingest(config, paths, bulk_load)),
        Command::Detect { text, fast } => detect(&config, &text, fast),
        Command::Keys { command } => runtime.block_on(keys(&config, command)),
        Command::Demo { listen, front_door } => {
            front_door.apply(&mut config);
            if cli.data_dir.is_none() && cli.config.is_none() {
                config.data_dir = PathBuf::from("glossa-demo-data");
            }
            if let Some(listen) = listen {
                config.listen = listen;
            }
            runtime.block_on(demo(config))
        }
        Command::Reindex {
            command,
            metrics_listen,
        } => runtime.block_on(reindex(config, command, metrics_listen)),
        Command::Dlq {
            command: DlqCommand::Replay { include_deleted },
        } => runtime.block_on(replay(config, include_deleted)),
        Command::Delete {
            query,
            filters,
            lang,
            syntax,
            dry_run,
            yes,
        } => {
            let selection = selection(query, &filters, lang, &syntax)?;
            runtime.block_on(delete_by_query(config, selection, dry_run, yes))
        }
        Command::Dlq {
            command: DlqCommand::List,
        } => {
            for letter in glossa::dlq::list(&config)? {
                println!("{}", serde_json::to_string(&letter)?);
            }
            Ok(())
        }
    }
}

fn parse_worker(text: &str) -> Result<(u32, u32), String> {
    let parsed = text
        .split_once('/')
        .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
    match parsed {
        Some((index, count)) if index < count => Ok((index, count)),
        _ => Err("expected INDEX/COUNT with INDEX below COUNT, e.g. 0/4".into()),
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tantivy=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests, committing");
}

async fn serve(
    config: Config,
    before_serving: Option<Box<dyn FnOnce(SocketAddr) + Send>>,
) -> Result<()> {
    let listen = config.listen;
    let data_dir = config.data_dir.clone();
    let scheme = if config.server.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    let service = tokio::task::spawn_blocking(move || Service::start(config)).await??;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let documents = service.state.index.num_docs().await.unwrap_or(0);
    tracing::info!(%addr, data_dir = %data_dir.display(), documents, "serving");
    println!(
        "Glossa is serving {scheme}://{addr} (data in {})",
        data_dir.display()
    );
    if let Some(hook) = before_serving {
        hook(addr);
    }
    service.serve(listener, shutdown_signal()).await?;
    tracing::info!("stopped cleanly");
    Ok(())
}

async fn keys(config: &Config, command: KeysCommand) -> Result<()> {
    use glossa::auth::{issue, KeyStore, NewKey, Scope};
    let store = KeyStore::for_config(config)?;
    match command {
        KeysCommand::Create {
            scope,
            name,
            rate,
            records_rate,
            tenant,
        } => {
            let scopes = scope
                .iter()
                .map(|s| {
                    Scope::parse(s).with_context(|| {
                        format!("unknown scope `{s}`; use ingest, search, metrics or admin")
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            if let Some(tenant) = &tenant {
                glossa::auth::check_tenant_name(tenant)?;
                if scopes.contains(&Scope::Admin) {
                    anyhow::bail!("a tenant key cannot have the admin scope, which reaches every tenant; give it ingest, search or metrics");
                }
            }
            let issued = issue(NewKey {
                name: name.unwrap_or_default(),
                scopes,
                rate_per_second: rate,
                records_per_second: records_rate,
                tenant,
            });
            let mut record = issued.record;
            if record.name.is_empty() {
                record.name = format!("key-{}", record.id);
            }
            store.add(&record).await?;
            let scopes: Vec<&str> = record.scopes.iter().map(|s| s.as_str()).collect();
            let confined = record
                .tenant
                .as_ref()
                .map(|t| format!(", confined to {} = {t}", config.auth.tenant_field))
                .unwrap_or_default();
            eprintln!(
                "Created key `{}` (id {}) with scopes {}{confined}. It is shown once, below; store it now.",
                record.name,
                record.id,
                scopes.join(",")
            );
            println!("{}", issued.secret);
        }
        KeysCommand::List => {
            for record in store.load().await? {
                let scopes: Vec<&str> = record.scopes.iter().map(|s| s.as_str()).collect();
                let limit = |v: Option<u32>| v.map_or("default".to_string(), |n| n.to_string());
                println!(
                    "{}  {:<20} scopes={:<24} tenant={:<12} rate={:<8} records_rate={:<8} created={} {}",
                    record.id,
                    record.name,
                    scopes.join(","),
                    record.tenant.as_deref().unwrap_or("-"),
                    limit(record.rate_per_second),
                    limit(record.records_per_second),
                    record.created_at,
                    record
                        .revoked_at
                        .map(|at| format!("REVOKED {at}"))
                        .unwrap_or_default()
                );
            }
        }
        KeysCommand::Revoke { id_or_name } => {
            let record = store.revoke(&id_or_name).await?;
            println!(
                "Revoked key `{}` (id {}); running servers refuse it within auth.refresh_seconds = {} s.",
                record.name, record.id, config.auth.refresh_seconds
            );
        }
    }
    Ok(())
}

async fn ingest(config: Config, paths: Vec<String>, bulk_load: bool) -> Result<()> {
    // Fail on a missing input before touching the data directory.
    for path in paths.iter().filter(|p| p.as_str() != "-") {
        std::fs::metadata(path).with_context(|| format!("cannot read {path}"))?;
    }
    if bulk_load && config.backend != BackendKind::OpenSearch {
        anyhow::bail!("--bulk-load applies to the OpenSearch backend only (--backend opensearch)");
    }
    let chunk = config.pipeline.chunk_records;
    let max_record = config.limits.max_record_bytes;
    let data_dir = config.data_dir.clone();
    let cluster = config.opensearch.clone();
    let service = tokio::task::spawn_blocking(move || Service::start(config)).await??;
    let bulk_load = begin_bulk_load(&cluster, bulk_load).await?;
    let started = Instant::now();
    let progress = Arc::new(Progress::default());
    let stop = Arc::new(AtomicBool::new(false));
    let bar = progress_bar(progress.clone());
    let stopper = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::warn!("interrupted: stopping reading; what was read is still indexed");
            stopper.store(true, Ordering::Relaxed);
        }
    });
    let result = file::ingest(
        paths,
        service.state.pipeline.clone(),
        chunk,
        max_record,
        progress.clone(),
        stop,
    )
    .await;
    bar.finish_and_clear();
    let stopped = service.stop().await;
    end_bulk_load(bulk_load).await?;
    stopped?;
    let outcome = result?;
    print_summary(
        &outcome,
        started.elapsed(),
        progress.bytes_read.load(Ordering::Relaxed),
    );
    println!("data directory: {}", data_dir.display());
    Ok(())
}

/// Turns bulk-load mode on for the cluster index when asked (`--bulk-load`).
async fn begin_bulk_load(
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
async fn end_bulk_load(
    load: Option<glossa::backend::opensearch::bulk_load::BulkLoad>,
) -> Result<()> {
    if let Some(load) = load {
        load.finish().await.context(
            "cannot restore the index settings after the bulk load; the next Glossa start retries",
        )?;
    }
    Ok(())
}

async fn ingest_stream(
    config: Config,
    from: &str,
    options: StreamOptions,
    bulk_load: bool,
) -> Result<()> {
    let url = StreamUrl::parse(from)?;
    if bulk_load && config.backend != BackendKind::OpenSearch {
        anyhow::bail!("--bulk-load applies to the OpenSearch backend only (--backend opensearch)");
    }
    let data_dir = config.data_dir.clone();
    let cluster = config.opensearch.clone();
    let source_config = config.clone();
    let service = tokio::task::spawn_blocking(move || Service::start(config)).await??;
    let bulk_load = begin_bulk_load(&cluster, bulk_load).await?;
    let started = Instant::now();
    let progress = Arc::new(Progress::default());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::warn!("stopping: what was read is still indexed and its position committed");
        let _ = stop_tx.send(true);
    });
    let bar = progress_bar(progress.clone());
    let result = glossa::source::run_stream(
        &url,
        &source_config,
        service.state.pipeline.clone(),
        options,
        progress.clone(),
        stop_rx,
    )
    .await;
    bar.finish_and_clear();
    let stopped = service.stop().await;
    end_bulk_load(bulk_load).await?;
    stopped?;
    result?;
    let done = progress.records_done.load(Ordering::Relaxed);
    let rejected = progress.records_rejected.load(Ordering::Relaxed);
    let seconds = started.elapsed().as_secs_f64().max(0.001);
    println!(
        "indexed {} records, rejected {rejected}, in {seconds:.1}s ({:.0} records/s, {:.1} MB/s) from {from}",
        done - rejected,
        done as f64 / seconds,
        progress.bytes_read.load(Ordering::Relaxed) as f64 / 1e6 / seconds
    );
    if rejected > 0 {
        println!("  rejected records are in the dead-letter queue (see `glossa dlq list`)");
    }
    println!("data directory: {}", data_dir.display());
    Ok(())
}

async fn replay(config: Config, include_deleted: bool) -> Result<()> {
    let replay = glossa::dlq::Replay::take(&config)?;
    let (mut replayable, stale) = glossa::dlq::without_deleted(replay.letters().iter().collect());
    if include_deleted {
        replayable.extend(stale.iter().copied());
    } else {
        for letter in &stale {
            tracing::info!(position = %letter.rejection.position, time = %letter.time, "dead letter dropped: its document was deleted after it was written");
        }
    }
    let dropped = if include_deleted { 0 } else { stale.len() };
    // Truncated letters cannot be replayed from the queue: put them back as they were.
    let (truncated, replayable): (Vec<_>, Vec<_>) =
        replayable.into_iter().partition(|l| l.rejection.truncated);
    if !truncated.is_empty() {
        let mut queue = glossa::dlq::DeadLetterQueue::open(&config)?;
        for letter in &truncated {
            queue.push(&letter.rejection)?;
        }
        queue.sync()?;
    }
    let kept_back = truncated.len();
    let records: Vec<RawRecord> = replayable
        .iter()
        .map(|letter| RawRecord {
            position: letter.rejection.position.clone(),
            bytes: letter.rejection.raw.clone().into_bytes(),
            id_from_position: glossa::source::ids_from_position(&letter.rejection.position),
            delete: false,
        })
        .collect();
    let total = records.len();
    let service = tokio::task::spawn_blocking(move || Service::start(config)).await??;
    let outcome = service.state.pipeline.submit_all(records, |_| {}).await?;
    service.stop().await?;
    replay.finish()?;
    println!(
        "replayed {total} dead letters: {} indexed, {} still failing (back in the queue)",
        outcome.indexed,
        outcome.rejected.len()
    );
    if dropped > 0 {
        println!(
            "{dropped} dead letters were dropped: their documents were deleted after the letters were written (--include-deleted replays them)"
        );
    }
    if kept_back > 0 {
        println!(
            "{kept_back} dead letters were kept without replay: their records were over {} bytes and only their start is stored; re-ingest them from their source positions (`glossa dlq list`)",
            glossa::dlq::MAX_RAW_BYTES
        );
    }
    Ok(())
}

/// The `glossa delete` flags as a selection, checked as the search API checks its parameters.
fn selection(
    query: Option<String>,
    filters: &[String],
    lang: Option<String>,
    syntax: &str,
) -> Result<glossa::delete::Selection> {
    let syntax = glossa::search::Syntax::from_param(syntax)
        .with_context(|| format!("--syntax {syntax}: use natural or advanced"))?;
    let mut parsed = serde_json::Map::new();
    for filter in filters {
        let (field, value) = filter
            .split_once('=')
            .with_context(|| format!("--filter {filter}: give FIELD=VALUE or FIELD.gte=VALUE"))?;
        glossa::search::filter::add_text_filter(&mut parsed, field.trim(), value.to_string())?;
    }
    Ok(glossa::delete::Selection {
        text: query.unwrap_or_default(),
        syntax,
        lang,
        filters: glossa::search::parse_filters(parsed)?,
    })
}

async fn delete_by_query(
    config: Config,
    selection: glossa::delete::Selection,
    dry_run: bool,
    yes: bool,
) -> Result<()> {
    use glossa::delete::{delete_ids, Plan};
    let described = format!("{selection:?}");
    let service = tokio::task::spawn_blocking(move || Service::start(config)).await??;
    let result = async {
        let index = &service.state.index;
        let plan = Plan::new(index, &service.state.languages, selection).await?;
        let language = &plan.query_language;
        println!(
            "{} documents match (query language {}, {}; searched {:?})",
            plan.total, language.lang, language.chosen_by, language.searched
        );
        if dry_run {
            let sample = plan.sample(index, 10).await?;
            if !sample.is_empty() {
                println!("for example: {}", sample.join(", "));
            }
            println!("dry run: nothing deleted");
            return Ok(());
        }
        if plan.total == 0 {
            return Ok(());
        }
        if !yes && !confirmed(plan.total)? {
            anyhow::bail!("nothing deleted: confirm with --yes (or look first with --dry-run)");
        }
        let bar = ProgressBar::new(plan.total);
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} {elapsed_precise} [{wide_bar}] {pos}/{len} {msg} {per_sec} eta {eta}",
        ) {
            bar.set_style(style);
        }
        bar.set_message("matches read");
        let ids = plan
            .ids(index, |read| bar.set_position(read as u64))
            .await?;
        bar.set_length(ids.len() as u64);
        bar.set_position(0);
        bar.set_message("deleted");
        let ticker = bar.clone();
        let outcome = delete_ids(
            &service.state.pipeline,
            "delete-by-query",
            ids,
            move |deleted| ticker.inc(deleted),
        )
        .await?;
        bar.finish_and_clear();
        tracing::info!(
            by = %std::env::var("USER").unwrap_or_else(|_| "-".into()),
            deleted = outcome.deleted,
            selection = %described,
            "documents deleted by query"
        );
        println!("deleted {} documents", outcome.deleted);
        Ok(())
    }
    .await;
    service.stop().await?;
    result
}

/// Asks on a terminal whether to delete `total` documents; refuses when nobody can answer.
fn confirmed(total: u64) -> Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    print!("Delete {total} documents? [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

async fn reindex(
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
enum ReindexOutcome {
    Job(Box<glossa::reindex::job::Job>),
    Printed(String),
}

fn cleanup_text(deleted: Vec<String>) -> String {
    if deleted.is_empty() {
        return "nothing to delete\n".to_string();
    }
    deleted.iter().map(|d| format!("deleted {d}\n")).collect()
}

fn start_options(command: ReindexCommand) -> glossa::reindex::StartOptions {
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

async fn reindex_cluster(
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

fn job_outcome(job: glossa::reindex::job::Job) -> ReindexOutcome {
    ReindexOutcome::Job(Box::new(job))
}

async fn reindex_embedded(
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

fn reindex_progress_bar(progress: Arc<glossa::reindex::copy::Progress>) -> ProgressBar {
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

fn progress_bar(progress: Arc<Progress>) -> ProgressBar {
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

fn print_summary(outcome: &Outcome, elapsed: Duration, bytes: u64) {
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

fn detect(config: &Config, text: &str, fast: bool) -> Result<()> {
    let detector = Detector::new(&DetectorConfig::from_settings(&config.detect))?;
    let detection = if fast {
        detector.detect(text)
    } else {
        detector.detect_accurate(text)
    };
    println!(
        "{} (confidence {:.3}, by {:?})",
        detection.lang, detection.confidence, detection.method
    );
    for (lang, confidence) in &detection.alternatives {
        println!("  {lang}\t{confidence:.3}");
    }
    Ok(())
}

async fn demo(config: Config) -> Result<()> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    let sample = config.data_dir.join("sample-udhr.ndjson");
    std::fs::write(&sample, SAMPLE)
        .with_context(|| format!("cannot write {}", sample.display()))?;
    println!(
        "Loading the bundled sample (Universal Declaration of Human Rights, many languages)..."
    );
    ingest(config.clone(), vec![sample.display().to_string()], false).await?;
    let hook = Box::new(|addr: SocketAddr| {
        println!("Try:");
        println!("  curl 'http://{addr}/v1/search?q=Menschenrechte'                  # German, finds inflected forms");
        println!("  curl 'http://{addr}/v1/search?q=%E4%BA%BA%E6%9D%83'              # Chinese 人权, segmented words");
        println!("  curl 'http://{addr}/v1/search?q=%D1%81%D0%B2%D0%BE%D0%B1%D0%BE%D0%B4%D0%B0&filter.article.gte=3'  # Russian свобода, articles 3+");
        println!("Stop with Ctrl-C.");
    });
    serve(config, Some(hook)).await
}
