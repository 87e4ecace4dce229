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

/// What every `Idempotency-Key` parameter says.
const IDEMPOTENCY_KEY: &str = "Send a fresh UUID per logical request (not per attempt). A retry with the same key and the same body, from the same credential, within 24 h replays the first response (with `Idempotent-Replayed: true`) instead of running again; the same key with another body is 409 `CONFLICT`, and so is a retry while the first request is still running. Keys are kept 24 h and are scoped to the credential (API key or Clerk user) that sent them: another credential's request with the same key is its own request.";

fn decorate(spec: &mut Value) {
    let common_headers = json!({
        "X-Request-Id": {
            "description": "The request's id (yours if you sent a valid `X-Request-Id`); errors repeat it as `request_id`.",
            "schema": {"type": "string", "example": "req_01mbx7q2r9h4k6m8p1r3t5v7w9"}
        },
        "X-RateLimit-Limit": {
            "description": "Requests allowed in the rolling 60 s window of the limit closest to exhaustion.",
            "schema": {"type": "integer", "example": 100}
        },
        "X-RateLimit-Remaining": {
            "description": "Requests left in that window.",
            "schema": {"type": "integer", "example": 97}
        },
        "X-RateLimit-Reset": {
            "description": "Unix time (seconds) at which the next request will be allowed.",
            "schema": {"type": "integer", "example": 1796112000}
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
    if let Some(document) = spec.as_object_mut() {
        // Every operation needs the bearer credential; importers (Postman) then set it
        // once per collection.
        document.insert("security".to_owned(), json!([{"BearerAuth": []}]));
        // OpenAPI 3.0 has no `webhooks` (3.1 does, and poem-openapi writes 3.0.0): the
        // delivery is documented under the `x-webhooks` extension, which Redoc renders.
        if let Some(webhooks) = document.remove("webhooks") {
            document.insert("x-webhooks".to_owned(), webhooks);
        }
    }

    mark_optional_fields_nullable(spec);
    require_response_fields(spec);
    publish_checked_patterns(spec);
    document_parameters(spec);
    document_deliveries(spec);

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
            let operation_id = op["operationId"].as_str().unwrap_or_default().to_owned();
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
                    if let Some(location) = headers.get_mut("LOCATION") {
                        location["schema"]["example"] = json!(format!(
                            "/v1/webhooks/{}",
                            crate::views::webhooks::EXAMPLE_WEBHOOK_ID
                        ));
                    }
                }
                if let Some(error) = status
                    .parse::<u16>()
                    .ok()
                    .and_then(|code| super::responses::ERRORS.iter().find(|e| e.status == code))
                    && let Some(media) = response
                        .get_mut("content")
                        .and_then(|c| c.get_mut("application/json"))
                {
                    media["example"] = crate::views::to_json(&error.example());
                }
                if !status.starts_with('2') {
                    continue;
                }
                let mut links = Map::new();
                // list → get, and a write that returns one object → its get.
                let item_path = format!("{path}/{{id}}");
                let (target, pointer) = if method == "get" && !path.ends_with('}') {
                    (
                        gets.iter().find(|(p, _)| *p == item_path),
                        "$response.body#/data/0/id",
                    )
                } else if method != "get" && method != "delete" {
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
                if let Some((_, target)) = target {
                    links.insert(
                        target.clone(),
                        link(
                            target,
                            &[("id", pointer)],
                            "Fetch the returned object by its id.",
                        ),
                    );
                }
                for (target, parameters, description) in further_links(&operation_id) {
                    links.insert(target.to_owned(), link(target, parameters, description));
                }
                if !links.is_empty() {
                    response.insert("links".to_owned(), Value::Object(links));
                }
            }
        }
    }
}

fn link(target: &str, parameters: &[(&str, &str)], description: &str) -> Value {
    let parameters: Map<String, Value> = parameters
        .iter()
        .map(|(name, expression)| ((*name).to_owned(), json!(expression)))
        .collect();
    json!({"operationId": target, "parameters": parameters, "description": description})
}

/// A link's target operation, its parameters (name, runtime expression) and what it does.
type Link = (&'static str, LinkParameters, &'static str);
type LinkParameters = &'static [(&'static str, &'static str)];

/// Links beyond list → get: what a created webhook, a test delivery and a team member
/// lead to. Tools follow them (the Postman collection of `.ci/newman.sh`, schemathesis's
/// stateful phase), so every operation can be reached from data the API handed out.
fn further_links(operation_id: &str) -> Vec<Link> {
    const CREATED: LinkParameters = &[("id", "$response.body#/data/id")];
    const FIRST: LinkParameters = &[("id", "$response.body#/data/0/id")];
    const OWN: LinkParameters = &[("id", "$response.body#/data/id")];
    match operation_id {
        "createWebhook" => vec![
            ("updateWebhook", CREATED, "Change the new webhook."),
            (
                "rotateWebhookSecret",
                CREATED,
                "Rotate the new webhook's secret.",
            ),
            ("testWebhook", CREATED, "Send the new webhook a test event."),
            (
                "listWebhookDeliveries",
                CREATED,
                "List the new webhook's deliveries.",
            ),
            ("deleteWebhook", CREATED, "Delete the new webhook."),
        ],
        "testWebhook" => vec![
            (
                "getEvent",
                &[("id", "$response.body#/data/delivery/event_id")],
                "Fetch the test event.",
            ),
            (
                "retryWebhookDelivery",
                &[
                    ("id", "$request.path.id"),
                    ("delivery_id", "$response.body#/data/delivery/id"),
                ],
                "Send the test delivery again.",
            ),
        ],
        "listTeamMembers" => vec![(
            "getTeamMemberCommissions",
            FIRST,
            "Fetch the first member's commissions.",
        )],
        "getTeamMember" => vec![(
            "getTeamMemberCommissions",
            OWN,
            "Fetch the member's commissions.",
        )],
        _ => vec![],
    }
}

