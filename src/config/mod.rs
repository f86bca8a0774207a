//! Runtime configuration: defaults, then a TOML file, then `GLOSSA_*` environment variables and
//! command-line flags (applied by the binary). One struct so every stage reads the same settings.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod urls;

pub use urls::{
    DlqTarget, DlqTargetError, KafkaUrl, KafkaUrlError, S3Url, S3UrlError, StreamUrl,
    StreamUrlError,
};

/// Why a configuration could not be loaded; each variant names the file or key to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("invalid config file {path}: {cause}")]
    Parse {
        path: PathBuf,
        cause: toml::de::Error,
    },
    #[error("invalid setting {key}: {message}")]
    Invalid { key: &'static str, message: String },
}

/// Everything Glossa can be configured with. Field names are the TOML keys.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the embedded index and the dead-letter queue live.
    pub data_dir: PathBuf,
    /// Address the HTTP API listens on.
    pub listen: SocketAddr,
    /// Record fields that hold free text; every other field is metadata.
    pub text_fields: Vec<String>,
    /// Language detection settings.
    pub detect: DetectSettings,
    /// Request and record size limits.
    pub limits: Limits,
    /// Queue and batching settings that bound memory and set commit latency.
    pub pipeline: PipelineSettings,
    /// Which index the pipeline writes to and the API searches.
    pub backend: BackendKind,
    /// The OpenSearch cluster, when `backend = "opensearch"`.
    pub opensearch: OpenSearchSettings,
    /// Streams `glossa serve` reads besides HTTP pushes: `kafka://...` and `s3://...` URLs.
    pub sources: Vec<StreamUrl>,
    /// Kafka consumer settings shared by every `kafka://` source.
    pub kafka: KafkaSettings,
    /// S3 endpoint and reading settings shared by every `s3://` source.
    pub s3: S3Settings,
    /// Where dead letters are kept.
    pub dlq: DlqSettings,
    /// Reindex jobs (`glossa reindex`).
    pub reindex: ReindexSettings,
    /// Search cursors, on both backends.
    pub search: SearchSettings,
    /// The HTTP front door: TLS, timeouts, connection and rate limits, CORS.
    pub server: ServerSettings,
    /// Who may call the API: API keys and their scopes.
    pub auth: AuthSettings,
}

/// The HTTP server's own limits: every one bounds what a slow or hostile client can hold.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// PEM certificate chain; with `tls_key`, the API is served over HTTPS only.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// A client must send a request's whole head (and finish the TLS handshake) within this
    /// time, in seconds. It is also how long an idle keep-alive connection stays open: the
    /// server waits for the next request's head under the same clock.
    pub header_read_timeout_seconds: u64,
    /// A request body must arrive completely within this time, in seconds (408 otherwise).
    pub body_read_timeout_seconds: u64,
    /// Open connections at most; the next one is answered 503 and closed.
    pub max_connections: usize,
    /// Longest request target (path and query) accepted, in bytes (414 otherwise).
    pub max_uri_bytes: usize,
    /// Browser origins (`https://app.example.com`) allowed to call the API cross-origin. Empty:
    /// no CORS headers, and any request carrying another `Origin` is refused with 403.
    pub cors_allowed_origins: Vec<String>,
    /// Requests per second one client address may make without a valid API key (health checks,
    /// and every route when auth is off); 0 = unlimited.
    pub per_address_rate_per_second: u32,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            tls_cert: None,
            tls_key: None,
            header_read_timeout_seconds: 10,
            body_read_timeout_seconds: 60,
            max_connections: 1024,
            max_uri_bytes: 16 * 1024,
            cors_allowed_origins: Vec::new(),
            per_address_rate_per_second: 1000,
        }
    }
}

