//! Shared pieces of Streamscope's benchmark binaries.
//!
//! The bench package holds the loopback load generator (`loadgen`), the bare
//! "ceiling" clients (`bare_ws`, `bare_sse`), a raw byte drain that shows the
//! generator is never the bottleneck (`drain`) and the output checker that
//! keeps a broken client from looking fast (`ndjson_check`). `bench/run.sh`
//! drives them. This library holds what the ceilings share: the record they
//! print (the subset of CONTRACT.md's record that `text` and `event` records
//! carry) and the RFC 3339 time they stamp it with (the model's `Timestamp`).

use serde::Serialize;
use std::time::{SystemTime, UNIX_EPOCH};
use streamscope_model::Timestamp;

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
    /// The wire figures `sscope` writes (README, "Contract additions"), so the ceilings
    /// print what it prints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wire_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frames: Option<u64>,
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

/// Formats `secs` since the Unix epoch plus `micros` as RFC 3339 UTC, with the
/// model's formatter, so the ceilings write the very bytes `sscope` writes.
pub fn format_rfc3339(secs: u64, micros: u32, buf: &mut [u8; TIMESTAMP_LEN]) -> &str {
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    let t = secs
        .saturating_mul(1_000_000)
        .saturating_add(i64::from(micros));
    Timestamp(t).format_into(buf);
    // Every byte the formatter writes is ASCII.
    std::str::from_utf8(buf).unwrap_or("1970-01-01T00:00:00.000000Z")
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
