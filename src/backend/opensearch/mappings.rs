//! The OpenSearch index definition, generated from the language table ([`crate::languages`]) so
//! that the embedded and cluster backends analyze each language from the same row.
//! `mappings/glossa-index.json` is this output for every language; a test keeps it current.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use crate::config::{MetaType, UnknownMetadata};
use crate::languages::{LanguageSpec, OPENSEARCH_ICU};
use crate::route::{language_field, GENERIC_FIELD};

/// Name of the custom analyzer (analysis-icu: `icu_tokenizer` + `icu_folding`) used by the generic
/// field and by every language without a dedicated analyzer.
pub const ICU_ANALYZER: &str = "glossa_icu";

/// What a new index version is made of.
#[derive(Clone, Debug)]
pub struct MappingOptions {
    /// Languages that get a field (the ones the detector can return).
    pub languages: Vec<&'static LanguageSpec>,
    pub shards: u32,
    pub replicas: u32,
    /// Declared, filterable metadata fields.
    pub metadata_fields: BTreeMap<String, MetaType>,
    pub unknown_metadata: UnknownMetadata,
    /// Languages whose plugin is missing use [`ICU_ANALYZER`]; set by [`with_icu_fallback`].
    pub icu_fallback: bool,
    /// Languages forced onto [`ICU_ANALYZER`] (their plugin is missing and fallback is on).
    pub icu_instead: BTreeSet<&'static str>,
}

/// The analyzer name a language's field uses under `options`.
fn analyzer_of(spec: &LanguageSpec, options: &MappingOptions) -> &'static str {
    if spec.opensearch_analyzer == OPENSEARCH_ICU || options.icu_instead.contains(spec.code) {
        ICU_ANALYZER
    } else {
        spec.opensearch_analyzer
    }
}

fn meta_type_name(kind: MetaType) -> &'static str {
    match kind {
        MetaType::Keyword => "keyword",
        MetaType::Long => "long",
        MetaType::Double => "double",
        MetaType::Date => "date",
        MetaType::Boolean => "boolean",
    }
}

/// The create-index body: settings (shards, replicas, the ICU analyzer) and mappings.
///
/// Layout: `dynamic: strict` at the top (Glossa writes a fixed shape); `text_<code>` per language
/// with its analyzer, each copied into the generic `text` field; `meta` with the declared fields
/// and, for undeclared ones, `dynamic: false` (kept in `_source`, not indexed: no mapping
/// explosion) or `strict` (the document is refused and dead-lettered); the original record minus
/// its text in `source` (stored, not indexed).
pub fn index_body(options: &MappingOptions) -> Value {
    let mut properties = Map::new();
    properties.insert("id".into(), json!({"type": "keyword"}));
    properties.insert("id_hash".into(), json!({"type": "long"}));
    properties.insert("lang".into(), json!({"type": "keyword"}));
    properties.insert("lang_confidence".into(), json!({"type": "float"}));
    properties.insert("lang_method".into(), json!({"type": "keyword"}));
    properties.insert(
        GENERIC_FIELD.into(),
        json!({"type": "text", "analyzer": ICU_ANALYZER}),
    );
    for spec in &options.languages {
        if let Some(field) = language_field(spec.code) {
            properties.insert(
                field,
                json!({"type": "text", "analyzer": analyzer_of(spec, options), "copy_to": GENERIC_FIELD}),
            );
        }
    }
    properties.insert(
        "text_names".into(),
        json!({"type": "keyword", "index": false, "doc_values": false}),
    );
    let meta_properties: Map<String, Value> = options
        .metadata_fields
        .iter()
        .map(|(name, kind)| (name.clone(), json!({"type": meta_type_name(*kind)})))
        .collect();
    let dynamic = match options.unknown_metadata {
        UnknownMetadata::Store => "false",
        UnknownMetadata::Reject => "strict",
    };
    properties.insert(
        "meta".into(),
        json!({"type": "object", "dynamic": dynamic, "properties": meta_properties}),
    );
    properties.insert("source".into(), json!({"type": "object", "enabled": false}));
    properties.insert("ingested_at".into(), json!({"type": "date"}));
    json!({
        "settings": {
            "index": {
                "number_of_shards": options.shards,
                "number_of_replicas": options.replicas,
            },
            "analysis": {
                "analyzer": {
                    ICU_ANALYZER: {
                        "type": "custom",
                        "tokenizer": "icu_tokenizer",
                        "filter": ["icu_folding"],
                    }
                }
            }
        },
        "mappings": {
            "dynamic": "strict",
            "properties": properties,
        }
    })
}

