//! End-to-end tests: the real pipeline, index backends and HTTP API, and the real `glossa` binary.
//! One test binary, so the language models are linked once. The OpenSearch tests need the
//! cluster that `scripts/test.sh` starts; they are `#[ignore]`d for a bare `cargo test`.

mod common;
mod conformance;
mod embedded;
mod front_door;
mod kafka;
mod lifecycle;
mod opensearch;
mod reindex;
mod relevance;
mod s3;
