//! Route stage: decides a record's language (the caller's hint, or detection) and names the index
//! fields its text goes to. Both backends use these names so their mappings cannot drift apart.

use std::sync::Arc;

use crate::detect::{Detection, Detector, SourcePriors};
use crate::record::{Document, LangMethod, Method, Record};

/// The catch-all field every document's text is indexed into, whatever its language.
pub const GENERIC_FIELD: &str = "text";

/// The per-language text field for an ISO 639-1 code (`text_de`); `und` has none.
pub fn language_field(code: &str) -> Option<String> {
    (code != "und" && crate::languages::get(code).is_some()).then(|| format!("text_{code}"))
}

/// Longest text sample handed to the detector; detection cost grows with length, accuracy does not.
const DETECT_SAMPLE_BYTES: usize = 4096;

/// Applies language hints and detection to records.
#[derive(Clone)]
pub struct Router {
    detector: Arc<Detector>,
    /// The stream's languages so far, per source and for the worker, weighing short records'
    /// detection (`None`: off).
    prior: Option<Arc<SourcePriors>>,
}

/// A long document's decision counts toward the stream's prior only this sure (the fast
/// scorer's answers on 120+ letters; script decisions are 1.0).
const LEARN_MIN_CONFIDENCE: f64 = 0.9;

impl Router {
    /// Short records detected without a prior (tools, reindex verification, tests).
    pub fn new(detector: Arc<Detector>) -> Self {
        Router {
            detector,
            prior: None,
        }
    }

    /// Short records weighed against `prior` (what `serve` and `ingest` run).
    pub fn with_prior(detector: Arc<Detector>, prior: SourcePriors) -> Self {
        Router {
            detector,
            prior: Some(Arc::new(prior)),
        }
    }

    /// The detector, shared with the search API for query detection.
    pub fn detector(&self) -> &Arc<Detector> {
        &self.detector
    }

    /// Decides the record's language; `source` is its position's source (whose prior weighs a
    /// short record). CPU-heavy: call from a blocking or rayon thread.
    pub fn route(&self, record: Record, source: &str) -> Document {
        if let Some(hint) = record.lang_hint.as_deref() {
            if let Some(code) = self.given_language(hint) {
                if let Some(prior) = &self.prior {
                    prior.observe(source, code);
                }
                return Document {
                    record,
                    lang: code,
                    confidence: 1.0,
                    method: LangMethod::Given,
                };
            }
        }
        let sample = detection_sample(&record);
        let prior = self.prior.as_ref().and_then(|p| p.current(source));
        let Detection {
            lang,
            confidence,
            method,
            ..
        } = self.detector.detect_with_prior(&sample, prior.as_deref());
        if let Some(learned) = &self.prior {
            if matches!(method, Method::Fast | Method::Script) && confidence >= LEARN_MIN_CONFIDENCE
            {
                learned.observe(source, lang);
            }
        }
        Document {
            record,
            lang,
            confidence,
            method: LangMethod::Detected(method),
        }
    }

    /// The static code for a caller-named language, if the detector supports it.
    pub fn given_language(&self, code: &str) -> Option<&'static str> {
        self.detector
            .languages()
            .into_iter()
            .find(|supported| supported.eq_ignore_ascii_case(code))
    }
}

/// All text fields joined, cut at a character boundary near [`DETECT_SAMPLE_BYTES`]: the text
/// a record's language is detected from (also what `glossa plan` times detection on).
pub fn detection_sample(record: &Record) -> String {
    let mut sample = String::new();
    for (_, text) in &record.texts {
        if !sample.is_empty() {
            sample.push('\n');
        }
        let room = DETECT_SAMPLE_BYTES.saturating_sub(sample.len());
        if room == 0 {
            break;
        }
        let mut end = text.len().min(room);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        sample.push_str(&text[..end]);
    }
    sample
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Decoder;
    use crate::detect::DetectorConfig;

    fn router() -> Router {
        Router::new(Arc::new(
            Detector::new(&DetectorConfig::default()).expect("default detector"),
        ))
    }

    fn record(json: &str) -> Record {
        Decoder::new(vec!["title".into(), "body".into()], 10_000)
            .decode(json.as_bytes())
            .expect("valid record")
    }

    #[test]
    fn a_supported_hint_overrides_detection_and_others_are_ignored() {
        let router = router();
        let text = "Die Kinder spielen in den Gärten der alten Häuser und sprechen über die Stadt.";
        let hinted = router.route(
            record(&format!(r#"{{"body":"{text}","lang":"FR"}}"#)),
            "test",
        );
        assert_eq!((hinted.lang, hinted.method), ("fr", LangMethod::Given));
        let unknown = router.route(
            record(&format!(r#"{{"body":"{text}","lang":"xx"}}"#)),
            "test",
        );
        assert_eq!(unknown.lang, "de");
        assert!(matches!(unknown.method, LangMethod::Detected(_)));
    }

    #[test]
    fn text_without_letters_is_undetermined_and_has_no_language_field() {
        let doc = router().route(record(r#"{"title":"12345 !!! 678"}"#), "test");
        assert_eq!(doc.lang, "und");
        assert_eq!(language_field(doc.lang), None);
        assert_eq!(language_field("de").as_deref(), Some("text_de"));
        assert_eq!(language_field("km").as_deref(), Some("text_km"));
        assert_eq!(language_field("xx"), None);
    }

    #[test]
    fn the_detection_sample_is_bounded_and_cut_on_a_char_boundary() {
        let long = "ä".repeat(DETECT_SAMPLE_BYTES);
        let sample = detection_sample(&record(&format!(r#"{{"title":"Titel","body":"{long}"}}"#)));
        assert!(sample.len() <= DETECT_SAMPLE_BYTES);
        assert!(sample.starts_with("Titel\nä"));
    }
}
