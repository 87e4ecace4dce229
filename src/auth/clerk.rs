//! Clerk sign-in: verifies Clerk session tokens and reads who the user is and which
//! organization they act for. It owns the token rules (RS256 only, `exp`/`nbf` with 5 s of
//! skew, `iss`, `azp`), the signing keys (a PEM key, or Clerk's JWKS cached with a TTL),
//! and the two claim layouts Clerk has shipped (v2 `o`, v1 `org_*`). Mapping the Clerk
//! organization to an Aura organization is the authenticator's job.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::error::{AppError, AppResult};

/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 5;
/// A token naming a key we do not have may make us refetch the JWKS at most this often,
/// so garbage `kid`s cannot turn us into a load generator against Clerk.
const UNKNOWN_KID_REFETCH_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct ClerkConfig {
    pub source: KeySource,
    /// The only accepted `iss`.
    pub issuer: String,
    /// Accepted `azp` values; empty accepts any.
    pub authorized_parties: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum KeySource {
    Jwks {
        url: reqwest::Url,
        ttl: Duration,
    },
    /// A PEM public key: verification needs no network.
    Pem(String),
}

/// What a verified token says.
#[derive(Debug, Clone)]
pub struct ClerkSession {
    pub user_id: String,
    /// The active organization, if the user has chosen one.
    pub organization: Option<ClerkOrganization>,
    /// `sts: "pending"`: the session exists but sign-in is not finished.
    pub pending: bool,
}

#[derive(Debug, Clone)]
pub struct ClerkOrganization {
    pub id: String,
    pub role: Option<String>,
    pub slug: Option<String>,
    pub permissions: Vec<String>,
}

impl ClerkOrganization {
    /// v1 tokens say `org:admin`, v2 tokens say `admin`.
    pub fn is_admin(&self) -> bool {
        matches!(self.role.as_deref(), Some("admin" | "org:admin"))
    }
}

pub struct ClerkVerifier {
    keys: Keys,
    validation: Validation,
    authorized_parties: Vec<String>,
}

enum Keys {
    Static(DecodingKey),
    Jwks(JwksCache),
}

impl ClerkVerifier {
    pub fn new(config: &ClerkConfig) -> Result<Self, String> {
        let keys = match &config.source {
            KeySource::Pem(pem) => Keys::Static(
                DecodingKey::from_rsa_pem(pem.as_bytes())
                    .map_err(|_| "CLERK_JWT_KEY is not an RSA public key in PEM form")?,
            ),
            KeySource::Jwks { url, ttl } => Keys::Jwks(JwksCache::new(url.clone(), *ttl)?),
        };
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        // Clerk session tokens carry no `aud`; `azp` is checked below instead.
        validation.validate_aud = false;
        validation.set_issuer(&[config.issuer.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        Ok(ClerkVerifier {
            keys,
            validation,
            authorized_parties: config.authorized_parties.clone(),
        })
    }

    /// Verifies `token` and reads its session. Every failure is a 401 except a key set
    /// that cannot be fetched at all (503): that is our outage, not the caller's mistake.
    pub async fn verify(&self, token: &str) -> AppResult<ClerkSession> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| unauthorized("the token is not a valid JWT"))?;
        // Pinned: the header's `alg` never chooses how we verify.
        if header.alg != Algorithm::RS256 {
            return Err(unauthorized("Clerk tokens must be signed with RS256"));
        }
        let key = match &self.keys {
            Keys::Static(key) => KeyRef::Static(key),
            Keys::Jwks(cache) => {
                let kid = header
                    .kid
                    .as_deref()
                    .ok_or_else(|| unauthorized("the token names no signing key (`kid`)"))?;
                KeyRef::Shared(cache.key(kid).await?)
            }
        };
        let data = jsonwebtoken::decode::<Claims>(token, key.get(), &self.validation)
            .map_err(|err| unauthorized(describe(err.kind())))?;
        let claims = data.claims;
        if let Some(azp) = &claims.azp
            && !self.authorized_parties.is_empty()
            && !self.authorized_parties.iter().any(|p| p == azp)
        {
            return Err(unauthorized(
                "the token was issued to a party (`azp`) this API does not accept",
            ));
        }
        Ok(claims.into_session())
    }
}

enum KeyRef<'a> {
    Static(&'a DecodingKey),
    Shared(Arc<DecodingKey>),
}

impl KeyRef<'_> {
    fn get(&self) -> &DecodingKey {
        match self {
            KeyRef::Static(key) => key,
            KeyRef::Shared(key) => key,
        }
    }
}

fn unauthorized(reason: &str) -> AppError {
    AppError::Unauthorized(format!("invalid Clerk token: {reason}"))
}

