//! Per-SSRC state storage.
//!
//! An SFU transport carries a handful of SSRCs (audio, video layers, RTX), so a
//! pair of parallel vectors scanned linearly beats hashing: the key scan is a
//! few compares over contiguous `u32`s and nothing is allocated after the
//! stream's first packet.

use super::SrtpError;

/// Upper bound on SSRCs per table.
///
/// New entries are only created for packets that authenticated (inbound) or
/// that we chose to send (outbound), so this is not reachable by an off-path
/// attacker; it bounds the damage a misbehaving authenticated peer can do to
/// the linear scan. Use [`SrtpContext::remove_ssrc`](super::SrtpContext::remove_ssrc)
/// when a stream goes away.
pub(crate) const MAX_SSRCS: usize = 512;

#[derive(Debug)]
pub(crate) struct SsrcTable<T> {
    ssrcs: Vec<u32>,
    states: Vec<T>,
}

impl<T> Default for SsrcTable<T> {
    fn default() -> Self {
        Self {
            ssrcs: Vec::new(),
            states: Vec::new(),
        }
    }
}

impl<T> SsrcTable<T> {
    #[inline]
    pub(crate) fn get(&self, ssrc: u32) -> Option<&T> {
        let pos = self.ssrcs.iter().position(|&s| s == ssrc)?;
        self.states.get(pos)
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, ssrc: u32) -> Option<&mut T> {
        let pos = self.ssrcs.iter().position(|&s| s == ssrc)?;
        self.states.get_mut(pos)
    }

    /// Inserts state for an SSRC that [`get`](Self::get) did not find.
    pub(crate) fn insert(&mut self, ssrc: u32, state: T) -> Result<(), SrtpError> {
        if self.ssrcs.len() >= MAX_SSRCS {
            return Err(SrtpError::TooManySsrcs);
        }
        self.ssrcs.push(ssrc);
        self.states.push(state);
        Ok(())
    }

    /// Updates the state of `ssrc` in place, or inserts `new()` if absent.
    #[inline]
    pub(crate) fn upsert(
        &mut self,
        ssrc: u32,
        update: impl FnOnce(&mut T),
        new: impl FnOnce() -> T,
    ) -> Result<(), SrtpError> {
        match self.get_mut(ssrc) {
            Some(state) => {
                update(state);
                Ok(())
            }
            None => self.insert(ssrc, new()),
        }
    }

    pub(crate) fn remove(&mut self, ssrc: u32) {
        if let Some(pos) = self.ssrcs.iter().position(|&s| s == ssrc) {
            self.ssrcs.swap_remove(pos);
            self.states.swap_remove(pos);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.ssrcs.len()
    }
}
