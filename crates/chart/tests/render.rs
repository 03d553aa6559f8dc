//! The charts from outside: rates computed from records against a plain reference count,
//! the SVG's series and legend, the PNG's size, and the refusals.

use std::collections::BTreeMap;

use proptest::prelude::*;
use streamscope_chart::{
    Chart, ChartError, Metric, Panel, Series, Theme, TimeAxis, conns_from_records, render_png,
    render_svg, series_from_stats,
};
use streamscope_model::stats::{ConnStats, WINDOW_SECS};
use streamscope_model::{Body, ConnId, Dir, Proto, Record, Timestamp};

/// The light palette's first colours, as plotters writes them in the SVG.
const PALETTE: [&str; 4] = ["#2563EB", "#EA580C", "#16A34A", "#C026D3"];

const T0: i64 = 1_764_095_198_000_000;

/// A record of one of the kinds a stream carries, with a payload of `len` bytes.
fn record(t: i64, conn: u32, dir: Dir, kind: u8, len: usize) -> Record {
    let text = "x".repeat(len);
    let body = match kind % 8 {
        0 => Body::Text(text),
        1 => Body::Binary(text.into_bytes().into()),
        2 => Body::Event {
            event: "tick".into(),
            data: text,
            id: None,
        },
        3 => Body::Ping(text.into_bytes().into()),
        4 => Body::Pong(text.into_bytes().into()),
        5 => Body::Comment(text),
        6 => Body::Close {
            code: Some(1000),
            reason: String::new(),
        },
        _ => Body::Open {
            status: 101,
            headers: vec![],
            subprotocol: None,
        },
    };
    Record {
        t: Timestamp(t),
        conn: ConnId(conn),
        proto: if conn % 2 == 0 { Proto::Sse } else { Proto::Ws },
        seq: 0,
        dir,
        body,
        wire: None,
    }
}

/// The reference: per connection and second, data records and payload bytes in either
/// direction, counted straight from the record fields.
fn reference(records: &[Record]) -> BTreeMap<(u32, i64), (f64, f64)> {
    let mut out: BTreeMap<(u32, i64), (f64, f64)> = BTreeMap::new();
    for r in records {
        let sec = r.t.0.div_euclid(1_000_000);
        let e = out.entry((r.conn.0, sec)).or_default();
        if r.dir == Dir::Meta {
            continue;
        }
        if matches!(r.kind(), "text" | "binary" | "event") {
            e.0 += 1.0;
        }
        let size = match &r.body {
            Body::Text(s) | Body::Comment(s) => s.len(),
            Body::Event { data, .. } => data.len(),
            Body::Binary(b) | Body::Ping(b) | Body::Pong(b) => b.len(),
            _ => 0,
        };
        e.1 += size as f64;
    }
    out
}

fn arb_records() -> impl Strategy<Value = Vec<Record>> {
    proptest::collection::vec(
        (0i64..1_500_000, 1u32..4, 0u8..3, any::<u8>(), 0usize..40),
        1..400,
    )
    .prop_map(|steps| {
        let mut t = T0;
        steps
            .into_iter()
            .map(|(dt, conn, dir, kind, len)| {
                t += dt;
                let dir = [Dir::In, Dir::Out, Dir::Meta][dir as usize];
                record(t, conn, dir, kind, len)
            })
            .collect()
    })
}

