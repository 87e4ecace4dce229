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
use poem_openapi::param::Header;
use poem_openapi::payload::Json;
use poem_openapi::{
    ApiResponse, ContactObject, LicenseObject, OpenApiService, ServerObject, Webhook,
};

use crate::views::WebhookPayload;

pub use openapi::{allowed_methods, document_json, document_yaml, route_of};

pub const PRODUCTION_SERVER: &str = "https://api.aura-app.ai";

/// Every `/v1` operation.
pub type Apis = (resources::ResourcesApi, webhooks::WebhooksApi);

/// What Aura sends to a webhook's URL. Documented under `x-webhooks` (see `openapi`).
#[Webhook]
pub trait Deliveries {
    /// An event delivery
    ///
    /// Aura POSTs each event a webhook subscribes to, as JSON, with the Standard Webhooks
    /// headers. Verify `webhook-signature` with the webhook's `whsec_…` secret over
    /// `{webhook-id}.{webhook-timestamp}.{body}` before trusting the body, and
    /// de-duplicate on `webhook-id`: delivery is at least once. Answer 2xx within 15 s;
    /// anything else (or nothing) is retried after about 5 s, 5 min, 30 min, 2 h, 5 h,
    /// 10 h and 10 h; `410 Gone` disables the webhook.
    #[oai(
        name = "event",
        method = "post",
        operation_id = "deliverEvent",
        tag = "resources::Tag::Webhooks"
    )]
    fn event(
        &self,
        /// The event's id (`evt_…`), the same on every attempt: de-duplicate on it.
        #[oai(name = "webhook-id")]
        id: Header<String>,
        /// When this attempt was made, in Unix seconds; refuse deliveries more than a few
        /// minutes old.
        #[oai(name = "webhook-timestamp")]
        timestamp: Header<i64>,
        /// `v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">`; during
        /// the 24 h after a secret rotation, two signatures separated by a space (new and
        /// old secret). Accept the delivery if any of them verifies.
        #[oai(name = "webhook-signature")]
        signature: Header<String>,
        body: Json<WebhookPayload>,
    ) -> DeliveryAnswer;
}

/// How a webhook endpoint answers a delivery.
#[derive(ApiResponse)]
pub enum DeliveryAnswer {
    /// Received: any 2xx within 15 s. The body is ignored (its first KiB is kept with the
    /// attempt).
    #[oai(status = 200)]
    Received,
    /// Gone: the delivery fails and the webhook is disabled. Any other status, a timeout
    /// or a redirect is a failed attempt and is retried.
    #[oai(status = 410)]
    Gone,
}

pub fn service() -> OpenApiService<Apis, &'static dyn Deliveries> {
    OpenApiService::new(
        (resources::ResourcesApi, webhooks::WebhooksApi),
        "Aura Partner API",
        env!("CARGO_PKG_VERSION"),
    )
    .webhooks::<&dyn Deliveries>()
    .description(include_str!("api_description.md"))
    .contact(
        ContactObject::new()
            .name("Aura Partner API support")
            .url("https://api.aura-app.ai/docs"),
    )
    .license(LicenseObject::new("MIT").url("https://opensource.org/license/mit"))
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
