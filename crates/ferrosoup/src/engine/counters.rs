//! Why incoming datagrams were dropped: one plain counter per reason, so abuse and misbehaving clients show up in the
//! worker dump (and in tests) instead of only in debug logs.
//!
//! Dropping is the answer to everything malformed, forged or unexpected on the media port; these counters are the only
//! trace it leaves. They are incremented on the packet path, so they are plain integers: no allocation, no lock.

use serde::Serialize;

use crate::srtp::SrtpError;

/// Declares [`DropCounters`] from one list of reasons, with its sum and its merge, so a new reason cannot be
/// forgotten in either.
macro_rules! drop_counters {
    ($($(#[$doc:meta])* $reason:ident,)*) => {
        /// Datagrams the worker dropped, by reason. Every datagram is counted at most once, under the first reason it
        /// failed.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
        #[serde(rename_all = "camelCase")]
        pub struct DropCounters {
            $($(#[$doc])* pub $reason: u64,)*
        }

        impl DropCounters {
            /// All dropped datagrams.
            pub fn total(&self) -> u64 {
                0 $(+ self.$reason)*
            }
        }

        /// Totals over several workers.
        impl std::ops::AddAssign for DropCounters {
            fn add_assign(&mut self, other: DropCounters) {
                $(self.$reason += other.$reason;)*
            }
        }
    };
}

drop_counters! {
    /// The first byte is in none of RFC 7983's ranges: not STUN, DTLS, RTP or RTCP.
    unclassified,
    /// Looks like STUN but does not parse, or is not a binding request (an ICE-lite server only answers those).
    stun_malformed,
    /// A binding request whose USERNAME names none of our transports, from an address no transport knows.
    stun_unknown_ufrag,
    /// A binding request the transport's ICE agent refused: wrong MESSAGE-INTEGRITY or not the client's ufrag.
    stun_rejected,
    /// DTLS, RTP or RTCP from an address no authenticated ICE check came from.
    unknown_sender,
    /// A DTLS record the association failed on (the transport's DTLS ends with it).
    dtls_error,
    /// RTP or RTCP from a known address before DTLS gave SRTP keys (or after the association ended).
    srtp_not_ready,
    /// SRTP/SRTCP authentication failed: tampered, forged, or keyed differently.
    srtp_auth_failed,
    /// SRTP/SRTCP replayed, or older than the replay window.
    srtp_replayed,
    /// Too short or malformed for SRTP/SRTCP to even check it, or refused for another SRTP reason.
    srtp_malformed,
    /// Authenticated RTP of a known stream that does not parse once an RTX wrapper is removed.
    rtp_malformed,
    /// Authenticated RTP whose SSRC (and mid/rid) matches no producer of the transport, or whose header does not parse.
    rtp_unknown_ssrc,
    /// Authenticated RTCP whose compound lengths do not add up (the rest of the compound packet is dropped).
    rtcp_malformed,
    /// Packets of a piped producer not handed to another worker because its pipe queue was full.
    pipe_full,
}

impl DropCounters {
    /// Counts a datagram SRTP/SRTCP refused.
    pub(crate) fn srtp(&mut self, error: SrtpError) {
        match error {
            SrtpError::AuthFailed => self.srtp_auth_failed += 1,
            SrtpError::Replayed | SrtpError::TooOld => self.srtp_replayed += 1,
            _ => self.srtp_malformed += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srtp_errors_land_in_their_counter() {
        let mut c = DropCounters::default();
        c.srtp(SrtpError::AuthFailed);
        c.srtp(SrtpError::Replayed);
        c.srtp(SrtpError::TooOld);
        c.srtp(SrtpError::TooShort);
        assert_eq!(
            (c.srtp_auth_failed, c.srtp_replayed, c.srtp_malformed),
            (1, 2, 1)
        );
        assert_eq!(c.total(), 4);
    }
}
