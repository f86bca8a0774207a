//! API keys: who may call the HTTP API, for what, and how fast.
//!
//! A key is a random 256-bit secret shown once at creation (`glossa_<id>_<secret>`); only its
//! BLAKE3 hash is stored, and the id lets operators list and revoke keys without seeing them.
//! A slow password hash is for low-entropy passwords: a 256-bit secret cannot be guessed, and
//! a fast hash keeps every request's check cheap. The store is a file in the data directory
//! (embedded backend) or an index on the cluster that every worker shares (OpenSearch).

mod jwt;
mod store;
mod tenant;

pub use jwt::{JwksError, JwtVerifier, TokenCaller};
pub use store::{KeyStore, StoreError};
pub use tenant::{check_tenant_name, Tenant, TenantError};

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a key may do; checked per route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// `POST /v1/documents`.
    Ingest,
    /// `GET|POST /v1/search`.
    Search,
    /// `GET /metrics`.
    Metrics,
    /// Every route, including the operator routes.
    Admin,
}

impl Scope {
    /// Every scope, for help texts.
    pub const ALL: [Scope; 4] = [Scope::Ingest, Scope::Search, Scope::Metrics, Scope::Admin];

    /// Reads `ingest`, `search`, `metrics` or `admin`.
    pub fn parse(text: &str) -> Option<Scope> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == text.trim())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Search => "search",
            Scope::Metrics => "metrics",
            Scope::Admin => "admin",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether holding `scopes` grants `scope` (admin grants every scope); keys and tokens alike.
pub fn grants(scopes: &[Scope], scope: Scope) -> bool {
    scopes
        .iter()
        .any(|held| *held == scope || *held == Scope::Admin)
}

/// One key as stored: everything but the secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// Public part of the key, for listing and revoking.
    pub id: String,
    /// The operator's label (who or what holds the key); shown in logs and metrics.
    pub name: String,
    pub scopes: Vec<Scope>,
    /// Requests per second; `None` takes `auth.default_rate_per_second`.
    pub rate_per_second: Option<u32>,
    /// Records per second through ingest; `None` takes `auth.default_records_per_second`.
    pub records_per_second: Option<u32>,
    /// The tenant the key is confined to (see [`Tenant`]); `None` reaches every document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Hex BLAKE3 hash of the whole key.
    pub hash: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339; a revoked key stays listed so its name is not reused by mistake.
    pub revoked_at: Option<String>,
}

impl KeyRecord {
    /// Whether the key grants `scope` (admin grants every scope).
    pub fn allows(&self, scope: Scope) -> bool {
        grants(&self.scopes, scope)
    }

    /// Whether `presented` is this key, in constant time.
    pub fn matches(&self, presented: &str) -> bool {
        blake3::Hash::from_hex(&self.hash)
            .is_ok_and(|stored| stored == blake3::hash(presented.as_bytes()))
    }
}

/// A key presented in a request, split into its parts; `None` when it is not shaped like one.
pub fn key_id(presented: &str) -> Option<&str> {
    let rest = presented.strip_prefix(KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    (id.len() == ID_HEX_CHARS && !secret.is_empty()).then_some(id)
}

const KEY_PREFIX: &str = "glossa_";
const ID_HEX_CHARS: usize = 12;

/// What `glossa keys create` asks for.
#[derive(Clone, Debug)]
pub struct NewKey {
    pub name: String,
    pub scopes: Vec<Scope>,
    pub rate_per_second: Option<u32>,
    pub records_per_second: Option<u32>,
    pub tenant: Option<String>,
}

/// A freshly made key: the secret to show once, and the record to store.
pub struct Issued {
    pub secret: String,
    pub record: KeyRecord,
}

/// Makes a key with 48 random bits of id and 256 random bits of secret, both in hex.
pub fn issue(new: NewKey) -> Issued {
    use rand::RngCore;
    let mut rng = rand::rng();
    let mut id = [0u8; ID_HEX_CHARS / 2];
    rng.fill_bytes(&mut id);
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut secret);
    let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let secret: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let key = format!("{KEY_PREFIX}{id}_{secret}");
    let mut scopes = new.scopes;
    scopes.sort();
    scopes.dedup();
    Issued {
        record: KeyRecord {
            id,
            name: new.name,
            scopes,
            rate_per_second: new.rate_per_second,
            records_per_second: new.records_per_second,
            tenant: new.tenant,
            hash: blake3::hash(key.as_bytes()).to_hex().to_string(),
            created_at: crate::dlq::now_rfc3339(),
            revoked_at: None,
        },
        secret: key,
    }
}

