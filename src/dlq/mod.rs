//! Dead-letter queue: every record that could not be indexed, with its reason, source position and
//! time, so it can be inspected, fixed and replayed. Stored in an append-only NDJSON file in the
//! data directory (the default), or in a Kafka topic (`dlq.target = "kafka://..."`) or an
//! OpenSearch index (`dlq.target = "opensearch"`) that every worker of a cluster deployment shares.

mod kafka;
mod opensearch;

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::record::Rejection;

/// Most bytes of a rejected record kept in its dead letter; longer records keep their start and
/// are marked `truncated` (replay them from their source position instead).
pub const MAX_RAW_BYTES: usize = 1024 * 1024;

/// File name of the dead-letter queue inside the data directory.
pub const FILE_NAME: &str = "dead-letters.ndjson";

/// One dead letter as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeadLetter {
    /// RFC 3339 time the record was rejected.
    pub time: String,
    #[serde(flatten)]
    pub rejection: Rejection,
}

/// Failures of the dead-letter store itself.
#[derive(Debug, thiserror::Error)]
pub enum DlqError {
    #[error("dead-letter queue {path}: {cause}")]
    File {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("dead-letter topic {topic}: {message}")]
    Kafka { topic: String, message: String },
    #[error("dead-letter index {index}: {message}")]
    OpenSearch { index: String, message: String },
    #[error("invalid setting dlq.target `{0}`: use `file`, `opensearch[:INDEX]` or kafka://HOST:PORT/TOPIC[?group=REPLAY_GROUP]")]
    Target(String),
}

/// Appends dead letters to a file; [`FileQueue::sync`] makes them durable before records are
/// acknowledged.
pub struct FileQueue {
    path: PathBuf,
    out: BufWriter<File>,
    unsynced: bool,
}

impl FileQueue {
    /// Opens (creating) the queue file in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, DlqError> {
        let path = data_dir.join(FILE_NAME);
        let err = |cause| DlqError::File {
            path: path.clone(),
            cause,
        };
        std::fs::create_dir_all(data_dir).map_err(err)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(err)?;
        Ok(FileQueue {
            path,
            out: BufWriter::new(file),
            unsynced: false,
        })
    }

    /// Queues one dead letter (buffered until [`FileQueue::sync`]).
    pub fn push(&mut self, rejection: &Rejection) -> Result<(), DlqError> {
        let letter = DeadLetter {
            time: now_rfc3339(),
            rejection: rejection.clone(),
        };
        let line = serde_json::to_string(&letter).unwrap_or_default();
        self.out
            .write_all(line.as_bytes())
            .and_then(|_| self.out.write_all(b"\n"))
            .map_err(|cause| DlqError::File {
                path: self.path.clone(),
                cause,
            })?;
        self.unsynced = true;
        Ok(())
    }

    /// Flushes and fsyncs what was pushed.
    pub fn sync(&mut self) -> Result<(), DlqError> {
        if !self.unsynced {
            return Ok(());
        }
        self.out
            .flush()
            .and_then(|_| self.out.get_ref().sync_data())
            .map_err(|cause| DlqError::File {
                path: self.path.clone(),
                cause,
            })?;
        self.unsynced = false;
        Ok(())
    }
}

/// Reads every dead letter of the file queue in `data_dir` (for `glossa dlq list` and tests).
pub fn read_all(data_dir: &Path) -> Result<Vec<DeadLetter>, DlqError> {
    let path = data_dir.join(FILE_NAME);
    let err = |cause| DlqError::File {
        path: path.clone(),
        cause,
    };
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(err(e)),
    };
    let mut letters = Vec::new();
    for line in BufReader::new(file).lines() {
        let line = line.map_err(err)?;
        if let Ok(letter) = serde_json::from_str(&line) {
            letters.push(letter);
        }
    }
    Ok(letters)
}

/// Where dead letters go: one variant per store.
pub enum DeadLetterQueue {
    File(FileQueue),
    Kafka(kafka::KafkaQueue),
    OpenSearch(opensearch::OpenSearchQueue),
}

