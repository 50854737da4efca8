//! Compression over real sockets (issue 13): every HTTP endpoint in each coding and identity,
//! a 304 after a compressed 200, compressed SSE events readable one by one, and WebSocket
//! permessage-deflate with and without context takeover, gap-free.

use std::io::Write;
use std::time::Duration;

use proto::encoding::Coding;
use proto::metrics::{PerChannel, Single};
use proto::wire::{self, PushMessage};
use proto::Transport;
use server::config::WsDeflate;
use server::feed::Generator;
use server::{Config, Running};
use test_support::probe::{http_url, metrics, value};
use test_support::{start, LIMIT};
use tokio::time::timeout;

async fn manual(cfg: Config) -> (Running, Generator) {
    (start(Config { rate: 0.0, ..cfg }).await, Generator::new(8, 0.0, 3))
}

fn publish(r: &Running, g: &mut Generator, n: usize) {
    for _ in 0..n {
        r.app.feed.publish(g.draw());
    }
}

/// A push decoder for one coding: each chunk in, everything it completes out.
enum Unzip {
    Identity,
    Gzip(Box<flate2::write::GzDecoder<Vec<u8>>>),
    Br(Box<brotli::DecompressorWriter<Vec<u8>>>),
    Zstd(zstd::stream::write::Decoder<'static, Vec<u8>>),
}

impl Unzip {
    fn new(c: Coding) -> Unzip {
        match c {
            Coding::Identity => Unzip::Identity,
            Coding::Gzip => Unzip::Gzip(Box::new(flate2::write::GzDecoder::new(Vec::new()))),
            Coding::Br => Unzip::Br(Box::new(brotli::DecompressorWriter::new(Vec::new(), 4096))),
            Coding::Zstd => Unzip::Zstd(zstd::stream::write::Decoder::new(Vec::new()).expect("zstd")),
        }
    }

    fn chunk(&mut self, data: &[u8]) -> Vec<u8> {
        fn through<W: Write>(w: &mut W, data: &[u8]) {
            w.write_all(data).expect("decodes");
            w.flush().expect("decodes");
        }
        let out = match self {
            Unzip::Identity => return data.to_vec(),
            Unzip::Gzip(d) => {
                through(d.as_mut(), data);
                d.get_mut()
            }
            Unzip::Br(d) => {
                through(d.as_mut(), data);
                d.get_mut()
            }
            Unzip::Zstd(d) => {
                through(d, data);
                d.get_mut()
            }
        };
        std::mem::take(out)
    }
}

/// The header a test client sends for `c` (identity is asked for by name).
fn accept(c: Coding) -> &'static str {
    c.token()
}

async fn get(url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = reqwest::Client::new().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    timeout(LIMIT, req.send()).await.expect("in time").expect("answered")
}

/// GETs `path` in coding `c`; checks the headers and returns the decoded body.
async fn fetch(r: &Running, path: &str, c: Coding) -> Vec<u8> {
    let resp = get(&http_url(r.addr, path), &[("accept-encoding", accept(c))]).await;
    assert_eq!(resp.status(), 200, "{path} {c}");
    let h = resp.headers();
    assert_eq!(h.get("vary").map(|v| v.to_str().expect("ascii")), Some("accept-encoding"), "{path} {c}");
    let said = h.get("content-encoding").map(|v| v.to_str().expect("ascii").to_owned());
    assert_eq!(said.as_deref(), (!c.is_identity()).then_some(c.token()), "{path} {c}");
    let wire = resp.bytes().await.expect("body");
    Unzip::new(c).chunk(&wire)
}

