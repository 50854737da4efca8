//! What every handler shares: the configuration, the feed, the counters, the demo page's
//! tallies and the shutdown handle.
//!
//! This file holds state only. Starting and stopping live in `serve.rs`, so that the
//! transports can depend on [`App`] without depending on the code that starts them.

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use crate::config::Config;
use crate::feed::encoded::Encoded;
use crate::feed::Feed;
use crate::metrics::Metrics;
use crate::pages::Pages;
use crate::shutdown::Shutdown;

/// What every handler shares.
pub struct App {
    pub config: Config,
    pub feed: Arc<Feed>,
    /// The feed's bodies compressed once per coding (issue 13).
    pub encoded: Encoded,
    pub metrics: Arc<Metrics>,
    pub pages: Pages,
    pub shutdown: Shutdown,
    /// Connections open now (the limit's count).
    pub open_connections: AtomicUsize,
}

impl App {
    /// Fresh counters and page tallies around `feed`.
    pub fn new(config: Config, feed: Arc<Feed>, shutdown: Shutdown) -> Arc<App> {
        let metrics = Arc::new(Metrics::new());
        Arc::new(App {
            config,
            feed,
            encoded: Encoded::new(metrics.shared_encodings.clone()),
            metrics,
            pages: Pages::default(),
            shutdown,
            open_connections: AtomicUsize::new(0),
        })
    }
}
