//! Which language a query is taken for: the caller's, or detected with the most accurate
//! detector (queries are short, the hard case), plus close runners-up to search as well. The
//! search API and delete-by-query choose alike, so a delete removes what the same search finds.

use serde::Serialize;

use crate::detect::Method;
use crate::route::Router;

/// Most languages an ambiguous query is analyzed for.
const MAX_QUERY_LANGUAGES: usize = 3;
/// A candidate is searched too when its confidence is at least this share of the best one.
const CLOSE_CANDIDATE_SHARE: f64 = 0.5;

/// How the query language was chosen; shown with every answer so callers can trust or
/// override it.
#[derive(Clone, Debug, Serialize)]
pub struct QueryLanguage {
    /// ISO 639-1 code, or `und`.
    pub lang: &'static str,
    /// `given`, `detected`, or `undetermined`.
    pub chosen_by: &'static str,
    pub confidence: f64,
    /// Other candidates the detector considered, best first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<(&'static str, f64)>,
    /// Languages whose analyzers the query is run through (several when it was ambiguous;
    /// none when undetermined: then only the generic field is searched).
    pub searched: Vec<&'static str>,
}

/// The language the caller named, or why it is not one Glossa supports.
pub fn given(router: &Router, code: &str) -> Result<QueryLanguage, String> {
    let lang = router.given_language(code).ok_or_else(|| {
        format!(
            "lang `{code}` is not a supported language; use an ISO 639-1 code such as de, fr, zh (supported: {})",
            router.detector().languages().join(", ")
        )
    })?;
    Ok(QueryLanguage {
        lang,
        chosen_by: "given",
        confidence: 1.0,
        alternatives: Vec::new(),
        searched: vec![lang],
    })
}

/// No language: a query without words (only filters) searches no language field.
pub fn undetermined() -> QueryLanguage {
    QueryLanguage {
        lang: "und",
        chosen_by: "undetermined",
        confidence: 0.0,
        alternatives: Vec::new(),
        searched: Vec::new(),
    }
}

/// The detected language of `text`. CPU-heavy: call from a blocking thread.
pub fn detected(router: &Router, text: &str) -> QueryLanguage {
    let detection = router.detector().detect_accurate(text);
    let undetermined = detection.method == Method::Undetermined || detection.lang == "und";
    let searched = if undetermined {
        Vec::new()
    } else {
        languages_to_search(
            detection.lang,
            detection.confidence,
            &detection.alternatives,
        )
    };
    QueryLanguage {
        lang: detection.lang,
        chosen_by: if undetermined {
            "undetermined"
        } else {
            "detected"
        },
        confidence: detection.confidence,
        alternatives: detection.alternatives,
        searched,
    }
}

/// The detected language plus close runners-up: a one-word query such as "свобода" is often
/// ambiguous between related languages, and searching each one's field costs little.
fn languages_to_search(
    best: &'static str,
    confidence: f64,
    alternatives: &[(&'static str, f64)],
) -> Vec<&'static str> {
    let mut langs = vec![best];
    for (lang, candidate) in alternatives {
        if langs.len() >= MAX_QUERY_LANGUAGES {
            break;
        }
        if *lang != "und"
            && !langs.contains(lang)
            && *candidate >= confidence * CLOSE_CANDIDATE_SHARE
        {
            langs.push(lang);
        }
    }
    langs
}
