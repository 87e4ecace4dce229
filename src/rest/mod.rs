//! The REST facade under `/v1`: poem-openapi handlers that run operations of the GraphQL
//! schema (see `operations`), so REST and GraphQL cannot disagree on data, permissions or
//! pagination. Also serves the OpenAPI document (`/openapi.json`, `/openapi.yaml`) and a
//! readable reference (`/docs`).

pub mod body;
mod openapi;
pub mod operations;
pub mod resources;
pub mod responses;
pub mod webhooks;

use poem::web::Html;
use poem::{IntoResponse, Response, handler};
use poem_openapi::OpenApiService;
use poem_openapi::ServerObject;

pub use openapi::{allowed_methods, document_json, document_yaml, route_of};

pub const PRODUCTION_SERVER: &str = "https://api.aura-app.ai";

/// Every `/v1` operation.
pub type Apis = (resources::ResourcesApi, webhooks::WebhooksApi);

pub fn service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (resources::ResourcesApi, webhooks::WebhooksApi),
        "Aura Partner API",
        env!("CARGO_PKG_VERSION"),
    )
    .description(include_str!("api_description.md"))
    .server(ServerObject::new(PRODUCTION_SERVER).description("Production"))
    .server(
        ServerObject::new("http://127.0.0.1:8080").description("Local development (`aura serve`)"),
    )
    .url_prefix("/v1")
}

#[handler]
pub fn openapi_json() -> Response {
    document_json()
        .to_owned()
        .with_content_type("application/json; charset=utf-8")
        .into_response()
}

#[handler]
pub fn openapi_yaml() -> Response {
    document_yaml()
        .to_owned()
        .with_content_type("application/yaml; charset=utf-8")
        .into_response()
}

#[handler]
pub fn docs() -> Html<String> {
    Html(openapi::reference_html())
}
