//! The GraphQL schema: the API's core. Every read and write of the API passes through it;
//! the REST facade runs operations of this same schema, so data, permissions and
//! pagination are defined here once. Resolvers are adapters: they parse their arguments,
//! call a service (writes, public booking, key management) or a loader (reads), and map
//! the result; the rules live in `crate::services`.

pub mod api_keys;
pub mod booking;
pub mod context;
pub mod documents;
pub mod enums;
mod errors;
pub mod limits;
pub mod loaders;
pub mod mutations;
pub mod pagination;
pub mod persisted;
pub mod query;
pub mod resources;
pub mod scalars;
pub mod subscription;
pub mod webhooks;

use async_graphql::parser::types::OperationType;
use async_graphql::{MergedObject, Schema, ServerError, ValidationMode};
use tracing::Instrument;

use crate::domain::Actor;
pub use context::Core;
use context::RequestContext;
use loaders::{BatchQueue, Loaders, drive};

/// Reads: every resource by id and as a connection, `node`, webhooks and events, API keys,
/// and the public booking reads (which need no credential).
#[derive(MergedObject, Default)]
pub struct Query(
    query::ResourceQuery,
    api_keys::ApiKeyQuery,
    booking::PublicBookingQuery,
    webhooks::WebhookQuery,
);

// Every mutation, merged: add yours as another member.
/// Writes: the app's changes (Clerk users), webhook management (`webhooks:write`), API
/// keys (organization admins) and the public booking operations (no credential).
#[derive(MergedObject, Default)]
pub struct Mutation(
    api_keys::ApiKeyMutation,
    booking::BookingMutation,
    mutations::lead::LeadMutation,
    mutations::call::CallMutation,
    mutations::payment::PaymentMutation,
    mutations::product::ProductMutation,
    mutations::team_member::TeamMemberMutation,
    mutations::booking_link::BookingLinkMutation,
    webhooks::WebhookMutation,
);

/// Subscriptions, served over WebSockets.
pub use subscription::LiveSubscription as Subscription;

pub type AuraSchema = Schema<Query, Mutation, Subscription>;

pub fn build_schema(core: Option<Core>) -> AuraSchema {
    schema_with(core, ValidationMode::Strict)
}

/// The schemas callers run on: the full one, and one for callers without a credential,
/// which neither answers introspection nor suggests field names (the schema is not
/// discoverable anonymously; public operations work the same on both).
#[derive(Clone)]
pub struct Schemas {
    pub full: AuraSchema,
    pub anonymous: AuraSchema,
}

impl Schemas {
    pub fn build(core: Core) -> Self {
        Schemas {
            full: build_schema(Some(core.clone())),
            anonymous: builder(ValidationMode::Strict)
                .data(core)
                .disable_introspection()
                .disable_suggestions()
                .finish(),
        }
    }

    /// The schema for a caller with (`true`) or without a credential.
    pub fn for_caller(&self, authenticated: bool) -> &AuraSchema {
        if authenticated {
            &self.full
        } else {
            &self.anonymous
        }
    }
}

/// The operation `request` runs, when its document parses and names it: its type and
/// its name (`None` when unnamed).
fn operation_of(request: &mut async_graphql::Request) -> Option<(OperationType, Option<String>)> {
    let name = request.operation_name.clone();
    let document = request.parsed_query().ok()?;
    let (found, operation) = match &name {
        Some(name) => document
            .operations
            .iter()
            .find(|(n, _)| n.map(|n| n.as_str()) == Some(name.as_str()))?,
        None => document.operations.iter().next()?,
    };
    Some((operation.node.ty, found.map(|n| n.to_string())))
}

/// The type of the operation `request` runs, when its document parses and names it.
pub fn operation_type(request: &mut async_graphql::Request) -> Option<OperationType> {
    operation_of(request).map(|(ty, _)| ty)
}

/// How an operation is labelled in metrics and spans: its name when the caller is
/// authenticated or the document is one the server knows (the widget's), `anonymous`
/// when unnamed, `other` otherwise, so strangers cannot mint label values.
fn operation_label(name: Option<&str>, authenticated: bool) -> String {
    match name {
        None => "anonymous".to_owned(),
        Some(name) if authenticated || persisted::is_widget_operation(name) => {
            name.chars().take(64).collect()
        }
        Some(_) => "other".to_owned(),
    }
}

fn type_label(ty: Option<OperationType>) -> &'static str {
    match ty {
        Some(OperationType::Query) => "query",
        Some(OperationType::Mutation) => "mutation",
        Some(OperationType::Subscription) => "subscription",
        None => "unknown",
    }
}

/// Whether the operation `request` runs is a mutation.
pub fn is_mutation(request: &mut async_graphql::Request) -> bool {
    operation_type(request) == Some(OperationType::Mutation)
}

