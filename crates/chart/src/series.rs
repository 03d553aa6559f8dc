//! What a chart plots: per-connection series of one metric, built from the engine's live
//! statistics ([`ConnStats`]) or from recorded [`Record`]s (files).
//!
//! Both paths count with the engine's own rules (`Counts::add`, `LatencyProbe`), so a
//! chart of a file and the live chart of the same connection agree.

use std::collections::BTreeMap;

use streamscope_model::stats::{ConnStats, Counts, LatencyProbe, LatencySample};
use streamscope_model::{ConnId, Proto, Record, Timestamp};

/// What one panel of a chart shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Data messages per second, both directions (WS text/binary, SSE events).
    Events,
    /// Payload bytes per second, both directions.
    Bytes,
    /// Bytes on the wire per second, both directions: frame headers, masks, SSE field
    /// names and line ends, and handshakes, beside the payload [`Metric::Bytes`] counts.
    Wire,
    /// Mean latency in each second, in milliseconds: one-way where the feed carries its
    /// send time (`sent_at_us`), else the WebSocket ping round trip.
    Latency,
}

impl Metric {
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Events => "events",
            Metric::Bytes => "bytes",
            Metric::Wire => "wire",
            Metric::Latency => "latency",
        }
    }

    /// `events`, `bytes`, `wire` or `latency`.
    pub fn parse(s: &str) -> Option<Metric> {
        match s {
            "events" => Some(Metric::Events),
            "bytes" => Some(Metric::Bytes),
            "wire" => Some(Metric::Wire),
            "latency" => Some(Metric::Latency),
            _ => None,
        }
    }

    /// The value of one bucket of `step` seconds.
    fn value(self, b: &Bucket, step: i64) -> Option<f64> {
        let per_sec = |v: u64| v as f64 / step as f64;
        match self {
            Metric::Events => Some(per_sec(b.counts.events_in + b.counts.events_out)),
            Metric::Bytes => Some(per_sec(b.counts.bytes_in + b.counts.bytes_out)),
            Metric::Wire => Some(per_sec(b.counts.wire_in + b.counts.wire_out)),
            Metric::Latency => b.latency_ms(),
        }
    }
}

/// One line on a chart: a connection's values of one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The legend's name for it: the pane's name, or the `conn` id in a file.
    pub name: String,
    /// Index into the chart palette; the same connection keeps its colour in every panel.
    pub color: usize,
    /// `(unix second, value)` in time order, one per step. A missing second is a gap in
    /// the line (latency where nothing told it); rates have a point, maybe zero, for every
    /// second the connection existed.
    pub points: Vec<(i64, f64)>,
}

/// Counts and latency of one bucket.
#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    counts: Counts,
    latency: LatencySample,
}

impl Bucket {
    fn merge(&mut self, o: &Bucket) {
        self.counts.events_in += o.counts.events_in;
        self.counts.events_out += o.counts.events_out;
        self.counts.bytes_in += o.counts.bytes_in;
        self.counts.bytes_out += o.counts.bytes_out;
        self.counts.wire_in += o.counts.wire_in;
        self.counts.wire_out += o.counts.wire_out;
        for (mine, theirs) in [
            (&mut self.latency.one_way, &o.latency.one_way),
            (&mut self.latency.rtt, &o.latency.rtt),
        ] {
            mine.count = mine.count.saturating_add(theirs.count);
            mine.sum_us = mine.sum_us.saturating_add(theirs.sum_us);
            mine.max_us = mine.max_us.max(theirs.max_us);
        }
    }

    fn latency_ms(&self) -> Option<f64> {
        self.latency
            .one_way
            .mean_ms()
            .or_else(|| self.latency.rtt.mean_ms())
    }
}

fn second_of(t: Timestamp) -> i64 {
    t.as_micros().div_euclid(1_000_000)
}

