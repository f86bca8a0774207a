//! End-to-end tests of embedded Glossa: the real pipeline, index and HTTP router on a real socket,
//! and the real `glossa` binary.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::*;
use crate::conformance;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_search_conformance() {
    let dir = tempdir();
    let server = TestServer::start(test_config(dir.path())).await;
    conformance::run_all(&server).await;
    server.stop().await;
}

/// `/readyz` is 200 once the index answers and every source has reached its input; a source
/// that cannot reach its broker keeps the worker not ready (503, naming the source but not its
/// URL) while `/healthz` stays 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_waits_for_every_source() {
    let dir = tempdir();
    let server = TestServer::start(test_config(dir.path())).await;
    let (status, ready) = server.get("/readyz").await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(ready["index"]["documents"], 0, "{ready}");
    server.stop().await;

    let dir = tempdir();
    let mut config = test_config(dir.path());
    config.kafka.connect_timeout_ms = 500;
    config.sources = vec![glossa::config::StreamUrl::parse(
        "kafka://127.0.0.1:9/orders?group=g&sasl.password=secret",
    )
    .expect("a valid URL")];
    let server = TestServer::start(config).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let (status, ready) = server.get("/readyz").await;
    assert_eq!(status, 503, "{ready}");
    assert_eq!(ready["status"], "not_ready", "{ready}");
    assert_eq!(ready["index"]["ready"], true, "{ready}");
    assert_eq!(ready["sources"][0]["source"], "kafka #1", "{ready}");
    assert_eq!(ready["sources"][0]["ready"], false, "{ready}");
    let text = ready.to_string();
    assert!(
        !text.contains("secret") && !text.contains("127.0.0.1:9"),
        "{text}"
    );
    let (status, health) = server.get("/healthz").await;
    assert_eq!(status, 200, "{health}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_relevance_stays_above_its_floors() {
    let dir = tempdir();
    let server = TestServer::start(test_config(dir.path())).await;
    conformance::relevance_stays_above_its_floors(&server).await;
    conformance::the_index_vocabulary_decides_a_query_of_names(&server).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_records_are_reported_by_line_and_dead_lettered_without_losing_neighbours() {
    let dir = tempdir();
    let mut config = test_config(dir.path());
    config.limits.max_record_bytes = 2000;
    let server = TestServer::start(config).await;

    let mut body = Vec::new();
    body.extend_from_slice(
        b"{\"id\":\"ok-1\",\"title\":\"Guten Morgen\",\"body\":\"Heute scheint die Sonne.\"}\n",
    );
    body.extend_from_slice(b"this is not json\n");
    body.extend_from_slice(b"{\"id\":\"bad-utf8\",\"title\":\"\xff\xfe\"}\n");
    body.extend_from_slice(b"{\"id\":\"no-text\",\"category\":\"x\"}\n");
    body.extend_from_slice(
        format!("{{\"id\":\"huge\",\"body\":\"{}\"}}\n", "a".repeat(3000)).as_bytes(),
    );
    body.extend_from_slice(b"\n[1,2,3]\n");
    body.extend_from_slice(
        b"{\"id\":\"ok-2\",\"title\":\"Bonjour\",\"body\":\"Il fait beau aujourd'hui.\"}\n",
    );
    let (status, answer) = server.post(body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"], 2);
    assert_eq!(answer["errors"], true);
    let rejected: Vec<(u64, String)> = answer["rejected"]
        .as_array()
        .expect("rejected list")
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap_or(0),
                r["reason"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        rejected,
        vec![
            (2, "not_json".to_string()),
            (3, "not_utf8".to_string()),
            (4, "no_text".to_string()),
            (5, "too_large".to_string()),
            (7, "not_an_object".to_string()),
        ]
    );
    let too_large = answer["rejected"][3]["message"].as_str().unwrap_or("");
    assert!(
        too_large.contains("limits.max_record_bytes = 2000"),
        "{too_large}"
    );

    // A JSON array body works the same way, positions are array indexes.
    let (status, answer) = server
        .post(r#"[{"id":"arr-1","title":"Hola","body":"Buenos días a todos."}, {"title": 3}]"#)
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"], 1);
    assert_eq!(answer["rejected"][0]["line"], 2);
    assert_eq!(answer["rejected"][0]["reason"], "bad_text_field");

    let all = server.search(&[("q", "*"), ("size", "50")]).await;
    let ids: BTreeSet<String> = hit_ids(&all).into_iter().collect();
    assert_eq!(
        ids,
        BTreeSet::from(["ok-1".into(), "ok-2".into(), "arr-1".into()])
    );
    server.stop().await;

    let letters = glossa::dlq::read_all(dir.path()).expect("dead letters readable");
    let reasons: Vec<&str> = letters
        .iter()
        .map(|l| l.rejection.reason.as_str())
        .collect();
    assert_eq!(
        reasons,
        vec![
            "not_json",
            "not_utf8",
            "no_text",
            "too_large",
            "not_an_object",
            "bad_text_field"
        ]
    );
    assert_eq!(letters[0].rejection.position.line, 2);
    assert!(letters[0].rejection.position.source.starts_with("http:"));
    assert_eq!(letters[0].rejection.raw, "this is not json");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_answer_413_naming_the_limit_and_a_full_pipeline_answers_429() {
    let dir = tempdir();
    let mut config = test_config(dir.path());
    config.limits.max_body_bytes = 10_000;
    config.limits.max_record_bytes = 5_000;
    config.pipeline.max_in_flight_records = 4;
    let server = TestServer::start(config).await;

    let (status, answer) = server.post("x".repeat(20_000)).await;
    assert_eq!(status, 413);
    assert!(
        error_message(&answer).contains("limits.max_body_bytes = 10000"),
        "{answer}"
    );

    let five: String = (0..5)
        .map(|i| format!("{{\"title\":\"Nummer {i}\"}}\n"))
        .collect();
    let (status, answer) = server.post(five).await;
    assert_eq!(status, 413);
    assert!(
        error_message(&answer).contains("pipeline.max_in_flight_records = 4"),
        "{answer}"
    );

    // Twenty requests of four records at once, into room for four: while one is being detected,
    // indexed and committed, the others find the pipeline full and get 429 with Retry-After;
    // whatever was answered 200 is indexed, nothing else.
    let mut requests = Vec::new();
    for r in 0..20 {
        let four: String = (0..4)
            .map(|i| format!("{{\"id\":\"f{r}-{i}\",\"title\":\"Eintrag Nummer {i} von {r}\"}}\n"))
            .collect();
        let base = server.base.clone();
        requests.push(tokio::spawn(async move {
            let response = reqwest::Client::new()
                .post(format!("{base}/v1/documents"))
                .body(four)
                .send()
                .await
                .expect("ingest request");
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let answer: Value = response.json().await.expect("JSON");
            (status, retry_after, answer)
        }));
    }
    let (mut accepted, mut throttled) = (0u64, 0);
    for request in requests {
        let (status, retry_after, answer) = request.await.expect("request task");
        match status {
            200 => accepted += answer["accepted"].as_u64().expect("accepted"),
            429 => {
                throttled += 1;
                assert_eq!(retry_after.as_deref(), Some("1"), "{answer}");
                assert!(error_message(&answer).contains("retry"), "{answer}");
            }
            other => panic!("unexpected status {other}: {answer}"),
        }
    }
    assert!(
        throttled > 0,
        "twenty requests into room for four were all admitted"
    );
    assert!(accepted > 0);
    server.refresh().await;
    let all = server.search(&[("q", "*"), ("size", "100")]).await;
    assert_eq!(all["total"], accepted);

    let metrics_text = server.metrics().await;
    assert!(
        metrics_text.contains("glossa_ingest_throttled_total"),
        "{metrics_text}"
    );
    assert!(
        metrics_text.contains("glossa_search_seconds")
            || metrics_text.contains("glossa_records_in_total")
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_mistakes_get_json_4xx_never_500() {
    let dir = tempdir();
    let server = TestServer::start(test_config(dir.path())).await;
    server.ingest_fixture().await;
    let cases = [
        ("/v1/search", "`q` is required"),
        ("/v1/search?q=", "`q` is required"),
        ("/v1/search?q=a&size=5000", "limits.max_search_size = 1000"),
        ("/v1/search?q=a&size=ten", "size must be a whole number"),
        ("/v1/search?q=a&cursor=garbage", "invalid cursor"),
        ("/v1/search?q=a&colour=red", "unknown parameter `colour`"),
        (
            "/v1/search?q=a&filter.year.gte=yesterday",
            "range bounds must be finite numbers or RFC 3339 dates",
        ),
        ("/v1/search?q=a&filter.lang.gte=2", "filter `lang`"),
    ];
    for (path, message) in cases {
        let (status, answer) = server.get(path).await;
        assert_eq!(status, 400, "{path}: {answer}");
        let text = error_message(&answer);
        assert!(
            text.contains(message),
            "{path}: expected `{message}` in {answer}"
        );
    }
    let (status, answer) = server.search_post(json!({"q": "a", "sise": 3})).await;
    assert_eq!(status, 400);
    assert!(
        error_message(&answer).contains("unknown field `sise`"),
        "{answer}"
    );
    let long_query = "wort ".repeat(5000);
    let (status, answer) = server.search_post(json!({ "q": long_query })).await;
    assert_eq!(status, 400);
    assert!(
        error_message(&answer).contains("over the limit of 4096 bytes"),
        "{answer}"
    );
    let huge = format!("{{\"q\":\"{}\"}}", "a".repeat(1024 * 1024 + 1024));
    let response = server
        .client
        .post(format!("{}/v1/search", server.base))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("huge search");
    assert_eq!(response.status().as_u16(), 413);
    let answer: Value = response.json().await.expect("JSON");
    assert!(
        error_message(&answer).contains("search body is over the limit"),
        "{answer}"
    );
    let (status, answer) = server.get("/v2/nothing").await;
    assert_eq!(status, 404);
    assert!(error_message(&answer).contains("/v1/search"));
    // Query syntax errors are not errors: the text is searched leniently.
    let lenient = server.search(&[("q", "\"unbalanced (quote:")]).await;
    assert!(lenient["total"].is_u64());
    let (status, health) = server.get("/healthz").await;
    assert_eq!(status, 200);
    assert_eq!(health["documents"], fixture_ids().len());
    // Where a search's time goes: the query detector and the backend, per backend.
    let metrics_text = server.metrics().await;
    for series in [
        "glossa_search_phase_seconds_count{phase=\"detect\"}",
        "glossa_search_phase_seconds_count{phase=\"backend\",backend=\"embedded\"}",
    ] {
        assert!(
            metrics_text.contains(series),
            "no {series} in:\n{metrics_text}"
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_data_and_reingesting_does_not_duplicate() {
    let dir = tempdir();
    let server = TestServer::start(test_config(dir.path())).await;
    server.ingest_fixture().await;
    // Same records without ids twice: content-derived ids keep one copy.
    let (_, answer) = server
        .post("{\"title\":\"Ohne Kennung\",\"body\":\"Ein Satz ohne id.\"}\n")
        .await;
    assert_eq!(answer["accepted"], 1);
    server.stop().await;

    let server = TestServer::start(test_config(dir.path())).await;
    let all = server.search(&[("q", "*")]).await;
    assert_eq!(
        all["total"],
        fixture_ids().len() + 1,
        "data lost across restart"
    );
    server.ingest_fixture().await;
    server
        .post("{\"body\":\"Ein Satz ohne id.\",\"title\":\"Ohne Kennung\"}\n")
        .await;
    let all = server.search(&[("q", "*")]).await;
    assert_eq!(
        all["total"],
        fixture_ids().len() + 1,
        "re-ingest duplicated documents"
    );
    server.stop().await;
}

// ---- the real binary ----

fn serve_binary(dir: &Path) -> (Running, String) {
    let child = glossa()
        .args([
            "--data-dir",
            &dir.display().to_string(),
            "serve",
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn glossa serve");
    let mut child = Running(child);
    let url = wait_for_serving(&mut child.0, Duration::from_secs(120));
    (child, url)
}

fn terminate(child: &mut Running) -> std::process::ExitStatus {
    let child = &mut child.0;
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    for _ in 0..600 {
        if let Ok(Some(status)) = child.try_wait() {
            return status;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("glossa did not stop within 60s of SIGTERM");
}

/// `glossa --config <dir>/c.toml --data-dir <dir>/data ingest <input>`, with `toml` as the config.
fn ingest_with_config(dir: &Path, toml: &str, input: &Path) -> Command {
    let config = dir.join("c.toml");
    std::fs::write(&config, toml).expect("write config");
    let mut command = glossa();
    command.args([
        "--config",
        &config.display().to_string(),
        "--data-dir",
        &dir.join("data").display().to_string(),
        "ingest",
        &input.display().to_string(),
    ]);
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_server_loses_no_acknowledged_record() {
    let dir = tempdir();
    let (mut child, url) = serve_binary(dir.path());
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{url}/v1/documents"))
        .body(FIXTURE)
        .send()
        .await
        .expect("ingest");
    assert_eq!(response.status().as_u16(), 200);
    child.0.kill().expect("SIGKILL");
    child.0.wait().expect("reaped");

    let (mut child, url) = serve_binary(dir.path());
    let answer: Value = client
        .get(format!("{url}/v1/search?q=*"))
        .send()
        .await
        .expect("search")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        answer["total"],
        fixture_ids().len(),
        "acknowledged records lost: {answer}"
    );
    assert!(terminate(&mut child).success());
}

#[test]
fn ingest_command_reads_plain_gzip_and_stdin_without_duplicates() {
    let dir = tempdir();
    let lines: Vec<&str> = FIXTURE.lines().collect();
    let (first, second) = lines.split_at(lines.len() / 2);
    let plain = dir.path().join("part1.ndjson");
    std::fs::write(&plain, first.join("\n")).expect("write plain");
    let gz = dir.path().join("part2.ndjson.gz");
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).expect("create gz"),
        flate2::Compression::default(),
    );
    encoder
        .write_all(second.join("\n").as_bytes())
        .expect("write gz");
    encoder.finish().expect("finish gz");
    let data = dir.path().join("data");
    let data_arg = data.display().to_string();

    let output = glossa()
        .args([
            "--data-dir",
            &data_arg,
            "ingest",
            &plain.display().to_string(),
            &gz.display().to_string(),
        ])
        .output()
        .expect("run ingest");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(&format!("indexed {} records, rejected 0", lines.len())),
        "{stdout}"
    );
    assert!(stdout.contains("languages: "), "{stdout}");
    assert_eq!(count_docs(&data), lines.len() as u64);

    let mut child = glossa()
        .args(["--data-dir", &data_arg, "ingest", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn ingest -");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(FIXTURE.as_bytes()).expect("feed stdin");
    stdin.write_all(b"\n{\"broken\": \n").expect("feed stdin");
    drop(stdin);
    let output = child.wait_with_output().expect("ingest - finishes");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("rejected 1"), "{stdout}");
    assert!(stdout.contains("rejected not_json: 1"), "{stdout}");
    assert_eq!(
        count_docs(&data),
        lines.len() as u64,
        "re-ingest duplicated documents"
    );

    // Two ingests, two segments at least: compacted into one, every document still there.
    let output = glossa()
        .args(["--data-dir", &data_arg, "compact", "--max-segments", "1"])
        .output()
        .expect("run compact");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("segments into 1 in"), "{stdout}");
    assert_eq!(count_docs(&data), lines.len() as u64);

    let listed = glossa()
        .args(["--data-dir", &data_arg, "dlq", "list"])
        .output()
        .expect("dlq list");
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("\"source\":\"stdin\"") && listed.contains("not_json"),
        "{listed}"
    );

    // A reader that goes away early (`glossa dlq list | head -0`) ends the listing quietly.
    let mut child = glossa()
        .args(["--data-dir", &data_arg, "dlq", "list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dlq list");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("dlq list finishes");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && !stderr.contains("panicked"),
        "{:?}: {stderr}",
        output.status
    );
}

/// A server whose writes have stopped merges the index's small segments, leaving at most twice
/// `pipeline.compact_segments`, and searches answer the same before and after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_compacts_the_index_once_writes_stop() {
    let dir = tempdir();
    let mut config = test_config(dir.path());
    config.pipeline.compact_idle_seconds = 2;
    config.pipeline.compact_segments = 1;
    let server = TestServer::start(config).await;
    // Six pushes, six commits of one or two segments each (one per indexing thread; Tantivy's
    // own merges take eight at a time): more than 2 segments, the most compaction leaves here.
    let lines: Vec<&str> = FIXTURE.lines().collect();
    for push in 0..6 {
        let body: Vec<&str> = lines.iter().skip(push).step_by(6).copied().collect();
        let (status, answer) = server.post(body.join("\n")).await;
        assert_eq!(status, 200, "{answer}");
    }
    let data = dir.path();
    let before = count_segments(data);
    assert!(before >= 3, "{before} segments after six pushes");
    let queries = ["Berlin", "Häuser", "книги", "東京", "weekend"];
    let mut answers = Vec::new();
    for q in queries {
        let answer = server.search(&[("q", q)]).await;
        let ids: BTreeSet<String> = hit_ids(&answer).into_iter().collect();
        assert!(!ids.is_empty(), "{q}: {answer}");
        answers.push((ids, answer["total"].clone()));
    }

    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while count_segments(data) > 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "still {} segments a minute after the last write (from {before})",
            count_segments(data)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(count_docs(data), lines.len() as u64);
    for (q, (ids, total)) in queries.iter().zip(&answers) {
        let answer = server.search(&[("q", q)]).await;
        let now: BTreeSet<String> = hit_ids(&answer).into_iter().collect();
        assert_eq!(&now, ids, "{q} before and after compaction");
        assert_eq!(&answer["total"], total, "{q}");
    }
    // The server keeps taking writes into the compacted index.
    let (status, answer) = server
        .post(r#"{"id":"after-1","title":"Berlin im Winter","body":"Schnee in Berlin."}"#)
        .await;
    assert_eq!(status, 200, "{answer}");
    let answer = server.search(&[("q", "Berlin")]).await;
    assert!(
        hit_ids(&answer).contains(&"after-1".to_string()),
        "{answer}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_loads_the_bundled_sample_and_serves_it() {
    let dir = tempdir();
    // Every search of at least 1 ms is logged as slow: the first, which loads the query
    // detector's models, always is.
    let config = dir.path().join("slow.toml");
    std::fs::write(&config, "[search]\nslow_query_ms = 1\n").expect("write config");
    let log = dir.path().join("stderr.log");
    let mut child = Running(
        glossa()
            .args([
                "demo",
                "--listen",
                "127.0.0.1:0",
                "--data-dir",
                &dir.path().join("data").display().to_string(),
                "--config",
                &config.display().to_string(),
            ])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("spawn demo"),
    );
    let url = wait_for_serving(&mut child.0, Duration::from_secs(600));
    let client = reqwest::Client::new();
    let mut languages: BTreeMap<String, u64> = BTreeMap::new();
    for q in ["Menschenrechte", "人权", "свобода", "*"] {
        let answer: Value = client
            .get(format!("{url}/v1/search"))
            .query(&[("q", q), ("facets", "true")])
            .send()
            .await
            .expect("search")
            .json()
            .await
            .expect("JSON");
        assert!(
            answer["total"].as_u64().unwrap_or(0) > 0,
            "demo query {q} found nothing: {answer}"
        );
        if q == "*" {
            languages = serde_json::from_value(answer["languages"].clone()).expect("facets");
        }
    }
    assert!(
        languages.len() >= 15,
        "sample has fewer than 15 languages: {languages:?}"
    );
    let logged = std::fs::read_to_string(&log).expect("read the log");
    let slow = logged
        .lines()
        .find(|line| line.contains("slow search"))
        .unwrap_or_else(|| panic!("no slow-search line in:\n{logged}"));
    assert!(
        slow.contains("Menschenrechte") && slow.contains("embedded"),
        "{slow}"
    );
    for lang in ["zh", "ja", "ko", "ar", "ru", "hi"] {
        assert!(
            languages.contains_key(lang),
            "sample lacks {lang}: {languages:?}"
        );
    }
    assert!(terminate(&mut child).success());
}

#[test]
fn detect_command_and_help() {
    let output = glossa()
        .args([
            "detect",
            "Der schnelle braune Fuchs springt über den faulen Hund",
        ])
        .output()
        .expect("run detect");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(stdout.starts_with("de "), "{stdout}");
    assert!(stdout.contains("confidence"), "{stdout}");
    for sub in ["serve", "ingest", "detect", "demo", "dlq"] {
        let output = glossa().args([sub, "--help"]).output().expect("help");
        assert!(output.status.success(), "{sub} --help failed");
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("--data-dir"),
            "{sub} --help"
        );
    }
}

#[test]
fn dead_letters_replay_once_their_cause_is_fixed() {
    let dir = tempdir();
    let data = dir.path().join("data");
    let data_arg = data.display().to_string();
    let input = dir.path().join("in.ndjson");
    let long_body = "Ein langer Satz über die Rechte aller Menschen. ".repeat(10);
    std::fs::write(
        &input,
        format!(
            "{{\"id\":\"short\",\"title\":\"Kurz\"}}\n{{\"id\":\"long\",\"body\":\"{long_body}\"}}\nnot json\n{{\"id\":\"gone\",\"body\":\"{long_body}\"}}\n"
        ),
    )
    .expect("write input");
    let limits = "[limits]\nmax_record_bytes = 300\n";
    let ingest = ingest_with_config(dir.path(), limits, &input)
        .output()
        .expect("run ingest");
    let stdout = String::from_utf8_lossy(&ingest.stdout);
    assert!(
        stdout.contains("rejected too_large: 2") && stdout.contains("rejected not_json: 1"),
        "{stdout}"
    );
    assert_eq!(count_docs(&data), 1);
    // `gone` is deleted after its letter was written: the replay must not bring it back.
    let deletes = dir.path().join("deletes.ndjson");
    std::fs::write(&deletes, "{\"id\":\"gone\",\"_delete\":true}\n").expect("write deletes");
    let ingest = ingest_with_config(dir.path(), limits, &deletes)
        .output()
        .expect("run ingest");
    assert!(ingest.status.success());
    let list = glossa()
        .args(["--data-dir", &data_arg, "dlq", "list"])
        .output()
        .expect("dlq list");
    assert_eq!(
        String::from_utf8_lossy(&list.stdout).lines().count(),
        3,
        "a delete's record is listed as a dead letter"
    );

    // With the default (larger) record limit the long record goes in; the broken one stays.
    let replay = glossa()
        .args(["--data-dir", &data_arg, "dlq", "replay"])
        .output()
        .expect("replay");
    let stdout = String::from_utf8_lossy(&replay.stdout);
    assert!(
        replay.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    assert!(
        stdout.contains("replayed 2 dead letters: 1 indexed, 1 still failing"),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 dead letters were dropped: their documents were deleted"),
        "{stdout}"
    );
    assert_eq!(count_docs(&data), 2);
    let letters = glossa::dlq::read_all(&data).expect("dead letters");
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].rejection.reason, "not_json");
    assert_eq!(
        letters[0].rejection.position.line, 3,
        "a replayed letter keeps its original position"
    );
    let leftovers = std::fs::read_dir(&data)
        .expect("data dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains("replaying"))
        .count();
    assert_eq!(leftovers, 0, "replay files left behind");
}

#[test]
fn bulk_ingest_commits_on_the_interval_while_records_keep_coming() {
    let dir = tempdir();
    let input = dir.path().join("many.ndjson");
    let mut body = String::new();
    let lines: Vec<&str> = FIXTURE.lines().collect();
    for n in 0..20_000 {
        let mut record: Value = serde_json::from_str(lines[n % lines.len()]).expect("fixture");
        let lang = record["id"]
            .as_str()
            .and_then(|id| id.split('-').next())
            .map(str::to_string);
        record["id"] = json!(format!("bulk-{n}"));
        // Hinted, so detection is skipped and chunks reach the sink faster than the interval:
        // then only the age check (not an idle timeout) can trigger a commit mid-stream.
        record["lang"] = json!(lang);
        body.push_str(&record.to_string());
        body.push('\n');
    }
    std::fs::write(&input, body).expect("write input");
    let config = "[pipeline]\ncommit_interval_ms = 100\ncommit_docs = 10000000\n";
    let output = ingest_with_config(dir.path(), config, &input)
        .env("RUST_LOG", "info")
        .output()
        .expect("run ingest");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let commits: u64 = stderr
        .split("commits=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no commit count in the log: {stderr}"));
    // 20,000 records take well over a second; a 100 ms interval must have committed along the
    // way (acknowledging records as it goes), not only once at the end.
    assert!(commits >= 2, "only {commits} commit(s): {stderr}");
    assert_eq!(count_docs(&dir.path().join("data")), 20_000);
}

#[test]
fn ingest_never_waits_for_the_commit_interval_when_the_pipeline_is_full() {
    // A commit interval far longer than the test and a count trigger that never fires: only
    // "half the in-flight room is waiting on a commit" can keep the load moving.
    let config = "[pipeline]\ncommit_interval_ms = 3600000\ncommit_docs = 10000000\nmax_in_flight_records = 1000\nchunk_records = 100\n";
    ingest_records_within_120_s(5_000, config);
}

#[test]
fn ingest_commits_its_last_records_at_the_end_of_its_input_not_at_the_interval() {
    // A commit interval far longer than the test, and too few records for any other trigger:
    // only the end of the input can have them committed (and the command finish).
    ingest_records_within_120_s(37, "[pipeline]\ncommit_interval_ms = 3600000\n");
}

/// Ingests `count` generated records with `config`; fails the test unless the command succeeds
/// within 120 s with all of them indexed.
fn ingest_records_within_120_s(count: usize, config: &str) {
    let dir = tempdir();
    let input = dir.path().join("records.ndjson");
    let body: String = (0..count)
        .map(|n| format!("{{\"id\":\"r-{n}\",\"title\":\"record number {n}\",\"lang\":\"en\"}}\n"))
        .collect();
    std::fs::write(&input, body).expect("write input");
    let mut child = Running(
        ingest_with_config(dir.path(), config, &input)
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn ingest"),
    );
    let mut status = None;
    for _ in 0..1200 {
        if let Ok(Some(done)) = child.0.try_wait() {
            status = Some(done);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = status.expect("ingest stalled: still running after 120 s");
    assert!(status.success());
    assert_eq!(count_docs(&dir.path().join("data")), count as u64);
}

#[tokio::test(flavor = "multi_thread")]
async fn embedded_writes_of_one_id_land_in_the_order_they_were_sent() {
    let dir = tempdir();
    let mut config = test_config(dir.path());
    conformance::many_small_chunks(&mut config);
    let server = TestServer::start(config).await;
    conformance::writes_of_one_id_land_in_the_order_they_were_sent(&server).await;
    server.stop().await;
}

/// Each source learns its own languages: in one `glossa ingest` of two files, the same short
/// record is stored as Danish from the file of Danish documents and as Nynorsk from the file of
/// Nynorsk ones (one prior for both would give both the same language).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_source_weighs_short_records_by_its_own_languages() {
    let dir = tempdir();
    let files: Vec<String> = [("danish", "da"), ("nynorsk", "nn")]
        .iter()
        .map(|(name, lang)| {
            let path = dir.path().join(format!("{name}.ndjson"));
            let mut lines: String = (0..150)
                .map(|i| {
                    let record = json!({"id": format!("{name}-{i}"), "body": format!("Dokument {i}"), "lang": lang});
                    format!("{record}\n")
                })
                .collect();
            lines.push_str(&format!(
                "{}\n",
                json!({"id": format!("{name}-short"), "body": "Skal vi gå en tur"})
            ));
            std::fs::write(&path, lines).expect("write records");
            path.display().to_string()
        })
        .collect();
    // One chunk per file, so each file's documents are counted before its short record.
    let config = dir.path().join("glossa.toml");
    std::fs::write(&config, "[pipeline]\nchunk_records = 1000\n").expect("write config");
    let data = dir.path().join("data");
    let output = glossa()
        .args(["--config", &config.display().to_string()])
        .args(["--data-dir", &data.display().to_string(), "ingest"])
        .args(&files)
        .output()
        .expect("run glossa ingest");
    assert!(output.status.success(), "{output:?}");
    let server = TestServer::start(test_config(&data)).await;
    for (id, lang) in [("danish-short", "da"), ("nynorsk-short", "nn")] {
        let (status, doc) = server.get(&format!("/v1/documents/{id}")).await;
        assert_eq!(status, 200, "{doc}");
        assert_eq!(doc["lang"], lang, "{id}: {doc}");
    }
    server.stop().await;
}

/// Short records are weighed by the languages the stream has shown: after 150 long Danish and
/// English documents, "Skal vi gå en tur" (Nynorsk to lingua alone) is stored as Danish; with
/// `detect.short_text_prior = "off"` it is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_records_are_weighed_by_the_languages_of_the_stream() {
    use glossa::config::ShortTextPrior;
    let danish = "Alle mennesker er født frie og lige i værdighed og rettigheder. De er udstyret \
        med fornuft og samvittighed, og de bør handle mod hverandre i en broderskabets ånd. \
        Enhver har krav på alle de rettigheder og friheder, som nævnes i denne erklæring.";
    let english = "All human beings are born free and equal in dignity and rights. They are \
        endowed with reason and conscience and should act towards one another in a spirit of \
        brotherhood. Everyone is entitled to all the rights and freedoms set forth here.";
    for (setting, expect_danish) in [
        (ShortTextPrior::Learned, true),
        (ShortTextPrior::Off, false),
    ] {
        let dir = tempdir();
        let mut config = test_config(dir.path());
        config.detect.short_text_prior = setting;
        let server = TestServer::start(config).await;
        let long: String = (0..150)
            .map(|i| {
                let body = if i % 2 == 0 { danish } else { english };
                format!("{}\n", json!({"id": format!("long-{i}"), "body": body}))
            })
            .collect();
        let (status, answer) = server.post(long).await;
        assert_eq!(status, 200, "{answer}");
        let short = json!({"id": "short", "body": "Skal vi gå en tur"}).to_string();
        let (status, answer) = server.post(short).await;
        assert_eq!(status, 200, "{answer}");
        let (status, doc) = server.get("/v1/documents/short").await;
        assert_eq!(status, 200, "{doc}");
        assert_eq!(doc["lang"] == "da", expect_danish, "{setting:?}: {doc}");
        server.stop().await;
    }
}

#[test]
fn plan_measures_the_sample_as_an_ingest_of_it_stores_it_and_leaves_nothing_behind() {
    let dir = tempdir();
    let untouched = dir.path().join("data");
    let child = glossa()
        .args([
            "--data-dir",
            &untouched.display().to_string(),
            "plan",
            "--documents",
            "100M",
            "--replicas",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run glossa plan");
    let pid = child.id();
    let output = child.wait_with_output().expect("glossa plan output");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "plan failed: {report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for part in [
        "primary shards",
        "data nodes",
        "cluster managers",
        "Glossa workers",
        "Kafka partitions",
        "one full reindex",
        "Embedded backend on this machine",
    ] {
        assert!(report.contains(part), "{part:?} missing:\n{report}");
    }
    // What plan measured per document is what ingesting the same records stores.
    let per_doc = plan_figure(&report, "Sample:");
    assert_eq!(per_doc, 744.0, "{report}");
    let bytes_per_doc = plan_figure(&report, "bytes per document on disk (embedded)");
    let ingested = dir.path().join("ingested");
    let status = glossa()
        .args([
            "--data-dir",
            &ingested.display().to_string(),
            "ingest",
            concat!(env!("CARGO_MANIFEST_DIR"), "/data/sample/udhr.ndjson"),
        ])
        .output()
        .expect("run ingest");
    assert!(status.status.success());
    let stored = dir_bytes(&ingested.join("index")) as f64 / 744.0;
    assert!(
        (0.75..1.33).contains(&(bytes_per_doc / stored)),
        "plan measured {bytes_per_doc} bytes per document, an ingest of the sample stores {stored}"
    );
    // The projection is that size times the target, and the embedded estimate the same bytes.
    let primary = plan_figure(&report, "primary data");
    assert!(
        (primary / (bytes_per_doc * 1e8) - 1.0).abs() < 0.01,
        "{primary} for 100M documents of {bytes_per_doc} bytes:\n{report}"
    );
    let embedded = plan_figure(&report, "index size");
    assert!((embedded / primary - 1.0).abs() < 0.01, "{report}");
    // The scratch directory is gone and the configured data directory was never written.
    let scratch = std::env::temp_dir().join(format!("glossa-plan-{pid}"));
    assert!(!scratch.exists(), "{} left behind", scratch.display());
    assert!(!untouched.exists(), "plan wrote into the data directory");

    let refused = glossa()
        .args(["plan", "--documents", "lots"])
        .output()
        .expect("run plan");
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("100M"), "{message}");
}
