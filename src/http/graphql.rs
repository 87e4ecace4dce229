//! `/graphql` over HTTP: the playground page, and operations over POST. An adapter over
//! `graphql::execute`, with the request's actor from the guard.

use async_graphql::http::GraphiQLSource;
use poem::http::StatusCode;
use poem::web::{Data, Html};
use poem::{IntoResponse, Request, Response, handler};

use crate::domain::Actor;
use crate::graphql::{self, AuraSchema, Core};

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
    core: Data<&Core>,
    req: &Request,
    body: async_graphql_poem::GraphQLRequest,
) -> Response {
    let actor = req.extensions().get::<Actor>().cloned();
    let anonymous = actor.is_none();
    let response = graphql::execute(&schema, &core, actor, body.0).await;
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
