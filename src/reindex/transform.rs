//! What a stored document becomes in the new index version: its original record decoded again
//! with the current text fields, routed with the stored language (or detected again with
//! `--redetect`), and laid out as the current code lays documents out. Its id and `ingested_at`
//! are kept, so copies overwrite copies and catch-up passes can compare ages.

use serde_json::Value;

use crate::backend::opensearch::document::{original_record, to_source};
use crate::decode::Decoder;
use crate::record::{Document, LangMethod, RawRecord, Rejection, SourcePosition};
use crate::route::Router;

/// How documents are written to the other version.
#[derive(Clone)]
pub enum Transform {
    /// Decode and route again (a copy into a new version).
    Rebuild {
        decoder: Decoder,
        router: Router,
        redetect: bool,
    },
    /// Copy `_source` unchanged (a rollback's copy of recent writes back to the old version).
    AsStored,
}

/// One document ready for the other version.
pub struct Rebuilt {
    pub id: String,
    pub ingested_at: String,
    pub source: Vec<u8>,
}

impl Transform {
    /// The new `_source` of a stored document, or why it cannot be copied (for the dead-letter
    /// queue, with the original record and `position`).
    pub fn apply(&self, stored: &Value, position: &SourcePosition) -> Result<Rebuilt, Rejection> {
        let ingested_at = stored["ingested_at"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        match self {
            Transform::AsStored => Ok(Rebuilt {
                id: stored["id"].as_str().unwrap_or_default().to_string(),
                ingested_at,
                source: serde_json::to_vec(stored).unwrap_or_default(),
            }),
            Transform::Rebuild {
                decoder,
                router,
                redetect,
            } => {
                let doc = rebuild_document(decoder, router, *redetect, stored, position)?;
                Ok(Rebuilt {
                    id: doc.record.id.clone(),
                    source: to_source(&doc, &ingested_at),
                    ingested_at,
                })
            }
        }
    }
}

/// The document a stored one becomes: its original record decoded with the current text
/// fields, its id kept, its stored language kept (unless `redetect`, or the language is no
/// longer enabled) or detected again. `stored` has the cluster's `_source` layout.
pub fn rebuild_document(
    decoder: &Decoder,
    router: &Router,
    redetect: bool,
    stored: &Value,
    position: &SourcePosition,
) -> Result<Document, Rejection> {
    let id = stored["id"].as_str().unwrap_or_default();
    let original = original_record(stored);
    let raw = || RawRecord {
        position: position.clone(),
        bytes: original.to_string().into_bytes(),
        id_from_position: false,
        delete: false,
    };
    let Value::Object(object) = original.clone() else {
        return Err(crate::decode::DecodeError::NotAnObject(
            "a stored document without its record",
        )
        .into_rejection(&raw()));
    };
    let mut record = decoder
        .decode_object(object)
        .map_err(|e| e.into_rejection(&raw()))?;
    if !id.is_empty() {
        record.id = id.to_string();
    }
    let stored_lang = stored["lang"].as_str().unwrap_or("und");
    let kept = (!redetect)
        .then(|| {
            let lang = if stored_lang == "und" {
                "und"
            } else {
                router.given_language(stored_lang)?
            };
            let method = LangMethod::from_label(stored["lang_method"].as_str()?)?;
            Some((lang, method))
        })
        .flatten();
    Ok(match kept {
        Some((lang, method)) => Document {
            record,
            lang,
            confidence: stored["lang_confidence"].as_f64().unwrap_or(0.0),
            method,
        },
        None => router.route(record, &position.source),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{Detector, DetectorConfig};
    use std::sync::Arc;

    fn stored(line: &str, lang: &'static str, method: LangMethod) -> Value {
        let decoder = Decoder::new(vec!["title".into(), "body".into()], 1 << 20);
        let record = decoder.decode(line.as_bytes()).expect("decodes");
        let doc = Document {
            record,
            lang,
            confidence: 0.42,
            method,
        };
        serde_json::from_slice(&to_source(&doc, "2026-01-02T03:04:05.000000006Z")).expect("JSON")
    }

    fn rebuild(redetect: bool, text_fields: &[&str]) -> Transform {
        let detector = Detector::new(&DetectorConfig {
            languages: None,
            min_confidence: 0.0,
        })
        .expect("detector");
        Transform::Rebuild {
            decoder: Decoder::new(text_fields.iter().map(|s| s.to_string()).collect(), 1 << 20),
            router: Router::new(Arc::new(detector)),
            redetect,
        }
    }

    fn position() -> SourcePosition {
        SourcePosition {
            source: "reindex:t-v1".into(),
            line: 0,
        }
    }

    const GERMAN: &str = r#"{"body":"Die Kinder spielen jeden Nachmittag in den Gärten hinter den alten Häusern der Stadt.","year":1999}"#;

    #[test]
    fn a_copy_keeps_id_time_language_and_record() {
        // The stored language is wrong on purpose: a copy without --redetect keeps it.
        let old = stored(
            GERMAN,
            "nl",
            LangMethod::Detected(crate::record::Method::Fast),
        );
        let new = rebuild(false, &["title", "body"])
            .apply(&old, &position())
            .expect("copies");
        let new_source: Value = serde_json::from_slice(&new.source).expect("JSON");
        assert_eq!(new.id, old["id"].as_str().unwrap());
        assert_eq!(new.ingested_at, "2026-01-02T03:04:05.000000006Z");
        assert_eq!(new_source["lang"], "nl");
        assert_eq!(new_source["lang_confidence"], 0.42);
        assert_eq!(new_source["ingested_at"], old["ingested_at"]);
        assert_eq!(original_record(&new_source), original_record(&old));
    }

    #[test]
    fn redetect_decides_the_language_again_and_keeps_the_id() {
        let old = stored(
            GERMAN,
            "nl",
            LangMethod::Detected(crate::record::Method::Fast),
        );
        let new = rebuild(true, &["title", "body"])
            .apply(&old, &position())
            .expect("copies");
        let new_source: Value = serde_json::from_slice(&new.source).expect("JSON");
        assert_eq!(new_source["lang"], "de");
        assert!(new_source["text_de"].is_array(), "{new_source}");
        assert_eq!(new_source["id"], old["id"]);
    }

    #[test]
    fn a_record_that_no_longer_decodes_is_a_rejection_with_its_record() {
        let old = stored(GERMAN, "de", LangMethod::Given);
        // The text fields changed to one this record does not have.
        let rejection = match rebuild(false, &["summary"]).apply(&old, &position()) {
            Err(rejection) => rejection,
            Ok(_) => panic!("a record without text must not copy"),
        };
        assert_eq!(rejection.reason, "no_text");
        assert_eq!(rejection.position, position());
        assert!(rejection.raw.contains("Gärten"), "{}", rejection.raw);
    }
}
