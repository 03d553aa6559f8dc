//! The content coding of an SSE response body: gzip and brotli are decoded here, counting
//! the bytes that came over the wire and the bytes they became, so that a stream inflating
//! past [`MAX_RATIO`] (a bomb: megabytes on the wire, gigabytes of events) is refused.
//!
//! The SSE client reads HTTP/1.1 itself (`http1`) and decodes the content coding here, to
//! count the bytes on the wire and bound how far they inflate. The event-stream parsing of the decoded bytes is `sse`'s;
//! decoding itself is flate2's (gzip) and brotli-decompressor's (br).

use brotli_decompressor::DecompressorWriter;
use bytes::Bytes;
use flate2::write::GzDecoder;

/// The most a stream may inflate, decoded bytes to wire bytes, once past
/// [`RATIO_GRACE`]. Text event streams compress 5–20:1; 100:1 leaves room for very
/// repetitive feeds while a bomb (deflate reaches about 1000:1, brotli more) is stopped
/// within a few MiB of output.
pub const MAX_RATIO: u64 = 100;

/// Decoded bytes before the ratio is checked: a gzip header and a short, repetitive
/// start would otherwise look like a bomb.
pub const RATIO_GRACE: u64 = 1 << 20;

/// Wire bytes decoded per step. Deflate inflates at most about 1032:1, so one step's
/// output stays near 1 MiB, however the peer chunks its bytes. Brotli can inflate further
/// in a step, which the ratio check then stops at the end of that step.
const STEP: usize = 1024;

/// The brotli decoder's output buffer.
const BROTLI_BUFFER: usize = 4096;

/// Why a body cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InflateError {
    #[error(
        "the {coding}-encoded stream inflates more than {ratio}:1 (past {decoded} bytes from {wire} on the wire), over the bound of {MAX_RATIO}:1"
    )]
    Ratio {
        coding: &'static str,
        ratio: u64,
        decoded: u64,
        wire: u64,
    },
    #[error("the {coding}-encoded stream is corrupt: {what}")]
    Corrupt { coding: &'static str, what: String },
}

/// Decodes one response body, chunk by chunk, as it arrives.
pub(crate) enum Inflate {
    /// No content coding we decode: bytes pass as they came.
    Identity {
        pending: Option<Bytes>,
    },
    Coded(Box<Decoding>),
}

/// Where a decoder writes: a buffer each step empties, refusing to grow past the room
/// the ratio bound leaves, so that no step, however explosive, holds more than that.
#[derive(Default)]
struct Capped {
    out: Vec<u8>,
    room: u64,
    over: bool,
}

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if (self.out.len() + buf.len()) as u64 > self.room {
            self.over = true;
            return Err(std::io::Error::other("decoded past the ratio bound"));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A content decoder writing into a buffer that each step empties.
enum Decoder {
    Gzip(Box<GzDecoder<Capped>>),
    Brotli(Box<DecompressorWriter<Capped>>),
}

impl Decoder {
    fn name(&self) -> &'static str {
        match self {
            Decoder::Gzip(_) => "gzip",
            Decoder::Brotli(_) => "br",
        }
    }

    /// Decodes `step` into at most `room` bytes and hands on everything decoded so far: a
    /// stream that flushes each event shows it at once, not when the next one comes.
    /// `Err(None)`: the step would decode past `room`.
    fn decode(&mut self, step: &[u8], room: u64) -> Result<Vec<u8>, Option<std::io::Error>> {
        fn run<W: std::io::Write>(
            d: &mut W,
            out: fn(&mut W) -> &mut Capped,
            step: &[u8],
            room: u64,
        ) -> Result<Vec<u8>, Option<std::io::Error>> {
            out(d).room = room;
            let done = d.write_all(step).and_then(|()| d.flush());
            let capped = out(d);
            if capped.over {
                return Err(None);
            }
            done.map_err(Some)?;
            Ok(std::mem::take(&mut capped.out))
        }
        match self {
            Decoder::Gzip(d) => run(&mut **d, GzDecoder::get_mut, step, room),
            Decoder::Brotli(d) => run(&mut **d, DecompressorWriter::get_mut, step, room),
        }
    }
}

