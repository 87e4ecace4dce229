//! REST response bodies written once, straight from what the GraphQL operation returned.
//!
//! The typed REST objects (`objects`) stay the documented schema, but a read endpoint does
//! not rebuild its result through them: going GraphQL `Value` → REST struct → JSON `Value`
//! → bytes built every object three times, and per-object allocation was most of what
//! separated `GET /v1/leads` from the database floor (BENCHMARKS.md). The selection sets
//! already alias every field into its REST name and GraphQL prints scalars exactly as REST
//! does, so the only rewrite left is the spelling of enum values (`NO_SHOW` → `no_show`,
//! `TEAM_MEMBER_CREATED` → `team_member.created`: `views::enums::rest_spelling`).
//! Debug builds (every test and the fuzzer run) still read each body through the typed
//! object and refuse the response if the two differ.

use std::marker::PhantomData;

use poem::{IntoResponse, Response};
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{ToJSON, Type};
use serde::de::DeserializeOwned;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use crate::error::AppError;
use crate::views::enums::rest_spelling;

/// A JSON body already serialized, documented as `T`.
pub struct JsonBody<T> {
    bytes: Vec<u8>,
    _documented_as: PhantomData<fn() -> T>,
}

impl<T> JsonBody<T> {
    /// `{"success": true, "data": <data>, …}`, with `members` after `data`.
    pub fn envelope<D: RestData>(
        data: D,
        members: &[(&str, serde_json::Value)],
    ) -> Result<Self, AppError> {
        let mut bytes = Vec::with_capacity(data.size_hint());
        bytes.extend_from_slice(br#"{"success":true,"data":"#);
        data.write(&mut bytes)?;
        for (name, value) in members {
            bytes.push(b',');
            serde_json::to_writer(&mut bytes, name).map_err(AppError::internal)?;
            bytes.push(b':');
            serde_json::to_writer(&mut bytes, value).map_err(AppError::internal)?;
        }
        bytes.push(b'}');
        Ok(JsonBody {
            bytes,
            _documented_as: PhantomData,
        })
    }
}

impl<T: Type> Payload for JsonBody<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Send> IntoResponse for JsonBody<T> {
    fn into_response(self) -> Response {
        Response::builder()
            .content_type("application/json; charset=utf-8")
            .body(self.bytes)
    }
}

/// Something that can be the `data` of an envelope.
pub trait RestData {
    /// The REST type written, as documented.
    type Rest;

    fn write(self, out: &mut Vec<u8>) -> Result<(), AppError>;

    fn size_hint(&self) -> usize {
        256
    }
}

/// A typed REST object (or a list of them), for responses not read from GraphQL.
pub struct Typed<T>(pub T);

impl<T: ToJSON> RestData for Typed<T> {
    type Rest = T;

    fn write(self, out: &mut Vec<u8>) -> Result<(), AppError> {
        serde_json::to_writer(out, &self.0.to_json()).map_err(AppError::internal)
    }
}

/// What a GraphQL operation returned for a REST object `T` (or a list of them), in its
/// REST shape but for enum spelling.
pub struct FromGraphql<T> {
    value: async_graphql::Value,
    _rest_type: PhantomData<fn() -> T>,
}

impl<T> FromGraphql<T> {
    pub fn new(value: async_graphql::Value) -> Self {
        FromGraphql {
            value,
            _rest_type: PhantomData,
        }
    }
}

impl<T: ToJSON + DeserializeOwned> RestData for FromGraphql<T> {
    type Rest = T;

    fn write(self, out: &mut Vec<u8>) -> Result<(), AppError> {
        let start = out.len();
        serde_json::to_writer(&mut *out, &RestValue(&self.value)).map_err(AppError::internal)?;
        #[cfg(debug_assertions)]
        check_against_typed::<T>(self.value, &out[start..])?;
        #[cfg(not(debug_assertions))]
        let _ = start;
        Ok(())
    }

    fn size_hint(&self) -> usize {
        match &self.value {
            async_graphql::Value::List(items) => 64 + items.len() * 512,
            _ => 1024,
        }
    }
}

/// The body the typed path would have written must be the one written.
#[cfg(debug_assertions)]
fn check_against_typed<T: ToJSON + DeserializeOwned>(
    value: async_graphql::Value,
    written: &[u8],
) -> Result<(), AppError> {
    let typed: T = async_graphql::from_value(value)
        .map_err(|err| AppError::internal(format!("REST object does not parse: {err}")))?;
    let expected = typed.to_json().unwrap_or_default();
    let actual: serde_json::Value = serde_json::from_slice(written).map_err(AppError::internal)?;
    if expected != actual {
        return Err(AppError::internal(format!(
            "REST body differs from its typed object: wrote {actual}, expected {expected}"
        )));
    }
    Ok(())
}

/// Serializes a GraphQL value as REST JSON: enum values in their REST spelling.
struct RestValue<'a>(&'a async_graphql::Value);

impl Serialize for RestValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use async_graphql::Value;
        match self.0 {
            Value::Null => serializer.serialize_unit(),
            Value::Number(number) => number.serialize(serializer),
            Value::String(text) => serializer.serialize_str(text),
            Value::Boolean(flag) => serializer.serialize_bool(*flag),
            Value::Binary(bytes) => serializer.serialize_bytes(bytes),
            Value::Enum(name) => serializer.serialize_str(&rest_spelling(name.as_str())),
            Value::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&RestValue(item))?;
                }
                seq.end()
            }
            Value::Object(fields) => {
                let mut map = serializer.serialize_map(Some(fields.len()))?;
                for (name, value) in fields {
                    map.serialize_entry(name.as_str(), &RestValue(value))?;
                }
                map.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::{Name, Value};
    use serde_json::json;

    #[test]
    fn enums_are_written_in_rest_spelling_and_the_rest_as_is() {
        let value = Value::from_json(json!({
            "id": "lead_1", "n": 3, "ok": true, "none": null,
            "nested": {"list": [1, "two"]}
        }))
        .unwrap();
        let Value::Object(mut fields) = value else {
            unreachable!()
        };
        fields.insert(Name::new("status"), Value::Enum(Name::new("NO_SHOW")));
        fields.insert(
            Name::new("type"),
            Value::Enum(Name::new("TEAM_MEMBER_CREATED")),
        );
        fields.insert(
            Name::new("types"),
            Value::List(vec![Value::Enum(Name::new("ALL"))]),
        );
        let written = serde_json::to_value(RestValue(&Value::Object(fields))).unwrap();
        assert_eq!(
            written,
            json!({"id": "lead_1", "n": 3, "ok": true, "none": null,
                   "nested": {"list": [1, "two"]}, "status": "no_show",
                   "type": "team_member.created", "types": ["*"]})
        );
    }

    #[test]
    fn the_envelope_wraps_data_and_further_members() {
        let body = JsonBody::<()>::envelope(
            Typed(vec![1, 2]),
            &[("pagination", json!({"has_more": false}))],
        )
        .unwrap();
        let parsed: serde_json::Value = serde_json::from_slice(&body.bytes).unwrap();
        assert_eq!(
            parsed,
            json!({"success": true, "data": [1, 2], "pagination": {"has_more": false}})
        );
    }
}