proptest! {
    /// Rates from a recording match the reference for every second of every connection,
    /// seconds without records reading zero, and buckets of several seconds averaging them.
    #[test]
    fn recorded_rates_match_a_reference_count(records in arb_records(), step in 1i64..5) {
        let want = reference(&records);
        let conns = conns_from_records(&records);
        for c in &conns {
            let (first, last) = c.span().expect("a conn has records");
            let events = c.series(0, Metric::Events, first, last, 1);
            let bytes = c.series(0, Metric::Bytes, first, last, 1);
            prop_assert_eq!(events.points.len() as i64, last - first + 1);
            for (e, b) in events.points.iter().zip(&bytes.points) {
                let (we, wb) = want.get(&(c.conn.0, e.0)).copied().unwrap_or_default();
                prop_assert_eq!(e.1, we, "events of {} at {}", c.conn, e.0);
                prop_assert_eq!(b.1, wb, "bytes of {} at {}", c.conn, b.0);
            }
            let coarse = c.series(0, Metric::Events, first, last, step);
            for &(start, v) in &coarse.points {
                let sum: f64 = (start..start + step)
                    .map(|s| want.get(&(c.conn.0, s)).map_or(0.0, |w| w.0))
                    .sum();
                prop_assert!((v - sum / step as f64).abs() < 1e-9, "bucket at {}", start);
            }
        }
    }

    /// The live statistics give the same rates over the window they keep.
    #[test]
    fn live_rates_match_a_reference_count(records in arb_records()) {
        let want = reference(&records);
        let mut stats: BTreeMap<u32, ConnStats> = BTreeMap::new();
        for r in &records {
            stats.entry(r.conn.0).or_default().observe(r);
        }
        for (conn, s) in &stats {
            let last = s.window.newest().expect("observed");
            let from = last - WINDOW_SECS as i64 + 1;
            let first = s.first.expect("observed").0.div_euclid(1_000_000);
            let events = series_from_stats("c", 0, s, Metric::Events, from, last);
            let bytes = series_from_stats("c", 0, s, Metric::Bytes, from, last);
            prop_assert_eq!(events.points.first().map(|p| p.0), Some(first.max(from)));
            for (e, b) in events.points.iter().zip(&bytes.points) {
                let (we, wb) = want.get(&(*conn, e.0)).copied().unwrap_or_default();
                prop_assert_eq!(e.1, we, "events of c{} at {}", conn, e.0);
                prop_assert_eq!(b.1, wb, "bytes of c{} at {}", conn, b.0);
            }
        }
    }
}

fn chart(panels: Vec<Panel>, width: u32, height: u32) -> Chart {
    let to = T0 / 1_000_000 + 59;
    Chart {
        title: "Event rates".into(),
        width,
        height,
        from: to - 59,
        to,
        step: 1,
        time_axis: TimeAxis::Ago,
        theme: Theme::Light,
        panels,
        compact: false,
    }
}

fn series(names: &[&str], metric_scale: f64) -> Vec<Series> {
    let from = T0 / 1_000_000;
    names
        .iter()
        .enumerate()
        .map(|(i, name)| Series {
            name: (*name).to_owned(),
            color: i,
            points: (from..from + 60)
                .map(|s| (s, metric_scale * (10.0 + 15.0 * i as f64)))
                .collect(),
        })
        .collect()
}