/// API keys: see `glossa keys --help`. With no key created, only loopback clients are served.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// Serve without any authentication on every address. Anyone who can reach the port can
    /// read and overwrite every document: only for a trusted network.
    pub insecure_no_auth: bool,
    /// How often a server reloads the key store (new and revoked keys), in seconds.
    pub refresh_seconds: u64,
    /// Requests per second a key may make when it was created without `--rate`; 0 = unlimited.
    pub default_rate_per_second: u32,
    /// Records per second a key may ingest when it was created without `--records-rate`;
    /// 0 = unlimited.
    pub default_records_per_second: u32,
    /// A key chosen by the operator (`glossa_<12 hex digits>_<secret of 32+ characters>`,
    /// usually from `GLOSSA_BOOTSTRAP_KEY`), stored at start with the ingest, search and
    /// metrics scopes: a container can start closed with a key its clients already know.
    #[serde(skip_serializing)]
    pub bootstrap_key: Option<String>,
    /// Accept tokens of an identity provider besides API keys.
    pub jwt: Option<JwtSettings>,
    /// The metadata field that records a document's tenant: stamped on every record a
    /// tenant-scoped key (or token) writes, and filtered on in every search it makes.
    pub tenant_field: String,
}

/// Identity-provider tokens (`[auth.jwt]`): who issues them, for whom, and where the scopes are.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtSettings {
    /// The `iss` a token must carry, e.g. `https://cognito-idp.eu-west-1.amazonaws.com/POOL`.
    pub issuer: String,
    /// Accepted `aud` values; a token must name one.
    pub audience: Vec<String>,
    /// The issuer's public keys (JWKS JSON), kept current by the operator; re-read every
    /// `auth.refresh_seconds`, so a key rotation needs no restart.
    pub jwks_file: PathBuf,
    /// The claim that holds the scopes: a space-separated string or a list.
    #[serde(default = "default_scopes_claim")]
    pub scopes_claim: String,
    /// Removed from each scope value first (`glossa/` for Cognito resource-server scopes).
    #[serde(default)]
    pub scope_prefix: String,
    /// The claim that names the caller in logs.
    #[serde(default = "default_name_claim")]
    pub name_claim: String,
    /// The claim that confines the caller to one tenant (like a tenant key); a token without
    /// it reaches every tenant's documents.
    #[serde(default)]
    pub tenant_claim: Option<String>,
}

fn default_scopes_claim() -> String {
    "scope".to_string()
}

fn default_name_claim() -> String {
    "sub".to_string()
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            insecure_no_auth: false,
            refresh_seconds: 5,
            default_rate_per_second: 0,
            default_records_per_second: 0,
            bootstrap_key: None,
            jwt: None,
            tenant_field: "tenant".to_string(),
        }
    }
}

/// How search cursors hold their snapshots.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SearchSettings {
    /// How long a cursor's snapshot stays readable after its last page, in seconds.
    pub cursor_keep_alive_seconds: u64,
    /// Most snapshots one process keeps for cursors: embedded index generations, or OpenSearch
    /// points in time this worker opened (keep it well under the cluster's
    /// `search.max_open_pit_context` divided by the number of workers).
    pub max_open_cursors: usize,
    /// Log a warning line for every search that takes at least this long, in milliseconds
    /// (with the query's first 200 characters); 0 turns the slow-search log off.
    pub slow_query_ms: u64,
    /// How often `serve` re-reads the index's documents per language, the prior query
    /// detection weighs candidates by, in seconds (0: once at start).
    pub language_prior_refresh_seconds: u64,
}

impl Default for SearchSettings {
    fn default() -> Self {
        SearchSettings {
            cursor_keep_alive_seconds: 300,
            max_open_cursors: 64,
            slow_query_ms: 1000,
            language_prior_refresh_seconds: 30,
        }
    }
}

/// How reindex jobs copy, catch up and verify.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReindexSettings {
    /// Parallel copy streams over disjoint id-hash ranges (`--slices`).
    pub slices: u32,
    /// Documents read and written per request of one slice.
    pub page_size: u32,
    /// How far before a catch-up pass's start documents are copied again, in seconds: it must
    /// cover the clock skew between workers and how long a document can stay in flight between
    /// its `ingested_at` stamp and its visibility (bulk retries: `opensearch.max_retry_seconds`).
    /// 0 means `opensearch.max_retry_seconds` + 60.
    pub catch_up_margin_seconds: u64,
    /// Wait after moving the aliases before the final catch-up, for bulk requests already
    /// sent to the old version to land, in seconds.
    pub settle_seconds: u64,
    /// Documents compared field by field between the two versions before the swap.
    pub sample_size: u32,
    /// Queries that must find something on the new version when they do on the old one
    /// (besides a few taken from the sampled documents).
    pub verify_queries: Vec<String>,
}

