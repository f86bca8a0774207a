//! `glossa plan`: index a sample of the operator's records in a scratch embedded index (and,
//! with `--backend opensearch`, a scratch index on the cluster, deleted afterwards), measure
//! bytes and CPU per document, and print the sizing for the target (`glossa::plan`).

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use glossa::backend::SearchBackend;
use glossa::config::{BackendKind, Config};
use glossa::decode::Decoder;
use glossa::detect::{Detector, DetectorConfig};
use glossa::plan::{LanguageBytes, Measured, NodeShape, Targets};
use glossa::service::Service;
use glossa::source::{file, Progress};
use reqwest::Method;
use serde_json::Value;

use crate::args::PlanArgs;

/// A cluster worker's CPU per document over detection's alone, when no cluster run measured
/// it: 118 µs against 84 µs on 100,000 records of `loadtest/real_corpus.py` against a 1-node
/// OpenSearch 2.19 (README, "Sizing").
const WORKER_PER_DETECTION: f64 = 1.4;

/// Below this many sample records the figures are rough; said so in the output.
const SMALL_SAMPLE: u64 = 10_000;

pub(crate) async fn plan(config: Config, args: PlanArgs) -> Result<()> {
    let targets = Targets {
        documents: args.documents,
        replicas: args.replicas,
        ingest_hours: args.ingest_hours,
        node: NodeShape {
            cores: args.node_cores,
            memory_gb: args.node_memory_gb,
            disk_gb: args.node_disk_gb,
        },
        worker_cores: args.worker_cores,
    };
    let scratch = Scratch::new()?;
    let sample = match &args.sample {
        Some(path) => {
            std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
            path.clone()
        }
        None => {
            let path = scratch.dir.join("sample.ndjson");
            std::fs::write(&path, crate::serve::SAMPLE)
                .context("cannot write the bundled sample to the scratch directory")?;
            eprintln!(
                "note: no --sample: sizing from the bundled UDHR sample (744 short records); pass \
                 --sample with 10,000+ records like yours for figures that fit your data"
            );
            path
        }
    };

    eprintln!("indexing the sample into a scratch embedded index...");
    let mut embedded_config = config.clone();
    embedded_config.backend = BackendKind::Embedded;
    embedded_config.data_dir = scratch.dir.join("data");
    embedded_config.sources.clear();
    let embedded = ingest_sample(embedded_config, &sample).await?;
    let SearchBackend::Embedded(index) = &embedded.backend else {
        bail!("the scratch embedded run did not open an embedded index");
    };
    index.refresh()?;
    let fields = index.space_by_field()?;
    let embedded_bytes: u64 = fields.values().sum();
    if embedded.documents == 0 || embedded_bytes == 0 {
        return Err(glossa::plan::PlanError::EmptySample.into());
    }

    eprintln!("timing detection alone...");
    let sample_path = sample.clone();
    let detect_config = config.clone();
    let detection =
        tokio::task::spawn_blocking(move || detect_pass(&detect_config, &sample_path)).await??;
    let languages = attribute(&fields, &detection, &embedded.languages);

    let mut measured = Measured {
        documents: embedded.documents,
        index_bytes: embedded_bytes,
        bytes_backend: "embedded",
        languages,
        detect_cpu_per_doc: detection.cpu_seconds / detection.documents.max(1) as f64,
        // Without a cluster run: detection plus what decoding, routing, encoding and sending
        // add to it (measured against OpenSearch on 100,000 real records: 1.4 times).
        worker_cpu_per_doc: WORKER_PER_DETECTION * detection.cpu_seconds
            / detection.documents.max(1) as f64,
        worker_cpu_measured: false,
        index_cpu_per_doc: ((embedded.cpu_seconds - detection.cpu_seconds).max(0.0))
            / embedded.documents as f64,
        index_cpu_measured: false,
        embedded_bytes,
        embedded_documents: embedded.documents,
        embedded_rate: embedded.documents as f64 / embedded.seconds.max(1e-9),
        embedded_cpu_per_doc: embedded.cpu_seconds / embedded.documents as f64,
    };

    if config.backend == BackendKind::OpenSearch {
        eprintln!("indexing the sample into a scratch index on the cluster...");
        let cluster = cluster_run(&config, &sample, &scratch).await?;
        measured.index_bytes = cluster.primary_bytes;
        measured.bytes_backend = "opensearch primaries";
        measured.documents = cluster.documents;
        measured.worker_cpu_per_doc = cluster.worker_cpu_seconds / cluster.documents as f64;
        measured.worker_cpu_measured = true;
        if let Some(cpu) = cluster.node_cpu_seconds {
            measured.index_cpu_per_doc = cpu / cluster.documents as f64;
            measured.index_cpu_measured = true;
        }
    }
    if measured.documents < SMALL_SAMPLE {
        eprintln!(
            "note: {} sample documents: per-document figures are rough below {SMALL_SAMPLE}",
            measured.documents
        );
    }
    let plan = glossa::plan::plan(&measured, &targets)?;
    println!("{plan}");
    Ok(())
}

