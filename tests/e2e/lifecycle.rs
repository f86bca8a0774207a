//! Document lifecycle through the real binary: `glossa delete` (delete by query) on both
//! backends, and delete marker records in a file.

use std::future::Future;
use std::path::Path;
use std::process::{Output, Stdio};

use crate::common::*;

fn glossa_with(config: &str, args: &[&str]) -> Output {
    glossa()
        .args(["--config", config])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run glossa")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn described(output: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        stdout(output),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// How many documents `glossa delete --dry-run` says match `args`.
fn matching(config: &str, args: &[&str]) -> u64 {
    let output = glossa_with(config, &[&["delete", "--dry-run"], args].concat());
    assert!(output.status.success(), "{}", described(&output));
    let text = stdout(&output);
    assert!(text.contains("dry run: nothing deleted"), "{text}");
    text.split(" documents match")
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no count in {text}"))
}

/// The fixture (14 documents) is in the index behind `config`; `refresh` makes deletes visible.
async fn deletes_by_query<F, Fut>(config: &str, refresh: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    let everything = ["--filter", "year.gte=0"];
    assert_eq!(matching(config, &everything), 14);

    // A dry run counts and shows a sample, and deletes nothing.
    let output = glossa_with(
        config,
        &["delete", "--filter", "category=education", "--dry-run"],
    );
    assert!(output.status.success(), "{}", described(&output));
    let text = stdout(&output);
    assert!(text.starts_with("4 documents match"), "{text}");
    for id in ["ru-1", "zh-1", "ar-1", "km-1"] {
        assert!(text.contains(id), "{id} missing from the sample: {text}");
    }
    assert_eq!(matching(config, &everything), 14);

    // Without --yes and no terminal to ask on: refused, nothing deleted.
    let output = glossa_with(config, &["delete", "--filter", "category=education"]);
    assert!(!output.status.success(), "{}", described(&output));
    assert!(
        described(&output).contains("--yes"),
        "{}",
        described(&output)
    );
    // Neither a query nor a filter would delete everything: refused.
    let output = glossa_with(config, &["delete", "--yes"]);
    assert!(!output.status.success(), "{}", described(&output));
    assert!(
        described(&output).contains("give a query, a filter or both"),
        "{}",
        described(&output)
    );
    refresh().await;
    assert_eq!(matching(config, &everything), 14);

    // Query and filter together: "Berlin" is in fr-2 (travel) and de-2 (tech); only fr-2 goes.
    let output = glossa_with(
        config,
        &[
            "delete",
            "--query",
            "Berlin",
            "--filter",
            "category=travel",
            "--yes",
        ],
    );
    assert!(output.status.success(), "{}", described(&output));
    assert!(
        stdout(&output).contains("deleted 1 documents"),
        "{}",
        described(&output)
    );
    let output = glossa_with(
        config,
        &["delete", "--filter", "category=education", "--yes"],
    );
    assert!(output.status.success(), "{}", described(&output));
    assert!(
        stdout(&output).contains("deleted 4 documents"),
        "{}",
        described(&output)
    );
    refresh().await;
    assert_eq!(matching(config, &everything), 9);
    assert_eq!(matching(config, &["--query", "Berlin"]), 1);
    assert_eq!(matching(config, &["--filter", "category=education"]), 0);
}

fn fixture_file(dir: &Path) -> String {
    let path = dir.join("fixture.ndjson");
    std::fs::write(&path, FIXTURE).expect("write fixture");
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_delete_by_query_counts_first_and_deletes_what_the_search_finds() {
    let dir = tempdir();
    let config = config_file(dir.path(), &test_config(&dir.path().join("data")), |_| {});
    let output = glossa_with(&config, &["ingest", &fixture_file(dir.path())]);
    assert!(output.status.success(), "{}", described(&output));
    deletes_by_query(&config, || async {}).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the OpenSearch cluster of scripts/test.sh"]
async fn opensearch_delete_by_query_counts_first_and_deletes_what_the_search_finds() {
    let dir = tempdir();
    let base = crate::opensearch::opensearch_config(dir.path(), "delete-by-query");
    let config = config_file(dir.path(), &base, |_| {});
    let server = crate::opensearch::start(base).await;
    server.ingest_fixture().await;
    deletes_by_query(&config, || server.refresh()).await;
    server.stop().await;
}

/// Records with `"_delete": true` in a file delete in order with the file's writes, and the
/// summary counts them; one without an id is a dead letter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_markers_in_a_file_apply_in_order() {
    let dir = tempdir();
    let data = dir.path().join("data");
    let config = config_file(dir.path(), &test_config(&data), |_| {});
    let file = dir.path().join("changes.ndjson");
    std::fs::write(
        &file,
        concat!(
            r#"{"id":"a","title":"Erste Fassung des Vertrags"}"#,
            "\n",
            r#"{"id":"b","title":"Zweite Fassung des Vertrags"}"#,
            "\n",
            r#"{"id":"a","_delete":true}"#,
            "\n",
            r#"{"id":"b","_delete":true}"#,
            "\n",
            r#"{"id":"b","title":"Dritte Fassung des Vertrags"}"#,
            "\n",
            r#"{"_delete":true}"#,
            "\n",
        ),
    )
    .expect("write file");
    let output = glossa_with(&config, &["ingest", &file.display().to_string()]);
    assert!(output.status.success(), "{}", described(&output));
    let text = stdout(&output);
    assert!(
        text.contains("indexed 3 records, deleted 2, rejected 1"),
        "{text}"
    );
    assert!(text.contains("bad_delete"), "{text}");
    assert_eq!(count_docs(&data), 1);
    let output = glossa_with(&config, &["delete", "--query", "Fassung", "--dry-run"]);
    assert!(
        stdout(&output).contains("for example: b"),
        "{}",
        described(&output)
    );
}
