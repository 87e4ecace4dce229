//! GraphQL enums for the closed value sets defined once in the core (`views::WireEnum`):
//! [`Gql`] registers each under its name, with every value's upper-case GraphQL name and
//! description, so a status is never spelled out again here.

use std::borrow::Cow;

use async_graphql::parser::types::Field;
use async_graphql::registry::{Deprecation, MetaEnumValue, MetaType, MetaTypeId, Registry};
use async_graphql::{
    ContextSelectionSet, InputType, InputValueError, InputValueResult, Name, OutputType,
    Positioned, ServerResult, Value,
};

use crate::views::WireEnum;

/// A core enum in the GraphQL schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Gql<E>(pub E);

impl<E: WireEnum> Gql<E> {
    pub fn get(self) -> E {
        self.0
    }
}

impl<E: WireEnum> From<E> for Gql<E> {
    fn from(value: E) -> Self {
        Gql(value)
    }
}

fn register<E: WireEnum>(registry: &mut Registry) -> String {
    registry.create_input_type::<Gql<E>, _>(MetaTypeId::Enum, |_| MetaType::Enum {
        name: E::NAME.to_owned(),
        description: Some(E::DESCRIPTION.to_owned()),
        enum_values: E::names()
            .iter()
            .map(|n| {
                (
                    n.graphql.to_owned(),
                    MetaEnumValue {
                        name: n.graphql.to_owned(),
                        description: Some(n.description.to_owned()),
                        deprecation: Deprecation::NoDeprecated,
                        visible: None,
                        inaccessible: false,
                        tags: Vec::new(),
                        directive_invocations: Vec::new(),
                    },
                )
            })
            .collect(),
        visible: None,
        inaccessible: false,
        tags: Vec::new(),
        rust_typename: Some(std::any::type_name::<Gql<E>>()),
        directive_invocations: Vec::new(),
        requires_scopes: Vec::new(),
    })
}

fn to_value<E: WireEnum>(value: E) -> Value {
    Value::Enum(Name::new(value.graphql_name()))
}

impl<E: WireEnum> InputType for Gql<E> {
    type RawValueType = Self;

    fn type_name() -> Cow<'static, str> {
        Cow::Borrowed(E::NAME)
    }

    fn create_type_info(registry: &mut Registry) -> String {
        register::<E>(registry)
    }

    fn parse(value: Option<Value>) -> InputValueResult<Self> {
        let value = value.unwrap_or_default();
        let name = match &value {
            Value::Enum(name) => name.as_str(),
            Value::String(text) => text.as_str(),
            _ => return Err(InputValueError::expected_type(value)),
        };
        E::from_graphql(name).map(Gql).ok_or_else(|| {
            let known: Vec<&str> = E::names().iter().map(|n| n.graphql).collect();
            InputValueError::custom(format!(
                "enumeration type \"{}\" does not contain the value \"{}\" (one of: {})",
                E::NAME,
                name.chars().take(40).collect::<String>(),
                known.join(", ")
            ))
        })
    }

    fn to_value(&self) -> Value {
        to_value(self.0)
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }
}

impl<E: WireEnum> OutputType for Gql<E> {
    fn type_name() -> Cow<'static, str> {
        Cow::Borrowed(E::NAME)
    }

    fn create_type_info(registry: &mut Registry) -> String {
        register::<E>(registry)
    }

    async fn resolve(
        &self,
        _: &ContextSelectionSet<'_>,
        _: &Positioned<Field>,
    ) -> ServerResult<Value> {
        Ok(to_value(self.0))
    }
}
