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

use crate::config::DlqTarget;
use crate::record::{Rejection, SourcePosition};

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
    #[error("the dead-letter queue in {dir} is full ({files} files of dlq.max_file_bytes = {file_bytes}): records that would be dead-lettered are refused and nothing of their request is acknowledged; inspect with `glossa dlq list`, empty it with `glossa dlq replay`, or raise dlq.max_files")]
    Full {
        dir: PathBuf,
        files: u32,
        file_bytes: u64,
    },
    #[error("dead-letter queue {path}: {cause}")]
    File {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("dead-letter topic {topic}: {message}")]
    Kafka { topic: String, message: String },
    #[error("dead-letter index {index}: {message}")]
    OpenSearch { index: String, message: String },
}

/// Appends dead letters to a file; [`FileQueue::sync`] makes them durable before records are
/// acknowledged. The file is written in segments: a full `dead-letters.ndjson` is renamed
/// `dead-letters.<time>.ndjson` and a new one started, up to `dlq.max_files` segments in all;
/// then pushes fail with [`DlqError::Full`] (nothing is dropped to make room).
pub struct FileQueue {
    dir: PathBuf,
    path: PathBuf,
    out: BufWriter<File>,
    unsynced: bool,
    /// Bytes in the current segment.
    current_bytes: u64,
    /// Bytes and count of the full segments beside it.
    sealed_bytes: u64,
    sealed: u32,
    max_file_bytes: u64,
    max_files: u32,
}

impl FileQueue {
    /// Opens (creating) the queue in `data_dir`.
    pub fn open(data_dir: &Path, settings: &crate::config::DlqSettings) -> Result<Self, DlqError> {
        let path = data_dir.join(FILE_NAME);
        let err = |cause| DlqError::File {
            path: path.clone(),
            cause,
        };
        std::fs::create_dir_all(data_dir).map_err(err)?;
        let (out, current_bytes) = open_segment(&path)?;
        let sealed = sealed_segments(data_dir)?;
        let mut sealed_bytes = 0;
        for segment in &sealed {
            sealed_bytes += std::fs::metadata(segment).map_err(err)?.len();
        }
        let queue = FileQueue {
            dir: data_dir.to_path_buf(),
            path,
            out,
            unsynced: false,
            current_bytes,
            sealed_bytes,
            sealed: u32::try_from(sealed.len()).unwrap_or(u32::MAX),
            max_file_bytes: settings.max_file_bytes,
            max_files: settings.max_files,
        };
        queue.report();
        Ok(queue)
    }

    /// Queues one dead letter (buffered until [`FileQueue::sync`]).
    pub fn push(&mut self, rejection: &Rejection) -> Result<(), DlqError> {
        let letter = DeadLetter {
            time: now_rfc3339(),
            rejection: rejection.clone(),
        };
        let mut line = serde_json::to_string(&letter).unwrap_or_default();
        line.push('\n');
        let len = line.len() as u64;
        if self.current_bytes > 0 && self.current_bytes + len > self.max_file_bytes {
            self.seal()?;
        }
        self.out
            .write_all(line.as_bytes())
            .map_err(|cause| DlqError::File {
                path: self.path.clone(),
                cause,
            })?;
        self.current_bytes += len;
        self.unsynced = true;
        self.report();
        Ok(())
    }

    /// Closes the current segment under a name of its own and starts a new one, or refuses when
    /// the queue already holds `max_files` segments.
    fn seal(&mut self) -> Result<(), DlqError> {
        if self.sealed + 1 >= self.max_files {
            return Err(DlqError::Full {
                dir: self.dir.clone(),
                files: self.max_files,
                file_bytes: self.max_file_bytes,
            });
        }
        self.sync_now()?;
        let sealed = self.dir.join(format!(
            "{SEGMENT_PREFIX}{}.ndjson",
            time::OffsetDateTime::now_utc().unix_timestamp_nanos()
        ));
        std::fs::rename(&self.path, &sealed).map_err(|cause| DlqError::File {
            path: self.path.clone(),
            cause,
        })?;
        let (out, bytes) = open_segment(&self.path)?;
        self.out = out;
        self.sealed += 1;
        self.sealed_bytes += self.current_bytes;
        self.current_bytes = bytes;
        Ok(())
    }