#[tokio::test]
async fn every_http_endpoint_honours_each_coding_and_identity() {
    let (r, mut g) = manual(Config::ephemeral()).await;
    publish(&r, &mut g, 6);
    for c in Coding::ALL {
        let plain_snapshot = fetch(&r, "/api/scores", Coding::Identity).await;
        let plain_page = fetch(&r, "/api/events?since=2", Coding::Identity).await;
        assert_eq!(fetch(&r, "/api/scores", c).await, plain_snapshot, "{c}");
        assert_eq!(fetch(&r, "/api/events?since=2", c).await, plain_page, "{c}");
        // A long poll held until the next event, then answered in the same coding.
        let seq = r.app.feed.latest_seq();
        let path = format!("/api/events?since={seq}&wait=10");
        let poll = {
            let r = &r;
            async move { fetch(r, &path, c).await }
        };
        let (page, ()) = tokio::join!(poll, async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            r.app.feed.publish(g.draw());
        });
        let page: wire::EventsPage = serde_json::from_slice(&page).expect("a page");
        assert_eq!(page.events.iter().map(|e| e.seq).collect::<Vec<_>>(), [seq + 1], "{c}");
    }
    // Several clients asking for the same version share one compression per coding.
    let before = value(&metrics(r.addr).await, Single::SharedEncodings);
    for _ in 0..5 {
        fetch(&r, "/api/scores", Coding::Br).await;
    }
    assert_eq!(value(&metrics(r.addr).await, Single::SharedEncodings) - before, 1.0);
}

#[tokio::test]
async fn a_304_follows_a_compressed_200_for_the_same_representation_only() {
    let (r, mut g) = manual(Config::ephemeral()).await;
    publish(&r, &mut g, 3);
    let url = http_url(r.addr, "/api/scores");
    let first = get(&url, &[("accept-encoding", "gzip")]).await;
    let tag = first.headers()["etag"].to_str().expect("ascii").to_owned();
    assert_eq!(tag, "\"3-gzip\"");
    let again = get(&url, &[("accept-encoding", "gzip"), ("if-none-match", &tag)]).await;
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], tag.as_str());
    assert_eq!(again.headers()["vary"], "accept-encoding");
    // Another coding is another representation: the gzip tag does not validate it.
    let other = get(&url, &[("accept-encoding", "br"), ("if-none-match", &tag)]).await;
    assert_eq!((other.status().as_u16(), other.headers()["etag"].to_str().ok()), (200, Some("\"3-br\"")));
    let weak = format!("W/{tag}");
    assert_eq!(get(&url, &[("accept-encoding", "gzip"), ("if-none-match", &weak)]).await.status(), 304);
    publish(&r, &mut g, 1);
    assert_eq!(get(&url, &[("accept-encoding", "gzip"), ("if-none-match", &tag)]).await.status(), 200);
}

#[tokio::test]
async fn compressed_sse_events_are_readable_one_by_one() {
    let (r, mut g) = manual(Config::ephemeral()).await;
    for c in [Coding::Gzip, Coding::Br, Coding::Zstd] {
        let mut resp = get(&http_url(r.addr, "/sse"), &[("accept-encoding", c.token())]).await;
        assert_eq!(resp.headers()["content-encoding"], c.token());
        let mut unzip = Unzip::new(c);
        let mut text = String::new();
        // The opening snapshot, then each event before the next is published.
        for i in 0..6 {
            let want = if i == 0 { None } else { Some(r.app.feed.latest_seq() + 1) };
            if want.is_some() {
                publish(&r, &mut g, 1);
            }
            let got = timeout(Duration::from_secs(5), async {
                loop {
                    if let Some(end) = text.find("\n\n") {
                        let block: String = text.drain(..end + 2).collect();
                        let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) else {
                            continue;
                        };
                        return wire::parse_push(data.as_bytes()).expect("a message");
                    }
                    let chunk = resp.chunk().await.expect("stream").expect("open");
                    text.push_str(std::str::from_utf8(&unzip.chunk(&chunk)).expect("utf-8"));
                }
            })
            .await
            .unwrap_or_else(|_| panic!("{c}: message {i} held back in the compressor"));
            match (got, want) {
                (PushMessage::Snapshot(_), None) => {}
                (PushMessage::Event(e), Some(seq)) => assert_eq!(e.seq, seq, "{c}"),
                (other, _) => panic!("{c}: unexpected {other:?}"),
            }
        }
        assert!(value(&metrics(r.addr).await, Single::StreamCompressors) >= 1.0);
    }
}

