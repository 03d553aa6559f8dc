//! permessage-deflate (RFC 7692): the offer we make, reading the server's answer to it,
//! and compressing and inflating messages with the parameters agreed.
//!
//! It owns the extension's parameters and raw DEFLATE through flate2 (its zlib-rs
//! backend, which can write a window smaller than 32 KiB when the server asks), and it
//! bounds inflating: a message never grows past the message limit, however well it
//! compresses. Which frames carry RSV1 and where a message ends is [`super::ws_wire`]'s;
//! the handshake's bytes are [`super::handshake`]'s.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// What we offer, as browsers do: permessage-deflate, and the server may pick our
/// window size (`client_max_window_bits` without a value, RFC 7692 §7.1.2.2).
pub(crate) const OFFER: &str = "permessage-deflate; client_max_window_bits";

/// RFC 7692 §7.2.1: a message's compressed bytes end with this empty stored block,
/// which the sender removes and the receiver puts back.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// First room given to an inflating message: this many times its first compressed
/// bytes, at least [`INFLATE_MIN`]; it then doubles, up to the limit. Text compresses
/// 3–10:1, so most messages fit the first guess, and a small message never holds a big
/// buffer (a record keeps its payload's allocation while it waits in the channel).
const INFLATE_GUESS: usize = 4;
const INFLATE_MIN: usize = 256;

/// The parameters the server agreed to (RFC 7692 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Params {
    /// The server starts each message with an empty window.
    pub server_no_context_takeover: bool,
    /// We must start each message with an empty window.
    pub client_no_context_takeover: bool,
    /// The server's window is at most 2^n bytes.
    pub server_max_window_bits: Option<u8>,
    /// Ours must be at most 2^n bytes.
    pub client_max_window_bits: Option<u8>,
}

/// Reads the server's `Sec-WebSocket-Extensions` answer to [`OFFER`]. Anything we did
/// not offer, or a parameter RFC 7692 does not allow in an answer, is an error that
/// names it: the handshake then fails (RFC 6455 §4.1, RFC 7692 §7.1).
pub fn accept(header: &str) -> Result<Params, String> {
    let elements: Vec<&str> = header
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let [element] = elements.as_slice() else {
        return Err(format!(
            "enabled extensions {header:?}; only one, permessage-deflate, was offered"
        ));
    };
    let mut parts = element.split(';').map(str::trim);
    let name = parts.next().unwrap_or_default();
    if name != "permessage-deflate" {
        return Err(format!(
            "enabled extension {header:?}, which was not requested"
        ));
    }
    let mut p = Params::default();
    let mut seen: Vec<&str> = Vec::new();
    for part in parts {
        let (key, value) = match part.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim().trim_matches('"'))),
            None => (part, None),
        };
        if seen.contains(&key) {
            return Err(format!(
                "answered permessage-deflate with {key} twice ({header:?})"
            ));
        }
        seen.push(key);
        let bits = |v: Option<&str>| -> Result<u8, String> {
            v.filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<u8>().ok())
                .filter(|b| (8..=15).contains(b))
                .ok_or_else(|| {
                    format!("answered permessage-deflate with {key} outside 8–15 ({header:?})")
                })
        };
        match (key, value) {
            ("server_no_context_takeover", None) => p.server_no_context_takeover = true,
            ("client_no_context_takeover", None) => p.client_no_context_takeover = true,
            ("server_max_window_bits", v) => p.server_max_window_bits = Some(bits(v)?),
            // We offered it without a value; the answer must carry one (§7.1.2.2).
            ("client_max_window_bits", v) => p.client_max_window_bits = Some(bits(v)?),
            _ => {
                return Err(format!(
                    "answered permessage-deflate with a parameter it may not send: {part:?} ({header:?})"
                ));
            }
        }
    }
    Ok(p)
}

/// Why a compressed message could not be inflated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InflateError {
    /// It would grow past the message limit.
    TooBig,
    /// The bytes are not DEFLATE data.
    Corrupt(String),
}