/// Shortest secret part accepted in an operator-chosen key (192 bits of base64 or hex).
const MIN_CHOSEN_SECRET_CHARS: usize = 32;

/// The record of an operator-chosen key (`auth.bootstrap_key`), or why it is not a key.
pub fn chosen_key(key: &str, name: &str, scopes: Vec<Scope>) -> Result<KeyRecord, String> {
    let id = key_id(key).filter(|id| id.bytes().all(|b| b.is_ascii_hexdigit()));
    let secret = key.get(KEY_PREFIX.len() + ID_HEX_CHARS + 1..).unwrap_or("");
    match id {
        Some(id) if secret.len() >= MIN_CHOSEN_SECRET_CHARS => Ok(KeyRecord {
            id: id.to_string(),
            name: name.to_string(),
            scopes,
            rate_per_second: None,
            records_per_second: None,
            tenant: None,
            hash: blake3::hash(key.as_bytes()).to_hex().to_string(),
            created_at: crate::dlq::now_rfc3339(),
            revoked_at: None,
        }),
        _ => Err(format!(
            "auth.bootstrap_key must look like glossa_<{ID_HEX_CHARS} hex digits>_<secret of at least {MIN_CHOSEN_SECRET_CHARS} characters>, e.g. glossa_$(openssl rand -hex 6)_$(openssl rand -hex 32)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_key(scopes: Vec<Scope>) -> Issued {
        issue(NewKey {
            name: "t".into(),
            scopes,
            rate_per_second: None,
            records_per_second: None,
            tenant: None,
        })
    }

    #[test]
    fn an_issued_key_matches_only_itself_and_is_not_stored() {
        let issued = new_key(vec![Scope::Search]);
        assert!(issued.record.matches(&issued.secret));
        assert_eq!(key_id(&issued.secret), Some(issued.record.id.as_str()));
        let other = new_key(vec![Scope::Search]);
        assert!(!issued.record.matches(&other.secret));
        let stored = serde_json::to_string(&issued.record).unwrap();
        let secret_part = &issued.secret[20..];
        assert!(
            !stored.contains(secret_part),
            "the secret must not be stored"
        );
    }

    #[test]
    fn scopes_are_checked_and_admin_grants_all() {
        let search = new_key(vec![Scope::Search, Scope::Search]).record;
        assert_eq!(search.scopes, vec![Scope::Search]);
        assert!(search.allows(Scope::Search) && !search.allows(Scope::Ingest));
        let admin = new_key(vec![Scope::Admin]).record;
        assert!(Scope::ALL.iter().all(|s| admin.allows(*s)));
        assert_eq!(Scope::parse(" ingest"), Some(Scope::Ingest));
        assert_eq!(Scope::parse("write"), None);
    }

    #[test]
    fn chosen_keys_need_a_hex_id_and_a_long_secret() {
        let key = format!("glossa_0123456789ab_{}", "s".repeat(32));
        let record = chosen_key(&key, "boot", vec![Scope::Search]).unwrap();
        assert!(record.matches(&key) && record.id == "0123456789ab");
        assert!(chosen_key("glossa_0123456789ab_short", "b", vec![]).is_err());
        assert!(chosen_key(
            &format!("glossa_0123456789zz_{}", "s".repeat(32)),
            "b",
            vec![]
        )
        .is_err());
    }

    #[test]
    fn malformed_keys_have_no_id() {
        for bad in [
            "",
            "glossa_",
            "glossa_abc_x",
            "Bearer x",
            "glossa_0123456789ab_",
        ] {
            assert_eq!(key_id(bad), None, "{bad}");
        }
    }
}
