//! The data that flows through the pipeline: raw records as sources deliver them, decoded records,
//! and the documents that reach a sink.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Which stage of the pipeline decided a record's language; recorded per record for metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The Unicode script alone identifies the language.
    Script,
    /// The fast path: lingua's trigram model over the script's languages, on a sample
    /// (`ngram.rs`).
    Fast,
    /// lingua over all languages of the text's script.
    Lingua,
    /// No letters, no supported language for the script, or confidence below the floor.
    Undetermined,
}

/// Most bytes of a rejected record kept in its dead letter; longer records keep their start and
/// are marked `truncated` (replay them from their source position instead).
pub const MAX_RAW_BYTES: usize = 1024 * 1024;

/// Where a record came from, so a dead letter or a rejection can be traced back to its origin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourcePosition {
    /// The source: a file path, `stdin`, or `http:<request id>`.
    pub source: String,
    /// 1-based line number (files, HTTP bodies) or offset (streams).
    pub line: u64,
}

impl SourcePosition {
    /// Whether a record read from here gets a position-derived id when it has none: true for
    /// streams with stable positions (Kafka offsets, S3 object lines), so a dead letter replayed
    /// from there keeps the id it would have had.
    pub fn ids_from_position(&self) -> bool {
        self.source.starts_with("kafka:") || self.source.starts_with("s3://")
    }
}

impl std::fmt::Display for SourcePosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.source, self.line)
    }
}

/// A record exactly as a source delivered it, before any parsing.
#[derive(Clone, Debug)]
pub struct RawRecord {
    pub position: SourcePosition,
    pub bytes: Vec<u8>,
    /// A record without an `id` gets one derived from its position instead of its content.
    /// Streams (Kafka offsets, S3 object lines) set this: their positions are stable, and two
    /// equal records at two positions are two documents.
    pub id_from_position: bool,
    /// Remove the document whose id is `bytes` (UTF-8) instead of writing a record.
    pub delete: bool,
}

impl RawRecord {
    /// The delete of document `id`, read at `line` of `source` (an HTTP request, a job).
    pub fn delete_of(source: &str, line: u64, id: String) -> RawRecord {
        RawRecord {
            position: SourcePosition {
                source: source.to_string(),
                line,
            },
            bytes: id.into_bytes(),
            id_from_position: false,
            delete: true,
        }
    }
}

/// A record that parsed: its id, its free text and everything else as metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// Caller-given id, or one derived from the content so re-ingesting never duplicates.
    pub id: String,
    /// Free-text values in configured field order: `(field name, text)`.
    pub texts: Vec<(String, String)>,
    /// The record's `lang` field, if any; it overrides detection when the language is supported.
    pub lang_hint: Option<String>,
    /// Every field that is neither text, `id` nor `lang`; stored and filterable.
    pub metadata: Map<String, Value>,
    /// The whole original object, returned with hits and kept for reindexing.
    pub source: Map<String, Value>,
}

/// A record with its language decided, ready for a sink.
#[derive(Clone, Debug)]
pub struct Document {
    pub record: Record,
    /// ISO 639-1 code, or `und`.
    pub lang: &'static str,
    pub confidence: f64,
    pub method: LangMethod,
}

/// How a document's or query's language was chosen; shown to users so they can trust or override it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LangMethod {
    /// The caller named the language (record `lang` field or search `lang` parameter).
    Given,
    /// The detector decided, by the named method.
    Detected(Method),
}

impl LangMethod {
    /// Short label for storage and metrics.
    pub fn label(self) -> &'static str {
        match self {
            LangMethod::Given => "given",
            LangMethod::Detected(Method::Script) => "script",
            LangMethod::Detected(Method::Fast) => "fast",
            LangMethod::Detected(Method::Lingua) => "lingua",
            LangMethod::Detected(Method::Undetermined) => "undetermined",
        }
    }

    /// The method a stored [`LangMethod::label`] names (a reindex that keeps languages).
    pub fn from_label(label: &str) -> Option<LangMethod> {
        Some(match label {
            "given" => LangMethod::Given,
            "script" => LangMethod::Detected(Method::Script),
            "fast" => LangMethod::Detected(Method::Fast),
            "lingua" => LangMethod::Detected(Method::Lingua),
            "undetermined" => LangMethod::Detected(Method::Undetermined),
            _ => return None,
        })
    }
}

/// A record that could not be indexed, with the reason, bound for the dead-letter queue.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Rejection {
    pub position: SourcePosition,
    /// Machine-readable reason, also the metrics label.
    pub reason: String,
    /// Human-readable explanation.
    pub message: String,
    /// The original bytes, lossily decoded, so the record can be fixed and replayed.
    pub raw: String,
    /// True when `raw` is only the start of the record (it was over
    /// [`crate::record::MAX_RAW_BYTES`]); such a letter cannot be replayed, only re-read from its
    /// source position.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}
