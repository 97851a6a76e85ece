//! Nothing leaks: thousands of join/transport/produce/consume/leave cycles over signaling, abrupt disconnects among
//! them, leave the server with no rooms, peers, transports, producers or consumers and a flat RSS. And a transport
//! whose client goes silent is reported to its owner when ICE consent expires.

mod common;
mod raw;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use ferrosoup_server::{Server, ServerConfig};
use raw::RawOptions;
use serde_json::{json, Value};

/// Parallel clients; the cycles are shared among them.
const CLIENTS: u64 = 16;
const WARM_UP_CYCLES: u64 = 1_000;
const CYCLES: u64 = 10_000;
/// Every this many cycles a client drops its TCP connection (reset) instead of leaving.
const ABRUPT_EVERY: u64 = 25;
/// RSS may grow this much between the end of the warm-up and the end (allocator caches, tokio's and the worker's
/// pools reaching their high-water marks under 16 parallel clients); a leak of even one small object per cycle
/// (9,000 cycles × several objects) would show well above it.
const RSS_SLACK_KIB: u64 = 12 * 1024;

fn config() -> ServerConfig {
    let mut c = server_config(256 * 1024);
    // The clients here are the test itself, far above any real client's rate.
    c.rate_limit.per_second = 0;
    c
}

/// One client's share of cycles `range`, on its own connections.
async fn run_cycles(
    url: String,
    client: u64,
    range: std::ops::Range<u64>,
    caps: Value,
    done: Arc<AtomicU64>,
) {
    let options = RawOptions {
        reset_on_drop: true,
        ..RawOptions::default()
    };
    let mut ws = raw::connect(&url, &options).await.expect("connect");
    let mut id = 0u64;
    let mut next = || {
        id += 1;
        id
    };
    for cycle in range {
        // Odd clients meet in a few shared rooms (notifications, others' producers); even ones have rooms of their
        // own, created and closed every cycle.
        let room = if client % 2 == 1 {
            format!("shared-{}", cycle % 4)
        } else {
            format!("own-{client}-{cycle}")
        };
        raw::call(
            &mut ws,
            next(),
            "join",
            json!({"roomId": room, "rtpCapabilities": caps}),
            "joined",
        )
        .await;
        let send = raw::call(
            &mut ws,
            next(),
            "createWebRtcTransport",
            json!({"direction": "send"}),
            "webRtcTransportCreated",
        )
        .await;
        let recv = raw::call(
            &mut ws,
            next(),
            "createWebRtcTransport",
            json!({"direction": "recv"}),
            "webRtcTransportCreated",
        )
        .await;
        // Media need not flow: a producer exists before its transport connects.
        let produced = raw::call(
            &mut ws,
            next(),
            "produce",
            json!({"transportId": send["data"]["id"], "kind": "video",
                   "rtpParameters": publisher_video_parameters(), "appData": {"source": "camera"}}),
            "produced",
        )
        .await;
        raw::call(
            &mut ws,
            next(),
            "consume",
            json!({"transportId": recv["data"]["id"], "producerId": produced["data"]["id"]}),
            "consumed",
        )
        .await;
        if cycle % ABRUPT_EVERY == ABRUPT_EVERY - 1 {
            drop(ws);
            ws = raw::connect(&url, &options).await.expect("reconnect");
        } else {
            raw::call(&mut ws, next(), "leave", json!({}), "left").await;
        }
        done.fetch_add(1, Ordering::Relaxed);
    }
}

/// Runs `from..to` cycles over [`CLIENTS`] parallel clients.
async fn cycles(server: &Server, caps: &Value, from: u64, to: u64, done: &Arc<AtomicU64>) {
    let per = (to - from).div_ceil(CLIENTS);
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let start = from + c * per;
            let end = (start + per).min(to);
            tokio::spawn(run_cycles(
                server.signaling_url(),
                c,
                start..end,
                caps.clone(),
                done.clone(),
            ))
        })
        .collect();
    for t in tasks {
        t.await.expect("a client's cycles");
    }
}

