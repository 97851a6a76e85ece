//! Engine-side state of one WebRTC transport: ICE, DTLS, SRTP, and the tables that route its packets.

use std::collections::HashMap;
use std::net::SocketAddr;

use slotmap::new_key_type;

use super::cipher::MediaCipher;
use super::dtls::DtlsSession;
use super::ice::IceLite;
use super::{ConsumerKey, ProducerKey};
use crate::ids::{RouterId, TransportId};
use crate::transport::IceState;

new_key_type! {
    /// Index of a transport in the engine's arena.
    pub(crate) struct TransportKey;
}

/// Client addresses kept per transport (mediasoup keeps as many tuples): enough for a client moving between networks
/// or NAT bindings, while a client that sends authenticated checks from ever new ports cannot grow the routing table.
const MAX_REMOTES: usize = 8;

/// A socket of ours (index into the worker's sockets) and a client address.
pub(crate) type Tuple = (usize, SocketAddr);

pub(crate) struct TransportState {
    pub id: TransportId,
    pub router: RouterId,
    pub ice: IceLite,
    pub ice_state: IceState,
    pub dtls: DtlsSession,
    /// The client's DTLS parameters when we are the DTLS client and no ICE path exists yet: the handshake starts when
    /// the first check arrives (a ClientHello sent before that would be lost and wait a whole retransmission).
    pub pending_dtls: Option<crate::transport::DtlsParameters>,
    /// Decrypts what the client sends.
    pub srtp_in: Option<MediaCipher>,
    /// Encrypts what we send to the client.
    pub srtp_out: Option<MediaCipher>,
    /// Every client address ICE accepted, so they can be forgotten when the transport closes.
    pub remotes: Vec<Tuple>,
    /// Where media to the client goes: the nominated pair, or the last address a valid check came from.
    pub selected: Option<Tuple>,
    pub producers: Vec<ProducerKey>,
    pub consumers: Vec<ConsumerKey>,
    /// Incoming SSRC → producer and its stream index. Filled from signalled SSRCs, or from mid/rid on first sight.
    pub ssrc_table: HashMap<u32, (ProducerKey, usize)>,
    /// Incoming RTX SSRC → producer and stream index.
    pub rtx_ssrc_table: HashMap<u32, (ProducerKey, usize)>,
    /// mid → producer, for streams whose SSRC was not signalled (simulcast with rids).
    pub mid_table: HashMap<String, ProducerKey>,
    /// Outgoing SSRC → consumer, to route the client's feedback.
    pub consumer_ssrcs: HashMap<u32, ConsumerKey>,
    /// The next consumer's mid on this transport ("0", "1", …), as mediasoup numbers them.
    pub next_mid: u32,
    /// transport-wide-cc sequence numbers of what this transport sends.
    pub twcc_seq: u16,
    /// Send-side bandwidth estimation, from the first consumer that negotiated transport-cc.
    pub bwe: Option<super::bwe::Bwe>,
    /// When the consumers' layers were last allocated, and at what estimate.
    pub last_allocation: Option<(std::time::Instant, u64)>,
    /// Probator RTP state (padding sent to probe for bandwidth).
    pub probe_seq: u16,
    pub probe_next: Option<std::time::Instant>,
    /// Byte counters for transport stats: (RTP, RTX, probation, everything).
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub probation_bytes_sent: u64,
    /// Bits per second over the last second, and the byte counts they were computed from.
    pub send_bitrate: u64,
    pub recv_bitrate: u64,
    pub bitrate_base: (u64, u64),
    /// The client's REMB estimate: the limit when it negotiated no transport-cc.
    pub remb_bitrate: Option<u64>,
    /// Round-trip time last measured from the client's report blocks about our streams (a receiving transport).
    pub rtt: Option<std::time::Duration>,
    /// Round-trip time to the client's host, from this or a sibling transport at the same IP: a browser's send
    /// transport carries no report blocks of its own, but its receive transport does (see `rtcp::refresh_host_rtts`).
    pub host_rtt: Option<std::time::Duration>,
    /// The CNAME all producers of this transport carry (mediasoup's `cnameForProducers`).
    pub cname_for_producers: Option<String>,
    /// Sender SSRC of our receiver reports and feedback.
    pub rtcp_ssrc: u32,
    /// Arrival times of the client's packets, for transport-cc feedback.
    pub twcc: crate::rtp::TwccRecorder,
    /// The client's transport-wide-cc extension id (one per BUNDLE transport), from its producers; 0 if none.
    pub twcc_ext: u8,
    /// Set for a plain transport (no ICE, no DTLS: its ICE agent and DTLS session stay idle).
    pub plain: Option<Box<super::plain::PlainState>>,
    /// When this transport's entry in the engine's timer queue is due; `None` while it has none (`timers.rs`).
    pub timer: Option<std::time::Instant>,
}

