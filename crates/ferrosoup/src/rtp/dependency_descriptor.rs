//! The AV1 dependency descriptor RTP header extension (AV1 RTP spec, appendix A): where AV1 (and Chrome's H264/VP9
//! with scalability modes) says which spatial and temporal layer a frame belongs to, which frames it depends on, and
//! where a receiver may switch between decode targets.
//!
//! A descriptor usually names a *template* by id; the templates live in a *template dependency structure* that the
//! sender attaches only to key frames. [`DdState`] keeps the latest structure of one producer stream, so a packet can
//! be understood on its own. Parsing allocates nothing once a stream's structure has its (boxed, fixed-size) storage;
//! every read is bounds-checked and malformed input yields `None`, never a panic.
//!
//! Per consumer the descriptor is rewritten ([`rewrite`]): the frame number is re-based (so it continues across a
//! simulcast stream switch: the receiver unwraps it into frame ids and references frames by difference) and the
//! active decode targets bitmask names only what is forwarded (so the receiver does not wait for frames of decode
//! targets the SFU no longer sends).

/// Most templates a structure can hold (the template id has 6 bits).
pub const MAX_TEMPLATES: usize = 64;
/// Most decode targets (DtCnt is `dt_cnt_minus_one` of 5 bits, plus one).
pub const MAX_DECODE_TARGETS: usize = 32;
/// Most frame diffs kept per template or frame; longer lists are rejected (real encoders use 1–3).
pub const MAX_FDIFFS: usize = 8;
/// Spatial ids above this are rejected (AV1 has at most 4 spatial layers).
pub const MAX_SPATIAL_ID: u8 = 3;
/// Temporal ids above this are rejected (AV1 has at most 8 temporal layers).
pub const MAX_TEMPORAL_ID: u8 = 7;
/// Longest descriptor [`rewrite`] produces (the two-byte extension form carries up to 255 bytes).
pub const MAX_LEN: usize = 255;

/// Decode target indication of a frame for one decode target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dti {
    /// The frame is not part of the decode target.
    NotPresent = 0,
    /// Part of it, but no later frame of the decode target depends on it.
    Discardable = 1,
    /// Part of it, and a decoder may start decoding the decode target here (given the chain is intact).
    Switch = 2,
    /// Part of it, and later frames depend on it.
    Required = 3,
}

impl Dti {
    fn from_bits(bits: u64) -> Dti {
        match bits & 3 {
            0 => Dti::NotPresent,
            1 => Dti::Discardable,
            2 => Dti::Switch,
            _ => Dti::Required,
        }
    }
}

/// One frame dependency template.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Template {
    pub spatial_id: u8,
    pub temporal_id: u8,
    /// Two bits per decode target, decode target 0 in the lowest bits.
    pub dtis: u64,
    pub fdiff_count: u8,
    pub fdiffs: [u8; MAX_FDIFFS],
    /// Per chain: frames back to the previous frame of that chain (0: none).
    pub chain_fdiffs: [u8; MAX_DECODE_TARGETS],
}

/// A template dependency structure, as attached to a key frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Structure {
    pub template_id_offset: u8,
    pub decode_target_count: u8,
    pub template_count: u8,
    pub templates: [Template; MAX_TEMPLATES],
    pub chain_count: u8,
    /// Per decode target: the chain protecting it.
    pub protected_by: [u8; MAX_DECODE_TARGETS],
    /// Per decode target: the highest spatial and temporal id of the frames it contains.
    pub decode_target_layers: [(u8, u8); MAX_DECODE_TARGETS],
    pub max_spatial_id: u8,
    pub max_temporal_id: u8,
    /// Render resolution (width, height) per spatial layer, when the sender gave them.
    pub resolutions: Option<[(u16, u16); MAX_SPATIAL_ID as usize + 1]>,
}

