//! What pushpull's tests and benches share. A dev-dependency only (and a dependency of the
//! `benches` crate): it pulls in tokio and the server, which `reports` must never depend on.
//!
//! - [`wait`]: [`LIMIT`] and bounded waits, so a hang fails with the name of what it waited for.
//! - [`process`]: child processes waited for with a bound, and their output collected.
//! - [`serve`]: the real server, in this process or as a child process, on 127.0.0.1:0.
//! - [`probe`]: a client's view of a server: URLs, `/metrics` as a `Sample`, raw exchanges.
//! - [`files`]: scratch folders (kept when a test fails) and `runs/ci/` for pictures.
//! - [`browser`] and [`webdriver`]: Chromium and Firefox, their flags and drivers, and the
//!   rule for a missing one (skip with a message outside CI, fail under `CI=true`).

pub mod browser;
pub mod files;
pub mod probe;
pub mod process;
pub mod serve;
pub mod wait;
pub mod webdriver;

pub use files::{artifacts, scratch, Scratch};
pub use serve::start;
pub use wait::{bounded, bounded_by, within, LIMIT};
