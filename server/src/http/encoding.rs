//! Response compression: which coding a request gets, one-shot compression of shared bodies,
//! and the per-connection streaming compressor of SSE.
//!
//! Shared bodies (a snapshot, an event page) are compressed once per coding and version
//! ([`crate::feed::encoded`]); this module only knows how. The SSE compressor keeps its
//! window for the whole stream (that is where the saving is) and flushes after every frame,
//! so no event waits inside it: [`StreamEncoder::frame`] returns bytes a client can decode
//! on their own. The windows are kept small (64 KiB) to bound each stream's memory.

use std::io::{self, Write};

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};

use crate::http::headers;
pub use proto::encoding::Coding;

/// gzip's level for every body (flate2's default, zlib's 6).
const GZIP_LEVEL: u32 = 6;
/// Brotli's quality: 5 is what servers use for dynamic bodies (11 is for static files).
const BR_QUALITY: u32 = 5;
/// zstd's level for dynamic bodies (its default).
const ZSTD_LEVEL: i32 = 3;
/// log2 of each streaming compressor's window: 64 KiB holds hundreds of events, and keeps a
/// stream's memory bounded (brotli and zstd would otherwise take megabytes per stream).
const STREAM_WINDOW_LOG: u32 = 16;
/// log2 of a zstd stream's hash and chain tables: level 3's own (17 and 16) cost about
/// 850 KiB per SSE stream, measured (BENCHMARKS.md); 14 keeps the tables at 128 KiB.
const STREAM_ZSTD_TABLE_LOG: u32 = 14;

/// The coding for a request, from its `Accept-Encoding` lines.
pub fn chosen(h: &HeaderMap) -> Coding {
    proto::encoding::negotiate(
        headers::tokens(h, header::ACCEPT_ENCODING).collect::<Vec<_>>().iter().copied(),
    )
}

/// Marks a response as negotiated: `Vary: Accept-Encoding` always (an identity answer varies
/// too), `Content-Encoding` when compressed.
pub fn mark(h: &mut HeaderMap, coding: Coding) {
    h.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    if !coding.is_identity() {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding.token()));
    }
}

/// `body` compressed with `coding` in one go (identity is a copy-free pass-through).
pub fn compress(coding: Coding, body: &Bytes) -> Bytes {
    let out = match coding {
        Coding::Identity => return body.clone(),
        Coding::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(GZIP_LEVEL));
            e.write_all(body).and_then(|_| e.finish())
        }
        Coding::Br => {
            let mut out = Vec::new();
            let params =
                brotli::enc::BrotliEncoderParams { quality: BR_QUALITY as i32, ..Default::default() };
            brotli::BrotliCompress(&mut &body[..], &mut out, &params).map(|_| out)
        }
        Coding::Zstd => zstd::stream::encode_all(&body[..], ZSTD_LEVEL),
    };
    // Compressing into memory has no I/O to fail.
    Bytes::from(out.expect("compressing into a Vec cannot fail"))
}

/// One SSE stream's compressor; see the module doc.
pub enum StreamEncoder {
    Gzip(flate2::write::GzEncoder<Vec<u8>>),
    Br(Box<brotli::CompressorWriter<Vec<u8>>>),
    Zstd(zstd::stream::write::Encoder<'static, Vec<u8>>),
}

impl StreamEncoder {
    /// A compressor for `coding`; `None` for identity.
    pub fn new(coding: Coding) -> io::Result<Option<StreamEncoder>> {
        Ok(Some(match coding {
            Coding::Identity => return Ok(None),
            Coding::Gzip => StreamEncoder::Gzip(flate2::write::GzEncoder::new(
                Vec::new(),
                flate2::Compression::new(GZIP_LEVEL),
            )),
            Coding::Br => StreamEncoder::Br(Box::new(brotli::CompressorWriter::new(
                Vec::new(),
                4096,
                BR_QUALITY,
                STREAM_WINDOW_LOG,
            ))),
            Coding::Zstd => {
                let mut e = zstd::stream::write::Encoder::new(Vec::new(), ZSTD_LEVEL)?;
                e.window_log(STREAM_WINDOW_LOG)?;
                e.set_parameter(zstd::stream::raw::CParameter::HashLog(STREAM_ZSTD_TABLE_LOG))?;
                e.set_parameter(zstd::stream::raw::CParameter::ChainLog(STREAM_ZSTD_TABLE_LOG))?;
                StreamEncoder::Zstd(e)
            }
        }))
    }

    /// `frame` through the compressor, flushed: everything a client needs to decode it.
    pub fn frame(&mut self, frame: &[u8]) -> io::Result<Bytes> {
        fn through<W: Write>(w: &mut W, frame: &[u8]) -> io::Result<()> {
            w.write_all(frame)?;
            w.flush()
        }
        let out = match self {
            StreamEncoder::Gzip(e) => {
                through(e, frame)?;
                e.get_mut()
            }
            StreamEncoder::Br(e) => {
                through(e.as_mut(), frame)?;
                e.get_mut()
            }
            StreamEncoder::Zstd(e) => {
                through(e, frame)?;
                e.get_mut()
            }
        };
        Ok(Bytes::from(std::mem::take(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// Decodes `data` with `coding` (test side only; the load generator has its own).
    fn decode(coding: Coding, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        match coding {
            Coding::Identity => out.extend_from_slice(data),
            Coding::Gzip => {
                flate2::read::GzDecoder::new(data).read_to_end(&mut out).expect("gzip");
            }
            Coding::Br => {
                brotli::Decompressor::new(data, 4096).read_to_end(&mut out).expect("br");
            }
            Coding::Zstd => out = zstd::stream::decode_all(data).expect("zstd"),
        }
        out
    }

    #[test]
    fn one_shot_bodies_round_trip_and_shrink() {
        let body = Bytes::from(
            r#"{"type":"snapshot","matches":[{"id":0,"home":"A","away":"B"}],"pad":""}"#.repeat(20),
        );
        for c in Coding::ALL {
            let z = compress(c, &body);
            assert_eq!(decode(c, &z), body, "{c}");
            if !c.is_identity() {
                assert!(z.len() < body.len() / 4, "{c}: {} of {}", z.len(), body.len());
            }
        }
    }

    #[test]
    fn each_streamed_frame_decodes_before_the_next_is_written() {
        for c in [Coding::Gzip, Coding::Br, Coding::Zstd] {
            let mut enc = StreamEncoder::new(c).expect("encoder").expect("compressed");
            let mut wire = Vec::new();
            let mut want = Vec::new();
            for i in 0..5 {
                let f = format!("id: {i}\nevent: event\ndata: {{\"seq\":{i},\"team\":\"home\"}}\n\n");
                wire.extend_from_slice(&enc.frame(f.as_bytes()).expect("frame"));
                want.extend_from_slice(f.as_bytes());
                // A streaming decoder over what has been sent so far yields every frame.
                assert_eq!(partial_decode(c, &wire), want, "{c} after frame {i}");
            }
        }
    }

    /// What a streaming decoder yields from an unfinished stream.
    fn partial_decode(c: Coding, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        let mut r: Box<dyn Read + '_> = match c {
            Coding::Gzip => Box::new(flate2::read::GzDecoder::new(data)),
            Coding::Br => Box::new(brotli::Decompressor::new(data, 4096)),
            Coding::Zstd => Box::new(zstd::stream::read::Decoder::new(data).expect("zstd")),
            Coding::Identity => Box::new(data),
        };
        loop {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
        out
    }
}
