//! Transport-level behaviour through the real server: the DTLS role the client picks, a consumer resumed before its
//! transport connects, the ICE candidates a wildcard or announced listen address produces, and repeated join/leave
//! cycles leaving nothing behind.
//!
//! Not here: an SRTP_AES128_CM_SHA1_80 end-to-end test. str0m 0.25 always offers all three DTLS-SRTP profiles (its
//! DTLS is dimpl 0.9, whose ClientHello carries a fixed `use_srtp` list and whose server always prefers
//! AEAD_AES_256_GCM), and neither `RtcConfig` nor the crypto provider can restrict them; the server (dimpl too)
//! behaves the same, so every session here negotiates AEAD_AES_256_GCM.

mod common;

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::*;
use ferrosoup::ListenInfo;
use ferrosoup_server::{Server, Status};
use serde_json::{json, Value};

/// The cycle test counts this process's file descriptors, so it runs alone: it takes this lock for writing, every
/// other test of this file for reading.
use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

static EXCLUSIVE: RwLock<()> = RwLock::const_new(());

async fn shared_slot() -> RwLockReadGuard<'static, ()> {
    EXCLUSIVE.read().await
}

async fn exclusive_slot() -> RwLockWriteGuard<'static, ()> {
    EXCLUSIVE.write().await
}

/// The received packets of a video consumer: the consumer's SSRC and payload type, a key frame first, no sequence
/// gaps, A's frames consecutive.
fn check_video(what: &str, c: &Consumed, packets: &[RecvPacket]) {
    assert!(!packets.is_empty(), "{what}: no packets");
    for p in packets {
        assert_eq!(p.ssrc, c.ssrc, "{what}: packet on a foreign SSRC");
        assert_eq!(
            p.pt, c.pt,
            "{what}: video must carry the consumer's payload type"
        );
    }
    let first = &packets[0];
    assert!(
        vp8_is_keyframe(&first.payload),
        "{what}: the first video packet must be a key frame; got {:02x?} (frame {:?})",
        &first.payload[..first.payload.len().min(16)],
        vp8_frame_number(&first.payload)
    );
    assert_contiguous(what, packets);
    let mut frames: Vec<u32> = packets
        .iter()
        .map(|p| vp8_frame_number(&p.payload).expect("A's frame number in the payload"))
        .collect();
    frames.sort_unstable();
    assert!(
        frames.windows(2).all(|w| w[1] == w[0] + 1),
        "{what}: A's frames should arrive without loss: {frames:?}"
    );
}

fn check_audio(what: &str, c: &Consumed, packets: &[RecvPacket]) {
    assert!(!packets.is_empty(), "{what}: no packets");
    for p in packets {
        assert_eq!(p.ssrc, c.ssrc, "{what}: packet on a foreign SSRC");
        assert_eq!(
            p.pt, c.pt,
            "{what}: audio must carry the consumer's payload type"
        );
        assert_eq!(
            &p.payload[..3],
            &[0xfc, 0xff, 0xfe],
            "{what}: opus payload passes through"
        );
    }
    assert_contiguous(what, packets);
}

