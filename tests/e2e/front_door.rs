//! The front door, as a hostile or careless client meets it: API keys and scopes, revocation,
//! rate limits, TLS, browser origins, slow and idle connections, connection floods, bounded
//! disk, and malformed requests that must get a JSON error without hurting anything else.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::*;

/// `glossa keys create` through the real binary: the key on stdout.
fn create_key(args: &[&str], scopes: &str, name: &str, extra: &[&str]) -> String {
    let output = glossa()
        .args(args)
        .args(["keys", "create", "--scope", scopes, "--name", name])
        .args(extra)
        .output()
        .expect("run glossa keys create");
    assert!(
        output.status.success(),
        "keys create: {}",
        text(&output.stderr)
    );
    let key = text(&output.stdout).trim().to_string();
    assert!(key.starts_with("glossa_"), "unexpected key output {key:?}");
    key
}

/// The command-line arguments that point `glossa keys` at a test config's cluster.
fn cluster_args(config: &glossa::config::Config) -> Vec<String> {
    [
        "--backend",
        "opensearch",
        "--opensearch-urls",
        &config.opensearch.urls.join(","),
        "--opensearch-index",
        &config.opensearch.index,
        "--data-dir",
        &config.data_dir.display().to_string(),
    ]
    .map(str::to_string)
    .to_vec()
}

