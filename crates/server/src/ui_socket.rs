//! `/api/live`: one WebSocket that streams every connection's records and statistics
//! to a UI, in batches.
//!
//! The socket keeps a cursor per connection (the last `seq` sent), never a copy of the
//! records: each batch is read from the hub's recordings when the client can take it.
//! A slow or stalled client therefore costs no memory, and a client that reconnects
//! with `?from=c1:120,c2:40` resumes where it left off without losing a record.
//!
//! Messages (JSON text):
//! `{"type":"batch","records":[…contract records…],"conns":[…]}` where `conns` (the
//! connection list with states and rates) is present at most four times a second and
//! whenever the list changed. When the server shuts down, the socket sends what was
//! recorded up to then and closes with 1001 (going away).

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use streamscope_engine::ConnId;
use streamscope_engine::hub::Hub;
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

use crate::api::ConnView;
use crate::error::ApiError;

/// Shortest gap between two batches: at most ~30 a second, which a UI can render per
/// animation frame; each batch is as large as needed.
pub const MIN_GAP: Duration = Duration::from_millis(33);

/// How often the connection list with its rates goes out even when nothing else moves:
/// four times a second keeps rate charts live.
pub const STATS_EVERY: Duration = Duration::from_millis(250);

/// Most records in one batch: bounds one message (and the time to build it); a client
/// far behind gets the rest in the following batches.
pub const MAX_BATCH: usize = 50_000;

/// Most JSON bytes in one batch (one record larger than this still goes, alone): with
/// [`MAX_BATCH`] alone, a backlog of large messages would make one batch of gigabytes.
/// 8 MiB at 30 batches a second is far more than a UI renders.
pub const MAX_BATCH_BYTES: usize = 8 << 20;

/// Most records read from the hub at once while a batch is built: the hub's lock is held
/// for one read, so a read must stay short.
const READ_CHUNK: usize = 1024;

/// What the live route needs: the hub to read, and a tracker of the open sockets, so the
/// server's shutdown can wait for each to send its last batch and close.
#[derive(Clone)]
pub struct LiveState {
    pub hub: Hub,
    pub sockets: TaskTracker,
}

#[derive(Debug, Deserialize)]
pub struct LiveQuery {
    /// Cursors to resume from: `c1:120,c2:40` (the last `seq` already received).
    from: Option<String>,
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
    let cursors = match q
        .map_err(ApiError::from)
        .and_then(|Query(q)| parse_cursors(q.from.as_deref()))
    {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let LiveState { hub, sockets } = state;
    ws.on_upgrade(move |socket| sockets.track_future(stream(socket, hub, cursors)))
}

/// The next batch: records after each cursor (cursors advanced past them), at most
/// [`MAX_BATCH`] records and about [`MAX_BATCH_BYTES`]. Starts after `resume_after`,
/// the connection that filled the previous batch, so one busy connection cannot starve
/// the others. Returns the number of records and, when the batch filled up before every
/// cursor reached its head, the connection it stopped at.
fn build_batch(
    hub: &Hub,
    heads: &[(ConnId, u64)],
    cursors: &mut HashMap<ConnId, u64>,
    resume_after: Option<ConnId>,
    msg: &mut Vec<u8>,
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
            let room = MAX_BATCH_BYTES.saturating_sub(msg.len());
            let want = match per_record {
                0 => 16,
                size => room / size,
            }
            .clamp(1, READ_CHUNK)
            .min(MAX_BATCH - n);
            records.clear();
            if hub.records(id, *cursor + 1, want, &mut records).is_err() || records.is_empty() {
                // Forgotten meanwhile, or nothing readable: the heads say again next time.
                break;
            }
            let before = msg.len();
            for r in &records {
                let mark = msg.len();
                if n > 0 {
                    msg.push(b',');
                }
                // A record always serializes (strings, numbers, a map of strings); were
                // one not to, its half-written bytes must not break the message.
                if serde_json::to_writer(&mut *msg, r).is_err() {
                    msg.truncate(mark);
                    *cursor = r.seq;
                    continue;
                }
                *cursor = r.seq;
                n += 1;
                if n >= MAX_BATCH || msg.len() >= MAX_BATCH_BYTES {
                    return (n, Some(id));
                }
            }
            per_record = ((msg.len() - before) / records.len()).max(1);
        }
    }
    (n, None)
}

async fn stream(mut socket: WebSocket, hub: Hub, mut cursors: HashMap<ConnId, u64>) {
    let mut changes = hub.subscribe();
    let mut last_send = Instant::now() - MIN_GAP;
    let mut last_stats: Option<Instant> = None;
    let mut known_conns: Vec<ConnId> = Vec::new();
    let mut resume_after: Option<ConnId> = None;
    let mut stopping = false;
    loop {
        // Mark what we are about to read as seen before reading it, so a change that
        // lands while we build the batch wakes us again.
        changes.borrow_and_update();
        let heads = hub.heads();
        cursors.retain(|id, _| heads.iter().any(|(h, _)| h == id));
        let mut msg = Vec::with_capacity(4096);
        msg.extend_from_slice(br#"{"type":"batch","records":["#);
        let (n, full) = build_batch(&hub, &heads, &mut cursors, resume_after, &mut msg);
        resume_after = full;
        let more = full.is_some();
        msg.push(b']');
        let ids: Vec<ConnId> = heads.iter().map(|(id, _)| *id).collect();
        let stats_due = last_stats.is_none_or(|t| t.elapsed() >= STATS_EVERY) || ids != known_conns;
        if stats_due {
            let views: Vec<ConnView> = hub.list().iter().map(ConnView::from).collect();
            msg.extend_from_slice(br#","conns":"#);
            if serde_json::to_writer(&mut msg, &views).is_err() {
                msg.extend_from_slice(b"[]");
            }
            last_stats = Some(Instant::now());
            known_conns = ids;
        }
        msg.push(b'}');
        if n > 0 || stats_due {
            let text = String::from_utf8(msg).unwrap_or_default();
            // Awaiting the send is the backpressure: a slow client slows this loop,
            // and nothing piles up here.
            if socket.send(Message::Text(text.into())).await.is_err() {
                return;
            }
            last_send = Instant::now();
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
                _ = tokio::time::sleep_until(next_stats) => {}
                _ = hub.stopped(), if !stopping => stopping = true,
                incoming = socket.recv() => match incoming {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                    // The client does not steer this socket; other messages are ignored.
                    Some(Ok(_)) => {}
                },
            }
        }
        tokio::time::sleep_until(last_send + MIN_GAP).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