/// The peer says it is the DTLS server: the SFU must be the DTLS client (send the ClientHello, use the client half of
/// the SRTP keys). str0m is passive here, so nothing connects unless the server takes the client role.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dtls_client_role_when_peer_says_server() {
    let _slot = shared_slot().await;
    bounded(async {
        let server = start_server(256 * 1024).await;
        let url = server.signaling_url();
        let room = "room-dtls-role";

        // A publishes over a transport where A is the DTLS server.
        let started = Instant::now();
        let a = Publisher::start_with(
            &url,
            room,
            "alice",
            PublisherOptions {
                video: true,
                audio: true,
                keyframe_interval: 30,
                dtls_server: true,
                ..PublisherOptions::default()
            },
        )
        .await;
        let a_setup = started.elapsed();
        assert!(a.rtc.dtls_server);

        // B is an ordinary subscriber (B is the DTLS client).
        let b = Subscriber::start(&url, room, "bob").await;
        assert_eq!(b.rtc.dtls_parameters()["role"], "client");

        // C subscribes as the DTLS server too: the server's outbound SRTP then uses the client keys.
        let c = Subscriber::start_unconnected(&url, room, "carol", true).await;
        assert_eq!(c.rtc.dtls_parameters()["role"], "server");
        signal_connect(&c.sig, &c.rtc, &c.transport_info).await;
        let ice_start = Instant::now();
        c.rtc.start(&c.transport_info);
        c.rtc.wait_connected(CONNECT_TIMEOUT).await;
        let c_connect = ice_start.elapsed();

        let video_id = a.video_producer.clone().unwrap();
        let audio_id = a.audio_producer.clone().unwrap();
        let bv = b.consume(&video_id).await;
        let ba = b.consume(&audio_id).await;
        let cv = c.consume(&video_id).await;
        let ca = c.consume(&audio_id).await;
        for (peer, consumer) in [(&b, &bv), (&b, &ba), (&c, &cv), (&c, &ca)] {
            peer.resume(&consumer.id).await;
        }

        let b_video = b.rtc.wait_packets(bv.ssrc, 20, Duration::from_secs(6)).await;
        let b_audio = b.rtc.wait_packets(ba.ssrc, 20, Duration::from_secs(6)).await;
        let c_video = c.rtc.wait_packets(cv.ssrc, 20, Duration::from_secs(6)).await;
        let c_audio = c.rtc.wait_packets(ca.ssrc, 20, Duration::from_secs(6)).await;
        eprintln!(
            "dtls_role: A (DTLS server) set up in {a_setup:?}; C (DTLS server) connected {c_connect:?} after ICE start; \
             B got {}/{} video/audio, C got {}/{}; A saw {} key-frame requests",
            b_video.len(),
            b_audio.len(),
            c_video.len(),
            c_audio.len(),
            a.rtc.keyframe_requests()
        );
        check_video("B video from a DTLS-server publisher", &bv, &b_video);
        check_audio("B audio from a DTLS-server publisher", &ba, &b_audio);
        check_video("C video (C is DTLS server)", &cv, &c_video);
        check_audio("C audio (C is DTLS server)", &ca, &c_audio);
        // RTCP from the server reached A over the server-as-client SRTP context.
        assert!(
            a.rtc.keyframe_requests() >= 1,
            "A (DTLS server) should have received the key-frame request (SRTCP from the server)"
        );
        for (name, peer) in [("A", &a.rtc), ("B", &b.rtc), ("C", &c.rtc)] {
            let errors = peer.shared.errors.lock().unwrap().clone();
            assert!(errors.is_empty(), "{name}'s str0m reported errors: {errors:?}");
        }

        let status = server.status().await.unwrap();
        assert_eq!(
            (status.rooms, status.peers, status.transports, status.producers, status.consumers),
            (1, 3, 3, 2, 4),
            "{status:?}"
        );
        drop(a);
        drop(b);
        drop(c);
        server.stop().await;
    })
    .await;
}

/// B resumes its video consumer before its transport has ICE/DTLS: the key frame A sends for that resume cannot reach
/// B. Once B connects, the server must ask again and B's stream must start at a key frame. A sends key frames only
/// when asked (besides its very first frame).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_resumed_before_transport_connects_gets_key_frame() {
    let _slot = shared_slot().await;
    bounded(async {
        let server = start_server(256 * 1024).await;
        let url = server.signaling_url();
        let room = "room-early-resume";

        let a = Publisher::start_with(
            &url,
            room,
            "alice",
            PublisherOptions {
                video: true,
                audio: false,
                keyframe_interval: 0,
                keyframe_delay: Duration::from_millis(150),
                dtls_server: false,
            },
        )
        .await;
        let stats = a.rtc.pump_stats();

        let b = Subscriber::start_unconnected(&url, room, "bob", false).await;
        let cv = b.consume(a.video_producer.as_deref().unwrap()).await;
        let requests_before_resume = a.rtc.keyframe_requests();
        b.resume(&cv.id).await;

        // Long enough for the resume's key-frame request to be answered (150 ms) and for the per-stream throttle (1 s)
        // to have expired before B connects.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let requests_before_connect = a.rtc.keyframe_requests();
        let keyframes_before_connect = stats.video_keyframes.load(Ordering::SeqCst);
        assert!(
            requests_before_connect > requests_before_resume,
            "resumeConsumer should ask A for a key frame even though B is not connected yet"
        );
        assert_eq!(
            b.rtc.received_count(cv.ssrc),
            0,
            "nothing can arrive before B's transport connects"
        );

        let connect_at = Instant::now();
        b.connect_transport().await;
        let connected_after = connect_at.elapsed();
        let packets = b.rtc.wait_packets(cv.ssrc, 15, Duration::from_secs(5)).await;
        let first_after = packets[0].at.saturating_duration_since(connect_at);
        let requests_after = a.rtc.keyframe_requests();
        let keyframes_total = stats.video_keyframes.load(Ordering::SeqCst);
        eprintln!(
            "early_resume: key-frame requests to A: {requests_before_resume} before resume, {requests_before_connect} \
             1.5 s later (B not connected), {requests_after} now; A's key frames {keyframes_before_connect} before B \
             connected, {keyframes_total} now; B connected {connected_after:?} after start, first video packet \
             {first_after:?} after start (frame {:?})",
            vp8_frame_number(&packets[0].payload)
        );
        check_video("B video after a resume before connect", &cv, &packets);
        assert!(
            requests_after > requests_before_connect,
            "the server should ask A for a key frame again once B's transport connects"
        );
        assert!(
            first_after < Duration::from_secs(3),
            "B's video should start within a few seconds of connecting; took {first_after:?}"
        );
        // A's pump only answers requests (plus its first frame): the key frame B starts with was asked for.
        assert!(
            keyframes_total <= 1 + requests_after,
            "A sent {keyframes_total} key frames for {requests_after} requests"
        );
        drop(a);
        drop(b);
        server.stop().await;
    })
    .await;
}

