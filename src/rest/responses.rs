//! Envelopes and responses: `{"success": true, "data": …}` for success, the contract's
//! error body for everything else.

use poem_openapi::registry::{
    MetaHeader, MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry,
};
use poem_openapi::types::{Example, ToJSON, Type};
use poem_openapi::{ApiResponse, Object};

use super::body::{JsonBody, RestData};
use crate::error::AppError;
use crate::views::enums::{ErrorCode, Wire};
use crate::views::{
    BookingLink, Call, Deleted, Delivery, ErrorBody, Event, Lead, Payment, Product, Succeeded,
    TeamMember, Webhook, WebhookTestResult, WebhookWithSecret,
};

/// Where a list stands.
#[derive(Object, Debug, Clone)]
#[oai(example)]
pub struct Pagination {
    /// The page size used.
    pub limit: i32,
    /// Whether another page follows.
    pub has_more: bool,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl Example for Pagination {
    fn example() -> Self {
        Pagination {
            limit: 25,
            has_more: true,
            next_cursor: Some(EXAMPLE_CURSOR.to_owned()),
        }
    }
}

/// A cursor as lists hand them out (48 hex digits): the example payment's position.
pub const EXAMPLE_CURSOR: &str = "00065d64fe03360001a11fff7dc07eda9dbea6070ebf14ed";

macro_rules! envelopes {
    ($item:ident, $list:ident, $one:ident, $list_response:ident, $one_response:ident,
     $list_doc:literal, $one_doc:literal, $list_ok:literal, $one_ok:literal) => {
        #[doc = $list_doc]
        #[derive(Object, Debug, Clone)]
        #[oai(example)]
        pub struct $list {
            pub success: Succeeded,
            /// The page's items, newest first.
            pub data: Vec<$item>,
            pub pagination: Pagination,
        }

        #[doc = $one_doc]
        #[derive(Object, Debug, Clone)]
        #[oai(example)]
        pub struct $one {
            pub success: Succeeded,
            pub data: $item,
        }

        impl Example for $list {
            fn example() -> Self {
                $list {
                    success: Succeeded,
                    data: vec![<$item as Example>::example()],
                    pagination: Pagination::example(),
                }
            }
        }

        impl Example for $one {
            fn example() -> Self {
                $one {
                    success: Succeeded,
                    data: <$item as Example>::example(),
                }
            }
        }

        #[derive(ApiResponse)]
        pub enum $list_response {
            #[doc = $list_ok]
            #[oai(status = 200)]
            Ok(JsonBody<$list>),
        }

        #[derive(ApiResponse)]
        pub enum $one_response {
            #[doc = $one_ok]
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
    "A page of leads, newest first.",
    "One lead.",
    "A page of leads, newest first; `pagination.next_cursor` fetches the next.",
    "The lead."
);
envelopes!(
    Call,
    CallList,
    CallEnvelope,
    CallListResponse,
    CallResponse,
    "A page of calls, newest first.",
    "One call.",
    "A page of calls, newest first; `pagination.next_cursor` fetches the next.",
    "The call."
);
envelopes!(
    TeamMember,
    TeamMemberList,
    TeamMemberEnvelope,
    TeamMemberListResponse,
    TeamMemberResponse,
    "A page of team members, newest first.",
    "One team member.",
    "A page of team members, newest first; `pagination.next_cursor` fetches the next.",
    "The team member."
);
envelopes!(
    BookingLink,
    BookingLinkList,
    BookingLinkEnvelope,
    BookingLinkListResponse,
    BookingLinkResponse,
    "A page of booking links, newest first.",
    "One booking link.",
    "A page of booking links, newest first; `pagination.next_cursor` fetches the next.",
    "The booking link."
);
envelopes!(
    Product,
    ProductList,
    ProductEnvelope,
    ProductListResponse,
    ProductResponse,
    "A page of products, newest first.",
    "One product.",
    "A page of products, newest first; `pagination.next_cursor` fetches the next.",
    "The product."
);
envelopes!(
    Payment,
    PaymentList,
    PaymentEnvelope,
    PaymentListResponse,
    PaymentResponse,
    "A page of payments, newest first.",
    "One payment.",
    "A page of payments, newest first; `pagination.next_cursor` fetches the next.",
    "The payment, with what it earns its closer and setter."
);
envelopes!(
    Webhook,
    WebhookList,
    WebhookEnvelope,
    WebhookListResponse,
    WebhookResponse,
    "A page of webhooks, newest first.",
    "One webhook.",
    "A page of webhooks, newest first; `pagination.next_cursor` fetches the next.",
    "The webhook."
);
envelopes!(
    Delivery,
    DeliveryList,
    DeliveryEnvelope,
    DeliveryListResponse,
    DeliveryResponse,
    "A page of deliveries, newest first.",
    "One delivery.",
    "A page of the webhook's deliveries, newest first, each with its attempts.",
    "The delivery."
);
envelopes!(
    Event,
    EventList,
    EventEnvelope,
    EventListResponse,
    EventResponse,
    "A page of events, newest first.",
    "One event.",
    "A page of events, newest first; `pagination.next_cursor` fetches the next.",
    "The event."
);

/// A webhook with its secret, shown once.
#[derive(Object, Debug, Clone)]
#[oai(example)]
pub struct WebhookWithSecretEnvelope {
    pub success: Succeeded,
    pub data: WebhookWithSecret,
}

impl Example for WebhookWithSecretEnvelope {
    fn example() -> Self {
        WebhookWithSecretEnvelope {
            success: Succeeded,
            data: WebhookWithSecret::example(),
        }
    }
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
#[oai(example)]
pub struct WebhookTestEnvelope {
    /// `true`: the request worked, whatever the endpoint answered.
    pub success: Succeeded,
    pub data: WebhookTestResult,
}

impl Example for WebhookTestEnvelope {
    fn example() -> Self {
        WebhookTestEnvelope {
            success: Succeeded,
            data: WebhookTestResult::example(),
        }
    }
}

#[derive(ApiResponse)]
pub enum WebhookTestResponse {
    /// The attempt was made; `data.succeeded` says how the endpoint answered.
    #[oai(status = 200)]
    Ok(poem_openapi::payload::Json<WebhookTestEnvelope>),
}

/// A deletion.
#[derive(Object, Debug, Clone)]
#[oai(example)]
pub struct DeletedEnvelope {
    pub success: Succeeded,
    pub data: Deleted,
}

impl Example for DeletedEnvelope {
    fn example() -> Self {
        DeletedEnvelope {
            success: Succeeded,
            data: Deleted::example(),
        }
    }
}

#[derive(ApiResponse)]
pub enum DeletedResponse {
    /// Deleted, with its delivery log; nothing more is sent to it.
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
#[oai(example)]
pub struct CommissionTotals {
    pub success: Succeeded,
    /// One total per currency; empty when nothing was earned in the period.
    pub data: Vec<crate::views::CommissionTotal>,
}

impl Example for CommissionTotals {
    fn example() -> Self {
        CommissionTotals {
            success: Succeeded,
            data: vec![crate::views::CommissionTotal::example()],
        }
    }
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

/// An error response of the document: its status, what it means, and an example body's
/// code and message.
pub struct ErrorResponse {
    pub status: u16,
    pub description: &'static str,
    pub code: ErrorCode,
    pub example_message: &'static str,
}

pub const ERRORS: &[ErrorResponse] = &[
    ErrorResponse {
        status: 400,
        description: "Invalid input: `code` is `VALIDATION_ERROR` and the message names the field (or `BAD_REQUEST` for a body that is not JSON).",
        code: ErrorCode::ValidationError,
        example_message: "limit: must be between 1 and 100",
    },
    ErrorResponse {
        status: 401,
        description: "Missing, malformed, unknown, revoked or expired credentials.",
        code: ErrorCode::Unauthorized,
        example_message: "authentication required: send `Authorization: Bearer <API key or Clerk token>`",
    },
    ErrorResponse {
        status: 403,
        description: "The credential lacks the scope this operation needs.",
        code: ErrorCode::Forbidden,
        example_message: "this API key lacks the `leads:read` scope required here",
    },
    ErrorResponse {
        status: 404,
        description: "No such object in your organization.",
        code: ErrorCode::NotFound,
        example_message: "lead `lead_01m434fkz0fmd8gw1mkwp861jc` not found",
    },
    ErrorResponse {
        status: 409,
        description: "Conflict, e.g. an `Idempotency-Key` reused with another body.",
        code: ErrorCode::Conflict,
        example_message: "Idempotency-Key `6f1c2a9e-3b7d-4e…` was already used with a different request; send a fresh key (a UUID) for each new request",
    },
    ErrorResponse {
        status: 413,
        description: "The request body is larger than 1 MiB.",
        code: ErrorCode::PayloadTooLarge,
        example_message: "request body is larger than 1048576 bytes",
    },
    ErrorResponse {
        status: 415,
        description: "The body is not `application/json`.",
        code: ErrorCode::UnsupportedMediaType,
        example_message: "unsupported content type `text/plain`; send `Content-Type: application/json`",
    },
    ErrorResponse {
        status: 429,
        description: "Rate limit exceeded; retry after `Retry-After` seconds.",
        code: ErrorCode::RateLimited,
        example_message: "rate limit exceeded; retry in 12 s",
    },
    ErrorResponse {
        status: 500,
        description: "Something went wrong on our side; quote the `request_id`.",
        code: ErrorCode::InternalError,
        example_message: "internal server error",
    },
    ErrorResponse {
        status: 503,
        description: "A dependency (the database) is unavailable; retry after `Retry-After` seconds.",
        code: ErrorCode::ServiceUnavailable,
        example_message: "the database is unavailable; retry shortly",
    },
];

impl ErrorResponse {
    /// A realistic body of this response.
    pub fn example(&self) -> ErrorBody {
        ErrorBody {
            code: Wire(self.code),
            error: self.example_message.to_owned(),
            ..ErrorBody::example()
        }
    }
}

impl ApiResponse for ApiError {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: ERRORS
                .iter()
                .map(|error| MetaResponse {
                    description: error.description,
                    status: Some(error.status),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: "application/json",
                        schema: <ErrorBody as Type>::schema_ref(),
                    }],
                    headers: if error.status == 429 || error.status == 503 {
                        vec![MetaHeader {
                            name: "Retry-After".to_owned(),
                            description: Some(
                                "Seconds until a request will be allowed again.".to_owned(),
                            ),
                            required: true,
                            deprecated: false,
                            schema: MetaSchemaRef::Inline(Box::new(MetaSchema {
                                example: Some(serde_json::json!(12)),
                                ..MetaSchema::new_with_format("integer", "uint64")
                            })),
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
