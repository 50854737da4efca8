//! HTTP plumbing shared by the transports: routing, query parsing, responses.

pub mod headers;
pub mod query;
pub mod response;
pub mod router;
pub mod routes;
