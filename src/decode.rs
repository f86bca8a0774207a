//! Decode stage: bytes -> [`Record`]. Every way a record can be malformed has its own error, so the
//! dead-letter queue and the HTTP answer say exactly what was wrong.

use serde_json::{Map, Value};

use crate::record::{RawRecord, Record, Rejection, SourcePosition};

/// Longest accepted caller-given id, in bytes.
pub const MAX_ID_BYTES: usize = 512;

/// The field that turns a record into a delete of its `id`, for sources without tombstones
/// (NDJSON files, S3 objects, HTTP bodies): `{"id": "42", "_delete": true}`.
pub const DELETE_MARKER: &str = "_delete";

/// Whether `bytes` is a delete marker record: its id, or why it names none; `None` for any
/// other record. Cheap for records that do not mention the marker (one substring search).
pub fn delete_marker(bytes: &[u8]) -> Option<Result<String, String>> {
    memchr::memmem::find(bytes, b"\"_delete\"")?;
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(bytes) else {
        return None;
    };
    if object.get(DELETE_MARKER) != Some(&Value::Bool(true)) {
        return None;
    }
    Some(match object.get("id") {
        Some(Value::String(id)) if !id.is_empty() && id.len() <= MAX_ID_BYTES => Ok(id.clone()),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
        _ => Err(format!(
            "a record with \"{DELETE_MARKER}\": true deletes the document of its `id`, which must be a string of 1 to {MAX_ID_BYTES} bytes or a whole number"
        )),
    })
}

/// Why a record was rejected before detection.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DecodeError {
    #[error("record is {size} bytes, over the limit limits.max_record_bytes = {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("record is not valid UTF-8 (invalid byte at offset {offset})")]
    NotUtf8 { offset: usize },
    #[error("record is not valid JSON: {0}")]
    NotJson(String),
    #[error("record is JSON but not an object (found {0})")]
    NotAnObject(&'static str),
    #[error("record has no text: none of the text fields {0:?} holds a non-empty string")]
    NoText(Vec<String>),
    #[error("text field `{0}` must be a string or an array of strings")]
    BadTextField(String),
    #[error("`id` must be a non-empty string of at most {MAX_ID_BYTES} bytes, or a whole number that fits in 64 bits (send longer numbers as strings)")]
    BadId,
    #[error("`lang` must be a string")]
    BadLang,
}

impl DecodeError {
    /// Stable machine-readable reason, used as the metrics label and in the dead-letter queue.
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::TooLarge { .. } => "too_large",
            DecodeError::NotUtf8 { .. } => "not_utf8",
            DecodeError::NotJson(_) => "not_json",
            DecodeError::NotAnObject(_) => "not_an_object",
            DecodeError::NoText(_) => "no_text",
            DecodeError::BadTextField(_) => "bad_text_field",
            DecodeError::BadId => "bad_id",
            DecodeError::BadLang => "bad_lang",
        }
    }

    /// Builds the dead-letter entry for `raw`.
    pub fn into_rejection(self, raw: &RawRecord) -> Rejection {
        let keep = crate::record::MAX_RAW_BYTES;
        let kept = &raw.bytes[..raw.bytes.len().min(keep)];
        Rejection {
            position: raw.position.clone(),
            reason: self.reason().to_string(),
            message: self.to_string(),
            raw: String::from_utf8_lossy(kept).into_owned(),
            truncated: raw.bytes.len() > keep,
        }
    }
}

/// Turns raw bytes into records according to the configured text fields and limits.
#[derive(Clone, Debug)]
pub struct Decoder {
    text_fields: Vec<String>,
    max_record_bytes: usize,
}

impl Decoder {
    pub fn new(text_fields: Vec<String>, max_record_bytes: usize) -> Self {
        Decoder {
            text_fields,
            max_record_bytes,
        }
    }

    /// Parses one raw record, deriving a missing id as the record's source asks.
    pub fn decode_raw(&self, raw: &RawRecord) -> Result<Record, DecodeError> {
        let fallback = raw.id_from_position.then_some(&raw.position);
        self.decode_with(&raw.bytes, fallback)
    }

    /// Parses one record's bytes (a missing id derives from the content).
    pub fn decode(&self, bytes: &[u8]) -> Result<Record, DecodeError> {
        self.decode_with(bytes, None)
    }

    fn decode_with(
        &self,
        bytes: &[u8],
        id_position: Option<&SourcePosition>,
    ) -> Result<Record, DecodeError> {
        if bytes.len() > self.max_record_bytes {
            return Err(DecodeError::TooLarge {
                size: bytes.len(),
                limit: self.max_record_bytes,
            });
        }
        let text = std::str::from_utf8(bytes).map_err(|e| DecodeError::NotUtf8 {
            offset: e.valid_up_to(),
        })?;
        let value: Value =
            serde_json::from_str(text).map_err(|e| DecodeError::NotJson(e.to_string()))?;
        match value {
            Value::Object(object) => self.split_object(object, id_position),
            other => Err(DecodeError::NotAnObject(json_kind(&other))),
        }
    }

