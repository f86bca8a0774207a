//! Tenant-scoped callers: a key (or token) confined to one tenant reads, writes and deletes only
//! that tenant's documents, although every tenant shares one index.
//!
//! Two things confine it. Every document it writes is stamped with the tenant field
//! (`auth.tenant_field`, `tenant` by default), and every search it makes is filtered on that
//! field. And its ids are namespaced: the document it calls `42` is stored as `acme/42`, so a
//! write or delete by one tenant can never reach another tenant's document of the same id. The
//! caller never sees the prefix: ids in answers are given back as it sent them.

use serde_json::{Map, Value};

use crate::decode::MAX_ID_BYTES;
use crate::search::{Condition, Filter, Hit, StoredDocument};

/// Longest tenant name.
pub const MAX_TENANT_BYTES: usize = 64;

/// Why a tenant-scoped request was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TenantError {
    #[error("a tenant is 1 to {MAX_TENANT_BYTES} letters, digits, `.`, `_` or `-`; got {0:?}")]
    BadName(String),
    #[error("record {record} sets `{field}` to {found}, but this key is confined to {field} = {tenant:?}; leave the field out (it is stamped) or give the key's own tenant")]
    Foreign {
        record: u64,
        field: String,
        found: String,
        tenant: String,
    },
}

/// Checks a tenant name: short, and plain enough to sit in an id prefix and a log line.
pub fn check_tenant_name(name: &str) -> Result<(), TenantError> {
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if name.is_empty() || name.len() > MAX_TENANT_BYTES || !name.chars().all(plain) {
        return Err(TenantError::BadName(name.to_string()));
    }
    Ok(())
}

/// The tenant a caller is confined to, and the metadata field that records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tenant {
    field: String,
    name: String,
}

