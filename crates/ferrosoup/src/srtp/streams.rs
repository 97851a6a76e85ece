//! Per-SSRC state storage.
//!
//! An SFU transport carries a handful of SSRCs (audio, video layers, RTX), so a
//! short list scanned linearly beats hashing: the key scan is a few compares
//! and nothing is allocated after the stream's first packet. The first
//! [`INLINE`] entries live inside the table itself, so a context's own cache
//! lines hold them: a fan-out protects one packet for each of many transports
//! in turn, and an entry on the heap was one more cache miss per packet.

use smallvec::SmallVec;

use super::SrtpError;

/// Entries kept in place before the table moves to the heap.
const INLINE: usize = 4;

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
    entries: SmallVec<[(u32, T); INLINE]>,
}

impl<T> Default for SsrcTable<T> {
    fn default() -> Self {
        Self {
            entries: SmallVec::new(),
        }
    }
}

impl<T> SsrcTable<T> {
    #[inline]
    pub(crate) fn get(&self, ssrc: u32) -> Option<&T> {
        self.entries
            .iter()
            .find_map(|(s, state)| (*s == ssrc).then_some(state))
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, ssrc: u32) -> Option<&mut T> {
        self.entries
            .iter_mut()
            .find_map(|(s, state)| (*s == ssrc).then_some(state))
    }

    /// Inserts state for an SSRC that [`get`](Self::get) did not find.
    pub(crate) fn insert(&mut self, ssrc: u32, state: T) -> Result<(), SrtpError> {
        if self.entries.len() >= MAX_SSRCS {
            return Err(SrtpError::TooManySsrcs);
        }
        self.entries.push((ssrc, state));
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
        if let Some(pos) = self.entries.iter().position(|(s, _)| *s == ssrc) {
            self.entries.swap_remove(pos);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}
