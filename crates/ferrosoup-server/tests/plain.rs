//! Plain transports through the real server: a UDP socket of the test stands in for ffmpeg, sending bare RTP (or SRTP
//! with keys exchanged through `srtpParameters`) into a room that a str0m WebRTC peer consumes, and receiving a WebRTC
//! publisher's stream. Everything stays on 127.0.0.1.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use common::*;
use ferrosoup::srtp::{SrtpContext, SrtpProfile, SRTCP_MAX_OVERHEAD, SRTP_MAX_OVERHEAD};
use serde_json::{json, Value};
use tokio::net::UdpSocket;

const FF_SSRC: u32 = 0x0F0F_1234;
const FF_PT: u8 = 101;
/// mediasoup's probation stream, which ferrosoup keeps.
const PROBATOR_SSRC: u32 = 1234;

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn profile_of(suite: &str) -> SrtpProfile {
    match suite {
        "AEAD_AES_128_GCM" => SrtpProfile::AeadAes128Gcm,
        "AEAD_AES_256_GCM" => SrtpProfile::AeadAes256Gcm,
        _ => SrtpProfile::Aes128CmHmacSha1_80,
    }
}

/// An SRTP context from `keyBase64`-style bytes (master key then salt).
fn context(profile: SrtpProfile, key: &[u8]) -> SrtpContext {
    let (k, s) = key.split_at(profile.key_len());
    SrtpContext::new(profile, k, s).expect("SRTP context")
}

/// The plain sender's side of SRTP: our key (sent in `connect`) and the server's (from `srtpParameters`).
struct Keys {
    ours: SrtpContext,
    theirs: SrtpContext,
    ours_b64: String,
    suite: String,
}

impl Keys {
    fn new(suite: &str, server_params: &Value) -> Keys {
        let profile = profile_of(suite);
        let key: Vec<u8> = (0..profile.key_len() + profile.salt_len())
            .map(|i| (i * 7 + 3) as u8)
            .collect();
        assert_eq!(server_params["cryptoSuite"], suite, "{server_params}");
        let server_key = b64()
            .decode(server_params["keyBase64"].as_str().expect("keyBase64"))
            .expect("server key is base64");
        Keys {
            ours: context(profile, &key),
            theirs: context(profile, &server_key),
            ours_b64: b64().encode(&key),
            suite: suite.to_string(),
        }
    }
}

fn vp8_rtp(seq: u16, frame: u32, key: bool) -> Vec<u8> {
    let mut p = vec![0x80, 0x80 | FF_PT];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(frame * 3000).to_be_bytes());
    p.extend_from_slice(&FF_SSRC.to_be_bytes());
    p.extend_from_slice(&vp8_payload(frame as u16 & 0x7fff, key, frame));
    p
}

/// An empty receiver report from the plain sender (enough for the server to learn an RTCP address).
fn empty_rr() -> Vec<u8> {
    let mut p = vec![0x80, 201, 0, 1];
    p.extend_from_slice(&FF_SSRC.to_be_bytes());
    p
}

fn protect(keys: &mut Option<Keys>, mut packet: Vec<u8>, rtcp: bool) -> Vec<u8> {
    let Some(k) = keys.as_mut() else {
        return packet;
    };
    let len = packet.len();
    packet.resize(len + SRTP_MAX_OVERHEAD.max(SRTCP_MAX_OVERHEAD), 0);
    let n = if rtcp {
        k.ours.protect_rtcp(&mut packet, len)
    } else {
        k.ours.protect_rtp(&mut packet, len)
    }
    .expect("protect");
    packet.truncate(n);
    packet
}

/// `produce` parameters as ffmpeg's `-f rtp` sends VP8: the payload type and SSRC it was told, no header extensions.
fn ff_video_parameters() -> Value {
    json!({
        "codecs": [{"mimeType": "video/VP8", "payloadType": FF_PT, "clockRate": 90000,
                    "rtcpFeedback": [{"type": "nack"}, {"type": "nack", "parameter": "pli"}]}],
        "encodings": [{"ssrc": FF_SSRC}],
        "rtcp": {"cname": "ffmpeg"}
    })
}