/// IPv4 addresses the kernel routes as local (Linux `/proc/net/fib_trie`, "/32 host LOCAL" entries); None elsewhere.
fn kernel_local_ipv4() -> Option<HashSet<IpAddr>> {
    let text = std::fs::read_to_string("/proc/net/fib_trie").ok()?;
    let mut out = HashSet::new();
    let mut last: Option<IpAddr> = None;
    for line in text.lines() {
        let t = line
            .trim_start_matches(|c: char| c.is_whitespace() || c == '|' || c == '+' || c == '-');
        if let Ok(ip) = t.trim().parse::<Ipv4Addr>() {
            last = Some(IpAddr::V4(ip));
        } else if line.contains("/32 host LOCAL") {
            if let Some(ip) = last {
                out.insert(ip);
            }
        }
    }
    Some(out)
}

/// Whether `ip` is an address of this machine: a socket can be bound to it (nothing is sent).
fn bindable(ip: IpAddr) -> bool {
    std::net::UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

async fn transport_candidates(server: &Server, room: &str) -> Vec<Value> {
    let sig = SignalClient::connect(&server.signaling_url(), "cand").await;
    sig.request("join", json!({"roomId": room, "peerId": "cand"}), "joined")
        .await;
    let mut all = Vec::new();
    for direction in ["send", "recv"] {
        let info = create_transport(&sig, direction).await;
        let candidates = info["iceCandidates"]
            .as_array()
            .unwrap_or_else(|| panic!("iceCandidates: {info}"))
            .clone();
        assert!(!candidates.is_empty(), "no ICE candidate: {info}");
        all.extend(candidates);
    }
    sig.close().await;
    all
}

/// A wildcard listen address is expanded to the machine's interface addresses and never advertised; an announced
/// address replaces the bound one in the candidates. No media packet is sent anywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wildcard_listen_never_advertises_unspecified() {
    let _slot = shared_slot().await;
    bounded(async {
        // 0.0.0.0, port chosen by the OS.
        let mut config = server_config(256 * 1024);
        config.rtc_listen = vec![ListenInfo {
            ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            announced_address: None,
            port: 0,
        }];
        let server = Server::start(config)
            .await
            .expect("the server starts on 0.0.0.0");
        let bound = server.media_addresses().to_vec();
        assert!(!bound.is_empty());
        for a in &bound {
            assert!(
                !a.ip().is_unspecified(),
                "a media socket is bound to the wildcard: {bound:?}"
            );
        }
        let candidates = transport_candidates(&server, "room-wildcard").await;
        let kernel_local = kernel_local_ipv4();
        eprintln!(
            "wildcard: bound {bound:?}; candidates {:?}; kernel-local IPv4 {kernel_local:?}",
            candidates
                .iter()
                .map(|c| format!("{}:{}", c["address"], c["port"]))
                .collect::<Vec<_>>()
        );
        let mut ports = HashSet::new();
        let mut ips = HashSet::new();
        for c in &candidates {
            let address = c["address"]
                .as_str()
                .unwrap_or_else(|| panic!("address: {c}"));
            assert_eq!(
                c["ip"].as_str(),
                Some(address),
                "ip duplicates address: {c}"
            );
            let ip: IpAddr = address
                .parse()
                .unwrap_or_else(|e| panic!("candidate address {address:?} is not an IP: {e}"));
            assert!(!ip.is_unspecified(), "the wildcard was advertised: {c}");
            assert!(
                ip.is_ipv4(),
                "a 0.0.0.0 listen yields IPv4 candidates only: {c}"
            );
            assert!(bindable(ip), "{ip} is not an address of this machine: {c}");
            if let Some(local) = &kernel_local {
                assert!(
                    local.contains(&ip),
                    "{ip} is not a local address per /proc/net/fib_trie {local:?}"
                );
            }
            assert_eq!(c["protocol"], "udp", "{c}");
            assert_eq!(c["type"], "host", "{c}");
            let port = c["port"].as_u64().unwrap_or_else(|| panic!("port: {c}")) as u16;
            assert_ne!(port, 0, "{c}");
            ports.insert(port);
            ips.insert(ip);
            assert!(
                bound.contains(&SocketAddr::new(ip, port)),
                "candidate {ip}:{port} is not one of the bound sockets {bound:?}"
            );
        }
        assert_eq!(
            ports.len(),
            1,
            "all candidates share one port: {candidates:?}"
        );
        assert_eq!(
            ips.len(),
            bound.len(),
            "one candidate per bound interface address (per transport): {candidates:?} vs {bound:?}"
        );
        // Loopback only stands in when the machine has nothing else.
        let lan: Vec<IpAddr> = kernel_local
            .iter()
            .flatten()
            .copied()
            .filter(|ip| !ip.is_loopback())
            .collect();
        if !lan.is_empty() {
            assert!(
                ips.iter().all(|ip| !ip.is_loopback()),
                "loopback advertised although the machine has {lan:?}: {candidates:?}"
            );
        }
        server.stop().await;

        // An announced host name on 127.0.0.1.
        let mut config = server_config(256 * 1024);
        config.rtc_listen = vec![ListenInfo {
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            announced_address: Some("media.example.test".into()),
            port: 0,
        }];
        let server = Server::start(config).await.expect("the server starts");
        let bound = server.media_addresses().to_vec();
        assert_eq!(bound.len(), 1, "{bound:?}");
        assert_eq!(bound[0].ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        let candidates = transport_candidates(&server, "room-announced").await;
        eprintln!("announced: bound {bound:?}; candidates {candidates:?}");
        assert_eq!(
            candidates.len(),
            2,
            "one candidate per transport: {candidates:?}"
        );
        for c in &candidates {
            assert_eq!(c["address"], "media.example.test", "{c}");
            assert_eq!(c["ip"], "media.example.test", "{c}");
            assert_eq!(c["port"].as_u64(), Some(u64::from(bound[0].port())), "{c}");
            assert_eq!(c["protocol"], "udp", "{c}");
        }
        server.stop().await;
    })
    .await;
}

/// The sockets this process has open (Linux `/proc/self/fd`, by inode), for a leak check. Only sockets: other tests'
/// tokio runtimes (epoll and event fds) come and go while this one runs; a set, since the same socket may briefly
/// show up under several descriptors.
fn open_sockets() -> Option<HashSet<String>> {
    let dir = std::fs::read_dir("/proc/self/fd").ok()?;
    Some(
        dir.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
            .map(|target| target.to_string_lossy().into_owned())
            .filter(|target| target.starts_with("socket:"))
            .collect(),
    )
}

const CYCLES: usize = 50;

/// Join → send and recv transports → ICE/DTLS → produce → another peer consumes and receives → both go (half the
/// cycles with `leave` before closing the WebSocket, half by just closing it), 50 times; nothing may remain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_leave_cycles_leave_nothing_behind() {
    let _slot = exclusive_slot().await;
    bounded(async {
        let server = start_server(256 * 1024).await;
        let url = server.signaling_url();
        let room = "room-cycles";
        let sockets_before = open_sockets();
        let started = Instant::now();
        let mut slowest = Duration::ZERO;

        for i in 0..CYCLES {
            let cycle_start = Instant::now();
            let a = Publisher::start(&url, room, &format!("a{i}"), true, true, 30).await;
            let b = Subscriber::start(&url, room, &format!("b{i}")).await;
            // B also has a send transport, A a recv one: every peer holds both directions.
            let b_send = create_transport(&b.sig, "send").await;
            let a_recv = create_transport(&a.sig, "recv").await;
            assert!(b_send["id"].is_string() && a_recv["id"].is_string());

            let ca = b.consume(a.audio_producer.as_deref().unwrap()).await;
            let cv = b.consume(a.video_producer.as_deref().unwrap()).await;
            b.resume(&ca.id).await;
            b.resume(&cv.id).await;
            b.rtc.wait_packets(ca.ssrc, 1, Duration::from_secs(5)).await;
            if i % 10 == 0 {
                b.rtc.wait_packets(cv.ssrc, 1, Duration::from_secs(5)).await;
            }
            let status = server.status().await.unwrap();
            assert_eq!(
                (status.rooms, status.peers, status.transports, status.producers, status.consumers),
                (1, 2, 4, 2, 2),
                "cycle {i}: {status:?}"
            );

            let Publisher { sig: a_sig, rtc: a_rtc, .. } = a;
            let Subscriber { sig: b_sig, rtc: b_rtc, .. } = b;
            if i % 2 == 0 {
                a_sig.request("leave", json!({}), "left").await;
                b_sig.request("leave", json!({}), "left").await;
            }
            a_sig.close().await;
            b_sig.close().await;
            drop(a_rtc);
            drop(b_rtc);
            // Nothing of this cycle may survive into the next one.
            wait_status(&server, Duration::from_secs(3), |s| *s == Status::default()).await;
            slowest = slowest.max(cycle_start.elapsed());
        }
        let elapsed = started.elapsed();

        let status = server.status().await.unwrap();
        assert_eq!(status, Status::default(), "after {CYCLES} cycles: {status:?}");

        // No socket opened during the cycles is still open (the str0m peers' UDP sockets, the WebSockets on both
        // ends); closing connections may take a moment.
        let new_sockets = |after: &Option<HashSet<String>>| -> Vec<String> {
            match (&sockets_before, after) {
                (Some(before), Some(after)) => after.difference(before).cloned().collect(),
                _ => Vec::new(),
            }
        };
        let mut sockets_after = open_sockets();
        let deadline = Instant::now() + Duration::from_secs(3);
        while !new_sockets(&sockets_after).is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
            sockets_after = open_sockets();
        }
        eprintln!(
            "cycles: {CYCLES} in {elapsed:?} (slowest {slowest:?}); open sockets before {:?}, after {:?}",
            sockets_before.as_ref().map(HashSet::len),
            sockets_after.as_ref().map(HashSet::len)
        );
        let leaked = new_sockets(&sockets_after);
        assert!(
            leaked.is_empty(),
            "sockets opened during the {CYCLES} cycles are still open: {leaked:?} (before: {sockets_before:?})"
        );
        server.stop().await;
    })
    .await;
}

