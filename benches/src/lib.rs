//! pushpull's criterion benchmarks: the real server (in process, on 127.0.0.1) measured
//! through the load generator's own client code, never a separate toy implementation.
//!
//! Layout:
//! - [`fixture`]: the tokio runtime, starting and stopping a server that publishes only when
//!   a bench calls `feed.publish`, the criterion settings that keep the suite short, and the
//!   time bound on every wait (a broken server fails the bench instead of hanging it); the
//!   start and the bounded wait are `test_support`'s, shared with the tests.
//! - [`follower`]: clients that follow the feed by each transport (loadgen's `Conn`/`get`,
//!   its SSE parser and its WebSocket settings) and count arrivals, so a bench can publish
//!   one event and wait until every client has it.
//! - `benches/delivery.rs`, `connect.rs`, `poll.rs`, `encode.rs`: one criterion group each
//!   (`delivery/…`, `connect/…`, `poll/…`, `encode/…`); `cargo bench` runs them all.

pub mod fixture;
pub mod follower;