/// The series of one live connection for the seconds `from..=to` (Unix seconds) that
/// the connection existed in, from the engine's rolling window (the last 10 minutes).
///
/// Latency picks one kind for the whole window, so a line never switches meaning: one-way
/// when any second in it had a one-way sample, else ping round trips.
pub fn series_from_stats(
    name: &str,
    color: usize,
    stats: &ConnStats,
    metric: Metric,
    from: i64,
    to: i64,
) -> Series {
    let start = stats.first.map_or(i64::MAX, second_of).max(from);
    // An ended connection's line stops where it ended, not at `to`.
    let to = stats.ended.map_or(to, |t| second_of(t).min(to));
    let points = if start > to {
        Vec::new()
    } else {
        match metric {
            Metric::Events | Metric::Bytes | Metric::Wire => stats
                .window
                .series(start, to)
                .into_iter()
                .filter_map(|(s, counts)| {
                    let b = Bucket {
                        counts,
                        ..Bucket::default()
                    };
                    metric.value(&b, 1).map(|v| (s, v))
                })
                .collect(),
            Metric::Latency => latency_points(stats.latency.series(start, to)),
        }
    };
    Series {
        name: name.to_owned(),
        color,
        points,
    }
}

fn latency_points(samples: Vec<(i64, LatencySample)>) -> Vec<(i64, f64)> {
    let one_way = samples.iter().any(|(_, l)| l.one_way.count > 0);
    samples
        .into_iter()
        .filter_map(|(s, l)| {
            let kind = if one_way { l.one_way } else { l.rtt };
            kind.mean_ms().map(|v| (s, v))
        })
        .collect()
}

/// One connection read back from a recording: per-second buckets over its whole life,
/// however long (a file is not bound to the live 10-minute window).
#[derive(Debug, Clone)]
pub struct RecordedConn {
    pub conn: ConnId,
    pub proto: Proto,
    /// Legend name; the `conn` id unless the caller chose another.
    pub name: String,
    seconds: BTreeMap<i64, Bucket>,
    probe: LatencyProbe,
}

impl RecordedConn {
    pub fn new(conn: ConnId, proto: Proto, name: String) -> Self {
        RecordedConn {
            conn,
            proto,
            name,
            seconds: BTreeMap::new(),
            probe: LatencyProbe::default(),
        }
    }

    /// Counts `r` in, with the engine's rules. Records should come in recorded order
    /// (a ping before its pong).
    pub fn observe(&mut self, r: &Record) {
        let b = self.seconds.entry(second_of(r.t)).or_default();
        b.counts.add(r);
        if let Some((kind, us)) = self.probe.observe(r) {
            b.latency.add(kind, us);
        }
    }

    /// The first and last second with a record.
    pub fn span(&self) -> Option<(i64, i64)> {
        Some((
            *self.seconds.first_key_value()?.0,
            *self.seconds.last_key_value()?.0,
        ))
    }

    /// The series over `from..=to` clipped to the connection's own span, in buckets of
    /// `step` seconds (values per second, averaged over the bucket) starting at `from`.
    pub fn series(&self, color: usize, metric: Metric, from: i64, to: i64, step: i64) -> Series {
        let step = step.max(1);
        let mut points = Vec::new();
        if let Some((first, last)) = self.span() {
            let (lo, hi) = (first.max(from), last.min(to));
            if lo <= hi {
                // Bucket starts aligned on `from`, so every series shares the same x values.
                let mut start = from + (lo - from).div_euclid(step) * step;
                let mut buckets = Vec::new();
                while start <= hi {
                    let mut b = Bucket::default();
                    for (_, one) in self.seconds.range(start..start + step) {
                        b.merge(one);
                    }
                    buckets.push((start, b));
                    start += step;
                }
                let one_way = buckets.iter().any(|(_, b)| b.latency.one_way.count > 0);
                for (s, b) in buckets {
                    let v = match metric {
                        Metric::Latency if one_way => b.latency.one_way.mean_ms(),
                        Metric::Latency => b.latency.rtt.mean_ms(),
                        _ => metric.value(&b, step),
                    };
                    if let Some(v) = v {
                        points.push((s, v));
                    }
                }
            }
        }
        Series {
            name: self.name.clone(),
            color,
            points,
        }
    }
}

