//! The writer thread: the only code that writes segment files and the block index. A
//! store hands it each sealed block; it writes the bytes at once (so a killed process
//! loses nothing the OS has been given) and commits the index in short transactions,
//! at most [`COMMIT_EVERY`] apart. It runs on a thread of its own, never under the
//! session's lock and never on the async runtime.

use std::fs::File;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::{Connection, params};

use super::block::BlockRef;
use super::catalog::{self, ConnRow};

/// Longest a written block waits for its index row to be committed. A block written but
/// not indexed is found again by scanning the file's tail on open, so this bounds the
/// work of that scan, not what a crash loses.
pub(crate) const COMMIT_EVERY: Duration = Duration::from_millis(50);
/// Index rows per transaction at most.
const COMMIT_ROWS: usize = 4096;

pub(crate) enum Op {
    Conn {
        session: i64,
        row: ConnRow,
    },
    Block {
        session: i64,
        conn: u32,
        file: Arc<File>,
        block: BlockRef,
        bytes: Arc<[u8]>,
        /// Where this connection's file is written up to: readers may drop cached blocks
        /// that end before it.
        written: Arc<AtomicU64>,
    },
    EndSession {
        session: i64,
        ended: i64,
    },
    Settings {
        session: i64,
        conn: u32,
        settings: String,
    },
    /// Commits everything and answers.
    Flush(SyncSender<()>),
    /// Commits everything and ends the thread. Stores still hold senders, so the
    /// channel alone would never say the end has come.
    Stop,
}

/// What the writer shares with the stores and the library.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// Bytes in segment files, all sessions.
    pub(crate) disk_used: AtomicU64,
    /// The first write that failed, if any: recording stops with it.
    pub(crate) failed: Mutex<Option<String>>,
}

impl Shared {
    pub(crate) fn fail(&self, why: String) {
        let mut f = self.failed.lock().unwrap_or_else(PoisonError::into_inner);
        if f.is_none() {
            *f = Some(why);
        }
    }
}

pub(crate) fn spawn(
    db: Connection,
    ops: Receiver<Op>,
    shared: Arc<Shared>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("streamscope-writer".into())
        .spawn(move || run(db, ops, &shared))
}

/// The channel end stores send on.
pub(crate) type Ops = Sender<Op>;

fn run(mut db: Connection, ops: Receiver<Op>, shared: &Shared) {
    let mut rows: Vec<(i64, u32, BlockRef)> = Vec::new();
    let mut conns: Vec<(i64, ConnRow)> = Vec::new();
    let mut ends: Vec<(i64, i64)> = Vec::new();
    let mut settings_rows: Vec<(i64, u32, String)> = Vec::new();
    let mut oldest: Option<Instant> = None;
    loop {
        let wait = oldest.map_or(Duration::from_secs(3600), |t| {
            COMMIT_EVERY.saturating_sub(t.elapsed())
        });
        let mut flushed = None;
        match ops.recv_timeout(wait) {
            Ok(Op::Block {
                session,
                conn,
                file,
                block,
                bytes,
                written,
            }) => match write_at(&file, &bytes, block.offset) {
                Ok(()) => {
                    written.store(block.end(), Ordering::Release);
                    shared
                        .disk_used
                        .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    rows.push((session, conn, block));
                }
                Err(e) => shared.fail(format!("cannot write the recording to disk: {e}")),
            },
            Ok(Op::Conn { session, row }) => conns.push((session, row)),
            Ok(Op::EndSession { session, ended }) => ends.push((session, ended)),
            Ok(Op::Settings {
                session,
                conn,
                settings,
            }) => settings_rows.push((session, conn, settings)),
            Ok(Op::Flush(reply)) => flushed = Some(reply),
            Err(RecvTimeoutError::Timeout) => {}
            Ok(Op::Stop) | Err(RecvTimeoutError::Disconnected) => {
                commit(&mut db, &mut conns, &mut rows, &mut ends, shared);
                set_settings(&db, &mut settings_rows, shared);
                return;
            }
        }
        let pending = !rows.is_empty() || !conns.is_empty() || !ends.is_empty();
        if pending && oldest.is_none() {
            oldest = Some(Instant::now());
        }
        let due = oldest.is_some_and(|t| t.elapsed() >= COMMIT_EVERY);
        if flushed.is_some() || due || rows.len() >= COMMIT_ROWS || !conns.is_empty() {
            commit(&mut db, &mut conns, &mut rows, &mut ends, shared);
            oldest = None;
        }
        // After the connection's row, which came before on the channel.
        if !settings_rows.is_empty() && conns.is_empty() {
            set_settings(&db, &mut settings_rows, shared);
        }
        if let Some(reply) = flushed {
            let _ = reply.send(());
        }
    }
}

fn commit(
    db: &mut Connection,
    conns: &mut Vec<(i64, ConnRow)>,
    rows: &mut Vec<(i64, u32, BlockRef)>,
    ends: &mut Vec<(i64, i64)>,
    shared: &Shared,
) {
    if conns.is_empty() && rows.is_empty() && ends.is_empty() {
        return;
    }
    let done = (|| -> rusqlite::Result<()> {
        let tx = db.transaction()?;
        for (session, c) in conns.iter() {
            tx.execute(
                "INSERT OR REPLACE INTO conns (session, conn, proto, url, name, settings, opened)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    session,
                    c.conn,
                    catalog::proto_str(c.proto),
                    c.url,
                    c.name,
                    c.settings,
                    c.opened
                ],
            )?;
        }
        for (session, conn, b) in rows.iter() {
            catalog::insert_block(&tx, *session, *conn, b)?;
        }
        for (session, ended) in ends.iter() {
            tx.execute(
                "UPDATE sessions SET ended = ?2 WHERE id = ?1",
                params![session, ended],
            )?;
        }
        tx.commit()
    })();
    if let Err(e) = done {
        // The blocks are in their files: a later open finds them by scanning. Say so
        // once; recording goes on.
        shared.fail(format!("cannot update the recording's index: {e}"));
    }
    conns.clear();
    rows.clear();
    ends.clear();
}

fn set_settings(db: &Connection, rows: &mut Vec<(i64, u32, String)>, shared: &Shared) {
    for (session, conn, settings) in rows.drain(..) {
        if let Err(e) = db.execute(
            "UPDATE conns SET settings = ?3 WHERE session = ?1 AND conn = ?2",
            params![session, conn, settings],
        ) {
            shared.fail(format!("cannot update the recording's index: {e}"));
        }
    }
}

#[cfg(unix)]
fn write_at(file: &File, bytes: &[u8], offset: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.write_all_at(bytes, offset)
}

#[cfg(windows)]
fn write_at(file: &File, mut bytes: &[u8], mut offset: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !bytes.is_empty() {
        let n = file.seek_write(bytes, offset)?;
        bytes = &bytes[n..];
        offset += n as u64;
    }
    Ok(())
}

#[cfg(unix)]
pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.read_exact_at(buf, offset)
}

#[cfg(windows)]
pub(crate) fn read_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        let n = file.seek_read(buf, offset)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf = &mut buf[n..];
        offset += n as u64;
    }
    Ok(())
}
