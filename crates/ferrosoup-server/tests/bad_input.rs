//! Bad signaling input gets an `error` reply with the right code (and the request id when it could be read), never
//! closes the connection, and disturbs neither the next request nor the media already flowing.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const LIMIT: usize = 16 * 1024;
const WAIT: Duration = Duration::from_secs(5);

/// A valid request still works on this connection.
async fn still_serves(sig: &SignalClient) {
    let caps = sig
        .request(
            "getRouterRtpCapabilities",
            json!({}),
            "routerRtpCapabilities",
        )
        .await;
    assert!(caps["codecs"].is_array());
}

/// Sends `text` whose id the server can read, expects an `error` with `code` echoing `id`.
async fn expect_error_with_id(sig: &SignalClient, id: Value, text: String, code: &str) {
    let reply = sig.send_with_id(&id, text.clone()).await;
    let e = error_of(&reply).unwrap_or_else(|| panic!("{text} should fail, got {reply}"));
    assert_eq!(e.code, code, "{text} → {reply}");
    assert_eq!(e.id.as_ref(), Some(&id), "the error echoes the id: {reply}");
    assert!(!e.message.is_empty(), "the error says why: {reply}");
    still_serves(sig).await;
}

/// Sends `text` whose id the server cannot read, expects an id-less `error` with `code`.
async fn expect_idless_error(sig: &SignalClient, text: String, code: &str) {
    sig.send_text(text.clone());
    let e = sig.wait_idless_error(WAIT).await;
    assert_eq!(e.code, code, "{text} → {e:?}");
    still_serves(sig).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_keeps_connection() {
    bounded(async {
        let server = start_server(LIMIT).await;
        let url = server.signaling_url();
        let room = "room-bad";

        let a = Publisher::start(&url, room, "alice", true, false, 30).await;
        let b = Subscriber::start(&url, room, "bob").await;
        let cv = b.consume(a.video_producer.as_deref().unwrap()).await;
        b.resume(&cv.id).await;
        b.rtc.wait_packets(cv.ssrc, 10, Duration::from_secs(6)).await;
        let sig = &b.sig;

        // Not JSON / not an object: no id can be read.
        expect_idless_error(sig, r#"{"id": 5, "type": "join""#.into(), "bad_request").await;
        expect_idless_error(sig, "[1, 2, 3]".into(), "bad_request").await;
        expect_idless_error(sig, "\"just a string\"".into(), "bad_request").await;
        // An id of the wrong type cannot be echoed; the request must not run (B must not leave).
        expect_idless_error(sig, r#"{"id": {"x": 1}, "type": "leave"}"#.into(), "bad_request").await;

        // Unknown method, with a string id.
        expect_error_with_id(
            sig,
            json!("u-1"),
            r#"{"id": "u-1", "type": "teleport", "to": "mars"}"#.into(),
            "unknown_method",
        )
        .await;
        // type missing / not a string.
        expect_error_with_id(sig, json!(90), r#"{"id": 90, "roomId": "x"}"#.into(), "bad_request").await;
        expect_error_with_id(sig, json!(91), r#"{"id": 91, "type": 17}"#.into(), "bad_request").await;
        // Wrong field types and missing fields.
        expect_error_with_id(
            sig,
            json!(101),
            r#"{"id": 101, "type": "consume", "transportId": 42, "producerId": true}"#.into(),
            "bad_request",
        )
        .await;
        expect_error_with_id(sig, json!(102), r#"{"id": 102, "type": "pauseConsumer"}"#.into(), "bad_request").await;
        expect_error_with_id(
            sig,
            json!(103),
            json!({"id": 103, "type": "produce", "transportId": b.transport_id, "kind": "smell",
                   "rtpParameters": publisher_video_parameters()})
            .to_string(),
            "bad_request",
        )
        .await;
        expect_error_with_id(
            sig,
            json!(104),
            json!({"id": 104, "type": "createWebRtcTransport", "direction": "sideways"}).to_string(),
            "bad_request",
        )
        .await;
        // B already joined.
        expect_error_with_id(
            sig,
            json!(105),
            json!({"id": 105, "type": "join", "roomId": "elsewhere"}).to_string(),
            "already_joined",
        )
        .await;
        // Ids that name nothing, and ids of another peer's objects: not found either way.
        expect_error_with_id(
            sig,
            json!(106),
            json!({"id": 106, "type": "resumeConsumer", "consumerId": "no-such-consumer"}).to_string(),
            "not_found",
        )
        .await;
        expect_error_with_id(
            sig,
            json!(107),
            json!({"id": 107, "type": "connectWebRtcTransport", "transportId": a.transport_id,
                   "dtlsParameters": b.rtc.dtls_parameters()})
            .to_string(),
            "not_found",
        )
        .await;
        expect_error_with_id(
            sig,
            json!(108),
            json!({"id": 108, "type": "produce", "transportId": a.transport_id, "kind": "video",
                   "rtpParameters": publisher_video_parameters()})
            .to_string(),
            "not_found",
        )
        .await;
        expect_error_with_id(
            sig,
            json!(109),
            json!({"id": 109, "type": "closeProducer", "producerId": a.video_producer}).to_string(),
            "not_found",
        )
        .await;
        expect_error_with_id(
            sig,
            json!(110),
            json!({"id": 110, "type": "pauseProducer", "producerId": a.video_producer}).to_string(),
            "not_found",
        )
        .await;
        // produce on a recv transport.
        expect_error_with_id(
            sig,
            json!(111),
            json!({"id": 111, "type": "produce", "transportId": b.transport_id, "kind": "video",
                   "rtpParameters": publisher_video_parameters()})
            .to_string(),
            "invalid_state",
        )
        .await;

        // connect twice.
        expect_error_with_id(
            sig,
            json!(112),
            json!({"id": 112, "type": "connectWebRtcTransport", "transportId": b.transport_id,
                   "dtlsParameters": b.rtc.dtls_parameters()})
            .to_string(),
            "invalid_state",
        )
        .await;
        // Capabilities that cannot receive VP8.
        let opus_only = json!({"codecs": [router_codec(&b.router_caps, "audio/opus")], "headerExtensions": []});
        expect_error_with_id(
            sig,
            json!(113),
            json!({"id": 113, "type": "consume", "transportId": b.transport_id,
                   "producerId": a.video_producer, "rtpCapabilities": opus_only})
            .to_string(),
            "cannot_consume",
        )
        .await;

        // Too large: the server does not parse it, so the reply may lack the id; when it has one it is ours.
        let big = json!({"id": 120, "type": "getRouterRtpCapabilities", "pad": "x".repeat(LIMIT + 100)}).to_string();
        assert!(big.len() > LIMIT && big.len() < 4 * LIMIT);
        sig.send_text(big);
        let reply = sig
            .wait_unsolicited("too_large error", WAIT, |v| v["type"] == "error")
            .await;
        let e = error_of(&reply).unwrap();
        assert_eq!(e.code, "too_large", "{reply}");
        assert!(e.id.is_none() || e.id == Some(json!(120)), "{reply}");
        still_serves(sig).await;

        // Binary frames are refused.
        expect_idless_error(sig, String::new(), "bad_request").await; // an empty text frame is not JSON either
        sig.send_binary(br#"{"id": 130, "type": "getRouterRtpCapabilities"}"#.to_vec());
        let reply = sig
            .wait_unsolicited("binary-frame error", WAIT, |v| v["type"] == "error")
            .await;
        let e = error_of(&reply).unwrap();
        assert_eq!(e.code, "bad_request", "{reply}");
        still_serves(sig).await;

        // A connection that has not joined.
        let c = SignalClient::connect(&url, "carol").await;
        let e = c
            .request_err(
                "produce",
                json!({"transportId": a.transport_id, "kind": "video", "rtpParameters": publisher_video_parameters()}),
            )
            .await;
        assert_eq!(e.code, "not_joined", "{e:?}");
        let e = c.request_err("pauseConsumer", json!({"consumerId": cv.id})).await;
        assert_eq!(e.code, "not_joined", "{e:?}");
        still_serves(&c).await;
        c.close().await;

        // Through all that: B is still connected and in the room, A's producer alive, B's media still flowing.
        assert!(!b.sig.is_closed(), "B's connection was closed");
        assert!(!a.sig.is_closed(), "A's connection was closed");
        let status = server.status().await.unwrap();
        assert_eq!(
            (status.rooms, status.peers, status.transports, status.producers, status.consumers),
            (1, 2, 2, 1, 1),
            "{status:?}"
        );
        let n = b.rtc.received_count(cv.ssrc);
        let all = b.rtc.wait_packets(cv.ssrc, n + 15, Duration::from_secs(5)).await;
        assert_contiguous("consumer video during bad input", &all);
        // No stray notifications (e.g. producerClosed) reached B.
        let stray: Vec<Value> = b
            .sig
            .pending_unsolicited()
            .into_iter()
            // Score and layer reports are routine; anything else would be news.
            .filter(|v| {
                !matches!(
                    v["type"].as_str(),
                    Some("peerJoined" | "consumerScore" | "producerScore" | "consumerLayersChanged")
                )
            })
            .collect();
        assert!(stray.is_empty(), "unexpected id-less messages: {stray:?}");
        // And a normal request sequence still works end to end.
        b.pause(&cv.id).await;
        b.resume(&cv.id).await;

        drop(a);
        drop(b);
        server.stop().await;
    })
    .await;
}

/// Messages far larger than the connection's 16 KiB read buffer, but within the limit, are read whole and answered, and
/// the small ones after them too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_messages_within_the_limit_are_served() {
    bounded(async {
        let limit = 256 * 1024;
        let server = start_server(limit).await;
        let b = Subscriber::start(&server.signaling_url(), "room-large", "bob").await;
        for pad in [20 * 1024, 100 * 1024, limit - 1024, 10] {
            let caps = b
                .sig
                .request(
                    "getRouterRtpCapabilities",
                    json!({"pad": "x".repeat(pad)}),
                    "routerRtpCapabilities",
                )
                .await;
            assert!(caps["codecs"].is_array(), "pad {pad}");
        }
        still_serves(&b.sig).await;
    })
    .await;
}
