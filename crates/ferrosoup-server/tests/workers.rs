//! A room spread over two workers: with one peer per worker, B's transport is on the other worker than A's, so A's
//! producer reaches B through a pipe between the workers (`Router::pipe_to_router`). Media, pause, close and cleanup
//! must behave exactly as within one worker.

mod common;

use std::time::Duration;

use common::call::Call;
use common::*;
use ferrosoup_server::{Server, ServerConfig};
use serde_json::json;

fn two_workers() -> ServerConfig {
    ServerConfig {
        workers: 2,
        peers_per_worker: 1,
        ..server_config(256 * 1024)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_crosses_workers_and_follows_pause_and_close() {
    init_tracing();
    bounded(async {
        let server = Server::start(two_workers()).await.expect("server");
        let media = server.media_addresses().to_vec();
        assert_eq!(media.len(), 2, "one media socket per worker: {media:?}");
        assert_ne!(media[0].port(), media[1].port());
        let url = server.signaling_url();

        let call = Call::start_with(&url, "spread", true).await;
        // B was placed on the second worker: its transport is reached at that worker's port.
        assert_eq!(
            call.b.transport_info["iceCandidates"][0]["port"],
            json!(media[1].port()),
            "B's transport is on worker 1"
        );
        let first = call.b.rtc.received(call.cv.ssrc);
        assert!(
            vp8_is_keyframe(&first[0].payload),
            "the first piped packet B gets is a key frame"
        );
        call.continues("through the pipe").await;
        // A's video and audio, and the pipe producer of the video in worker 1 (the audio is not consumed).
        let status = server.status().await.expect("status");
        assert_eq!((status.producers, status.consumers), (3, 1), "{status:?}");

        // Pausing the source stops the piped stream; resuming restarts it at a key frame.
        let video = call.a.video_producer.clone().expect("video");
        // A hears the scores of its own stream only, not of the pipe producer's in-memory copy.
        let score = call
            .a
            .sig
            .wait_notification("producerScore", Duration::from_secs(5), |d| {
                d["producerId"] == json!(video)
            })
            .await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let ssrcs: std::collections::HashSet<String> = call
            .a
            .sig
            .all_received()
            .iter()
            .filter(|m| m["type"] == "producerScore" && m["data"]["producerId"] == json!(video))
            .map(|m| m["data"]["score"][0]["ssrc"].to_string())
            .collect();
        assert_eq!(
            ssrcs.len(),
            1,
            "one stream's scores: {ssrcs:?} (first {score})"
        );
        call.a
            .sig
            .request(
                "pauseProducer",
                json!({"producerId": video}),
                "producerPaused",
            )
            .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let paused_at = call.b.rtc.received_count(call.cv.ssrc);
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            call.b.rtc.received_count(call.cv.ssrc),
            paused_at,
            "nothing flows while the source producer is paused"
        );
        call.a
            .sig
            .request(
                "resumeProducer",
                json!({"producerId": video}),
                "producerResumed",
            )
            .await;
        let all = call
            .b
            .rtc
            .wait_packets(call.cv.ssrc, paused_at + 15, Duration::from_secs(5))
            .await;
        assert!(
            vp8_is_keyframe(&all[paused_at].payload),
            "after resume the piped stream restarts at a key frame"
        );
        assert_contiguous("across pause and resume", &all);
        // Piped copies carry their first arrival, so worker 1 times each of B's packets from when A's reached worker 0
        // (worker 0 itself sends A little more than STUN replies).
        let latency = server.worker_dump().await.expect("dump").latency;
        assert!(
            latency.count() >= all.len() as u64,
            "{latency:?} for {} piped packets",
            all.len()
        );

        // Closing the source closes the pipe producer and B's consumer of it.
        call.a
            .sig
            .request(
                "closeProducer",
                json!({"producerId": video}),
                "producerClosed",
            )
            .await;
        call.b
            .sig
            .wait_notification("consumerClosed", Duration::from_secs(5), |d| {
                d["consumerId"] == json!(call.cv.id)
            })
            .await;
        let status = wait_status(&server, Duration::from_secs(5), |s| {
            s.producers == 1 && s.consumers == 0
        })
        .await;
        assert_eq!(status.producers, 1, "only A's audio is left");

        drop(call);
        wait_status(&server, Duration::from_secs(10), |s| {
            s.rooms == 0 && s.transports == 0 && s.producers == 0 && s.consumers == 0
        })
        .await;
        let dump = server.worker_dump().await.expect("dump");
        assert_eq!(dump.routers, 0, "both workers' routers of the room closed");
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_piped_producer_closes_when_its_owner_leaves() {
    init_tracing();
    bounded(async {
        let server = Server::start(two_workers()).await.expect("server");
        let url = server.signaling_url();
        let call = Call::start(&url, "owner-leaves").await;
        call.continues("through the pipe").await;
        let Call { a, b, cv } = call;
        // A vanishes without a word: its producer, the pipe producer and B's consumer all close.
        drop(a);
        b.sig
            .wait_notification("consumerClosed", Duration::from_secs(10), |d| {
                d["consumerId"] == json!(cv.id)
            })
            .await;
        wait_status(&server, Duration::from_secs(10), |s| {
            s.peers == 1 && s.producers == 0 && s.consumers == 0
        })
        .await;
        drop(b);
        wait_status(&server, Duration::from_secs(10), |s| {
            s.rooms == 0 && s.transports == 0
        })
        .await;
        server.stop().await;
    })
    .await;
}
