//! A delay line for `--rtt` where the kernel has no netem: each direction of a client's TCP
//! connection is held back by half the round trip, in order and byte for byte, so that a
//! request/answer costs one round trip as it would across the internet.
//!
//! The client talks to one end of an in-memory duplex pipe; two pump tasks move bytes between
//! the pipe's other end and the socket, each chunk released `rtt / 2` after it was read. The
//! TCP handshake itself is not delayed by the pipe, so [`DelayLine::wrap`] waits one `rtt`
//! before it hands the connection over (SYN, SYN-ACK). Queues are bounded (backpressure, never
//! unbounded memory); the pumps end with the connection or when the client drops its end.

use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Chunks in flight per direction before the reader waits: with 16 KiB reads, up to 1 MiB.
const QUEUE_CHUNKS: usize = 64;
/// Largest chunk read at once, and the duplex pipe's buffer.
const CHUNK: usize = 16 * 1024;

/// A round-trip delay applied to every connection a client opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DelayLine {
    pub rtt: Duration,
}

impl DelayLine {
    /// Hands back a stream that behaves like `io` seen across a path of `rtt` round trip,
    /// after one `rtt` for the TCP handshake.
    pub async fn wrap<S>(self, io: S) -> DuplexStream
    where
        S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let (client_end, line_end) = tokio::io::duplex(CHUNK);
        let one_way = self.rtt / 2;
        let (socket_read, socket_write) = tokio::io::split(io);
        let (line_read, line_write) = tokio::io::split(line_end);
        tokio::spawn(pump(line_read, socket_write, one_way));
        tokio::spawn(pump(socket_read, line_write, one_way));
        tokio::time::sleep(self.rtt).await;
        client_end
    }
}

/// Moves bytes from `from` to `to`, each chunk `delay` after it was read; a closed side
/// closes the other (after the delay, like a FIN in flight).
async fn pump<R, W>(mut from: R, mut to: W, delay: Duration)
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (tx, mut rx) = mpsc::channel::<(Instant, Option<Bytes>)>(QUEUE_CHUNKS);
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = from.read(&mut buf).await.unwrap_or(0);
            let chunk = (n > 0).then(|| Bytes::copy_from_slice(&buf[..n]));
            let end = chunk.is_none();
            if tx.send((Instant::now() + delay, chunk)).await.is_err() || end {
                return;
            }
        }
    });
    while let Some((due, chunk)) = rx.recv().await {
        tokio::time::sleep_until(due).await;
        match chunk {
            Some(bytes) if to.write_all(&bytes).await.is_ok() => {}
            _ => break,
        }
    }
    let _ = to.shutdown().await;
    reader.abort();
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::{TcpListener, TcpStream};

    /// An echo server on loopback that answers each read at once.
    async fn echo() -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        addr
    }

    #[tokio::test]
    async fn a_round_trip_takes_at_least_the_rtt_and_keeps_every_byte_in_order() {
        let addr = echo().await;
        let rtt = Duration::from_millis(80);
        let started = Instant::now();
        let mut s = DelayLine { rtt }.wrap(TcpStream::connect(addr).await.expect("connect")).await;
        assert!(started.elapsed() >= rtt, "the handshake costs one round trip");

        let message: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let sent = Instant::now();
        let (mut r, mut w) = tokio::io::split(&mut s);
        let write = async {
            w.write_all(&message).await.expect("write");
        };
        let mut back = vec![0u8; message.len()];
        let read = async {
            let mut first = None;
            let mut got = 0;
            while got < back.len() {
                let n = r.read(&mut back[got..]).await.expect("read");
                assert!(n > 0, "closed early");
                first.get_or_insert_with(Instant::now);
                got += n;
            }
            first.expect("read something")
        };
        let ((), first_byte) = tokio::join!(write, read);
        assert!(first_byte - sent >= rtt, "the first echoed byte came back after {:?}", first_byte - sent);
        assert_eq!(back, message, "same bytes, same order");
    }

    #[tokio::test]
    async fn a_close_reaches_the_other_side() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut all = Vec::new();
            s.read_to_end(&mut all).await.expect("read to end");
            all
        });
        let line = DelayLine { rtt: Duration::from_millis(20) };
        let mut s = line.wrap(TcpStream::connect(addr).await.expect("connect")).await;
        s.write_all(b"bye").await.expect("write");
        s.shutdown().await.expect("shutdown");
        let got =
            tokio::time::timeout(Duration::from_secs(5), server).await.expect("bounded").expect("joins");
        assert_eq!(got, b"bye");
    }
}
