//! The signaling abuse suite: floods, oversized and deeply nested messages, other peers' ids, full rooms and per-peer
//! limits, clients that stop reading or vanish, foreign web origins. Every case ends in a clear error or a clean
//! close, and a call between two other peers (str0m, media flowing) carries on through it.

mod common;
mod raw;

use std::time::Duration;

use common::call::Call;
use common::*;
use ferrosoup_server::{Keepalive, Limits, RateLimit, Server, ServerConfig};
use raw::RawOptions;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(5);

fn config(f: impl FnOnce(&mut ServerConfig)) -> ServerConfig {
    let mut c = server_config(16 * 1024);
    f(&mut c);
    c
}

async fn start(config: ServerConfig) -> Server {
    Server::start(config).await.expect("server starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_flood_is_rate_limited_then_closed() {
    bounded(async {
        let server = start(config(|c| {
            c.rate_limit = RateLimit {
                per_second: 20,
                burst: 30,
            }
        }))
        .await;
        let call = Call::start(&server.signaling_url(), "flood").await;
        let url = server.signaling_url();

        // A burst beyond the bucket: the first 30 are served, the rest refused with their ids, the connection stays.
        let mut m = raw::connect(&url, &RawOptions::default()).await.unwrap();
        for id in 0..50u64 {
            raw::send(&mut m, id, "getRouterRtpCapabilities", json!({})).await;
        }
        let mut served = 0;
        let mut refused = 0;
        for id in 0..50u64 {
            let v = raw::reply(&mut m, id)
                .await
                .expect("a reply to every request");
            match v["type"].as_str() {
                Some("routerRtpCapabilities") => served += 1,
                Some("error") => {
                    assert_eq!(v["error"]["code"], "rate_limited", "{v}");
                    refused += 1;
                }
                _ => panic!("{v}"),
            }
        }
        assert!(
            (30..=33).contains(&served),
            "served {served}, refused {refused}"
        );
        // Tokens come back at the configured rate.
        tokio::time::sleep(Duration::from_millis(300)).await;
        raw::call(
            &mut m,
            100,
            "getRouterRtpCapabilities",
            json!({}),
            "routerRtpCapabilities",
        )
        .await;
        call.continues("after a refused burst").await;

        // A client that ignores the errors and keeps flooding is closed with a policy-violation close.
        let flood = tokio::spawn(async move {
            for id in 1000..3000u64 {
                use futures_util::SinkExt;
                let text = json!({"id": id, "type": "getRouterRtpCapabilities"}).to_string();
                if m.send(tokio_tungstenite::tungstenite::Message::Text(text.into()))
                    .await
                    .is_err()
                {
                    return (m, true);
                }
            }
            (m, false)
        });
        let (mut m, _) = flood.await.unwrap();
        let code = raw::wait_closed(&mut m, WAIT).await;
        assert!(code.is_none() || code == Some(1008), "close code {code:?}");
        call.continues("after a flood was closed").await;
        let status = server.status().await.unwrap();
        assert_eq!((status.peers, status.transports), (2, 2), "{status:?}");
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_nested_and_odd_messages() {
    bounded(async {
        let limit = 16 * 1024;
        let server = start(config(|_| {})).await;
        let call = Call::start(&server.signaling_url(), "odd").await;
        let url = server.signaling_url();
        let m = SignalClient::connect(&url, "mallory").await;
        m.request(
            "join",
            json!({"roomId": "odd", "peerId": "mallory"}),
            "joined",
        )
        .await;

        // Deeply nested JSON, bare and inside a request: serde_json's recursion limit (128) makes it a bad request.
        let depth = 2000;
        m.send_text(format!("{}{}", "[".repeat(depth), "]".repeat(depth)));
        assert_eq!(m.wait_idless_error(WAIT).await.code, "bad_request");
        let nested = format!("{}0{}", "{\"a\":".repeat(depth), "}".repeat(depth));
        m.send_text(format!(r#"{{"id":7,"type":"produce","appData":{nested}}}"#));
        assert_eq!(m.wait_idless_error(WAIT).await.code, "bad_request");
        // Within the limit but nested 130 deep in a field: the same.
        let e = m
            .request_err(
                "join",
                json!({"roomId": "x", "rtpCapabilities": serde_json::from_str::<Value>(
                    &format!("{}1{}", "[".repeat(120), "]".repeat(120))).unwrap()}),
            )
            .await;
        assert_eq!(e.code, "bad_request", "{e:?}");

        // Wrong field types, unknown methods, a binary frame.
        let e = m.request_err("join", json!({"roomId": 5})).await;
        assert_eq!(e.code, "bad_request");
        let e = m.request_err("selfDestruct", json!({})).await;
        assert_eq!(e.code, "unknown_method");
        m.send_binary(vec![0xff; 1000]);
        assert_eq!(m.wait_idless_error(WAIT).await.code, "bad_request");

        // appData is copied to everyone: it has a size limit.
        let transport = create_transport(&m, "send").await;
        let e = m
            .request_err(
                "produce",
                json!({"transportId": transport["id"], "kind": "video",
                       "rtpParameters": publisher_video_parameters(),
                       "appData": {"blob": "x".repeat(Limits::default().max_app_data_size)}}),
            )
            .await;
        assert_eq!(e.code, "bad_request", "{e:?}");
        assert!(e.message.contains("appData"), "{e:?}");

        // Just over the limit: `too_large`, connection kept.
        m.send_text(json!({"id": 9, "type": "leave", "pad": "x".repeat(limit)}).to_string());
        assert_eq!(m.wait_idless_error(WAIT).await.code, "too_large");
        m.request(
            "getRouterRtpCapabilities",
            json!({}),
            "routerRtpCapabilities",
        )
        .await;
        call.continues("after nested, odd and large messages").await;

        // Far over the limit (4x): the connection is closed, the peer leaves, nothing else is touched.
        m.send_text("x".repeat(4 * limit + 1));
        let left = call
            .b
            .sig
            .wait_notification("peerLeft", WAIT, |d| d["peerId"] == "mallory")
            .await;
        assert_eq!(left["peerId"], "mallory");
        let deadline = std::time::Instant::now() + WAIT;
        while !m.is_closed() {
            assert!(
                std::time::Instant::now() < deadline,
                "mallory's connection stays open"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        call.continues("after an oversized frame closed a connection")
            .await;
        let status = wait_status(&server, WAIT, |s| s.peers == 2).await;
        assert_eq!(
            (status.transports, status.producers, status.consumers),
            (2, 1, 1)
        );
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_peers_objects_are_not_found() {
    bounded(async {
        let server = start(config(|_| {})).await;
        let call = Call::start(&server.signaling_url(), "own").await;
        let url = server.signaling_url();
        let m = Subscriber::start_unconnected(&url, "own", "mallory", false).await;
        let (a, b) = (&call.a, &call.b);

        let attempts = [
            ("connectWebRtcTransport", json!({"transportId": b.transport_id, "dtlsParameters": m.rtc.dtls_parameters()})),
            ("produce", json!({"transportId": a.transport_id, "kind": "video", "rtpParameters": publisher_video_parameters()})),
            ("consume", json!({"transportId": b.transport_id, "producerId": a.video_producer, "rtpCapabilities": m.caps})),
            ("pauseConsumer", json!({"consumerId": call.cv.id})),
            ("resumeConsumer", json!({"consumerId": call.cv.id})),
            ("closeConsumer", json!({"consumerId": call.cv.id})),
            ("pauseProducer", json!({"producerId": a.video_producer})),
            ("resumeProducer", json!({"producerId": a.video_producer})),
            ("closeProducer", json!({"producerId": a.video_producer})),
        ];
        for (method, params) in attempts {
            let e = m.sig.request_err(method, params.clone()).await;
            assert_eq!(e.code, "not_found", "{method} {params} → {e:?}");
        }
        // Acting on others' producers is moderation: without auth nobody may.
        for method in ["muteProducer", "closePeerProducer"] {
            let e = m.sig.request_err(method, json!({"producerId": a.video_producer})).await;
            assert_eq!(e.code, "forbidden", "{method} → {e:?}");
        }
        // Consuming another peer's producer on one's own transport is what consume is for.
        let own = m.consume(a.video_producer.as_deref().unwrap()).await;
        assert_eq!(own.producer_id, a.video_producer.clone().unwrap());

        call.continues("after another peer tried its objects").await;
        let status = server.status().await.unwrap();
        assert_eq!((status.peers, status.transports, status.producers, status.consumers), (3, 3, 1, 2));
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_and_per_peer_limits() {
    bounded(async {
        let server = start(config(|c| {
            c.limits = Limits {
                max_rooms: 2,
                max_peers_per_room: 3,
                max_transports_per_peer: 2,
                max_producers_per_peer: 1,
                max_consumers_per_peer: 1,
                ..Limits::default()
            }
        }))
        .await;
        let call = Call::start(&server.signaling_url(), "limits").await;
        let url = server.signaling_url();

        // The room holds A, B and one more.
        let m = Subscriber::start_unconnected(&url, "limits", "mallory", false).await;
        let n = SignalClient::connect(&url, "nina").await;
        let e = n.request_err("join", json!({"roomId": "limits"})).await;
        assert_eq!(e.code, "limit", "{e:?}");
        // A second room is fine (a join creates a room), a third is one too many.
        n.request("join", json!({"roomId": "second"}), "joined")
            .await;
        let o = SignalClient::connect(&url, "oscar").await;
        let e = o.request_err("join", json!({"roomId": "third"})).await;
        assert_eq!(e.code, "limit", "{e:?}");
        let e = o
            .request_err("createWebRtcTransport", json!({"roomId": "third"}))
            .await;
        assert_eq!(e.code, "limit", "{e:?}");
        // A full room frees a place when somebody leaves.
        n.request("leave", json!({}), "left").await;
        o.request("join", json!({"roomId": "third"}), "joined")
            .await;

        // Mallory has one transport (recv); one more is allowed, then `limit`.
        let send = create_transport(&m.sig, "send").await;
        let e = m
            .sig
            .request_err("createWebRtcTransport", json!({"direction": "send"}))
            .await;
        assert_eq!(e.code, "limit", "{e:?}");
        // One producer, then `limit`; closing it frees the place.
        let produce = json!({"transportId": send["id"], "kind": "video",
                             "rtpParameters": publisher_video_parameters()});
        let p = m.sig.request("produce", produce.clone(), "produced").await;
        let e = m.sig.request_err("produce", produce.clone()).await;
        assert_eq!(e.code, "limit", "{e:?}");
        m.sig
            .request(
                "closeProducer",
                json!({"producerId": p["id"]}),
                "producerClosed",
            )
            .await;
        m.sig.request("produce", produce.clone(), "produced").await;
        // One consumer, then `limit`.
        m.consume(call.a.video_producer.as_deref().unwrap()).await;
        let e = m
            .sig
            .request_err(
                "consume",
                json!({"transportId": m.transport_id, "producerId": call.a.video_producer,
                                           "rtpCapabilities": m.caps}),
            )
            .await;
        assert_eq!(e.code, "limit", "{e:?}");

        call.continues("after limits were hit").await;
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_dropped() {
    bounded(async {
        // No rate limit here: A must be able to make the server push notifications fast.
        let server = start(config(|c| {
            c.rate_limit.per_second = 0;
            c.limits.max_queued_messages = 256;
        }))
        .await;
        let call = Call::start(&server.signaling_url(), "slow").await;
        let url = server.signaling_url();

        // A tiny receive buffer, a join, and then it never reads again.
        let mut slow = raw::connect(
            &url,
            &RawOptions {
                recv_buffer: Some(4096),
                ..RawOptions::default()
            },
        )
        .await
        .unwrap();
        raw::call(
            &mut slow,
            1,
            "join",
            json!({"roomId": "slow", "peerId": "sloth"}),
            "joined",
        )
        .await;
        call.b
            .sig
            .wait_notification("peerJoined", WAIT, |d| d["peerId"] == "sloth")
            .await;

        // Every producer the pusher creates and closes is a notification of ~4 KiB (its appData) for the sloth. The
        // kernel buffers some; then the sloth's queue fills and the server drops it.
        let pusher = SignalClient::connect(&url, "pusher").await;
        pusher
            .request(
                "join",
                json!({"roomId": "slow", "peerId": "pusher"}),
                "joined",
            )
            .await;
        let send = create_transport(&pusher, "send").await;
        let blob = "x".repeat(Limits::default().max_app_data_size - 100);
        let mut pushed = 0u32;
        let left = loop {
            let mut rtp = publisher_audio_parameters();
            rtp["mid"] = json!(format!("m{pushed}"));
            rtp["encodings"][0]["ssrc"] = json!(0x5000_0000u32 + pushed);
            let p = pusher
                .request(
                    "produce",
                    json!({"transportId": send["id"], "kind": "audio", "rtpParameters": rtp,
                           "appData": {"source": "mic", "blob": blob}}),
                    "produced",
                )
                .await;
            pusher
                .request(
                    "closeProducer",
                    json!({"producerId": p["id"]}),
                    "producerClosed",
                )
                .await;
            pushed += 1;
            if pushed.is_multiple_of(16) && server.status().await.unwrap().peers == 3 {
                break true;
            }
            if pushed > 20_000 {
                break false;
            }
        };
        assert!(
            left,
            "the sloth was not dropped after {pushed} notifications"
        );
        eprintln!("sloth dropped after {pushed} produce/close cycles");
        let status = wait_status(&server, WAIT, |s| s.peers == 3).await;
        assert_eq!(status.transports, 3);
        call.b
            .sig
            .wait_notification("peerLeft", WAIT, |d| d["peerId"] == "sloth")
            .await;
        // Its socket is closed too (after the buffered messages, if it ever reads again).
        raw::wait_closed(&mut slow, WAIT).await;
        call.continues("after a client that stopped reading was dropped")
            .await;
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalive_drops_a_vanished_client_and_keeps_live_ones() {
    bounded(async {
        let server = start(config(|c| {
            c.keepalive = Keepalive {
                interval: Duration::from_millis(200),
                timeout: Duration::from_millis(1000),
            }
        }))
        .await;
        let call = Call::start(&server.signaling_url(), "keepalive").await;
        let url = server.signaling_url();

        // A client that joins and then goes silent (never polled: no pongs) — a laptop gone from the network.
        let mut ghost = raw::connect(&url, &RawOptions::default()).await.unwrap();
        raw::call(
            &mut ghost,
            1,
            "join",
            json!({"roomId": "keepalive", "peerId": "ghost"}),
            "joined",
        )
        .await;
        let t0 = std::time::Instant::now();
        call.b
            .sig
            .wait_notification("peerLeft", Duration::from_secs(5), |d| {
                d["peerId"] == "ghost"
            })
            .await;
        let after = t0.elapsed();
        assert!(
            after >= Duration::from_millis(800),
            "dropped too early: {after:?}"
        );
        // The others answered pings while idle for longer than the timeout and are still there.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let status = server.status().await.unwrap();
        assert_eq!(status.peers, 2, "{status:?}");
        call.continues("after a silent client timed out").await;
        drop(ghost);
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_origin_allow_list() {
    bounded(async {
        let server = start(config(|_| {})).await;
        let call = Call::start(&server.signaling_url(), "origin").await;
        let url = server.signaling_url();
        let own = server.url();
        let with = |origin: &str| RawOptions {
            origin: Some(origin.to_string()),
            ..RawOptions::default()
        };
        let refused = |r: Result<raw::Ws, tokio_tungstenite::tungstenite::Error>| match r {
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16() == 403,
            _ => false,
        };
        assert!(refused(
            raw::connect(&url, &with("http://evil.example")).await
        ));
        assert!(refused(
            raw::connect(&url.replace("/ws", "/"), &with("http://evil.example")).await
        ));
        assert!(refused(raw::connect(&url, &with("null")).await));
        for ok in [own.as_str(), "tauri://localhost", "http://tauri.localhost"] {
            let mut ws = raw::connect(&url, &with(ok))
                .await
                .unwrap_or_else(|e| panic!("{ok}: {e}"));
            raw::call(
                &mut ws,
                1,
                "getRouterRtpCapabilities",
                json!({}),
                "routerRtpCapabilities",
            )
            .await;
        }
        let mut ws = raw::connect(&url, &RawOptions::default())
            .await
            .expect("no Origin: not a browser");
        raw::call(
            &mut ws,
            1,
            "getRouterRtpCapabilities",
            json!({}),
            "routerRtpCapabilities",
        )
        .await;
        call.continues("after refused upgrades").await;
        server.stop().await;

        let server = start(config(|c| {
            c.allowed_origins = vec!["https://school.example".into()]
        }))
        .await;
        let url = server.signaling_url();
        assert!(raw::connect(&url, &with("https://school.example"))
            .await
            .is_ok());
        assert!(refused(
            raw::connect(&url, &with("tauri://localhost")).await
        ));
        server.stop().await;

        let server = start(config(|c| c.allowed_origins = vec!["*".into()])).await;
        assert!(
            raw::connect(&server.signaling_url(), &with("http://anything.example"))
                .await
                .is_ok()
        );
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_count_is_limited() {
    bounded(async {
        let server = start(config(|c| c.limits.max_connections = 4)).await;
        let call = Call::start(&server.signaling_url(), "crowd").await;
        let url = server.signaling_url();
        let mut idle = Vec::new();
        for _ in 0..2 {
            idle.push(
                raw::connect(&url, &RawOptions::default())
                    .await
                    .expect("within the limit"),
            );
        }
        match raw::connect(&url, &RawOptions::default()).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
                assert_eq!(resp.status().as_u16(), 503)
            }
            other => panic!("a fifth connection: {:?}", other.map(|_| ())),
        }
        call.continues("with the connection limit reached").await;
        // A closed connection frees its place.
        drop(idle.pop());
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            match raw::connect(&url, &RawOptions::default()).await {
                Ok(_) => break,
                Err(_) if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await
                }
                Err(e) => panic!("the freed place was not reused: {e}"),
            }
        }
        server.stop().await;
    })
    .await;
}
