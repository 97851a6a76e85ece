//! Which layers of a simulcast or SVC producer one consumer forwards, and when it may switch.
//!
//! Three layer pairs per consumer: `preferred` (what the application asked for, `setConsumerPreferredLayers`),
//! `target` (what the bandwidth allocation grants, never above preferred) and `current` (what is being forwarded now).
//! `current` follows `target` only where the receiver's decoder can follow:
//!
//! - a new spatial layer (another simulcast stream) starts at one of its key frames, which is requested when the
//!   target changes;
//! - a higher temporal layer starts at a frame that is a layer sync point (VP8 `Y` bit, VP9 `U` bit, AV1: the
//!   dependency descriptor marks the frame a switch point of that layer's decode target) or a key frame;
//! - a lower temporal layer takes effect at the next frame start, so no frame is cut in half.
//!
//! Packets of the current stream above the current temporal layer are dropped (the rewriter closes the sequence gap).
//!
//! SVC (VP9 `L3T3_KEY` and the like) carries every spatial layer in one stream: there spatial layers are filtered
//! by the descriptor's spatial id, a higher one starts at a key frame (K-SVC layers depend on each other only there),
//! a lower one at the next picture, and the last packet of the highest forwarded layer gets the marker bit (the
//! receiver's end of picture).
//!
//! AV1 carries its layer ids in the dependency descriptor extension (`rtp::dependency_descriptor`); besides key
//! frames, a frame the descriptor marks as a switch point of the target's decode target lets the selector go up.

pub(crate) use crate::consumer::ConsumerLayers as Layers;

/// What to do with one packet of the producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Not from the stream this consumer forwards: not its business (no sequence number is taken).
    Ignore,
    /// From the forwarded stream but above the current temporal layer: skipped, its sequence number closed up.
    Drop,
    /// Send it. `resync`: it starts a new stream (spatial switch), so sequence numbers and timestamps continue from
    /// what was last sent and codec picture ids are re-based. `end_of_picture`: set its marker bit (SVC: the last
    /// packet of the highest layer forwarded).
    Forward { resync: bool, end_of_picture: bool },
}

/// What the packet path knows about a packet, for the selector.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PacketLayers {
    pub stream: usize,
    pub key_frame: bool,
    pub frame_start: bool,
    pub temporal_id: Option<u8>,
    pub layer_sync: bool,
    /// SVC: the spatial layer of the packet, and whether it ends that layer's frame.
    pub spatial_id: Option<u8>,
    pub end_of_frame: bool,
    /// The first packet of a frame of any spatial layer (`frame_start` is only the first of a picture).
    pub layer_frame_start: bool,
    /// AV1 dependency descriptor: bit `4 * spatial + temporal` set when the frame is a switch point of the decode
    /// target made of those layers (spatial and temporal ids below 4).
    pub switch_points: u16,
}

impl PacketLayers {
    /// Whether the receiver may start decoding `layers` at this frame (besides key frames).
    pub fn is_switch_point(&self, layers: Layers) -> bool {
        let bit = 4 * u32::from(layers.spatial_layer) + u32::from(layers.temporal_layer);
        layers.spatial_layer < 4
            && layers.temporal_layer < 4
            && self.switch_points & (1 << bit) != 0
    }
}

#[derive(Debug, Clone)]
pub(crate) struct LayerSelector {
    /// Spatial layers inside one stream (SVC) rather than one stream each (simulcast).
    pub svc: bool,
    /// Simulcast streams or SVC spatial layers (1 for a simple producer).
    pub spatial_layers: u8,
    /// Temporal layers per stream (1 when the codec carries no temporal ids).
    pub temporal_layers: u8,
    pub preferred: Layers,
    pub target: Layers,
    pub current: Option<Layers>,
    /// `current` changed since the owner last looked (for `layerschange` events).
    pub changed: bool,
}

impl LayerSelector {
    pub fn new(spatial_layers: u8, temporal_layers: u8, svc: bool) -> Self {
        let top = Layers::new(
            spatial_layers.saturating_sub(1),
            temporal_layers.saturating_sub(1),
        );
        LayerSelector {
            svc,
            spatial_layers: spatial_layers.max(1),
            temporal_layers: temporal_layers.max(1),
            preferred: top,
            target: top,
            current: None,
            changed: false,
        }
    }

    /// The producer stream that carries these layers: one per spatial layer for simulcast, the only one for SVC.
    pub fn stream_of(&self, layers: Layers) -> usize {
        if self.svc {
            0
        } else {
            layers.spatial_layer as usize
        }
    }

    /// The highest layers this consumer can have.
    pub fn max(&self) -> Layers {
        Layers::new(self.spatial_layers - 1, self.temporal_layers - 1)
    }