impl Default for ReindexSettings {
    fn default() -> Self {
        ReindexSettings {
            slices: 4,
            page_size: 1000,
            catch_up_margin_seconds: 0,
            settle_seconds: 10,
            sample_size: 200,
            verify_queries: Vec::new(),
        }
    }
}

/// Dead-letter queue settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DlqSettings {
    /// `file` (`dead-letters.ndjson` in the data directory), or a Kafka topic that every worker
    /// shares: `kafka://HOST:PORT/TOPIC[?group=REPLAY_GROUP]` (security from `[kafka.properties]`).
    pub target: DlqTarget,
    /// The file queue is written in segments of at most this many bytes.
    pub max_file_bytes: u64,
    /// Most segments the file queue keeps. When every one is full, records that would be
    /// dead-lettered are refused (503, nothing acknowledged) until `glossa dlq replay` or an
    /// operator empties the queue: dead letters are never dropped to make room.
    pub max_files: u32,
}

impl Default for DlqSettings {
    fn default() -> Self {
        DlqSettings {
            target: DlqTarget::File,
            max_file_bytes: 64 * 1024 * 1024,
            max_files: 16,
        }
    }
}

/// Kafka consumer settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaSettings {
    /// librdkafka properties passed through as they are: `security.protocol`, `sasl.mechanism`,
    /// `sasl.username`, `sasl.password`, `ssl.ca.location`, ... (also as `kafka://` URL query
    /// parameters with a dot in their name).
    pub properties: std::collections::BTreeMap<String, String>,
    /// Where a group without committed offsets starts: `earliest` or `latest`.
    pub start_from: String,
    /// Commit acknowledged offsets at least this often, in milliseconds.
    pub commit_interval_ms: u64,
    /// Send a partly filled chunk to the pipeline after this many milliseconds.
    pub linger_ms: u64,
    /// Pause the assigned partitions once the pipeline has been full this long, in milliseconds;
    /// they are resumed when it drains.
    pub pause_after_ms: u64,
    /// Most bytes librdkafka prefetches per partition queue, in KiB: the memory bound on lag.
    pub max_prefetch_kbytes: u64,
    /// How often consumer lag per partition is published as a metric, in milliseconds.
    pub stats_interval_ms: u64,
    /// How long to wait for the brokers at start before failing with the reason, in milliseconds.
    pub connect_timeout_ms: u64,
}

impl Default for KafkaSettings {
    fn default() -> Self {
        KafkaSettings {
            properties: Default::default(),
            start_from: "earliest".to_string(),
            commit_interval_ms: 1000,
            linger_ms: 100,
            pause_after_ms: 1000,
            max_prefetch_kbytes: 16 * 1024,
            stats_interval_ms: 5000,
            connect_timeout_ms: 30_000,
        }
    }
}

/// S3 (or S3-compatible) settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Settings {
    /// Custom endpoint (MinIO, Ceph, ...), path-style; unset means AWS. Also `GLOSSA_S3_ENDPOINT`.
    pub endpoint: Option<String>,
    /// Region (default from `AWS_REGION`, else `us-east-1`).
    pub region: Option<String>,
    /// Objects read at the same time.
    pub parallel_objects: usize,
    /// In follow mode (`glossa serve`, `ingest --follow`), list the prefix again this often.
    pub poll_seconds: u64,
    /// This worker's share of the prefix: objects whose key hashes to `worker_index` modulo
    /// `worker_count` (see README: several workers on one prefix).
    pub worker_index: u32,
    pub worker_count: u32,
}

impl Default for S3Settings {
    fn default() -> Self {
        S3Settings {
            endpoint: None,
            region: None,
            parallel_objects: 4,
            poll_seconds: 60,
            worker_index: 0,
            worker_count: 1,
        }
    }
}