/// The configured store (`dlq.target`): `file`, or a `kafka://` topic URL.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    File,
    Kafka(crate::source::kafka::KafkaUrl),
    /// An index on the configured cluster (`None`: `<opensearch.index>-dead-letters`).
    OpenSearch(Option<String>),
}

impl Target {
    /// Reads `dlq.target`.
    pub fn parse(text: &str) -> Result<Target, DlqError> {
        if text == "file" {
            return Ok(Target::File);
        }
        if text == "opensearch" {
            return Ok(Target::OpenSearch(None));
        }
        if let Some(index) = text.strip_prefix("opensearch:") {
            let valid = !index.is_empty()
                && index == index.to_lowercase()
                && !index.starts_with(['_', '-', '+'])
                && !index.contains(['/', '\\', '*', '?', '"', '<', '>', '|', ' ', ',', '#']);
            return match valid {
                true => Ok(Target::OpenSearch(Some(index.to_string()))),
                false => Err(DlqError::Target(text.to_string())),
            };
        }
        let with_group = match text.contains("group=") {
            true => text.to_string(),
            false if text.contains('?') => format!("{text}&group=glossa-dlq-replay"),
            false => format!("{text}?group=glossa-dlq-replay"),
        };
        match crate::source::kafka::KafkaUrl::parse(&with_group) {
            Ok(url) if url.topics.len() == 1 => Ok(Target::Kafka(url)),
            _ => Err(DlqError::Target(text.to_string())),
        }
    }
}

impl DeadLetterQueue {
    /// Opens the configured store.
    pub fn open(config: &crate::config::Config) -> Result<DeadLetterQueue, DlqError> {
        match Target::parse(&config.dlq.target)? {
            Target::File => Ok(DeadLetterQueue::File(FileQueue::open(&config.data_dir)?)),
            Target::Kafka(url) => Ok(DeadLetterQueue::Kafka(kafka::KafkaQueue::open(
                &url,
                &config.kafka,
            )?)),
            Target::OpenSearch(named) => Ok(DeadLetterQueue::OpenSearch(
                opensearch::OpenSearchQueue::open(
                    config,
                    opensearch::index_name(config, named.as_deref()),
                )?,
            )),
        }
    }

    /// Queues one dead letter (durable after [`DeadLetterQueue::sync`]).
    pub fn push(&mut self, rejection: &Rejection) -> Result<(), DlqError> {
        match self {
            DeadLetterQueue::File(queue) => queue.push(rejection),
            DeadLetterQueue::Kafka(queue) => queue.push(rejection),
            DeadLetterQueue::OpenSearch(queue) => queue.push(rejection),
        }
    }

    /// Makes every queued letter durable (fsync, or acknowledged by all in-sync replicas).
    pub fn sync(&mut self) -> Result<(), DlqError> {
        match self {
            DeadLetterQueue::File(queue) => queue.sync(),
            DeadLetterQueue::Kafka(queue) => queue.sync(),
            DeadLetterQueue::OpenSearch(queue) => queue.sync(),
        }
    }
}

/// Every dead letter still in the configured store (not yet replayed).
pub fn list(config: &crate::config::Config) -> Result<Vec<DeadLetter>, DlqError> {
    match Target::parse(&config.dlq.target)? {
        Target::File => read_all(&config.data_dir),
        Target::Kafka(url) => Ok(kafka::KafkaReplay::take(&url, &config.kafka)?.letters),
        Target::OpenSearch(named) => Ok(opensearch::OpenSearchReplay::take(
            config,
            opensearch::index_name(config, named.as_deref()),
        )?
        .letters),
    }
}

/// Dead letters taken for a replay; [`Replay::finish`] once every one is acknowledged again.
pub enum Replay {
    File(FileReplay),
    Kafka(kafka::KafkaReplay),
    OpenSearch(opensearch::OpenSearchReplay),
}