    /// Clamps what the application asks for to what exists.
    pub fn set_preferred(&mut self, preferred: Layers) {
        let max = self.max();
        self.preferred = Layers::new(
            preferred.spatial_layer.min(max.spatial_layer),
            preferred.temporal_layer.min(max.temporal_layer),
        );
    }

    /// Sets the target (clamped to preferred). Returns whether a key frame of the target stream is now needed.
    pub fn set_target(&mut self, target: Layers) -> bool {
        self.target = Layers::new(
            target.spatial_layer.min(self.preferred.spatial_layer),
            target.temporal_layer.min(self.preferred.temporal_layer),
        );
        self.needs_key_frame()
    }

    /// Waiting for a key frame of the target stream (to start, or to switch to it).
    pub fn needs_key_frame(&self) -> bool {
        match self.current {
            None => true,
            Some(c) if self.svc => c.spatial_layer < self.target.spatial_layer,
            Some(c) => c.spatial_layer != self.target.spatial_layer,
        }
    }

    /// Forget what is being forwarded: the next packet sent must start at a key frame (resume, first start).
    pub fn restart(&mut self) {
        if self.current.is_some() {
            self.changed = true;
        }
        self.current = None;
    }

    pub fn on_packet(&mut self, p: PacketLayers) -> Verdict {
        if self.svc {
            return self.on_svc_packet(p);
        }
        let stream = p.stream.min(u8::MAX as usize) as u8;
        let mut resync = false;
        let current = match self.current {
            Some(c) if c.spatial_layer == stream => c,
            _ if stream == self.target.spatial_layer && p.key_frame => {
                // A key frame of the target stream: switch to it. All temporal layers can start at a key frame.
                resync = true;
                Layers::new(stream, self.target.temporal_layer)
            }
            _ => return Verdict::Ignore,
        };
        let mut next = current;
        if let (Some(tid), true) = (p.temporal_id, self.temporal_layers > 1) {
            if p.frame_start {
                self.follow_temporal(&p, tid, p.spatial_id.unwrap_or(0), &mut next);
            }
            if tid > next.temporal_layer {
                self.set_current(next);
                return Verdict::Drop;
            }
        }
        self.set_current(next);
        Verdict::Forward {
            resync,
            end_of_picture: false,
        }
    }

    fn on_svc_packet(&mut self, p: PacketLayers) -> Verdict {
        let (sid, tid) = (p.spatial_id.unwrap_or(0), p.temporal_id.unwrap_or(0));
        let (mut next, resync) = match self.current {
            Some(c) => (c, false),
            None if p.key_frame => (self.target, true),
            None => return Verdict::Ignore,
        };
        // Decisions are taken where a picture starts (its first packet, spatial layer 0).
        if p.frame_start {
            // Down at any picture; up only at a key picture or where the dependency structure allows it.
            if self.target.spatial_layer < next.spatial_layer
                || p.key_frame
                || p.is_switch_point(self.target)
            {
                next.spatial_layer = self.target.spatial_layer;
            }
            self.follow_temporal(&p, tid, next.spatial_layer, &mut next);
        } else if p.layer_frame_start
            && sid == next.spatial_layer
            && tid <= next.temporal_layer
            && self.target.temporal_layer > next.temporal_layer
            && p.is_switch_point(Layers::new(sid, self.target.temporal_layer))
        {
            // AV1 K-SVC: an upper spatial layer's frame can be the switch point of its decode target when the
            // picture's base frame is not (it is not part of that decode target). The lower layers' frames of this
            // picture were forwarded (same temporal layer), so nothing it may need is missing.
            next.temporal_layer = self.target.temporal_layer;
        }
        self.set_current(next);
        if sid > next.spatial_layer || tid > next.temporal_layer {
            return Verdict::Drop;
        }
        Verdict::Forward {
            resync,
            end_of_picture: sid == next.spatial_layer && p.end_of_frame,
        }
    }

    /// At a frame start: down to the target temporal layer at once; up where the frame allows it: at a layer sync
    /// point or key frame up to the frame's own layer, or (AV1) straight to the target where the dependency
    /// descriptor marks the frame a switch point of the target's decode target (`spatial`: the decode target's
    /// spatial id within the stream).
    fn follow_temporal(&self, p: &PacketLayers, tid: u8, spatial: u8, next: &mut Layers) {
        let target = self.target.temporal_layer;
        if target > next.temporal_layer && p.is_switch_point(Layers::new(spatial, target)) {
            next.temporal_layer = target;
        } else if tid > next.temporal_layer && tid <= target && (p.layer_sync || p.key_frame) {
            next.temporal_layer = tid;
        } else if target < next.temporal_layer {
            next.temporal_layer = target;
        }
    }

