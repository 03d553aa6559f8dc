//! The memory store: a connection's recording kept in memory, compact.
//!
//! It owns the segment arena and its index; the byte layout of one record is the model's
//! [`codec`](streamscope_model::codec), shared with any store that keeps records elsewhere.
//! Used by `sscope ws|sse` and, until recordings go to disk, by the server.

use streamscope_model::codec::{
    Counter, Reader, TAG_SPILLED, decode_record, encode_record, put_varint, unzigzag, varint_len,
    zigzag,
};
use streamscope_model::{ConnId, Proto, Record, Timestamp};

use super::store::{RecordStore, StoreError};

/// Capacity of a full-grown segment. 1 MiB: the unused tail of a segment and its
/// bookkeeping are small next to it, and one allocation of it is cheap.
pub const SEGMENT_SIZE: usize = 1 << 20;

/// Capacity of a store's first segment; each next one doubles up to the segment size,
/// so a quiet connection holds a few KiB, not a whole segment.
const FIRST_SEGMENT_SIZE: usize = 4 << 10;

/// A record whose body takes more than this share of a segment gets an allocation of
/// its own. A segment is left when the next record does not fit, so this bounds the
/// space a segment can waste at its tail (1/32: about 3 %), and a large record between
/// small ones leaves the small ones' segment filling instead of ending it.
const SPILL_DIVISOR: usize = 32;

/// A connection's recording in memory, compact: records are encoded back to back into
/// an append-only arena of segments, with an index of where each starts.
///
/// Each segment's buffer gets its capacity when it is made and never grows, so an append
/// never moves recorded bytes; a record that does not fit starts a new segment. A large
/// record (its body over 1/32 of a segment, 32 KiB by default) is *spilled*: its body
/// goes into an allocation of exactly its size, and the segment keeps only its time and
/// a stub naming that allocation, so records of any size keep one 4-byte index entry
/// and a segment wastes at most 1/32 of itself. Payloads are kept as raw bytes: a 64-byte
/// text record costs about 14 bytes more than its payload (the test
/// `hundred_thousand_small_text_records_cost_little_more_than_their_payload` holds it).
///
/// Encoding of one record (varints are LEB128; `opt` values store 0 for `None` and
/// `n + 1` for `Some(n)`, strings and byte strings are a varint length and raw bytes):
///
/// ```text
/// t - segment's base t   zigzag varint (wrapping, so any i64 round-trips)
/// then the body, in the segment, or for a spilled record a stub there:
///   0x80, varint index of the allocation that holds the body
/// body:
///   tag                  one byte: kind (bits 0-3), dir (bits 4-5), flag (bit 6)
///   open                 status varint, subprotocol opt str, header count, name/value strs
///   text, comment        str
///   binary, ping, pong   bytes
///   close                code opt varint, reason str
///   event                event str (left out, flag set, when it is "message"), data str, id opt str
///   retry                retry_ms varint
///   reconnect            retry_ms varint, attempt varint, last_event_id opt str
///   end                  nothing
///   error                message str, status opt varint, headers opt count, name/value strs
/// ```
///
/// `conn` and `proto` are the store's, `seq` is the record's place in the index.
pub struct MemoryStore {
    conn: ConnId,
    proto: Proto,
    segment_size: usize,
    /// Bodies longer than this are spilled.
    spill_over: usize,
    /// Capacity of the next ordinary segment: grows from [`FIRST_SEGMENT_SIZE`] to
    /// `segment_size`.
    next_capacity: usize,
    segments: Vec<Segment>,
    /// Bodies of spilled records, each exactly its size.
    spilled: Vec<Box<[u8]>>,
    len: u64,
    /// Bytes reserved by all segments but the last, which is still filling, and by the
    /// spilled bodies: kept so that [`RecordStore::bytes`] takes constant time.
    settled_bytes: usize,
}

struct Segment {
    /// Encoded records back to back. Never grows past the capacity it was made with.
    buf: Vec<u8>,
    /// Where each record starts in `buf`: record `first_seq + i` starts at `starts[i]`
    /// and ends where the next starts, or at the end of `buf`.
    starts: Vec<u32>,
    first_seq: u64,
    /// Timestamps are kept as the difference to this, the segment's first `t`, so they
    /// take a few bytes and any record decodes without reading its neighbours.
    base_t: i64,
}