impl Default for Structure {
    fn default() -> Self {
        Structure {
            template_id_offset: 0,
            decode_target_count: 0,
            template_count: 0,
            templates: [Template::default(); MAX_TEMPLATES],
            chain_count: 0,
            protected_by: [0; MAX_DECODE_TARGETS],
            decode_target_layers: [(0, 0); MAX_DECODE_TARGETS],
            max_spatial_id: 0,
            max_temporal_id: 0,
            resolutions: None,
        }
    }
}

impl Structure {
    /// Bitmask of the decode targets whose layers are at most (spatial, temporal).
    pub fn decode_targets_up_to(&self, spatial: u8, temporal: u8) -> u32 {
        let mut mask = 0u32;
        for (dt, &(s, t)) in self
            .decode_target_layers
            .iter()
            .enumerate()
            .take(self.decode_target_count as usize)
        {
            if s <= spatial && t <= temporal {
                mask |= 1 << dt;
            }
        }
        mask
    }

    /// Every decode target.
    pub fn all_decode_targets(&self) -> u32 {
        match self.decode_target_count {
            32.. => u32::MAX,
            n => (1u32 << n) - 1,
        }
    }

    /// The decode target made of exactly these layers, if the structure has one.
    pub fn decode_target_of(&self, spatial: u8, temporal: u8) -> Option<usize> {
        self.decode_target_layers
            .iter()
            .take(self.decode_target_count as usize)
            .position(|&l| l == (spatial, temporal))
    }
}

/// One packet's descriptor, resolved against the stream's structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Descriptor {
    pub start_of_frame: bool,
    pub end_of_frame: bool,
    pub template_id: u8,
    pub frame_number: u16,
    /// This packet carries a template dependency structure (a key frame's).
    pub structure_attached: bool,
    /// The active decode targets bitmask when the packet carries one (all of them when a structure is attached).
    pub active_decode_targets: Option<u32>,
    pub spatial_id: u8,
    pub temporal_id: u8,
    /// The frame's decode target indications (template's or custom), two bits each.
    pub dtis: u64,
    pub fdiff_count: u8,
    pub fdiffs: [u8; MAX_FDIFFS],
    /// Bit offset of the active decode targets bitmask, or of where one would be inserted; `None` without
    /// extended fields (the descriptor is the 3 mandatory bytes).
    adt_offset: Option<usize>,
    adt_present: bool,
    /// Bits the descriptor used (before zero padding).
    used_bits: usize,
}

impl Descriptor {
    /// The frame's indication for one decode target.
    pub fn dti(&self, decode_target: usize) -> Dti {
        if decode_target >= MAX_DECODE_TARGETS {
            return Dti::NotPresent;
        }
        Dti::from_bits(self.dtis >> (2 * decode_target))
    }

    /// A frame without references: a decoder can start here.
    pub fn is_key_frame(&self) -> bool {
        self.structure_attached && self.fdiff_count == 0
    }
}

/// Per producer stream: the latest template dependency structure, and the decode targets the sender last said are
/// active (a bitmask holds until the next one or the next structure; senders send it only when it changes).
#[derive(Debug, Clone, Default)]
pub struct DdState {
    structure: Option<Box<Structure>>,
    valid: bool,
    /// Frame number of the key frame that brought the structure.
    structure_frame: u16,
    active: u32,
}

impl DdState {
    /// The structure in force, if a valid one arrived.
    pub fn structure(&self) -> Option<&Structure> {
        self.structure.as_deref().filter(|_| self.valid)
    }

    /// The decode targets the sender currently says are active.
    pub fn active_decode_targets(&self) -> u32 {
        self.active
    }

