//! Byte-exact reads off a raw `TcpStream`, for the tests that compare what the client read
//! with what the server counted: one HTTP/1.1 response (head, content-length body) and one
//! WebSocket text frame with its header.
//!
//! The head is read a byte at a time so that nothing after it is taken off the stream (a
//! kept-alive connection's next response, or the first frame after a 101).

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use super::LIMIT;

/// Reads one response head, through its blank line.
pub async fn read_head(s: &mut TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        let n =
            tokio::time::timeout(LIMIT, s.read(&mut byte)).await.expect("head in time").expect("read head");
        assert_eq!(n, 1, "connection closed mid-head");
        buf.push(byte[0]);
    }
    buf
}

/// The head's content-length, 0 without one.
pub fn content_length(head: &[u8]) -> usize {
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    head.lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .map_or(0, |v| v.trim().parse().expect("length"))
}

/// Reads one whole response: its head and its content-length body.
pub async fn read_response(s: &mut TcpStream) -> (Vec<u8>, Vec<u8>) {
    let head = read_head(s).await;
    let mut body = vec![0u8; content_length(&head)];
    tokio::time::timeout(LIMIT, s.read_exact(&mut body)).await.expect("body in time").expect("read body");
    (head, body)
}

/// Reads one final, unmasked text frame: its header as sent (2 bytes, +2 for a payload of
/// 126 to 65535 bytes) and its payload.
pub async fn read_text_frame(s: &mut TcpStream) -> (Vec<u8>, Vec<u8>) {
    let mut header = vec![0u8; 2];
    tokio::time::timeout(LIMIT, s.read_exact(&mut header)).await.expect("in time").expect("frame header");
    assert_eq!(header[0], 0x81, "a final text frame");
    let len = match header[1] {
        126 => {
            let mut l = [0u8; 2];
            s.read_exact(&mut l).await.expect("length");
            header.extend_from_slice(&l);
            u16::from_be_bytes(l) as usize
        }
        n if n < 126 => n as usize,
        n => panic!("unexpected length byte {n}"),
    };
    let mut payload = vec![0u8; len];
    tokio::time::timeout(LIMIT, s.read_exact(&mut payload)).await.expect("in time").expect("payload");
    (header, payload)
}