impl TransportState {
    pub fn new(id: TransportId, router: RouterId, ice: IceLite) -> Self {
        TransportState {
            id,
            router,
            ice,
            ice_state: IceState::New,
            dtls: DtlsSession::new(),
            pending_dtls: None,
            srtp_in: None,
            srtp_out: None,
            remotes: Vec::new(),
            selected: None,
            producers: Vec::new(),
            consumers: Vec::new(),
            ssrc_table: HashMap::new(),
            rtx_ssrc_table: HashMap::new(),
            mid_table: HashMap::new(),
            consumer_ssrcs: HashMap::new(),
            next_mid: 0,
            twcc_seq: 0,
            bwe: None,
            last_allocation: None,
            probe_seq: rand::random(),
            probe_next: None,
            bytes_sent: 0,
            bytes_received: 0,
            probation_bytes_sent: 0,
            send_bitrate: 0,
            recv_bitrate: 0,
            bitrate_base: (0, 0),
            remb_bitrate: None,
            rtt: None,
            host_rtt: None,
            cname_for_producers: None,
            rtcp_ssrc: rand::random(),
            twcc: crate::rtp::TwccRecorder::new(),
            twcc_ext: 0,
            plain: None,
            timer: None,
        }
    }

    /// Where RTCP to the client goes: the media path, or a plain transport's RTCP tuple when it has no RTCP mux.
    pub fn rtcp_target(&self) -> Option<Tuple> {
        match &self.plain {
            Some(plain) => plain.rtcp_target(),
            None => self.selected,
        }
    }

    /// Asks for what a fan-out reads and writes of this transport (see `crate::prefetch`), one level of pointers per
    /// depth: 0 its own fields, 1 its SRTP context and the estimator's history slot (their addresses are in those
    /// fields), 2 the SRTP key (its address is in the context).
    pub fn prefetch(&self, depth: usize) {
        match depth {
            0 => {
                crate::prefetch::line(&self.selected);
                crate::prefetch::line(&self.twcc_seq);
                crate::prefetch::line(&self.bytes_sent);
                crate::prefetch::line(&self.srtp_out);
                if let Some(bwe) = &self.bwe {
                    bwe.prefetch();
                }
            }
            1 => {
                if let Some(cipher) = &self.srtp_out {
                    cipher.prefetch();
                }
                if let Some(bwe) = &self.bwe {
                    bwe.prefetch_slot();
                }
            }
            _ => {
                if let Some(cipher) = &self.srtp_out {
                    cipher.prefetch_key();
                }
            }
        }
    }

    /// Accounts one packet sent to the client; `size` is its length on the wire, `twcc` its transport-wide
    /// sequence number if it carries one.
    pub fn on_sent(
        &mut self,
        now: std::time::Instant,
        size: usize,
        audio: bool,
        twcc: Option<u16>,
    ) {
        self.bytes_sent += size as u64;
        if let (Some(bwe), Some(seq)) = (self.bwe.as_mut(), twcc) {
            bwe.on_sent(now, seq, size, audio, None);
        }
    }

    /// Records a new client address that passed ICE. When the transport already has [`MAX_REMOTES`], the oldest one
    /// media is not being sent to is forgotten and returned, for the caller to unroute.
    pub fn add_remote(&mut self, tuple: Tuple) -> Option<Tuple> {
        let evicted = if self.remotes.len() >= MAX_REMOTES {
            let oldest = self.remotes.iter().position(|r| Some(*r) != self.selected);
            oldest.map(|i| self.remotes.remove(i))
        } else {
            None
        };
        self.remotes.push(tuple);
        evicted
    }
}
