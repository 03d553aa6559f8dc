//! The recording codec: one record's body as compact bytes and back.
//!
//! Stores (memory today, disk later) place these bytes; this module owns only their
//! layout. Decoding never panics: bytes that are not what the encoder writes read as
//! `None`, so a corrupt store reads as missing records.

use bytes::Bytes;

use crate::cause::Cause;
use crate::record::{Body, Dir, Handshake, Headers, Wire, WireFrame};

// Record layout. Kinds and dirs are numbered here only; the numbers are not part of any
// contract, but a disk store that reuses this encoding must keep them.
const KIND_OPEN: u8 = 0;
const KIND_TEXT: u8 = 1;
const KIND_BINARY: u8 = 2;
const KIND_PING: u8 = 3;
const KIND_PONG: u8 = 4;
const KIND_CLOSE: u8 = 5;
const KIND_EVENT: u8 = 6;
const KIND_COMMENT: u8 = 7;
const KIND_RETRY: u8 = 8;
const KIND_RECONNECT: u8 = 9;
const KIND_END: u8 = 10;
const KIND_ERROR: u8 = 11;
const KIND_MASK: u8 = 0x0f;
const DIR_SHIFT: u32 = 4;
/// On an `event`: its type is `"message"`, the default nearly every stream uses, and is
/// not stored.
const FLAG_MESSAGE_EVENT: u8 = 0x40;
const DEFAULT_EVENT: &str = "message";
/// In place of a body in a segment: the body was spilled; the index of its allocation
/// follows. Bit 7 is in no body tag, so the two cannot be confused.
pub const TAG_SPILLED: u8 = 0x80;
/// Before a body: the record's wire figures ([`Wire`]) follow, then the body's own tag.
/// Kind 12 is in no body tag, so records encoded before wire figures existed (no
/// prefix) read as they always did; this tag is the codec's second version.
pub const TAG_WIRE: u8 = 0x0c;
const WIRE_COMPRESSED: u64 = 1;
const WIRE_HANDSHAKE: u64 = 2;
const WIRE_EXTENSIONS: u64 = 4;
/// `framing_bytes` follows, after everything else: older data, without the bit, reads
/// as it always did.
const WIRE_FRAMING: u64 = 8;

/// Where encoded bytes go: a buffer, or a counter that sizes a record before it is
/// placed. One encoder serves both, so the size and the bytes cannot disagree.
pub trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

pub struct Counter(pub usize);

