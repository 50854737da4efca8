//! HTTP plumbing: the route table and the router that reads it, and what every handler
//! uses (query parameters, header token lists, responses and error answers).

pub mod encoding;
pub mod headers;
pub mod query;
pub mod response;
pub mod router;
pub mod routes;
