//! STUN as the engine sees it: `is`'s parser and every accessor on arbitrary bytes, then the same bytes into a live
//! engine from a stranger's and from a known client's address. Nothing unauthenticated may create a client address.
#![no_main]

use std::sync::OnceLock;

use ferrosoup::fuzzing::{EngineHarness, Sender};
use is::stun::StunMessage;
use libfuzzer_sys::fuzz_target;

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 20] {
    // Any deterministic function does: verification must fail or pass without panicking either way.
    let mut out = [0u8; 20];
    for (i, b) in key
        .iter()
        .chain(parts.iter().flat_map(|p| p.iter()))
        .enumerate()
    {
        out[i % 20] ^= *b;
    }
    out
}

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = StunMessage::parse(data) {
        let _ = (m.method(), m.class(), m.trans_id(), m.is_binding_request());
        let _ = (
            m.username(),
            m.split_username(),
            m.prio(),
            m.use_candidate(),
        );
        let _ = (m.ice_controlled(), m.ice_controlling(), m.network_cost());
        let _ = (
            m.mapped_address(),
            m.xor_peer_address(),
            m.xor_relayed_address(),
        );
        let _ = (m.error_code(), m.realm(), m.nonce(), m.software(), m.data());
        let _ = m.verify(b"password", hmac);
    }
    // Building a harness costs far more than a STUN parse; the shared one only ever sees unauthenticated input, so
    // its state stays what it was.
    static BASELINE: OnceLock<usize> = OnceLock::new();
    thread_local! {
        static HARNESS: std::cell::RefCell<Option<EngineHarness>> =
            std::cell::RefCell::new(EngineHarness::new());
    }
    HARNESS.with(|h| {
        let mut h = h.borrow_mut();
        let Some(h) = h.as_mut() else { return };
        let baseline = *BASELINE.get_or_init(|| h.known_addresses());
        h.datagram(Sender::Stranger, data);
        h.datagram(Sender::Publisher, data);
        assert_eq!(
            h.known_addresses(),
            baseline,
            "unauthenticated STUN created a client address"
        );
        assert_eq!(h.dump().transports, 2);
    });
});
