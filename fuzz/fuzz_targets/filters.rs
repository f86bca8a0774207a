//! The `filters` object of a search: any JSON object must become filters or a `FilterError`,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

fuzz_target!(|data: &[u8]| {
    if let Ok(map) = serde_json::from_slice::<Map<String, Value>>(data) {
        let _ = glossa::search::parse_filters(map);
    }
});