    /// Flushes and fsyncs what was pushed.
    pub fn sync(&mut self) -> Result<(), DlqError> {
        if !self.unsynced {
            return Ok(());
        }
        self.sync_now()
    }

    fn sync_now(&mut self) -> Result<(), DlqError> {
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

    fn report(&self) {
        metrics::gauge!(crate::metrics::DLQ_BYTES)
            .set((self.sealed_bytes + self.current_bytes) as f64);
    }
}

/// Name prefix of a full segment: `dead-letters.<unix nanos>.ndjson`.
const SEGMENT_PREFIX: &str = "dead-letters.";

fn open_segment(path: &Path) -> Result<(BufWriter<File>, u64), DlqError> {
    let err = |cause| DlqError::File {
        path: path.to_path_buf(),
        cause,
    };
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(err)?;
    let len = file.metadata().map_err(err)?.len();
    Ok((BufWriter::new(file), len))
}

/// The full segments in `data_dir`, oldest first.
fn sealed_segments(data_dir: &Path) -> Result<Vec<PathBuf>, DlqError> {
    files_named(data_dir, |name| {
        name.strip_prefix(SEGMENT_PREFIX)
            .and_then(|rest| rest.strip_suffix(".ndjson"))
            .is_some_and(|stamp| !stamp.is_empty() && stamp.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// Files of `dir` whose names pass `wanted`, sorted by name; none when `dir` does not exist.
fn files_named(dir: &Path, wanted: impl Fn(&str) -> bool) -> Result<Vec<PathBuf>, DlqError> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(&wanted))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(cause) => {
            return Err(DlqError::File {
                path: dir.to_path_buf(),
                cause,
            })
        }
    };
    files.sort();
    Ok(files)
}

fn read_letters(path: &Path, letters: &mut Vec<DeadLetter>) -> Result<(), DlqError> {
    let err = |cause| DlqError::File {
        path: path.to_path_buf(),
        cause,
    };
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(err(e)),
    };
    for line in BufReader::new(file).lines() {
        let line = line.map_err(err)?;
        if let Ok(letter) = serde_json::from_str(&line) {
            letters.push(letter);
        }
    }
    Ok(())
}

/// Reads every dead letter of the file queue in `data_dir`, oldest first (for `glossa dlq list`
/// and tests).
pub fn read_all(data_dir: &Path) -> Result<Vec<DeadLetter>, DlqError> {
    let mut letters = Vec::new();
    for segment in sealed_segments(data_dir)? {
        read_letters(&segment, &mut letters)?;
    }
    read_letters(&data_dir.join(FILE_NAME), &mut letters)?;
    Ok(letters)
}

/// Most recent letters a [`Summary`] may carry: the operator view shows a screenful, and an
/// answer stays small however large the queue is.
pub const MAX_SUMMARY_LETTERS: usize = 100;

/// Longest message of a letter in a [`Summary`], in characters.
const MAX_SUMMARY_MESSAGE_CHARS: usize = 500;

/// What the operator view shows of the queue: counts by reason and the latest letters, without
/// their records (a record may hold anything; `glossa dlq list` shows it to an operator at the
/// machine).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Letters in the queue (delete records excluded).
    pub total: u64,
    /// Letters per reason.
    pub by_reason: std::collections::BTreeMap<String, u64>,
    /// The newest letters, newest first, at most the number asked for.
    pub latest: Vec<LetterSummary>,
}

/// One dead letter as the operator view shows it: when, why, and where in its source.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LetterSummary {
    /// RFC 3339 time the record was rejected.
    pub time: String,
    /// Machine-readable reason (the metrics label).
    pub reason: String,
    /// Human-readable explanation, at most 500 characters.
    pub message: String,
    /// Where the record came from, to find or re-read it.
    pub position: SourcePosition,
    /// Only the record's start is in the queue (replay it from its source position).
    pub truncated: bool,
}

/// A dead letter read without its record, which may be a megabyte the summary never shows.
#[derive(Deserialize)]
struct LetterHead {
    time: String,
    position: SourcePosition,
    reason: String,
    message: String,
    #[serde(default)]
    truncated: bool,
}

impl LetterHead {
    fn into_summary(self) -> LetterSummary {
        LetterSummary {
            time: self.time,
            reason: self.reason,
            message: self
                .message
                .chars()
                .take(MAX_SUMMARY_MESSAGE_CHARS)
                .collect(),
            position: self.position,
            truncated: self.truncated,
        }
    }
}

