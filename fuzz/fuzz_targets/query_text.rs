//! The search box: any UTF-8 text, after NFC, read under both syntaxes, must be a query or a
//! named refusal, never a panic.
#![no_main]

use glossa::decode::nfc;
use glossa::search::{Syntax, TextQuery};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let text = nfc(s);
    for syntax in [Syntax::Natural, Syntax::Advanced] {
        if let Ok(query) = TextQuery::parse(&text, syntax) {
            let _ = query.positive_text();
        }
    }
});
