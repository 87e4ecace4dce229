//! Resource limits on GraphQL operations, checked before anything executes (so before
//! any database work): the document's size (`PAYLOAD_TOO_LARGE`), nesting depth,
//! estimated cost (complexity), aliases and directives (`VALIDATION_ERROR`). A response
//! carries at most [`MAX_ERRORS`] errors.
//!
//! Cost model: every field costs 1; a list field costs `first` (default 25, at most 100)
//! times the cost of what is selected inside it, plus 1. So the estimate bounds the number
//! of objects a response can hold.

use std::collections::HashSet;

use async_graphql::parser::types::OperationType;
use async_graphql::parser::types::{
    ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned, Request, ServerError, ServerResult};

/// Deepest field nesting. GraphiQL's introspection query needs 13.
pub const MAX_DEPTH: usize = 15;
/// Largest estimated cost (see the module doc): 100 leads with 25 calls and 25 payments
/// each, every one with a few nested fields, fits; a third level of 100-item lists does not.
pub const MAX_COMPLEXITY: usize = 50_000;
/// Most aliased fields in one document (fragments counted where they are spread).
pub const MAX_ALIASES: usize = 30;
/// Deepest nesting the parser accepts (selection sets, lists, objects).
pub const MAX_RECURSIVE_DEPTH: usize = 32;
/// Selections visited while counting aliases before the document is refused as too large
/// (fragment spreads can multiply a small text into a huge operation).
const MAX_VISITED: usize = 20_000;
/// Most directives on one field, fragment or spread (`@include`, `@skip`, …).
pub const MAX_DIRECTIVES_PER_SELECTION: usize = 5;
/// Largest document from a caller without a credential; public operations are small.
pub const MAX_DOCUMENT_ANONYMOUS: usize = 32 * 1024;
/// Largest document from an authenticated caller.
pub const MAX_DOCUMENT_AUTHENTICATED: usize = 256 * 1024;
/// Errors a response carries at most; one more says how many were left out.
pub const MAX_ERRORS: usize = 100;
/// The public booking mutations: each one in a request is charged to the caller's budget.
pub const PUBLIC_BOOKING_MUTATIONS: [&str; 3] = ["bookCall", "rescheduleBooking", "cancelBooking"];

/// Refuses a document over the size its caller may send, before it is even parsed.
pub fn check_size(request: &Request, authenticated: bool) -> ServerResult<()> {
    let max = if authenticated {
        MAX_DOCUMENT_AUTHENTICATED
    } else {
        MAX_DOCUMENT_ANONYMOUS
    };
    if request.query.len() > max {
        let mut error = ServerError::new(
            format!(
                "the document is larger than {} KiB{}",
                max / 1024,
                if authenticated {
                    ""
                } else {
                    " (send a credential for larger documents)"
                }
            ),
            None,
        );
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", "PAYLOAD_TOO_LARGE");
        return Err(error);
    }
    Ok(())
}

/// Keeps at most [`MAX_ERRORS`] errors, adding one that says how many more there were.
pub fn cap_errors(errors: &mut Vec<ServerError>) {
    if errors.len() <= MAX_ERRORS {
        return;
    }
    let cut = errors.len() - MAX_ERRORS;
    errors.truncate(MAX_ERRORS);
    let mut more = ServerError::new(format!("{cut} more errors were left out"), None);
    more.extensions
        .get_or_insert_with(Default::default)
        .set("code", "VALIDATION_ERROR");
    errors.push(more);
}

/// How many public booking mutations the operation `request` runs holds at its root.
pub fn public_bookings(request: &mut Request) -> usize {
    match root_fields(request) {
        Some((OperationType::Mutation, fields)) => fields
            .iter()
            .filter(|name| PUBLIC_BOOKING_MUTATIONS.contains(&name.as_str()))
            .count(),
        _ => 0,
    }
}

/// Root fields whose answers are the same for every caller and may be cached publicly
/// for a few seconds (a link's page and its free slots; a booking, reached by its
/// secret token, never is).
const PUBLIC_READS: &[&str] = &["availableSlots", "publicBookingLink", "__typename"];

/// Whether the operation only reads public data (see [`PUBLIC_READS`]).
pub fn is_public_read(request: &mut Request) -> bool {
    match root_fields(request) {
        Some((OperationType::Query, fields)) => {
            !fields.is_empty()
                && fields
                    .iter()
                    .all(|name| PUBLIC_READS.contains(&name.as_str()))
        }
        _ => false,
    }
}