/// Reads `/ws` through yawc with permessage-deflate offered until `until`; returns the seqs.
async fn ws_deflate_seqs(
    r: &Running,
    offer_no_takeover: bool,
    until: u64,
) -> (Vec<u64>, yawc::WebSocket<tokio::net::TcpStream>) {
    let tcp = tokio::net::TcpStream::connect(r.addr).await.expect("connects");
    let mut opts = yawc::Options::default().with_balanced_compression();
    if offer_no_takeover {
        opts = opts.server_no_context_takeover();
    }
    let url = format!("ws://{}/ws?since=0", r.addr).parse().expect("url");
    let mut ws =
        timeout(LIMIT, yawc::WebSocket::handshake(url, tcp, opts)).await.expect("in time").expect("upgrades");
    let mut seqs = Vec::new();
    while seqs.last().copied().unwrap_or(0) < until {
        let f = timeout(LIMIT, ws.next_frame()).await.expect("in time").expect("a frame");
        if f.opcode() == yawc::OpCode::Text {
            match wire::parse_push(f.payload()).expect("a message") {
                PushMessage::Event(e) => seqs.push(e.seq),
                PushMessage::Snapshot(_) => {}
            }
        }
    }
    (seqs, ws)
}

#[tokio::test]
async fn ws_deflate_with_and_without_context_takeover_is_gap_free() {
    for (mode, offer_no_takeover) in
        [(WsDeflate::Takeover, false), (WsDeflate::NoTakeover, false), (WsDeflate::Takeover, true)]
    {
        let (r, mut g) = manual(Config { ws_deflate: mode, ..Config::ephemeral() }).await;
        publish(&r, &mut g, 40);
        let json_bytes: usize = r.app.feed.since(0).expect("ring").iter().map(|p| p.json.len()).sum();
        // The socket stays open until the end: its compressor is counted while it lives.
        let (seqs, _ws) = ws_deflate_seqs(&r, offer_no_takeover, 40).await;
        assert_eq!(seqs, (1..=40).collect::<Vec<_>>(), "{mode:?} {offer_no_takeover}");
        // The frames were compressed: fewer bytes left the socket than the events' JSON.
        let sent = metrics(r.addr).await.channel(PerChannel::BytesSent, Transport::Ws).expect("counted");
        assert!((sent as usize) < json_bytes, "{mode:?}: {sent} bytes sent for {json_bytes} of JSON");
        let held = value(&metrics(r.addr).await, Single::StreamCompressors);
        let takeover = mode == WsDeflate::Takeover && !offer_no_takeover;
        assert_eq!(held, if takeover { 1.0 } else { 0.0 }, "{mode:?} {offer_no_takeover}");
        // A client that goes away gives its compressor back.
        drop(_ws);
        let released = async {
            while value(&metrics(r.addr).await, Single::StreamCompressors) > 0.0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        timeout(Duration::from_secs(5), released).await.expect("the permit is released");
    }
}

#[tokio::test]
async fn the_echo_endpoint_negotiates_deflate() {
    let (r, _) = manual(Config::ephemeral()).await;
    let tcp = tokio::net::TcpStream::connect(r.addr).await.expect("connects");
    let url = format!("ws://{}/ws/echo", r.addr).parse().expect("url");
    let opts = yawc::Options::default().with_balanced_compression();
    let mut ws =
        timeout(LIMIT, yawc::WebSocket::handshake(url, tcp, opts)).await.expect("in time").expect("upgrades");
    let text = "echo ".repeat(200);
    futures_util::SinkExt::send(&mut ws, yawc::Frame::text(text.clone())).await.expect("sent");
    let back = timeout(LIMIT, ws.next_frame()).await.expect("in time").expect("echoed");
    assert_eq!(back.payload().as_ref(), text.as_bytes());
    let received =
        metrics(r.addr).await.channel(PerChannel::BytesReceived, proto::Channel::WsEcho).expect("counted");
    assert!(received < 400.0, "the 1000-byte message came compressed: {received} bytes");
}