/// One direction's inflating state: what a reader of that direction's compressed
/// messages keeps between them. The client keeps one for the server's messages; the tap,
/// which only watches, keeps one for each direction.
pub struct Inflater {
    inflate: Decompress,
    /// The sender starts each message with an empty window (`*_no_context_takeover`).
    fresh_each_message: bool,
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater")
            .field("fresh_each_message", &self.fresh_each_message)
            .finish_non_exhaustive()
    }
}

impl Inflater {
    /// `fresh_each_message`: the sender agreed to no context takeover, so its window
    /// starts empty with each message. Any window up to 32 KiB inflates with the largest
    /// one, so the window bits need not be known.
    pub fn new(fresh_each_message: bool) -> Self {
        Inflater {
            inflate: Decompress::new(false),
            fresh_each_message,
        }
    }

    /// Inflates one frame's payload of a compressed message onto `out`; `fin` ends the
    /// message. `out` never holds more than `limit` bytes plus one (which is how going
    /// over is seen): a decompression bomb costs at most the limit.
    pub fn inflate(
        &mut self,
        input: &[u8],
        fin: bool,
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), InflateError> {
        self.feed(input, out, limit)?;
        if fin {
            self.feed(&TAIL, out, limit)?;
            if self.fresh_each_message {
                // The sender starts its next message afresh; so can we.
                self.inflate.reset(false);
            }
        }
        Ok(())
    }

    fn feed(
        &mut self,
        mut input: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), InflateError> {
        let cap = limit.saturating_add(1);
        loop {
            if out.len() == out.capacity() {
                if out.len() >= cap {
                    return Err(InflateError::TooBig);
                }
                let want = if out.capacity() == 0 {
                    input.len().saturating_mul(INFLATE_GUESS).max(INFLATE_MIN)
                } else {
                    out.capacity().saturating_mul(2)
                }
                .min(cap);
                out.reserve_exact(want - out.len());
            }
            let (in_before, out_before) = (self.inflate.total_in(), out.len());
            let status = self
                .inflate
                .decompress_vec(input, out, FlushDecompress::Sync)
                .map_err(|e| InflateError::Corrupt(e.to_string()))?;
            if out.len() > limit {
                return Err(InflateError::TooBig);
            }
            let used = usize::try_from(self.inflate.total_in() - in_before).unwrap_or(input.len());
            input = &input[used.min(input.len())..];
            if status == Status::StreamEnd {
                // A block marked final ends the DEFLATE stream; a peer may still send
                // more (RFC 7692 §7.2.3.1 lets it), which starts a new one.
                self.inflate.reset(false);
            }
            let room_left = out.len() < out.capacity();
            if input.is_empty() && room_left {
                return Ok(());
            }
            if used == 0 && out.len() == out_before && room_left && status != Status::StreamEnd {
                return Err(InflateError::Corrupt("no progress".into()));
            }
        }
    }
}

/// One connection's compression state, both ways.
pub(crate) struct Deflate {
    params: Params,
    inflate: Inflater,
    /// `None` when the server allowed us only a 256-byte window, which zlib cannot
    /// write raw: we then send every message uncompressed, as RFC 7692 §6 allows.
    compress: Option<Compress>,
}

