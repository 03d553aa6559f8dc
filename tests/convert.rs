//! `sscope convert` and `sscope chart FILE.har` run as a user runs them: the built binary
//! on HAR fixtures in the shapes Chrome DevTools, Playwright and cypress-har-generator
//! write (tests/fixtures/har/) and on recorded NDJSON (tests/fixtures/chart/). Output
//! records are decoded with this suite's own `Record` (unknown fields refused), never the
//! engine's, and bad input must exit 2 with the place and the reason, writing nothing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use streamscope_e2e::{Output, Record, Sscope};

fn fixture(dir: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(dir)
        .join(name)
}

/// A fresh directory for one test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sscope-convert-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn arg(p: &Path) -> String {
    p.to_str().expect("test paths are UTF-8").to_owned()
}

async fn sscope(args: &[String]) -> Output {
    Sscope::new(args.iter().cloned()).output().await
}

async fn sscope_stdin(args: &[&str], stdin: Vec<u8>) -> Output {
    Sscope::new(args.iter().copied())
        .stdin(stdin)
        .output()
        .await
}

/// Decodes NDJSON with the suite's contract type and checks `seq` 1, 2, 3 … per conn.
fn records(text: &str) -> Vec<Record> {
    let mut last: HashMap<String, u64> = HashMap::new();
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let r: Record = serde_json::from_str(line).unwrap_or_else(|e| {
                panic!("line {} is not a contract record ({e}): {line}", i + 1)
            });
            let due = last.get(&r.conn).map_or(1, |s| s + 1);
            assert_eq!(r.seq, due, "line {}: seq gap on {}", i + 1, r.conn);
            last.insert(r.conn.clone(), r.seq);
            r
        })
        .collect()
}

fn kinds(records: &[Record], conn: &str) -> Vec<String> {
    records
        .iter()
        .filter(|r| r.conn == conn)
        .map(Record::dir_kind)
        .collect()
}

#[tokio::test]
async fn a_chrome_har_converts_to_contract_records_and_says_what_it_left_out() {
    let dir = scratch("chrome");
    let out = dir.join("chrome.ndjson");
    let run = sscope(&[
        "convert".into(),
        arg(&fixture("har", "chrome-devtools.har")),
        "-o".into(),
        arg(&out),
    ])
    .await;
    assert_eq!(run.code, 0, "{run}");
    let got = records(&std::fs::read_to_string(&out).expect("output written"));
    assert_eq!(
        kinds(&got, "c1"),
        [
            "meta open",
            "out text",
            "in text",
            "in binary",
            "in text",
            "meta error"
        ]
    );
    assert_eq!(kinds(&got, "c2"), ["meta open", "meta error"]);
    assert_eq!(got[0].subprotocol.as_deref(), Some("chat.v2"));
    assert_eq!(got[1].t, "2025-11-25T18:26:38.123456Z");
    assert_eq!(got[3].bytes(), vec![0xde, 0xad, 0xbe, 0xef]);
    let said = run.stderr_text();
    assert!(
        said.contains("log.entries[2] ws wss://chat.example.com/socket → c1 (6 records)"),
        "{said}"
    );
    assert!(
        said.contains("4 other entries not imported (document 1, image 1, script 1, xhr 1)"),
        "{said}"
    );
}

