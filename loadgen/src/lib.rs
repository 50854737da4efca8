//! pushpull's load generator: many simulated clients through each transport, measured
//! honestly, written as HdrHistograms, JSON and an HTML report.
//!
//! How a run flows:
//! - [`run`] plans the sweep (client counts × transports) and, without `--target`, starts the
//!   server as a separate process ([`embedded`]) so its CPU and memory are its own.
//! - [`step`] runs one (transport, clients) step: ramps up, warms up, measures a window
//!   bounded by two [`scrape`]s of the server's `/metrics`, drains, and assembles a
//!   [`results::Step`].
//! - [`client`] holds the simulated clients (polling, SSE, WebSocket), each one task with its
//!   own connection; they poll on a fixed [`schedule`] (coordinated omission) and keep raw
//!   samples in a [`recorder::ClientRecord`], with [`seqcheck`] for gaps and duplicates.
//! - [`hgrm`] writes `.hgrm` percentile files and interval logs; `proto::results` is
//!   `results.json`; the `reports` crate draws `index.html`; [`summary`] prints the terminal table;
//!   [`machine`] says what it ran on; [`clock`] measures the offset to a server on another
//!   host; [`config`] is the command line.

pub mod client;
pub mod clock;
pub mod config;
pub mod embedded;
pub mod failure;
pub mod hgrm;
pub mod machine;
pub mod recorder;
pub mod run;
pub mod schedule;
pub mod scrape;
pub mod seqcheck;
pub mod step;
pub mod summary;
