//! Plain transports in the engine: their own sockets, the remote tuple (signalled with `connect`, or learnt from the
//! first packet with comedia), and SRTP keys from signaling instead of DTLS.
//!
//! Once a sender's address is known it is entered in `by_remote` like an ICE-validated client, so from there on its
//! packets take the same path as WebRTC media (`packet.rs`, `rtcp.rs`).
//!
//! Socket numbering: the worker's shared sockets come first (one per local candidate); plain sockets take the slots
//! after them. A slot keeps its number for as long as its socket lives, so nothing is ever renumbered. The engine
//! chooses each new socket's slot (the lowest free one) and tells the driver through [`Engine::next_adopted_socket`];
//! a closed transport's slots are handed back through [`Engine::next_released_socket`], and reused only after the
//! driver has dropped their sockets.

use std::net::SocketAddr;
use std::time::Instant;

use base64::Engine as _;

use super::cipher::MediaCipher;
use super::ice::IceLite;
use super::transport::{TransportKey, TransportState, Tuple};
use super::Engine;
use crate::ids::{RouterId, TransportId};
use crate::router::RouterEvent;
use crate::rtp::PacketClass;
use crate::srtp::SrtpContext;
use crate::transport::{
    PlainConnectParameters, PlainSetup, PlainTransportInfo, SrtpCryptoSuite, SrtpParameters,
    TransportTuple,
};
use crate::Error;

pub(crate) struct PlainState {
    pub comedia: bool,
    pub rtp_socket: usize,
    /// The RTCP socket when `rtcp_mux` is off.
    pub rtcp_socket: Option<usize>,
    pub local: SocketAddr,
    pub announced: Option<String>,
    pub rtcp_local: Option<(SocketAddr, Option<String>)>,
    /// Where RTP goes (and RTCP, with `rtcp_mux`) and the only address it is accepted from.
    pub tuple: Option<SocketAddr>,
    /// Where RTCP goes when `rtcp_mux` is off, and the only address it is accepted from.
    pub rtcp_tuple: Option<SocketAddr>,
    /// SRTP: the suite and our master key + salt (what the remote side decrypts our media with).
    pub srtp: Option<(SrtpCryptoSuite, Vec<u8>)>,
    /// `connect` was called (it may be called once).
    pub connected: bool,
}

impl PlainState {
    /// Where RTCP to the remote side goes.
    pub fn rtcp_target(&self) -> Option<Tuple> {
        match self.rtcp_socket {
            None => self.tuple.map(|to| (self.rtp_socket, to)),
            Some(socket) => self.rtcp_tuple.map(|to| (socket, to)),
        }
    }

    pub(super) fn info(&self, id: TransportId) -> PlainTransportInfo {
        let b64 = base64::engine::general_purpose::STANDARD;
        PlainTransportInfo {
            id,
            tuple: TransportTuple::new(self.local, self.announced.as_deref(), self.tuple),
            rtcp_tuple: self.rtcp_local.as_ref().map(|(local, announced)| {
                TransportTuple::new(*local, announced.as_deref(), self.rtcp_tuple)
            }),
            rtcp_mux: self.rtcp_socket.is_none(),
            comedia: self.comedia,
            srtp_parameters: self.srtp.as_ref().map(|(suite, key)| SrtpParameters {
                crypto_suite: *suite,
                key_base64: b64.encode(key),
            }),
        }
    }
}

fn random_key(suite: SrtpCryptoSuite) -> Vec<u8> {
    (0..suite.master_length()).map(|_| rand::random()).collect()
}

/// An SRTP context from a master key followed by its salt.
fn context(suite: SrtpCryptoSuite, key_and_salt: &[u8]) -> Result<SrtpContext, Error> {
    let profile = suite.profile();
    let (key, salt) = key_and_salt
        .split_at_checked(profile.key_len())
        .ok_or_else(|| Error::InvalidArgument("SRTP key too short".into()))?;
    SrtpContext::new(profile, key, salt)
        .map_err(|e| Error::InvalidArgument(format!("SRTP key: {e}")))
}