    fn set_current(&mut self, next: Layers) {
        if self.current != Some(next) {
            self.current = Some(next);
            self.changed = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(stream: usize, key: bool, tid: Option<u8>, sync: bool) -> PacketLayers {
        PacketLayers {
            stream,
            key_frame: key,
            frame_start: true,
            temporal_id: tid,
            layer_sync: sync,
            ..Default::default()
        }
    }

    fn svc(sid: u8, tid: u8, picture_start: bool, key: bool, end: bool) -> PacketLayers {
        PacketLayers {
            stream: 0,
            key_frame: key,
            frame_start: picture_start,
            temporal_id: Some(tid),
            layer_sync: false,
            spatial_id: Some(sid),
            end_of_frame: end,
            layer_frame_start: picture_start,
            switch_points: 0,
        }
    }

    #[test]
    fn av1_temporal_up_at_a_switch_point_of_the_target_decode_target() {
        let mut s = LayerSelector::new(1, 3, false);
        s.set_target(Layers::new(0, 0));
        s.on_packet(pkt(0, true, Some(0), false));
        s.set_target(Layers::new(0, 2));
        // A T1 frame that is no switch point of decode target (0, 2): T1 and T2 still dropped.
        let mut t1 = pkt(0, false, Some(1), false);
        t1.switch_points = 1 << 1;
        assert_eq!(s.on_packet(t1), Verdict::Drop);
        // A T0 frame that is (as in libwebrtc's L1T3): straight to T2.
        let mut t0 = pkt(0, false, Some(0), false);
        t0.switch_points = 0b111;
        s.on_packet(t0);
        assert_eq!(s.current, Some(Layers::new(0, 2)));
        assert!(matches!(s.on_packet(t1), Verdict::Forward { .. }));
    }

    #[test]
    fn av1_svc_goes_up_at_a_switch_point_of_the_target() {
        let mut s = LayerSelector::new(3, 3, true);
        s.set_target(Layers::new(0, 2));
        s.on_packet(svc(0, 0, true, true, true));
        assert_eq!(s.current, Some(Layers::new(0, 2)));
        s.set_target(Layers::new(1, 2));
        // A picture whose frames are no switch point of (1, 2): stays at layer 0.
        let mut p = svc(0, 0, true, false, true);
        p.switch_points = 1 << 2;
        s.on_packet(p);
        assert_eq!(s.current, Some(Layers::new(0, 2)));
        p.switch_points |= 1 << (4 + 2);
        assert!(p.is_switch_point(Layers::new(1, 2)));
        s.on_packet(p);
        assert_eq!(s.current, Some(Layers::new(1, 2)));
        assert_eq!(
            s.on_packet(svc(1, 0, false, false, true)),
            Verdict::Forward {
                resync: false,
                end_of_picture: true
            }
        );
        // Temporal: down at once, up at the layer-1 frame that is a switch point of decode target (1, 2).
        s.set_target(Layers::new(1, 0));
        s.on_packet(svc(0, 0, true, false, false));
        assert_eq!(s.current, Some(Layers::new(1, 0)));
        s.set_target(Layers::new(1, 2));
        s.on_packet(svc(0, 0, true, false, false));
        assert_eq!(s.current, Some(Layers::new(1, 0)));
        let mut upper = svc(1, 0, false, false, true);
        upper.layer_frame_start = true;
        upper.switch_points = 1 << (4 + 2);
        s.on_packet(upper);
        assert_eq!(s.current, Some(Layers::new(1, 2)));
    }

    #[test]
    fn svc_filters_spatial_layers_and_marks_the_picture_end() {
        let mut s = LayerSelector::new(3, 1, true);
        s.set_target(Layers::new(1, 0));
        assert_eq!(s.on_packet(svc(0, 0, true, false, true)), Verdict::Ignore);
        // Key picture: layers 0, 1, 2; layer 1 is the top forwarded, its end gets the marker.
        assert_eq!(
            s.on_packet(svc(0, 0, true, true, true)),
            Verdict::Forward {
                resync: true,
                end_of_picture: false
            }
        );
        assert_eq!(
            s.on_packet(svc(1, 0, false, false, true)),
            Verdict::Forward {
                resync: false,
                end_of_picture: true
            }
        );
        assert_eq!(s.on_packet(svc(2, 0, false, false, true)), Verdict::Drop);
        // Up to layer 2 only at a key picture.
        assert!(s.set_target(Layers::new(2, 0)));
        assert_eq!(
            s.on_packet(svc(0, 0, true, false, true)),
            Verdict::Forward {
                resync: false,
                end_of_picture: false
            }
        );
        assert_eq!(s.on_packet(svc(2, 0, false, false, true)), Verdict::Drop);
        s.on_packet(svc(0, 0, true, true, true));
        assert_eq!(s.current, Some(Layers::new(2, 0)));
        assert_eq!(
            s.on_packet(svc(2, 0, false, false, true)),
            Verdict::Forward {
                resync: false,
                end_of_picture: true
            }
        );
        // Down at the next picture, no key frame needed.
        assert!(!s.set_target(Layers::new(0, 0)));
        s.on_packet(svc(0, 0, true, false, true));
        assert_eq!(s.current, Some(Layers::new(0, 0)));
        assert_eq!(s.on_packet(svc(1, 0, false, false, true)), Verdict::Drop);
    }

    #[test]
    fn starts_at_a_key_frame_of_the_target_stream() {
        let mut s = LayerSelector::new(3, 3, false);
        assert_eq!(s.target, Layers::new(2, 2));
        assert_eq!(s.on_packet(pkt(2, false, Some(0), false)), Verdict::Ignore);
        assert_eq!(s.on_packet(pkt(0, true, Some(0), false)), Verdict::Ignore);
        assert_eq!(
            s.on_packet(pkt(2, true, Some(0), false)),
            Verdict::Forward {
                resync: true,
                end_of_picture: false
            }
        );
        assert_eq!(s.current, Some(Layers::new(2, 2)));
        assert_eq!(s.on_packet(pkt(1, false, Some(0), false)), Verdict::Ignore);
        assert_eq!(
            s.on_packet(pkt(2, false, Some(2), false)),
            Verdict::Forward {
                resync: false,
                end_of_picture: false
            }
        );
    }

    #[test]
    fn spatial_switch_waits_for_the_key_frame() {
        let mut s = LayerSelector::new(3, 1, false);
        s.on_packet(pkt(2, true, None, false));
        assert!(s.set_target(Layers::new(0, 0)));
        // The old stream keeps flowing until the new one has a key frame.
        assert_eq!(
            s.on_packet(pkt(2, false, None, false)),
            Verdict::Forward {
                resync: false,
                end_of_picture: false
            }
        );
        assert_eq!(s.on_packet(pkt(0, false, None, false)), Verdict::Ignore);
        assert_eq!(
            s.on_packet(pkt(0, true, None, false)),
            Verdict::Forward {
                resync: true,
                end_of_picture: false
            }
        );
        assert_eq!(s.on_packet(pkt(2, false, None, false)), Verdict::Ignore);
        assert!(!s.needs_key_frame());
    }

    #[test]
    fn temporal_up_at_sync_points_down_at_frame_starts() {
        let mut s = LayerSelector::new(1, 3, false);
        s.set_target(Layers::new(0, 0));
        assert_eq!(
            s.on_packet(pkt(0, true, Some(0), false)),
            Verdict::Forward {
                resync: true,
                end_of_picture: false
            }
        );
        assert_eq!(s.on_packet(pkt(0, false, Some(1), true)), Verdict::Drop);
        s.set_target(Layers::new(0, 2));
        // Not a sync point: still dropped.
        assert_eq!(s.on_packet(pkt(0, false, Some(2), false)), Verdict::Drop);
        assert_eq!(
            s.on_packet(pkt(0, false, Some(1), true)),
            Verdict::Forward {
                resync: false,
                end_of_picture: false
            }
        );
        assert_eq!(s.current, Some(Layers::new(0, 1)));
        assert_eq!(
            s.on_packet(pkt(0, false, Some(2), true)),
            Verdict::Forward {
                resync: false,
                end_of_picture: false
            }
        );
        s.set_target(Layers::new(0, 0));
        // Mid-frame packets of the layer being left still go out.
        let mid = PacketLayers {
            frame_start: false,
            ..pkt(0, false, Some(2), false)
        };
        assert_eq!(
            s.on_packet(mid),
            Verdict::Forward {
                resync: false,
                end_of_picture: false
            }
        );
        assert_eq!(s.on_packet(pkt(0, false, Some(2), false)), Verdict::Drop);
        assert_eq!(s.current, Some(Layers::new(0, 0)));
    }

    #[test]
    fn preferred_caps_the_target() {
        let mut s = LayerSelector::new(3, 3, false);
        s.set_preferred(Layers::new(9, 1));
        assert_eq!(s.preferred, Layers::new(2, 1));
        s.set_preferred(Layers::new(1, 9));
        s.set_target(Layers::new(2, 2));
        assert_eq!(s.target, Layers::new(1, 2));
    }
}
