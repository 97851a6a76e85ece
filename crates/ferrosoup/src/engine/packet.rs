//! The datagram path: demultiplex by first byte (RFC 7983), then ICE, DTLS, or SRTP into the router.
//!
//! Incoming RTP is decrypted once, rewritten in place into the router's form (payload type, SSRC, extension ids), then
//! copied once per consumer, rewritten to the consumer's SSRC/sequence/timestamp and encrypted with the consumer's
//! transport keys. Buffers come from the outbox pool; nothing here allocates per packet in the steady state.

use std::net::SocketAddr;
use std::time::Instant;

use is::stun::StunMessage;

use super::consumer::ConsumerState;
use super::layers::{PacketLayers, Verdict};
use super::transport::TransportKey;
use super::transport::TransportState;
use super::Engine;
use crate::router::RouterEvent;
use crate::rtp::dependency_descriptor::{self, DdState, Descriptor, Dti, Structure};
use crate::rtp::picture_id::Vp8Continuity;
use crate::rtp::{
    classify_packet, is_keyframe, rtx_decode_in_place, rtx_encode_in_place,
    write_head_with_extensions, CodecKind, PacketClass, PayloadDescriptor, Rewritten, RtpPacket,
};
use crate::rtp_parameters::MediaKind;

/// Room an outgoing RTP packet needs beyond its plaintext for the SRTP tag (the largest of the profiles).
const SRTP_MAX_OVERHEAD: usize = 16;
/// A packet is retransmitted at most once per round trip (bounded; the default until RTCP measured one).
const DEFAULT_RTT: std::time::Duration = std::time::Duration::from_millis(100);
const MIN_RESEND_INTERVAL: std::time::Duration = std::time::Duration::from_millis(20);
const MAX_RESEND_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

