//! Recordings on disk: a library of sessions in a data directory, each connection's
//! records in an append-only segment file, and SQLite for the catalogue and the index.
//!
//! ```text
//! DIR/catalog.sqlite            sessions, connections, the block index (catalog.rs)
//! DIR/sessions/S/cN.seg         connection N of session S: blocks back to back (block.rs)
//! ```
//!
//! A [`DiskStore`] keeps the block being filled and the newest blocks in memory (the live
//! tail, [`TAIL_BYTES`]) and reads older ones back from its file. Sealed blocks go to the
//! writer thread (writer.rs), which writes them at once and indexes them in short
//! transactions. A block is sealed when it reaches [`BLOCK_BYTES`], or by the session's
//! pump within [`SEAL_AFTER`] of its first record, so a killed process loses at most the
//! records of the last `SEAL_AFTER`. Opening a session reads the index and then scans each
//! file past its last indexed block, so blocks written but not yet indexed are found.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::Connection;
use streamscope_model::{ConnId, Proto, Record, Timestamp};

use super::store::{RecordStore, StoreError};

mod block;
mod catalog;
mod writer;

use block::{BlockRef, Builder, HEADER_LEN};
pub use catalog::{ConnRow, SCHEMA_VERSION, SessionRow};

/// A block is sealed once its payload reaches this.
pub const BLOCK_BYTES: usize = 64 << 10;
/// Sealed blocks a store keeps in memory, in bytes, besides the one being filled; older
/// ones are read back from the file.
pub const TAIL_BYTES: usize = 1 << 20;
/// The longest a record waits in an unsealed block before the pump seals it.
pub const SEAL_AFTER: Duration = Duration::from_millis(40);
/// Disk all sessions may take together, by default: 4 GiB.
pub const DEFAULT_DISK_BUDGET: u64 = 4 << 30;

/// Why the library cannot do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error("{0}")]
    Io(String),
    #[error("no session {0} in the library")]
    UnknownSession(i64),
    #[error("session {0} is recording now; it can be deleted once the app it runs in stops")]
    Live(i64),
}

fn io_err(what: impl std::fmt::Display) -> LibraryError {
    LibraryError::Io(what.to_string())
}

/// A connection to import: what it was and its records.
#[derive(Debug, Clone)]
pub struct ImportedRecording {
    pub proto: Proto,
    pub url: String,
    pub name: String,
    pub records: Vec<Record>,
}

/// A session as listed: the catalogue's row with its totals.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionSummary {
    pub id: i64,
    pub name: String,
    pub started: Timestamp,
    /// When it ended, or its last record's time when it did not end properly.
    pub ended: Option<Timestamp>,
    pub origin: String,
    pub conns: u64,
    pub records: u64,
    /// Bytes its segment files take.
    pub bytes: u64,
    /// Whether it is the one recording now.
    pub live: bool,
}

/// The sessions in one data directory. One per directory per process.
pub struct Library {
    dir: PathBuf,
    db: Mutex<Connection>,
    ops: Mutex<Option<writer::Ops>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    shared: Arc<writer::Shared>,
    budget: u64,
    live: Mutex<Vec<i64>>,
}

impl std::fmt::Debug for Library {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Library").field("dir", &self.dir).finish()
    }
}

impl Library {
    /// Opens the library in `dir`, creating the directory and catalogue if need be.
    pub fn open(dir: &Path, disk_budget: u64) -> Result<Arc<Library>, LibraryError> {
        std::fs::create_dir_all(dir.join("sessions")).map_err(|e| {
            io_err(format!(
                "cannot create the data directory {}: {e}",
                dir.display()
            ))
        })?;
        let path = dir.join("catalog.sqlite");
        let db = catalog::open(&path).map_err(io_err)?;
        let write_db = catalog::open(&path).map_err(io_err)?;
        let shared = Arc::new(writer::Shared::default());
        shared
            .disk_used
            .store(dir_size(&dir.join("sessions")), Ordering::Relaxed);
        repair(&db, &dir.join("sessions"));
        let (tx, rx) = mpsc::channel();
        let thread = writer::spawn(write_db, rx, Arc::clone(&shared))
            .map_err(|e| io_err(format!("cannot start the recording writer: {e}")))?;
        Ok(Arc::new(Library {
            dir: dir.to_owned(),
            db: Mutex::new(db),
            ops: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
            shared,
            budget: disk_budget,
            live: Mutex::new(Vec::new()),
        }))
    }

