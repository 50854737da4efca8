//! The drain after the window: it lasts until every client has reached the window's last
//! event (bounded), so a poller whose next poll comes long after the window's end still
//! delivers instead of losing.
//!
//! Delta pollers every 10 s: with the old fixed drain (5.5 s at most), every client whose
//! next poll fell more than 5.5 s after the window's end stopped first and lost the window's
//! last events. The clients' poll phases are seeded, so which client polls when is fixed;
//! nothing here depends on how fast the machine is, only on the drain's 20 s bound.

mod common;

use common::{loadgen, read_results, temp_dir};

#[test]
fn a_poller_whose_next_poll_is_long_after_the_window_drains_instead_of_losing() {
    let dir = temp_dir("drain");
    let out = loadgen()
        .args([
            "run",
            "--repeat",
            "1",
            "--transports",
            "delta-poll",
            "--clients",
            "10",
            "--rate",
            "20",
            "--seed",
            "1",
        ])
        .args(["--poll-interval", "10s", "--warmup", "10s", "--duration", "1s", "--quiet", "--out"])
        .arg(&dir)
        .output()
        .expect("loadgen runs");
    assert!(out.status.success(), "exit {:?}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    let r = read_results(&dir);
    let s = &r.steps[0];
    let said = format!(
        "published {}, expected {}, delivered {}, coalesced {}, late {}, lost {}, errors {:?}",
        s.events_published, s.deliveries_expected, s.deliveries, s.coalesced, s.late, s.lost, s.errors
    );
    assert!(s.events_published > 0, "{said}");
    assert!(s.errors.is_empty(), "{said}");
    assert_eq!((s.lost, s.late, s.coalesced), (0, 0, 0), "{said}");
    assert_eq!(s.deliveries, s.deliveries_expected, "{said}");
    assert_eq!(s.deliveries + s.coalesced + s.late + s.lost, s.deliveries_expected, "{said}");
}
