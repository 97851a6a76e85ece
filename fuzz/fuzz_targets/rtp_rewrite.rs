//! A consumer's sequence/timestamp rewriting under arbitrary input: reordering, gaps, duplicates, drops, pauses
//! (re-syncs) and wrap-around, plus the codec payload descriptors read on the same path to find key frames.
//!
//! Invariant checked: within an epoch and a window of small sequence steps, two different input packets never get
//! the same output sequence number (a receiver would take one for a duplicate of the other).
#![no_main]

use std::collections::HashMap;
use std::time::Duration;

use ferrosoup::rtp::{
    is_keyframe, seq_is_newer, CodecKind, PayloadDescriptor, RtpRewriter, Vp8Descriptor,
};
use libfuzzer_sys::fuzz_target;

/// Input steps larger than this end the injectivity window (far jumps are legitimately ambiguous mod 2^16).
const SMALL_STEP: i64 = 200;

fuzz_target!(|data: &[u8]| {
    let [codec_byte, rest @ ..] = data else {
        return;
    };
    let codecs = [
        CodecKind::Vp8,
        CodecKind::Vp9,
        CodecKind::H264,
        CodecKind::Av1,
        CodecKind::Opus,
    ];
    let codec = codecs[*codec_byte as usize % codecs.len()];
    // The payload part: descriptors and key-frame detection on the raw bytes.
    let _ = is_keyframe(codec, rest);
    if let Some(d) = PayloadDescriptor::parse(codec, rest) {
        let _ = (d.is_keyframe(), d.temporal_id(), d.spatial_id());
    }
    if let Some(d) = Vp8Descriptor::parse(rest) {
        let mut copy = rest.to_vec();
        d.set_picture_id(&mut copy, 0x1234);
        d.set_tl0_pic_idx(&mut copy, 9);
        assert!(
            Vp8Descriptor::parse(&copy).is_some(),
            "rewritten VP8 descriptor parses"
        );
    }

    // The op part: 7-byte records (op, seq, timestamp).
    let mut r = RtpRewriter::new(0xABCD, 90_000, 1000, 5000);
    // Output ext seq -> input ext seq within the current window.
    let mut window: HashMap<i64, i64> = HashMap::new();
    // The highest input seen in the epoch (as the rewriter unwraps against it), and the last output.
    let mut in_max: Option<(u16, i64)> = None;
    let mut last_out: Option<(u16, i64)> = None;
    for rec in rest.chunks_exact(7) {
        let seq = u16::from_be_bytes([rec[1], rec[2]]);
        let ts = u32::from_be_bytes([rec[3], rec[4], rec[5], rec[6]]);
        let op = rec[0] % 8;
        match op {
            0 => {
                r.sync(seq, ts, Duration::from_millis(u64::from(rec[0])));
                window.clear();
                (in_max, last_out) = (Some((seq.wrapping_sub(1), -1)), None);
            }
            1 => {
                r.require_sync();
                window.clear();
                (in_max, last_out) = (None, None);
            }
            _ => {
                let Some((max_seq, max_ext)) = in_max else {
                    // Not synced: the rewriter forwards nothing.
                    assert!(r.rewrite(seq, ts).is_none() || r.is_synced());
                    continue;
                };
                let step = i64::from(seq.wrapping_sub(max_seq) as i16);
                let in_ext = max_ext + step;
                if step.abs() > SMALL_STEP {
                    window.clear();
                    last_out = None;
                }
                if step > 0 {
                    in_max = Some((seq, in_ext));
                }
                if op == 2 {
                    r.drop_packet(seq);
                    continue;
                }
                let Some(out) = r.rewrite(seq, ts) else {
                    continue;
                };
                let out_ext = match last_out {
                    Some((prev, ext)) => ext + i64::from(out.seq.wrapping_sub(prev) as i16),
                    None => 0,
                };
                if last_out.is_some_and(|(_, ext)| (out_ext - ext).abs() > SMALL_STEP) {
                    window.clear();
                }
                last_out = Some((out.seq, out_ext));
                if let Some(&other) = window.get(&out_ext) {
                    assert_eq!(other, in_ext, "two inputs got output seq {}", out.seq);
                }
                window.insert(out_ext, in_ext);
                let _ = seq_is_newer(out.seq, seq);
            }
        }
        let _ = (r.is_synced(), r.has_sent(), r.last_seq(), r.max_timestamp());
    }
});