impl Tenant {
    pub fn new(field: &str, name: &str) -> Result<Tenant, TenantError> {
        check_tenant_name(name)?;
        Ok(Tenant {
            field: field.to_string(),
            name: name.to_string(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The id the index holds for the caller's id `id`, or `None` when the prefixed id would be
    /// over the id limit.
    pub fn stored_id(&self, id: &str) -> Option<String> {
        let stored = format!("{}/{id}", self.name);
        (stored.len() <= MAX_ID_BYTES).then_some(stored)
    }

    /// The caller's id for a stored id of this tenant.
    pub fn caller_id<'a>(&self, stored: &'a str) -> &'a str {
        stored
            .strip_prefix(self.name.as_str())
            .and_then(|rest| rest.strip_prefix('/'))
            .unwrap_or(stored)
    }

    /// The filter every search of the caller carries.
    pub fn filter(&self) -> Filter {
        Filter {
            field: self.field.clone(),
            condition: Condition::Equals(Value::String(self.name.clone())),
        }
    }

    /// Whether a stored record was written for this tenant.
    pub fn owns(&self, source: &Value) -> bool {
        source.get(&self.field).and_then(Value::as_str) == Some(self.name.as_str())
    }

    /// One record as the caller sent it, made the tenant's: the tenant field stamped and the id
    /// namespaced (a record without an id gets its content id, computed with the stamp). A
    /// record that is not a JSON object, or whose id is not an id, is returned as it is: the
    /// decode stage refuses it, so it is never indexed outside the tenant.
    pub fn stamp(&self, bytes: &[u8], record: u64) -> Result<Vec<u8>, TenantError> {
        let Ok(Value::Object(mut object)) = serde_json::from_slice::<Value>(bytes) else {
            return Ok(bytes.to_vec());
        };
        match object.get(&self.field) {
            None | Some(Value::Null) => {
                object.insert(self.field.clone(), Value::String(self.name.clone()));
            }
            Some(Value::String(found)) if *found == self.name => {}
            Some(found) => {
                return Err(TenantError::Foreign {
                    record,
                    field: self.field.clone(),
                    found: found.to_string(),
                    tenant: self.name.clone(),
                })
            }
        }
        let marker = object.get(crate::decode::DELETE_MARKER) == Some(&Value::Bool(true));
        let id = match object.get("id") {
            // A delete marker without an id stays one: decode refuses it as `bad_delete`.
            None | Some(Value::Null) if marker => None,
            None | Some(Value::Null) => Some(crate::decode::content_id(&without_id(&object))),
            Some(Value::String(id)) if !id.is_empty() => Some(id.clone()),
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Some(n.to_string()),
            Some(_) => None,
        };
        if let Some(id) = id {
            // An id too long once prefixed stays too long: decode refuses it as `bad_id`.
            let stored = self
                .stored_id(&id)
                .unwrap_or_else(|| format!("{}/{id}", self.name));
            object.insert("id".into(), Value::String(stored));
        }
        Ok(serde_json::to_vec(&object).unwrap_or_else(|_| bytes.to_vec()))
    }

    /// A hit as the caller should see it: its own ids.
    pub fn present_hit(&self, hit: &mut Hit) {
        hit.id = self.caller_id(&hit.id).to_string();
        self.present_source(&mut hit.source);
    }

    /// A fetched document as the caller should see it: its own ids.
    pub fn present_document(&self, document: &mut StoredDocument) {
        document.id = self.caller_id(&document.id).to_string();
        self.present_source(&mut document.source);
    }

    fn present_source(&self, source: &mut Value) {
        if let Some(Value::String(id)) = source.get_mut("id") {
            *id = self.caller_id(id).to_string();
        }
    }
}

fn without_id(object: &Map<String, Value>) -> Map<String, Value> {
    let mut copy = object.clone();
    copy.remove("id");
    copy
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn acme() -> Tenant {
        Tenant::new("tenant", "acme").unwrap()
    }

    fn stamped(bytes: &str) -> Value {
        serde_json::from_slice(&acme().stamp(bytes.as_bytes(), 1).unwrap()).unwrap()
    }

    #[test]
    fn records_are_stamped_and_their_ids_namespaced() {
        assert_eq!(
            stamped(r#"{"id":"42","title":"x"}"#),
            json!({"id":"acme/42","title":"x","tenant":"acme"})
        );
        assert_eq!(stamped(r#"{"id":7,"title":"x"}"#)["id"], "acme/7");
        assert_eq!(
            stamped(r#"{"id":"1","title":"x","tenant":"acme"}"#)["tenant"],
            "acme"
        );
        // No id: a content id that depends on the tenant, so equal records of two tenants differ.
        let first = stamped(r#"{"title":"same text"}"#);
        let other = Tenant::new("tenant", "globex").unwrap();
        let second: Value =
            serde_json::from_slice(&other.stamp(br#"{"title":"same text"}"#, 1).unwrap()).unwrap();
        let (a, b) = (
            first["id"].as_str().unwrap(),
            second["id"].as_str().unwrap(),
        );
        assert!(
            a.starts_with("acme/h") && b.starts_with("globex/h"),
            "{a} {b}"
        );
        assert_ne!(acme().caller_id(a), other.caller_id(b));
    }

    #[test]
    fn another_tenants_field_is_refused_and_non_records_pass_to_decode() {
        let error = acme()
            .stamp(br#"{"id":"1","title":"x","tenant":"globex"}"#, 3)
            .unwrap_err();
        assert!(error.to_string().contains("record 3"), "{error}");
        assert!(acme().stamp(br#"{"tenant":5,"title":"x"}"#, 1).is_err());
        assert_eq!(acme().stamp(b"not json", 1).unwrap(), b"not json");
        assert_eq!(acme().stamp(b"[1]", 1).unwrap(), b"[1]");
        // A bad id is left for decode to refuse.
        assert_eq!(stamped(r#"{"id":true,"title":"x"}"#)["id"], true);
        // Delete markers name the tenant's id; one without an id gets none.
        assert_eq!(stamped(r#"{"id":"4","_delete":true}"#)["id"], "acme/4");
        assert_eq!(stamped(r#"{"_delete":true}"#).get("id"), None);
    }

    #[test]
    fn ids_round_trip_and_names_are_checked() {
        let tenant = acme();
        let stored = tenant.stored_id("a/b").unwrap();
        assert_eq!(stored, "acme/a/b");
        assert_eq!(tenant.caller_id(&stored), "a/b");
        assert!(tenant.stored_id(&"x".repeat(MAX_ID_BYTES)).is_none());
        assert!(tenant.owns(&json!({"tenant": "acme"})));
        assert!(!tenant.owns(&json!({"tenant": "globex"})));
        assert!(!tenant.owns(&json!({})));
        for bad in ["", "a/b", "a b", &"x".repeat(65), "ä"] {
            assert!(Tenant::new("tenant", bad).is_err(), "{bad:?}");
        }
    }
}
