//! `glossa plan`: the cluster a target document count needs, sized from what indexing a sample
//! of the operator's own records measured (bytes per document per language, CPU per document),
//! so the answer follows their text rather than a rule of thumb. This module is the arithmetic
//! and the report; the command (`src/bin/glossa/plan.rs`) does the measuring.

use std::fmt;

use thiserror::Error;

/// Shard size aimed at: the middle of OpenSearch's 10-50 GB guidance, so a shard can grow by
/// half before it is too big to move and recover quickly.
pub const TARGET_SHARD_BYTES: f64 = 30e9;
/// Above this a shard is too big to move and recover quickly (OpenSearch's guidance).
pub const MAX_SHARD_BYTES: f64 = 50e9;
/// Below this a shard is not worth having (its fixed heap and file cost dominate).
pub const MIN_SHARD_BYTES: f64 = 10e9;
/// Disk a shard's merges need on top of its size (Lucene rewrites segments before it frees
/// the old ones; the tiered policy merges segments of up to 5 GB).
pub const MERGE_HEADROOM: f64 = 0.2;
/// Share of a node's disk that may hold data: OpenSearch stops allocating shards to a node
/// past its low disk watermark (85%).
pub const DISK_WATERMARK: f64 = 0.85;
/// OpenSearch's guidance on shard count: at most 20 shards per GB of heap.
pub const SHARDS_PER_HEAP_GB: f64 = 20.0;
/// Largest heap worth giving a node (compressed object pointers end just below 32 GB).
pub const MAX_HEAP_GB: u32 = 31;
/// Share of their cores that workers and data nodes are sized to use, leaving room for
/// merges, searches and bursts.
pub const CPU_UTILIZATION: f64 = 0.7;
/// Below this many data nodes the data nodes also hold the cluster-manager role; from it on,
/// three dedicated cluster-manager nodes keep elections off busy data nodes.
pub const DEDICATED_MANAGERS_FROM: u32 = 3;

/// Documents in a segment as the embedded sink writes it (a commit a second at ~6,000
/// records/s, over two indexing threads): the bottom level of the merge tree.
pub const FLUSHED_SEGMENT_DOCS: f64 = 5_000.0;
/// Segments the embedded index merges at once (Tantivy's log merge policy).
const MERGE_FAN_IN: f64 = 8.0;
/// Merge CPU per document, per merge level it goes through, per byte the document takes in
/// the index: fitted to the 1M stage of docs/benchmarks/scale.md's run 2 against a 100,000-record
/// sample (10.6 CPU-s per 100k more for 1.1 more levels at 866 bytes per document), and checked
/// against its 5M and 10M stages.
pub const MERGE_CPU_PER_BYTE_LEVEL: f64 = 0.11e-6;

/// Merge levels the documents of an embedded index of `docs` documents have been rewritten
/// through: the log, base 8, of its size in flushed segments, up to the largest segment a
/// merge writes (eight times `MAX_DOCS_BEFORE_MERGE`); no level is added past it.
pub fn merge_levels(docs: f64) -> f64 {
    let largest = MERGE_FAN_IN * crate::backend::embedded::MAX_DOCS_BEFORE_MERGE as f64;
    (docs.min(largest) / FLUSHED_SEGMENT_DOCS)
        .max(1.0)
        .log(MERGE_FAN_IN)
}

/// A document count from the command line: `100M`, `1.5B`, `250k`, `1e8` or a plain number.
pub fn parse_count(text: &str) -> Result<u64, PlanError> {
    let t = text.trim().replace('_', "");
    let (number, factor) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], 1e3),
        Some('m' | 'M') => (&t[..t.len() - 1], 1e6),
        Some('b' | 'B' | 'g' | 'G') => (&t[..t.len() - 1], 1e9),
        _ => (t.as_str(), 1.0),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| PlanError::Count(text.to_string()))?;
    let count = value * factor;
    if !count.is_finite() || !(1.0..=1e13).contains(&count) {
        return Err(PlanError::Count(text.to_string()));
    }
    Ok(count.round() as u64)
}

