//! Rolling statistics per connection: totals and per-second buckets of events and bytes,
//! and of latency where a record tells it (WS ping round trips; one-way latency from a
//! payload's `sent_at_us`), the numbers behind the rate charts.
//!
//! A pure subscriber: it reads records and never touches a socket. Observing a record
//! is constant time, and the window holds a fixed number of seconds.

use std::collections::VecDeque;

use bytes::Bytes;

use crate::record::{Body, Dir, Record, Timestamp};

/// Seconds of history kept per connection: ten minutes, enough for a lab or a long look
/// at a misbehaving feed, at a few kilobytes per connection.
pub const WINDOW_SECS: usize = 600;

/// Counts for one second (or for all time, as totals).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Inbound data records: WS text/binary, SSE events.
    pub events_in: u64,
    /// Outbound data records: WS text/binary we sent.
    pub events_out: u64,
    /// Payload bytes of every inbound record that carries a size (data, pings, comments).
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Bytes on the wire of every record that tells them (a contract addition): frames with
    /// their headers and masks, SSE fields and line ends, and the opening handshake (the
    /// request out, the response in). Records made before the wire figures count nothing.
    pub wire_in: u64,
    pub wire_out: u64,
}

impl Counts {
    /// Counts `r` in: data records as events, and the payload size of every record that
    /// has one, by direction (`meta` records count nothing).
    pub fn add(&mut self, r: &Record) {
        let size = r.body.size().unwrap_or(0) as u64;
        let data = r.body.is_data();
        match r.dir {
            Dir::In => {
                self.events_in += u64::from(data);
                self.bytes_in += size;
            }
            Dir::Out => {
                self.events_out += u64::from(data);
                self.bytes_out += size;
            }
            Dir::Meta => {}
        }
        if let Some(w) = &r.wire {
            match (r.dir, &w.handshake) {
                // `open` is `meta`, but its handshake went both ways.
                (_, Some(h)) => {
                    self.wire_out += h.request_size;
                    self.wire_in += h.response_size;
                }
                (Dir::In, None) => self.wire_in += on_wire(r, w),
                (Dir::Out, None) => self.wire_out += on_wire(r, w),
                (Dir::Meta, None) => {}
            }
        }
    }
}

/// What a record's item cost on the wire. For SSE, `wire_bytes` counts the event stream's
/// own bytes; a content-coded (gzip) stream carried them in `compressed_size` bytes, and a
/// chunked body added `framing_bytes` of chunk framing. For WebSocket, `wire_bytes`
/// already counts frames as they went, compressed or not.
fn on_wire(r: &Record, w: &crate::record::Wire) -> u64 {
    match r.proto {
        crate::record::Proto::Sse => {
            w.compressed_size.unwrap_or(w.bytes) + w.framing_bytes.unwrap_or(0)
        }
        crate::record::Proto::Ws => w.bytes,
    }
}

/// One value per second over the last [`WINDOW_SECS`] seconds, in a ring: what
/// [`RateWindow`] and [`LatencyWindow`] share.
#[derive(Debug, Clone)]
struct Ring<T> {
    buckets: Vec<T>,
    /// The Unix second of the newest bucket; `None` before the first record.
    newest: Option<i64>,
}

impl<T: Copy + Default> Default for Ring<T> {
    fn default() -> Self {
        Ring {
            buckets: vec![T::default(); WINDOW_SECS],
            newest: None,
        }
    }
}

impl<T: Copy + Default> Ring<T> {
    fn slot(sec: i64) -> usize {
        sec.rem_euclid(WINDOW_SECS as i64) as usize
    }

    /// The bucket of `sec`, moving the window forward when `sec` is newer than the
    /// newest second; `None` when `sec` is older than the window.
    fn bucket(&mut self, sec: i64) -> Option<&mut T> {
        let newest = match self.newest {
            None => {
                self.newest = Some(sec);
                sec
            }
            Some(n) if sec > n => {
                // Clear the seconds we skipped (at most the whole ring).
                let gap = (sec - n).min(WINDOW_SECS as i64);
                for s in (sec - gap + 1)..=sec {
                    self.buckets[Self::slot(s)] = T::default();
                }
                self.newest = Some(sec);
                sec
            }
            Some(n) => n,
        };
        if newest - sec >= WINDOW_SECS as i64 {
            return None;
        }
        Some(&mut self.buckets[Self::slot(sec)])
    }

