//! `glossa compact`: the embedded index's segments merged into a few large ones.

use anyhow::{bail, Result};
use glossa::backend::embedded::{live_index_dir, EmbeddedError, EmbeddedIndex};
use glossa::config::{BackendKind, Config};

pub(crate) fn compact(config: &Config, max_segments: Option<usize>) -> Result<()> {
    if config.backend != BackendKind::Embedded {
        bail!("glossa compact merges the embedded index; on OpenSearch use its _forcemerge API");
    }
    let dir = live_index_dir(&config.data_dir);
    if !dir.join("meta.json").is_file() {
        bail!("no index under {} (nothing ingested yet?)", dir.display());
    }
    let max_segments = max_segments
        .unwrap_or_else(|| config.pipeline.compact_target())
        .max(1);
    let index = EmbeddedIndex::open(&dir, config.text_fields.clone())?;
    let bytes_before = dir_bytes(&dir);
    eprintln!(
        "compacting {} ({:.2} GB) into at most {max_segments} segments...",
        dir.display(),
        gigabytes(bytes_before)
    );
    let started = std::time::Instant::now();
    let done = index.compact(max_segments).map_err(|e| match e {
        EmbeddedError::Tantivy(tantivy::TantivyError::LockFailure(..)) => anyhow::anyhow!(
            "the data directory {} is in use by another Glossa process (serve or ingest); stop it first",
            config.data_dir.display()
        ),
        other => anyhow::Error::new(other).context("compaction failed"),
    })?;
    println!(
        "merged {} segments into {} in {:.1} s ({:.2} GB -> {:.2} GB, {} documents)",
        done.before,
        done.after,
        started.elapsed().as_secs_f64(),
        gigabytes(bytes_before),
        gigabytes(dir_bytes(&dir)),
        index.num_docs()
    );
    Ok(())
}

/// Bytes of the files directly in `dir` (an index directory holds no subdirectories); 0 when
/// it cannot be read, as the figure is only reported.
fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn gigabytes(bytes: u64) -> f64 {
    bytes as f64 / 1e9
}