/// The two index backends: one process with a local index, or a cluster.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// A Tantivy index under `data_dir`: no external service.
    #[default]
    Embedded,
    /// An OpenSearch cluster: for more data or more writers than one machine handles.
    OpenSearch,
}

/// What happens to a metadata field the index mapping does not declare.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownMetadata {
    /// Kept in the stored document and returned with hits, but not searchable or filterable:
    /// arbitrary input keys cannot explode the mapping.
    #[default]
    Store,
    /// The cluster rejects the document; it goes to the dead-letter queue with the reason.
    Reject,
}

/// Type of a declared (filterable) metadata field in the OpenSearch mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetaType {
    Keyword,
    Long,
    Double,
    Date,
    Boolean,
}

/// The OpenSearch cluster backend's settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpenSearchSettings {
    /// Node URLs; requests are spread over all of them and a node that stops answering is skipped.
    pub urls: Vec<String>,
    /// Base name: physical indices are `<index>-v1`, `-v2`, ...; the read alias is `<index>`, the
    /// write alias `<index>-write`.
    pub index: String,
    /// Basic-auth user and password (the password also from `GLOSSA_OPENSEARCH_PASSWORD`).
    pub username: Option<String>,
    pub password: Option<String>,
    /// PEM file of the CA that signs the cluster's certificates.
    pub ca_cert: Option<PathBuf>,
    /// Accept any certificate (self-signed test clusters only).
    pub insecure_skip_verify: bool,
    /// Sign requests with AWS SigV4 for this region (Amazon OpenSearch Service); credentials from
    /// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN.
    pub aws_region: Option<String>,
    /// SigV4 service name: `es` (managed domains) or `aoss` (Serverless).
    pub aws_service: String,
    /// Time allowed for one HTTP request to one node, in milliseconds.
    pub request_timeout_ms: u64,
    /// Primary shards of a new index version (see README: 10-50 GB per shard).
    pub shards: u32,
    /// Replicas of a new index version.
    pub replicas: u32,
    /// Largest bulk request, in bytes (keep under the cluster's `http.max_content_length`).
    pub bulk_max_bytes: usize,
    /// Most bulk requests in flight; the adaptive limit moves between 1 and this.
    pub bulk_max_concurrency: usize,
    /// Send a partly filled bulk request after this many milliseconds.
    pub bulk_flush_ms: u64,
    /// Give up on documents the cluster keeps refusing (429s, unreachable) after this many
    /// seconds; they are then not acknowledged, so their source retries them.
    pub max_retry_seconds: u64,
    /// Map languages whose analysis plugin the cluster lacks to the ICU analyzer instead of
    /// refusing to start.
    pub icu_fallback: bool,
    /// Metadata fields declared in the mapping (filterable), with their types.
    pub metadata_fields: std::collections::BTreeMap<String, MetaType>,
    /// What happens to metadata fields not declared in `metadata_fields`.
    pub unknown_metadata: UnknownMetadata,
}

impl Default for OpenSearchSettings {
    fn default() -> Self {
        OpenSearchSettings {
            urls: vec!["http://127.0.0.1:9200".to_string()],
            index: "glossa".to_string(),
            username: None,
            password: None,
            ca_cert: None,
            insecure_skip_verify: false,
            aws_region: None,
            aws_service: "es".to_string(),
            request_timeout_ms: 60_000,
            shards: 1,
            replicas: 1,
            bulk_max_bytes: 10 * 1024 * 1024,
            bulk_max_concurrency: 8,
            bulk_flush_ms: 1000,
            max_retry_seconds: 300,
            icu_fallback: false,
            metadata_fields: Default::default(),
            unknown_metadata: UnknownMetadata::Store,
        }
    }
}

