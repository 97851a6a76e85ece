//! Codec payload descriptors and key-frame detection.
//!
//! Parsers here look only at the first few bytes of an RTP payload, never
//! allocate, and return `None` for anything truncated or inconsistent. The
//! VP8 descriptor also remembers where its picture id and TL0PICIDX live so a
//! simulcast switch can rewrite them in place.
//!
//! * VP8: RFC 7741
//! * VP9: RFC 9628 (draft-ietf-payload-vp9)
//! * H264: RFC 6184
//! * AV1: AV1 RTP payload spec (aggregation header)

use super::bytes::{put_u16, put_u8, u16_at, u8_at};

/// The codecs the SFU knows how to look into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodecKind {
    /// audio/opus and audio/multiopus.
    Opus,
    /// video/VP8.
    Vp8,
    /// video/VP9.
    Vp9,
    /// video/H264 (and H264-SVC).
    H264,
    /// video/AV1.
    Av1,
    /// Any other audio codec (PCMU, PCMA, G722, ...): every packet is "key".
    OtherAudio,
    /// Any other video payload (including rtx/red/fec): never a key frame.
    OtherVideo,
}

impl CodecKind {
    /// Map a MIME type such as `"video/VP8"` (case-insensitive).
    /// Returns `None` when the type is neither `audio/*` nor `video/*`.
    pub fn from_mime(mime: &str) -> Option<Self> {
        let (kind, sub) = mime.split_once('/')?;
        let is = |s: &str| sub.eq_ignore_ascii_case(s);
        if kind.eq_ignore_ascii_case("audio") {
            Some(if is("opus") || is("multiopus") {
                CodecKind::Opus
            } else {
                CodecKind::OtherAudio
            })
        } else if kind.eq_ignore_ascii_case("video") {
            Some(if is("vp8") {
                CodecKind::Vp8
            } else if is("vp9") {
                CodecKind::Vp9
            } else if is("h264") || is("h264-svc") {
                CodecKind::H264
            } else if is("av1") {
                CodecKind::Av1
            } else {
                CodecKind::OtherVideo
            })
        } else {
            None
        }
    }

    /// Audio codec?
    pub fn is_audio(self) -> bool {
        matches!(self, CodecKind::Opus | CodecKind::OtherAudio)
    }

    /// Whether key frames can be detected for this codec (video codecs the
    /// SFU parses). When false, every packet can start a stream (audio) or
    /// key-frame gating is impossible (unknown video).
    pub fn has_keyframes(self) -> bool {
        matches!(
            self,
            CodecKind::Vp8 | CodecKind::Vp9 | CodecKind::H264 | CodecKind::Av1
        )
    }
}

/// Does this RTP payload start (or carry) a key frame?
///
/// Audio is always "key" so that audio is never held back waiting for one.
pub fn is_keyframe(codec: CodecKind, payload: &[u8]) -> bool {
    match codec {
        CodecKind::Opus | CodecKind::OtherAudio => true,
        CodecKind::Vp8 => Vp8Descriptor::parse(payload).is_some_and(|d| d.is_keyframe),
        CodecKind::Vp9 => Vp9Descriptor::parse(payload).is_some_and(|d| d.is_keyframe),
        CodecKind::H264 => H264Info::parse(payload).is_some_and(|d| d.is_keyframe),
        CodecKind::Av1 => Av1Info::parse(payload).is_some_and(|d| d.is_keyframe),
        CodecKind::OtherVideo => false,
    }
}

/// A parsed payload descriptor of any supported codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadDescriptor {
    /// VP8.
    Vp8(Vp8Descriptor),
    /// VP9.
    Vp9(Vp9Descriptor),
    /// H264.
    H264(H264Info),
    /// AV1.
    Av1(Av1Info),
}

impl PayloadDescriptor {
    /// Parse the descriptor of `payload` for `codec`; `None` for codecs
    /// without a descriptor or malformed payloads.
    pub fn parse(codec: CodecKind, payload: &[u8]) -> Option<Self> {
        match codec {
            CodecKind::Vp8 => Vp8Descriptor::parse(payload).map(Self::Vp8),
            CodecKind::Vp9 => Vp9Descriptor::parse(payload).map(Self::Vp9),
            CodecKind::H264 => H264Info::parse(payload).map(Self::H264),
            CodecKind::Av1 => Av1Info::parse(payload).map(Self::Av1),
            _ => None,
        }
    }

