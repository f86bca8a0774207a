//! The command line: arguments, subcommands, and how flags override the config file.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Parser, Subcommand, ValueEnum};
use glossa::config::{BackendKind, Config, StreamUrl};

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
pub(crate) struct Cli {
    /// TOML config file (keys as in README: data_dir, listen, text_fields, [detect], [limits], [pipeline]).
    #[arg(long, global = true, env = "GLOSSA_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// Directory holding the index and the dead-letter queue.
    #[arg(long, global = true, env = "GLOSSA_DATA_DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Record fields that hold free text, comma-separated (default: title,body).
    #[arg(long, global = true, env = "GLOSSA_TEXT_FIELDS", value_delimiter = ',')]
    pub(crate) text_fields: Option<Vec<String>>,
    /// Languages to detect among, ISO 639-1 codes comma-separated (default: all supported).
    #[arg(long, global = true, env = "GLOSSA_LANGUAGES", value_delimiter = ',')]
    pub(crate) languages: Option<Vec<String>>,
    /// Index backend: embedded (local Tantivy index under --data-dir) or opensearch (a cluster).
    #[arg(long, global = true, env = "GLOSSA_BACKEND")]
    pub(crate) backend: Option<BackendArg>,
    /// OpenSearch node URLs, comma-separated (with --backend opensearch).
    #[arg(
        long,
        global = true,
        env = "GLOSSA_OPENSEARCH_URLS",
        value_delimiter = ','
    )]
    pub(crate) opensearch_urls: Option<Vec<String>>,
    /// OpenSearch base index name: indices NAME-v1, NAME-v2..., aliases NAME and NAME-write.
    #[arg(long, global = true, env = "GLOSSA_OPENSEARCH_INDEX")]
    pub(crate) opensearch_index: Option<String>,
    /// OpenSearch basic-auth password (prefer the environment variable to the flag).
    #[arg(
        long,
        global = true,
        env = "GLOSSA_OPENSEARCH_PASSWORD",
        hide_env_values = true
    )]
    pub(crate) opensearch_password: Option<String>,
    /// S3-compatible endpoint for s3:// sources (MinIO, Ceph...; path-style). Unset: AWS.
    #[arg(long, global = true, env = "GLOSSA_S3_ENDPOINT")]
    pub(crate) s3_endpoint: Option<String>,
    /// This worker's share of an S3 prefix shared by N workers: INDEX/COUNT, e.g. 0/4.
    #[arg(long, global = true, env = "GLOSSA_S3_WORKER", value_parser = parse_worker)]
    pub(crate) s3_worker: Option<(u32, u32)>,
    /// Log format on stderr.
    #[arg(long, global = true, env = "GLOSSA_LOG_FORMAT", default_value = "text")]
    pub(crate) log_format: LogFormat,
    #[command(subcommand)]
    pub(crate) command: Command,
}

