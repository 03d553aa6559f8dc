//! The segment file's unit: a block of consecutive records of one connection, written in
//! one piece, with a header that lets a reader find, skip and check it without an index.
//!
//! ```text
//! header (40 bytes, little-endian)
//!   magic      4  "SSB1"
//!   first_seq  8
//!   count      4  records in the block (at least 1)
//!   len        4  payload bytes after the header
//!   first_t    8  the first record's t, µs since the epoch
//!   last_t     8
//!   crc32      4  of the payload
//! payload: per record, a varint length, then the record: zigzag varint (t − first_t),
//!   the body as the model's codec encodes it
//! ```
//!
//! A block cut short by a crash fails its length or checksum and is ignored, with
//! everything after it: the file is append-only, so what precedes it is whole.

use streamscope_model::codec::{
    Reader, decode_record, encode_record, put_varint, unzigzag, zigzag,
};
use streamscope_model::{ConnId, Proto, Record, Timestamp};

pub(crate) const MAGIC: &[u8; 4] = b"SSB1";
pub(crate) const HEADER_LEN: usize = 40;

/// Where a block is and what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockRef {
    pub(crate) first_seq: u64,
    pub(crate) count: u32,
    /// Offset of the header in the file.
    pub(crate) offset: u64,
    /// Payload bytes (the block takes `HEADER_LEN + len` in the file).
    pub(crate) len: u32,
    pub(crate) first_t: i64,
    pub(crate) last_t: i64,
}

impl BlockRef {
    pub(crate) fn end(&self) -> u64 {
        self.offset + HEADER_LEN as u64 + u64::from(self.len)
    }

    pub(crate) fn last_seq(&self) -> u64 {
        self.first_seq + u64::from(self.count) - 1
    }
}

/// A block being filled: records encoded back to back.
#[derive(Debug, Default)]
pub(crate) struct Builder {
    pub(crate) payload: Vec<u8>,
    /// Where each record starts in `payload` (after its length prefix).
    pub(crate) starts: Vec<(u32, u32)>,
    pub(crate) first_seq: u64,
    pub(crate) first_t: i64,
    pub(crate) last_t: i64,
    scratch: Vec<u8>,
}

impl Builder {
    pub(crate) fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    pub(crate) fn push(&mut self, r: &Record) {
        if self.starts.is_empty() {
            self.first_seq = r.seq;
            self.first_t = r.t.0;
            self.payload.clear();
        }
        self.last_t = r.t.0;
        self.scratch.clear();
        put_varint(&mut self.scratch, zigzag(r.t.0.wrapping_sub(self.first_t)));
        encode_record(r.dir, &r.body, r.wire.as_deref(), &mut self.scratch);
        put_varint(&mut self.payload, self.scratch.len() as u64);
        let start = self.payload.len();
        self.payload.extend_from_slice(&self.scratch);
        self.starts.push((
            u32::try_from(start).unwrap_or(u32::MAX),
            u32::try_from(self.scratch.len()).unwrap_or(u32::MAX),
        ));
    }

    /// The whole block, header and payload, to be written at `offset`; empties the builder.
    pub(crate) fn seal(&mut self, offset: u64) -> (BlockRef, Vec<u8>) {
        let block = BlockRef {
            first_seq: self.first_seq,
            count: u32::try_from(self.starts.len()).unwrap_or(u32::MAX),
            offset,
            len: u32::try_from(self.payload.len()).unwrap_or(u32::MAX),
            first_t: self.first_t,
            last_t: self.last_t,
        };
        let mut out = Vec::with_capacity(HEADER_LEN + self.payload.len());
        out.extend_from_slice(&header(&block, &self.payload));
        out.extend_from_slice(&self.payload);
        self.starts.clear();
        self.payload.clear();
        (block, out)
    }
}

