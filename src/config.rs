//! Runtime configuration: defaults, then a TOML file, then `GLOSSA_*` environment variables and
//! command-line flags (applied by the binary). One struct so every stage reads the same settings.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

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
}

/// Language detection settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DetectSettings {
    /// ISO 639-1 codes to detect among; empty means every supported language.
    pub languages: Vec<String>,
    /// Below this confidence a document's language is `und`.
    pub min_confidence: f64,
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
        }
    }
}

impl Default for DetectSettings {
    fn default() -> Self {
        DetectSettings {
            languages: Vec::new(),
            min_confidence: crate::detect::DetectorConfig::default().min_confidence,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 32 * 1024 * 1024,
            max_record_bytes: 1024 * 1024,
            max_search_size: 1000,
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
        if self.pipeline.writer_memory_mb < 16 {
            return invalid("pipeline.writer_memory_mb", "must be at least 16");
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