/// Why a plan cannot be made.
#[derive(Debug, Error)]
pub enum PlanError {
    #[error("`{0}` is not a document count between 1 and 10 trillion (examples: 100M, 2.5B, 250k, 100000000)")]
    Count(String),
    #[error("the sample produced no indexed document: nothing to measure (is it NDJSON with the configured text fields?)")]
    EmptySample,
    #[error("{0} must be positive")]
    NotPositive(&'static str),
}

/// What indexing the sample measured.
#[derive(Clone, Debug)]
pub struct Measured {
    /// Sample documents indexed.
    pub documents: u64,
    /// Primary bytes on disk for them, and where they were measured ("embedded" or
    /// "opensearch").
    pub index_bytes: u64,
    pub bytes_backend: &'static str,
    /// Bytes attributed to each language (see the command for how), most documents first.
    pub languages: Vec<LanguageBytes>,
    /// CPU seconds per document of language detection alone.
    pub detect_cpu_per_doc: f64,
    /// CPU seconds per document of a Glossa worker feeding a cluster (decode, detect, route,
    /// encode, send), and whether that was measured against a cluster or estimated.
    pub worker_cpu_per_doc: f64,
    pub worker_cpu_measured: bool,
    /// CPU seconds per document copy of indexing in the cluster, and whether OpenSearch
    /// measured it (else the embedded index's own indexing cost stands in).
    pub index_cpu_per_doc: f64,
    pub index_cpu_measured: bool,
    /// The embedded sample run: bytes on disk for its documents, documents per second on
    /// this machine (first record to last acknowledgement) and CPU seconds per document of the
    /// whole process.
    pub embedded_bytes: u64,
    pub embedded_documents: u64,
    pub embedded_rate: f64,
    pub embedded_cpu_per_doc: f64,
}

/// One language's part of the sample.
#[derive(Clone, Debug)]
pub struct LanguageBytes {
    pub lang: String,
    pub documents: u64,
    /// Bytes on disk attributed to this language's documents.
    pub bytes: u64,
}

/// What the cluster must hold and do, and the machines it is built from.
#[derive(Clone, Debug)]
pub struct Targets {
    pub documents: u64,
    pub replicas: u32,
    /// Hours in which the whole target must be ingested (the initial load).
    pub ingest_hours: f64,
    pub node: NodeShape,
    /// Cores of one Glossa worker process.
    pub worker_cores: u32,
}

/// One data node.
#[derive(Clone, Debug)]
pub struct NodeShape {
    pub cores: u32,
    pub memory_gb: u32,
    pub disk_gb: u32,
}

/// The sizing.
#[derive(Clone, Debug)]
pub struct Plan {
    pub targets: Targets,
    pub measured: Measured,
    pub bytes_per_doc: f64,
    pub primary_bytes: f64,
    pub primary_shards: u32,
    pub shard_bytes: f64,
    /// Primaries and replicas.
    pub stored_bytes: f64,
    /// Disk to provision in steady state (merge headroom, watermark), and while a reindex
    /// holds a second full version of the index.
    pub disk_bytes: f64,
    pub reindex_disk_bytes: f64,
    pub data_nodes: u32,
    /// Which need set the data-node count.
    pub data_nodes_bound: &'static str,
    pub heap_gb: u32,
    pub cluster_managers: u32,
    /// Documents per second the ingest target needs.
    pub ingest_rate: f64,
    pub workers: u32,
    pub kafka_partitions: u32,
    /// Documents per second and hours of one full reindex with the planned workers and nodes
    /// (`--bulk-load`: no replicas while copying).
    pub reindex_rate: f64,
    pub reindex_hours: f64,
    /// The same target on the embedded backend on this machine: bytes by linear
    /// extrapolation; CPU per document with the merge levels the larger index adds
    /// ([`merge_levels`]), on as many cores as the sample run used.
    pub embedded_bytes: f64,
    pub embedded_cpu_per_doc: f64,
    pub embedded_hours: f64,
}

/// Sizes a cluster for `targets` from `measured`.
pub fn plan(measured: &Measured, targets: &Targets) -> Result<Plan, PlanError> {
    if measured.documents == 0 || measured.index_bytes == 0 {
        return Err(PlanError::EmptySample);
    }
    if targets.ingest_hours.is_nan() || targets.ingest_hours <= 0.0 {
        return Err(PlanError::NotPositive("--ingest-hours"));
    }
    if targets.node.cores == 0 || targets.node.memory_gb == 0 || targets.node.disk_gb == 0 {
        return Err(PlanError::NotPositive("every node dimension"));
    }
    if targets.worker_cores == 0 {
        return Err(PlanError::NotPositive("--worker-cores"));
    }
    let n = targets.documents as f64;
    let copies = 1.0 + f64::from(targets.replicas);
    let bytes_per_doc = measured.index_bytes as f64 / measured.documents as f64;
    let primary_bytes = n * bytes_per_doc;
    let by_size = (primary_bytes / TARGET_SHARD_BYTES).ceil().max(1.0) as u32;

    let stored_bytes = primary_bytes * copies;
    let disk_bytes = stored_bytes * (1.0 + MERGE_HEADROOM) / DISK_WATERMARK;
    let reindex_disk_bytes = 2.0 * disk_bytes;
    let heap_gb = (targets.node.memory_gb / 2).clamp(1, MAX_HEAP_GB);
    let ingest_rate = n / (targets.ingest_hours * 3600.0);

    let node_disk = f64::from(targets.node.disk_gb) * 1e9;
    let node_cpu = f64::from(targets.node.cores) * CPU_UTILIZATION;
    let for_disk = (reindex_disk_bytes / node_disk).ceil() as u32;
    // Shards of both versions during a reindex, replicas included.
    let shards = f64::from(by_size) * copies * 2.0;
    let for_shards = (shards / (f64::from(heap_gb) * SHARDS_PER_HEAP_GB)).ceil() as u32;
    let for_cpu = (ingest_rate * measured.index_cpu_per_doc * copies / node_cpu).ceil() as u32;
    let for_replicas = targets.replicas + 1;
    let (data_nodes, data_nodes_bound) = [
        (for_disk, "disk (both index versions during a reindex)"),
        (for_cpu, "indexing CPU for the ingest target"),
        (for_shards, "shards per GB of heap"),
        (for_replicas, "one node per copy of each shard"),
    ]
    .into_iter()
    .max_by_key(|(count, _)| *count)
    .map(|(count, bound)| (count.max(1), bound))
    .unwrap_or((1, "disk"));
    // Spread the primaries over every node when the shards stay big enough to be worth it.
    let primary_shards =
        if by_size < data_nodes && primary_bytes / f64::from(data_nodes) >= MIN_SHARD_BYTES {
            data_nodes
        } else {
            by_size
        };
    let cluster_managers = if data_nodes >= DEDICATED_MANAGERS_FROM {
        3
    } else {
        0
    };

    let worker_cpu = f64::from(targets.worker_cores) * CPU_UTILIZATION;
    let workers = (ingest_rate * measured.worker_cpu_per_doc / worker_cpu)
        .ceil()
        .max(1.0) as u32;
    let kafka_partitions = (workers * 2).max(6);
    let workers_rate = f64::from(workers) * worker_cpu / measured.worker_cpu_per_doc.max(1e-9);
    let cluster_rate = f64::from(data_nodes) * node_cpu / measured.index_cpu_per_doc.max(1e-9);
    let reindex_rate = workers_rate.min(cluster_rate);
    let embedded_documents = measured.embedded_documents.max(1) as f64;
    let embedded_bytes_per_doc = measured.embedded_bytes as f64 / embedded_documents;
    let added_levels = (merge_levels(n) - merge_levels(embedded_documents)).max(0.0);
    let embedded_cpu_per_doc = measured.embedded_cpu_per_doc
        + MERGE_CPU_PER_BYTE_LEVEL * embedded_bytes_per_doc * added_levels;
    let cores_used = measured.embedded_cpu_per_doc * measured.embedded_rate;
    Ok(Plan {
        targets: targets.clone(),
        measured: measured.clone(),
        bytes_per_doc,
        primary_bytes,
        primary_shards,
        shard_bytes: primary_bytes / f64::from(primary_shards),
        stored_bytes,
        disk_bytes,
        reindex_disk_bytes,
        data_nodes,
        data_nodes_bound,
        heap_gb,
        cluster_managers,
        ingest_rate,
        workers,
        kafka_partitions,
        reindex_rate,
        reindex_hours: n / reindex_rate / 3600.0,
        embedded_bytes: n * embedded_bytes_per_doc,
        embedded_cpu_per_doc,
        embedded_hours: n * embedded_cpu_per_doc / cores_used.max(1e-9) / 3600.0,
    })
}

/// Bytes as GB or TB (decimal, as disks are sold).
fn size(bytes: f64) -> String {
    if bytes >= 1e12 {
        format!("{:.2} TB", bytes / 1e12)
    } else if bytes >= 1e9 {
        format!("{:.1} GB", bytes / 1e9)
    } else {
        format!("{:.1} MB", bytes / 1e6)
    }
}

fn hours(h: f64) -> String {
    if h >= 48.0 {
        format!("{:.1} days", h / 24.0)
    } else if h >= 1.0 {
        format!("{h:.1} h")
    } else {
        format!("{:.0} min", (h * 60.0).max(1.0))
    }
}

fn measured_or(measured: bool) -> &'static str {
    if measured {
        "measured"
    } else {
        "estimated"
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.measured;
        let t = &self.targets;
        let n = t.documents as f64;
        writeln!(f, "Sample: {} documents", m.documents)?;
        writeln!(
            f,
            "  {:.0} bytes per document on disk ({}); detection {:.0} µs of CPU per document",
            self.bytes_per_doc,
            m.bytes_backend,
            m.detect_cpu_per_doc * 1e6
        )?;
        writeln!(
            f,
            "  worker {:.0} µs of CPU per document ({}); cluster indexing {:.0} µs per document copy ({})",
            m.worker_cpu_per_doc * 1e6,
            measured_or(m.worker_cpu_measured),
            m.index_cpu_per_doc * 1e6,
            if m.index_cpu_measured {
                "measured on OpenSearch"
            } else {
                "the embedded index's, as an estimate: run with --backend opensearch to measure"
            }
        )?;
        writeln!(
            f,
            "\nPer language (share of the sample, projected to {} documents):",
            t.documents
        )?;
        writeln!(
            f,
            "  {:<8} {:>9} {:>7} {:>10} {:>12}",
            "lang", "documents", "share", "bytes/doc", "projected"
        )?;
        for l in &m.languages {
            let share = l.documents as f64 / m.documents as f64;
            let per_doc = l.bytes as f64 / l.documents.max(1) as f64;
            // Attributed bytes are scaled to the measuring backend's total.
            let scale = m.index_bytes as f64 / m.embedded_bytes.max(1) as f64;
            writeln!(
                f,
                "  {:<8} {:>9} {:>6.1}% {:>10.0} {:>12}",
                l.lang,
                l.documents,
                share * 100.0,
                per_doc * scale,
                size(n * share * per_doc * scale)
            )?;
        }
        writeln!(
            f,
            "\nIndex ({} documents, {} replica(s)):",
            t.documents, t.replicas
        )?;
        writeln!(f, "  primary data        {}", size(self.primary_bytes))?;
        writeln!(
            f,
            "  primary shards      {} per index version, {} each (aim {}, {}-{} GB)",
            self.primary_shards,
            size(self.shard_bytes),
            size(TARGET_SHARD_BYTES),
            MIN_SHARD_BYTES / 1e9,
            MAX_SHARD_BYTES / 1e9
        )?;
        writeln!(f, "  with replicas       {}", size(self.stored_bytes))?;
        writeln!(
            f,
            "  disk to provision   {} steady, {} during a reindex (+{:.0}% merges, {:.0}% watermark)",
            size(self.disk_bytes),
            size(self.reindex_disk_bytes),
            MERGE_HEADROOM * 100.0,
            DISK_WATERMARK * 100.0
        )?;
        writeln!(f, "\nCluster:")?;
        writeln!(
            f,
            "  data nodes          {} x ({} cores, {} GB memory, {} GB disk), set by {}",
            self.data_nodes, t.node.cores, t.node.memory_gb, t.node.disk_gb, self.data_nodes_bound
        )?;
        writeln!(
            f,
            "  heap                {} GB per data node (half the memory, at most {})",
            self.heap_gb, MAX_HEAP_GB
        )?;
        if self.cluster_managers > 0 {
            writeln!(
                f,
                "  cluster managers    {} dedicated (2-4 cores, 8 GB memory each)",
                self.cluster_managers
            )?;
        } else {
            writeln!(
                f,
                "  cluster managers    none dedicated: the data nodes hold the role"
            )?;
        }
        writeln!(
            f,
            "\nIngest ({} documents in {}):",
            t.documents,
            hours(t.ingest_hours)
        )?;
        writeln!(
            f,
            "  rate needed         {:.0} documents/s",
            self.ingest_rate
        )?;
        writeln!(
            f,
            "  Glossa workers      {} x {} cores (at {:.0}% CPU)",
            self.workers,
            t.worker_cores,
            CPU_UTILIZATION * 100.0
        )?;
        writeln!(
            f,
            "  Kafka partitions    {} (twice the workers: room to double them without repartitioning)",
            self.kafka_partitions
        )?;
        writeln!(
            f,
            "  one full reindex    {} at {:.0} documents/s (--bulk-load: no replicas while copying)",
            hours(self.reindex_hours),
            self.reindex_rate
        )?;
        writeln!(
            f,
            "\nEmbedded backend on this machine (one process, from empty):"
        )?;
        writeln!(
            f,
            "  index size {}, ingest time {} at {:.0} documents/s ({:.1} CPU-s per 100k; the sample: {:.1} at {:.0}/s)",
            size(self.embedded_bytes),
            hours(self.embedded_hours),
            n / (self.embedded_hours * 3600.0).max(1e-9),
            self.embedded_cpu_per_doc * 1e5,
            m.embedded_cpu_per_doc * 1e5,
            m.embedded_rate
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured() -> Measured {
        Measured {
            documents: 100_000,
            index_bytes: 100_000 * 1_000,
            bytes_backend: "embedded",
            languages: vec![LanguageBytes {
                lang: "en".into(),
                documents: 100_000,
                bytes: 100_000 * 1_000,
            }],
            detect_cpu_per_doc: 50e-6,
            worker_cpu_per_doc: 100e-6,
            worker_cpu_measured: false,
            index_cpu_per_doc: 150e-6,
            index_cpu_measured: false,
            embedded_bytes: 100_000 * 1_000,
            embedded_documents: 100_000,
            embedded_rate: 10_000.0,
            embedded_cpu_per_doc: 200e-6,
        }
    }

    fn targets(documents: u64) -> Targets {
        Targets {
            documents,
            replicas: 1,
            ingest_hours: 24.0,
            node: NodeShape {
                cores: 8,
                memory_gb: 64,
                disk_gb: 2000,
            },
            worker_cores: 2,
        }
    }

    #[test]
    fn merge_levels_grow_with_the_log_of_the_index_up_to_the_largest_merge() {
        assert_eq!(merge_levels(1_000.0), 0.0);
        assert!((merge_levels(FLUSHED_SEGMENT_DOCS * 64.0) - 2.0).abs() < 1e-9);
        assert_eq!(merge_levels(1e8), merge_levels(1e10));
        assert!(merge_levels(1e6) < merge_levels(2e6));
    }

    #[test]
    fn counts_take_suffixes_and_refuse_nonsense() {
        assert_eq!(parse_count("100M").unwrap(), 100_000_000);
        assert_eq!(parse_count("2.5b").unwrap(), 2_500_000_000);
        assert_eq!(parse_count("250k").unwrap(), 250_000);
        assert_eq!(parse_count("1e8").unwrap(), 100_000_000);
        assert_eq!(parse_count("10_000").unwrap(), 10_000);
        for bad in ["", "M", "-5", "0", "many", "1e20", "NaN"] {
            assert!(parse_count(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_hundred_million_kilobyte_documents() {
        let p = plan(&measured(), &targets(100_000_000)).unwrap();
        // 100 GB of primaries: four shards of 25 GB.
        assert!((p.primary_bytes - 100e9).abs() < 1.0);
        assert_eq!(p.primary_shards, 4);
        assert!((p.shard_bytes - 25e9).abs() < 1.0);
        // Two copies, +20% merges, /0.85: 282 GB; twice that during a reindex.
        assert!((p.disk_bytes - 200e9 * 1.2 / 0.85).abs() < 1e3);
        assert!((p.reindex_disk_bytes - 2.0 * p.disk_bytes).abs() < 1e3);
        // 1,157 documents/s; workers: 1157 * 100 µs / (2 * 0.7) = 0.08 -> 1.
        assert_eq!(p.workers, 1);
        assert_eq!(p.kafka_partitions, 6);
        // One node per copy bounds it here; no dedicated managers below three nodes.
        assert_eq!(p.data_nodes, 2);
        assert_eq!(p.cluster_managers, 0);
        assert_eq!(p.heap_gb, 31);
        // Bytes are linear in the sample's; CPU per document gains the merge levels between
        // 100,000 and 100M documents (capped at the largest merge), at the sample's 2 cores.
        assert!((p.embedded_bytes - 100e9).abs() < 1.0);
        let levels = merge_levels(100e6) - merge_levels(100e3);
        assert!(levels > 0.5 && levels < 2.0, "{levels}");
        let cpu = 200e-6 + MERGE_CPU_PER_BYTE_LEVEL * 1_000.0 * levels;
        assert!((p.embedded_cpu_per_doc - cpu).abs() < 1e-12);
        assert!((p.embedded_hours - 100e6 * cpu / 2.0 / 3600.0).abs() < 1e-9);
    }

    #[test]
    fn the_tightest_need_sets_the_node_count() {
        // Ten billion documents in 10 hours: disk and CPU both grow; the larger wins.
        let mut t = targets(10_000_000_000);
        t.ingest_hours = 10.0;
        let p = plan(&measured(), &t).unwrap();
        let rate: f64 = 10e9 / 36_000.0;
        let for_cpu = (rate * 150e-6 * 2.0 / (8.0 * 0.7)).ceil() as u32;
        let for_disk = (p.reindex_disk_bytes / 2000e9).ceil() as u32;
        assert_eq!(p.data_nodes, for_cpu.max(for_disk));
        assert_eq!(p.cluster_managers, 3);
        // Workers scale with the rate: 277,778/s * 100 µs / 1.4 cores.
        assert_eq!(p.workers, (rate * 100e-6 / 1.4).ceil() as u32);
        assert_eq!(p.kafka_partitions, p.workers * 2);
        // Shards stay within the guidance.
        assert!(p.shard_bytes <= MAX_SHARD_BYTES && p.shard_bytes >= MIN_SHARD_BYTES);
        // The reindex runs at the slower of workers and cluster, without replicas.
        let workers_rate = f64::from(p.workers) * 1.4 / 100e-6;
        let cluster_rate = f64::from(p.data_nodes) * 5.6 / 150e-6;
        assert!((p.reindex_rate - workers_rate.min(cluster_rate)).abs() < 1e-6);
    }

    #[test]
    fn small_targets_keep_one_shard_and_the_report_names_every_part() {
        let p = plan(&measured(), &targets(1_000_000)).unwrap();
        assert_eq!(p.primary_shards, 1);
        let report = p.to_string();
        for part in [
            "primary shards",
            "data nodes",
            "heap",
            "cluster managers",
            "Glossa workers",
            "Kafka partitions",
            "one full reindex",
            "Embedded backend",
            "en ",
        ] {
            assert!(report.contains(part), "{part} missing from:\n{report}");
        }
    }

    #[test]
    fn an_empty_sample_or_zero_hours_is_an_error() {
        let mut m = measured();
        m.documents = 0;
        assert!(matches!(plan(&m, &targets(1)), Err(PlanError::EmptySample)));
        let mut t = targets(1);
        t.ingest_hours = 0.0;
        assert!(plan(&measured(), &t).is_err());
    }
}
