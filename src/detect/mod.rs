//! TEMPORARY STUB until the detection helper delivers.
use serde::Serialize;
pub struct DetectorConfig { pub languages: Option<Vec<String>>, pub min_confidence: f64 }
impl Default for DetectorConfig { fn default() -> Self { DetectorConfig { languages: None, min_confidence: 0.0 } } }
#[derive(Debug, thiserror::Error)] pub enum DetectError { #[error("unknown language {0}")] UnknownLanguage(String) }
#[derive(Clone, Debug, Serialize)] pub struct Detection { pub lang: &'static str, pub confidence: f64, pub method: Method, pub alternatives: Vec<(&'static str, f64)> }
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)] #[serde(rename_all="snake_case")] pub enum Method { Script, Fast, Lingua, Undetermined }
pub struct Detector;
impl Detector {
  pub fn new(_cfg: &DetectorConfig) -> Result<Self, DetectError> { Ok(Detector) }
  pub fn detect(&self, text: &str) -> Detection {
     match whatlang::detect(text) { Some(i) => { let code = match i.lang() { whatlang::Lang::Deu => "de", whatlang::Lang::Fra => "fr", whatlang::Lang::Rus => "ru", whatlang::Lang::Cmn => "zh", whatlang::Lang::Jpn => "ja", whatlang::Lang::Eng => "en", whatlang::Lang::Spa => "es", _ => "und" }; Detection { lang: code, confidence: i.confidence(), method: Method::Fast, alternatives: vec![] } }, None => Detection { lang: "und", confidence: 0.0, method: Method::Undetermined, alternatives: vec![] } }
  }
  pub fn detect_accurate(&self, text: &str) -> Detection { self.detect(text) }
  pub fn languages(&self) -> Vec<&'static str> { vec!["de","fr","ru","zh","ja","en","es"] }
  pub fn supports(&self, code: &str) -> bool { self.languages().contains(&code) }
}
