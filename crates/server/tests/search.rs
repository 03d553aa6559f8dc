//! The search route's range bounds over real sockets: a live view that has decided every
//! row up to some seq asks the server for the newer rows only (`after`), over whole
//! records, so a long frame whose match lies past any preview is found.

mod support;

use serde_json::{Value, json};
use support::{search, with_api};

/// The seqs of `records` whose text holds `needle` and lie in `after < seq < before`,
/// newest first: what the server must answer, worked out from the records themselves.
fn expected(records: &[Value], needle: &str, after: u64, before: u64) -> Vec<u64> {
    let mut seqs: Vec<u64> = records
        .iter()
        .filter(|r| r["data"].as_str().is_some_and(|d| d.contains(needle)))
        .filter_map(|r| r["seq"].as_u64())
        .filter(|s| *s > after && *s < before)
        .collect();
    seqs.reverse();
    seqs
}

#[tokio::test]
async fn a_search_after_a_seq_reads_only_newer_records_and_finds_text_past_the_preview() {
    with_api(|api| async move {
        let id = api.open_demo_ws("/demo/ws/echo").await;
        api.wait_state(&id, "open").await;
        // A long frame with the term at character 900: far past the UI's 240-character
        // preview, so only a search of whole records finds it.
        let long = |tag: &str| format!("{}needle{tag}{}", "x".repeat(900), "y".repeat(94));
        let sent = [
            "needle early".to_owned(),
            long(" one"),
            "no match here".to_owned(),
            long(" two"),
            "needle late".to_owned(),
        ];
        for data in &sent {
            let reply = api.send(&id, json!({ "kind": "text", "data": data })).await;
            assert_eq!(reply.status, 202, "{}", reply.text());
        }
        // Every frame sent and echoed.
        let records = api
            .wait_records(&id, |r| {
                r.iter()
                    .filter(|x| x["dir"] == "in" && x["kind"] == "text")
                    .count()
                    == sent.len()
            })
            .await;
        let last = records
            .iter()
            .filter_map(|r| r["seq"].as_u64())
            .max()
            .expect("records");

        // The first frame sent and its echo are at or below `after`: left out.
        let first_long = records
            .iter()
            .find(|r| {
                r["data"]
                    .as_str()
                    .is_some_and(|d| d.ends_with(&"y".repeat(94)))
            })
            .and_then(|r| r["seq"].as_u64())
            .expect("the long frame recorded");
        let after = first_long - 1;
        let (matches, next, _) = search(&api, &id, &format!("q=needle&after={after}")).await;
        assert_eq!(matches, expected(&records, "needle", after, u64::MAX));
        assert_eq!(next, None, "the range down to `after` was searched");
        assert!(matches.contains(&first_long), "{matches:?}");
        assert!(
            matches.iter().all(|s| *s > after),
            "a match at or below after={after}: {matches:?}"
        );

        // Both bounds, a page at a time: `next` stays above `after` and ends the range.
        let (page, next, _) = search(
            &api,
            &id,
            &format!("q=needle&after={after}&before={last}&limit=2"),
        )
        .await;
        assert_eq!(page, expected(&records, "needle", after, last)[..2]);
        let before = next.expect("more in the range");
        assert!(before > after, "{before}");
        let (rest, next, _) = search(
            &api,
            &id,
            &format!("q=needle&after={after}&before={before}&limit=100"),
        )
        .await;
        assert_eq!(rest, expected(&records, "needle", after, before));
        assert_eq!(next, None);

        // An empty range searches nothing.
        let (none, next, _) = search(&api, &id, &format!("after={last}&before={}", last + 1)).await;
        assert!(none.is_empty() && next.is_none(), "{none:?} {next:?}");
    })
    .await;
}
