//! The direction lab: one small chat over one WebSocket (both ways on one connection), and
//! over an SSE stream plus one HTTP POST per message sent.

use serde_json::json;
use streamscope_engine::{Body, Command, Dir, OpenSpec, Timestamp};
use tokio::time::Instant;

use crate::measure::{
    Follow, http, median, ms_between, num, open, opened, patience, percentile, wire, ws_base,
};
use crate::{Context, Figure, LabError, LabResult};

struct Leg {
    connections: u64,
    requests: u64,
    bytes_per_message: f64,
    sent_per_message: f64,
    rtt_ms: Vec<f64>,
}

pub(crate) async fn run(ctx: &Context) -> Result<LabResult, LabError> {
    let n: u32 = if ctx.quick { 8 } else { 20 };
    ctx.progress.step(&format!(
        "WebSocket: {n} messages, each sent and echoed on the one connection"
    ));
    let ws = websocket(ctx, n).await?;
    ctx.progress.step(&format!(
        "SSE: {n} messages, each POSTed and received as an event on the stream"
    ));
    let sse = sse_and_post(ctx, n).await?;
    ctx.progress
        .step("done: figures from the server's socket counters and the records' times");

    let (ws_med, sse_med) = (median(&ws.rtt_ms), median(&sse.rtt_ms));
    let figures = vec![
        Figure::new(
            "connections",
            json!(ws.connections),
            json!(sse.connections),
            "",
        ),
        Figure::new("HTTP requests", json!(ws.requests), json!(sse.requests), ""),
        Figure::new(
            "bytes on the wire per message, both ways",
            num(Some(ws.bytes_per_message), 1),
            num(Some(sse.bytes_per_message), 1),
            "B",
        ),
        Figure::new(
            "of which the client sent",
            num(Some(ws.sent_per_message), 1),
            num(Some(sse.sent_per_message), 1),
            "B",
        ),
        Figure::new("round trip, median", num(ws_med, 2), num(sse_med, 2), "ms"),
        Figure::new(
            "round trip, p95",
            num(percentile(&ws.rtt_ms, 95.0), 2),
            num(percentile(&sse.rtt_ms, 95.0), 2),
            "ms",
        ),
    ];
    let ratio = sse.bytes_per_message / ws.bytes_per_message.max(1.0);
    let mut conclusion = format!(
        "The WebSocket carried all {n} messages both ways on {} connection and {} request. \
         SSE needed {} connections and {} requests for the same chat: the stream, plus a POST \
         per message. On the wire each message cost {:.0} B over the WebSocket and {:.0} B \
         with SSE and POST ({ratio:.1}× as much), mostly HTTP headers.",
        ws.connections,
        ws.requests,
        sse.connections,
        sse.requests,
        ws.bytes_per_message,
        sse.bytes_per_message,
    );
    if let (Some(w), Some(s)) = (ws_med, sse_med) {
        conclusion.push_str(&format!(
            " The median round trip was {w:.2} ms over the WebSocket and {s:.2} ms with a \
             POST: {}.",
            if s > w {
                format!(
                    "a request costs {:.1}× the time of a frame",
                    s / w.max(0.001)
                )
            } else {
                "on this run the POST was not slower, so per-request cost did not show here"
                    .to_owned()
            }
        ));
    }
    Ok(LabResult {
        lab: "direction".into(),
        figures,
        conclusion,
        notes: vec![
            format!("{n} messages each way, one at a time."),
            "The POSTs reuse one keep-alive connection, as a browser's fetch does; without \
             keep-alive every POST would add a TCP connection."
                .into(),
            "Loopback: no network latency, so the round trips show the protocols' own cost.".into(),
        ],
    })
}

