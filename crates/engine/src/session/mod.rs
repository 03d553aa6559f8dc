//! The session: many connections in one process, each with its recording and statistics.
//!
//! It owns the connections' lifecycles (open, command, close, forget), the pump that
//! moves each connection's records from its bounded channel into its [`RecordStore`]
//! and [`ConnStats`], and the change signal subscribers wait on. Subscribers (the UI
//! socket, exports, charts) read the stores by `seq` cursor: a slow reader catches up
//! instead of losing records, and the session never buffers for a stalled reader.
//!
//! It also holds the in-memory recordings to one memory budget shared by every
//! connection ([`DEFAULT_MEMORY_BUDGET`]): a connection whose next record finds the budget
//! spent stops, its recording ended by an `error` record with cause `memory_budget`.
//!
//! The lock around the state is a plain mutex, held only for short, non-async sections.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::conn::{self, Command, ConnHandle, Outcome, SseOptions, WsOptions};
use crate::recording::disk::SEAL_AFTER;
use crate::recording::{Library, MemoryStore, RecordStore};
use streamscope_model::Cause;
use streamscope_model::name;
use streamscope_model::record::{Body, ConnId, Dir, Proto, Record, Timestamp};
use streamscope_model::stats::ConnStats;

mod repeat;
mod search;
mod snapshot;

pub use repeat::{
    FORGET_WAIT_LIMIT, MAX_COUNT, MAX_INTERVAL, MIN_INTERVAL, RepeatSpec, RepeatStatus,
};
pub use search::{
    MAX_SCAN_BYTES, MAX_SCAN_RECORDS, SearchBounds, SearchPage, SearchQuery, searchable_text,
};
pub use snapshot::{ConnBrief, ConnListing};

/// Records buffered between a connection task and its pump. The pump drains in
/// batches, so this only needs to cover one scheduling gap; when full, the connection
/// stops reading and TCP slows the peer.
const PUMP_CAPACITY: usize = 4096;

/// Records the pump moves per lock: big enough to amortise the lock, small enough to
/// keep readers from waiting long.
const PUMP_BATCH: usize = 1024;

/// Memory all in-memory recordings of a session may take together, by default: 1 GiB.
/// A firehose (about a million small records a second, 100 MB/s) reaches it in ten
/// seconds, an ordinary feed in hours, and a laptop with 8 GB keeps room for the webview
/// and everything else. Until recordings go to disk this bounds what a fast or hostile
/// peer can make the app hold.
pub const DEFAULT_MEMORY_BUDGET: usize = 1 << 30;

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    Connecting,
    Open,
    /// SSE only: between a drop and the next `open`.
    Reconnecting,
    /// The task ended; the recording stays until the connection is forgotten.
    Closed,
    Failed,
}

impl ConnState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnState::Connecting => "connecting",
            ConnState::Open => "open",
            ConnState::Reconnecting => "reconnecting",
            ConnState::Closed => "closed",
            ConnState::Failed => "failed",
        }
    }
}

/// A request the session cannot carry out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("no connection {0}")]
    UnknownConn(ConnId),
    #[error("connection {0} has ended and takes no commands")]
    Ended(ConnId),
    #[error("{0}")]
    Refused(String),
    /// The request itself is malformed (out of bounds, wrong kind), whatever the connection.
    #[error("{0}")]
    Invalid(String),
}

struct Entry {
    proto: Proto,
    url: String,
    name: String,
    state: ConnState,
    since: Timestamp,
    store: Box<dyn RecordStore>,
    stats: ConnStats,
    commands: Option<mpsc::Sender<Command>>,
    cancel: CancellationToken,
    repeat: Option<repeat::ActiveRepeat>,
    /// Cancelled when the connection task has ended: what close-then-forget waits for.
    ended: CancellationToken,
    /// Another app's connection, watched through the tap: it takes no commands but close.
    relay: bool,
}

struct State {
    conns: BTreeMap<ConnId, Entry>,
    /// Bumped when the connection list changes (snapshot.rs).
    listed: u64,
    /// What every store holds together ([`RecordStore::bytes`]), kept up to date by the
    /// pump and by `forget`, so checking the budget never walks the connections.
    recorded_bytes: usize,
    /// The most `recorded_bytes` may reach before connections stop recording.
    memory_budget: usize,
}

/// Shared by every part of the server; clone freely.
#[derive(Clone)]
pub struct Session {
    state: Arc<Mutex<State>>,
    next_id: Arc<AtomicU32>,
    /// Bumped whenever records or states change; subscribers wait on it.
    version: Arc<watch::Sender<u64>>,
    cancel: CancellationToken,
    tasks: TaskTracker,
    /// Where recordings go on disk, and the library session they belong to; `None`
    /// keeps them in memory (`sscope ws|sse`, tests).
    recorder: Option<Arc<Recorder>>,
}