impl Replay {
    /// Takes the letters of the configured store (see [`FileReplay::take`]; a Kafka topic is read
    /// from the replay group's committed offsets to its end).
    pub fn take(config: &crate::config::Config) -> Result<Replay, DlqError> {
        match Target::parse(&config.dlq.target)? {
            Target::File => Ok(Replay::File(FileReplay::take(&config.data_dir)?)),
            Target::Kafka(url) => Ok(Replay::Kafka(kafka::KafkaReplay::take(
                &url,
                &config.kafka,
            )?)),
            Target::OpenSearch(named) => {
                Ok(Replay::OpenSearch(opensearch::OpenSearchReplay::take(
                    config,
                    opensearch::index_name(config, named.as_deref()),
                )?))
            }
        }
    }

    /// The letters taken, oldest first per file or partition.
    pub fn letters(&self) -> &[DeadLetter] {
        match self {
            Replay::File(replay) => &replay.letters,
            Replay::Kafka(replay) => &replay.letters,
            Replay::OpenSearch(replay) => &replay.letters,
        }
    }

    /// Forgets the replayed letters (deletes the files or the index documents, or commits the
    /// topic offsets).
    pub fn finish(self) -> Result<(), DlqError> {
        match self {
            Replay::File(replay) => replay.finish(),
            Replay::Kafka(replay) => replay.finish(),
            Replay::OpenSearch(replay) => replay.finish(),
        }
    }
}

/// Current UTC time in RFC 3339.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Prefix of dead-letter files taken aside by a replay; left behind only if a replay was cut
/// short, and then picked up again by the next one.
const REPLAY_PREFIX: &str = "dead-letters.replaying-";

/// Dead letters taken aside from the file for a replay, with the files they came from.
pub struct FileReplay {
    pub letters: Vec<DeadLetter>,
    files: Vec<PathBuf>,
}

impl FileReplay {
    /// Moves the current dead-letter file aside (so records that fail again land in a fresh one)
    /// and reads it together with any earlier, unfinished replay files. Call before the
    /// pipeline opens the queue.
    pub fn take(data_dir: &Path) -> Result<FileReplay, DlqError> {
        let err = |path: &Path| {
            let path = path.to_path_buf();
            move |cause| DlqError::File { path, cause }
        };
        let current = data_dir.join(FILE_NAME);
        if current.exists() {
            let aside = data_dir.join(format!(
                "{REPLAY_PREFIX}{}.ndjson",
                time::OffsetDateTime::now_utc().unix_timestamp_nanos()
            ));
            std::fs::rename(&current, &aside).map_err(err(&current))?;
        }
        let mut files: Vec<PathBuf> = match std::fs::read_dir(data_dir) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(REPLAY_PREFIX))
                })
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(err(data_dir)(e)),
        };
        files.sort();
        let mut letters = Vec::new();
        for file in &files {
            let reader = BufReader::new(File::open(file).map_err(err(file))?);
            for line in reader.lines() {
                let line = line.map_err(err(file))?;
                if let Ok(letter) = serde_json::from_str(&line) {
                    letters.push(letter);
                }
            }
        }
        Ok(FileReplay { letters, files })
    }

    /// Deletes the replayed files; call only once every letter was acknowledged again
    /// (indexed, or dead-lettered anew).
    pub fn finish(self) -> Result<(), DlqError> {
        for file in self.files {
            std::fs::remove_file(&file).map_err(|cause| DlqError::File { path: file, cause })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Target;

    #[test]
    fn targets_name_a_file_an_index_or_a_topic() {
        assert_eq!(Target::parse("file").ok(), Some(Target::File));
        assert_eq!(
            Target::parse("opensearch").ok(),
            Some(Target::OpenSearch(None))
        );
        assert_eq!(
            Target::parse("opensearch:glossa-dead").ok(),
            Some(Target::OpenSearch(Some("glossa-dead".into())))
        );
        for bad in [
            "opensearch:",
            "opensearch:Upper",
            "opensearch:_x",
            "opensearch:a b",
            "s3://x",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            Target::parse("kafka://127.0.0.1:9092/dead"),
            Ok(Target::Kafka(_))
        ));
    }
}
