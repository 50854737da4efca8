//! pushpull's protocol: every name and format the server, the load generator and the report
//! share, defined once, with no async runtime or HTTP stack.
//!
//! - [`wire`]: the JSON shapes of events, snapshots, event pages and errors, and the ETag.
//! - [`transport`]: the five transports ([`Transport`]) with their command-line, metric and
//!   plain names, and what `/metrics` counts a connection under ([`Channel`]).
//! - [`poll_mode`]: how a scheduled poller paces its polls ([`PollMode`]: `setInterval` or a
//!   `setTimeout` chain).
//! - [`metrics`]: every `/metrics` name as a typed constant, and the parsed page ([`Sample`])
//!   read only through those constants, so a renamed metric is a compile error.
//! - [`sse`]: the Server-Sent Events codec, one frame writer and one incremental parser.
//! - [`variant`]: the run's dimensions beside transport and client count (HTTP protocol,
//!   TLS, compression), one mechanism shared by the CLI, `results.json` and the report.
//! - [`encoding`]: HTTP content codings, `Accept-Encoding` negotiation and per-coding ETags.
//! - [`results`]: `results.json`, the only link between a run and its report.
//! - [`capacity`]: `capacity.json` (`loadgen capacity`) and the [`capacity::ServiceLevel`]
//!   that the capacity search and the report's "kept up?" both judge by.
//! - [`backplane`]: the NATS subjects and repair answer of a cluster (publisher and nodes).
//! - [`clock`]: the microsecond clock of `ts_us` and of every delay; [`process`]: this
//!   process's CPU and memory, as both sides measure them.

pub mod backplane;
pub mod capacity;
pub mod clock;
pub mod encoding;
pub mod metrics;
pub mod poll_mode;
pub mod process;
pub mod results;
pub mod sse;
pub mod transport;
pub mod variant;
pub mod wire;

pub use clock::now_us;
pub use poll_mode::PollMode;
pub use transport::{Channel, Transport};
pub use variant::{Compression, Dimension, Dimensions, Protocol, Security, Variant};