pub(crate) struct Decoding {
    decoder: Decoder,
    pending: Bytes,
    wire: u64,
    decoded: u64,
    /// Wire bytes decoded since [`Inflate::take_wire`] last asked.
    untaken: u64,
}

/// The `Accept-Encoding` the SSE client sends: the codings [`Inflate`] decodes.
pub(crate) const ACCEPT_ENCODING: &str = "gzip, br";

impl Inflate {
    /// The decoder for a response's `Content-Encoding` (absent: none). gzip and br are
    /// decoded, the codings the client asks for; any other passes through as it came.
    pub(crate) fn for_encoding(content_encoding: Option<&str>) -> Inflate {
        let coding = content_encoding.map(str::trim).unwrap_or("");
        let decoder =
            if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                Decoder::Gzip(Box::new(GzDecoder::new(Capped::default())))
            } else if coding.eq_ignore_ascii_case("br") {
                Decoder::Brotli(Box::new(DecompressorWriter::new(
                    Capped::default(),
                    BROTLI_BUFFER,
                )))
            } else {
                return Inflate::Identity { pending: None };
            };
        Inflate::Coded(Box::new(Decoding {
            decoder,
            pending: Bytes::new(),
            wire: 0,
            decoded: 0,
            untaken: 0,
        }))
    }

    /// Takes the next chunk from the wire; [`Inflate::pull`] then gives what it decodes to.
    pub(crate) fn push(&mut self, wire: Bytes) {
        match self {
            Inflate::Identity { pending } => *pending = Some(wire),
            Inflate::Coded(d) => d.pending = wire,
        }
    }

    /// The wire bytes that went into the pieces pulled since the last call: `Some` for a
    /// coded body (what a piece cost before decoding), `None` for bytes that pass as they
    /// came.
    pub(crate) fn take_wire(&mut self) -> Option<u64> {
        match self {
            Inflate::Identity { .. } => None,
            Inflate::Coded(d) => Some(std::mem::take(&mut d.untaken)),
        }
    }

    /// The next decoded piece of the pushed chunk (never empty), `None` once it is used up.
    pub(crate) fn pull(&mut self) -> Result<Option<Bytes>, InflateError> {
        match self {
            Inflate::Identity { pending } => Ok(pending.take().filter(|b| !b.is_empty())),
            Inflate::Coded(d) => d.pull(),
        }
    }
}

