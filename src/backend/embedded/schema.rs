//! The embedded index's schema, and how a routed [`Document`] becomes a Tantivy document.

use std::collections::HashMap;

use tantivy::schema::{
    Field, IndexRecordOption, JsonObjectOptions, NumericOptions, Schema, TextFieldIndexing,
    TextOptions, FAST, STORED, STRING,
};
use tantivy::{DateTime, TantivyDocument};

use crate::analysis;
use crate::languages;
use crate::record::Document;
use crate::route::{language_field, GENERIC_FIELD};

/// Name of the u64 fast field holding the id hash (cursor tie-breaker).
pub const ID_HASH_FIELD: &str = "id_hash";
/// Name of the document-language field (filters, facets).
pub const LANG_FIELD: &str = "lang";

/// Handles to every field, resolved once.
#[derive(Clone, Debug)]
pub struct Fields {
    pub id: Field,
    /// Hash of the id: a stable per-document tie-breaker for cursor pagination.
    pub id_hash: Field,
    pub lang: Field,
    pub confidence: Field,
    pub lang_method: Field,
    pub generic: Field,
    pub meta: Field,
    pub source: Field,
    pub ingested_at: Field,
    per_language: HashMap<&'static str, Field>,
}

impl Fields {
    /// The per-language text field for `code`, if that language has one.
    pub fn language(&self, code: &str) -> Option<Field> {
        self.per_language.get(code).copied()
    }
}

fn text_options(tokenizer: &str) -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    )
}

/// Builds the schema: one text field per supported language, the generic field, metadata, source.
pub fn build() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let id = builder.add_text_field("id", STRING | STORED);
    let id_hash = builder.add_u64_field(ID_HASH_FIELD, NumericOptions::default().set_fast());
    let lang = builder.add_text_field(LANG_FIELD, STRING | STORED | FAST);
    let confidence = builder.add_f64_field("confidence", STORED);
    let lang_method = builder.add_text_field("lang_method", STORED);
    let generic = builder.add_text_field(GENERIC_FIELD, text_options(analysis::GENERIC_TOKENIZER));
    let meta = builder.add_json_field(
        "meta",
        JsonObjectOptions::default()
            .set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("raw")
                    .set_index_option(IndexRecordOption::Basic),
            )
            .set_fast("raw"),
    );
    let source = builder.add_text_field("source", STORED);
    let ingested_at = builder.add_date_field("ingested_at", STORED | FAST);
    let mut per_language = HashMap::new();
    for spec in languages::all() {
        if let Some(name) = language_field(spec.code) {
            let field =
                builder.add_text_field(&name, text_options(&analysis::tokenizer_name(spec.code)));
            per_language.insert(spec.code, field);
        }
    }
    let fields = Fields {
        id,
        id_hash,
        lang,
        confidence,
        lang_method,
        generic,
        meta,
        source,
        ingested_at,
        per_language,
    };
    (builder.build(), fields)
}

/// Stable 64-bit hash of a document id.
pub fn id_hash(id: &str) -> u64 {
    let hash = blake3::hash(id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash.as_bytes()[..8]);
    u64::from_le_bytes(first)
}

/// Routes the document's text to its language field and the generic field, and keeps the rest.
pub fn to_tantivy(fields: &Fields, doc: &Document, now: DateTime) -> TantivyDocument {
    let mut out = TantivyDocument::new();
    let record = &doc.record;
    out.add_text(fields.id, &record.id);
    out.add_u64(fields.id_hash, id_hash(&record.id));
    out.add_text(fields.lang, doc.lang);
    out.add_f64(fields.confidence, doc.confidence);
    out.add_text(fields.lang_method, doc.method.label());
    let language_field = fields.language(doc.lang);
    for (_, text) in &record.texts {
        out.add_text(fields.generic, text);
        if let Some(field) = language_field {
            out.add_text(field, text);
        }
    }
    if !record.metadata.is_empty() {
        let meta = serde_json::Value::Object(record.metadata.clone());
        out.add_field_value(fields.meta, &meta);
    }
    let source = serde_json::to_string(&record.source).unwrap_or_default();
    out.add_text(fields.source, &source);
    out.add_date(fields.ingested_at, now);
    out
}
