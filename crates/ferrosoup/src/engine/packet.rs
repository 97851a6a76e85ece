//! The datagram path: demultiplex by first byte (RFC 7983), then ICE, DTLS, or SRTP into the router.
//!
//! Incoming RTP is decrypted once, rewritten in place into the router's form (payload type, SSRC, extension ids), then
//! copied once per consumer, rewritten to the consumer's SSRC/sequence/timestamp and encrypted with the consumer's
//! transport keys. Buffers come from the outbox pool; nothing here allocates per packet in the steady state.

use std::net::SocketAddr;
use std::time::Instant;

use is::stun::StunMessage;

use super::transport::TransportKey;
use super::Engine;
use crate::rtp::{classify_packet, is_keyframe, write_with_extensions, PacketClass, RtpPacket};

/// Room an outgoing RTP packet needs beyond its plaintext for the SRTP tag (the largest of the profiles).
const SRTP_MAX_OVERHEAD: usize = 16;

impl Engine {
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        socket: usize,
        from: SocketAddr,
        buf: &mut [u8],
    ) {
        match classify_packet(buf) {
            PacketClass::Stun => self.on_stun(now, socket, from, buf),
            PacketClass::Dtls => self.on_dtls(now, socket, from, buf),
            PacketClass::Rtp => self.on_rtp(now, socket, from, buf),
            PacketClass::Rtcp => self.on_rtcp(now, socket, from, buf),
            PacketClass::Unknown => {}
        }
    }

    fn on_stun(&mut self, now: Instant, socket: usize, from: SocketAddr, buf: &[u8]) {
        let Ok(message) = StunMessage::parse(buf) else {
            return;
        };
        if !message.is_binding_request() {
            return;
        }
        // The USERNAME's first half is our ufrag: that finds the transport even before we know the client's address.
        let key = message
            .split_username()
            .and_then(|(local, _)| self.by_ufrag.get(local).copied())
            .or_else(|| self.by_remote.get(&(socket, from)).copied());
        let Some(key) = key else {
            return;
        };
        let Some(local) = self.candidates.get(socket).map(|c| c.local) else {
            return;
        };
        let Some(t) = self.transports.get_mut(key) else {
            return;
        };
        if t.ice.handle_stun(now, local, from, message) && t.selected.is_none() {
            // Until the client nominates a pair, answer on the path its checks come from.
            t.selected = Some((socket, from));
        }
        self.after_ice(key);
    }

    fn on_dtls(&mut self, now: Instant, socket: usize, from: SocketAddr, buf: &[u8]) {
        let Some(&key) = self.by_remote.get(&(socket, from)) else {
            return;
        };
        let Some(t) = self.transports.get_mut(key) else {
            return;
        };
        let outbox = &mut self.outbox;
        let event = t
            .dtls
            .handle_record(now, buf, &mut |p| outbox.push_copy(socket, from, p));
        if let Some(event) = event {
            self.on_dtls_event(now, key, event);
        }
    }

    /// Finds the transport of a media datagram by its source and decrypts it in place: the transport and the
    /// plaintext length, or `None` for packets from unknown addresses or that fail authentication.
    fn unprotect(
        &mut self,
        socket: usize,
        from: SocketAddr,
        buf: &mut [u8],
        rtcp: bool,
    ) -> Option<(TransportKey, usize)> {
        let tkey = *self.by_remote.get(&(socket, from))?;
        let srtp = self.transports.get_mut(tkey)?.srtp_in.as_mut()?;
        let len = if rtcp {
            srtp.unprotect_rtcp(buf)
        } else {
            srtp.unprotect_rtp(buf)
        };
        Some((tkey, len.ok()?))
    }

    fn on_rtp(&mut self, now: Instant, socket: usize, from: SocketAddr, buf: &mut [u8]) {
        let Some((tkey, len)) = self.unprotect(socket, from, buf, false) else {
            return;
        };
        let Some(plain) = buf.get_mut(..len) else {
            return;
        };
        let Ok(mut packet) = RtpPacket::parse(plain) else {
            return;
        };
        // Every packet with a transport-wide sequence number counts for congestion control, including ones that are
        // not forwarded (retransmissions, padding probes): the sender would read a gap as loss.
        if let Some(t) = self.transports.get_mut(tkey) {
            if let Some(seq) = (t.twcc_ext != 0)
                .then(|| packet.transport_wide_cc_seq(t.twcc_ext))
                .flatten()
            {
                t.twcc.record(seq, packet.ssrc(), now);
                self.next_feedback
                    .get_or_insert(now + super::FEEDBACK_INTERVAL);
            }
        }
        let Some((pkey, stream)) = self.route_rtp(tkey, &packet) else {
            return;
        };

        // Into the router's form, once, in place.
        let Some(p) = self.producers.get_mut(pkey) else {
            return;
        };

        let Some(s) = p.streams.get_mut(stream) else {
            return;
        };
        s.stats
            .on_packet(packet.sequence_number(), packet.timestamp(), now);
        if p.paused {
            return;
        }
        let Some(&mapped_pt) = p.pt_map.get(packet.payload_type() as usize) else {
            return;
        };
        if mapped_pt == 0xFF {
            return;
        }
        packet.set_payload_type(mapped_pt);
        packet.set_ssrc(s.mapped_ssrc);
        packet.remap_extensions(&p.ext_map);
        let codec = p.codec_of.get(mapped_pt as usize).copied().flatten();
        let key_frame = codec.is_some_and(|c| is_keyframe(c, packet.payload()));
        let (seq, ts) = (packet.sequence_number(), packet.timestamp());

        let p = &self.producers[pkey];
        for &ckey in &p.consumers {
            let Some(c) = self.consumers.get_mut(ckey) else {
                continue;
            };
            if !c.is_active() || c.stream != stream || !c.payload_types[mapped_pt as usize & 0x7F] {
                continue;
            }
            let Some(t) = self.transports.get_mut(c.transport) else {
                continue;
            };
            let (Some((out_socket, to)), Some(srtp)) = (t.selected, t.srtp_out.as_mut()) else {
                continue;
            };
            if c.key_frame_required {
                if !key_frame {
                    continue;
                }
                c.key_frame_required = false;
                tracing::debug!(consumer = %c.id, seq, "consumer starts at a key frame");
            }
            if !c.rewriter.is_synced() {
                let elapsed = c
                    .last_sent
                    .map_or_else(Default::default, |t| now.saturating_duration_since(t));
                c.rewriter.sync(seq, ts, elapsed);
            }
            let Some(rewritten) = c.rewriter.rewrite(seq, ts) else {
                continue;
            };

            let mut out = self.outbox.buffer();
            let twcc = t.twcc_seq;
            write_with_extensions(&mut out, &packet, |w| {
                for e in packet.extensions() {
                    if c.ext_map.get(e.id) != 0 && e.id != c.mid_ext && e.id != c.twcc_ext {
                        w.push(e.id, e.data);
                    }
                }
                if c.mid_ext != 0 {
                    w.push(c.mid_ext, c.mid.as_bytes());
                }
                if c.twcc_ext != 0 {
                    w.push(c.twcc_ext, &twcc.to_be_bytes());
                }
            });
            if c.twcc_ext != 0 {
                t.twcc_seq = t.twcc_seq.wrapping_add(1);
            }
            let Ok(mut view) = RtpPacket::parse(&mut out[..]) else {
                self.outbox.recycle(out);
                continue;
            };
            view.set_ssrc(c.ssrc);
            view.set_sequence_number(rewritten.seq);
            view.set_timestamp(rewritten.timestamp);
            let payload_len = view.payload_len();
            let plain_len = out.len();
            out.resize(plain_len + SRTP_MAX_OVERHEAD, 0);
            match srtp.protect_rtp(&mut out, plain_len) {
                Ok(n) => {
                    out.truncate(n);
                    c.stats
                        .on_packet_sent(rewritten.timestamp, payload_len, now);
                    c.last_sent = Some(now);
                    self.outbox.push(out_socket, to, out);
                }
                Err(_) => self.outbox.recycle(out),
            }
        }
    }

    /// Which producer stream an incoming packet belongs to: by SSRC, or (first packet of a stream whose SSRC was not
    /// signalled) by its mid and rid header extensions, after which the SSRC is remembered.
    fn route_rtp<B: AsRef<[u8]>>(
        &mut self,
        tkey: TransportKey,
        packet: &RtpPacket<B>,
    ) -> Option<(super::ProducerKey, usize)> {
        let t = self.transports.get_mut(tkey)?;
        let ssrc = packet.ssrc();
        if let Some(&found) = t.ssrc_table.get(&ssrc) {
            return Some(found);
        }
        if t.rtx_ssrc_table.contains_key(&ssrc) {
            // Retransmissions are handled with NACK support; until then they are not forwarded.
            return None;
        }
        for &pkey in &t.producers {
            let Some(p) = self.producers.get_mut(pkey) else {
                continue;
            };
            let (Some(mid), Some(own)) = (
                (p.mid_ext != 0).then(|| packet.mid(p.mid_ext)).flatten(),
                p.rtp_parameters.mid.as_deref(),
            ) else {
                continue;
            };
            if mid != own {
                continue;
            }
            let stream = match (p.rid_ext != 0).then(|| packet.rid(p.rid_ext)).flatten() {
                Some(rid) => p.stream_by_rid(rid)?,
                None if p.streams.len() == 1 => 0,
                None => return None,
            };
            let s = p.streams.get_mut(stream)?;
            if s.ssrc.is_some() {
                // That stream already has an SSRC: this one is an RTX stream or a stray.
                return None;
            }
            s.ssrc = Some(ssrc);
            s.stats = crate::rtp::ReceiveStats::new(ssrc, s.clock_rate);
            t.ssrc_table.insert(ssrc, (pkey, stream));
            return Some((pkey, stream));
        }
        None
    }

    fn on_rtcp(&mut self, now: Instant, socket: usize, from: SocketAddr, buf: &mut [u8]) {
        let Some((tkey, len)) = self.unprotect(socket, from, buf, true) else {
            return;
        };
        if let Some(plain) = buf.get(..len) {
            super::rtcp::handle_incoming(self, now, tkey, plain);
        }
    }
}