impl Decoding {
    fn pull(&mut self) -> Result<Option<Bytes>, InflateError> {
        let coding = self.decoder.name();
        while !self.pending.is_empty() {
            let step = self.pending.split_to(STEP.min(self.pending.len()));
            self.wire += step.len() as u64;
            self.untaken += step.len() as u64;
            // Past the grace, a stream may hold MAX_RATIO decoded bytes per wire byte.
            let allowed = RATIO_GRACE.max(MAX_RATIO.saturating_mul(self.wire));
            let room = allowed.saturating_sub(self.decoded);
            let out = match self.decoder.decode(&step, room) {
                Ok(out) => out,
                Err(None) => {
                    return Err(InflateError::Ratio {
                        coding,
                        ratio: allowed / self.wire.max(1),
                        decoded: allowed,
                        wire: self.wire,
                    });
                }
                Err(Some(e)) => {
                    return Err(InflateError::Corrupt {
                        coding,
                        what: e.to_string(),
                    });
                }
            };
            if out.is_empty() {
                continue;
            }
            self.decoded += out.len() as u64;
            return Ok(Some(Bytes::from(out)));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write as _;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(data).expect("compress");
        gz.finish().expect("finish")
    }

    fn inflate_all(inf: &mut Inflate, wire: &[u8], chunk: usize) -> Result<Vec<u8>, InflateError> {
        let mut out = Vec::new();
        for c in wire.chunks(chunk) {
            inf.push(Bytes::copy_from_slice(c));
            while let Some(piece) = inf.pull()? {
                assert!(!piece.is_empty());
                out.extend_from_slice(&piece);
            }
        }
        Ok(out)
    }

    #[test]
    fn gzip_decodes_whatever_the_chunking() {
        let text: Vec<u8> = (0..20_000)
            .flat_map(|i| format!("data: {i}\n\n").into_bytes())
            .collect();
        let wire = gzip(&text);
        for chunk in [1, 7, 1024, 5000, wire.len()] {
            let mut inf = Inflate::for_encoding(Some("gzip"));
            assert_eq!(inflate_all(&mut inf, &wire, chunk).expect("decodes"), text);
        }
    }

    #[test]
    fn each_piece_tells_the_wire_bytes_it_came_from() {
        let wire = gzip(&b"data: x\n\n".repeat(5000));
        let mut inf = Inflate::for_encoding(Some("gzip"));
        let mut taken = 0;
        for c in wire.chunks(300) {
            inf.push(Bytes::copy_from_slice(c));
            while inf.pull().expect("decodes").is_some() {
                taken += inf.take_wire().expect("gzip is coded");
            }
        }
        taken += inf.take_wire().expect("gzip is coded");
        assert_eq!(taken, wire.len() as u64, "every wire byte is told once");
        let mut plain = Inflate::for_encoding(None);
        plain.push(Bytes::from_static(b"data: a\n\n"));
        assert!(plain.pull().expect("ok").is_some());
        assert_eq!(plain.take_wire(), None);
    }

    /// `data: 0\n\n` … `data: 19999\n\n`, brotli-encoded (Python's `brotli.compress`).
    const EVENTS_BR: &[u8] = include_bytes!("testdata/events.br");
    /// 64 MiB of zeros in 106 bytes of brotli.
    const BOMB_BR: &[u8] = include_bytes!("testdata/bomb.br");

    #[test]
    fn brotli_decodes_whatever_the_chunking() {
        let text: Vec<u8> = (0..20_000)
            .flat_map(|i| format!("data: {i}\n\n").into_bytes())
            .collect();
        for chunk in [1, 7, 1024, 5000, EVENTS_BR.len()] {
            let mut inf = Inflate::for_encoding(Some(" BR "));
            assert_eq!(
                inflate_all(&mut inf, EVENTS_BR, chunk).expect("decodes"),
                text
            );
        }
    }

    #[test]
    fn a_brotli_bomb_is_refused_holding_no_more_than_the_bound() {
        let mut inf = Inflate::for_encoding(Some("br"));
        inf.push(Bytes::from_static(BOMB_BR));
        let mut decoded = 0;
        let err = loop {
            match inf.pull() {
                Ok(Some(p)) => decoded += p.len() as u64,
                Ok(None) => panic!("the whole bomb decoded: {decoded} bytes"),
                Err(e) => break e,
            }
        };
        assert!(
            matches!(err, InflateError::Ratio { coding: "br", .. }),
            "{err}"
        );
        // 106 wire bytes allow the grace only: 1 MiB, never the 64 MiB.
        assert!(decoded <= RATIO_GRACE, "{decoded} bytes handed on");
    }

    #[test]
    fn identity_passes_bytes_as_they_came() {
        let mut inf = Inflate::for_encoding(None);
        assert_eq!(
            inflate_all(&mut inf, b"data: a\n\n", 4).expect("ok"),
            b"data: a\n\n"
        );
        let mut zstd = Inflate::for_encoding(Some("zstd"));
        assert_eq!(inflate_all(&mut zstd, b"xyz", 2).expect("ok"), b"xyz");
    }

    #[test]
    fn a_gzip_bomb_is_refused_after_a_few_mib() {
        let wire = gzip(&vec![0u8; 10 << 20]);
        let mut inf = Inflate::for_encoding(Some("GZIP"));
        let mut decoded = 0;
        inf.push(Bytes::copy_from_slice(&wire));
        let err = loop {
            match inf.pull() {
                Ok(Some(p)) => decoded += p.len(),
                Ok(None) => panic!("the whole bomb decoded: {decoded} bytes"),
                Err(e) => break e,
            }
        };
        let InflateError::Ratio {
            ratio, decoded: d, ..
        } = err
        else {
            panic!("{err}");
        };
        assert!(ratio > MAX_RATIO, "{ratio}");
        assert!(d < 4 << 20, "stopped after {d} bytes");
    }

    #[test]
    fn corrupt_gzip_is_an_error() {
        let mut inf = Inflate::for_encoding(Some("gzip"));
        let err = inflate_all(&mut inf, b"\x1f\x8b\x08\x00 not deflate at all, no", 64);
        assert!(
            matches!(err, Err(InflateError::Corrupt { coding: "gzip", .. })),
            "{err:?}"
        );
    }
}
