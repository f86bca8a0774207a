//! End-to-end tests of Glossa on a real OpenSearch cluster (the one `scripts/test.sh` starts:
//! 3 nodes on loopback, URLs in `GLOSSA_TEST_OPENSEARCH_URLS`). Each test uses its own index name,
//! so they can run in parallel on one cluster.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use glossa::config::{BackendKind, Config, MetaType};
use serde_json::{json, Value};

use crate::common::*;
use crate::conformance;

pub fn cluster_urls() -> Vec<String> {
    let urls = std::env::var("GLOSSA_TEST_OPENSEARCH_URLS").unwrap_or_default();
    let urls: Vec<String> = urls
        .split(',')
        .filter(|u| !u.is_empty())
        .map(str::to_string)
        .collect();
    assert!(
        !urls.is_empty(),
        "GLOSSA_TEST_OPENSEARCH_URLS is not set: run the suite with scripts/test.sh, which starts the cluster"
    );
    urls
}

/// A fresh index name per test run, so tests and reruns never see each other's documents.
pub fn unique_index(test: &str) -> String {
    unique_name(&format!("t-{test}"))
}

pub fn opensearch_config(dir: &Path, test: &str) -> Config {
    config_for_cluster(dir, test, cluster_urls())
}

fn config_for_cluster(dir: &Path, test: &str, urls: Vec<String>) -> Config {
    let mut config = test_config(dir);
    config.backend = BackendKind::OpenSearch;
    config.opensearch.urls = urls;
    config.opensearch.index = unique_index(test);
    config.opensearch.replicas = 1;
    config.opensearch.bulk_flush_ms = 50;
    config.opensearch.metadata_fields = BTreeMap::from([
        ("category".to_string(), MetaType::Keyword),
        ("year".to_string(), MetaType::Long),
        ("published".to_string(), MetaType::Date),
    ]);
    config
}

pub async fn start(config: Config) -> TestServer {
    let refresh = format!(
        "{}/{}/_refresh",
        config.opensearch.urls[0].trim_end_matches('/'),
        config.opensearch.index
    );
    let mut server = TestServer::start(config).await;
    server.refresh_url = Some(refresh);
    server
}

/// `GET <first node>/<path>` straight from the cluster, as JSON.
pub async fn cluster_get(path: &str) -> Value {
    let url = format!("{}/{path}", cluster_urls()[0]);
    reqwest::get(&url)
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: not JSON: {e}"))
}

