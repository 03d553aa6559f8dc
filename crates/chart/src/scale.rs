//! Axes: round tick steps for values and time, and how ticks and legend figures are
//! written (SI suffixes, bytes, milliseconds, `−30 s`, `2:30`).

use crate::series::Metric;

/// The top of a value axis and its tick step: ticks at `0, step, 2·step … top`, at most
/// `max_ticks` intervals, with some headroom above `max` so a line never runs along the
/// top. Of the round steps that fit, the one that wastes the least height wins.
pub fn value_axis(max: f64, metric: Metric, max_ticks: u32) -> (f64, f64) {
    let max = if max.is_finite() && max > 0.0 {
        max * 1.08
    } else {
        // An empty or flat-zero panel still gets a readable axis.
        match metric {
            Metric::Events => 4.0,
            Metric::Bytes | Metric::Wire => 1000.0,
            Metric::Latency => 1.0,
        }
    };
    let mut best: Option<(f64, f64)> = None;
    for n in (1..=max_ticks.max(1)).rev() {
        let (top, step) = axis_with(max, metric, n);
        if best.is_none_or(|(t, _)| top < t - 1e-9) {
            best = Some((top, step));
        }
    }
    best.unwrap_or_else(|| axis_with(max, metric, 1))
}

fn axis_with(max: f64, metric: Metric, ticks: u32) -> (f64, f64) {
    let raw = max / f64::from(ticks);
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    // Whole events only: half an event per second is no tick anyone wants.
    let whole = |step: f64| metric != Metric::Events || (step >= 1.0 && step.fract() == 0.0);
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|n| n * mag)
        .find(|&step| step >= norm * mag - 1e-9 && whole(step))
        .unwrap_or_else(|| (10.0 * mag).max(1.0));
    let top = (max / step).ceil() * step;
    (top, step)
}

/// A tick or legend figure with an SI suffix: `950`, `1.5k`, `12M`.
fn si(v: f64) -> String {
    let a = v.abs();
    let (scaled, suffix) = if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    format!("{}{suffix}", short(scaled))
}

/// At most three significant digits, no trailing zeros: `1`, `2.5`, `12.3`, `950`.
fn short(v: f64) -> String {
    let a = v.abs();
    let s = if a >= 100.0 || a == a.trunc() {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// A tick label on the value axis of `metric`.
pub fn value_label(v: f64, metric: Metric) -> String {
    match metric {
        Metric::Events => si(v),
        Metric::Bytes | Metric::Wire => bytes(v),
        Metric::Latency => millis(v),
    }
}

/// A mean for the legend: `50/s`, `5.4 kB/s`, `1.2 ms`.
pub fn legend_figure(v: f64, metric: Metric) -> String {
    match metric {
        Metric::Events => format!("{}/s", si(v)),
        Metric::Bytes | Metric::Wire => format!("{}/s", bytes(v)),
        Metric::Latency => millis(v),
    }
}

/// Bytes with decimal units, as network rates are given: `0 B`, `512 B`, `1.5 kB`, `2 MB`.
fn bytes(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{} GB", short(v / 1e9))
    } else if a >= 1e6 {
        format!("{} MB", short(v / 1e6))
    } else if a >= 1e3 {
        format!("{} kB", short(v / 1e3))
    } else {
        format!("{} B", short(v))
    }
}

fn millis(v: f64) -> String {
    if v.abs() >= 1000.0 {
        format!("{} s", short(v / 1000.0))
    } else {
        format!("{} ms", short(v))
    }
}

/// A round step for time ticks over `span` seconds, at most about `max_ticks` of them,
/// never finer than `min_step` (the chart's bucket).
pub fn time_step(span: i64, max_ticks: i64, min_step: i64) -> i64 {
    let need = (span as f64 / max_ticks.max(1) as f64).ceil() as i64;
    [
        1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
    ]
    .into_iter()
    .find(|&s| s >= need.max(min_step))
    .unwrap_or_else(|| need.max(min_step).max(1))
}

/// Seconds as a time-axis label: `45 s` within two minutes, then `2:30`, then `1:02:30`.
pub fn duration_label(secs: i64, span: i64) -> String {
    let a = secs.abs();
    let sign = if secs < 0 { "\u{2212}" } else { "" };
    if span <= 120 {
        format!("{sign}{a} s")
    } else if a < 3600 {
        format!("{sign}{}:{:02}", a / 60, a % 60)
    } else {
        format!("{sign}{}:{:02}:{:02}", a / 3600, a / 60 % 60, a % 60)
    }
}

/// A span for the subtitle: `60 s`, `10 min`, `2 h 5 min`.
pub fn span_words(secs: i64) -> String {
    if secs < 120 {
        format!("{secs} s")
    } else if secs < 7200 {
        let (m, s) = (secs / 60, secs % 60);
        if s == 0 {
            format!("{m} min")
        } else {
            format!("{m} min {s} s")
        }
    } else {
        let (h, m) = (secs / 3600, secs / 60 % 60);
        if m == 0 {
            format!("{h} h")
        } else {
            format!("{h} h {m} min")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_axes_are_round_with_headroom() {
        assert_eq!(value_axis(50.0, Metric::Events, 4), (60.0, 20.0));
        assert_eq!(value_axis(0.0, Metric::Events, 4), (4.0, 1.0));
        assert_eq!(value_axis(2.0, Metric::Events, 4), (3.0, 1.0));
        assert_eq!(value_axis(5400.0, Metric::Bytes, 4), (6000.0, 2000.0));
        let (top, step) = value_axis(0.37, Metric::Latency, 4);
        assert!(
            (top - 0.4).abs() < 1e-9 && (step - 0.1).abs() < 1e-9,
            "{top} {step}"
        );
    }

    #[test]
    fn labels_are_short_and_carry_units() {
        assert_eq!(value_label(0.0, Metric::Events), "0");
        assert_eq!(value_label(1500.0, Metric::Events), "1.5k");
        assert_eq!(value_label(2_000_000.0, Metric::Events), "2M");
        assert_eq!(value_label(512.0, Metric::Bytes), "512 B");
        assert_eq!(value_label(2500.0, Metric::Bytes), "2.5 kB");
        assert_eq!(value_label(0.25, Metric::Latency), "0.25 ms");
        assert_eq!(value_label(1500.0, Metric::Latency), "1.5 s");
        assert_eq!(legend_figure(49.96, Metric::Events), "50/s");
        assert_eq!(legend_figure(5432.0, Metric::Bytes), "5.43 kB/s");
    }

    #[test]
    fn time_ticks_are_round() {
        assert_eq!(time_step(60, 8, 1), 10);
        assert_eq!(time_step(600, 8, 1), 120);
        assert_eq!(time_step(3, 8, 1), 1);
        assert_eq!(time_step(60, 8, 15), 15);
        assert_eq!(duration_label(-30, 60), "\u{2212}30 s");
        assert_eq!(duration_label(150, 600), "2:30");
        assert_eq!(duration_label(3750, 7200), "1:02:30");
        assert_eq!(span_words(60), "60 s");
        assert_eq!(span_words(600), "10 min");
        assert_eq!(span_words(7500), "2 h 5 min");
    }
}
