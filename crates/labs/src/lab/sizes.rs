//! The binary and overhead labs: the same messages over both protocols, their bytes on the
//! wire per message counted by the server, and (overhead) their delivery latency.
//!
//! Bytes per message are the difference between a long and a short run of the same stream,
//! divided by the difference in messages: the handshake, the response headers and the close
//! are the same in both and cancel out. Only what the server wrote is counted: these
//! messages go from the server to the client.

use std::time::Duration;

use serde_json::Value;
use streamscope_engine::{Body, Dir, OpenSpec, Proto, Record};
use tokio::time::Instant;

use crate::measure::{Follow, median, num, open, patience, percentile, wire, ws_base};
use crate::{Context, Figure, LabError, LabResult};

/// The payload sizes compared.
const SIZES: [u64; 2] = [64, 4096];
/// Messages a second: slow enough that each goes in its own write (its own chunk for SSE).
const RATE: u64 = 50;

struct Runs {
    short: u64,
    long: u64,
}

/// One stream measured: bytes per message and, from the long run, each message's latency.
struct Measured {
    per_message: f64,
    /// The same, as the client counted it on its records, over the same difference of
    /// runs: `wire_bytes` (frame headers for WebSocket; field names and line ends for
    /// SSE) plus, for SSE over chunked HTTP/1.1, `framing_bytes`.
    client_per_message: Option<f64>,
    /// Payload bytes per message over the same difference of runs.
    payload: f64,
    latency_ms: Vec<f64>,
}

fn runs(ctx: &Context) -> Runs {
    if ctx.quick {
        Runs { short: 5, long: 15 }
    } else {
        Runs {
            short: 10,
            long: 40,
        }
    }
}

fn size_name(size: u64) -> String {
    if size >= 1024 {
        format!("{} KiB", size / 1024)
    } else {
        format!("{size} B")
    }
}

pub(crate) async fn binary(ctx: &Context) -> Result<LabResult, LabError> {
    let r = runs(ctx);
    let mut figures = Vec::new();
    let mut ratios = Vec::new();
    for size in SIZES {
        ctx.progress.step(&format!(
            "{} binary payloads: WebSocket binary frames, then base64 in SSE events",
            size_name(size)
        ));
        let ws = measure(ctx, Proto::Ws, "binary", size, &r).await?;
        let sse = measure(ctx, Proto::Sse, "binary", size, &r).await?;
        let ratio = sse.per_message / ws.per_message.max(1.0);
        ratios.push((size, ws.per_message, sse.per_message, ratio));
        figures.push(Figure::new(
            format!("bytes on the wire per {} payload", size_name(size)),
            num(Some(ws.per_message), 1),
            num(Some(sse.per_message), 1),
            "B",
        ));
        figures.push(Figure::new(
            format!(
                "the same, as the client's records count it, {}",
                size_name(size)
            ),
            num(ws.client_per_message, 1),
            num(sse.client_per_message, 1),
            "B",
        ));
        figures.push(Figure::new(
            format!("relative to the payload, {}", size_name(size)),
            num(Some(ws.per_message / ws.payload.max(1.0)), 3),
            num(Some(sse.per_message / sse.payload.max(1.0)), 3),
            "×",
        ));
    }
    ctx.progress
        .step("done: bytes per message from the server's socket counters");
    let mut conclusion = String::new();
    for (size, ws, sse, ratio) in &ratios {
        conclusion.push_str(&format!(
            "At {}, a message cost {ws:.0} B over the WebSocket and {sse:.0} B over SSE: \
             {ratio:.2}× as much. ",
            size_name(*size)
        ));
    }
    if let Some((size, ws, sse, _)) = ratios.last() {
        let base64 = sse / *size as f64;
        let frame = ws / *size as f64;
        conclusion.push_str(&format!(
            "For large payloads SSE costs {base64:.2}× the payload against the WebSocket's \
             {frame:.2}×: base64 turns every 3 bytes into 4 (a third more), and the frame \
             header is a few bytes either way. {}",
            if base64 > 1.25 && base64 < 1.45 {
                "This run shows the third."
            } else {
                "This run does not show the expected third: look at the SSE pane's sizes."
            }
        ));
    }
    Ok(LabResult {
        lab: "binary".into(),
        figures,
        conclusion,
        notes: vec![
            format!(
                "Per message: (bytes after {} messages − bytes after {}) ÷ {}, so the handshake \
                 cancels out.",
                r.long,
                r.short,
                r.long - r.short
            ),
            format!("{RATE} messages a second, server to client."),
        ],
    })
}

