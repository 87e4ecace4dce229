//! Signing secrets (`whsec_<base64>`) and their encryption at rest. A secret must be
//! readable to sign, so it cannot be hashed like an API key; it is sealed with
//! AES-256-GCM under the server's key instead, with the subscription id as associated
//! data, so a sealed secret copied onto another row does not open.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

pub const SECRET_PREFIX: &str = "whsec_";
const SECRET_BYTES: usize = 32;
const SEALED_VERSION: &str = "v1:";

/// A webhook signing secret. Its `Debug` never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(Vec<u8>);

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(…)")
    }
}

impl SigningSecret {
    pub fn generate() -> AppResult<Self> {
        Ok(SigningSecret(
            super::random_bytes::<SECRET_BYTES>()?.to_vec(),
        ))
    }

    /// Reads `whsec_<base64>`.
    pub fn parse(text: &str) -> Option<Self> {
        let encoded = text.strip_prefix(SECRET_PREFIX)?;
        let bytes = STANDARD.decode(encoded).ok()?;
        (bytes.len() >= 24).then_some(SigningSecret(bytes))
    }

    /// `whsec_<base64>`, as shown to the subscriber once.
    pub fn expose(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

/// The server's key for sealing secrets (`AURA_WEBHOOK_SECRET_KEY`, 32 bytes).
#[derive(Clone)]
pub struct SecretBox {
    key: std::sync::Arc<LessSafeKey>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(…)")
    }
}

impl SecretBox {
    pub fn new(key: &[u8; 32]) -> Self {
        // AES-256 accepts any 32 bytes; `new` fails only for a wrong length.
        let unbound = UnboundKey::new(&AES_256_GCM, key).expect("a 32-byte AES-256 key");
        SecretBox {
            key: std::sync::Arc::new(LessSafeKey::new(unbound)),
        }
    }

    /// A box with a random key, for tests and throwaway servers.
    pub fn ephemeral() -> Self {
        let mut key = [0u8; 32];
        // Without randomness nothing else works either; fall back to a fixed key would
        // be worse than stopping.
        getrandom::fill(&mut key).expect("the OS random source");
        SecretBox::new(&key)
    }

    /// Parses the configured key: 32 bytes in standard base64.
    pub fn from_base64(text: &str) -> Result<Self, String> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| "AURA_WEBHOOK_SECRET_KEY is not base64".to_owned())?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| {
            "AURA_WEBHOOK_SECRET_KEY must be 32 bytes in base64 (`openssl rand -base64 32`)"
                .to_owned()
        })?;
        Ok(SecretBox::new(&key))
    }

    /// `v1:<base64 of nonce ‖ ciphertext ‖ tag>`, bound to `owner`.
    pub fn seal(&self, owner: Uuid, secret: &SigningSecret) -> AppResult<String> {
        self.seal_bytes(owner, &secret.0)
    }

    /// Opens what [`SecretBox::seal`] made for `owner`. Fails on another key or owner.
    pub fn open(&self, owner: Uuid, sealed: &str) -> AppResult<SigningSecret> {
        self.open_bytes(owner, sealed).map(SigningSecret)
    }

    /// Seals any bytes (a stored response that holds a secret, say) bound to `owner`.
    pub fn seal_bytes(&self, owner: Uuid, plain: &[u8]) -> AppResult<String> {
        let nonce = super::random_bytes::<NONCE_LEN>()?;
        let mut sealed = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(owner.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| AppError::internal("cannot seal a secret"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!("{SEALED_VERSION}{}", STANDARD.encode(out)))
    }

    pub fn open_bytes(&self, owner: Uuid, sealed: &str) -> AppResult<Vec<u8>> {
        let broken = || {
            AppError::internal(
                "a sealed value does not open with AURA_WEBHOOK_SECRET_KEY (was the key changed?)",
            )
        };
        let encoded = sealed.strip_prefix(SEALED_VERSION).ok_or_else(broken)?;
        let mut bytes = STANDARD.decode(encoded).map_err(|_| broken())?;
        if bytes.len() < NONCE_LEN {
            return Err(broken());
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&bytes[..NONCE_LEN]);
        let plain = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(owner.as_bytes()),
                &mut bytes[NONCE_LEN..],
            )
            .map_err(|_| broken())?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_round_trip_through_their_text_form() {
        let secret = SigningSecret::generate().unwrap();
        let text = secret.expose();
        assert!(text.starts_with("whsec_"));
        assert_eq!(SigningSecret::parse(&text), Some(secret.clone()));
        assert!(!format!("{secret:?}").contains(&text[6..]));
        assert_eq!(SigningSecret::parse("whsec_!!"), None);
        assert_eq!(SigningSecret::parse("sk_abc"), None);
    }

    #[test]
    fn sealed_secrets_open_only_with_the_same_key_and_owner() {
        let secret = SigningSecret::generate().unwrap();
        let owner = Uuid::now_v7();
        let sealed_box = SecretBox::ephemeral();
        let sealed = sealed_box.seal(owner, &secret).unwrap();
        assert!(!sealed.contains(&secret.expose()[6..]));
        assert_eq!(sealed_box.open(owner, &sealed).unwrap(), secret);
        // Two seals of one secret differ (fresh nonce).
        assert_ne!(sealed_box.seal(owner, &secret).unwrap(), sealed);
        assert!(sealed_box.open(Uuid::now_v7(), &sealed).is_err());
        assert!(SecretBox::ephemeral().open(owner, &sealed).is_err());
        assert!(sealed_box.open(owner, "v1:AAAA").is_err());
        assert!(sealed_box.open(owner, "garbage").is_err());
    }

    #[test]
    fn configured_keys_must_be_32_bytes_of_base64() {
        assert!(SecretBox::from_base64(&STANDARD.encode([7u8; 32])).is_ok());
        assert!(SecretBox::from_base64(&STANDARD.encode([7u8; 16])).is_err());
        assert!(SecretBox::from_base64("not base64!").is_err());
    }
}