fn header(b: &BlockRef, payload: &[u8]) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0..4].copy_from_slice(MAGIC);
    h[4..12].copy_from_slice(&b.first_seq.to_le_bytes());
    h[12..16].copy_from_slice(&b.count.to_le_bytes());
    h[16..20].copy_from_slice(&b.len.to_le_bytes());
    h[20..28].copy_from_slice(&b.first_t.to_le_bytes());
    h[28..36].copy_from_slice(&b.last_t.to_le_bytes());
    h[36..40].copy_from_slice(&crc32fast::hash(payload).to_le_bytes());
    h
}

/// Reads a header at `offset`; `None` when the bytes are not one.
pub(crate) fn parse_header(h: &[u8], offset: u64) -> Option<(BlockRef, u32)> {
    if h.len() < HEADER_LEN || &h[0..4] != MAGIC {
        return None;
    }
    let u32_at = |i: usize| {
        h.get(i..i + 4)
            .and_then(|s| s.try_into().ok())
            .map(u32::from_le_bytes)
    };
    let u64_at = |i: usize| {
        h.get(i..i + 8)
            .and_then(|s| s.try_into().ok())
            .map(u64::from_le_bytes)
    };
    let block = BlockRef {
        first_seq: u64_at(4)?,
        count: u32_at(12)?,
        offset,
        len: u32_at(16)?,
        first_t: u64_at(20)? as i64,
        last_t: u64_at(28)? as i64,
    };
    if block.count == 0 || block.first_seq == 0 {
        return None;
    }
    Some((block, u32_at(36)?))
}

/// Whether `payload` is what the header's checksum says.
pub(crate) fn payload_ok(payload: &[u8], crc: u32) -> bool {
    crc32fast::hash(payload) == crc
}

/// The records of a block's payload, from `skip` on, at most `limit`, appended to `out`.
/// Stops at the first record that does not decode.
pub(crate) fn decode_records(
    b: &BlockRef,
    payload: &[u8],
    conn: ConnId,
    proto: Proto,
    skip: usize,
    limit: usize,
    out: &mut Vec<Record>,
) {
    let mut rd = Reader { buf: payload };
    let mut taken = 0;
    for i in 0..b.count as usize {
        if taken >= limit {
            return;
        }
        let Some(rec) = rd.bytes() else { return };
        if i < skip {
            continue;
        }
        let mut one = Reader { buf: rec };
        let Some(delta) = one.varint() else { return };
        let Some((dir, body, wire)) = decode_record(&mut one) else {
            return;
        };
        out.push(Record {
            t: Timestamp(b.first_t.wrapping_add(unzigzag(delta))),
            conn,
            proto,
            seq: b.first_seq + i as u64,
            dir,
            body,
            wire,
        });
        taken += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use streamscope_model::{Body, Dir};

    fn rec(seq: u64, text: &str) -> Record {
        Record {
            t: Timestamp(1_700_000_000_000_000 + seq as i64 * 1000),
            conn: ConnId(4),
            proto: Proto::Ws,
            seq,
            dir: Dir::In,
            body: Body::Text(text.into()),
            wire: None,
        }
    }

    #[test]
    fn a_block_reads_back_every_record_and_a_cut_one_fails_its_check() {
        let mut b = Builder::default();
        for seq in 5..=9 {
            b.push(&rec(seq, &"x".repeat(seq as usize)));
        }
        let (block, bytes) = b.seal(100);
        assert_eq!((block.first_seq, block.count, block.last_seq()), (5, 5, 9));
        let (parsed, crc) = parse_header(&bytes, 100).expect("a header");
        assert_eq!(parsed, block);
        let payload = &bytes[HEADER_LEN..];
        assert!(payload_ok(payload, crc));
        let mut out = Vec::new();
        decode_records(&block, payload, ConnId(4), Proto::Ws, 1, 3, &mut out);
        assert_eq!(
            out,
            vec![rec(6, "xxxxxx"), rec(7, "xxxxxxx"), rec(8, "xxxxxxxx")]
        );
        assert!(!payload_ok(&payload[..payload.len() - 1], crc));
        assert!(parse_header(&bytes[..HEADER_LEN - 1], 100).is_none());
        assert!(b.is_empty());
    }
}
