//! Compressed-once bodies: the snapshot and the event pages in each coding, shared by every
//! client that asks for the same version, as the feed's serialise-once bytes are.
//!
//! Each cache holds only the current version (the snapshot at the latest seq; the pages that
//! end at the latest seq, one per cursor) and is emptied when the feed moves on, so its size
//! is bounded by the codings times the cursors clients hold. Compression runs under the
//! cache's lock: a second client asking for the same body waits for the first one's work
//! rather than repeating it. Every compression is counted
//! (`pushpull_shared_encodings_total`), which is how the tests see "once".

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;
use prometheus_client::metrics::counter::Counter;

use crate::http::encoding::{self, Coding};

/// Pages kept for one version at most; past that, pages are compressed but not kept.
const MAX_PAGES: usize = 1024;

/// The shared compressed bodies; see the module doc.
pub struct Encoded {
    snapshot: Mutex<Version<Coding>>,
    pages: Mutex<Version<(u64, Coding)>>,
    /// Counts every compression done here.
    pub computed: Counter,
}

impl Encoded {
    /// Empty caches; `computed` counts every compression (the metrics' counter).
    pub fn new(computed: Counter) -> Encoded {
        Encoded { snapshot: Mutex::default(), pages: Mutex::default(), computed }
    }
}

/// Bodies of one version, keyed within it.
struct Version<K> {
    seq: u64,
    bodies: HashMap<K, Bytes>,
}

impl<K> Default for Version<K> {
    fn default() -> Self {
        Version { seq: u64::MAX, bodies: HashMap::new() }
    }
}

impl Encoded {
    /// The snapshot at `seq` (whose JSON is `json`) in `coding`.
    pub fn snapshot(&self, seq: u64, json: &Bytes, coding: Coding) -> Bytes {
        if coding.is_identity() {
            return json.clone();
        }
        self.shared(&self.snapshot, seq, coding, coding, || json.clone())
    }

    /// The event page from `since` up to `next` (the latest seq when it was read) in
    /// `coding`; `page` builds its JSON when no client has asked for it yet.
    pub fn page(&self, since: u64, next: u64, coding: Coding, page: impl FnOnce() -> Bytes) -> Bytes {
        if coding.is_identity() {
            return page();
        }
        self.shared(&self.pages, next, (since, coding), coding, page)
    }

    fn shared<K: std::hash::Hash + Eq>(
        &self,
        cache: &Mutex<Version<K>>,
        seq: u64,
        key: K,
        coding: Coding,
        body: impl FnOnce() -> Bytes,
    ) -> Bytes {
        let mut v = cache.lock().unwrap_or_else(|e| e.into_inner());
        if v.seq == seq {
            if let Some(b) = v.bodies.get(&key) {
                return b.clone();
            }
        }
        let z = encoding::compress(coding, &body());
        self.computed.inc();
        // A request that read an older version than the cache holds is served but not kept.
        if v.seq != seq && (v.seq == u64::MAX || seq > v.seq) {
            v.seq = seq;
            v.bodies.clear();
        }
        if v.seq == seq && v.bodies.len() < MAX_PAGES {
            v.bodies.insert(key, z.clone());
        }
        z
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_compression_per_version_and_coding() {
        let e = Encoded::new(Counter::default());
        let json = Bytes::from_static(br#"{"type":"snapshot","seq":3,"matches":[]}"#);
        let a = e.snapshot(3, &json, Coding::Gzip);
        let b = e.snapshot(3, &json, Coding::Gzip);
        assert_eq!(a, b);
        assert_eq!(e.computed.get(), 1);
        e.snapshot(3, &json, Coding::Br);
        assert_eq!(e.snapshot(3, &json, Coding::Identity), json);
        assert_eq!(e.computed.get(), 2, "identity is never compressed");
        e.snapshot(4, &json, Coding::Gzip);
        e.snapshot(3, &json, Coding::Gzip);
        assert_eq!(e.computed.get(), 4, "an older version is served, not kept");
        e.snapshot(4, &json, Coding::Gzip);
        assert_eq!(e.computed.get(), 4);
    }

    #[test]
    fn pages_are_shared_per_cursor() {
        let e = Encoded::new(Counter::default());
        let mut built = 0;
        for _ in 0..3 {
            e.page(5, 9, Coding::Zstd, || {
                built += 1;
                Bytes::from_static(b"{\"events\":[]}")
            });
        }
        assert_eq!((built, e.computed.get()), (1, 1));
        e.page(6, 9, Coding::Zstd, || Bytes::from_static(b"{}"));
        assert_eq!(e.computed.get(), 2);
    }
}