/// A session's place in a library on disk.
struct Recorder {
    library: Arc<Library>,
    session: i64,
}

impl Default for Session {
    fn default() -> Self {
        Self::new(CancellationToken::new())
    }
}

impl Session {
    /// A session whose connections all stop when `cancel` fires.
    pub fn new(cancel: CancellationToken) -> Self {
        Session {
            state: Arc::new(Mutex::new(State {
                conns: BTreeMap::new(),
                listed: 0,
                recorded_bytes: 0,
                memory_budget: DEFAULT_MEMORY_BUDGET,
            })),
            next_id: Arc::new(AtomicU32::new(1)),
            version: Arc::new(watch::channel(0).0),
            cancel,
            tasks: TaskTracker::new(),
            recorder: None,
        }
    }

    /// Records every connection opened from now on into `library`, as connections of its
    /// session `session`: the records go to disk, with only the newest in memory.
    pub fn with_library(mut self, library: Arc<Library>, session: i64) -> Self {
        self.recorder = Some(Arc::new(Recorder { library, session }));
        self
    }

    /// Keeps the settings a connection was opened with beside its recording on disk
    /// (nothing without a library). `settings` must hold no secrets.
    pub fn remember_settings(&self, id: ConnId, settings: String) {
        if let Some(rec) = &self.recorder {
            rec.library.set_settings(rec.session, id, settings);
        }
    }

    /// Whether this session ever gave out `id` (it may have forgotten it since).
    pub fn was_issued(&self, id: ConnId) -> bool {
        id.0 >= 1 && id.0 < self.next_id.load(Ordering::Relaxed)
    }

    /// The library this session records into, and its session there.
    pub fn library(&self) -> Option<(&Arc<Library>, i64)> {
        self.recorder.as_ref().map(|r| (&r.library, r.session))
    }

    /// Shows a recording kept elsewhere (a past session's, an import) as a connection of
    /// this session: closed, read-only, with its statistics, listed and readable like
    /// any other. `store` is made for the id given.
    pub fn attach(
        &self,
        proto: Proto,
        url: String,
        name: String,
        store: impl FnOnce(ConnId) -> Box<dyn RecordStore>,
    ) -> ConnId {
        let id = ConnId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let store = store(id);
        let mut stats = ConnStats::default();
        let mut since = Timestamp::now();
        let mut failed = false;
        let mut next = 1;
        let mut batch = Vec::new();
        loop {
            batch.clear();
            store.range(next, PUMP_BATCH, &mut batch);
            let Some(last) = batch.last() else { break };
            next = last.seq + 1;
            since = last.t;
            for r in &batch {
                stats.observe(r);
                failed = matches!(r.body, Body::Error { .. });
            }
        }
        // A recording brought back has ended: its line stops at its last record.
        stats.ended = stats.last;
        {
            let mut st = self.lock();
            st.recorded_bytes = st.recorded_bytes.saturating_add(store.bytes());
            st.conns.insert(
                id,
                Entry {
                    proto,
                    url,
                    name: name::shorten(&name),
                    state: if failed {
                        ConnState::Failed
                    } else {
                        ConnState::Closed
                    },
                    since,
                    store,
                    stats,
                    commands: None,
                    relay: false,
                    cancel: self.cancel.child_token(),
                    repeat: None,
                    ended: {
                        let t = CancellationToken::new();
                        t.cancel();
                        t
                    },
                },
            );
            st.relisted();
        }
        self.bump();
        id
    }

    /// Sets the memory all in-memory recordings may take together (default
    /// [`DEFAULT_MEMORY_BUDGET`]). Recordings may pass it by the growth of one append (at
    /// most one segment of a store, or one large record) before connections are stopped.
    pub fn with_memory_budget(self, bytes: usize) -> Self {
        self.lock().memory_budget = bytes;
        self
    }

