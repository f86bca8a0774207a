//! Free space on the data directory's disk: new work is refused while it is under
//! `limits.min_free_disk_mb`, so the index and the dead-letter queue never fill the disk (a full
//! disk fails commits and can corrupt what other programs write there).

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long one free-space reading is trusted; a reading is one `statvfs` call.
const READING_TTL: Duration = Duration::from_secs(1);

/// Checks free space before work is admitted.
#[derive(Debug)]
pub struct DiskGuard {
    dir: PathBuf,
    min_free_bytes: u64,
    last: Mutex<Option<(Instant, u64)>>,
}

impl DiskGuard {
    pub fn new(dir: PathBuf, min_free_mb: u64) -> DiskGuard {
        DiskGuard {
            dir,
            min_free_bytes: min_free_mb.saturating_mul(1024 * 1024),
            last: Mutex::new(None),
        }
    }

    /// `Err` with a message naming the setting when the disk is too full for new work. A disk
    /// whose free space cannot be read does not block work (the commit would report it).
    pub fn admit(&self) -> Result<(), String> {
        if self.min_free_bytes == 0 {
            return Ok(());
        }
        let mut last = crate::lock(&self.last);
        let free = match *last {
            Some((at, free)) if at.elapsed() < READING_TTL => free,
            _ => match fs4::available_space(&self.dir) {
                Ok(free) => {
                    *last = Some((Instant::now(), free));
                    free
                }
                Err(error) => {
                    tracing::warn!(%error, dir = %self.dir.display(), "cannot read free disk space");
                    return Ok(());
                }
            },
        };
        if free >= self.min_free_bytes {
            return Ok(());
        }
        Err(format!(
            "the disk of {} has {} MiB free, under limits.min_free_disk_mb = {}; new records are refused until space is freed",
            self.dir.display(),
            free / (1024 * 1024),
            self.min_free_bytes / (1024 * 1024)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_only_under_the_threshold() {
        let dir = tempfile::tempdir().unwrap();
        assert!(DiskGuard::new(dir.path().into(), 0).admit().is_ok());
        assert!(DiskGuard::new(dir.path().into(), 1).admit().is_ok());
        let error = DiskGuard::new(dir.path().into(), u64::MAX / (2 << 20))
            .admit()
            .unwrap_err();
        assert!(error.contains("limits.min_free_disk_mb"), "{error}");
    }
}