pub(super) fn create(
    engine: &mut Engine,
    now: Instant,
    router_id: RouterId,
    id: TransportId,
    setup: PlainSetup,
    socket_count: usize,
) -> Result<PlainTransportInfo, Error> {
    // The driver adopts the sockets whatever happens here. Their slots start out released, so that unless the
    // transport is created below the driver drops them (and frees the ports) after this step.
    let slots: Vec<usize> = (0..socket_count)
        .map(|_| engine.take_socket_slot())
        .collect();
    let (Some(&rtp_socket), rtcp_socket) = (slots.first(), slots.get(1).copied()) else {
        return Err(Error::InvalidState(
            "plain transport sockets missing".into(),
        ));
    };
    if socket_count != 1 + usize::from(setup.rtcp_local.is_some()) {
        return Err(Error::InvalidState(
            "plain transport sockets missing".into(),
        ));
    }
    if !engine.routers.contains_key(&router_id) {
        return Err(Error::not_found("router", router_id));
    }
    let plain = PlainState {
        comedia: setup.comedia,
        rtp_socket,
        rtcp_socket,
        local: setup.local,
        announced: setup.announced,
        rtcp_local: setup.rtcp_local,
        tuple: None,
        rtcp_tuple: None,
        srtp: setup.srtp.map(|suite| (suite, random_key(suite))),
        connected: false,
    };
    let info = plain.info(id);
    let mut state = TransportState::new(id, router_id, IceLite::new(&[]));
    if plain.srtp.is_none() {
        state.srtp_in = Some(MediaCipher::Clear);
        state.srtp_out = Some(MediaCipher::Clear);
    }
    state.plain = Some(Box::new(plain));
    let key = engine.transports.insert(state);
    for &slot in &slots {
        if let Some(owner) = engine.plain_slot_mut(slot) {
            *owner = PlainSlot::Used(key);
        }
    }
    engine.transport_ids.insert(id, key);
    if let Some(router) = engine.routers.get_mut(&router_id) {
        router.transports.push(key);
    }
    engine
        .next_report
        .get_or_insert(now + super::REPORT_INTERVAL);
    Ok(info)
}

pub(super) fn data(engine: &Engine, id: TransportId) -> Result<PlainTransportInfo, Error> {
    let t = engine
        .transport_ids
        .get(&id)
        .and_then(|k| engine.transports.get(*k))
        .ok_or_else(|| Error::not_found("transport", id))?;
    let p = t
        .plain
        .as_ref()
        .ok_or_else(|| Error::InvalidState("not a plain transport".into()))?;
    Ok(p.info(id))
}

/// Checks everything `connect` was given before changing anything, as mediasoup does (same rules, same messages).
pub(super) fn connect(
    engine: &mut Engine,
    now: Instant,
    id: TransportId,
    parameters: PlainConnectParameters,
) -> Result<PlainTransportInfo, Error> {
    let key = *engine
        .transport_ids
        .get(&id)
        .ok_or_else(|| Error::not_found("transport", id))?;
    let t = engine
        .transports
        .get_mut(key)
        .ok_or_else(|| Error::not_found("transport", id))?;
    let p = t
        .plain
        .as_deref_mut()
        .ok_or_else(|| Error::InvalidState("not a plain transport".into()))?;
    if p.connected {
        return Err(Error::InvalidState("connect() already called".into()));
    }
    let srtp = match (&p.srtp, parameters.srtp_parameters) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(Error::InvalidArgument(
                "invalid srtpParameters (SRTP not enabled)".into(),
            ))
        }
        (Some(_), None) => {
            return Err(Error::InvalidArgument(
                "missing srtpParameters (SRTP enabled)".into(),
            ))
        }
        (Some((ours, our_key)), Some(remote)) => {
            let suite = remote.crypto_suite;
            let remote_key = base64::engine::general_purpose::STANDARD
                .decode(remote.key_base64.trim())
                .map_err(|_| {
                    Error::InvalidArgument("srtpParameters.keyBase64 is not base64".into())
                })?;
            if remote_key.len() != suite.master_length() {
                return Err(Error::InvalidArgument(format!(
                    "srtpParameters.keyBase64 must hold {} bytes for {suite:?}",
                    suite.master_length()
                )));
            }
            // The remote side chose another suite: our key is made anew for it, as mediasoup does.
            let local_key = if *ours == suite {
                our_key.clone()
            } else {
                random_key(suite)
            };
            let outbound = context(suite, &local_key)?;
            let inbound = context(suite, &remote_key)?;
            Some((suite, local_key, inbound, outbound))
        }
    };
    let remote = if p.comedia {
        None
    } else {
        let ip = parameters
            .ip
            .ok_or_else(|| Error::InvalidArgument("missing ip".into()))?;
        let port = parameters
            .port
            .filter(|&port| port != 0)
            .ok_or_else(|| Error::InvalidArgument("missing port".into()))?;
        if ip.is_ipv4() != p.local.is_ipv4() {
            return Err(Error::InvalidArgument(
                "ip is not of the listen IP's family".into(),
            ));
        }
        // Media goes to one host: never to "any", a group or a whole subnet.
        let broadcast = matches!(ip, std::net::IpAddr::V4(v4) if v4.is_broadcast());
        if ip.is_unspecified() || ip.is_multicast() || broadcast {
            return Err(Error::InvalidArgument(format!(
                "ip {ip} is not a unicast address"
            )));
        }
        let rtcp = match (parameters.rtcp_port, p.rtcp_socket.is_some()) {
            (Some(_), false) => {
                return Err(Error::InvalidArgument(
                    "cannot set rtcpPort with rtcpMux enabled".into(),
                ))
            }
            (None, true) | (Some(0), true) => {
                return Err(Error::InvalidArgument(
                    "missing rtcpPort (required with rtcpMux disabled)".into(),
                ))
            }
            (Some(port), true) => Some(SocketAddr::new(ip, port)),
            (None, false) => None,
        };
        Some((SocketAddr::new(ip, port), rtcp))
    };

    p.connected = true;
    if let Some((suite, local_key, inbound, outbound)) = srtp {
        p.srtp = Some((suite, local_key));
        t.srtp_in = Some(inbound.into());
        t.srtp_out = Some(outbound.into());
    }
    if let Some((rtp, rtcp)) = remote {
        p.tuple = Some(rtp);
        p.rtcp_tuple = rtcp;
        let mut tuples = vec![(p.rtp_socket, rtp)];
        if let (Some(socket), Some(to)) = (p.rtcp_socket, rtcp) {
            tuples.push((socket, to));
        }
        t.selected = Some((p.rtp_socket, rtp));
        for tuple in tuples {
            t.remotes.push(tuple);
            // A tuple is one remote address on one of this transport's own sockets: nobody else can hold it.
            engine.by_remote.insert(tuple, key);
        }
    }
    let info = p.info(id);
    if t.selected.is_some() && t.srtp_out.is_some() {
        // Consumers resumed before `connect` missed the key frame asked for at resume.
        engine.request_pending_key_frames(now, Some(key));
    }
    Ok(info)
}

