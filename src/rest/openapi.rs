//! The OpenAPI document as partners download it: poem-openapi's output plus what it cannot
//! express per operation: the headers every response carries (request id, rate limits)
//! and links from each list to its get, which let tools (and schemathesis's stateful
//! checks) chain calls.

use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use crate::ids::IdKind;

struct Document {
    json: String,
    yaml: String,
    /// `(path template split into segments, methods)`, for `Allow` on 405.
    paths: Vec<(Vec<String>, Vec<String>)>,
}

fn document() -> &'static Document {
    static DOCUMENT: OnceLock<Document> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let raw = super::service().spec();
        let mut spec: Value = serde_json::from_str(&raw).unwrap_or_else(|_| json!({}));
        decorate(&mut spec);
        let paths = spec["paths"]
            .as_object()
            .map(|paths| {
                paths
                    .iter()
                    .map(|(path, ops)| {
                        let segments = path.split('/').map(str::to_owned).collect();
                        let methods = ops
                            .as_object()
                            .map(|ops| ops.keys().map(|m| m.to_uppercase()).collect())
                            .unwrap_or_default();
                        (segments, methods)
                    })
                    .collect()
            })
            .unwrap_or_default();
        Document {
            json: serde_json::to_string_pretty(&spec).unwrap_or_default(),
            yaml: serde_yaml::to_string(&spec).unwrap_or_default(),
            paths,
        }
    })
}

pub fn document_json() -> &'static str {
    &document().json
}

pub fn document_yaml() -> &'static str {
    &document().yaml
}

/// The Redoc page, embedding the decorated document.
pub fn reference_html() -> String {
    let service = super::service();
    service
        .redoc_html()
        .replacen(&service.spec(), document_json(), 1)
        .replacen(
            "<title>Redoc</title>",
            "<title>Aura Partner API reference</title>",
            1,
        )
}

/// The documented path template `path` matches (`/v1/leads/{id}`), for metrics and logs.
pub fn route_of(path: &str) -> Option<String> {
    if !path.starts_with("/v1/") {
        return None;
    }
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    document()
        .paths
        .iter()
        .find(|(template, _)| matches_template(template, &segments))
        .map(|(template, _)| template.join("/"))
}

fn matches_template(template: &[String], segments: &[&str]) -> bool {
    template.len() == segments.len()
        && template
            .iter()
            .zip(segments)
            .all(|(t, s)| t == s || (t.starts_with('{') && !s.is_empty()))
}

/// The methods `path` answers to.
pub fn allowed_methods(path: &str) -> Vec<String> {
    let fixed: &[&str] = match path {
        "/health" | "/openapi.json" | "/openapi.yaml" | "/docs" | "/graphql/ws" => &["GET"],
        "/graphql" => &["GET", "POST"],
        _ => &[],
    };
    if !fixed.is_empty() {
        return fixed.iter().map(|m| (*m).to_owned()).collect();
    }
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    document()
        .paths
        .iter()
        .find(|(template, _)| matches_template(template, &segments))
        .map(|(_, methods)| methods.clone())
        .unwrap_or_default()
}