/// Language detection settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DetectSettings {
    /// ISO 639-1 codes to detect among; empty means every supported language.
    pub languages: Vec<String>,
    /// Below this confidence a document's language is `und`.
    pub min_confidence: f64,
    /// How short records (under 120 letters) are weighed: `learned` from the languages of their
    /// source's (or else the worker's) long documents and hints so far (see
    /// `detect::SourcePriors`), or `off`.
    pub short_text_prior: ShortTextPrior,
    /// A fixed language distribution for short records instead of a learned one: documents
    /// (or any relative weights) per ISO 639-1 code, e.g. `{ en = 70, de = 30 }`.
    pub prior: BTreeMap<String, u64>,
}

/// Whether short records are weighed by the stream's languages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShortTextPrior {
    #[default]
    Learned,
    Off,
}

/// Size limits; requests over them get a 413 naming the limit.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest accepted HTTP ingest body, in bytes.
    pub max_body_bytes: usize,
    /// Largest accepted single record, in bytes.
    pub max_record_bytes: usize,
    /// Largest page size a search may ask for.
    pub max_search_size: usize,
    /// New work is refused (503) while the data directory's disk has less free space than
    /// this, in MiB, so the index and the dead-letter queue never fill it.
    pub min_free_disk_mb: u64,
}

/// Pipeline sizing.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineSettings {
    /// Records admitted into the pipeline and not yet acknowledged; the memory bound.
    pub max_in_flight_records: usize,
    /// Records per unit of work passed between stages.
    pub chunk_records: usize,
    /// Threads for detection and routing (0 = one per core).
    pub detect_threads: usize,
    /// Commit after this many documents are pending.
    pub commit_docs: usize,
    /// Commit at least this often while documents are pending, in milliseconds.
    pub commit_interval_ms: u64,
    /// Memory budget of the embedded index writer, in MiB.
    pub writer_memory_mb: usize,
    /// Embedded index: once no write has come for this many seconds, merge its segments into
    /// a few (`compact_segments`), as `glossa compact` does; 0 never does. Searches are faster
    /// in fewer segments; a compaction of 10 million documents takes about two minutes of two
    /// cores, and writes and searches go on meanwhile (searches about 2x slower).
    pub compact_idle_seconds: u64,
    /// Segments an idle compaction merges into (0: one per core); it starts when the index has
    /// more than twice as many.
    pub compact_segments: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("glossa-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            text_fields: vec!["title".to_string(), "body".to_string()],
            detect: DetectSettings::default(),
            limits: Limits::default(),
            pipeline: PipelineSettings::default(),
            backend: BackendKind::Embedded,
            opensearch: OpenSearchSettings::default(),
            sources: Vec::new(),
            kafka: KafkaSettings::default(),
            s3: S3Settings::default(),
            dlq: DlqSettings::default(),
            reindex: ReindexSettings::default(),
            search: SearchSettings::default(),
            server: ServerSettings::default(),
            auth: AuthSettings::default(),
        }
    }
}

/// Default `min_confidence`: 0, i.e. "und" only when there is nothing to decide on (no
/// letters, a script with no configured language). lingua's confidence is a softmax over the
/// candidates; on documents the winner is almost always > 0.9, but on one- to three-word texts
/// a correct answer often scores 0.1-0.3 because related languages share the words. Measured on
/// benches/data: a floor of 0.05 turned 1 more short text wrong than right (84.06% vs 84.08%)
/// and changed no document, so any floor trades accuracy for abstention. Deployments that
/// prefer "und" to a weak guess raise it (0.3-0.5 is a reasonable abstention point).
pub const DEFAULT_MIN_CONFIDENCE: f64 = 0.0;

impl Default for DetectSettings {
    fn default() -> Self {
        DetectSettings {
            languages: Vec::new(),
            min_confidence: DEFAULT_MIN_CONFIDENCE,
            short_text_prior: ShortTextPrior::default(),
            prior: BTreeMap::new(),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 32 * 1024 * 1024,
            max_record_bytes: 1024 * 1024,
            max_search_size: 1000,
            min_free_disk_mb: 512,
        }
    }
}

impl PipelineSettings {
    /// The segments an idle compaction merges into: `compact_segments`, or one per core.
    pub fn compact_target(&self) -> usize {
        match self.compact_segments {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        }
    }
}

