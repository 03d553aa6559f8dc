//! The reconnect lab: both servers drop their client every few messages while they keep
//! producing. SSE resumes after `Last-Event-ID`; a WebSocket client that reconnects after the
//! same delay gets what is being sent now, and what was sent meanwhile is gone.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use streamscope_engine::{Body, Dir, OpenSpec, Record};
use tokio::time::Instant;

use crate::measure::{Follow, median, ms_between, num, open, ranges, ws_base};
use crate::{Context, Figure, LabError, LabResult};

struct Params {
    every: u64,
    total: u64,
    rate: u64,
    retry_ms: u64,
}

/// What one side received.
#[derive(Default)]
struct Side {
    /// Ids received, with the time each came, in order of arrival.
    got: Vec<(u64, i64)>,
    /// Connections after the first.
    reconnections: u64,
    /// From the last message before each drop to the first after it.
    resume_ms: Vec<f64>,
    /// Whether each reconnection said where it had stopped (`Last-Event-ID`).
    said_where: Vec<bool>,
}

impl Side {
    fn ids(&self) -> BTreeSet<u64> {
        self.got.iter().map(|(id, _)| *id).collect()
    }

    /// Ids up to the highest received that never came.
    fn lost(&self, first: u64) -> Vec<u64> {
        let ids = self.ids();
        let last = ids.iter().next_back().copied().unwrap_or(0);
        (first..=last).filter(|i| !ids.contains(i)).collect()
    }

    fn duplicates(&self) -> usize {
        self.got.len() - self.ids().len()
    }
}

pub(crate) async fn run(ctx: &Context) -> Result<LabResult, LabError> {
    let p = if ctx.quick {
        Params {
            every: 4,
            total: 12,
            rate: 20,
            retry_ms: 300,
        }
    } else {
        Params {
            every: 5,
            total: 25,
            rate: 10,
            retry_ms: 500,
        }
    };
    ctx.progress.step(&format!(
        "both servers drop the connection every {} messages, producing {} a second; \
         each client reconnects after {} ms",
        p.every, p.rate, p.retry_ms
    ));
    let (sse, ws) = tokio::join!(sse(ctx, &p), websocket(ctx, &p));
    let (sse, ws) = (sse?, ws?);
    ctx.progress
        .step("done: ids received compared with ids sent");

    let ws_lost = ws.lost(1);
    let sse_lost = sse.lost(1);
    let show_lost = |lost: &[u64]| -> Value {
        if lost.is_empty() {
            json!(0)
        } else {
            json!(format!("{} ({})", lost.len(), ranges(lost)))
        }
    };
    let said = |s: &Side| -> Value {
        json!(format!(
            "{} of {}",
            s.said_where.iter().filter(|b| **b).count(),
            s.said_where.len()
        ))
    };
    let figures = vec![
        Figure::new(
            "messages received",
            json!(ws.got.len()),
            json!(sse.got.len()),
            "",
        ),
        Figure::new("ids lost", show_lost(&ws_lost), show_lost(&sse_lost), ""),
        Figure::new(
            "ids received twice",
            json!(ws.duplicates()),
            json!(sse.duplicates()),
            "",
        ),
        Figure::new(
            "reconnections",
            json!(ws.reconnections),
            json!(sse.reconnections),
            "",
        ),
        Figure::new(
            "time to resume, median",
            num(median(&ws.resume_ms), 0),
            num(median(&sse.resume_ms), 0),
            "ms",
        ),
        Figure::new(
            "reconnections that said where they stopped",
            said(&ws),
            said(&sse),
            "",
        ),
    ];
    let mut conclusion = String::new();
    if sse_lost.is_empty() && sse.duplicates() == 0 {
        conclusion.push_str(&format!(
            "SSE lost nothing across {} reconnections: each sent Last-Event-ID and the server \
             resumed after it, so ids 1–{} arrived once each, in order.",
            sse.reconnections, p.total
        ));
    } else {
        conclusion.push_str(&format!(
            "SSE lost {} ids and got {} twice on this run, although it reconnected with \
             Last-Event-ID: look at the SSE pane's reconnect records.",
            sse_lost.len(),
            sse.duplicates()
        ));
    }
    if ws_lost.is_empty() {
        conclusion.push_str(
            " The WebSocket lost nothing this time: its reconnections came back before the \
             server sent again.",
        );
    } else {
        conclusion.push_str(&format!(
            " The WebSocket lost {} ids ({}) in {} reconnection{}: it has no event ids, so \
             what the server sent while it was away is gone. An application on WebSocket has \
             to number its messages and ask for the missing ones itself.",
            ws_lost.len(),
            ranges(&ws_lost),
            ws.reconnections,
            if ws.reconnections == 1 { "" } else { "s" }
        ));
    }
    Ok(LabResult {
        lab: "reconnect".into(),
        figures,
        conclusion,
        notes: vec![
            format!(
                "{} messages; a drop every {}; {} a second; {} ms before reconnecting.",
                p.total, p.every, p.rate, p.retry_ms
            ),
            "The SSE server replays from Last-Event-ID as a server keeping recent events \
             would; the WebSocket server numbers messages by its clock, whoever is connected."
                .into(),
        ],
    })
}

