//! What every end-to-end test uses: an in-process Glossa on a loopback socket, the fixture, and
//! small helpers over JSON answers.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command};
use std::sync::mpsc;
use std::time::Duration;

use glossa::config::Config;
use glossa::service::Service;
use serde_json::Value;

pub const FIXTURE: &str = include_str!("../fixtures/multilingual.ndjson");

pub fn fixture_ids() -> BTreeSet<String> {
    FIXTURE
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["id"].as_str().map(str::to_string))
        .collect()
}

pub fn test_config(dir: &Path) -> Config {
    let mut config = Config {
        data_dir: dir.to_path_buf(),
        ..Config::default()
    };
    config.pipeline.commit_interval_ms = 100;
    config.pipeline.writer_memory_mb = 32;
    // Query detection weighs what the index holds a second after it changes.
    config.search.language_prior_refresh_seconds = 1;
    config
}

/// An in-process Glossa serving on a loopback port.
pub struct TestServer {
    pub base: String,
    pub client: reqwest::Client,
    /// Called after each ingest so what was acknowledged is searchable (OpenSearch refreshes
    /// every second; the embedded index is searchable at acknowledgement).
    pub refresh_url: Option<String>,
    /// How the refresh reaches the cluster (a secured cluster needs its CA and a password).
    pub refresh_client: reqwest::Client,
    pub refresh_auth: Option<(String, String)>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl TestServer {
    pub async fn start(config: Config) -> TestServer {
        let service = tokio::task::spawn_blocking(move || Service::start(config))
            .await
            .expect("start task")
            .expect("service starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(glossa::api::serve(service, listener, async {
            let _ = rx.await;
        }));
        TestServer {
            base,
            client: reqwest::Client::new(),
            refresh_url: None,
            refresh_client: reqwest::Client::new(),
            refresh_auth: None,
            shutdown: Some(tx),
            task,
        }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task
            .await
            .expect("server task")
            .expect("server stops cleanly");
    }

    pub async fn post(&self, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/v1/documents", self.base))
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .expect("ingest request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON answer"))
    }

    pub async fn get(&self, path_and_query: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{}", self.base, path_and_query))
            .send()
            .await
            .expect("GET request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON answer"))
    }

    /// The Prometheus text of `GET /metrics` (which must answer 200).
    pub async fn metrics(&self) -> String {
        let response = self
            .client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .expect("metrics request");
        assert_eq!(response.status().as_u16(), 200, "GET /metrics failed");
        response.text().await.expect("metrics text")
    }

    pub async fn search(&self, params: &[(&str, &str)]) -> Value {
        let response = self
            .client
            .get(format!("{}/v1/search", self.base))
            .query(params)
            .send()
            .await
            .expect("search request");
        assert_eq!(response.status().as_u16(), 200, "search {params:?} failed");
        response.json().await.expect("JSON answer")
    }

    pub async fn search_post(&self, body: Value) -> (u16, Value) {
        self.post_json("/v1/search", body).await
    }

    /// POSTs a JSON body to `path`; the status and the JSON answer.
    pub async fn post_json(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .expect("POST request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON answer"))
    }

    pub async fn ingest_fixture(&self) {
        let (status, answer) = self.post(FIXTURE.to_string()).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["accepted"], fixture_ids().len(), "{answer}");
        assert_eq!(answer["errors"], false, "{answer}");
        self.refresh().await;
    }

    /// Makes everything acknowledged so far searchable.
    pub async fn refresh(&self) {
        if let Some(url) = &self.refresh_url {
            let mut request = self.refresh_client.post(url);
            if let Some((user, password)) = &self.refresh_auth {
                request = request.basic_auth(user, Some(password));
            }
            let response = request.send().await.expect("refresh request");
            assert!(
                response.status().is_success(),
                "refresh failed: {response:?}"
            );
        }
    }
}

