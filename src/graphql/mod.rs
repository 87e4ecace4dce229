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
pub mod query;
pub mod resources;
pub mod scalars;
pub mod subscription;
pub mod webhooks;

use async_graphql::{MergedObject, Schema, ServerError, ValidationMode};

use crate::domain::Actor;
pub use context::Core;
use context::RequestContext;
use loaders::{BatchQueue, Loaders, drive};

#[derive(MergedObject, Default)]
pub struct Query(
    query::ResourceQuery,
    api_keys::ApiKeyQuery,
    booking::PublicBookingQuery,
    webhooks::WebhookQuery,
);

/// Every mutation, merged: add yours as another member.
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

fn schema_with(core: Option<Core>, validation: ValidationMode) -> AuraSchema {
    let mut builder = Schema::build(Query::default(), Mutation::default(), Subscription)
        .validation_mode(validation)
        .limit_depth(limits::MAX_DEPTH)
        .limit_complexity(limits::MAX_COMPLEXITY)
        .limit_recursive_depth(limits::MAX_RECURSIVE_DEPTH);
    if let Some(core) = core {
        builder = builder.data(core);
    }
    builder.finish()
}

/// The schema in SDL, as committed in `schema/schema.graphql`.
pub fn sdl() -> String {
    build_schema(None).sdl()
}

/// Runs one operation as `actor` (or anonymously), with fresh loaders scoped to the
/// actor's organization.
pub async fn execute(
    schema: &AuraSchema,
    core: &Core,
    actor: Option<Actor>,
    mut request: async_graphql::Request,
) -> async_graphql::Response {
    if let Err(error) = limits::check_request(&mut request) {
        return async_graphql::Response::from_errors(vec![error]);
    }
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
    response
}

/// Errors raised by async-graphql itself (syntax, unknown fields, bad variables) carry
/// no code; every error a client sees must have one.
pub fn ensure_code(error: &mut ServerError) {
    let has_code = error
        .extensions
        .as_ref()
        .is_some_and(|ext| ext.get("code").is_some());
    if !has_code {
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", "VALIDATION_ERROR");
    }
}
