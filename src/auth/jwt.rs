//! Tokens from an identity provider (Cognito, Keycloak, Auth0...) as an alternative to API
//! keys: signed with an asymmetric key from a JWKS file the operator keeps current (no network
//! fetch), from the configured issuer, for the configured audience, not expired, and carrying
//! the Glossa scopes in a claim.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use super::Scope;
use crate::config::JwtSettings;

/// Only asymmetric algorithms: an HMAC token "signed" with the public key must never pass.
const ACCEPTED: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Clock skew allowed on `exp` and `nbf`, in seconds.
const LEEWAY_SECONDS: u64 = 30;

/// Why the JWKS file cannot be used; names the file.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("auth.jwt.jwks_file {path}: {message}")]
    File { path: String, message: String },
}

/// Checks tokens against one issuer's keys.
pub struct JwtVerifier {
    keys: JwkSet,
    settings: JwtSettings,
}

/// Who a valid token speaks for.
#[derive(Debug, PartialEq)]
pub struct TokenCaller {
    /// The `name_claim` (default `sub`).
    pub subject: String,
    pub scopes: Vec<Scope>,
    /// The `tenant_claim`, when one is configured: the caller is confined to that tenant.
    pub tenant: Option<String>,
}

impl JwtVerifier {
    /// Reads the JWKS file.
    pub fn load(settings: &JwtSettings) -> Result<JwtVerifier, JwksError> {
        let error = |message: String| JwksError::File {
            path: settings.jwks_file.display().to_string(),
            message,
        };
        let bytes = std::fs::read(&settings.jwks_file).map_err(|e| error(e.to_string()))?;
        let keys: JwkSet = serde_json::from_slice(&bytes)
            .map_err(|e| error(format!("not a JWKS document ({e})")))?;
        if keys.keys.is_empty() {
            return Err(error("the key set is empty".into()));
        }
        Ok(JwtVerifier {
            keys,
            settings: settings.clone(),
        })
    }

    /// The caller of a valid token, or why the token is refused.
    pub fn verify(&self, token: &str) -> Result<TokenCaller, String> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| format!("the bearer token is neither an API key nor a JWT ({e})"))?;
        if !ACCEPTED.contains(&header.alg) {
            return Err(format!(
                "tokens signed with {:?} are not accepted; use RS*, PS*, ES* or EdDSA",
                header.alg
            ));
        }
        let jwk = match &header.kid {
            Some(kid) => self.keys.find(kid),
            None if self.keys.keys.len() == 1 => self.keys.keys.first(),
            None => None,
        }
        .ok_or_else(|| {
            format!(
                "the token's key id {:?} is not in auth.jwt.jwks_file",
                header.kid.as_deref().unwrap_or("(none)")
            )
        })?;
        let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("unusable JWKS key: {e}"))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_audience(&self.settings.audience);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = LEEWAY_SECONDS;
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|e| format!("the token is not valid: {e}"))?
            .claims;
        let tenant = match &self.settings.tenant_claim {
            None => None,
            Some(claim) => {
                let name = claims.get(claim).and_then(Value::as_str).ok_or_else(|| {
                    format!("the token has no `{claim}` claim naming its tenant (auth.jwt.tenant_claim)")
                })?;
                super::check_tenant_name(name)
                    .map_err(|e| format!("the token's `{claim}` claim: {e}"))?;
                Some(name.to_string())
            }
        };
        Ok(TokenCaller {
            subject: claims
                .get(&self.settings.name_claim)
                .and_then(Value::as_str)
                .unwrap_or("unnamed")
                .to_string(),
            scopes: self.scopes(&claims),
            tenant,
        })
    }

    /// The scope claim as a space-separated string (OAuth `scope`) or a list (`groups`), each
    /// value with `scope_prefix` removed (Cognito resource-server scopes look like
    /// `glossa/search`); values that are not Glossa scopes are ignored.
    fn scopes(&self, claims: &Map<String, Value>) -> Vec<Scope> {
        let values: Vec<&str> = match claims.get(&self.settings.scopes_claim) {
            Some(Value::String(text)) => text.split_whitespace().collect(),
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let mut scopes: Vec<Scope> = values
            .into_iter()
            .filter_map(|v| v.strip_prefix(self.settings.scope_prefix.as_str()))
            .filter_map(Scope::parse)
            .collect();
        scopes.sort();
        scopes.dedup();
        scopes
    }
}
