//! The GraphQL schema: the core of the API. The REST facade runs operations of this same
//! schema, so data, permissions and pagination are defined here once.

pub mod api_keys;
pub mod context;
pub mod documents;
pub mod limits;
pub mod loaders;
pub mod mutations;
pub mod pagination;
pub mod query;
pub mod resources;
pub mod scalars;
pub mod tenant;

use async_graphql::http::GraphiQLSource;
use async_graphql::{MergedObject, Schema, ServerError, ValidationMode};
use poem::http::StatusCode;
use poem::web::{Data, Html};
use poem::{IntoResponse, Request, Response, handler};

use crate::auth::Principal;
use crate::state::AppState;
use context::RequestContext;
use loaders::{BatchQueue, Loaders, drive};

#[derive(MergedObject, Default)]
pub struct Query(
    query::ResourceQuery,
    api_keys::ApiKeyQuery,
    crate::booking::graphql::PublicBookingQuery,
    crate::webhooks::graphql::WebhookQuery,
);

/// Every mutation, merged: add yours as another member.
#[derive(MergedObject, Default)]
pub struct Mutation(
    api_keys::ApiKeyMutation,
    crate::booking::graphql::BookingMutation,
    mutations::lead::LeadMutation,
    mutations::call::CallMutation,
    mutations::payment::PaymentMutation,
    mutations::product::ProductMutation,
    mutations::team_member::TeamMemberMutation,
    mutations::booking_link::BookingLinkMutation,
    crate::webhooks::graphql::WebhookMutation,
);

/// Subscriptions, served on `/graphql/ws` (`crate::live`).
pub use crate::live::graphql::LiveSubscription as Subscription;

pub type AuraSchema = Schema<Query, Mutation, Subscription>;

pub fn build_schema(state: Option<AppState>) -> AuraSchema {
    schema_with(state, ValidationMode::Strict)
}

/// The schema the REST endpoints run their operations on. Those documents are fixed text
/// (`rest::operations`, each held to the strict rules by a test there) and their variables
/// come from typed REST parameters, so per request it checks only what depends on the
/// request: complexity and depth (async-graphql's `ValidationMode::Fast`). The 22
/// document rules were 7% of a REST list request's instructions (BENCHMARKS.md).
pub fn build_rest_schema(state: AppState) -> RestSchema {
    RestSchema(schema_with(Some(state), ValidationMode::Fast))
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

fn schema_with(state: Option<AppState>, validation: ValidationMode) -> AuraSchema {
    let mut builder = Schema::build(Query::default(), Mutation::default(), Subscription)
        .validation_mode(validation)
        .limit_depth(limits::MAX_DEPTH)
        .limit_complexity(limits::MAX_COMPLEXITY)
        .limit_recursive_depth(limits::MAX_RECURSIVE_DEPTH);
    if let Some(state) = state {
        builder = builder.data(state);
    }
    builder.finish()
}

/// The schema in SDL, as committed in `schema/schema.graphql`.
pub fn sdl() -> String {
    build_schema(None).sdl()
}

/// Runs one operation as `principal` (or anonymously), with fresh loaders scoped to the
/// principal's organization.
pub async fn execute(
    schema: &AuraSchema,
    state: &AppState,
    principal: Option<Principal>,
    mut request: async_graphql::Request,
) -> async_graphql::Response {
    if let Err(error) = limits::check_request(&mut request) {
        return async_graphql::Response::from_errors(vec![error]);
    }
    let queue = BatchQueue::default();
    if let Some(principal) = principal {
        request = request.data(RequestContext {
            loaders: Loaders::new(&queue, &state.db, principal.organization_id),
            principal,
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

#[handler]
pub async fn playground() -> Html<String> {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
            .title("Aura GraphQL playground")
            .finish(),
    )
}

/// `POST /graphql`. An anonymous request whose every field needed a credential is
/// answered 401 (with the GraphQL body and `UNAUTHORIZED` codes), so plain HTTP clients
/// see what happened; public operations answer 200.
#[handler]
pub async fn graphql_http(
    schema: Data<&AuraSchema>,
    state: Data<&AppState>,
    req: &Request,
    body: async_graphql_poem::GraphQLRequest,
) -> Response {
    let principal = req.extensions().get::<Principal>().cloned();
    let anonymous = principal.is_none();
    let response = execute(&schema, &state, principal, body.0).await;
    let refused = anonymous
        && response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| {
            e.extensions.as_ref().and_then(|x| x.get("code"))
                == Some(&async_graphql::Value::from("UNAUTHORIZED"))
        });
    let mut http = async_graphql_poem::GraphQLResponse::from(response).into_response();
    if refused {
        http.set_status(StatusCode::UNAUTHORIZED);
    }
    http
}