impl Segment {
    fn bytes(&self) -> usize {
        self.buf.capacity() + self.starts.capacity() * size_of::<u32>()
    }
}

impl std::fmt::Debug for MemoryStore {
    // Not derived: a recording can hold gigabytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("conn", &self.conn)
            .field("proto", &self.proto)
            .field("len", &self.len)
            .field("segments", &self.segments.len())
            .field("spilled", &self.spilled.len())
            .field("bytes", &self.bytes())
            .finish()
    }
}

impl MemoryStore {
    /// An empty recording for connection `conn`, with segments of [`SEGMENT_SIZE`].
    pub fn new(conn: ConnId, proto: Proto) -> Self {
        Self::with_segment_size(conn, proto, SEGMENT_SIZE)
    }

    /// An empty recording whose segments grow to `segment_size` bytes (at least 1, at
    /// most `u32::MAX`, as the index keeps 32-bit offsets). Tests use small ones to
    /// make records cross segments.
    pub fn with_segment_size(conn: ConnId, proto: Proto, segment_size: usize) -> Self {
        let segment_size = segment_size.clamp(1, u32::MAX as usize);
        MemoryStore {
            conn,
            proto,
            segment_size,
            spill_over: segment_size / SPILL_DIVISOR,
            next_capacity: FIRST_SEGMENT_SIZE.min(segment_size),
            segments: Vec::new(),
            spilled: Vec::new(),
            len: 0,
            settled_bytes: 0,
        }
    }

    pub fn conn(&self) -> ConnId {
        self.conn
    }

    pub fn proto(&self) -> Proto {
        self.proto
    }

    /// The segment holding `seq`, if any.
    fn segment_of(&self, seq: u64) -> Option<usize> {
        if seq == 0 || seq > self.len {
            return None;
        }
        // Segments are in seq order; the one holding `seq` is the last starting at or
        // before it.
        self.segments
            .partition_point(|s| s.first_seq <= seq)
            .checked_sub(1)
    }

    /// Decodes the `i`th record of segment `seg`; `None` when its bytes are not a record.
    fn decode(&self, seg: &Segment, i: usize) -> Option<Record> {
        let start = usize::try_from(*seg.starts.get(i)?).ok()?;
        let end = match seg.starts.get(i + 1) {
            Some(&e) => usize::try_from(e).ok()?,
            None => seg.buf.len(),
        };
        let mut rd = Reader {
            buf: seg.buf.get(start..end)?,
        };
        let delta = unzigzag(rd.varint()?);
        let mut body = if rd.buf.first() == Some(&TAG_SPILLED) {
            rd.byte()?;
            let k = rd.length()?;
            if !rd.buf.is_empty() {
                return None;
            }
            Reader {
                buf: self.spilled.get(k)?,
            }
        } else {
            rd
        };
        let (dir, body, wire) = decode_record(&mut body)?;
        Some(Record {
            t: Timestamp(seg.base_t.wrapping_add(delta)),
            conn: self.conn,
            proto: self.proto,
            seq: seg.first_seq.checked_add(u64::try_from(i).ok()?)?,
            dir,
            body,
            wire,
        })
    }

    /// Makes a segment able to take `need` more bytes, based at `t`.
    fn start_segment(&mut self, need: usize, t: i64) -> Result<(), StoreError> {
        let capacity = self.next_capacity.max(need);
        let buf = self.alloc(capacity)?;
        self.segments
            .try_reserve(1)
            .map_err(|_| self.out_of_memory(size_of::<Segment>()))?;
        if let Some(last) = self.segments.last_mut() {
            // The index of a full segment grows no more: give back its doubling slack.
            last.starts.shrink_to_fit();
            self.settled_bytes += last.bytes();
        }
        self.next_capacity = self.next_capacity.saturating_mul(2).min(self.segment_size);
        self.segments.push(Segment {
            buf,
            starts: Vec::new(),
            first_seq: self.len + 1,
            base_t: t,
        });
        Ok(())
    }

