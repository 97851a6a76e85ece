//! Why incoming datagrams were dropped: one plain counter per reason, so abuse and misbehaving clients show up in the
//! worker dump (and in tests) instead of only in debug logs.
//!
//! Dropping is the answer to everything malformed, forged or unexpected on the media port; these counters are the only
//! trace it leaves. They are incremented on the packet path, so they are plain integers: no allocation, no lock.

use serde::Serialize;

use crate::srtp::SrtpError;

/// Datagrams the worker dropped, by reason. Every datagram is counted at most once, under the first reason it failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DropCounters {
    /// The first byte is in none of RFC 7983's ranges: not STUN, DTLS, RTP or RTCP.
    pub unclassified: u64,
    /// Looks like STUN but does not parse, or is not a binding request (an ICE-lite server only answers those).
    pub stun_malformed: u64,
    /// A binding request whose USERNAME names none of our transports, from an address no transport knows.
    pub stun_unknown_ufrag: u64,
    /// A binding request the transport's ICE agent refused: wrong MESSAGE-INTEGRITY or not the client's ufrag.
    pub stun_rejected: u64,
    /// DTLS, RTP or RTCP from an address no authenticated ICE check came from.
    pub unknown_sender: u64,
    /// A DTLS record the association failed on (the transport's DTLS ends with it).
    pub dtls_error: u64,
    /// RTP or RTCP from a known address before DTLS gave SRTP keys (or after the association ended).
    pub srtp_not_ready: u64,
    /// SRTP/SRTCP authentication failed: tampered, forged, or keyed differently.
    pub srtp_auth_failed: u64,
    /// SRTP/SRTCP replayed, or older than the replay window.
    pub srtp_replayed: u64,
    /// Too short or malformed for SRTP/SRTCP to even check it, or refused for another SRTP reason.
    pub srtp_malformed: u64,
    /// Authenticated RTP of a known stream that does not parse once an RTX wrapper is removed.
    pub rtp_malformed: u64,
    /// Authenticated RTP whose SSRC (and mid/rid) matches no producer of the transport, or whose header does not parse.
    pub rtp_unknown_ssrc: u64,
    /// Authenticated RTCP whose compound lengths do not add up (the rest of the compound packet is dropped).
    pub rtcp_malformed: u64,
    /// Packets of a piped producer not handed to another worker because its pipe queue was full.
    pub pipe_full: u64,
}

impl std::ops::AddAssign for DropCounters {
    fn add_assign(&mut self, other: DropCounters) {
        let DropCounters {
            unclassified,
            stun_malformed,
            stun_unknown_ufrag,
            stun_rejected,
            unknown_sender,
            dtls_error,
            srtp_not_ready,
            srtp_auth_failed,
            srtp_replayed,
            srtp_malformed,
            rtp_malformed,
            rtp_unknown_ssrc,
            rtcp_malformed,
            pipe_full,
        } = other;
        self.unclassified += unclassified;
        self.stun_malformed += stun_malformed;
        self.stun_unknown_ufrag += stun_unknown_ufrag;
        self.stun_rejected += stun_rejected;
        self.unknown_sender += unknown_sender;
        self.dtls_error += dtls_error;
        self.srtp_not_ready += srtp_not_ready;
        self.srtp_auth_failed += srtp_auth_failed;
        self.srtp_replayed += srtp_replayed;
        self.srtp_malformed += srtp_malformed;
        self.rtp_malformed += rtp_malformed;
        self.rtp_unknown_ssrc += rtp_unknown_ssrc;
        self.rtcp_malformed += rtcp_malformed;
        self.pipe_full += pipe_full;
    }
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

    /// All dropped datagrams.
    pub fn total(&self) -> u64 {
        let DropCounters {
            unclassified,
            stun_malformed,
            stun_unknown_ufrag,
            stun_rejected,
            unknown_sender,
            dtls_error,
            srtp_not_ready,
            srtp_auth_failed,
            srtp_replayed,
            srtp_malformed,
            rtp_malformed,
            rtp_unknown_ssrc,
            rtcp_malformed,
            pipe_full,
        } = *self;
        unclassified
            + stun_malformed
            + stun_unknown_ufrag
            + stun_rejected
            + unknown_sender
            + dtls_error
            + srtp_not_ready
            + srtp_auth_failed
            + srtp_replayed
            + srtp_malformed
            + rtp_malformed
            + pipe_full
            + rtp_unknown_ssrc
            + rtcp_malformed
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