/// A description and an example on every parameter: realistic values that each pass the
/// parameter's schema (ids of the demo organization, which `aura serve --demo` seeds).
fn document_parameters(spec: &mut Value) {
    let enums: Map<String, Value> = spec
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let Some(paths) = spec.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, ops) in paths.iter_mut() {
        let Some(ops) = ops.as_object_mut() else {
            continue;
        };
        for op in ops.values_mut() {
            let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
                continue;
            };
            for param in params {
                let name = param["name"].as_str().unwrap_or_default().to_owned();
                if name == "Idempotency-Key" {
                    param["description"] = json!(IDEMPOTENCY_KEY);
                }
                let example = parameter_example(path, &name, &param["schema"], &enums);
                if let Some(example) = example {
                    param["example"] = example;
                }
            }
        }
    }
}

fn parameter_example(
    path: &str,
    name: &str,
    schema: &Value,
    schemas: &Map<String, Value>,
) -> Option<Value> {
    use crate::views::resources::example_id;
    let kind_of_path = || {
        let resource = path.trim_start_matches("/v1/").split('/').next()?;
        Some(match resource {
            "leads" => IdKind::Lead,
            "calls" => IdKind::Call,
            "team" => IdKind::TeamMember,
            "booking-links" => IdKind::BookingLink,
            "products" => IdKind::Product,
            "payments" => IdKind::Payment,
            "webhooks" => IdKind::Webhook,
            "events" => IdKind::Event,
            _ => return None,
        })
    };
    let value = match name {
        "id" => json!(example_id(kind_of_path()?)?),
        "delivery_id" => json!(example_id(IdKind::Delivery)?),
        "limit" => json!(25),
        "cursor" => json!(super::responses::EXAMPLE_CURSOR),
        "created_after" | "updated_after" | "paid_after" => json!("2026-10-01T00:00:00Z"),
        "created_before" | "paid_before" => json!("2026-11-01T00:00:00Z"),
        "active" | "enabled" => json!(true),
        "Idempotency-Key" => json!("6f1c2a9e-3b7d-4e2a-9c41-8d5b0f7e2a13"),
        other => match id_filter_kind(other) {
            Some(kind) => json!(example_id(kind)?),
            // An enum filter: its first value (the first type, not `*`, for events).
            None => {
                let reference = schema["$ref"].as_str()?;
                let name = reference.rsplit('/').next()?;
                schemas
                    .get(name)?
                    .get("enum")?
                    .as_array()?
                    .iter()
                    .find(|v| *v != "*")?
                    .clone()
            }
        },
    };
    Some(value)
}

/// The delivery documented under `x-webhooks`: examples on its headers, no credential
/// (Aura signs it; the receiver checks the signature), and the responses' headers left
/// as the receiver's business.
fn document_deliveries(spec: &mut Value) {
    let Some(webhooks) = spec.get_mut("x-webhooks").and_then(Value::as_object_mut) else {
        return;
    };
    for ops in webhooks.values_mut() {
        let Some(ops) = ops.as_object_mut() else {
            continue;
        };
        for op in ops.values_mut() {
            op["security"] = json!([]);
            let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
                continue;
            };
            for param in params {
                let example = match param["name"].as_str() {
                    Some("webhook-id") => json!(crate::views::event::EXAMPLE_EVENT_ID),
                    Some("webhook-timestamp") => json!(1796378400),
                    Some("webhook-signature") => {
                        json!("v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=")
                    }
                    _ => continue,
                };
                param["example"] = example;
            }
        }
    }
}

/// Response objects carry every property, `null` when empty (a stable shape for
/// partners), so every property of a schema that only responses use is `required`;
/// request bodies keep their optional fields.
fn require_response_fields(spec: &mut Value) {
    let mut requested = std::collections::BTreeSet::new();
    let mut pending: Vec<String> = Vec::new();
    if let Some(paths) = spec.get("paths").and_then(Value::as_object) {
        for ops in paths.values() {
            for op in ops.as_object().into_iter().flat_map(|o| o.values()) {
                collect_refs(&op["requestBody"], &mut pending);
            }
        }
    }
    let schemas = spec
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    while let Some(name) = pending.pop() {
        if requested.insert(name.clone())
            && let Some(schema) = schemas.get(&name)
        {
            collect_refs(schema, &mut pending);
        }
    }
    let Some(schemas) = spec
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for (name, schema) in schemas.iter_mut() {
        if requested.contains(name) {
            continue;
        }
        let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
            continue;
        };
        let every: Vec<Value> = properties.keys().map(|k| json!(k)).collect();
        schema["required"] = Value::Array(every);
    }
}

/// The component names `value` references, at any depth.
fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(reference) = map.get("$ref").and_then(Value::as_str)
                && let Some(name) = reference.strip_prefix("#/components/schemas/")
            {
                out.push(name.to_owned());
            }
            for child in map.values() {
                collect_refs(child, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, out)),
        _ => {}
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
