//! What the ticker and binary demos carry, and how fast. One function renders each payload
//! and both the WebSocket and the SSE endpoints call it, so the same feed at the same rate can
//! be compared side by side; the [`Pacer`] turns a rate into bursts per timer tick; and the
//! send-time stamps (RFC 3339 with microseconds, and unix microseconds) are formatted here.

use std::{
    fmt::Write as _,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use bytes::{BufMut, Bytes, BytesMut};
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::{error::DemoError, params::Params};

/// Top message rate: enough for the 100,000 frames/s UI target, and for the live-stream
/// benchmark to run a ticker as fast as this machine sends.
pub const MAX_RATE: u64 = 1_000_000;
/// Largest single message a demo sends: big enough for overhead comparisons, small enough
/// that one message never strains the app.
pub const MAX_SIZE: u64 = 1 << 20;
/// Top `rate × size`: a demo must not be able to flood the machine it runs on.
pub const MAX_BYTES_PER_SEC: u64 = 256 << 20;

/// Shortest timer period. One timer per message cannot go past about a thousand messages a
/// second; a hundred wakeups a second with a burst each reach any rate at little cost.
const MIN_TICK: Duration = Duration::from_millis(10);
/// How many ticks' worth a late pacer sends at once before it gives up catching up: a slow
/// client then gets the feed at its own pace instead of an ever larger burst.
const CATCH_UP_TICKS: u64 = 4;
/// The unpadded ticker message is about this long; used to bound `rate × size`.
const TICK_TYPICAL_LEN: u64 = 110;

/// Rate, count and size of a feed, as the ticker and binary demos take them.
#[derive(Debug, Clone, Copy)]
pub(super) struct Shape {
    pub rate: u64,
    pub count: Option<u64>,
    pub size: Option<usize>,
}

impl Shape {
    /// Reads `rate`, `count` and `size`, and refuses combinations above [`MAX_BYTES_PER_SEC`].
    /// `expansion_pct` is how much the wire form grows the payload (base64: 134).
    pub(super) fn from_params(params: &Params, expansion_pct: u64) -> Result<Self, DemoError> {
        let rate = params.int("rate")?;
        let size = params.opt_int("size");
        let bytes = size
            .unwrap_or(TICK_TYPICAL_LEN)
            .saturating_mul(expansion_pct)
            / 100;
        if rate.saturating_mul(bytes) > MAX_BYTES_PER_SEC {
            return Err(DemoError::bad_param(format!(
                "rate × size must stay under {MAX_BYTES_PER_SEC} bytes per second, \
                 got {rate} × {bytes}"
            )));
        }
        Ok(Self {
            rate,
            count: params.opt_int("count"),
            // `size` is bounded by `MAX_SIZE` in the catalog, so it fits in usize.
            size: size.map(|s| usize::try_from(s).unwrap_or(usize::MAX)),
        })
    }
}

/// One ticker message: `{"n":…,"sent_at":"…","sent_at_us":…,"price":…}`, padded to `size`
/// bytes when that is larger. `price` depends on `n` alone, so every protocol carries the
/// same feed; `sent_at` is when this message was rendered, just before it is sent.
pub(super) fn tick_json(n: u64, now: SystemTime, size: Option<usize>) -> String {
    let mut out = String::with_capacity(size.unwrap_or(0).max(128));
    let cents = price_cents(n);
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        r#"{{"n":{n},"sent_at":"{}","sent_at_us":{},"price":{}.{:02}"#,
        rfc3339_micros(now),
        unix_micros(now),
        cents / 100,
        cents % 100
    );
    let size = size.unwrap_or(0);
    // `,"pad":"` plus the closing quote.
    const PAD_FIELD: &str = r#","pad":""#;
    const PAD_OVERHEAD: usize = PAD_FIELD.len() + 1;
    // What is left to fill before the closing brace. A gap too small for a `pad` field is
    // made up with whitespace, which JSON allows, so the size is exact either way.
    let gap = size.saturating_sub(out.len() + 1);
    if gap >= PAD_OVERHEAD {
        out.push_str(PAD_FIELD);
        out.extend(std::iter::repeat_n('x', gap - PAD_OVERHEAD));
        out.push('"');
    } else {
        out.extend(std::iter::repeat_n(' ', gap));
    }
    out.push('}');
    out
}

