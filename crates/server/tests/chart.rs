//! `GET /api/chart.svg` and `/api/chart.png` over real sockets: the whole server on
//! 127.0.0.1:0 with a WS and an SSE ticker running through the session, charted as the UI
//! will ask for them; behind the launch token like every `/api` route.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{Api, PATIENCE, Reply, with_api};
use tokio::time::{Instant, sleep};

/// The first two palette colours (light theme): the chart's first and second connection.
const BLUE: &str = "#2563EB";
const ORANGE: &str = "#EA580C";

/// Opens the WS ticker at 50/s and the SSE ticker at 20/s with pane names.
async fn open_tickers(api: &Api) -> (String, String) {
    let ws = api
        .open(json!({
            "url": format!("{}/demo/ws/ticker?rate=50", api.base.replacen("http://", "ws://", 1)),
            "name": "WS pane",
        }))
        .await;
    let sse = api
        .open_demo_sse("/demo/sse/ticker?rate=20", json!({ "name": "SSE pane" }))
        .await;
    (ws, sse)
}

/// Asks for the SVG until each of `colors` draws a line: the tickers need a couple of
/// complete seconds before a chart that ends at the last complete second shows them.
async fn svg_with_lines(api: &Api, query: &str, colors: &[&str]) -> String {
    let start = Instant::now();
    loop {
        let reply = api.get(&format!("/api/chart.svg?{query}")).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        let svg = reply.text();
        let lines = |c: &str| {
            svg.matches("<polyline")
                .count()
                .min(svg.matches(&format!(r#"stroke="{c}""#)).count())
        };
        if colors.iter().all(|c| lines(c) > 0) {
            return svg;
        }
        assert!(start.elapsed() < PATIENCE, "no lines yet: {svg}");
        sleep(Duration::from_millis(250)).await;
    }
}

/// The mean y of the points of the line drawn in `color` (smaller is higher up).
fn mean_y(svg: &str, color: &str) -> f64 {
    let line = svg
        .split("<polyline")
        .skip(1)
        .find(|p| p.contains(&format!(r#"stroke="{color}""#)))
        .expect("a line in that colour");
    let points = line
        .split(r#"points=""#)
        .nth(1)
        .and_then(|p| p.split('"').next())
        .expect("points");
    let ys: Vec<f64> = points
        .split_whitespace()
        .filter_map(|xy| xy.split(',').nth(1)?.parse().ok())
        .collect();
    assert!(!ys.is_empty(), "{points}");
    ys.iter().sum::<f64>() / ys.len() as f64
}

#[tokio::test]
async fn chart_svg_overlays_the_chosen_connections_with_pane_names() {
    with_api(|api| async move {
        let (ws, sse) = open_tickers(&api).await;
        let svg = svg_with_lines(
            &api,
            &format!("conns={ws},{sse}&metric=events&window=30"),
            &[BLUE, ORANGE],
        )
        .await;
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        assert!(svg.contains(r#"width="900""#), "default width");
        assert!(
            svg.contains("<title>WS pane</title>"),
            "legend names the WS pane"
        );
        assert!(
            svg.contains("<title>SSE pane</title>"),
            "legend names the SSE pane"
        );
        assert!(svg.contains("<title>Events per second, in + out</title>"));
        assert!(!svg.contains("<title>Payload bytes"), "events only");
        // One series per connection: one line each, in its own colour.
        let strokes: Vec<&str> = svg
            .split("<polyline")
            .skip(1)
            .filter_map(|p| p.split(r#"stroke=""#).nth(1))
            .map(|rest| &rest[..7])
            .collect();
        assert_eq!(
            strokes.iter().filter(|&&c| c == BLUE).count(),
            1,
            "{strokes:?}"
        );
        assert_eq!(
            strokes.iter().filter(|&&c| c == ORANGE).count(),
            1,
            "{strokes:?}"
        );

        // 50 events/s draw above 20 events/s: the WS line (first, blue) is higher up.
        assert!(mean_y(&svg, BLUE) < mean_y(&svg, ORANGE), "WS above SSE");
        // The order of `conns` sets the colours: asked the other way round, they swap.
        let swapped = svg_with_lines(
            &api,
            &format!("conns={sse},{ws}&metric=events&window=30"),
            &[BLUE, ORANGE],
        )
        .await;
        assert!(
            mean_y(&swapped, ORANGE) < mean_y(&swapped, BLUE),
            "WS now orange"
        );

        // Both metrics stacked.
        let both = api
            .get(&format!("/api/chart.svg?conns={ws}&metric=both"))
            .await;
        assert_eq!(both.status, 200, "{}", both.text());
        let both = both.text();
        assert!(both.contains("<title>Events per second, in + out</title>"));
        assert!(both.contains("<title>Payload bytes per second, in + out</title>"));
        assert!(!both.contains("<title>SSE pane</title>"), "only c1 asked");
    })
    .await;
}

/// The UI gives each pane a palette index of its own (`colors=`), so hiding one pane's
/// line does not repaint the others; renaming a pane renames its legend entry.
#[tokio::test]
async fn chart_keeps_given_colours_and_follows_renames() {
    with_api(|api| async move {
        let (ws, sse) = open_tickers(&api).await;
        const GREEN: &str = "#16A34A";
        // The SSE pane alone, in its own colour (orange, index 1), not the first (blue).
        let svg = svg_with_lines(
            &api,
            &format!("conns={sse}&colors=1&metric=events&window=30"),
            &[ORANGE],
        )
        .await;
        assert!(
            !svg.contains(&format!(r#"stroke="{BLUE}""#)),
            "no blue line"
        );
        // Both, with the WS pane in green.
        let svg = svg_with_lines(
            &api,
            &format!("conns={ws},{sse}&colors=2,1&metric=events&window=30"),
            &[GREEN, ORANGE],
        )
        .await;
        assert!(
            mean_y(&svg, GREEN) < mean_y(&svg, ORANGE),
            "WS (50/s) above SSE (20/s)"
        );
        // Compact, for the live view: lines, no title, no legend, short.
        let compact = api
            .get(&format!(
                "/api/chart.svg?conns={ws}&metric=events&compact=1&height=140"
            ))
            .await;
        assert_eq!(compact.status, 200, "{}", compact.text());
        let compact = compact.text();
        assert!(compact.contains(r#"height="140""#));
        assert!(
            !compact.contains("<title>Prices feed</title>")
                && !compact.contains("<title>WS pane</title>")
        );
        assert!(!compact.contains("<title>Event rates</title>"));
        // Panels as listed: events over latency, no bytes.
        let listed = api
            .get(&format!("/api/chart.svg?conns={ws}&metric=events,latency"))
            .await
            .text();
        let events = listed.find("<title>Events per second, in + out</title>");
        let latency = listed.find("<title>Latency");
        assert!(events.is_some() && latency.is_some(), "{listed}");
        assert!(events < latency, "events above latency");
        assert!(!listed.contains("<title>Payload bytes"));
        // Bytes on the wire beside the payload's, as asked.
        let both = api
            .get(&format!("/api/chart.svg?conns={ws}&metric=wire,bytes"))
            .await;
        assert_eq!(both.status, 200, "{}", both.text());
        let both = both.text();
        let wire = both.find("<title>Bytes on the wire per second");
        let payload = both.find("<title>Payload bytes per second");
        assert!(wire.is_some() && payload.is_some(), "{both}");
        assert!(wire < payload, "wire above payload, as listed");

        // A pane renamed while connected: the connection's name, and the legend, follow.
        let reply = api
            .patch(
                &format!("/api/connections/{ws}"),
                &json!({ "name": "Prices feed" }),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.json()["name"], "Prices feed");
        let svg = svg_with_lines(&api, &format!("conns={ws}&metric=events"), &[BLUE]).await;
        assert!(
            svg.contains("<title>Prices feed</title>"),
            "renamed in the legend"
        );
        assert!(!svg.contains("<title>WS pane</title>"));
    })
    .await;
}

#[tokio::test]
async fn chart_png_decodes_with_the_asked_size() {
    with_api(|api| async move {
        let (ws, sse) = open_tickers(&api).await;
        svg_with_lines(&api, &format!("conns={ws},{sse}"), &[BLUE, ORANGE]).await;
        let reply = api
            .get(&format!(
                "/api/chart.png?conns={ws},{sse}&metric=all&width=640&height=480&theme=dark"
            ))
            .await;
        assert_eq!(
            reply.status,
            200,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        assert_eq!(reply.header("content-type"), Some("image/png"));
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        let decoder = png::Decoder::new(std::io::Cursor::new(reply.body.clone()));
        let mut reader = decoder.read_info().expect("a PNG");
        let mut pixels = vec![0; reader.output_buffer_size()];
        let frame = reader.next_frame(&mut pixels).expect("PNG pixels");
        assert_eq!((frame.width, frame.height), (640, 480));
        // Dark theme: the corner is the dark background.
        assert_eq!(&pixels[..3], &[0x0d, 0x11, 0x17]);

        let download = api.get("/api/chart.png?download=1").await;
        assert_eq!(download.status, 200);
        let disposition = download.header("content-disposition").unwrap_or_default();
        assert!(
            disposition.starts_with("attachment; filename=\"streamscope-chart-")
                && disposition.ends_with(".png\""),
            "{disposition}"
        );
    })
    .await;
}

#[tokio::test]
async fn chart_routes_need_the_token() {
    with_api(|api| async move {
        for path in ["/api/chart.svg", "/api/chart.png"] {
            let reply = Reply::read(api.client.get(api.url(path)).send().await.expect("GET")).await;
            reply.assert_error(401, "unauthorized");
            let reply = api.get(path).await;
            assert_eq!(reply.status, 200, "{path} with the token");
        }
    })
    .await;
}

#[tokio::test]
async fn chart_queries_are_checked() {
    with_api(|api| async move {
        // No connection at all still draws an (empty) chart.
        let empty = api.get("/api/chart.svg").await;
        assert_eq!(empty.status, 200);
        assert!(
            empty
                .text()
                .contains("<title>No data in this window</title>")
        );
        for (query, status, code) in [
            ("metric=speed", 400, "bad_request"),
            ("metric=events,speed", 400, "bad_request"),
            ("metric=", 400, "bad_request"),
            ("window=0", 400, "bad_request"),
            ("window=601", 400, "bad_request"),
            ("width=10", 400, "bad_request"),
            ("height=100000", 400, "bad_request"),
            ("theme=pink", 400, "bad_request"),
            ("conns=x1", 400, "bad_request"),
            ("conns=c99", 404, "unknown_connection"),
            ("window=ten", 400, "bad_request"),
            ("height=150", 400, "bad_request"),
            ("compact=maybe", 400, "bad_request"),
            ("compact=1&height=100", 400, "bad_request"),
            ("colors=0", 200, ""),
            ("colors=10", 400, "bad_request"),
            ("colors=blue", 400, "bad_request"),
            ("colors=0,1", 400, "bad_request"),
        ] {
            if status == 200 {
                // No connection, and `colors` empty of meaning: `colors=0` for none is
                // one too many.
                let reply = api.get(&format!("/api/chart.svg?{query}")).await;
                let message = reply.assert_error(400, "bad_request");
                assert!(
                    message.contains("one palette index per connection"),
                    "{message}"
                );
                continue;
            }
            let reply = api.get(&format!("/api/chart.svg?{query}")).await;
            let message = reply.assert_error(status, code);
            assert!(!message.is_empty(), "{query}");
        }
    })
    .await;
}

#[tokio::test]
async fn sparkline_draws_one_pane_small() {
    with_api(|api| async move {
        let (ws, _) = open_tickers(&api).await;
        // Wait for the pane's line in the big chart, then ask for its sparkline.
        svg_with_lines(&api, &format!("conns={ws}"), &[BLUE]).await;
        let reply = api
            .get(&format!(
                "/api/sparkline.svg?conn={ws}&width=120&height=24&color=1"
            ))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.header("content-type"), Some("image/svg+xml"));
        let svg = reply.text();
        assert!(svg.contains(r#"width="120" height="24""#), "{svg}");
        assert!(
            svg.contains(&format!(r#"stroke="{ORANGE}""#)),
            "color=1 is orange"
        );
        assert!(svg.contains("<title>WS pane</title>"));
        api.get("/api/sparkline.svg")
            .await
            .assert_error(400, "bad_request");
        api.get("/api/sparkline.svg?conn=c42")
            .await
            .assert_error(404, "unknown_connection");
        api.get(&format!("/api/sparkline.svg?conn={ws}&width=2"))
            .await
            .assert_error(400, "bad_request");
    })
    .await;
}

#[tokio::test]
async fn a_chart_asked_for_a_connection_forgotten_meanwhile_draws_the_others() {
    with_api(|api| async move {
        let (ws, sse) = open_tickers(&api).await;
        svg_with_lines(
            &api,
            &format!("conns={ws},{sse}&colors=0,1"),
            &[BLUE, ORANGE],
        )
        .await;
        let gone = api.delete(&format!("/api/connections/{ws}")).await;
        assert!(gone.status < 300, "{}", gone.text());
        // The page's request crossed its own close of the pane: the other keeps its
        // colour, the forgotten one is left out.
        let svg = svg_with_lines(&api, &format!("conns={ws},{sse}&colors=0,1"), &[ORANGE]).await;
        assert!(!svg.contains(&format!(r#"stroke="{BLUE}""#)), "{svg}");
        assert!(!svg.contains("<title>WS pane</title>"), "{svg}");
        // An id never given out is still refused.
        api.get(&format!("/api/chart.svg?conns={sse},c999"))
            .await
            .assert_error(404, "unknown_connection");
    })
    .await;
}
