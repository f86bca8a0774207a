//! Where an S3 job stands, kept small whatever the number of objects: a watermark key (every
//! object at or before it is done, listings restart after it), the few objects finished past it
//! out of order, and the position inside each object in progress.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The durable part: written atomically after progress, read at start.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The source this checkpoint belongs to, for people reading the file.
    pub source: String,
    /// Every object of this worker whose key sorts at or before this one is done.
    pub done_through: Option<String>,
    /// Objects finished after `done_through` (several objects are read in parallel).
    pub done_after: BTreeSet<String>,
    /// Objects started and not finished: where to resume each.
    pub partial: BTreeMap<String, Partial>,
}

/// How far an object was read and acknowledged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Partial {
    /// The object version this position belongs to; a changed object is read from its start.
    pub e_tag: Option<String>,
    pub size: u64,
    /// Compressed objects resume by skipping lines, plain ones by a ranged read.
    pub gzip: bool,
    /// Last line acknowledged (0: none yet).
    pub line: u64,
    /// Byte offset just after that line (plain objects).
    pub offset: u64,
}

/// A checkpoint file plus the in-memory order of the objects started since the job began.
pub struct CheckpointFile {
    path: PathBuf,
    pub state: Checkpoint,
    /// Keys started in listing order and not yet folded into `done_through`.
    window: VecDeque<String>,
}

impl CheckpointFile {
    /// Loads the checkpoint at `path`, or starts a fresh one.
    pub fn load(path: PathBuf, source: &str) -> std::io::Result<CheckpointFile> {
        let state = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "checkpoint {} is not valid ({e}); delete it or run with --force",
                        path.display()
                    ),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Checkpoint {
                source: source.to_string(),
                ..Checkpoint::default()
            },
            Err(e) => return Err(e),
        };
        Ok(CheckpointFile {
            path,
            state,
            window: VecDeque::new(),
        })
    }

    /// True when `key` needs no reading: at or before the watermark, or finished past it.
    pub fn is_done(&self, key: &str) -> bool {
        self.state
            .done_through
            .as_deref()
            .is_some_and(|through| key <= through)
            || self.state.done_after.contains(key)
    }

    /// Notes that `key` (the next key in listing order) is being read.
    pub fn started(&mut self, key: &str) {
        self.window.push_back(key.to_string());
    }

    /// Objects started and not yet folded into the watermark (bounds the listing's lead).
    pub fn window_len(&self) -> usize {
        self.window.len()
    }

    /// Records how far `key` has been acknowledged.
    pub fn advanced(&mut self, key: &str, partial: Partial) {
        self.state.partial.insert(key.to_string(), partial);
    }

    /// Marks `key` done and moves the watermark over every finished object at the window's front.
    pub fn finished(&mut self, key: &str) {
        self.state.partial.remove(key);
        self.state.done_after.insert(key.to_string());
        while let Some(front) = self.window.front() {
            if !self.state.done_after.remove(front) {
                break;
            }
            self.state.done_through = self.window.pop_front();
        }
        if let Some(through) = self.state.done_through.clone() {
            self.state.done_after = self.state.done_after.split_off(&through);
            self.state.done_after.remove(&through);
        }
    }

    /// Writes the checkpoint atomically (temporary file, fsync, rename).
    pub fn save(&self) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = self.path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(&self.state).map_err(std::io::Error::other)?;
        {
            use std::io::Write;
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)
    }
}

/// The checkpoint file of one worker's share of one source, under the data directory.
pub fn path_for(data_dir: &Path, source: &str, worker_index: u32, worker_count: u32) -> PathBuf {
    let id = blake3::hash(format!("{source}#{worker_index}/{worker_count}").as_bytes());
    data_dir
        .join("checkpoints")
        .join(format!("s3-{}.json", &id.to_hex()[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watermark_moves_only_over_a_finished_prefix() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("c.json");
        let mut progress = CheckpointFile::load(path.clone(), "s3://b/p").expect("fresh");
        for key in ["a", "b", "c"] {
            progress.started(key);
        }
        progress.finished("b");
        assert_eq!(progress.state.done_through, None);
        assert!(progress.is_done("b") && !progress.is_done("a"));
        progress.advanced(
            "a",
            Partial {
                e_tag: None,
                size: 10,
                gzip: false,
                line: 3,
                offset: 7,
            },
        );
        progress.save().expect("save");
        // A restart sees b done and a's position.
        let reloaded = CheckpointFile::load(path.clone(), "s3://b/p").expect("reload");
        assert!(reloaded.is_done("b"));
        assert_eq!(reloaded.state.partial["a"].line, 3);
        progress.finished("a");
        assert_eq!(progress.state.done_through.as_deref(), Some("b"));
        assert!(progress.state.done_after.is_empty() && progress.state.partial.is_empty());
        assert_eq!(progress.window_len(), 1);
        progress.finished("c");
        assert_eq!(progress.state.done_through.as_deref(), Some("c"));
        assert!(progress.is_done("a") && !progress.is_done("d"));
    }
}