    /// Key frame?
    pub fn is_keyframe(&self) -> bool {
        match self {
            Self::Vp8(d) => d.is_keyframe,
            Self::Vp9(d) => d.is_keyframe,
            Self::H264(d) => d.is_keyframe,
            Self::Av1(d) => d.is_keyframe,
        }
    }

    /// Temporal layer id when the descriptor carries one.
    pub fn temporal_id(&self) -> Option<u8> {
        match self {
            Self::Vp8(d) => d.temporal_id,
            Self::Vp9(d) => d.temporal_id,
            _ => None,
        }
    }

    /// Spatial layer id when the descriptor carries one.
    pub fn spatial_id(&self) -> Option<u8> {
        match self {
            Self::Vp9(d) => d.spatial_id,
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------
// VP8
// ---------------------------------------------------------------------------

/// RFC 7741 VP8 payload descriptor.
///
/// ```text
///      0 1 2 3 4 5 6 7
///     +-+-+-+-+-+-+-+-+
///     |X|R|N|S|R| PID | (REQUIRED)
///     +-+-+-+-+-+-+-+-+
/// X:  |I|L|T|K| RSV   | (OPTIONAL)
///     +-+-+-+-+-+-+-+-+
/// I:  |M| PictureID   | (OPTIONAL)
///     +-+-+-+-+-+-+-+-+
/// M:  | PictureID     | (OPTIONAL, 15-bit ids)
///     +-+-+-+-+-+-+-+-+
/// L:  |   TL0PICIDX   | (OPTIONAL)
///     +-+-+-+-+-+-+-+-+
/// T/K:|TID|Y| KEYIDX  | (OPTIONAL)
///     +-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vp8Descriptor {
    /// N: non-reference frame.
    pub non_reference: bool,
    /// S: start of a VP8 partition.
    pub start_of_partition: bool,
    /// PID: partition index.
    pub partition_id: u8,
    /// Picture id (7 or 15 bits).
    pub picture_id: Option<u16>,
    /// Whether the picture id uses the 15-bit (M=1) form.
    pub picture_id_15bit: bool,
    /// TL0PICIDX.
    pub tl0_pic_idx: Option<u8>,
    /// TID: temporal layer index.
    pub temporal_id: Option<u8>,
    /// Y: layer sync.
    pub layer_sync: bool,
    /// KEYIDX.
    pub key_idx: Option<u8>,
    /// Length of the descriptor (the VP8 payload starts here).
    pub header_len: usize,
    /// S=1, PID=0 and the VP8 payload header's P bit is 0.
    pub is_keyframe: bool,
    picture_id_offset: Option<usize>,
    tl0_offset: Option<usize>,
}

impl Vp8Descriptor {
    /// Parse the descriptor at the start of `payload`. Requires at least one
    /// byte of VP8 payload after the descriptor.
    pub fn parse(payload: &[u8]) -> Option<Self> {
        let b0 = u8_at(payload, 0)?;
        let mut d = Vp8Descriptor {
            non_reference: b0 & 0x20 != 0,
            start_of_partition: b0 & 0x10 != 0,
            partition_id: b0 & 0x07,
            picture_id: None,
            picture_id_15bit: false,
            tl0_pic_idx: None,
            temporal_id: None,
            layer_sync: false,
            key_idx: None,
            header_len: 1,
            is_keyframe: false,
            picture_id_offset: None,
            tl0_offset: None,
        };
        let mut off = 1;
        if b0 & 0x80 != 0 {
            let x = u8_at(payload, off)?;
            off += 1;
            if x & 0x80 != 0 {
                let p0 = u8_at(payload, off)?;
                d.picture_id_offset = Some(off);
                if p0 & 0x80 != 0 {
                    d.picture_id_15bit = true;
                    d.picture_id = Some(u16_at(payload, off)? & 0x7FFF);
                    off += 2;
                } else {
                    d.picture_id = Some((p0 & 0x7F) as u16);
                    off += 1;
                }
            }
            if x & 0x40 != 0 {
                d.tl0_pic_idx = Some(u8_at(payload, off)?);
                d.tl0_offset = Some(off);
                off += 1;
            }
            if x & 0x30 != 0 {
                let tk = u8_at(payload, off)?;
                if x & 0x20 != 0 {
                    d.temporal_id = Some(tk >> 6);
                    d.layer_sync = tk & 0x20 != 0;
                }
                if x & 0x10 != 0 {
                    d.key_idx = Some(tk & 0x1F);
                }
                off += 1;
            }
        }
        d.header_len = off;
        let first = u8_at(payload, off)?;
        d.is_keyframe = d.start_of_partition && d.partition_id == 0 && first & 0x01 == 0;
        Some(d)
    }

    /// Rewrite the picture id in place, keeping the original 7/15-bit width
    /// (the value is truncated to it). Returns false if there is no picture id.
    pub fn set_picture_id(&self, payload: &mut [u8], picture_id: u16) -> bool {
        let Some(off) = self.picture_id_offset else {
            return false;
        };
        if self.picture_id_15bit {
            put_u16(payload, off, 0x8000 | (picture_id & 0x7FFF))
        } else {
            put_u8(payload, off, (picture_id & 0x7F) as u8)
        }
    }

    /// Rewrite TL0PICIDX in place. Returns false if there is none.
    pub fn set_tl0_pic_idx(&self, payload: &mut [u8], tl0: u8) -> bool {
        match self.tl0_offset {
            Some(off) => put_u8(payload, off, tl0),
            None => false,
        }
    }
}

// ---------------------------------------------------------------------------
// VP9
// ---------------------------------------------------------------------------

/// VP9 payload descriptor (RFC 9628).
///
/// ```text
///      0 1 2 3 4 5 6 7
///     +-+-+-+-+-+-+-+-+
///     |I|P|L|F|B|E|V|Z| (REQUIRED)
///     +-+-+-+-+-+-+-+-+
/// I:  |M| PICTURE ID  |
/// M:  | EXTENDED PID  |
/// L:  | TID |U| SID |D|
///     |   TL0PICIDX   | (only when F=0)
/// P,F:| P_DIFF      |N| (up to 3 times)
/// V:  | SS ...        |
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vp9Descriptor {
    /// P: inter-picture predicted.
    pub inter_picture_predicted: bool,
    /// F: flexible mode.
    pub flexible_mode: bool,
    /// B: start of a frame.
    pub start_of_frame: bool,
    /// E: end of a frame.
    pub end_of_frame: bool,
    /// V: scalability structure present.
    pub has_scalability_structure: bool,
    /// Z: not a reference for upper spatial layers.
    pub not_reference_for_upper: bool,
    /// Picture id (7 or 15 bits).
    pub picture_id: Option<u16>,
    /// Whether the picture id uses the 15-bit form.
    pub picture_id_15bit: bool,
    /// TID.
    pub temporal_id: Option<u8>,
    /// U: switching-up point.
    pub switching_up: bool,
    /// SID.
    pub spatial_id: Option<u8>,
    /// D: inter-layer dependency.
    pub inter_layer_dependency: bool,
    /// TL0PICIDX (non-flexible mode with L=1).
    pub tl0_pic_idx: Option<u8>,
    /// Number of spatial layers announced by the SS, if present.
    pub ss_spatial_layers: Option<u8>,
    /// Width/height of the first spatial layer in the SS, if present.
    pub ss_first_resolution: Option<(u16, u16)>,
    /// Descriptor length.
    pub header_len: usize,
    /// !P && B && spatial id 0.
    pub is_keyframe: bool,
}

impl Vp9Descriptor {
    /// Parse the descriptor at the start of `payload`.
    pub fn parse(payload: &[u8]) -> Option<Self> {
        let b0 = u8_at(payload, 0)?;
        let flag = |m: u8| b0 & m != 0;
        let (i, p, l, f, b, e, v, z) = (
            flag(0x80),
            flag(0x40),
            flag(0x20),
            flag(0x10),
            flag(0x08),
            flag(0x04),
            flag(0x02),
            flag(0x01),
        );
        let mut d = Vp9Descriptor {
            inter_picture_predicted: p,
            flexible_mode: f,
            start_of_frame: b,
            end_of_frame: e,
            has_scalability_structure: v,
            not_reference_for_upper: z,
            picture_id: None,
            picture_id_15bit: false,
            temporal_id: None,
            switching_up: false,
            spatial_id: None,
            inter_layer_dependency: false,
            tl0_pic_idx: None,
            ss_spatial_layers: None,
            ss_first_resolution: None,
            header_len: 1,
            is_keyframe: false,
        };
        let mut off = 1;
        if i {
            let p0 = u8_at(payload, off)?;
            if p0 & 0x80 != 0 {
                d.picture_id_15bit = true;
                d.picture_id = Some(u16_at(payload, off)? & 0x7FFF);
                off += 2;
            } else {
                d.picture_id = Some((p0 & 0x7F) as u16);
                off += 1;
            }
        }
        if l {
            let lb = u8_at(payload, off)?;
            d.temporal_id = Some(lb >> 5);
            d.switching_up = lb & 0x10 != 0;
            d.spatial_id = Some((lb >> 1) & 0x07);
            d.inter_layer_dependency = lb & 0x01 != 0;
            off += 1;
            if !f {
                d.tl0_pic_idx = Some(u8_at(payload, off)?);
                off += 1;
            }
        }
        if p && f {
            for _ in 0..3 {
                let pd = u8_at(payload, off)?;
                off += 1;
                if pd & 0x01 == 0 {
                    break;
                }
            }
        }
        if v {
            let ss = u8_at(payload, off)?;
            off += 1;
            let n_s = (ss >> 5) as usize + 1;
            let y = ss & 0x10 != 0;
            let g = ss & 0x08 != 0;
            d.ss_spatial_layers = Some(n_s as u8);
            if y {
                d.ss_first_resolution = Some((u16_at(payload, off)?, u16_at(payload, off + 2)?));
                off += 4 * n_s;
            }
            if g {
                let n_g = u8_at(payload, off)?;
                off += 1;
                for _ in 0..n_g {
                    let gb = u8_at(payload, off)?;
                    let r = ((gb >> 2) & 0x03) as usize;
                    off += 1 + r;
                }
            }
        }
        if off > payload.len() {
            return None;
        }
        d.header_len = off;
        d.is_keyframe = !p && b && d.spatial_id.unwrap_or(0) == 0;
        Some(d)
    }
}

// ---------------------------------------------------------------------------
// H264
// ---------------------------------------------------------------------------

/// NAL unit types of interest (RFC 6184 / H.264 table 7-1).
pub mod h264_nal {
    /// Coded slice of an IDR picture.
    pub const IDR: u8 = 5;
    /// Sequence parameter set.
    pub const SPS: u8 = 7;
    /// Picture parameter set.
    pub const PPS: u8 = 8;
    /// Single-time aggregation packet A.
    pub const STAP_A: u8 = 24;
    /// Single-time aggregation packet B.
    pub const STAP_B: u8 = 25;
    /// Multi-time aggregation packet, 16-bit offsets.
    pub const MTAP16: u8 = 26;
    /// Multi-time aggregation packet, 24-bit offsets.
    pub const MTAP24: u8 = 27;
    /// Fragmentation unit A.
    pub const FU_A: u8 = 28;
    /// Fragmentation unit B.
    pub const FU_B: u8 = 29;
}

/// What an H264 RTP payload carries (RFC 6184).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct H264Info {
    /// Type of the outer NAL unit (1..=23 single, 24..=29 aggregation/FU).
    pub packet_nal_type: u8,
    /// Contains an IDR slice (or starts one, for FU).
    pub has_idr: bool,
    /// Contains an SPS.
    pub has_sps: bool,
    /// Contains a PPS.
    pub has_pps: bool,
    /// For FU-A/B: the S bit; true for every other packetization.
    pub fragment_start: bool,
    /// For FU-A/B: the E bit; true for every other packetization.
    pub fragment_end: bool,
    /// IDR or SPS present.
    pub is_keyframe: bool,
}

impl H264Info {
    /// Parse an H264 RTP payload.
    pub fn parse(payload: &[u8]) -> Option<Self> {
        let nal = u8_at(payload, 0)? & 0x1F;
        let mut info = H264Info {
            packet_nal_type: nal,
            has_idr: false,
            has_sps: false,
            has_pps: false,
            fragment_start: true,
            fragment_end: true,
            is_keyframe: false,
        };
        let note = |t: u8, info: &mut H264Info| match t {
            h264_nal::IDR => info.has_idr = true,
            h264_nal::SPS => info.has_sps = true,
            h264_nal::PPS => info.has_pps = true,
            _ => {}
        };
        match nal {
            1..=23 => note(nal, &mut info),
            h264_nal::STAP_A | h264_nal::STAP_B | h264_nal::MTAP16 | h264_nal::MTAP24 => {
                // STAP-B and MTAPs carry a 16-bit DON(B) first.
                let mut off = if nal == h264_nal::STAP_A { 1 } else { 3 };
                // Per-unit bytes between the size field and the NAL header.
                let unit_extra = match nal {
                    h264_nal::MTAP16 => 3,
                    h264_nal::MTAP24 => 4,
                    _ => 0,
                };
                let mut units = 0;
                while off < payload.len() {
                    let size = u16_at(payload, off)? as usize;
                    off += 2;
                    if size < unit_extra + 1 || off + size > payload.len() {
                        return None;
                    }
                    note(u8_at(payload, off + unit_extra)? & 0x1F, &mut info);
                    off += size;
                    units += 1;
                }
                if units == 0 {
                    return None;
                }
            }
            h264_nal::FU_A | h264_nal::FU_B => {
                let fu = u8_at(payload, 1)?;
                if nal == h264_nal::FU_B && payload.len() < 4 {
                    return None;
                }
                info.fragment_start = fu & 0x80 != 0;
                info.fragment_end = fu & 0x40 != 0;
                if info.fragment_start {
                    note(fu & 0x1F, &mut info);
                }
            }
            _ => return None,
        }
        info.is_keyframe = info.has_idr || info.has_sps;
        Some(info)
    }
}

// ---------------------------------------------------------------------------
// AV1
// ---------------------------------------------------------------------------

/// AV1 RTP aggregation header `|Z|Y| W |N|-|-|-|`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Av1Info {
    /// Z: first OBU element continues a fragment.
    pub continues_fragment: bool,
    /// Y: last OBU element continues in the next packet.
    pub fragment_continues: bool,
    /// W: number of OBU elements (0 = each has a length field).
    pub obu_count: u8,
    /// N: first packet of a coded video sequence.
    pub new_sequence: bool,
    /// N && !Z.
    pub is_keyframe: bool,
}