    /// Opens the library that `dir` already holds, for reading and managing it; an error
    /// says so when there is none.
    pub fn open_existing(dir: &Path) -> Result<Arc<Library>, LibraryError> {
        if !dir.join("catalog.sqlite").is_file() {
            return Err(io_err(format!(
                "{} holds no recorded sessions (no catalog.sqlite): give the --data-dir \
                 that `sscope serve` or the app records to",
                dir.display()
            )));
        }
        Library::open(dir, u64::MAX)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn db(&self) -> MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn send(&self, op: writer::Op) {
        if let Some(tx) = &*self.ops.lock().unwrap_or_else(PoisonError::into_inner) {
            let _ = tx.send(op);
        }
    }

    fn ops(&self) -> Option<writer::Ops> {
        self.ops
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Bytes the sessions take on disk, and the budget.
    pub fn disk_use(&self) -> (u64, u64) {
        (self.shared.disk_used.load(Ordering::Relaxed), self.budget)
    }

    /// Why recording cannot go on, if it cannot: the disk budget is spent, or a write
    /// failed.
    pub fn stop_reason(&self) -> Option<String> {
        if let Some(why) = self
            .shared
            .failed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
        {
            return Some(why);
        }
        let (used, budget) = self.disk_use();
        (used >= budget).then(|| {
            format!(
                "recording stopped: the sessions on disk reached their budget of {} MiB \
                 (delete sessions in the library, or raise the budget)",
                budget >> 20
            )
        })
    }

    /// Starts a session that records from now on.
    pub fn begin_session(&self, name: &str, origin: &str) -> Result<i64, LibraryError> {
        let id = catalog::insert_session(&self.db(), name, Timestamp::now().0, origin)
            .map_err(io_err)?;
        std::fs::create_dir_all(self.session_dir(id)).map_err(io_err)?;
        if origin == "live" {
            self.live
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(id);
        }
        Ok(id)
    }

    /// Marks a session ended (its duration ends here).
    pub fn end_session(&self, id: i64) {
        self.end_session_at(id, Timestamp::now());
    }

    fn end_session_at(&self, id: i64, ended: Timestamp) {
        self.send(writer::Op::EndSession {
            session: id,
            ended: ended.0,
        });
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|s| *s != id);
    }

    fn session_dir(&self, id: i64) -> PathBuf {
        self.dir.join("sessions").join(id.to_string())
    }

    fn seg_path(&self, session: i64, conn: u32) -> PathBuf {
        self.session_dir(session).join(format!("c{conn}.seg"))
    }

    /// A new, empty recording for connection `id` of `session`.
    pub fn create_store(
        &self,
        session: i64,
        id: ConnId,
        proto: Proto,
        url: &str,
        name: &str,
        settings: Option<String>,
    ) -> Result<DiskStore, LibraryError> {
        let path = self.seg_path(session, id.0);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| io_err(format!("cannot create {}: {e}", path.display())))?;
        self.send(writer::Op::Conn {
            session,
            row: ConnRow {
                conn: id.0,
                proto,
                url: url.to_owned(),
                name: name.to_owned(),
                settings,
                opened: Timestamp::now().0,
            },
        });
        Ok(DiskStore {
            conn: id,
            proto,
            session,
            catalog_conn: id.0,
            file: Some(Arc::new(file)),
            blocks: Vec::new(),
            cache: VecDeque::new(),
            cache_bytes: 0,
            builder: Builder::default(),
            next_offset: 0,
            len: 0,
            written: Arc::new(AtomicU64::new(0)),
            ops: self.ops(),
        })
    }