fn describe(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::ExpiredSignature => "it has expired",
        ErrorKind::ImmatureSignature => "it is not valid yet (`nbf`)",
        ErrorKind::InvalidIssuer => "it was issued by another Clerk instance (`iss`)",
        ErrorKind::InvalidSignature => "the signature does not match",
        ErrorKind::InvalidAlgorithm => "Clerk tokens must be signed with RS256",
        ErrorKind::MissingRequiredClaim(_) => "a required claim (`exp`, `iss`, `sub`) is missing",
        _ => "the token is malformed",
    }
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    azp: Option<String>,
    sts: Option<String>,
    /// v2: the active organization.
    o: Option<OrgClaim>,
    // v1: the active organization, flat.
    org_id: Option<String>,
    org_role: Option<String>,
    org_slug: Option<String>,
    org_permissions: Option<Permissions>,
}

#[derive(Deserialize)]
struct OrgClaim {
    id: String,
    rol: Option<String>,
    slg: Option<String>,
    per: Option<Permissions>,
}

/// v2 sends permissions as one comma-separated string, v1 as an array.
#[derive(Deserialize)]
#[serde(untagged)]
enum Permissions {
    List(Vec<String>),
    Joined(String),
}

impl Permissions {
    fn into_vec(self) -> Vec<String> {
        match self {
            Permissions::List(list) => list,
            Permissions::Joined(text) => text
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect(),
        }
    }
}

impl Claims {
    fn into_session(self) -> ClerkSession {
        let organization = match (self.o, self.org_id) {
            (Some(o), _) => Some(ClerkOrganization {
                id: o.id,
                role: o.rol,
                slug: o.slg,
                permissions: o.per.map(Permissions::into_vec).unwrap_or_default(),
            }),
            (None, Some(id)) => Some(ClerkOrganization {
                id,
                role: self.org_role,
                slug: self.org_slug,
                permissions: self
                    .org_permissions
                    .map(Permissions::into_vec)
                    .unwrap_or_default(),
            }),
            (None, None) => None,
        };
        ClerkSession {
            user_id: self.sub,
            organization: organization.filter(|o| !o.id.is_empty()),
            pending: self.sts.as_deref() == Some("pending"),
        }
    }
}

/// Clerk's public keys by `kid`, fetched on first use, again after the TTL, and early
/// (at most once a minute) when a token names a key we have not seen: that is how a key
/// rotation shows up.
struct JwksCache {
    url: reqwest::Url,
    ttl: Duration,
    client: reqwest::Client,
    state: RwLock<JwksState>,
    /// One fetch at a time; requests that waited re-read the state instead of fetching.
    refresh: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct JwksState {
    keys: HashMap<String, Arc<DecodingKey>>,
    fetched_at: Option<Instant>,
    unknown_kid_fetch_at: Option<Instant>,
}

impl JwksCache {
    fn new(url: reqwest::Url, ttl: Duration) -> Result<Self, String> {
        crate::crypto::tls::install_crypto_provider();
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(JwksCache {
            url,
            ttl,
            client,
            state: RwLock::new(JwksState::default()),
            refresh: tokio::sync::Mutex::new(()),
        })
    }

    /// `Some(key)` when a fresh key set has it; `None` when a fetch is due or it is unknown.
    fn lookup(&self, kid: &str, now: Instant) -> (Option<Arc<DecodingKey>>, bool) {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        let fresh = state
            .fetched_at
            .is_some_and(|at| now.duration_since(at) < self.ttl);
        (state.keys.get(kid).cloned(), fresh)
    }

    async fn key(&self, kid: &str) -> AppResult<Arc<DecodingKey>> {
        if let (Some(key), true) = self.lookup(kid, Instant::now()) {
            return Ok(key);
        }
        let _one_fetch = self.refresh.lock().await;
        let (key, fresh) = self.lookup(kid, Instant::now());
        let mut fetched = false;
        if !fresh {
            match self.fetch().await {
                Ok(keys) => {
                    self.store(keys, false);
                    fetched = true;
                }
                Err(detail) => {
                    let have_any = !self
                        .state
                        .read()
                        .unwrap_or_else(|e| e.into_inner())
                        .keys
                        .is_empty();
                    tracing::warn!(error = %detail, url = %self.url, stale_keys = have_any, "cannot fetch Clerk's JWKS");
                    // Stale keys beat no keys: Clerk rotates rarely and announces it.
                    if let Some(key) = key {
                        return Ok(key);
                    }
                    if !have_any {
                        return Err(AppError::unavailable(
                            "Clerk sign-in is unavailable: the signing keys cannot be fetched",
                        ));
                    }
                }
            }
        }
        if let (Some(key), _) = self.lookup(kid, Instant::now()) {
            return Ok(key);
        }
        let may_refetch = !fetched
            && self
                .state
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .unknown_kid_fetch_at
                .is_none_or(|at| at.elapsed() >= UNKNOWN_KID_REFETCH_INTERVAL);
        if may_refetch {
            match self.fetch().await {
                Ok(keys) => self.store(keys, true),
                Err(detail) => {
                    self.state
                        .write()
                        .unwrap_or_else(|e| e.into_inner())
                        .unknown_kid_fetch_at = Some(Instant::now());
                    tracing::warn!(error = %detail, url = %self.url, "cannot refetch Clerk's JWKS");
                }
            }
            if let (Some(key), _) = self.lookup(kid, Instant::now()) {
                return Ok(key);
            }
        }
        Err(unauthorized("it is signed by an unknown key (`kid`)"))
    }

