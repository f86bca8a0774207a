//! Reindex jobs on the real OpenSearch cluster of `scripts/test.sh`: a reindex that changes the
//! language set while ingest goes on, and a killed job that resumes, swaps, rolls back and is
//! cleaned up. The jobs run as the real `glossa reindex` binary.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::*;
use crate::opensearch::{cluster_get, cluster_urls, opensearch_config, start};

/// `n` records in German, English and French, ids `{prefix}-{i}`; German ones have `i % 3 == 0`.
fn records(prefix: &str, range: std::ops::Range<usize>) -> String {
    let mut out = String::new();
    for i in range {
        let body = match i % 3 {
            0 => format!("Die Kinder spielen jeden Nachmittag in den Gärten hinter den alten Häusern der Stadt, Nummer {i}."),
            1 => format!("The children were playing in the gardens behind the old houses of the town, number {i}."),
            _ => format!("Les enfants jouaient dans les jardins derrière les vieilles maisons de la ville, numéro {i}."),
        };
        out.push_str(
            &json!({"id": format!("{prefix}-{i}"), "body": body, "year": 2000 + i % 20})
                .to_string(),
        );
        out.push('\n');
    }
    out
}

/// A config file for the `glossa` binary: the test's cluster settings, with `edit` applied.
fn reindex(config: &str, args: &[&str]) -> std::process::Output {
    glossa()
        .args(["--config", config, "reindex"])
        .args(args)
        .output()
        .expect("run glossa reindex")
}

