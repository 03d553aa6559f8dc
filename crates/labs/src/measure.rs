//! What every lab measures with: opening a connection in the session, following its records
//! as they come, waiting for it to end, the server's byte counters, and the statistics the
//! figures are made of.

use std::collections::VecDeque;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use streamscope_engine::session::{ConnState, Session};
use streamscope_engine::{Body, ConnId, OpenSpec, Plan, Record};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::{Context, LabError};

/// Records read from the session at once.
const READ_CHUNK: usize = 1024;

/// Opens `spec` in the lab's session and tells the progress about it.
pub(crate) fn open(ctx: &Context, spec: &OpenSpec, role: &str) -> Result<ConnId, LabError> {
    let plan = spec
        .plan()
        .map_err(|e| LabError::Failed(format!("{role}: {e}")))?;
    let proto = plan.proto();
    let name = Some(format!("lab: {role}"));
    let id = match plan {
        Plan::Ws(opts) => ctx.session.open_ws(opts, name),
        Plan::Sse(opts) => ctx.session.open_sse(opts, name),
    };
    ctx.progress.conn(id, proto, role);
    Ok(id)
}

/// `ws://127.0.0.1:PORT` from `http://127.0.0.1:PORT`.
pub(crate) fn ws_base(ctx: &Context) -> String {
    match ctx.base.strip_prefix("http") {
        Some(rest) => format!("ws{rest}"),
        None => ctx.base.clone(),
    }
}

/// Whether a connection's task has ended.
fn ended(session: &Session, id: ConnId) -> bool {
    session
        .brief(id)
        .map(|b| matches!(b.listing.state, ConnState::Closed | ConnState::Failed))
        .unwrap_or(true)
}

/// A connection's records as they come, in order.
pub(crate) struct Follow {
    session: Session,
    id: ConnId,
    next: u64,
    changes: watch::Receiver<u64>,
    ready: VecDeque<Record>,
}

impl Follow {
    pub(crate) fn new(session: &Session, id: ConnId) -> Self {
        Self {
            session: session.clone(),
            id,
            next: 0,
            changes: session.subscribe(),
            ready: VecDeque::new(),
        }
    }

    /// The next record, or `None` once the connection has ended with nothing more, or at
    /// `until`.
    pub(crate) async fn next(&mut self, until: Instant) -> Option<Record> {
        loop {
            if let Some(r) = self.ready.pop_front() {
                return Some(r);
            }
            self.changes.borrow_and_update();
            // Looked at before reading, so records written just before the end are read.
            let was_ended = ended(&self.session, self.id);
            let mut out = Vec::new();
            self.session
                .records(self.id, self.next, READ_CHUNK, &mut out)
                .ok()?;
            if let Some(last) = out.last() {
                self.next = last.seq + 1;
                self.ready.extend(out);
                continue;
            }
            if was_ended {
                return None;
            }
            tokio::select! {
                changed = self.changes.changed() => if changed.is_err() { return None },
                () = tokio::time::sleep_until(until) => return None,
            }
        }
    }

    /// Reads until a record `wanted` accepts; `None` if the connection ended or time ran out.
    pub(crate) async fn until<F>(&mut self, deadline: Instant, mut wanted: F) -> Option<Record>
    where
        F: FnMut(&Record) -> bool,
    {
        while let Some(r) = self.next(deadline).await {
            if wanted(&r) {
                return Some(r);
            }
        }
        None
    }

    /// Reads everything until the connection ends (or `deadline`).
    pub(crate) async fn rest(&mut self, deadline: Instant) -> Vec<Record> {
        let mut out = Vec::new();
        while let Some(r) = self.next(deadline).await {
            out.push(r);
        }
        out
    }
}

/// Waits for the connection's `open` record; an error record on the way fails the lab with
/// its message.
pub(crate) async fn opened(f: &mut Follow, role: &str, deadline: Instant) -> Result<(), LabError> {
    let found = f
        .until(deadline, |r| {
            matches!(r.body, Body::Open { .. } | Body::Error { .. })
        })
        .await;
    match found.map(|r| r.body) {
        Some(Body::Open { .. }) => Ok(()),
        Some(Body::Error { message, .. }) => {
            Err(LabError::Failed(format!("{role} did not open: {message}")))
        }
        _ => Err(LabError::Failed(format!("{role} did not open in time"))),
    }
}