    /// Splits an already-parsed object into id, text, language hint and metadata.
    pub fn decode_object(&self, object: Map<String, Value>) -> Result<Record, DecodeError> {
        self.split_object(object, None)
    }

    fn split_object(
        &self,
        object: Map<String, Value>,
        id_position: Option<&SourcePosition>,
    ) -> Result<Record, DecodeError> {
        let mut texts = Vec::new();
        for field in &self.text_fields {
            match object.get(field) {
                None | Some(Value::Null) => {}
                Some(Value::String(s)) => push_text(&mut texts, field, s),
                Some(Value::Array(items)) => {
                    for item in items {
                        match item {
                            Value::String(s) => push_text(&mut texts, field, s),
                            _ => return Err(DecodeError::BadTextField(field.clone())),
                        }
                    }
                }
                Some(_) => return Err(DecodeError::BadTextField(field.clone())),
            }
        }
        if texts.is_empty() {
            return Err(DecodeError::NoText(self.text_fields.clone()));
        }
        let lang_hint = match object.get("lang") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.trim().to_ascii_lowercase()),
            Some(_) => return Err(DecodeError::BadLang),
        };
        let id = match object.get("id") {
            None | Some(Value::Null) => match id_position {
                Some(position) => position_id(position),
                None => content_id(&object),
            },
            Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_ID_BYTES => s.clone(),
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
            Some(_) => return Err(DecodeError::BadId),
        };
        let metadata = object
            .iter()
            .filter(|(k, _)| k.as_str() != "id" && k.as_str() != "lang")
            .filter(|(k, _)| !self.text_fields.iter().any(|f| f == *k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(Record {
            id,
            texts,
            lang_hint,
            metadata,
            source: object,
        })
    }
}

fn push_text(texts: &mut Vec<(String, String)>, field: &str, text: &str) {
    if !text.trim().is_empty() {
        texts.push((field.to_string(), nfc(text)));
    }
}

/// Unicode NFC form. Decomposed input (tone marks as combining characters, common in Vietnamese
/// and in text from some platforms) otherwise defeats both the detector's n-gram models and the
/// stemmers, which expect precomposed letters. Cheap when the text is already NFC.
pub fn nfc(text: &str) -> String {
    use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};
    if text.chars().all(crate::letters::is_nfc_inert) {
        return text.to_string();
    }
    match is_nfc_quick(text.chars()) {
        IsNormalized::Yes => text.to_string(),
        _ => text.nfc().collect(),
    }
}

/// A deterministic id from the record's content: the same object always gets the same id, whatever
/// its key order or whitespace, so re-ingesting a file never duplicates documents.
pub fn content_id(object: &Map<String, Value>) -> String {
    // serde_json's Map is a BTreeMap here, so serialization is canonical (sorted keys).
    let canonical = serde_json::to_vec(object).unwrap_or_default();
    let hash = blake3::hash(&canonical);
    format!("h{}", &hash.to_hex()[..32])
}

