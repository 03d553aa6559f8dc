//! The memory budget of the in-memory recordings, through the whole server: a fast peer
//! fills a tiny budget, its recording ends with an `error` record (cause `memory_budget`)
//! at the next seq, every connection stops recording while the budget is spent, and
//! forgetting connections gives the budget back.

mod support;

use std::time::Duration;

use serde_json::Value;
use streamscope_server::ServerConfig;
use support::{Api, assert_seqs_from_one, has, summary, within};
use tokio::time::{Instant, sleep};

/// Small enough that a fast ticker spends it in a fraction of a second.
const BUDGET: usize = 64 << 10;

/// What the recordings may pass the budget by. The budget is checked before each record,
/// so the last append before the cut may add one store segment; segments double from
/// 4 KiB, so the one started below a 64 KiB budget is at most 64 KiB. The rest is the
/// segments' indexes and the `error` records.
const SLACK: usize = BUDGET + (16 << 10);

async fn last_error(api: &Api, id: &str) -> (Vec<Value>, Value) {
    let records = api
        .wait_records(id, |r| r.last().is_some_and(|l| l["kind"] == "error"))
        .await;
    let last = records.last().cloned().unwrap_or_default();
    (records, last)
}

async fn recorded_bytes(api: &Api) -> usize {
    let list = api.get("/api/connections").await.json();
    list.as_array()
        .expect("a list")
        .iter()
        .map(|c| c["recorded_bytes"].as_u64().expect("recorded_bytes") as usize)
        .sum()
}

#[tokio::test]
async fn a_spent_memory_budget_ends_every_recording_with_an_error_and_forgetting_frees_it() {
    within(async {
        let server = support::start_with(ServerConfig {
            memory_budget: Some(BUDGET),
            ..ServerConfig::default()
        })
        .await;
        let api = Api::of(&server);

        // A slow connection under way first: it must stop too, at its next record.
        let slow = api.open_demo_ws("/demo/ws/ticker?rate=20").await;
        api.wait_records(&slow, |r| has(r, "in", "text")).await;
        let fast = api.open_demo_ws("/demo/ws/ticker?rate=100000").await;

        let (records, error) = last_error(&api, &fast).await;
        assert_seqs_from_one(&records);
        assert_eq!(error["dir"], "meta", "{error}");
        assert_eq!(error["cause"], "memory_budget", "{error}");
        let message = error["message"].as_str().expect("message");
        assert!(
            message.contains("recording stopped") && message.contains("0.06 MiB"),
            "{message}"
        );
        assert!(
            records.len() > 100,
            "the fast ticker recorded before the budget ran out: {}",
            summary(&records)
        );
        assert_eq!(api.wait_state(&fast, "failed").await["state"], "failed");

        let (slow_records, slow_error) = last_error(&api, &slow).await;
        assert_seqs_from_one(&slow_records);
        assert_eq!(slow_error["cause"], "memory_budget", "{slow_error}");
        api.wait_state(&slow, "failed").await;

        // Nothing more is recorded: both stopped reading, and their peers see them go.
        let start = Instant::now();
        while server.demo.live() != 0 {
            assert!(
                start.elapsed() < support::PATIENCE,
                "{} demo sockets",
                server.demo.live()
            );
            sleep(Duration::from_millis(20)).await;
        }
        let held = recorded_bytes(&api).await;
        assert!(
            held <= BUDGET + SLACK,
            "{held} bytes recorded, budget {BUDGET}"
        );
        assert_eq!(api.records(&fast).await.len(), records.len());
        let (used, budget) = server.session.memory_use();
        assert_eq!((used, budget), (held, BUDGET));

        // While the budget is spent, a new connection records only why it stopped.
        let late = api.open_demo_ws("/demo/ws/ticker?rate=1000").await;
        let (late_records, late_error) = last_error(&api, &late).await;
        assert_eq!(late_records.len(), 1, "{}", summary(&late_records));
        assert_eq!(late_error["seq"], 1);
        assert_eq!(late_error["cause"], "memory_budget");
        api.wait_state(&late, "failed").await;

        // Forgetting gives the budget back: a new connection records in full.
        for id in [&fast, &slow, &late] {
            let reply = api.delete(&format!("/api/connections/{id}")).await;
            assert_eq!(reply.status, 204, "{}", reply.text());
        }
        assert_eq!(server.session.memory_use().0, 0);
        let again = api.open_demo_ws("/demo/ws/ticker?rate=1000&count=50").await;
        let records = api
            .wait_records(&again, |r| {
                r.iter().filter(|r| r["kind"] == "text").count() == 50
            })
            .await;
        assert!(!has(&records, "meta", "error"), "{}", summary(&records));
        assert_seqs_from_one(&records);

        support::stop(server).await;
    })
    .await;
}

#[tokio::test]
async fn the_default_budget_is_the_engines() {
    within(async {
        let server = support::start().await;
        assert_eq!(
            server.session.memory_use(),
            (0, streamscope_engine::session::DEFAULT_MEMORY_BUDGET)
        );
        support::stop(server).await;
    })
    .await;
}