/// A scratch directory removed when the command ends, however it ends.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new() -> Result<Scratch> {
        let dir = std::env::temp_dir().join(format!("glossa-plan-{}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create the scratch directory {}", dir.display()))?;
        Ok(Scratch { dir })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One sample ingest: documents, languages, seconds from start to the last acknowledgement,
/// process CPU seconds over the same span, and the backend it wrote to.
struct SampleRun {
    documents: u64,
    languages: BTreeMap<String, u64>,
    seconds: f64,
    cpu_seconds: f64,
    backend: SearchBackend,
}

async fn ingest_sample(config: Config, sample: &Path) -> Result<SampleRun> {
    let chunk = config.pipeline.chunk_records;
    let max_record = config.limits.max_record_bytes;
    let service = tokio::task::spawn_blocking(move || Service::start(config)).await??;
    let backend = service.state.index.clone();
    let cpu_before = process_cpu_seconds();
    let started = Instant::now();
    let result = file::ingest(
        vec![sample.to_string_lossy().into_owned()],
        service.state.pipeline.clone(),
        chunk,
        max_record,
        Arc::new(Progress::default()),
        Arc::new(AtomicBool::new(false)),
    )
    .await;
    // Stopping flushes and commits what is left: part of the cost.
    service.stop().await?;
    let seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = process_cpu_seconds() - cpu_before;
    let outcome = result?;
    Ok(SampleRun {
        documents: outcome.indexed,
        languages: outcome.languages,
        seconds,
        cpu_seconds,
        backend,
    })
}

/// Detection alone over the sample on this thread: CPU seconds, documents, and each
/// language's text bytes (for attributing shared index bytes).
struct DetectionPass {
    documents: u64,
    cpu_seconds: f64,
    text_bytes: BTreeMap<String, u64>,
}

fn detect_pass(config: &Config, sample: &Path) -> Result<DetectionPass> {
    let detector = Detector::new(&DetectorConfig::from_settings(&config.detect))?;
    let decoder = Decoder::new(config.text_fields.clone(), config.limits.max_record_bytes);
    let file =
        std::fs::File::open(sample).with_context(|| format!("cannot read {}", sample.display()))?;
    let (mut documents, mut cpu_seconds) = (0u64, 0.0);
    let mut text_bytes = BTreeMap::new();
    for line in std::io::BufReader::new(file).split(b'\n') {
        let line = line.with_context(|| format!("cannot read {}", sample.display()))?;
        let Ok(record) = decoder.decode(&line) else {
            continue;
        };
        // The text the router detects from; only detection itself is timed.
        let text = glossa::route::detection_sample(&record);
        let before = thread_cpu_seconds();
        let lang = detector.detect(&text).lang;
        cpu_seconds += thread_cpu_seconds() - before;
        documents += 1;
        *text_bytes.entry(lang.to_string()).or_insert(0) += text.len() as u64;
    }
    Ok(DetectionPass {
        documents,
        cpu_seconds,
        text_bytes,
    })
}

