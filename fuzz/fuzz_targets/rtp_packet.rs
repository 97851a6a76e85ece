//! An RTP packet through everything the forwarding path does to one: parse, header and extension reads, in-place
//! remapping, a rebuilt extension block, RTX encapsulation and decapsulation. Rewrites must keep the packet parseable.
#![no_main]

use ferrosoup::rtp::{
    rtx_decode_in_place, rtx_encode_in_place, write_head_with_extensions, write_with_extensions,
    ExtensionIdMap, RtpPacket,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Two leading bytes pick the extension ids the reads and rewrites use; the rest is the packet.
    let [a, b, packet @ ..] = data else { return };
    let (id_a, id_b) = (*a, *b);
    let mut buf = packet.to_vec();
    let Ok(mut p) = RtpPacket::parse(&mut buf[..]) else {
        let mut copy = packet.to_vec();
        let _ = rtx_decode_in_place(&mut copy, packet.len(), 96, 1);
        return;
    };
    assert_eq!(p.header_len() + p.payload_len() + p.padding_len(), p.len());
    let _ = (
        p.marker(),
        p.payload_type(),
        p.sequence_number(),
        p.timestamp(),
        p.ssrc(),
    );
    let _ = (
        p.csrcs().count(),
        p.extension_profile(),
        p.extension_form(),
        p.payload().len(),
    );
    for e in p.extensions() {
        assert_ne!(e.id, 0);
        let _ = p.extension(e.id);
    }
    let _ = (
        p.mid(id_a),
        p.rid(id_b),
        p.abs_send_time(id_a),
        p.transport_wide_cc_seq(id_b),
    );
    let _ = p.extension_str(id_a);

    // What a consumer copy gets: its own block with the elements it keeps plus a mid and a transport-wide seq.
    let mut out = Vec::new();
    write_with_extensions(&mut out, &p, |w| {
        for e in p.extensions() {
            if e.id % 2 == id_a % 2 {
                w.push(e.id, e.data);
            }
        }
        w.push(id_a % 15, b"mid");
        w.push(id_b % 15, &[1, 2]);
    });
    let copy = RtpPacket::parse(&out[..]).expect("a rebuilt packet parses");
    assert_eq!(copy.payload(), p.payload());
    // The same with only a head of the payload copied (the rest is encrypted from the source): head and rest are
    // the whole packet again.
    let mut head = Vec::new();
    let rest = write_head_with_extensions(&mut head, &p, usize::from(id_b), |w| {
        for e in p.extensions() {
            if e.id % 2 == id_a % 2 {
                w.push(e.id, e.data);
            }
        }
        w.push(id_a % 15, b"mid");
        w.push(id_b % 15, &[1, 2]);
    });
    head.extend_from_slice(p.as_bytes().get(rest..).expect("rest lies within the packet"));
    assert_eq!(head, out);

    // In place into the router's form.
    p.set_abs_send_time(id_a, 0x123456);
    p.set_transport_wide_cc_seq(id_b, 0xBEEF);
    let mut table = [0u8; 256];
    for (i, slot) in table.iter_mut().enumerate() {
        *slot = (i as u8).wrapping_mul(id_a | 1).wrapping_add(id_b);
    }
    p.remap_extensions(&ExtensionIdMap::from_table(table));
    p.set_payload_type(id_a & 0x7F);
    p.set_sequence_number(u16::from_be_bytes([id_a, id_b]));
    let len = p.len();
    assert!(
        RtpPacket::parse(&buf[..len]).is_ok(),
        "rewritten in place, still parses"
    );

    // RTX round trip.
    buf.extend_from_slice(&[0, 0]);
    if let Ok(n) = rtx_encode_in_place(&mut buf, len, 97, 2, 3) {
        assert!(RtpPacket::parse(&buf[..n]).is_ok());
        let m = rtx_decode_in_place(&mut buf, n, 96, 1).expect("an RTX packet has its OSN");
        let back = RtpPacket::parse(&buf[..m]).expect("decoded RTX parses");
        assert_eq!(back.sequence_number(), u16::from_be_bytes([id_a, id_b]));
    }
});
