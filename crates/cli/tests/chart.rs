//! `sscope chart` run as a user runs it: the built binary on recorded NDJSON fixtures
//! (tests/fixtures/chart/, recorded with `sscope ws|sse` against the demo tickers), the
//! images decoded and looked into, and the mistakes a user makes answered with exit 2.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/chart")
        .join(name)
}

/// A fresh directory for one test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sscope-chart-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn sscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sscope"))
        .args(args)
        .output()
        .expect("run sscope")
}

/// `sscope chart INPUTS… -o OUT EXTRA…`.
fn chart(inputs: &[&Path], out: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<&OsStr> = vec![OsStr::new("chart")];
    args.extend(inputs.iter().map(|p| p.as_os_str()));
    args.extend([OsStr::new("-o"), out.as_os_str()]);
    args.extend(extra.iter().map(OsStr::new));
    Command::new(env!("CARGO_BIN_EXE_sscope"))
        .args(args)
        .output()
        .expect("run sscope")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn png_size(path: &Path) -> (u32, u32) {
    let file = std::fs::File::open(path).expect("the PNG was written");
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut pixels).expect("PNG pixels");
    (frame.width, frame.height)
}

#[test]
fn chart_of_a_recording_writes_a_png_of_the_asked_size() {
    let dir = scratch("png");
    let out = dir.join("rates.png");
    let ws = fixture("ws-ticker.ndjson");
    let o = chart(&[&ws], &out, &["--width", "640", "--height", "400"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        o.stdout.is_empty() && o.stderr.is_empty(),
        "a quiet success"
    );
    assert_eq!(png_size(&out), (640, 400));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn chart_svg_names_each_connection_and_overlays_files() {
    let dir = scratch("svg");
    let out = dir.join("rates.SVG");
    let (ws, sse) = (fixture("ws-ticker.ndjson"), fixture("sse-ticker.ndjson"));
    let o = chart(&[&ws], &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let svg = std::fs::read_to_string(&out).expect("svg written");
    assert!(
        svg.contains("<title>c1 (ws)</title>"),
        "legend names the conn"
    );
    assert!(svg.contains("<title>Events per second, in + out</title>"));
    assert!(svg.contains("<title>Payload bytes per second, in + out</title>"));
    assert!(!svg.contains("<title>Latency"), "both = events and bytes");
    assert_eq!(svg.matches("<polyline").count(), 2, "one line per panel");

    let o = chart(&[&ws, &sse], &out, &["--metric", "events"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let svg = std::fs::read_to_string(&out).expect("svg written");
    assert!(
        svg.contains("<title>ws-ticker: c1 (ws)</title>"),
        "{}",
        &svg[..200]
    );
    assert!(svg.contains("<title>sse-ticker: c1 (sse)</title>"));
    assert_eq!(
        svg.matches("<polyline").count(),
        2,
        "one line per recording"
    );
    assert!(!svg.contains("<title>Payload bytes"));

    // Latency: the tickers carry their send time.
    let o = chart(&[&ws], &out, &["--metric", "latency"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let svg = std::fs::read_to_string(&out).expect("svg written");
    assert!(svg.contains("<title>Latency, mean per second"));
    assert!(
        !svg.contains("<title>No data in this window</title>"),
        "the ticker tells its latency"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn chart_refuses_bad_input_naming_the_line() {
    let dir = scratch("bad");
    let out = dir.join("rates.png");
    let good = std::fs::read_to_string(fixture("ws-ticker.ndjson")).expect("fixture");
    let mut lines: Vec<&str> = good.lines().take(5).collect();
    lines.insert(3, r#"{"t":"yesterday","conn":"c1"}"#);
    let bad = dir.join("bad.ndjson");
    std::fs::write(&bad, lines.join("\n")).expect("write");
    let o = chart(&[&bad], &out, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.starts_with("sscope: ") && e.contains("bad.ndjson:4:"),
        "{e}"
    );
    assert!(!out.exists(), "no image from bad input");

    let empty = dir.join("empty.ndjson");
    std::fs::write(&empty, "\n").expect("write");
    let o = chart(&[&empty], &out, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no records"), "{}", stderr(&o));

    let o = chart(&[Path::new("/nonexistent/x.ndjson")], &out, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot read /nonexistent/x.ndjson"),
        "{}",
        stderr(&o)
    );

    let ws = fixture("ws-ticker.ndjson");
    let pdf = dir.join("rates.pdf");
    let o = chart(&[&ws], &pdf, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains(".png or"), "{}", stderr(&o));

    let o = chart(&[&ws], &out, &["--width", "5"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--width"), "{}", stderr(&o));

    let o = sscope(&["chart", ws.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "-o is required");

    let unwritable = dir.join("no/such/dir/rates.png");
    let o = chart(&[&ws], &unwritable, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot write"), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn wire_bytes_are_charted_beside_the_payload_with_the_handshake_counted() {
    let dir = scratch("wire");
    let rec = dir.join("wire.ndjson");
    let mut lines = vec![
        r#"{"t":"2026-01-01T00:00:00.100000Z","conn":"c1","proto":"ws","seq":1,"dir":"meta","kind":"open","status":101,"headers":{},"request_size":200,"response_size":100}"#.to_owned(),
    ];
    for seq in 2..=4 {
        lines.push(format!(
            r#"{{"t":"2026-01-01T00:00:00.{seq}00000Z","conn":"c1","proto":"ws","seq":{seq},"dir":"in","kind":"text","size":10,"data":"0123456789","wire_bytes":12,"frames":1}}"#
        ));
    }
    std::fs::write(&rec, lines.join("\n") + "\n").expect("write the recording");
    let out = dir.join("wire.svg");
    let o = chart(&[&rec], &out, &["--metric", "wire"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let svg = std::fs::read_to_string(&out).expect("svg written");
    assert!(svg.contains("Bytes on the wire"), "the wire panel");
    // One second: the handshake both ways (300 B) and three 12-byte frames.
    assert!(svg.contains("336 B/s"), "wire figure in the legend: {svg}");
    let o = chart(&[&rec], &out, &["--metric", "bytes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let svg = std::fs::read_to_string(&out).expect("svg written");
    assert!(svg.contains("30 B/s"), "payload figure in the legend");
    let _ = std::fs::remove_dir_all(dir);
}