    /// The memory budget and what the recordings take of it now, in bytes.
    pub fn memory_use(&self) -> (usize, usize) {
        let st = self.lock();
        (st.recorded_bytes, st.memory_budget)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the map half-updated in a way
        // that matters more than losing every recording, so carry on.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn bump(&self) {
        self.version.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// A receiver that changes whenever there is something new to read.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    /// Completes once the session stops for good (its root token is cancelled, after
    /// [`Session::shutdown`] or with the app). Subscribers that live as long as the session,
    /// such as the UI socket, end with it: the change signal alone never ends.
    pub async fn stopped(&self) {
        self.cancel.cancelled().await;
    }

    /// Opens a WebSocket connection and starts recording it.
    pub fn open_ws(&self, opts: WsOptions, name: Option<String>) -> ConnId {
        let url = opts.url.to_string();
        self.open(Proto::Ws, url, name, false, |id, sink, cancel| {
            conn::open_ws(id, opts, sink, cancel)
        })
    }

    /// Opens an SSE connection and starts recording it.
    pub fn open_sse(&self, opts: SseOptions, name: Option<String>) -> ConnId {
        let url = opts.url.to_string();
        self.open(Proto::Sse, url, name, false, |id, sink, cancel| {
            conn::open_sse(id, opts, sink, cancel)
        })
    }

    /// Records a connection another app makes through the tap: `run` relays it and
    /// produces its records ([`conn::open_relay`]). Recording, statistics and the live
    /// stream are as for any connection; commands other than close are refused, and close
    /// reaches `run` as [`Command::Close`] (the relay then closes both sides).
    pub fn open_relay<F, Fut>(&self, proto: Proto, url: String, name: String, run: F) -> ConnId
    where
        F: FnOnce(conn::Emitter, mpsc::Receiver<Command>, CancellationToken) -> Fut,
        Fut: Future<Output = Result<Outcome, conn::SinkClosed>> + Send + 'static,
    {
        self.open(proto, url, Some(name), true, move |id, sink, cancel| {
            conn::open_relay(id, proto, sink, cancel, run)
        })
    }

    fn open(
        &self,
        proto: Proto,
        url: String,
        name: Option<String>,
        relay: bool,
        start: impl FnOnce(ConnId, conn::RecordSink, CancellationToken) -> ConnHandle,
    ) -> ConnId {
        let id = ConnId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = mpsc::channel(PUMP_CAPACITY);
        let cancel = self.cancel.child_token();
        // Held to the one bound on names: a long URL must not give a megabyte of legend.
        let name = name
            .filter(|n| !n.trim().is_empty())
            .map_or_else(|| default_name(&url), |n| name::shorten(&n));
        let store: Box<dyn RecordStore> = match &self.recorder {
            Some(rec) => match rec
                .library
                .create_store(rec.session, id, proto, &url, &name, None)
            {
                Ok(store) => Box::new(store),
                Err(e) => {
                    // Recording goes on in memory: losing the disk must not lose the
                    // connection's records too.
                    eprintln!("streamscope: recording {id} in memory only: {e}");
                    Box::new(MemoryStore::new(id, proto))
                }
            },
            None => Box::new(MemoryStore::new(id, proto)),
        };
        {
            let mut st = self.lock();
            st.conns.insert(
                id,
                Entry {
                    proto,
                    url,
                    name,
                    state: ConnState::Connecting,
                    since: Timestamp::now(),
                    store,
                    stats: ConnStats::default(),
                    commands: None,
                    cancel: cancel.clone(),
                    repeat: None,
                    ended: CancellationToken::new(),
                    relay,
                },
            );
            st.relisted();
        }
        // The pump below waits for the connection task, so tracking the pump is
        // enough for shutdown to wait for both.
        let handle = start(id, tx, cancel);
        if let Some(e) = self.lock().conns.get_mut(&id) {
            e.commands = Some(handle.commands());
        }
        let session = self.clone();
        self.tasks
            .spawn(async move { session.pump(id, rx, handle).await });
        self.bump();
        id
    }

    /// Moves a connection's records into its store until the connection ends.
    async fn pump(self, id: ConnId, mut rx: mpsc::Receiver<Record>, handle: ConnHandle) {
        let mut batch = Vec::with_capacity(PUMP_BATCH);
        let mut over_budget = false;
        // Since when the store holds records not yet handed on to disk.
        let mut unsealed: Option<tokio::time::Instant> = None;
        while !over_budget {
            // A store on disk holds its newest records until they fill a block; it is
            // told to write them once the oldest has waited SEAL_AFTER, whether more
            // come or not, so a crash loses no more than that. Stores in memory never
            // hold any, and a quiet connection then costs no wake-ups.
            let got = if let Some(since) = unsealed {
                let due = since + SEAL_AFTER;
                match tokio::time::timeout_at(due, rx.recv_many(&mut batch, PUMP_BATCH)).await {
                    Ok(n) => n,
                    Err(_) => {
                        if let Some(e) = self.lock().conns.get_mut(&id) {
                            e.store.flush();
                        }
                        unsealed = None;
                        continue;
                    }
                }
            } else {
                rx.recv_many(&mut batch, PUMP_BATCH).await
            };
            if got == 0 {
                break;
            }
            let disk_stop = self.recorder.as_ref().and_then(|r| r.library.stop_reason());
            {
                let mut st = self.lock();
                let mut relisted = false;
                let State {
                    conns,
                    recorded_bytes,
                    memory_budget,
                    ..
                } = &mut *st;
                let Some(e) = conns.get_mut(&id) else {
                    // Forgotten while running: stop the connection.
                    handle.cancel();
                    return;
                };
                let before = e.store.bytes();
                for r in batch.drain(..) {
                    // Checked before each record, so whichever connection appends next
                    // after the budget is spent stops, and the recordings pass the budget
                    // by at most one append's growth. `bytes()` takes constant time.
                    let now = recorded_bytes.saturating_add(e.store.bytes().saturating_sub(before));
                    if now >= *memory_budget || disk_stop.is_some() {
                        over_budget = true;
                        break;
                    }
                    e.stats.observe(&r);
                    let next = match &r.body {
                        Body::Open { .. } => Some(ConnState::Open),
                        Body::End | Body::Error { .. } if r.proto == Proto::Sse => {
                            Some(ConnState::Reconnecting)
                        }
                        Body::Reconnect { .. } => Some(ConnState::Reconnecting),
                        _ => None,
                    };
                    if let Some(s) = next {
                        if s != e.state {
                            e.state = s;
                            e.since = r.t;
                            relisted = true;
                        }
                    }
                    if let Err(err) = e.store.append(&r) {
                        // The engine numbers records itself, so this is a bug; keep
                        // going rather than stop recording everything after it.
                        eprintln!("streamscope: recording {id}: {err}");
                    }
                }
                if over_budget {
                    // The rest of this batch, and whatever the connection still sends
                    // before it sees the cancel, is not recorded: the recording ends
                    // here, with a record that says so, at the next seq (no gap).
                    batch.clear();
                    match &disk_stop {
                        Some(why) => end_recording(id, e, Cause::DiskBudget, why.clone()),
                        None => end_over_budget(id, e, *memory_budget),
                    }
                    handle.cancel();
                    relisted = true;
                }
                if !e.store.unsealed() {
                    unsealed = None;
                } else if unsealed.is_some_and(|t| t.elapsed() >= SEAL_AFTER) {
                    e.store.flush();
                    unsealed = None;
                } else if unsealed.is_none() {
                    unsealed = Some(tokio::time::Instant::now());
                }
                *recorded_bytes = recorded_bytes
                    .saturating_add(e.store.bytes())
                    .saturating_sub(before);
                if relisted {
                    st.relisted();
                }
            }
            self.bump();
        }
        // Closing the channel also frees a connection task that waits to send: it sees
        // the sink closed and ends.
        drop(rx);
        let outcome = handle.wait().await;
        {
            let mut st = self.lock();
            if let Some(e) = st.conns.get_mut(&id) {
                e.store.flush();
                e.state = if outcome == Outcome::Failed || over_budget {
                    ConnState::Failed
                } else {
                    ConnState::Closed
                };
                e.since = Timestamp::now();
                // The charts end its line at its last record (or now, if it had none).
                e.stats.ended = Some(e.stats.last.unwrap_or(e.since));
                e.commands = None;
                if let Some(r) = e.repeat.take() {
                    r.stop();
                }
                e.ended.cancel();
                st.relisted();
            }
        }
        self.bump();
    }

    /// Queues a command on a running connection.
    pub async fn send(&self, id: ConnId, cmd: Command) -> Result<(), SessionError> {
        let tx = {
            let st = self.lock();
            let e = st.conns.get(&id).ok_or(SessionError::UnknownConn(id))?;
            if e.relay && !matches!(cmd, Command::Close { .. }) {
                return Err(SessionError::Refused(
                    "a tapped connection cannot send: it is another app's connection, relayed as it is (only close is possible)".into(),
                ));
            }
            if e.proto == Proto::Sse && !matches!(cmd, Command::Close { .. }) {
                return Err(SessionError::Refused(
                    "an SSE connection cannot send: the stream flows from the server only (SSE apps send with a separate HTTP request)".into(),
                ));
            }
            e.commands.clone().ok_or(SessionError::Ended(id))?
        };
        if let Err(problem) = conn::ws::validate(&cmd) {
            return Err(SessionError::Refused(problem));
        }
        tx.send(cmd).await.map_err(|_| SessionError::Ended(id))
    }

    /// Asks a connection to close properly (WebSocket close handshake with 1000).
    pub async fn close(&self, id: ConnId) -> Result<(), SessionError> {
        let close = Command::Close {
            code: 1000,
            reason: String::new(),
        };
        match self.send(id, close).await {
            Err(SessionError::Ended(_)) => Ok(()),
            other => other,
        }
    }

    /// Stops a connection if it runs and drops its recording.
    pub fn forget(&self, id: ConnId) -> Result<(), SessionError> {
        let entry = {
            let mut st = self.lock();
            let entry = st.conns.remove(&id).ok_or(SessionError::UnknownConn(id))?;
            st.recorded_bytes = st.recorded_bytes.saturating_sub(entry.store.bytes());
            st.relisted();
            entry
        };
        // Dropped here, outside the lock: freeing a large recording takes a while.
        entry.cancel.cancel();
        self.bump();
        Ok(())
    }

    /// Renames a connection (its pane was renamed); an empty name falls back to the
    /// URL's, as at opening. Charts and listings show the new name from now on.
    pub fn rename(&self, id: ConnId, name: &str) -> Result<String, SessionError> {
        let name = {
            let mut st = self.lock();
            let e = st.conns.get_mut(&id).ok_or(SessionError::UnknownConn(id))?;
            e.name = if name.trim().is_empty() {
                default_name(&e.url)
            } else {
                name::shorten(name)
            };
            let name = e.name.clone();
            st.relisted();
            name
        };
        self.bump();
        Ok(name)
    }

    /// Records of `id` with `seq >= from`, at most `limit`, appended to `out`.
    pub fn records(
        &self,
        id: ConnId,
        from: u64,
        limit: usize,
        out: &mut Vec<Record>,
    ) -> Result<(), SessionError> {
        let st = self.lock();
        let e = st.conns.get(&id).ok_or(SessionError::UnknownConn(id))?;
        e.store.range(from, limit, out);
        Ok(())
    }

    /// The last `seq` of every connection: what a subscriber compares its cursors with.
    pub fn heads(&self) -> Vec<(ConnId, u64)> {
        let st = self.lock();
        st.conns
            .iter()
            .map(|(&id, e)| (id, e.store.last_seq().unwrap_or(0)))
            .collect()
    }

    /// Closes every connection properly, waits up to `grace`, then stops the rest.
    pub async fn shutdown(&self, grace: Duration) {
        let senders: Vec<_> = self
            .lock()
            .conns
            .values()
            .filter_map(|e| e.commands.clone())
            .collect();
        for tx in senders {
            let _ = tx.try_send(Command::Close {
                code: 1001,
                reason: "going away".into(),
            });
        }
        self.tasks.close();
        if tokio::time::timeout(grace, self.tasks.wait())
            .await
            .is_err()
        {
            self.cancel.cancel();
            let _ = tokio::time::timeout(Duration::from_secs(1), self.tasks.wait()).await;
        }
    }
}

/// Ends a recording that found the memory budget spent: appends the `error` record that
/// says so, with the next seq, and marks the connection failed.
fn end_over_budget(id: ConnId, e: &mut Entry, budget: usize) {
    end_recording(
        id,
        e,
        Cause::MemoryBudget,
        format!(
            "recording stopped: the in-memory recordings reached their budget of {}",
            in_mib(budget)
        ),
    );
}

/// Ends a recording with an `error` record saying why (the next seq, so no gap) and
/// marks the connection failed.
fn end_recording(id: ConnId, e: &mut Entry, cause: Cause, message: String) {
    let seq = e.store.last_seq().unwrap_or(0) + 1;
    let r = Record {
        t: Timestamp::now(),
        conn: id,
        proto: e.proto,
        seq,
        dir: Dir::Meta,
        body: conn::error_body(cause, message),
        wire: None,
    };
    e.stats.observe(&r);
    if let Err(err) = e.store.append(&r) {
        // Only a failed allocation of a few bytes gets here: the state below still says
        // the connection failed.
        eprintln!("streamscope: recording {}: {err}", r.conn);
    }
    e.state = ConnState::Failed;
    e.since = r.t;
}

/// "1024 MiB", "0.06 MiB": a budget as people set it.
fn in_mib(bytes: usize) -> String {
    const MIB: usize = 1 << 20;
    if bytes % MIB == 0 {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{:.2} MiB", bytes as f64 / MIB as f64)
    }
}

/// The last two path segments (or the host) of `url`, held to [`name::MAX_NAME`].
fn default_name(url: &str) -> String {
    let name = url::Url::parse(url)
        .ok()
        .map(|u| {
            let path = u.path().trim_matches('/');
            if path.is_empty() {
                u.host_str().unwrap_or("connection").to_owned()
            } else {
                path.rsplit('/')
                    .take(2)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join("/")
            }
        })
        .unwrap_or_else(|| "connection".to_owned());
    name::shorten(&name)
}
