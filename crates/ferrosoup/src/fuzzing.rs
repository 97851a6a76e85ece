//! Internals exposed for the fuzz targets in `fuzz/` (cargo feature `fuzzing`). Not a stable API.
//!
//! The parsers (`rtp`, `srtp`) are public anyway; what needs exposing is a whole engine in a known state, which the
//! library otherwise only builds behind a worker's sockets.

pub use crate::engine::harness::{
    vp8_packet, Harness as EngineHarness, Sender, AUDIO_SSRC, EXT_ABS_SEND_TIME, EXT_MID,
    EXT_TRANSPORT_CC, OPUS_PT, RTX_PT, VIDEO_RTX_SSRC, VIDEO_SSRC, VP8_PT,
};
