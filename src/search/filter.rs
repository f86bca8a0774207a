//! Metadata filters as the caller wrote them (`{"year": {"gte": 2000}, "tag": "x"}`), checked
//! once here so both backends see only well-formed conditions: a range bound that is not a
//! finite number or an RFC 3339 date (`NaN`, `inf`, `abc`) is the caller's mistake, never a
//! condition that silently matches every document.

use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{Condition, Filter, RangeBounds};

/// Most filters one search may carry; each becomes a query clause.
pub const MAX_FILTERS: usize = 32;

/// Why a filter was refused; the message names the filter and what it takes.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{0}")]
pub struct FilterError(String);

/// Reads the `filters` object of a search.
pub fn parse_filters(filters: Map<String, Value>) -> Result<Vec<Filter>, FilterError> {
    if filters.len() > MAX_FILTERS {
        return Err(FilterError(format!(
            "{} filters is over the limit of {MAX_FILTERS} per search",
            filters.len()
        )));
    }
    filters
        .into_iter()
        .map(|(field, value)| {
            let condition = match value {
                Value::Object(bounds) => Condition::Range(range(&field, bounds)?),
                Value::Null | Value::Array(_) => {
                    return Err(FilterError(format!(
                        "filter `{field}`: give one value or a range object"
                    )))
                }
                other => Condition::Equals(other),
            };
            Ok(Filter { field, condition })
        })
        .collect()
}

/// Adds one filter given as text (a `filter.year.gte=2000` query parameter, a `--filter
/// year.gte=2000` flag): `year.gte` + `2000` becomes `{"year": {"gte": 2000}}`, `tag` + `x`
/// becomes `{"tag": "x"}`.
pub fn add_text_filter(
    filters: &mut Map<String, Value>,
    field: &str,
    value: String,
) -> Result<(), FilterError> {
    for op in ["gte", "gt", "lte", "lt"] {
        if let Some(name) = field.strip_suffix(&format!(".{op}")) {
            let entry = filters
                .entry(name.to_string())
                .or_insert_with(|| Value::Object(Default::default()));
            let Value::Object(bounds) = entry else {
                return Err(FilterError(format!(
                    "filter `{name}` has both an exact value and a range"
                )));
            };
            let bound = value
                .parse::<serde_json::Number>()
                .map(Value::Number)
                .unwrap_or(Value::String(value));
            bounds.insert(op.to_string(), bound);
            return Ok(());
        }
    }
    filters.insert(field.to_string(), Value::String(value));
    Ok(())
}

fn range(field: &str, bounds: Map<String, Value>) -> Result<RangeBounds, FilterError> {
    let bounds: RangeBounds = serde_json::from_value(Value::Object(bounds)).map_err(|e| {
        FilterError(format!(
            "filter `{field}`: a range takes gte, gt, lte, lt ({e})"
        ))
    })?;
    let all = [&bounds.gte, &bounds.gt, &bounds.lte, &bounds.lt];
    if all.iter().all(|b| b.is_none()) {
        return Err(FilterError(format!(
            "filter `{field}`: a range needs at least one of gte, gt, lte, lt"
        )));
    }
    for bound in all.into_iter().flatten() {
        if !is_range_bound(bound) {
            return Err(FilterError(format!(
                "filter `{field}`: range bounds must be finite numbers or RFC 3339 dates, got {bound}"
            )));
        }
    }
    Ok(bounds)
}

/// A JSON number (always finite), or text that is a finite number or an RFC 3339 date (GET
/// filters arrive as text).
fn is_range_bound(value: &Value) -> bool {
    match value {
        Value::Number(_) => true,
        Value::String(text) => {
            text.trim()
                .parse::<f64>()
                .is_ok_and(|n| n.is_finite() && !is_spelled_out(text))
                || OffsetDateTime::parse(text, &Rfc3339).is_ok()
        }
        _ => false,
    }
}

/// `f64::from_str` takes `inf`, `infinity` and `nan` in any case; a filter bound must be digits.
fn is_spelled_out(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_ascii_alphabetic() && !matches!(c, 'e' | 'E'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<Vec<Filter>, FilterError> {
        let Value::Object(map) = value else {
            unreachable!("test input is an object")
        };
        parse_filters(map)
    }

    #[test]
    fn non_finite_bounds_are_refused_not_matched() {
        for bad in ["NaN", "nan", "inf", "-Infinity", "abc", ""] {
            let error = parse(json!({"article": {"gte": bad}})).unwrap_err();
            assert!(
                error.0.contains("finite numbers or RFC 3339"),
                "{bad}: {error}"
            );
        }
        for bad in [json!(true), json!(null), json!([1])] {
            assert!(parse(json!({"article": {"lt": bad}})).is_err());
        }
    }

    #[test]
    fn numbers_and_dates_are_range_bounds() {
        let filters = parse(json!({
            "article": {"gte": "3", "lt": 1e3},
            "at": {"gt": "2024-01-01T00:00:00Z"},
            "tag": "x"
        }))
        .unwrap();
        assert_eq!(filters.len(), 3);
        assert!(parse(json!({"article": {}})).is_err());
        assert!(parse(json!({"article": {"gte": 1, "between": 2}})).is_err());
    }

    proptest::proptest! {
        /// Whatever a caller sends as filters, parsing answers; an accepted range bound is a
        /// JSON number or text that is a finite number or an RFC 3339 date.
        #[test]
        fn any_filters_parse_or_get_a_reason(text in "\\PC{0,300}") {
            let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&text) else {
                return Ok(());
            };
            if let Ok(filters) = parse_filters(map) {
                for filter in filters {
                    if let Condition::Range(bounds) = filter.condition {
                        for bound in [bounds.gte, bounds.gt, bounds.lte, bounds.lt].into_iter().flatten() {
                            proptest::prop_assert!(is_range_bound(&bound));
                        }
                    }
                }
            }
        }

        #[test]
        fn range_bounds_in_any_text(bound in "\\PC{0,40}") {
            let parsed = parse(json!({"n": {"gte": bound.clone()}}));
            if let Ok(number) = bound.trim().parse::<f64>() {
                if !number.is_finite() {
                    proptest::prop_assert!(parsed.is_err(), "{bound} was accepted");
                }
            }
        }
    }

    #[test]
    fn too_many_filters_name_the_limit() {
        let map: Map<String, Value> = (0..=MAX_FILTERS)
            .map(|i| (format!("f{i}"), json!(i)))
            .collect();
        let error = parse_filters(map).unwrap_err();
        assert!(error.0.contains("limit of 32"), "{error}");
    }
}