fn decorate(spec: &mut Value) {
    let common_headers = json!({
        "X-Request-Id": {
            "description": "The request's id (yours if you sent a valid `X-Request-Id`); errors repeat it as `request_id`.",
            "schema": {"type": "string"}
        },
        "X-RateLimit-Limit": {
            "description": "Requests allowed in the rolling 60 s window of the limit closest to exhaustion.",
            "schema": {"type": "integer"}
        },
        "X-RateLimit-Remaining": {
            "description": "Requests left in that window.",
            "schema": {"type": "integer"}
        },
        "X-RateLimit-Reset": {
            "description": "Unix time (seconds) at which the next request will be allowed.",
            "schema": {"type": "integer"}
        }
    });
    let header_refs: Map<String, Value> = common_headers
        .as_object()
        .map(|headers| {
            headers
                .keys()
                .map(|name| {
                    (
                        name.clone(),
                        json!({"$ref": format!("#/components/headers/{name}")}),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if let Some(components) = spec.get_mut("components").and_then(Value::as_object_mut) {
        components.insert("headers".to_owned(), common_headers);
    }

    mark_optional_fields_nullable(spec);
    publish_checked_patterns(spec);

    let Some(paths) = spec.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    let gets: Vec<(String, String)> = paths
        .iter()
        .filter_map(|(path, ops)| {
            let id = ops.get("get")?.get("operationId")?.as_str()?;
            Some((path.clone(), id.to_owned()))
        })
        .collect();
    for (path, ops) in paths.iter_mut() {
        let Some(ops) = ops.as_object_mut() else {
            continue;
        };
        for (method, op) in ops.iter_mut() {
            let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
                continue;
            };
            for (status, response) in responses.iter_mut() {
                let Some(response) = response.as_object_mut() else {
                    continue;
                };
                let headers = response.entry("headers").or_insert_with(|| json!({}));
                if let Some(headers) = headers.as_object_mut() {
                    for (name, reference) in &header_refs {
                        headers
                            .entry(name.clone())
                            .or_insert_with(|| reference.clone());
                    }
                }
                // list → get, and anything that returns one object → its get.
                if status == "200" || status == "201" {
                    let item_path = format!("{path}/{{id}}");
                    let (target, pointer) = if method == "get" && !path.ends_with('}') {
                        (
                            gets.iter().find(|(p, _)| *p == item_path),
                            "$response.body#/data/0/id",
                        )
                    } else if method != "get" {
                        let own = if path.ends_with('}') {
                            path.clone()
                        } else {
                            item_path
                        };
                        (
                            gets.iter().find(|(p, _)| *p == own),
                            "$response.body#/data/id",
                        )
                    } else {
                        (None, "")
                    };
                    if let Some((_, operation_id)) = target {
                        response.insert(
                            "links".to_owned(),
                            json!({
                                operation_id.clone(): {
                                    "operationId": operation_id,
                                    "parameters": {"id": pointer},
                                    "description": "Fetch the returned object by its id."
                                }
                            }),
                        );
                    }
                }
            }
        }
    }
}

/// Cursors and id filters are checked where they are decoded (`PageArgs::parse`, the
/// filters' `parse_id`: a 400 naming the parameter), not by poem-openapi's pattern
/// validator, which compiles its regex on every request that carries one; their patterns
/// are still published here for clients and tools.
fn publish_checked_patterns(spec: &mut Value) {
    let Some(paths) = spec.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for ops in paths.values_mut() {
        let Some(ops) = ops.as_object_mut() else {
            continue;
        };
        for op in ops.values_mut() {
            let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
                continue;
            };
            for param in params {
                if param["in"] != "query" {
                    continue;
                }
                let pattern = match param["name"].as_str() {
                    Some("cursor") => crate::db::page::CURSOR_PATTERN.to_owned(),
                    Some(name) => match id_filter_kind(name) {
                        Some(kind) => id_pattern(kind),
                        None => continue,
                    },
                    None => continue,
                };
                param["schema"]["pattern"] = Value::String(pattern);
            }
        }
    }
}

/// The kind of id a list's filter parameter takes.
fn id_filter_kind(parameter: &str) -> Option<IdKind> {
    match parameter {
        "lead_id" => Some(IdKind::Lead),
        "team_member_id" | "assigned_team_member_id" | "owner_id" => Some(IdKind::TeamMember),
        "booking_link_id" => Some(IdKind::BookingLink),
        "product_id" => Some(IdKind::Product),
        _ => None,
    }
}

/// What `ids::encode` writes for `kind`: the prefix, then 26 Crockford base32 digits of
/// a 128-bit value.
fn id_pattern(kind: IdKind) -> String {
    format!("^{}_[0-7][0-9a-hjkmnp-tv-z]{{25}}$", kind.prefix())
}

/// Optional fields are sent as `null` (a stable shape for partners), which OpenAPI 3.0
/// must be told with `nullable: true`.
fn mark_optional_fields_nullable(spec: &mut Value) {
    let Some(schemas) = spec
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for schema in schemas.values_mut() {
        let required: Vec<String> = schema["required"]
            .as_array()
            .map(|r| {
                r.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
            continue;
        };
        for (name, property) in properties.iter_mut() {
            if required.contains(name) {
                continue;
            }
            if let Some(property) = property.as_object_mut() {
                if property.contains_key("$ref") {
                    let reference = property.remove("$ref").unwrap_or_default();
                    property.insert("allOf".to_owned(), json!([{"$ref": reference}]));
                }
                property.insert("nullable".to_owned(), Value::Bool(true));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_lists_the_methods_of_the_matching_path() {
        assert_eq!(allowed_methods("/v1/leads"), vec!["GET"]);
        assert_eq!(allowed_methods("/v1/leads/lead_123"), vec!["GET"]);
        assert_eq!(allowed_methods("/graphql"), vec!["GET", "POST"]);
        assert!(allowed_methods("/v1/nothing/here/at/all").is_empty());
    }

    #[test]
    fn every_response_documents_the_common_headers_and_lists_link_to_gets() {
        let spec: Value = serde_json::from_str(document_json()).unwrap();
        for (_, ops) in spec["paths"].as_object().unwrap() {
            for (_, op) in ops.as_object().unwrap() {
                for (_, response) in op["responses"].as_object().unwrap() {
                    assert!(response["headers"]["X-Request-Id"].is_object());
                    assert!(response["headers"]["X-RateLimit-Reset"].is_object());
                }
            }
        }
        let link = &spec["paths"]["/v1/leads"]["get"]["responses"]["200"]["links"]["getLead"];
        assert_eq!(link["parameters"]["id"], "$response.body#/data/0/id");
    }
}
