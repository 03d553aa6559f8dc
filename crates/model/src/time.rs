//! Time as records carry it: microseconds since the Unix epoch, and its RFC 3339 form
//! (CONTRACT.md's `t`), written and read without a date library.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// When the engine saw something: microseconds since the Unix epoch, UTC.
///
/// Kept as an integer so records stay small and cheap to stamp; it is formatted as
/// RFC 3339 with exactly six fractional digits only when written out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// 0000-01-01T00:00:00.000000Z, the first instant RFC 3339 can write.
    pub const MIN: Timestamp = Timestamp(-62_167_219_200_000_000);
    /// 9999-12-31T23:59:59.999999Z, the last instant RFC 3339 can write.
    pub const MAX: Timestamp = Timestamp(253_402_300_799_999_999);

    /// The current wall-clock time.
    pub fn now() -> Self {
        let micros = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
            Err(before) => -i64::try_from(before.duration().as_micros()).unwrap_or(i64::MAX),
        };
        Timestamp(micros)
    }

    /// Microseconds since the Unix epoch.
    pub fn as_micros(self) -> i64 {
        self.0
    }

    /// Writes `YYYY-MM-DDTHH:MM:SS.ffffffZ` (27 bytes) into `out`.
    ///
    /// Hand-rolled because formatting the time is a large share of the cost of a small
    /// record, and the format is fixed.
    pub fn format_into(self, out: &mut [u8; 27]) {
        let micros = self.0.clamp(Timestamp::MIN.0, Timestamp::MAX.0);
        let secs = micros.div_euclid(1_000_000);
        let micros = micros.rem_euclid(1_000_000) as u32;
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400) as u32;
        let (y, m, d) = civil_from_days(days);
        let y = y as u32;
        put_digits(&mut out[0..4], y);
        out[4] = b'-';
        put_digits(&mut out[5..7], m);
        out[7] = b'-';
        put_digits(&mut out[8..10], d);
        out[10] = b'T';
        put_digits(&mut out[11..13], sod / 3600);
        out[13] = b':';
        put_digits(&mut out[14..16], sod / 60 % 60);
        out[16] = b':';
        put_digits(&mut out[17..19], sod % 60);
        out[19] = b'.';
        put_digits(&mut out[20..26], micros);
        out[26] = b'Z';
    }

    /// Parses the RFC 3339 form this module writes, and the common variants another tool
    /// may write (fewer or more fractional digits, a numeric offset).
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
            return None;
        }
        if b[13] != b':' || b[16] != b':' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            let part = s.get(r)?;
            if !part.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()
        };
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        let mut i = 19;
        let mut micros: i64 = 0;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                if i - start < 6 {
                    micros = micros * 10 + i64::from(b[i] - b'0');
                }
                i += 1;
            }
            let digits = i - start;
            if digits == 0 {
                return None;
            }
            for _ in digits..6 {
                micros *= 10;
            }
        }
        let offset_secs: i64 = match b.get(i) {
            Some(b'Z') | Some(b'z') if i + 1 == b.len() => 0,
            Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
                let oh = num(i + 1..i + 3)?;
                let om = num(i + 4..i + 6)?;
                let off = oh * 3600 + om * 60;
                if sign == b'+' { off } else { -off }
            }
            _ => return None,
        };
        let days = days_from_civil(y, mo as u32, d as u32);
        let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_secs;
        let t = Timestamp(secs * 1_000_000 + micros);
        // A leap second or an offset can carry the instant past the four-digit years the
        // format can write; refuse it rather than write back another instant.
        (Timestamp::MIN..=Timestamp::MAX).contains(&t).then_some(t)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 27];
        self.format_into(&mut buf);
        // The buffer holds ASCII digits and punctuation only.
        f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

fn put_digits(out: &mut [u8], mut v: u32) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

// Howard Hinnant's `civil_from_days`: proleptic Gregorian date from days since 1970-01-01.
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

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
