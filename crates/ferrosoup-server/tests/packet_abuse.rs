//! Abuse of the media port while a real call runs through the server: garbage of every size, truncated and forged STUN,
//! DTLS- and RTP/RTCP-looking junk from a stranger, and forged SRTP from an address that passed ICE. Every datagram is
//! dropped and counted under its reason; the call keeps delivering media, signaling keeps answering, and no object or
//! client address appears for an unauthenticated sender.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::call::Call;
use common::*;
use ferrosoup::rtp::{classify_packet, PacketClass};
use ferrosoup::{DropCounters, WorkerDump};
use ferrosoup_server::Server;
use is::stun::{StunMessage, TransId};
use is::Sha1HmacProvider;
use serde_json::json;
use tokio::net::UdpSocket;

const ROOM: &str = "room-abuse";
/// Sizes from empty to the largest UDP payload (the server reads at most its receive buffer of it).
const SIZES: [usize; 6] = [0, 1, 11, 12, 1500, 65507];

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// A STUN binding request with USERNAME `username`, signed with `password`.
fn binding_request(username: &str, password: &str) -> Vec<u8> {
    let message = StunMessage::binding_request(username, TransId::new(), true, 1, 1 << 24, false);
    let mut buf = vec![0u8; 512];
    let hmac = |key: &[u8], parts: &[&[u8]]| is::DefaultSha1HmacProvider.sha1_hmac(key, parts);
    let n = message
        .to_bytes(Some(password.as_bytes()), &mut buf, hmac)
        .expect("a binding request fits 512 bytes");
    buf.truncate(n);
    buf
}

async fn dump(server: &Server) -> WorkerDump {
    server.worker_dump().await.expect("worker dump")
}