impl Default for PipelineSettings {
    fn default() -> Self {
        PipelineSettings {
            max_in_flight_records: 50_000,
            chunk_records: 256,
            detect_threads: 0,
            commit_docs: 50_000,
            commit_interval_ms: 1000,
            writer_memory_mb: 256,
            compact_idle_seconds: 300,
            compact_segments: 0,
        }
    }
}

impl Config {
    /// Loads a TOML file over the defaults.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|cause| ConfigError::Read {
            path: path.to_path_buf(),
            cause,
        })?;
        toml::from_str(&text).map_err(|cause| ConfigError::Parse {
            path: path.to_path_buf(),
            cause,
        })
    }

    /// Rejects settings that would make the pipeline stall or misbehave.
    /// The metadata fields the cluster's mapping declares (filterable): the configured ones and
    /// the tenant field, a keyword, which tenant-scoped callers are filtered on.
    pub fn filterable_metadata(&self) -> std::collections::BTreeMap<String, MetaType> {
        let mut fields = self.opensearch.metadata_fields.clone();
        fields
            .entry(self.auth.tenant_field.clone())
            .or_insert(MetaType::Keyword);
        fields
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, message: &str| {
            Err(ConfigError::Invalid {
                key,
                message: message.to_string(),
            })
        };
        if self.text_fields.is_empty() {
            return invalid("text_fields", "at least one text field is needed");
        }
        if self.text_fields.iter().any(|f| f == "id" || f == "lang") {
            return invalid("text_fields", "`id` and `lang` are reserved record fields");
        }
        if !(0.0..=1.0).contains(&self.detect.min_confidence) {
            return invalid("detect.min_confidence", "must be between 0 and 1");
        }
        if self.pipeline.chunk_records == 0 || self.pipeline.max_in_flight_records == 0 {
            return invalid(
                "pipeline",
                "chunk_records and max_in_flight_records must be positive",
            );
        }
        let tenant = &self.auth.tenant_field;
        if tenant.is_empty()
            || tenant == "id"
            || tenant == "lang"
            || self.text_fields.contains(tenant)
        {
            return invalid(
                "auth.tenant_field",
                "must name a metadata field: not empty, not `id`, `lang` or a text field",
            );
        }
        if self
            .opensearch
            .metadata_fields
            .get(tenant)
            .is_some_and(|kind| *kind != MetaType::Keyword)
        {
            return invalid(
                "auth.tenant_field",
                "is declared in opensearch.metadata_fields with a type other than keyword",
            );
        }
        if self.search.cursor_keep_alive_seconds == 0 || self.search.max_open_cursors == 0 {
            return invalid(
                "search",
                "cursor_keep_alive_seconds and max_open_cursors must be positive",
            );
        }
        if self.pipeline.writer_memory_mb < 16 {
            return invalid("pipeline.writer_memory_mb", "must be at least 16");
        }
        if self.backend == BackendKind::OpenSearch {
            let os = &self.opensearch;
            if os.urls.is_empty() {
                return invalid("opensearch.urls", "at least one node URL is needed");
            }
            if os.index.is_empty()
                || os.index != os.index.to_lowercase()
                || os.index.starts_with(['_', '-', '+'])
            {
                return invalid(
                    "opensearch.index",
                    "must be a lowercase name not starting with _, - or +",
                );
            }
            if os.bulk_max_bytes < 64 * 1024 || os.bulk_max_concurrency == 0 {
                return invalid(
                    "opensearch",
                    "bulk_max_bytes must be at least 64 KiB and bulk_max_concurrency positive",
                );
            }
            if os.bulk_max_bytes < self.limits.max_record_bytes {
                return invalid(
                    "opensearch.bulk_max_bytes",
                    "must be at least limits.max_record_bytes, or the largest accepted records could never be indexed",
                );
            }
        }
        if self.s3.worker_count == 0 || self.s3.worker_index >= self.s3.worker_count {
            return invalid(
                "s3.worker_index",
                "must be below s3.worker_count (workers are numbered from 0)",
            );
        }
        if self.s3.parallel_objects == 0 {
            return invalid("s3.parallel_objects", "must be positive");
        }
        if self.reindex.slices == 0 || self.reindex.page_size == 0 {
            return invalid("reindex", "slices and page_size must be positive");
        }
        if !matches!(self.kafka.start_from.as_str(), "earliest" | "latest") {
            return invalid("kafka.start_from", "must be `earliest` or `latest`");
        }
        if self.server.tls_cert.is_some() != self.server.tls_key.is_some() {
            return invalid(
                "server.tls_cert",
                "give both server.tls_cert and server.tls_key, or neither",
            );
        }
        if self.server.header_read_timeout_seconds == 0
            || self.server.body_read_timeout_seconds == 0
            || self.server.max_connections == 0
            || self.server.max_uri_bytes < 256
        {
            return invalid(
                "server",
                "timeouts and max_connections must be positive, max_uri_bytes at least 256",
            );
        }
        if self
            .auth
            .jwt
            .as_ref()
            .is_some_and(|jwt| jwt.issuer.is_empty() || jwt.audience.is_empty())
        {
            return invalid("auth.jwt", "issuer and audience must be set");
        }
        if self.auth.refresh_seconds == 0 {
            return invalid("auth.refresh_seconds", "must be positive");
        }
        if self.dlq.max_files == 0
            || self.dlq.max_file_bytes < 2 * crate::record::MAX_RAW_BYTES as u64
        {
            return invalid(
                "dlq",
                "max_files must be positive and max_file_bytes at least 2 MiB (a dead letter keeps up to 1 MiB of its record)",
            );
        }
        if self.limits.max_record_bytes > self.limits.max_body_bytes {
            return invalid(
                "limits.max_record_bytes",
                "must not exceed limits.max_body_bytes",
            );
        }
        Ok(())
    }

    /// Number of detection threads, resolving 0 to the number of cores.
    pub fn detect_threads(&self) -> usize {
        match self.pipeline.detect_threads {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// A config file is operator input: any text parses (and validates) or gets an error.
        #[test]
        fn any_toml_loads_or_gets_an_error(text in "\\PC{0,300}") {
            if let Ok(config) = toml::from_str::<Config>(&text) {
                let _ = config.validate();
            }
        }

        #[test]
        fn toml_shaped_settings_never_panic(
            section in "(limits|server|auth|dlq|search|pipeline)",
            key in "[a-z_]{1,30}",
            value in "(-?[0-9]{1,25}|\"[a-z0-9:/._-]{0,20}\"|true|false|\\[\\])",
        ) {
            let text = format!("[{section}]\n{key} = {value}\n");
            if let Ok(config) = toml::from_str::<Config>(&text) {
                let _ = config.validate();
            }
        }
    }

    #[test]
    fn the_defaults_are_valid() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn urls_are_parsed_as_the_file_is_read_and_a_bad_one_names_its_setting() {
        let config: Config = toml::from_str(
            "sources = [\"s3://bucket/drop\", \"kafka://k:9092/docs?group=g\"]\n\
             [dlq]\ntarget = \"opensearch:dead\"\n",
        )
        .expect("valid URLs");
        assert!(matches!(&config.sources[0], StreamUrl::S3(url) if url.prefix == "drop"));
        assert!(matches!(&config.sources[1], StreamUrl::Kafka(url) if url.group == "g"));
        assert_eq!(
            config.dlq.target,
            DlqTarget::OpenSearch(Some("dead".into()))
        );
        // Written back, the file reads the same.
        let again: Config =
            toml::from_str(&toml::to_string(&config).expect("serializes")).expect("reads back");
        assert_eq!(again.sources, config.sources);
        assert_eq!(again.dlq.target, config.dlq.target);

        let bad = toml::from_str::<Config>("[dlq]\ntarget = \"s3://x\"\n")
            .expect_err("not a dead-letter store")
            .to_string();
        assert!(bad.contains("dlq.target `s3://x`"), "{bad}");
        let bad = toml::from_str::<Config>("sources = [\"ftp://x\"]\n")
            .expect_err("not a stream")
            .to_string();
        assert!(bad.contains("unknown source `ftp://x`"), "{bad}");
    }
}
