//! End-to-end tests of the S3 source against the real S3-protocol server that `scripts/test.sh`
//! starts (endpoint in `GLOSSA_TEST_S3_ENDPOINT`, credentials in the standard `AWS_*` variables).
//! Each test uses its own bucket.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use object_store::aws::AmazonS3;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, PutPayload};

use crate::common::*;
use crate::kafka::{records, run_bounded};

pub fn endpoint() -> String {
    let endpoint = std::env::var("GLOSSA_TEST_S3_ENDPOINT").unwrap_or_default();
    assert!(
        !endpoint.is_empty(),
        "GLOSSA_TEST_S3_ENDPOINT is not set: run the suite with scripts/test.sh, which starts the S3 server"
    );
    endpoint
}

fn settings() -> glossa::config::S3Settings {
    glossa::config::S3Settings {
        endpoint: Some(endpoint()),
        ..Default::default()
    }
}

/// Creates a fresh bucket with a signed `PUT /BUCKET` (object stores cannot create buckets).
pub async fn create_bucket(name: &str) -> AmazonS3 {
    use aws_sigv4::http_request::{
        sign, PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings,
    };
    use aws_sigv4::sign::v4;
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let credentials = aws_credential_types::Credentials::new(
        var("AWS_ACCESS_KEY_ID"),
        var("AWS_SECRET_ACCESS_KEY"),
        None,
        None,
        "test",
    );
    let identity = credentials.into();
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
    let mut signing = SigningSettings::default();
    signing.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&region)
        .name("s3")
        .time(SystemTime::now())
        .settings(signing)
        .build()
        .expect("signing params")
        .into();
    let url = format!("{}/{name}", endpoint());
    let request = SignableRequest::new("PUT", &url, std::iter::empty(), SignableBody::Bytes(&[]))
        .expect("signable request");
    let (instructions, _) = sign(request, &params).expect("signature").into_parts();
    let (headers, _) = instructions.into_parts();
    let mut put = reqwest::Client::new().put(&url);
    for header in headers {
        put = put.header(header.name(), header.value());
    }
    let response = put.send().await.expect("create bucket request");
    assert!(
        response.status().is_success(),
        "cannot create bucket {name}: {}",
        response.text().await.unwrap_or_default()
    );
    glossa::source::s3::open_store(name, &settings()).expect("S3 client")
}

pub fn unique_bucket(name: &str) -> String {
    // Bucket names allow 63 characters: short prefixes keep this well under.
    unique_name(name)
}

