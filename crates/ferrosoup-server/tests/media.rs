//! End-to-end media through the real server: str0m peers publish and receive over ICE/DTLS/SRTP on 127.0.0.1, the
//! signaling runs over a real WebSocket (docs/protocol.md).

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

/// Checks the received VP8 stream of a consumer: SSRC and payload type are the consumer's, the first packet is a key
/// frame, sequence numbers have no gaps, frames (as A numbered them) are consecutive, timestamps advance.
fn check_video(c: &Consumed, packets: &[RecvPacket]) {
    assert!(!packets.is_empty());
    for p in packets {
        assert_eq!(p.ssrc, c.ssrc);
        assert_eq!(
            p.pt, c.pt,
            "video packets must carry the consumer's (router's) payload type, not A's {A_VP8_PT}"
        );
        if let Some(mid) = &p.mid {
            assert_eq!(
                mid, &c.mid,
                "a mid header extension, when present, must be the consumer's mid (router id mapping)"
            );
        }
    }
    let first = &packets[0];
    assert!(
        vp8_is_keyframe(&first.payload),
        "the first video packet B receives must be a key frame; got payload {:02x?} (frame {:?})",
        &first.payload[..first.payload.len().min(16)],
        vp8_frame_number(&first.payload)
    );
    assert_contiguous("consumer video", packets);
    let frames: Vec<u32> = packets
        .iter()
        .map(|p| {
            vp8_frame_number(&p.payload)
                .expect("payload passes through unchanged after the descriptor")
        })
        .collect();
    let mut sorted = frames.clone();
    sorted.sort_unstable();
    assert!(
        sorted.windows(2).all(|w| w[1] == w[0] + 1),
        "A's frames should arrive without loss: {frames:?}"
    );
    for w in packets.windows(2) {
        if w[1].ext_seq == w[0].ext_seq + 1 {
            assert_eq!(
                w[1].timestamp.wrapping_sub(w[0].timestamp),
                3000,
                "RTP timestamps advance by A's 3000 per frame"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_and_receive() {
    bounded(async {
        let server = start_server(256 * 1024).await;
        let url = server.signaling_url();
        let room = "room-publish";

        let a = Publisher::start(&url, room, "alice", true, true, 90).await;
        let b = Subscriber::start(&url, room, "bob").await;

        // B saw A and both producers at join time.
        let producers = b.joined["producers"].as_array().expect("producers");
        assert_eq!(producers.len(), 2, "joined: {}", b.joined);
        assert!(b.joined["peers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["peerId"] == a.peer_id));
        // A heard of B.
        a.sig
            .wait_notification("peerJoined", Duration::from_secs(5), |d| d["peerId"] == b.peer_id)
            .await;

        let video_id = a.video_producer.clone().unwrap();
        let audio_id = a.audio_producer.clone().unwrap();
        let cv = b.consume(&video_id).await;
        let ca = b.consume(&audio_id).await;

        // The consumer's parameters speak the router's language.
        let vp8 = router_codec(&b.router_caps, "video/VP8");
        assert_eq!(cv.kind, "video");
        assert_eq!(cv.data["producerId"], video_id.as_str());
        let codecs = cv.data["rtpParameters"]["codecs"].as_array().unwrap();
        assert!(codecs[0]["mimeType"].as_str().unwrap().eq_ignore_ascii_case("video/VP8"));
        assert_eq!(u64::from(cv.pt), vp8["preferredPayloadType"].as_u64().unwrap());
        assert_ne!(cv.pt, A_VP8_PT);
        if let Some(rtx) = codecs.get(1) {
            assert!(rtx["mimeType"].as_str().unwrap().eq_ignore_ascii_case("video/rtx"));
            assert_eq!(rtx["parameters"]["apt"], u64::from(cv.pt));
        }
        for ext in cv.data["rtpParameters"]["headerExtensions"].as_array().unwrap() {
            let uri = ext["uri"].as_str().unwrap();
            assert_eq!(
                ext["id"].as_u64().map(|i| i as u8),
                router_ext_id(&b.router_caps, "video", uri),
                "consumer header extensions carry the router's ids: {ext}"
            );
        }
        assert_eq!(cv.data["producerPaused"], false);
        assert_eq!(cv.data["type"], "simple");
        let opus = router_codec(&b.router_caps, "audio/opus");
        assert_eq!(ca.kind, "audio");
        assert_eq!(u64::from(ca.pt), opus["preferredPayloadType"].as_u64().unwrap());
        assert_ne!(cv.mid, ca.mid, "consumers of one transport get distinct mids");

        // Consumers start paused: nothing arrives before resume.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(b.rtc.received_count(cv.ssrc), 0, "video arrived before resumeConsumer");
        assert_eq!(b.rtc.received_count(ca.ssrc), 0, "audio arrived before resumeConsumer");

        b.resume(&cv.id).await;
        b.resume(&ca.id).await;

        let video = b.rtc.wait_packets(cv.ssrc, 45, Duration::from_secs(8)).await;
        let audio = b.rtc.wait_packets(ca.ssrc, 50, Duration::from_secs(5)).await;
        eprintln!(
            "publish_and_receive: B got {} video / {} audio packets; A sent {} video ({} key) / {} audio; A saw {} \
             key-frame requests; mid ext on first video packet: {:?}",
            video.len(),
            audio.len(),
            a.rtc.pump_stats().video_packets.load(std::sync::atomic::Ordering::SeqCst),
            a.rtc.pump_stats().video_keyframes.load(std::sync::atomic::Ordering::SeqCst),
            a.rtc.pump_stats().audio_packets.load(std::sync::atomic::Ordering::SeqCst),
            a.rtc.keyframe_requests(),
            video[0].mid,
        );
        check_video(&cv, &video);

        for p in &audio {
            assert_eq!(p.ssrc, ca.ssrc);
            assert_eq!(p.pt, ca.pt, "audio packets carry the router's opus payload type, not A's {A_OPUS_PT}");
            assert_eq!(&p.payload[..3], &[0xfc, 0xff, 0xfe], "opus payload passes through");
        }
        assert_contiguous("consumer audio", &audio);
        for w in audio.windows(2) {
            if w[1].ext_seq == w[0].ext_seq + 1 {
                assert_eq!(w[1].timestamp.wrapping_sub(w[0].timestamp), 960);
            }
        }

        // resumeConsumer asks the producer for a key frame (protocol.md, consume).
        assert!(
            a.rtc.keyframe_requests() >= 1,
            "A should have been asked for a key frame after B resumed its video consumer"
        );

        let status = server.status().await.unwrap();
        assert_eq!(
            (status.rooms, status.peers, status.transports, status.producers, status.consumers),
            (1, 2, 2, 2, 2),
            "{status:?}"
        );
        // Every forwarded copy was timed from its arrival to its send (plus STUN replies and the like).
        let latency = server.worker_dump().await.unwrap().latency;
        assert!(
            latency.count() >= (video.len() + audio.len()) as u64,
            "{latency:?} for {} packets",
            video.len() + audio.len()
        );
        assert!(latency.quantile(0.5) > Duration::ZERO && latency.quantile(0.5) <= latency.max());
        eprintln!("publish_and_receive: server latency {latency:?}");
        drop(a);
        drop(b);
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_keeps_sequence_continuous() {
    bounded(async {
        let server = start_server(256 * 1024).await;
        let url = server.signaling_url();
        let room = "room-pause";

        // Periodic key frames only every 60 frames (2 s): a key frame right after resume comes from the request.
        let a = Publisher::start(&url, room, "alice", true, false, 60).await;
        let b = Subscriber::start(&url, room, "bob").await;
        let cv = b.consume(a.video_producer.as_deref().unwrap()).await;
        b.resume(&cv.id).await;
        let before = b.rtc.wait_packets(cv.ssrc, 20, Duration::from_secs(6)).await;
        check_video(&cv, &before);
        let requests_before = a.rtc.keyframe_requests();

        b.pause(&cv.id).await;
        // Let what was in flight land, then nothing more may arrive while paused.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let paused_count = b.rtc.received_count(cv.ssrc);
        let last_before = b.rtc.received(cv.ssrc).last().cloned().unwrap();
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(
            b.rtc.received_count(cv.ssrc),
            paused_count,
            "packets arrived while the consumer was paused"
        );
        let sent_during_pause = a.rtc.pump_stats().video_packets.load(std::sync::atomic::Ordering::SeqCst);

        b.resume(&cv.id).await;
        let all = b
            .rtc
            .wait_packets(cv.ssrc, paused_count + 15, Duration::from_secs(6))
            .await;
        let after = &all[paused_count..];
        let first = &after[0];
        eprintln!(
            "pause_resume: last before pause seq {} (frame {:?}); first after resume seq {} (frame {:?}, key {}); \
             A sent {} video packets by resume; key-frame requests before pause {}, now {}",
            last_before.seq,
            vp8_frame_number(&last_before.payload),
            first.seq,
            vp8_frame_number(&first.payload),
            vp8_is_keyframe(&first.payload),
            sent_during_pause,
            requests_before,
            a.rtc.keyframe_requests()
        );
        assert!(
            vp8_is_keyframe(&first.payload),
            "the first packet after resume must be a key frame (frame {:?})",
            vp8_frame_number(&first.payload)
        );
        assert_eq!(
            first.seq,
            last_before.seq.wrapping_add(1),
            "the consumer's sequence numbers must continue across the pause without a gap"
        );
        assert!(
            first.timestamp.wrapping_sub(last_before.timestamp) < 0x8000_0000,
            "timestamps keep increasing across the pause"
        );
        assert_contiguous("consumer video across pause", &all);
        assert!(
            a.rtc.keyframe_requests() > requests_before,
            "resumeConsumer should ask the producer for a key frame"
        );
        drop(a);
        drop(b);
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_leave_cleans_up() {
    bounded(async {
        let server = start_server(256 * 1024).await;
        let url = server.signaling_url();
        let room = "room-leave";

        let a = Publisher::start(&url, room, "alice", true, true, 30).await;
        let b = Subscriber::start(&url, room, "bob").await;
        let cv = b.consume(a.video_producer.as_deref().unwrap()).await;
        let ca = b.consume(a.audio_producer.as_deref().unwrap()).await;
        b.resume(&cv.id).await;
        b.resume(&ca.id).await;
        b.rtc
            .wait_packets(cv.ssrc, 10, Duration::from_secs(6))
            .await;
        b.rtc
            .wait_packets(ca.ssrc, 10, Duration::from_secs(6))
            .await;

        let status = server.status().await.unwrap();
        assert_eq!(
            (
                status.rooms,
                status.peers,
                status.transports,
                status.producers,
                status.consumers
            ),
            (1, 2, 2, 2, 2),
            "{status:?}"
        );

        // A's browser tab goes away: its WebSocket closes (its media keeps coming from the old socket).
        let a_peer = a.peer_id.clone();
        let Publisher {
            sig: a_sig,
            rtc: a_rtc,
            video_producer,
            audio_producer,
            ..
        } = a;
        a_sig.close().await;

        let wait = Duration::from_secs(5);
        for producer in [video_producer.unwrap(), audio_producer.unwrap()] {
            let d = b
                .sig
                .wait_notification("producerClosed", wait, |d| {
                    d["producerId"] == producer.as_str()
                })
                .await;
            assert_eq!(d["peerId"], a_peer.as_str(), "producerClosed: {d}");
        }
        for c in [&cv, &ca] {
            let d = b
                .sig
                .wait_notification("consumerClosed", wait, |d| d["consumerId"] == c.id.as_str())
                .await;
            assert_eq!(
                d["producerId"],
                c.producer_id.as_str(),
                "consumerClosed: {d}"
            );
        }
        b.sig
            .wait_notification("peerLeft", wait, |d| d["peerId"] == a_peer.as_str())
            .await;

        let status = wait_status(&server, Duration::from_secs(5), |s| {
            s.transports == 1 && s.producers == 0 && s.consumers == 0
        })
        .await;
        assert_eq!((status.rooms, status.peers), (1, 1), "{status:?}");

        // B's media stopped.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let n = b.rtc.received_count(cv.ssrc);
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            b.rtc.received_count(cv.ssrc),
            n,
            "video still arrives after its producer closed"
        );

        // The consumer is gone for B too.
        let e = b
            .sig
            .request_err("resumeConsumer", json!({"consumerId": cv.id}))
            .await;
        assert_eq!(e.code, "not_found", "{e:?}");

        // B leaves explicitly: the room closes and nothing is left.
        b.sig.request("leave", json!({}), "left").await;
        let status = wait_status(&server, Duration::from_secs(5), |s| {
            *s == ferrosoup_server::Status::default()
        })
        .await;
        assert_eq!(status, ferrosoup_server::Status::default());
        drop(a_rtc);
        drop(b);
        server.stop().await;
    })
    .await;
}