/// Groups records by `conn`, in order of first appearance, each named by its `conn` id.
pub fn conns_from_records<'a>(records: impl IntoIterator<Item = &'a Record>) -> Vec<RecordedConn> {
    let mut conns: Vec<RecordedConn> = Vec::new();
    for r in records {
        let i = match conns.iter().position(|c| c.conn == r.conn) {
            Some(i) => i,
            None => {
                conns.push(RecordedConn::new(r.conn, r.proto, r.conn.to_string()));
                conns.len() - 1
            }
        };
        conns[i].observe(r);
    }
    conns
}

/// The step that keeps a span of `secs` seconds under `max_points` points per series:
/// 1 second when it fits, else a round number of seconds.
pub fn step_for(secs: i64, max_points: i64) -> i64 {
    let need = (secs + max_points - 1) / max_points.max(1);
    [
        1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
    ]
    .into_iter()
    .find(|&s| s >= need)
    .unwrap_or_else(|| need.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use streamscope_model::{Body, Dir};

    #[test]
    fn steps_are_round_and_keep_points_bounded() {
        assert_eq!(step_for(60, 600), 1);
        assert_eq!(step_for(600, 600), 1);
        assert_eq!(step_for(601, 600), 2);
        assert_eq!(step_for(3600, 600), 10);
        assert_eq!(step_for(86_400 * 30, 600), 3600 * 2);
    }

    #[test]
    fn an_ended_connection_draws_no_line_past_its_end() {
        let t = 1_700_000_000_000_000;
        let secs = t / 1_000_000;
        let mut stats = ConnStats::default();
        stats.observe(&Record::test_at(t, Dir::In, Body::Text("a".into())));
        stats.observe(&Record::test_at(
            t + 2_000_000,
            Dir::In,
            Body::Text("b".into()),
        ));
        let events = |stats: &ConnStats| {
            series_from_stats("a", 0, stats, Metric::Events, secs, secs + 30).points
        };
        // Live: every second up to now, idle ones as zero.
        assert_eq!(events(&stats).len(), 31);
        stats.ended = stats.last;
        let points = events(&stats);
        assert_eq!(points.last().map(|p| p.0), Some(secs + 2));
        assert_eq!(points.len(), 3);
    }

    #[test]
    fn latency_keeps_one_kind_per_line() {
        let t = 1_700_000_000_000_000;
        let mut stats = ConnStats::default();
        stats.observe(&Record::test_at(t, Dir::Out, Body::Ping("1".into())));
        stats.observe(&Record::test_at(t + 3_000, Dir::In, Body::Pong("1".into())));
        let latency = |stats: &ConnStats| {
            let secs = t / 1_000_000;
            series_from_stats("a", 0, stats, Metric::Latency, secs, secs + 1)
        };
        let s = latency(&stats);
        assert_eq!(s.points, vec![(t / 1_000_000, 3.0)]);
        let tick = |sent: i64| Body::Text(format!(r#"{{"sent_at_us":{sent}}}"#));
        stats.observe(&Record::test_at(
            t + 1_000_000,
            Dir::In,
            tick(t + 1_000_000 - 500),
        ));
        let s = latency(&stats);
        assert_eq!(
            s.points,
            vec![(t / 1_000_000 + 1, 0.5)],
            "one-way wins for the whole window"
        );
    }

    #[test]
    fn recorded_buckets_average_per_second() {
        let t = 1_700_000_000_000_000;
        let conns = conns_from_records(&[
            Record::test_at(t, Dir::In, Body::Text("abcd".into())),
            Record::test_at(t + 1_000_000, Dir::In, Body::Text("ab".into())),
            Record::test_at(t + 3_000_000, Dir::Out, Body::Text("abcdef".into())),
        ]);
        assert_eq!(conns.len(), 1);
        let c = &conns[0];
        assert_eq!(c.name, "c1");
        let s0 = t / 1_000_000;
        assert_eq!(c.span(), Some((s0, s0 + 3)));
        let s = c.series(2, Metric::Bytes, s0, s0 + 3, 2);
        assert_eq!(s.color, 2);
        assert_eq!(s.points, vec![(s0, 3.0), (s0 + 2, 3.0)]);
        let s = c.series(2, Metric::Events, s0 + 1, s0 + 10, 1);
        assert_eq!(s.points, vec![(s0 + 1, 1.0), (s0 + 2, 0.0), (s0 + 3, 1.0)]);
    }
}