pub(crate) async fn overhead(ctx: &Context) -> Result<LabResult, LabError> {
    let r = runs(ctx);
    let mut figures = Vec::new();
    let mut lines = Vec::new();
    // Per size: the SSE client's per-message count against the socket's.
    let mut counts = Vec::new();
    for size in SIZES {
        ctx.progress.step(&format!(
            "{} JSON messages at {RATE} a second over a WebSocket, then over SSE",
            size_name(size)
        ));
        let ws = measure(ctx, Proto::Ws, "ticker", size, &r).await?;
        let sse = measure(ctx, Proto::Sse, "ticker", size, &r).await?;
        let name = size_name(size);
        counts.push((name.clone(), sse.client_per_message, sse.per_message));
        figures.push(Figure::new(
            format!("payload per message, {name} asked"),
            num(Some(ws.payload), 1),
            num(Some(sse.payload), 1),
            "B",
        ));
        figures.push(Figure::new(
            format!("bytes on the wire per message, {name} asked"),
            num(Some(ws.per_message), 1),
            num(Some(sse.per_message), 1),
            "B",
        ));
        figures.push(Figure::new(
            format!("the same, as the client's records count it, {name} asked"),
            num(ws.client_per_message, 1),
            num(sse.client_per_message, 1),
            "B",
        ));
        figures.push(Figure::new(
            format!("overhead per message, {name} asked"),
            num(Some(ws.per_message - ws.payload), 1),
            num(Some(sse.per_message - sse.payload), 1),
            "B",
        ));
        let (wm, sm) = (median(&ws.latency_ms), median(&sse.latency_ms));
        figures.push(Figure::new(
            format!("delivery latency, median, {name} asked"),
            num(wm, 3),
            num(sm, 3),
            "ms",
        ));
        figures.push(Figure::new(
            format!("delivery latency, p95, {name} asked"),
            num(percentile(&ws.latency_ms, 95.0), 3),
            num(percentile(&sse.latency_ms, 95.0), 3),
            "ms",
        ));
        let mut line = format!(
            "With {:.0} B payloads, framing cost {:.0} B per message over the WebSocket and \
             {:.0} B over SSE",
            ws.payload,
            ws.per_message - ws.payload,
            sse.per_message - sse.payload,
        );
        if let (Some(w), Some(s)) = (wm, sm) {
            line.push_str(&format!(
                "; median delivery took {w:.2} ms and {s:.2} ms{}",
                if (w - s).abs() < 0.5 {
                    " — no difference that matters"
                } else if w < s {
                    ", the WebSocket faster"
                } else {
                    ", SSE faster"
                }
            ));
        }
        line.push('.');
        lines.push(line);
    }
    ctx.progress
        .step("done: bytes from the server's socket counters, latency from send times");
    lines.push(
        "The WebSocket pays a 2–10 byte frame header (and a 4-byte mask on what clients send); \
         SSE pays `data: ` and line ends per event and, over HTTP/1.1, the chunked encoding's \
         size line per write. Both are small against a few KiB and a large share of a small message."
            .into(),
    );
    Ok(LabResult {
        lab: "overhead".into(),
        figures,
        conclusion: lines.join(" "),
        notes: vec![
            format!(
                "Per message: (bytes after {} messages − bytes after {}) ÷ {}, so the handshake \
                 cancels out.",
                r.long,
                r.short,
                r.long - r.short
            ),
            "Latency: the server's send time in each message to the record's receive time, \
             on one machine and one clock."
                .into(),
            "The ticker's JSON carries its send time and a price, so its smallest message is \
             larger than 64 B; the payload row says what was sent. SSE's overhead includes the \
             demo's `event:` and `id:` lines."
                .into(),
            counts_note(&counts),
        ],
    })
}

/// Whether the SSE client's own per-message count (`wire_bytes` and `framing_bytes`) came
/// out as the server's socket count, said for this run.
fn counts_note(counts: &[(String, Option<f64>, f64)]) -> String {
    let mut note = "Two counts of the same bytes: the server's socket (everything, HTTP chunk \
                    framing included) and the client's records (`wire_bytes`: the frame, or \
                    the event's lines; for SSE over chunked HTTP/1.1 also `framing_bytes`, the \
                    chunk size lines and CRLFs). "
        .to_owned();
    let differ: Vec<String> = counts
        .iter()
        .filter_map(|(name, client, socket)| match client {
            Some(c) if (c - socket).abs() < 0.05 => None,
            Some(c) => Some(format!("{name}: {c:.1} B against {socket:.1} B")),
            None => Some(format!("{name}: the records had no figures")),
        })
        .collect();
    if differ.is_empty() {
        note.push_str(
            "In this run the SSE client's per-message count equals the socket's: the client \
             now sees every byte the server wrote for an event.",
        );
    } else {
        note.push_str(&format!(
            "In this run the SSE counts differ ({}): look at the SSE pane's records.",
            differ.join("; ")
        ));
    }
    note
}