/// Counts the file queue in `data_dir` by reason and keeps its `latest` newest letters (capped
/// at [`MAX_SUMMARY_LETTERS`]). Reads every segment once, streaming: memory stays bounded by
/// the letters kept, whatever the queue's size. A line the writer has not finished is skipped.
pub fn summarize(data_dir: &Path, latest: usize) -> Result<Summary, DlqError> {
    let latest = latest.min(MAX_SUMMARY_LETTERS);
    let mut summary = Summary::default();
    let mut newest = std::collections::VecDeque::with_capacity(latest);
    let mut segments = sealed_segments(data_dir)?;
    segments.push(data_dir.join(FILE_NAME));
    for path in segments {
        let err = |cause| DlqError::File {
            path: path.clone(),
            cause,
        };
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(err(e)),
        };
        for line in BufReader::new(file).split(b'\n') {
            let line = line.map_err(err)?;
            let Ok(letter) = serde_json::from_slice::<LetterHead>(&line) else {
                continue;
            };
            if letter.reason == DELETED {
                continue;
            }
            summary.total += 1;
            *summary.by_reason.entry(letter.reason.clone()).or_default() += 1;
            if latest == 0 {
                continue;
            }
            if newest.len() == latest {
                newest.pop_front();
            }
            newest.push_back(letter.into_summary());
        }
    }
    summary.latest = newest.into_iter().rev().collect();
    Ok(summary)
}

/// [`summarize`] for a dead-letter index on the cluster `client` reaches (`dlq.target =
/// "opensearch[:NAME]"`): the index's name, and its summary.
pub async fn summarize_index(
    client: &crate::backend::opensearch::client::Client,
    config: &crate::config::Config,
    named: Option<&str>,
    latest: usize,
) -> (String, Result<Summary, DlqError>) {
    let index = opensearch::index_name(config, named);
    let summary = opensearch::summarize(client, &index, latest).await;
    (index, summary)
}

/// Reason of a delete's record in the queue. Not a dead letter: it tells a replay that letters
/// of this id older than it are stale (the document was deleted after they were written).
pub const DELETED: &str = "deleted";

/// The record of a delete of `id`, kept beside the dead letters.
fn delete_record(id: &str) -> Rejection {
    Rejection {
        position: SourcePosition {
            source: "delete".into(),
            line: 0,
        },
        reason: DELETED.into(),
        message: "the document was deleted; a replay skips its older dead letters".into(),
        raw: id.into(),
        truncated: false,
    }
}