/// A server that allows plain transports (they are off by default).
async fn plain_server() -> ferrosoup_server::Server {
    ferrosoup_server::Server::start(ferrosoup_server::ServerConfig {
        plain_transports: true,
        ..server_config(256 * 1024)
    })
    .await
    .expect("the server starts on 127.0.0.1")
}

async fn join(url: &str, room: &str, name: &str) -> SignalClient {
    let sig = SignalClient::connect(url, name).await;
    sig.request("join", json!({"roomId": room, "peerId": name}), "joined")
        .await;
    sig
}

/// Whether the server sent an RTCP packet of type `pt` (e.g. 206 for PLI) to `socket` within `timeout`.
async fn wait_rtcp(socket: &UdpSocket, keys: &mut Option<Keys>, pt: u8, timeout: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut buf = vec![0u8; 2048];
    while let Ok(Ok((n, _))) = tokio::time::timeout_at(deadline, socket.recv_from(&mut buf)).await {
        let len = match keys.as_mut() {
            Some(k) => match k.theirs.unprotect_rtcp(&mut buf[..n]) {
                Ok(len) => len,
                Err(_) => continue,
            },
            None => n,
        };
        let mut rest = &buf[..len];
        while rest.len() >= 4 && rest[0] >> 6 == 2 {
            if rest[1] == pt {
                return true;
            }
            let words = u16::from_be_bytes([rest[2], rest[3]]) as usize + 1;
            rest = rest.get(words * 4..).unwrap_or(&[]);
        }
    }
    false
}

struct Case {
    comedia: bool,
    rtcp_mux: bool,
    srtp: Option<&'static str>,
}