    /// Keeps imported connections as a new session named `name` (origin `import`), its
    /// start and end the first and last record's times. Each connection's records must
    /// run `seq` 1, 2, 3 …; they are written under the connection's place in the list.
    /// Returns the session's id once everything is written and indexed.
    pub fn import(&self, name: &str, conns: Vec<ImportedRecording>) -> Result<i64, LibraryError> {
        let first = conns
            .iter()
            .filter_map(|c| c.records.first().map(|r| r.t))
            .min()
            .unwrap_or_else(Timestamp::now);
        let last = conns
            .iter()
            .filter_map(|c| c.records.last().map(|r| r.t))
            .max()
            .unwrap_or(first);
        let id = catalog::insert_session(&self.db(), name, first.0, "import").map_err(io_err)?;
        std::fs::create_dir_all(self.session_dir(id)).map_err(io_err)?;
        let written = (|| -> Result<(), LibraryError> {
            for (i, c) in conns.into_iter().enumerate() {
                let conn = ConnId(u32::try_from(i + 1).unwrap_or(u32::MAX));
                let mut store = self.create_store(id, conn, c.proto, &c.url, &c.name, None)?;
                for mut r in c.records {
                    r.conn = conn;
                    store
                        .append(&r)
                        .map_err(|e| io_err(format!("connection {} of the import: {e}", i + 1)))?;
                }
                store.flush();
            }
            Ok(())
        })();
        if let Err(e) = written {
            // Nothing half-way: the session goes, with what was written of it.
            self.flush();
            let _ = self.delete(id);
            return Err(e);
        }
        self.end_session_at(id, last);
        self.flush();
        Ok(id)
    }

    /// Keeps a connection's settings (JSON, without secrets) with its recording, for
    /// "connect again".
    pub fn set_settings(&self, session: i64, conn: ConnId, settings: String) {
        self.send(writer::Op::Settings {
            session,
            conn: conn.0,
            settings,
        });
    }

    /// Commits everything written so far to the index; returns when done.
    pub fn flush(&self) {
        let (tx, rx) = mpsc::sync_channel(1);
        self.send(writer::Op::Flush(tx));
        let _ = rx.recv_timeout(Duration::from_secs(10));
    }

