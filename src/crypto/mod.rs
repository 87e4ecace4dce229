//! Hashes, random tokens, API key format and secret sealing: the primitives every layer
//! shares, written once.

pub mod api_key;
pub mod secret;
pub mod tls;

use sha2::{Digest, Sha256};

pub use secret::{SecretBox, SigningSecret};

use crate::error::{AppError, AppResult};

/// The SHA-256 of `bytes`, as 64 lower-case hex digits.
pub fn sha256_hex(bytes: impl AsRef<[u8]>) -> String {
    hex(&Sha256::digest(bytes.as_ref()))
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[usize::from(byte >> 4)] as char);
        out.push(DIGITS[usize::from(byte & 15)] as char);
    }
    out
}

/// `N` bytes from the operating system's random source.
pub fn random_bytes<const N: usize>() -> AppResult<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|err| AppError::internal_from("the OS random source failed", err))?;
    Ok(bytes)
}

/// `prefix` followed by `N` random bytes in URL-safe base64 (a bearer token such as a
/// booking token: only its [`sha256_hex`] is stored).
pub fn random_token<const N: usize>(prefix: &str) -> AppResult<String> {
    use base64::Engine;
    let bytes = random_bytes::<N>()?;
    Ok(format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_the_standard_vector() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hex(&[0, 15, 255]), "000fff");
    }

    #[test]
    fn tokens_are_random_and_prefixed() {
        let a = random_token::<24>("bk_").unwrap();
        let b = random_token::<24>("bk_").unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("bk_"));
        assert_eq!(a.len(), 3 + 32);
    }
}