/// A deterministic id from where a record was read (topic, partition and offset; bucket, key and
/// line): replays of the same position overwrite the same document.
pub fn position_id(position: &SourcePosition) -> String {
    let hash = blake3::hash(format!("{}\n{}", position.source, position.line).as_bytes());
    format!("p{}", &hash.to_hex()[..32])
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delete_markers_name_an_id_or_say_why_not() {
        let marker = |text: &str| delete_marker(text.as_bytes());
        assert_eq!(
            marker(r#"{"id":"42","_delete":true}"#),
            Some(Ok("42".into()))
        );
        assert_eq!(marker(r#"{"_delete":true,"id":7}"#), Some(Ok("7".into())));
        assert!(matches!(marker(r#"{"_delete":true}"#), Some(Err(_))));
        assert!(matches!(
            marker(r#"{"_delete":true,"id":""}"#),
            Some(Err(_))
        ));
        // Not a marker: written as usual.
        assert_eq!(marker(r#"{"id":"1","title":"x","_delete":false}"#), None);
        assert_eq!(marker(r#"{"id":"1","title":"the \"_delete\" flag"}"#), None);
        assert_eq!(marker(r#"{"id":"1","title":"x"}"#), None);
        assert_eq!(marker(r#"not json "_delete""#), None);
    }

    fn decoder() -> Decoder {
        Decoder::new(vec!["title".into(), "body".into()], 1000)
    }

    proptest::proptest! {
        /// Any bytes decode to a record or a rejection with a reason; nothing panics, and an
        /// accepted record always has an id and some text.
        #[test]
        fn any_bytes_decode_or_get_a_reason(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000)) {
            match decoder().decode(&bytes) {
                Ok(record) => proptest::prop_assert!(!record.id.is_empty() && !record.texts.is_empty()),
                Err(error) => proptest::prop_assert!(!error.reason().is_empty()),
            }
        }

        /// JSON-shaped input with hostile values in the reserved fields.
        #[test]
        fn hostile_json_records_never_panic(
            id in "[0-9a-z\"\\{}\\[\\]:,.eE+-]{0,40}",
            lang in "[a-zA-Z\"\\{}0-9]{0,8}",
            title in "\\PC{0,200}",
        ) {
            let text = format!("{{\"id\":{id},\"lang\":{lang},\"title\":{}}}", serde_json::Value::String(title));
            let _ = decoder().decode(text.as_bytes());
        }
    }

    #[test]
    fn splits_text_metadata_id_and_hint() {
        let r = decoder()
            .decode(
                br#"{"id":"a1","title":"Hallo","body":["Welt","",null],"lang":"DE","year":2020}"#,
            )
            .map_err(|e| e.to_string());
        // arrays may not hold null
        assert_eq!(
            r,
            Err("text field `body` must be a string or an array of strings".into())
        );
        let r = decoder()
            .decode(br#"{"id":"a1","title":"Hallo","body":["Welt",""],"lang":"DE","year":2020}"#)
            .expect("valid record");
        assert_eq!(r.id, "a1");
        assert_eq!(
            r.texts,
            vec![
                ("title".into(), "Hallo".into()),
                ("body".into(), "Welt".into())
            ]
        );
        assert_eq!(r.lang_hint.as_deref(), Some("de"));
        assert_eq!(r.metadata.len(), 1);
        assert_eq!(r.metadata["year"], 2020);
    }

    #[test]
    fn text_is_normalized_to_nfc() {
        let decomposed = "Mo\u{323}i ngu\u{31b}o\u{31b}\u{300}i";
        let r = decoder()
            .decode(format!(r#"{{"title":"{decomposed}"}}"#).as_bytes())
            .expect("valid");
        assert_eq!(r.texts[0].1, "Mọi người");
        assert_eq!(
            r.source["title"], decomposed,
            "the stored source stays as sent"
        );
    }

    #[test]
    fn content_id_ignores_key_order_and_whitespace() {
        let a = decoder().decode(br#"{"title":"x","k":1}"#).expect("valid");
        let b = decoder()
            .decode(br#"{ "k": 1, "title": "x" }"#)
            .expect("valid");
        let c = decoder().decode(br#"{"title":"y","k":1}"#).expect("valid");
        assert_eq!(a.id, b.id);
        assert_ne!(a.id, c.id);
        let numeric = decoder()
            .decode(br#"{"id":42,"title":"x"}"#)
            .expect("valid");
        assert_eq!(numeric.id, "42");
    }

    #[test]
    fn dead_letters_keep_the_record_up_to_a_cap() {
        use crate::record::SourcePosition;
        let position = SourcePosition {
            source: "f".into(),
            line: 1,
        };
        let small = RawRecord {
            position: position.clone(),
            bytes: b"{oops".to_vec(),
            id_from_position: false,
            delete: false,
        };
        let letter = DecodeError::NotJson("x".into()).into_rejection(&small);
        assert_eq!((letter.raw.as_str(), letter.truncated), ("{oops", false));
        let huge = RawRecord {
            position,
            bytes: vec![b'a'; crate::record::MAX_RAW_BYTES + 10],
            id_from_position: false,
            delete: false,
        };
        let letter = DecodeError::TooLarge { size: 0, limit: 0 }.into_rejection(&huge);
        assert_eq!(letter.raw.len(), crate::record::MAX_RAW_BYTES);
        assert!(letter.truncated);
    }

    #[test]
    fn each_malformation_has_its_reason() {
        let d = decoder();
        let reason = |b: &[u8]| d.decode(b).map(|_| ()).map_err(|e| e.reason());
        assert_eq!(reason(b"not json"), Err("not_json"));
        assert_eq!(reason(b"[1,2]"), Err("not_an_object"));
        assert_eq!(reason(b"{\"title\":\"\xff\"}"), Err("not_utf8"));
        assert_eq!(reason(br#"{"other":"x"}"#), Err("no_text"));
        assert_eq!(reason(br#"{"title":"   "}"#), Err("no_text"));
        assert_eq!(reason(br#"{"title":5}"#), Err("bad_text_field"));
        assert_eq!(reason(br#"{"title":"x","id":""}"#), Err("bad_id"));
        assert_eq!(reason(br#"{"title":"x","id":1.5}"#), Err("bad_id"));
        let long_number = br#"{"title":"x","id":123456789012345678901234567890}"#;
        assert_eq!(reason(long_number), Err("bad_id"));
        let message = DecodeError::BadId.to_string();
        assert!(
            message.contains("64 bits") && message.contains("as strings"),
            "{message}"
        );
        assert_eq!(
            reason(br#"{"title":"x","id":"123456789012345678901234567890"}"#),
            Ok(())
        );
        assert_eq!(reason(br#"{"title":"x","lang":7}"#), Err("bad_lang"));
        let big = format!(r#"{{"title":"{}"}}"#, "a".repeat(2000));
        assert_eq!(reason(big.as_bytes()), Err("too_large"));
    }
}