/// Plugins the index needs: analysis-icu always (the generic field), plus each language's.
pub fn required_plugins(options: &MappingOptions) -> BTreeMap<&'static str, Vec<&'static str>> {
    let mut required: BTreeMap<&'static str, Vec<&'static str>> = BTreeMap::new();
    required.entry("analysis-icu").or_default();
    for spec in &options.languages {
        if analyzer_of(spec, options) == ICU_ANALYZER {
            required.entry("analysis-icu").or_default().push(spec.code);
        } else if let Some(plugin) = spec.opensearch_plugin() {
            required.entry(plugin).or_default().push(spec.code);
        }
    }
    required
}

/// With `icu_fallback`, languages whose plugin is not installed move to [`ICU_ANALYZER`].
pub fn with_icu_fallback(mut options: MappingOptions, installed: &[String]) -> MappingOptions {
    for spec in &options.languages {
        if let Some(plugin) = spec.opensearch_plugin() {
            if plugin != "analysis-icu" && !installed.iter().any(|p| p == plugin) {
                options.icu_instead.insert(spec.code);
            }
        }
    }
    options
}

/// An actionable message naming each missing plugin and the languages that need it; `None`
/// when the cluster has them all.
pub fn missing_plugins_message(options: &MappingOptions, installed: &[String]) -> Option<String> {
    let missing: Vec<String> = required_plugins(options)
        .into_iter()
        .filter(|(plugin, _)| !installed.iter().any(|p| p == plugin))
        .map(|(plugin, langs)| {
            if langs.is_empty() {
                format!("{plugin} (for the generic multilingual field)")
            } else {
                format!("{plugin} (for languages {})", langs.join(", "))
            }
        })
        .collect();
    if missing.is_empty() {
        return None;
    }
    Some(format!(
        "the OpenSearch cluster lacks analysis plugins on some or all nodes: {}. Either install them on every node (bin/opensearch-plugin install <name>, then restart the node), or leave those languages out (detect.languages), or set opensearch.icu_fallback = true to analyze them with ICU instead (analysis-icu itself is always needed)",
        missing.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_languages() -> MappingOptions {
        MappingOptions {
            languages: crate::languages::all().iter().collect(),
            shards: 1,
            replicas: 1,
            metadata_fields: BTreeMap::new(),
            unknown_metadata: UnknownMetadata::Store,
            icu_fallback: false,
            icu_instead: BTreeSet::new(),
        }
    }

    #[test]
    fn mappings_file_matches_the_language_table() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/mappings/glossa-index.json");
        let generated = serde_json::to_string_pretty(&index_body(&all_languages()))
            .expect("serializable")
            + "\n";
        if std::env::var_os("GLOSSA_REGENERATE_MAPPINGS").is_some() {
            std::fs::write(path, &generated).expect("write mappings file");
        }
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            on_disk == generated,
            "{path} is out of date with src/languages.rs; regenerate it with \
             GLOSSA_REGENERATE_MAPPINGS=1 cargo test --release --lib mappings_file"
        );
    }

    #[test]
    fn every_language_field_uses_its_rows_analyzer_and_feeds_the_generic_field() {
        let body = index_body(&all_languages());
        let properties = &body["mappings"]["properties"];
        assert_eq!(properties["text_de"]["analyzer"], "german");
        assert_eq!(properties["text_ja"]["analyzer"], "kuromoji");
        assert_eq!(properties["text_sw"]["analyzer"], ICU_ANALYZER);
        for spec in crate::languages::all() {
            let field = &properties[format!("text_{}", spec.code)];
            assert_eq!(field["copy_to"], GENERIC_FIELD, "{}", spec.code);
        }
    }

    #[test]
    fn missing_plugins_are_named_with_their_languages_and_fallback_moves_them_to_icu() {
        let options = all_languages();
        let installed = vec!["analysis-icu".to_string(), "analysis-nori".to_string()];
        let message = missing_plugins_message(&options, &installed).expect("some are missing");
        assert!(
            message.contains("analysis-kuromoji (for languages ja)"),
            "{message}"
        );
        assert!(
            message.contains("analysis-smartcn (for languages zh)"),
            "{message}"
        );
        assert!(!message.contains("analysis-nori"), "{message}");
        let fallback = with_icu_fallback(options, &installed);
        assert!(missing_plugins_message(&fallback, &installed).is_none());
        assert_eq!(
            index_body(&fallback)["mappings"]["properties"]["text_ja"]["analyzer"],
            ICU_ANALYZER
        );
        let none = missing_plugins_message(&fallback, &[]).expect("icu is always needed");
        assert!(none.contains("analysis-icu"), "{none}");
    }
}
