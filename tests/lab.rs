//! `sscope lab` from outside: the list, a lab run headless with its figures as JSON (the
//! shape CONTRACT-side scripts read), the table on a terminal, and the refusals: a lab that
//! runs only in the page and a name that is no lab exit 1 with a message that says what to
//! do. What each lab measures is tested through the API (crates/server/tests/labs.rs).

use serde_json::Value;
use streamscope_e2e::Sscope;

#[tokio::test]
async fn list_names_every_lab_and_marks_the_one_that_runs_in_the_page() {
    let out = Sscope::new(["lab", "list"]).output().await;
    assert_eq!(out.code, 0, "{out}");
    let text = out.stdout_text();
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        names,
        [
            "direction",
            "reconnect",
            "dead-peer",
            "binary",
            "connection-limit",
            "overhead"
        ],
        "{out}"
    );
    let page = text
        .lines()
        .find(|l| l.starts_with("connection-limit"))
        .expect("listed");
    assert!(page.contains("in the app only"), "{page}");
}

#[tokio::test]
async fn a_lab_runs_headless_and_prints_one_json_object_with_figures_and_a_conclusion() {
    let out = Sscope::new(["lab", "binary", "--quick", "--json"])
        .output()
        .await;
    assert_eq!(out.code, 0, "{out}");
    let lines: Vec<&str> = out
        .stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| std::str::from_utf8(l).expect("utf-8"))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "one object on stdout; steps go to stderr\n{out}"
    );
    let v: Value = serde_json::from_str(lines[0]).expect("JSON");
    assert_eq!(v["lab"], "binary");
    let figures = v["figures"].as_array().expect("figures");
    assert!(!figures.is_empty());
    for f in figures {
        for key in ["name", "ws", "sse", "unit"] {
            assert!(f.get(key).is_some(), "{key} missing in {f}");
        }
    }
    let four_k = figures
        .iter()
        .find(|f| f["name"] == "bytes on the wire per 4 KiB payload")
        .expect("the 4 KiB figure");
    assert_eq!(four_k["ws"], 4100.0);
    assert!(
        v["conclusion"]
            .as_str()
            .is_some_and(|c| c.contains("4 KiB")),
        "{v}"
    );
    assert!(
        out.stderr_text().contains("binary payloads"),
        "steps on stderr\n{out}"
    );
}

#[tokio::test]
async fn a_lab_prints_a_table_of_figures_for_a_person() {
    let out = Sscope::new(["lab", "reconnect", "--quick"]).output().await;
    assert_eq!(out.code, 0, "{out}");
    let text = out.stdout_text();
    let header = text.lines().next().expect("a header");
    assert!(
        header.contains("WebSocket") && header.trim_end().ends_with("SSE"),
        "{out}"
    );
    let lost = text
        .lines()
        .find(|l| l.starts_with("ids lost"))
        .expect("ids lost row");
    assert!(lost.trim_end().ends_with(" 0"), "SSE loses nothing: {lost}");
    assert!(text.contains("SSE lost nothing"), "{out}");
}

#[tokio::test]
async fn the_page_lab_and_an_unknown_name_exit_1_saying_what_to_do() {
    let out = Sscope::new(["lab", "connection-limit"]).output().await;
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stdout.is_empty(), "{out}");
    assert!(out.stderr_text().contains("run it from Labs"), "{out}");
    let out = Sscope::new(["lab", "no-such-lab"]).output().await;
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stderr_text().contains("sscope lab list"), "{out}");
}
