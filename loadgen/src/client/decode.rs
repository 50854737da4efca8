//! Decoding what a compressed answer carries: whole bodies (polls) and streams (SSE).
//!
//! The clients offer what a browser offers ([`proto::encoding::BROWSER_ACCEPT_ENCODING`])
//! when the step's variant has compression on, so any of gzip, br and zstd may come back.
//! A stream decoder is push-based: each chunk that arrives yields everything it completes,
//! which is how a compressed SSE stream is checked to deliver each event on its own.

use std::io::Write;

use bytes::Bytes;
use http::header::{HeaderMap, CONTENT_ENCODING};

use crate::failure::Failure;
use proto::encoding::Coding;

/// The coding an answer says it has (`identity` when it says none).
pub fn coding(h: &HeaderMap) -> Result<Coding, Failure> {
    match h.get(CONTENT_ENCODING).map(|v| v.to_str().map(Coding::from_token)) {
        None => Ok(Coding::Identity),
        Some(Ok(Some(c))) => Ok(c),
        Some(_) => {
            Err(Failure::protocol(format!("an unknown Content-Encoding: {:?}", h.get(CONTENT_ENCODING))))
        }
    }
}

/// A whole body, decoded.
pub fn body(h: &HeaderMap, body: Bytes) -> Result<Bytes, Failure> {
    match Decoder::new(coding(h)?) {
        None => Ok(body),
        Some(mut d) => {
            let mut out = d.chunk(&body)?;
            out.extend_from_slice(&d.finish()?);
            Ok(Bytes::from(out))
        }
    }
}

/// A streaming decoder for one coding.
pub enum Decoder {
    Gzip(Box<flate2::write::GzDecoder<Vec<u8>>>),
    Br(Box<brotli::DecompressorWriter<Vec<u8>>>),
    Zstd(zstd::stream::write::Decoder<'static, Vec<u8>>),
}

impl Decoder {
    /// `None` for identity (nothing to decode).
    pub fn new(c: Coding) -> Option<Decoder> {
        Some(match c {
            Coding::Identity => return None,
            Coding::Gzip => Decoder::Gzip(Box::new(flate2::write::GzDecoder::new(Vec::new()))),
            Coding::Br => Decoder::Br(Box::new(brotli::DecompressorWriter::new(Vec::new(), 4096))),
            Coding::Zstd => Decoder::Zstd(zstd::stream::write::Decoder::new(Vec::new()).ok()?),
        })
    }

    /// Everything `data` completes.
    pub fn chunk(&mut self, data: &[u8]) -> Result<Vec<u8>, Failure> {
        fn through<W: Write>(w: &mut W, data: &[u8]) -> std::io::Result<()> {
            w.write_all(data)?;
            w.flush()
        }
        let r = match self {
            Decoder::Gzip(d) => through(d.as_mut(), data).map(|_| d.get_mut()),
            Decoder::Br(d) => through(d.as_mut(), data).map(|_| d.get_mut()),
            Decoder::Zstd(d) => through(d, data).map(|_| d.get_mut()),
        };
        r.map(std::mem::take)
            .map_err(|e| Failure::protocol(format!("the compressed body does not decode: {e}")))
    }

    /// The end of a whole body: whatever the decoder still held.
    fn finish(self) -> Result<Vec<u8>, Failure> {
        let r = match self {
            Decoder::Gzip(d) => d.finish(),
            Decoder::Br(d) => d.into_inner().map_err(|_| std::io::Error::other("truncated brotli stream")),
            Decoder::Zstd(mut d) => d.flush().map(|_| d.into_inner()),
        };
        r.map_err(|e| Failure::protocol(format!("the compressed body ends early: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_coding_decodes_chunk_by_chunk() {
        let text = b"id: 1\nevent: event\ndata: {\"seq\":1}\n\n".repeat(3);
        let gz = {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(&text).expect("write");
            e.finish().expect("finish")
        };
        let zs = zstd::stream::encode_all(&text[..], 3).expect("zstd");
        let mut br = Vec::new();
        brotli::BrotliCompress(&mut &text[..], &mut br, &Default::default()).expect("br");
        for (c, z) in [(Coding::Gzip, gz), (Coding::Zstd, zs), (Coding::Br, br)] {
            let mut d = Decoder::new(c).expect("a decoder");
            let mut out = Vec::new();
            for piece in z.chunks(7) {
                out.extend(d.chunk(piece).expect("decodes"));
            }
            assert_eq!(out, text, "{c}");
            let mut h = HeaderMap::new();
            h.insert(CONTENT_ENCODING, c.token().parse().expect("value"));
            assert_eq!(body(&h, Bytes::from(z)).expect("whole"), text.to_vec());
        }
        let mut h = HeaderMap::new();
        h.insert(CONTENT_ENCODING, "compress".parse().expect("value"));
        assert!(body(&h, Bytes::new()).is_err());
    }
}