    /// Parses one packet's descriptor. A structure it carries replaces the stored one (a malformed one leaves the
    /// stream without a structure until the next key frame: its templates can no longer be trusted).
    pub fn parse(&mut self, data: &[u8]) -> Option<Descriptor> {
        let mut r = BitReader::new(data);
        let start_of_frame = r.bit()?;
        let end_of_frame = r.bit()?;
        let template_id = r.bits(6)? as u8;
        let frame_number = r.bits(16)? as u16;
        let (mut structure_attached, mut adt_present, mut custom_dtis) = (false, false, false);
        let (mut custom_fdiffs, mut custom_chains) = (false, false);
        let mut adt_offset = None;
        let mut active_decode_targets = None;
        if data.len() > 3 {
            structure_attached = r.bit()?;
            adt_present = r.bit()?;
            custom_dtis = r.bit()?;
            custom_fdiffs = r.bit()?;
            custom_chains = r.bit()?;
            if structure_attached {
                if self.valid && crate::rtp::seq_is_newer(self.structure_frame, frame_number) {
                    // A reordered or retransmitted older key frame: its structure is no longer the sender's.
                    return None;
                }
                let s = self.structure.get_or_insert_with(Box::default);
                self.valid = false;
                read_structure(&mut r, s)?;
                self.valid = true;
                self.structure_frame = frame_number;
                self.active = s.all_decode_targets();
                active_decode_targets = Some(self.active);
            }
            adt_offset = Some(r.pos);
        }
        if adt_present {
            let count = self.structure()?.decode_target_count as usize;
            self.active = r.bits(count)?;
            active_decode_targets = Some(self.active);
        }
        let s = self.structure()?;
        let index = (template_id as usize + MAX_TEMPLATES - s.template_id_offset as usize) % 64;
        if index >= s.template_count as usize {
            return None;
        }
        let t = &s.templates[index];
        let mut d = Descriptor {
            start_of_frame,
            end_of_frame,
            template_id,
            frame_number,
            structure_attached,
            active_decode_targets,
            spatial_id: t.spatial_id,
            temporal_id: t.temporal_id,
            dtis: t.dtis,
            fdiff_count: t.fdiff_count,
            fdiffs: t.fdiffs,
            adt_offset,
            adt_present,
            used_bits: 0,
        };
        if custom_dtis {
            d.dtis = 0;
            for dt in 0..s.decode_target_count as usize {
                d.dtis |= u64::from(r.bits(2)?) << (2 * dt);
            }
        }
        if custom_fdiffs {
            d.fdiff_count = 0;
            loop {
                let size = r.bits(2)? as usize;
                if size == 0 {
                    break;
                }
                let fdiff = r.bits(4 * size)? + 1;
                let slot = d.fdiffs.get_mut(d.fdiff_count as usize)?;
                *slot = fdiff.min(u8::MAX as u32) as u8;
                d.fdiff_count += 1;
            }
        }
        if custom_chains {
            for _ in 0..s.chain_count {
                r.bits(8)?;
            }
        }
        d.used_bits = r.pos;
        Some(d)
    }
}

