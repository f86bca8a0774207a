//! How a routed document is stored in the cluster, and how a hit becomes the original record
//! again.
//!
//! Layout of `_source`: `id`, `id_hash` (the embedded backend's 64-bit id hash, as a signed long:
//! the cursor tie-breaker), `lang`, `lang_confidence`, `lang_method`, the text values under the
//! language's field (`text_de`; `text` when the language has no field), `text_names` (which record
//! field each value came from), `meta` (metadata), `source` (the original record, minus the text
//! fields the values above rebuild exactly, so most text is stored once) and `ingested_at`.

use serde_json::{json, Map, Value};

use crate::backend::embedded::schema::id_hash;
use crate::record::Document;
use crate::route::{language_field, GENERIC_FIELD};

/// The `_source` of `doc`, as one line of JSON for a bulk request.
pub fn to_source(doc: &Document, ingested_at: &str) -> Vec<u8> {
    let record = &doc.record;
    let texts: Vec<&str> = record.texts.iter().map(|(_, t)| t.as_str()).collect();
    let names: Vec<&str> = record.texts.iter().map(|(n, _)| n.as_str()).collect();
    let mut source: Map<String, Value> = record.source.clone();
    for name in &names {
        // Drop a text field from `source` only when the indexed value rebuilds it exactly: a
        // single string the decoder left unchanged. Arrays, NFC-normalized or blank values stay.
        let mut values = record
            .texts
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, t)| t);
        let single = match (values.next(), values.next()) {
            (Some(text), None) => Some(text),
            _ => None,
        };
        if single.is_some_and(|text| source.get(*name).and_then(Value::as_str) == Some(text)) {
            source.remove(*name);
        }
    }
    let text_field = language_field(doc.lang).unwrap_or_else(|| GENERIC_FIELD.to_string());
    let mut out = json!({
        "id": record.id,
        "id_hash": id_hash(&record.id) as i64,
        "lang": doc.lang,
        "lang_confidence": doc.confidence,
        "lang_method": doc.method.label(),
        "text_names": names,
        "meta": record.metadata,
        "source": source,
        "ingested_at": ingested_at,
    });
    if let Some(object) = out.as_object_mut() {
        object.insert(text_field, json!(texts));
    }
    // Serializing a `Value` cannot fail (string keys only).
    serde_json::to_vec(&out).unwrap_or_default()
}

/// The text values of a stored `_source` with the record field each came from, in order.
/// Shared by [`original_record`] and the search highlights, which map fragments back to fields.
pub fn stored_texts(stored: &Value) -> Vec<(&str, &Value)> {
    let lang = stored["lang"].as_str().unwrap_or("und");
    let field = language_field(lang).unwrap_or_else(|| GENERIC_FIELD.to_string());
    let texts = stored[&field]
        .as_array()
        .or_else(|| stored[GENERIC_FIELD].as_array());
    let names = stored["text_names"].as_array();
    match (names, texts) {
        (Some(names), Some(texts)) => names
            .iter()
            .zip(texts)
            .filter_map(|(name, text)| Some((name.as_str()?, text)))
            .collect(),
        _ => Vec::new(),
    }
}

/// The record as it was ingested, from a stored `_source`: `source` with the text fields that
/// were taken out of it put back under their names.
pub fn original_record(stored: &Value) -> Value {
    let mut record = stored["source"].as_object().cloned().unwrap_or_default();
    for (name, text) in stored_texts(stored) {
        if !record.contains_key(name) {
            record.insert(name.to_string(), text.clone());
        }
    }
    Value::Object(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Decoder;
    use crate::record::LangMethod;
    use crate::record::Method;

    #[test]
    fn a_stored_document_gives_back_the_original_record() {
        let decoder = Decoder::new(vec!["title".into(), "body".into()], 1 << 20);
        let lines = [
            r#"{"id":"x-1","title":"Über Häuser","body":"Die Kinder \"spielen\" 🎈","lang":"de","year":2020,"tags":{"a":[1,"b"]}}"#,
            // An array of texts, a blank one, and decomposed (NFD) text the decoder normalizes.
            r#"{"title":["eins","  ","zwei"],"body":"Cafe\u0301 in Ha\u0308usern"}"#,
        ];
        for (line, lang) in lines
            .iter()
            .flat_map(|l| ["de", "und", "xx"].map(|lang| (*l, lang)))
        {
            let record = decoder.decode(line.as_bytes()).expect("decodes");
            let doc = Document {
                record: record.clone(),
                lang,
                confidence: 0.5,
                method: LangMethod::Detected(Method::Fast),
            };
            let stored: Value =
                serde_json::from_slice(&to_source(&doc, "2026-01-01T00:00:00Z")).expect("JSON");
            assert_eq!(
                original_record(&stored),
                Value::Object(record.source.clone()),
                "{lang} {line}"
            );
        }
        // Plain text is stored once, not also inside `source`.
        let record = decoder.decode(lines[0].as_bytes()).expect("decodes");
        let doc = Document {
            record,
            lang: "de",
            confidence: 1.0,
            method: LangMethod::Given,
        };
        let stored: Value = serde_json::from_slice(&to_source(&doc, "now")).expect("JSON");
        assert!(stored["source"].get("body").is_none(), "{stored}");
    }
}
