//! API key format: `aura_pk_live_` + 32 random base62 characters (190 bits) + a 6
//! character base62 CRC32 of everything before it. The checksum lets us refuse a mistyped
//! or truncated key without touching the database, and lets secret scanners recognise
//! real keys. Only the SHA-256 of the whole key is stored: the secret is high-entropy, so
//! a fast hash is enough and a database leak yields no usable key.

pub const KEY_PREFIX: &str = "aura_pk_live_";
const RANDOM_LEN: usize = 32;
const CHECKSUM_LEN: usize = 6;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A freshly minted key. `secret` is shown once and never stored.
pub struct NewApiKey {
    pub secret: String,
    pub hash: String,
    pub display_prefix: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum KeyFormatError {
    NotAnAuraKey,
    Malformed,
    BadChecksum,
}

pub fn generate() -> Result<NewApiKey, getrandom::Error> {
    let mut random = String::with_capacity(RANDOM_LEN);
    let mut buf = [0u8; 64];
    while random.len() < RANDOM_LEN {
        getrandom::fill(&mut buf)?;
        // Rejection sampling keeps every character uniformly likely.
        for byte in buf {
            if byte < 248 && random.len() < RANDOM_LEN {
                random.push(BASE62[(byte % 62) as usize] as char);
            }
        }
    }
    let body = format!("{KEY_PREFIX}{random}");
    let secret = format!("{body}{}", checksum(&body));
    Ok(NewApiKey {
        hash: hash(&secret),
        display_prefix: secret[..KEY_PREFIX.len() + 4].to_owned(),
        secret,
    })
}

/// Checks the key's shape and checksum. Cheap, and needs no database.
pub fn verify_format(candidate: &str) -> Result<(), KeyFormatError> {
    let Some(rest) = candidate.strip_prefix(KEY_PREFIX) else {
        return Err(KeyFormatError::NotAnAuraKey);
    };
    if rest.len() != RANDOM_LEN + CHECKSUM_LEN || !rest.bytes().all(|b| BASE62.contains(&b)) {
        return Err(KeyFormatError::Malformed);
    }
    let (body, sum) = candidate.split_at(candidate.len() - CHECKSUM_LEN);
    if checksum(body) == sum {
        Ok(())
    } else {
        Err(KeyFormatError::BadChecksum)
    }
}

pub fn hash(secret: &str) -> String {
    super::sha256_hex(secret)
}

fn checksum(body: &str) -> String {
    let mut value = crc32fast::hash(body.as_bytes());
    let mut chars = [b'0'; CHECKSUM_LEN];
    for slot in chars.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    String::from_utf8_lossy(&chars).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_verify_and_differ() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a.secret, b.secret);
        assert!(a.secret.starts_with(KEY_PREFIX));
        assert_eq!(a.secret.len(), KEY_PREFIX.len() + RANDOM_LEN + CHECKSUM_LEN);
        assert_eq!(verify_format(&a.secret), Ok(()));
        assert_eq!(a.hash, hash(&a.secret));
        assert!(!a.hash.contains(&a.secret[KEY_PREFIX.len()..]));
    }

    #[test]
    fn a_single_typo_fails_the_checksum() {
        let key = generate().unwrap().secret;
        let mut typo = key.clone().into_bytes();
        let i = KEY_PREFIX.len() + 5;
        typo[i] = if typo[i] == b'a' { b'b' } else { b'a' };
        let typo = String::from_utf8(typo).unwrap();
        assert_eq!(verify_format(&typo), Err(KeyFormatError::BadChecksum));
    }

    #[test]
    fn rejects_other_shapes() {
        assert_eq!(
            verify_format("sk_live_123"),
            Err(KeyFormatError::NotAnAuraKey)
        );
        assert_eq!(
            verify_format("aura_pk_live_short"),
            Err(KeyFormatError::Malformed)
        );
        let key = generate().unwrap().secret;
        assert_eq!(
            verify_format(&format!("{key}x")),
            Err(KeyFormatError::Malformed)
        );
        let with_symbol = format!("{}!{}", &key[..20], &key[21..]);
        assert_eq!(verify_format(&with_symbol), Err(KeyFormatError::Malformed));
    }
}