    /// Finishes writing and stops the writer thread. Stores made before keep reading.
    pub fn close(&self) {
        if let Some(tx) = self
            .ops
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = tx.send(writer::Op::Stop);
        }
        if let Some(t) = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = t.join();
        }
    }

    /// Every session, oldest first, with its totals.
    pub fn sessions(&self) -> Result<Vec<SessionSummary>, LibraryError> {
        let db = self.db();
        let live = self
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let rows = catalog::sessions(&db).map_err(io_err)?;
        let mut out = Vec::with_capacity(rows.len());
        for s in rows {
            out.push(self.summary(&db, s, &live)?);
        }
        Ok(out)
    }

    /// One session with its totals.
    pub fn session(&self, id: i64) -> Result<SessionSummary, LibraryError> {
        let db = self.db();
        let live = self
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let row = catalog::session(&db, id)
            .map_err(io_err)?
            .ok_or(LibraryError::UnknownSession(id))?;
        self.summary(&db, row, &live)
    }

    fn summary(
        &self,
        db: &Connection,
        s: SessionRow,
        live: &[i64],
    ) -> Result<SessionSummary, LibraryError> {
        let (records, bytes, last_t) = catalog::totals(db, s.id).map_err(io_err)?;
        let conns = catalog::conn_count(db, s.id).map_err(io_err)?;
        Ok(SessionSummary {
            id: s.id,
            name: s.name,
            started: Timestamp(s.started),
            ended: s.ended.or(last_t).map(Timestamp),
            origin: s.origin,
            conns,
            records,
            bytes,
            live: live.contains(&s.id),
        })
    }

    pub fn rename(&self, id: i64, name: &str) -> Result<(), LibraryError> {
        let n = self
            .db()
            .execute(
                "UPDATE sessions SET name = ?2 WHERE id = ?1",
                rusqlite::params![id, name],
            )
            .map_err(io_err)?;
        if n == 0 {
            return Err(LibraryError::UnknownSession(id));
        }
        Ok(())
    }

    /// Deletes a session that is not recording: its catalogue rows and its files.
    pub fn delete(&self, id: i64) -> Result<(), LibraryError> {
        if self
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&id)
        {
            return Err(LibraryError::Live(id));
        }
        let bytes = dir_size(&self.session_dir(id));
        {
            let db = self.db();
            let tx = db.unchecked_transaction().map_err(io_err)?;
            tx.execute("DELETE FROM blocks WHERE session = ?1", [id])
                .map_err(io_err)?;
            tx.execute("DELETE FROM conns WHERE session = ?1", [id])
                .map_err(io_err)?;
            let n = tx
                .execute("DELETE FROM sessions WHERE id = ?1", [id])
                .map_err(io_err)?;
            if n == 0 {
                return Err(LibraryError::UnknownSession(id));
            }
            tx.commit().map_err(io_err)?;
        }
        let _ = std::fs::remove_dir_all(self.session_dir(id));
        let _ = self
            .shared
            .disk_used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                Some(u.saturating_sub(bytes))
            });
        Ok(())
    }

    /// The connections of a session, each with a read-only store; `id_for` names each
    /// recording in the process that reads it (records carry that `conn`).
    pub fn open_session(
        &self,
        id: i64,
        mut id_for: impl FnMut(&ConnRow) -> ConnId,
    ) -> Result<Vec<(ConnRow, DiskStore)>, LibraryError> {
        let (rows, indexed) = {
            let db = self.db();
            catalog::session(&db, id)
                .map_err(io_err)?
                .ok_or(LibraryError::UnknownSession(id))?;
            let rows = catalog::conns(&db, id).map_err(io_err)?;
            let mut indexed = Vec::with_capacity(rows.len());
            for r in &rows {
                indexed.push(catalog::blocks(&db, id, r.conn).map_err(io_err)?);
            }
            (rows, indexed)
        };
        let mut out = Vec::with_capacity(rows.len());
        for (row, mut blocks) in rows.into_iter().zip(indexed) {
            let path = self.seg_path(id, row.conn);
            let Ok(file) = File::open(&path) else {
                // A connection whose file is gone has nothing to show; list it empty.
                out.push((row.clone(), DiskStore::empty(id_for(&row), row.proto)));
                continue;
            };
            recover_tail(&file, &mut blocks);
            let len = blocks.last().map_or(0, BlockRef::last_seq);
            let next_offset = blocks.last().map_or(0, BlockRef::end);
            let store = DiskStore {
                conn: id_for(&row),
                proto: row.proto,
                session: id,
                catalog_conn: row.conn,
                file: Some(Arc::new(file)),
                blocks,
                cache: VecDeque::new(),
                cache_bytes: 0,
                builder: Builder::default(),
                next_offset,
                len,
                written: Arc::new(AtomicU64::new(next_offset)),
                ops: None,
            };
            out.push((row, store));
        }
        Ok(out)
    }
}

impl Drop for Library {
    fn drop(&mut self) {
        self.close();
    }
}

/// Indexes the blocks of sessions that did not end properly (a crash, a kill) that were
/// written but not yet indexed, so listings count them. Best effort: a session it cannot
/// repair is read the same way when opened.
fn repair(db: &Connection, sessions_dir: &Path) {
    let Ok(rows) = catalog::sessions(db) else {
        return;
    };
    for s in rows.iter().filter(|s| s.ended.is_none()) {
        let Ok(conns) = catalog::conns(db, s.id) else {
            continue;
        };
        for c in conns {
            let Ok(mut blocks) = catalog::blocks(db, s.id, c.conn) else {
                continue;
            };
            let known = blocks.len();
            let path = sessions_dir
                .join(s.id.to_string())
                .join(format!("c{}.seg", c.conn));
            let Ok(file) = File::open(&path) else {
                continue;
            };
            recover_tail(&file, &mut blocks);
            for b in &blocks[known..] {
                let _ = catalog::insert_block(db, s.id, c.conn, b);
            }
        }
    }
}

