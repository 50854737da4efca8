//! Setup bytes per connection (issue 16, point 5): what a connection had carried, both ways,
//! by the moment it counted as connected, counted by the real load generator against the real
//! embedded server, apart from the window's bytes per event.

mod common;

use common::{run_ok, temp_dir};
use proto::{Security, Transport};

#[test]
fn setup_bytes_are_counted_per_connection_and_a_tls_handshake_is_in_them() {
    let args = [
        &["--repeat", "1", "--transports", "ws,short-poll", "--tls", "off,on", "--clients", "4"][..],
        &["--duration", "2s", "--warmup", "1s", "--rate", "10", "--baseline", "0s"][..],
    ]
    .concat();
    let r = run_ok(&temp_dir("setup-bytes"), &args);
    let per = |t: Transport, tls: Security| {
        let s = r.steps.iter().find(|s| s.transport == t && s.variant.tls == tls).expect("ran");
        assert!(s.errors.is_empty(), "{t:?} {tls:?}: {:?}", s.errors);
        assert!(
            s.setup_connections >= 4,
            "{t:?} {tls:?}: every client's connection: {}",
            s.setup_connections
        );
        assert!(s.setup_connections <= s.connect_latency_us.count, "timed connections only");
        s.setup_bytes as f64 / s.setup_connections as f64
    };
    // Every transport's setup holds the state its client starts from: the ~1 KB snapshot
    // (a WebSocket's first message, a poll's first answer), besides the upgrade or the request
    // and answer heads.
    let ws = per(Transport::Ws, Security::Plain);
    assert!((1000.0..3000.0).contains(&ws), "WebSocket setup {ws} B");
    let poll = per(Transport::ShortPoll, Security::Plain);
    assert!((1000.0..3000.0).contains(&poll), "short poll setup {poll} B");
    let ws_tls = per(Transport::Ws, Security::Tls);
    let poll_tls = per(Transport::ShortPoll, Security::Tls);
    // A full TLS 1.3 handshake (certificate and all) comes on top: over a kilobyte.
    assert!(ws_tls > ws + 1000.0, "TLS handshake in the setup: {ws_tls} B against {ws} B");
    assert!(poll_tls > poll + 1000.0, "{poll_tls} B against {poll} B");
}
