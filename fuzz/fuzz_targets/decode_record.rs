//! Any bytes a source hands the decode stage (HTTP body line, Kafka message, S3 object line) must
//! come back as a record or a `DecodeError`, never a panic.
#![no_main]

use glossa::decode::Decoder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let decoder = Decoder::new(vec!["title".into(), "body".into()], 64 * 1024);
    let _ = decoder.decode(data);
});