/// The type of the operation `request` runs and the names of its root fields, looking
/// through inline fragments and fragment spreads (so a field cannot hide in one).
fn root_fields(request: &mut Request) -> Option<(OperationType, Vec<String>)> {
    let operation_name = request.operation_name.clone();
    let document = request.parsed_query().ok()?;
    let operation = match &operation_name {
        Some(name) => document
            .operations
            .iter()
            .find(|(n, _)| n.map(|n| n.as_str()) == Some(name.as_str()))
            .map(|(_, op)| op),
        None => document.operations.iter().next().map(|(_, op)| op),
    }?;
    let mut names = Vec::new();
    collect_fields(
        &operation.node.selection_set.node,
        &document.fragments,
        &mut names,
        0,
    );
    Some((operation.node.ty, names))
}

fn collect_fields(
    set: &async_graphql::parser::types::SelectionSet,
    fragments: &std::collections::HashMap<
        async_graphql::Name,
        async_graphql::Positioned<async_graphql::parser::types::FragmentDefinition>,
    >,
    names: &mut Vec<String>,
    depth: usize,
) {
    // Fragment cycles are refused by validation; the bound only keeps this finite first.
    if depth > MAX_DEPTH {
        return;
    }
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => names.push(field.node.name.node.to_string()),
            Selection::InlineFragment(inline) => {
                collect_fields(&inline.node.selection_set.node, fragments, names, depth + 1)
            }
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = fragments.get(&spread.node.fragment_name.node) {
                    collect_fields(
                        &fragment.node.selection_set.node,
                        fragments,
                        names,
                        depth + 1,
                    );
                }
            }
        }
    }
}

/// The cost of a list field: see the module doc.
pub fn list_cost(first: i32, child_complexity: usize) -> usize {
    (first.clamp(1, 100) as usize)
        .saturating_mul(child_complexity)
        .saturating_add(1)
}

/// Refuses `request` if its document uses more than [`MAX_ALIASES`] aliases. The parsed
/// document (from [`super::documents`]) goes on the request, so the schema does not parse
/// it again.
///
/// This is not an async-graphql extension on purpose: with any extension installed,
/// async-graphql runs every field of every response through the extension chain (a
/// registry look-up and a boxed future per field), which cost more than the whole rest
/// of field resolution (BENCHMARKS.md). A document that does not parse is left for the
/// schema to refuse with its usual error.
pub fn check_request(request: &mut Request) -> ServerResult<()> {
    let Some(document) = super::documents::parse(&request.query) else {
        return Ok(());
    };
    check_aliases(&document)?;
    request.set_parsed_query(document);
    Ok(())
}

fn check_aliases(document: &ExecutableDocument) -> ServerResult<()> {
    let mut counter = Counter {
        fragments: &document.fragments,
        aliases: 0,
        visited: 0,
        most_directives: 0,
        spreading: HashSet::new(),
    };
    for (_, operation) in document.operations.iter() {
        counter.walk(&operation.node.selection_set.node);
    }
    if counter.visited > MAX_VISITED {
        return Err(limit_error(format!(
            "the operation is too large: it expands to more than {MAX_VISITED} selections"
        )));
    }
    if counter.aliases > MAX_ALIASES {
        return Err(limit_error(format!(
            "the operation uses more than {MAX_ALIASES} aliases"
        )));
    }
    if counter.most_directives > MAX_DIRECTIVES_PER_SELECTION {
        return Err(limit_error(format!(
            "a field carries more than {MAX_DIRECTIVES_PER_SELECTION} directives"
        )));
    }
    Ok(())
}

struct Counter<'a> {
    fragments: &'a std::collections::HashMap<Name, Positioned<FragmentDefinition>>,
    aliases: usize,
    visited: usize,
    most_directives: usize,
    /// Fragments being expanded, so a cycle (refused later by validation) cannot loop here.
    spreading: HashSet<&'a str>,
}