impl std::fmt::Debug for Deflate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deflate")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl Deflate {
    pub(crate) fn new(params: Params) -> Self {
        let bits = params.client_max_window_bits.unwrap_or(15);
        let compress =
            (bits >= 9).then(|| Compress::new_with_window_bits(Compression::fast(), false, bits));
        Deflate {
            params,
            inflate: Inflater::new(params.server_no_context_takeover),
            compress,
        }
    }

    /// Inflates one frame's payload of the server's compressed message onto `out`
    /// ([`Inflater::inflate`]).
    pub(crate) fn inflate(
        &mut self,
        input: &[u8],
        fin: bool,
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), InflateError> {
        self.inflate.inflate(input, fin, out, limit)
    }

    /// Compresses one message; `None` when it goes uncompressed.
    pub(crate) fn deflate(&mut self, payload: &[u8]) -> Option<Vec<u8>> {
        let c = self.compress.as_mut()?;
        let start = c.total_in();
        let mut out = Vec::with_capacity(payload.len() / 2 + 64);
        loop {
            let done = usize::try_from(c.total_in() - start).unwrap_or(payload.len());
            if out.len() == out.capacity() {
                out.reserve(out.capacity().max(64));
            }
            if c.compress_vec(
                &payload[done.min(payload.len())..],
                &mut out,
                FlushCompress::Sync,
            )
            .is_err()
            {
                // Our own compressor failing is a bug, not the peer's doing: start the
                // window afresh and send this one uncompressed.
                c.reset();
                return None;
            }
            let all_in = c.total_in() - start == payload.len() as u64;
            if all_in && out.len() < out.capacity() {
                break;
            }
        }
        if out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        } else if out.is_empty() {
            // An empty message right after a flush makes no progress, so zlib writes
            // nothing; the receiver will append TAIL, which only reads as an empty block
            // after a block header: send that header (RFC 7692 §7.2.3.6).
            out.push(0x00);
        }
        if self.params.client_no_context_takeover {
            c.reset();
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_as_rfc_7692_allows() {
        assert_eq!(accept("permessage-deflate"), Ok(Params::default()));
        assert_eq!(
            accept(
                "permessage-deflate; server_no_context_takeover; client_max_window_bits=10; server_max_window_bits=\"12\""
            ),
            Ok(Params {
                server_no_context_takeover: true,
                client_no_context_takeover: false,
                server_max_window_bits: Some(12),
                client_max_window_bits: Some(10),
            })
        );
        for bad in [
            "x-webkit-deflate-frame",
            "permessage-deflate, permessage-deflate",
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate; client_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; mystery",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        ] {
            assert!(accept(bad).is_err(), "{bad}");
        }
    }

    fn round_trip(params: Params, messages: &[&[u8]]) {
        let mut ours = Deflate::new(params);
        // The peer inflates what we compress; the same type does it here.
        let mut theirs = Deflate::new(Params {
            server_no_context_takeover: params.client_no_context_takeover,
            ..Params::default()
        });
        for m in messages {
            let c = ours.deflate(m).expect("compressed");
            let mut out = Vec::new();
            theirs
                .inflate(&c, true, &mut out, 1 << 20)
                .expect("inflates");
            assert_eq!(&out, m);
        }
    }

    #[test]
    fn messages_round_trip_with_and_without_context_takeover_and_small_windows() {
        let long = vec![b'a'; 5000];
        // An empty message after a flush, then more: the empty one must not leave the
        // peer's inflater inside a block.
        let msgs: [&[u8]; 5] = [b"hello hello hello", b"hello hello hello", b"", &long, b""];
        round_trip(Params::default(), &msgs);
        round_trip(
            Params {
                client_no_context_takeover: true,
                client_max_window_bits: Some(9),
                ..Params::default()
            },
            &msgs,
        );
        // A 256-byte window cannot be written raw by zlib: messages go uncompressed.
        let mut eight = Deflate::new(Params {
            client_max_window_bits: Some(8),
            ..Params::default()
        });
        assert_eq!(eight.deflate(b"x"), None);
    }

    #[test]
    fn a_bomb_stops_at_the_limit_without_allocating_past_it() {
        let mut c = Deflate::new(Params::default());
        let zeros = vec![0u8; 50 << 20];
        let bomb = c.deflate(&zeros).expect("compressed");
        assert!(bomb.len() < 1 << 20, "{}", bomb.len());
        let mut d = Deflate::new(Params::default());
        let mut out = Vec::new();
        // Fed in frame-sized pieces, as a fragmented message would come.
        let mut result = Ok(());
        for piece in bomb.chunks(1000) {
            result = d.inflate(piece, false, &mut out, 1 << 20);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(InflateError::TooBig));
        assert!(out.capacity() <= (1 << 20) + 1, "{}", out.capacity());
    }
}