/// Regression: when the peer says `role: "server"` and `connectWebRtcTransport` comes before ICE
/// (mediasoup-client's order), the server as DTLS client must send its ClientHello once ICE gives it a path, not
/// lose it and wait for a retransmission (1 s ± 25 %), which failed outright if ICE took longer than the
/// retransmission budget. Like mediasoup, the server starts the DTLS client once the first check arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dtls_client_hello_follows_ice_promptly() {
    let _slot = shared_slot().await;
    bounded(async {
        let server = start_server(256 * 1024).await;
        let url = server.signaling_url();

        // Control: ICE first, `connectWebRtcTransport` once ICE is up: the ClientHello goes out at once.
        let d = Subscriber::start_unconnected(&url, "room-dtls-prompt", "dave", true).await;
        d.rtc.start(&d.transport_info);
        let deadline = Instant::now() + CONNECT_TIMEOUT;
        loop {
            let state = *d.rtc.shared.ice_state.lock().unwrap();
            if matches!(
                state,
                Some(str0m::IceConnectionState::Connected | str0m::IceConnectionState::Completed)
            ) {
                break;
            }
            assert!(Instant::now() < deadline, "dave: ICE did not connect ({state:?})");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let connect_at = Instant::now();
        signal_connect(&d.sig, &d.rtc, &d.transport_info).await;
        d.rtc.wait_connected(CONNECT_TIMEOUT).await;
        let control = connect_at.elapsed();
        eprintln!("dtls_prompt: control (connect after ICE) connected {control:?} after connectWebRtcTransport");
        assert!(control < Duration::from_millis(500), "control took {control:?}");

        // connectWebRtcTransport before ICE, as mediasoup-client does.
        let c = Subscriber::start_unconnected(&url, "room-dtls-prompt", "carol", true).await;
        signal_connect(&c.sig, &c.rtc, &c.transport_info).await;
        let ice_start = Instant::now();
        c.rtc.start(&c.transport_info);
        c.rtc.wait_connected(CONNECT_TIMEOUT).await;
        let took = ice_start.elapsed();
        eprintln!("dtls_prompt: a DTLS-server peer connected {took:?} after starting ICE");
        assert!(
            took < Duration::from_millis(500),
            "on 127.0.0.1 ICE + DTLS should take milliseconds, took {took:?}"
        );
        drop(c);
        drop(d);
        server.stop().await;
    })
    .await;
}