impl<'a> Counter<'a> {
    fn walk(&mut self, set: &'a SelectionSet) {
        for item in &set.items {
            self.visited += 1;
            if self.visited > MAX_VISITED || self.aliases > MAX_ALIASES {
                return;
            }
            let directives = match &item.node {
                Selection::Field(field) => field.node.directives.len(),
                Selection::InlineFragment(fragment) => fragment.node.directives.len(),
                Selection::FragmentSpread(spread) => spread.node.directives.len(),
            };
            self.most_directives = self.most_directives.max(directives);
            match &item.node {
                Selection::Field(field) => {
                    if field.node.alias.is_some() {
                        self.aliases += 1;
                    }
                    self.walk(&field.node.selection_set.node);
                }
                Selection::InlineFragment(fragment) => {
                    self.walk(&fragment.node.selection_set.node);
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    let Some(fragment) = self.fragments.get(name) else {
                        continue;
                    };
                    if self.spreading.insert(name) {
                        self.walk(&fragment.node.selection_set.node);
                        self.spreading.remove(name);
                    }
                }
            }
        }
    }
}

fn limit_error(message: String) -> ServerError {
    let mut error = ServerError::new(message, None);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", "VALIDATION_ERROR");
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aliases(query: &str) -> ServerResult<()> {
        check_aliases(&async_graphql::parser::parse_query(query).unwrap())
    }

    #[test]
    fn counts_aliases_through_fragments() {
        let thirty: String = (0..30).map(|i| format!("a{i}: __typename ")).collect();
        assert!(aliases(&format!("{{ {thirty} }}")).is_ok());
        assert!(aliases(&format!("{{ {thirty} extra: __typename }}")).is_err());
        // 16 aliases in a fragment spread twice: 32.
        let sixteen: String = (0..16).map(|i| format!("a{i}: __typename ")).collect();
        let spread = format!("{{ ...F x: leads {{ ...F }} }} fragment F on Query {{ {sixteen} }}");
        assert!(aliases(&spread).is_err());
        // A fragment cycle does not hang the count (validation refuses it later).
        assert!(
            aliases("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }").is_ok()
        );
    }

    #[test]
    fn exploding_fragments_are_refused() {
        let mut doc = String::from("{ ...F0 }");
        for i in 0..25 {
            doc.push_str(&format!(
                " fragment F{i} on Query {{ ...F{} ...F{} }}",
                i + 1,
                i + 1
            ));
        }
        doc.push_str(" fragment F25 on Query { __typename }");
        assert!(aliases(&doc).is_err());
    }

    #[test]
    fn repeated_directives_are_refused() {
        let five = "@include(if: true) ".repeat(5);
        assert!(aliases(&format!("{{ __typename {five} }}")).is_ok());
        let many = "@include(if: true) ".repeat(6);
        assert!(aliases(&format!("{{ __typename {many} }}")).is_err());
        assert!(aliases(&format!("{{ ... on Query {many} {{ __typename }} }}")).is_err());
    }

    #[test]
    fn documents_are_bounded_by_caller_and_errors_are_capped() {
        let big = Request::new(format!("{{ __typename }} #{}", "x".repeat(40 * 1024)));
        assert!(check_size(&big, true).is_ok());
        let refused = check_size(&big, false).unwrap_err();
        assert_eq!(
            refused.extensions.unwrap().get("code"),
            Some(&async_graphql::Value::from("PAYLOAD_TOO_LARGE"))
        );
        let mut errors: Vec<ServerError> = (0..150)
            .map(|i| ServerError::new(format!("e{i}"), None))
            .collect();
        cap_errors(&mut errors);
        assert_eq!(errors.len(), MAX_ERRORS + 1);
        assert!(errors[MAX_ERRORS].message.contains("50 more"));
    }

    #[test]
    fn public_bookings_are_counted_at_the_root_of_a_mutation() {
        let mut thirty = Request::new(format!(
            "mutation {{ {} }}",
            (0..30)
                .map(|i| format!("b{i}: cancelBooking(token: \"x\") {{ status }}"))
                .collect::<String>()
        ));
        assert_eq!(public_bookings(&mut thirty), 30);
        let mut query = Request::new("{ publicBookingLink(slug: \"x\") { slug } }");
        assert_eq!(public_bookings(&mut query), 0);
    }

    #[test]
    fn list_cost_multiplies_by_page_size() {
        assert_eq!(list_cost(25, 4), 101);
        assert_eq!(list_cost(1000, 1), 101);
        assert_eq!(list_cost(-5, 3), 4);
    }
}
