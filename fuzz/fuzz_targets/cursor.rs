//! `cursor` is client input: decoding any string must not panic, and whatever decodes must
//! survive an encode/decode round trip unchanged.
#![no_main]

use glossa::search::Cursor;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(cursor) = Cursor::decode(s) {
        let encoded = cursor.encode();
        let again = Cursor::decode(&encoded).expect("an encoded cursor decodes");
        assert_eq!(again, cursor, "round trip changed the cursor {s:?}");
        assert_eq!(
            again.encode(),
            encoded,
            "re-encoding is not stable for {s:?}"
        );
    }
});
