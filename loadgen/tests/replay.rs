//! The embedded server's feed starts its seeded schedule over when the load generator says
//! `restart` on its stdin, so every step meets the same changes (`--repeat`'s fair rounds).

mod common;

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use proto::wire::EventsPage;

/// The events after `since`, without their seq and time (what a restart must repeat).
async fn changes_after(base: &str, since: u64) -> Vec<serde_json::Value> {
    let page: EventsPage = reqwest::get(format!("{base}/api/events?since={since}"))
        .await
        .expect("answers")
        .json()
        .await
        .expect("an events page");
    page.events
        .into_iter()
        .map(|e| {
            let mut v = serde_json::to_value(e).expect("serialises");
            let o = v.as_object_mut().expect("object");
            o.remove("seq");
            o.remove("ts_us");
            v
        })
        .collect()
}

async fn latest(base: &str) -> u64 {
    let r = reqwest::get(format!("{base}/api/scores")).await.expect("answers");
    proto::wire::parse_etag(r.headers()["etag"].to_str().expect("ascii")).expect("an ETag")
}

#[tokio::test]
async fn a_restart_replays_the_same_changes() {
    let (mut child, addr) = test_support::serve::spawn_with_stdin(
        common::loadgen()
            .args(["serve-embedded", "--addr", "127.0.0.1:0", "--rate", "20", "--seed", "5"])
            .stderr(Stdio::null()),
    );
    let base = format!("http://{addr}");
    let mut stdin = child.stdin.take().expect("stdin piped");
    let mut runs = Vec::new();
    for _ in 0..2 {
        let since = latest(&base).await;
        writeln!(stdin, "restart").expect("the child reads its stdin");
        stdin.flush().expect("flushed");
        tokio::time::sleep(Duration::from_millis(1500)).await;
        runs.push(changes_after(&base, since).await);
    }
    let _ = child.kill();
    let _ = child.wait();
    // An event of the old schedule may slip in between reading the latest seq and the
    // restart: the replayed run then starts one later.
    let n = 8;
    assert!(
        runs.iter().all(|r| r.len() > n),
        "about 30 events each: {:?}",
        runs.iter().map(Vec::len).collect::<Vec<_>>()
    );
    let aligned =
        [(0, 0), (0, 1), (1, 0), (1, 1)].iter().any(|&(a, b)| runs[0][a..a + n] == runs[1][b..b + n]);
    assert!(aligned, "the second run repeats the first's changes:\n{:?}\n{:?}", &runs[0][..n], &runs[1][..n]);
}
