//! Render time of a chart: 4 series × 600 points (ten minutes of four connections), to
//! SVG and to PNG, as the live view (SVG at 4 Hz and more) and the exports draw it. Also
//! building those series from the engine's statistics, which the server does per request.
//! Run with `cargo bench -p streamscope-chart --bench render`; figures in BENCHMARKS.md.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use streamscope_chart::{
    Chart, Metric, Panel, Series, Theme, TimeAxis, render_png, render_svg, series_from_stats,
};
use streamscope_model::stats::ConnStats;
use streamscope_model::{Body, ConnId, Dir, Proto, Record, Timestamp};

const TO: i64 = 1_764_095_198;
const POINTS: i64 = 600;
const SERIES: usize = 4;

/// Four noisy rates of different levels, every second of the window.
fn series(scale: f64) -> Vec<Series> {
    (0..SERIES)
        .map(|i| {
            let mut state = 0x9e37_79b9_7f4a_7c15u64.wrapping_mul(i as u64 + 1);
            let points = (TO - POINTS + 1..=TO)
                .map(|s| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let noise = (state % 1000) as f64 / 1000.0;
                    (s, scale * (20.0 + 30.0 * i as f64 + 10.0 * noise))
                })
                .collect();
            Series {
                name: format!("conn {}", i + 1),
                color: i,
                points,
            }
        })
        .collect()
}

fn chart(metrics: &[Metric]) -> Chart {
    Chart {
        title: "Event rates".into(),
        width: 900,
        height: 200 + 160 * metrics.len() as u32,
        from: TO - POINTS + 1,
        to: TO,
        step: 1,
        time_axis: TimeAxis::Ago,
        theme: Theme::Light,
        panels: metrics
            .iter()
            .map(|&metric| Panel {
                metric,
                series: series(if metric == Metric::Bytes { 110.0 } else { 1.0 }),
            })
            .collect(),
        compact: false,
    }
}

fn bench(c: &mut Criterion) {
    let one = chart(&[Metric::Events]);
    let two = chart(&[Metric::Events, Metric::Bytes]);
    // The first call loads the font; keep it out of the figures.
    render_svg(&one).expect("svg");
    let mut g = c.benchmark_group("render_4x600");
    g.bench_function("svg_events_900x360", |b| {
        b.iter(|| render_svg(black_box(&one)).expect("svg"))
    });
    g.bench_function("png_events_900x360", |b| {
        b.iter(|| render_png(black_box(&one)).expect("png"))
    });
    g.bench_function("svg_events_bytes_900x520", |b| {
        b.iter(|| render_svg(black_box(&two)).expect("svg"))
    });
    g.bench_function("png_events_bytes_900x520", |b| {
        b.iter(|| render_png(black_box(&two)).expect("png"))
    });
    // What the live view polls: one compact panel per metric, about half a window wide.
    let mut live = chart(&[Metric::Events]);
    live.width = 700;
    live.height = 150;
    live.compact = true;
    g.bench_function("svg_events_compact_700x150", |b| {
        b.iter(|| render_svg(black_box(&live)).expect("svg"))
    });
    g.finish();

    // A legend whose names are long (a long URL as the default name): fitting a name
    // must cost what fits, not the name's length.
    let mut g = c.benchmark_group("legend_long_names");
    g.sample_size(10);
    for len in [5_000usize, 70_000] {
        let mut named = chart(&[Metric::Events]);
        for s in &mut named.panels[0].series {
            s.name = "n".repeat(len);
        }
        g.bench_function(format!("svg_events_name_{len}"), |b| {
            b.iter(|| render_svg(black_box(&named)).expect("svg"))
        });
    }
    g.finish();

    // Ten minutes of a 50/s feed in the engine's window, read back as one series.
    let mut stats = ConnStats::default();
    for n in 0..POINTS * 50 {
        let t = (TO - POINTS + 1) * 1_000_000 + n * 20_000;
        stats.observe(&Record {
            t: Timestamp(t),
            conn: ConnId(1),
            proto: Proto::Ws,
            seq: n as u64 + 1,
            dir: Dir::In,
            body: Body::Text(format!(r#"{{"n":{n},"sent_at_us":{}}}"#, t - 300)),
            wire: None,
        });
    }
    c.bench_function("series_from_stats_600s", |b| {
        b.iter(|| {
            series_from_stats(
                "c1",
                0,
                black_box(&stats),
                Metric::Events,
                TO - POINTS + 1,
                TO,
            )
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
