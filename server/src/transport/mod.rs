//! The five ways to get the feed, plus the WebSocket echo; one file each.
//!
//! - `short_poll`: `GET /api/scores`, the whole snapshot, `ETag`/`If-None-Match` → 304.
//! - `events`: `GET /api/events?since=S[&wait=T]`, delta polling and long polling.
//! - `sse`: `GET /sse`, Server-Sent Events with `Last-Event-ID` resume.
//! - `ws`: `GET /ws`, snapshot then one text frame per event, `?since=S` resume.
//! - `echo`: `GET /ws/echo`, echoes frames (conformance, round-trip time).
//! - `push`: where a push client (SSE, WebSocket) starts, what it gets next, and resyncs.
//! - `compressed`: the bound on per-connection compressors (SSE streams, WebSocket deflate).
//! - `deflate`, `wsconn`: WebSocket permessage-deflate (yawc) and the interface that hides
//!   which stack a session runs on.
//! - `upgrade`: the WebSocket handshake checks both WebSocket endpoints share.

pub mod compressed;
pub mod deflate;
pub mod echo;
pub mod events;
pub mod push;
pub mod short_poll;
pub mod sse;
pub mod upgrade;
pub mod ws;
pub mod wsconn;