/// The stroke colour of every line in an SVG.
fn line_colours(svg: &str) -> Vec<String> {
    svg.split("<polyline")
        .skip(1)
        .filter_map(|p| p.split(r#"stroke=""#).nth(1))
        .map(|rest| rest[..7].to_owned())
        .collect()
}

#[test]
fn svg_has_one_series_per_connection_and_a_legend_naming_each() {
    let names = ["WS ticker", "SSE ticker", "echo <#3> & co"];
    let c = chart(
        vec![Panel {
            metric: Metric::Events,
            series: series(&names, 1.0),
        }],
        900,
        400,
    );
    let svg = render_svg(&c).expect("svg");
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains(r#"width="900" height="400""#));
    assert_eq!(
        line_colours(&svg),
        PALETTE[..3],
        "one line each, in palette order"
    );
    assert!(svg.contains("<title>WS ticker</title>"));
    assert!(svg.contains("<title>SSE ticker</title>"));
    assert!(
        svg.contains("<title>echo &lt;#3&gt; &amp; co</title>"),
        "names are escaped"
    );
    assert!(svg.contains("<title>Events per second, in + out</title>"));
    assert!(
        svg.contains("<title>now</title>"),
        "the live axis ends at now"
    );
    // Text is drawn as glyph outlines, never with a system font.
    assert!(!svg.contains("<text"), "no <text> elements");
    assert!(!svg.contains("font-family"));
    assert!(svg.contains("<defs><path id="));

    // Two metrics stacked: a line per connection in each, one legend entry each.
    let c = chart(
        vec![
            Panel {
                metric: Metric::Events,
                series: series(&names[..2], 1.0),
            },
            Panel {
                metric: Metric::Bytes,
                series: series(&names[..2], 100.0),
            },
        ],
        900,
        520,
    );
    let svg = render_svg(&c).expect("svg");
    assert_eq!(
        line_colours(&svg),
        [PALETTE[0], PALETTE[1], PALETTE[0], PALETTE[1]]
    );
    assert_eq!(svg.matches("<title>WS ticker</title>").count(), 1);
    assert!(
        svg.contains("<title>avg 10/s  ·  1 kB/s</title>"),
        "means per panel"
    );
    assert!(svg.contains("<title>Payload bytes per second, in + out</title>"));
}

#[test]
fn png_decodes_with_the_asked_size() {
    for (w, h) in [(320, 200), (900, 520), (1234, 777)] {
        let c = chart(
            vec![Panel {
                metric: Metric::Bytes,
                series: series(&["a", "b"], 1000.0),
            }],
            w,
            h,
        );
        let png = render_png(&c).expect("png");
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().expect("a PNG");
        let mut pixels = vec![0; reader.output_buffer_size()];
        let frame = reader.next_frame(&mut pixels).expect("pixels");
        assert_eq!((frame.width, frame.height), (w, h));
        assert_eq!(frame.color_type, png::ColorType::Rgb);
        assert_eq!(&pixels[..3], &[255, 255, 255], "white corner");
        // Both series' colours are drawn somewhere.
        for rgb in [[0x25, 0x63, 0xeb], [0xea, 0x58, 0x0c]] {
            assert!(
                pixels.chunks(3).any(|p| p == rgb),
                "{rgb:?} drawn at {w}×{h}"
            );
        }
    }
}

#[test]
fn an_empty_chart_says_so() {
    let c = chart(
        vec![Panel {
            metric: Metric::Latency,
            series: vec![],
        }],
        600,
        300,
    );
    let svg = render_svg(&c).expect("svg");
    assert!(svg.contains("<title>No data in this window</title>"));
    assert!(line_colours(&svg).is_empty());
    render_png(&c).expect("png");
}

#[test]
fn bad_charts_are_refused() {
    let ok = || {
        chart(
            vec![Panel {
                metric: Metric::Events,
                series: vec![],
            }],
            600,
            300,
        )
    };
    let mut c = ok();
    c.width = 100;
    assert!(matches!(render_svg(&c), Err(ChartError::Size { .. })));
    let mut c = ok();
    c.height = 5000;
    assert!(matches!(render_png(&c), Err(ChartError::Size { .. })));
    let mut c = ok();
    c.panels.clear();
    assert!(matches!(render_svg(&c), Err(ChartError::Panels(0))));
    let mut c = ok();
    c.to = c.from - 1;
    assert!(matches!(render_svg(&c), Err(ChartError::Window { .. })));
}

#[test]
fn sparkline_is_a_bare_line_of_the_asked_size() {
    let s = streamscope_chart::Sparkline {
        width: 120,
        height: 24,
        from: T0 / 1_000_000,
        to: T0 / 1_000_000 + 59,
        theme: Theme::Dark,
        series: series(&["WS pane"], 1.0).remove(0),
    };
    let svg = streamscope_chart::render_sparkline_svg(&s).expect("svg");
    assert!(
        svg.contains(r#"width="120" height="24" viewBox="0 0 240 48""#),
        "{svg}"
    );
    assert_eq!(svg.matches("<polyline").count(), 1);
    assert!(svg.contains("<title>WS pane</title>"));
    assert!(!svg.contains("<defs>"), "no text drawn");
    let mut small = s.clone();
    small.height = 4;
    assert!(matches!(
        streamscope_chart::render_sparkline_svg(&small),
        Err(ChartError::Size { .. })
    ));
}

/// The UI's legend swatches come from `ui/src/lib/palette.ts`: the same colours, in the
/// same order, as the lines drawn here, or a pane's swatch would not match its line.
#[test]
fn ui_palette_matches_the_renderer() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ui/src/lib/palette.ts");
    let ts = std::fs::read_to_string(path).expect("ui/src/lib/palette.ts");
    let table = |name: &str| -> Vec<u32> {
        let start = ts
            .find(&format!("export const {name} = ["))
            .unwrap_or_else(|| panic!("{name} in palette.ts"));
        let body = &ts[start..];
        let body = &body[..body.find(']').expect("end of table")];
        body.split('\'')
            .skip(1)
            .step_by(2)
            .map(|c| u32::from_str_radix(c.trim_start_matches('#'), 16).expect("hex colour"))
            .collect()
    };
    assert_eq!(table("PALETTE_LIGHT"), streamscope_chart::PALETTE_LIGHT);
    assert_eq!(table("PALETTE_DARK"), streamscope_chart::PALETTE_DARK);
}

/// The stroke width of every line in an SVG, in drawing order.
fn line_widths(svg: &str) -> Vec<String> {
    svg.split("<polyline")
        .skip(1)
        .filter_map(|p| p.split(r#"stroke-width=""#).nth(1))
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

/// Two connections at the same rate: the first line is drawn wider, so it shows around
/// the second instead of vanishing under it; lines apart keep one width.
#[test]
fn a_line_covered_by_a_later_one_is_drawn_wider() {
    let mut same = series(&["WS ticker", "SSE ticker"], 1.0);
    same[1].points = same[0].points.clone();
    let svg = render_svg(&chart(
        vec![Panel {
            metric: Metric::Events,
            series: same.clone(),
        }],
        900,
        400,
    ))
    .expect("svg");
    assert_eq!(line_colours(&svg), PALETTE[..2]);
    let widths = line_widths(&svg);
    assert_eq!(widths.len(), 2, "{widths:?}");
    assert!(
        widths[0].parse::<f64>().expect("width") > widths[1].parse::<f64>().expect("width"),
        "{widths:?}"
    );

    // Apart: equal widths.
    let svg = render_svg(&chart(
        vec![Panel {
            metric: Metric::Events,
            series: series(&["WS ticker", "SSE ticker"], 1.0),
        }],
        900,
        400,
    ))
    .expect("svg");
    let widths = line_widths(&svg);
    assert_eq!(widths.len(), 2);
    assert_eq!(widths[0], widths[1]);

    // Together for a few seconds only (they cross): not widened.
    let mut cross = same;
    for (i, p) in cross[1].points.iter_mut().enumerate() {
        p.1 = i as f64;
    }
    let svg = render_svg(&chart(
        vec![Panel {
            metric: Metric::Events,
            series: cross,
        }],
        900,
        400,
    ))
    .expect("svg");
    let widths = line_widths(&svg);
    assert_eq!(widths[0], widths[1], "crossing lines keep their width");
}

/// The live view's compact picture: the data and its axes, no title and no legend (the
/// page shows both), at heights a full chart refuses.
#[test]
fn a_compact_chart_has_no_title_or_legend_and_may_be_short() {
    let mut c = chart(
        vec![Panel {
            metric: Metric::Events,
            series: series(&["WS ticker", "SSE ticker"], 1.0),
        }],
        600,
        130,
    );
    assert!(matches!(
        render_svg(&c),
        Err(ChartError::Size {
            min_height: 200,
            ..
        })
    ));
    c.compact = true;
    let svg = render_svg(&c).expect("compact svg");
    assert_eq!(line_colours(&svg), PALETTE[..2]);
    assert!(
        svg.contains("<title>Events per second, in + out</title>"),
        "caption kept"
    );
    assert!(!svg.contains("<title>Event rates</title>"), "no title");
    assert!(!svg.contains("<title>WS ticker</title>"), "no legend");
    assert!(svg.contains("<title>now</title>"), "time axis kept");
    let png = render_png(&c).expect("compact png");
    let info = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .expect("a PNG");
    assert_eq!((info.info().width, info.info().height), (600, 130));
    c.height = 100;
    let err = render_svg(&c).expect_err("too short");
    assert!(err.to_string().contains("height 110–4096"), "{err}");
}

/// A narrow chart shortens a caption that would run off its edge.
#[test]
fn a_narrow_chart_shortens_its_captions() {
    let panel = |metric| Panel {
        metric,
        series: series(&["WS ticker"], 1.0),
    };
    let wide = render_svg(&chart(vec![panel(Metric::Latency)], 900, 300)).expect("svg");
    assert!(wide.contains("<title>Latency, mean per second (one-way, or ping round trip)</title>"));
    let mut narrow = chart(vec![panel(Metric::Latency)], 340, 150);
    narrow.compact = true;
    let narrow = render_svg(&narrow).expect("svg");
    assert!(
        narrow.contains("<title>Latency, mean per second</title>"),
        "short caption"
    );
    assert!(!narrow.contains("ping round trip"));
}

#[test]
fn a_70000_character_name_is_drawn_cut_in_the_legend() {
    let long = format!("{}end", "n".repeat(70_000));
    let c = chart(
        vec![Panel {
            metric: Metric::Events,
            series: series(&[&long, "SSE ticker"], 1.0),
        }],
        900,
        400,
    );
    let svg = render_svg(&c).expect("svg");
    let title = svg
        .split("<title>")
        .filter_map(|t| t.split("</title>").next())
        .find(|t| t.starts_with("nnn"))
        .expect("the long name is in the legend");
    assert!(title.ends_with('…'), "cut with an ellipsis: {title}");
    assert!(
        title.chars().count() < 200,
        "{} characters",
        title.chars().count()
    );
    assert!(
        svg.contains("<title>SSE ticker</title>"),
        "the next entry is still there"
    );
    let png = render_png(&c).expect("png");
    assert!(png.starts_with(b"\x89PNG"));
}
