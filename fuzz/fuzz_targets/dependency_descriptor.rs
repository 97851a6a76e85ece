//! A stream of AV1 dependency descriptors through one stream's parser state (a structure from an earlier packet
//! resolves the later ones, as on the wire), each parsed descriptor rewritten as a consumer's copy would be.
#![no_main]

use ferrosoup::rtp::dependency_descriptor::{rewrite, DdState, MAX_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut state = DdState::default();
    let mut rest = data;
    // Each descriptor: a length byte, a byte choosing the rewrite, then the descriptor's bytes.
    while let [len, choice, tail @ ..] = rest {
        let n = (*len as usize).min(tail.len());
        let (descriptor, next) = tail.split_at(n);
        rest = next;
        let Some(d) = state.parse(descriptor) else {
            continue;
        };
        let _ = (d.dti(usize::from(*choice)), d.is_key_frame(), d.spatial_id, d.temporal_id);
        let count = state
            .structure()
            .map_or(0, |s| s.decode_target_count);
        let frame_number = u16::from(*choice).wrapping_mul(257);
        let active = (choice & 1 == 1).then(|| u32::from(*choice) * 0x0101_0101);
        let mut out = [0u8; MAX_LEN];
        if let Some(written) = rewrite(descriptor, &d, count, frame_number, active, &mut out) {
            assert!(written <= MAX_LEN);
            assert_eq!(
                out[1..3],
                frame_number.to_be_bytes(),
                "the copy carries the consumer's frame number"
            );
            // The copy goes to a consumer's decoder; here it must at least parse without harm.
            let _ = state.clone().parse(&out[..written]);
        }
    }
});