impl Engine {
    /// A datagram on a plain transport's socket from an address `by_remote` does not know (known senders take the
    /// WebRTC path directly): with comedia, the first authentic packet sets the tuple; anything else is dropped.
    /// `class` is what `handle_datagram` already found the datagram to be.
    pub(super) fn on_plain_datagram(
        &mut self,
        now: Instant,
        socket: usize,
        from: SocketAddr,
        buf: &mut [u8],
        class: PacketClass,
    ) {
        let rtcp = match class {
            PacketClass::Rtp => false,
            PacketClass::Rtcp => true,
            // No ICE and no DTLS here.
            _ => {
                self.dropped.unclassified += 1;
                return;
            }
        };
        if self.by_remote.contains_key(&(socket, from)) {
            if rtcp {
                self.on_rtcp(now, socket, from, buf);
            } else {
                self.on_rtp(now, socket, from, buf);
            }
            return;
        }
        let owner = self.plain_owner(socket);
        let Some(tkey) = owner else {
            self.dropped.unknown_sender += 1;
            return;
        };
        let Some(t) = self.transports.get_mut(tkey) else {
            self.dropped.unknown_sender += 1;
            return;
        };
        let Some(p) = t.plain.as_deref_mut() else {
            self.dropped.unknown_sender += 1;
            return;
        };
        let on_rtcp_socket = p.rtcp_socket == Some(socket);
        let learnable = p.comedia
            && if on_rtcp_socket {
                rtcp && p.rtcp_tuple.is_none()
            } else {
                p.tuple.is_none() && (!rtcp || p.rtcp_socket.is_none())
            };
        if !learnable {
            self.dropped.unknown_sender += 1;
            return;
        }
        // Only a packet that authenticates may pin the address (with SRTP; without it, as in mediasoup, any RTP).
        let Some(cipher) = t.srtp_in.as_mut() else {
            self.dropped.srtp_not_ready += 1;
            return;
        };
        let unprotected = if rtcp {
            cipher.unprotect_rtcp(buf)
        } else {
            cipher.unprotect_rtp(buf)
        };
        let len = match unprotected {
            Ok(len) => len,
            Err(e) => {
                self.dropped.srtp(e);
                return;
            }
        };
        if !rtcp && crate::rtp::RtpPacket::parse(buf.get(..len).unwrap_or(&[])).is_err() {
            self.dropped.rtp_malformed += 1;
            return;
        }
        t.bytes_received += buf.len() as u64;
        let tuple = (socket, from);
        if on_rtcp_socket {
            p.rtcp_tuple = Some(from);
        } else {
            p.tuple = Some(from);
            t.selected = Some(tuple);
        }
        tracing::debug!(transport = %t.id, %from, rtcp = on_rtcp_socket, "plain transport tuple learnt (comedia)");
        if let Some(router) = self.routers.get(&t.router) {
            let info = p.info(t.id);
            router.emit(RouterEvent::PlainTransportTuple {
                transport_id: t.id,
                tuple: info.tuple,
                rtcp_tuple: info.rtcp_tuple,
            });
        }
        t.remotes.push(tuple);
        self.by_remote.insert(tuple, tkey);
        if !on_rtcp_socket {
            self.request_pending_key_frames(now, Some(tkey));
        }
        if rtcp {
            if let Some(plain) = buf.get(..len) {
                super::rtcp::handle_incoming(self, now, tkey, plain);
            }
        } else {
            self.on_clear_rtp(now, tkey, buf, len);
        }
    }

