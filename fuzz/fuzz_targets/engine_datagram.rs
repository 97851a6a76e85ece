//! A whole engine with a connected publisher and subscriber, fed an arbitrary sequence of datagrams: raw bytes from
//! either client's address or a stranger's, SRTP/SRTCP-protected RTP and RTCP (so the fuzzer reaches the forwarding
//! and feedback paths past authentication), ICE checks, and time passing.
//!
//! Invariants: nothing panics; the objects stay as they were; every SRTP packet the engine sends decrypts and parses
//! at its peer; client addresses appear only through checks with the right password, and at most 8 per transport.
#![no_main]

use ferrosoup::fuzzing::{EngineHarness, Sender};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(mut h) = EngineHarness::new() else {
        return;
    };
    let baseline = h.known_addresses();
    let mut authenticated_checks = false;
    let mut rest = data;
    while let [op, hi, lo, tail @ ..] = rest {
        let len = (usize::from(*hi) << 8 | usize::from(*lo)).min(tail.len());
        let (payload, next) = tail.split_at(len);
        rest = next;
        match op % 8 {
            0 => h.datagram(Sender::Publisher, payload),
            1 => h.datagram(Sender::Subscriber, payload),
            2 => h.datagram(Sender::Stranger, payload),
            3 => h.protected(Sender::Publisher, payload, false),
            4 => h.protected(Sender::Publisher, payload, true),
            5 => h.protected(Sender::Subscriber, payload, true),
            6 => {
                // Time only: the length field is milliseconds and no payload is consumed.
                rest = tail;
                h.advance(u64::from(u16::from_be_bytes([*hi, *lo]) % 3000));
            }
            _ => {
                let sender = if op & 0x10 == 0 {
                    Sender::Publisher
                } else {
                    Sender::Subscriber
                };
                let right_password = op & 0x20 != 0;
                authenticated_checks |= right_password;
                let port = u16::from_be_bytes([*hi, *lo]);
                let ufrag = String::from_utf8_lossy(payload);
                h.stun_check(sender, port, op & 0x40 != 0, right_password, &ufrag);
            }
        }
        assert_eq!(
            h.bad_output, 0,
            "the engine sent a packet its peer cannot decrypt or parse"
        );
        let dump = h.dump();
        assert_eq!(
            (
                dump.routers,
                dump.transports,
                dump.producers,
                dump.consumers
            ),
            (1, 2, 2, 2)
        );
        if authenticated_checks {
            assert!(
                h.known_addresses() <= 2 * 8,
                "{} addresses",
                h.known_addresses()
            );
        } else {
            assert_eq!(
                h.known_addresses(),
                baseline,
                "an unauthenticated datagram created an address"
            );
        }
    }
});