fn deadline(p: &Params) -> Instant {
    let run = Duration::from_millis(p.total * 1000 / p.rate + (p.total / p.every + 2) * p.retry_ms);
    Instant::now() + run * 2 + Duration::from_secs(10)
}

async fn sse(ctx: &Context, p: &Params) -> Result<Side, LabError> {
    let mut spec = OpenSpec::new(format!(
        "{}/demo/sse/flaky?every={}&retry_ms={}&rate={}&count={}",
        ctx.base, p.every, p.retry_ms, p.rate, p.total
    ));
    spec.reconnect = Some(true);
    let id = open(ctx, &spec, "SSE: drops and resumes")?;
    let mut f = Follow::new(&ctx.session, id);
    let until = deadline(p);
    let mut side = Side::default();
    let mut dropped_at: Option<i64> = None;
    while let Some(r) = f.next(until).await {
        match &r.body {
            Body::Event { id: Some(eid), .. } => {
                if let Ok(n) = eid.parse::<u64>() {
                    if let Some(at) = dropped_at.take() {
                        side.resume_ms.push(ms_between(at, r.t.0));
                    }
                    side.got.push((n, r.t.0));
                    if n >= p.total {
                        break;
                    }
                }
            }
            Body::Reconnect { last_event_id, .. } => {
                side.reconnections += 1;
                side.said_where.push(last_event_id.is_some());
                dropped_at = side.got.last().map(|(_, t)| *t);
            }
            _ => {}
        }
    }
    let _ = ctx.session.close(id).await;
    if side.got.is_empty() {
        return Err(LabError::Failed("the SSE stream delivered no event".into()));
    }
    Ok(side)
}

async fn websocket(ctx: &Context, p: &Params) -> Result<Side, LabError> {
    let url = format!(
        "{}/demo/ws/flaky?every={}&rate={}&feed={}-feed",
        ws_base(ctx),
        p.every,
        p.rate,
        ctx.tag
    );
    let until = deadline(p);
    let mut side = Side::default();
    let most = p.total / p.every + 4;
    for attempt in 1..=most {
        let role = format!("WebSocket: connection {attempt}");
        let id = open(ctx, &OpenSpec::new(url.clone()), &role)?;
        let mut f = Follow::new(&ctx.session, id);
        let records = f.rest(until).await;
        let mut first = true;
        for r in &records {
            if let Some(n) = message_id(r) {
                if first && attempt > 1 {
                    if let Some((_, at)) = side.got.last() {
                        side.resume_ms.push(ms_between(*at, r.t.0));
                    }
                }
                first = false;
                side.got.push((n, r.t.0));
            }
        }
        if attempt > 1 {
            side.reconnections += 1;
            // A WebSocket reconnection is a new handshake: nothing in it says where the
            // last connection stopped.
            side.said_where.push(false);
        }
        let highest = side.ids().iter().next_back().copied().unwrap_or(0);
        if highest >= p.total || Instant::now() >= until {
            break;
        }
        if records.is_empty() {
            return Err(LabError::Failed(format!("{role} recorded nothing")));
        }
        ctx.progress.step(&format!(
            "WebSocket connection {attempt} dropped; reconnecting in {} ms",
            p.retry_ms
        ));
        tokio::time::sleep(Duration::from_millis(p.retry_ms)).await;
    }
    if side.got.is_empty() {
        return Err(LabError::Failed(
            "the WebSocket feed delivered nothing".into(),
        ));
    }
    Ok(side)
}

/// The `n` of a feed message received.
fn message_id(r: &Record) -> Option<u64> {
    match (&r.body, r.dir) {
        (Body::Text(t), Dir::In) => serde_json::from_str::<Value>(t).ok()?["n"].as_u64(),
        _ => None,
    }
}