/// The server's byte counts for a wire tag.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub(crate) struct Wire {
    pub(crate) connections: u64,
    pub(crate) requests: u64,
    pub(crate) read: u64,
    pub(crate) written: u64,
}

impl Wire {
    /// Both directions together.
    pub(crate) fn bytes(&self) -> u64 {
        self.read + self.written
    }
}

/// A plain HTTP client for the demo server (its TLS set up as the engine's, which reqwest
/// needs even for `http://`).
pub(crate) async fn http() -> Result<reqwest::Client, LabError> {
    let failed = |e: String| LabError::Failed(format!("cannot set up an HTTP client: {e}"));
    let tls = streamscope_engine::tls::client_config(
        &streamscope_engine::TlsOptions::default(),
        streamscope_engine::tls::Alpn::Http,
    )
    .await
    .map_err(|e| failed(e.to_string()))?;
    reqwest::Client::builder()
        .tls_backend_preconfigured((*tls).clone())
        .no_proxy()
        .build()
        .map_err(|e| failed(e.to_string()))
}

/// `GET /demo/wire/TAG`.
pub(crate) async fn wire(ctx: &Context, tag: &str) -> Result<Wire, LabError> {
    let url = format!("{}/demo/wire/{tag}", ctx.base);
    // Made once per run: a lab reads the counters a dozen times. Its connections carry no
    // `wire=` tag, so they are never counted themselves. (The direction lab's POSTs get a
    // client of their own: their connection is what it counts.)
    let client = ctx.counters.get_or_try_init(http).await?;
    let failed = |e: reqwest::Error| {
        LabError::Failed(format!(
            "could not read the server's byte counts ({url}): {e}"
        ))
    };
    let body = client
        .get(&url)
        .send()
        .await
        .map_err(failed)?
        .error_for_status()
        .map_err(failed)?
        .bytes()
        .await
        .map_err(failed)?;
    serde_json::from_slice(&body).map_err(|e| {
        LabError::Failed(format!(
            "the server's byte counts ({url}) were not JSON: {e}"
        ))
    })
}

/// The median of `values` (sorted or not); `None` when empty.
pub(crate) fn median(values: &[f64]) -> Option<f64> {
    percentile(values, 50.0)
}

/// The `p`th percentile by nearest rank.
pub(crate) fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v.get(rank.clamp(1, v.len()) - 1).copied()
}

/// A number rounded to `places` decimals, as a JSON value; null for `None`.
pub(crate) fn num(v: Option<f64>, places: i32) -> Value {
    match v {
        Some(x) if x.is_finite() && places <= 0 => json!(x.round() as i64),
        Some(x) if x.is_finite() => {
            let f = 10f64.powi(places);
            json!((x * f).round() / f)
        }
        _ => Value::Null,
    }
}

/// Microseconds between two records' times, in milliseconds.
pub(crate) fn ms_between(from_us: i64, to_us: i64) -> f64 {
    (to_us - from_us) as f64 / 1000.0
}

/// Ids as short ranges: `6–10, 16–20`.
pub(crate) fn ranges(ids: &[u64]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < ids.len() {
        let start = ids[i];
        let mut end = start;
        while i + 1 < ids.len() && ids[i + 1] == end + 1 {
            i += 1;
            end = ids[i];
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}–{end}")
        });
        i += 1;
    }
    out.join(", ")
}

/// How long a lab waits for what should take well under a second.
pub(crate) fn patience() -> Duration {
    Duration::from_secs(15)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(median(&v), Some(10.0));
        assert_eq!(percentile(&v, 95.0), Some(19.0));
        assert_eq!(percentile(&[3.0], 95.0), Some(3.0));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn ids_read_as_ranges() {
        assert_eq!(ranges(&[1, 2, 3, 5, 7, 8]), "1–3, 5, 7–8");
        assert_eq!(ranges(&[]), "");
    }
}