    fn store(&self, keys: HashMap<String, Arc<DecodingKey>>, for_unknown_kid: bool) {
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        state.keys = keys;
        state.fetched_at = Some(now);
        if for_unknown_kid {
            state.unknown_kid_fetch_at = Some(now);
        }
    }

    async fn fetch(&self) -> Result<HashMap<String, Arc<DecodingKey>>, String> {
        #[derive(Deserialize)]
        struct KeySet {
            keys: Vec<serde_json::Value>,
        }
        let response = self
            .client
            .get(self.url.clone())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("HTTP {}", response.status()));
        }
        let set: KeySet = response.json().await.map_err(|e| e.to_string())?;
        let keys = usable_keys(set.keys);
        if keys.is_empty() {
            return Err("the key set holds no RS256 signing key".to_owned());
        }
        tracing::info!(keys = keys.len(), "fetched Clerk's JWKS");
        Ok(keys)
    }
}

/// The RS256 signing keys of a JWKS; anything else (other key types, encryption keys,
/// keys without `kid`) is skipped rather than failing the whole set.
fn usable_keys(raw: Vec<serde_json::Value>) -> HashMap<String, Arc<DecodingKey>> {
    raw.into_iter()
        .filter_map(|value| serde_json::from_value::<Jwk>(value).ok())
        .filter(|jwk| matches!(jwk.algorithm, AlgorithmParameters::RSA(_)))
        .filter(|jwk| matches!(jwk.common.key_algorithm, None | Some(KeyAlgorithm::RS256)))
        .filter(|jwk| {
            matches!(
                jwk.common.public_key_use,
                None | Some(PublicKeyUse::Signature)
            )
        })
        .filter_map(|jwk| {
            let kid = jwk.common.key_id.clone()?;
            let key = DecodingKey::from_jwk(&jwk).ok()?;
            Some((kid, Arc::new(key)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn session(claims: serde_json::Value) -> ClerkSession {
        serde_json::from_value::<Claims>(claims)
            .unwrap()
            .into_session()
    }

    #[test]
    fn reads_v2_and_v1_organizations() {
        let v2 = session(json!({
            "sub": "user_1", "v": 2,
            "o": {"id": "org_a", "rol": "admin", "slg": "acme", "per": "read,manage"}
        }));
        let org = v2.organization.unwrap();
        assert_eq!(org.id, "org_a");
        assert!(org.is_admin());
        assert_eq!(org.permissions, ["read", "manage"]);

        let v1 = session(json!({
            "sub": "user_1", "org_id": "org_b", "org_role": "org:admin",
            "org_slug": "b", "org_permissions": ["org:sys_memberships:read"]
        }));
        let org = v1.organization.unwrap();
        assert_eq!(org.id, "org_b");
        assert!(org.is_admin());
        assert_eq!(org.permissions.len(), 1);

        let member = session(json!({"sub": "u", "org_id": "org_b", "org_role": "org:member"}));
        assert!(!member.organization.unwrap().is_admin());

        let none = session(json!({"sub": "u"}));
        assert!(none.organization.is_none());
        assert!(!none.pending);
        assert!(session(json!({"sub": "u", "sts": "pending"})).pending);
    }

    #[test]
    fn only_rs256_signing_keys_with_a_kid_are_used() {
        let n = "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw";
        let keys = usable_keys(vec![
            json!({"kty": "RSA", "kid": "good", "alg": "RS256", "use": "sig", "n": n, "e": "AQAB"}),
            json!({"kty": "RSA", "kid": "no-alg", "n": n, "e": "AQAB"}),
            json!({"kty": "RSA", "kid": "enc", "use": "enc", "n": n, "e": "AQAB"}),
            json!({"kty": "RSA", "kid": "rs512", "alg": "RS512", "n": n, "e": "AQAB"}),
            json!({"kty": "RSA", "n": n, "e": "AQAB"}),
            json!({"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}),
            json!({"kty": "weird"}),
        ]);
        let mut kids: Vec<&str> = keys.keys().map(String::as_str).collect();
        kids.sort();
        assert_eq!(kids, ["good", "no-alg"]);
    }
}