impl Av1Info {
    /// Parse the aggregation header.
    pub fn parse(payload: &[u8]) -> Option<Self> {
        let h = u8_at(payload, 0)?;
        if payload.len() < 2 {
            return None;
        }
        let z = h & 0x80 != 0;
        let n = h & 0x08 != 0;
        Some(Av1Info {
            continues_fragment: z,
            fragment_continues: h & 0x40 != 0,
            obu_count: (h >> 4) & 0x03,
            new_sequence: n,
            is_keyframe: n && !z,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_mapping() {
        assert_eq!(CodecKind::from_mime("video/VP8"), Some(CodecKind::Vp8));
        assert_eq!(CodecKind::from_mime("video/vp9"), Some(CodecKind::Vp9));
        assert_eq!(CodecKind::from_mime("Video/H264"), Some(CodecKind::H264));
        assert_eq!(CodecKind::from_mime("video/AV1"), Some(CodecKind::Av1));
        assert_eq!(CodecKind::from_mime("audio/opus"), Some(CodecKind::Opus));
        assert_eq!(
            CodecKind::from_mime("audio/multiopus"),
            Some(CodecKind::Opus)
        );
        assert_eq!(
            CodecKind::from_mime("audio/PCMU"),
            Some(CodecKind::OtherAudio)
        );
        assert_eq!(
            CodecKind::from_mime("video/rtx"),
            Some(CodecKind::OtherVideo)
        );
        assert_eq!(CodecKind::from_mime("application/data"), None);
        assert_eq!(CodecKind::from_mime("vp8"), None);
        assert!(CodecKind::Opus.is_audio() && !CodecKind::Vp8.is_audio());
        assert!(CodecKind::Vp8.has_keyframes() && !CodecKind::Opus.has_keyframes());
    }

    #[test]
    fn audio_always_key_other_video_never() {
        assert!(is_keyframe(CodecKind::Opus, &[]));
        assert!(is_keyframe(CodecKind::OtherAudio, &[1, 2]));
        assert!(!is_keyframe(CodecKind::OtherVideo, &[0x10, 0x00]));
    }

    #[test]
    fn vp8_keyframe_from_chrome() {
        // X=1 S=1 PID=0 | I=1 L=1 T=1 | M=1 pictureId=0x1234 | tl0=0x05 |
        // tid=0 y=1 | VP8 payload header 0x10 (P=0 → key) + start code.
        let p = [
            0x90, 0xE0, 0x92, 0x34, 0x05, 0x20, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a,
        ];
        let d = Vp8Descriptor::parse(&p).unwrap();
        assert!(d.is_keyframe);
        assert_eq!(d.picture_id, Some(0x1234));
        assert!(d.picture_id_15bit);
        assert_eq!(d.tl0_pic_idx, Some(5));
        assert_eq!(d.temporal_id, Some(0));
        assert!(d.layer_sync);
        assert_eq!(d.key_idx, None);
        assert_eq!(d.header_len, 6);
        assert!(is_keyframe(CodecKind::Vp8, &p));
        let pd = PayloadDescriptor::parse(CodecKind::Vp8, &p).unwrap();
        assert!(pd.is_keyframe());
        assert_eq!(pd.temporal_id(), Some(0));
        assert_eq!(pd.spatial_id(), None);
    }

    #[test]
    fn vp8_delta_and_continuations() {
        // Same, but P bit of the VP8 header set → delta frame.
        let p = [0x90, 0xE0, 0x92, 0x34, 0x05, 0x40, 0x11, 0x02];
        let d = Vp8Descriptor::parse(&p).unwrap();
        assert!(!d.is_keyframe);
        assert_eq!(d.temporal_id, Some(1));
        assert!(!d.layer_sync);
        // Not start of partition → never key even with P=0.
        let p = [0x80, 0x80, 0x12, 0x00];
        let d = Vp8Descriptor::parse(&p).unwrap();
        assert!(!d.is_keyframe);
        assert_eq!(d.picture_id, Some(0x12));
        assert!(!d.picture_id_15bit);
        // Partition 1 start → not key.
        assert!(!is_keyframe(CodecKind::Vp8, &[0x11, 0x00]));
        // Minimal descriptor, key.
        assert!(is_keyframe(CodecKind::Vp8, &[0x10, 0x00]));
        // KEYIDX only.
        let d = Vp8Descriptor::parse(&[0x80, 0x10, 0x1F, 0x01]).unwrap();
        assert_eq!(d.key_idx, Some(0x1F));
        assert_eq!(d.temporal_id, None);
    }

    #[test]
    fn vp8_truncated() {
        let full = [0x90, 0xE0, 0x92, 0x34, 0x05, 0x20, 0x10];
        for n in 0..full.len() {
            assert!(Vp8Descriptor::parse(&full[..n]).is_none(), "len {n}");
            assert!(!is_keyframe(CodecKind::Vp8, &full[..n]));
        }
        assert!(Vp8Descriptor::parse(&full).is_some());
    }

    #[test]
    fn vp8_rewrite_in_place() {
        let mut p = [0x90, 0xE0, 0x92, 0x34, 0x05, 0x20, 0x10];
        let d = Vp8Descriptor::parse(&p).unwrap();
        assert!(d.set_picture_id(&mut p, 0xFFFF));
        assert!(d.set_tl0_pic_idx(&mut p, 0xAA));
        let d2 = Vp8Descriptor::parse(&p).unwrap();
        assert_eq!(d2.picture_id, Some(0x7FFF));
        assert_eq!(d2.tl0_pic_idx, Some(0xAA));
        let mut p = [0x80, 0x80, 0x12, 0x00];
        let d = Vp8Descriptor::parse(&p).unwrap();
        assert!(d.set_picture_id(&mut p, 0x1FF));
        assert_eq!(p[2], 0x7F);
        assert!(!d.set_tl0_pic_idx(&mut p, 1));
        let mut p = [0x10, 0x00];
        let d = Vp8Descriptor::parse(&p).unwrap();
        assert!(!d.set_picture_id(&mut p, 1));
        // Writing into a shorter buffer fails gracefully.
        let full = [0x90, 0xE0, 0x92, 0x34, 0x05, 0x20, 0x10];
        let d = Vp8Descriptor::parse(&full).unwrap();
        assert!(!d.set_tl0_pic_idx(&mut [0u8; 2], 1));
    }

    #[test]
    fn vp9_keyframe_with_ss() {
        // I=1 P=0 L=1 F=0 B=1 E=0 V=1 Z=0 = 0b1010_1010
        let p = [
            0xAA, // flags
            0x80, 0x05, // 15-bit picture id 5
            0x00, // tid 0 u 0 sid 0 d 0
            0x07, // tl0picidx
            0x58, // SS: N_S=2 (0b010 → 3 layers), Y=1, G=1
            0x01, 0x40, 0x00, 0xB4, // 320x180
            0x02, 0x80, 0x01, 0x68, // 640x360
            0x05, 0x00, 0x02, 0xD0, // 1280x720
            0x01, // N_G = 1
            0x04, 0x01, // T=0 U=0 R=1, P_DIFF=1
            0x82, 0x49, 0x83, // VP9 frame data
        ];
        let d = Vp9Descriptor::parse(&p).unwrap();
        assert!(d.is_keyframe);
        assert_eq!(d.picture_id, Some(5));
        assert_eq!(d.spatial_id, Some(0));
        assert_eq!(d.temporal_id, Some(0));
        assert_eq!(d.tl0_pic_idx, Some(7));
        assert_eq!(d.ss_spatial_layers, Some(3));
        assert_eq!(d.ss_first_resolution, Some((320, 180)));
        assert_eq!(d.header_len, 21);
        assert!(is_keyframe(CodecKind::Vp9, &p));
        for n in 0..21 {
            assert!(Vp9Descriptor::parse(&p[..n]).is_none(), "len {n}");
        }
    }

    #[test]
    fn vp9_non_key_cases() {
        // Upper spatial layer of a key picture: SID=1 → not key.
        let p = [0xA8, 0x05, 0x02, 0x07, 0x00];
        let d = Vp9Descriptor::parse(&p).unwrap();
        assert_eq!(d.spatial_id, Some(1));
        assert!(!d.is_keyframe);
        // P=1 flexible mode with two P_DIFFs.
        let p = [0xF8, 0x05, 0x20, 0x03, 0x02, 0x00];
        let d = Vp9Descriptor::parse(&p).unwrap();
        assert!(d.inter_picture_predicted && d.flexible_mode);
        assert_eq!(d.temporal_id, Some(1));
        assert_eq!(d.tl0_pic_idx, None);
        assert_eq!(d.header_len, 5);
        assert!(!d.is_keyframe);
        // B=0 (middle of a key frame) → not key.
        assert!(!is_keyframe(CodecKind::Vp9, &[0x00, 0x00]));
        // No L: key if !P && B.
        assert!(is_keyframe(CodecKind::Vp9, &[0x08, 0x00]));
        let pd = PayloadDescriptor::parse(CodecKind::Vp9, &[0xA8, 0x05, 0x62, 0x07]).unwrap();
        assert_eq!(pd.spatial_id(), Some(1));
        assert_eq!(pd.temporal_id(), Some(3));
    }

    #[test]
    fn h264_single_nal() {
        assert!(is_keyframe(CodecKind::H264, &[0x65, 0x88, 0x84])); // IDR
        assert!(is_keyframe(CodecKind::H264, &[0x67, 0x42, 0xc0, 0x1f])); // SPS
        assert!(!is_keyframe(CodecKind::H264, &[0x68, 0xce, 0x3c, 0x80])); // PPS
        assert!(!is_keyframe(CodecKind::H264, &[0x41, 0x9a])); // non-IDR slice
        assert!(!is_keyframe(CodecKind::H264, &[])); // empty
        assert!(!is_keyframe(CodecKind::H264, &[0x00])); // type 0 reserved
        assert!(!is_keyframe(CodecKind::H264, &[0x1E, 0x00])); // type 30
    }

    #[test]
    fn h264_stap_a() {
        // STAP-A: SPS(4) + PPS(4) + IDR(3)
        let p = [
            0x78, // STAP-A
            0x00, 0x04, 0x67, 0x42, 0xc0, 0x1f, // SPS
            0x00, 0x04, 0x68, 0xce, 0x3c, 0x80, // PPS
            0x00, 0x03, 0x65, 0x88, 0x84, // IDR
        ];
        let i = H264Info::parse(&p).unwrap();
        assert!(i.has_sps && i.has_pps && i.has_idr && i.is_keyframe);
        assert_eq!(i.packet_nal_type, h264_nal::STAP_A);
        // Only PPS + non-IDR.
        let p = [0x78, 0x00, 0x02, 0x68, 0xce, 0x00, 0x02, 0x41, 0x9a];
        let i = H264Info::parse(&p).unwrap();
        assert!(i.has_pps && !i.is_keyframe);
        // Truncated unit / zero-size unit / empty aggregate.
        assert!(H264Info::parse(&[0x78, 0x00, 0x05, 0x67, 0x42]).is_none());
        assert!(H264Info::parse(&[0x78, 0x00, 0x00, 0x67]).is_none());
        assert!(H264Info::parse(&[0x78]).is_none());
        assert!(H264Info::parse(&[0x78, 0x00]).is_none());
        // STAP-B with DON.
        let p = [0x79, 0x00, 0x01, 0x00, 0x02, 0x67, 0x42];
        assert!(is_keyframe(CodecKind::H264, &p));
        // MTAP16 unit: size, DOND, TS offset(2), NAL.
        let p = [0x7A, 0x00, 0x01, 0x00, 0x05, 0x00, 0x00, 0x10, 0x65, 0x88];
        assert!(is_keyframe(CodecKind::H264, &p));
        // MTAP24 unit: size, DOND, TS offset(3), NAL.
        let p = [0x7B, 0x00, 0x01, 0x00, 0x05, 0x00, 0x00, 0x00, 0x10, 0x65];
        assert!(is_keyframe(CodecKind::H264, &p));
        assert!(H264Info::parse(&[0x7B, 0x00, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00]).is_none());
    }

    #[test]
    fn h264_fu_a() {
        // FU-A start of IDR.
        let p = [0x7C, 0x85, 0x88, 0x84];
        let i = H264Info::parse(&p).unwrap();
        assert!(i.is_keyframe && i.fragment_start && !i.fragment_end);
        // FU-A middle/end of IDR → not flagged.
        assert!(!is_keyframe(CodecKind::H264, &[0x7C, 0x05, 0x00]));
        let i = H264Info::parse(&[0x7C, 0x45, 0x00]).unwrap();
        assert!(i.fragment_end && !i.is_keyframe);
        // FU-A start of non-IDR.
        assert!(!is_keyframe(CodecKind::H264, &[0x7C, 0x81, 0x00]));
        // Truncated FU-A.
        assert!(H264Info::parse(&[0x7C]).is_none());
        // FU-B start of SPS with DON.
        assert!(is_keyframe(CodecKind::H264, &[0x7D, 0x87, 0x00, 0x01]));
        assert!(H264Info::parse(&[0x7D, 0x87, 0x00]).is_none());
    }

    #[test]
    fn av1() {
        assert!(is_keyframe(CodecKind::Av1, &[0x18, 0x0A]));
        assert!(!is_keyframe(CodecKind::Av1, &[0x98, 0x0A])); // Z set
        assert!(!is_keyframe(CodecKind::Av1, &[0x10, 0x0A])); // N clear
        assert!(!is_keyframe(CodecKind::Av1, &[0x18])); // no OBU
        let i = Av1Info::parse(&[0x68, 0x00]).unwrap();
        assert_eq!(i.obu_count, 2);
        assert!(i.fragment_continues && i.new_sequence);
    }
}
