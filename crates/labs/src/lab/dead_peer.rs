//! The dead-peer lab: the server goes silent without closing. Four clients watch: a
//! WebSocket with ping and pong timeout, an SSE stream with an idle timeout, and one of each
//! with no timer. The figures are how long each took to notice, if it did.

use std::time::Duration;

use serde_json::{Value, json};
use streamscope_engine::{Body, ConnId, Dir, OpenSpec};
use tokio::time::Instant;

use crate::measure::{Follow, num, open, ws_base};
use crate::{Context, Figure, LabError, LabResult};

/// Seconds between pings.
const PING_S: f64 = 1.0;
/// Seconds to wait for a pong.
const PONG_S: f64 = 1.0;
/// Seconds without a byte before SSE gives up: twice a one-second heartbeat.
const IDLE_S: f64 = 2.0;

/// What one client saw.
struct Watch {
    /// From the last message received to the error that noticed the silence, in seconds.
    noticed_s: Option<f64>,
    /// The error's words, when there was one.
    how: Option<String>,
}

pub(crate) async fn run(ctx: &Context) -> Result<LabResult, LabError> {
    let run_s: u64 = if ctx.quick { 4 } else { 8 };
    ctx.progress.step(&format!(
        "four clients; the server sends one message to each, then nothing, for {run_s} s, \
         without closing"
    ));
    let ws_url = format!("{}/demo/ws/silent?messages=1&hold_s=60", ws_base(ctx));
    let sse_url = format!("{}/demo/sse/silent?first=1&hold_s=60", ctx.base);

    let mut ws_timer = OpenSpec::new(ws_url.clone());
    ws_timer.ping_interval_secs = Some(PING_S);
    ws_timer.pong_timeout_secs = Some(PONG_S);
    let mut sse_timer = OpenSpec::new(sse_url.clone());
    sse_timer.idle_timeout_secs = Some(IDLE_S);
    sse_timer.reconnect = Some(false);
    let ws_none = OpenSpec::new(ws_url);
    let mut sse_none = OpenSpec::new(sse_url);
    sse_none.reconnect = Some(false);

    let ids = [
        open(ctx, &ws_timer, "WebSocket: ping every 1 s, pong within 1 s")?,
        open(ctx, &sse_timer, "SSE: idle timeout 2 s")?,
        open(ctx, &ws_none, "WebSocket: no timer")?,
        open(ctx, &sse_none, "SSE: no timer")?,
    ];
    let until = Instant::now() + Duration::from_secs(run_s);
    let (a, b, c, d) = tokio::join!(
        watch(ctx, ids[0], until),
        watch(ctx, ids[1], until),
        watch(ctx, ids[2], until),
        watch(ctx, ids[3], until),
    );
    for id in ids {
        let _ = ctx.session.close(id).await;
    }
    let (ws_t, sse_t, ws_n, sse_n) = (a?, b?, c?, d?);
    ctx.progress
        .step("done: each client's time to notice, from its last message");

    let shown = |w: &Watch| -> Value {
        match w.noticed_s {
            Some(s) => num(Some(s), 2),
            None => json!(format!("not noticed in {run_s} s")),
        }
    };
    let figures = vec![
        Figure::new(
            "the timer",
            json!(format!("ping every {PING_S} s, pong within {PONG_S} s")),
            json!(format!("idle timeout {IDLE_S} s")),
            "",
        ),
        Figure::new(
            "time to notice, with the timer",
            shown(&ws_t),
            shown(&sse_t),
            "s",
        ),
        Figure::new(
            "time to notice, with no timer",
            shown(&ws_n),
            shown(&sse_n),
            "s",
        ),
        Figure::new(
            "how it was noticed",
            json!(ws_t.how.clone().unwrap_or_else(|| "—".into())),
            json!(sse_t.how.clone().unwrap_or_else(|| "—".into())),
            "",
        ),
    ];
    let mut parts = Vec::new();
    let ws_bound = PING_S + PONG_S;
    match ws_t.noticed_s {
        Some(s) => parts.push(format!(
            "With ping every {PING_S} s and a pong timeout of {PONG_S} s the WebSocket noticed \
             after {s:.2} s{}.",
            if s <= ws_bound + 0.5 {
                format!(", within ping + timeout ({ws_bound} s)")
            } else {
                format!(
                    ", later than ping + timeout ({ws_bound} s): a loaded machine delays timers"
                )
            }
        )),
        None => parts.push(format!(
            "The WebSocket with ping and pong timeout did not notice in {run_s} s, which it \
             should have by {ws_bound} s: look at its pane."
        )),
    }
    match sse_t.noticed_s {
        Some(s) => parts.push(format!(
            "SSE noticed only through its idle timeout, after {s:.2} s ({IDLE_S} s asked)."
        )),
        None => parts.push(format!(
            "SSE with an idle timeout of {IDLE_S} s did not notice in {run_s} s: look at its pane."
        )),
    }
    match (ws_n.noticed_s, sse_n.noticed_s) {
        (None, None) => parts.push(format!(
            "With no timer neither noticed in {run_s} s: a silent peer looks like a quiet one. \
             WebSockets do not detect a dropped peer by themselves; both protocols need a timer."
        )),
        _ => parts.push(
            "A client with no timer noticed too: something else ended its connection \
             (see its pane), not the protocol."
                .into(),
        ),
    }
    Ok(LabResult {
        lab: "dead-peer".into(),
        figures,
        conclusion: parts.join(" "),
        notes: vec![
            format!("Each client ran for {run_s} s after the server went silent."),
            "Time to notice is counted from the last message the client received.".into(),
        ],
    })
}

async fn watch(ctx: &Context, id: ConnId, until: Instant) -> Result<Watch, LabError> {
    let mut f = Follow::new(&ctx.session, id);
    let mut last_in: Option<i64> = None;
    while let Some(r) = f.next(until).await {
        match &r.body {
            Body::Open { .. } => last_in = Some(r.t.0),
            Body::Text(_) | Body::Event { .. } if r.dir == Dir::In => last_in = Some(r.t.0),
            Body::Error { message, .. } => {
                let Some(from) = last_in else {
                    return Err(LabError::Failed(format!(
                        "a client failed to open: {message}"
                    )));
                };
                return Ok(Watch {
                    noticed_s: Some((r.t.0 - from) as f64 / 1e6),
                    how: Some(message.clone()),
                });
            }
            _ => {}
        }
    }
    Ok(Watch {
        noticed_s: None,
        how: None,
    })
}