    fn series(&self, from: i64, to: i64) -> Vec<(i64, T)> {
        let Some(newest) = self.newest else {
            return (from..=to).map(|s| (s, T::default())).collect();
        };
        (from..=to)
            .map(|s| {
                let inside = s <= newest && newest - s < WINDOW_SECS as i64;
                (
                    s,
                    if inside {
                        self.buckets[Self::slot(s)]
                    } else {
                        T::default()
                    },
                )
            })
            .collect()
    }
}

/// Per-second buckets over the last [`WINDOW_SECS`] seconds, in a ring.
#[derive(Debug, Clone, Default)]
pub struct RateWindow {
    ring: Ring<Counts>,
}

impl RateWindow {
    /// Adds a record to the bucket of its second. A record older than the window is
    /// ignored here (the totals still count it).
    pub fn observe(&mut self, r: &Record) {
        if let Some(b) = self.ring.bucket(second_of(r.t)) {
            b.add(r);
        }
    }

    /// The newest second with data, if any.
    pub fn newest(&self) -> Option<i64> {
        self.ring.newest
    }

    /// Counts for each second from `from` to `to` inclusive (Unix seconds); seconds
    /// outside the window read as zero.
    pub fn series(&self, from: i64, to: i64) -> Vec<(i64, Counts)> {
        self.ring.series(from, to)
    }
}

fn second_of(t: Timestamp) -> i64 {
    t.as_micros().div_euclid(1_000_000)
}

/// Latency samples of one kind in one second.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Latency {
    pub count: u32,
    /// Sum of the samples, in microseconds.
    pub sum_us: u64,
    pub max_us: u64,
}

impl Latency {
    /// Adds one sample, in microseconds.
    pub fn add(&mut self, us: u64) {
        self.count = self.count.saturating_add(1);
        self.sum_us = self.sum_us.saturating_add(us);
        self.max_us = self.max_us.max(us);
    }

    /// The mean sample in milliseconds; `None` when the second had no sample.
    pub fn mean_ms(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum_us as f64 / f64::from(self.count) / 1000.0)
    }
}

/// The latency known for one second.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LatencySample {
    /// Inbound data whose payload carried the sender's clock (`sent_at_us`): our
    /// receive time minus that, so it includes any clock offset between the two machines.
    pub one_way: Latency,
    /// WebSocket pings we sent, timed to the pong with the same payload.
    pub rtt: Latency,
}

/// Pings awaiting their pong. A peer may answer only the latest ping (RFC 6455 5.5.3),
/// so a few are enough, and the bound keeps a peer that never answers from growing it.
const PENDING_PINGS: usize = 8;

/// How far into a payload `sent_at_us` is looked for. The demo feeds put it first; the
/// bound keeps observing a record constant time whatever the payload's size.
const SENT_AT_SCAN: usize = 512;

/// One-way samples beyond this are dropped as nonsense (a sender whose clock is far off);
/// so are negative ones (a sender whose clock is ahead of ours).
const MAX_ONE_WAY_US: i64 = 600 * 1_000_000;

/// Which latency a sample is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatencyKind {
    OneWay,
    Rtt,
}

impl LatencySample {
    /// Adds a sample of `kind`, in microseconds.
    pub fn add(&mut self, kind: LatencyKind, us: u64) {
        match kind {
            LatencyKind::OneWay => self.one_way.add(us),
            LatencyKind::Rtt => self.rtt.add(us),
        }
    }
}

/// Turns records into latency samples: an outbound ping starts a round trip, the inbound
/// pong with the same payload ends it; inbound text or SSE data whose JSON carries
/// `sent_at_us` (Unix microseconds) near its start gives a one-way sample.
///
/// Constant time per record: a payload is looked at for at most `SENT_AT_SCAN` (512) bytes
/// and never parsed unless it holds the key, and at most `PENDING_PINGS` (8) pings wait.
#[derive(Debug, Clone, Default)]
pub struct LatencyProbe {
    pings: VecDeque<(Bytes, Timestamp)>,
}