/// Adds to `blocks` the whole blocks found in `file` after the last one listed (written
/// before a crash, not yet indexed). Stops at the first piece that is not a whole block
/// with the next seq.
fn recover_tail(file: &File, blocks: &mut Vec<BlockRef>) {
    let Ok(size) = file.metadata().map(|m| m.len()) else {
        return;
    };
    let mut offset = blocks.last().map_or(0, BlockRef::end);
    let mut next_seq = blocks.last().map_or(1, |b| b.last_seq() + 1);
    let mut header = [0u8; HEADER_LEN];
    while offset + HEADER_LEN as u64 <= size {
        if writer::read_at(file, &mut header, offset).is_err() {
            return;
        }
        let Some((b, crc)) = block::parse_header(&header, offset) else {
            return;
        };
        if b.first_seq != next_seq || b.end() > size {
            return;
        }
        let mut payload = vec![0u8; b.len as usize];
        if writer::read_at(file, &mut payload, offset + HEADER_LEN as u64).is_err()
            || !block::payload_ok(&payload, crc)
        {
            return;
        }
        blocks.push(b);
        next_seq = b.last_seq() + 1;
        offset = b.end();
    }
}

fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// A connection's recording on disk, with its newest records in memory.
pub struct DiskStore {
    conn: ConnId,
    proto: Proto,
    session: i64,
    catalog_conn: u32,
    /// `None` for a connection whose file is gone: it holds nothing.
    file: Option<Arc<File>>,
    /// Every sealed block, in seq order.
    blocks: Vec<BlockRef>,
    /// The newest sealed blocks' bytes (header included): the last `cache.len()` of
    /// `blocks`.
    cache: VecDeque<Arc<[u8]>>,
    cache_bytes: usize,
    builder: Builder,
    next_offset: u64,
    len: u64,
    /// How far the writer has written the file.
    written: Arc<AtomicU64>,
    /// `None` for a recording opened to read.
    ops: Option<writer::Ops>,
}

impl std::fmt::Debug for DiskStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskStore")
            .field("conn", &self.conn)
            .field("session", &self.session)
            .field("len", &self.len)
            .field("blocks", &self.blocks.len())
            .finish()
    }
}

impl DiskStore {
    fn empty(conn: ConnId, proto: Proto) -> DiskStore {
        DiskStore {
            conn,
            proto,
            session: 0,
            catalog_conn: 0,
            file: None,
            blocks: Vec::new(),
            cache: VecDeque::new(),
            cache_bytes: 0,
            builder: Builder::default(),
            next_offset: 0,
            len: 0,
            written: Arc::new(AtomicU64::new(0)),
            ops: None,
        }
    }

    pub fn session(&self) -> i64 {
        self.session
    }

    /// The same recording, its records carrying `conn` (the id it is shown under).
    pub fn renamed(mut self, conn: ConnId) -> Self {
        self.conn = conn;
        self
    }

    /// Index of the first cached block.
    fn first_cached(&self) -> usize {
        self.blocks.len() - self.cache.len()
    }

    fn evict(&mut self) {
        let written = self.written.load(Ordering::Acquire);
        while self.cache_bytes > TAIL_BYTES {
            let i = self.first_cached();
            let Some(b) = self.blocks.get(i) else { break };
            if b.end() > written {
                break;
            }
            if let Some(bytes) = self.cache.pop_front() {
                self.cache_bytes -= bytes.len();
            }
        }
    }

    /// The payload of block `i`: from memory if cached, else read from the file.
    fn payload(&self, i: usize) -> Option<Arc<[u8]>> {
        let b = self.blocks.get(i)?;
        if i >= self.first_cached() {
            let whole = self.cache.get(i - self.first_cached())?;
            return Some(Arc::from(whole.get(HEADER_LEN..)?));
        }
        let mut buf = vec![0u8; b.len as usize];
        writer::read_at(self.file.as_ref()?, &mut buf, b.offset + HEADER_LEN as u64).ok()?;
        Some(Arc::from(buf))
    }
}

