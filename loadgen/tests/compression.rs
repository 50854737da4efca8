//! `loadgen run --compression off,on` end to end (issue 13): the clients offer what a browser
//! offers, decode what comes back, and lose nothing; compressed steps cost fewer wire bytes.

mod common;

use common::{loadgen, read_results, temp_dir};
use proto::{Compression, Transport};

#[test]
fn a_sweep_with_compression_off_and_on_completes_without_errors_or_lost_events() {
    let dir = temp_dir("compression");
    let out = loadgen()
        .args([
            "run",
            "--repeat",
            "1",
            "--compression",
            "off,on",
            "--clients",
            "10",
            "--duration",
            "2s",
            "--warmup",
            "1s",
        ])
        .args(["--rate", "20", "--poll-interval", "500ms", "--quiet", "--out"])
        .arg(&dir)
        .output()
        .expect("loadgen runs");
    assert!(
        out.status.success(),
        "exit {:?}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let r = read_results(&dir);
    assert_eq!(r.steps.len(), 10, "five transports, compression off and on");
    for s in &r.steps {
        let label = format!("{} {:?}", s.transport, s.variant.compression);
        assert!(s.errors.is_empty(), "{label}: errors {:?}", s.errors);
        assert!(s.deliveries > 0, "{label}: nothing delivered");
        assert_eq!(s.lost + s.duplicates, 0, "{label}");
        if s.transport != Transport::ShortPoll {
            assert_eq!(s.deliveries, s.deliveries_expected, "{label}: every event, once");
        }
    }
    // The feed's JSON compresses: every transport's bytes per delivery fall with compression on.
    for t in Transport::ALL {
        let per = |c: Compression| {
            r.steps
                .iter()
                .find(|s| s.transport == t && s.variant.compression == c)
                .unwrap_or_else(|| panic!("no {t} {c:?} step"))
                .wire_bytes_per_delivery
        };
        assert!(
            per(Compression::On) < per(Compression::Off),
            "{t}: {} vs {}",
            per(Compression::On),
            per(Compression::Off)
        );
    }
}
