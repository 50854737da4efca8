//! The bound on per-connection compressors: a compressed SSE stream or a WebSocket deflate
//! session holds a [`Permit`] for as long as it keeps compression state.
//!
//! Shared bodies cost nothing per client; these do (a window and hash tables per connection),
//! so they are counted (`pushpull_stream_compressors`) and capped by
//! `--max-stream-compressors`. A stream past the cap is served uncompressed, never refused,
//! and counted (`pushpull_stream_compressors_refused_total`).

use crate::app::App;
use crate::metrics::Metrics;
use std::sync::Arc;

/// One connection's right to hold a compressor; released when dropped.
pub struct Permit {
    metrics: Arc<Metrics>,
}

impl Permit {
    /// A permit, or `None` (counted) when the cap is reached.
    pub fn take(app: &App) -> Option<Permit> {
        let gauge = &app.metrics.stream_compressors;
        let before = gauge.inc();
        if usize::try_from(before).unwrap_or(usize::MAX) >= app.config.max_stream_compressors {
            gauge.dec();
            app.metrics.stream_compressors_refused.inc();
            return None;
        }
        Some(Permit { metrics: app.metrics.clone() })
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.metrics.stream_compressors.dec();
    }
}
