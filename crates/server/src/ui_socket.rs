//! `/api/live`: one WebSocket that streams the records and statistics of the connections
//! a UI watches, in batches, and tells it which connections exist.
//!
//! The socket keeps a cursor per watched connection (the last `seq` sent), never a copy
//! of the records: each batch is read from the session's recordings when the client can
//! take it. A slow or stalled client therefore costs no memory, and a client that
//! reconnects with `?from=c1:120,c2:40` resumes where it left off without losing a record.
//!
//! Which connections: `?watch=c1,c2` at connect (`?watch=` for none), and while connected
//! the client sends `{"type":"watch","conns":["c1","c3"],"from":{"c3":0}}`: the new set
//! replaces the old; a connection that stays keeps its cursor, one that joins starts after
//! the seq `from` gives (the last one the client holds, as in `?from=`) or at its first
//! record, one that leaves gets nothing more. A message the socket cannot read is
//! answered with `{"type":"error","code":"bad_request","message":"…"}` and changes
//! nothing. Without `watch` at connect every connection is watched (scripts and older
//! clients); that costs each batch work for every connection the session holds, which is
//! why the UI always names its set: then a batch costs in proportion to the watched
//! connections, however many others (say, thousands of failed opens) the session keeps.
//!
//! Server messages (JSON text):
//! `{"type":"batch","records":[…contract records…],"conns":[…],"list":[…]}` where
//! `conns` (the watched connections with totals and the last second's rates) is present
//! at most four times a second, and only when it differs from what was sent before (at
//! rest, nothing live and every rate back to zero, the socket sends nothing and sets no
//! timer, so an idle app is idle), and `list` (every
//! connection the server holds: `id`, `proto`, `url`, `name`, `state`, `since`) in the
//! first batch and then only when that list changed (open, forget, rename, a state), at
//! most four times a second. When the server shuts down, the socket sends what was
//! recorded up to then and closes with 1001 (going away).
//!
//! `ui/src/fixtures/live-batch.json` holds examples of each message that the tests on
//! both sides read, so the Rust encoder and the TypeScript decoder cannot drift apart.
//!
//! With `?format=runs` (what the UI asks for) a batch carries `items` instead of
//! `records`: contract records, except that consecutive `text` or `event` records of one
//! connection — the bulk of any fast stream — go as one run of columns:
//! `{"run":{"conn":"c1","proto":"ws","kind":"text","seq":41,"t":[…],"dir":"iio",
//! "size":[…],"data":[…]}}` (`event` runs add `"event":[…]` and `"id":[…|null]`). `seq` is
//! the first record's, the others follow one by one; `t` is the first record's time in
//! microseconds since the Unix epoch, then each record's difference from the one before;
//! `dir` has one letter per record (`i`n, `o`ut). `&preview=N` keeps the first N characters
//! of each `data` (`size` still counts the whole payload). When a run's records carry
//! wire figures, a `"wire_bytes":[…|null]` column gives each one's `wire_bytes`, and
//! when any has chunk framing, a `"framing_bytes":[…|null]` column its `framing_bytes` (a
//! WebSocket record in a run went in one frame, uncompressed: its `frames` is 1; a record
//! with more to say, fragments or compression, goes whole). A run costs a browser about
//! half the bytes of the same records as objects, and the bytes are what a browser pays
//! for most: every one crosses from the network process into the page's worker.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use serde::Deserialize;
use streamscope_engine::session::Session;
use streamscope_engine::{Body, ConnId, Dir, Record};
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

use crate::api::{ConnView, CountsView, ListingView};
use crate::error::ApiError;

/// Shortest gap between the starts of two batches: at most ~30 a second, which a UI can
/// render per animation frame; each batch is as large as needed.
pub const MIN_GAP: Duration = Duration::from_millis(33);

/// How often the connection list with its rates is looked at even when no record comes:
/// four times a second keeps rate charts live. It goes out only when it changed, and the
/// turn is taken only while a rate can still change without a record coming (see
/// [`RATE_SETTLES`]).
pub const STATS_EVERY: Duration = Duration::from_millis(250);

/// How long after the list last changed its rates may still change with the clock
/// alone: a record counts in a connection's rate (the last complete second) once its
/// second is over, up to a second after it came; one more turn sees it.
pub const RATE_SETTLES: Duration = Duration::from_millis(1000 + STATS_EVERY.as_millis() as u64);

/// Most records in one batch: bounds one message (and the time to build it); a client
/// far behind gets the rest in the following batches.
pub const MAX_BATCH: usize = 50_000;

/// Most JSON bytes in one batch (one record larger than this still goes, alone): with
/// [`MAX_BATCH`] alone, a backlog of large messages would make one batch of gigabytes.
/// 8 MiB at 30 batches a second is far more than a UI renders.
pub const MAX_BATCH_BYTES: usize = 8 << 20;

