//! RTP/RTCP packet-level code: the SFU's hot path.
//!
//! Every media packet the SFU relays goes through this module once per
//! consumer, so it is written around three rules:
//!
//! 1. **Zero-copy.** Parsers return views that borrow the datagram buffer
//!    ([`RtpPacket`], [`RtcpPacket`], [`RtcpView`], the codec descriptors)
//!    and hold only offsets. Iterators (header extensions, report blocks,
//!    NACK pairs, SDES items, transport-cc statuses) walk the borrowed bytes.
//! 2. **In place, no allocation per packet.** Rewrites (SSRC, sequence
//!    number, timestamp, payload type, header-extension ids, abs-send-time,
//!    transport-wide seq, VP8 picture id/TL0PICIDX, feedback SSRCs) patch the
//!    caller's buffer. Extension remapping uses a fixed `[u8; 256]` table and
//!    turns dropped elements into RFC 8285 padding so no length changes.
//!    RTCP builders write into a caller-provided `&mut [u8]` and return the
//!    length. Sequence rewriting ([`RtpRewriter`]) remembers recent drops in a
//!    fixed-size bitmap instead of a set. The relay path therefore costs one
//!    copy per consumer (needed anyway, since SRTP encrypts in place) and no
//!    allocator traffic.
//! 3. **Untrusted input never panics.** Everything parsed here comes off the
//!    network. Lengths are validated once at parse time; every byte access
//!    goes through bounds-checked helpers (`slice::get`), so malformed or
//!    truncated input yields an error / `None` / a shorter iteration, never
//!    an out-of-bounds index or an `unwrap`. A randomized test feeds random
//!    and mutated bytes to every parser to back this up.
//!
//! Files, by idea:
//! * [`packet`]: RTP header view, RFC 8285 extensions, RFC 7983/5761 demux.
//! * [`codecs`]: VP8/VP9/H264/AV1 payload descriptors and key-frame detection.
//! * [`dependency_descriptor`]: the AV1 dependency descriptor extension (layers, switch points, rewriting).
//! * [`seq`]: serial-number arithmetic and the per-consumer seq/ts rewriter.
//! * [`rtcp`]: compound RTCP walker, typed views, builders, SSRC rewriting.
//! * [`stats`]: RFC 3550 receive/send statistics, NTP time, RTT.

pub(crate) mod bytes;
pub mod codecs;
pub mod dependency_descriptor;
pub mod packet;
pub mod picture_id;
pub mod rtcp;
pub mod seq;
pub mod stats;
pub mod twcc;

pub use codecs::{
    is_keyframe, Av1Info, CodecKind, H264Info, PayloadDescriptor, Vp8Descriptor, Vp9Descriptor,
};
pub use packet::{
    abs_send_time_from_duration, abs_send_time_from_ms, classify_packet, is_dtls, is_rtcp, is_rtp,
    is_rtp_or_rtcp, is_stun, rtx_decode_in_place, rtx_encode_in_place, write_head_with_extensions,
    write_rtp_header, write_with_extensions, ExtensionForm, ExtensionIdMap, ExtensionWriter,
    HeaderExtension, HeaderExtensions, PacketClass, RtpError, RtpPacket, RTP_HEADER_LEN,
};
pub use rtcp::{
    compound, rewrite_feedback_media_ssrc, set_feedback_sender_ssrc, validate_compound, write_bye,
    write_fir, write_nack, write_nack_from_seqs, write_pli, write_receiver_report, write_remb,
    write_sdes_cname, write_sender_report, Bye, CompoundIter, CompoundWriter, Fir, FirEntry, Nack,
    NackPair, NtpTime, Pli, ReceiverReport, Remb, ReportBlock, RtcpError, RtcpHeader, RtcpPacket,
    RtcpView, Sdes, SenderInfo, SenderReport, TransportCc, TwccPacket, TwccStatus,
};
pub use seq::{seq_is_newer, ts_is_newer, Rewritten, RtpRewriter, SeqUnwrapper, TsUnwrapper};
pub use stats::{ntp_from_system_time, rtt_from_report_block, NtpClock, ReceiveStats, SendStats};
pub use twcc::{write_transport_cc, TwccRecorder};