/// Waits until the worker has counted `n` more drops than `before` (datagrams are handled asynchronously).
async fn wait_dropped(server: &Server, before: &DropCounters, n: u64) -> DropCounters {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = dump(server).await.dropped;
        if now.total() >= before.total() + n {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "expected {n} more drops; before {before:?}, now {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How many of `datagrams`, sent from an address no transport knows, land in each counter.
fn expected_from_stranger(datagrams: &[Vec<u8>]) -> DropCounters {
    let mut c = DropCounters::default();
    for d in datagrams {
        // The server reads at most 4096 bytes of a datagram; the first byte decides either way.
        match classify_packet(&d[..d.len().min(4096)]) {
            PacketClass::Unknown => c.unclassified += 1,
            PacketClass::Dtls | PacketClass::Rtp | PacketClass::Rtcp => c.unknown_sender += 1,
            PacketClass::Stun => c.stun_malformed += 1,
        }
    }
    c
}

fn delta(after: &DropCounters, before: &DropCounters) -> DropCounters {
    DropCounters {
        unclassified: after.unclassified - before.unclassified,
        stun_malformed: after.stun_malformed - before.stun_malformed,
        stun_unknown_ufrag: after.stun_unknown_ufrag - before.stun_unknown_ufrag,
        stun_rejected: after.stun_rejected - before.stun_rejected,
        unknown_sender: after.unknown_sender - before.unknown_sender,
        dtls_error: after.dtls_error - before.dtls_error,
        srtp_not_ready: after.srtp_not_ready - before.srtp_not_ready,
        srtp_auth_failed: after.srtp_auth_failed - before.srtp_auth_failed,
        srtp_replayed: after.srtp_replayed - before.srtp_replayed,
        srtp_malformed: after.srtp_malformed - before.srtp_malformed,
        rtp_malformed: after.rtp_malformed - before.rtp_malformed,
        rtp_unknown_ssrc: after.rtp_unknown_ssrc - before.rtp_unknown_ssrc,
        rtcp_malformed: after.rtcp_malformed - before.rtcp_malformed,
        pipe_full: after.pipe_full - before.pipe_full,
    }
}

/// Sends `datagrams` to `to`, pausing now and then so the loopback socket buffers never overflow.
async fn send_all(socket: &UdpSocket, to: SocketAddr, datagrams: &[Vec<u8>]) {
    for (i, d) in datagrams.iter().enumerate() {
        socket.send_to(d, to).await.expect("send on loopback");
        if i % 16 == 15 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

/// Media still reaches the subscriber: more packets within a second.
async fn media_flows(b: &Subscriber, ssrc: u32) {
    let n = b.rtc.received_count(ssrc);
    b.rtc
        .wait_packets(ssrc, n + 10, Duration::from_secs(3))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packet_abuse_is_dropped_and_counted() {
    bounded(async {
        let server = start_server(64 * 1024).await;
        let url = server.signaling_url();
        let media = server.media_addresses()[0];

        let Call { a, b, cv } = Call::start_with(&url, ROOM, true).await;

        let status = server.status().await.expect("status");
        let start = dump(&server).await;
        let ice = &b.transport_info["iceParameters"];
        let ufrag = ice["usernameFragment"].as_str().expect("ufrag").to_string();
        let password = ice["password"].as_str().expect("password").to_string();
        let stranger = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);

        // Crafted junk, each kind landing in a known counter.
        let mut junk: Vec<Vec<u8>> = Vec::new();
        for size in SIZES {
            // First byte 64: a TURN channel number, none of ours.
            let mut d = rng.bytes(size);
            if let Some(b0) = d.first_mut() {
                *b0 = 64;
            }
            junk.push(d);
        }
        let real = binding_request(&format!("{ufrag}:x"), &password);
        for cut in [4, 19, 20, 24, real.len() - 4] {
            junk.push(real[..cut].to_vec());
        }
        for len in [13, 14, 100, 1400] {
            let mut d = rng.bytes(len);
            d[0] = 20 + (d[0] % 44);
            junk.push(d);
        }
        for (b1, len) in [
            (96, 12),
            (96, 13),
            (200, 4),
            (201, 7),
            (96, 1400),
            (205, 1200),
        ] {
            let mut d = rng.bytes(len);
            d[0] = 0x80 | (d[0] & 0x3F);
            d[1] = b1;
            junk.push(d);
        }
        let mut expected = expected_from_stranger(&junk);
        // Binding requests: nobody's ufrag, and B's ufrag signed with a wrong password.
        for i in 0..5 {
            junk.push(binding_request(
                &format!("nobody{i}:x"),
                "secret-secret-secret",
            ));
            expected.stun_unknown_ufrag += 1;
            junk.push(binding_request(
                &format!("{ufrag}:x"),
                &format!("{password}!"),
            ));
            expected.stun_rejected += 1;
        }
        send_all(&stranger, media, &junk).await;
        let after = wait_dropped(&server, &start.dropped, junk.len() as u64).await;
        assert_eq!(
            delta(&after, &start.dropped),
            expected,
            "each crafted datagram is counted under its reason"
        );

        // Random garbage of every size.
        let mut garbage = Vec::new();
        for i in 0..300 {
            garbage.push(rng.bytes(SIZES[i % SIZES.len()]));
        }
        let before = dump(&server).await.dropped;
        send_all(&stranger, media, &garbage).await;
        let after = wait_dropped(&server, &before, garbage.len() as u64).await;
        assert_eq!(
            delta(&after, &before),
            expected_from_stranger(&garbage),
            "random garbage is counted by its first byte"
        );

        // Nothing was created for the stranger, and the call goes on.
        let now = dump(&server).await;
        assert_eq!(now.client_addresses, start.client_addresses, "{now:?}");
        assert_eq!(server.status().await.expect("status"), status);
        media_flows(&b, cv.ssrc).await;
        b.sig
            .request(
                "getRouterRtpCapabilities",
                json!({}),
                "routerRtpCapabilities",
            )
            .await;
        drop(a);
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_srtp_from_an_authenticated_address_is_counted() {
    bounded(async {
        let server = start_server(64 * 1024).await;
        let url = server.signaling_url();
        let media = server.media_addresses()[0];

        let Call { a, b, cv } = Call::start_with(&url, ROOM, false).await;

        // Someone holding B's ICE credentials (B moving to a new address, or a leak) passes ICE from a new address:
        // it becomes one of B's transport's addresses, but without B's SRTP keys it can inject nothing.
        let ice = &b.transport_info["iceParameters"];
        let ufrag = ice["usernameFragment"].as_str().expect("ufrag");
        let password = ice["password"].as_str().expect("password");
        let client_ufrag = b.rtc.rtc().direct_api().local_ice_credentials().ufrag;
        let mallory = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let start = dump(&server).await;
        let check = binding_request(&format!("{ufrag}:{client_ufrag}"), password);
        mallory.send_to(&check, media).await.expect("send");
        let mut reply = [0u8; 1500];
        let (n, _) = tokio::time::timeout(Duration::from_secs(3), mallory.recv_from(&mut reply))
            .await
            .expect("a STUN reply to an authenticated check")
            .expect("recv");
        assert!(StunMessage::parse(&reply[..n]).is_ok_and(|m| m.is_successful_binding_response()));
        assert_eq!(
            dump(&server).await.client_addresses,
            start.client_addresses + 1
        );

        let mut rng = XorShift(7);
        let mut forged = Vec::new();
        for seq in 0..20u16 {
            // A plausible RTP header for the subscriber's own SSRC space, then a payload and a tag that are noise.
            let mut d = vec![0x80, 0x60];
            d.extend_from_slice(&seq.to_be_bytes());
            d.extend_from_slice(&rng.bytes(8));
            d.extend_from_slice(&rng.bytes(100));
            forged.push(d);
        }
        for _ in 0..10 {
            // Receiver report + SRTCP index + tag, all noise after the header.
            let mut d = vec![0x81, 201, 0, 7];
            d.extend_from_slice(&rng.bytes(28 + 4 + 10));
            forged.push(d);
        }
        // Too short for SRTP's tag.
        forged.push(vec![0x80, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xAA]);
        let before = dump(&server).await.dropped;
        send_all(&mallory, media, &forged).await;
        let after = wait_dropped(&server, &before, forged.len() as u64).await;
        let d = delta(&after, &before);
        assert_eq!(
            (d.srtp_auth_failed, d.srtp_malformed, d.total()),
            (30, 1, forged.len() as u64),
            "{d:?}"
        );

        // DTLS noise from that address reaches B's association, which discards it and stays up.
        let mut dtls = Vec::new();
        for len in [13, 40, 200] {
            let mut d = rng.bytes(len);
            d[0] = 22;
            dtls.push(d);
        }
        send_all(&mallory, media, &dtls).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        media_flows(&b, cv.ssrc).await;
        let now = dump(&server).await;
        assert_eq!(
            (now.transports, now.producers, now.consumers),
            (start.transports, start.producers, start.consumers)
        );
        drop(a);
        server.stop().await;
    })
    .await;
}
