//! pushpull's server: one simulated live-score feed, served every way a web page can get
//! live data, with exact per-transport counters.
//!
//! How data moves:
//! - [`feed`]: the embedded [`Generator`](feed::Generator) (behind the
//!   [`EventSource`](feed::EventSource) interface) makes score changes; [`Feed`](feed::Feed)
//!   stamps each with `seq`/`ts_us`/`epoch`, serialises it once, keeps the snapshot and a ring,
//!   and broadcasts the shared bytes.
//! - [`transport`]: short poll (`/api/scores`), delta and long poll (`/api/events`), SSE
//!   (`/sse`), WebSocket (`/ws`) and the echo socket (`/ws/echo`) read from the feed.
//! - [`http`]: routing, query validation and error answers; `proto::wire` is the JSON both the
//!   server and every client use.
//! - [`net`]: the accept loop with its connection limit, and the metered socket that counts
//!   every byte per transport and enforces the header, idle and send timeouts.
//! - [`metrics`] renders the counters (and [`process`] CPU and memory) at `/metrics`;
//!   [`pages`] tallies the demo page's own bytes; [`demo`] serves the page.
//! - [`app`] starts and stops it all; [`shutdown`] is the handle every task holds;
//!   [`config`] is the command line.

pub mod app;
pub mod config;
pub mod demo;
pub mod feed;
pub mod http;
pub mod metrics;
pub mod net;
pub mod pages;
pub mod process;
pub mod serve;
pub mod shutdown;
pub mod transport;

pub use app::App;
pub use serve::{run_until_signal, start, start_with_source, Running};
pub use config::Config;