#[cfg(test)]
mod fuzz {
    //! Randomized robustness test: random and mutated inputs into every
    //! parser and in-place rewriter; the only assertion is "no panic" (plus
    //! a few invariants that must hold for whatever parsed).

    use super::*;
    use std::time::{Duration, Instant};

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

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn fill(&mut self, buf: &mut [u8]) {
            for b in buf {
                *b = self.next() as u8;
            }
        }
    }

    /// Seeds: valid packets of every kind, to be mutated.
    fn seeds() -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        // RTP with one-byte and two-byte extensions, CSRCs and padding.
        out.push(vec![
            0xB1, 0xE0, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 9,
            0xBE, 0xDE, 0x00, 0x03, 0x11, b'a', b'0', 0x32, 0x01, 0x02, 0x03, 0x51, 0xAB, 0xCD,
            0x00, 0x00, 0x90, 0xE0, 0x92, 0x34, 0x05, 0x20, 0x10, 0x02, 0x00, 0x9d, 0, 2,
        ]);
        out.push(vec![
            0x90, 0x60, 0x00, 0x01, 0, 0, 0, 100, 0, 0, 0, 7, 0x10, 0x00, 0x00, 0x03, 0x01, 0x02,
            b'm', b'1', 0x00, 200, 0x00, 16, 0x03, 9, 9, 9, 0x7C, 0x85, 0x88,
        ]);
        // RTCP compound: SR + SDES + NACK + FIR + REMB + BYE + TWCC.
        let mut buf = [0u8; 512];
        let mut w = CompoundWriter::new(&mut buf);
        let rb = ReportBlock {
            ssrc: 5,
            last_sr: 7,
            ..Default::default()
        };
        w.sender_report(1, &SenderInfo::default(), &[rb, rb])
            .and_then(|w| w.sdes_cname(1, "cname"))
            .and_then(|w| w.nack(1, 2, &[NackPair { pid: 3, blp: 0xFF }]))
            .and_then(|w| w.fir(1, &[FirEntry { ssrc: 2, seq_nr: 1 }]))
            .and_then(|w| w.remb(1, 12345, &[2]))
            .and_then(|w| w.bye(&[1], Some("x")))
            .and_then(|w| w.pli(1, 2))
            .expect("seed compound fits");
        let mut v = w.as_bytes().to_vec();
        v.extend_from_slice(&[
            0x8F, 205, 0, 6, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1, 0, 5, 0, 0, 1, 0, 0x20, 0x02, 0xC9,
            0x00, 4, 8, 0xFF, 0xFC,
        ]);
        out.push(v);
        // Codec payloads.
        out.push(vec![
            0xAA, 0x80, 0x05, 0x00, 0x07, 0x58, 1, 0x40, 0, 0xB4, 2, 0x80, 1, 0x68,
        ]);
        out.push(vec![
            0x78, 0x00, 0x04, 0x67, 0x42, 0xc0, 0x1f, 0x00, 0x03, 0x65, 0x88, 0x84,
        ]);
        out
    }

    fn exercise(bytes: &[u8], rng: &mut XorShift) {
        let mut buf = bytes.to_vec();
        // Demux.
        let _ = classify_packet(&buf);
        let _ = (is_rtp(&buf), is_rtcp(&buf), is_stun(&buf), is_dtls(&buf));

        // RTP: parse, read everything, rewrite everything.
        if let Ok(mut p) = RtpPacket::parse(&mut buf[..]) {
            assert!(p.header_len() + p.payload_len() + p.padding_len() == p.len());
            let _ = (
                p.marker(),
                p.payload_type(),
                p.sequence_number(),
                p.timestamp(),
            );
            let _ = (p.ssrc(), p.csrcs().count(), p.extension_block().len());
            for e in p.extensions() {
                assert!(e.id != 0);
            }
            for id in 0..=255u8 {
                let _ = p.extension(id);
                let _ = (p.mid(id), p.abs_send_time(id), p.transport_wide_cc_seq(id));
            }
            let id = rng.next() as u8;
            p.set_abs_send_time(id, rng.next() as u32);
            p.set_transport_wide_cc_seq(id, rng.next() as u16);
            let mut table = [0u8; 256];
            rng.fill(&mut table);
            let map = ExtensionIdMap::from_table(table);
            p.remap_extensions(&map);
            // After remapping, every element id came out of the table.
            for e in p.extensions() {
                assert!(table.contains(&e.id));
            }
            p.set_sequence_number(1);
            p.set_payload_type(200);
            p.set_marker(true);
            let payload = p.payload().to_vec();
            for codec in [
                CodecKind::Vp8,
                CodecKind::Vp9,
                CodecKind::H264,
                CodecKind::Av1,
                CodecKind::Opus,
                CodecKind::OtherVideo,
            ] {
                let _ = is_keyframe(codec, &payload);
            }
            // The re-parse must still succeed: rewrites keep lengths valid.
            assert!(RtpPacket::parse(&buf[..]).is_ok());
            // RTX round trip keeps the packet parseable.
            let len = buf.len();
            buf.extend_from_slice(&[0, 0]);
            if let Ok(n) = rtx_encode_in_place(&mut buf, len, 97, 1, 2) {
                assert!(RtpPacket::parse(&buf[..n]).is_ok());
                let m = rtx_decode_in_place(&mut buf, n, 96, 3).expect("has OSN");
                assert!(RtpPacket::parse(&buf[..m]).is_ok());
            }
        }
        let mut b = bytes.to_vec();
        let _ = rtx_decode_in_place(&mut b, bytes.len(), 96, 3);
        let _ = rtx_decode_in_place(&mut b, bytes.len() + 1, 96, 3);

        // Codecs directly on the raw bytes.
        for codec in [
            CodecKind::Vp8,
            CodecKind::Vp9,
            CodecKind::H264,
            CodecKind::Av1,
        ] {
            let _ = is_keyframe(codec, bytes);
            if let Some(d) = PayloadDescriptor::parse(codec, bytes) {
                let _ = (d.temporal_id(), d.spatial_id(), d.is_keyframe());
            }
        }
        if let Some(d) = Vp8Descriptor::parse(bytes) {
            assert!(d.header_len < bytes.len());
            let mut b = bytes.to_vec();
            d.set_picture_id(&mut b, 0x7FFF);
            d.set_tl0_pic_idx(&mut b, 1);
            d.set_picture_id(&mut [], 1);
        }
        if let Some(d) = Vp9Descriptor::parse(bytes) {
            assert!(d.header_len <= bytes.len());
        }

        // RTCP: walk, view, iterate every sub-structure.
        let _ = validate_compound(bytes);
        for p in compound(bytes) {
            let Ok(p) = p else { break };
            match p.view() {
                Ok(RtcpView::SenderReport(sr)) => {
                    let _ = sr.reports.count();
                }
                Ok(RtcpView::ReceiverReport(rr)) => {
                    let _ = rr.reports.count();
                }
                Ok(RtcpView::Sdes(s)) => {
                    for c in s.chunks() {
                        let _ = c.cname();
                        let _ = c.items().count();
                    }
                }
                Ok(RtcpView::Bye(b)) => {
                    let _ = b.ssrcs().count();
                }
                Ok(RtcpView::Fir(f)) => {
                    let _ = f.entries().count();
                }
                Ok(RtcpView::Nack(n)) => {
                    let _ = n.lost().count();
                }
                Ok(RtcpView::Remb(r)) => {
                    let _ = r.ssrcs().count();
                }
                Ok(RtcpView::TransportCc(t)) => {
                    assert!(t.packets().count() <= t.status_count as usize);
                }
                Ok(RtcpView::Pli(_)) | Ok(RtcpView::Other(_)) | Err(_) => {}
            }
        }
        let mut b = bytes.to_vec();
        let _ = rewrite_feedback_media_ssrc(&mut b, |s| Some(s ^ 1));
        let _ = set_feedback_sender_ssrc(&mut b, 9);
        let _ = RtcpHeader::parse(bytes);
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let mut buf = [0u8; 128];
        for _ in 0..20_000 {
            let len = rng.below(buf.len() + 1);
            rng.fill(&mut buf[..len]);
            // Bias towards "looks like RTP/RTCP" so deeper code runs.
            if len > 0 && rng.below(2) == 0 {
                buf[0] = 0x80 | (buf[0] & 0x3F);
            }
            if len > 1 && rng.below(3) == 0 {
                buf[1] = 192 + (buf[1] % 16);
            }
            let snapshot = buf[..len].to_vec();
            exercise(&snapshot, &mut rng);
        }
    }

    #[test]
    fn mutated_valid_packets_never_panic() {
        let mut rng = XorShift(0x0123_4567_89AB_CDEF);
        let seeds = seeds();
        for _ in 0..30_000 {
            let mut v = seeds[rng.below(seeds.len())].clone();
            for _ in 0..=rng.below(4) {
                match rng.below(4) {
                    0 if !v.is_empty() => {
                        let i = rng.below(v.len());
                        v[i] = rng.next() as u8;
                    }
                    1 if !v.is_empty() => {
                        let i = rng.below(v.len());
                        v[i] ^= 1 << rng.below(8);
                    }
                    2 => {
                        let n = rng.below(v.len() + 1);
                        v.truncate(n);
                    }
                    _ => v.push(rng.next() as u8),
                }
            }
            exercise(&v, &mut rng);
        }
    }

    #[test]
    fn random_sequences_through_rewriter_and_stats() {
        let mut rng = XorShift(42);
        let t0 = Instant::now();
        let mut rw = RtpRewriter::new(1, 90_000, rng.next() as u16, rng.next() as u32);
        let mut rs = ReceiveStats::new(1, 90_000);
        let mut ss = SendStats::new(1, 90_000);
        let mut seq = rng.next() as u16;
        let mut ts = rng.next() as u32;
        for i in 0..50_000u64 {
            let now = t0 + Duration::from_micros(i * 1000 + rng.below(5000) as u64);
            let sr_at = if rng.below(2) == 0 { now } else { t0 };
            match rng.below(100) {
                0 => rw.sync(
                    rng.next() as u16,
                    rng.next() as u32,
                    Duration::from_millis(rng.below(5000) as u64),
                ),
                1 => rw.require_sync(),
                2..=9 => rw.drop_packet(seq.wrapping_add(rng.below(8) as u16)),
                _ => {}
            }
            // Mostly in order, sometimes reordered or jumping.
            let s = match rng.below(20) {
                0 => seq.wrapping_sub(rng.below(600) as u16),
                1 => rng.next() as u16,
                _ => {
                    seq = seq.wrapping_add(1);
                    seq
                }
            };
            match rng.below(50) {
                0 => ts = rng.next() as u32,
                1..=15 => ts = ts.wrapping_add(3000),
                _ => {}
            }
            if let Some(r) = rw.rewrite(s, ts) {
                ss.on_packet_sent(r.timestamp, 100, now);
            }
            rs.on_packet(s, ts, now);
            if i % 997 == 0 {
                let _ = rs.report_block(now);
                let _ = ss.sender_info(now, NtpTime(rng.next()));
                let rb = ReportBlock {
                    last_sr: rng.next() as u32,
                    delay_since_last_sr: rng.next() as u32,
                    ..Default::default()
                };
                let _ = ss.on_report_block(&rb, NtpTime(rng.next()));
                rs.on_sender_report(&SenderInfo::default(), sr_at);
            }
        }
    }
}
