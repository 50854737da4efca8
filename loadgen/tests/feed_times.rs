//! Reading a window's event times from a real server: exact times, a ring too small for the
//! window, and a server that restarted (another epoch).

use std::time::Duration;

use loadgen::client::http::Conn;
use loadgen::feed_times::{read, TimesError};
use server::feed::Generator;
use server::{Config, Running};

async fn start(ring: u64) -> Running {
    let config = Config { rate: 0.0, ring, shutdown_grace: Duration::from_secs(1), ..Config::ephemeral() };
    tokio::time::timeout(Duration::from_secs(10), server::start(config))
        .await
        .expect("started in time")
        .expect("binds 127.0.0.1:0")
}

#[tokio::test]
async fn reads_every_events_own_time_and_refuses_what_the_ring_lost() {
    let r = start(8).await;
    let mut g = Generator::new(4, 0.0, 1);
    let published: Vec<(u64, u64)> = (0..6)
        .map(|_| {
            let p = r.app.feed.publish(g.draw());
            (p.seq, p.ts_us)
        })
        .collect();
    let epoch = r.app.feed.epoch();
    let host = r.addr.to_string();
    let mut conn = Conn::open(r.addr, None).await.expect("connects");

    let times = read(&mut conn, &host, epoch, 1, 5).await.expect("times of 2..=5");
    assert_eq!(times.to(), 5);
    for (seq, ts) in &published[1..5] {
        assert_eq!(times.ts(*seq), Some(*ts), "seq {seq}");
    }
    assert_eq!(times.ts(6), None, "nothing beyond the window");

    match read(&mut conn, &host, epoch + 1, 1, 5).await {
        Err(TimesError::Restarted { expected, found }) => assert_eq!((expected, found), (epoch + 1, epoch)),
        other => panic!("another epoch's times must be refused, got {other:?}"),
    }

    for _ in 0..20 {
        r.app.feed.publish(g.draw());
    }
    match read(&mut conn, &host, epoch, 1, 26).await {
        Err(TimesError::RingTooSmall { from: 2, to: 26, .. }) => {}
        other => panic!("a window longer than the ring must be refused, got {other:?}"),
    }
    r.shutdown().await;
}
