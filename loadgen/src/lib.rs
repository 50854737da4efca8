//! pushpull's load generator: many simulated clients through each transport, measured
//! honestly, written as HdrHistograms, JSON and an HTML report.
//!
//! How a run flows:
//! - [`run`] plans the sweep ([`plan`]: client counts × transports, each step's ramp, warm-up,
//!   window and drain) and, without `--target`, starts the server as a separate process
//!   ([`embedded`]) so its CPU and memory are its own. It shows [`progress`] and writes
//!   `results.json` after every step.
//! - [`step`] runs one (transport, clients) step: it spawns the [`client`]s, [`watch`]es the
//!   server through [`scrape`]s of its `/metrics` (the first one checked for every metric),
//!   which bound the measured [`window`] (one segment per server epoch), joins the clients,
//!   [`assemble`]s their records over the window into a `proto::results::Step`, and writes its
//!   histogram [`files`] ([`hgrm`] formats).
//! - [`client`] holds the simulated clients (polling, SSE, WebSocket), each one task with its
//!   own connection, (re)connecting through one [`client::Reconnect`]; they poll on a fixed
//!   [`schedule`] (coordinated omission), paced as `setInterval` or a `setTimeout` chain
//!   (`--poll-mode`), and keep raw samples in a [`recorder::ClientRecord`], with
//!   [`seqcheck`] for gaps and duplicates. A failed request is a [`failure::Failure`]: its
//!   kind is counted, its cause logged.
//! - `proto::results` is `results.json`; the `reports` crate draws `index.html`; [`summary`]
//!   prints the terminal table; [`baseline`] measures the idle server's CPU before the first
//!   step; [`machine`] says what it ran on; [`clock`] measures the offset
//!   to a server on another host; [`config`] is the command line; [`delay_line`] holds each
//!   client connection's bytes back by half a round trip each way, and [`network_delay`]
//!   chooses between it and netem for `--rtt`; [`pin`] puts the embedded server and the load
//!   generator on separate CPUs (`--pin`).
//! - [`workers`] (`run --workers N|auto`) splits a run whose clients one process's open-files
//!   limit cannot hold over worker processes (`run --part K/N` of itself) and [`merge`]s them.
//! - [`capacity`] (`loadgen capacity`) searches, per transport, the largest client count that
//!   meets a service level, each probe an ordinary [`step`]; [`limits`] are the machine's limits
//!   on connections (open files, ports, memory), checked before clients connect.

pub mod assemble;
pub mod baseline;
pub mod capacity;
pub mod client;
pub mod clock;
pub mod config;
pub mod delay_line;
pub mod embedded;
pub mod event_delay;
pub mod failure;
pub mod feed_times;
pub mod files;
pub mod hgrm;
pub mod limits;
pub mod machine;
pub mod merge;
pub mod network_delay;
pub mod part;
pub mod pin;
pub mod plan;
pub mod progress;
pub mod recorder;
pub mod run;
pub mod schedule;
pub mod scrape;
pub mod seqcheck;
pub mod spread;
pub mod step;
pub mod summary;
pub mod watch;
pub mod window;
pub mod workers;