impl RecordStore for DiskStore {
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
        if r.seq != self.len + 1 {
            return Err(StoreError::SeqGap {
                conn: self.conn,
                expected: self.len + 1,
                got: r.seq,
            });
        }
        if self.ops.is_none() {
            return Err(StoreError::ReadOnly { conn: self.conn });
        }
        self.builder.push(r);
        self.len += 1;
        if self.builder.payload.len() >= BLOCK_BYTES {
            self.flush();
        }
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
        let mut out = Vec::with_capacity(1);
        self.range(seq, 1, &mut out);
        out.pop().filter(|r| r.seq == seq)
    }

    fn range(&self, from_seq: u64, limit: usize, out: &mut Vec<Record>) {
        let mut next = from_seq.max(1);
        let mut left = limit;
        let start = self.blocks.partition_point(|b| b.last_seq() < next);
        for i in start..self.blocks.len() {
            if left == 0 {
                return;
            }
            let b = &self.blocks[i];
            let Some(payload) = self.payload(i) else {
                return;
            };
            let before = out.len();
            let skip = usize::try_from(next.saturating_sub(b.first_seq)).unwrap_or(usize::MAX);
            block::decode_records(b, &payload, self.conn, self.proto, skip, left, out);
            let got = out.len() - before;
            left -= got;
            next += got as u64;
            if next <= b.last_seq() && left > 0 {
                // A record did not decode: stop rather than skip it.
                return;
            }
        }
        if left > 0 && !self.builder.is_empty() {
            let pending = BlockRef {
                first_seq: self.builder.first_seq,
                count: u32::try_from(self.builder.starts.len()).unwrap_or(u32::MAX),
                offset: 0,
                len: 0,
                first_t: self.builder.first_t,
                last_t: self.builder.last_t,
            };
            if next >= pending.first_seq {
                let skip = usize::try_from(next - pending.first_seq).unwrap_or(usize::MAX);
                block::decode_records(
                    &pending,
                    &self.builder.payload,
                    self.conn,
                    self.proto,
                    skip,
                    left,
                    out,
                );
            }
        }
    }

    fn bytes(&self) -> usize {
        self.cache_bytes
            + self.builder.payload.capacity()
            + self.blocks.capacity() * size_of::<BlockRef>()
    }

    fn unsealed(&self) -> bool {
        !self.builder.is_empty()
    }

    fn flush(&mut self) {
        if self.builder.is_empty() {
            return;
        }
        let (Some(ops), Some(file)) = (&self.ops, &self.file) else {
            return;
        };
        let (block, bytes) = self.builder.seal(self.next_offset);
        let bytes: Arc<[u8]> = Arc::from(bytes);
        self.next_offset = block.end();
        self.blocks.push(block);
        self.cache_bytes += bytes.len();
        self.cache.push_back(Arc::clone(&bytes));
        let _ = ops.send(writer::Op::Block {
            session: self.session,
            conn: self.catalog_conn,
            file: Arc::clone(file),
            block,
            bytes,
            written: Arc::clone(&self.written),
        });
        self.evict();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use streamscope_model::{Body, Dir};

    /// A fresh directory under the system's temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            static NEXT: AtomicU64 = AtomicU64::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!(
                "streamscope-disk-{name}-{}-{n}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn rec(conn: ConnId, seq: u64, size: usize) -> Record {
        Record {
            t: Timestamp(1_800_000_000_000_000 + seq as i64 * 10),
            conn,
            proto: Proto::Ws,
            seq,
            dir: if seq % 3 == 0 { Dir::Out } else { Dir::In },
            body: Body::Text(format!("{seq:08}{}", "x".repeat(size))),
            wire: None,
        }
    }

    /// A fresh library with a live session and an empty recording of `id` in it. The
    /// directory goes last, after the library has stopped writing to it.
    fn recording(
        name: &str,
        budget: u64,
        id: ConnId,
        proto: Proto,
    ) -> (TempDir, Arc<Library>, i64, DiskStore) {
        let dir = TempDir::new(name);
        let lib = Library::open(&dir.0, budget).expect("library");
        let session = lib.begin_session("s", "live").expect("session");
        let store = lib
            .create_store(session, id, proto, "ws://x/", "x", None)
            .expect("store");
        (dir, lib, session, store)
    }

    fn all(store: &dyn RecordStore) -> Vec<Record> {
        let mut out = Vec::new();
        store.range(1, usize::MAX, &mut out);
        out
    }

    #[test]
    fn records_read_back_from_memory_and_from_the_file_alike_and_memory_stays_bounded() {
        let id = ConnId(7);
        let (_dir, lib, session, mut store) =
            recording("readback", DEFAULT_DISK_BUDGET, id, Proto::Ws);
        // About 20 MiB: far more than the tail kept in memory.
        let n = 80_000;
        for seq in 1..=n {
            store.append(&rec(id, seq, 250)).expect("append");
        }
        store.flush();
        lib.flush();
        store.evict();
        assert!(
            store.bytes() < 2 * TAIL_BYTES + BLOCK_BYTES,
            "memory {} for {} blocks",
            store.bytes(),
            store.blocks.len()
        );
        let got = all(&store);
        assert_eq!(got.len() as u64, n);
        for (i, r) in got.iter().enumerate() {
            assert_eq!(*r, rec(id, i as u64 + 1, 250));
        }
        // A page from the middle, from the file.
        let mut page = Vec::new();
        store.range(40_000, 3, &mut page);
        assert_eq!(
            page.iter().map(|r| r.seq).collect::<Vec<_>>(),
            [40_000, 40_001, 40_002]
        );
        assert_eq!(store.get(n), Some(rec(id, n, 250)));
        assert_eq!(store.get(n + 1), None);

        // Opened again, from the index alone.
        let opened = lib.open_session(session, |_| ConnId(99)).expect("open");
        assert_eq!(opened.len(), 1);
        let (row, again) = &opened[0];
        assert_eq!((row.conn, row.url.as_str()), (7, "ws://x/"));
        assert_eq!(again.len(), n);
        assert_eq!(
            again.get(12_345).map(|r| (r.conn, r.seq)),
            Some((ConnId(99), 12_345))
        );
    }

    #[test]
    fn a_store_refuses_gaps_other_connections_and_appends_when_opened_to_read() {
        let id = ConnId(1);
        let (_dir, lib, session, mut store) =
            recording("refuse", DEFAULT_DISK_BUDGET, id, Proto::Ws);
        assert!(matches!(
            store.append(&rec(id, 2, 1)),
            Err(StoreError::SeqGap {
                expected: 1,
                got: 2,
                ..
            })
        ));
        assert!(matches!(
            store.append(&rec(ConnId(2), 1, 1)),
            Err(StoreError::WrongConn { .. })
        ));
        store.append(&rec(id, 1, 1)).expect("append");
        store.flush();
        lib.flush();
        let mut opened = lib.open_session(session, |_| id).expect("open");
        let (_, read) = &mut opened[0];
        assert!(matches!(
            read.append(&rec(id, 2, 1)),
            Err(StoreError::ReadOnly { .. })
        ));
    }

    #[test]
    fn blocks_written_but_not_indexed_are_found_and_a_cut_block_is_left_out() {
        let id = ConnId(3);
        let (_dir, lib, session, mut store) =
            recording("recover", DEFAULT_DISK_BUDGET, id, Proto::Ws);
        for seq in 1..=10 {
            store.append(&rec(id, seq, 10)).expect("append");
            store.flush();
        }
        lib.flush();
        // The index forgets its last four blocks, as after a kill before their commit,
        // and the file gets half a block more, as after a kill during a write.
        {
            let db = lib.db();
            db.execute(
                "DELETE FROM blocks WHERE session = ?1 AND first_seq > 6",
                [session],
            )
            .expect("delete");
        }
        let path = lib.seg_path(session, id.0);
        let mut bytes = std::fs::read(&path).expect("read");
        let whole = bytes.len();
        let mut cut = Builder::default();
        cut.push(&rec(id, 11, 10));
        let (_, eleventh) = cut.seal(whole as u64);
        bytes.extend_from_slice(&eleventh[..eleventh.len() - 3]);
        std::fs::write(&path, &bytes).expect("write");

        let opened = lib.open_session(session, |_| id).expect("open");
        let (_, store) = &opened[0];
        assert_eq!(
            store.len(),
            10,
            "the four unindexed blocks are back, the cut one is not"
        );
        assert_eq!(
            all(store),
            (1..=10).map(|s| rec(id, s, 10)).collect::<Vec<_>>()
        );
    }

    #[test]
    fn an_import_is_a_session_of_its_own_and_deleting_it_removes_its_files() {
        let dir = TempDir::new("import");
        let lib = Library::open(&dir.0, DEFAULT_DISK_BUDGET).expect("library");
        let live = lib.begin_session("now", "live").expect("live");
        let conns = vec![
            ImportedRecording {
                proto: Proto::Ws,
                url: "wss://a/".into(),
                name: "a".into(),
                records: (1..=5).map(|s| rec(ConnId(40), s, 3)).collect(),
            },
            ImportedRecording {
                proto: Proto::Ws,
                url: "wss://b/".into(),
                name: "b".into(),
                records: (1..=2).map(|s| rec(ConnId(41), s, 3)).collect(),
            },
        ];
        let id = lib.import("file.har", conns).expect("import");
        let s = lib.session(id).expect("summary");
        assert_eq!((s.conns, s.records, s.origin.as_str()), (2, 7, "import"));
        assert_eq!(s.started, Timestamp(1_800_000_000_000_010));
        assert_eq!(s.ended, Some(Timestamp(1_800_000_000_000_050)));
        let opened = lib.open_session(id, |r| ConnId(r.conn)).expect("open");
        assert_eq!(opened[1].1.get(2).map(|r| r.conn), Some(ConnId(2)));
        lib.rename(id, "renamed").expect("rename");
        assert_eq!(lib.session(id).expect("summary").name, "renamed");
        assert!(matches!(lib.delete(live), Err(LibraryError::Live(_))));
        lib.delete(id).expect("delete");
        assert!(!lib.session_dir(id).exists());
        assert!(matches!(
            lib.session(id),
            Err(LibraryError::UnknownSession(_))
        ));
        assert_eq!(lib.sessions().expect("list").len(), 1);
    }

    #[test]
    fn a_spent_disk_budget_is_a_reason_to_stop() {
        let id = ConnId(1);
        let (_dir, lib, _, mut store) = recording("budget", 1000, id, Proto::Ws);
        assert_eq!(lib.stop_reason(), None);
        for seq in 1..=20 {
            store.append(&rec(id, seq, 100)).expect("append");
        }
        store.flush();
        lib.flush();
        let why = lib.stop_reason().expect("over budget");
        assert!(
            why.contains("budget") && why.contains("delete sessions"),
            "{why}"
        );
    }

    mod props {
        use super::*;
        use crate::recording::memory::tests::{body, dir, timestamp};
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]

            /// Any records, sealed into blocks at any points, read back the same from the
            /// live store and from the library opened again.
            #[test]
            fn records_of_any_kind_round_trip_through_blocks_and_the_file(
                items in proptest::collection::vec((timestamp(), dir(), body(), any::<bool>()), 0..60),
                proto in prop_oneof![Just(Proto::Ws), Just(Proto::Sse)],
                page in 1usize..9,
            ) {
                let conn = ConnId(5);
                let (_dir, lib, session, mut store) = recording("prop", DEFAULT_DISK_BUDGET, conn, proto);
                let mut records = Vec::new();
                for (i, (t, d, b, seal)) in items.into_iter().enumerate() {
                    let r = Record { t: Timestamp(t), conn, proto, seq: i as u64 + 1, dir: d, body: b, wire: None };
                    store.append(&r).expect("append");
                    if seal {
                        store.flush();
                    }
                    records.push(r);
                }
                let paged = |s: &DiskStore| {
                    let mut out = Vec::new();
                    let mut from = 1;
                    loop {
                        let before = out.len();
                        s.range(from, page, &mut out);
                        if out.len() == before {
                            break;
                        }
                        from = out.last().map_or(1, |r: &Record| r.seq + 1);
                    }
                    out
                };
                prop_assert_eq!(paged(&store), records.clone());
                store.flush();
                lib.flush();
                let opened = lib.open_session(session, |_| conn).expect("open");
                prop_assert_eq!(paged(&opened[0].1), records);
            }
        }
    }
}
