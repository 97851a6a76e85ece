//! Compound RTCP from a client: the walk, every typed view and its iterators (reports, SDES, BYE, PLI, FIR, NACK, REMB,
//! transport-cc), and the in-place SSRC rewrites done when feedback is relayed.
#![no_main]

use ferrosoup::rtp::{
    compound, rewrite_feedback_media_ssrc, set_feedback_sender_ssrc, validate_compound, RtcpView,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let valid = validate_compound(data);
    let mut walked = 0;
    for packet in compound(data) {
        let Ok(packet) = packet else { break };
        walked += 1;
        let _ = (
            packet.header(),
            packet.packet_type(),
            packet.count(),
            packet.body().len(),
        );
        match packet.view() {
            Ok(RtcpView::SenderReport(sr)) => {
                let _ = (sr.ssrc, sr.info);
                for block in sr.reports {
                    let _ = block.fraction_lost;
                }
            }
            Ok(RtcpView::ReceiverReport(rr)) => {
                let _ = rr.reports.count();
            }
            Ok(RtcpView::Sdes(s)) => {
                for chunk in s.chunks() {
                    let _ = chunk.cname();
                    let _ = chunk.items().count();
                }
            }
            Ok(RtcpView::Bye(b)) => {
                let _ = b.ssrcs().count();
            }
            Ok(RtcpView::Fir(f)) => {
                let _ = f.entries().count();
            }
            Ok(RtcpView::Nack(n)) => {
                // A NACK names at most 17 packets per pair.
                let pairs = n.pairs().count();
                assert!(n.lost().count() <= pairs * 17);
            }
            Ok(RtcpView::Remb(r)) => {
                let _ = r.ssrcs().count();
            }
            Ok(RtcpView::TransportCc(t)) => {
                let _ = t.reference_time_us();
                assert!(t.packets().count() <= t.status_count as usize);
            }
            Ok(RtcpView::Pli(_)) | Ok(RtcpView::Other(_)) | Err(_) => {}
        }
    }
    if let Ok(n) = valid {
        assert_eq!(n, walked, "validate_compound and the walk disagree");
    }
    let mut copy = data.to_vec();
    let rewritten = rewrite_feedback_media_ssrc(&mut copy, |ssrc| Some(ssrc ^ 1));
    // An empty buffer is nothing to rewrite, but not a valid compound packet.
    assert_eq!(rewritten.is_ok(), valid.is_ok() || data.is_empty());
    assert_eq!(
        validate_compound(&copy).is_ok(),
        valid.is_ok(),
        "a rewrite changed validity"
    );
    let _ = set_feedback_sender_ssrc(&mut copy, 7);
    assert_eq!(validate_compound(&copy).is_ok(), valid.is_ok());
});