    /// An empty buffer of exactly `capacity` bytes, or the error that says why not.
    fn alloc(&self, capacity: usize) -> Result<Vec<u8>, StoreError> {
        let mut buf = Vec::new();
        buf.try_reserve_exact(capacity)
            .map_err(|_| self.out_of_memory(capacity))?;
        Ok(buf)
    }

    fn out_of_memory(&self, bytes: usize) -> StoreError {
        StoreError::OutOfMemory {
            conn: self.conn,
            bytes,
        }
    }
}

impl RecordStore for MemoryStore {
    fn append(&mut self, r: &Record) -> Result<(), StoreError> {
        if r.conn != self.conn {
            return Err(StoreError::WrongConn {
                expected: self.conn,
                got: r.conn,
            });
        }
        if r.proto != self.proto {
            return Err(StoreError::WrongProto {
                conn: self.conn,
                expected: self.proto,
                got: r.proto,
            });
        }
        let expected = self.len + 1;
        if r.seq != expected {
            return Err(StoreError::SeqGap {
                conn: self.conn,
                expected,
                got: r.seq,
            });
        }

        // Everything that can fail is done before a byte is written, so a refused record
        // leaves the recorded ones as they were (at most an empty segment is added).
        let mut count = Counter(0);
        encode_record(r.dir, &r.body, r.wire.as_deref(), &mut count);
        let spill = if count.0 > self.spill_over {
            let mut body = self.alloc(count.0)?;
            encode_record(r.dir, &r.body, r.wire.as_deref(), &mut body);
            self.spilled
                .try_reserve(1)
                .map_err(|_| self.out_of_memory(size_of::<Box<[u8]>>()))?;
            Some(body.into_boxed_slice())
        } else {
            None
        };
        let in_segment = match spill {
            Some(_) => 1 + varint_len(self.spilled.len() as u64),
            None => count.0,
        };
        let t = r.t.as_micros();
        let fits = |seg: &Segment| {
            let need = varint_len(zigzag(t.wrapping_sub(seg.base_t))) + in_segment;
            // The start offset must fit the 32-bit index, and the record the space
            // left, so the buffer never reallocates.
            seg.buf.len() <= u32::MAX as usize && seg.buf.capacity() - seg.buf.len() >= need
        };
        if !self.segments.last().is_some_and(fits) {
            // A new segment is based at this record's time: its delta takes one byte.
            self.start_segment(1 + in_segment, t)?;
        }
        let conn = self.conn;
        let Some(seg) = self.segments.last_mut() else {
            // start_segment pushed one or returned its error.
            return Err(StoreError::OutOfMemory { conn, bytes: 0 });
        };
        seg.starts
            .try_reserve(1)
            .map_err(|_| StoreError::OutOfMemory {
                conn,
                bytes: size_of::<u32>(),
            })?;

        // Checked by `fits`, or the segment is new and empty.
        let start = u32::try_from(seg.buf.len()).unwrap_or(u32::MAX);
        let capacity = seg.buf.capacity();
        put_varint(&mut seg.buf, zigzag(t.wrapping_sub(seg.base_t)));
        match spill {
            Some(body) => {
                seg.buf.push(TAG_SPILLED);
                put_varint(&mut seg.buf, self.spilled.len() as u64);
                self.settled_bytes += body.len();
                self.spilled.push(body);
            }
            None => encode_record(r.dir, &r.body, r.wire.as_deref(), &mut seg.buf),
        }
        debug_assert_eq!(capacity, seg.buf.capacity(), "a segment buffer grew");
        seg.starts.push(start);
        self.len += 1;
        Ok(())
    }

    fn len(&self) -> u64 {
        self.len
    }

    fn first_seq(&self) -> Option<u64> {
        (self.len > 0).then_some(1)
    }

    fn last_seq(&self) -> Option<u64> {
        (self.len > 0).then_some(self.len)
    }

    fn get(&self, seq: u64) -> Option<Record> {
        let seg = self.segments.get(self.segment_of(seq)?)?;
        let i = usize::try_from(seq - seg.first_seq).ok()?;
        self.decode(seg, i)
    }

