//! pushpull's server: one simulated live-score feed, served every way a web page can get
//! live data, with exact per-transport counters.
//!
//! Layout, from the outside in (each layer uses only the ones below it):
//! - [`serve`]: [`start`] binds, builds the [`App`], spawns the feed's pump and the accept
//!   loop; [`Running::shutdown`] stops them; [`run_until_signal`] is the whole binary.
//! - [`net`]: `listener` accepts within the connection limit and runs one hyper HTTP/1
//!   connection per socket; `metered` wraps every socket, counts each byte for the channel
//!   of the request in flight and enforces the header, idle and send timeouts.
//! - [`http`]: `routes` is the table of endpoints (path → channel, methods, handler);
//!   `router` is the service hyper calls; `query`, `headers` and `response` serve both.
//! - [`transport`]: one file per way to get the feed (`short_poll`, `events` for delta and
//!   long polling, `sse`, `ws`) and the `echo` socket; `push` is what SSE and WebSocket
//!   share (resume, snapshot, resync), `upgrade` the WebSocket handshake.
//! - [`cluster`]: the same server as the cluster's publisher (`--publish nats://…`) or as a
//!   node following it (`--feed nats://…`), through `feed::nats`.
//! - [`app`]: [`App`], the state every handler reads; [`demo`] serves the classroom page.
//! - Below them: [`feed`], [`metrics`] (with `proto::process`), [`pages`], [`shutdown`], [`config`].
//!
//! How data moves: the [`EventSource`](feed::EventSource) (the embedded
//! [`Generator`](feed::Generator)) makes a change; [`Feed::publish`](feed::Feed::publish)
//! stamps it with `seq`/`ts_us`/`epoch` and serialises it once (JSON and SSE frame) into the
//! snapshot, the ring and a broadcast; polls read the snapshot or ring on request, push
//! clients get the broadcast through `transport::push`; the shared bytes then cross the
//! metered socket, which counts them, and [`metrics`] shows the counts at `/metrics`.

pub mod app;
pub mod cluster;
pub mod config;
pub mod demo;
pub mod feed;
pub mod http;
pub mod metrics;
pub mod net;
pub mod pages;

pub mod serve;
pub mod shutdown;
pub mod transport;

pub use app::App;
pub use config::Config;
pub use serve::{run_until_signal, run_until_signal_with_source, start, start_with_source, Running};
