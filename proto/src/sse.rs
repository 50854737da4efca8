//! The Server-Sent Events codec: the frame the server writes and the incremental parser the
//! clients read with, in one place so that the two sides cannot disagree.
//!
//! The parser follows the WHATWG event-stream rules: lines end in CRLF, LF or CR (a CR at the
//! end of one chunk and an LF at the start of the next are one line end), `data:` lines of one
//! event are joined with LF, comments (`:`) are skipped, and an event without data is not
//! dispatched.

use bytes::Bytes;

/// One SSE frame: optional `id:`, the event name and a single-line `data:` field.
pub fn frame(id: Option<u64>, event: &str, json: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(json.len() + 48);
    if let Some(id) = id {
        out.extend_from_slice(format!("id: {id}\n").as_bytes());
    }
    out.extend_from_slice(format!("event: {event}\ndata: ").as_bytes());
    out.extend_from_slice(json);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// The last `id:` seen on the stream so far (the spec's "last event ID").
    pub id: Option<String>,
    /// The `event:` field, if the event had one.
    pub event: Option<String>,
    /// The `data:` lines, joined with LF.
    pub data: Vec<u8>,
}

/// An incremental parser: feed it bytes as they arrive, get whole events back.
#[derive(Debug, Default)]
pub struct Decoder {
    /// The current, unfinished line.
    line: Vec<u8>,
    /// The event being built.
    data: Vec<u8>,
    has_data: bool,
    event: Option<String>,
    last_id: Option<String>,
    /// The previous chunk ended in CR: an LF starting this one ends no further line.
    after_cr: bool,
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Bytes held for an event not yet complete (bound this against a hostile stream).
    pub fn buffered(&self) -> usize {
        self.line.len() + self.data.len()
    }

    /// The last event ID the stream has set.
    pub fn last_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    /// Parses `chunk`, handing each complete event to `on` in order; stops at the first
    /// error `on` returns (the events before it have been handed over).
    pub fn feed<E>(
        &mut self,
        mut chunk: &[u8],
        mut on: impl FnMut(Message) -> Result<(), E>,
    ) -> Result<(), E> {
        if self.after_cr {
            self.after_cr = false;
            if let Some(rest) = chunk.strip_prefix(b"\n") {
                chunk = rest;
            }
        }
        while let Some(end) = chunk.iter().position(|b| *b == b'\n' || *b == b'\r') {
            self.line.extend_from_slice(&chunk[..end]);
            let cr = chunk[end] == b'\r';
            chunk = &chunk[end + 1..];
            if cr {
                match chunk.first() {
                    Some(b'\n') => chunk = &chunk[1..],
                    None => self.after_cr = true,
                    Some(_) => {}
                }
            }
            let line = std::mem::take(&mut self.line);
            if let Some(msg) = self.line_ended(&line) {
                on(msg)?;
            }
        }
        self.line.extend_from_slice(chunk);
        Ok(())
    }

    /// Handles one whole line; returns an event when the line was the blank one ending it.
    fn line_ended(&mut self, line: &[u8]) -> Option<Message> {
        if line.is_empty() {
            let event = self.event.take();
            if !std::mem::take(&mut self.has_data) {
                return None;
            }
            let mut data = std::mem::take(&mut self.data);
            data.pop(); // the LF after the last data line
            return Some(Message { id: self.last_id.clone(), event, data });
        }
        if line[0] == b':' {
            return None;
        }
        let (field, value) = match line.iter().position(|b| *b == b':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &[][..]),
        };
        match field {
            b"data" => {
                self.data.extend_from_slice(value);
                self.data.push(b'\n');
                self.has_data = true;
            }
            b"event" => self.event = Some(String::from_utf8_lossy(value).into_owned()),
            b"id" if !value.contains(&0) => self.last_id = Some(String::from_utf8_lossy(value).into_owned()),
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(chunks: &[&[u8]]) -> Vec<Message> {
        let mut d = Decoder::new();
        let mut out = Vec::new();
        for c in chunks {
            d.feed(c, |m| {
                out.push(m);
                Ok::<(), ()>(())
            })
            .expect("no error");
        }
        out
    }

    #[test]
    fn frames_parse_back() {
        let f = frame(Some(7), "event", br#"{"a":1}"#);
        assert_eq!(&f[..], b"id: 7\nevent: event\ndata: {\"a\":1}\n\n");
        let got = all(&[&f]);
        assert_eq!(
            got,
            vec![Message { id: Some("7".into()), event: Some("event".into()), data: br#"{"a":1}"#.to_vec() }]
        );
    }

    #[test]
    fn every_line_end_the_spec_allows() {
        for sep in [&b"\n"[..], b"\r\n", b"\r"] {
            let text = [&b"id: 1"[..], sep, b"data: x", sep, sep, b"data: y", sep, sep].concat();
            let got = all(&[&text]);
            assert_eq!(got.len(), 2, "line end {sep:?}");
            assert_eq!(got[0].data, b"x");
            assert_eq!(got[1].data, b"y");
            assert_eq!(got[1].id.as_deref(), Some("1"), "the last event ID carries over");
        }
    }

    #[test]
    fn split_anywhere_even_between_cr_and_lf() {
        let text = b"data: one\r\n\r\ndata: two\r\n\r\n";
        for cut in 0..text.len() {
            let got = all(&[&text[..cut], &text[cut..]]);
            let data: Vec<&[u8]> = got.iter().map(|m| &m.data[..]).collect();
            assert_eq!(data, vec![&b"one"[..], b"two"], "cut at {cut}");
        }
    }

    #[test]
    fn comments_multi_line_data_and_empty_events() {
        let got = all(&[b": keepalive\n\nevent: x\n\ndata: a\ndata:b\n\n"]);
        assert_eq!(got.len(), 1, "a comment or an event without data dispatches nothing");
        assert_eq!(got[0].data, b"a\nb");
        assert_eq!(got[0].event, None, "the event name does not carry over to the next event");
    }

    #[test]
    fn an_error_stops_after_the_events_before_it() {
        let mut d = Decoder::new();
        let mut seen = 0;
        let r = d.feed(b"data: 1\n\ndata: 2\n\ndata: 3\n\n", |m| {
            seen += 1;
            if m.data == b"2" {
                Err("bad")
            } else {
                Ok(())
            }
        });
        assert_eq!(r, Err("bad"));
        assert_eq!(seen, 2);
    }
}