impl Sink for Counter {
    fn put(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

pub fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

pub fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

pub fn varint_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

pub fn put_varint(out: &mut impl Sink, mut v: u64) {
    let mut buf = [0u8; 10];
    let mut n = 0;
    while v >= 0x80 {
        buf[n] = (v as u8) | 0x80;
        v >>= 7;
        n += 1;
    }
    buf[n] = v as u8;
    out.put(&buf[..=n]);
}

fn put_bytes(out: &mut impl Sink, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.put(b);
}

fn put_opt_str(out: &mut impl Sink, s: Option<&str>) {
    match s {
        None => put_varint(out, 0),
        Some(s) => {
            put_varint(out, s.len() as u64 + 1);
            out.put(s.as_bytes());
        }
    }
}

fn put_opt_u16(out: &mut impl Sink, v: Option<u16>) {
    put_varint(out, v.map_or(0, |v| u64::from(v) + 1));
}

fn put_header_pairs(out: &mut impl Sink, headers: &Headers) {
    for (name, value) in headers {
        put_bytes(out, name.as_bytes());
        put_bytes(out, value.as_bytes());
    }
}

/// A record's direction, body and wire figures: the wire prefix only when there are
/// figures, so records without them cost what they always did.
pub fn encode_record(dir: Dir, body: &Body, wire: Option<&Wire>, out: &mut impl Sink) {
    if let Some(w) = wire {
        encode_wire(w, out);
    }
    encode_body(dir, body, out);
}

fn encode_wire(w: &Wire, out: &mut impl Sink) {
    out.put(&[TAG_WIRE]);
    let mut flags = 0;
    if w.compressed_size.is_some() {
        flags |= WIRE_COMPRESSED;
    }
    if let Some(h) = &w.handshake {
        flags |= WIRE_HANDSHAKE;
        if h.extensions.is_some() {
            flags |= WIRE_EXTENSIONS;
        }
    }
    if w.framing_bytes.is_some() {
        flags |= WIRE_FRAMING;
    }
    put_varint(out, flags);
    put_varint(out, w.bytes);
    put_varint(out, u64::from(w.frames));
    if let Some(c) = w.compressed_size {
        put_varint(out, c);
    }
    put_varint(out, w.frame_list.len() as u64);
    for f in &w.frame_list {
        let head = u8::from(f.fin) << 7
            | u8::from(f.rsv1) << 6
            | u8::from(f.masked) << 5
            | (f.opcode & 0x0f);
        out.put(&[head]);
        put_varint(out, f.len);
    }
    if let Some(h) = &w.handshake {
        put_varint(out, h.request_size);
        put_varint(out, h.response_size);
        if let Some(e) = &h.extensions {
            put_bytes(out, e.as_bytes());
        }
    }
    if let Some(f) = w.framing_bytes {
        put_varint(out, f);
    }
}

/// Reads what [`encode_record`] wrote, or a body from before wire figures existed.
pub fn decode_record(rd: &mut Reader<'_>) -> Option<(Dir, Body, Option<Box<Wire>>)> {
    let wire = if rd.buf.first() == Some(&TAG_WIRE) {
        rd.byte()?;
        Some(Box::new(decode_wire(rd)?))
    } else {
        None
    };
    let (dir, body) = decode_body(rd)?;
    Some((dir, body, wire))
}

fn decode_wire(rd: &mut Reader<'_>) -> Option<Wire> {
    let flags = rd.varint()?;
    if flags & !(WIRE_COMPRESSED | WIRE_HANDSHAKE | WIRE_EXTENSIONS | WIRE_FRAMING) != 0 {
        return None;
    }
    let bytes = rd.varint()?;
    let frames = u32::try_from(rd.varint()?).ok()?;
    let compressed_size = if flags & WIRE_COMPRESSED != 0 {
        Some(rd.varint()?)
    } else {
        None
    };
    let count = rd.length()?;
    // Each listed frame takes at least two bytes: a count past that is corrupt.
    if count > rd.buf.len() / 2 {
        return None;
    }
    let mut frame_list = Vec::with_capacity(count);
    for _ in 0..count {
        let head = rd.byte()?;
        frame_list.push(WireFrame {
            fin: head & 0x80 != 0,
            rsv1: head & 0x40 != 0,
            masked: head & 0x20 != 0,
            opcode: head & 0x0f,
            len: rd.varint()?,
        });
    }
    let handshake = if flags & WIRE_HANDSHAKE != 0 {
        Some(Handshake {
            request_size: rd.varint()?,
            response_size: rd.varint()?,
            extensions: if flags & WIRE_EXTENSIONS != 0 {
                Some(rd.string()?)
            } else {
                None
            },
        })
    } else {
        None
    };
    let framing_bytes = if flags & WIRE_FRAMING != 0 {
        Some(rd.varint()?)
    } else {
        None
    };
    Some(Wire {
        bytes,
        frames,
        compressed_size,
        framing_bytes,
        frame_list,
        handshake,
    })
}

pub fn encode_body(dir: Dir, body: &Body, out: &mut impl Sink) {
    let dir_bits = match dir {
        Dir::In => 0u8,
        Dir::Out => 1,
        Dir::Meta => 2,
    } << DIR_SHIFT;
    let tag = |kind: u8| [kind | dir_bits];
    match body {
        Body::Open {
            status,
            headers,
            subprotocol,
        } => {
            out.put(&tag(KIND_OPEN));
            put_varint(out, u64::from(*status));
            put_opt_str(out, subprotocol.as_deref());
            put_varint(out, headers.len() as u64);
            put_header_pairs(out, headers);
        }
        Body::Text(s) => {
            out.put(&tag(KIND_TEXT));
            put_bytes(out, s.as_bytes());
        }
        Body::Comment(s) => {
            out.put(&tag(KIND_COMMENT));
            put_bytes(out, s.as_bytes());
        }
        Body::Binary(b) => {
            out.put(&tag(KIND_BINARY));
            put_bytes(out, b);
        }
        Body::Ping(b) => {
            out.put(&tag(KIND_PING));
            put_bytes(out, b);
        }
        Body::Pong(b) => {
            out.put(&tag(KIND_PONG));
            put_bytes(out, b);
        }
        Body::Close { code, reason } => {
            out.put(&tag(KIND_CLOSE));
            put_opt_u16(out, *code);
            put_bytes(out, reason.as_bytes());
        }
        Body::Event { event, data, id } => {
            if event == DEFAULT_EVENT {
                out.put(&[KIND_EVENT | dir_bits | FLAG_MESSAGE_EVENT]);
            } else {
                out.put(&tag(KIND_EVENT));
                put_bytes(out, event.as_bytes());
            }
            put_bytes(out, data.as_bytes());
            put_opt_str(out, id.as_deref());
        }
        Body::Retry { retry_ms } => {
            out.put(&tag(KIND_RETRY));
            put_varint(out, *retry_ms);
        }
        Body::Reconnect {
            retry_ms,
            attempt,
            last_event_id,
        } => {
            out.put(&tag(KIND_RECONNECT));
            put_varint(out, *retry_ms);
            put_varint(out, u64::from(*attempt));
            put_opt_str(out, last_event_id.as_deref());
        }
        Body::End => out.put(&tag(KIND_END)),
        Body::Error {
            message,
            cause,
            status,
            headers,
        } => {
            out.put(&tag(KIND_ERROR));
            put_bytes(out, message.as_bytes());
            put_opt_u16(out, *status);
            match headers {
                None => put_varint(out, 0),
                Some(h) => {
                    put_varint(out, h.len() as u64 + 1);
                    put_header_pairs(out, h);
                }
            }
            // The code as text, not a number: a code this build does not know
            // (`Cause::Other`) is kept as it was read.
            put_opt_str(out, cause.as_ref().map(Cause::as_str));
        }
    }
}

/// Reads one encoded record. Every method returns `None` on bytes that are not what the
/// encoder writes, so a corrupt store reads as missing records, never as a panic.
pub struct Reader<'a> {
    pub buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.buf.split_first()?;
        self.buf = rest;
        Some(b)
    }

    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.buf.len() {
            return None;
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Some(head)
    }