/// Documents in `index` once everything acknowledged is made searchable.
pub async fn cluster_count(index: &str) -> u64 {
    let url = format!("{}/{index}/_refresh", cluster_urls()[0]);
    let refreshed = reqwest::Client::new().post(&url).send().await;
    assert!(
        refreshed.is_ok_and(|r| r.status().is_success()),
        "refresh of {index} failed"
    );
    let answer = cluster_get(&format!("{index}/_count")).await;
    answer["count"]
        .as_u64()
        .unwrap_or_else(|| panic!("no count: {answer}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the OpenSearch cluster of scripts/test.sh"]
async fn opensearch_search_conformance() {
    let dir = tempdir();
    let server = start(opensearch_config(dir.path(), "conformance")).await;
    conformance::run_all(&server).await;
    // Only declared metadata is indexed; filtering on anything else is a 400 that says so.
    let (status, answer) = server.get("/v1/search?q=Haus&filter.color=red").await;
    assert_eq!(status, 400, "{answer}");
    let message = error_message(&answer);
    assert!(
        message.contains("not a declared metadata field"),
        "{answer}"
    );
    assert!(message.contains("category"), "{answer}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the OpenSearch cluster of scripts/test.sh"]
async fn opensearch_writes_of_one_id_land_in_the_order_they_were_sent() {
    let dir = tempdir();
    let mut config = opensearch_config(dir.path(), "order");
    conformance::many_small_chunks(&mut config);
    let server = start(config).await;
    conformance::writes_of_one_id_land_in_the_order_they_were_sent(&server).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the OpenSearch cluster of scripts/test.sh"]
async fn opensearch_relevance_stays_above_its_floors() {
    let dir = tempdir();
    let server = start(opensearch_config(dir.path(), "relevance")).await;
    conformance::relevance_stays_above_its_floors(&server).await;
    conformance::the_index_vocabulary_decides_a_query_of_names(&server).await;
    server.stop().await;
}

/// Open points in time on `index`'s shards.
async fn open_pits(index: &str) -> u64 {
    let stats = cluster_get(&format!("{index}/_stats/search")).await;
    stats["_all"]["total"]["search"]["point_in_time_current"]
        .as_u64()
        .unwrap_or_else(|| panic!("no point_in_time_current in {stats}"))
}

/// GET /v1/search with `params`, answering status, `Retry-After` and the JSON body.
async fn search_raw(server: &TestServer, params: &[(&str, &str)]) -> (u16, Option<String>, Value) {
    let response = server
        .client
        .get(format!("{}/v1/search", server.base))
        .query(params)
        .send()
        .await
        .expect("search request");
    let status = response.status().as_u16();
    let retry = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (status, retry, response.json().await.expect("JSON answer"))
}

/// An id that sorts before (`above`) or after every hit of a match-all page on the cluster,
/// which orders equal scores by the id hash as a signed long, descending.
fn probe_id(prefix: &str, wanted: impl Fn(i64) -> bool) -> String {
    (0..100_000)
        .map(|n| format!("{prefix}-{n}"))
        .find(|id| wanted(glossa::backend::embedded::schema::id_hash(id) as i64))
        .expect("an id hashing that way")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the OpenSearch cluster of scripts/test.sh"]
async fn opensearch_cursors_pin_nothing_until_page_2_and_bound_open_contexts() {
    let dir = tempdir();
    let mut config = opensearch_config(dir.path(), "cursors");
    config.search.max_open_cursors = 1;
    let index = config.opensearch.index.clone();
    let server = start(config).await;
    server.ingest_fixture().await;

    // First pages, however many, open no search context.
    for _ in 0..50 {
        let page = server.search(&[("q", "*"), ("size", "2")]).await;
        assert!(page["next_cursor"].is_string(), "{page}");
    }
    assert_eq!(
        open_pits(&index).await,
        0,
        "first pages opened points in time"
    );

    // Page 2 opens one; with this worker's one slot taken, another search's page 2 is a 503
    // that says when to retry, and blames no caller.
    let a1 = server.search(&[("q", "*"), ("size", "5")]).await;
    let a_cursor = a1["next_cursor"].as_str().expect("cursor").to_string();
    let a2 = server
        .search(&[("q", "*"), ("size", "5"), ("cursor", &a_cursor)])
        .await;
    assert!(open_pits(&index).await >= 1);
    let b1 = server.search(&[("q", "*"), ("size", "3")]).await;
    let b_cursor = b1["next_cursor"].as_str().expect("cursor").to_string();
    let (status, retry, busy) =
        search_raw(&server, &[("q", "*"), ("size", "3"), ("cursor", &b_cursor)]).await;
    assert_eq!(status, 503, "{busy}");
    assert!(retry.is_some(), "503 without Retry-After: {busy}");
    assert!(
        error_message(&busy).contains("search.max_open_cursors = 1"),
        "{busy}"
    );

    // Walking A to its end closes its point in time; then B can go on.
    let mut seen: Vec<String> = hit_ids(&a1);
    seen.extend(hit_ids(&a2));
    seen.extend(walk_to_end(&server, &a2, "5").await);
    let unique: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "a page repeated a hit");
    assert_eq!(unique, fixture_ids());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while open_pits(&index).await > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the last page left its point in time open"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (status, _, b2) =
        search_raw(&server, &[("q", "*"), ("size", "3"), ("cursor", &b_cursor)]).await;
    assert_eq!(status, 200, "{b2}");
    let b_ids: BTreeSet<String> = hit_ids(&b1).into_iter().chain(hit_ids(&b2)).collect();
    assert_eq!(b_ids.len(), 6, "{b1} {b2}");
    walk_to_end(&server, &b2, "3").await;

    // A document indexed after page 1 that sorts below it leaves page 1 as served: page 2 goes
    // on, from a snapshot that has it.
    let c1 = server.search(&[("q", "*"), ("size", "2")]).await;
    let c_cursor = c1["next_cursor"].as_str().expect("cursor").to_string();
    let c_ids = hit_ids(&c1);
    let lowest = glossa::backend::embedded::schema::id_hash(&c_ids[1]) as i64;
    let below = probe_id("below", |h| h < lowest);
    let (status, answer) = server
        .post(json!({"id": below, "body": "Ein neuer Satz über das Wetter."}).to_string())
        .await;
    assert_eq!(status, 200, "{answer}");
    server.refresh().await;
    let (status, _, c2) =
        search_raw(&server, &[("q", "*"), ("size", "2"), ("cursor", &c_cursor)]).await;
    assert_eq!(status, 200, "{c2}");
    assert_eq!(c2["total"], fixture_ids().len() + 1, "{c2}");
    assert!(hit_ids(&c2).iter().all(|id| !c_ids.contains(id)), "{c2}");
    walk_to_end(&server, &c2, "2").await;

    // One that sorts above page 1's first hit would change what page 1 showed: 410, search again.
    let d1 = server.search(&[("q", "*"), ("size", "2")]).await;
    let d_cursor = d1["next_cursor"].as_str().expect("cursor").to_string();
    let highest = glossa::backend::embedded::schema::id_hash(&hit_ids(&d1)[0]) as i64;
    let above = probe_id("above", |h| h > highest);
    let (status, answer) = server
        .post(json!({"id": above, "body": "Noch ein neuer Satz über das Wetter."}).to_string())
        .await;
    assert_eq!(status, 200, "{answer}");
    server.refresh().await;
    let (status, _, gone) =
        search_raw(&server, &[("q", "*"), ("size", "2"), ("cursor", &d_cursor)]).await;
    assert_eq!(status, 410, "{gone}");
    assert!(error_message(&gone).contains("search again"), "{gone}");
    // A forged cursor is refused as the caller's mistake, never a 5xx.
    let forged = glossa::search::Cursor {
        score: 1.0,
        id_hash: 1,
        served: 2,
        digest: 0,
        snapshot: glossa::search::Snapshot::Pit("bm90IGEgcG9pbnQgaW4gdGltZQ".into()),
    }
    .encode();
    for cursor in ["AgAAAAAAAAAAAAAAAAAAAA", forged.as_str()] {
        let (status, _, answer) = search_raw(&server, &[("q", "*"), ("cursor", cursor)]).await;
        assert_eq!(status, 400, "{answer}");
    }
    server.stop().await;
}

/// Pages on from `page` until the last one (which closes its point in time), answering the
/// ids of the pages after `page`.
async fn walk_to_end(server: &TestServer, page: &Value, size: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor = page["next_cursor"].as_str().map(str::to_string);
    while let Some(c) = cursor {
        let next = server
            .search(&[("q", "*"), ("size", size), ("cursor", &c)])
            .await;
        seen.extend(hit_ids(&next));
        cursor = next["next_cursor"].as_str().map(str::to_string);
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the OpenSearch cluster of scripts/test.sh"]
async fn opensearch_first_start_creates_a_versioned_index_behind_read_and_write_aliases() {
    let dir = tempdir();
    let config = opensearch_config(dir.path(), "aliases");
    let index = config.opensearch.index.clone();
    let server = start(config.clone()).await;
    let aliases = cluster_get(&format!("_alias/{index},{index}-write")).await;
    let version = format!("{index}-v1");
    assert!(
        aliases[&version]["aliases"][&index].is_object(),
        "{aliases}"
    );
    assert_eq!(
        aliases[&version]["aliases"][format!("{index}-write")]["is_write_index"],
        true,
        "{aliases}"
    );
    server.stop().await;
    // A second start (another worker, or a restart) reuses them.
    let again = start(config).await;
    again.ingest_fixture().await;
    assert_eq!(cluster_count(&index).await, fixture_ids().len() as u64);
    again.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the OpenSearch cluster of scripts/test.sh"]
async fn opensearch_refused_documents_are_dead_lettered_and_neighbours_indexed() {
    let dir = tempdir();
    let config = opensearch_config(dir.path(), "refused");
    let index = config.opensearch.index.clone();
    let server = start(config).await;
    let body = [
        json!({"id": "ok-1", "title": "Ein ganz normaler Satz über das Wetter in Hamburg.", "year": 2020}),
        json!({"id": "bad-1", "title": "Un texte dont l'année n'est pas un nombre.", "year": "last year"}),
        json!({"id": "ok-2", "title": "A perfectly ordinary sentence about the weather.", "year": 2021}),
    ]
    .iter()
    .map(Value::to_string)
    .collect::<Vec<_>>()
    .join("\n");
    let (status, answer) = server.post(body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"], 2, "{answer}");
    let rejected = answer["rejected"].as_array().expect("rejected list");
    assert_eq!(rejected.len(), 1, "{answer}");
    assert_eq!(rejected[0]["line"], 2, "{answer}");
    assert_eq!(rejected[0]["reason"], "backend_rejected", "{answer}");
    let message = rejected[0]["message"].as_str().unwrap_or("");
    assert!(message.contains("mapper_parsing_exception"), "{answer}");
    assert_eq!(cluster_count(&index).await, 2);
    server.stop().await;

    let letters = glossa::dlq::read_all(dir.path()).expect("dead letters");
    assert_eq!(letters.len(), 1);
    let letter = serde_json::to_value(&letters[0]).expect("letter JSON");
    assert_eq!(letter["reason"], "backend_rejected", "{letter}");
    assert!(
        letter["raw"].as_str().unwrap_or("").contains("last year"),
        "{letter}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opensearch_unreachable_cluster_fails_start_with_the_node_named() {
    let dir = tempdir();
    let mut config = test_config(dir.path());
    config.backend = BackendKind::OpenSearch;
    config.opensearch.urls = vec!["http://127.0.0.1:9".to_string()];
    config.opensearch.request_timeout_ms = 2000;
    let error = start_error(config).await;
    assert!(error.contains("127.0.0.1:9"), "{error}");
}

/// The secured node of `scripts/test.sh`: OpenSearch with its real security plugin, HTTPS under
/// a CA made for the run, basic auth.
struct SecuredCluster {
    url: String,
    ca: std::path::PathBuf,
    user: String,
    password: String,
}

fn secured_cluster() -> SecuredCluster {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("{name} is not set: run the suite with scripts/test.sh, which starts the secured node")
        })
    };
    SecuredCluster {
        url: var("GLOSSA_TEST_SECURE_OPENSEARCH_URL"),
        ca: var("GLOSSA_TEST_SECURE_OPENSEARCH_CA").into(),
        user: var("GLOSSA_TEST_SECURE_OPENSEARCH_USER"),
        password: var("GLOSSA_TEST_SECURE_OPENSEARCH_PASSWORD"),
    }
}

/// Why `Service::start` refused `config` (it must refuse).
async fn start_error(config: Config) -> String {
    let started = tokio::task::spawn_blocking(move || glossa::service::Service::start(config))
        .await
        .expect("start task");
    match started {
        Ok(_) => panic!("started although the cluster should have refused"),
        Err(error) => format!("{error:#}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the secured OpenSearch node of scripts/test.sh"]
async fn opensearch_secured_cluster_over_https_with_basic_auth() {
    let secured = secured_cluster();
    let dir = tempdir();
    let mut config = config_for_cluster(dir.path(), "secured", vec![secured.url.clone()]);
    config.opensearch.replicas = 0;
    config.opensearch.ca_cert = Some(secured.ca.clone());
    config.opensearch.username = Some(secured.user.clone());
    config.opensearch.password = Some(secured.password.clone());

    // With the cluster's CA and the password, everything works as on an open cluster: index
    // creation, bulk ingest and the whole search conformance suite.
    let mut server = TestServer::start(config.clone()).await;
    server.refresh_url = Some(format!(
        "{}/{}/_refresh",
        secured.url, config.opensearch.index
    ));
    server.refresh_client = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(&secured.ca).expect("read the CA"))
                .expect("the CA is PEM"),
        )
        .build()
        .expect("client");
    server.refresh_auth = Some((secured.user.clone(), secured.password.clone()));
    conformance::run_all(&server).await;
    server.stop().await;

    // What a misconfigured deployment gets: a refusal at start that says what is wrong.
    let mut wrong_password = config.clone();
    wrong_password.opensearch.password = Some("not-the-password".to_string());
    let error = start_error(wrong_password).await;
    assert!(
        error.contains("401") && error.contains("check opensearch.username and the password"),
        "{error}"
    );

    let mut untrusted = config.clone();
    untrusted.opensearch.ca_cert = None;
    let error = start_error(untrusted).await;
    assert!(
        error.contains("certificate is not trusted: set opensearch.ca_cert"),
        "{error}"
    );

    let mut plain_http = config.clone();
    plain_http.opensearch.urls = vec![secured.url.replace("https://", "http://")];
    let error = start_error(plain_http).await;
    assert!(error.contains("use an https:// URL"), "{error}");
}

async fn index_settings(index: &str) -> (Value, Value) {
    let answer = cluster_get(&format!("{index}-v1/_settings")).await;
    let settings = &answer[format!("{index}-v1")]["settings"]["index"];
    (
        settings["refresh_interval"].clone(),
        settings["number_of_replicas"].clone(),
    )
}

pub fn ingest_command(dir: &Path, index: &str) -> std::process::Command {
    let mut command = glossa();
    command.args([
        "--backend",
        "opensearch",
        "--opensearch-urls",
        &cluster_urls().join(","),
        "--opensearch-index",
        index,
        "--data-dir",
        &dir.display().to_string(),
    ]);
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the OpenSearch cluster of scripts/test.sh"]
async fn opensearch_bulk_load_turns_refresh_and_replicas_off_and_always_restores_them() {
    let dir = tempdir();
    let index = unique_index("bulkload");
    let fixture = dir.path().join("fixture.ndjson");
    std::fs::write(&fixture, FIXTURE).expect("write fixture");

    // A load that completes: settings back as they were, documents searchable at once.
    let status = ingest_command(dir.path(), &index)
        .args(["ingest", "--bulk-load", &fixture.display().to_string()])
        .status()
        .expect("run glossa ingest");
    assert!(status.success());
    assert_eq!(
        index_settings(&index).await,
        (Value::Null, json!("1")),
        "settings not restored"
    );
    // No refresh here: the load's own refresh at the end must have made them searchable.
    let count = cluster_get(&format!("{index}/_count")).await;
    assert_eq!(
        count["count"],
        fixture_ids().len(),
        "not refreshed at the end: {count}"
    );

    // A load that is killed: the settings stay off until the next start restores them.
    let mut child = Running(
        ingest_command(dir.path(), &index)
            .args(["ingest", "--bulk-load", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("spawn glossa ingest"),
    );
    let mut stdin = child.0.stdin.take().expect("stdin");
    std::io::Write::write_all(&mut stdin, FIXTURE.as_bytes()).expect("write records");
    let mut switched = false;
    for _ in 0..600 {
        if index_settings(&index).await == (json!("-1"), json!("0")) {
            switched = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(switched, "bulk-load settings never appeared");
    child.0.kill().expect("kill -9");
    let _ = child.0.wait();
    drop(stdin);
    assert_eq!(index_settings(&index).await, (json!("-1"), json!("0")));

    let mut config = test_config(dir.path());
    config.backend = BackendKind::OpenSearch;
    config.opensearch.urls = cluster_urls();
    config.opensearch.index = index.clone();
    let server = TestServer::start(config).await;
    assert_eq!(
        index_settings(&index).await,
        (Value::Null, json!("1")),
        "the next start did not restore the settings"
    );
    server.stop().await;
}

fn cluster_script(args: &[&str]) -> bool {
    std::process::Command::new("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scripts/opensearch/cluster.sh"
        ))
        .args(args)
        .stdout(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the OpenSearch cluster of scripts/test.sh"]
async fn opensearch_node_killed_during_ingest_loses_no_acknowledged_record() {
    let dir = tempdir();
    let mut config = opensearch_config(dir.path(), "nodeloss");
    config.opensearch.shards = 3;
    config.opensearch.replicas = 1;
    config.opensearch.request_timeout_ms = 10_000;
    let index = config.opensearch.index.clone();
    let server = start(config).await;
    let batches = 30;
    let per_batch = 500;
    let mut acknowledged = 0u64;
    for batch in 0..batches {
        if batch == 5 {
            // A crash, not a shutdown: in-flight requests to that node just fail.
            assert!(
                cluster_script(&["stop-node", "2", "--kill"]),
                "could not kill node-2"
            );
        }
        let body: String = (0..per_batch)
            .map(|n| {
                json!({"id": format!("n-{batch}-{n}"), "title": format!("Dokument {batch} {n} über den Ausfall eines Knotens im Cluster"), "lang": "de"})
                    .to_string()
                    + "\n"
            })
            .collect();
        // A client retries what was not acknowledged (503); nothing acknowledged may be lost.
        let mut accepted = None;
        for _ in 0..10 {
            let (status, answer) = server.post(body.clone()).await;
            if status == 200 {
                accepted = answer["accepted"].as_u64();
                break;
            }
            assert_eq!(status, 503, "{answer}");
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
        assert_eq!(
            accepted,
            Some(per_batch),
            "batch {batch} never acknowledged in full"
        );
        acknowledged += per_batch;
    }
    assert_eq!(cluster_count(&index).await, acknowledged);
    server.stop().await;
    assert!(
        cluster_script(&["start-node", "2"]),
        "could not restart node-2"
    );
    assert!(
        cluster_script(&["wait-green", "3"]),
        "cluster not green again"
    );
}

/// The number after `key=` in a log line.
fn logged_number(log: &str, key: &str) -> Option<u64> {
    log.split(&format!("{key}="))
        .nth(1)?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the OpenSearch cluster of scripts/test.sh"]
async fn opensearch_overloaded_cluster_429s_slow_ingest_down_and_lose_nothing() {
    // scripts/test.sh gives every node a write pool of one thread and a queue of two
    // (GLOSSA_OS_EXTRA_SETTINGS), so concurrent bulk requests get real 429s.
    let dir = tempdir();
    let index = unique_index("overload");
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        "[limits]\nmax_record_bytes = 65536\n[opensearch]\nshards = 3\nreplicas = 1\nbulk_max_bytes = 262144\nbulk_max_concurrency = 8\n",
    )
    .expect("write config");
    let input = dir.path().join("many.ndjson");
    let records = 20_000u64;
    let body: String = (0..records)
        .map(|n| {
            json!({"id": format!("o-{n}"), "lang": "en", "title": format!("Record {n} of an ingest into an overloaded cluster, which must slow down rather than drop anything.")})
                .to_string()
                + "\n"
        })
        .collect();
    std::fs::write(&input, body).expect("write input");
    let output = ingest_command(dir.path(), &index)
        .env("RUST_LOG", "info")
        .args(["--config", &config.display().to_string()])
        .args(["ingest", &input.display().to_string()])
        .output()
        .expect("run glossa ingest");
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{log}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!("indexed {records} records")),
        "{stdout}"
    );
    let stopped = log
        .lines()
        .find(|l| l.contains("OpenSearch sink stopped"))
        .unwrap_or_else(|| panic!("no sink summary in the log: {log}"));
    let retried = logged_number(stopped, "item_retries").unwrap_or(0)
        + logged_number(stopped, "request_retries").unwrap_or(0);
    let backoffs = logged_number(stopped, "backoffs").unwrap_or(0);
    assert!(
        retried > 0 && backoffs > 0,
        "the cluster never pushed back: {stopped}"
    );

    // Every id exactly once: ids are the documents' _id, so the count of distinct input ids
    // indexed is the document count.
    assert_eq!(cluster_count(&index).await, records);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the OpenSearch cluster of scripts/test.sh"]
async fn dead_letters_in_an_opensearch_index_are_listed_and_replayed() {
    let dir = tempdir();
    let index = unique_index("dlq-index");
    let mut lines: Vec<String> = (0..3)
        .map(|i| {
            json!({"id": format!("ok-{i}"), "body": format!("A perfectly fine record number {i}.")})
                .to_string()
        })
        .collect();
    lines.push("{not json".to_string());
    lines.push(json!({"id": "big", "body": "grand ".repeat(1000)}).to_string());
    let input = dir.path().join("in.ndjson");
    std::fs::write(&input, lines.join("\n") + "\n").expect("write input");
    let config = |limit: usize| limit_config(dir.path(), limit, "[dlq]\ntarget = \"opensearch\"\n");
    let run = |config: &str, args: &[&str]| {
        ingest_command(dir.path(), &index)
            .args(["--config", config])
            .args(args)
            .output()
            .expect("run glossa")
    };
    let reasons = |output: &std::process::Output| {
        dead_letter_reasons(&String::from_utf8_lossy(&output.stdout))
    };
    let strict = config(4096);
    let ingested = run(&strict, &["ingest", &input.display().to_string()]);
    assert!(ingested.status.success(), "{ingested:?}");
    assert!(
        String::from_utf8_lossy(&ingested.stdout).contains("indexed 3 records, rejected 2"),
        "{ingested:?}"
    );
    assert!(
        !dir.path().join(glossa::dlq::FILE_NAME).exists(),
        "dead letters went to the file, not the index"
    );
    // The letters are documents of the cluster, with their reason and source position.
    let letters = format!("{index}-dead-letters");
    assert_eq!(cluster_count(&letters).await, 2);
    let found = cluster_get(&format!("{letters}/_search?q=reason:not_json")).await;
    let letter = &found["hits"]["hits"][0]["_source"];
    assert_eq!(letter["position"]["line"], 4, "{found}");
    assert!(
        letter["position"]["source"]
            .as_str()
            .unwrap_or_default()
            .ends_with("in.ndjson"),
        "{found}"
    );
    let listed = run(&strict, &["dlq", "list"]);
    assert!(listed.status.success(), "{listed:?}");
    assert_eq!(reasons(&listed), ["not_json", "too_large"], "{listed:?}");

    // With the limit raised, a replay indexes the large record; the broken one goes back.
    let relaxed = config(65536);
    let replayed = run(&relaxed, &["dlq", "replay"]);
    assert!(replayed.status.success(), "{replayed:?}");
    assert!(
        String::from_utf8_lossy(&replayed.stdout)
            .contains("replayed 2 dead letters: 1 indexed, 1 still failing"),
        "{replayed:?}"
    );
    let listed = run(&relaxed, &["dlq", "list"]);
    assert_eq!(reasons(&listed), ["not_json"], "{listed:?}");
    assert_eq!(cluster_count(&letters).await, 1);
    assert_eq!(cluster_count(&index).await, 4);
}

/// The search page's operator view counts a dead-letter index on the cluster by reason and
/// shows its newest letters with their source positions, never their records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the OpenSearch cluster of scripts/test.sh"]
async fn the_operator_view_summarizes_a_dead_letter_index() {
    let dir = tempdir();
    let mut config = opensearch_config(dir.path(), "operator-dlq");
    config.dlq.target = glossa::config::DlqTarget::OpenSearch(None);
    let letters_index = format!("{}-dead-letters", config.opensearch.index);
    let server = start(config).await;
    let body = format!(
        "{}\n{}\n{{not json\n",
        json!({"id": "fine", "body": "A perfectly fine record for the operator view."}),
        json!({"id": "no-text", "category": "x"}),
    );
    let (status, answer) = server.post(body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"], 1, "{answer}");
    // Letters are searchable at the dead-letter index's next refresh (a second).
    let mut dead_letters = Value::Null;
    for _ in 0..100 {
        let (status, operator) = server.get("/v1/operator?letters=5").await;
        assert_eq!(status, 200, "{operator}");
        dead_letters = operator["dead_letters"].clone();
        if dead_letters["summary"]["total"] == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(dead_letters["target"], "opensearch", "{dead_letters}");
    assert_eq!(dead_letters["index"], letters_index, "{dead_letters}");
    let summary = &dead_letters["summary"];
    assert_eq!(summary["total"], 2, "{dead_letters}");
    assert_eq!(
        summary["by_reason"],
        json!({"no_text": 1, "not_json": 1}),
        "{dead_letters}"
    );
    let latest = summary["latest"].as_array().expect("latest letters");
    let lines: BTreeSet<u64> = latest
        .iter()
        .filter_map(|l| l["position"]["line"].as_u64())
        .collect();
    assert_eq!(lines, BTreeSet::from([2, 3]), "{dead_letters}");
    assert!(
        latest.iter().all(|l| l["position"]["source"]
            .as_str()
            .is_some_and(|s| s.starts_with("http:"))
            && l.get("raw").is_none()),
        "source positions, and never the record: {dead_letters}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the OpenSearch cluster of scripts/test.sh"]
async fn opensearch_plan_measures_a_scratch_index_and_deletes_it() {
    let dir = tempdir();
    let index = unique_index("plan");
    let output = glossa()
        .args([
            "--backend",
            "opensearch",
            "--opensearch-urls",
            &cluster_urls().join(","),
            "--opensearch-index",
            &index,
            "--data-dir",
            &dir.path().join("data").display().to_string(),
            "plan",
            "--documents",
            "1B",
            "--replicas",
            "2",
            "--ingest-hours",
            "12",
        ])
        .output()
        .expect("run glossa plan");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "plan failed: {report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The bytes and the cluster's CPU were measured on the cluster, not estimated.
    assert!(report.contains("(opensearch primaries)"), "{report}");
    assert!(report.contains("measured on OpenSearch"), "{report}");
    assert!(
        report.contains("worker") && report.contains("(measured)"),
        "{report}"
    );
    let bytes_per_doc = plan_figure(&report, "Sample:");
    assert_eq!(bytes_per_doc, 744.0, "{report}");
    // Three copies: at least three data nodes, and a billion documents want several shards.
    assert!(plan_figure(&report, "data nodes") >= 3.0, "{report}");
    assert!(plan_figure(&report, "primary shards") >= 2.0, "{report}");
    // Nothing of the scratch index is left on the cluster.
    let left = cluster_get(&format!("_cat/indices/{index}*?format=json")).await;
    assert_eq!(left, json!([]), "scratch indices left behind: {left}");
}