async fn wait_empty(server: &Server) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = raw::http_status(&server.url()).await;
        let all_zero = ["rooms", "peers", "transports", "producers", "consumers"]
            .iter()
            .all(|k| status[k] == 0);
        if all_zero {
            return status;
        }
        assert!(Instant::now() < deadline, "objects left behind: {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_cycles_leave_nothing_behind() {
    init_tracing();
    let body = async {
        let server = Server::start(config()).await.expect("server starts");
        let mut ws = raw::connect(&server.signaling_url(), &RawOptions::default())
            .await
            .unwrap();
        let router_caps = raw::call(
            &mut ws,
            1,
            "getRouterRtpCapabilities",
            json!({}),
            "routerRtpCapabilities",
        )
        .await;
        let caps = receiver_capabilities(&router_caps["data"]);
        drop(ws);
        let done = Arc::new(AtomicU64::new(0));

        let t0 = Instant::now();
        cycles(&server, &caps, 0, WARM_UP_CYCLES, &done).await;
        wait_empty(&server).await;
        let rss_warm = raw::rss_kib();
        let t1 = Instant::now();
        cycles(&server, &caps, WARM_UP_CYCLES, CYCLES, &done).await;
        let status = wait_empty(&server).await;
        let rss_end = raw::rss_kib();
        let elapsed = t0.elapsed();
        eprintln!(
            "cleanup: {} cycles ({} abrupt) in {:.1?} ({:.0} cycles/s after warm-up); RSS after warm-up {} KiB, at the \
             end {} KiB ({:+} KiB); /status {status}",
            done.load(Ordering::Relaxed),
            CYCLES / ABRUPT_EVERY,
            elapsed,
            (CYCLES - WARM_UP_CYCLES) as f64 / t1.elapsed().as_secs_f64(),
            rss_warm,
            rss_end,
            rss_end as i64 - rss_warm as i64
        );
        assert_eq!(done.load(Ordering::Relaxed), CYCLES);
        assert!(
            rss_end <= rss_warm + RSS_SLACK_KIB,
            "RSS grew from {rss_warm} KiB to {rss_end} KiB over {} cycles",
            CYCLES - WARM_UP_CYCLES
        );
        server.stop().await;
    };
    tokio::time::timeout(Duration::from_secs(120), body)
        .await
        .expect("the cleanup cycles finish within two minutes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ice_consent_expiry_is_reported_and_leave_cleans_up() {
    init_tracing();
    let body = async {
        let server = Server::start(config()).await.expect("server starts");
        let url = server.signaling_url();
        let a = Publisher::start(&url, "consent", "alice", true, false, 30).await;
        let mut b = Subscriber::start(&url, "consent", "bob").await;
        let cv = b.consume(a.video_producer.as_deref().unwrap()).await;
        b.resume(&cv.id).await;
        b.rtc
            .wait_packets(cv.ssrc, 10, Duration::from_secs(6))
            .await;

        // B's WebRTC side vanishes (no more consent checks) while its WebSocket stays.
        let t0 = Instant::now();
        b.rtc.shutdown();
        let n = b
            .sig
            .wait_notification("transportIceStateChanged", Duration::from_secs(40), |d| {
                d["iceState"] == "disconnected"
            })
            .await;
        let after = t0.elapsed();
        assert_eq!(n["transportId"], b.transport_id.as_str());
        assert!(
            after >= Duration::from_secs(10),
            "consent expired after only {after:?}"
        );
        eprintln!("ICE consent expiry reported after {after:?}");
        // The transport stays (as in mediasoup) until its peer leaves; A notices nothing.
        let status = server.status().await.unwrap();
        assert_eq!(
            (status.peers, status.transports, status.consumers),
            (2, 2, 1),
            "{status:?}"
        );
        assert!(a
            .sig
            .pending_unsolicited()
            .iter()
            .all(|v| v["type"] != "transportIceStateChanged"));

        b.sig.request("leave", json!({}), "left").await;
        a.sig.request("leave", json!({}), "left").await;
        wait_empty(&server).await;
        server.stop().await;
    };
    tokio::time::timeout(Duration::from_secs(60), body)
        .await
        .expect("the consent test finishes within a minute");
}