async fn websocket(ctx: &Context, n: u32) -> Result<Leg, LabError> {
    let tag = format!("{}-dir-ws", ctx.tag);
    let url = format!(
        "{}/demo/ws/room?room={}-ws&wire={tag}",
        ws_base(ctx),
        ctx.tag
    );
    let id = open(ctx, &OpenSpec::new(url), "WebSocket: chat both ways")?;
    let mut f = Follow::new(&ctx.session, id);
    opened(&mut f, "the WebSocket", Instant::now() + patience()).await?;
    let before = wire(ctx, &tag).await?;
    let mut rtt = Vec::new();
    for i in 1..=n {
        let text = format!(r#"{{"from":"lab","n":{i},"text":"hello, room"}}"#);
        ctx.session
            .send(id, Command::Text(text.clone()))
            .await
            .map_err(|e| LabError::Failed(format!("could not send on the WebSocket: {e}")))?;
        let mut sent: Option<Timestamp> = None;
        let echo = f
            .until(Instant::now() + patience(), |r| match &r.body {
                Body::Text(t) if *t == text && r.dir == Dir::Out => {
                    sent = Some(r.t);
                    false
                }
                Body::Text(t) => *t == text && r.dir == Dir::In,
                _ => false,
            })
            .await
            .ok_or_else(|| LabError::Failed(format!("message {i} never came back")))?;
        if let Some(s) = sent {
            rtt.push(ms_between(s.0, echo.t.0));
        }
    }
    let after = wire(ctx, &tag).await?;
    let _ = ctx.session.close(id).await;
    let n = f64::from(n);
    Ok(Leg {
        connections: after.connections,
        requests: after.requests,
        bytes_per_message: (after.bytes() - before.bytes()) as f64 / n,
        sent_per_message: (after.read - before.read) as f64 / n,
        rtt_ms: rtt,
    })
}

async fn sse_and_post(ctx: &Context, n: u32) -> Result<Leg, LabError> {
    let tag = format!("{}-dir-sse", ctx.tag);
    let post_tag = format!("{}-dir-post", ctx.tag);
    let room = format!("{}-sse", ctx.tag);
    let mut spec = OpenSpec::new(format!("{}/demo/sse/room?room={room}&wire={tag}", ctx.base));
    spec.reconnect = Some(false);
    let id = open(ctx, &spec, "SSE: the listening half")?;
    let mut f = Follow::new(&ctx.session, id);
    opened(&mut f, "the SSE stream", Instant::now() + patience()).await?;
    let before = wire(ctx, &tag).await?;
    let client = http().await?;
    let send_url = format!(
        "{}/demo/sse/room/send?room={room}&wire={post_tag}",
        ctx.base
    );
    let mut rtt = Vec::new();
    for i in 1..=n {
        let text = format!(r#"{{"from":"lab","n":{i},"text":"hello, room"}}"#);
        let sent = Timestamp::now();
        let answer = client
            .post(&send_url)
            .header("content-type", "text/plain")
            .body(text.clone())
            .send()
            .await
            .map_err(|e| LabError::Failed(format!("POST {send_url} failed: {e}")))?;
        if !answer.status().is_success() {
            return Err(LabError::Failed(format!(
                "POST {send_url} answered {}",
                answer.status()
            )));
        }
        let event = f
            .until(
                Instant::now() + patience(),
                |r| matches!(&r.body, Body::Event { data, .. } if *data == text),
            )
            .await
            .ok_or_else(|| LabError::Failed(format!("message {i} never came on the stream")))?;
        rtt.push(ms_between(sent.0, event.t.0));
    }
    let after = wire(ctx, &tag).await?;
    let posts = wire(ctx, &post_tag).await?;
    let _ = ctx.session.close(id).await;
    let n = f64::from(n);
    Ok(Leg {
        connections: after.connections + posts.connections,
        requests: after.requests + posts.requests,
        bytes_per_message: ((after.bytes() - before.bytes()) + posts.bytes()) as f64 / n,
        sent_per_message: ((after.read - before.read) + posts.read) as f64 / n,
        rtt_ms: rtt,
    })
}