impl LatencyProbe {
    /// The sample `r` gives, if any, in microseconds; it belongs to `r`'s second.
    pub fn observe(&mut self, r: &Record) -> Option<(LatencyKind, u64)> {
        match (&r.body, r.dir) {
            (Body::Ping(payload), Dir::Out) => {
                if self.pings.len() == PENDING_PINGS {
                    self.pings.pop_front();
                }
                self.pings.push_back((payload.clone(), r.t));
                None
            }
            (Body::Pong(payload), Dir::In) => {
                let i = self.pings.iter().position(|(p, _)| p == payload)?;
                let sent = self.pings[i].1;
                // The pong answers this ping; older ones will get no answer of their own.
                self.pings.drain(..=i);
                let rtt = u64::try_from(r.t.as_micros() - sent.as_micros()).ok()?;
                Some((LatencyKind::Rtt, rtt))
            }
            (Body::Text(data) | Body::Event { data, .. }, Dir::In) => {
                let sent = sent_at_us(data)?;
                let one_way = r.t.as_micros().saturating_sub(sent);
                if !(0..=MAX_ONE_WAY_US).contains(&one_way) {
                    return None;
                }
                Some((LatencyKind::OneWay, one_way as u64))
            }
            _ => None,
        }
    }
}

/// Per-second latency over the last [`WINDOW_SECS`] seconds, where records tell it.
#[derive(Debug, Clone, Default)]
pub struct LatencyWindow {
    ring: Ring<LatencySample>,
    probe: LatencyProbe,
}

impl LatencyWindow {
    /// Adds the latency `r` tells (see [`LatencyProbe`]) to the bucket of its second.
    pub fn observe(&mut self, r: &Record) {
        if let Some((kind, us)) = self.probe.observe(r) {
            if let Some(b) = self.ring.bucket(second_of(r.t)) {
                b.add(kind, us);
            }
        }
    }

    /// The newest second with a sample, if any.
    pub fn newest(&self) -> Option<i64> {
        self.ring.newest
    }

    /// Samples for each second from `from` to `to` inclusive (Unix seconds); seconds
    /// outside the window, or without samples, read as empty.
    pub fn series(&self, from: i64, to: i64) -> Vec<(i64, LatencySample)> {
        self.ring.series(from, to)
    }
}

/// The value of a top-level-looking `"sent_at_us": <integer>` within the first
/// `SENT_AT_SCAN` bytes of a JSON object, without parsing the rest of the payload.
pub fn sent_at_us(payload: &str) -> Option<i64> {
    const KEY: &[u8] = b"\"sent_at_us\"";
    let bytes = payload.as_bytes();
    let head = &bytes[..bytes.len().min(SENT_AT_SCAN)];
    if head.trim_ascii_start().first() != Some(&b'{') {
        return None;
    }
    let at = head.windows(KEY.len()).position(|w| w == KEY)?;
    // The number follows within a few bytes; looking no further keeps this bounded too.
    let end = bytes.len().min(SENT_AT_SCAN + 64);
    let rest = bytes[at + KEY.len()..end].trim_ascii_start();
    let rest = rest.strip_prefix(b":")?.trim_ascii_start();
    let (negative, digits) = match rest.strip_prefix(b"-") {
        Some(d) => (true, d),
        None => (false, rest),
    };
    let len = digits.iter().take_while(|c| c.is_ascii_digit()).count();
    // An i64 has at most 19 digits; a fraction or exponent means it is no integer.
    if len == 0 || len > 19 || matches!(digits.get(len), Some(b'.' | b'e' | b'E')) {
        return None;
    }
    let v: i64 = std::str::from_utf8(&digits[..len]).ok()?.parse().ok()?;
    Some(if negative { -v } else { v })
}

/// Everything the charts and status lines know about one connection.
#[derive(Debug, Clone, Default)]
pub struct ConnStats {
    pub totals: Counts,
    pub window: RateWindow,
    pub latency: LatencyWindow,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
    /// When the connection ended (its task finished), set by whoever runs it. A chart
    /// draws its line up to here and no further: an ended connection has no rate of
    /// zero "now", it has no rate at all (a failed one once drew a flat 0 up to now).
    pub ended: Option<Timestamp>,
}

