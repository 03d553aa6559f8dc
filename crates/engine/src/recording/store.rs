//! The store interface: what every recording keeps (append in `seq` order, read back by
//! `seq`, export as NDJSON) and why a store refuses a record. Implementations: `memory`.

use std::io;

use streamscope_model::{ConnId, Proto, Record};

/// Why a store did not take a record. Nothing is dropped silently: the caller decides
/// what a refused record means (for a connection task, a bug or a full memory).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
// A disk store will add its own causes (I/O); callers must not assume this list is final.
#[non_exhaustive]
pub enum StoreError {
    #[error("record of {got} offered to the recording of {expected}")]
    WrongConn { expected: ConnId, got: ConnId },
    #[error(
        "{} record offered to the recording of {conn}, which is {}",
        .got.as_str(),
        .expected.as_str()
    )]
    WrongProto {
        conn: ConnId,
        expected: Proto,
        got: Proto,
    },
    #[error(
        "record seq {got} offered to the recording of {conn}, which expects seq {expected} next"
    )]
    SeqGap {
        conn: ConnId,
        expected: u64,
        got: u64,
    },
    #[error("recording of {conn} could not get {bytes} more bytes of memory")]
    OutOfMemory { conn: ConnId, bytes: usize },
    #[error("the recording of {conn} was opened to read; it takes no new records")]
    ReadOnly { conn: ConnId },
}

/// One connection's recording: its records in `seq` order, readable by `seq`.
///
/// Invariants every implementation keeps: the records are those of one connection (one
/// `conn`, one `proto`); their `seq`s run without gaps from [`first_seq`] to
/// [`last_seq`]; a record, once appended, reads back equal to what was appended.
///
/// [`first_seq`]: RecordStore::first_seq
/// [`last_seq`]: RecordStore::last_seq
pub trait RecordStore: Send {
    /// Keeps `r` as the next record. Records arrive with `seq` 1, 2, 3 …; a record of
    /// another connection or protocol, or one whose `seq` is not the next, is refused,
    /// as is one the store has no room for; a refused record changes no recorded one.
    fn append(&mut self, r: &Record) -> Result<(), StoreError>;

    /// How many records the store holds.
    fn len(&self) -> u64;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `seq` of the oldest record held, `None` when empty.
    fn first_seq(&self) -> Option<u64>;

    /// The `seq` of the newest record held, `None` when empty.
    fn last_seq(&self) -> Option<u64>;

    /// The record with this `seq`; `None` when it is not held or cannot be read back.
    fn get(&self, seq: u64) -> Option<Record>;

    /// Appends to `out` (without clearing it) the records with `seq >= from_seq`, in
    /// order, at most `limit` of them. Fewer than asked means the end was reached, or,
    /// in a corrupt store only, that the next record could not be read back; callers
    /// that must tell the two apart compare with [`last_seq`](RecordStore::last_seq).
    fn range(&self, from_seq: u64, limit: usize, out: &mut Vec<Record>);

    /// Memory the store holds, in bytes: what its allocations reserve, not only what is
    /// filled, so that summing it over connections bounds the process's recordings.
    fn bytes(&self) -> usize;

    /// Whether records appended are waiting for [`flush`](RecordStore::flush) to be
    /// made durable. A store in memory never is.
    fn unsealed(&self) -> bool {
        false
    }

    /// Hands what waits in memory on to durable storage, without waiting for it.
    fn flush(&mut self) {}

    /// Writes every record as NDJSON (CONTRACT.md), one line each, oldest first.
    ///
    /// A record that cannot be read back ends the export with an `InvalidData` error
    /// rather than a silently shorter file.
    fn write_ndjson(&self, w: &mut dyn io::Write) -> io::Result<()> {
        // Read in small batches: a batch of large records is decoded at once, so this
        // bounds the memory an export takes; the buffer keeps writes large.
        const BATCH: usize = 64;
        const FLUSH_AT: usize = 64 * 1024;
        let (Some(first), Some(last)) = (self.first_seq(), self.last_seq()) else {
            return Ok(());
        };
        let mut records = Vec::with_capacity(BATCH);
        let mut buf = Vec::with_capacity(FLUSH_AT + 1024);
        let mut next = first;
        while next <= last {
            records.clear();
            self.range(next, BATCH, &mut records);
            if records.is_empty() {
                return Err(unreadable(next));
            }
            for r in &records {
                if r.seq != next {
                    return Err(unreadable(next));
                }
                r.write_ndjson(&mut buf);
                if buf.len() >= FLUSH_AT {
                    w.write_all(&buf)?;
                    buf.clear();
                }
                next += 1;
            }
        }
        w.write_all(&buf)?;
        w.flush()
    }
}

fn unreadable(seq: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("record seq {seq} cannot be read back from the recording"),
    )
}