/// Bytes per message of one demo stream (`ticker` or `binary`) at `size`, and its latencies.
async fn measure(
    ctx: &Context,
    proto: Proto,
    kind: &str,
    size: u64,
    runs: &Runs,
) -> Result<Measured, LabError> {
    let short = stream(ctx, proto, kind, size, runs.short, "short").await?;
    let long = stream(ctx, proto, kind, size, runs.long, "long").await?;
    let n = (runs.long - runs.short) as f64;
    Ok(Measured {
        per_message: long.written.saturating_sub(short.written) as f64 / n,
        client_per_message: match (long.record_wire, short.record_wire) {
            (Some(l), Some(s)) => Some(l.saturating_sub(s) as f64 / n),
            _ => None,
        },
        payload: long.payload.saturating_sub(short.payload) as f64 / n,
        latency_ms: long.latency_ms,
    })
}

/// One stream run to its end.
struct Streamed {
    /// What the server wrote on the connection.
    written: u64,
    /// The messages' payload bytes as received (decoded text or binary).
    payload: u64,
    /// The bytes the client's in-stream records count on the wire, when every message
    /// carries its figures.
    record_wire: Option<u64>,
    latency_ms: Vec<f64>,
}

/// Runs one stream of `count` messages to its end.
async fn stream(
    ctx: &Context,
    proto: Proto,
    kind: &str,
    size: u64,
    count: u64,
    which: &str,
) -> Result<Streamed, LabError> {
    let (p, base) = match proto {
        Proto::Ws => ("ws", ws_base(ctx)),
        Proto::Sse => ("sse", ctx.base.clone()),
    };
    let tag = format!("{}-{kind}-{p}-{size}-{which}", ctx.tag);
    let mut spec = OpenSpec::new(format!(
        "{base}/demo/{p}/{kind}?size={size}&count={count}&rate={RATE}&wire={tag}"
    ));
    if proto == Proto::Sse {
        spec.reconnect = Some(false);
    }
    let role = format!(
        "{}: {count} × {}",
        if proto == Proto::Ws {
            "WebSocket"
        } else {
            "SSE"
        },
        size_name(size)
    );
    let id = open(ctx, &spec, &role)?;
    let mut f = Follow::new(&ctx.session, id);
    let until = Instant::now() + Duration::from_millis(count * 1000 / RATE) + patience();
    let records = f.rest(until).await;
    let _ = ctx.session.close(id).await;
    let messages = records.iter().filter(|r| is_message(r)).count() as u64;
    if messages != count {
        let why = records
            .iter()
            .find_map(|r| match &r.body {
                Body::Error { message, .. } => Some(message.clone()),
                _ => None,
            })
            .unwrap_or_else(|| "it ended early".into());
        return Err(LabError::Failed(format!(
            "{role}: {messages} of {count} messages came: {why}"
        )));
    }
    let payload = records
        .iter()
        .filter(|r| is_message(r))
        .map(payload_len)
        .sum();
    let counted = records
        .iter()
        .filter(|r| is_message(r) && r.wire.is_some())
        .count() as u64;
    // Every in-stream item (an SSE `retry:` or comment too), as the socket counts them.
    let record_wire = (counted == count).then(|| {
        records
            .iter()
            .filter(|r| r.dir == Dir::In)
            .map(client_on_wire)
            .sum::<u64>()
    });
    Ok(Streamed {
        written: wire(ctx, &tag).await?.written,
        payload,
        record_wire,
        latency_ms: records.iter().filter_map(latency_ms).collect(),
    })
}

/// A message's payload as the application sees it: for SSE the event's data, decoded from
/// base64 for the binary stream, since that is the payload it carries.
fn payload_len(r: &Record) -> u64 {
    let n = match &r.body {
        Body::Text(t) => t.len(),
        Body::Binary(b) => b.len(),
        Body::Event { data, .. } => {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(data.as_bytes())
                .map_or(data.len(), |b| b.len())
        }
        _ => 0,
    };
    n as u64
}

/// What a record says it cost on the wire: a WebSocket frame's bytes; an SSE item's
/// stream bytes (or its share of a gzip body's) and its chunk framing.
fn client_on_wire(r: &Record) -> u64 {
    r.wire.as_deref().map_or(0, |w| match r.proto {
        Proto::Ws => w.bytes,
        Proto::Sse => w.compressed_size.unwrap_or(w.bytes) + w.framing_bytes.unwrap_or(0),
    })
}

fn is_message(r: &Record) -> bool {
    r.dir == Dir::In && matches!(r.body, Body::Text(_) | Body::Binary(_) | Body::Event { .. })
}

/// From the send time a ticker message carries to the record's time.
fn latency_ms(r: &Record) -> Option<f64> {
    let text = match (&r.body, r.dir) {
        (Body::Text(t), Dir::In) => t.as_str(),
        (Body::Event { data, .. }, _) => data.as_str(),
        _ => return None,
    };
    let sent = serde_json::from_str::<Value>(text).ok()?["sent_at_us"].as_i64()?;
    Some((r.t.0 - sent) as f64 / 1000.0)
}