fn keys(args: &[&str], command: &[&str]) -> Output {
    glossa()
        .args(args)
        .arg("keys")
        .args(command)
        .output()
        .expect("run glossa keys")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn send(request: reqwest::RequestBuilder) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

fn write_config(dir: &Path, toml: &str) -> String {
    let path = dir.join("glossa.toml");
    std::fs::write(&path, toml).expect("write config");
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_scopes_revocation_and_rates_through_the_real_binary() {
    let dir = tempdir();
    let data = dir.path().join("data");
    let config = write_config(
        dir.path(),
        "[auth]\nrefresh_seconds = 1\n[pipeline]\ncommit_interval_ms = 100\nwriter_memory_mb = 32\n",
    );
    let base_args = ["--data-dir", data.to_str().unwrap(), "--config", &config];
    let reader = create_key(&base_args, "search", "reader", &["--rate", "3"]);
    let writer = create_key(&base_args, "ingest", "writer", &[]);
    let operator = create_key(&base_args, "admin", "ops", &[]);
    let stored = std::fs::read_to_string(data.join("api-keys.json")).expect("key store");
    for key in [&reader, &writer, &operator] {
        let secret = &key[20..];
        assert!(!stored.contains(secret), "a key's secret is in the store");
    }

    let mut child = Running(
        glossa()
            .args(base_args)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn serve"),
    );
    let base = wait_for_serving(&mut child.0, Duration::from_secs(120));
    let client = reqwest::Client::new();
    let documents = format!("{base}/v1/documents");
    let search = format!("{base}/v1/search?q=Altstadt");

    // No key: 401 with the JSON error shape and a Bearer challenge; nothing is indexed.
    let (status, headers, body) = send(client.post(&documents).body(FIXTURE)).await;
    assert_eq!(status, 401, "{body}");
    assert!(headers
        .get("www-authenticate")
        .is_some_and(|v| v.to_str().unwrap().starts_with("Bearer")));
    assert!(error_message(&body).contains("`ingest` scope"), "{body}");
    // A key of the wrong scope: 403 naming the scope needed.
    let (status, _, body) = send(client.post(&documents).bearer_auth(&reader).body(FIXTURE)).await;
    assert_eq!(status, 403, "{body}");
    assert!(error_message(&body).contains("needs `ingest`"), "{body}");
    // A made-up key: 401.
    let forged = format!("glossa_{}_AAAA", &reader[7..19]);
    let (status, _, body) = send(client.get(&search).bearer_auth(&forged)).await;
    assert_eq!(status, 401, "{body}");
    // The right keys work.
    let (status, _, body) = send(client.post(&documents).bearer_auth(&writer).body(FIXTURE)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"], fixture_ids().len(), "{body}");
    let (status, _, body) = send(client.get(&search).bearer_auth(&reader)).await;
    assert_eq!(status, 200, "{body}");
    assert!(!hit_ids(&body).is_empty(), "{body}");
    // Reading a document by id is a search; an ingest-only key cannot read.
    let by_id = format!("{base}/v1/documents/de-1");
    let (status, _, body) = send(client.get(&by_id).bearer_auth(&writer)).await;
    assert_eq!(status, 403, "{body}");
    let (status, _, body) = send(client.get(&by_id).bearer_auth(&reader)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], "de-1", "{body}");
    // Deleting is a write: a search-only key cannot.
    let (status, _, body) = send(client.delete(&by_id).bearer_auth(&reader)).await;
    assert_eq!(status, 403, "{body}");
    // Health is open; metrics need the metrics (or admin) scope.
    let (status, _, _) = send(client.get(format!("{base}/healthz"))).await;
    assert_eq!(status, 200);
    let (status, _, _) = send(client.get(format!("{base}/metrics")).bearer_auth(&writer)).await;
    assert_eq!(status, 403);

    // Over the reader's 3 requests per second: 429 with Retry-After.
    let mut limited = None;
    for _ in 0..10 {
        let (status, headers, body) = send(client.get(&search).bearer_auth(&reader)).await;
        if status == 429 {
            limited = Some((headers, body));
            break;
        }
        assert_eq!(status, 200, "{body}");
    }
    let (headers, body) = limited.expect("10 requests at once stayed under a rate of 3/s");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    assert!(
        error_message(&body).contains("3 requests per second"),
        "{body}"
    );

    let metrics = client
        .get(format!("{base}/metrics"))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status().as_u16(), 200);
    let metrics = metrics.text().await.unwrap();
    let counted = |key: &str, outcome: &str| {
        metrics.lines().any(|l| {
            l.starts_with("glossa_api_requests_total")
                && l.contains(&format!("key=\"{key}\""))
                && l.contains(&format!("outcome=\"{outcome}\""))
        })
    };
    assert!(
        counted("reader", "rate_limited")
            && counted("reader", "forbidden")
            && counted("writer", "allowed"),
        "{metrics}"
    );

    // Revoked: refused within the refresh interval, without restarting the server.
    let output = keys(&base_args, &["revoke", "reader"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (status, _, body) = send(client.get(&search).bearer_auth(&reader)).await;
        if status == 401 {
            assert!(error_message(&body).contains("revoked"), "{body}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a revoked key still works after 15 s: {status} {body}"
        );
    }
    let listed = text(&keys(&base_args, &["list"]).stdout);
    assert!(
        listed
            .lines()
            .any(|l| l.contains("reader") && l.contains("REVOKED")),
        "{listed}"
    );
    assert!(!listed.contains(&reader[20..]), "list shows a secret");
}

#[tokio::test(flavor = "multi_thread")]
async fn network_addresses_need_keys_and_tls_round_trips() {
    let dir = tempdir();
    let data = dir.path().join("data");
    let data_arg = data.display().to_string();
    // No key, a network address, no --insecure-no-auth: refused, saying what to do.
    let output = glossa()
        .args(["--data-dir", &data_arg, "serve", "--listen", "0.0.0.0:0"])
        .output()
        .expect("run serve");
    assert!(
        !output.status.success(),
        "serve on 0.0.0.0 without keys started"
    );
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("without authentication") && stderr.contains("--insecure-no-auth"),
        "{stderr}"
    );

    let cert = dir.path().join("cert.pem");
    let key_file = dir.path().join("key.pem");
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "extendedKeyUsage=serverAuth"])
        .arg("-keyout")
        .arg(&key_file)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("run openssl");
    assert!(made.status.success(), "openssl: {}", text(&made.stderr));
    let key = create_key(
        &["--data-dir", &data_arg],
        "ingest,search",
        "tls-client",
        &[],
    );
    let mut child = Running(
        glossa()
            .args(["--data-dir", &data_arg, "serve", "--listen", "127.0.0.1:0"])
            .arg("--tls-cert")
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key_file)
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn serve"),
    );
    let base = wait_for_serving(&mut child.0, Duration::from_secs(120));
    assert!(base.starts_with("https://"), "{base}");
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let (status, _, body) = send(
        client
            .post(format!("{base}/v1/documents"))
            .bearer_auth(&key)
            .body(r#"{"id":"tls-1","title":"Über TLS geschützte Dokumente werden indexiert"}"#),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = send(
        client
            .get(format!("{base}/v1/search?q=geschützte"))
            .bearer_auth(&key),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(hit_ids(&body), vec!["tls-1"], "{body}");
    let (status, _, body) = send(client.get(format!("{base}/v1/search?q=geschützte"))).await;
    assert_eq!(
        status, 401,
        "the bootstrap key did not close the server: {body}"
    );
    // Plain HTTP on the TLS port gets no answer.
    let plain = base.replace("https://", "http://");
    let answer = reqwest::Client::new()
        .get(format!("{plain}/healthz"))
        .send()
        .await;
    assert!(answer.is_err() || !answer.unwrap().status().is_success());
}

/// A server with the given front-door settings and no keys, on loopback.
async fn local_server(dir: &Path, edit: impl FnOnce(&mut glossa::config::Config)) -> TestServer {
    let mut config = test_config(dir);
    edit(&mut config);
    TestServer::start(config).await
}

#[tokio::test(flavor = "multi_thread")]
async fn browsers_on_other_origins_and_rebinding_hosts_cannot_write() {
    let dir = tempdir();
    let server = local_server(dir.path(), |c| {
        c.server.cors_allowed_origins = vec!["https://search.example.com".into()];
    })
    .await;
    let documents = format!("{}/v1/documents", server.base);
    let record = r#"{"id":"cross-1","title":"Ein Dokument, das niemand schreiben durfte"}"#;
    // A simple cross-origin POST (text/plain needs no preflight): refused, nothing written.
    let (status, _, body) = send(
        server
            .client
            .post(&documents)
            .header("origin", "http://evil.example")
            .header("content-type", "text/plain")
            .body(record),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        error_message(&body).contains("cors_allowed_origins"),
        "{body}"
    );
    // A DNS-rebinding page reaches the loopback server under its own host name.
    let (status, _, body) = send(
        server
            .client
            .post(&documents)
            .header("host", "evil.example:8080")
            .body(record),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (_, health) = server.get("/healthz").await;
    assert_eq!(
        health["documents"], 0,
        "a refused write was indexed: {health}"
    );
    // An allowed origin gets its preflight answered and may write.
    let preflight = server
        .client
        .request(reqwest::Method::OPTIONS, &documents)
        .header("origin", "https://search.example.com")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap()),
        Some("https://search.example.com")
    );
    let (status, _, body) = send(
        server
            .client
            .post(&documents)
            .header("origin", "https://search.example.com")
            .header("content-type", "application/x-ndjson")
            .body(record),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    server.stop().await;
}

/// Reads what the server sends until it closes the connection or `limit` passes.
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, bool) {
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return (text(&received), true),
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(_) => return (text(&received), false),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_bodies_idle_sockets_and_connection_floods_are_cut_off() {
    let dir = tempdir();
    let server = local_server(dir.path(), |c| {
        c.server.header_read_timeout_seconds = 1;
        c.server.body_read_timeout_seconds = 2;
        c.server.max_connections = 3;
    })
    .await;
    let addr = server.base.trim_start_matches("http://").to_string();
    let base = server.base.clone();
    tokio::task::spawn_blocking(move || {
        // A body that never finishes: 408 with the JSON error, then the connection closes.
        let mut slow = TcpStream::connect(&addr).unwrap();
        write!(slow, "POST /v1/documents HTTP/1.1\r\nhost: localhost\r\ncontent-length: 1000\r\n\r\n{{\"title\":").unwrap();
        let started = Instant::now();
        let (answer, _) = read_until_closed(&mut slow, Duration::from_secs(10));
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("body_read_timeout_seconds"), "{answer}");
        assert!(started.elapsed() < Duration::from_secs(8));
        // A socket that sends nothing is closed after the header timeout.
        let mut idle = TcpStream::connect(&addr).unwrap();
        let started = Instant::now();
        let (_, closed) = read_until_closed(&mut idle, Duration::from_secs(10));
        assert!(closed && started.elapsed() < Duration::from_secs(5), "idle socket open after {:?}", started.elapsed());
        // Three connections held open: the next one gets a JSON 503 at once. Under a loaded
        // machine the server may not have accepted all three yet when the fourth arrives (it
        // is then served): the fourth is retried until the three are counted.
        let held: Vec<TcpStream> = (0..3).map(|_| TcpStream::connect(&addr).unwrap()).collect();
        let deadline = Instant::now() + Duration::from_secs(10);
        let answer = loop {
            std::thread::sleep(Duration::from_millis(200));
            let mut extra = TcpStream::connect(&addr).unwrap();
            let _ = write!(extra, "GET /healthz HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n");
            let (answer, _) = read_until_closed(&mut extra, Duration::from_secs(5));
            if answer.starts_with("HTTP/1.1 503") || Instant::now() > deadline {
                break answer;
            }
        };
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
        assert!(answer.contains("server.max_connections"), "{answer}");
        drop(held);
    })
    .await
    .unwrap();
    // Once those are gone (closed by the header timeout), the server answers again.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let health = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_requests_get_json_errors_and_gzip_bodies_are_read() {
    let dir = tempdir();
    let server = local_server(dir.path(), |_| {}).await;
    let client = &server.client;
    let base = &server.base;
    // 405 and 414 in the JSON error shape.
    let (status, _, body) = send(client.delete(format!("{base}/v1/documents"))).await;
    assert_eq!(status, 405, "{body}");
    assert!(error_message(&body).contains("use POST"), "{body}");
    let long = "a".repeat(20_000);
    let (status, _, body) = send(client.get(format!("{base}/v1/search?q={long}"))).await;
    assert_eq!(status, 414, "{body}");
    assert!(
        error_message(&body).contains("server.max_uri_bytes"),
        "{body}"
    );
    // A gzip body is read; an encoding the server does not know is a 415.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(
        r#"{"id":"gz-1","title":"Komprimierte Datensätze kommen unversehrt an","a.b":"dotted","nested":{"n":7}}"#
            .as_bytes(),
    )
    .unwrap();
    let (status, _, body) = send(
        client
            .post(format!("{base}/v1/documents"))
            .header("content-encoding", "gzip")
            .body(gz.finish().unwrap()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"], 1, "{body}");
    let (status, _, body) = send(
        client
            .post(format!("{base}/v1/documents"))
            .header("content-encoding", "br")
            .body("x"),
    )
    .await;
    assert_eq!(status, 415, "{body}");
    // A field name with a dot filters by that name; nested fields by their path.
    for (filter, value) in [("filter.a.b", "dotted"), ("filter.nested.n", "7")] {
        let answer = server.search(&[("q", "Datensätze"), (filter, value)]).await;
        assert_eq!(hit_ids(&answer), vec!["gz-1"], "{filter}: {answer}");
    }
    // NaN is not a bound that matches everything.
    let (status, body) = server
        .get("/v1/search?q=Datens%C3%A4tze&filter.nested.n.gte=NaN")
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(error_message(&body).contains("finite numbers"), "{body}");
    // A 30-digit id is refused with a message that says how to send it.
    let (status, body) = server
        .post(r#"{"id":123456789012345678901234567890,"title":"Zu lange Nummer"}"#)
        .await;
    assert_eq!(status, 200, "{body}");
    let message = body["rejected"][0]["message"].as_str().unwrap_or("");
    assert!(message.contains("as strings"), "{body}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_dead_letter_queue_or_disk_refuses_and_loses_nothing() {
    let dir = tempdir();
    let server = local_server(dir.path(), |c| {
        c.dlq.max_file_bytes = 2 * 1024 * 1024;
        c.dlq.max_files = 2;
    })
    .await;
    // Bad records of 700 kB each: a 2 MiB segment holds two, two segments hold four.
    let bad = format!("{{\"title\": \"{}\"", "x".repeat(700 * 1024));
    let mut letters = 0;
    let refusal = loop {
        let body = format!("{{\"id\":\"ok-{letters}\",\"title\":\"Gültiger Datensatz neben einem kaputten\"}}\n{bad}\n");
        let (status, answer) = server.post(body).await;
        if status != 200 {
            break (status, answer);
        }
        assert_eq!(
            answer["rejected"].as_array().map(Vec::len),
            Some(1),
            "{answer}"
        );
        letters += 1;
        assert!(letters < 20, "the dead-letter queue never filled");
    };
    assert_eq!(letters, 4, "two segments of two letters each");
    assert_eq!(refusal.0, 503, "{}", refusal.1);
    assert!(
        error_message(&refusal.1).contains("dead-letter queue"),
        "{}",
        refusal.1
    );
    assert!(
        error_message(&refusal.1).contains("dlq.max_files"),
        "{}",
        refusal.1
    );
    // Every letter acknowledged before is still there; good records still go in.
    let stored = glossa::dlq::read_all(dir.path()).unwrap();
    assert_eq!(
        stored.len(),
        letters,
        "a dead letter was dropped to make room"
    );
    let (status, answer) = server
        .post(r#"{"id":"clean","title":"Sauberer Datensatz ohne Fehler"}"#)
        .await;
    assert_eq!(status, 200, "{answer}");
    server.stop().await;

    // A disk under limits.min_free_disk_mb: ingest refused with 503 naming it; search goes on.
    let dir = tempdir();
    let server = local_server(dir.path(), |c| {
        c.limits.min_free_disk_mb = u64::MAX / (4 << 20)
    })
    .await;
    let (status, answer) = server
        .post(r#"{"id":"d","title":"Kein Platz mehr auf der Platte"}"#)
        .await;
    assert_eq!(status, 503, "{answer}");
    assert!(
        error_message(&answer).contains("limits.min_free_disk_mb"),
        "{answer}"
    );
    let (status, _) = server.get("/v1/search?q=Platte").await;
    assert_eq!(status, 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the OpenSearch cluster of scripts/test.sh"]
async fn opensearch_keys_are_shared_by_every_worker() {
    let dir = tempdir();
    let mut config = crate::opensearch::opensearch_config(dir.path(), "keys");
    config.auth.refresh_seconds = 1;
    let args = cluster_args(&config);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let key = create_key(&args, "search", "shared", &[]);
    assert!(
        !dir.path().join("api-keys.json").exists(),
        "an OpenSearch deployment's keys went to a file"
    );
    let workers = [
        crate::opensearch::start(config.clone()).await,
        crate::opensearch::start(config.clone()).await,
    ];
    for worker in &workers {
        let url = format!("{}/v1/search?q=Menschenrechte", worker.base);
        let (status, _, body) = send(worker.client.get(&url).bearer_auth(&key)).await;
        assert_eq!(status, 200, "{body}");
        let (status, _, body) = send(worker.client.get(&url)).await;
        assert_eq!(status, 401, "{body}");
    }
    let output = keys(&args, &["revoke", "shared"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    tokio::time::sleep(Duration::from_secs(3)).await;
    for worker in &workers {
        let url = format!("{}/v1/search?q=Menschenrechte", worker.base);
        let (status, _, body) = send(worker.client.get(&url).bearer_auth(&key)).await;
        assert_eq!(status, 401, "worker still takes a revoked key: {body}");
    }
    for worker in workers {
        worker.stop().await;
    }
}

/// An RSA key made by openssl for this test, as a signing key and a one-key JWKS document.
fn rsa_signing_key(dir: &Path, kid: &str) -> (jsonwebtoken::EncodingKey, Value) {
    let pem = dir.join(format!("{kid}.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&pem)
        .output()
        .expect("run openssl");
    assert!(made.status.success(), "openssl: {}", text(&made.stderr));
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(&std::fs::read(&pem).unwrap()).unwrap();
    let mut jwk =
        jsonwebtoken::jwk::Jwk::from_encoding_key(&key, jsonwebtoken::Algorithm::RS256).unwrap();
    jwk.common.key_id = Some(kid.to_string());
    (key, serde_json::to_value(jwk).unwrap())
}

fn token(key: &jsonwebtoken::EncodingKey, kid: &str, claims: Value) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(kid.to_string());
    jsonwebtoken::encode(&header, &claims, key).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn identity_provider_tokens_are_checked_like_keys() {
    let dir = tempdir();
    let (key, jwk) = rsa_signing_key(dir.path(), "k1");
    let (stranger, _) = rsa_signing_key(dir.path(), "k2");
    let jwks = dir.path().join("jwks.json");
    std::fs::write(&jwks, serde_json::json!({"keys": [jwk]}).to_string()).unwrap();
    let server = local_server(dir.path(), |c| {
        c.auth.jwt = Some(glossa::config::JwtSettings {
            issuer: "https://idp.example".into(),
            audience: vec!["glossa".into()],
            jwks_file: jwks.clone(),
            scopes_claim: "scope".into(),
            scope_prefix: "glossa/".into(),
            name_claim: "sub".into(),
            tenant_claim: Some("org".into()),
        });
    })
    .await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = |aud: &str, exp: u64| {
        serde_json::json!({"iss": "https://idp.example", "aud": aud, "exp": exp, "sub": "alice",
            "scope": "openid glossa/search", "org": "acme"})
    };
    let search = format!("{}/v1/search?q=Altstadt", server.base);
    let documents = format!("{}/v1/documents", server.base);
    let client = &server.client;
    // A token configured: even a loopback server needs credentials.
    let (status, _, body) = send(client.get(&search)).await;
    assert_eq!(status, 401, "{body}");
    let good = token(&key, "k1", claims("glossa", now + 300));
    let (status, _, body) = send(client.get(&search).bearer_auth(&good)).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = send(client.post(&documents).bearer_auth(&good).body("{}")).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        error_message(&body).contains("`alice`") && error_message(&body).contains("needs `ingest`"),
        "{body}"
    );
    let hmac = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims("glossa", now + 300),
        &jsonwebtoken::EncodingKey::from_secret(b"anything"),
    )
    .unwrap();
    for (what, bad, says) in [
        (
            "another audience",
            token(&key, "k1", claims("someone-else", now + 300)),
            "InvalidAudience",
        ),
        (
            "expired",
            token(&key, "k1", claims("glossa", now - 3600)),
            "ExpiredSignature",
        ),
        (
            "signed by a stranger",
            token(&stranger, "k1", claims("glossa", now + 300)),
            "InvalidSignature",
        ),
        (
            "an unknown key id",
            token(&stranger, "k2", claims("glossa", now + 300)),
            "\"k2\" is not in auth.jwt.jwks_file",
        ),
        ("HMAC", hmac, "not accepted"),
        (
            "not a token",
            "abc.def.ghi".to_string(),
            "neither an API key nor a JWT",
        ),
    ] {
        let (status, _, body) = send(client.get(&search).bearer_auth(&bad)).await;
        assert_eq!(status, 401, "{what}: {body}");
        assert!(error_message(&body).contains(says), "{what}: {body}");
    }

    // The `org` claim (auth.jwt.tenant_claim) confines a token like a tenant key.
    let writer = |org: Option<&str>| {
        let mut claims = serde_json::json!({"iss": "https://idp.example", "aud": "glossa",
            "exp": now + 300, "sub": "etl", "scope": "glossa/ingest glossa/search"});
        if let Some(org) = org {
            claims["org"] = org.into();
        }
        token(&key, "k1", claims)
    };
    let (status, _, body) = send(
        client
            .post(&documents)
            .bearer_auth(writer(Some("acme")))
            .body(r#"{"id":"t1","title":"Die Altstadt von Tallinn ist alt"}"#),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, _, body) = send(client.get(&search).bearer_auth(writer(Some("acme")))).await;
    assert_eq!(hit_ids(&body), ["t1"], "{body}");
    assert_eq!(body["hits"][0]["source"]["tenant"], "acme", "{body}");
    let (_, _, body) = send(client.get(&search).bearer_auth(writer(Some("globex")))).await;
    assert!(
        hit_ids(&body).is_empty(),
        "another tenant's token read it: {body}"
    );
    let (status, _, body) = send(client.get(&search).bearer_auth(writer(None))).await;
    assert_eq!(status, 401, "{body}");
    assert!(error_message(&body).contains("no `org` claim"), "{body}");
    server.stop().await;
}

/// The keys of the tenant test: two tenants' writers-and-readers and an unscoped operator.
struct TenantKeys {
    acme: String,
    globex: String,
    operator: String,
}

fn tenant_keys(args: &[&str]) -> TenantKeys {
    let refused = glossa()
        .args(args)
        .args(["keys", "create", "--scope", "admin", "--tenant", "acme"])
        .output()
        .expect("run glossa keys create");
    assert!(!refused.status.success(), "an admin key was confined");
    assert!(
        text(&refused.stderr).contains("cannot have the admin scope"),
        "{}",
        text(&refused.stderr)
    );
    TenantKeys {
        acme: create_key(args, "ingest,search", "acme-app", &["--tenant", "acme"]),
        globex: create_key(args, "ingest,search", "globex-app", &["--tenant", "globex"]),
        operator: create_key(args, "ingest,search", "operator", &[]),
    }
}

/// Two tenants write the same ids into one index: each reads, fetches and deletes only its
/// own documents, sees its own ids, and cannot write into the other's.
async fn tenants_are_confined(server: &TestServer, keys: &TenantKeys) {
    let post = |key: &str, body: &str| {
        server
            .client
            .post(format!("{}/v1/documents", server.base))
            .bearer_auth(key)
            .body(body.to_string())
    };
    let acme_records = concat!(
        r#"{"id":"1","title":"Der Mietvertrag für die Wohnung in Berlin"}"#,
        "\n",
        r#"{"id":"2","title":"Ein Mietvertrag für die Garage in Berlin"}"#,
        "\n",
    );
    let (status, _, answer) = send(post(&keys.acme, acme_records)).await;
    assert_eq!(
        (status, answer["accepted"].as_u64()),
        (200, Some(2)),
        "{answer}"
    );
    let (status, _, answer) = send(post(
        &keys.globex,
        r#"{"id":"1","title":"Der Mietvertrag für das Büro in Hamburg"}"#,
    ))
    .await;
    assert_eq!(
        (status, answer["accepted"].as_u64()),
        (200, Some(1)),
        "{answer}"
    );
    // A record claiming the other tenant refuses the request; nothing of it is written.
    let (status, _, answer) = send(post(
        &keys.globex,
        r#"{"id":"9","title":"Mietvertrag eingeschmuggelt","tenant":"acme"}"#,
    ))
    .await;
    assert_eq!(status, 403, "{answer}");
    assert!(error_message(&answer).contains("confined to"), "{answer}");
    server.refresh().await;

    let search = |key: &str, extra: &[(&str, &str)]| {
        let mut params = vec![("q", "Mietvertrag"), ("lang", "de")];
        params.extend_from_slice(extra);
        server
            .client
            .get(format!("{}/v1/search", server.base))
            .bearer_auth(key)
            .query(&params)
    };
    let titles = |answer: &Value| -> Vec<(String, String)> {
        let mut found: Vec<(String, String)> = answer["hits"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|h| {
                assert_eq!(h["source"]["id"], h["id"], "{h}");
                (
                    h["id"].as_str().unwrap_or("").to_string(),
                    h["source"]["title"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        found.sort();
        found
    };
    let (status, _, answer) = send(search(&keys.acme, &[])).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["total"], 2, "{answer}");
    let acme_titles = titles(&answer);
    assert_eq!(acme_titles.len(), 2, "{answer}");
    assert_eq!(acme_titles[0].0, "1");
    assert!(
        acme_titles[0].1.contains("Wohnung"),
        "acme's 1 was overwritten by globex's: {answer}"
    );
    assert_eq!(acme_titles[1].0, "2");
    let (_, _, answer) = send(search(&keys.globex, &[])).await;
    let globex_titles = titles(&answer);
    assert_eq!(globex_titles.len(), 1, "{answer}");
    assert!(globex_titles[0].1.contains("Hamburg"), "{answer}");
    // Asking for the other tenant finds nothing.
    let (status, _, answer) = send(search(&keys.globex, &[("filter.tenant", "acme")])).await;
    assert_eq!(status, 200, "{answer}");
    assert!(
        hit_ids(&answer).is_empty(),
        "globex read acme's documents: {answer}"
    );
    // The operator's unscoped key sees every tenant, under the stored (namespaced) ids.
    let (_, _, answer) = send(search(&keys.operator, &[])).await;
    assert_eq!(
        sorted_ids(&answer),
        ["acme/1", "acme/2", "globex/1"],
        "{answer}"
    );

    let document = |method: reqwest::Method, key: &str, id: &str| {
        server
            .client
            .request(method, format!("{}/v1/documents/{id}", server.base))
            .bearer_auth(key)
    };
    let fetch = |key: &str, id: &str| document(reqwest::Method::GET, key, id);
    let delete = |key: &str, id: &str| document(reqwest::Method::DELETE, key, id);
    let (status, _, document) = send(fetch(&keys.acme, "1")).await;
    assert_eq!(status, 200, "{document}");
    assert_eq!(document["id"], "1");
    assert_eq!(document["source"]["tenant"], "acme");
    let (status, _, answer) = send(fetch(&keys.globex, "2")).await;
    assert_eq!(status, 404, "globex fetched acme's document: {answer}");

    // globex deleting "2" cannot reach acme's 2; acme deleting "1" leaves globex's 1.
    let (status, _, answer) = send(delete(&keys.globex, "2")).await;
    assert_eq!(status, 200, "{answer}");
    let (status, _, answer) = send(delete(&keys.acme, "1")).await;
    assert_eq!(status, 200, "{answer}");
    server.refresh().await;
    assert_eq!(
        send(fetch(&keys.acme, "2")).await.0,
        200,
        "globex deleted acme's 2"
    );
    assert_eq!(
        send(fetch(&keys.acme, "1")).await.0,
        404,
        "acme's delete did not happen"
    );
    let (status, _, document) = send(fetch(&keys.globex, "1")).await;
    assert_eq!(status, 200, "acme deleted globex's 1: {document}");
    assert!(document["source"]["title"]
        .as_str()
        .unwrap_or("")
        .contains("Hamburg"));

    tenants_do_not_read_each_others_vocabulary(server, keys).await;
}

/// A query's language is weighed by the index's vocabulary (which languages the documents
/// holding its words are in) only for unconfined callers: read for a tenant, the counts would
/// span every tenant's documents, and the answer would tell acme whether globex's hold a word.
async fn tenants_do_not_read_each_others_vocabulary(server: &TestServer, keys: &TenantKeys) {
    // globex alone holds "per", in 120 Italian descriptions beside 120 English ones (enough
    // for the index's prior, which then weighs Italian and English alike).
    let records: String = (0..120)
        .map(|n| {
            format!(
                "{{\"id\":\"it-{n}\",\"title\":\"Modulo numero {n} per il sistema di gestione\",\"lang\":\"it\"}}\n\
                 {{\"id\":\"en-{n}\",\"title\":\"Module number {n} of the management system\",\"lang\":\"en\"}}\n"
            )
        })
        .collect();
    let request = server
        .client
        .post(format!("{}/v1/documents", server.base))
        .bearer_auth(&keys.globex)
        .body(records);
    let (status, _, answer) = send(request).await;
    assert_eq!(
        (status, answer["accepted"].as_u64()),
        (200, Some(240)),
        "{answer}"
    );
    server.refresh().await;
    let detect = |key: &str| {
        server
            .client
            .get(format!("{}/v1/search", server.base))
            .bearer_auth(key)
            .query(&[("q", "colorscheme Solarized per Vim")])
    };
    // The operator's unscoped key: once the prior covers globex's documents, "per" makes it
    // Italian (lingua alone says English).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (status, _, answer) = send(detect(&keys.operator)).await;
        assert_eq!(status, 200, "{answer}");
        if answer["query_language"]["lang"] == "it" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the index's vocabulary never made the query Italian: {answer}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let (status, _, answer) = send(detect(&keys.acme)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["query_language"]["lang"], "en",
        "acme's query was weighed by globex's documents: {answer}"
    );
    assert!(
        answer["query_language"].get("prior").is_none(),
        "acme was shown the whole index's size: {answer}"
    );
}

fn sorted_ids(answer: &Value) -> Vec<String> {
    let mut ids = hit_ids(answer);
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn embedded_tenant_keys_are_confined_to_their_tenant() {
    let dir = tempdir();
    let config = test_config(dir.path());
    let keys = tenant_keys(&["--data-dir", dir.path().to_str().unwrap()]);
    let server = TestServer::start(config).await;
    tenants_are_confined(&server, &keys).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the OpenSearch cluster of scripts/test.sh"]
async fn opensearch_tenant_keys_are_confined_to_their_tenant() {
    let dir = tempdir();
    let config = crate::opensearch::opensearch_config(dir.path(), "tenants");
    let args = cluster_args(&config);
    let keys = tenant_keys(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let server = crate::opensearch::start(config).await;
    tenants_are_confined(&server, &keys).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_search_page_is_public_and_the_operator_view_needs_the_metrics_scope() {
    let dir = tempdir();
    let data = dir.path().join("data");
    let config = write_config(
        dir.path(),
        "[pipeline]\ncommit_interval_ms = 100\nwriter_memory_mb = 32\n",
    );
    let base_args = ["--data-dir", data.to_str().unwrap(), "--config", &config];
    let searcher = create_key(&base_args, "search,ingest", "searcher", &[]);
    let watcher = create_key(&base_args, "metrics", "watcher", &[]);
    // A network address: every route but the open ones needs a key.
    let mut child = Running(
        glossa()
            .args(base_args)
            .args(["serve", "--listen", "0.0.0.0:0"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn serve"),
    );
    let base =
        wait_for_serving(&mut child.0, Duration::from_secs(120)).replace("0.0.0.0", "127.0.0.1");
    let client = reqwest::Client::new();

    // The page and its assets: no key, no user data, strict headers.
    for (path, kind) in [
        ("/", "text/html"),
        ("/page/app.js", "text/javascript"),
        ("/page/style.css", "text/css"),
    ] {
        let response = client
            .get(format!("{base}{path}"))
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        assert!(header("content-type").starts_with(kind), "{path}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        let policy = header("content-security-policy");
        assert!(
            policy.contains("default-src 'none'") && policy.contains("script-src 'self'"),
            "{path}: {policy}"
        );
        assert!(!policy.contains("unsafe-inline"), "{path}: {policy}");
    }
    // Every data call still goes through the gate.
    for path in [
        "/v1/search?q=Altstadt",
        "/v1/search/options",
        "/v1/operator",
    ] {
        let (status, _, body) = send(client.get(format!("{base}{path}"))).await;
        assert_eq!(status, 401, "{path} without a key: {body}");
    }
    let operator = format!("{base}/v1/operator");
    let (status, _, body) = send(client.get(&operator).bearer_auth(&searcher)).await;
    assert_eq!(status, 403, "a search key read the operator view: {body}");
    assert!(error_message(&body).contains("needs `metrics`"), "{body}");
    let (status, _, body) = send(
        client
            .get(format!("{base}/v1/search/options"))
            .bearer_auth(&searcher),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["text_fields"], serde_json::json!(["title", "body"]));
    assert!(body["languages"]
        .as_array()
        .is_some_and(|l| l.iter().any(|c| c == "de")));

    // The fixture and two records that go to the dead-letter queue.
    let bad = "{\"id\": \"no-text\", \"category\": \"x\"}\n{\"id\": \"bad-type\", \"title\": 42}\n";
    let (status, _, body) = send(
        client
            .post(format!("{base}/v1/documents"))
            .bearer_auth(&searcher)
            .body(format!("{FIXTURE}\n{bad}")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let indexed = fixture_ids().len() as u64;
    assert_eq!(body["accepted"], indexed, "{body}");

    let (status, _, body) = send(
        client
            .get(format!("{operator}?letters=1"))
            .bearer_auth(&watcher),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["backend"], "embedded", "{body}");
    assert_eq!(body["documents"], indexed, "{body}");
    let per_language: u64 = body["languages"]
        .as_object()
        .map(|l| l.values().filter_map(Value::as_u64).sum())
        .unwrap_or(0);
    assert_eq!(per_language, indexed, "{body}");
    assert_eq!(body["ingest"]["records_indexed"], indexed, "{body}");
    assert_eq!(body["ingest"]["records_rejected"], 2, "{body}");
    let summary = &body["dead_letters"]["summary"];
    assert_eq!(summary["total"], 2, "{body}");
    assert_eq!(
        summary["by_reason"],
        serde_json::json!({"bad_text_field": 1, "no_text": 1}),
        "{body}"
    );
    let latest = summary["latest"].as_array().expect("latest letters");
    assert_eq!(latest.len(), 1, "?letters=1 shows one: {body}");
    assert_eq!(
        latest[0]["reason"], "bad_text_field",
        "newest first: {body}"
    );
    assert!(
        latest[0]["position"]["source"]
            .as_str()
            .is_some_and(|s| s.starts_with("http:"))
            && latest[0]["position"]["line"]
                .as_u64()
                .is_some_and(|line| line > indexed),
        "the letter's source position: {body}"
    );
    assert!(latest[0].get("raw").is_none(), "a record is shown: {body}");
    assert_eq!(body["reindex"]["jobs"], serde_json::json!([]), "{body}");
    let (status, _, body) = send(
        client
            .get(format!("{operator}?letters=many"))
            .bearer_auth(&watcher),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(error_message(&body).contains("letters=N"), "{body}");
    // Asking for more than the cap is not an error; there are only two.
    let (status, _, body) = send(
        client
            .get(format!("{operator}?letters=100000"))
            .bearer_auth(&watcher),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["dead_letters"]["summary"]["latest"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
}