pub fn hit_ids(answer: &Value) -> Vec<String> {
    answer["hits"]
        .as_array()
        .map(|hits| {
            hits.iter()
                .filter_map(|h| h["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The `error.message` of a JSON error answer, or "" when there is none.
pub fn error_message(answer: &Value) -> &str {
    answer["error"]["message"].as_str().unwrap_or("")
}

/// The committed embedded index under `data_dir`, read as it is on disk now.
fn open_index(data_dir: &Path) -> glossa::backend::embedded::EmbeddedIndex {
    glossa::backend::embedded::EmbeddedIndex::open(
        &data_dir.join("index"),
        vec!["title".into(), "body".into()],
    )
    .expect("index opens")
}

/// Documents committed to the embedded index under `data_dir`.
pub fn count_docs(data_dir: &Path) -> u64 {
    open_index(data_dir).num_docs()
}

/// Segments of the committed embedded index under `data_dir`.
pub fn count_segments(data_dir: &Path) -> usize {
    open_index(data_dir).segment_count()
}

/// A name no other test or earlier run uses (topics, groups, indices, buckets): `PREFIX-PID-NANOS`.
pub fn unique_name(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{nanos}", std::process::id())
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// The real `glossa` binary, with quiet logs and no config from the environment.
pub fn glossa() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_glossa"));
    command.env("RUST_LOG", "warn").env_remove("GLOSSA_CONFIG");
    command
}

/// A child process killed when the test ends, even by a panic, so no server outlives its test
/// (an orphan would also hold the test runner's output pipe open).
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A config file in `dir` with `limits.max_record_bytes = limit` and `extra` TOML (a `[dlq]`
/// section...), named after the limit so two limits can be compared.
pub fn limit_config(dir: &Path, limit: usize, extra: &str) -> String {
    let path = dir.join(format!("glossa-{limit}.toml"));
    std::fs::write(
        &path,
        format!("[limits]\nmax_record_bytes = {limit}\n\n{extra}"),
    )
    .expect("write config");
    path.display().to_string()
}

/// The sorted `reason`s of `glossa dlq list` output (one letter per line).
pub fn dead_letter_reasons(stdout: &str) -> Vec<String> {
    let mut reasons: Vec<String> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["reason"].as_str().map(str::to_string))
        .collect();
    reasons.sort();
    reasons
}

/// Waits for the "serving http(s)://ADDR" line and returns the base URL.
pub fn wait_for_serving(child: &mut Child, timeout: Duration) -> String {
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("serving ").nth(1) {
                let url = rest.split_whitespace().next().unwrap_or("").to_string();
                let _ = tx.send(url);
            }
        }
    });
    match rx.recv_timeout(timeout) {
        Ok(url) => url,
        Err(_) => {
            let _ = child.kill();
            panic!("glossa did not report serving within {timeout:?}");
        }
    }
}

/// `base`, edited, as a TOML file in `dir` for the real binary (`--config PATH`).
pub fn config_file(dir: &Path, base: &Config, edit: impl FnOnce(&mut Config)) -> String {
    let mut config = base.clone();
    edit(&mut config);
    let path = dir.join("glossa-test.toml");
    std::fs::write(&path, toml::to_string(&config).expect("config to TOML")).expect("write config");
    path.display().to_string()
}

/// The first number of the report line of `glossa plan` that contains `label`, scaled to
/// bytes when a size unit (MB, GB, TB) follows it.
pub fn plan_figure(report: &str, label: &str) -> f64 {
    let line = report
        .lines()
        .find(|l| l.contains(label))
        .unwrap_or_else(|| panic!("no line with {label:?} in:\n{report}"));
    let rest = line
        .split(label)
        .nth(1)
        .filter(|r| r.trim_start().starts_with(|c: char| c.is_ascii_digit()));
    let text = rest.unwrap_or(line).trim_start();
    let mut words = text.split_whitespace();
    let number: f64 = words
        .next()
        .and_then(|w| w.trim_end_matches(',').parse().ok())
        .unwrap_or_else(|| panic!("no number at {text:?} in {line:?}"));
    match words.next().map(|w| w.trim_end_matches(',')) {
        Some("MB") => number * 1e6,
        Some("GB") => number * 1e9,
        Some("TB") => number * 1e12,
        _ => number,
    }
}

/// Bytes of every file under `dir`.
pub fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => dir_bytes(&e.path()),
                    _ => e.metadata().map(|m| m.len()).unwrap_or(0),
                })
                .sum()
        })
        .unwrap_or(0)
}
