//! Per-page byte tallies for the classroom demo: the page tags its requests with
//! `?page=ID`, and the bytes of those requests are counted for that page and transport too,
//! so the page can show true wire bytes rather than estimates.
//!
//! Bounded: at most [`MAX_PAGES`] pages are tracked; a new page evicts the one seen least
//! recently, so a script inventing page ids cannot grow the server's memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::metrics::Transport;
use crate::net::metered::ByteTally;

/// Pages tracked at most.
pub const MAX_PAGES: usize = 256;

#[derive(Default)]
struct Page {
    tallies: HashMap<Transport, Arc<ByteTally>>,
    seen: Option<Instant>,
}

/// The registry; see the module doc.
#[derive(Default)]
pub struct Pages {
    pages: Mutex<HashMap<String, Page>>,
}

impl Pages {
    /// The tally of `page`'s requests of `transport`, created on first use.
    pub fn tally(&self, page: &str, transport: Transport) -> Option<Arc<ByteTally>> {
        let mut pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        if !pages.contains_key(page) && pages.len() >= MAX_PAGES {
            let oldest = pages.iter().min_by_key(|(_, p)| p.seen).map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                pages.remove(&k);
            }
        }
        let p = pages.entry(page.to_string()).or_default();
        p.seen = Some(Instant::now());
        Some(p.tallies.entry(transport).or_default().clone())
    }

    /// `(transport, bytes received, bytes sent)` of every transport `page` has used.
    pub fn report(&self, page: &str) -> Vec<(Transport, u64, u64)> {
        use std::sync::atomic::Ordering::Relaxed;
        let pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<_> = pages
            .get(page)
            .map(|p| {
                p.tallies.iter().map(|(t, b)| (*t, b.received.load(Relaxed), b.sent.load(Relaxed))).collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering::Relaxed;

    #[test]
    fn tallies_are_per_page_and_transport_and_bounded() {
        let p = Pages::default();
        let a = p.tally("a", Transport::Ws).expect("tally");
        a.sent.fetch_add(10, Relaxed);
        p.tally("a", Transport::Ws).expect("same").sent.fetch_add(5, Relaxed);
        assert_eq!(p.report("a"), vec![(Transport::Ws, 0, 15)]);
        assert!(p.report("b").is_empty());
        for i in 0..MAX_PAGES + 10 {
            p.tally(&format!("x{i}"), Transport::Sse);
        }
        assert_eq!(p.pages.lock().expect("lock").len(), MAX_PAGES);
    }
}