    pub fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for i in 0..10 {
            let b = self.byte()?;
            // The tenth byte holds bit 63 only; anything more overflows a u64.
            if i == 9 && b > 1 {
                return None;
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    pub fn length(&mut self) -> Option<usize> {
        usize::try_from(self.varint()?).ok()
    }

    pub fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.length()?;
        self.take(n)
    }

    fn string(&mut self) -> Option<String> {
        // Validated although the encoder only writes `String`s: a corrupt or foreign
        // store must not yield invalid UTF-8.
        std::str::from_utf8(self.bytes()?).ok().map(str::to_owned)
    }

    fn opt_string(&mut self) -> Option<Option<String>> {
        match self.length()? {
            0 => Some(None),
            n => {
                let s = std::str::from_utf8(self.take(n - 1)?).ok()?;
                Some(Some(s.to_owned()))
            }
        }
    }

    fn u16(&mut self) -> Option<u16> {
        u16::try_from(self.varint()?).ok()
    }

    fn opt_u16(&mut self) -> Option<Option<u16>> {
        match self.varint()? {
            0 => Some(None),
            n => u16::try_from(n - 1).ok().map(Some),
        }
    }

    fn header_pairs(&mut self, count: usize) -> Option<Headers> {
        // Each pair takes at least two bytes: a corrupt count cannot make this reserve
        // more than the record's size.
        let mut headers = Vec::with_capacity(count.min(self.buf.len() / 2));
        for _ in 0..count {
            let name = self.string()?;
            let value = self.string()?;
            headers.push((name, value));
        }
        Some(headers)
    }
}

/// Decodes a body, which must take every byte `rd` holds: a shorter reading means
/// corruption.
pub fn decode_body(rd: &mut Reader<'_>) -> Option<(Dir, Body)> {
    let tag = rd.byte()?;
    let dir = match (tag >> DIR_SHIFT) & 0x3 {
        0 => Dir::In,
        1 => Dir::Out,
        2 => Dir::Meta,
        _ => return None,
    };
    let kind = tag & KIND_MASK;
    let flags = tag & !(KIND_MASK | (0x3 << DIR_SHIFT));
    let allowed_flags = if kind == KIND_EVENT {
        FLAG_MESSAGE_EVENT
    } else {
        0
    };
    if flags & !allowed_flags != 0 {
        return None;
    }
    let body = match kind {
        KIND_OPEN => {
            let status = rd.u16()?;
            let subprotocol = rd.opt_string()?;
            let count = rd.length()?;
            Body::Open {
                status,
                headers: rd.header_pairs(count)?,
                subprotocol,
            }
        }
        KIND_TEXT => Body::Text(rd.string()?),
        KIND_COMMENT => Body::Comment(rd.string()?),
        KIND_BINARY => Body::Binary(Bytes::copy_from_slice(rd.bytes()?)),
        KIND_PING => Body::Ping(Bytes::copy_from_slice(rd.bytes()?)),
        KIND_PONG => Body::Pong(Bytes::copy_from_slice(rd.bytes()?)),
        KIND_CLOSE => Body::Close {
            code: rd.opt_u16()?,
            reason: rd.string()?,
        },
        KIND_EVENT => {
            let event = if flags & FLAG_MESSAGE_EVENT != 0 {
                DEFAULT_EVENT.to_owned()
            } else {
                rd.string()?
            };
            Body::Event {
                event,
                data: rd.string()?,
                id: rd.opt_string()?,
            }
        }
        KIND_RETRY => Body::Retry {
            retry_ms: rd.varint()?,
        },
        KIND_RECONNECT => Body::Reconnect {
            retry_ms: rd.varint()?,
            attempt: u32::try_from(rd.varint()?).ok()?,
            last_event_id: rd.opt_string()?,
        },
        KIND_END => Body::End,
        KIND_ERROR => {
            let message = rd.string()?;
            let status = rd.opt_u16()?;
            let headers = match rd.length()? {
                0 => None,
                n => Some(rd.header_pairs(n - 1)?),
            };
            let cause = rd.opt_string()?.map(|code| Cause::parse(&code));
            Body::Error {
                message,
                cause,
                status,
                headers,
            }
        }
        _ => return None,
    };
    rd.buf.is_empty().then_some((dir, body))
}

#[cfg(test)]
mod wire_tests {
    use super::*;

