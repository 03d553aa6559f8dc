//! `/api/live` throughput: records delivered per second to one UI subscriber while the WS
//! ticker demo runs as fast as it can (`rate=1000000&size=64`), opened through the control
//! API, and the process's memory meanwhile.
//!
//! Run: `cargo bench -p streamscope-server --bench live` (`LIVE_BENCH_SECS` sets the
//! measured window, 10 s by default). The subscriber decodes every record's `seq` and
//! checks there is no gap, so the figure counts records that arrived, in order, whole.
//!
//! A second figure, `catch-up`, times the live path alone: with the ticker closed, a new
//! subscriber reads the whole recording from seq 1.
//!
//! Memory: the recording keeps every record by design (that is what the UI pages back
//! through), so the resident size grows with `recorded_bytes`; what must not grow is the
//! rest. The report prints both, and the resident size less the recording.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::Deserialize;
use streamscope_server::{Server, ServerConfig};
use tokio_tungstenite::tungstenite::Message;

#[derive(Deserialize)]
struct Batch {
    records: Vec<Seq>,
}

#[derive(Deserialize)]
struct Seq {
    seq: u64,
}

/// `VmRSS` and `VmHWM` (peak) of this process, in MiB; zero where /proc is missing.
fn memory_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The next batch of records on `/api/live`, past any non-text message.
async fn next_batch<S>(live: &mut S) -> Batch
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let Some(Ok(message)) = live.next().await else {
            panic!("/api/live closed early");
        };
        if let Message::Text(text) = message {
            return serde_json::from_str(text.as_str()).expect("a batch");
        }
    }
}

fn main() {
    let secs: u64 = std::env::var("LIVE_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(Duration::from_secs(secs)));
}

async fn run(window: Duration) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let server = Server::start(ServerConfig {
        port: 0,
        token: None,
        ui_dir: Some(std::env::temp_dir().join("streamscope-bench-no-ui")),
        memory_budget: None,
        ..ServerConfig::default()
    })
    .await
    .expect("start the server");
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("http client");
    let (rss_start, _) = memory_mib();

    // The subscriber first, so it sees the connection from its first record.
    let live_url = format!("ws://{}/api/live?token={}", server.addr, server.token);
    let (mut live, _) = tokio_tungstenite::connect_async(&live_url)
        .await
        .expect("/api/live");

    let body = format!(
        r#"{{"url": "ws://{}/demo/ws/ticker?rate=1000000&size=64"}}"#,
        server.addr
    );
    let opened = http
        .post(format!("{}/api/connections", server.base_url()))
        .bearer_auth(&server.token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("POST /api/connections");
    assert_eq!(opened.status(), 201, "the API opened the ticker");
    let view: serde_json::Value =
        serde_json::from_slice(&opened.bytes().await.expect("body")).expect("a connection view");
    let conn = view["id"].as_str().expect("id").to_owned();
    let conn_id: streamscope_engine::ConnId = conn.parse().expect("conn id");

    let mut delivered: u64 = 0;
    let mut last_seq: u64 = 0;
    let mut batches: u64 = 0;
    let mut largest_batch = 0usize;
    let mut peak_other_mib: f64 = 0.0;
    let mut per_second = Vec::new();
    let started = Instant::now();
    let mut tick = started + Duration::from_secs(1);
    let mut delivered_at_tick = 0u64;
    while started.elapsed() < window {
        let batch = next_batch(&mut live).await;
        batches += 1;
        largest_batch = largest_batch.max(batch.records.len());
        for r in &batch.records {
            assert_eq!(r.seq, last_seq + 1, "a gap or a duplicate on {conn}");
            last_seq = r.seq;
        }
        delivered += batch.records.len() as u64;
        if Instant::now() >= tick {
            let (rss, _) = memory_mib();
            let recorded = server
                .session
                .brief(conn_id)
                .map_or(0, |s| s.recorded_bytes) as f64
                / (1024.0 * 1024.0);
            peak_other_mib = peak_other_mib.max(rss - recorded);
            per_second.push(delivered - delivered_at_tick);
            delivered_at_tick = delivered;
            tick += Duration::from_secs(1);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let brief = server.session.brief(conn_id).expect("brief");
    let (rss_end, rss_peak) = memory_mib();
    let recorded_mib = brief.recorded_bytes as f64 / (1024.0 * 1024.0);

    println!("live: /api/live subscriber, WS ticker rate=1000000 size=64, {elapsed:.1} s");
    println!(
        "  delivered      {:>12.0} records/s  ({delivered} records, no gap, {batches} batches, {:.1} batches/s, largest {largest_batch})",
        delivered as f64 / elapsed,
        batches as f64 / elapsed
    );
    println!(
        "  recorded       {:>12.0} records/s  (engine ingest; {} records behind at the end)",
        brief.last_seq as f64 / elapsed,
        brief.last_seq.saturating_sub(last_seq)
    );
    println!("  per second     {per_second:?}");
    println!(
        "  memory         start {rss_start:.0} MiB, end {rss_end:.0} MiB, peak {rss_peak:.0} MiB; recording {recorded_mib:.0} MiB; peak less the recording {peak_other_mib:.0} MiB"
    );
    drop(live);

    // The live path alone: stop the ticker, then a new subscriber reads the whole
    // recording from the start, as a UI that reconnects far behind does.
    http.post(format!(
        "{}/api/connections/{conn}/close",
        server.base_url()
    ))
    .bearer_auth(&server.token)
    .send()
    .await
    .expect("POST close");
    while !matches!(
        server.session.brief(conn_id).map(|s| s.listing.state),
        Ok(streamscope_engine::session::ConnState::Closed
            | streamscope_engine::session::ConnState::Failed)
    ) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let total = server.session.brief(conn_id).expect("brief").last_seq;
    let (mut live, _) = tokio_tungstenite::connect_async(&live_url)
        .await
        .expect("/api/live");
    let started = Instant::now();
    let mut got = 0u64;
    let mut batches = 0u64;
    while got < total {
        let batch = next_batch(&mut live).await;
        batches += 1;
        for r in &batch.records {
            assert_eq!(r.seq, got + 1, "a gap or a duplicate in the catch-up");
            got = r.seq;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (_, rss_peak) = memory_mib();
    println!(
        "  catch-up       {:>12.0} records/s  ({total} recorded records from seq 1 in {elapsed:.2} s, {batches} batches; peak RSS {rss_peak:.0} MiB)",
        total as f64 / elapsed
    );
    drop(live);
    server.shutdown(Duration::from_secs(3)).await;
}