/// The schema the REST endpoints run their operations on. Those documents are fixed text
/// (`rest::operations`, each held to the strict rules by a test there) and their variables
/// come from typed REST parameters, so per request it checks only what depends on the
/// request: complexity and depth (async-graphql's `ValidationMode::Fast`). The 22
/// document rules were 7% of a REST list request's instructions (BENCHMARKS.md).
pub fn build_rest_schema(core: Core) -> RestSchema {
    RestSchema(schema_with(Some(core), ValidationMode::Fast))
}

/// [`AuraSchema`] as the REST endpoints run it: see [`build_rest_schema`].
#[derive(Clone)]
pub struct RestSchema(AuraSchema);

impl std::ops::Deref for RestSchema {
    type Target = AuraSchema;

    fn deref(&self) -> &AuraSchema {
        &self.0
    }
}

fn builder(
    validation: ValidationMode,
) -> async_graphql::SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(Query::default(), Mutation::default(), Subscription)
        .validation_mode(validation)
        .limit_depth(limits::MAX_DEPTH)
        .limit_complexity(limits::MAX_COMPLEXITY)
        .limit_recursive_depth(limits::MAX_RECURSIVE_DEPTH)
}

fn schema_with(core: Option<Core>, validation: ValidationMode) -> AuraSchema {
    let mut builder = builder(validation);
    if let Some(core) = core {
        builder = builder.data(core);
    }
    builder.finish()
}

/// The schema in SDL, as committed in `schema/schema.graphql`, with each custom scalar's
/// `@specifiedBy` (as introspection's `specifiedByURL` reports it).
pub fn sdl() -> String {
    build_schema(None)
        .sdl_with_options(async_graphql::SDLExportOptions::new().include_specified_by())
}

/// Runs one operation as `actor` (or anonymously), with fresh loaders scoped to the
/// actor's organization. A query that met a dead pooled connection (the database
/// restarted, a proxy dropped it) runs once more: the pool checks every connection before
/// use after a fault, so the second run gets a live one, or answers 503 if the database
/// is really down. Mutations are never re-run here: one may have committed.
pub async fn execute(
    schema: &AuraSchema,
    core: &Core,
    actor: Option<Actor>,
    mut request: async_graphql::Request,
) -> async_graphql::Response {
    if let Err(error) = limits::check_size(&request, actor.is_some())
        .and_then(|()| limits::check_request(&mut request))
    {
        return async_graphql::Response::from_errors(vec![error]);
    }
    let operation = operation_of(&mut request);
    let kind = operation.as_ref().map(|(ty, _)| *ty);
    let name = operation_label(
        operation.as_ref().and_then(|(_, name)| name.as_deref()),
        actor.is_some(),
    );
    let again = (kind == Some(OperationType::Query)).then(|| {
        let mut again =
            async_graphql::Request::new(request.query.clone()).variables(request.variables.clone());
        again.operation_name = request.operation_name.clone();
        again.extensions = request.extensions.clone();
        again
    });
    // Type and name, never variables: they may hold personal data.
    let span = tracing::info_span!(
        "graphql",
        graphql.operation.type = type_label(kind),
        graphql.operation.name = %name,
    );
    let started = std::time::Instant::now();
    let started_ms = crate::error::now_ms();
    let response = async {
        let response = execute_once(schema, core, actor.clone(), request).await;
        match again {
            Some(again)
                if response.errors.iter().any(is_unavailable)
                    && crate::error::last_connection_fault_ms() >= started_ms =>
            {
                tracing::info!("a read met a dead database connection; running it once more");
                execute_once(schema, core, actor, again).await
            }
            _ => response,
        }
    }
    .instrument(span)
    .await;
    crate::meter::graphql_operation(type_label(kind), &name, started.elapsed());
    response
}

fn is_unavailable(error: &ServerError) -> bool {
    error.extensions.as_ref().is_some_and(|ext| {
        ext.get("code")
            .is_some_and(|code| *code == async_graphql::Value::from("SERVICE_UNAVAILABLE"))
    })
}

async fn execute_once(
    schema: &AuraSchema,
    core: &Core,
    actor: Option<Actor>,
    mut request: async_graphql::Request,
) -> async_graphql::Response {
    let queue = BatchQueue::default();
    if let Some(actor) = actor {
        request = request.data(RequestContext {
            loaders: Loaders::new(&queue, core.db.conn(), actor.organization_id),
            actor,
        });
    }
    let mut response = drive(queue, schema.execute(request)).await;
    for error in &mut response.errors {
        ensure_code(error);
    }
    limits::cap_errors(&mut response.errors);
    response
}

/// Errors raised by async-graphql itself (syntax, unknown fields, bad variables) carry
/// no code; every error a client sees must have one. One about an argument's value (an
/// enum value that does not exist, a string for a `Money`) also names the field, as the
/// services' validation errors do: `Invalid value for argument "input.eventTypes.0"`
/// gets `field: "eventTypes"`.
pub fn ensure_code(error: &mut ServerError) {
    let has_code = error
        .extensions
        .as_ref()
        .is_some_and(|ext| ext.get("code").is_some());
    if !has_code {
        let field = argument_of(&error.message);
        let extensions = error.extensions.get_or_insert_with(Default::default);
        extensions.set("code", "VALIDATION_ERROR");
        if let Some(field) = field {
            extensions.set("field", field);
        }
    }
}

