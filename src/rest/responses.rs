//! Envelopes and responses: `{"success": true, "data": …}` for success, the contract's
//! error body for everything else.

use poem_openapi::registry::{MetaHeader, MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::{ToJSON, Type};
use poem_openapi::{ApiResponse, Object};

use super::body::{JsonBody, RestData};
use crate::error::AppError;
use crate::views::{
    BookingLink, Call, Deleted, Delivery, ErrorBody, Event, Lead, Payment, Product, TeamMember,
    Webhook, WebhookTestResult, WebhookWithSecret,
};

/// Where a list stands.
#[derive(Object, Debug, Clone)]
pub struct Pagination {
    /// The page size used.
    pub limit: i32,
    /// Whether another page follows.
    pub has_more: bool,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

macro_rules! envelopes {
    ($item:ident, $list:ident, $one:ident, $list_response:ident, $one_response:ident, $what:literal) => {
        #[doc = concat!("A page of ", $what, ", newest first.")]
        #[derive(Object, Debug, Clone)]
        pub struct $list {
            /// Always `true`.
            pub success: bool,
            pub data: Vec<$item>,
            pub pagination: Pagination,
        }

        #[doc = concat!("One ", $what, ".")]
        #[derive(Object, Debug, Clone)]
        pub struct $one {
            /// Always `true`.
            pub success: bool,
            pub data: $item,
        }

        #[derive(ApiResponse)]
        pub enum $list_response {
            #[doc = concat!("A page of ", $what, ".")]
            #[oai(status = 200)]
            Ok(JsonBody<$list>),
        }

        #[derive(ApiResponse)]
        pub enum $one_response {
            #[doc = concat!("The ", $what, ".")]
            #[oai(status = 200)]
            Ok(JsonBody<$one>),
        }

        impl $list_response {
            pub fn page(
                data: impl RestData<Rest = Vec<$item>>,
                limit: i32,
                has_more: bool,
                next_cursor: Option<String>,
            ) -> Result<Self, AppError> {
                let pagination = Pagination {
                    limit,
                    has_more,
                    next_cursor: if has_more { next_cursor } else { None },
                };
                let members = [("pagination", pagination.to_json().unwrap_or_default())];
                Ok($list_response::Ok(JsonBody::envelope(data, &members)?))
            }
        }

        impl $one_response {
            pub fn item(data: impl RestData<Rest = $item>) -> Result<Self, AppError> {
                Ok($one_response::Ok(JsonBody::envelope(data, &[])?))
            }
        }
    };
}

envelopes!(
    Lead,
    LeadList,
    LeadEnvelope,
    LeadListResponse,
    LeadResponse,
    "leads"
);
envelopes!(
    Call,
    CallList,
    CallEnvelope,
    CallListResponse,
    CallResponse,
    "calls"
);
envelopes!(
    TeamMember,
    TeamMemberList,
    TeamMemberEnvelope,
    TeamMemberListResponse,
    TeamMemberResponse,
    "team members"
);
envelopes!(
    BookingLink,
    BookingLinkList,
    BookingLinkEnvelope,
    BookingLinkListResponse,
    BookingLinkResponse,
    "booking links"
);
envelopes!(
    Product,
    ProductList,
    ProductEnvelope,
    ProductListResponse,
    ProductResponse,
    "products"
);
envelopes!(
    Payment,
    PaymentList,
    PaymentEnvelope,
    PaymentListResponse,
    PaymentResponse,
    "payments"
);

envelopes!(
    Webhook,
    WebhookList,
    WebhookEnvelope,
    WebhookListResponse,
    WebhookResponse,
    "webhooks"
);
envelopes!(
    Delivery,
    DeliveryList,
    DeliveryEnvelope,
    DeliveryListResponse,
    DeliveryResponse,
    "deliveries"
);
envelopes!(
    Event,
    EventList,
    EventEnvelope,
    EventListResponse,
    EventResponse,
    "events"
);

/// A webhook with its secret, shown once.
#[derive(Object, Debug, Clone)]
pub struct WebhookWithSecretEnvelope {
    /// Always `true`.
    pub success: bool,
    pub data: WebhookWithSecret,
}

#[derive(ApiResponse)]
pub enum WebhookCreatedResponse {
    /// The webhook was created; `data.secret` is shown only now.
    #[oai(status = 201)]
    Created(
        poem_openapi::payload::Json<WebhookWithSecretEnvelope>,
        /// Where the new webhook lives: `/v1/webhooks/{id}`.
        #[oai(header = "Location")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum WebhookSecretResponse {
    /// The new secret, shown only now; the previous one also signs for 24 hours.
    #[oai(status = 200)]
    Ok(poem_openapi::payload::Json<WebhookWithSecretEnvelope>),
}

/// The outcome of a test delivery.
#[derive(Object, Debug, Clone)]
pub struct WebhookTestEnvelope {
    /// Always `true` (the request worked, whatever the endpoint answered).
    pub success: bool,
    pub data: WebhookTestResult,
}

#[derive(ApiResponse)]
pub enum WebhookTestResponse {
    /// The attempt was made; `data.succeeded` says how the endpoint answered.
    #[oai(status = 200)]
    Ok(poem_openapi::payload::Json<WebhookTestEnvelope>),
}

/// A deletion.
#[derive(Object, Debug, Clone)]
pub struct DeletedEnvelope {
    /// Always `true`.
    pub success: bool,
    pub data: Deleted,
}

#[derive(ApiResponse)]
pub enum DeletedResponse {
    /// Deleted.
    #[oai(status = 200)]
    Ok(poem_openapi::payload::Json<DeletedEnvelope>),
}

#[derive(ApiResponse)]
pub enum DeliveryQueuedResponse {
    /// Queued: the dispatcher attempts it within a second.
    #[oai(status = 202)]
    Accepted(poem_openapi::payload::Json<DeliveryEnvelope>),
}

/// A team member's earned commissions, one total per currency.
#[derive(Object, Debug, Clone)]
pub struct CommissionTotals {
    /// Always `true`.
    pub success: bool,
    pub data: Vec<crate::views::CommissionTotal>,
}

#[derive(ApiResponse)]
pub enum CommissionTotalsResponse {
    /// Earned commissions per currency.
    #[oai(status = 200)]
    Ok(poem_openapi::payload::Json<CommissionTotals>),
}

/// Every error an operation can answer. At run time it is an [`AppError`] that leaves
/// through the envelope middleware (which adds the request id); here it also documents
/// the error responses in the OpenAPI document.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        ApiError(err)
    }
}

impl From<ApiError> for poem::Error {
    fn from(err: ApiError) -> Self {
        crate::http::into_poem_error(err.0)
    }
}

const ERRORS: &[(u16, &str)] = &[
    (
        400,
        "Invalid input: `code` is `VALIDATION_ERROR` and the message names the field.",
    ),
    (
        401,
        "Missing, malformed, unknown, revoked or expired credentials.",
    ),
    (403, "The credential lacks the scope this operation needs."),
    (404, "No such object in your organization."),
    (
        409,
        "Conflict, e.g. an `Idempotency-Key` reused with another body.",
    ),
    (413, "The request body is larger than 1 MiB."),
    (415, "The body is not `application/json`."),
    (
        429,
        "Rate limit exceeded; retry after `Retry-After` seconds.",
    ),
    (
        500,
        "Something went wrong on our side; quote the `request_id`.",
    ),
    (
        503,
        "A dependency (the database) is unavailable; retry after `Retry-After` seconds.",
    ),
];

impl ApiResponse for ApiError {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: ERRORS
                .iter()
                .map(|(status, description)| MetaResponse {
                    description,
                    status: Some(*status),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: "application/json",
                        schema: <ErrorBody as Type>::schema_ref(),
                    }],
                    headers: if *status == 429 || *status == 503 {
                        vec![MetaHeader {
                            name: "Retry-After".to_owned(),
                            description: Some(
                                "Seconds until a request will be allowed again.".to_owned(),
                            ),
                            required: true,
                            deprecated: false,
                            schema: <u64 as Type>::schema_ref(),
                        }]
                    } else {
                        vec![]
                    },
                })
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        <ErrorBody as Type>::register(registry);
    }
}