/// Most records read from the session at once while a batch is built: the session's lock is held
/// for one read, so a read must stay short.
const READ_CHUNK: usize = 1024;

/// Most connections one client may watch: far more than panes on a screen, and a bound
/// on what one watch message makes the socket track.
pub const MAX_WATCH: usize = 10_000;

/// What the live route needs: the session to read, and a tracker of the open sockets, so the
/// server's shutdown can wait for each to send its last batch and close.
#[derive(Clone)]
pub struct LiveState {
    pub session: Session,
    pub sockets: TaskTracker,
}

#[derive(Debug, Deserialize)]
pub struct LiveQuery {
    /// Cursors to resume from: `c1:120,c2:40` (the last `seq` already received).
    from: Option<String>,
    /// `records` (the default) or `runs`; see the module docs.
    format: Option<String>,
    /// With `runs`: characters of each text or event payload to send.
    preview: Option<usize>,
    /// The connections to stream, `c1,c2` (empty: none); absent: every connection.
    watch: Option<String>,
}

/// Which connections a socket streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watch {
    /// Every connection the session holds (no `watch` at connect).
    All,
    /// These, in id order.
    Set(BTreeSet<ConnId>),
}

impl Watch {
    fn ids(&self, session: &Session) -> Vec<ConnId> {
        match self {
            Watch::All => session.ids(),
            Watch::Set(set) => set.iter().copied().collect(),
        }
    }
}

/// A message from the client (module docs).
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum ClientMessage {
    Watch {
        conns: Vec<String>,
        #[serde(default)]
        from: HashMap<String, u64>,
    },
}

fn parse_ids<'a>(ids: impl IntoIterator<Item = &'a str>) -> Result<BTreeSet<ConnId>, ApiError> {
    let mut out = BTreeSet::new();
    for text in ids.into_iter().map(str::trim).filter(|t| !t.is_empty()) {
        let id: ConnId = text.parse().map_err(|e: String| ApiError::BadRequest(e))?;
        out.insert(id);
        if out.len() > MAX_WATCH {
            return Err(ApiError::BadRequest(format!(
                "one client watches at most {MAX_WATCH} connections"
            )));
        }
    }
    Ok(out)
}

fn parse_watch(text: Option<&str>) -> Result<Watch, ApiError> {
    match text {
        None => Ok(Watch::All),
        Some(list) => Ok(Watch::Set(parse_ids(list.split(','))?)),
    }
}

/// Applies a client's message to the socket's watch set and cursors.
fn apply_message(
    text: &str,
    watch: &mut Watch,
    cursors: &mut HashMap<ConnId, u64>,
) -> Result<(), ApiError> {
    let msg: ClientMessage = serde_json::from_str(text)
        .map_err(|e| ApiError::BadRequest(format!("live message: {e}")))?;
    let ClientMessage::Watch { conns, from } = msg;
    let set = parse_ids(conns.iter().map(String::as_str))?;
    let mut starts = HashMap::with_capacity(from.len());
    for (text, &seq) in &from {
        let id: ConnId = text.parse().map_err(|e: String| ApiError::BadRequest(e))?;
        starts.insert(id, seq);
    }
    // Left connections lose their cursors; joining ones start where `from` says, or at
    // their first record; staying ones keep theirs unless `from` moves them.
    let was = std::mem::replace(watch, Watch::Set(BTreeSet::new()));
    cursors.retain(|id, _| set.contains(id));
    for &id in &set {
        let stays = match &was {
            Watch::All => true,
            Watch::Set(old) => old.contains(&id),
        };
        match starts.get(&id) {
            Some(&seq) => {
                cursors.insert(id, seq);
            }
            None if !stays => {
                cursors.insert(id, 0);
            }
            None => {}
        }
    }
    *watch = Watch::Set(set);
    Ok(())
}

/// Longest `preview` a client may ask for: more than any UI shows on a row, and small
/// enough that a run stays compact.
pub const MAX_PREVIEW: usize = 1 << 16;

/// How a socket writes records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Every record a contract record, in `records`.
    Records,
    /// Text and event records in column runs, in `items`; `preview` cuts their data.
    Runs { preview: Option<usize> },
}

fn parse_format(format: Option<&str>, preview: Option<usize>) -> Result<Format, ApiError> {
    match (format.filter(|f| !f.is_empty()), preview) {
        (None | Some("records"), None) => Ok(Format::Records),
        (None | Some("records"), Some(_)) => Err(ApiError::BadRequest(
            "preview applies to format=runs only".into(),
        )),
        (Some("runs"), Some(p)) if p == 0 || p > MAX_PREVIEW => Err(ApiError::BadRequest(format!(
            "preview must be from 1 to {MAX_PREVIEW} characters, not {p}"
        ))),
        (Some("runs"), preview) => Ok(Format::Runs { preview }),
        (Some(other), _) => Err(ApiError::BadRequest(format!(
            "format {other:?} is not records or runs"
        ))),
    }
}

