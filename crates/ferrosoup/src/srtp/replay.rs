//! Packet index estimation (RFC 3711 §3.3.1 / Appendix A) and the replay list
//! (§3.3.2).
//!
//! Both are kept as one "highest authenticated index" plus a bitmap below it:
//! the rollover counter (ROC) and the highest sequence number `s_l` of the RFC
//! are just the upper 32 and lower 16 bits of that 48-bit index, so there is no
//! separate state to keep consistent.

use super::SrtpError;

/// How many indices below the highest one are remembered.
///
/// libsrtp defaults to 128 and mediasoup keeps that; 64 is the RFC minimum. A
/// `u128` gives 128 for free.
pub(crate) const REPLAY_WINDOW: u64 = 128;

/// Highest SRTP packet index: 32-bit ROC, 16-bit SEQ.
const MAX_RTP_INDEX: u64 = (1 << 48) - 1;

/// Estimates the 48-bit packet index of a packet carrying `seq`, given the
/// highest index seen so far on that SSRC (RFC 3711 Appendix A).
///
/// The guess is the index closest to `highest` whose low 16 bits are `seq`,
/// i.e. the candidate ROC is `ROC - 1`, `ROC` or `ROC + 1`. Returns `None`
/// when that would be negative (a packet from "before" the first one, which
/// cannot be authenticated anyway) or beyond 2^48 (the key must be changed).
#[inline]
pub(crate) fn estimate_index(highest: u64, seq: u16) -> Option<u64> {
    let roc = highest >> 16;
    let s_l = highest & 0xffff;
    let seq = u64::from(seq);
    let v = if s_l < 0x8000 {
        if seq > s_l + 0x8000 {
            roc.checked_sub(1)?
        } else {
            roc
        }
    } else if seq + 0x8000 < s_l {
        roc + 1
    } else {
        roc
    };
    let index = (v << 16) | seq;
    (index <= MAX_RTP_INDEX).then_some(index)
}

/// Sliding replay window over packet indices (48-bit SRTP or 31-bit SRTCP).
#[derive(Clone, Debug, Default)]
pub(crate) struct ReplayWindow {
    /// Highest authenticated index; meaningless until `bitmap != 0`.
    highest: u64,
    /// Bit `i` set means index `highest - i` has been accepted. Bit 0 is
    /// always set once the window holds anything, so `bitmap == 0` doubles as
    /// "nothing received yet".
    bitmap: u128,
}

impl ReplayWindow {
    /// A window whose first accepted index is `index`.
    pub(crate) fn starting_at(index: u64) -> Self {
        Self {
            highest: index,
            bitmap: 1,
        }
    }

    /// Highest index accepted so far (the base for ROC estimation).
    #[inline]
    pub(crate) fn highest(&self) -> u64 {
        self.highest
    }

    /// Would `index` be accepted? Called before authenticating, so a replayed
    /// or ancient packet costs no crypto; nothing is recorded until
    /// [`accept`](Self::accept) runs after the tag checks out.
    #[inline]
    pub(crate) fn check(&self, index: u64) -> Result<(), SrtpError> {
        if self.bitmap == 0 || index > self.highest {
            return Ok(());
        }
        let delta = self.highest - index;
        if delta >= REPLAY_WINDOW {
            return Err(SrtpError::TooOld);
        }
        if self.bitmap & (1u128 << delta) != 0 {
            return Err(SrtpError::Replayed);
        }
        Ok(())
    }

    /// Records an authenticated `index` (which passed [`check`](Self::check)).
    #[inline]
    pub(crate) fn accept(&mut self, index: u64) {
        if self.bitmap == 0 {
            *self = Self::starting_at(index);
        } else if index > self.highest {
            let shift = index - self.highest;
            self.bitmap = if shift >= REPLAY_WINDOW {
                1
            } else {
                (self.bitmap << shift) | 1
            };
            self.highest = index;
        } else {
            let delta = self.highest - index;
            if delta < REPLAY_WINDOW {
                self.bitmap |= 1u128 << delta;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_same_roc() {
        assert_eq!(estimate_index(0x1_0005, 7), Some(0x1_0007));
        assert_eq!(estimate_index(0x1_0005, 2), Some(0x1_0002));
    }

    #[test]
    fn estimate_forward_wrap() {
        // s_l near the top, small seq: next ROC.
        assert_eq!(estimate_index(0x0_fff0, 3), Some(0x1_0003));
    }

    #[test]
    fn estimate_backward_wrap() {
        // s_l just wrapped, late packet from before the wrap: previous ROC.
        assert_eq!(estimate_index(0x1_0002, 0xfffe), Some(0x0_fffe));
        // ...which does not exist while ROC is 0.
        assert_eq!(estimate_index(0x0_0002, 0xfffe), None);
    }

    #[test]
    fn estimate_stops_at_2_48() {
        assert_eq!(estimate_index(MAX_RTP_INDEX, 0xffff), Some(MAX_RTP_INDEX));
        assert_eq!(estimate_index(MAX_RTP_INDEX, 1), None);
    }

    #[test]
    fn window_behaviour() {
        let mut w = ReplayWindow::default();
        assert!(w.check(1000).is_ok());
        w.accept(1000);
        assert_eq!(w.check(1000), Err(SrtpError::Replayed));
        assert!(w.check(999).is_ok());
        w.accept(999);
        assert_eq!(w.check(999), Err(SrtpError::Replayed));
        assert!(w.check(1000 - 127).is_ok());
        assert_eq!(w.check(1000 - 128), Err(SrtpError::TooOld));
        w.accept(1200);
        assert_eq!(w.check(1000), Err(SrtpError::TooOld));
        assert!(w.check(1199).is_ok());
        w.accept(1201);
        assert_eq!(w.check(1200), Err(SrtpError::Replayed));
        assert_eq!(w.highest(), 1201);
        // A jump far ahead clears the window.
        w.accept(5000);
        assert!(w.check(4999).is_ok());
        assert_eq!(w.check(5000), Err(SrtpError::Replayed));
    }
}