fn text(output: &std::process::Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The physical index each alias points at.
async fn alias_target(alias: &str) -> String {
    let answer = cluster_get(&format!("_alias/{alias}")).await;
    let indices: Vec<&String> = answer.as_object().expect("alias answer").keys().collect();
    assert_eq!(indices.len(), 1, "{alias} points at {answer}");
    indices[0].clone()
}

/// How many of `ids` the index (or alias) holds, after a refresh.
async fn count_ids(index: &str, ids: &BTreeSet<String>) -> u64 {
    let client = reqwest::Client::new();
    let base = &cluster_urls()[0];
    client
        .post(format!("{base}/{index}/_refresh"))
        .send()
        .await
        .expect("refresh");
    let ids: Vec<&String> = ids.iter().collect();
    let answer: Value = client
        .post(format!("{base}/{index}/_count"))
        .json(&json!({"query": {"ids": {"values": ids}}}))
        .send()
        .await
        .expect("count")
        .json()
        .await
        .expect("count JSON");
    answer["count"].as_u64().expect("count")
}

async fn stored(index: &str, id: &str) -> Value {
    cluster_get(&format!("{index}/_doc/{id}")).await["_source"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the OpenSearch cluster of scripts/test.sh"]
async fn reindex_during_live_ingest_redetects_verifies_swaps_and_keeps_every_write() {
    let dir = tempdir();
    // Version 1 knows English and French only: the German records get another language.
    let mut old = opensearch_config(dir.path(), "reindex-live");
    old.detect.languages = vec!["en".into(), "fr".into()];
    let index = old.opensearch.index.clone();
    let server = start(old.clone()).await;
    let initial = records("doc", 0..3000);
    let (status, answer) = server.post(initial.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"], 3000, "{answer}");
    assert_ne!(stored(&format!("{index}-v1"), "doc-0").await["lang"], "de");

    // Live ingest goes on through the write alias for the whole job, and after it.
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let writing = Arc::new(AtomicBool::new(true));
    let writer = {
        let acknowledged = acknowledged.clone();
        let writing = writing.clone();
        let base = server.base.clone();
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut next = 0;
            while writing.load(Ordering::Relaxed) {
                let batch = records("live", next..next + 20);
                let response = client
                    .post(format!("{base}/v1/documents"))
                    .header("content-type", "application/x-ndjson")
                    .body(batch)
                    .send()
                    .await
                    .expect("live ingest");
                if response.status().as_u16() == 200 {
                    let answer: Value = response.json().await.expect("JSON");
                    assert_eq!(answer["accepted"], 20, "{answer}");
                    let mut acked = acknowledged.lock().expect("lock");
                    acked.extend((next..next + 20).map(|i| format!("live-{i}")));
                    next += 20;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };

    // The job: every language, languages detected again, a saved query.
    let config = config_file(dir.path(), &old, |c| {
        c.detect.languages = Vec::new();
        c.reindex.settle_seconds = 2;
        // Live records here are acknowledged within a second of their ingest time.
        c.reindex.catch_up_margin_seconds = 20;
    });
    let job = tokio::task::spawn_blocking(move || {
        reindex(
            &config,
            &["start", "--redetect", "--slices", "3", "--query", "Kinder"],
        )
    })
    .await
    .expect("reindex task");
    assert!(job.status.success(), "{}", text(&job));
    let stdout = String::from_utf8_lossy(&job.stdout);
    assert!(stdout.contains("verification PASSED"), "{}", text(&job));
    assert!(stdout.contains("Swapped"), "{}", text(&job));

    // Writes after the swap land in the new version through the same alias.
    tokio::time::sleep(Duration::from_secs(1)).await;
    writing.store(false, Ordering::Relaxed);
    writer.await.expect("writer");
    server.stop().await;

    let v2 = format!("{index}-v2");
    assert_eq!(alias_target(&index).await, v2);
    assert_eq!(alias_target(&format!("{index}-write")).await, v2);
    let live = acknowledged.lock().expect("lock").clone();
    assert!(
        live.len() >= 40,
        "the live writer barely wrote: {}",
        live.len()
    );
    let mut every = fixture_like_ids("doc", 3000);
    every.extend(live.iter().cloned());
    assert_eq!(
        count_ids(&index, &every).await,
        every.len() as u64,
        "a document written before or during the reindex is missing from the new version"
    );

    // The new analysis: German records are German now and found by inflected forms.
    assert_eq!(stored(&v2, "doc-0").await["lang"], "de");
    let mut new = old.clone();
    new.detect.languages = Vec::new();
    let server = start(new).await;
    let answer = server
        .search(&[("q", "Haus"), ("lang", "de"), ("size", "5")])
        .await;
    assert!(
        answer["total"].as_u64().unwrap_or(0) >= 1000,
        "German stemming does not find the copied German records: {answer}"
    );
    server.stop().await;
}

fn fixture_like_ids(prefix: &str, n: usize) -> BTreeSet<String> {
    (0..n).map(|i| format!("{prefix}-{i}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the OpenSearch cluster of scripts/test.sh"]
async fn reindex_killed_midway_resumes_within_its_rate_then_swaps_rolls_back_and_cleans_up() {
    let dir = tempdir();
    let base = opensearch_config(dir.path(), "reindex-resume");
    let index = base.opensearch.index.clone();
    let server = start(base.clone()).await;
    let (status, answer) = server.post(records("doc", 0..4000)).await;
    assert_eq!(status, 200, "{answer}");
    server.stop().await;
    let config = config_file(dir.path(), &base, |c| {
        c.reindex.settle_seconds = 1;
        c.reindex.catch_up_margin_seconds = 5;
    });
    let v1 = format!("{index}-v1");
    let v2 = format!("{index}-v2");
    let job_url = format!("{index}-reindex-jobs/_doc/{v2}");

    // Killed (SIGKILL: no chance to save anything) once a checkpoint shows progress.
    let mut child = Running(
        glossa()
            .args(["--config", &config, "reindex", "start", "--rate", "400"])
            .args(["--slices", "2", "--no-swap"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn reindex"),
    );
    let mut checkpointed = 0;
    for _ in 0..600 {
        checkpointed = cluster_get(&job_url).await["_source"]["copied"]
            .as_u64()
            .unwrap_or(0);
        if checkpointed >= 400 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(checkpointed >= 400, "no checkpoint with progress appeared");
    child.0.kill().expect("kill -9");
    let _ = child.0.wait();
    let job = cluster_get(&job_url).await["_source"].clone();
    assert_eq!(job["phase"], "copying", "{job}");
    assert!(job["copied"].as_u64().unwrap_or(0) < 4000, "{job}");

    // Resumed from the checkpoint, to a verified new version; the aliases have not moved.
    let resumed = reindex(&config, &["resume"]);
    assert!(resumed.status.success(), "{}", text(&resumed));
    assert!(
        String::from_utf8_lossy(&resumed.stdout).contains("verification PASSED"),
        "{}",
        text(&resumed)
    );
    let ids = fixture_like_ids("doc", 4000);
    assert_eq!(count_ids(&v2, &ids).await, 4000);
    assert_eq!(alias_target(&index).await, v1);
    let job = cluster_get(&job_url).await["_source"].clone();
    assert_eq!(job["phase"], "verified", "{job}");
    // The limit held: copied documents over copy time (both runs) stays under it, with room
    // for the first page of each run, which the limiter lets through at once.
    let copied: u64 = job["slices"]
        .as_array()
        .expect("slices")
        .iter()
        .map(|s| s["copied"].as_u64().unwrap_or(0))
        .sum();
    let rate = copied as f64 / job["copy_seconds"].as_f64().expect("copy_seconds");
    assert!(copied >= 4000, "{job}");
    assert!(
        rate <= 400.0 * 1.5,
        "copied at {rate:.0} documents/s with --rate 400"
    );
    // Settings restored after the bulk load of the new version.
    // Verification compared documents copied long enough ago to be stable.
    assert_eq!(job["verification"]["sampled"], 200, "{job}");
    assert_eq!(job["verification"]["changed_meanwhile"], 0, "{job}");
    let settings = cluster_get(&format!("{v2}/_settings")).await;
    assert_ne!(
        settings[&v2]["settings"]["index"]["refresh_interval"], "-1",
        "{settings}"
    );

    let swapped = reindex(&config, &["swap"]);
    assert!(swapped.status.success(), "{}", text(&swapped));
    assert_eq!(alias_target(&index).await, v2);
    assert_eq!(alias_target(&format!("{index}-write")).await, v2);

    let rolled_back = reindex(&config, &["rollback"]);
    assert!(rolled_back.status.success(), "{}", text(&rolled_back));
    assert_eq!(alias_target(&index).await, v1);
    assert_eq!(alias_target(&format!("{index}-write")).await, v1);
    let status = reindex(&config, &["status"]);
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("RolledBack"),
        "{}",
        text(&status)
    );

    // The rolled-back version is not live any more: cleanup deletes it, never the live one.
    let cleanup = reindex(&config, &["cleanup", "--keep", "0"]);
    assert!(cleanup.status.success(), "{}", text(&cleanup));
    assert!(
        String::from_utf8_lossy(&cleanup.stdout).contains(&format!("deleted {v2}")),
        "{}",
        text(&cleanup)
    );
    assert_eq!(count_ids(&index, &ids).await, 4000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the OpenSearch cluster of scripts/test.sh"]
async fn reindex_into_mappings_that_refuse_documents_dead_letters_them_and_fails_verification() {
    let dir = tempdir();
    let base = opensearch_config(dir.path(), "reindex-refused");
    let index = base.opensearch.index.clone();
    let server = start(base.clone()).await;
    // Half the records carry metadata, half only text.
    let mut lines = records("doc", 0..200);
    lines.push_str(
        &(0..200)
            .map(|i| json!({"id": format!("plain-{i}"), "body": format!("Plain text record number {i} about gardens.")}).to_string() + "\n")
            .collect::<String>(),
    );
    let (status, answer) = server.post(lines).await;
    assert_eq!(status, 200, "{answer}");
    server.stop().await;
    // The new mappings refuse any metadata field.
    let mut body: Value = serde_json::from_str(include_str!("../../mappings/glossa-index.json"))
        .expect("mappings JSON");
    body["mappings"]["properties"]["meta"]["dynamic"] = json!("strict");
    let mappings = dir.path().join("strict.json");
    std::fs::write(&mappings, body.to_string()).expect("write mappings");
    let config = config_file(dir.path(), &base, |c| {
        c.reindex.settle_seconds = 1;
        c.reindex.catch_up_margin_seconds = 1;
    });
    tokio::time::sleep(Duration::from_secs(2)).await;

    let job = reindex(
        &config,
        &["start", "--mappings", &mappings.display().to_string()],
    );
    assert!(!job.status.success(), "{}", text(&job));
    let stdout = String::from_utf8_lossy(&job.stdout);
    assert!(stdout.contains("verification FAILED"), "{}", text(&job));
    assert!(
        stdout.contains("missing from the new version"),
        "{}",
        text(&job)
    );
    assert!(stdout.contains("200 could not be copied"), "{}", text(&job));
    let v2 = format!("{index}-v2");
    let plain = fixture_like_ids("plain", 200);
    assert_eq!(
        count_ids(&v2, &plain).await,
        200,
        "the neighbours were not copied"
    );
    assert_eq!(alias_target(&index).await, format!("{index}-v1"));

    // Every refused document is in the dead-letter queue with the cluster's reason.
    let list = glossa()
        .args(["--config", &config, "dlq", "list"])
        .output()
        .expect("dlq list");
    let letters: Vec<Value> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("letter JSON"))
        .collect();
    assert_eq!(letters.len(), 200, "{}", text(&list));
    let letter = &letters[0];
    assert_eq!(
        letter["position"]["source"],
        format!("reindex:{index}-v1"),
        "{letter}"
    );
    assert!(
        letter["message"]
            .as_str()
            .unwrap_or_default()
            .contains("strict_dynamic_mapping_exception"),
        "{letter}"
    );
    assert!(
        letter["raw"]
            .as_str()
            .unwrap_or_default()
            .contains("\"year\""),
        "{letter}"
    );

    // No swap without --force; a rollback gives the job up and leaves the aliases alone.
    let swap = reindex(&config, &["swap"]);
    assert!(!swap.status.success(), "{}", text(&swap));
    assert!(
        String::from_utf8_lossy(&swap.stderr).contains("--force"),
        "{}",
        text(&swap)
    );
    let rollback = reindex(&config, &["rollback"]);
    assert!(rollback.status.success(), "{}", text(&rollback));
    assert!(
        String::from_utf8_lossy(&rollback.stdout).contains("Abandoned"),
        "{}",
        text(&rollback)
    );
    assert_eq!(alias_target(&index).await, format!("{index}-v1"));
}

/// The embedded backend's reindex: the binary on a data directory.
fn embedded(dir: &Path) -> std::process::Command {
    let mut command = glossa();
    command.args(["--data-dir", &dir.display().to_string()]);
    command
}

/// `parts` loads of `per_part` records (`doc-N`) into the embedded index under `data`, one
/// committed segment each.
fn ingest_in_parts(dir: &Path, data: &Path, parts: usize, per_part: usize, args: &[&str]) {
    for part in 0..parts {
        let file = dir.join(format!("part-{part}.ndjson"));
        std::fs::write(
            &file,
            records("doc", part * per_part..(part + 1) * per_part),
        )
        .expect("write");
        let status = embedded(data)
            .args(args)
            .args(["ingest", &file.display().to_string()])
            .stdout(Stdio::null())
            .status()
            .expect("ingest");
        assert!(status.success());
    }
}

fn live_docs(dir: &Path) -> u64 {
    glossa::backend::embedded::EmbeddedIndex::open(
        &glossa::backend::embedded::live_index_dir(dir),
        vec!["title".into(), "body".into()],
    )
    .expect("live index opens")
    .num_docs()
}

fn jobs_file(dir: &Path) -> Value {
    std::fs::read_to_string(dir.join("reindex-jobs.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null)
}

/// The embedded data directory serves `version` with `docs` documents, and a server on it finds
/// the `german` German records by German stemming, labelled `de`.
async fn assert_live_finds_german(data: &Path, version: &str, docs: u64, german: u64) {
    assert_eq!(
        glossa::backend::embedded::live_index_dir(data),
        data.join(version)
    );
    assert_eq!(live_docs(data), docs);
    let server = TestServer::start(test_config(data)).await;
    let answer = server
        .search(&[("q", "Haus"), ("lang", "de"), ("size", "3")])
        .await;
    assert_eq!(answer["total"], german, "{answer}");
    assert_eq!(answer["hits"][0]["lang"], "de", "{answer}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_reindex_resumes_after_a_kill_verifies_swaps_rolls_back_and_cleans_up() {
    let dir = tempdir();
    let data = dir.path().join("data");
    // Three loads, three committed segments; English and French only, so German is mislabelled.
    ingest_in_parts(dir.path(), &data, 3, 200, &["--languages", "en,fr"]);
    assert_eq!(live_docs(&data), 600);

    // While a server holds the index, a reindex refuses to start and says why.
    let server = TestServer::start(test_config(&data)).await;
    let refused = embedded(&data)
        .args(["reindex", "start"])
        .output()
        .expect("run");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("stop it first"),
        "{}",
        text(&refused)
    );
    server.stop().await;

    // Killed after its first segment checkpoint, then resumed. Its metrics are served meanwhile.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let metrics_url = format!("http://127.0.0.1:{port}/metrics");
    let mut child = Running(
        embedded(&data)
            .args(["reindex", "--metrics-listen", &format!("127.0.0.1:{port}")])
            .args(["start", "--redetect", "--rate", "150", "--no-swap"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn reindex"),
    );
    let mut done = 0;
    let mut metrics = String::new();
    for _ in 0..600 {
        if let Ok(response) = reqwest::get(&metrics_url).await {
            metrics = response.text().await.unwrap_or_default();
        }
        done = jobs_file(&data)[0]["segments_done"]
            .as_array()
            .map_or(0, Vec::len);
        if done >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(done >= 1, "no segment checkpoint appeared");
    assert!(
        metrics.contains("glossa_reindex_documents 600"),
        "no job size in the metrics: {metrics}"
    );
    let copied_metric = metrics
        .lines()
        .find_map(|l| l.strip_prefix("glossa_reindex_documents_copied_total "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    assert!(
        copied_metric > 0.0,
        "no copy progress in the metrics: {metrics}"
    );
    child.0.kill().expect("kill -9");
    let _ = child.0.wait();
    assert_eq!(jobs_file(&data)[0]["phase"], "copying");
    let resumed = embedded(&data)
        .args(["reindex", "resume"])
        .output()
        .expect("run");
    assert!(resumed.status.success(), "{}", text(&resumed));
    assert!(
        String::from_utf8_lossy(&resumed.stdout).contains("verification PASSED"),
        "{}",
        text(&resumed)
    );
    let job = jobs_file(&data)[0].clone();
    assert_eq!(job["phase"], "verified", "{job}");
    let rate = job["copied"].as_f64().unwrap_or(0.0) / job["copy_seconds"].as_f64().unwrap_or(1.0);
    assert!(rate <= 150.0 * 1.5, "copied at {rate:.0}/s with --rate 150");
    // Not swapped yet: the old version is still live.
    assert_eq!(
        glossa::backend::embedded::live_index_dir(&data),
        data.join("index")
    );

    let swapped = embedded(&data)
        .args(["reindex", "swap"])
        .output()
        .expect("run");
    assert!(swapped.status.success(), "{}", text(&swapped));
    // A server on the data directory now serves the new version: German, found by stemming.
    assert_live_finds_german(&data, "index-v2", 600, 200).await;

    let rolled_back = embedded(&data)
        .args(["reindex", "rollback"])
        .output()
        .expect("run");
    assert!(rolled_back.status.success(), "{}", text(&rolled_back));
    assert_eq!(
        glossa::backend::embedded::live_index_dir(&data),
        data.join("index")
    );
    let cleanup = embedded(&data)
        .args(["reindex", "cleanup", "--keep", "0"])
        .output()
        .expect("run");
    assert!(cleanup.status.success(), "{}", text(&cleanup));
    assert!(!data.join("index-v2").exists(), "{}", text(&cleanup));
    assert_eq!(live_docs(&data), 600);
}

/// A new 2-partition topic holding the records `doc-0`..`doc-299`, for the replay tests.
async fn topic_of_300_docs(topic: &str) {
    crate::kafka::create_topic(topic, 2).await;
    let payloads: Vec<Vec<u8>> = records("doc", 0..300)
        .lines()
        .map(|l| l.as_bytes().to_vec())
        .collect();
    crate::kafka::produce(topic, &payloads).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the OpenSearch cluster and the Kafka broker of scripts/test.sh"]
async fn reindex_replays_the_original_kafka_topic_into_the_new_version() {
    use crate::kafka::bootstrap;
    let dir = tempdir();
    let topic = unique_name("reindex-replay");
    topic_of_300_docs(&topic).await;
    // Version 1 was ingested from the topic with English and French only.
    let mut base = opensearch_config(dir.path(), "reindex-replay");
    base.detect.languages = vec!["en".into(), "fr".into()];
    let index = base.opensearch.index.clone();
    let old = config_file(dir.path(), &base, |_| {});
    let ingest = glossa()
        .args(["--config", &old, "ingest", "--from"])
        .arg(format!(
            "kafka://{}/{topic}?group={topic}-live",
            bootstrap()
        ))
        .output()
        .expect("ingest");
    assert!(ingest.status.success(), "{}", text(&ingest));
    assert_ne!(stored(&format!("{index}-v1"), "doc-0").await["lang"], "de");

    // The job reads the topic again with a group of its own, with every language.
    let new = config_file(dir.path(), &base, |c| {
        c.detect.languages = Vec::new();
        c.reindex.settle_seconds = 1;
        c.reindex.catch_up_margin_seconds = 5;
    });
    let url = format!(
        "kafka://{}/{topic}?group={topic}-reindex&from=earliest",
        bootstrap()
    );
    let job = reindex(&new, &["start", "--from", &url]);
    assert!(job.status.success(), "{}", text(&job));
    let stdout = String::from_utf8_lossy(&job.stdout);
    assert!(stdout.contains("verification PASSED"), "{}", text(&job));
    assert!(stdout.contains("Swapped"), "{}", text(&job));
    let v2 = format!("{index}-v2");
    assert_eq!(alias_target(&index).await, v2);
    assert_eq!(count_ids(&v2, &fixture_like_ids("doc", 300)).await, 300);
    let replayed = stored(&v2, "doc-0").await;
    assert_eq!(replayed["lang"], "de", "{replayed}");
    let status = reindex(&new, &["status"]);
    assert!(
        String::from_utf8_lossy(&status.stdout).contains(&format!("replayed from {url}")),
        "{}",
        text(&status)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Kafka broker of scripts/test.sh"]
async fn embedded_reindex_replays_the_original_kafka_topic_into_a_new_version() {
    use crate::kafka::bootstrap;
    let dir = tempdir();
    let data = dir.path().join("data");
    let topic = unique_name("embedded-replay");
    topic_of_300_docs(&topic).await;
    let ingest = embedded(&data)
        .args(["--languages", "en,fr", "ingest", "--from"])
        .arg(format!(
            "kafka://{}/{topic}?group={topic}-live",
            bootstrap()
        ))
        .output()
        .expect("ingest");
    assert!(ingest.status.success(), "{}", text(&ingest));
    assert_eq!(live_docs(&data), 300);

    let url = format!(
        "kafka://{}/{topic}?group={topic}-reindex&from=earliest",
        bootstrap()
    );
    let job = embedded(&data)
        .args(["reindex", "start", "--from", &url])
        .output()
        .expect("reindex");
    assert!(job.status.success(), "{}", text(&job));
    let stdout = String::from_utf8_lossy(&job.stdout);
    assert!(stdout.contains("verification PASSED"), "{}", text(&job));
    assert!(stdout.contains("Swapped"), "{}", text(&job));
    assert_live_finds_german(&data, "index-v2", 300, 100).await;
}

/// Deletes during a job stay deleted: before the swap they reach the new version too (the
/// deletes alias points at it), after the swap the old one (so a rollback does not bring them
/// back either).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the OpenSearch cluster of scripts/test.sh"]
async fn documents_deleted_during_a_reindex_stay_deleted_after_swap_and_rollback() {
    let dir = tempdir();
    let base = opensearch_config(dir.path(), "reindex-deletes");
    let index = base.opensearch.index.clone();
    let server = start(base.clone()).await;
    let (status, answer) = server.post(records("doc", 0..1000)).await;
    assert_eq!(status, 200, "{answer}");
    let config = config_file(dir.path(), &base, |c| {
        c.reindex.settle_seconds = 1;
        c.reindex.catch_up_margin_seconds = 5;
    });
    let (v1, v2) = (format!("{index}-v1"), format!("{index}-v2"));
    let job = reindex(&config, &["start", "--no-swap"]);
    assert!(job.status.success(), "{}", text(&job));
    assert_eq!(count_ids(&v2, &fixture_like_ids("doc", 1000)).await, 1000);

    // Copied already, then deleted through the live worker: gone from the new version too.
    let before: Vec<String> = (0..10).map(|i| format!("doc-{i}")).collect();
    let (status, answer) = server
        .post_json("/v1/documents/_delete", json!({ "ids": before }))
        .await;
    assert_eq!(
        (status, answer["deleted"].as_u64()),
        (200, Some(10)),
        "{answer}"
    );
    // What a delete landing between the copier's read and write leaves: gone from the old
    // version, still in the new one. The swap's catch-up prunes it.
    let raced: BTreeSet<String> = (20..25).map(|i| format!("doc-{i}")).collect();
    let http = reqwest::Client::new();
    for id in &raced {
        let url = format!("{}/{v1}/_doc/{id}?refresh=true", cluster_urls()[0]);
        let response = http.delete(&url).send().await.expect("delete from v1");
        assert_eq!(response.status().as_u16(), 200, "{url}");
    }
    assert_eq!(count_ids(&v2, &raced).await, 5);
    let swapped = reindex(&config, &["swap"]);
    assert!(swapped.status.success(), "{}", text(&swapped));
    assert_eq!(alias_target(&index).await, v2);
    let before: BTreeSet<String> = before.into_iter().collect();
    assert_eq!(
        count_ids(&index, &before).await,
        0,
        "documents deleted before the swap are back"
    );
    assert_eq!(
        count_ids(&index, &raced).await,
        0,
        "documents deleted while the copier held them are back"
    );

    // Deleted after the swap: gone from the old version too, so a rollback keeps them gone.
    let after: Vec<String> = (10..20).map(|i| format!("doc-{i}")).collect();
    let (status, answer) = server
        .post_json("/v1/documents/_delete", json!({ "ids": after }))
        .await;
    assert_eq!(
        (status, answer["deleted"].as_u64()),
        (200, Some(10)),
        "{answer}"
    );
    let rolled_back = reindex(&config, &["rollback"]);
    assert!(rolled_back.status.success(), "{}", text(&rolled_back));
    assert_eq!(alias_target(&index).await, v1);
    let mut deleted = before;
    deleted.extend(after);
    deleted.extend(raced);
    assert_eq!(
        count_ids(&index, &deleted).await,
        0,
        "documents deleted during the job are back after the rollback"
    );
    assert_eq!(count_ids(&index, &fixture_like_ids("doc", 1000)).await, 975);
    // The deletes alias is an alias on one version, never an index of its own.
    let deletes = cluster_get(&format!("_alias/{index}-deletes")).await;
    assert_eq!(
        deletes
            .as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>()),
        Some(vec![v2.clone()]),
        "{deletes}"
    );
    server.stop().await;
}

/// A document a server deletes while an embedded job waits for its swap is not brought back
/// by the swap: the catch-up copies what was written and prunes what was deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_documents_deleted_while_a_job_waits_stay_deleted() {
    let dir = tempdir();
    let data = dir.path().join("data");
    ingest_in_parts(dir.path(), &data, 2, 300, &[]);
    let job = embedded(&data)
        .args(["reindex", "start", "--no-swap"])
        .output()
        .expect("reindex start");
    assert!(job.status.success(), "{}", text(&job));

    let server = TestServer::start(test_config(&data)).await;
    let ids: Vec<String> = (0..10).map(|i| format!("doc-{i}")).collect();
    let (status, answer) = server
        .post_json("/v1/documents/_delete", json!({ "ids": ids }))
        .await;
    assert_eq!(
        (status, answer["deleted"].as_u64()),
        (200, Some(10)),
        "{answer}"
    );
    let (status, answer) = server.post(records("late", 0..5)).await;
    assert_eq!(status, 200, "{answer}");
    server.stop().await;

    let swap = embedded(&data)
        .args(["reindex", "swap"])
        .output()
        .expect("reindex swap");
    assert!(swap.status.success(), "{}", text(&swap));
    assert_eq!(
        glossa::backend::embedded::live_index_dir(&data),
        data.join("index-v2")
    );
    assert_eq!(
        live_docs(&data),
        600 - 10 + 5,
        "deleted documents came back"
    );
    assert_eq!(jobs_file(&data)[0]["verification"]["passed"], true);
    let server = TestServer::start(test_config(&data)).await;
    assert_eq!(server.get("/v1/documents/doc-0").await.0, 404);
    assert_eq!(server.get("/v1/documents/late-0").await.0, 200);
    server.stop().await;
}