#[tokio::test]
async fn playwright_milliseconds_and_cypress_event_source_messages_convert() {
    let run = sscope(&[
        "convert".into(),
        arg(&fixture("har", "playwright-ms.har")),
        "-o".into(),
        "-".into(),
    ])
    .await;
    assert_eq!(run.code, 0, "{run}");
    let got = records(&run.stdout_text());
    assert_eq!(got[1].t, "2025-11-25T18:26:38.010250Z");
    assert_eq!(got[5].kind, "close");
    assert_eq!(
        (got[5].code, got[5].reason.as_deref()),
        (Some(1000), Some("bye"))
    );

    let run = sscope(&[
        "convert".into(),
        arg(&fixture("har", "cypress-sse.har")),
        "-o".into(),
        "-".into(),
    ])
    .await;
    assert_eq!(run.code, 0, "{run}");
    let got = records(&run.stdout_text());
    let events: Vec<(&str, &str, Option<&str>)> = got
        .iter()
        .filter(|r| r.kind == "event")
        .map(|r| (r.t.as_str(), r.text(), r.id.as_deref()))
        .collect();
    assert_eq!(
        events,
        [
            ("2025-11-25T18:26:40.500000Z", r#"{"n":42}"#, Some("42")),
            ("2025-11-25T18:26:41.500000Z", r#"{"n":43}"#, Some("43")),
            ("2025-11-25T18:26:42.500000Z", "line one\nline two", None),
        ]
    );
}

#[tokio::test]
async fn recordings_come_back_unchanged_through_har() {
    // Both fixtures hold only what HAR carries (open, text, ping, pong, close; open and
    // events), so NDJSON → HAR → NDJSON must give the same bytes back.
    for name in ["ws-ticker.ndjson", "sse-ticker.ndjson"] {
        let dir = scratch(&format!("back-{name}"));
        let original = fixture("chart", name);
        let har = dir.join("x.har");
        let back = dir.join("x.ndjson");
        let run = sscope(&["convert".into(), arg(&original), "-o".into(), arg(&har)]).await;
        assert_eq!(run.code, 0, "{run}");
        let run = sscope(&["convert".into(), arg(&har), "-o".into(), arg(&back)]).await;
        assert_eq!(run.code, 0, "{run}");
        let want = std::fs::read_to_string(&original).expect("fixture");
        let got = std::fs::read_to_string(&back).expect("converted back");
        assert_eq!(records(&got), records(&want), "{name}");
        assert_eq!(got, want, "{name}");
    }
}

#[tokio::test]
async fn secrets_are_redacted_in_a_har_unless_kept() {
    let line = r#"{"t":"2026-01-01T00:00:00.000000Z","conn":"c1","proto":"ws","seq":1,"dir":"meta","kind":"open","status":101,"headers":{"set-cookie":"sid=hunter2","upgrade":"websocket"}}"#;
    let input = format!("{line}\n").into_bytes();
    let run = sscope_stdin(
        &["convert", "-", "--from", "ndjson", "-o", "-"],
        input.clone(),
    )
    .await;
    assert_eq!(run.code, 0, "{run}");
    let har = run.stdout_text();
    assert!(!har.contains("hunter2"), "{har}");
    assert!(har.contains("[redacted]"), "{har}");
    let run = sscope_stdin(
        &["convert", "-", "--to", "har", "-o", "-", "--keep-secrets"],
        input,
    )
    .await;
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout_text().contains("hunter2"));
}

#[tokio::test]
async fn a_bad_input_exits_2_naming_where_and_writes_nothing() {
    let dir = scratch("bad");
    let chrome = std::fs::read_to_string(fixture("har", "chrome-devtools.har")).expect("fixture");
    let cut = dir.join("cut.har");
    std::fs::write(&cut, &chrome[..chrome.find("héllo").expect("in fixture")]).expect("write");
    let out = dir.join("out.ndjson");
    let run = sscope(&["convert".into(), arg(&cut), "-o".into(), arg(&out)]).await;
    assert_eq!(run.code, 2, "{run}");
    let said = run.stderr_text();
    assert!(
        said.contains("log.entries[2]") && said.contains("truncated"),
        "{said}"
    );
    assert!(!out.exists(), "nothing may be written from a bad file");
    assert_eq!(
        std::fs::read_dir(&dir).expect("dir").count(),
        1,
        "no temporary left"
    );

    let ws = std::fs::read_to_string(fixture("chart", "ws-ticker.ndjson")).expect("fixture");
    let gap: String = ws
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != 2)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let bad = dir.join("gap.ndjson");
    std::fs::write(&bad, gap).expect("write");
    let har = dir.join("out.har");
    let run = sscope(&["convert".into(), arg(&bad), "-o".into(), arg(&har)]).await;
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stderr_text()
            .contains("gap.ndjson:3: seq 4 on c1 where 3 was due"),
        "{run}"
    );
    assert!(!har.exists());
}

#[tokio::test]
async fn bad_arguments_exit_2_and_an_unwritable_output_exits_1() {
    let har = arg(&fixture("har", "chrome-devtools.har"));
    let run = sscope(&[
        "convert".into(),
        har.clone(),
        "-o".into(),
        "out.json".into(),
    ])
    .await;
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stderr_text()
            .contains("out.json: the extension tells the format"),
        "{run}"
    );
    let run = sscope_stdin(&["convert", "-", "-o", "-"], Vec::new()).await;
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stderr_text().contains("--from ndjson or --from har"),
        "{run}"
    );
    let run = sscope(&[
        "convert".into(),
        har,
        "-o".into(),
        "/nonexistent-streamscope-dir/x.ndjson".into(),
    ])
    .await;
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr_text()
            .contains("cannot write /nonexistent-streamscope-dir/x.ndjson"),
        "{run}"
    );
}

#[tokio::test]
async fn chart_reads_a_har() {
    let dir = scratch("chart");
    let png = dir.join("rates.png");
    let run = sscope(&[
        "chart".into(),
        arg(&fixture("har", "playwright-ms.har")),
        arg(&fixture("har", "cypress-sse.har")),
        "-o".into(),
        arg(&png),
    ])
    .await;
    assert_eq!(run.code, 0, "{run}");
    let bytes = std::fs::read(&png).expect("the chart was written");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let bad = dir.join("bad.har");
    std::fs::write(&bad, "{\"log\": {}}").expect("write");
    let run = sscope(&["chart".into(), arg(&bad), "-o".into(), arg(&png)]).await;
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stderr_text()
            .contains("not a HAR file: missing field `entries`"),
        "{run}"
    );
}