impl Engine {
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        socket: usize,
        from: SocketAddr,
        buf: &mut [u8],
    ) {
        let class = classify_packet(buf);
        if socket >= self.candidates.len() {
            self.on_plain_datagram(now, socket, from, buf, class);
        } else {
            match class {
                PacketClass::Stun => self.on_stun(now, socket, from, buf),
                PacketClass::Dtls => self.on_dtls(now, socket, from, buf),
                PacketClass::Rtp => self.on_rtp(now, socket, from, buf),
                PacketClass::Rtcp => self.on_rtcp(now, socket, from, buf),
                PacketClass::Unknown => self.dropped.unclassified += 1,
            }
        }
        // RTP moves no transport's timer. DTLS and RTCP move only those of the transport they came from (STUN:
        // `on_stun`); from an address no transport knows, they were dropped.
        if matches!(class, PacketClass::Dtls | PacketClass::Rtcp) {
            if let Some(&key) = self.by_remote.get(&(socket, from)) {
                self.schedule(now, key);
            }
        }
        #[cfg(any(test, debug_assertions))]
        self.check_timers_armed(now);
    }

    fn on_stun(&mut self, now: Instant, socket: usize, from: SocketAddr, buf: &[u8]) {
        let Ok(message) = StunMessage::parse(buf) else {
            self.dropped.stun_malformed += 1;
            return;
        };
        if !message.is_binding_request() {
            self.dropped.stun_malformed += 1;
            return;
        }
        // The USERNAME's first half is our ufrag: that finds the transport even before we know the client's address.
        let key = message
            .split_username()
            .and_then(|(local, _)| self.by_ufrag.get(local).copied())
            .or_else(|| self.by_remote.get(&(socket, from)).copied());
        let Some(key) = key else {
            self.dropped.stun_unknown_ufrag += 1;
            return;
        };
        let Some(local) = self.candidates.get(socket).map(|c| c.local) else {
            return;
        };
        let Some(t) = self.transports.get_mut(key) else {
            return;
        };
        if !t.ice.handle_stun(now, local, from, message) {
            self.dropped.stun_rejected += 1;
            self.after_ice(key);
            self.schedule(now, key);
            return;
        }
        let tuple = (socket, from);
        if !t.remotes.contains(&tuple) {
            if let Some(evicted) = t.add_remote(tuple) {
                self.by_remote.remove(&evicted);
            }
            self.by_remote.insert(tuple, key);
        }
        let first_path = t.selected.is_none();
        if first_path {
            // Until the client nominates a pair, answer on the path its checks come from.
            t.selected = Some(tuple);
        }
        self.after_ice(key);
        if first_path {
            self.start_pending_dtls(now, key);
        }
        self.schedule(now, key);
    }

    fn on_dtls(&mut self, now: Instant, socket: usize, from: SocketAddr, buf: &[u8]) {
        let Some(&key) = self.by_remote.get(&(socket, from)) else {
            self.dropped.unknown_sender += 1;
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
            self.dropped.dtls_error += u64::from(event.is_failure());
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
        let Some(&tkey) = self.by_remote.get(&(socket, from)) else {
            self.dropped.unknown_sender += 1;
            return None;
        };
        let Some(t) = self.transports.get_mut(tkey) else {
            self.dropped.srtp_not_ready += 1;
            return None;
        };
        t.bytes_received += buf.len() as u64;
        let Some(srtp) = t.srtp_in.as_mut() else {
            self.dropped.srtp_not_ready += 1;
            return None;
        };
        let len = if rtcp {
            srtp.unprotect_rtcp(buf)
        } else {
            srtp.unprotect_rtp(buf)
        };
        len.map(|len| (tkey, len))
            .map_err(|e| self.dropped.srtp(e))
            .ok()
    }

    pub(super) fn on_rtp(&mut self, now: Instant, socket: usize, from: SocketAddr, buf: &mut [u8]) {
        let Some((tkey, len)) = self.unprotect(socket, from, buf, false) else {
            return;
        };
        self.on_clear_rtp(now, tkey, buf, len);
    }

    /// An RTP packet of transport `tkey`, decrypted in place into `buf[..len]`.
    pub(super) fn on_clear_rtp(
        &mut self,
        now: Instant,
        tkey: TransportKey,
        buf: &mut [u8],
        len: usize,
    ) {
        let Some((pkey, stream, rtx)) = self.classify_rtp(now, tkey, buf.get(..len).unwrap_or(&[]))
        else {
            self.dropped.rtp_unknown_ssrc += 1;
            return;
        };
        let len = if rtx {
            // A retransmission: restore the original packet and treat it as a late arrival of it.
            let (Some(p), Some(pt)) = (self.producers.get(pkey), buf.get(1).map(|b| b & 0x7F))
            else {
                return;
            };
            let (Some(&original_pt), Some(original_ssrc)) = (
                p.rtx_apt.get(pt as usize),
                p.streams.get(stream).and_then(|s| s.ssrc),
            ) else {
                return;
            };
            // Padding-only probes (no original sequence number) end here.
            let n = match rtx_decode_in_place(buf, len, original_pt, original_ssrc) {
                Some(n) if original_pt != 0xFF => n,
                _ => return,
            };
            if let Some(s) = self
                .producers
                .get_mut(pkey)
                .and_then(|p| p.streams.get_mut(stream))
            {
                s.retransmitted += 1;
            }
            n
        } else {
            len
        };
        if let Some(plain) = buf.get_mut(..len) {
            self.forward_rtp(now, pkey, stream, plain);
        }
    }

    /// Turns a producer stream's packet (decrypted, RTX restored) into the router's form and sends it to the
    /// producer's consumers and pipes.
    pub(super) fn forward_rtp(
        &mut self,
        now: Instant,
        pkey: super::ProducerKey,
        stream: usize,
        plain: &mut [u8],
    ) {
        let len = plain.len();
        let Ok(mut packet) = RtpPacket::parse(plain) else {
            self.dropped.rtp_malformed += 1;
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
        if p.nack {
            s.nack.on_packet(packet.sequence_number());
            if s.nack.has_missing() {
                self.next_feedback.get_or_insert(now);
            }
        }
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
        let dd = packet.extension(p.dd_ext).and_then(|data| s.dd.parse(data));
        let layers = packet_layers(codec, stream, packet.payload(), dd.as_ref(), &s.dd);
        s.meter
            .on_packet(now, layers.spatial_id, layers.temporal_id, len);
        s.bytes += len as u64;
        let (seq, ts) = (packet.sequence_number(), packet.timestamp());
        if let Some(ring) = s.ring.as_mut() {
            let outbox = &mut self.outbox;
            ring.store(seq, packet.as_bytes(), || outbox.buffer());
        }

        let p = &self.producers[pkey];
        if !p.pipe_sinks.is_empty() {
            self.dropped.pipe_full +=
                super::pipe::send_rtp(&p.pipe_sinks, packet.as_bytes(), self.arrival) as u64;
        }
        // What consumers need to rewrite the dependency descriptor; the active decode targets only where the
        // selector filters by it (AV1).
        let dd = dd.and_then(|d| {
            let state = &p.streams.get(stream)?.dd;
            Some(DdInfo {
                descriptor: d,
                structure: state.structure()?,
                sender_active: state.active_decode_targets(),
                filtered: codec == Some(CodecKind::Av1),
            })
        });
        // Streams of this producer whose key frame a forwarding consumer waits for (to switch to it), one bit each.
        let mut key_frames_wanted: u64 = 0;
        self.warm_fanout(&p.consumers);
        for &ckey in &p.consumers {
            let Some(c) = self.consumers.get_mut(ckey) else {
                continue;
            };
            if !c.is_active() || !c.accepts(mapped_pt) {
                continue;
            }
            let Some(t) = self.transports.get_mut(c.transport) else {
                continue;
            };
            if t.selected.is_none() || t.srtp_out.is_none() {
                continue;
            }
            let (mut resync, mut end_of_picture) = (false, false);
            if let Some(selector) = c.layers.as_mut() {
                match selector.on_packet(layers) {
                    Verdict::Ignore => continue,
                    Verdict::Drop => {
                        if c.rewriter.is_synced() {
                            c.rewriter.drop_packet(seq);
                        }
                        continue;
                    }
                    Verdict::Forward {
                        resync: r,
                        end_of_picture: e,
                    } => (resync, end_of_picture) = (r, e),
                }
                if selector.changed {
                    selector.changed = false;
                    if let Some(router) = self.routers.get(&t.router) {
                        router.emit(RouterEvent::ConsumerLayersChanged {
                            consumer_id: c.id,
                            layers: selector.current,
                        });
                    }
                }
                if selector.needs_key_frame() {
                    key_frames_wanted |= 1u64 << (c.wanted_stream() & 63);
                }
            }
            if resync {
                tracing::debug!(consumer = %c.id, seq, stream, "consumer starts at a key frame");
                c.rewriter.require_sync();
                if let Some(vp8) = c.vp8.as_mut() {
                    vp8.require_sync();
                }
                c.dd_frames.require_sync();
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
            let Some((payload_len, twcc, rest)) = write_consumer_packet(
                &mut out,
                &packet,
                c,
                t,
                rewritten,
                end_of_picture,
                dd,
                false,
            ) else {
                self.outbox.recycle(out);
                continue;
            };
            let (Some((out_socket, to)), Some(srtp)) = (t.selected, t.srtp_out.as_mut()) else {
                self.outbox.recycle(out);
                continue;
            };
            let tail = packet.as_bytes().get(rest..).unwrap_or_default();
            match srtp.protect_rtp_append(&mut out, tail) {
                Ok(()) => {
                    let n = out.len();
                    c.stats
                        .on_packet_sent(rewritten.timestamp, payload_len, now);
                    if let Some(sent) = c.sent.as_mut() {
                        sent.record(
                            rewritten.seq,
                            seq,
                            rewritten.timestamp,
                            stream,
                            end_of_picture,
                        );
                    }
                    c.last_sent = Some(now);
                    c.bytes_sent += n as u64;
                    t.on_sent(now, n, c.kind == MediaKind::Audio, twcc);
                    self.outbox.push(out_socket, to, out);
                }
                Err(_) => self.outbox.recycle(out),
            }
        }
        // Asked per stream and throttled there (one timestamp compare when nothing is due).
        while key_frames_wanted != 0 {
            let stream = key_frames_wanted.trailing_zeros() as usize;
            key_frames_wanted &= key_frames_wanted - 1;
            super::rtcp::request_key_frame(self, now, pkey, Some(stream));
        }
    }

    /// Asks for the state every copy of a fan-out to `consumers` will touch, before the first copy is made (see
    /// `crate::prefetch`). The state is a chain of pointers per consumer (consumer → transport → SRTP context → key),
    /// so the walk goes one level per pass over all consumers: each pass reads only addresses the pass before asked
    /// for, and its loads are independent of each other, so the CPU overlaps every consumer's misses of a level
    /// instead of following a few consumers' chains at a time.
    fn warm_fanout(&self, consumers: &[super::ConsumerKey]) {
        // In chunks, so that each level's references fit on the stack and each arena is looked up once per copy.
        const CHUNK: usize = 64;
        for chunk in consumers.chunks(CHUNK) {
            let mut states = [None; CHUNK];
            for (state, &ckey) in states.iter_mut().zip(chunk) {
                *state = self.consumers.get(ckey);
                if let Some(c) = state {
                    c.prefetch(0);
                }
            }
            let mut transports = [None; CHUNK];
            for (transport, c) in transports.iter_mut().zip(states.iter().flatten()) {
                c.prefetch(1);
                *transport = self.transports.get(c.transport);
                if let Some(t) = transport {
                    t.prefetch(0);
                }
            }
            for depth in 1..3 {
                for t in transports.iter().flatten() {
                    t.prefetch(depth);
                }
            }
        }
    }

    /// Resends what a consumer's client reported lost (RTX when negotiated, else the packet as it was), from the
    /// producer stream's recent packets.
    pub(super) fn retransmit(
        &mut self,
        now: Instant,
        tkey: TransportKey,
        media_ssrc: u32,
        lost: impl Iterator<Item = u16>,
    ) {
        let Some(&ckey) = self
            .transports
            .get(tkey)
            .and_then(|t| t.consumer_ssrcs.get(&media_ssrc))
        else {
            return;
        };
        let Some(c) = self.consumers.get_mut(ckey) else {
            return;
        };
        let (true, Some(p)) = (c.sent.is_some(), self.producers.get(c.producer)) else {
            return;
        };
        let Some(t) = self.transports.get_mut(c.transport) else {
            return;
        };
        c.nack_count += 1;
        for out_seq in lost {
            c.nack_packet_count += 1;
            let Some((in_seq, out_ts, stream, end_of_picture)) =
                c.sent.as_ref().and_then(|s| s.lookup(out_seq))
            else {
                continue;
            };
            // Once per round trip at most (mediasoup does the same), however often the client asks.
            let interval = c
                .stats
                .rtt()
                .unwrap_or(DEFAULT_RTT)
                .clamp(MIN_RESEND_INTERVAL, MAX_RESEND_INTERVAL);
            if !c
                .sent
                .as_mut()
                .is_some_and(|s| s.may_resend(out_seq, now, interval))
            {
                continue;
            }
            let Some(original) = p
                .streams
                .get(stream)
                .and_then(|s| s.ring.as_ref())
                .and_then(|ring| ring.get(in_seq))
                .and_then(|b| RtpPacket::parse(b).ok())
            else {
                continue;
            };
            let mut out = self.outbox.buffer();
            let rewritten = Rewritten {
                seq: out_seq,
                timestamp: out_ts,
            };
            // The marker as it was first sent (set where the selection cut the picture's upper layers).
            // Whole: RTX moves the payload to make room for the original sequence number.
            let Some((_, twcc, _)) = write_consumer_packet(
                &mut out,
                &original,
                c,
                t,
                rewritten,
                end_of_picture,
                None,
                true,
            ) else {
                self.outbox.recycle(out);
                continue;
            };
            let mut len = out.len();
            out.resize(len + 2 + SRTP_MAX_OVERHEAD, 0);
            if let (Some(pt), Some(ssrc)) = (c.rtx_pt, c.rtx_ssrc) {
                match rtx_encode_in_place(&mut out, len, pt, ssrc, c.rtx_seq) {
                    Ok(n) => {
                        len = n;
                        c.rtx_seq = c.rtx_seq.wrapping_add(1);
                    }
                    Err(_) => {
                        self.outbox.recycle(out);
                        continue;
                    }
                }
            }
            let (Some((socket, to)), Some(srtp)) = (t.selected, t.srtp_out.as_mut()) else {
                self.outbox.recycle(out);
                return;
            };
            match srtp.protect_rtp(&mut out, len) {
                Ok(n) => {
                    out.truncate(n);
                    c.retransmitted += 1;
                    t.on_sent(now, n, c.kind == MediaKind::Audio, twcc);
                    self.outbox.push(socket, to, out);
                }
                Err(_) => self.outbox.recycle(out),
            }
        }
    }

    /// Records the packet for congestion control and finds the producer stream it belongs to: by SSRC (media or
    /// RTX), or — first packet of a stream whose SSRC was not signalled — by its mid and rid header extensions, after
    /// which the SSRC is remembered. Returns (producer, stream, is RTX).
    fn classify_rtp(
        &mut self,
        now: Instant,
        tkey: TransportKey,
        bytes: &[u8],
    ) -> Option<(super::ProducerKey, usize, bool)> {
        let packet = RtpPacket::parse(bytes).ok()?;
        let t = self.transports.get_mut(tkey)?;
        // Every packet with a transport-wide sequence number counts for congestion control, including ones that are
        // not forwarded (padding probes): the sender would read a gap as loss.
        if let Some(seq) = (t.twcc_ext != 0)
            .then(|| packet.transport_wide_cc_seq(t.twcc_ext))
            .flatten()
        {
            t.twcc.record(seq, packet.ssrc(), now);
            self.next_feedback
                .get_or_insert(now + super::FEEDBACK_INTERVAL);
        }
        let ssrc = packet.ssrc();
        if let Some(&(pkey, stream)) = t.ssrc_table.get(&ssrc) {
            return Some((pkey, stream, false));
        }
        if let Some(&(pkey, stream)) = t.rtx_ssrc_table.get(&ssrc) {
            return Some((pkey, stream, true));
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
            return Some((pkey, stream, false));
        }
        None
    }

    pub(super) fn on_rtcp(
        &mut self,
        now: Instant,
        socket: usize,
        from: SocketAddr,
        buf: &mut [u8],
    ) {
        let Some((tkey, len)) = self.unprotect(socket, from, buf, true) else {
            return;
        };
        if let Some(plain) = buf.get(..len) {
            super::rtcp::handle_incoming(self, now, tkey, plain);
        }
    }
}

/// A packet's dependency descriptor, resolved against its stream's structure.
#[derive(Clone, Copy)]
struct DdInfo<'a> {
    descriptor: Descriptor,
    structure: &'a Structure,
    /// The decode targets the sender says are active (its last bitmask).
    sender_active: u32,
    /// The selector filters this stream's layers by the descriptor: tell receivers which decode targets remain.
    filtered: bool,
}

/// Writes the consumer's copy of a router-form packet into `out`: its own extension block (the extensions it
/// negotiated, its mid, the transport's next transport-wide sequence number, its dependency descriptor), SSRC,
/// sequence number and timestamp. Returns the payload length and the transport-wide sequence number it got (for the
/// bandwidth estimator). `dd`: the parsed descriptor of a packet forwarded now (`None` for a retransmission, whose
/// descriptor only gets its frame number mapped).
#[allow(clippy::too_many_arguments)]
fn write_consumer_packet<B: AsRef<[u8]>>(
    out: &mut Vec<u8>,
    packet: &RtpPacket<B>,
    c: &mut ConsumerState,
    t: &mut TransportState,
    rewritten: Rewritten,
    end_of_picture: bool,
    dd: Option<DdInfo<'_>>,
    whole: bool,
) -> Option<(usize, Option<u16>, usize)> {
    let twcc = t.twcc_seq;
    // Only the payload bytes this consumer rewrites are copied, unless asked for the whole packet; the rest is
    // encrypted from `packet` (`protect_rtp_append`). A padded packet is copied whole: the view below finds its
    // padding at the end of what was copied.
    let head = if whole || packet.has_padding() {
        usize::MAX
    } else if c.vp8.is_some() {
        Vp8Continuity::HEAD
    } else {
        0
    };
    let rest = write_head_with_extensions(out, packet, head, |w| {
        for e in packet.extensions() {
            if c.ext_map.get(e.id) != 0 && e.id != c.mid_ext && e.id != c.twcc_ext {
                if e.id == c.dd_ext {
                    let mut dd_buf = [0u8; dependency_descriptor::MAX_LEN];
                    if let Some(data) =
                        consumer_dd(c, e.data, dd, &mut dd_buf).and_then(|n| dd_buf.get(..n))
                    {
                        w.push(e.id, data);
                    }
                    continue;
                }
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
    let twcc = (c.twcc_ext != 0).then(|| {
        t.twcc_seq = t.twcc_seq.wrapping_add(1);
        twcc
    });
    let mut view = RtpPacket::parse(&mut out[..]).ok()?;
    view.set_ssrc(c.ssrc);
    view.set_sequence_number(rewritten.seq);
    view.set_timestamp(rewritten.timestamp);
    if end_of_picture {
        view.set_marker(true);
    }
    if let Some(vp8) = c.vp8.as_mut() {
        vp8.rewrite(view.payload_mut());
    }
    Some((packet.payload_len(), twcc, rest))
}

/// The consumer's dependency descriptor, in `buf`: frame number continuous across stream switches and, where the
/// selector filters by it, the active decode targets limited to the layers forwarded. Returns its length.
fn consumer_dd(
    c: &mut ConsumerState,
    src: &[u8],
    dd: Option<DdInfo<'_>>,
    buf: &mut [u8; dependency_descriptor::MAX_LEN],
) -> Option<usize> {
    let Some(info) = dd else {
        // Unparsed (no structure yet) or a retransmission: only the frame number changes.
        let frame = crate::rtp::bytes::u16_at(src, 1)?;
        return dependency_descriptor::rewrite_frame_number(src, c.dd_frames.peek(frame), buf);
    };
    let d = &info.descriptor;
    let s = info.structure;
    let frame = c.dd_frames.map(d.frame_number);
    let active = c
        .layers
        .as_ref()
        .and_then(|l| l.current.map(|cur| (l.svc, cur)))
        .filter(|_| info.filtered && s.decode_target_count > 1)
        .map(|(svc, cur)| {
            // Simulcast: each stream's descriptor has spatial id 0, whichever stream it is.
            let spatial = if svc { cur.spatial_layer } else { u8::MAX };
            let mask = s.decode_targets_up_to(spatial, cur.temporal_layer);
            mask & info.sender_active
        });
    dependency_descriptor::rewrite(src, d, s.decode_target_count, frame, active, buf)
}

/// What the layer selection needs to know about a packet, from its payload descriptor (and, for AV1, its dependency
/// descriptor).
fn packet_layers(
    codec: Option<CodecKind>,
    stream: usize,
    payload: &[u8],
    dd: Option<&Descriptor>,
    dd_state: &DdState,
) -> PacketLayers {
    let mut layers = PacketLayers {
        stream,
        ..Default::default()
    };
    if let (Some(CodecKind::Av1), Some(d), Some(s)) = (codec, dd, dd_state.structure()) {
        layers.key_frame = d.is_key_frame() || is_keyframe(CodecKind::Av1, payload);
        layers.frame_start = d.start_of_frame && d.spatial_id == 0;
        layers.layer_frame_start = d.start_of_frame;
        layers.end_of_frame = d.end_of_frame;
        layers.temporal_id = Some(d.temporal_id);
        layers.spatial_id = Some(d.spatial_id);
        for dt in 0..s.decode_target_count as usize {
            let (sid, tid) = s.decode_target_layers[dt];
            if d.dti(dt) == Dti::Switch && sid < 4 && tid < 4 {
                layers.switch_points |= 1 << (4 * sid + tid);
            }
        }
        layers.layer_sync =
            layers.is_switch_point(super::layers::Layers::new(d.spatial_id, d.temporal_id));
        return layers;
    }
    let Some(descriptor) = codec.and_then(|c| PayloadDescriptor::parse(c, payload)) else {
        return layers;
    };
    layers.key_frame = descriptor.is_keyframe();
    layers.temporal_id = descriptor.temporal_id();
    match descriptor {
        PayloadDescriptor::Vp8(d) => {
            layers.frame_start = d.start_of_partition && d.partition_id == 0;
            layers.layer_sync = d.layer_sync;
        }
        PayloadDescriptor::Vp9(d) => {
            layers.frame_start = d.start_of_frame && d.spatial_id.unwrap_or(0) == 0;
            layers.layer_sync = d.switching_up;
            layers.spatial_id = d.spatial_id;
            layers.end_of_frame = d.end_of_frame;
        }
        _ => layers.frame_start = true,
    }
    layers
}
