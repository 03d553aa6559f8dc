//! Shared pieces of Streamscope's benchmark binaries.
//!
//! The bench package holds the loopback load generator (`loadgen`), the bare
//! "ceiling" clients (`bare_ws`, `bare_sse`), a raw byte drain that shows the
//! generator is never the bottleneck (`drain`) and the output checker that
//! keeps a broken client from looking fast (`ndjson_check`). `bench/run.sh`
//! drives them. This library holds what the ceilings share: the record they
//! print (the subset of CONTRACT.md's record that `text` and `event` records
//! carry) and a small RFC 3339 timestamp formatter.

use serde::Serialize;
use std::time::{SystemTime, UNIX_EPOCH};

/// One NDJSON record, with the fields CONTRACT.md puts on WS `text` /
/// `binary` and SSE `event` records.
#[derive(Serialize)]
pub struct Record<'a> {
    /// RFC 3339 UTC time with microseconds.
    pub t: &'a str,
    pub conn: &'a str,
    pub proto: &'a str,
    pub seq: u64,
    pub dir: &'a str,
    pub kind: &'a str,
    pub size: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_b64: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<&'a str>,
}

/// Length of `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub const TIMESTAMP_LEN: usize = 27;

/// Formats the current time as `YYYY-MM-DDTHH:MM:SS.ffffffZ` into `buf` and
/// returns it as a string slice.
pub fn now_rfc3339(buf: &mut [u8; TIMESTAMP_LEN]) -> &str {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format_rfc3339(since.as_secs(), since.subsec_micros(), buf)
}

/// Formats `secs` since the Unix epoch plus `micros` as RFC 3339 UTC.
pub fn format_rfc3339(secs: u64, micros: u32, buf: &mut [u8; TIMESTAMP_LEN]) -> &str {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days as i64);
    let (hh, mm, ss) = (rem / 3600, (rem / 60) % 60, rem % 60);

    fn put(buf: &mut [u8], at: usize, width: usize, mut v: u64) {
        for i in (0..width).rev() {
            buf[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    }
    put(buf, 0, 4, year as u64);
    buf[4] = b'-';
    put(buf, 5, 2, month as u64);
    buf[7] = b'-';
    put(buf, 8, 2, day as u64);
    buf[10] = b'T';
    put(buf, 11, 2, hh);
    buf[13] = b':';
    put(buf, 14, 2, mm);
    buf[16] = b':';
    put(buf, 17, 2, ss);
    buf[19] = b'.';
    put(buf, 20, 6, u64::from(micros));
    buf[26] = b'Z';
    // Every byte written above is ASCII.
    std::str::from_utf8(buf).unwrap_or("1970-01-01T00:00:00.000000Z")
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        let mut buf = [0u8; TIMESTAMP_LEN];
        assert_eq!(
            format_rfc3339(0, 0, &mut buf),
            "1970-01-01T00:00:00.000000Z"
        );
        let mut buf = [0u8; TIMESTAMP_LEN];
        // 2024-02-29T23:59:59.000001Z
        assert_eq!(
            format_rfc3339(1_709_251_199, 1, &mut buf),
            "2024-02-29T23:59:59.000001Z"
        );
        let mut buf = [0u8; TIMESTAMP_LEN];
        assert_eq!(
            format_rfc3339(1_767_225_600, 999_999, &mut buf),
            "2026-01-01T00:00:00.999999Z"
        );
    }
}
