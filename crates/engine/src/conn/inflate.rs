//! The content coding of an SSE response body: gzip is decoded here, counting the bytes
//! that came over the wire and the bytes they became, so that a stream inflating past
//! [`MAX_RATIO`] (a gzip bomb: megabytes on the wire, gigabytes of events) is refused.
//!
//! reqwest would decode gzip by itself, but it hides the wire bytes, so the SSE client turns
//! that off and comes here. The event-stream parsing of the decoded bytes is `sse`'s;
//! decoding itself is flate2's.

use std::io::Write as _;

use bytes::Bytes;
use flate2::write::GzDecoder;

/// The most a stream may inflate, decoded bytes to wire bytes, once past
/// [`RATIO_GRACE`]. Text event streams compress 5–20:1; 100:1 leaves room for very
/// repetitive feeds while a bomb (deflate reaches about 1000:1) is stopped within a few
/// MiB of output.
pub const MAX_RATIO: u64 = 100;

/// Decoded bytes before the ratio is checked: a gzip header and a short, repetitive
/// start would otherwise look like a bomb.
pub const RATIO_GRACE: u64 = 1 << 20;

/// Wire bytes decoded per step. Deflate inflates at most about 1032:1, so one step's
/// output stays near 1 MiB, however the peer chunks its bytes.
const STEP: usize = 1024;

/// Why a body cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InflateError {
    #[error(
        "the gzip-encoded stream inflates {ratio}:1 ({decoded} bytes from {wire} on the wire), over the bound of {MAX_RATIO}:1"
    )]
    Ratio { ratio: u64, decoded: u64, wire: u64 },
    #[error("the gzip-encoded stream is corrupt: {0}")]
    Corrupt(String),
}

/// Decodes one response body, chunk by chunk, as it arrives.
pub(crate) enum Inflate {
    /// No content coding we decode: bytes pass as they came.
    Identity {
        pending: Option<Bytes>,
    },
    Gzip(Box<Gunzip>),
}

pub(crate) struct Gunzip {
    decoder: GzDecoder<Vec<u8>>,
    pending: Bytes,
    wire: u64,
    decoded: u64,
    /// Wire bytes decoded since [`Inflate::take_wire`] last asked.
    untaken: u64,
}

impl Inflate {
    /// The decoder for a response's `Content-Encoding` (absent: none). Only gzip is
    /// decoded, the one coding the client asks for; any other passes through as it came.
    pub(crate) fn for_encoding(content_encoding: Option<&str>) -> Inflate {
        let gzip = content_encoding.is_some_and(|c| {
            let c = c.trim();
            c.eq_ignore_ascii_case("gzip") || c.eq_ignore_ascii_case("x-gzip")
        });
        if gzip {
            Inflate::Gzip(Box::new(Gunzip {
                decoder: GzDecoder::new(Vec::new()),
                pending: Bytes::new(),
                wire: 0,
                decoded: 0,
                untaken: 0,
            }))
        } else {
            Inflate::Identity { pending: None }
        }
    }

    /// Takes the next chunk from the wire; [`Inflate::pull`] then gives what it decodes to.
    pub(crate) fn push(&mut self, wire: Bytes) {
        match self {
            Inflate::Identity { pending } => *pending = Some(wire),
            Inflate::Gzip(g) => g.pending = wire,
        }
    }

    /// The wire bytes that went into the pieces pulled since the last call: `Some` for a
    /// coded body (what a piece cost before decoding), `None` for bytes that pass as they
    /// came.
    pub(crate) fn take_wire(&mut self) -> Option<u64> {
        match self {
            Inflate::Identity { .. } => None,
            Inflate::Gzip(g) => Some(std::mem::take(&mut g.untaken)),
        }
    }

    /// The next decoded piece of the pushed chunk (never empty), `None` once it is used up.
    pub(crate) fn pull(&mut self) -> Result<Option<Bytes>, InflateError> {
        match self {
            Inflate::Identity { pending } => Ok(pending.take().filter(|b| !b.is_empty())),
            Inflate::Gzip(g) => g.pull(),
        }
    }
}

impl Gunzip {
    fn pull(&mut self) -> Result<Option<Bytes>, InflateError> {
        while !self.pending.is_empty() {
            let step = self.pending.split_to(STEP.min(self.pending.len()));
            self.wire += step.len() as u64;
            self.untaken += step.len() as u64;
            // The flush hands on everything decoded so far: a stream that sync-flushes
            // each event shows it at once, not when the next one comes.
            self.decoder
                .write_all(&step)
                .and_then(|()| self.decoder.flush())
                .map_err(|e| InflateError::Corrupt(e.to_string()))?;
            let out = std::mem::take(self.decoder.get_mut());
            if out.is_empty() {
                continue;
            }
            self.decoded += out.len() as u64;
            if self.decoded > RATIO_GRACE && self.decoded > MAX_RATIO.saturating_mul(self.wire) {
                return Err(InflateError::Ratio {
                    ratio: self.decoded / self.wire.max(1),
                    decoded: self.decoded,
                    wire: self.wire,
                });
            }
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

    #[test]
    fn identity_passes_bytes_as_they_came() {
        let mut inf = Inflate::for_encoding(None);
        assert_eq!(
            inflate_all(&mut inf, b"data: a\n\n", 4).expect("ok"),
            b"data: a\n\n"
        );
        let mut br = Inflate::for_encoding(Some("br"));
        assert_eq!(inflate_all(&mut br, b"xyz", 2).expect("ok"), b"xyz");
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
        assert!(matches!(err, Err(InflateError::Corrupt(_))), "{err:?}");
    }
}