impl Cli {
    /// The settings: defaults, then the config file (`--config`, `GLOSSA_CONFIG`), then the
    /// flags that name a setting.
    pub(crate) fn config(&self) -> Result<Config> {
        let mut config = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        if let Some(dir) = &self.data_dir {
            config.data_dir = dir.clone();
        }
        if let Some(fields) = &self.text_fields {
            config.text_fields = fields.clone();
        }
        if let Some(languages) = &self.languages {
            config.detect.languages = languages.clone();
        }
        match self.backend {
            Some(BackendArg::Embedded) => config.backend = BackendKind::Embedded,
            Some(BackendArg::Opensearch) => config.backend = BackendKind::OpenSearch,
            None => {}
        }
        if let Some(urls) = &self.opensearch_urls {
            config.opensearch.urls = urls.clone();
        }
        if let Some(index) = &self.opensearch_index {
            config.opensearch.index = index.clone();
        }
        if let Some(password) = &self.opensearch_password {
            config.opensearch.password = Some(password.clone());
        }
        if let Some(endpoint) = &self.s3_endpoint {
            config.s3.endpoint = Some(endpoint.clone());
        }
        if let Some((index, count)) = self.s3_worker {
            config.s3.worker_index = index;
            config.s3.worker_count = count;
        }
        Ok(config)
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum BackendArg {
    Embedded,
    Opensearch,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Serve the HTTP API (ingest, search, health, metrics) on an existing or new data directory.
    Serve {
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long, env = "GLOSSA_LISTEN")]
        listen: Option<SocketAddr>,
        /// A stream to consume while serving: kafka://... or s3://... (repeatable; the environment
        /// variable takes space-separated URLs; added to `sources` in the config file).
        #[arg(long = "source", env = "GLOSSA_SOURCES", value_delimiter = ' ', value_parser = StreamUrl::parse)]
        sources: Vec<StreamUrl>,
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
        #[arg(long, value_parser = StreamUrl::parse)]
        from: Option<StreamUrl>,
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
        /// Show how the language was decided: the script, the path taken, and the best
        /// candidates with lingua's value, the prior's weight and the posterior.
        #[arg(long, conflicts_with = "fast")]
        explain: bool,
        /// Weigh the text against this language distribution, as a search weighs a query
        /// against the index's languages (documents per language, e.g. en=700,de=300;
        /// default: the configured detect.prior, if any).
        #[arg(long, value_name = "LANG=N,...", conflicts_with = "fast")]
        prior: Option<String>,
    },
    /// Size a cluster for a target document count from a sample of your own records.
    #[command(
        after_help = "Indexes the sample into a scratch embedded index (and, with \
        --backend opensearch, into a scratch index NAME-plan-PID on the cluster, deleted \
        afterwards), measures bytes on disk per document and per language and CPU per document \
        (detection, the worker, the cluster's indexing), and prints primary shards per index \
        version (10-50 GB each), data nodes with their disk and heap, cluster-manager nodes, \
        Glossa workers and Kafka partitions for the ingest target, the time of one full \
        reindex, and the same target on the embedded backend on this machine. Example:\n  \
        glossa plan --documents 100M --sample records.ndjson --replicas 1 --ingest-hours 24"
    )]
    Plan(PlanArgs),
    /// Load the bundled multilingual sample and serve it, printing example queries.
    Demo {
        /// Address to listen on (default 127.0.0.1:8080; port 0 picks a free one).
        #[arg(long, env = "GLOSSA_LISTEN")]
        listen: Option<SocketAddr>,
        #[command(flatten)]
        front_door: FrontDoorArgs,
    },
    /// Merge the embedded index's segments into a few large ones: faster searches on a
    /// read-mostly index after a bulk load. Stop `glossa serve` first.
    #[command(
        after_help = "Ingest stops merging segments at 250,000 documents so that its rate stays \
        flat as the index grows, which leaves many segments (31 at 10 million documents), and \
        each search looks every query term up in each. Compacting a 10-million-document index \
        into 2 or 4 segments took 81-110 s and made searches 1.5-2x faster \
        (docs/benchmarks/scale.md). Deleted documents are dropped. Segments written later are \
        merged as usual. `glossa serve` compacts by itself once no write has come for \
        pipeline.compact_idle_seconds (default 300); this command is for a quiet hour of your \
        choosing. OpenSearch: use its _forcemerge API."
    )]
    Compact {
        /// Segments to keep at most (default: pipeline.compact_segments, or the number of cores,
        /// so one search reads them all at once).
        #[arg(long)]
        max_segments: Option<usize>,
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
pub(crate) enum ReindexCommand {
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
pub(crate) struct FrontDoorArgs {
    /// Serve without API keys on any address. Anyone who can reach the port can read and
    /// overwrite every document: only for a trusted network.
    #[arg(long, env = "GLOSSA_INSECURE_NO_AUTH")]
    pub(crate) insecure_no_auth: bool,
    /// PEM certificate chain: serve HTTPS only (with --tls-key).
    #[arg(long, env = "GLOSSA_TLS_CERT", requires = "tls_key")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "GLOSSA_TLS_KEY", requires = "tls_cert")]
    pub(crate) tls_key: Option<PathBuf>,
    /// An API key you chose (glossa_<12 hex>_<32+ character secret>), stored at start with the
    /// ingest, search and metrics scopes; for containers. Prefer the environment variable.
    #[arg(long, env = "GLOSSA_BOOTSTRAP_KEY", hide_env_values = true)]
    pub(crate) bootstrap_key: Option<String>,
}

impl FrontDoorArgs {
    pub(crate) fn apply(self, config: &mut Config) {
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
pub(crate) enum KeysCommand {
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
pub(crate) enum DlqCommand {
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

/// `glossa plan`'s target and machine shapes.
#[derive(Args)]
pub(crate) struct PlanArgs {
    /// Documents to plan for: 100M, 2.5B, 250k or a plain number.
    #[arg(long, value_parser = parse_documents)]
    pub(crate) documents: u64,
    /// NDJSON records like yours, 10,000 or more for good figures (default: the bundled
    /// 744-record UDHR sample).
    #[arg(long)]
    pub(crate) sample: Option<PathBuf>,
    /// Replicas of each primary shard.
    #[arg(long, default_value_t = 1)]
    pub(crate) replicas: u32,
    /// Hours in which the whole target must be ingested.
    #[arg(long, default_value_t = 24.0)]
    pub(crate) ingest_hours: f64,
    /// Cores of one data node.
    #[arg(long, default_value_t = 8)]
    pub(crate) node_cores: u32,
    /// Memory of one data node in GB (the heap is half, at most 31 GB).
    #[arg(long, default_value_t = 64)]
    pub(crate) node_memory_gb: u32,
    /// Data disk of one data node in GB.
    #[arg(long, default_value_t = 2000)]
    pub(crate) node_disk_gb: u32,
    /// Cores of one Glossa worker.
    #[arg(long, default_value_t = 2)]
    pub(crate) worker_cores: u32,
}

pub(crate) fn parse_documents(text: &str) -> Result<u64, String> {
    glossa::plan::parse_count(text).map_err(|e| e.to_string())
}

pub(crate) fn parse_worker(text: &str) -> Result<(u32, u32), String> {
    let parsed = text
        .split_once('/')
        .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
    match parsed {
        Some((index, count)) if index < count => Ok((index, count)),
        _ => Err("expected INDEX/COUNT with INDEX below COUNT, e.g. 0/4".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_override_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("glossa.toml");
        std::fs::write(
            &file,
            "data_dir = \"from-file\"\ntext_fields = [\"title\"]\n[opensearch]\nindex = \"file-index\"\n",
        )
        .unwrap();
        let file = file.display().to_string();
        let parse = |extra: &[&str]| {
            let mut args = vec!["glossa", "--config", file.as_str()];
            args.extend_from_slice(extra);
            args.extend_from_slice(&["detect", "text"]);
            Cli::try_parse_from(args).unwrap().config().unwrap()
        };
        let config = parse(&[]);
        assert_eq!(config.data_dir, PathBuf::from("from-file"));
        assert_eq!(config.text_fields, ["title"]);
        assert_eq!(config.opensearch.index, "file-index");
        assert_eq!(config.backend, BackendKind::Embedded);
        let config = parse(&[
            "--data-dir",
            "from-flag",
            "--text-fields",
            "body,summary",
            "--backend",
            "opensearch",
            "--opensearch-index",
            "flag-index",
            "--s3-worker",
            "2/5",
        ]);
        assert_eq!(config.data_dir, PathBuf::from("from-flag"));
        assert_eq!(config.text_fields, ["body", "summary"]);
        assert_eq!(config.backend, BackendKind::OpenSearch);
        assert_eq!(config.opensearch.index, "flag-index");
        assert_eq!((config.s3.worker_index, config.s3.worker_count), (2, 5));
    }

    #[test]
    fn worker_shares_are_checked() {
        assert_eq!(parse_worker("0/3"), Ok((0, 3)));
        assert!(parse_worker("3/3").is_err());
        assert!(parse_worker("1").is_err());
        assert!(parse_worker("a/b").is_err());
    }
}