impl ConnStats {
    pub fn observe(&mut self, r: &Record) {
        self.totals.add(r);
        self.window.observe(r);
        self.latency.observe(r);
        self.first.get_or_insert(r.t);
        self.last = Some(r.t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Body;
    use proptest::prelude::*;

    fn rec(micros: i64, dir: Dir, len: usize) -> Record {
        Record::test_at(micros, dir, Body::Text("x".repeat(len)))
    }

    proptest! {
        /// Any sequence of records in time order gives, for every second in the window,
        /// the same counts as a plain filter over all records of that second.
        #[test]
        fn window_matches_a_reference_count(
            steps in proptest::collection::vec((0i64..3_000_000, any::<bool>(), 0usize..50), 1..300)
        ) {
            let mut t = 1_700_000_000_000_000i64;
            let mut records = Vec::new();
            for (dt, inbound, len) in steps {
                t += dt;
                records.push(rec(t, if inbound { Dir::In } else { Dir::Out }, len));
            }
            let mut w = RateWindow::default();
            for r in &records {
                w.observe(r);
            }
            let newest = w.newest().expect("records were observed");
            let from = newest - WINDOW_SECS as i64 + 1;
            for (sec, counts) in w.series(from, newest) {
                let mut want = Counts::default();
                for r in records.iter().filter(|r| r.t.as_micros().div_euclid(1_000_000) == sec) {
                    want.add(r);
                }
                prop_assert_eq!(counts, want, "second {}", sec);
            }
        }
    }

    #[test]
    fn sent_at_us_is_read_from_the_start_of_a_json_object() {
        let tick = r#"{"n":1,"sent_at":"2023-11-14T22:13:20.123456Z","sent_at_us":1700000000123456,"price":1.00}"#;
        assert_eq!(sent_at_us(tick), Some(1_700_000_000_123_456));
        assert_eq!(sent_at_us(r#" { "sent_at_us" : -5 }"#), Some(-5));
        assert_eq!(sent_at_us(r#"{"sent_at_us":1.5}"#), None);
        assert_eq!(sent_at_us(r#"{"sent_at_us":"12"}"#), None);
        assert_eq!(sent_at_us(r#"{"sent_at_us":}"#), None);
        assert_eq!(sent_at_us(r#"{"sent_at_us":99999999999999999999}"#), None);
        assert_eq!(sent_at_us(r#"["sent_at_us",1]"#), None);
        assert_eq!(sent_at_us("sent_at_us: 12"), None);
        let late = format!(
            r#"{{"pad":"{}","sent_at_us":12}}"#,
            "x".repeat(SENT_AT_SCAN)
        );
        assert_eq!(
            sent_at_us(&late),
            None,
            "the key is looked for near the start only"
        );
    }

    #[test]
    fn one_way_latency_comes_from_sent_at_us_in_inbound_data() {
        let t = 1_700_000_000_250_000;
        let mut w = LatencyWindow::default();
        let text = |sent: i64| Body::Text(format!(r#"{{"n":1,"sent_at_us":{sent}}}"#));
        w.observe(&Record::test_at(t, Dir::In, text(t - 2_000)));
        w.observe(&Record::test_at(t + 1, Dir::In, text(t - 4_000)));
        // Outbound, in the future (a clock ahead of ours), or not JSON: no sample.
        w.observe(&Record::test_at(t + 2, Dir::Out, text(t - 9_000)));
        w.observe(&Record::test_at(t + 3, Dir::In, text(t + 9_000)));
        w.observe(&Record::test_at(
            t + 4,
            Dir::In,
            Body::Text("sent_at_us".into()),
        ));
        let event = Body::Event {
            event: "tick".into(),
            data: format!(r#"{{"sent_at_us":{}}}"#, t - 6_000),
            id: None,
        };
        w.observe(&Record::test_at(t + 5, Dir::In, event));
        let sec = t / 1_000_000;
        let s = w.series(sec, sec)[0].1;
        assert_eq!(s.one_way.count, 3);
        assert_eq!(s.one_way.max_us, 6_005);
        assert_eq!(
            s.one_way.mean_ms(),
            Some((2_000.0 + 4_001.0 + 6_005.0) / 3.0 / 1000.0)
        );
        assert_eq!(s.rtt, Latency::default());
        assert_eq!(s.rtt.mean_ms(), None);
    }

    #[test]
    fn ping_round_trips_match_pongs_by_payload() {
        let t = 1_700_000_000_000_000;
        let ping = |p: &'static str| Body::Ping(Bytes::from_static(p.as_bytes()));
        let pong = |p: &'static str| Body::Pong(Bytes::from_static(p.as_bytes()));
        let mut w = LatencyWindow::default();
        w.observe(&Record::test_at(t, Dir::Out, ping("1")));
        w.observe(&Record::test_at(t + 100, Dir::Out, ping("2")));
        // A pong we did not ask for, and the peer's own ping answered by us, time nothing.
        w.observe(&Record::test_at(t + 200, Dir::In, pong("9")));
        w.observe(&Record::test_at(t + 250, Dir::In, ping("x")));
        w.observe(&Record::test_at(t + 260, Dir::Out, pong("x")));
        w.observe(&Record::test_at(t + 1_100, Dir::In, pong("2")));
        // "1" was dropped when "2" was answered: a late answer to it times nothing.
        w.observe(&Record::test_at(t + 1_200, Dir::In, pong("1")));
        let s = w.series(t / 1_000_000, t / 1_000_000)[0].1;
        assert_eq!(s.rtt.count, 1);
        assert_eq!(s.rtt.sum_us, 1_000);
        assert_eq!(s.one_way.count, 0);
    }

    #[test]
    fn unanswered_pings_stay_bounded() {
        let mut w = LatencyWindow::default();
        for i in 0..100u64 {
            let p = Bytes::from(i.to_string());
            w.observe(&Record::test_at(i as i64, Dir::Out, Body::Ping(p)));
        }
        assert_eq!(w.probe.pings.len(), PENDING_PINGS);
    }

    #[test]
    fn conn_stats_keep_latency_beside_rates() {
        let mut s = ConnStats::default();
        let t = 1_700_000_000_500_000;
        let body = Body::Text(format!(r#"{{"sent_at_us":{}}}"#, t - 1_500));
        s.observe(&Record::test_at(t, Dir::In, body));
        let sec = t / 1_000_000;
        assert_eq!(s.window.series(sec, sec)[0].1.events_in, 1);
        assert_eq!(s.latency.series(sec, sec)[0].1.one_way.mean_ms(), Some(1.5));
        assert_eq!(s.latency.newest(), Some(sec));
    }

    #[test]
    fn old_seconds_fall_out_of_the_window() {
        let mut w = RateWindow::default();
        w.observe(&rec(0, Dir::In, 3));
        w.observe(&rec(WINDOW_SECS as i64 * 1_000_000, Dir::In, 4));
        assert_eq!(w.series(0, 0)[0].1, Counts::default());
        let last = w.series(WINDOW_SECS as i64, WINDOW_SECS as i64)[0].1;
        assert_eq!(last.events_in, 1);
        assert_eq!(last.bytes_in, 4);
    }

    #[test]
    fn wire_bytes_count_frames_by_direction_and_the_handshake_both_ways() {
        use crate::record::{Handshake, Headers, Wire};
        let t = 1_700_000_000_000_000;
        let open = Body::Open {
            status: 101,
            headers: Headers::default(),
            subprotocol: None,
        };
        let mut o = Record::test_at(t, Dir::Meta, open);
        o.wire = Some(Box::new(Wire {
            handshake: Some(Handshake {
                request_size: 250,
                response_size: 130,
                extensions: None,
            }),
            ..Wire::frame(0, None)
        }));
        let mut out = rec(t + 1, Dir::Out, 5);
        out.wire = Some(Box::new(Wire::frame(11, None)));
        let mut inn = rec(t + 2, Dir::In, 300);
        inn.wire = Some(Box::new(Wire::frame(304, Some(40))));
        // A record from before the wire figures counts its payload, and nothing on the wire.
        let old = rec(t + 3, Dir::In, 7);
        let mut c = Counts::default();
        for r in [&o, &out, &inn, &old] {
            c.add(r);
        }
        assert_eq!((c.wire_out, c.wire_in), (250 + 11, 130 + 304));
        assert_eq!((c.bytes_out, c.bytes_in), (5, 307));
    }

    #[test]
    fn sse_on_the_wire_is_the_coded_or_stream_bytes_plus_chunk_framing() {
        use crate::record::{Proto, Wire};
        let t = 1_700_000_000_000_000;
        let event = |wire: Wire| {
            let mut r = Record::test_at(
                t,
                Dir::In,
                Body::Event {
                    event: "message".into(),
                    data: "x".into(),
                    id: None,
                },
            );
            r.proto = Proto::Sse;
            r.wire = Some(Box::new(wire));
            r
        };
        let mut c = Counts::default();
        // Plain and chunked: stream bytes and framing.
        c.add(&event(Wire {
            bytes: 9,
            framing_bytes: Some(5),
            ..Wire::default()
        }));
        // gzip and chunked: the coded bytes stand for the stream bytes.
        c.add(&event(Wire {
            bytes: 9,
            compressed_size: Some(4),
            framing_bytes: Some(3),
            ..Wire::default()
        }));
        // Not chunked.
        c.add(&event(Wire {
            bytes: 9,
            ..Wire::default()
        }));
        assert_eq!(c.wire_in, 9 + 5 + 4 + 3 + 9);
    }
}