/// The field an async-graphql argument error is about, named as the services name it:
/// the argument, or the field of its `input` (`types.0` → `types`, `input.scopes.0` →
/// `scopes`, `input.weeklyHours.2.day` → `weeklyHours`).
fn argument_of(message: &str) -> Option<String> {
    let rest = message.strip_prefix("Invalid value for argument \"")?;
    let path = &rest[..rest.find('"')?];
    let segments: Vec<&str> = path.split('.').collect();
    let field = match segments.as_slice() {
        ["input", field, ..] => field,
        [argument, ..] => argument,
        [] => return None,
    };
    Some((*field).to_owned()).filter(|f| !f.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};

    /// A field: its name, its type, its arguments' names.
    type Field = (String, String, Vec<String>);
    /// A type: its name, its interfaces, its fields.
    type Shape = (String, Vec<String>, Vec<Field>);

    /// Every object and input type of the schema.
    fn shapes() -> Vec<Shape> {
        let document = async_graphql::parser::parse_schema(sdl()).expect("the SDL parses");
        document
            .definitions
            .into_iter()
            .filter_map(|definition| match definition {
                TypeSystemDefinition::Type(ty) => Some(ty.node),
                _ => None,
            })
            .filter_map(|ty| {
                let name = ty.name.node.to_string();
                match ty.kind {
                    TypeKind::Object(object) => Some((
                        name,
                        object
                            .implements
                            .iter()
                            .map(|i| i.node.to_string())
                            .collect(),
                        object
                            .fields
                            .iter()
                            .map(|f| {
                                (
                                    f.node.name.node.to_string(),
                                    f.node.ty.node.to_string(),
                                    f.node
                                        .arguments
                                        .iter()
                                        .map(|a| a.node.name.node.to_string())
                                        .collect(),
                                )
                            })
                            .collect(),
                    )),
                    TypeKind::InputObject(input) => Some((
                        name,
                        Vec::new(),
                        input
                            .fields
                            .iter()
                            .map(|f| {
                                (
                                    f.node.name.node.to_string(),
                                    f.node.ty.node.to_string(),
                                    Vec::new(),
                                )
                            })
                            .collect(),
                    )),
                    _ => None,
                }
            })
            .collect()
    }

    #[test]
    fn every_amount_is_money() {
        for (ty, _, fields) in shapes() {
            for (field, field_type, _) in fields {
                if field.ends_with("mount") {
                    assert!(
                        field_type.trim_end_matches('!') == "Money",
                        "{ty}.{field} is {field_type}, not Money"
                    );
                }
            }
        }
    }

    #[test]
    fn every_type_with_an_id_is_a_node_and_no_list_of_nodes_is_unbounded() {
        let shapes = shapes();
        let nodes: Vec<&String> = shapes
            .iter()
            .filter(|(_, implements, _)| implements.iter().any(|i| i == "Node"))
            .map(|(name, _, _)| name)
            .collect();
        for (ty, implements, fields) in &shapes {
            // A deleted webhook's id names what no longer exists: `node` cannot fetch it.
            let has_id = fields.iter().any(|(f, t, _)| f == "id" && t == "ID!");
            if has_id && ty != "DeletedWebhook" && !ty.ends_with("Input") {
                assert!(implements.iter().any(|i| i == "Node"), "{ty} has an id");
            }
            for (field, field_type, _) in fields {
                let item = field_type.trim_matches(|c| "[]!".contains(c));
                // A plain list of nodes is a page's own `nodes`, or an organization's API
                // keys (a handful, listed to admins); any other can grow without bound.
                let bounded = ty.ends_with("Connection") && field == "nodes"
                    || (ty.as_str(), field.as_str()) == ("Query", "apiKeys");
                if field_type.starts_with('[') && nodes.contains(&&item.to_owned()) {
                    assert!(
                        bounded,
                        "{ty}.{field} is a plain list of {item}: make it a connection"
                    );
                }
            }
        }
    }

    #[test]
    fn argument_errors_name_their_field() {
        let mut error = ServerError::new(
            "Invalid value for argument \"input.eventTypes.0\", enumeration type \"EventTypeName\" does not contain the value \"lead.created\"",
            None,
        );
        ensure_code(&mut error);
        let extensions = error.extensions.expect("extensions");
        assert_eq!(
            extensions.get("code"),
            Some(&async_graphql::Value::from("VALIDATION_ERROR"))
        );
        assert_eq!(
            extensions.get("field"),
            Some(&async_graphql::Value::from("eventTypes"))
        );
        assert_eq!(
            argument_of("Invalid value for argument \"types.0\", …").as_deref(),
            Some("types")
        );
        assert_eq!(
            argument_of("Invalid value for argument \"input.weeklyHours.2.day\", …").as_deref(),
            Some("weeklyHours")
        );
        assert_eq!(argument_of("Unknown field \"x\""), None);
    }
}