/// One binary message of `size` bytes (at least 16): `n` and the send time in unix
/// microseconds, both big-endian u64, then filler that depends on `n` only.
pub(super) fn binary_payload(n: u64, now: SystemTime, size: usize) -> Bytes {
    let size = size.max(16);
    let mut out = BytesMut::with_capacity(size);
    out.put_u64(n);
    out.put_i64(unix_micros(now));
    let mut state = n;
    while out.len() < size {
        let word = splitmix64(&mut state).to_be_bytes();
        let take = (size - out.len()).min(word.len());
        out.put_slice(&word[..take]);
    }
    out.freeze()
}

/// A price in cents that wanders with `n`: a slow triangle wave plus noise, in integers so
/// that it is the same on every machine.
fn price_cents(n: u64) -> u64 {
    const PERIOD: u64 = 400;
    let phase = n % PERIOD;
    let wave = if phase < PERIOD / 2 {
        phase
    } else {
        PERIOD - phase
    };
    let mut state = n;
    let noise = splitmix64(&mut state) % 61;
    10_000 + wave * 3 + noise
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Microseconds since the unix epoch (negative before it).
pub(super) fn unix_micros(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_micros()).map_or(i64::MIN, |us| -us),
    }
}

/// `t` as RFC 3339 in UTC with microseconds, as CONTRACT.md stamps records:
/// `2023-11-14T22:13:20.123456Z`.
pub(super) fn rfc3339_micros(t: SystemTime) -> String {
    let us = unix_micros(t);
    let secs = us.div_euclid(1_000_000);
    let micros = us.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Turns a rate into bursts: a timer ticks at `1/rate`, but never faster than every 10 ms,
/// and each tick says how many messages are due by then, counted from the start so that
/// rounding never drifts. The first message is due at once.
#[derive(Debug)]
pub(super) struct Pacer {
    rate: u64,
    limit: Option<u64>,
    sent: u64,
    start: Instant,
    interval: Interval,
    max_burst: u64,
}

impl Pacer {
    /// `rate` messages per second (at least 1), `limit` messages in all.
    pub(super) fn new(rate: u64, limit: Option<u64>) -> Self {
        let rate = rate.max(1);
        let period = Duration::from_nanos(1_000_000_000 / rate).max(MIN_TICK);
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let per_tick = (u128::from(rate) * period.as_nanos()).div_ceil(1_000_000_000);
        let per_tick = u64::try_from(per_tick).unwrap_or(u64::MAX).max(1);
        Self {
            rate,
            limit,
            sent: 0,
            start: Instant::now(),
            interval,
            max_burst: per_tick.saturating_mul(CATCH_UP_TICKS),
        }
    }

    /// Waits for the next tick and returns how many messages to send now, or `None` once
    /// `limit` messages were handed out (one tick after the last burst, so the end comes when
    /// the next message would have).
    ///
    /// Cancel safe: the pacer only changes after the wait, so dropping this future loses
    /// nothing.
    pub(super) async fn next_burst(&mut self) -> Option<u64> {
        loop {
            self.interval.tick().await;
            let remaining = self.limit.map(|l| l.saturating_sub(self.sent));
            if remaining == Some(0) {
                return None;
            }
            let elapsed = u128::from(self.rate) * self.start.elapsed().as_micros() / 1_000_000;
            let due = u64::try_from(elapsed).unwrap_or(u64::MAX).saturating_add(1);
            let mut burst = due.saturating_sub(self.sent);
            if let Some(remaining) = remaining {
                burst = burst.min(remaining);
            }
            if burst == 0 {
                continue;
            }
            if burst > self.max_burst {
                // Too far behind (a slow client): send one capped burst and restart the
                // schedule from here rather than try to make up the backlog.
                burst = self.max_burst;
                let ahead = Duration::from_micros(
                    (self.sent + burst - 1).saturating_mul(1_000_000) / self.rate,
                );
                let now = Instant::now();
                self.start = now.checked_sub(ahead).unwrap_or(now);
            }
            self.sent += burst;
            return Some(burst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a paused clock (time moves only when every task waits), the pacer hands out
    /// exactly what is due at each tick: the first message at once, then `rate` a second,
    /// in bursts when the rate is faster than the 10 ms tick.
    async fn assert_keeps_the_rate(rate: u64, ticks: usize) {
        let mut pacer = Pacer::new(rate, None);
        let start = Instant::now();
        let mut total = 0;
        for _ in 0..ticks {
            total += pacer.next_burst().await.expect("no limit, no end");
            let micros = start.elapsed().as_micros();
            let due = u64::try_from(u128::from(rate) * micros / 1_000_000).expect("small") + 1;
            assert_eq!(total, due, "rate {rate}: {total} handed out by {micros} µs");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn pacer_hands_out_exactly_what_is_due_at_every_tick() {
        assert_keeps_the_rate(50, 60).await;
        assert_keeps_the_rate(1, 3).await;
        assert_keeps_the_rate(10_000, 150).await;
        assert_keeps_the_rate(1_000_000, 50).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_pacer_far_behind_sends_one_capped_burst_and_restarts_its_schedule() {
        let mut pacer = Pacer::new(1_000, None);
        assert_eq!(pacer.next_burst().await, Some(1));
        // A slow client: a whole second passes before the next burst is asked for.
        tokio::time::advance(Duration::from_secs(1)).await;
        let burst = pacer.next_burst().await.expect("a burst");
        assert_eq!(
            burst,
            10 * CATCH_UP_TICKS,
            "capped at {CATCH_UP_TICKS} ticks' worth"
        );
        // Then the schedule runs from there: the next tick carries one tick's worth.
        assert_eq!(pacer.next_burst().await, Some(10));
    }

    fn at_micros(us: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_micros(us)
    }

    #[test]
    fn rfc3339_has_microseconds_and_utc() {
        assert_eq!(rfc3339_micros(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            rfc3339_micros(at_micros(1_700_000_000_123_456)),
            "2023-11-14T22:13:20.123456Z"
        );
        // A leap day, and the end of a year.
        assert_eq!(
            rfc3339_micros(at_micros(951_782_400_000_001)),
            "2000-02-29T00:00:00.000001Z"
        );
        assert_eq!(
            rfc3339_micros(at_micros(1_704_067_199_999_999)),
            "2023-12-31T23:59:59.999999Z"
        );
    }

    #[test]
    fn tick_json_is_valid_json_carrying_n_and_send_time() {
        let now = at_micros(1_700_000_000_123_456);
        let text = tick_json(17, now, None);
        let v: serde_json::Value = serde_json::from_str(&text).expect("valid json");
        assert_eq!(v["n"], 17);
        assert_eq!(v["sent_at"], "2023-11-14T22:13:20.123456Z");
        assert_eq!(v["sent_at_us"], 1_700_000_000_123_456_i64);
        assert!(v["price"].is_f64() || v["price"].is_u64());
    }

    #[test]
    fn tick_json_pads_to_the_exact_size_asked() {
        let now = SystemTime::now();
        let natural = tick_json(3, now, None).len();
        for size in [
            1,
            natural,
            natural + 1,
            natural + 5,
            natural + 9,
            natural + 10,
            4096,
        ] {
            let text = tick_json(3, now, Some(size));
            assert_eq!(text.len(), size.max(natural), "size {size}");
            serde_json::from_str::<serde_json::Value>(&text).expect("still valid json");
        }
    }

    #[test]
    fn the_feed_depends_on_n_alone() {
        let a = tick_json(42, at_micros(1), None);
        let b = tick_json(42, at_micros(2), None);
        let price =
            |s: &str| serde_json::from_str::<serde_json::Value>(s).expect("json")["price"].clone();
        assert_eq!(price(&a), price(&b));
        let x = binary_payload(9, at_micros(1), 64);
        let y = binary_payload(9, at_micros(2), 64);
        assert_eq!(x.len(), 64);
        assert_eq!(x[..8], 9u64.to_be_bytes());
        assert_eq!(x[8..16], 1u64.to_be_bytes());
        assert_eq!(x[16..], y[16..]);
    }

    #[tokio::test(start_paused = true)]
    async fn pacer_keeps_the_rate_with_bursts_at_high_rates() {
        let mut pacer = Pacer::new(100_000, None);
        let start = Instant::now();
        let mut total = 0;
        let mut ticks = 0;
        while start.elapsed() < Duration::from_secs(1) {
            total += pacer.next_burst().await.expect("unlimited");
            ticks += 1;
        }
        assert!((99_000..=101_001).contains(&total), "sent {total}");
        assert!(ticks <= 101, "{ticks} timer ticks for one second");
    }

    #[tokio::test(start_paused = true)]
    async fn pacer_sends_one_per_tick_at_low_rates_and_stops_at_the_limit() {
        let mut pacer = Pacer::new(5, Some(3));
        let start = Instant::now();
        assert_eq!(pacer.next_burst().await, Some(1));
        assert_eq!(pacer.next_burst().await, Some(1));
        assert_eq!(pacer.next_burst().await, Some(1));
        assert_eq!(start.elapsed(), Duration::from_millis(400));
        assert_eq!(pacer.next_burst().await, None);
        assert_eq!(start.elapsed(), Duration::from_millis(600));
    }
}
