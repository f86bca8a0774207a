//! TEMPORARY STUB
use tantivy::tokenizer::{TokenizerManager, TextAnalyzer, SimpleTokenizer, LowerCaser};
pub const GENERIC_TOKENIZER: &str = "glossa_generic";
pub fn tokenizer_name(code: &str) -> String { format!("glossa_{code}") }
pub fn register(manager: &TokenizerManager) {
  let a = || TextAnalyzer::builder(SimpleTokenizer::default()).filter(LowerCaser).build();
  manager.register(GENERIC_TOKENIZER, a());
  for s in crate::languages::all() { manager.register(&tokenizer_name(s.code), a()); }
}
