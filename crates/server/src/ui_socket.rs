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
//! whenever the list changed.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use streamscope_engine::ConnId;
use streamscope_engine::hub::Hub;
use tokio::time::Instant;

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
    ws: WebSocketUpgrade,
    State(hub): State<Hub>,
    Query(q): Query<LiveQuery>,
) -> Response {
    let cursors = match parse_cursors(q.from.as_deref()) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    ws.on_upgrade(move |socket| stream(socket, hub, cursors))
}

async fn stream(mut socket: WebSocket, hub: Hub, mut cursors: HashMap<ConnId, u64>) {
    let mut changes = hub.subscribe();
    let mut records = Vec::new();
    let mut last_send = Instant::now() - MIN_GAP;
    let mut last_stats: Option<Instant> = None;
    let mut known_conns: Vec<ConnId> = Vec::new();
    loop {
        // Mark what we are about to read as seen before reading it, so a change that
        // lands while we build the batch wakes us again.
        changes.borrow_and_update();
        let heads = hub.heads();
        cursors.retain(|id, _| heads.iter().any(|(h, _)| h == id));
        let mut msg = Vec::with_capacity(4096);
        msg.extend_from_slice(br#"{"type":"batch","records":["#);
        let mut n = 0usize;
        let mut more = false;
        for &(id, head) in &heads {
            let cursor = cursors.entry(id).or_insert(0);
            if head <= *cursor {
                continue;
            }
            if n >= MAX_BATCH {
                more = true;
                break;
            }
            records.clear();
            if hub
                .records(id, *cursor + 1, MAX_BATCH - n, &mut records)
                .is_err()
            {
                continue;
            }
            for r in &records {
                if n > 0 {
                    msg.push(b',');
                }
                if serde_json::to_writer(&mut msg, r).is_err() {
                    continue;
                }
                *cursor = r.seq;
                n += 1;
            }
            if *cursor < head {
                more = true;
            }
        }
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
        if !more {
            let next_stats = last_stats.map_or(Instant::now(), |t| t + STATS_EVERY);
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return },
                _ = tokio::time::sleep_until(next_stats) => {}
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
