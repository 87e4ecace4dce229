//! The process-wide TLS setup: rustls with the ring provider, the only one compiled in.
//! Every HTTP client (Clerk's JWKS, webhook deliveries) relies on it being installed.

use std::sync::Once;

/// Installs ring as rustls' default provider. Idempotent; call it at start-up.
pub fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Err means a provider is already installed, which is all we need.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
