//! Parsed operations, kept by their text. Clients (and every REST endpoint) send the same
//! few documents over and over; parsing one costs more than copying its tree, so each
//! text is parsed once and handed to the schema already parsed.
//!
//! Bounded two ways: only documents up to [`MAX_CACHED_LEN`] bytes are kept, and the cache
//! is emptied when it holds [`MAX_CACHED`] of them, so a client sending endless distinct
//! documents costs a re-parse, never memory.

use std::collections::HashMap;
use std::sync::{LazyLock, RwLock};

use async_graphql::parser::types::ExecutableDocument;

const MAX_CACHED: usize = 512;
const MAX_CACHED_LEN: usize = 16 * 1024;

static PARSED: LazyLock<RwLock<HashMap<String, ExecutableDocument>>> =
    LazyLock::new(Default::default);

/// The parsed form of `query`, or `None` when it does not parse (the schema then reports
/// the syntax error as usual).
pub fn parse(query: &str) -> Option<ExecutableDocument> {
    if let Some(document) = PARSED.read().unwrap_or_else(|e| e.into_inner()).get(query) {
        return Some(document.clone());
    }
    let document = async_graphql::parser::parse_query(query).ok()?;
    if query.len() <= MAX_CACHED_LEN {
        let mut cache = PARSED.write().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(query.to_owned(), document.clone());
    }
    Some(document)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_document_is_the_parsed_one() {
        let query = "query Cached($n: Int) { leads(first: $n) { edges { node { id } } } }";
        let first = parse(query).expect("parses");
        let again = parse(query).expect("parses");
        assert_eq!(format!("{first:?}"), format!("{again:?}"));
        assert_eq!(
            format!("{again:?}"),
            format!("{:?}", async_graphql::parser::parse_query(query).unwrap())
        );
        assert!(parse("{ unclosed").is_none());
    }

    #[test]
    fn the_cache_stays_bounded() {
        for i in 0..(MAX_CACHED + 10) {
            parse(&format!("{{ a{i}: __typename }}")).expect("parses");
        }
        assert!(PARSED.read().unwrap().len() <= MAX_CACHED);
        let huge = format!("{{ {} }}", "__typename ".repeat(MAX_CACHED_LEN / 10 + 1));
        parse(&huge).expect("parses");
        assert!(!PARSED.read().unwrap().contains_key(&huge));
    }
}