fn read_structure(r: &mut BitReader<'_>, s: &mut Structure) -> Option<()> {
    s.template_id_offset = r.bits(6)? as u8;
    s.decode_target_count = r.bits(5)? as u8 + 1;
    let dts = s.decode_target_count as usize;
    // Template layers: each template's (spatial, temporal) follows from the previous one.
    let (mut spatial, mut temporal, mut count) = (0u8, 0u8, 0usize);
    s.max_temporal_id = 0;
    loop {
        let t = s.templates.get_mut(count)?;
        *t = Template {
            spatial_id: spatial,
            temporal_id: temporal,
            ..Template::default()
        };
        count += 1;
        match r.bits(2)? {
            0 => {}
            1 => {
                temporal += 1;
                if temporal > MAX_TEMPORAL_ID {
                    return None;
                }
                s.max_temporal_id = s.max_temporal_id.max(temporal);
            }
            2 => {
                temporal = 0;
                spatial += 1;
                if spatial > MAX_SPATIAL_ID {
                    return None;
                }
            }
            _ => break,
        }
    }
    s.template_count = count as u8;
    s.max_spatial_id = spatial;
    let templates = s.templates.get_mut(..count)?;
    for t in templates.iter_mut() {
        for dt in 0..dts {
            t.dtis |= u64::from(r.bits(2)?) << (2 * dt);
        }
    }
    for t in templates.iter_mut() {
        while r.bit()? {
            let slot = t.fdiffs.get_mut(t.fdiff_count as usize)?;
            *slot = r.bits(4)? as u8 + 1;
            t.fdiff_count += 1;
        }
    }
    s.chain_count = r.ns(dts as u32 + 1)? as u8;
    if s.chain_count > 0 {
        for dt in 0..dts {
            s.protected_by[dt] = r.ns(u32::from(s.chain_count))? as u8;
        }
        for t in templates.iter_mut() {
            for chain in 0..s.chain_count as usize {
                *t.chain_fdiffs.get_mut(chain)? = r.bits(4)? as u8;
            }
        }
    }
    for dt in 0..dts {
        let mut layers = (0u8, 0u8);
        for t in templates.iter() {
            if Dti::from_bits(t.dtis >> (2 * dt)) != Dti::NotPresent {
                layers.0 = layers.0.max(t.spatial_id);
                layers.1 = layers.1.max(t.temporal_id);
            }
        }
        s.decode_target_layers[dt] = layers;
    }
    s.resolutions = None;
    if r.bit()? {
        let mut res = [(0u16, 0u16); MAX_SPATIAL_ID as usize + 1];
        for slot in res.iter_mut().take(s.max_spatial_id as usize + 1) {
            let w = r.bits(16)? + 1;
            let h = r.bits(16)? + 1;
            *slot = (w.min(u16::MAX as u32) as u16, h.min(u16::MAX as u32) as u16);
        }
        s.resolutions = Some(res);
    }
    Some(())
}

/// Writes the consumer's copy of a descriptor into `out`: frame number replaced, and — when `active` is given and
/// the packet carries no structure (which activates every decode target by definition) — the active decode targets
/// bitmask set to it, inserted if the packet had none. Returns the length written.
pub fn rewrite(
    src: &[u8],
    d: &Descriptor,
    decode_target_count: u8,
    frame_number: u16,
    active: Option<u32>,
    out: &mut [u8; MAX_LEN],
) -> Option<usize> {
    let Some(mask) = active.filter(|_| !d.structure_attached) else {
        return rewrite_frame_number(src, frame_number, out);
    };
    let len = src.len().min(MAX_LEN);
    let mut w = BitWriter::new(out);
    let r = BitReader::new(src.get(..len)?);
    w.put(u32::from(*src.first()?), 8)?;
    w.put(u32::from(frame_number), 16)?;
    let dt_bits = (decode_target_count as usize).min(MAX_DECODE_TARGETS);
    match d.adt_offset {
        None => {
            // Only the mandatory fields: add extended fields naming just the bitmask.
            w.put(0b01000, 5)?;
            w.put(mask, dt_bits)?;
        }
        Some(at) => {
            // Flags: keep all but active_decode_targets_present, which is now set.
            w.put(r.peek(24, 1)?, 1)?;
            w.put(1, 1)?;
            w.copy(&r, 26, at)?;
            w.put(mask, dt_bits)?;
            let rest = if d.adt_present { at + dt_bits } else { at };
            w.copy(&r, rest, d.used_bits)?;
        }
    }
    Some(w.len())
}

/// Copies a descriptor into `out` with only its frame number (bytes 1–2) replaced: for descriptors that need no
/// bitmask change, or could not be parsed (no structure yet). Returns the length written.
pub fn rewrite_frame_number(
    src: &[u8],
    frame_number: u16,
    out: &mut [u8; MAX_LEN],
) -> Option<usize> {
    let n = src.len().min(MAX_LEN);
    out.get_mut(..n)?.copy_from_slice(src.get(..n)?);
    crate::rtp::bytes::put_u16(out, 1, frame_number).then_some(n)
}

struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> BitReader<'a> {
    fn new(data: &'a [u8]) -> Self {
        BitReader { data, pos: 0 }
    }

    fn peek(&self, at: usize, n: usize) -> Option<u32> {
        if n > 32 || at.checked_add(n)? > self.data.len() * 8 {
            return None;
        }
        let mut v = 0u32;
        for i in at..at + n {
            let byte = *self.data.get(i / 8)?;
            v = (v << 1) | u32::from((byte >> (7 - i % 8)) & 1);
        }
        Some(v)
    }

    fn bits(&mut self, n: usize) -> Option<u32> {
        let v = self.peek(self.pos, n)?;
        self.pos += n;
        Some(v)
    }

    fn bit(&mut self) -> Option<bool> {
        self.bits(1).map(|b| b == 1)
    }

    /// Non-symmetric unsigned value in `0..n` (the spec's `ns(n)`).
    fn ns(&mut self, n: u32) -> Option<u32> {
        if n <= 1 {
            return Some(0);
        }
        let w = 32 - n.leading_zeros() as usize;
        let m = (1u32 << w) - n;
        let v = self.bits(w - 1)?;
        if v < m {
            return Some(v);
        }
        let extra = self.bits(1)?;
        Some((v << 1) - m + extra)
    }
}

struct BitWriter<'a> {
    out: &'a mut [u8; MAX_LEN],
    pos: usize,
}

impl<'a> BitWriter<'a> {
    fn new(out: &'a mut [u8; MAX_LEN]) -> Self {
        BitWriter { out, pos: 0 }
    }

    /// Appends the low `n` bits of `v` (n ≤ 32), most significant first.
    fn put(&mut self, v: u32, n: usize) -> Option<()> {
        for i in (0..n.min(32)).rev() {
            let bit = (v >> i) & 1;
            let byte = self.out.get_mut(self.pos / 8)?;
            if self.pos.is_multiple_of(8) {
                // Entering a new byte: the buffer is not cleared beforehand.
                *byte = 0;
            }
            *byte |= (bit as u8) << (7 - self.pos % 8);
            self.pos += 1;
        }
        Some(())
    }

    /// Copies bits `from..to` of `r`'s data.
    fn copy(&mut self, r: &BitReader<'_>, from: usize, to: usize) -> Option<()> {
        let mut at = from;
        while at < to {
            let n = (to - at).min(24);
            self.put(r.peek(at, n)?, n)?;
            at += n;
        }
        Some(())
    }