    fn wire() -> Wire {
        Wire {
            bytes: 1_234,
            frames: 3,
            compressed_size: Some(1_200),
            framing_bytes: None,
            frame_list: vec![
                WireFrame {
                    fin: false,
                    opcode: 1,
                    rsv1: true,
                    masked: false,
                    len: 1_000,
                },
                WireFrame {
                    fin: false,
                    opcode: 0,
                    rsv1: false,
                    masked: false,
                    len: 100,
                },
                WireFrame {
                    fin: true,
                    opcode: 0,
                    rsv1: false,
                    masked: true,
                    len: 100,
                },
            ],
            handshake: None,
        }
    }

    #[test]
    fn wire_figures_round_trip_and_records_without_them_read_as_before() {
        let open = Wire {
            handshake: Some(Handshake {
                request_size: 230,
                response_size: 180,
                extensions: Some("permessage-deflate; client_max_window_bits=12".into()),
            }),
            ..Wire::default()
        };
        let body = Body::Text("hello".into());
        for w in [Some(wire()), Some(open), Some(Wire::frame(7, None)), None] {
            let mut buf = Vec::new();
            encode_record(Dir::In, &body, w.as_ref(), &mut buf);
            let mut count = Counter(0);
            encode_record(Dir::In, &body, w.as_ref(), &mut count);
            assert_eq!(count.0, buf.len());
            let got = decode_record(&mut Reader { buf: &buf }).expect("decodes");
            assert_eq!(got, (Dir::In, body.clone(), w.map(Box::new)));
        }
        // What a store wrote before wire figures existed: the body alone.
        let mut old = Vec::new();
        encode_body(Dir::Out, &body, &mut old);
        assert_eq!(
            decode_record(&mut Reader { buf: &old }),
            Some((Dir::Out, body, None))
        );
    }

    #[test]
    fn framing_bytes_round_trip_and_wire_written_before_them_reads_unchanged() {
        let event = Body::Event {
            event: "message".into(),
            data: "x".into(),
            id: None,
        };
        let chunked = Wire {
            bytes: 9,
            compressed_size: Some(4),
            framing_bytes: Some(5),
            ..Wire::default()
        };
        let mut buf = Vec::new();
        encode_record(Dir::In, &event, Some(&chunked), &mut buf);
        let got = decode_record(&mut Reader { buf: &buf }).expect("decodes");
        assert_eq!(got.2.as_deref(), Some(&chunked));
        // Bytes as a store wrote them before `framing_bytes` existed: tag, flags
        // (compressed), bytes, frames, compressed size, no frame list, then the body.
        let mut old = vec![TAG_WIRE, 1, 9, 0, 4, 0];
        encode_body(Dir::In, &event, &mut old);
        let got = decode_record(&mut Reader { buf: &old }).expect("old data decodes");
        let want = Wire {
            framing_bytes: None,
            ..chunked
        };
        assert_eq!(got, (Dir::In, event, Some(Box::new(want))));
    }

    #[test]
    fn cut_or_corrupt_wire_figures_read_as_missing() {
        let mut buf = Vec::new();
        encode_record(Dir::In, &Body::End, Some(&wire()), &mut buf);
        for cut in 0..buf.len() {
            assert_eq!(
                decode_record(&mut Reader { buf: &buf[..cut] }),
                None,
                "cut at {cut}"
            );
        }
        let mut bad_flags = buf.clone();
        bad_flags[1] = 0x40;
        assert_eq!(decode_record(&mut Reader { buf: &bad_flags }), None);
    }
}
