//! App writes: the mutations the mobile and web apps make as a user signed in with Clerk,
//! one file per resource. Each resolver is an adapter: it turns its GraphQL input into
//! the service's input, calls the service (`crate::services`), which owns who may, the
//! validation, the transaction and the event, and maps the row it returns.

pub mod booking_link;
pub mod call;
pub mod lead;
pub mod payment;
pub mod product;
pub mod team_member;

use async_graphql::{ID, MaybeUndefined};

use crate::services::Patch;

/// An update's optional-and-clearable field, as the services take it.
pub fn patch<T>(value: MaybeUndefined<T>) -> Patch<T> {
    match value {
        MaybeUndefined::Undefined => Patch::Keep,
        MaybeUndefined::Null => Patch::Clear,
        MaybeUndefined::Value(value) => Patch::Set(value),
    }
}

/// A clearable id field.
pub fn patch_id(value: MaybeUndefined<ID>) -> Patch<String> {
    match patch(value) {
        Patch::Keep => Patch::Keep,
        Patch::Clear => Patch::Clear,
        Patch::Set(id) => Patch::Set(id.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clearable_fields() {
        assert_eq!(patch::<i32>(MaybeUndefined::Undefined), Patch::Keep);
        assert_eq!(patch::<i32>(MaybeUndefined::Null), Patch::Clear);
        assert_eq!(patch(MaybeUndefined::Value(3)), Patch::Set(3));
    }
}
