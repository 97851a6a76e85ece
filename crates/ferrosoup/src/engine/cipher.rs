//! How a transport protects its media: SRTP, or nothing at all (a plain transport without SRTP, where ffmpeg or
//! GStreamer send bare RTP). Both have the SRTP context's in-place API, so the packet path does not care which.

use crate::srtp::{SrtpContext, SrtpError};

pub(crate) enum MediaCipher {
    Srtp(Box<SrtpContext>),
    /// RTP and RTCP go on the wire as they are.
    Clear,
}

impl From<SrtpContext> for MediaCipher {
    fn from(context: SrtpContext) -> Self {
        MediaCipher::Srtp(Box::new(context))
    }
}

impl MediaCipher {
    /// Asks for the context's state (see `crate::prefetch`).
    pub fn prefetch(&self) {
        if let MediaCipher::Srtp(context) = self {
            context.prefetch();
        }
    }

    /// Asks for the key's state, whose address is in the context: call it after [`MediaCipher::prefetch`].
    pub fn prefetch_key(&self) {
        if let MediaCipher::Srtp(context) = self {
            context.prefetch_key();
        }
    }

    pub fn protect_rtp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, SrtpError> {
        match self {
            MediaCipher::Srtp(c) => c.protect_rtp(buf, len),
            MediaCipher::Clear => clear_len(buf, len),
        }
    }

    /// See [`SrtpContext::protect_rtp_append`]; in the clear, `tail` is appended.
    pub fn protect_rtp_append(&mut self, buf: &mut Vec<u8>, tail: &[u8]) -> Result<(), SrtpError> {
        match self {
            MediaCipher::Srtp(c) => c.protect_rtp_append(buf, tail),
            MediaCipher::Clear => {
                buf.extend_from_slice(tail);
                Ok(())
            }
        }
    }

    pub fn unprotect_rtp(&mut self, buf: &mut [u8]) -> Result<usize, SrtpError> {
        match self {
            MediaCipher::Srtp(c) => c.unprotect_rtp(buf),
            MediaCipher::Clear => Ok(buf.len()),
        }
    }

    pub fn protect_rtcp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, SrtpError> {
        match self {
            MediaCipher::Srtp(c) => c.protect_rtcp(buf, len),
            MediaCipher::Clear => clear_len(buf, len),
        }
    }

    pub fn unprotect_rtcp(&mut self, buf: &mut [u8]) -> Result<usize, SrtpError> {
        match self {
            MediaCipher::Srtp(c) => c.unprotect_rtcp(buf),
            MediaCipher::Clear => Ok(buf.len()),
        }
    }

    pub fn remove_ssrc(&mut self, ssrc: u32) {
        if let MediaCipher::Srtp(c) = self {
            c.remove_ssrc(ssrc);
        }
    }
}

/// A clear packet is its plaintext: the caller's length, if it fits the buffer.
fn clear_len(buf: &[u8], len: usize) -> Result<usize, SrtpError> {
    if len > buf.len() {
        return Err(SrtpError::BufferTooSmall);
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clear_passes_packets_unchanged() {
        let mut cipher = MediaCipher::Clear;
        let mut buf = [0x80u8, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 42, 1, 2, 0, 0];
        assert_eq!(cipher.protect_rtp(&mut buf, 14), Ok(14));
        assert_eq!(cipher.unprotect_rtp(&mut buf[..14]), Ok(14));
        assert_eq!(
            cipher.protect_rtcp(&mut buf, 17),
            Err(SrtpError::BufferTooSmall)
        );
    }
}
