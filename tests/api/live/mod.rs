//! Live events over `GET /graphql/ws` (graphql-transport-ws), with a real WebSocket
//! client: the widget flow end to end, type filters, organization isolation, refusals at
//! `connection_init`, and delivery across instances.

mod client;
mod events;
mod widget_flow;