    /// The slot of the next socket the driver adopts, in the order a plain transport's create command carried its
    /// sockets. Called by the driver after each step until `None`, before [`Engine::next_released_socket`].
    pub fn next_adopted_socket(&mut self) -> Option<usize> {
        self.adopted_sockets.pop_front()
    }

    /// The next slot of a closed plain transport whose socket the driver drops. Called by the driver after each step
    /// until `None`; the slot is free for new sockets from then on.
    pub fn next_released_socket(&mut self) -> Option<usize> {
        let index = self
            .plain_sockets
            .iter()
            .position(|s| matches!(s, PlainSlot::Releasing))?;
        self.plain_sockets[index] = PlainSlot::Free;
        while matches!(self.plain_sockets.last(), Some(PlainSlot::Free)) {
            self.plain_sockets.pop();
        }
        Some(self.candidates.len() + index)
    }

    /// A slot for a new plain socket: the lowest free one, or a new one at the end. The driver adopts the socket
    /// into it after this step; it is marked released until its transport claims it.
    fn take_socket_slot(&mut self) -> usize {
        let index = match self
            .plain_sockets
            .iter()
            .position(|s| matches!(s, PlainSlot::Free))
        {
            Some(index) => index,
            None => {
                self.plain_sockets.push(PlainSlot::Free);
                self.plain_sockets.len() - 1
            }
        };
        self.plain_sockets[index] = PlainSlot::Releasing;
        let slot = self.candidates.len() + index;
        self.adopted_sockets.push_back(slot);
        slot
    }

    /// Marks a slot's socket for the driver to drop.
    fn release_socket_slot(&mut self, slot: usize) {
        if let Some(owner) = self.plain_slot_mut(slot) {
            *owner = PlainSlot::Releasing;
        }
    }

    fn plain_slot_mut(&mut self, slot: usize) -> Option<&mut PlainSlot> {
        slot.checked_sub(self.candidates.len())
            .and_then(|i| self.plain_sockets.get_mut(i))
    }

    fn plain_owner(&self, slot: usize) -> Option<TransportKey> {
        match slot
            .checked_sub(self.candidates.len())
            .and_then(|i| self.plain_sockets.get(i))
        {
            Some(PlainSlot::Used(key)) => Some(*key),
            _ => None,
        }
    }

    /// The local address of one of the worker's sockets, shared or plain.
    pub(super) fn socket_local(&self, socket: usize) -> Option<SocketAddr> {
        if let Some(c) = self.candidates.get(socket) {
            return Some(c.local);
        }
        let key = self.plain_owner(socket)?;
        let p = self.transports.get(key)?.plain.as_deref()?;
        if p.rtp_socket == socket {
            Some(p.local)
        } else {
            p.rtcp_local.as_ref().map(|(local, _)| *local)
        }
    }
}

/// Marks a closed transport's sockets for release (see [`Engine::next_released_socket`]).
pub(super) fn release_sockets(engine: &mut Engine, plain: &PlainState) {
    for slot in [Some(plain.rtp_socket), plain.rtcp_socket]
        .into_iter()
        .flatten()
    {
        engine.release_socket_slot(slot);
    }
}

/// What a plain socket slot holds.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PlainSlot {
    /// No socket: the next plain transport may take it.
    Free,
    Used(TransportKey),
    /// A socket the driver adopts or still has, and drops after this step.
    Releasing,
}
