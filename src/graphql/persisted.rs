//! Persisted queries, Apollo's automatic persisted query (APQ) protocol: a client sends
//! `extensions.persistedQuery.sha256Hash` instead of the document (short enough for a GET
//! URL); the server answers from its store, or `PERSISTED_QUERY_NOT_FOUND`, after which
//! the client sends the document with its hash once and the server keeps it.
//!
//! The booking widget's documents (`web/widget/operations.graphql`) are known at build
//! time, so anonymous visitors never need to register them. Registered documents live in
//! a bounded cache: the oldest go first, so a client sending endless distinct documents
//! costs memory for at most [`MAX_REGISTERED`] of them.

use std::collections::{HashMap, VecDeque};
use std::sync::{LazyLock, Mutex};

use async_graphql::{ErrorExtensionValues, Request, ServerError, Value};

use crate::crypto::sha256_hex;

/// The widget's documents, one operation per block separated by a blank line.
pub const WIDGET_DOCUMENTS: &str = include_str!("../../web/widget/operations.graphql");
/// Documents registered by clients, kept at most.
pub const MAX_REGISTERED: usize = 1000;
/// The longest document a client may register.
pub const MAX_REGISTERED_LEN: usize = 16 * 1024;

/// A document known by its hash.
#[derive(Debug, Clone)]
pub struct Known {
    pub name: String,
    pub text: String,
}

/// The widget's documents by hash, with their operation names.
pub static WIDGET: LazyLock<HashMap<String, Known>> = LazyLock::new(|| {
    WIDGET_DOCUMENTS
        .trim_end_matches('\n')
        .split("\n\n")
        .map(|block| {
            let name = block
                .split(['(', ' ', '{'])
                .nth(1)
                .unwrap_or_default()
                .to_owned();
            (
                sha256_hex(block),
                Known {
                    name,
                    text: block.to_owned(),
                },
            )
        })
        .collect()
});

/// Whether `name` is the name of one of the widget's operations.
pub fn is_widget_operation(name: &str) -> bool {
    WIDGET.values().any(|known| known.name == name)
}

/// `{"OperationName": "<sha256>", …}`: what the widget script is served with.
pub fn widget_hashes() -> serde_json::Value {
    WIDGET
        .iter()
        .map(|(hash, known)| (known.name.clone(), serde_json::Value::from(hash.as_str())))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

#[derive(Default)]
struct Registered {
    by_hash: HashMap<String, String>,
    order: VecDeque<String>,
}

static REGISTERED: LazyLock<Mutex<Registered>> = LazyLock::new(Default::default);

fn error(code: &str, message: &str) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", code);
    error.extensions = Some(extensions);
    error
}

/// The hash a request asks for, if it follows the protocol.
fn requested_hash(request: &Request) -> Result<Option<String>, ServerError> {
    let Some(persisted) = request.extensions.0.get("persistedQuery") else {
        return Ok(None);
    };
    let Value::Object(fields) = persisted else {
        return Err(error(
            "VALIDATION_ERROR",
            "extensions.persistedQuery must be an object {version, sha256Hash}",
        ));
    };
    if fields.get("version") != Some(&Value::from(1)) {
        return Err(error(
            "VALIDATION_ERROR",
            "extensions.persistedQuery.version must be 1",
        ));
    }
    match fields.get("sha256Hash") {
        Some(Value::String(hash))
            if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            Ok(Some(hash.to_ascii_lowercase()))
        }
        _ => Err(error(
            "VALIDATION_ERROR",
            "extensions.persistedQuery.sha256Hash must be 64 hex digits",
        )),
    }
}

/// Applies the protocol to `request`: fills in the document of a hash-only request, or
/// registers the document a request sends with its hash.
pub fn resolve(request: &mut Request) -> Result<(), ServerError> {
    let Some(hash) = requested_hash(request)? else {
        return Ok(());
    };
    if request.query.is_empty() {
        if let Some(known) = WIDGET.get(&hash) {
            request.query = known.text.clone();
            return Ok(());
        }
        let registered = REGISTERED.lock().unwrap_or_else(|e| e.into_inner());
        return match registered.by_hash.get(&hash) {
            Some(text) => {
                request.query = text.clone();
                Ok(())
            }
            None => Err(error("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")),
        };
    }
    if sha256_hex(&request.query) != hash {
        return Err(error(
            "VALIDATION_ERROR",
            "extensions.persistedQuery.sha256Hash is not the SHA-256 of the query",
        ));
    }
    if WIDGET.contains_key(&hash) || request.query.len() > MAX_REGISTERED_LEN {
        return Ok(());
    }
    let mut registered = REGISTERED.lock().unwrap_or_else(|e| e.into_inner());
    if !registered.by_hash.contains_key(&hash) {
        if registered.order.len() >= MAX_REGISTERED
            && let Some(oldest) = registered.order.pop_front()
        {
            registered.by_hash.remove(&oldest);
        }
        registered.order.push_back(hash.clone());
        registered.by_hash.insert(hash, request.query.clone());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::Value;

    fn with_hash(query: &str, hash: &str) -> Request {
        let mut request = Request::new(query);
        let mut persisted = async_graphql::indexmap::IndexMap::new();
        persisted.insert(async_graphql::Name::new("version"), Value::from(1));
        persisted.insert(async_graphql::Name::new("sha256Hash"), Value::from(hash));
        request
            .extensions
            .0
            .insert("persistedQuery".into(), Value::Object(persisted));
        request
    }

    #[test]
    fn the_widget_documents_are_known_by_hash() {
        assert_eq!(WIDGET.len(), 6);
        let (hash, known) = WIDGET
            .iter()
            .find(|(_, k)| k.name == "AvailableSlots")
            .unwrap();
        let mut request = with_hash("", hash);
        resolve(&mut request).unwrap();
        assert_eq!(request.query, known.text);
        assert_eq!(widget_hashes()["AvailableSlots"], serde_json::json!(hash));
    }

    #[test]
    fn unknown_hashes_miss_and_registration_checks_the_hash() {
        let query = "{ __typename }";
        let hash = sha256_hex(query);
        let missed = resolve(&mut with_hash("", &hash)).unwrap_err();
        assert_eq!(
            missed.extensions.unwrap().get("code"),
            Some(&Value::from("PERSISTED_QUERY_NOT_FOUND"))
        );
        assert!(resolve(&mut with_hash(query, &"0".repeat(64))).is_err());
        resolve(&mut with_hash(query, &hash)).unwrap();
        let mut again = with_hash("", &hash);
        resolve(&mut again).unwrap();
        assert_eq!(again.query, query);
        assert!(resolve(&mut with_hash("", "not-a-hash")).is_err());
    }

    #[test]
    fn the_cache_is_bounded() {
        for n in 0..MAX_REGISTERED + 10 {
            let query = format!("{{ __typename }} # {n} bounded");
            resolve(&mut with_hash(&query, &sha256_hex(&query))).unwrap();
        }
        let registered = REGISTERED.lock().unwrap();
        assert!(registered.by_hash.len() <= MAX_REGISTERED);
        assert_eq!(registered.by_hash.len(), registered.order.len());
    }
}