/// Each language's bytes: its own `text_xx` field, plus a share of everything else (store,
/// generic field, metadata) in proportion to its text bytes; most documents first.
fn attribute(
    fields: &BTreeMap<String, u64>,
    detection: &DetectionPass,
    documents: &BTreeMap<String, u64>,
) -> Vec<LanguageBytes> {
    let own = |lang: &str| fields.get(&format!("text_{lang}")).copied().unwrap_or(0);
    let languages_own: u64 = documents.keys().map(|l| own(l)).sum();
    let shared = fields.values().sum::<u64>().saturating_sub(languages_own) as f64;
    let all_text: u64 = detection.text_bytes.values().sum();
    let mut out: Vec<LanguageBytes> = documents
        .iter()
        .map(|(lang, n)| {
            let text = detection.text_bytes.get(lang).copied().unwrap_or(0) as f64;
            LanguageBytes {
                lang: lang.clone(),
                documents: *n,
                bytes: own(lang) + (shared * text / all_text.max(1) as f64) as u64,
            }
        })
        .collect();
    out.sort_by(|a, b| b.documents.cmp(&a.documents).then(a.lang.cmp(&b.lang)));
    // A language with a handful of documents is mostly its field's fixed cost: reported
    // together, so no row extrapolates a few documents to millions.
    let total: u64 = out.iter().map(|l| l.documents).sum();
    let floor = (total / 200).max(100);
    let (mut kept, rest): (Vec<_>, Vec<_>) = out.into_iter().partition(|l| l.documents >= floor);
    if !rest.is_empty() {
        kept.push(LanguageBytes {
            lang: format!("{} other", rest.len()),
            documents: rest.iter().map(|l| l.documents).sum(),
            bytes: rest.iter().map(|l| l.bytes).sum(),
        });
    }
    kept
}

/// What the cluster run measured.
struct ClusterRun {
    documents: u64,
    primary_bytes: u64,
    worker_cpu_seconds: f64,
    /// Every node's process CPU over the run (None if the nodes do not report it).
    node_cpu_seconds: Option<f64>,
}

/// Indexes the sample into `<index>-plan-<pid>` on the cluster, measures it, and deletes it
/// whatever happened.
async fn cluster_run(config: &Config, sample: &Path, scratch: &Scratch) -> Result<ClusterRun> {
    let base = format!("{}-plan-{}", config.opensearch.index, std::process::id());
    let client = glossa::backend::opensearch::connect(&config.opensearch)?;
    let mut cluster_config = config.clone();
    cluster_config.opensearch.index = base.clone();
    cluster_config.data_dir = scratch.dir.join("cluster-data");
    cluster_config.sources.clear();
    let cpu_before = node_cpu_seconds(&client).await;
    let measured = async {
        let run = ingest_sample(cluster_config, sample).await?;
        let pattern = format!("{base}-v*");
        client
            .json(Method::POST, &format!("{pattern}/_refresh"), None)
            .await?;
        client
            .json(Method::POST, &format!("{pattern}/_flush"), None)
            .await?;
        let stats = client
            .json(
                Method::GET,
                &format!("{pattern}/_stats/store,docs?filter_path=_all.primaries"),
                None,
            )
            .await?;
        let primaries = &stats["_all"]["primaries"];
        let documents = primaries["docs"]["count"].as_u64().unwrap_or(0);
        let primary_bytes = primaries["store"]["size_in_bytes"].as_u64().unwrap_or(0);
        if documents == 0 || primary_bytes == 0 {
            bail!("the scratch index {pattern} holds no documents after the sample was indexed");
        }
        Ok::<_, anyhow::Error>((run, documents, primary_bytes))
    }
    .await;
    let cpu_after = node_cpu_seconds(&client).await;
    let deleted = client
        .json(Method::DELETE, &format!("{base}-v*"), None)
        .await
        .with_context(|| format!("cannot delete the scratch index {base}-v*: delete it by hand"));
    let (run, documents, primary_bytes) = measured?;
    deleted?;
    Ok(ClusterRun {
        documents,
        primary_bytes,
        worker_cpu_seconds: run.cpu_seconds,
        node_cpu_seconds: cpu_before.zip(cpu_after).map(|(a, b)| (b - a).max(0.0)),
    })
}

/// The sum over the cluster's nodes of their process CPU seconds so far.
async fn node_cpu_seconds(client: &glossa::backend::opensearch::client::Client) -> Option<f64> {
    let stats: Value = client
        .json(
            Method::GET,
            "_nodes/stats/process?filter_path=nodes.*.process.cpu.total_in_millis",
            None,
        )
        .await
        .ok()?;
    let nodes = stats["nodes"].as_object()?;
    let millis: u64 = nodes
        .values()
        .filter_map(|n| n["process"]["cpu"]["total_in_millis"].as_u64())
        .sum();
    Some(millis as f64 / 1000.0)
}

/// CPU seconds of this process so far, every thread (user and system).
fn process_cpu_seconds() -> f64 {
    // SAFETY: getrusage writes only into the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0.0;
    }
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// CPU seconds of the calling thread so far.
fn thread_cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes only into the struct it is given.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return 0.0;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}
