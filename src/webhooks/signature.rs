//! Standard Webhooks signatures: `webhook-signature: v1,<base64 HMAC-SHA256 of
//! "{webhook-id}.{webhook-timestamp}.{body}">`, one entry per secret that currently signs,
//! separated by spaces (during a rotation, the new secret's first).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;

use crate::crypto::SigningSecret;

fn signature(secret: &SigningSecret, id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.bytes());
    let mut context = hmac::Context::with_key(&key);
    context.update(id.as_bytes());
    context.update(b".");
    context.update(timestamp.to_string().as_bytes());
    context.update(b".");
    context.update(body);
    STANDARD.encode(context.sign().as_ref())
}

/// The `webhook-signature` header value for `secrets`.
pub fn sign(secrets: &[SigningSecret], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .map(|secret| format!("v1,{}", signature(secret, id, timestamp, body)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `header` holds a valid `v1` signature by `secret` (what a receiver checks).
pub fn verify(secret: &SigningSecret, header: &str, id: &str, timestamp: i64, body: &[u8]) -> bool {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.bytes());
    let mut message = Vec::with_capacity(id.len() + body.len() + 24);
    message.extend_from_slice(id.as_bytes());
    message.push(b'.');
    message.extend_from_slice(timestamp.to_string().as_bytes());
    message.push(b'.');
    message.extend_from_slice(body);
    header.split(' ').any(|entry| {
        entry
            .strip_prefix("v1,")
            .and_then(|sig| STANDARD.decode(sig).ok())
            .is_some_and(|tag| hmac::verify(&key, &message, &tag).is_ok())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example from the Standard Webhooks specification's reference libraries.
    #[test]
    fn matches_the_standard_webhooks_reference_vector() {
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        let header = sign(
            std::slice::from_ref(&secret),
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            body,
        );
        assert_eq!(header, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(verify(
            &secret,
            &header,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            body
        ));
        assert!(!verify(
            &secret,
            &header,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265331,
            body
        ));
    }

    #[test]
    fn rotation_signs_with_both_secrets() {
        let old = SigningSecret::generate().unwrap();
        let new = SigningSecret::generate().unwrap();
        let header = sign(&[new.clone(), old.clone()], "evt_1", 1, b"{}");
        assert_eq!(header.split(' ').count(), 2);
        assert!(verify(&old, &header, "evt_1", 1, b"{}"));
        assert!(verify(&new, &header, "evt_1", 1, b"{}"));
        let stranger = SigningSecret::generate().unwrap();
        assert!(!verify(&stranger, &header, "evt_1", 1, b"{}"));
        assert!(!verify(&new, &header, "evt_1", 1, b"{ }"));
    }
}