/// A plain "ffmpeg" publishes VP8 into a room; a WebRTC subscriber receives it from a key frame on, and the server
/// asks the plain sender for a key frame over RTCP (on the RTCP port when not muxed).
async fn publish_case(case: Case) {
    let server = plain_server().await;
    let url = server.signaling_url();
    let ff = join(&url, "plain", "ffmpeg").await;
    let created = create_plain(
        &ff,
        json!({"direction": "send", "comedia": case.comedia, "rtcpMux": case.rtcp_mux,
                   "enableSrtp": case.srtp.is_some(),
                   "srtpCryptoSuite": case.srtp.unwrap_or("AES_CM_128_HMAC_SHA1_80")}),
    )
    .await;
    let transport_id = created["id"].as_str().expect("id").to_string();
    assert_eq!(created["tuple"]["localAddress"], "127.0.0.1", "{created}");
    assert_eq!(created["tuple"]["protocol"], "udp");
    assert_eq!(created["rtcpMux"], case.rtcp_mux);
    assert_eq!(created["comedia"], case.comedia);
    assert!(created["tuple"].get("remotePort").is_none(), "{created}");
    assert_eq!(
        created.get("rtcpTuple").is_some(),
        !case.rtcp_mux,
        "{created}"
    );
    let server_rtp: SocketAddr = format!(
        "127.0.0.1:{}",
        created["tuple"]["localPort"].as_u64().expect("localPort")
    )
    .parse()
    .unwrap();
    let server_rtcp: SocketAddr = match created["rtcpTuple"]["localPort"].as_u64() {
        Some(port) => format!("127.0.0.1:{port}").parse().unwrap(),
        None => server_rtp,
    };
    assert_ne!(
        server_rtp.port(),
        server.media_addresses()[0].port(),
        "a plain transport has its own port"
    );

    let rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let rtcp = if case.rtcp_mux {
        None
    } else {
        Some(UdpSocket::bind("127.0.0.1:0").await.unwrap())
    };
    let mut keys = case
        .srtp
        .map(|suite| Keys::new(suite, &created["srtpParameters"]));
    let mut connect = json!({"transportId": transport_id});
    if !case.comedia {
        connect["ip"] = json!("127.0.0.1");
        connect["port"] = json!(rtp.local_addr().unwrap().port());
        if let Some(rtcp) = &rtcp {
            connect["rtcpPort"] = json!(rtcp.local_addr().unwrap().port());
        }
    }
    if let Some(k) = &keys {
        connect["srtpParameters"] = json!({"cryptoSuite": k.suite, "keyBase64": k.ours_b64});
    }
    if !case.comedia || keys.is_some() {
        let connected = ff
            .request("connectPlainTransport", connect, "plainTransportConnected")
            .await;
        if !case.comedia {
            assert_eq!(
                connected["tuple"]["remotePort"],
                rtp.local_addr().unwrap().port(),
                "{connected}"
            );
        }
    }
    let produced = ff
        .request(
            "produce",
            json!({"transportId": transport_id, "kind": "video", "rtpParameters": ff_video_parameters()}),
            "produced",
        )
        .await;
    let producer_id = produced["id"].as_str().unwrap().to_string();

    let b = Subscriber::start(&url, "plain", "viewer").await;
    let consumed = b.consume(&producer_id).await;
    b.resume(&consumed.id).await;

    // The "ffmpeg" sender: 100 frames a second, a key frame every 25.
    let stop = Arc::new(AtomicBool::new(false));
    let sender = {
        let stop = stop.clone();
        let rtp = Arc::new(rtp);
        let send_socket = rtp.clone();
        let mut send_keys = case
            .srtp
            .map(|suite| Keys::new(suite, &created["srtpParameters"]));
        let task = tokio::spawn(async move {
            let mut frame = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let packet = protect(
                    &mut send_keys,
                    vp8_rtp(frame as u16, frame, frame.is_multiple_of(25)),
                    false,
                );
                let _ = send_socket.send_to(&packet, server_rtp).await;
                frame += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
        (task, rtp)
    };
    if let Some(rtcp) = &rtcp {
        if case.comedia {
            // With comedia and no mux, the server learns where RTCP goes from the first RTCP it gets.
            rtcp.send_to(&protect(&mut keys, empty_rr(), true), server_rtcp)
                .await
                .unwrap();
        }
    }

    let packets = b
        .rtc
        .wait_packets(consumed.ssrc, 40, Duration::from_secs(8))
        .await;
    assert!(
        packets.len() >= 40,
        "the WebRTC consumer received {} packets of the plain producer",
        packets.len()
    );
    assert!(
        vp8_is_keyframe(&packets[0].payload),
        "starts at a key frame"
    );
    assert!(packets
        .iter()
        .all(|p| p.ssrc == consumed.ssrc && p.pt == consumed.pt));
    assert_contiguous("plain producer → WebRTC consumer", &packets);
    if case.comedia {
        // mediasoup's `tuple` (and `rtcptuple`) events: the owner hears where the media comes from once learnt.
        let rtp_port = sender.1.local_addr().unwrap().port();
        let learnt = ff
            .wait_notification("plainTransportTuple", Duration::from_secs(3), |d| {
                d["transportId"] == transport_id.as_str() && d["tuple"]["remotePort"] == rtp_port
            })
            .await;
        assert_eq!(learnt["tuple"]["remoteIp"], "127.0.0.1", "{learnt}");
        if let Some(rtcp) = &rtcp {
            let rtcp_port = rtcp.local_addr().unwrap().port();
            ff.wait_notification("plainTransportTuple", Duration::from_secs(3), |d| {
                d["rtcpTuple"]["remotePort"] == rtcp_port
            })
            .await;
        }
    }

    // Key frame requests reach the plain sender on its RTCP address: ask for one and look for a PLI.
    b.sig
        .request(
            "requestConsumerKeyFrame",
            json!({"consumerId": consumed.id}),
            "consumerKeyFrameRequested",
        )
        .await;
    let rtcp_socket: &UdpSocket = rtcp.as_ref().unwrap_or(&sender.1);
    let mut rtcp_keys = case
        .srtp
        .map(|suite| Keys::new(suite, &created["srtpParameters"]));
    assert!(
        wait_rtcp(rtcp_socket, &mut rtcp_keys, 206, Duration::from_secs(3)).await,
        "a PLI reaches the plain sender's RTCP address"
    );

    let stats = transport_stats(&ff, &transport_id).await;
    assert_eq!(stats[0]["type"], "plain-rtp-transport", "{stats}");
    assert!(
        stats[0]["bytesReceived"].as_u64().unwrap_or(0) > 0,
        "{stats}"
    );
    // mediasoup's PlainTransportStat: the tuples (the remote one known, by connect or comedia), no ICE or DTLS.
    assert_eq!(stats[0]["rtcpMux"], case.rtcp_mux, "{stats}");
    assert_eq!(stats[0]["comedia"], case.comedia, "{stats}");
    assert_eq!(
        stats[0]["tuple"]["localPort"], created["tuple"]["localPort"],
        "{stats}"
    );
    assert!(
        stats[0]["tuple"]["remotePort"].as_u64().is_some(),
        "{stats}"
    );
    assert_eq!(stats[0]["rtcpTuple"].is_object(), !case.rtcp_mux, "{stats}");
    assert!(
        stats[0].get("iceState").is_none() && stats[0].get("dtlsState").is_none(),
        "{stats}"
    );
    assert_eq!(
        server.worker_dump().await.unwrap().dropped.unknown_sender,
        0
    );

    stop.store(true, Ordering::Relaxed);
    let _ = sender.0.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connected_plain_rtp_reaches_webrtc_consumer() {
    bounded(publish_case(Case {
        comedia: false,
        rtcp_mux: true,
        srtp: None,
    }))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comedia_plain_rtp_reaches_webrtc_consumer() {
    bounded(publish_case(Case {
        comedia: true,
        rtcp_mux: true,
        srtp: None,
    }))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_rtp_without_rtcp_mux_uses_the_rtcp_port() {
    bounded(publish_case(Case {
        comedia: false,
        rtcp_mux: false,
        srtp: None,
    }))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comedia_without_rtcp_mux_learns_both_tuples() {
    bounded(publish_case(Case {
        comedia: true,
        rtcp_mux: false,
        srtp: None,
    }))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_srtp_aes_cm_reaches_webrtc_consumer() {
    bounded(publish_case(Case {
        comedia: false,
        rtcp_mux: true,
        srtp: Some("AES_CM_128_HMAC_SHA1_80"),
    }))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_srtp_gcm_with_comedia_reaches_webrtc_consumer() {
    bounded(publish_case(Case {
        comedia: true,
        rtcp_mux: true,
        srtp: Some("AEAD_AES_256_GCM"),
    }))
    .await;
}

/// A WebRTC publisher's video reaches a plain consumer: RTP with the consumer's SSRC and payload type arrives at the
/// connected UDP address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_consumer_sends_rtp_to_a_udp_socket() {
    bounded(async {
        let server = plain_server().await;
        let url = server.signaling_url();
        let a = Publisher::start(&url, "out", "alice", true, false, 30).await;
        let ff = join(&url, "out", "recorder").await;
        let router_caps = ff
            .request(
                "getRouterRtpCapabilities",
                json!({}),
                "routerRtpCapabilities",
            )
            .await;
        let created = create_plain(&ff, json!({"direction": "recv"})).await;
        let transport_id = created["id"].as_str().unwrap().to_string();
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        ff.request(
            "connectPlainTransport",
            json!({"transportId": transport_id, "ip": "127.0.0.1",
                   "port": socket.local_addr().unwrap().port()}),
            "plainTransportConnected",
        )
        .await;
        let consumed = ff
            .request(
                "consume",
                json!({"transportId": transport_id, "producerId": a.video_producer.clone().unwrap(),
                       "rtpCapabilities": receiver_capabilities(&router_caps)}),
                "consumed",
            )
            .await;
        let ssrc = consumed["rtpParameters"]["encodings"][0]["ssrc"]
            .as_u64()
            .unwrap() as u32;
        let pt = consumed["rtpParameters"]["codecs"][0]["payloadType"]
            .as_u64()
            .unwrap() as u8;
        ff.request(
            "resumeConsumer",
            json!({"consumerId": consumed["id"]}),
            "consumerResumed",
        )
        .await;
        let mut buf = vec![0u8; 2048];
        let mut rtp_packets = 0;
        let mut first_key = None;
        let server_port = created["tuple"]["localPort"].as_u64().unwrap() as u16;
        while rtp_packets < 30 {
            let (n, from) =
                tokio::time::timeout(Duration::from_secs(5), socket.recv_from(&mut buf))
                    .await
                    .expect("RTP reaches the plain consumer's address")
                    .unwrap();
            assert_eq!(
                from.port(),
                server_port,
                "sent from the transport's own port"
            );
            if (200..=206).contains(&buf[1]) {
                continue; // RTCP (sender reports)
            }
            // The receiver negotiated transport-cc, so the server may probe its bandwidth with padding on
            // mediasoup's probator stream.
            if u32::from_be_bytes(buf[8..12].try_into().unwrap()) == PROBATOR_SSRC {
                continue;
            }
            assert_eq!(u32::from_be_bytes(buf[8..12].try_into().unwrap()), ssrc);
            assert_eq!(buf[1] & 0x7f, pt);
            // In the clear: the VP8 descriptor follows the 12-byte header and a header-extension block, if any.
            let mut offset = 12;
            if buf[0] & 0x10 != 0 {
                let words = u16::from_be_bytes([buf[14], buf[15]]) as usize;
                offset += 4 + words * 4;
            }
            first_key.get_or_insert(vp8_is_keyframe(&buf[offset..n]));
            rtp_packets += 1;
        }
        assert_eq!(
            first_key,
            Some(true),
            "the plain consumer starts at a key frame"
        );
        // Closing the transport takes its consumer with it, handle and all.
        ff.request(
            "closeTransport",
            json!({"transportId": transport_id}),
            "transportClosed",
        )
        .await;
        let err = ff
            .request_err("closeConsumer", json!({"consumerId": consumed["id"]}))
            .await;
        assert_eq!(err.code, "not_found", "{err:?}");
    })
    .await;
}

/// Without comedia only the connected address may send; with comedia only the first sender. Everyone else is
/// dropped and counted, and nothing of theirs is forwarded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_are_dropped() {
    bounded(async {
        let server = plain_server().await;
        let url = server.signaling_url();
        let ff = join(&url, "strangers", "ffmpeg").await;
        for comedia in [false, true] {
            let created = create_plain(&ff, json!({"comedia": comedia})).await;
            let transport_id = created["id"].as_str().unwrap().to_string();
            let port = created["tuple"]["localPort"].as_u64().unwrap();
            let server_rtp: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
            let owner = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let stranger = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            if !comedia {
                ff.request(
                    "connectPlainTransport",
                    json!({"transportId": transport_id, "ip": "127.0.0.1",
                           "port": owner.local_addr().unwrap().port()}),
                    "plainTransportConnected",
                )
                .await;
            }
            let ssrc_params = ff_video_parameters();
            ff.request(
                "produce",
                json!({"transportId": transport_id, "kind": "video", "rtpParameters": ssrc_params}),
                "produced",
            )
            .await;
            let before = server.worker_dump().await.unwrap().dropped;
            // The owner speaks first (with comedia that pins its address), then the stranger.
            owner
                .send_to(&vp8_rtp(0, 0, true), server_rtp)
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
            for seq in 1..=5u16 {
                stranger
                    .send_to(&vp8_rtp(seq, seq as u32, true), server_rtp)
                    .await
                    .unwrap();
                stranger.send_to(&empty_rr(), server_rtp).await.unwrap();
            }
            // STUN and DTLS have no business on a plain port either.
            stranger
                .send_to(
                    &[0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                    server_rtp,
                )
                .await
                .unwrap();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
            let after = loop {
                let now = server.worker_dump().await.unwrap().dropped;
                // The DTLS record went last: wait for it too, or a read that stopped after the RTP/RTCP leaves it
                // uncounted.
                let all_seen = now.unknown_sender >= before.unknown_sender + 10
                    && now.unclassified > before.unclassified;
                if all_seen || tokio::time::Instant::now() > deadline {
                    break now;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            };
            assert_eq!(
                after.unknown_sender - before.unknown_sender,
                10,
                "comedia={comedia}: every stranger RTP/RTCP packet is counted"
            );
            assert_eq!(
                after.unclassified - before.unclassified,
                1,
                "the DTLS record"
            );
            let stats = transport_stats(&ff, &transport_id).await;
            let owner_port = owner.local_addr().unwrap().port();
            assert_eq!(
                stats[0]["tuple"]["remotePort"], owner_port,
                "comedia={comedia}: the tuple stays the owner's: {stats}"
            );
            ff.request(
                "closeTransport",
                json!({"transportId": transport_id}),
                "transportClosed",
            )
            .await;
        }
    })
    .await;
}

async fn port_free(port: u16) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    loop {
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Closing a plain transport (by `closeTransport`, or by leaving) releases its ports, and other plain transports keep
/// working while sockets are renumbered around them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ports_are_released_after_close() {
    bounded(async {
        let server = plain_server().await;
        let url = server.signaling_url();
        let ff = join(&url, "ports", "ffmpeg").await;
        let mut transports = Vec::new();
        for _ in 0..3 {
            let created = create_plain(&ff, json!({"rtcpMux": false, "comedia": true})).await;
            transports.push(created);
        }
        let ports = |t: &Value| {
            [
                t["tuple"]["localPort"].as_u64().unwrap() as u16,
                t["rtcpTuple"]["localPort"].as_u64().unwrap() as u16,
            ]
        };
        // Close the first: its sockets are dropped and their slots freed; the others keep theirs.
        ff.request(
            "closeTransport",
            json!({"transportId": transports[0]["id"]}),
            "transportClosed",
        )
        .await;
        for port in ports(&transports[0]) {
            assert!(
                port_free(port).await,
                "port {port} is released after closeTransport"
            );
        }
        for t in &transports[1..] {
            for port in ports(t) {
                assert!(
                    std::net::UdpSocket::bind(("127.0.0.1", port)).is_err(),
                    "port {port} of an open transport is still bound"
                );
            }
        }
        // A new transport takes the freed slots. The one created after the closed one and the new one both receive:
        // with comedia the first packet sets the tuple.
        let reused = create_plain(&ff, json!({"rtcpMux": false, "comedia": true})).await;
        transports.push(reused);
        for t in [&transports[2], &transports[3]] {
            let id = t["id"].as_str().unwrap();
            ff.request(
                "produce",
                json!({"transportId": id, "kind": "video", "rtpParameters": ff_video_parameters()}),
                "produced",
            )
            .await;
            let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let target: SocketAddr = format!("127.0.0.1:{}", ports(t)[0]).parse().unwrap();
            sender.send_to(&vp8_rtp(0, 0, true), target).await.unwrap();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
            loop {
                let stats = transport_stats(&ff, id).await;
                if stats[0]["bytesReceived"].as_u64().unwrap_or(0) > 0 {
                    assert_eq!(stats[0]["tuple"]["localPort"], ports(t)[0], "{stats}");
                    assert_eq!(
                        stats[0]["tuple"]["remotePort"],
                        sender.local_addr().unwrap().port(),
                        "{stats}"
                    );
                    break;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "transport {id} receives: {stats}"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }

        // Leaving closes the rest.
        ff.request("leave", json!({}), "left").await;
        for t in &transports[1..] {
            for port in ports(t) {
                assert!(port_free(port).await, "port {port} is released after leave");
            }
        }
        wait_status(&server, Duration::from_secs(3), |s| s.transports == 0).await;
    })
    .await;
}

/// `getTransportStats` of transport `id`.
async fn transport_stats(ff: &SignalClient, id: &str) -> Value {
    ff.request(
        "getTransportStats",
        json!({"transportId": id}),
        "transportStats",
    )
    .await
}

/// `createPlainTransport` with `params`; returns the `plainTransportCreated` data.
async fn create_plain(ff: &SignalClient, params: Value) -> Value {
    ff.request("createPlainTransport", params, "plainTransportCreated")
        .await
}

/// mediasoup's rules for `connect`, and the transport limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_rules_and_limits() {
    bounded(async {
        let server = plain_server().await;
        let url = server.signaling_url();
        let ff = join(&url, "rules", "ffmpeg").await;
        let plain = create_plain(&ff, json!({})).await;
        let id = plain["id"].as_str().unwrap();
        let err = ff.request_err("connectPlainTransport", json!({"transportId": id})).await;
        assert_eq!(err.code, "bad_request", "missing ip: {err:?}");
        for ip in ["0.0.0.0", "224.0.0.1", "255.255.255.255"] {
            let err = ff
                .request_err(
                    "connectPlainTransport",
                    json!({"transportId": id, "ip": ip, "port": 5000}),
                )
                .await;
            assert_eq!(err.code, "bad_request", "{ip} is no one host: {err:?}");
        }
        let err = ff
            .request_err(
                "connectPlainTransport",
                json!({"transportId": id, "ip": "127.0.0.1", "port": 5000, "rtcpPort": 5001}),
            )
            .await;
        assert_eq!(err.code, "bad_request", "rtcpPort with rtcpMux: {err:?}");
        let err = ff
            .request_err(
                "connectPlainTransport",
                json!({"transportId": id, "ip": "127.0.0.1", "port": 5000,
                       "srtpParameters": {"cryptoSuite": "AES_CM_128_HMAC_SHA1_80", "keyBase64": "AAAA"}}),
            )
            .await;
        assert_eq!(err.code, "bad_request", "SRTP not enabled: {err:?}");
        ff.request(
            "connectPlainTransport",
            json!({"transportId": id, "ip": "127.0.0.1", "port": 5000}),
            "plainTransportConnected",
        )
        .await;
        let err = ff
            .request_err(
                "connectPlainTransport",
                json!({"transportId": id, "ip": "127.0.0.1", "port": 5000}),
            )
            .await;
        assert_eq!(err.code, "invalid_state", "connect twice: {err:?}");

        let srtp = create_plain(&ff, json!({"enableSrtp": true, "srtpCryptoSuite": "AEAD_AES_128_GCM"})).await;
        let key = b64()
            .decode(srtp["srtpParameters"]["keyBase64"].as_str().unwrap())
            .unwrap();
        assert_eq!(key.len(), 28, "AES-128-GCM: 16-byte key and 12-byte salt");
        let srtp_id = srtp["id"].as_str().unwrap();
        let err = ff
            .request_err(
                "connectPlainTransport",
                json!({"transportId": srtp_id, "ip": "127.0.0.1", "port": 5000}),
            )
            .await;
        assert_eq!(err.code, "bad_request", "missing srtpParameters: {err:?}");
        let err = ff
            .request_err(
                "connectPlainTransport",
                json!({"transportId": srtp_id, "ip": "127.0.0.1", "port": 5000,
                       "srtpParameters": {"cryptoSuite": "AEAD_AES_128_GCM", "keyBase64": "AAAA"}}),
            )
            .await;
        assert_eq!(err.code, "bad_request", "short key: {err:?}");
        // The remote side picks another suite: the server's key is made anew for it (as mediasoup).
        let remote_key = b64().encode([9u8; 30]);
        let connected = ff
            .request(
                "connectPlainTransport",
                json!({"transportId": srtp_id, "ip": "127.0.0.1", "port": 5000,
                       "srtpParameters": {"cryptoSuite": "AES_CM_128_HMAC_SHA1_80", "keyBase64": remote_key}}),
                "plainTransportConnected",
            )
            .await;
        assert_eq!(connected["srtpParameters"]["cryptoSuite"], "AES_CM_128_HMAC_SHA1_80");
        assert_eq!(
            b64()
                .decode(connected["srtpParameters"]["keyBase64"].as_str().unwrap())
                .unwrap()
                .len(),
            30
        );
        let err = ff
            .request_err(
                "createPlainTransport",
                json!({"enableSrtp": true, "srtpCryptoSuite": "AES_CM_128_HMAC_SHA1_32"}),
            )
            .await;
        assert_eq!(err.code, "bad_request", "unsupported suite: {err:?}");

        // A WebRTC method on a plain transport, and the other way round.
        let err = ff
            .request_err(
                "connectWebRtcTransport",
                json!({"transportId": id, "dtlsParameters": {"role": "client", "fingerprints": []}}),
            )
            .await;
        assert_eq!(err.code, "invalid_state", "{err:?}");

        // Plain transports count against the per-peer transport limit (8).
        for _ in 2..8 {
            create_plain(&ff, json!({})).await;
        }
        let err = ff.request_err("createPlainTransport", json!({})).await;
        assert_eq!(err.code, "limit", "{err:?}");
        let err = ff.request_err("createWebRtcTransport", json!({})).await;
        assert_eq!(err.code, "limit", "{err:?}");
    })
    .await;
}

/// Plain transports send wherever their creator says, so the operator must allow them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_transports_are_off_by_default() {
    bounded(async {
        let server = start_server(256 * 1024).await;
        let ff = join(&server.signaling_url(), "off", "ffmpeg").await;
        let err = ff.request_err("createPlainTransport", json!({})).await;
        assert_eq!(err.code, "forbidden", "{err:?}");
        wait_status(&server, Duration::from_secs(3), |s| s.transports == 0).await;
    })
    .await;
}
