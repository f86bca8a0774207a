//! TEMPORARY STUB
pub enum Analyzer { Folded }
pub struct LanguageSpec { pub code: &'static str, pub name: &'static str, pub analyzer: Analyzer, pub opensearch_analyzer: &'static str }
static ALL: &[LanguageSpec] = &[
 LanguageSpec { code: "de", name: "German", analyzer: Analyzer::Folded, opensearch_analyzer: "german" },
 LanguageSpec { code: "en", name: "English", analyzer: Analyzer::Folded, opensearch_analyzer: "english" },
];
pub fn all() -> &'static [LanguageSpec] { ALL }
pub fn get(code: &str) -> Option<&'static LanguageSpec> { ALL.iter().find(|s| s.code == code) }