/// The document id a dead letter's record would be written under (the decode stage's rules),
/// when its record is a JSON object.
fn letter_id(letter: &DeadLetter) -> Option<String> {
    let Ok(serde_json::Value::Object(object)) = serde_json::from_str(&letter.rejection.raw) else {
        return None;
    };
    Some(match object.get("id") {
        Some(serde_json::Value::String(id)) => id.clone(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ if letter.rejection.position.ids_from_position() => {
            crate::decode::position_id(&letter.rejection.position)
        }
        _ => crate::decode::content_id(&object),
    })
}

fn parse_time(text: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

/// Splits taken letters into those to replay and those of documents deleted after the letter
/// was written (a replay would bring them back); delete records are neither.
pub fn without_deleted(letters: Vec<&DeadLetter>) -> (Vec<&DeadLetter>, Vec<&DeadLetter>) {
    let mut deleted_at: std::collections::HashMap<&str, time::OffsetDateTime> = Default::default();
    for letter in &letters {
        if letter.rejection.reason == DELETED {
            if let Some(at) = parse_time(&letter.time) {
                let latest = deleted_at.entry(&letter.rejection.raw).or_insert(at);
                *latest = (*latest).max(at);
            }
        }
    }
    letters
        .into_iter()
        .filter(|letter| letter.rejection.reason != DELETED)
        .partition(|letter| {
            let stale = letter_id(letter)
                .and_then(|id| deleted_at.get(id.as_str()).copied())
                .zip(parse_time(&letter.time))
                .is_some_and(|(deleted, written)| deleted > written);
            !stale
        })
}

/// Where dead letters go: one variant per store.
pub enum DeadLetterQueue {
    File(FileQueue),
    Kafka(kafka::KafkaQueue),
    OpenSearch(opensearch::OpenSearchQueue),
}

impl DeadLetterQueue {
    /// Opens the configured store.
    pub fn open(config: &crate::config::Config) -> Result<DeadLetterQueue, DlqError> {
        match &config.dlq.target {
            DlqTarget::File => Ok(DeadLetterQueue::File(FileQueue::open(
                &config.data_dir,
                &config.dlq,
            )?)),
            DlqTarget::Kafka(url) => Ok(DeadLetterQueue::Kafka(kafka::KafkaQueue::open(
                url,
                &config.kafka,
            )?)),
            DlqTarget::OpenSearch(named) => Ok(DeadLetterQueue::OpenSearch(
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

    /// Records the deletes of `ids` beside the letters (durable with the next sync), so a replay
    /// does not bring back a document deleted after its letter was written. A file queue with
    /// no letters records nothing.
    pub fn record_deletes(&mut self, ids: &[String]) -> Result<(), DlqError> {
        if let DeadLetterQueue::File(queue) = self {
            if queue.sealed == 0 && queue.current_bytes == 0 {
                return Ok(());
            }
        }
        ids.iter().try_for_each(|id| self.push(&delete_record(id)))
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

/// Every dead letter still in the configured store (not yet replayed), without the records of
/// deletes.
pub fn list(config: &crate::config::Config) -> Result<Vec<DeadLetter>, DlqError> {
    let mut letters = match &config.dlq.target {
        DlqTarget::File => read_all(&config.data_dir)?,
        DlqTarget::Kafka(url) => kafka::KafkaReplay::take(url, &config.kafka)?.letters,
        DlqTarget::OpenSearch(named) => {
            opensearch::OpenSearchReplay::take(
                config,
                opensearch::index_name(config, named.as_deref()),
            )?
            .letters
        }
    };
    letters.retain(|letter| letter.rejection.reason != DELETED);
    Ok(letters)
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
        match &config.dlq.target {
            DlqTarget::File => Ok(Replay::File(FileReplay::take(&config.data_dir)?)),
            DlqTarget::Kafka(url) => {
                Ok(Replay::Kafka(kafka::KafkaReplay::take(url, &config.kafka)?))
            }
            DlqTarget::OpenSearch(named) => {
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
        let mut taken = sealed_segments(data_dir)?;
        let current = data_dir.join(FILE_NAME);
        if current.exists() {
            taken.push(current);
        }
        for (n, path) in taken.iter().enumerate() {
            let aside = data_dir.join(format!(
                "{REPLAY_PREFIX}{}-{n:06}.ndjson",
                time::OffsetDateTime::now_utc().unix_timestamp_nanos()
            ));
            std::fs::rename(path, &aside).map_err(err(path))?;
        }
        let files = files_named(data_dir, |name| name.starts_with(REPLAY_PREFIX))?;
        let mut letters = Vec::new();
        for file in &files {
            read_letters(file, &mut letters)?;
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
    use super::*;

    fn letter(time: &str, reason: &str, raw: &str) -> DeadLetter {
        DeadLetter {
            time: time.into(),
            rejection: Rejection {
                position: SourcePosition {
                    source: "in.ndjson".into(),
                    line: 1,
                },
                reason: reason.into(),
                message: String::new(),
                raw: raw.into(),
                truncated: false,
            },
        }
    }

    #[test]
    fn letters_of_documents_deleted_later_are_set_apart() {
        let letters = [
            letter(
                "2026-12-05T10:00:00Z",
                "too_large",
                r#"{"id":"a","title":"x"}"#,
            ),
            letter(
                "2026-12-05T10:00:00Z",
                "too_large",
                r#"{"id":7,"title":"x"}"#,
            ),
            letter(
                "2026-12-05T10:00:00Z",
                "too_large",
                r#"{"id":"b","title":"x"}"#,
            ),
            letter("2026-12-05T10:00:00Z", "not_json", "not json"),
            letter("2026-12-05T11:00:00Z", DELETED, "a"),
            letter("2026-12-05T11:00:00Z", DELETED, "7"),
            // Deleted before the letter was written: the letter is newer, so it is replayed.
            letter("2026-12-05T09:00:00Z", DELETED, "b"),
        ];
        let (replay, stale) = without_deleted(letters.iter().collect());
        let raw = |set: &[&DeadLetter]| -> Vec<String> {
            set.iter().map(|l| l.rejection.raw.clone()).collect()
        };
        assert_eq!(raw(&replay), [r#"{"id":"b","title":"x"}"#, "not json"]);
        assert_eq!(
            raw(&stale),
            [r#"{"id":"a","title":"x"}"#, r#"{"id":7,"title":"x"}"#]
        );
    }

    fn rejection(line: u64, raw_bytes: usize) -> Rejection {
        Rejection {
            position: SourcePosition {
                source: "t".into(),
                line,
            },
            reason: "not_json".into(),
            message: "m".into(),
            raw: "x".repeat(raw_bytes),
            truncated: false,
        }
    }

    #[test]
    fn summary_counts_every_segment_and_keeps_only_the_newest_letters() {
        let dir = tempfile::tempdir().unwrap();
        let settings = crate::config::DlqSettings {
            max_file_bytes: 2_000,
            max_files: 100,
            ..Default::default()
        };
        let mut queue = FileQueue::open(dir.path(), &settings).unwrap();
        for line in 1..=130 {
            let mut letter = rejection(line, 10);
            if line % 2 == 0 {
                letter.reason = "no_text".into();
            }
            queue.push(&letter).unwrap();
        }
        queue.push(&delete_record("gone")).unwrap();
        queue.sync().unwrap();
        assert!(
            !sealed_segments(dir.path()).unwrap().is_empty(),
            "the letters fill several segments"
        );
        let summary = summarize(dir.path(), 1_000).unwrap();
        assert_eq!(summary.total, 130, "delete records are not letters");
        assert_eq!(summary.by_reason["no_text"], 65);
        assert_eq!(summary.by_reason["not_json"], 65);
        assert_eq!(summary.latest.len(), MAX_SUMMARY_LETTERS);
        let lines: Vec<u64> = summary.latest.iter().map(|l| l.position.line).collect();
        assert_eq!(lines[..3], [130, 129, 128], "newest first");
        let two = summarize(dir.path(), 2).unwrap();
        assert_eq!(two.latest.len(), 2);
        assert_eq!(two.total, 130);
        let empty = summarize(&dir.path().join("none"), 5).unwrap();
        assert_eq!(empty, Summary::default());
    }

    #[test]
    fn file_queue_rotates_segments_then_refuses_and_replay_takes_them_all() {
        let dir = tempfile::tempdir().unwrap();
        let settings = crate::config::DlqSettings {
            max_file_bytes: 10_000,
            max_files: 3,
            ..Default::default()
        };
        let mut queue = FileQueue::open(dir.path(), &settings).unwrap();
        let mut stored = 0;
        let full = loop {
            match queue.push(&rejection(stored + 1, 4_000)) {
                Ok(()) => stored += 1,
                Err(error) => break error,
            }
            assert!(stored < 100, "the queue never filled");
        };
        queue.sync().unwrap();
        assert!(matches!(full, DlqError::Full { .. }), "{full}");
        assert!(full.to_string().contains("dlq.max_files"), "{full}");
        // Two letters per 10 kB segment, three segments: six letters, none dropped.
        assert_eq!(stored, 6);
        let letters = read_all(dir.path()).unwrap();
        let lines: Vec<u64> = letters.iter().map(|l| l.rejection.position.line).collect();
        assert_eq!(lines, (1..=6).collect::<Vec<_>>(), "oldest first, all kept");
        drop(queue);
        // A reopened queue counts the segments it finds.
        let mut reopened = FileQueue::open(dir.path(), &settings).unwrap();
        assert!(matches!(
            reopened.push(&rejection(7, 4_000)),
            Err(DlqError::Full { .. })
        ));
        drop(reopened);
        let replay = FileReplay::take(dir.path()).unwrap();
        assert_eq!(replay.letters.len(), 6);
        let mut fresh = FileQueue::open(dir.path(), &settings).unwrap();
        fresh.push(&rejection(8, 10)).unwrap();
        fresh.sync().unwrap();
        replay.finish().unwrap();
        let left = read_all(dir.path()).unwrap();
        assert_eq!(
            left.len(),
            1,
            "only the letter pushed after the replay began"
        );
    }
}