fn parse_cursors(text: Option<&str>) -> Result<HashMap<ConnId, u64>, ApiError> {
    let mut out = HashMap::new();
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Ok(out);
    };
    for part in text.split(',') {
        let (id, seq) = part.split_once(':').ok_or_else(|| {
            ApiError::BadRequest(format!("cursor {part:?} is not of the form c1:120"))
        })?;
        let id: ConnId = id.parse().map_err(|e: String| ApiError::BadRequest(e))?;
        let seq: u64 = seq.parse().map_err(|_| {
            ApiError::BadRequest(format!("cursor {part:?}: {seq:?} is not a seq number"))
        })?;
        out.insert(id, seq);
    }
    Ok(out)
}

pub async fn live(
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    State(state): State<LiveState>,
    q: Result<Query<LiveQuery>, QueryRejection>,
) -> Response {
    let Ok(ws) = ws else {
        return ApiError::BadRequest(
            "/api/live is a WebSocket: open it with a WebSocket handshake".into(),
        )
        .into_response();
    };
    let parsed = q.map_err(ApiError::from).and_then(|Query(q)| {
        Ok((
            parse_cursors(q.from.as_deref())?,
            parse_format(q.format.as_deref(), q.preview)?,
            parse_watch(q.watch.as_deref())?,
        ))
    });
    let (cursors, format, watch) = match parsed {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let LiveState { session, sockets } = state;
    // The UI offers LIVE_PROTOCOL beside its token; agreeing to it completes a browser's
    // handshake without echoing the token.
    ws.protocols([crate::security::LIVE_PROTOCOL])
        .on_upgrade(move |socket| {
            sockets.track_future(stream(socket, session, cursors, format, watch))
        })
}

/// One batch's JSON as it is written: the records or items array, with the run being
/// gathered (runs only) kept aside until it ends.
struct BatchWriter {
    msg: Vec<u8>,
    format: Format,
    /// Items (or records) written to `msg`, for the commas between them.
    items: usize,
    run: Option<Run>,
}

impl BatchWriter {
    fn new(format: Format) -> Self {
        let mut msg = Vec::with_capacity(4096);
        msg.extend_from_slice(match format {
            Format::Records => br#"{"type":"batch","records":["#.as_slice(),
            Format::Runs { .. } => br#"{"type":"batch","items":["#.as_slice(),
        });
        BatchWriter {
            msg,
            format,
            items: 0,
            run: None,
        }
    }

    /// Bytes so far, the run being gathered included.
    fn len(&self) -> usize {
        self.msg.len() + self.run.as_ref().map_or(0, Run::len)
    }

    fn comma(&mut self) {
        if self.items > 0 {
            self.msg.push(b',');
        }
        self.items += 1;
    }

    fn push(&mut self, r: &Record) {
        if let Format::Runs { preview } = self.format
            && let Some(kind) = RunKind::of(r)
        {
            if let Some(run) = &mut self.run
                && run.takes(r, kind)
            {
                run.push(r, preview);
                return;
            }
            self.end_run();
            let mut run = Run::start(r, kind);
            run.push(r, preview);
            self.run = Some(run);
            return;
        }
        self.end_run();
        let mark = self.msg.len();
        let items = self.items;
        self.comma();
        // A record always serializes (strings, numbers, a map of strings); were one not
        // to, its half-written bytes must not break the message.
        if serde_json::to_writer(&mut self.msg, r).is_err() {
            self.msg.truncate(mark);
            self.items = items;
        }
    }

    fn end_run(&mut self) {
        if let Some(run) = self.run.take() {
            self.comma();
            run.write(&mut self.msg);
        }
    }

    /// Closes the array; the caller adds the rest of the message.
    fn finish(mut self) -> Vec<u8> {
        self.end_run();
        self.msg.push(b']');
        self.msg
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunKind {
    Text,
    Event,
}

impl RunKind {
    fn of(r: &Record) -> Option<Self> {
        // A run's wire column says `wire_bytes` only; a record with fragments,
        // compression or a handshake goes as itself.
        if let Some(w) = r.wire.as_deref()
            && (w.frames > 1
                || w.compressed_size.is_some()
                || !w.frame_list.is_empty()
                || w.handshake.is_some())
        {
            return None;
        }
        match (&r.body, r.dir) {
            (Body::Text(_), Dir::In | Dir::Out) => Some(RunKind::Text),
            (Body::Event { .. }, Dir::In) => Some(RunKind::Event),
            _ => None,
        }
    }
}

/// Consecutive text or event records of one connection, as columns (module docs).
struct Run {
    conn: ConnId,
    proto: &'static str,
    kind: RunKind,
    first_seq: u64,
    last_seq: u64,
    last_t: i64,
    t: Vec<u8>,
    dir: Vec<u8>,
    size: Vec<u8>,
    data: Vec<u8>,
    event: Vec<u8>,
    id: Vec<u8>,
    /// Each record's `wire_bytes`, `null` where it has none.
    wire: Vec<u8>,
    any_wire: bool,
    /// Each record's `framing_bytes` (SSE over chunked HTTP/1.1), `null` where none.
    framing: Vec<u8>,
    any_framing: bool,
}

impl Run {
    fn start(r: &Record, kind: RunKind) -> Self {
        Run {
            conn: r.conn,
            proto: r.proto.as_str(),
            kind,
            first_seq: r.seq,
            last_seq: r.seq,
            last_t: 0,
            t: Vec::new(),
            dir: Vec::new(),
            size: Vec::new(),
            data: Vec::new(),
            event: Vec::new(),
            id: Vec::new(),
            wire: Vec::new(),
            any_wire: false,
            framing: Vec::new(),
            any_framing: false,
        }
    }

    fn len(&self) -> usize {
        96 + self.t.len()
            + self.dir.len()
            + self.size.len()
            + self.data.len()
            + self.event.len()
            + self.id.len()
            + self.wire.len()
            + self.framing.len()
    }

    /// Whether `r` continues this run: same connection and kind, the next seq.
    fn takes(&self, r: &Record, kind: RunKind) -> bool {
        self.conn == r.conn && self.kind == kind && r.seq == self.last_seq + 1
    }

    fn push(&mut self, r: &Record, preview: Option<usize>) {
        let first = self.dir.is_empty();
        if !first {
            self.t.push(b',');
            self.size.push(b',');
            self.data.push(b',');
            self.wire.push(b',');
            self.framing.push(b',');
            if self.kind == RunKind::Event {
                self.event.push(b',');
                self.id.push(b',');
            }
        }
        let t = r.t.as_micros();
        let shown = if first { t } else { t - self.last_t };
        put_int(&mut self.t, shown);
        self.last_t = t;
        self.last_seq = r.seq;
        self.dir.push(if r.dir == Dir::Out { b'o' } else { b'i' });
        let size = r.body.size().unwrap_or(0);
        put_int(&mut self.size, i64::try_from(size).unwrap_or(i64::MAX));
        match r.wire.as_deref() {
            Some(w) => {
                self.any_wire = true;
                put_int(&mut self.wire, i64::try_from(w.bytes).unwrap_or(i64::MAX));
            }
            None => self.wire.extend_from_slice(b"null"),
        }
        match r.wire.as_deref().and_then(|w| w.framing_bytes) {
            Some(f) => {
                self.any_framing = true;
                put_int(&mut self.framing, i64::try_from(f).unwrap_or(i64::MAX));
            }
            None => self.framing.extend_from_slice(b"null"),
        }
        let (data, event, id) = match &r.body {
            Body::Text(text) => (text.as_str(), "", None),
            Body::Event { event, data, id } => (data.as_str(), event.as_str(), id.as_deref()),
            // `RunKind::of` lets only text and events in.
            _ => ("", "", None),
        };
        // Writing a &str or an Option<&str> as JSON into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut self.data, cut(data, preview));
        if self.kind == RunKind::Event {
            let _ = serde_json::to_writer(&mut self.event, event);
            let _ = serde_json::to_writer(&mut self.id, &id);
        }
    }

    fn write(self, out: &mut Vec<u8>) {
        out.extend_from_slice(br#"{"run":{"conn":""#);
        out.extend_from_slice(self.conn.to_string().as_bytes());
        out.extend_from_slice(br#"","proto":""#);
        out.extend_from_slice(self.proto.as_bytes());
        out.extend_from_slice(match self.kind {
            RunKind::Text => br#"","kind":"text","seq":"#.as_slice(),
            RunKind::Event => br#"","kind":"event","seq":"#.as_slice(),
        });
        put_int(out, i64::try_from(self.first_seq).unwrap_or(i64::MAX));
        out.extend_from_slice(br#","t":["#);
        out.extend_from_slice(&self.t);
        out.extend_from_slice(br#"],"dir":""#);
        out.extend_from_slice(&self.dir);
        out.extend_from_slice(br#"","size":["#);
        out.extend_from_slice(&self.size);
        out.extend_from_slice(br#"],"data":["#);
        out.extend_from_slice(&self.data);
        if self.kind == RunKind::Event {
            out.extend_from_slice(br#"],"event":["#);
            out.extend_from_slice(&self.event);
            out.extend_from_slice(br#"],"id":["#);
            out.extend_from_slice(&self.id);
        }
        if self.any_wire {
            out.extend_from_slice(br#"],"wire_bytes":["#);
            out.extend_from_slice(&self.wire);
        }
        if self.any_framing {
            out.extend_from_slice(br#"],"framing_bytes":["#);
            out.extend_from_slice(&self.framing);
        }
        out.extend_from_slice(b"]}}");
    }
}

/// Writes an integer in decimal. By hand rather than through `write!`: a run writes two
/// or three integers per record, and `core::fmt` took an eighth of the server's time at
/// 200,000 records a second.
fn put_int(out: &mut Vec<u8>, v: i64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    let mut n = v.unsigned_abs();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[at..]);
}

/// The first `chars` characters of `s` (all of it without a limit).
fn cut(s: &str, chars: Option<usize>) -> &str {
    match chars.and_then(|n| s.char_indices().nth(n)) {
        Some((at, _)) => &s[..at],
        None => s,
    }
}

/// The next batch: records after each cursor (cursors advanced past them), at most
/// [`MAX_BATCH`] records and about [`MAX_BATCH_BYTES`]. Starts after `resume_after`,
/// the connection that filled the previous batch, so one busy connection cannot starve
/// the others. Returns the number of records and, when the batch filled up before every
/// cursor reached its head, the connection it stopped at.
fn build_batch(
    session: &Session,
    heads: &[(ConnId, u64)],
    cursors: &mut HashMap<ConnId, u64>,
    resume_after: Option<ConnId>,
    out: &mut BatchWriter,
) -> (usize, Option<ConnId>) {
    let split = resume_after.map_or(0, |after| heads.partition_point(|(id, _)| *id <= after));
    let mut records = Vec::new();
    let mut n = 0usize;
    // JSON bytes per record in the last read: sizes the next read, so a backlog of large
    // records is not decoded a thousand at a time only to be cut off.
    let mut per_record = 0usize;
    for &(id, head) in heads[split..].iter().chain(&heads[..split]) {
        let cursor = cursors.entry(id).or_insert(0);
        while *cursor < head {
            let room = MAX_BATCH_BYTES.saturating_sub(out.len());
            let want = match per_record {
                0 => 16,
                size => room / size,
            }
            .clamp(1, READ_CHUNK)
            .min(MAX_BATCH - n);
            records.clear();
            if session
                .records(id, *cursor + 1, want, &mut records)
                .is_err()
                || records.is_empty()
            {
                // Forgotten meanwhile, or nothing readable: the heads say again next time.
                break;
            }
            let before = out.len();
            for r in &records {
                out.push(r);
                *cursor = r.seq;
                n += 1;
                if n >= MAX_BATCH || out.len() >= MAX_BATCH_BYTES {
                    return (n, Some(id));
                }
            }
            per_record = (out.len().saturating_sub(before) / records.len()).max(1);
        }
    }
    (n, None)
}

/// Reads the client's messages that are already waiting, without waiting for more.
/// `false` when the client went away.
async fn read_waiting(
    socket: &mut WebSocket,
    watch: &mut Watch,
    cursors: &mut HashMap<ConnId, u64>,
) -> bool {
    // `recv` is a stream's `next`, so dropping it unfinished loses nothing.
    while let Some(incoming) = socket.recv().now_or_never() {
        if !handle_incoming(socket, incoming, watch, cursors).await {
            return false;
        }
    }
    true
}

/// What the socket answers to a message it cannot read.
fn error_reply(e: &ApiError) -> serde_json::Value {
    serde_json::json!({
        "type": "error",
        "code": "bad_request",
        "message": e.to_string(),
    })
}

/// Handles one message from the client; `false` when the client went away.
async fn handle_incoming(
    socket: &mut WebSocket,
    incoming: Option<Result<Message, axum::Error>>,
    watch: &mut Watch,
    cursors: &mut HashMap<ConnId, u64>,
) -> bool {
    match incoming {
        None | Some(Err(_)) | Some(Ok(Message::Close(_))) => false,
        Some(Ok(Message::Text(text))) => match apply_message(text.as_str(), watch, cursors) {
            Ok(()) => true,
            Err(e) => socket
                .send(Message::Text(error_reply(&e).to_string().into()))
                .await
                .is_ok(),
        },
        // Pings are answered by the WebSocket layer; binary frames mean nothing here.
        Some(Ok(_)) => true,
    }
}

async fn stream(
    mut socket: WebSocket,
    session: Session,
    mut cursors: HashMap<ConnId, u64>,
    format: Format,
    mut watch: Watch,
) {
    let mut changes = session.subscribe();
    // When the last batch sent began to be read. The gap is counted from there, not from
    // the end of its send: reading and sending a batch at 200,000 records a second takes
    // 30–80 ms, and waiting MIN_GAP more on top halved the batches and doubled the lag.
    let mut last_batch = Instant::now() - MIN_GAP;
    let mut last_stats: Option<Instant> = None;
    // The list as last sent, to send it only when it changed.
    let mut sent_conns: Option<Vec<u8>> = None;
    // When the list last changed, and whether it may still change with the clock alone.
    let mut conns_changed = Instant::now();
    let mut stats_moving = true;
    let mut known_conns: Vec<ConnId> = Vec::new();
    // The listing version the client last got; `None` until the first `list`.
    let mut listed: Option<u64> = None;
    let mut resume_after: Option<ConnId> = None;
    let mut stopping = false;
    loop {
        if !read_waiting(&mut socket, &mut watch, &mut cursors).await {
            return;
        }
        // Mark what we are about to read as seen before reading it, so a change that
        // lands while we build the batch wakes us again.
        changes.borrow_and_update();
        let started = Instant::now();
        // Only the watched connections are looked at: with a watch set, this loop costs
        // in proportion to it, not to every connection the session ever opened.
        let heads: Vec<(ConnId, u64)> = session
            .heads_of(&watch.ids(&session))
            .into_iter()
            .filter_map(|(id, head)| head.map(|h| (id, h)))
            .collect();
        cursors.retain(|id, _| heads.iter().any(|(h, _)| h == id));
        let mut batch = BatchWriter::new(format);
        let (n, full) = build_batch(&session, &heads, &mut cursors, resume_after, &mut batch);
        resume_after = full;
        let more = full.is_some();
        let mut msg = batch.finish();
        let ids: Vec<ConnId> = heads.iter().map(|(id, _)| *id).collect();
        let stats_due = last_stats.is_none_or(|t| t.elapsed() >= STATS_EVERY) || ids != known_conns;
        let mut conns_sent = false;
        if stats_due {
            let views: Vec<ConnView> = session.briefs_of(&ids).iter().map(ConnView::from).collect();
            let mut conns = Vec::new();
            if serde_json::to_writer(&mut conns, &views).is_err() {
                conns = b"[]".to_vec();
            }
            if sent_conns.as_ref() != Some(&conns) {
                msg.extend_from_slice(br#","conns":"#);
                msg.extend_from_slice(&conns);
                sent_conns = Some(conns);
                conns_sent = true;
                conns_changed = Instant::now();
            }
            // The whole list goes only when it changed: with thousands of connections it
            // is the largest thing a batch could carry.
            if listed != Some(session.listing_version()) {
                let (version, list) = session.listing();
                let views: Vec<ListingView> = list.iter().map(ListingView::from).collect();
                msg.extend_from_slice(br#","list":"#);
                if serde_json::to_writer(&mut msg, &views).is_err() {
                    msg.extend_from_slice(b"[]");
                }
                listed = Some(version);
                conns_sent = true;
                conns_changed = Instant::now();
            }
            // A rate above zero falls back with the clock; a recent change (a record,
            // a new state) may show in the rate once its second is over.
            stats_moving = views.iter().any(|v| rate_above_zero(&v.rate))
                || conns_changed.elapsed() < RATE_SETTLES;
            last_stats = Some(Instant::now());
            known_conns = ids;
        }
        // A change seen between two stats turns goes out at the next turn; with nothing
        // moving and nothing pending, the next change in the session wakes us instead.
        let stats_turn = stats_moving || !stats_due;
        msg.push(b'}');
        if n > 0 || conns_sent {
            let text = String::from_utf8(msg).unwrap_or_default();
            // Awaiting the send is the backpressure: a slow client slows this loop,
            // and nothing piles up here.
            if socket.send(Message::Text(text.into())).await.is_err() {
                return;
            }
            last_batch = started;
        }
        if stopping && !more {
            // Everything recorded up to the shutdown went out; say why we close.
            let frame = CloseFrame {
                code: close_code::AWAY,
                reason: "the server is shutting down".into(),
            };
            let _ = socket.send(Message::Close(Some(frame))).await;
            return;
        }
        if !more {
            let next_stats = last_stats.map_or(Instant::now(), |t| t + STATS_EVERY);
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return },
                _ = tokio::time::sleep_until(next_stats), if stats_turn => {}
                _ = session.stopped(), if !stopping => stopping = true,
                incoming = socket.recv() => {
                    if !handle_incoming(&mut socket, incoming, &mut watch, &mut cursors).await {
                        return;
                    }
                    // A new watch set is answered at once, not after the gap.
                    continue;
                }
            }
        }
        tokio::time::sleep_until(last_batch + MIN_GAP).await;
    }
}

fn rate_above_zero(r: &CountsView) -> bool {
    r.events_in > 0 || r.events_out > 0 || r.bytes_in > 0 || r.bytes_out > 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use streamscope_engine::{Proto, Timestamp};

    fn record(seq: u64, dir: Dir, body: Body) -> Record {
        Record {
            t: Timestamp(1_764_000_000_000_000 + seq as i64 * 7),
            conn: ConnId(3),
            proto: if matches!(body, Body::Event { .. }) {
                Proto::Sse
            } else {
                Proto::Ws
            },
            seq,
            dir,
            body,
            wire: None,
        }
    }

    fn batch(format: Format, records: &[Record]) -> Value {
        let mut w = BatchWriter::new(format);
        for r in records {
            w.push(r);
        }
        let mut msg = w.finish();
        msg.push(b'}');
        serde_json::from_slice(&msg).expect("a batch is JSON")
    }

    #[test]
    fn runs_gather_consecutive_text_and_leave_other_records_whole() {
        let open = record(
            1,
            Dir::Meta,
            Body::Open {
                status: 101,
                headers: vec![],
                subprotocol: None,
            },
        );
        let records = [
            open.clone(),
            record(2, Dir::In, Body::Text("héllo wörld".into())),
            record(3, Dir::Out, Body::Text("\"quoted\"\n".into())),
            record(4, Dir::In, Body::Text("ab".into())),
            record(5, Dir::In, Body::Binary(vec![1, 2].into())),
            record(6, Dir::In, Body::Text("again".into())),
        ];
        let b = batch(Format::Runs { preview: Some(3) }, &records);
        let items = b["items"].as_array().expect("items");
        assert_eq!(items.len(), 4, "{b}");
        assert_eq!(items[0], serde_json::to_value(&open).expect("record"));
        assert_eq!(
            items[1],
            json!({"run": {
                "conn": "c3", "proto": "ws", "kind": "text", "seq": 2,
                "t": [1_764_000_000_000_014_i64, 7, 7],
                "dir": "ioi",
                "size": [13, 9, 2],
                "data": ["hél", "\"qu", "ab"],
            }})
        );
        assert_eq!(items[2]["kind"], "binary");
        assert_eq!(items[3]["run"]["seq"], 6);
        assert_eq!(items[3]["run"]["data"], json!(["aga"]));
    }

    #[test]
    fn event_runs_carry_types_and_ids_and_break_at_a_gap() {
        let event = |seq, id: Option<&str>| {
            record(
                seq,
                Dir::In,
                Body::Event {
                    event: "tick".into(),
                    data: format!("{{\"n\":{seq}}}"),
                    id: id.map(Into::into),
                },
            )
        };
        let records = [event(1, Some("1")), event(2, None), event(4, Some("4"))];
        let b = batch(Format::Runs { preview: None }, &records);
        let items = b["items"].as_array().expect("items");
        assert_eq!(items.len(), 2, "a seq gap starts a new run: {b}");
        let run = &items[0]["run"];
        assert_eq!(run["kind"], "event");
        assert_eq!(run["proto"], "sse");
        assert_eq!(run["data"], json!(["{\"n\":1}", "{\"n\":2}"]));
        assert_eq!(run["event"], json!(["tick", "tick"]));
        assert_eq!(run["id"], json!(["1", null]));
        assert_eq!(items[1]["run"]["seq"], 4);
    }

    #[test]
    fn the_default_format_is_contract_records() {
        let records = [record(1, Dir::In, Body::Text("x".into()))];
        let b = batch(Format::Records, &records);
        assert_eq!(
            b["records"],
            json!([serde_json::to_value(&records[0]).expect("record")])
        );
        assert!(b.get("items").is_none());
    }

    #[test]
    fn integers_are_written_in_decimal() {
        for v in [0, 7, -7, 10, 1_764_000_000_000_014, i64::MIN, i64::MAX] {
            let mut out = Vec::new();
            put_int(&mut out, v);
            assert_eq!(String::from_utf8(out).expect("ascii"), v.to_string());
        }
    }

    #[test]
    fn formats_parse_and_refuse_nonsense() {
        assert_eq!(parse_format(None, None).ok(), Some(Format::Records));
        assert_eq!(
            parse_format(Some("runs"), Some(240)).ok(),
            Some(Format::Runs { preview: Some(240) })
        );
        assert_eq!(
            parse_format(Some("runs"), None).ok(),
            Some(Format::Runs { preview: None })
        );
        assert!(parse_format(Some("columns"), None).is_err());
        assert!(parse_format(None, Some(10)).is_err());
        assert!(parse_format(Some("runs"), Some(0)).is_err());
        assert!(parse_format(Some("runs"), Some(MAX_PREVIEW + 1)).is_err());
    }

    #[test]
    fn cursors_parse_and_refuse_nonsense() {
        let c = parse_cursors(Some("c1:120,c2:0")).expect("valid");
        assert_eq!(c.get(&ConnId(1)), Some(&120));
        assert_eq!(c.get(&ConnId(2)), Some(&0));
        assert!(parse_cursors(Some("c1")).is_err());
        assert!(parse_cursors(Some("x1:3")).is_err());
        assert!(parse_cursors(Some("c1:-3")).is_err());
        assert!(parse_cursors(None).expect("empty").is_empty());
    }

    /// The wire format's fixture, shared with ui/src/transport/decode.test.ts.
    fn fixture() -> Value {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../ui/src/fixtures/live-batch.json"
        );
        let text = std::fs::read_to_string(path).expect("the live fixture");
        serde_json::from_str(&text).expect("the live fixture is JSON")
    }

    fn fixture_records(fx: &Value) -> Vec<Record> {
        fx["input"]
            .as_array()
            .expect("input")
            .iter()
            .map(|r| Record::from_json(&r.to_string()).expect("a contract record"))
            .collect()
    }

    #[test]
    fn the_encoder_writes_the_shared_fixture_exactly() {
        let fx = fixture();
        let records = fixture_records(&fx);
        let preview = fx["preview"].as_u64().map(|p| p as usize);
        if std::env::var_os("SSCOPE_WRITE_LIVE_FIXTURE").is_some() {
            let mut fx = fx.clone();
            fx["records"] = batch(Format::Records, &records);
            fx["runs"] = batch(Format::Runs { preview }, &records);
            println!("{}", serde_json::to_string_pretty(&fx).expect("JSON"));
        }
        assert_eq!(batch(Format::Records, &records), fx["records"]);
        assert_eq!(batch(Format::Runs { preview }, &records), fx["runs"]);
    }

    #[test]
    fn the_fixture_watch_message_selects_its_connections_and_cursors() {
        let fx = fixture();
        let mut watch = Watch::Set(BTreeSet::new());
        let mut cursors = HashMap::new();
        apply_message(&fx["watch"].to_string(), &mut watch, &mut cursors).expect("valid");
        let want: BTreeSet<ConnId> = fx["watched"]["conns"]
            .as_array()
            .expect("conns")
            .iter()
            .map(|c| c.as_str().expect("id").parse().expect("conn id"))
            .collect();
        assert_eq!(watch, Watch::Set(want));
        let want: HashMap<ConnId, u64> = fx["watched"]["cursors"]
            .as_object()
            .expect("cursors")
            .iter()
            .map(|(id, seq)| (id.parse().expect("conn id"), seq.as_u64().expect("seq")))
            .collect();
        assert_eq!(cursors, want);
        let err = apply_message(
            r#"{"type":"subscribe","conns":[]}"#,
            &mut watch,
            &mut cursors,
        )
        .expect_err("not a watch");
        let (mut a, mut b) = (Vec::new(), Vec::new());
        shape(&error_reply(&err), "", &mut a);
        shape(&fx["error"], "", &mut b);
        assert_eq!(a, b);
        assert_eq!(error_reply(&err)["code"], fx["error"]["code"]);
    }

    /// The keys of a JSON object and of the objects in it, as a sorted list of paths.
    fn shape(v: &Value, prefix: &str, out: &mut Vec<String>) {
        if let Some(map) = v.as_object() {
            for (k, inner) in map {
                let path = format!("{prefix}{k}");
                out.push(path.clone());
                shape(inner, &format!("{path}."), out);
            }
        }
        out.sort();
    }

    #[test]
    fn conns_and_list_entries_have_the_fixture_shape() {
        use streamscope_engine::session::{ConnBrief, ConnListing, ConnState};
        use streamscope_model::stats::Counts;
        let fx = fixture();
        let brief = ConnBrief {
            listing: ConnListing {
                id: ConnId(3),
                proto: Proto::Ws,
                url: "ws://127.0.0.1:9000/demo/ws/echo".into(),
                name: "ws/echo".into(),
                state: ConnState::Closed,
                since: Timestamp(1_767_323_046_000_300),
                relay: false,
            },
            last_seq: 7,
            recorded_bytes: 512,
            totals: Counts {
                events_in: 3,
                events_out: 1,
                bytes_in: 314,
                bytes_out: 12,
                wire_in: 597,
                wire_out: 208,
            },
            rate: Counts {
                events_in: 2,
                events_out: 0,
                bytes_in: 309,
                bytes_out: 0,
                wire_in: 313,
                wire_out: 0,
            },
            repeat: None,
            latency_seen: false,
        };
        let view = serde_json::to_value(ConnView::from(&brief)).expect("JSON");
        assert_eq!(view, fx["conns"][0]);
        let view = serde_json::to_value(ListingView::from(&brief.listing)).expect("JSON");
        assert_eq!(view, fx["list"][0]);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        shape(&view, "", &mut a);
        shape(&fx["list"][1], "", &mut b);
        assert_eq!(a, b);
    }
}
