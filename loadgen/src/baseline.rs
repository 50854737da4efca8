//! The server's CPU with no client at all, measured once before the first step: the feed,
//! the ring and the load generator's own `/metrics` readings (one each half second, as during
//! a step) cost CPU whatever the transport. Each step records that idle rate times its
//! window as `baseline_cpu_s`, and the report divides only the rest by deliveries.
//!
//! The readings use the same [`Scraper`]s and the same cadence as a step's watch, so the
//! baseline carries the same fixed costs that a step's CPU does; several nodes' CPU is
//! summed, as a step's is.

use std::time::Duration;

use proto::metrics::Single;
use proto::results::Baseline;
use tokio::time::Instant;

use crate::scrape::{ScrapeError, Scraper};

/// Between readings: the watch's cadence.
const EVERY: Duration = Duration::from_millis(500);

/// Watches the idle server's nodes for `length`; their CPU seconds per second, summed.
pub async fn measure(scrapers: &mut [Scraper], length: Duration) -> Result<Baseline, ScrapeError> {
    let first = cpu(scrapers).await?;
    let started = Instant::now();
    let mut last = first.clone();
    while started.elapsed() < length {
        tokio::time::sleep(EVERY.min(length.saturating_sub(started.elapsed()))).await;
        last = cpu(scrapers).await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let server_cpu_s = last.iter().zip(&first).map(|(l, f)| (l - f).max(0.0)).sum::<f64>();
    Ok(Baseline { measured_s: seconds, server_cpu_s, server_cpu_per_s: server_cpu_s / seconds.max(1e-9) })
}

/// Every node's CPU seconds now.
async fn cpu(scrapers: &mut [Scraper]) -> Result<Vec<f64>, ScrapeError> {
    let mut out = Vec::with_capacity(scrapers.len());
    for s in scrapers.iter_mut() {
        out.push(s.sample().await?.get(Single::ProcessCpuSeconds).unwrap_or(0.0));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_idle_server_costs_little_and_the_rate_is_cpu_over_time() {
        let server = test_support::serve::start(server::Config::ephemeral()).await;
        let dialer = crate::client::conn::Dialer::plain_h1(server.addr, server.addr.to_string());
        let mut scrapers = [Scraper::new(dialer)];
        let b = measure(&mut scrapers, Duration::from_millis(1200)).await.expect("measured");
        assert!(b.measured_s >= 1.2, "{b:?}");
        assert!((b.server_cpu_per_s - b.server_cpu_s / b.measured_s).abs() < 1e-9, "{b:?}");
        // The in-process server shares this process: its CPU here is the test's, bounded by
        // the two cores and the time.
        assert!(b.server_cpu_s <= 2.0 * b.measured_s + 0.1, "{b:?}");
    }
}