    fn range(&self, from_seq: u64, limit: usize, out: &mut Vec<Record>) {
        let from = from_seq.max(1);
        let Some(mut s) = self.segment_of(from) else {
            return;
        };
        let Some(first) = self.segments.get(s) else {
            return;
        };
        let Ok(mut i) = usize::try_from(from - first.first_seq) else {
            return;
        };
        let available = usize::try_from(self.len - from + 1).unwrap_or(usize::MAX);
        let mut left = limit.min(available);
        out.reserve(left);
        while left > 0 {
            let Some(seg) = self.segments.get(s) else {
                return;
            };
            while left > 0 && i < seg.starts.len() {
                let Some(r) = self.decode(seg, i) else {
                    return;
                };
                out.push(r);
                left -= 1;
                i += 1;
            }
            s += 1;
            i = 0;
        }
    }

    fn bytes(&self) -> usize {
        self.settled_bytes
            + self.segments.last().map_or(0, Segment::bytes)
            + self.segments.capacity() * size_of::<Segment>()
            + self.spilled.capacity() * size_of::<Box<[u8]>>()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use bytes::Bytes;
    use proptest::prelude::*;
    use std::io;
    use streamscope_model::{Body, Dir, Headers};

    const C1: ConnId = ConnId(1);

    fn text(seq: u64, t: i64, s: &str) -> Record {
        Record {
            t: Timestamp(t),
            conn: C1,
            proto: Proto::Ws,
            seq,
            dir: Dir::In,
            body: Body::Text(s.to_owned()),
            wire: None,
        }
    }

    fn store_of(n: u64, segment_size: usize) -> (MemoryStore, Vec<Record>) {
        let mut store = MemoryStore::with_segment_size(C1, Proto::Ws, segment_size);
        let records: Vec<Record> = (1..=n)
            .map(|seq| {
                text(
                    seq,
                    1_764_095_198_000_000 + seq as i64 * 10,
                    &format!("m{seq}"),
                )
            })
            .collect();
        for r in &records {
            store.append(r).expect("append");
        }
        (store, records)
    }

    fn range_of(store: &MemoryStore, from: u64, limit: usize) -> Vec<Record> {
        let mut out = Vec::new();
        store.range(from, limit, &mut out);
        out
    }

    fn headers() -> impl Strategy<Value = Headers> {
        proptest::collection::vec((".{0,12}", ".{0,24}"), 0..4)
    }

    fn payload() -> impl Strategy<Value = Bytes> {
        // Mostly small, sometimes larger than the test segments.
        prop_oneof![
            4 => proptest::collection::vec(any::<u8>(), 0..40),
            1 => proptest::collection::vec(any::<u8>(), 200..2_000),
        ]
        .prop_map(Bytes::from)
    }

    fn text_payload() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => ".{0,20}".boxed(),
            1 => ".{100,800}".boxed(),
        ]
    }

    fn opt_text() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(".{0,16}")
    }

    pub(crate) fn body() -> impl Strategy<Value = Body> {
        prop_oneof![
            (any::<u16>(), headers(), opt_text()).prop_map(|(status, headers, subprotocol)| {
                Body::Open {
                    status,
                    headers,
                    subprotocol,
                }
            }),
            text_payload().prop_map(Body::Text),
            payload().prop_map(Body::Binary),
            payload().prop_map(Body::Ping),
            payload().prop_map(Body::Pong),
            (proptest::option::of(any::<u16>()), ".{0,30}")
                .prop_map(|(code, reason)| Body::Close { code, reason }),
            (
                prop_oneof![Just("message".to_owned()), ".{0,12}".boxed()],
                text_payload(),
                opt_text()
            )
                .prop_map(|(event, data, id)| Body::Event { event, data, id }),
            text_payload().prop_map(Body::Comment),
            any::<u64>().prop_map(|retry_ms| Body::Retry { retry_ms }),
            (any::<u64>(), any::<u32>(), opt_text()).prop_map(
                |(retry_ms, attempt, last_event_id)| Body::Reconnect {
                    retry_ms,
                    attempt,
                    last_event_id,
                }
            ),
            Just(Body::End),
            (
                ".{0,40}",
                proptest::option::of(cause()),
                proptest::option::of(any::<u16>()),
                proptest::option::of(headers())
            )
                .prop_map(|(message, cause, status, headers)| Body::Error {
                    message,
                    cause,
                    status,
                    headers,
                }),
        ]
    }

    /// Every known code, and codes this build does not know, which must survive too.
    fn cause() -> impl Strategy<Value = streamscope_model::Cause> {
        prop_oneof![
            proptest::sample::select(streamscope_model::Cause::ALL.to_vec()),
            "[a-z_]{1,20}".prop_map(|c| streamscope_model::Cause::parse(&c)),
        ]
    }

    pub(crate) fn timestamp() -> impl Strategy<Value = i64> {
        // Near neighbours as a live connection stamps them, and any i64 at all, which
        // exercises the wrapping delta.
        prop_oneof![
            3 => 1_764_095_198_000_000i64..1_764_095_199_000_000,
            1 => any::<i64>(),
        ]
    }

    pub(crate) fn dir() -> impl Strategy<Value = Dir> {
        prop_oneof![Just(Dir::In), Just(Dir::Out), Just(Dir::Meta)]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn records_of_any_kind_round_trip_through_append_get_and_range(
            items in proptest::collection::vec((timestamp(), dir(), body()), 0..60),
            segment_size in 1usize..600,
            proto in prop_oneof![Just(Proto::Ws), Just(Proto::Sse)],
            page in 1usize..9,
        ) {
            let conn = ConnId(7);
            let records: Vec<Record> = items
                .into_iter()
                .enumerate()
                .map(|(i, (t, dir, body))| Record {
                    t: Timestamp(t),
                    conn,
                    proto,
                    seq: i as u64 + 1,
                    dir,
                    body,
                    wire: None,
                })
                .collect();
            let mut store = MemoryStore::with_segment_size(conn, proto, segment_size);
            for r in &records {
                store.append(r).expect("append");
            }
            prop_assert_eq!(store.len(), records.len() as u64);
            for r in &records {
                prop_assert_eq!(store.get(r.seq), Some(r.clone()));
            }
            let mut paged = Vec::new();
            let mut from = 0;
            loop {
                let before = paged.len();
                store.range(from, page, &mut paged);
                if paged.len() == before {
                    break;
                }
                from = paged.last().map_or(0, |r: &Record| r.seq + 1);
            }
            prop_assert_eq!(paged, records);
        }

        #[test]
        fn corrupt_segment_bytes_read_as_missing_records_without_panicking(
            bytes in proptest::collection::vec(any::<u8>(), 0..64),
            spilled in proptest::collection::vec(any::<u8>(), 0..64),
            cut in 0usize..64,
        ) {
            let (mut store, _) = store_of(3, 1 << 10);
            store.spilled = vec![spilled.into_boxed_slice()];
            let seg = &mut store.segments[0];
            seg.buf.clear();
            seg.buf.extend_from_slice(&bytes);
            let cut = u32::try_from(cut.min(bytes.len())).expect("small");
            seg.starts = vec![0, cut, cut];
            // Whatever still reads back is what it claims to be, in order; the rest is
            // missing, never a panic or a record under another seq.
            for seq in 0..5 {
                if let Some(r) = store.get(seq) {
                    prop_assert_eq!(r.seq, seq);
                    prop_assert_eq!(r.conn, C1);
                }
            }
            let read = range_of(&store, 0, 10);
            prop_assert!(read.len() <= 3);
            prop_assert!(read.windows(2).all(|w| w[0].seq + 1 == w[1].seq), "{read:?}");
            let mut out = Vec::new();
            match store.write_ndjson(&mut out) {
                Ok(()) => {
                    let text = String::from_utf8(out).expect("NDJSON is UTF-8");
                    prop_assert_eq!(text.lines().count(), 3, "a complete export has every record");
                    for line in text.lines() {
                        prop_assert!(Record::from_json(line).is_ok(), "{line}");
                    }
                }
                Err(e) => prop_assert_eq!(e.kind(), io::ErrorKind::InvalidData),
            }
        }
    }

    #[test]
    fn append_rejects_a_seq_gap() {
        let (mut store, _) = store_of(2, SEGMENT_SIZE);
        let err = store.append(&text(4, 0, "x")).expect_err("gap");
        assert_eq!(
            err,
            StoreError::SeqGap {
                conn: C1,
                expected: 3,
                got: 4
            }
        );
        assert_eq!(
            err.to_string(),
            "record seq 4 offered to the recording of c1, which expects seq 3 next"
        );
        assert!(
            store.append(&text(2, 0, "again")).is_err(),
            "a repeated seq"
        );
        assert_eq!(
            store.len(),
            2,
            "a refused record leaves the store as it was"
        );
        store.append(&text(3, 0, "x")).expect("the next seq");
    }

    #[test]
    fn first_record_must_have_seq_one() {
        let mut store = MemoryStore::new(C1, Proto::Ws);
        assert!(matches!(
            store.append(&text(2, 0, "x")),
            Err(StoreError::SeqGap {
                expected: 1,
                got: 2,
                ..
            })
        ));
        assert!(store.is_empty());
    }

    #[test]
    fn append_rejects_a_record_of_another_conn_or_proto() {
        let (mut store, _) = store_of(1, SEGMENT_SIZE);
        let mut other = text(2, 0, "x");
        other.conn = ConnId(2);
        let err = store.append(&other).expect_err("other conn");
        assert_eq!(
            err.to_string(),
            "record of c2 offered to the recording of c1"
        );
        let mut sse = text(2, 0, "x");
        sse.proto = Proto::Sse;
        let err = store.append(&sse).expect_err("other proto");
        assert_eq!(
            err.to_string(),
            "sse record offered to the recording of c1, which is ws"
        );
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn empty_store_holds_no_seqs() {
        let store = MemoryStore::new(C1, Proto::Sse);
        assert_eq!((store.first_seq(), store.last_seq()), (None, None));
        assert_eq!(store.get(1), None);
        assert!(range_of(&store, 0, 10).is_empty());
        let mut out = Vec::new();
        store.write_ndjson(&mut out).expect("export");
        assert!(out.is_empty());
        assert_eq!(store.bytes(), 0, "an unused recording holds no memory");
    }

    #[test]
    fn get_outside_the_recording_is_none() {
        let (store, records) = store_of(5, SEGMENT_SIZE);
        assert_eq!(store.get(0), None);
        assert_eq!(store.get(6), None);
        assert_eq!(store.get(u64::MAX), None);
        assert_eq!(store.get(5).as_ref(), records.last());
        assert_eq!((store.first_seq(), store.last_seq()), (Some(1), Some(5)));
    }

    #[test]
    fn range_from_zero_starts_at_the_first_record() {
        let (store, records) = store_of(10, 64);
        assert_eq!(range_of(&store, 0, 3), records[..3]);
        assert_eq!(range_of(&store, 1, 3), records[..3]);
    }

    #[test]
    fn range_stops_at_the_end_and_is_empty_beyond_it() {
        let (store, records) = store_of(10, 64);
        assert_eq!(range_of(&store, 8, 100), records[7..]);
        assert_eq!(range_of(&store, 10, usize::MAX), records[9..]);
        assert!(range_of(&store, 11, 5).is_empty());
        assert!(range_of(&store, u64::MAX, 5).is_empty());
    }

    #[test]
    fn range_with_limit_zero_is_empty() {
        let (store, _) = store_of(10, 64);
        assert!(range_of(&store, 1, 0).is_empty());
    }

    #[test]
    fn range_appends_to_what_out_holds() {
        let (store, records) = store_of(4, 64);
        let mut out = vec![records[0].clone()];
        store.range(3, 10, &mut out);
        assert_eq!(
            out,
            [&records[0], &records[2], &records[3]].map(Clone::clone)
        );
    }

    #[test]
    fn a_large_record_gets_an_allocation_of_its_own() {
        let mut store = MemoryStore::with_segment_size(C1, Proto::Ws, 256);
        let big = "x".repeat(1000);
        let records = [
            // Bodies over 256 / 32 = 8 bytes spill: these two do not.
            text(1, 5, "hi"),
            text(2, 6, &big),
            text(3, 7, "ok"),
        ];
        for r in &records {
            store.append(r).expect("append");
        }
        assert_eq!(store.segments.len(), 1, "the small ones share a segment");
        assert_eq!(store.spilled.len(), 1);
        assert!(store.spilled[0].len() > 1000);
        for r in &records {
            assert_eq!(store.get(r.seq).as_ref(), Some(r));
        }
    }

    #[test]
    fn large_records_between_small_ones_waste_no_segment_space() {
        let mut store = MemoryStore::new(C1, Proto::Ws);
        let big = "y".repeat(3 << 20);
        let mut payload = 0;
        for seq in 1..=40 {
            let r = text(seq, seq as i64, if seq % 2 == 0 { &big } else { "ping" });
            payload += r.body.size().unwrap_or(0);
            store.append(&r).expect("append");
        }
        assert_eq!(store.segments.len(), 1);
        let overhead = store.bytes() - payload;
        assert!(overhead < 8 << 10, "{overhead} bytes beyond the payload");
    }

    #[test]
    fn segment_buffers_never_grow_once_made() {
        let (store, _) = store_of(2_000, 1 << 12);
        assert!(store.segments.len() > 1);
        for seg in &store.segments {
            assert!(seg.buf.len() <= seg.buf.capacity());
            assert!(seg.buf.capacity() <= 1 << 12);
        }
    }

    #[test]
    fn export_is_the_records_json_lines() {
        let records = vec![
            Record {
                t: Timestamp(1_764_095_198_123_456),
                conn: ConnId(4),
                proto: Proto::Sse,
                seq: 1,
                dir: Dir::Meta,
                body: Body::Open {
                    status: 200,
                    headers: vec![("content-type".into(), "text/event-stream".into())],
                    subprotocol: None,
                },
                wire: None,
            },
            Record {
                t: Timestamp(1_764_095_198_123_500),
                conn: ConnId(4),
                proto: Proto::Sse,
                seq: 2,
                dir: Dir::In,
                body: Body::Event {
                    event: "message".into(),
                    data: "a\nb \"q\"".into(),
                    id: Some("7".into()),
                },
                wire: None,
            },
            Record {
                t: Timestamp(1_764_095_198_124_000),
                conn: ConnId(4),
                proto: Proto::Sse,
                seq: 3,
                dir: Dir::Meta,
                body: Body::End,
                wire: None,
            },
        ];
        let mut store = MemoryStore::with_segment_size(ConnId(4), Proto::Sse, 32);
        let mut expected = String::new();
        for r in &records {
            store.append(r).expect("append");
            expected.push_str(&r.to_json());
            expected.push('\n');
        }
        // More than one export batch, so batches join correctly.
        for seq in 4..=200 {
            let r = Record {
                t: Timestamp(1_764_095_198_124_000 + seq as i64),
                conn: ConnId(4),
                proto: Proto::Sse,
                seq,
                dir: Dir::In,
                body: Body::Comment(format!(" keep-alive {seq}")),
                wire: None,
            };
            store.append(&r).expect("append");
            expected.push_str(&r.to_json());
            expected.push('\n');
        }
        let mut out = Vec::new();
        store.write_ndjson(&mut out).expect("export");
        assert_eq!(String::from_utf8(out).expect("utf-8"), expected);
    }

    #[test]
    fn export_of_a_corrupt_store_fails_instead_of_shortening() {
        let (mut store, _) = store_of(3, SEGMENT_SIZE);
        let second = store.segments[0].starts[1] as usize;
        // The second record's tag byte follows its one-byte time delta.
        store.segments[0].buf[second + 1] = 0xff;
        assert_eq!(store.get(2), None);
        assert_eq!(range_of(&store, 1, 10).len(), 1);
        let err = store.write_ndjson(&mut Vec::new()).expect_err("corrupt");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("seq 2"), "{err}");
    }

    #[test]
    fn hundred_thousand_small_text_records_cost_little_more_than_their_payload() {
        const N: u64 = 100_000;
        let payload = "x".repeat(64);
        let mut store = MemoryStore::new(C1, Proto::Ws);
        for seq in 1..=N {
            // 10 µs apart: 100,000 frames/s, the rate DESIGN.md asks the UI to keep up with.
            let r = text(seq, 1_764_095_198_000_000 + seq as i64 * 10, &payload);
            store.append(&r).expect("append");
        }
        let per_record = store.bytes() as f64 / N as f64;
        assert!(per_record < 100.0, "{per_record} bytes per record");
        // The compactness target: at most ~24 bytes beyond the payload.
        assert!(per_record - 64.0 < 24.0, "{per_record} bytes per record");
        assert_eq!(store.get(N).map(|r| r.body), Some(Body::Text(payload)));
    }
}