    fn len(&self) -> usize {
        self.pos.div_ceil(8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes test descriptors bit by bit.
    #[derive(Default)]
    struct Bits(Vec<bool>);

    impl Bits {
        fn put(&mut self, v: u32, n: usize) -> &mut Self {
            for i in (0..n).rev() {
                self.0.push((v >> i) & 1 == 1);
            }
            self
        }
        fn bytes(&self) -> Vec<u8> {
            let mut out = vec![0u8; self.0.len().div_ceil(8)];
            for (i, &b) in self.0.iter().enumerate() {
                out[i / 8] |= (b as u8) << (7 - i % 8);
            }
            out
        }
    }

    /// L1T3 as libwebrtc describes it: templates T0 (key), T0, T2, T1, T2 (decode targets T0, T1, T2), one chain,
    /// resolution 320x180.
    fn l1t3_key(frame: u16) -> Vec<u8> {
        let mut b = Bits::default();
        b.put(1, 1).put(1, 1).put(0, 6).put(frame as u32, 16);
        b.put(1, 1).put(0, 1).put(0, 1).put(0, 1).put(0, 1); // structure attached
        b.put(0, 6).put(2, 5); // offset 0, 3 decode targets
                               // layers: t0, t0, t1, t2 (idc: same, next temporal, next temporal, end)
        b.put(0, 2).put(1, 2).put(1, 2).put(3, 2);
        // dtis per template for DT0..2 (written DT0 first): S S S / S S S / - D R... keep simple
        for dtis in [[2, 2, 2], [3, 3, 3], [0, 2, 3], [0, 0, 1]] {
            for d in dtis {
                b.put(d, 2);
            }
        }
        // fdiffs: none; 4; 2; 1
        b.put(0, 1);
        b.put(1, 1).put(3, 4).put(0, 1);
        b.put(1, 1).put(1, 4).put(0, 1);
        b.put(1, 1).put(0, 4).put(0, 1);
        // chains: ns(4) = 1 chain → w=3, m=4; v=f(2) = 1
        b.put(1, 2);
        // protected_by for each DT: ns(1) = 0 bits
        // chain fdiffs per template: 0, 4, 2, 1
        for c in [0, 4, 2, 1] {
            b.put(c, 4);
        }
        // resolutions
        b.put(1, 1).put(319, 16).put(179, 16);
        b.bytes()
    }

    #[test]
    fn parses_a_structure_and_frames_that_refer_to_it() {
        let mut st = DdState::default();
        let key = l1t3_key(100);
        let d = st.parse(&key).expect("key");
        assert!(d.structure_attached && d.is_key_frame());
        assert_eq!((d.frame_number, d.spatial_id, d.temporal_id), (100, 0, 0));
        assert_eq!(d.active_decode_targets, Some(0b111));
        assert_eq!(d.dti(0), Dti::Switch);
        let s = st.structure().expect("structure");
        assert_eq!(s.template_count, 4);
        assert_eq!(s.decode_target_count, 3);
        assert_eq!(s.chain_count, 1);
        assert_eq!(s.max_temporal_id, 2);
        assert_eq!(s.decode_target_layers[..3], [(0, 0), (0, 1), (0, 2)]);
        assert_eq!(s.resolutions.map(|r| r[0]), Some((320, 180)));
        assert_eq!(s.decode_targets_up_to(0, 1), 0b011);
        assert_eq!(s.decode_target_of(0, 2), Some(2));
        assert_eq!(s.templates[1].fdiffs[0], 4);
        // A T2 frame by template id 3, mandatory fields only.
        let d = st.parse(&[0x83, 0x00, 0x65]).expect("delta");
        assert!(d.start_of_frame && !d.end_of_frame && !d.structure_attached);
        assert_eq!((d.frame_number, d.temporal_id), (101, 2));
        assert_eq!(d.dti(2), Dti::Discardable);
        assert_eq!(d.dti(0), Dti::NotPresent);
        assert_eq!(d.active_decode_targets, None);
        // Unknown template id.
        assert!(st.parse(&[0x84, 0x00, 0x66]).is_none());
    }

    #[test]
    fn custom_fields_and_active_decode_targets() {
        let mut st = DdState::default();
        st.parse(&l1t3_key(7)).expect("key");
        let mut b = Bits::default();
        b.put(0, 1).put(1, 1).put(2, 6).put(8, 16);
        b.put(0, 1).put(1, 1).put(1, 1).put(1, 1).put(1, 1);
        b.put(0b001, 3); // active: DT0 only
        b.put(3, 2).put(0, 2).put(0, 2); // custom dtis: R - -
        b.put(2, 2).put(0x12, 8).put(0, 2); // one fdiff of 0x13
        b.put(5, 8); // chain fdiff
        let d = st.parse(&b.bytes()).expect("custom");
        assert_eq!(d.active_decode_targets, Some(1));
        assert_eq!(d.dti(0), Dti::Required);
        assert_eq!(d.dti(1), Dti::NotPresent);
        assert_eq!((d.fdiff_count, d.fdiffs[0]), (1, 0x13));
        assert_eq!(d.temporal_id, 1);
    }

    #[test]
    fn the_senders_bitmask_holds_until_it_changes() {
        let mut st = DdState::default();
        st.parse(&l1t3_key(7)).expect("key");
        assert_eq!(st.active_decode_targets(), 0b111);
        // Extended fields with a bitmask naming DT0 only, then a frame with mandatory fields only.
        let mut b = Bits::default();
        b.put(1, 1).put(1, 1).put(1, 6).put(8, 16);
        b.put(0, 1).put(1, 1).put(0, 1).put(0, 1).put(0, 1);
        b.put(0b001, 3);
        st.parse(&b.bytes()).expect("bitmask");
        st.parse(&[0xC1, 0x00, 0x09]).expect("plain");
        assert_eq!(st.active_decode_targets(), 0b001, "still DT0 only");
        // The next structure activates everything again.
        st.parse(&l1t3_key(10)).expect("key");
        assert_eq!(st.active_decode_targets(), 0b111);
    }

    #[test]
    fn an_older_key_frame_does_not_replace_the_structure() {
        let mut st = DdState::default();
        st.parse(&l1t3_key(100)).expect("key");
        // A late copy of key frame 90 (reordered, or a retransmission).
        assert!(st.parse(&l1t3_key(90)).is_none());
        assert!(st.structure().is_some(), "frame 100's structure stays");
        // The same key frame again, or a newer one, is fine.
        assert!(st.parse(&l1t3_key(100)).is_some());
        assert!(st.parse(&l1t3_key(200)).is_some());
    }

    #[test]
    fn without_a_structure_nothing_is_understood() {
        let mut st = DdState::default();
        assert!(st.parse(&[0xC0, 0x00, 0x01]).is_none());
        // A truncated structure invalidates the stored one.
        let key = l1t3_key(1);
        st.parse(&key).expect("key");
        assert!(st.parse(&key[..6]).is_none());
        assert!(st.structure().is_none());
        assert!(st.parse(&[0x80, 0x00, 0x02]).is_none());
    }

    #[test]
    fn rewrite_renumbers_and_sets_active_decode_targets() {
        let mut st = DdState::default();
        let key = l1t3_key(100);
        let dk = st.parse(&key).expect("key");
        let mut out = [0u8; MAX_LEN];
        // Key frame: the structure stays, only the frame number changes.
        let n = rewrite(&key, &dk, 3, 5000, Some(1), &mut out).expect("rewrite");
        assert_eq!(n, key.len());
        let mut other = DdState::default();
        let d = other.parse(&out[..n]).expect("reparse");
        assert_eq!(d.frame_number, 5000);
        assert_eq!(other.structure(), st.structure());
        // Mandatory-only delta: extended fields are added with the bitmask.
        let delta = [0x41, 0x00, 0x65];
        let dd = st.parse(&delta).expect("delta");
        let n = rewrite(&delta, &dd, 3, 5001, Some(0b011), &mut out).expect("rewrite");
        assert_eq!(n, 4);
        let d = other.parse(&out[..n]).expect("reparse");
        assert_eq!(d.frame_number, 5001);
        assert_eq!(d.active_decode_targets, Some(0b011));
        assert_eq!(d.temporal_id, 0);
        assert!(d.end_of_frame && !d.start_of_frame);
        // A descriptor with custom fields and a bitmask: the bitmask is replaced, the rest survives.
        let mut b = Bits::default();
        b.put(1, 1).put(0, 1).put(2, 6).put(8, 16);
        b.put(0, 1).put(1, 1).put(1, 1).put(1, 1).put(0, 1);
        b.put(0b111, 3);
        b.put(3, 2).put(2, 2).put(0, 2);
        b.put(1, 2).put(0x3, 4).put(0, 2);
        let src = b.bytes();
        let ds = st.parse(&src).expect("custom");
        let n = rewrite(&src, &ds, 3, 9, Some(0b001), &mut out).expect("rewrite");
        let d = other.parse(&out[..n]).expect("reparse");
        assert_eq!(d.active_decode_targets, Some(0b001));
        assert_eq!((d.dti(0), d.dti(1)), (Dti::Required, Dti::Switch));
        assert_eq!((d.fdiff_count, d.fdiffs[0]), (1, 4));
        // Extended fields without a bitmask: one is inserted.
        let mut b = Bits::default();
        b.put(1, 1).put(1, 1).put(1, 6).put(8, 16);
        b.put(0, 1).put(0, 1).put(0, 1).put(1, 1).put(0, 1);
        b.put(1, 2).put(0x1, 4).put(0, 2);
        let src = b.bytes();
        let ds = st.parse(&src).expect("fdiffs");
        let n = rewrite(&src, &ds, 3, 10, Some(0b011), &mut out).expect("rewrite");
        let d = other.parse(&out[..n]).expect("reparse");
        assert_eq!(d.active_decode_targets, Some(0b011));
        assert_eq!((d.fdiff_count, d.fdiffs[0]), (1, 2));
        // No bitmask asked for: bytes as they were, frame number aside.
        let n = rewrite(&src, &ds, 3, ds.frame_number, None, &mut out).expect("rewrite");
        assert_eq!(&out[..n], &src[..]);
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Chromium 156's AV1 `L3T3_KEY` key frame descriptor at 960x540, captured by ferrosoup's debug log.
    const CHROME_L3T3_KEY: &str = "c00001c0081485214eaaaaa8000600004000100002aa80a8000600004000100002a000a80006000040\
        0016d549241b5524906d54923157e001974ca864330e222396eca8655304224390eca8775300ef008601df010d03bf021b1f80";

    #[test]
    fn chrome_l3t3_key_structure() {
        let mut st = DdState::default();
        let d = st.parse(&unhex(CHROME_L3T3_KEY)).expect("parses");
        let s = st.structure().expect("structure");
        assert!(d.is_key_frame() && d.start_of_frame);
        assert_eq!((d.spatial_id, d.temporal_id), (0, 0));
        assert_eq!(s.decode_target_count, 9);
        assert_eq!((s.max_spatial_id, s.max_temporal_id), (2, 2));
        assert_eq!(s.decode_target_layers[8], (2, 2));
        assert_eq!(s.decode_target_of(1, 1), Some(4));
        assert_eq!(
            s.resolutions.map(|r| r[..3].to_vec()),
            Some(vec![(240, 135), (480, 270), (960, 540)])
        );
        assert_eq!(s.decode_targets_up_to(0, 2), 0b000_000_111);
        assert_eq!(s.decode_targets_up_to(1, 0), 0b000_001_001);
        // Chrome itself marked the top spatial layer's decode targets inactive (not encoded yet).
        assert_eq!(d.active_decode_targets, Some(0b000_111_111));
        // K-SVC: a layer's T0 delta frame is the switch point of that layer's decode targets only.
        assert_eq!((s.chain_count, s.template_count), (3, 15));
        let t11 = s.templates[11];
        assert_eq!((t11.spatial_id, t11.temporal_id), (2, 0));
        for dt in 0..9 {
            let expected = if dt >= 6 {
                Dti::Switch
            } else {
                Dti::NotPresent
            };
            assert_eq!(Dti::from_bits(t11.dtis >> (2 * dt)), expected, "dt {dt}");
        }
    }

    #[test]
    fn ns_matches_the_spec() {
        // ns(5): w=3, m=3; values 0..2 in 2 bits, 3..4 as (v<<1)-m+extra.
        let mut r = BitReader::new(&[0b0111_0111]);
        assert_eq!(r.ns(5), Some(1)); // 01
        assert_eq!(r.ns(5), Some(3)); // 11, extra 0: 6 - 3 + 0
        assert_eq!(r.ns(5), Some(4)); // 11, extra 1
        assert_eq!(r.ns(1), Some(0));
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let key = l1t3_key(3);
        let mut out = [0u8; MAX_LEN];
        for i in 0..20_000 {
            let mut st = DdState::default();
            let len = (next() % 40) as usize;
            let mut data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if i % 2 == 0 {
                // Mutations of a valid structure reach deeper.
                data = key.clone();
                for _ in 0..3 {
                    let at = (next() as usize) % data.len();
                    data[at] ^= 1 << (next() % 8);
                }
                data.truncate((next() as usize) % (key.len() + 1));
            }
            if let Some(d) = st.parse(&data) {
                let dts = st.structure().map_or(1, |s| s.decode_target_count);
                let _ = rewrite(&data, &d, dts, next() as u16, Some(next() as u32), &mut out);
            }
            let _ = st.parse(&[0x80, 0, 0, 0x40]);
        }
    }
}
