/// `schema/schema.graphql` is what the code serves; `aura export` rewrites it.
#[test]
fn committed_graphql_schema_matches_the_code() {
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schema/schema.graphql"
    ))
    .expect("schema/schema.graphql is committed");
    let current = aura::graphql::sdl();
    assert!(
        committed == current,
        "schema/schema.graphql is stale: run `cargo run -- export` and commit the result"
    );
}

/// `schema/openapi.json` is the document the server serves; `aura export` rewrites it.
#[test]
fn committed_openapi_document_matches_the_code() {
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema/openapi.json"))
            .expect("schema/openapi.json is committed");
    assert!(
        committed == aura::rest::document_json(),
        "schema/openapi.json is stale: run `cargo run -- export` and commit the result"
    );
}
