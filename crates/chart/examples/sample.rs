//! Renders a sample chart (a WS and an SSE ticker, synthetic data) to the files given,
//! `.svg` or `.png` by extension: `cargo run -p streamscope-chart --example sample -- a.png a.svg`.
//! For looking at the chart's design without running connections. Environment:
//! `THEME=dark`, `LATENCY=1` (a third panel), `EXTRA=N` (more connections), `SIZE=WxH`,
//! `LOOPS=N` (print the mean time of N SVG and N PNG renders); a path ending in
//! `-spark.svg` gets a status-line sparkline.

use streamscope_chart::{Chart, Metric, Panel, Series, Theme, TimeAxis, render_png, render_svg};

fn main() {
    let to = 1_764_095_198;
    let window = 60;
    let from = to - window + 1;
    let theme = if std::env::var("THEME").as_deref() == Ok("dark") {
        Theme::Dark
    } else {
        Theme::Light
    };
    let wave = |s: i64, base: f64, amp: f64| base + amp * ((s as f64) * 0.7).sin();
    let ws_events: Vec<(i64, f64)> = (from..=to)
        .map(|s| (s, wave(s, 50.0, 2.0).round()))
        .collect();
    // The SSE stream drops every 15 s and comes back after its retry delay.
    let sse_events: Vec<(i64, f64)> = (from..=to)
        .map(|s| {
            (
                s,
                if s % 15 < 2 {
                    0.0
                } else {
                    wave(s, 20.0, 1.0).round()
                },
            )
        })
        .collect();
    let bytes = |ev: &[(i64, f64)], per: f64| ev.iter().map(|&(s, v)| (s, v * per)).collect();
    let lat = |ev: &[(i64, f64)], base: f64| {
        ev.iter()
            .filter(|p| p.1 > 0.0)
            .map(|&(s, _)| (s, wave(s * 3, base, base / 4.0)))
            .collect()
    };
    let series = |ws: Vec<(i64, f64)>, sse: Vec<(i64, f64)>| {
        vec![
            Series {
                name: "ws/ticker".into(),
                color: 0,
                points: ws,
            },
            Series {
                name: "sse/ticker".into(),
                color: 1,
                points: sse,
            },
        ]
    };
    let mut panels = vec![
        Panel {
            metric: Metric::Events,
            series: series(ws_events.clone(), sse_events.clone()),
        },
        Panel {
            metric: Metric::Bytes,
            series: series(bytes(&ws_events, 112.0), bytes(&sse_events, 141.0)),
        },
    ];
    if std::env::var("LATENCY").is_ok() {
        panels.push(Panel {
            metric: Metric::Latency,
            series: series(lat(&ws_events, 0.4), lat(&sse_events, 1.3)),
        });
    }
    // More connections: EXTRA=2 adds two echo panes.
    let extra: usize = std::env::var("EXTRA")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    for i in 0..extra {
        let ev: Vec<(i64, f64)> = (from..=to)
            .map(|s| {
                (
                    s,
                    wave(s + 3 * i as i64, 8.0 + 12.0 * i as f64, 3.0).round(),
                )
            })
            .collect();
        for p in &mut panels {
            let points = match p.metric {
                Metric::Events => ev.clone(),
                Metric::Bytes => bytes(&ev, 300.0),
                Metric::Wire => bytes(&ev, 306.0),
                Metric::Latency => lat(&ev, 0.8),
            };
            p.series.push(Series {
                name: format!("ws/echo #{}", i + 1),
                color: 2 + i,
                points,
            });
        }
    }
    let (width, height) = std::env::var("SIZE")
        .ok()
        .and_then(|v| {
            let (w, h) = v.split_once('x')?;
            Some((w.parse().ok()?, h.parse().ok()?))
        })
        .unwrap_or((900, 520));
    let chart = Chart {
        title: "Event rates".into(),
        width,
        height,
        from,
        to,
        step: 1,
        time_axis: TimeAxis::Ago,
        theme,
        panels,
        compact: false,
    };
    if let Ok(n) = std::env::var("LOOPS") {
        let n: u32 = n.parse().unwrap();
        let t = std::time::Instant::now();
        for _ in 0..n {
            render_svg(&chart).unwrap();
        }
        eprintln!("svg {:?}", t.elapsed() / n);
        let t = std::time::Instant::now();
        for _ in 0..n {
            render_png(&chart).unwrap();
        }
        eprintln!("png {:?}", t.elapsed() / n);
    }
    for path in std::env::args().skip(1) {
        let bytes = if path.ends_with("-spark.svg") {
            // One pane's status-line sparkline: the SSE ticker's events.
            let spark = streamscope_chart::Sparkline {
                width: 120,
                height: 24,
                from,
                to,
                theme,
                series: chart.panels[0].series[1].clone(),
            };
            streamscope_chart::render_sparkline_svg(&spark)
                .expect("sparkline")
                .into_bytes()
        } else if path.ends_with(".svg") {
            render_svg(&chart).expect("svg").into_bytes()
        } else {
            render_png(&chart).expect("png")
        };
        std::fs::write(&path, bytes).expect("write");
    }
}