pub fn ndjson(lines: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in lines {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip in memory");
    encoder.finish().expect("gzip in memory")
}

pub async fn put(store: &AmazonS3, key: &str, bytes: Vec<u8>) {
    store
        .put(&ObjectPath::from(key), PutPayload::from(bytes))
        .await
        .unwrap_or_else(|e| panic!("cannot put {key}: {e}"));
}

fn write_config(dir: &Path, extra: &str) -> String {
    let path = dir.join("glossa.toml");
    let toml = format!(
        "[pipeline]\ncommit_interval_ms = 100\nwriter_memory_mb = 32\nchunk_records = 500\n\n[s3]\nendpoint = \"{}\"\n{extra}",
        endpoint()
    );
    std::fs::write(&path, toml).expect("write config");
    path.display().to_string()
}

fn ingest_from(data: &Path, config: &str, url: &str, extra: &[&str]) -> Command {
    let mut command = glossa();
    command.args([
        "--config",
        config,
        "--data-dir",
        &data.display().to_string(),
        "ingest",
        "--from",
        url,
    ]);
    command.args(extra);
    command
}

fn indexed(stdout: &str) -> u64 {
    stdout
        .split("indexed ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no `indexed N records` in {stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the S3 server of scripts/test.sh"]
async fn s3_prefix_of_plain_and_gzip_objects_is_ingested_fully_and_a_rerun_is_a_no_op() {
    let dir = tempdir();
    let bucket = unique_bucket("full");
    let store = create_bucket(&bucket).await;
    let mut expected = 0u64;
    // Ten small objects, every other one gzip; one gzip object without a .gz name (recognised
    // by its magic bytes); one large object; one object with poison lines; one outside the prefix.
    for n in 0..10 {
        let lines = records(&format!("small{n}x"), 300);
        expected += 300;
        let (key, bytes) = match n % 2 {
            0 => (format!("in/part-{n:02}.ndjson"), ndjson(&lines)),
            _ => (format!("in/part-{n:02}.ndjson.gz"), gzip(&ndjson(&lines))),
        };
        put(&store, &key, bytes).await;
    }
    put(
        &store,
        "in/sub/unnamed-gzip",
        gzip(&ndjson(&records("unnamed", 200))),
    )
    .await;
    expected += 200;
    put(
        &store,
        "in/zz-large.ndjson",
        ndjson(&records("large", 12_000)),
    )
    .await;
    expected += 12_000;
    let mut poisoned = records("poison", 5);
    poisoned.insert(2, b"{broken".to_vec());
    poisoned.push(br#"{"title":42}"#.to_vec());
    put(&store, "in/with-poison.ndjson", ndjson(&poisoned)).await;
    expected += 5;
    put(
        &store,
        "elsewhere/x.ndjson",
        ndjson(&records("outside", 10)),
    )
    .await;

    let config = write_config(dir.path(), "parallel_objects = 3\n");
    let data = dir.path().join("data");
    let url = format!("s3://{bucket}/in/");
    let (ok, stdout, stderr) = run_bounded(
        ingest_from(&data, &config, &url, &[]),
        Duration::from_secs(240),
    );
    assert!(ok, "ingest failed:\n{stdout}\n{stderr}");
    assert_eq!(indexed(&stdout), expected, "{stdout}");
    assert_eq!(count_docs(&data), expected);
    let letters = glossa::dlq::read_all(&data).expect("dead letters");
    let mut positions: Vec<(String, u64, String)> = letters
        .iter()
        .map(|l| {
            (
                l.rejection.position.source.clone(),
                l.rejection.position.line,
                l.rejection.reason.clone(),
            )
        })
        .collect();
    positions.sort();
    let source = format!("s3://{bucket}/in/with-poison.ndjson");
    assert_eq!(
        positions,
        [
            (source.clone(), 3, "not_json".to_string()),
            (source, 7, "bad_text_field".to_string())
        ]
    );

    // Finished: a second run reads nothing; --force reads everything again (same ids).
    let (ok, stdout, stderr) = run_bounded(
        ingest_from(&data, &config, &url, &[]),
        Duration::from_secs(120),
    );
    assert!(ok, "rerun failed:\n{stdout}\n{stderr}");
    assert_eq!(indexed(&stdout), 0, "{stdout}");
    let (ok, stdout, stderr) = run_bounded(
        ingest_from(&data, &config, &url, &["--force"]),
        Duration::from_secs(240),
    );
    assert!(ok, "forced rerun failed:\n{stdout}\n{stderr}");
    assert_eq!(indexed(&stdout), expected, "{stdout}");
    assert_eq!(count_docs(&data), expected);
}

fn checkpoint_file(data: &Path) -> Option<PathBuf> {
    std::fs::read_dir(data.join("checkpoints"))
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
}

/// Starts an ingest and SIGKILLs it once the checkpoint shows `key` acknowledged past line 0;
/// returns that line and the killed run's log.
fn kill_inside(command: Command, data: &Path, key: &str, log: &Path) -> u64 {
    let mut command = command;
    command
        .env("RUST_LOG", "warn,glossa::source=info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("log file"));
    let mut child = Running(command.spawn().expect("spawn ingest"));
    let deadline = Instant::now() + Duration::from_secs(180);
    let line = loop {
        let line = checkpoint_file(data)
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|c| c["partial"][key]["line"].as_u64());
        if let Some(line) = line.filter(|l| *l > 0) {
            break line;
        }
        if let Some(status) = child.0.try_wait().expect("child status") {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            let skip = log.chars().count().saturating_sub(3000);
            let tail: String = log.chars().skip(skip).collect();
            panic!("ingest ended ({status}) before it could be killed inside {key}; its log ends:\n{tail}");
        }
        assert!(
            Instant::now() < deadline,
            "no checkpoint inside {key} in time"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    child.0.kill().expect("SIGKILL");
    child.0.wait().expect("reap");
    line
}

/// The line a run said it resumed `key` after.
fn resumed_after(log: &str, key: &str) -> Option<u64> {
    log.lines()
        .find(|l| l.contains("resuming after line") && l.contains(key))
        .and_then(|l| l.split("resuming after line ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the S3 server of scripts/test.sh"]
async fn s3_job_killed_mid_object_resumes_from_its_checkpoint() {
    let dir = tempdir();
    let bucket = unique_bucket("resume");
    let store = create_bucket(&bucket).await;
    for n in 0..4 {
        put(
            &store,
            &format!("a-small-{n}.ndjson.gz"),
            gzip(&ndjson(&records(&format!("s{n}x"), 500))),
        )
        .await;
    }
    // Two large objects: a gzip one (resumed by skipping lines) and a plain one (resumed by a
    // ranged read). Large enough to take seconds each: the checkpoint is saved about once a
    // second, and at 30,000 records a fast machine finished an object between two saves.
    let large = 100_000u64;
    put(
        &store,
        "b-large.ndjson.gz",
        gzip(&ndjson(&records("bgz", large as usize))),
    )
    .await;
    put(
        &store,
        "c-large.ndjson",
        ndjson(&records("cpl", large as usize)),
    )
    .await;
    let total = 4 * 500 + 2 * large;
    // One object at a time, in key order: small ones, then b, then c.
    let config = write_config(
        dir.path(),
        "parallel_objects = 1
",
    );
    let data = dir.path().join("data");
    let url = format!("s3://{bucket}");
    let run = || ingest_from(&data, &config, &url, &[]);

    let first_log = dir.path().join("first.log");
    let in_b = kill_inside(run(), &data, "b-large.ndjson.gz", &first_log);
    assert!(in_b < large, "b finished before the first kill");
    let second_log = dir.path().join("second.log");
    let in_c = kill_inside(run(), &data, "c-large.ndjson", &second_log);
    assert!(in_c < large, "c finished before the second kill");
    let second = std::fs::read_to_string(&second_log).unwrap_or_default();
    let b_resumed = resumed_after(&second, "b-large.ndjson.gz")
        .unwrap_or_else(|| panic!("the second run did not resume b:\n{second}"));
    assert!(
        b_resumed >= in_b,
        "b resumed after line {b_resumed}, before {in_b}"
    );

    let (ok, stdout, stderr) = run_bounded(run(), Duration::from_secs(240));
    assert!(ok, "resumed ingest failed:\n{stdout}\n{stderr}");
    // The last run read only the rest of c: not the finished objects, not c's acknowledged part.
    let reread = indexed(&stdout);
    assert!(
        reread <= large - in_c,
        "resumed job indexed {reread} records; at most {} were left",
        large - in_c
    );
    assert_eq!(count_docs(&data), total);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the S3 server of scripts/test.sh"]
async fn s3_workers_share_a_prefix_without_reading_an_object_twice() {
    let dir = tempdir();
    let bucket = unique_bucket("share");
    let store = create_bucket(&bucket).await;
    for n in 0..12 {
        put(
            &store,
            &format!("p/obj-{n:02}.ndjson"),
            ndjson(&records(&format!("w{n}x"), 100)),
        )
        .await;
    }
    let mut counts = Vec::new();
    for worker in 0..2 {
        let work = dir.path().join(format!("w{worker}"));
        std::fs::create_dir_all(&work).expect("worker dir");
        let config = write_config(
            &work,
            &format!("worker_index = {worker}\nworker_count = 2\n"),
        );
        let data = work.join("data");
        let (ok, stdout, stderr) = run_bounded(
            ingest_from(&data, &config, &format!("s3://{bucket}/p"), &[]),
            Duration::from_secs(180),
        );
        assert!(ok, "worker {worker} failed:\n{stdout}\n{stderr}");
        counts.push(count_docs(&data));
    }
    // Each worker indexed its own share into its own index: the shares add up exactly.
    assert_eq!(counts.iter().sum::<u64>(), 1200, "{counts:?}");
    assert!(counts.iter().all(|c| *c > 0), "{counts:?}");
}
